"""Keras 3: autologging (``cairn.keras.autolog()`` or ``cairn.autolog()``) and the model flavor.

Autologging patches ``keras.Model.fit`` (every backend: TensorFlow, JAX, PyTorch) to add a
callback that logs:

- params: ``epochs``, ``batch_size``, ``validation_split``, ``steps_per_epoch``,
  ``initial_epoch``, ``optimizer_name`` and the optimizer's scalar settings (``learning_rate``,
  ``momentum``, ...), and ``EarlyStopping``'s ``monitor``/``patience``/``min_delta``/``mode``;
- metrics: every value in Keras' epoch ``logs`` (``loss``, ``accuracy``, ``val_loss``, ...) at
  step = epoch (``log_every_n_steps=N`` also logs the batch logs every N batches, step = the
  global batch index), and after fit the early-stopping state (``stopped_epoch``,
  ``restored_epoch``);
- the trained model at ``model`` (``log_models=True``, the default), in the Keras flavor.

The flavor saves with Keras' own ``model.save`` (the ``.keras`` zip: architecture, weights and
optimizer state; no pickle). Custom layers load when their classes are registered with
``keras.saving.register_keras_serializable`` or passed as ``custom_objects``.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Dict, List, Optional

from . import _autolog
from ._autolog import (
    Integration,
    autolog_run,
    autolog_scope,
    inside_autologged_call,
    safe,
)


def _patch(integration: Integration) -> None:
    keras = sys.modules.get("keras")
    model_class = getattr(keras, "Model", None) if keras is not None else None
    if model_class is not None:
        integration.wrap(model_class, "fit", lambda orig: _fit_wrapper(integration, orig))


INTEGRATION = _autolog.register(Integration("keras", ("keras",), _patch))


def autolog(
    log_every_n_steps: Optional[int] = None,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: Optional[Dict[str, str]] = None,
) -> None:
    """Autologging for Keras; ``disable=True`` restores ``keras.Model.fit``."""
    if disable:
        _autolog.disable(INTEGRATION)
        return
    _autolog.enable(
        INTEGRATION,
        dict(
            log_every_n_steps=log_every_n_steps,
            log_models=log_models,
            exclusive=exclusive,
            silent=silent,
            extra_tags=extra_tags,
        ),
    )


def _scalars(logs: Optional[Dict[str, Any]]) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for key, value in (logs or {}).items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            continue
    return out


_FIT_PARAMS = ("epochs", "batch_size", "validation_split", "steps_per_epoch", "initial_epoch")
_FIT_ORDER = ("x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split")


def _fit_arguments(args: Any, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """``fit``'s arguments by name (Keras' positional order, then the keywords)."""
    named = dict(zip(_FIT_ORDER, args))
    named.update(kwargs)
    return named


def _log_params(integration: Integration, run: Any, model: Any, arguments: Dict[str, Any]) -> None:
    params: Dict[str, Any] = {"epochs": arguments.get("epochs", 1)}
    for key in _FIT_PARAMS[1:]:
        if arguments.get(key) is not None:
            params[key] = arguments[key]
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        params["optimizer_name"] = type(optimizer).__name__
        try:
            config = optimizer.get_config()
        except Exception:
            config = {}
        for key, value in config.items():
            if key == "name" or isinstance(value, bool) or value is None:
                continue
            if isinstance(value, float):
                # optimizer settings are float32 variables: 0.05, not 0.05000000074505806
                params[key] = float(f"{value:.7g}")
            elif isinstance(value, (int, str)):
                params[key] = value
    for callback in arguments.get("callbacks") or []:
        if type(callback).__name__ == "EarlyStopping":
            for attr in ("monitor", "patience", "min_delta", "mode"):
                if getattr(callback, attr, None) is not None:
                    params[f"early_stopping_{attr}"] = getattr(callback, attr)
    for key, value in _autolog.stringify_params(params).items():
        try:
            run.batcher.add_param(run.run_id, key, value)
        except Exception as exc:
            integration.warn("param not logged", exc)


def _make_callback(integration: Integration, run: Any) -> Any:
    import keras

    every_steps = integration.config.get("log_every_n_steps")

    def log(metrics: Dict[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        for key, value in metrics.items():
            run.batcher.add_metric(run.run_id, key, value, step, now)

    class CairnKerasCallback(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.epoch = 0
            self.steps_seen = 0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.steps_seen += 1
            if every_steps and self.steps_seen % every_steps == 0:
                safe(integration, "logging step metrics", log, _scalars(logs), self.steps_seen)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            safe(integration, "logging epoch metrics", log, _scalars(logs), epoch)

    return CairnKerasCallback()


def _log_early_stopping(run: Any, callbacks: List[Any]) -> None:
    now = int(time.time() * 1000)
    for callback in callbacks:
        if type(callback).__name__ != "EarlyStopping":
            continue
        stopped = getattr(callback, "stopped_epoch", 0) or 0
        run.batcher.add_metric(run.run_id, "stopped_epoch", float(stopped), 0, now)
        best_epoch = getattr(callback, "best_epoch", None)
        if stopped > 0 and getattr(callback, "restore_best_weights", False) and best_epoch:
            run.batcher.add_metric(run.run_id, "restored_epoch", float(best_epoch), 0, now)


def _fit_wrapper(integration: Integration, original: Callable[..., Any]) -> Callable[..., Any]:
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not integration.enabled or inside_autologged_call():
            return original(self, *args, **kwargs)
        with autolog_scope(), autolog_run(integration) as run:
            if run is None:
                return original(self, *args, **kwargs)
            arguments = _fit_arguments(args, kwargs)
            safe(integration, "logging params", _log_params, integration, run, self, arguments)
            callback = safe(integration, "adding the callback", _make_callback, integration, run)
            user_callbacks = list(arguments.get("callbacks") or [])
            if callback is not None:
                if len(args) > _FIT_ORDER.index("callbacks"):
                    args = tuple(
                        user_callbacks + [callback] if i == _FIT_ORDER.index("callbacks") else a
                        for i, a in enumerate(args)
                    )
                else:
                    kwargs["callbacks"] = user_callbacks + [callback]
            history = original(self, *args, **kwargs)
            safe(integration, "logging early stopping", _log_early_stopping, run, user_callbacks)
            if integration.config.get("log_models"):
                safe(integration, "logging the model", _autolog_model, run, self)
            return history

    return fit


def _autolog_model(run: Any, model: Any) -> None:
    log_model(model, "model", run_id=run.run_id)


# ---------------------------------------------------------------------- model flavor

FLAVOR_NAME = "keras"
_MODEL_FILE = "model.keras"


def save_model(
    model: Any,
    path: str,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: Optional[Dict[str, Any]] = None,
    _model: Any = None,
) -> Any:
    """Saves a ``keras.Model`` with Keras' ``model.save`` (the ``.keras`` format) to ``path``.
    Loading needs Keras 3 and the backend it was trained with installed (the weights load into
    any backend)."""
    import os

    import keras

    from .exceptions import error_for
    from .models.model import Model, finish_model, pinned, prepare_dir

    if not isinstance(model, keras.Model):
        raise error_for(
            f"cairn.keras.save_model takes a keras.Model, not {type(model).__name__}",
            "INVALID_ARGUMENT",
        )
    prepare_dir(path)
    model.save(os.path.join(path, _MODEL_FILE))
    backend = keras.backend.backend()
    meta = _model or Model()
    meta.add_flavor(
        FLAVOR_NAME,
        loader_module="cairn.keras",
        data=_MODEL_FILE,
        save_format="keras",
        backend=backend,
        model_class=f"{type(model).__module__}.{type(model).__qualname__}",
        library="keras",
        library_version=keras.__version__,
    )
    meta.add_flavor("python_function", loader_module="cairn.keras", data=_MODEL_FILE)
    backend_dist = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    reqs: List[Any] = ["keras", "numpy"] + ([backend_dist] if backend_dist else [])
    if type(input_example).__module__.startswith("pandas"):
        reqs.append("pandas")
    impl = _KerasPyfunc(model)
    return finish_model(
        path,
        meta,
        predict_fn=impl.predict,
        signature=signature,
        input_example=input_example,
        default_requirements=pinned(reqs),
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def log_model(
    model: Any,
    artifact_path: str = "model",
    registered_model_name: Optional[str] = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: Optional[Dict[str, Any]] = None,
    run_id: Optional[str] = None,
) -> Any:
    """Logs a ``keras.Model`` to the active run (see :func:`save_model`); registers it as a new
    version of ``registered_model_name`` when given. Returns a ``cairn.models.ModelInfo``."""
    from .models import log_model as _log_model

    return _log_model(
        save_model,
        artifact_path,
        registered_model_name=registered_model_name,
        run_id=run_id,
        model=model,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _keras_load(path: str, custom_objects: Optional[Dict[str, Any]] = None) -> Any:
    import keras

    return keras.saving.load_model(path, custom_objects=custom_objects, compile=True)


def load_model(
    model_uri: str, dst_path: Optional[str] = None, custom_objects: Optional[Dict[str, Any]] = None
) -> Any:
    """The ``keras.Model`` of a model (``runs:/``, ``models:/`` URI or local path)."""
    import os

    from .models import download_model
    from .models.model import Model

    local = download_model(model_uri, dst_path)
    conf = Model.load(local).flavor(FLAVOR_NAME, model_uri)
    return _keras_load(os.path.join(local, conf["data"]), custom_objects)


class _KerasPyfunc:
    """``predict``: the input (DataFrame, array or list) as a float32 array when numeric,
    ``model.predict`` without progress output, the output as a numpy array."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, data: Any, params: Any = None) -> Any:
        import numpy as np

        values = data.to_numpy() if hasattr(data, "to_numpy") else np.asarray(data)
        if values.dtype.kind in ("f", "i", "u", "b"):
            values = values.astype(np.float32)
        out = self.model.predict(values, verbose=0, **(params or {}))
        return np.asarray(out)


def _load_pyfunc(data_path: str, model_dir: str) -> _KerasPyfunc:
    return _KerasPyfunc(_keras_load(data_path))
