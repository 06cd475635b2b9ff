"""The ONNX flavor (``cairn.onnx``) and the TypeScript scoring server (``cairn models serve``,
onnxruntime-node, no Python): a scikit-learn model converted with skl2onnx, logged, registered
and aliased, is served with predictions equal to ``onnxruntime.InferenceSession`` in Python
for the four JSON formats and CSV; a wrong column gets a 400 naming it; moving the alias
switches the version served with no failed request."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
import requests

from conftest import CLI, REPO_ROOT, free_port

import cairn.onnx
import cairn.pyfunc

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _iris() -> Any:
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True, as_frame=True)
    x.columns = COLUMNS
    return x, y


def _onnx_classifier(x: Any, y: Any, c: float) -> Any:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=1000).fit(x, y)
    # zipmap=False: probabilities as a [N, 3] tensor (onnxruntime-node returns tensors only)
    return to_onnx(
        model, x.values[:1].astype(np.float32), options={"zipmap": False}, target_opset=17
    )


def _run(proto: Any, x: Any) -> Dict[str, Any]:
    import onnxruntime as ort

    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {"X": x.values.astype(np.float32)})))


def _assert_equal(predictions: List[Dict[str, Any]], expected: Dict[str, Any]) -> None:
    assert [p["label"] for p in predictions] == expected["label"].tolist()
    got = np.array([p["probabilities"] for p in predictions], dtype=np.float64)
    np.testing.assert_allclose(got, expected["probabilities"].astype(np.float64), rtol=0, atol=1e-6)


class TsServer:
    """One ``node apps/cli/bin/cairn.js models serve`` process."""

    def __init__(self, uri: str, tracking_uri: str, *more: str) -> None:
        node = shutil.which("node")
        assert node is not None, "node is not on PATH"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(os.environ.get("CAIRN_TEST_LOG_DIR", "/tmp")) / f"onnx-{self.port}.log"
        self._log_file = open(self.log, "wb")
        self.proc = subprocess.Popen(
            [node, str(CLI), "models", "serve", "-m", uri, "--port", str(self.port)]
            + ["--tracking-uri", tracking_uri, *more],
            cwd=str(REPO_ROOT),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if requests.get(self.url + "/ping", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"serve did not start:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def post(self, payload: Any, content_type: str = "application/json") -> requests.Response:
        data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        return requests.post(
            self.url + "/invocations", data=data, headers={"Content-Type": content_type}, timeout=30
        )

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log_file.close()
        return int(self.proc.returncode)


def test_the_flavor_records_what_a_server_needs_and_loads_as_pyfunc(tmp_path: Path) -> None:
    x, y = _iris()
    proto = _onnx_classifier(x, y, 1.0)
    path = str(tmp_path / "model")
    cairn.onnx.save_model(proto, path, input_example=x.iloc[:5])
    conf = json.loads((tmp_path / "model" / "cairn-model.json").read_text())["flavors"]["onnx"]
    assert conf["data"] == "model.onnx" and conf["opset"]["ai.onnx"] == 17
    assert conf["inputs"] == [
        {"name": "X", "type": "tensor(float)", "dtype": "float32", "shape": [-1, 4]}
    ]
    assert [(o["name"], o["type"], o["shape"]) for o in conf["outputs"]] == [
        ("label", "tensor(int64)", [-1]),
        ("probabilities", "tensor(float)", [-1, 3]),
    ]
    assert cairn.onnx.load_model(path).SerializeToString() == proto.SerializeToString()
    rows = x.iloc[[0, 50, 100]].reset_index(drop=True)
    out = cairn.pyfunc.load_model(path).predict(rows)
    expected = _run(proto, rows)
    assert out["label"].tolist() == expected["label"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(np.stack(out["probabilities"]), expected["probabilities"])
    # a corrupted file is refused (sha256 in the descriptor)
    (tmp_path / "model" / "model.onnx").write_bytes(b"\x08\x07" + proto.SerializeToString()[2:])
    with pytest.raises(Exception, match="sha256"):
        cairn.onnx.load_model(path)


def test_typescript_server_predicts_as_onnxruntime_and_follows_the_alias(
    server: Any, cairn_env: Any, client: Any
) -> None:
    cairn = cairn_env
    x, y = _iris()
    name = f"onnx-{uuid.uuid4().hex[:8]}"
    v1, v2 = _onnx_classifier(x, y, 1.0), _onnx_classifier(x, y, 0.01)
    with cairn.start_run():
        info = cairn.onnx.log_model(
            v1, "model", registered_model_name=name, input_example=x.iloc[:5]
        )
    with cairn.start_run():
        cairn.onnx.log_model(v2, "model", registered_model_name=name, input_example=x.iloc[:5])
    client.set_registered_model_alias(name, "champion", 1)
    uri = f"models:/{name}@champion"
    rows = x.iloc[[0, 1, 50, 51, 100, 149]].reset_index(drop=True)
    expected1, expected2 = _run(v1, rows), _run(v2, rows)
    assert len(set(expected1["label"].tolist())) == 3
    assert not np.allclose(expected1["probabilities"], expected2["probabilities"], atol=1e-3)

    srv = TsServer(uri, server.url, "--poll-interval", "600")
    # meanwhile: a non-ONNX model is refused with a clear message
    with cairn.start_run():
        from sklearn.dummy import DummyClassifier

        sk = cairn.sklearn.log_model(DummyClassifier().fit(x, y), "model")
    refused = subprocess.run(
        ["node", str(CLI), "models", "serve", "-m", sk.model_uri, "--tracking-uri", server.url],
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2, refused.stderr
    assert "has no 'onnx' flavor" in refused.stderr and "sklearn" in refused.stderr

    srv.wait_ready()
    try:
        records = rows.to_dict(orient="records")
        bodies = {
            "dataframe_split": {
                "dataframe_split": {"columns": COLUMNS, "data": rows.values.tolist()}
            },
            "dataframe_records": {"dataframe_records": records},
            "instances": {"instances": records},
            "inputs": {"inputs": {c: rows[c].tolist() for c in COLUMNS}},
            "split, shuffled + extra": {
                "dataframe_split": {
                    "columns": COLUMNS[::-1] + ["extra"],
                    "data": [r[::-1] + ["ignored"] for r in rows.values.tolist()],
                }
            },
        }
        for what, body in bodies.items():
            res = srv.post(body)
            assert res.status_code == 200, (what, res.text)
            _assert_equal(res.json()["predictions"], expected1)
        res = srv.post(rows.to_csv(index=False), "text/csv")
        assert res.status_code == 200, res.text
        _assert_equal(res.json()["predictions"], expected1)
        # in-process cairn.pyfunc answers the same
        local = cairn.pyfunc.load_model(uri).predict(rows)
        assert local["label"].tolist() == expected1["label"].tolist()

        # a missing column and a wrong type: 400 naming the column, the Python server's shape
        missing = {
            "dataframe_records": [
                {k: v for k, v in r.items() if k != "petal_width"} for r in records
            ]
        }
        res = srv.post(missing)
        assert res.status_code == 400
        err = res.json()
        assert err["error_code"] == "BAD_REQUEST"
        assert err["column"] == "petal_width" and err["expected_type"] == "double"
        assert "petal_width" in err["message"]
        bad = {"dataframe_split": {"columns": COLUMNS, "data": [[5.1, "wide", 1.4, 0.2]]}}
        res = srv.post(bad)
        assert res.status_code == 400 and res.json()["column"] == "sepal_width"
        assert "expected double" in res.json()["message"]
        res = srv.post("sepal_length,sepal_width,petal_length,petal_width\n5.1,x,1,1\n", "text/csv")
        assert res.status_code == 400 and res.json()["column"] == "sepal_width"
        assert srv.post("<x/>", "application/xml").status_code == 415
        assert srv.post('{"dataframe_split": ').status_code == 400

        for route in ("/ping", "/health"):
            assert requests.get(srv.url + route, timeout=5).status_code == 200
        version = requests.get(srv.url + "/version", timeout=5).json()
        assert (version["model_name"], version["model_version"]) == (name, 1)
        assert version["run_id"] == info.run_id and version["model_uri"] == uri
        assert requests.get(srv.url + "/nope", timeout=5).status_code == 404

        # the alias moves while requests run: the push switches versions, none fails
        body = bodies["dataframe_split"]
        failures: List[str] = []
        answered: Dict[int, int] = {}
        stop = threading.Event()

        def load() -> None:
            with requests.Session() as s:
                while not stop.is_set():
                    try:
                        r = s.post(srv.url + "/invocations", json=body, timeout=30)
                        if r.status_code != 200:
                            failures.append(r.text)
                            continue
                        v = int(r.headers["x-cairn-model-version"])
                        answered[v] = answered.get(v, 0) + 1
                    except Exception as exc:  # noqa: BLE001 - every failure is counted
                        failures.append(repr(exc))

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        while sum(answered.values()) < 100 and not failures:
            time.sleep(0.01)
        moved_at = time.monotonic()
        client.set_registered_model_alias(name, "champion", 2)
        while time.monotonic() < moved_at + 30:
            if requests.get(srv.url + "/version", timeout=5).json()["model_version"] == 2:
                break
            time.sleep(0.05)
        switched_after = time.monotonic() - moved_at
        seen_v2 = answered.get(2, 0)
        while (
            answered.get(2, 0) < seen_v2 + 100 and not failures and time.monotonic() < moved_at + 60
        ):
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join(30)
        assert failures == [], failures[:3]
        assert switched_after < 30, srv.tail()
        assert answered.get(1, 0) >= 100 and answered.get(2, 0) >= 100, answered
        res = srv.post(body)
        _assert_equal(res.json()["predictions"], expected2)
        assert "switching from version 1 to version 2" in srv.tail()
    finally:
        code = srv.stop()
    assert code == 0, srv.tail()
