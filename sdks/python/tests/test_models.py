"""Models against the real server: the acceptance scenario (scikit-learn → registry → alias
→ fresh process), XGBoost and custom python-function round trips, the descriptor format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest


def _iris():
    import pandas as pd
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame)
    return X, y


def _fresh_process(server_url: str, code: str, out: Path) -> np.ndarray:
    """Runs ``code`` in a new interpreter (the venv's python) that writes ``out`` (.npy)."""
    env = {**os.environ, "CAIRN_TRACKING_URI": server_url, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.load(out, allow_pickle=False)


def test_acceptance_sklearn_registered_alias_loaded_in_a_fresh_process(
    cairn_env, client, server, tmp_path
):
    from sklearn.ensemble import RandomForestClassifier

    cairn = cairn_env
    X, y = _iris()
    name = f"m-{uuid.uuid4().hex[:8]}"
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    with cairn.start_run() as run:
        info = cairn.sklearn.log_model(
            model, "model", registered_model_name=name, input_example=X.head(5)
        )
    assert info.model_uri == f"runs:/{run.run_id}/model"
    assert info.registered_model_version == 1
    client.set_registered_model_alias(name, "champion", info.registered_model_version)
    assert client.get_model_version_by_alias(name, "champion").version == 1

    expected = model.predict(X)
    expected_proba = model.predict_proba(X)
    X.to_csv(tmp_path / "X.csv", index=False)
    got = _fresh_process(
        server.url,
        f"""
        import numpy as np, pandas as pd, cairn
        X = pd.read_csv({str(tmp_path / "X.csv")!r})
        pyfunc_model = cairn.pyfunc.load_model("models:/{name}@champion")
        sk = cairn.sklearn.load_model("models:/{name}@champion")
        np.save({str(tmp_path / "out.npy")!r}, np.stack([
            pyfunc_model.predict(X).astype("float64"),
            sk.predict(X).astype("float64"),
            sk.predict_proba(X)[:, 0], sk.predict_proba(X)[:, 1], sk.predict_proba(X)[:, 2],
        ]))
        """,
        tmp_path / "out.npy",
    )
    np.testing.assert_array_equal(got[0], expected)
    np.testing.assert_array_equal(got[1], expected)
    np.testing.assert_array_equal(got[2:].T, expected_proba)


def test_model_directory_format(cairn_env, client, tmp_path):
    from sklearn.linear_model import LinearRegression

    cairn = cairn_env
    X, y = _iris()
    model = LinearRegression().fit(X, y)
    with cairn.start_run() as run:
        info = cairn.sklearn.log_model(
            model, "reg", input_example=X.head(3), extra_pip_requirements=["extra-lib==1.0"]
        )
    names = sorted(f.path for f in client.list_artifacts(run.run_id, "reg"))
    assert names == [
        "reg/cairn-model.json",
        "reg/input_example.json",
        "reg/model.pkl",
        "reg/requirements.txt",
    ]
    local = Path(cairn.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path)))
    d = json.loads((local / "cairn-model.json").read_text())
    assert d["format_version"] == 1
    assert d["run_id"] == run.run_id and d["artifact_path"] == "reg"
    assert d["model_uuid"] == info.model_uuid
    assert d["cairn_version"] == cairn.__version__
    assert d["python_version"] == ".".join(map(str, sys.version_info[:3]))
    import sklearn

    assert d["flavors"]["sklearn"]["library_version"] == sklearn.__version__
    assert d["flavors"]["sklearn"]["data"] == "model.pkl"
    assert d["flavors"]["python_function"]["loader_module"] == "cairn.sklearn"
    inputs = d["signature"]["inputs"]
    assert inputs["kind"] == "columns"
    assert [s["name"] for s in inputs["specs"]] == list(X.columns)
    assert {s["type"] for s in inputs["specs"]} == {"double"}
    assert d["signature"]["outputs"]["specs"][0]["dtype"] == "float64"
    reqs = (local / "requirements.txt").read_text().splitlines()
    assert f"scikit-learn=={sklearn.__version__}" in reqs
    assert "extra-lib==1.0" in reqs
    assert f"cairn-ml=={cairn.__version__}" in reqs
    example = cairn.models.Model.load(str(local)).load_input_example(str(local))
    assert example.equals(X.head(3))

    with cairn.start_run():
        info2 = cairn.sklearn.log_model(model, "pinned", pip_requirements=["only-this==2"])
    local2 = cairn.artifacts.download_artifacts(info2.model_uri, dst_path=str(tmp_path / "p"))
    assert Path(local2, "requirements.txt").read_text() == "only-this==2\n"
    assert json.loads(Path(local2, "cairn-model.json").read_text())["signature"] is None


def test_signature_inference_for_arrays_dicts_and_lists():
    from cairn.models import infer_signature

    sig = infer_signature(np.zeros((4, 3), dtype=np.float32), np.zeros(4, dtype=np.int64))
    assert sig.to_dict()["inputs"] == {
        "kind": "tensor",
        "specs": [{"type": "tensor", "dtype": "float32", "shape": [-1, 3]}],
    }
    assert sig.outputs is not None and sig.outputs.inputs[0].dtype == "int64"
    d = infer_signature({"a": [1, 2], "b": "x", "c": np.array([1.5])}).inputs.to_dict()
    assert d["specs"] == [
        {"type": "long", "name": "a"},
        {"type": "string", "name": "b"},
        {"type": "double", "name": "c"},
    ]
    records = infer_signature([{"x": 1.0, "flag": True}]).inputs
    assert [(s.name, s.type) for s in records.inputs] == [("x", "double"), ("flag", "boolean")]
    assert infer_signature([[1, 2], [3, 4]]).inputs.inputs[0].shape == [-1, 2]


def test_xgboost_round_trip(cairn_env, tmp_path):
    import xgboost as xgb

    cairn = cairn_env
    X, y = _iris()
    clf = xgb.XGBClassifier(n_estimators=8, max_depth=3, n_jobs=1).fit(X, y)
    booster = xgb.train({"objective": "reg:squarederror", "nthread": 1}, xgb.DMatrix(X, label=y), 8)
    with cairn.start_run():
        a = cairn.xgboost.log_model(clf, "clf", input_example=X.head(2))
        b = cairn.xgboost.log_model(booster, "booster", model_format="json")
    loaded = cairn.xgboost.load_model(a.model_uri)
    assert type(loaded) is xgb.XGBClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(cairn.pyfunc.load_model(a.model_uri).predict(X), clf.predict(X))
    assert a.flavors["xgboost"]["data"] == "model.ubj"
    loaded_b = cairn.xgboost.load_model(b.model_uri)
    assert isinstance(loaded_b, xgb.Booster)
    want = booster.predict(xgb.DMatrix(X))
    np.testing.assert_array_equal(loaded_b.predict(xgb.DMatrix(X)), want)
    np.testing.assert_array_equal(cairn.pyfunc.load_model(b.model_uri).predict(X), want)
    assert b.flavors["xgboost"]["data"] == "model.json"
    # a scikit-learn model is not an xgboost model
    with pytest.raises(cairn.InvalidArgumentError):
        cairn.xgboost.load_model(_log_sklearn(cairn))


def _log_sklearn(cairn):
    from sklearn.dummy import DummyClassifier

    with cairn.start_run():
        return cairn.sklearn.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), "m").model_uri


class AddN(__import__("cairn").pyfunc.PythonModel):
    """A custom model that reads its offset from a logged file at load time."""

    def load_context(self, context):
        with open(context.artifacts["offset"]) as f:
            self.offset = float(f.read())

    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1.0)
        return (np.asarray(model_input["x"], dtype=float) + self.offset) * scale


def test_pyfunc_custom_model_round_trip(cairn_env, client, tmp_path):
    cairn = cairn_env
    offset = tmp_path / "offset.txt"
    offset.write_text("2.5")
    name = f"custom-{uuid.uuid4().hex[:8]}"
    with cairn.start_run() as run:
        info = cairn.pyfunc.log_model(
            "custom",
            python_model=AddN(),
            artifacts={"offset": str(offset)},
            input_example={"x": [1.0, 2.0]},
            registered_model_name=name,
        )
    files = {f.path for f in client.list_artifacts(run.run_id, "custom")}
    assert "custom/python_model.pkl" in files and "custom/artifacts" in files
    offset.write_text("100")  # the model uses its own copy
    model = cairn.pyfunc.load_model(f"models:/{name}/1")
    np.testing.assert_array_equal(model.predict({"x": [1, 2, 3]}), [3.5, 4.5, 5.5])
    np.testing.assert_array_equal(model.predict({"x": [1]}, params={"scale": 2}), [7.0])
    assert isinstance(model.unwrap_python_model(), AddN)
    assert model.metadata.signature is not None
    assert model.metadata.signature.inputs.names() == ["x"]
    assert info.flavors["python_function"]["loader_module"] == "cairn.pyfunc"
    with pytest.raises(cairn.InvalidArgumentError):
        cairn.sklearn.load_model(info.model_uri)  # no sklearn flavor


def test_model_uris_that_name_nothing_raise_not_found(cairn_env, tmp_path):
    cairn = cairn_env
    with cairn.start_run() as run:
        pass
    with pytest.raises(cairn.NotFoundError):
        cairn.pyfunc.load_model(f"runs:/{run.run_id}/model")
    with pytest.raises(cairn.NotFoundError):
        cairn.pyfunc.load_model(f"models:/does-not-exist-{uuid.uuid4().hex[:6]}/1")
    with pytest.raises(cairn.NotFoundError):
        cairn.pyfunc.load_model(str(tmp_path / "no-such-dir"))
    with pytest.raises(cairn.InvalidArgumentError):
        cairn.pyfunc.load_model("s3://bucket/model")


def test_autolog_logs_the_fitted_model(cairn_env, client):
    from sklearn.linear_model import LogisticRegression

    cairn = cairn_env
    X, y = _iris()
    cairn.sklearn.autolog(log_input_examples=True)
    with cairn.start_run() as run:
        model = LogisticRegression(max_iter=300).fit(X, y)
    cairn.sklearn.autolog(disable=True)
    names = {f.path for f in client.list_artifacts(run.run_id, "model")}
    assert {"model/cairn-model.json", "model/input_example.json", "model/model.pkl"} <= names
    loaded = cairn.pyfunc.load_model(f"runs:/{run.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.metadata.signature.inputs.names() == list(X.columns)
