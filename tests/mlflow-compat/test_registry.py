"""MlflowClient registry calls (register, alias, stage, search versions) and
mlflow.pyfunc.load_model("models:/name@alias") predicting like the original, for a model saved
with mlflow.sklearn.save_model and uploaded with log_artifacts (the run-artifact flow)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def test_registry_calls_and_load_by_alias(mlflow_env: Any, client: Any, tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=200).fit(X, y)
    local = tmp_path / "model"
    mlflow.sklearn.save_model(model, str(local))
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(local), artifact_path="model")
    source = f"runs:/{run.info.run_id}/model"
    name = f"iris-{uuid.uuid4().hex[:8]}"

    v1 = mlflow.register_model(source, name)
    assert (v1.name, v1.version) == (name, "1")
    v2 = client.create_model_version(name, source, run_id=run.info.run_id, description="second")
    assert v2.version == "2"
    assert client.get_model_version(name, "2").description == "second"

    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert client.get_registered_model(name).aliases == {"champion": "1"}

    client.transition_model_version_stage(name, "2", "Staging")
    assert client.get_model_version(name, "2").current_stage == "Staging"
    assert [v.version for v in client.get_latest_versions(name, stages=["Staging"])] == ["2"]

    client.set_model_version_tag(name, "1", "validated", "yes")
    assert client.get_model_version(name, "1").tags == {"validated": "yes"}
    found = client.search_model_versions(f"name = '{name}'")
    assert sorted(v.version for v in found) == ["1", "2"]
    assert [m.name for m in client.search_registered_models(filter_string=f"name = '{name}'")] == [name]

    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    np.testing.assert_array_equal(loaded.predict(X[:20]), model.predict(X[:20]))
    by_stage = mlflow.pyfunc.load_model(f"models:/{name}/Staging")
    np.testing.assert_array_equal(by_stage.predict(X[:20]), model.predict(X[:20]))

    client.delete_registered_model_alias(name, "champion")
    assert client.get_registered_model(name).aliases == {}
