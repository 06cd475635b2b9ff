"""The fluent API: module-level functions with MLflow's names, acting on the active run."""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
import types
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from . import context as _context
from ._batcher import Batcher, abandon_all, close_all
from .client import CairnClient
from .config import (
    get_tracking_uri,
    system_metrics_enabled_by_env,
    system_metrics_interval,
)
from .entities import Experiment, Metric, Run, RunStatus, ViewType
from .exceptions import CairnError

_log = logging.getLogger("cairn")

DEFAULT_EXPERIMENT_NAME = "Default"

_lock = threading.RLock()
_default_client: Optional[CairnClient] = None
_experiment_id: Optional[str] = None
_active_runs: List["ActiveRun"] = []
_last_active_run_id: Optional[str] = None
_system_metrics_default: Optional[bool] = None
_uncaught_exception = False


class ActiveRun:
    """The run ``start_run`` returned; a context manager that ends the run on exit
    (``FINISHED``, or ``FAILED`` when the block raised, ``KILLED`` on Ctrl-C)."""

    def __init__(self, run: Run, client: CairnClient) -> None:
        self._run = run
        self.client = client
        self.run_id = run.info.run_id
        self.batcher: Batcher = client.batcher
        self._monitor: Any = None

    @property
    def info(self) -> Any:
        return self._run.info

    @property
    def data(self) -> Any:
        """The run's data when it was started (``get_run`` reads the current data)."""
        return self._run.data

    def __enter__(self) -> "ActiveRun":
        return self

    def __exit__(
        self,
        exc_type: Optional[type],
        exc: Optional[BaseException],
        tb: Optional[types.TracebackType],
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        if any(r is self for r in _active_runs):
            try:
                _end(self, status)
            except CairnError:
                if exc_type is None:
                    raise
                _log.exception("cairn: ending the run failed")

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.run_id} name={self.info.run_name!r}>"


# ---------------------------------------------------------------------- clients and experiments


def _client() -> CairnClient:
    global _default_client
    client = _default_client
    if client is None or client.tracking_uri != get_tracking_uri():
        with _lock:
            if _default_client is None or _default_client.tracking_uri != get_tracking_uri():
                _default_client = CairnClient()
            client = _default_client
    return client


def _reset_default_client() -> None:
    global _default_client, _experiment_id
    with _lock:
        _default_client = None
        _experiment_id = None


def get_client() -> CairnClient:
    """The ``CairnClient`` the fluent API uses (current tracking URI)."""
    return _client()


def set_experiment(
    experiment_name: Optional[str] = None, experiment_id: Optional[str] = None
) -> Experiment:
    """Makes an experiment the active one, creating it (by name) when it does not exist."""
    global _experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise CairnError(
            "set_experiment needs exactly one of experiment_name and experiment_id",
            "INVALID_ARGUMENT",
        )
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(experiment_id)
    else:
        assert experiment_name is not None
        experiment = _get_or_create_experiment(client, experiment_name)
    if experiment.lifecycle_stage != "active":
        raise CairnError(
            f'Experiment "{experiment.name}" is deleted; restore it or choose another',
            "INVALID_ARGUMENT",
            {"id": experiment.experiment_id},
        )
    with _lock:
        _experiment_id = experiment.experiment_id
    return experiment


def _get_or_create_experiment(client: CairnClient, name: str) -> Experiment:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found
    try:
        return client.get_experiment(client.create_experiment(name))
    except CairnError as exc:
        if exc.code != "ALREADY_EXISTS":  # created concurrently by another process: fine
            raise
    found = client.get_experiment_by_name(name)
    if found is None:
        raise CairnError(f'Experiment "{name}" could not be created', "INTERNAL")
    return found


def _current_experiment_id(client: CairnClient) -> str:
    global _experiment_id
    if _experiment_id is not None:
        return _experiment_id
    env_id = os.environ.get("CAIRN_EXPERIMENT_ID")
    if env_id:
        return env_id
    name = os.environ.get("CAIRN_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT_NAME
    experiment_id = _get_or_create_experiment(client, name).experiment_id
    with _lock:
        _experiment_id = experiment_id
    return experiment_id


def create_experiment(
    name: str, artifact_location: Optional[str] = None, tags: Optional[Mapping[str, Any]] = None
) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Optional[Experiment]:
    return _client().get_experiment_by_name(name)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: Optional[int] = None,
    name_contains: Optional[str] = None,
) -> List[Experiment]:
    return _client().search_experiments(view_type, max_results, name_contains)


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    _client().set_experiment_tag(_current_experiment_id(_client()), key, value)


# ---------------------------------------------------------------------- runs


def active_run() -> Optional[ActiveRun]:
    """The innermost active run, or None."""
    return _active_runs[-1] if _active_runs else None


def last_active_run() -> Optional[Run]:
    """The active run, else the last run this process ended (as now stored)."""
    run = active_run()
    if run is not None:
        return get_run(run.run_id)
    return get_run(_last_active_run_id) if _last_active_run_id else None


def start_run(
    run_id: Optional[str] = None,
    experiment_id: Optional[str] = None,
    run_name: Optional[str] = None,
    nested: bool = False,
    parent_run_id: Optional[str] = None,
    tags: Optional[Mapping[str, Any]] = None,
    description: Optional[str] = None,
    log_system_metrics: Optional[bool] = None,
) -> ActiveRun:
    """Starts a run (or resumes ``run_id``) and makes it the active run.

    Use it as a context manager: ``with cairn.start_run(): ...``. A second ``start_run`` while a
    run is active needs ``nested=True`` (the new run becomes a child of the active one).
    """
    client = _client()
    with _lock:
        parent = _active_runs[-1] if _active_runs else None
        if parent is not None and not nested:
            raise CairnError(
                f"Run {parent.run_id} is already active. To start a nested run, call "
                "start_run with nested=True; or end the active run first with end_run().",
                "INVALID_ARGUMENT",
                {"activeRunId": parent.run_id},
            )
    if run_id is not None:
        run = client.get_run(run_id)
        if run.info.lifecycle_stage != "active":
            raise CairnError(
                f"Run {run_id} is deleted; restore it before resuming it",
                "INVALID_ARGUMENT",
                {"id": run_id},
            )
        if run.info.status != RunStatus.RUNNING:
            run = client.update_run(run_id, RunStatus.RUNNING)
        if tags:
            client.log_batch(run_id, tags=tags)
        client.batcher.remember_params(run_id, run.data.params)
    else:
        exp_id = experiment_id or _current_experiment_id(client)
        parent_id = parent_run_id or (parent.run_id if parent is not None and nested else None)
        all_tags: Dict[str, Any] = _context.capture()
        if parent_id:
            all_tags[_context.TAG_PARENT_RUN_ID] = parent_id
        if description:
            all_tags["mlflow.note.content"] = description
        all_tags.update(tags or {})
        run = client.create_run(
            exp_id,
            tags=all_tags,
            run_name=run_name,
            parent_run_id=parent_id,
            source=_context.run_source({k: str(v) for k, v in all_tags.items()}),
        )
    active = ActiveRun(run, client)
    with _lock:
        _active_runs.append(active)
    enabled = log_system_metrics
    if enabled is None:
        enabled = (
            _system_metrics_default
            if _system_metrics_default is not None
            else system_metrics_enabled_by_env()
        )
    if enabled:
        _start_system_metrics(active)
    return active


def _start_system_metrics(active: ActiveRun) -> None:
    from .system_metrics import SystemMetricsMonitor

    def log(values: Dict[str, float], step: int) -> None:
        active.batcher.add_metrics(active.run_id, values, step, None)

    try:
        active._monitor = SystemMetricsMonitor(log, system_metrics_interval())
        active._monitor.start()
    except ImportError as exc:
        _log.warning("cairn: %s", exc)


def enable_system_metrics_logging() -> None:
    """Samples system metrics for every run started from now on (needs psutil)."""
    global _system_metrics_default
    _system_metrics_default = True


def disable_system_metrics_logging() -> None:
    global _system_metrics_default
    _system_metrics_default = False


def end_run(status: str = RunStatus.FINISHED) -> None:
    """Ends the active run: sends everything queued, then sets ``status`` and the end time.

    Raises :class:`~cairn.exceptions.BatchLoggingError` (after ending the run) if queued items
    were rejected by the server or could not be delivered.
    """
    run = active_run()
    if run is not None:
        _end(run, status)


def _end(run: ActiveRun, status: str) -> None:
    global _last_active_run_id
    with _lock:
        if run in _active_runs:
            # ending an outer run ends the runs nested in it too
            while _active_runs:
                top = _active_runs.pop()
                if top is not run:
                    _terminate(top, status)
                else:
                    break
    _last_active_run_id = run.run_id
    _terminate(run, status)


def _terminate(run: ActiveRun, status: str) -> None:
    if run._monitor is not None:
        run._monitor.stop()
        run._monitor = None
    run.client.set_terminated(run.run_id, status)


def _active_or_start() -> ActiveRun:
    run = _active_runs[-1] if _active_runs else None
    if run is None:
        run = start_run()  # MLflow's behaviour: logging without a run starts one
    return run


# ---------------------------------------------------------------------- logging (hot path)


def log_metric(
    key: str,
    value: float,
    step: Optional[int] = None,
    synchronous: Optional[bool] = None,
    timestamp: Optional[int] = None,
    run_id: Optional[str] = None,
) -> None:
    """Queues one metric point (``step`` defaults to 0, ``timestamp`` to now, in epoch ms).

    Returns at once; a background thread sends points in batches. ``synchronous=True`` waits
    until the point (and everything queued before it) is stored, raising any error.
    """
    if run_id is None:
        run = _active_runs[-1] if _active_runs else _active_or_start()
        run.batcher.add_metric(run.run_id, key, value, step, timestamp)
        if synchronous:
            run.batcher.flush()
    else:
        batcher = _client().batcher
        batcher.add_metric(run_id, key, value, step, timestamp)
        if synchronous:
            batcher.flush()


def log_metrics(
    metrics: Mapping[str, float],
    step: Optional[int] = None,
    synchronous: Optional[bool] = None,
    run_id: Optional[str] = None,
    timestamp: Optional[int] = None,
) -> None:
    """Queues several metrics with one step and timestamp."""
    if timestamp is None:
        timestamp = int(time.time() * 1000)
    batcher, rid = _target(run_id)
    for key, value in metrics.items():
        batcher.add_metric(rid, key, value, step, timestamp)
    if synchronous:
        batcher.flush()


def _target(run_id: Optional[str]) -> "tuple[Batcher, str]":
    if run_id is None:
        run = _active_or_start()
        return run.batcher, run.run_id
    return _client().batcher, run_id


def log_param(key: str, value: Any, synchronous: Optional[bool] = None) -> Any:
    """Queues a param. Params are immutable: logging another value for the same key raises
    ``CairnError`` (code ``INVALID_ARGUMENT``, ``err.key`` the param) — at once when this
    process logged the first value, else from the next ``flush()``/``end_run()``."""
    batcher, rid = _target(None)
    batcher.add_param(rid, key, value)
    if synchronous:
        batcher.flush()
    return value


def log_params(
    params: Mapping[str, Any], synchronous: Optional[bool] = None, run_id: Optional[str] = None
) -> None:
    batcher, rid = _target(run_id)
    for key, value in params.items():
        batcher.add_param(rid, key, value)
    if synchronous:
        batcher.flush()


def set_tag(key: str, value: Any, synchronous: Optional[bool] = None) -> None:
    batcher, rid = _target(None)
    batcher.add_tag(rid, key, value)
    if synchronous:
        batcher.flush()


def set_tags(tags: Mapping[str, Any], synchronous: Optional[bool] = None) -> None:
    batcher, rid = _target(None)
    for key, value in tags.items():
        batcher.add_tag(rid, key, value)
    if synchronous:
        batcher.flush()


def delete_tag(key: str) -> None:
    """Deletes a tag of the active run (synchronous; raises ``NOT_FOUND`` if it has none)."""
    run = _active_or_start()
    run.client.delete_tag(run.run_id, key)


def flush(timeout: Optional[float] = None) -> None:
    """Waits until everything queued was sent; raises ``BatchLoggingError`` for what failed."""
    client = _default_client
    if client is not None:
        client.flush(timeout)
    for run in list(_active_runs):
        if run.client is not client:
            run.client.flush(timeout)


# ---------------------------------------------------------------------- reads


def _flush_for_read() -> None:
    # Read-your-writes: what this process queued is sent before reading. Errors of queued
    # writes are not raised by reads; flush()/end_run() raise them.
    batchers = {id(r.batcher): r.batcher for r in list(_active_runs)}
    if _default_client is not None and _default_client._batcher is not None:
        batchers[id(_default_client._batcher)] = _default_client._batcher
    for batcher in batchers.values():
        batcher.flush(raise_errors=False)


def get_run(run_id: str) -> Run:
    _flush_for_read()
    return _client().get_run(run_id)


def get_metric_history(run_id: str, key: str, max_points: Optional[int] = None) -> List[Metric]:
    """Every point of a metric (ordered by step); ``max_points`` downsamples on the server."""
    _flush_for_read()
    return _client().get_metric_history(run_id, key, max_points)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def search_runs(
    experiment_ids: Optional[Sequence[str]] = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: Optional[Sequence[str]] = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Optional[Sequence[str]] = None,
) -> Union[List[Run], Any]:
    """Runs matching ``filter_string`` (MLflow's grammar plus OR and parentheses).

    Returns a pandas DataFrame (MLflow's columns: ``run_id``, ``status``, ``start_time``,
    ``metrics.<key>``, ``params.<key>``, ``tags.<key>``, ...) when ``output_format="pandas"``
    and pandas is installed; else a list of :class:`~cairn.entities.Run`.
    """
    client = _client()
    if experiment_names:
        ids = []
        for name in experiment_names:
            exp = client.get_experiment_by_name(name)
            if exp is not None:
                ids.append(exp.experiment_id)
        experiment_ids = list(experiment_ids or []) + ids
    if not experiment_ids:
        if search_all_experiments:
            experiment_ids = [e.experiment_id for e in client.search_experiments(ViewType.ALL)]
        elif not experiment_names:
            experiment_ids = [_current_experiment_id(client)]
    _flush_for_read()
    runs = (
        client.search_all_runs(
            list(experiment_ids or []), filter_string, run_view_type, max_results, order_by
        )
        if experiment_ids
        else []
    )
    if output_format == "list":
        return runs
    if output_format != "pandas":
        raise CairnError(
            f"output_format must be 'pandas' or 'list', got {output_format!r}", "INVALID_ARGUMENT"
        )
    try:
        import pandas as pd
    except ImportError:
        return runs
    return _runs_to_frame(pd, runs)


def _runs_to_frame(pd: Any, runs: List[Run]) -> Any:
    rows = []
    for run in runs:
        info = run.info
        row: Dict[str, Any] = {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "status": info.status,
            "artifact_uri": info.artifact_uri,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "run_name": info.run_name,
        }
        for mk, mv in run.data.metrics.items():
            row[f"metrics.{mk}"] = mv
        for pk, pv in run.data.params.items():
            row[f"params.{pk}"] = pv
        for tk, tv in run.data.tags.items():
            row[f"tags.{tk}"] = tv
        rows.append(row)
    base = [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
        "run_name",
    ]
    frame = pd.DataFrame(rows, columns=None if rows else base)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    metric_cols = sorted(c for c in frame.columns if c.startswith("metrics."))
    param_cols = sorted(c for c in frame.columns if c.startswith("params."))
    tag_cols = sorted(c for c in frame.columns if c.startswith("tags."))
    return frame[base + metric_cols + param_cols + tag_cols]


# ---------------------------------------------------------------------- artifacts


def _artifact_target(run_id: Optional[str]) -> "tuple[CairnClient, str]":
    if run_id is None:
        run = _active_or_start()
        return run.client, run.run_id
    return _client(), run_id


def log_artifact(
    local_path: str, artifact_path: Optional[str] = None, run_id: Optional[str] = None
) -> None:
    """Uploads a file to ``<artifact_path>/<file name>`` of the active run (streamed; files of
    64 MiB or more in parts). Raises at once on failure; nothing is queued."""
    client, rid = _artifact_target(run_id)
    client.log_artifact(rid, local_path, artifact_path)


def log_artifacts(
    local_dir: str, artifact_path: Optional[str] = None, run_id: Optional[str] = None
) -> None:
    """Uploads every file under ``local_dir`` to ``artifact_path`` of the active run."""
    client, rid = _artifact_target(run_id)
    client.log_artifacts(rid, local_dir, artifact_path)


def log_dict(dictionary: Any, artifact_file: str, run_id: Optional[str] = None) -> None:
    """Stores ``dictionary`` as JSON (or YAML for ``.yaml``/``.yml``) at ``artifact_file``."""
    client, rid = _artifact_target(run_id)
    client.log_dict(rid, dictionary, artifact_file)


def log_text(text: str, artifact_file: str, run_id: Optional[str] = None) -> None:
    """Stores ``text`` (UTF-8) at ``artifact_file`` of the active run."""
    client, rid = _artifact_target(run_id)
    client.log_text(rid, text, artifact_file)


def log_figure(
    figure: Any,
    artifact_file: str,
    *,
    save_kwargs: Optional[Dict[str, Any]] = None,
    run_id: Optional[str] = None,
) -> None:
    """Stores a matplotlib or plotly figure at ``artifact_file`` (``plot.png``, ``fig.html``)."""
    client, rid = _artifact_target(run_id)
    client.log_figure(rid, figure, artifact_file, save_kwargs)


def get_artifact_uri(artifact_path: Optional[str] = None) -> str:
    """``runs:/<active run id>/<artifact_path>``: a URI ``download_artifacts`` and the model
    loaders accept."""
    run = _active_or_start()
    path = (artifact_path or "").strip("/")
    return f"runs:/{run.run_id}/{path}" if path else f"runs:/{run.run_id}"


# ---------------------------------------------------------------------- registry


def register_model(
    model_uri: str,
    name: str,
    tags: Optional[Mapping[str, Any]] = None,
    description: Optional[str] = None,
) -> Any:
    """Registers ``model_uri`` (``runs:/<run_id>/<path>``) as a new version of the registered
    model ``name`` (created when missing); returns the :class:`~cairn.entities.ModelVersion`."""
    from .models import parse_runs_uri

    client = _client()
    run_id: Optional[str] = None
    if model_uri.startswith("runs:/"):
        run_id, _ = parse_runs_uri(model_uri)
    elif model_uri.startswith("models:/"):
        source = client.resolve_model_uri(model_uri)
        model_uri, run_id = source.source, source.run_id
    return client.create_model_version(
        name, model_uri, run_id, tags, description, create_model_if_missing=True
    )


# ---------------------------------------------------------------------- exit


def _excepthook_wrapper(previous: Any) -> Any:
    def hook(exc_type: Any, exc: Any, tb: Any) -> None:
        global _uncaught_exception
        _uncaught_exception = True
        previous(exc_type, exc, tb)

    return hook


def _at_exit() -> None:
    # Runs still active when the interpreter exits are ended (FAILED after an uncaught
    # exception), and everything queued is sent first: a clean exit loses nothing.
    status = RunStatus.FAILED if _uncaught_exception else RunStatus.FINISHED
    try:
        while _active_runs:
            try:
                end_run(status)
            except Exception as exc:
                _log.error("cairn: could not end run at exit: %s", exc)
        close_all()
    except KeyboardInterrupt:
        abandon_all()
        _log.error("cairn: interrupted at exit; queued items were not sent")


sys.excepthook = _excepthook_wrapper(sys.excepthook)
atexit.register(_at_exit)
