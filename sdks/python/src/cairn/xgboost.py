"""XGBoost autologging: ``cairn.xgboost.autolog()`` (or ``cairn.autolog()``).

Patches ``xgboost.train`` (which the scikit-learn wrappers ``XGBClassifier``/``XGBRegressor``
call too). Logs the booster params and ``num_boost_round``/``early_stopping_rounds``, every
evaluation metric after every iteration as ``<eval name>-<metric>`` (``validation_0-logloss``,
``train-rmse``) at step = iteration, and ``best_iteration``/``best_score`` after early stopping.
The booster itself is not logged yet: that needs Cairn's artifact store.
"""

from __future__ import annotations

import inspect
import time
from typing import Any, Callable, Dict, Optional

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
            _autolog.note_models_not_logged(integration)
            return booster

    return train


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
