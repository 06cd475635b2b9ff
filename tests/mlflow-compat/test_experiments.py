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
