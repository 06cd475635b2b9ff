"""LightGBM autologging: ``cairn.lightgbm.autolog()`` (or ``cairn.autolog()``).

Patches ``lightgbm.train`` (called by ``LGBMClassifier``/``LGBMRegressor.fit`` too). Logs the
params and ``num_boost_round``, every validation metric after every iteration as
``<valid name>-<metric>`` (``valid_0-binary_logloss``, ``training-l2``) at step = iteration,
and ``best_iteration`` plus the best scores after early stopping. The trained booster is logged
as a model at ``model`` (``log_models=True``, the default), in the LightGBM flavor below.
"""

from __future__ import annotations

import inspect
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
    import lightgbm

    original = getattr(lightgbm, "train")
    for name in ("lightgbm", "lightgbm.engine", "lightgbm.sklearn"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "train", None) is original:
            integration.wrap(module, "train", lambda orig: _train_wrapper(integration, orig))


INTEGRATION = _autolog.register(Integration("lightgbm", ("lightgbm",), _patch))


def autolog(
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
    """Autologging for LightGBM; ``disable=True`` restores ``lightgbm.train``."""
    if disable:
        _autolog.disable(INTEGRATION)
        return
    _autolog.enable(
        INTEGRATION,
        dict(log_models=log_models, exclusive=exclusive, silent=silent, extra_tags=extra_tags),
    )


def _metrics_callback(run: Any) -> Callable[[Any], None]:
    def callback(env: Any) -> None:
        now = int(time.time() * 1000)
        for entry in env.evaluation_result_list or ():
            data_name, eval_name, value = entry[0], entry[1], entry[2]
            run.batcher.add_metric(
                run.run_id, f"{data_name}-{eval_name}", value, env.iteration, now
            )
            if len(entry) == 5:  # lightgbm.cv: (..., is_higher_better, stdv)
                run.batcher.add_metric(
                    run.run_id, f"{data_name}-{eval_name}-stdv", entry[4], env.iteration, now
                )

    callback.order = 5  # type: ignore[attr-defined]  # before early stopping, which may raise
    return callback


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
                return original(*args, **kwargs)
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


def _log_params(integration: Integration, run: Any, arguments: Dict[str, Any]) -> None:
    params = dict(arguments.get("params") or {})
    params.setdefault("num_boost_round", arguments.get("num_boost_round"))
    names = arguments.get("valid_names")
    if names:
        params["valid_names"] = list(names)
    for key, value in _autolog.stringify_params(params).items():
        try:
            run.batcher.add_param(run.run_id, key, value)
        except Exception as exc:
            integration.warn("param not logged", exc)


def _log_results(run: Any, booster: Any) -> None:
    now = int(time.time() * 1000)
    best = getattr(booster, "best_iteration", 0) or 0
    if best > 0:
        run.batcher.add_metric(run.run_id, "best_iteration", float(best), 0, now)
        for data_name, scores in (getattr(booster, "best_score", None) or {}).items():
            for metric_name, value in scores.items():
                run.batcher.add_metric(
                    run.run_id, f"best_{data_name}-{metric_name}", float(value), 0, now
                )
    run.batcher.add_metric(
        run.run_id, "stopped_iteration", float(booster.current_iteration()), 0, now
    )


def _autolog_model(run: Any, booster: Any) -> None:
    log_model(booster, "model", run_id=run.run_id)


# ---------------------------------------------------------------------- model flavor

FLAVOR_NAME = "lightgbm"


def save_model(
    lgb_model: Any,
    path: str,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: Optional[Dict[str, Any]] = None,
    _model: Any = None,
) -> Any:
    """Saves a LightGBM ``Booster`` with LightGBM's own text format (``model.lgb``: portable,
    no pickle), or a scikit-learn-API model (``LGBMClassifier``, ...) pickled (``model.pkl``,
    cloudpickle when installed), as MLflow's flavor does."""
    import os

    import lightgbm

    from .exceptions import error_for
    from .models.model import Model, finish_model, pinned, prepare_dir

    if isinstance(lgb_model, lightgbm.Booster):
        data, fmt = "model.lgb", "text"
    elif isinstance(lgb_model, lightgbm.LGBMModel):
        data, fmt = "model.pkl", "pickle"
    else:
        raise error_for(
            f"cairn.lightgbm.save_model takes a lightgbm Booster or LGBMModel, "
            f"not {type(lgb_model).__name__}",
            "INVALID_ARGUMENT",
        )
    prepare_dir(path)
    target = os.path.join(path, data)
    if fmt == "text":
        lgb_model.save_model(target)
    else:
        pickle_module = _pickle_module()
        with open(target, "wb") as f:
            pickle_module.dump(lgb_model, f)
    model = _model or Model()
    model.add_flavor(
        FLAVOR_NAME,
        loader_module="cairn.lightgbm",
        data=data,
        model_format=fmt,
        model_class=f"{type(lgb_model).__module__}.{type(lgb_model).__qualname__}",
        library="lightgbm",
        library_version=lightgbm.__version__,
    )
    model.add_flavor("python_function", loader_module="cairn.lightgbm", data=data)
    reqs: List[Any] = ["lightgbm", "numpy", "scipy"]
    if fmt == "pickle":
        reqs.append("scikit-learn")
        if _pickle_module().__name__ == "cloudpickle":
            reqs.append("cloudpickle")
    if type(input_example).__module__.startswith("pandas"):
        reqs.append("pandas")
    impl = _LGBPyfunc(lgb_model)
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


def _pickle_module() -> Any:
    try:
        import cloudpickle

        return cloudpickle
    except ImportError:
        import pickle

        return pickle


def log_model(
    lgb_model: Any,
    artifact_path: str = "model",
    registered_model_name: Optional[str] = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: Optional[Dict[str, Any]] = None,
    run_id: Optional[str] = None,
) -> Any:
    """Logs a LightGBM model to the active run (see :func:`save_model`); registers it as a new
    version of ``registered_model_name`` when given. Returns a ``cairn.models.ModelInfo``."""
    from .models import log_model as _log_model

    return _log_model(
        save_model,
        artifact_path,
        registered_model_name=registered_model_name,
        run_id=run_id,
        lgb_model=lgb_model,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _load_native(path: str, fmt: str) -> Any:
    if fmt == "text":
        import lightgbm

        return lightgbm.Booster(model_file=path)
    import pickle

    with open(path, "rb") as f:
        return pickle.load(f)


def load_model(model_uri: str, dst_path: Optional[str] = None) -> Any:
    """The LightGBM model (a ``Booster``, or the scikit-learn-API estimator it was saved as)."""
    import os

    from .models import download_model
    from .models.model import Model

    local = download_model(model_uri, dst_path)
    conf = Model.load(local).flavor(FLAVOR_NAME, model_uri)
    return _load_native(os.path.join(local, conf["data"]), str(conf.get("model_format", "text")))


class _LGBPyfunc:
    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, data: Any, params: Any = None) -> Any:
        return self.model.predict(data, **(params or {}))


def _load_pyfunc(data_path: str, model_dir: str) -> _LGBPyfunc:
    from .models.model import Model

    conf = Model.load(model_dir).flavors[FLAVOR_NAME]
    return _LGBPyfunc(_load_native(data_path, str(conf.get("model_format", "text"))))
