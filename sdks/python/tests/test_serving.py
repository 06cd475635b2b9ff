"""Model serving against the real server: ``python -m cairn.models serve`` (MLflow's scoring
protocol, signature enforcement, timeouts, graceful SIGTERM, following an alias without a
failed request), ``predict`` for batch files and ``build-docker``'s context run directly."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests

from conftest import free_port

import cairn.pyfunc

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
TESTS_DIR = Path(__file__).resolve().parent


def _iris() -> Any:
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True, as_frame=True)
    x.columns = COLUMNS
    return x, y


class Served:
    """One ``python -m cairn.models serve`` process."""

    def __init__(self, args: List[str], env: Dict[str, str], cwd: Optional[str] = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(env.get("CAIRN_TEST_LOG_DIR", "/tmp")) / f"serve-{self.port}.log"
        self._log_file = open(self.log, "wb")
        self.proc = subprocess.Popen(
            args + ["--port", str(self.port)],
            env=env,
            cwd=cwd,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
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
            self.url + "/invocations",
            data=data,
            headers={"Content-Type": content_type},
            timeout=30,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log_file.close()
        return int(self.proc.returncode)


def _env(server: Any, **extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["CAIRN_TRACKING_URI"] = server.url
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def _serve_cmd(uri: str, *more: str) -> List[str]:
    return [sys.executable, "-m", "cairn.models", "serve", "-m", uri, *more]


@pytest.fixture()
def iris_model(cairn_env: Any, client: Any) -> Iterator[Dict[str, Any]]:
    """A LogisticRegression on iris, logged with a column signature, registered and aliased
    ``champion``."""
    from sklearn.linear_model import LogisticRegression

    cairn = cairn_env
    x, y = _iris()
    name = f"serve-{uuid.uuid4().hex[:8]}"
    with cairn.start_run():
        info = cairn.sklearn.log_model(
            LogisticRegression(max_iter=500).fit(x, y),
            "model",
            registered_model_name=name,
            input_example=x.iloc[:5],
        )
    client.set_registered_model_alias(name, "champion", info.registered_model_version)
    yield {"name": name, "uri": f"models:/{name}@champion", "x": x, "info": info}


def _local(uri: str) -> Any:
    return cairn.pyfunc.load_model(uri)


# ---------------------------------------------------------------------- the protocol


def test_formats_csv_signature_errors_and_meta_routes(server: Any, iris_model: Any) -> None:
    x = iris_model["x"].iloc[[0, 1, 50, 51, 100, 149]].reset_index(drop=True)
    expected = _local(iris_model["uri"]).predict(x).tolist()
    assert len(set(expected)) == 3  # the rows cover every class: a wrong order would show

    srv = Served(
        _serve_cmd(iris_model["uri"], "--workers", "2", "--max-body-mb", "1"), _env(server)
    )
    try:
        rows = x.values.tolist()
        records = x.to_dict(orient="records")
        bodies = {
            "dataframe_split": {"dataframe_split": {"columns": COLUMNS, "data": rows}},
            "dataframe_records": {"dataframe_records": records},
            "instances": {"instances": records},
            "inputs": {"inputs": {c: x[c].tolist() for c in COLUMNS}},
            # columns in another order, an extra column: reordered and dropped as in-process
            "split, shuffled + extra": {
                "dataframe_split": {
                    "columns": COLUMNS[::-1] + ["extra"],
                    "data": [r[::-1] + ["ignored"] for r in rows],
                }
            },
        }
        for what, body in bodies.items():
            res = srv.post(body)
            assert res.status_code == 200, (what, res.text)
            assert res.json() == {"predictions": expected}, what
        csv_body = x.to_csv(index=False)
        res = srv.post(csv_body, "text/csv")
        assert res.status_code == 200, res.text
        assert res.json()["predictions"] == expected
        res = srv.post(csv_body, "text/csv; charset=utf-8")
        assert res.json()["predictions"] == expected

        # a missing column: 400 naming it and its type (MLflow's error JSON shape)
        missing = {
            "dataframe_records": [
                {k: v for k, v in r.items() if k != "petal_width"} for r in records
            ]
        }
        res = srv.post(missing)
        assert res.status_code == 400
        err = res.json()
        assert err["error_code"] == "BAD_REQUEST"
        assert "petal_width" in err["message"] and "double" in err["message"]
        assert err["column"] == "petal_width" and err["expected_type"] == "double"
        # a wrong type
        bad = {"dataframe_split": {"columns": COLUMNS, "data": [[5.1, "wide", 1.4, 0.2]]}}
        res = srv.post(bad)
        assert res.status_code == 400
        assert res.json()["column"] == "sepal_width"
        assert "expected double" in res.json()["message"]
        assert "string" in res.json()["message"]
        res = srv.post("sepal_length,sepal_width,petal_length,petal_width\n5.1,x,1,1\n", "text/csv")
        assert res.status_code == 400 and res.json()["column"] == "sepal_width"
        # malformed JSON, not an object, two formats, unknown content type / charset
        assert srv.post('{"dataframe_split": ').status_code == 400
        assert srv.post("[1, 2]").status_code == 400
        two = {"inputs": [[1, 2, 3, 4]], "instances": [[1, 2, 3, 4]]}
        assert srv.post(two).status_code == 400
        res = srv.post("<x/>", "application/xml")
        assert res.status_code == 415 and res.json()["error_code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert srv.post(bodies["inputs"], "application/json; charset=latin-1").status_code == 415
        # the protocol is unchanged after errors, on the same keep-alive connection
        with requests.Session() as s:
            for _ in range(3):
                r = s.post(srv.url + "/invocations", json=bodies["dataframe_split"])
                assert r.json()["predictions"] == expected
                assert (
                    s.post(
                        srv.url + "/invocations",
                        data="{",
                        headers={"Content-Type": "application/json"},
                    ).status_code
                    == 400
                )

        for path in ("/ping", "/health"):
            assert requests.get(srv.url + path, timeout=5).status_code == 200
        version = requests.get(srv.url + "/version", timeout=5).json()
        assert version["model_name"] == iris_model["name"]
        assert version["model_version"] == 1
        assert version["model_uri"] == iris_model["uri"]
        assert version["run_id"] == iris_model["info"].run_id
        assert requests.get(srv.url + "/nope", timeout=5).status_code == 404
        assert requests.get(srv.url + "/invocations", timeout=5).status_code == 405
        # a body over the limit (--max-body-mb 1) is refused from its Content-Length
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(
                b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 2000000\r\n\r\n{"
            )
            head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 413 "), head
    finally:
        assert srv.stop() == 0, srv.tail()


class ScaledModel(cairn.pyfunc.PythonModel):
    """Returns ``x * params["scale"]``; sleeps ``params["sleep"]`` seconds first."""

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        params = params or {}
        if params.get("sleep"):
            time.sleep(float(params["sleep"]))
        return (model_input["x"] * float(params.get("scale", 1))).tolist()


@pytest.fixture()
def scaled_model_dir(tmp_path: Path) -> str:
    import pandas as pd

    path = str(tmp_path / "scaled")
    cairn.pyfunc.save_model(
        path, python_model=ScaledModel(), input_example=pd.DataFrame({"x": [1.0, 2.0]})
    )
    return path


def test_params_timeouts_and_graceful_sigterm(server: Any, scaled_model_dir: str) -> None:
    srv = Served(_serve_cmd(scaled_model_dir, "--timeout", "1", "--grace", "10"), _env(server))
    try:
        res = srv.post({"inputs": {"x": [1, 2.5]}, "params": {"scale": 3}})
        assert res.status_code == 200, res.text
        assert res.json() == {"predictions": [3.0, 7.5]}
        assert srv.post({"inputs": {"x": [1]}, "params": [1]}).status_code == 400
        # over the timeout: 504, and the worker keeps serving
        t0 = time.monotonic()
        res = srv.post({"inputs": {"x": [1]}, "params": {"sleep": 5}})
        assert res.status_code == 504, res.text
        assert res.json()["error_code"] == "DEADLINE_EXCEEDED"
        assert time.monotonic() - t0 < 4
        assert srv.post({"inputs": {"x": [2]}}).json() == {"predictions": [2.0]}
    finally:
        assert srv.stop() == 0, srv.tail()

    # SIGTERM while a request is in flight: it is answered, then the server exits 0
    srv = Served(_serve_cmd(scaled_model_dir, "--timeout", "10", "--grace", "10"), _env(server))
    result: Dict[str, Any] = {}

    def slow() -> None:
        try:
            result["res"] = srv.post({"inputs": {"x": [4]}, "params": {"sleep": 1.5}})
        except requests.RequestException as exc:  # pragma: no cover - reported below
            result["error"] = exc

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    srv.proc.send_signal(signal.SIGTERM)
    t.join(20)
    code = srv.stop()
    assert "error" not in result, result.get("error")
    assert result["res"].status_code == 200 and result["res"].json() == {"predictions": [4.0]}
    assert code == 0, srv.tail()
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url + "/ping", timeout=2)


# ---------------------------------------------------------------------- batch predict


def test_predict_cli_json_and_csv(server: Any, iris_model: Any, tmp_path: Path) -> None:
    x = iris_model["x"].iloc[::10].reset_index(drop=True)
    expected = _local(iris_model["uri"]).predict(x).tolist()
    csv_in = tmp_path / "in.csv"
    x.to_csv(csv_in, index=False)
    json_in = tmp_path / "in.json"
    json_in.write_text(json.dumps({"dataframe_records": x.to_dict(orient="records")}))
    env = _env(server)
    for src in (csv_in, json_in):
        out = tmp_path / f"{src.name}.out.json"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "cairn.models",
                "predict",
                "-m",
                iris_model["uri"],
                "-i",
                str(src),
                "-o",
                str(out),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(out.read_text()) == {"predictions": expected}
    # stdout, explicit content type, through the cairn-models console script
    script = os.path.join(os.path.dirname(sys.executable), "cairn-models")
    assert os.access(script, os.X_OK), "pip install -e installs the cairn-models script"
    proc = subprocess.run(
        [
            script,
            "predict",
            "-m",
            f"models:/{iris_model['name']}/1",
            "-i",
            str(csv_in),
            "--content-type",
            "csv",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"predictions": expected}
    # a wrong column: exit 2 with the error JSON naming it
    bad = tmp_path / "bad.csv"
    x.rename(columns={"petal_width": "pw"}).to_csv(bad, index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "cairn.models", "predict", "-m", iris_model["uri"], "-i", str(bad)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert json.loads(proc.stderr.strip().splitlines()[-1])["column"] == "petal_width"


# ---------------------------------------------------------------------- build-docker


def test_build_docker_context_entry_point_serves(
    server: Any, iris_model: Any, tmp_path: Path
) -> None:
    import sklearn

    ctx = tmp_path / "image"
    env = _env(server)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cairn.models",
            "build-docker",
            "-m",
            iris_model["uri"],
            "-d",
            str(ctx),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    dockerfile = (ctx / "Dockerfile").read_text()
    assert "FROM python:3." in dockerfile
    assert "USER 10001" in dockerfile and "useradd --system --uid 10001" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/ping" in dockerfile
    assert 'ENTRYPOINT ["/opt/cairn/entrypoint.sh"]' in dockerfile
    assert 'LABEL org.cairn.model-version="1"' in dockerfile
    reqs = (ctx / "requirements.txt").read_text().splitlines()
    assert f"scikit-learn=={sklearn.__version__}" in reqs
    assert all("==" in r for r in reqs), reqs  # pinned
    assert not any(r.startswith("cairn-ml") for r in reqs)  # the SDK is copied in instead
    assert (ctx / "model" / "cairn-model.json").is_file()
    assert (ctx / "python" / "cairn" / "models" / "serve.py").is_file()
    assert os.access(ctx / "entrypoint.sh", os.X_OK)

    # the entry point, run directly: no tracking server needed (the model is in the context)
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    run_env.update(PYTHON=sys.executable, HOST="127.0.0.1", PYTHONPATH="")
    port = free_port()
    run_env["PORT"] = str(port)
    entry = subprocess.Popen(
        ["sh", str(ctx / "entrypoint.sh")],
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/ping", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        x = iris_model["x"].iloc[[0, 60, 120]]
        res = requests.post(
            url + "/invocations",
            json={"dataframe_split": {"columns": COLUMNS, "data": x.values.tolist()}},
            timeout=10,
        )
        assert res.status_code == 200, res.text
        assert res.json()["predictions"] == _local(iris_model["uri"]).predict(x).tolist()
        version = requests.get(url + "/version", timeout=5).json()
        assert version["model_uri"] == iris_model["uri"]
        assert version["model_name"] == iris_model["name"] and version["model_version"] == 1
        # the HEALTHCHECK command itself, against the running entry point
        hc = dockerfile.split('CMD ["python", "-c", "', 1)[1].split('"]', 1)[0]
        assert subprocess.run([sys.executable, "-c", hc], env=run_env, timeout=10).returncode == 0
    finally:
        entry.send_signal(signal.SIGTERM)
        out, _ = entry.communicate(timeout=30)
    assert entry.returncode == 0, out.decode(errors="replace")

    # --build without a docker binary: a clear error, nothing written
    no_docker = dict(env, PATH=os.path.dirname(sys.executable))
    if shutil.which("docker", path=no_docker["PATH"]) is None:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "cairn.models",
                "build-docker",
                "-m",
                iris_model["uri"],
                "-d",
                str(tmp_path / "other"),
                "--build",
            ],
            env=no_docker,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2
        assert "docker binary" in proc.stderr
        assert not (tmp_path / "other").exists()
    # a non-empty directory is refused
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cairn.models",
            "build-docker",
            "-m",
            iris_model["uri"],
            "-d",
            str(ctx),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "not an empty directory" in proc.stderr


# ---------------------------------------------------------------------- hot swap


def test_alias_move_during_load_switches_with_zero_failures(
    server: Any, iris_model: Any, cairn_env: Any, client: Any
) -> None:
    """5,000 requests from 8 clients; the alias moves to version 2 in the middle. The poll
    interval is 10 minutes, so the switch within seconds comes from the subscription."""
    from sklearn.dummy import DummyClassifier

    cairn = cairn_env
    name = iris_model["name"]
    x = iris_model["x"]
    with cairn.start_run():
        v2 = cairn.sklearn.log_model(
            DummyClassifier(strategy="constant", constant=2).fit(x, [2] * len(x)),
            "model",
            registered_model_name=name,
            input_example=x.iloc[:5],
        )
    assert v2.registered_model_version == 2
    setosa = x.iloc[[0, 1, 2]]
    body = {"dataframe_split": {"columns": COLUMNS, "data": setosa.values.tolist()}}
    assert _local(f"models:/{name}/1").predict(setosa).tolist() == [0, 0, 0]

    srv = Served(
        _serve_cmd(iris_model["uri"], "--workers", "2", "--poll-interval", "600"), _env(server)
    )
    total, clients = 5000, 8
    seen: Dict[str, int] = {}
    failures: List[str] = []
    lock = threading.Lock()
    state = {"issued": 0, "v2": 0, "first_v2": -1}
    switched = threading.Event()

    def load() -> None:
        with requests.Session() as s:
            while True:
                with lock:
                    # at least `total` requests, and at least 500 answered by version 2
                    if state["issued"] >= total and switched.is_set() and state["v2"] >= 500:
                        return
                    if state["issued"] >= 5 * total:
                        return
                    i = state["issued"]
                    state["issued"] += 1
                try:
                    r = s.post(srv.url + "/invocations", json=body, timeout=30)
                    key = f"{r.status_code}:{r.json()['predictions'] if r.ok else r.text}"
                except Exception as exc:  # noqa: BLE001 - every failure is counted
                    key = f"error:{exc}"
                with lock:
                    seen[key] = seen.get(key, 0) + 1
                    if not key.startswith("200:"):
                        failures.append(key)
                    elif key == "200:[2, 2, 2]":
                        state["v2"] += 1
                        if state["first_v2"] < 0:
                            state["first_v2"] = i

    try:
        threads = [threading.Thread(target=load) for _ in range(clients)]
        for t in threads:
            t.start()
        while sum(seen.values()) < 1000:
            time.sleep(0.01)
        moved_at = time.monotonic()
        client.set_registered_model_alias(name, "champion", 2)
        # every worker reports version 2 soon (the subscription's push, not the poll)
        deadline = moved_at + 30
        while time.monotonic() < deadline:
            versions = {
                requests.get(srv.url + "/version", timeout=5).json()["model_version"]
                for _ in range(8)
            }
            if versions == {2}:
                break
            time.sleep(0.1)
        switched_after = time.monotonic() - moved_at
        switched.set()
        assert versions == {2}, (versions, srv.tail())
        for t in threads:
            t.join(120)
        done = sum(seen.values())
    finally:
        code = srv.stop()
    assert code == 0, srv.tail()
    assert done >= total and done == state["issued"]
    assert failures == [], (failures[:5], seen)
    assert set(seen) == {"200:[0, 0, 0]", "200:[2, 2, 2]"}, seen
    assert seen["200:[2, 2, 2]"] >= 500 and state["first_v2"] >= 1000
    assert switched_after < 30
    history = client.get_registered_model_history(name)
    assert [(h.version, h.previous_version) for h in history if h.kind == "ALIAS_SET"][0] == (2, 1)
    assert "switching from version 1 to version 2" in srv.tail()


def _read_responses(sock: socket.socket, n: int) -> List[bytes]:
    """``n`` HTTP responses (head + Content-Length body) read off a raw socket."""
    buf = b""
    out: List[bytes] = []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            assert chunk, (out, buf)
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":", 1)[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        while len(rest) < length:
            chunk = sock.recv(65536)
            assert chunk
            rest += chunk
        out.append(head + b"\r\n\r\n" + rest[:length])
        buf = rest[length:]
    return out


def test_http_pipelining_chunked_bodies_and_continue(server: Any, scaled_model_dir: str) -> None:
    srv = Served(_serve_cmd(scaled_model_dir), _env(server))
    try:
        one = json.dumps({"inputs": {"x": [1, 2]}, "params": {"scale": 2}}).encode()
        two = json.dumps({"dataframe_records": [{"x": 5}]}).encode()

        def req(body: bytes) -> bytes:
            return (
                b"POST /invocations HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )

        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            # two requests in one write, and a /ping: answered in order
            sock.sendall(req(one) + req(two) + b"GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
            a, b, c = _read_responses(sock, 3)
            assert a.startswith(b"HTTP/1.1 200 ") and a.endswith(b'{"predictions": [2.0,4.0]}')
            assert b.endswith(b'{"predictions": [5.0]}')
            assert c.startswith(b"HTTP/1.1 200 ")
            # a chunked body sent in pieces after 100-continue
            sock.sendall(
                b"POST /invocations HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
            )
            assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
            half = len(two) // 2
            sock.sendall(b"%x\r\n" % half + two[:half] + b"\r\n")
            time.sleep(0.1)
            sock.sendall(b"%x\r\n" % (len(two) - half) + two[half:] + b"\r\n0\r\n\r\n")
            [d] = _read_responses(sock, 1)
            assert d.startswith(b"HTTP/1.1 200 ") and d.endswith(b'{"predictions": [5.0]}')
            # a malformed request line: 400 and the connection is closed
            sock.sendall(b"NONSENSE\r\n\r\n")
            [e] = _read_responses(sock, 1)
            assert e.startswith(b"HTTP/1.1 400 ") and b"Connection: close" in e
            assert sock.recv(4096) == b""
        # HTTP/1.0 without keep-alive: closed after the answer
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
            [f] = _read_responses(sock, 1)
            assert f.startswith(b"HTTP/1.1 200 ")
            assert sock.recv(4096) == b""
    finally:
        assert srv.stop() == 0, srv.tail()


def test_a_killed_worker_is_replaced(server: Any, scaled_model_dir: str) -> None:
    srv = Served(_serve_cmd(scaled_model_dir, "--workers", "1"), _env(server))
    try:
        before = requests.get(srv.url + "/version", timeout=5).json()["worker_pid"]
        assert before != srv.proc.pid
        os.kill(before, signal.SIGKILL)
        deadline = time.monotonic() + 20
        after = before
        while time.monotonic() < deadline and after == before:
            try:
                after = requests.get(srv.url + "/version", timeout=2).json()["worker_pid"]
            except requests.RequestException:
                time.sleep(0.1)
        assert after != before, srv.tail()
        assert srv.post({"inputs": {"x": [3]}}).json() == {"predictions": [3.0]}
        assert f"worker {before} exited (signal 9); starting another" in srv.tail()
    finally:
        assert srv.stop() == 0, srv.tail()


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, str]]:
    """A second ``cairn server`` with ``--auth required`` and an owner key made by
    ``cairn keys create``."""
    from conftest import CLI, REPO_ROOT

    node = shutil.which("node")
    assert node is not None
    home = str(tmp_path_factory.mktemp("auth-home"))
    made = subprocess.run(
        [
            node,
            str(CLI),
            "keys",
            "create",
            "--home",
            home,
            "--workspace",
            "default",
            "--role",
            "owner",
            "--name",
            "serve-test",
        ],
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    port = free_port()
    log = open(os.path.join(home, "server.log"), "wb")
    proc = subprocess.Popen(
        [node, str(CLI), "server", "--home", home, "--port", str(port), "--auth", "required"],
        cwd=str(REPO_ROOT),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, Path(home, "server.log").read_text(errors="replace")[-3000:]
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    try:
        yield {"url": url, "key": key}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def test_following_an_alias_on_a_server_with_auth_required(
    auth_server: Dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key travels on every call the server makes: resolving, downloading, and the
    graphql-ws subscription (the poll interval is 10 minutes: only the push can switch)."""
    import cairn

    url, key = auth_server["url"], auth_server["key"]
    previous = cairn.get_tracking_uri()
    try:
        _follow_with_auth(url, key, monkeypatch)
    finally:
        cairn.set_tracking_uri(previous)  # the other tests' server


def _follow_with_auth(url: str, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import cairn
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    monkeypatch.setenv("CAIRN_TRACKING_URI", url)
    monkeypatch.setenv("CAIRN_API_KEY", key)
    cairn.set_tracking_uri(url)
    cairn.set_experiment(f"serve-auth-{uuid.uuid4().hex[:8]}")
    x, y = _iris()
    name = f"serve-auth-{uuid.uuid4().hex[:8]}"
    for model in (
        LogisticRegression(max_iter=500).fit(x, y),
        DummyClassifier(strategy="constant", constant=2).fit(x, [2] * len(x)),
    ):
        with cairn.start_run():
            cairn.sklearn.log_model(
                model, "model", registered_model_name=name, input_example=x.iloc[:5]
            )
    client = cairn.CairnClient(url)
    client.set_registered_model_alias(name, "champion", 1)
    uri = f"models:/{name}@champion"
    env = {k: v for k, v in os.environ.items()}
    env["PYTHONPATH"] = str(TESTS_DIR)

    # without the key: refused at start, with the server's code
    no_key = {k: v for k, v in env.items() if k not in ("CAIRN_API_KEY", "MLFLOW_TRACKING_TOKEN")}
    proc = subprocess.run(
        _serve_cmd(uri, "--port", str(free_port())),
        env=no_key,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "UNAUTHENTICATED" in proc.stderr, proc.stderr

    srv = Served(_serve_cmd(uri, "--poll-interval", "600"), env)
    body = {"dataframe_split": {"columns": COLUMNS, "data": x.iloc[[0, 1]].values.tolist()}}
    try:
        assert srv.post(body).json() == {"predictions": [0, 0]}
        client.set_registered_model_alias(name, "champion", 2)
        deadline = time.monotonic() + 30
        version = 1
        while time.monotonic() < deadline and version != 2:
            version = requests.get(srv.url + "/version", timeout=5).json()["model_version"]
            time.sleep(0.1)
        assert version == 2, srv.tail()
        assert srv.post(body).json() == {"predictions": [2, 2]}
        assert "subscription unavailable" not in srv.tail()
    finally:
        assert srv.stop() == 0, srv.tail()
