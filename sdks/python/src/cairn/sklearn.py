"""scikit-learn autologging: ``cairn.sklearn.autolog()`` (or ``cairn.autolog()``).

For the outermost ``fit``/``fit_transform``/``fit_predict`` of any scikit-learn estimator:

- params: ``get_params(deep=True)`` (a Pipeline's step params as ``clf__C``, ...);
- tags: ``estimator_name``, ``estimator_class``;
- training metrics on the training data: ``training_score`` and, for classifiers,
  ``training_accuracy_score``, ``training_precision_score``, ``training_recall_score``,
  ``training_f1_score``, ``training_log_loss``, ``training_roc_auc``; for regressors
  ``training_mean_squared_error``, ``training_root_mean_squared_error``,
  ``training_mean_absolute_error``, ``training_r2_score``;
- search CVs (GridSearchCV, RandomizedSearchCV, Halving*): ``best_<param>`` params,
  ``best_cv_score``, and one child run per best candidate (``max_tuning_runs``, default 5) with
  its params and ``mean_*``/``std_*``/``rank_*`` cross-validation results;
- post-training metrics: ``model.score(X_test, y_test)`` logs ``<Estimator>_score_X_test``;
  ``sklearn.metrics.<fn>(y_true, model.predict(X_test))`` logs ``<fn>_X_test`` (metric
  functions must be reached through ``sklearn.metrics`` or imported after ``autolog()``).

Logged into the active run, or into a run started for the fit and ended after it.
The fitted estimator is logged as a model at ``model`` (``log_models=True``, the default).
"""

from __future__ import annotations

import math
import os
import sys
import time
import weakref
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _autolog
from ._autolog import (
    Integration,
    autolog_run,
    autolog_scope,
    inside_autologged_call,
    safe,
)
from .entities import Metric

FIT_METHODS = ("fit", "fit_transform", "fit_predict")
PREDICT_METHODS = ("predict", "predict_proba")
METRIC_FUNCTIONS = (
    "accuracy_score",
    "balanced_accuracy_score",
    "f1_score",
    "precision_score",
    "recall_score",
    "log_loss",
    "roc_auc_score",
    "average_precision_score",
    "brier_score_loss",
    "hamming_loss",
    "jaccard_score",
    "matthews_corrcoef",
    "zero_one_loss",
    "r2_score",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "median_absolute_error",
    "mean_squared_log_error",
    "explained_variance_score",
    "max_error",
)


def _patch(integration: Integration) -> None:
    import sklearn.metrics
    from sklearn.utils import all_estimators

    done = set()
    post = integration.config.get("log_post_training_metrics", True)
    for _, cls in all_estimators():
        for method in FIT_METHODS:
            owner = _defining_class(cls, method)
            if owner is not None and (owner, method) not in done:
                done.add((owner, method))
                integration.wrap(owner, method, lambda orig: _fit_wrapper(integration, orig))
        if not post:
            continue
        for method in PREDICT_METHODS:
            owner = _defining_class(cls, method)
            if owner is not None and (owner, method) not in done:
                done.add((owner, method))
                integration.wrap(owner, method, lambda orig: _predict_wrapper(integration, orig))
        owner = _defining_class(cls, "score")
        if owner is not None and (owner, "score") not in done:
            done.add((owner, "score"))
            integration.wrap(owner, "score", lambda orig: _score_wrapper(integration, orig))
    if post:
        for name in METRIC_FUNCTIONS:
            if hasattr(sklearn.metrics, name):
                integration.wrap(sklearn.metrics, name, _metric_maker(integration, name))


INTEGRATION = _autolog.register(Integration("sklearn", ("sklearn",), _patch))


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: Optional[int] = 5,
    log_post_training_metrics: bool = True,
    pos_label: Any = None,
    extra_tags: Optional[Dict[str, str]] = None,
) -> None:
    """Autologging for scikit-learn (see the module docstring for what is logged).

    ``disable=True`` restores scikit-learn's original methods. ``log_models``: the fitted
    estimator (one with ``predict``) is logged to ``model`` of the run (``cairn.sklearn``
    format), with a signature inferred from the first training rows (``log_model_signatures``)
    and those rows as input example (``log_input_examples``).
    """
    if disable:
        _autolog.disable(INTEGRATION)
        return
    _autolog.enable(
        INTEGRATION,
        dict(
            log_models=log_models,
            log_input_examples=log_input_examples,
            log_model_signatures=log_model_signatures,
            exclusive=exclusive,
            silent=silent,
            max_tuning_runs=max_tuning_runs,
            log_post_training_metrics=log_post_training_metrics,
            pos_label=pos_label,
            extra_tags=extra_tags,
        ),
    )


def _metric_maker(integration: Integration, name: str) -> Callable[[Any], Callable[..., Any]]:
    return lambda orig: _metric_wrapper(integration, name, orig)


def _defining_class(cls: type, method: str) -> Optional[type]:
    for klass in cls.__mro__:
        if method in klass.__dict__:
            return klass if klass.__module__.startswith("sklearn") else None
    return None


# ---------------------------------------------------------------------- fit


def _fit_wrapper(integration: Integration, original: Callable[..., Any]) -> Callable[..., Any]:
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not integration.enabled or inside_autologged_call():
            return original(self, *args, **kwargs)
        with autolog_scope(), autolog_run(integration) as run:
            if run is None:
                return original(self, *args, **kwargs)
            safe(integration, "logging params", _log_params, integration, self, run)
            result = original(self, *args, **kwargs)
            safe(
                integration,
                "logging training metrics",
                _log_after_fit,
                integration,
                self,
                args,
                kwargs,
                run,
            )
            if integration.config.get("log_models"):
                safe(
                    integration,
                    "logging the model",
                    _autolog_model,
                    integration,
                    self,
                    args,
                    kwargs,
                    run,
                )
            return result

    return fit


def _head(X: Any, n: int = 5) -> Any:
    if hasattr(X, "iloc"):
        return X.iloc[:n]
    if hasattr(X, "shape") and hasattr(X, "__getitem__") and type(X).__module__ == "numpy":
        return X[:n]
    if isinstance(X, list):
        return X[:n]
    return None  # sparse matrices and other containers: no example, no signature


def _autolog_model(
    integration: Integration,
    estimator: Any,
    args: Tuple[Any, ...],
    kwargs: Dict[str, Any],
    run: Any,
) -> None:
    if not hasattr(estimator, "predict"):
        return  # transformers: nothing a python function could call
    X, _, _ = _xy(args, kwargs)
    example = _head(X) if X is not None else None
    signature = None
    if example is not None and integration.config.get("log_model_signatures"):
        from .models.signature import infer_signature

        try:
            signature = infer_signature(example, estimator.predict(example))
        except Exception:  # noqa: BLE001 - a signature is optional
            signature = None
    log_model(
        estimator,
        "model",
        run_id=run.run_id,
        signature=signature,
        input_example=example if integration.config.get("log_input_examples") else None,
    )


def _log_params(integration: Integration, estimator: Any, run: Any) -> None:
    params = _autolog.stringify_params(estimator.get_params(deep=True))
    conflicts = []
    for key, value in params.items():
        try:
            run.batcher.add_param(run.run_id, key, value)
        except Exception as exc:  # e.g. a second fit with other params in the same run
            conflicts.append(exc)
    if conflicts:
        integration.warn(f"{len(conflicts)} param(s) not logged", conflicts[0])
    cls = type(estimator)
    run.batcher.add_tag(run.run_id, "estimator_name", cls.__name__)
    run.batcher.add_tag(run.run_id, "estimator_class", f"{cls.__module__}.{cls.__qualname__}")


def _xy(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Tuple[Any, Any, Any]:
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y", kwargs.get("Y"))
    return X, y, kwargs.get("sample_weight")


def _log_after_fit(
    integration: Integration,
    estimator: Any,
    args: Tuple[Any, ...],
    kwargs: Dict[str, Any],
    run: Any,
) -> None:
    from sklearn.base import is_classifier, is_regressor

    X, y, weight = _xy(args, kwargs)
    metrics: Dict[str, float] = {}
    if X is not None and y is not None:
        if is_classifier(estimator):
            safe(
                integration,
                "classifier metrics",
                _classifier_metrics,
                integration,
                estimator,
                X,
                y,
                weight,
                metrics,
            )
        elif is_regressor(estimator):
            safe(
                integration,
                "regressor metrics",
                _regressor_metrics,
                estimator,
                X,
                y,
                weight,
                metrics,
            )
    if X is not None and hasattr(estimator, "score"):
        try:
            score = (
                estimator.score(X, y, sample_weight=weight)
                if weight is not None
                else (estimator.score(X, y) if y is not None else estimator.score(X))
            )
            metrics["training_score"] = float(score)
        except Exception:
            pass
    now = int(time.time() * 1000)
    for key, value in metrics.items():
        if value is not None:
            run.batcher.add_metric(run.run_id, key, value, 0, now)
    if hasattr(estimator, "cv_results_") and hasattr(estimator, "best_params_"):
        safe(integration, "logging the search", _log_search, integration, estimator, run)
    _remember_model(estimator, run.run_id)
    best = getattr(estimator, "best_estimator_", None)
    if best is not None:
        _remember_model(best, run.run_id)


def _classifier_metrics(
    integration: Integration, est: Any, X: Any, y: Any, weight: Any, out: Dict[str, float]
) -> None:
    import numpy as np
    from sklearn import metrics as M

    y_pred = est.predict(X)
    out["training_accuracy_score"] = float(M.accuracy_score(y, y_pred, sample_weight=weight))
    labels = np.unique(np.asarray(y))
    binary = len(labels) == 2 and integration.config.get("pos_label") is not None
    avg = "binary" if binary else "weighted"
    extra: Dict[str, Any] = {"pos_label": integration.config["pos_label"]} if binary else {}
    out["training_precision_score"] = float(
        M.precision_score(y, y_pred, average=avg, sample_weight=weight, zero_division=0, **extra)
    )
    out["training_recall_score"] = float(
        M.recall_score(y, y_pred, average=avg, sample_weight=weight, zero_division=0, **extra)
    )
    out["training_f1_score"] = float(
        M.f1_score(y, y_pred, average=avg, sample_weight=weight, zero_division=0, **extra)
    )
    if hasattr(est, "predict_proba"):
        try:
            proba = est.predict_proba(X)
            classes = getattr(est, "classes_", None)
            out["training_log_loss"] = float(
                M.log_loss(y, proba, sample_weight=weight, labels=classes)
            )
            if proba.shape[1] == 2:
                out["training_roc_auc"] = float(
                    M.roc_auc_score(y, proba[:, 1], sample_weight=weight)
                )
            else:
                out["training_roc_auc"] = float(
                    M.roc_auc_score(
                        y,
                        proba,
                        multi_class="ovr",
                        average="weighted",
                        sample_weight=weight,
                        labels=classes,
                    )
                )
        except Exception:
            pass  # e.g. SVC(probability=False), or a class missing from y


def _regressor_metrics(est: Any, X: Any, y: Any, weight: Any, out: Dict[str, float]) -> None:
    from sklearn import metrics as M

    y_pred = est.predict(X)
    mse = float(M.mean_squared_error(y, y_pred, sample_weight=weight))
    out["training_mean_squared_error"] = mse
    out["training_root_mean_squared_error"] = math.sqrt(mse)
    out["training_mean_absolute_error"] = float(
        M.mean_absolute_error(y, y_pred, sample_weight=weight)
    )
    out["training_r2_score"] = float(M.r2_score(y, y_pred, sample_weight=weight))


def _log_search(integration: Integration, search: Any, run: Any) -> None:
    from . import context as _context

    for key, value in _autolog.stringify_params(
        {f"best_{k}": v for k, v in search.best_params_.items()}
    ).items():
        try:
            run.batcher.add_param(run.run_id, key, value)
        except Exception as exc:
            integration.warn("best params", exc)
    now = int(time.time() * 1000)
    best_score = getattr(search, "best_score_", None)
    if best_score is not None:
        run.batcher.add_metric(run.run_id, "best_cv_score", float(best_score), 0, now)
    cv = search.cv_results_
    n = len(cv["params"])
    rank_key = (
        "rank_test_score"
        if "rank_test_score" in cv
        else next((k for k in cv if k.startswith("rank_test_")), None)
    )
    order = list(range(n))
    if rank_key is not None:
        order.sort(key=lambda i: (int(cv[rank_key][i]), i))
    limit = integration.config.get("max_tuning_runs", 5)
    if limit is not None:
        order = order[: max(0, int(limit))]
    if not order:
        return
    client = run.client
    parent_name = run.info.run_name or "search"
    tags = _context.capture()
    tags[_context.TAG_PARENT_RUN_ID] = run.run_id
    tags["cairn.autologging"] = "sklearn"
    for position, i in enumerate(order, start=1):
        child = client.create_run(
            run.info.experiment_id,
            tags=tags,
            run_name=f"{parent_name}-candidate-{position}",
            parent_run_id=run.run_id,
            source=_context.run_source(tags),
        )
        metrics = []
        for key, values in cv.items():
            if key.startswith(("mean_", "std_", "rank_")):
                try:
                    metrics.append(Metric(key, float(values[i]), now, 0))
                except (TypeError, ValueError):
                    continue
        params = _autolog.stringify_params(dict(cv["params"][i]))
        client.log_batch(child.info.run_id, metrics=metrics, params=params)
        client.update_run(child.info.run_id, "FINISHED", end_time=int(time.time() * 1000))


# ---------------------------------------------------------------------- post-training metrics

#: id(model) -> (weakref to the model, run id)
_model_runs: Dict[int, Tuple[Any, str]] = {}
#: id(prediction) -> (weakref or object, run id, dataset name); bounded
_predictions: "OrderedDict[int, Tuple[Any, str, str]]" = OrderedDict()
_MAX_PREDICTIONS = 200
#: (run id, metric name, dataset) -> number of calls so far
_call_counts: Dict[Tuple[str, str, str], int] = {}


def _remember_model(model: Any, run_id: str) -> None:
    key = id(model)

    def forget(_ref: Any) -> None:
        _model_runs.pop(key, None)

    try:
        ref = weakref.ref(model, forget)
    except TypeError:
        return
    _model_runs[id(model)] = (ref, run_id)


def _run_of(model: Any) -> Optional[str]:
    entry = _model_runs.get(id(model))
    if entry is not None and entry[0]() is model:
        return entry[1]
    return None


def _dataset_name(data: Any) -> str:
    """The caller's variable name for ``data`` (``X_test``), else ``dataset``."""
    if data is None:
        return "dataset"
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(("cairn", "sklearn", "xgboost", "lightgbm", "numpy", "pandas")):
            for name, value in frame.f_locals.items():
                if value is data and not name.startswith("_") and name not in ("self", "X", "y"):
                    return name
            for name, value in frame.f_locals.items():
                if value is data and not name.startswith("_"):
                    return name
            return "dataset"
        frame = frame.f_back  # type: ignore[assignment]
    return "dataset"


def _register_prediction(result: Any, run_id: str, dataset: str) -> None:
    try:
        holder: Any = weakref.ref(result)
    except TypeError:
        return
    _predictions[id(result)] = (holder, run_id, dataset)
    while len(_predictions) > _MAX_PREDICTIONS:
        _predictions.popitem(last=False)


def _lookup_prediction(value: Any) -> Optional[Tuple[str, str]]:
    entry = _predictions.get(id(value))
    if entry is not None and entry[0]() is value:
        return entry[1], entry[2]
    return None


def _post_enabled(integration: Integration) -> bool:
    return (
        integration.enabled
        and bool(integration.config.get("log_post_training_metrics", True))
        and not inside_autologged_call()
    )


def _log_post_metric(run_id: str, name: str, dataset: str, value: Any) -> None:
    from . import fluent

    try:
        v = float(value)
    except (TypeError, ValueError):
        return  # e.g. average=None returns one value per class
    count = _call_counts.get((run_id, name, dataset), 0) + 1
    _call_counts[(run_id, name, dataset)] = count
    key = f"{name}_{dataset}" if count == 1 else f"{name}-{count}_{dataset}"
    fluent.get_client().batcher.add_metric(run_id, key, v, 0, None)


def _post_training_wrapper(
    integration: Integration,
    original: Callable[..., Any],
    what: str,
    record: Callable[[Any, str, Any, Any], None],
) -> Callable[..., Any]:
    """Wraps a fitted estimator's method (``predict``, ``score``…): calls it, then, when the
    estimator belongs to a run, ``record(self, run_id, X, result)`` — never failing the call."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _post_enabled(integration):
            return original(self, *args, **kwargs)
        with autolog_scope():
            result = original(self, *args, **kwargs)
        run_id = _run_of(self)
        if run_id is not None:
            X = args[0] if args else kwargs.get("X")
            safe(integration, what, record, self, run_id, X, result)
        return result

    return method


def _predict_wrapper(integration: Integration, original: Callable[..., Any]) -> Callable[..., Any]:
    def record(self: Any, run_id: str, X: Any, result: Any) -> None:
        _register_prediction(result, run_id, _dataset_name(X))

    return _post_training_wrapper(integration, original, "recording a prediction", record)


def _score_wrapper(integration: Integration, original: Callable[..., Any]) -> Callable[..., Any]:
    def record(self: Any, run_id: str, X: Any, result: Any) -> None:
        _log_post_metric(run_id, f"{type(self).__name__}_score", _dataset_name(X), result)

    return _post_training_wrapper(integration, original, "logging a score", record)


def _metric_wrapper(
    integration: Integration, name: str, original: Callable[..., Any]
) -> Callable[..., Any]:
    def metric(*args: Any, **kwargs: Any) -> Any:
        if not _post_enabled(integration):
            return original(*args, **kwargs)
        with autolog_scope():
            result = original(*args, **kwargs)
        candidates = list(args[1:2]) + [
            kwargs[k]
            for k in ("y_pred", "y_score", "y_proba", "y_prob", "probas_pred")
            if k in kwargs
        ]
        for candidate in candidates:
            found = _lookup_prediction(candidate)
            if found is not None:
                safe(
                    integration,
                    f"logging {name}",
                    _log_post_metric,
                    found[0],
                    name,
                    found[1],
                    result,
                )
                break
        return result

    return metric


# ---------------------------------------------------------------------- model flavor

FLAVOR_NAME = "sklearn"
_MODEL_FILE = "model.pkl"
SERIALIZATION_FORMATS = ("pickle", "cloudpickle")


def save_model(
    sk_model: Any,
    path: str,
    serialization_format: str = "pickle",
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: Optional[Dict[str, Any]] = None,
    pyfunc_predict_fn: str = "predict",
    _model: Any = None,
) -> Any:
    """Saves a scikit-learn estimator to the directory ``path`` (see docs/models.md).

    ``serialization_format``: ``"pickle"`` (default; scikit-learn's documented persistence,
    loads wherever the same scikit-learn version is installed) or ``"cloudpickle"`` (also
    serializes functions/classes defined in ``__main__``, e.g. a ``FunctionTransformer``'s
    lambda). Only load models you trust: unpickling runs code.
    """
    import pickle

    from .exceptions import error_for
    from .models.model import Model, finish_model, pinned, prepare_dir

    if serialization_format not in SERIALIZATION_FORMATS:
        raise error_for(
            f"serialization_format must be one of {SERIALIZATION_FORMATS}, "
            f"not {serialization_format!r}",
            "INVALID_ARGUMENT",
        )
    if not hasattr(sk_model, pyfunc_predict_fn):
        raise error_for(
            f"{type(sk_model).__name__} has no {pyfunc_predict_fn}() method",
            "INVALID_ARGUMENT",
        )
    prepare_dir(path)
    pickler: Any = pickle
    if serialization_format == "cloudpickle":
        import cloudpickle

        pickler = cloudpickle
    with open(os.path.join(path, _MODEL_FILE), "wb") as f:
        pickler.dump(sk_model, f, protocol=pickle.DEFAULT_PROTOCOL)
    from importlib import metadata as _md

    model = _model or Model()
    model.add_flavor(
        FLAVOR_NAME,
        loader_module="cairn.sklearn",
        data=_MODEL_FILE,
        serialization_format=serialization_format,
        library="scikit-learn",
        library_version=_md.version("scikit-learn"),
        model_class=f"{type(sk_model).__module__}.{type(sk_model).__qualname__}",
    )
    model.add_flavor(
        "python_function",
        loader_module="cairn.sklearn",
        data=_MODEL_FILE,
        predict_fn=pyfunc_predict_fn,
    )
    reqs: List[Any] = ["scikit-learn", "numpy", "scipy"]
    if serialization_format == "cloudpickle":
        reqs.append("cloudpickle")
    if _uses_pandas(input_example):
        reqs.append("pandas")
    return finish_model(
        path,
        model,
        predict_fn=getattr(sk_model, pyfunc_predict_fn),
        signature=signature,
        input_example=input_example,
        default_requirements=pinned(reqs),
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _uses_pandas(example: Any) -> bool:
    return type(example).__module__.startswith("pandas")


def log_model(
    sk_model: Any,
    artifact_path: str = "model",
    registered_model_name: Optional[str] = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    serialization_format: str = "pickle",
    metadata: Optional[Dict[str, Any]] = None,
    pyfunc_predict_fn: str = "predict",
    run_id: Optional[str] = None,
) -> Any:
    """Logs a scikit-learn estimator to ``artifact_path`` of the active run (a run is started
    when none is active) and, with ``registered_model_name``, registers it as a new version.
    Returns a :class:`cairn.models.ModelInfo` (``model_uri`` = ``runs:/<run_id>/<path>``)."""
    from .models import log_model as _log_model

    return _log_model(
        save_model,
        artifact_path,
        registered_model_name=registered_model_name,
        run_id=run_id,
        sk_model=sk_model,
        serialization_format=serialization_format,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        pyfunc_predict_fn=pyfunc_predict_fn,
    )


def _load_pickle(path: str) -> Any:
    import pickle

    with open(path, "rb") as f:
        return pickle.load(f)  # cloudpickle output loads with pickle (cloudpickle installed)


def load_model(model_uri: str, dst_path: Optional[str] = None) -> Any:
    """The scikit-learn estimator of a model (``runs:/``, ``models:/`` URI or local path)."""
    from .models import download_model
    from .models.model import Model

    local = download_model(model_uri, dst_path)
    conf = Model.load(local).flavor(FLAVOR_NAME, model_uri)
    return _load_pickle(os.path.join(local, conf["data"]))


class _SklearnPyfunc:
    def __init__(self, model: Any, predict_fn: str) -> None:
        self.model = model
        self._predict = getattr(model, predict_fn)

    def predict(self, data: Any, params: Any = None) -> Any:
        return self._predict(data, **(params or {}))


def _load_pyfunc(data_path: str, model_dir: str) -> _SklearnPyfunc:
    from .models.model import Model

    conf = Model.load(model_dir).flavors.get("python_function", {})
    return _SklearnPyfunc(_load_pickle(data_path), str(conf.get("predict_fn") or "predict"))
