"""XGBoost autologging: ``cairn.xgboost.autolog()`` (or ``cairn.autolog()``).

Patches ``xgboost.train`` (which the scikit-learn wrappers ``XGBClassifier``/``XGBRegressor``
call too). Logs the booster params and ``num_boost_round``/``early_stopping_rounds``, every
evaluation metric after every iteration as ``<eval name>-<metric>`` (``validation_0-logloss``,
``train-rmse``) at step = iteration, and ``best_iteration``/``best_score`` after early stopping.
The trained booster is logged as a model at ``model`` (``log_models=True``, the default).
"""

from __future__ import annotations

import inspect
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
    import xgboost

    modules = [xgboost]
    for name in ("xgboost.training", "xgboost.sklearn"):
        module = __import__("sys").modules.get(name)
        if module is not None:
            modules.append(module)
    original = getattr(xgboost, "train")
    for module in modules:
        if getattr(module, "train", None) is original:
            integration.wrap(module, "train", lambda orig: _train_wrapper(integration, orig))


INTEGRATION = _autolog.register(Integration("xgboost", ("xgboost",), _patch))


def autolog(
    importance_types: Any = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: Optional[Dict[str, str]] = None,
) -> None:
    """Autologging for XGBoost; ``disable=True`` restores ``xgboost.train``."""
    if disable:
        _autolog.disable(INTEGRATION)
        return
    _autolog.enable(
        INTEGRATION,
        dict(log_models=log_models, exclusive=exclusive, silent=silent, extra_tags=extra_tags),
    )


def _metrics_callback(run: Any) -> Any:
    from xgboost.callback import TrainingCallback

    class CairnCallback(TrainingCallback):  # type: ignore[misc]
        """Logs the last value of every evaluation metric after each boosting round."""

        def after_iteration(self, model: Any, epoch: int, evals_log: Dict[str, Any]) -> bool:
            now = int(time.time() * 1000)
            for data_name, metrics in evals_log.items():
                for metric_name, values in metrics.items():
                    if not values:
                        continue
                    value = values[-1]
                    if isinstance(value, tuple):  # xgboost.cv: (mean, std)
                        run.batcher.add_metric(
                            run.run_id, f"{data_name}-{metric_name}-std", value[1], epoch, now
                        )
                        value = value[0]
                    run.batcher.add_metric(
                        run.run_id, f"{data_name}-{metric_name}", value, epoch, now
                    )
            return False

    return CairnCallback()


def _train_wrapper(integration: Integration, original: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(original)

    def train(*args: Any, **kwargs: Any) -> Any:
        if not integration.enabled or inside_autologged_call():
            return original(*args, **kwargs)
        with autolog_scope(), autolog_run(integration) as run:
            if run is None:
                return original(*args, **kwargs)
            try:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
            except TypeError:
                return original(*args, **kwargs)  # let xgboost report the bad call
            arguments = bound.arguments
            safe(integration, "logging params", _log_params, integration, run, arguments)
            callback = safe(integration, "adding the metrics callback", _metrics_callback, run)
            if callback is not None:
                arguments["callbacks"] = list(arguments.get("callbacks") or []) + [callback]
            booster = original(*bound.args, **bound.kwargs)
            safe(integration, "logging results", _log_results, run, booster)
            if integration.config.get("log_models"):
                safe(integration, "logging the model", _autolog_model, run, booster)
            return booster

    return train


def _autolog_model(run: Any, booster: Any) -> None:
    log_model(booster, "model", run_id=run.run_id)


def _log_params(integration: Integration, run: Any, arguments: Dict[str, Any]) -> None:
    raw = arguments.get("params") or {}
    params = dict(raw.items() if isinstance(raw, dict) else raw)
    for key in ("num_boost_round", "early_stopping_rounds", "maximize", "verbose_eval"):
        if arguments.get(key) is not None:
            params[key] = arguments[key]
    for key, value in _autolog.stringify_params(params).items():
        try:
            run.batcher.add_param(run.run_id, key, value)
        except Exception as exc:
            integration.warn("param not logged", exc)


def _log_results(run: Any, booster: Any) -> None:
    now = int(time.time() * 1000)
    best_iteration = getattr(booster, "best_iteration", None)
    best_score = getattr(booster, "best_score", None)
    attrs = booster.attributes() if hasattr(booster, "attributes") else {}
    if best_iteration is None and "best_iteration" in attrs:
        best_iteration = int(attrs["best_iteration"])
    if best_score is None and "best_score" in attrs:
        best_score = float(attrs["best_score"])
    if best_iteration is not None and "best_iteration" in attrs:
        run.batcher.add_metric(run.run_id, "best_iteration", float(best_iteration), 0, now)
    if best_score is not None and "best_score" in attrs:
        run.batcher.add_metric(run.run_id, "best_score", float(best_score), 0, now)


# ---------------------------------------------------------------------- model flavor

FLAVOR_NAME = "xgboost"
MODEL_FORMATS = ("ubj", "json")


def save_model(
    xgb_model: Any,
    path: str,
    model_format: str = "ubj",
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: Optional[Dict[str, Any]] = None,
    _model: Any = None,
) -> Any:
    """Saves an XGBoost ``Booster`` or scikit-learn-API model (``XGBClassifier``, ...) with
    XGBoost's own ``save_model`` (``model_format`` ``"ubj"``, binary JSON, the default, or
    ``"json"``): portable across XGBoost versions and platforms, no pickle."""
    import os
    from importlib import metadata as _md

    import xgboost

    from .exceptions import error_for
    from .models.model import Model, finish_model, pinned, prepare_dir

    if model_format not in MODEL_FORMATS:
        raise error_for(
            f"model_format must be one of {MODEL_FORMATS}, not {model_format!r}",
            "INVALID_ARGUMENT",
        )
    if not isinstance(xgb_model, (xgboost.Booster, xgboost.XGBModel)):
        raise error_for(
            f"cairn.xgboost.save_model takes an xgboost Booster or XGBModel, "
            f"not {type(xgb_model).__name__}",
            "INVALID_ARGUMENT",
        )
    prepare_dir(path)
    data = f"model.{model_format}"
    xgb_model.save_model(os.path.join(path, data))
    version = None
    for dist in ("xgboost", "xgboost-cpu"):
        try:
            version = _md.version(dist)
            break
        except _md.PackageNotFoundError:
            continue
    model = _model or Model()
    model.add_flavor(
        FLAVOR_NAME,
        loader_module="cairn.xgboost",
        data=data,
        model_format=model_format,
        model_class=f"{type(xgb_model).__module__}.{type(xgb_model).__qualname__}",
        library="xgboost",
        library_version=version or xgboost.__version__,
    )
    model.add_flavor("python_function", loader_module="cairn.xgboost", data=data)
    reqs: List[Any] = [("xgboost", "xgboost-cpu"), "numpy", "scipy"]
    if isinstance(xgb_model, xgboost.XGBModel):
        reqs.append("scikit-learn")
    if type(input_example).__module__.startswith("pandas"):
        reqs.append("pandas")
    impl = _XGBPyfunc(xgb_model)
    return finish_model(
        path,
        model,
        predict_fn=impl.predict,
        signature=signature,
        input_example=input_example,
        default_requirements=pinned(reqs),
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def log_model(
    xgb_model: Any,
    artifact_path: str = "model",
    registered_model_name: Optional[str] = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    model_format: str = "ubj",
    metadata: Optional[Dict[str, Any]] = None,
    run_id: Optional[str] = None,
) -> Any:
    """Logs an XGBoost model to the active run (see :func:`save_model`); registers it as a new
    version of ``registered_model_name`` when given. Returns a ``cairn.models.ModelInfo``."""
    from .models import log_model as _log_model

    return _log_model(
        save_model,
        artifact_path,
        registered_model_name=registered_model_name,
        run_id=run_id,
        xgb_model=xgb_model,
        model_format=model_format,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _load_native(local: str, conf: Dict[str, Any]) -> Any:
    import importlib
    import os

    import xgboost

    cls_path = str(conf.get("model_class") or "xgboost.core.Booster")
    module_name, _, cls_name = cls_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError):
        cls = xgboost.Booster
    model = cls()
    model.load_model(os.path.join(local, conf["data"]))
    return model


def load_model(model_uri: str, dst_path: Optional[str] = None) -> Any:
    """The XGBoost model (the class it was saved as: ``Booster``, ``XGBClassifier``, ...)."""
    from .models import download_model
    from .models.model import Model

    local = download_model(model_uri, dst_path)
    return _load_native(local, Model.load(local).flavor(FLAVOR_NAME, model_uri))


class _XGBPyfunc:
    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, data: Any, params: Any = None) -> Any:
        import xgboost

        if isinstance(self.model, xgboost.Booster):
            matrix = data if isinstance(data, xgboost.DMatrix) else xgboost.DMatrix(data)
            return self.model.predict(matrix, **(params or {}))
        return self.model.predict(data, **(params or {}))


def _load_pyfunc(data_path: str, model_dir: str) -> _XGBPyfunc:
    from .models.model import Model

    return _XGBPyfunc(_load_native(model_dir, Model.load(model_dir).flavors[FLAVOR_NAME]))
