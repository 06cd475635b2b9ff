"""Keras 3 (PyTorch backend here; the flavor and autologging are backend-neutral) against the real
server: autologging of params, per-epoch metrics and the model; the flavor through the registry,
loaded back as a Keras model and as pyfunc, also in a fresh interpreter."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import subprocess
import sys
import textwrap
import uuid

import keras
import numpy as np


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input(shape=(4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse", metrics=["mae"])
    return model


def _data():
    rng = np.random.RandomState(0)
    x = rng.rand(64, 4).astype(np.float32)
    return x, x.sum(axis=1, keepdims=True)


def test_keras_autolog_logs_params_epoch_metrics_and_the_model(cairn_env):
    cairn = cairn_env
    cairn.autolog()
    try:
        x, y = _data()
        model = _model()
        stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=50)
        with cairn.start_run() as run:
            model.fit(
                x, y, batch_size=16, epochs=4, validation_split=0.25, callbacks=[stop], verbose=0
            )
        got = cairn.get_run(run.run_id)
        params = got.data.params
        assert params["epochs"] == "4"
        assert params["batch_size"] == "16"
        assert params["validation_split"] == "0.25"
        assert params["optimizer_name"] == "SGD"
        assert params["learning_rate"] == "0.05"
        assert params["early_stopping_monitor"] == "val_loss"
        for key in ("loss", "mae", "val_loss", "val_mae"):
            history = cairn.MlflowClient().get_metric_history(run.run_id, key)
            assert [m.step for m in history] == [0, 1, 2, 3], key
        # the fitted model, in the Keras flavor, predicts what the live one does
        loaded = cairn.pyfunc.load_model(f"runs:/{run.run_id}/model")
        np.testing.assert_allclose(
            loaded.predict(x[:5]), model.predict(x[:5], verbose=0), rtol=1e-5
        )
    finally:
        cairn.autolog(disable=True)


def test_keras_flavor_round_trip_through_the_registry(cairn_env, client, server, tmp_path):
    import cairn.keras

    cairn = cairn_env
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=2, verbose=0)
    expected = model.predict(x, verbose=0)
    name = f"keras-{uuid.uuid4().hex[:8]}"
    with cairn.start_run() as run:
        info = cairn.keras.log_model(
            model, "model", registered_model_name=name, input_example=x[:2]
        )
    assert info.model_uri == f"runs:/{run.run_id}/model"
    client.set_registered_model_alias(name, "champion", info.registered_model_version)

    back = cairn.keras.load_model(f"models:/{name}@champion")
    assert isinstance(back, keras.Model)
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=1e-5)

    np.save(tmp_path / "x.npy", x)
    code = f"""
        import os
        os.environ["KERAS_BACKEND"] = "torch"
        import numpy as np, cairn
        x = np.load({str(tmp_path / "x.npy")!r})
        np.save({str(tmp_path / "out.npy")!r}, cairn.pyfunc.load_model("models:/{name}@champion").predict(x))
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "CAIRN_TRACKING_URI": server.url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-5)


def test_keras_save_model_refuses_what_is_not_a_keras_model(tmp_path):
    import cairn.keras
    from cairn.exceptions import InvalidArgumentError

    try:
        cairn.keras.save_model(object(), str(tmp_path / "m"))
    except InvalidArgumentError as exc:
        assert "keras.Model" in str(exc)
    else:
        raise AssertionError("save_model accepted a non-model")
    assert not (tmp_path / "m").exists()
