"""LightGBM autologging: ``cairn.lightgbm.autolog()`` (or ``cairn.autolog()``).

Patches ``lightgbm.train`` (called by ``LGBMClassifier``/``LGBMRegressor.fit`` too). Logs the
params and ``num_boost_round``, every validation metric after every iteration as
``<valid name>-<metric>`` (``valid_0-binary_logloss``, ``training-l2``) at step = iteration,
and ``best_iteration`` plus the best scores after early stopping.
The booster itself is not logged yet: that needs Cairn's artifact store.
"""

from __future__ import annotations

import inspect
import sys
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
            _autolog.note_models_not_logged(integration)
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
