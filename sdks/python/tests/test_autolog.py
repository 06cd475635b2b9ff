"""Autologging for scikit-learn, XGBoost and LightGBM against a real server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import numpy as np
import pytest
from conftest import CairnServer

import cairn.pytorch  # noqa: F401  (cairn.pytorch.autolog in the stub test)
import cairn.sklearn  # noqa: F401

RUN_QUERY = """
query($id: String!) {
  run(id: $id) {
    id status
    params { key value }
    tags { key value }
    latestMetrics { key value step }
    childRuns { id name params { key value } latestMetrics { key value } tags { key value } }
  }
}"""


def graphql_run(server: CairnServer, run_id: str) -> dict:
    return server.graphql(RUN_QUERY, {"id": run_id})["run"]


def test_acceptance_script_sklearn_autolog_visible_through_graphql(server: CairnServer):
    """The issue's acceptance script, run as a user would (a separate Python process)."""
    pytest.importorskip("sklearn")
    script = textwrap.dedent(
        """
        import cairn
        from sklearn.datasets import load_iris
        from sklearn.ensemble import RandomForestClassifier

        cairn.set_experiment("acceptance-sklearn")
        cairn.autolog()
        X, y = load_iris(return_X_y=True)
        with cairn.start_run() as run:
            RandomForestClassifier(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
        print(run.run_id)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "CAIRN_TRACKING_URI": server.url},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    node = graphql_run(server, done.stdout.strip().splitlines()[-1])
    params = {p["key"]: p["value"] for p in node["params"]}
    metrics = {m["key"]: m["value"] for m in node["latestMetrics"]}
    tags = {t["key"]: t["value"] for t in node["tags"]}
    assert node["status"] == "FINISHED"
    assert params["n_estimators"] == "20" and params["max_depth"] == "3"
    assert params["random_state"] == "0"
    for key in (
        "training_accuracy_score",
        "training_f1_score",
        "training_precision_score",
        "training_recall_score",
        "training_log_loss",
        "training_roc_auc",
        "training_score",
    ):
        assert key in metrics, key
    assert 0.8 < metrics["training_accuracy_score"] <= 1.0
    assert tags["estimator_name"] == "RandomForestClassifier"
    assert tags["estimator_class"] == "sklearn.ensemble._forest.RandomForestClassifier"


def test_sklearn_pipeline_search_post_training_and_disable(cairn_env, server):
    pytest.importorskip("sklearn")
    cairn = cairn_env
    cairn.autolog()
    import sklearn.metrics
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

    # A pipeline, no run active: autolog starts one and ends it after fit.
    pipe = make_pipeline(StandardScaler(), Ridge(alpha=0.5))
    pipe.fit(X_train, y_train)
    auto_run = cairn.last_active_run()
    assert cairn.active_run() is None
    assert auto_run.info.status == "FINISHED"
    assert auto_run.data.params["ridge__alpha"] == "0.5"
    assert auto_run.data.tags["estimator_name"] == "Pipeline"
    assert auto_run.data.tags["cairn.autologging"] == "sklearn"
    for key in (
        "training_mean_squared_error",
        "training_root_mean_squared_error",
        "training_mean_absolute_error",
        "training_r2_score",
        "training_score",
    ):
        assert key in auto_run.data.metrics, key

    # Post-training metrics go to the run that fitted the model.
    test_score = pipe.score(X_test, y_test)
    mse = sklearn.metrics.mean_squared_error(y_test, pipe.predict(X_test))
    after = cairn.get_run(auto_run.info.run_id).data.metrics
    assert after["Pipeline_score_X_test"] == pytest.approx(test_score)
    assert after["mean_squared_error_X_test"] == pytest.approx(mse)

    # A search CV inside a user's run: best params, best score, child runs for the best.
    with cairn.start_run() as run:
        search = GridSearchCV(Ridge(), {"alpha": [0.01, 0.1, 1.0, 10.0]}, cv=3)
        search.fit(X_train, y_train)
    node = graphql_run(server, run.run_id)
    params = {p["key"]: p["value"] for p in node["params"]}
    metrics = {m["key"]: m["value"] for m in node["latestMetrics"]}
    assert params["best_alpha"] == str(search.best_params_["alpha"])
    assert params["estimator"].startswith("Ridge")
    assert metrics["best_cv_score"] == pytest.approx(search.best_score_)
    children = node["childRuns"]
    assert len(children) == 4  # max_tuning_runs=5 > 4 candidates
    by_rank = {
        int({m["key"]: m["value"] for m in c["latestMetrics"]}["rank_test_score"]): c
        for c in children
    }
    best = by_rank[1]
    assert {p["key"]: p["value"] for p in best["params"]} == {
        "alpha": str(search.best_params_["alpha"])
    }
    assert {m["key"] for m in best["latestMetrics"]} >= {
        "mean_test_score",
        "std_test_score",
        "mean_fit_time",
    }
    assert {t["key"]: t["value"] for t in best["tags"]}["mlflow.parentRunId"] == run.run_id

    # Nested fits (the candidates, the pipeline's steps) did not create runs of their own.
    assert len(cairn.search_runs(output_format="list")) == 2 + 4

    # disable=True restores the originals.
    cairn.autolog(disable=True)
    assert not hasattr(Ridge.fit, "__cairn_original__")
    assert not hasattr(sklearn.metrics.mean_squared_error, "__cairn_original__")
    Ridge().fit(X_train, y_train)
    assert cairn.active_run() is None
    assert len(cairn.search_runs(output_format="list")) == 6


def test_sklearn_autolog_never_breaks_training(cairn_env, monkeypatch):
    pytest.importorskip("sklearn")
    cairn = cairn_env
    import cairn.sklearn as cs

    def broken(*args, **kwargs):
        raise RuntimeError("boom in our logging")

    monkeypatch.setattr(cs, "_log_after_fit", broken)
    cairn.autolog(silent=True)
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(X, y)  # must not raise
    assert model.score(X, y) > 0.9
    assert cairn.last_active_run().data.params["max_iter"] == "500"

    # ... and a failing fit still fails the way scikit-learn fails, and marks the run FAILED
    with pytest.raises(ValueError):
        LogisticRegression().fit(X[:, :2], y[:5])
    assert cairn.last_active_run().info.status == "FAILED"


def test_xgboost_autolog(cairn_env):
    xgb = pytest.importorskip("xgboost")
    cairn = cairn_env
    cairn.autolog()
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    dtrain = xgb.DMatrix(X_train, label=y_train)
    dtest = xgb.DMatrix(X_test, label=y_test)
    with cairn.start_run() as run:
        xgb.train(
            {
                "objective": "binary:logistic",
                "eval_metric": "logloss",
                "max_depth": 3,
                "nthread": 1,
            },
            dtrain,
            num_boost_round=15,
            evals=[(dtrain, "train"), (dtest, "eval")],
            early_stopping_rounds=50,
            verbose_eval=False,
        )
    got = cairn.get_run(run.run_id)
    assert got.data.params["max_depth"] == "3"
    assert got.data.params["num_boost_round"] == "15"
    assert "train-logloss" in got.data.metrics and "eval-logloss" in got.data.metrics
    assert "best_iteration" in got.data.metrics
    history = cairn.get_metric_history(run.run_id, "eval-logloss")
    assert [m.step for m in history] == list(range(15))

    # The scikit-learn wrapper goes through xgboost.train: logged once, into its own run.
    clf = xgb.XGBClassifier(n_estimators=8, max_depth=2, n_jobs=1)
    clf.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False)
    auto = cairn.last_active_run()
    assert auto.info.run_id != run.info.run_id
    assert auto.data.params["max_depth"] == "2"
    assert len(cairn.get_metric_history(auto.info.run_id, "validation_0-logloss")) == 8

    cairn.autolog(disable=True)
    assert not hasattr(xgb.train, "__cairn_original__")


def test_lightgbm_autolog(cairn_env):
    lgb = pytest.importorskip("lightgbm")
    cairn = cairn_env
    cairn.autolog()
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    train_set = lgb.Dataset(X_train, y_train)
    valid_set = lgb.Dataset(X_test, y_test, reference=train_set)
    with cairn.start_run() as run:
        booster = lgb.train(
            {"objective": "binary", "num_leaves": 7, "verbose": -1, "num_threads": 1},
            train_set,
            num_boost_round=40,
            valid_sets=[valid_set],
            callbacks=[lgb.early_stopping(3, verbose=False)],
        )
    got = cairn.get_run(run.run_id)
    assert got.data.params["num_leaves"] == "7"
    assert got.data.params["num_boost_round"] == "40"
    history = cairn.get_metric_history(run.run_id, "valid_0-binary_logloss")
    assert [m.step for m in history] == list(range(booster.current_iteration()))
    assert got.data.metrics["stopped_iteration"] == booster.current_iteration()
    # the booster, in the LightGBM flavor, predicts what the live one does
    logged = cairn.lightgbm.load_model(f"runs:/{run.run_id}/model")
    assert isinstance(logged, lgb.Booster)
    np.testing.assert_allclose(logged.predict(X_test), booster.predict(X_test), rtol=1e-9)

    cairn.autolog(disable=True)
    assert not hasattr(lgb.train, "__cairn_original__")


def test_lightgbm_flavor_sklearn_api_through_the_registry(cairn_env, client):
    lgb = pytest.importorskip("lightgbm")
    cairn = cairn_env
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    clf = lgb.LGBMClassifier(n_estimators=15, num_leaves=7, verbose=-1, n_jobs=1).fit(X, y)
    name = f"lgb-{uuid.uuid4().hex[:8]}"
    with cairn.start_run():
        info = cairn.lightgbm.log_model(
            clf, "model", registered_model_name=name, input_example=X[:3]
        )
    client.set_registered_model_alias(name, "champion", info.registered_model_version)
    back = cairn.lightgbm.load_model(f"models:/{name}@champion")
    assert isinstance(back, lgb.LGBMClassifier)
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    np.testing.assert_array_equal(
        cairn.pyfunc.load_model(f"models:/{name}@champion").predict(X), clf.predict(X)
    )
    with pytest.raises(cairn.InvalidArgumentError):
        cairn.lightgbm.save_model({"not": "a model"}, "/tmp/never-written")


def test_autolog_patches_libraries_imported_later(server: CairnServer):
    """autolog() before `import sklearn` patches it on import, and imports nothing itself."""
    pytest.importorskip("sklearn")
    script = textwrap.dedent(
        """
        import sys, cairn
        cairn.autolog()
        assert "sklearn" not in sys.modules and "xgboost" not in sys.modules
        assert "lightgbm" not in sys.modules and "torch" not in sys.modules
        cairn.set_experiment("late-import")
        from sklearn.linear_model import LinearRegression
        LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
        run = cairn.last_active_run()
        assert run.data.params["fit_intercept"] == "True", run.data.params
        assert run.data.metrics["training_r2_score"] == 1.0
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "CAIRN_TRACKING_URI": server.url},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_lightning_integration_against_a_stub_trainer(cairn_env, monkeypatch):
    """The Lightning integration's patching, hooks and restore, run against a stand-in for
    ``lightning.pytorch`` that mimics Trainer.fit's hook order and drives every hook path (the
    real Lightning runs in tests/test_autolog_lightning.py)."""
    import types

    cairn = cairn_env
    lightning = types.ModuleType("lightning")
    pl = types.ModuleType("lightning.pytorch")

    class Callback:
        pass

    class Scalar:  # a 0-d tensor: numel() and float()
        def __init__(self, v: float) -> None:
            self.v = v

        def numel(self) -> int:
            return 1

        def __float__(self) -> float:
            return self.v

    class SGD:
        defaults = {"lr": 0.1, "momentum": 0.9, "nesterov": False}

    class Trainer:
        def __init__(self, max_epochs: int) -> None:
            self.max_epochs = max_epochs
            self.callbacks: list = []
            self.optimizers: list = []
            self.callback_metrics: dict = {}
            self.current_epoch = 0
            self.global_step = 0
            self.is_global_zero = True
            self.sanity_checking = False

        def fit(self, model, train_dataloaders=None):
            self.optimizers = [SGD()]
            for cb in self.callbacks:
                cb.on_train_start(self, model)
            for epoch in range(self.max_epochs):
                self.current_epoch = epoch
                self.global_step += 10
                self.callback_metrics = {"train_loss": Scalar(1.0 / (epoch + 1)), "vec": [1, 2]}
                for cb in self.callbacks:
                    cb.on_train_batch_end(self, model, None, None, 0)
                self.callback_metrics["val_loss"] = Scalar(2.0 / (epoch + 1))
                for cb in self.callbacks:
                    cb.on_validation_epoch_end(self, model)
                for cb in self.callbacks:
                    cb.on_train_epoch_end(self, model)
            for cb in self.callbacks:
                cb.on_fit_end(self, model)

    pl.Callback = Callback
    pl.Trainer = Trainer
    lightning.pytorch = pl
    monkeypatch.setitem(sys.modules, "lightning", lightning)
    monkeypatch.setitem(sys.modules, "lightning.pytorch", pl)
    original_fit = Trainer.fit

    cairn.pytorch.autolog(log_every_n_step=10)
    assert Trainer.fit is not original_fit
    model = types.SimpleNamespace(hparams={"hidden": 8, "lr": 0.1})
    trainer = Trainer(max_epochs=3)
    with cairn.start_run() as run:
        trainer.fit(model)
    assert trainer.callbacks == []  # our callback is removed after fit
    got = cairn.get_run(run.run_id)
    assert got.data.params == {
        "epochs": "3",
        "optimizer_name": "SGD",
        "lr": "0.1",
        "optimizer_momentum": "0.9",
        "optimizer_nesterov": "False",
        "hidden": "8",
    }
    assert [m.step for m in cairn.get_metric_history(run.run_id, "val_loss")] == [0, 1, 2]
    steps = sorted({m.step for m in cairn.get_metric_history(run.run_id, "train_loss")})
    assert steps == [0, 1, 2, 10, 20, 30]  # epochs, and every 10th global step
    assert "vec" not in got.data.metrics

    cairn.pytorch.autolog(disable=True)
    assert Trainer.fit is original_fit


def test_exclusive_autolog_leaves_user_runs_alone(cairn_env):
    pytest.importorskip("sklearn")
    cairn = cairn_env
    cairn.sklearn.autolog(exclusive=True)
    from sklearn.linear_model import LinearRegression

    with cairn.start_run() as run:
        LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    assert cairn.get_run(run.run_id).data.params == {}
    LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])  # no user run: autolog's own run
    own = cairn.last_active_run()
    assert own.info.run_id != run.run_id and own.data.params["fit_intercept"] == "True"
