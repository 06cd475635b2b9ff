"""Experiments through the real mlflow client: set_experiment, search and get."""

from __future__ import annotations

from typing import Any

import mlflow


def test_search_experiments_sees_set_experiment(mlflow_env: Any, client: Any) -> None:
    names = [e.name for e in client.search_experiments(max_results=1000)]
    assert mlflow_env.name in names
    got = client.get_experiment_by_name(mlflow_env.name)
    assert got is not None and got.experiment_id == mlflow_env.experiment_id
    assert client.get_experiment(mlflow_env.experiment_id).name == mlflow_env.name
    # set_experiment on an existing name returns the same experiment (no second one).
    assert mlflow.set_experiment(mlflow_env.name).experiment_id == mlflow_env.experiment_id


def test_delete_experiment_tag(mlflow_env: Any, client: Any) -> None:
    from mlflow.exceptions import MlflowException

    exp_id = client.create_experiment(
        f"{mlflow_env.name}-tags", tags={"team": "vision", "stage": "dev"}
    )
    client.set_experiment_tag(exp_id, "extra", "1")
    client.delete_experiment_tag(exp_id, "team")
    assert client.get_experiment(exp_id).tags == {"stage": "dev", "extra": "1"}
    # Deleting an absent tag is RESOURCE_DOES_NOT_EXIST, as on MLflow's own server.
    try:
        client.delete_experiment_tag(exp_id, "team")
    except MlflowException as error:
        assert error.error_code == "RESOURCE_DOES_NOT_EXIST"
        assert f"No tag with name: team in experiment with id {exp_id}" in error.message
    else:
        raise AssertionError("deleting an absent experiment tag was accepted")
    assert client.get_experiment(exp_id).tags == {"stage": "dev", "extra": "1"}


def test_log_batch_over_the_request_size_limit_is_refused(mlflow_env: Any, client: Any) -> None:
    from mlflow.entities import Param, RunTag
    from mlflow.exceptions import MlflowException

    run = client.create_run(mlflow_env.experiment_id)
    run_id = run.info.run_id
    # Within MLflow's count and value limits, but over 1,000,000 bytes as one request.
    tags = [RunTag(f"t{i}", "x" * 5000) for i in range(100)]
    params = [Param(f"p{i}", "y" * 6000) for i in range(90)]
    try:
        client.log_batch(run_id, params=params, tags=tags)
    except MlflowException as error:
        assert error.error_code == "INVALID_PARAMETER_VALUE"
        assert "Batched logging API requests must be at most 1000000 bytes" in error.message
    else:
        raise AssertionError("an oversized log-batch was accepted")
    data = client.get_run(run_id).data
    assert data.params == {}
    assert not [k for k in data.tags if k.startswith("t") and k[1:].isdigit()]
    # Split in two, the same entities are taken.
    client.log_batch(run_id, params=params[:45], tags=tags[:50])
    client.log_batch(run_id, params=params[45:], tags=tags[50:])
    assert len(client.get_run(run_id).data.params) == 90
