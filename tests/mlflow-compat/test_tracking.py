"""Experiments and runs through the real mlflow client: set_experiment, nested runs, params,
metrics, log_batch, search_runs (DataFrame and list, filter and order)."""

from __future__ import annotations

import time
from typing import Any

import mlflow
from mlflow.entities import Metric, Param, RunTag


def test_nested_runs_params_metrics(mlflow_env: Any, client: Any) -> None:
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_params({"lr": 0.01, "layers": 3})
        mlflow.log_metrics({"loss": 0.5, "acc": 0.8}, step=0)
        mlflow.log_metric("loss", 0.25, step=1)
        mlflow.set_tag("team", "search")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_param("fold", 1)
            mlflow.log_metric("loss", 0.4)
    p = client.get_run(parent.info.run_id)
    c = client.get_run(child.info.run_id)
    assert p.info.status == "FINISHED" and c.info.status == "FINISHED"
    assert p.info.run_name == "parent" and c.info.run_name == "child"
    assert p.data.params == {"lr": "0.01", "layers": "3"}
    assert p.data.metrics == {"loss": 0.25, "acc": 0.8}
    assert p.data.tags["team"] == "search"
    assert c.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert c.data.params == {"fold": "1"}
    history = client.get_metric_history(parent.info.run_id, "loss")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [(0, 0.5), (1, 0.25)]


def test_log_batch(mlflow_env: Any, client: Any) -> None:
    run = client.create_run(mlflow_env.experiment_id)
    now = int(time.time() * 1000)
    client.log_batch(
        run.info.run_id,
        metrics=[Metric("m", float(i), now + i, i) for i in range(50)],
        params=[Param(f"p{i}", str(i)) for i in range(20)],
        tags=[RunTag("k", "v")],
    )
    client.set_terminated(run.info.run_id)
    got = client.get_run(run.info.run_id)
    assert got.data.metrics["m"] == 49.0
    assert len(got.data.params) == 20 and got.data.params["p7"] == "7"
    assert got.data.tags["k"] == "v"
    assert len(client.get_metric_history(run.info.run_id, "m")) == 50


def test_search_runs_dataframe_and_list(mlflow_env: Any, client: Any) -> None:
    ids = {}
    for i, lr in enumerate([0.1, 0.01, 0.001]):
        with mlflow.start_run(run_name=f"r{i}") as run:
            mlflow.log_param("lr", lr)
            mlflow.log_metric("acc", 0.5 + i / 10)
            ids[i] = run.info.run_id

    df = mlflow.search_runs(
        experiment_ids=[mlflow_env.experiment_id],
        filter_string="metrics.acc > 0.55",
        order_by=["metrics.acc DESC"],
    )
    assert list(df["run_id"]) == [ids[2], ids[1]]
    assert list(df["params.lr"]) == ["0.001", "0.01"]
    assert list(df["metrics.acc"]) == [0.7, 0.6]

    runs = mlflow.search_runs(
        experiment_names=[mlflow_env.name],
        filter_string="params.lr = '0.1'",
        output_format="list",
    )
    assert [r.info.run_id for r in runs] == [ids[0]]

    ordered = client.search_runs(
        [mlflow_env.experiment_id], order_by=["metrics.acc ASC"], max_results=2
    )
    assert [r.info.run_id for r in ordered] == [ids[0], ids[1]]
    assert ordered.token, "a next page token when more runs match"
    rest = client.search_runs(
        [mlflow_env.experiment_id], order_by=["metrics.acc ASC"], max_results=2, page_token=ordered.token
    )
    assert [r.info.run_id for r in rest] == [ids[2]]


def test_log_input_dataset(mlflow_env: Any, client: Any) -> None:
    import pandas as pd

    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, source="/data/train.csv", name="train")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    got = inputs[0]
    assert got.dataset.name == "train"
    assert got.dataset.digest == dataset.digest
    assert got.dataset.source_type == "local"
    assert {t.key: t.value for t in got.tags} == {"mlflow.data.context": "training"}
    assert '"num_rows": 3' in got.dataset.profile
