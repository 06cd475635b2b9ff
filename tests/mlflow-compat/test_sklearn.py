"""mlflow.sklearn.autolog() on a fit: params, training metrics, the model, then registry calls and
mlflow.pyfunc.load_model("models:/name@alias") predicting like the original."""

from __future__ import annotations

import uuid
from typing import Any

import mlflow
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def test_autolog_fit(mlflow_env: Any, client: Any) -> None:
    X, y = load_iris(return_X_y=True)
    mlflow.sklearn.autolog()
    try:
        with mlflow.start_run() as run:
            LogisticRegression(max_iter=200, C=0.5).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    got = client.get_run(run.info.run_id)
    assert got.data.params["C"] == "0.5"
    assert got.data.params["max_iter"] == "200"
    assert 0.9 < got.data.metrics["training_accuracy_score"] <= 1.0
    assert "training_f1_score" in got.data.metrics
    assert got.data.tags["estimator_name"] == "LogisticRegression"
    models = mlflow.search_logged_models(experiment_ids=[mlflow_env.experiment_id], output_format="list")
    assert [m.source_run_id for m in models] == [run.info.run_id]
    loaded = mlflow.pyfunc.load_model(models[0].model_uri)
    assert loaded.predict(X[:5]).tolist() == LogisticRegression(max_iter=200, C=0.5).fit(X, y).predict(X[:5]).tolist()


def test_registry_and_load_by_alias(mlflow_env: Any, client: Any) -> None:
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=200).fit(X, y)
    name = f"iris-{uuid.uuid4().hex[:8]}"
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", input_example=X[:2])
    v1 = mlflow.register_model(info.model_uri, name)
    assert v1.version == "1" and v1.name == name
    with mlflow.start_run():
        info2 = mlflow.sklearn.log_model(model, name="model")
    v2 = client.create_model_version(name, info2.model_uri, run_id=info2.run_id)
    assert v2.version == "2"

    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    assert client.get_registered_model(name).aliases == {"champion": "1"}

    client.transition_model_version_stage(name, "2", "Staging")
    assert client.get_model_version(name, "2").current_stage == "Staging"
    assert [v.version for v in client.get_latest_versions(name, stages=["Staging"])] == ["2"]

    found = client.search_model_versions(f"name = '{name}'")
    assert sorted(v.version for v in found) == ["1", "2"]
    assert [m.name for m in client.search_registered_models(filter_string=f"name = '{name}'")] == [name]

    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    np.testing.assert_array_equal(loaded.predict(X[:10]), model.predict(X[:10]))
    client.delete_registered_model_alias(name, "champion")
    assert client.get_registered_model(name).aliases == {}
