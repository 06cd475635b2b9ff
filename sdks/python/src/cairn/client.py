"""``CairnClient``: the low-level API with explicit ids (MLflow's ``MlflowClient`` names)."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
import uuid
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import _queries as Q
from ._artifacts import ArtifactStore, join_artifact_path, validate_artifact_path
from ._batcher import Batcher
from ._transport import GraphQLTransport
from ._validation import check_integer, to_str, validate_key, validate_value
from .config import BatchSettings, TransportSettings, get_tracking_uri, normalize_uri
from .entities import (
    Experiment,
    FileInfo,
    Metric,
    ModelHistoryEntry,
    ModelVersion,
    PagedList,
    RegisteredModel,
    Run,
    RunStatus,
    ViewType,
    decode_metric_value,
    encode_metric_value,
    to_stage,
)
from .exceptions import CairnError, error_for

_log = logging.getLogger("cairn")

#: the most points the server returns for one metricHistory call
_MAX_HISTORY_POINTS = 100_000


def _tags_input(tags: Optional[Mapping[str, Any]]) -> Optional[List[Dict[str, str]]]:
    if not tags:
        return None
    out = []
    for key, value in tags.items():
        text = to_str(value)
        validate_key("tag", key)
        validate_value("tag", key, text)
        out.append({"key": key, "value": text})
    return out


def _lifecycle(view_type: int) -> List[Optional[str]]:
    if view_type == ViewType.ACTIVE_ONLY:
        return ["ACTIVE"]
    if view_type == ViewType.DELETED_ONLY:
        return ["DELETED"]
    if view_type == ViewType.ALL:
        return ["ACTIVE", "DELETED"]
    raise CairnError(f"Unknown run_view_type {view_type!r}", "INVALID_ARGUMENT")


class CairnClient:
    """Talks to one Cairn server. Reads and writes are synchronous unless ``synchronous=False``.

    >>> client = CairnClient("http://127.0.0.1:4680")
    >>> exp_id = client.create_experiment("demo")
    >>> run = client.create_run(exp_id)
    >>> client.log_metric(run.info.run_id, "loss", 0.5, step=1)
    """

    def __init__(
        self,
        tracking_uri: Optional[str] = None,
        *,
        api_key: Optional[str] = None,
        workspace: Optional[str] = None,
        settings: Optional[TransportSettings] = None,
        batch_settings: Optional[BatchSettings] = None,
    ) -> None:
        self.tracking_uri = normalize_uri(tracking_uri) if tracking_uri else get_tracking_uri()
        base = settings or TransportSettings.from_env()
        if api_key is not None or workspace is not None:
            base = TransportSettings(
                api_key=api_key if api_key is not None else base.api_key,
                workspace=workspace if workspace is not None else base.workspace,
                request_timeout=base.request_timeout,
                retry_timeout=base.retry_timeout,
                batch_retry_timeout=base.batch_retry_timeout,
                backoff_initial=base.backoff_initial,
                backoff_max=base.backoff_max,
            )
        self._transport = GraphQLTransport(self.tracking_uri, base)
        self._batch_settings = batch_settings
        self._batcher: Optional[Batcher] = None
        self._batcher_lock = threading.Lock()
        self._runs_args: Optional[Dict[str, str]] = None
        self._artifacts: Optional[ArtifactStore] = None

    # ------------------------------------------------------------------ plumbing

    def execute(self, query: str, variables: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """Runs any GraphQL operation against the server (with retries); returns ``data``."""
        return self._transport.execute(query, variables)

    @property
    def batcher(self) -> Batcher:
        """The background queue of this client (created on first use)."""
        batcher = self._batcher
        if batcher is None:
            with self._batcher_lock:
                if self._batcher is None:
                    self._batcher = Batcher(self._transport, self._batch_settings)
                batcher = self._batcher
        return batcher

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every queued metric, param and tag was sent; raises what failed."""
        if self._batcher is not None:
            self._batcher.flush(timeout)

    # ------------------------------------------------------------------ experiments

    def create_experiment(
        self,
        name: str,
        artifact_location: Optional[str] = None,
        tags: Optional[Mapping[str, Any]] = None,
    ) -> str:
        data = self.execute(
            Q.CREATE_EXPERIMENT,
            {"name": name, "artifactLocation": artifact_location, "tags": _tags_input(tags)},
        )
        return str(data["createExperiment"]["id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        node = self.execute(Q.EXPERIMENT, {"id": experiment_id})["experiment"]
        if node is None:
            raise CairnError(
                f"Experiment {experiment_id} not found", "NOT_FOUND", {"id": experiment_id}
            )
        return Experiment.from_graphql(node)

    def get_experiment_by_name(self, name: str) -> Optional[Experiment]:
        node = self.execute(Q.EXPERIMENT_BY_NAME, {"name": name})["experimentByName"]
        return Experiment.from_graphql(node) if node else None

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: Optional[int] = None,
        name_contains: Optional[str] = None,
    ) -> List[Experiment]:
        stages = _lifecycle(view_type)
        out: List[Experiment] = []
        for stage in stages:
            after: Optional[str] = None
            while True:
                data = self.execute(
                    Q.EXPERIMENTS,
                    {
                        "first": 100,
                        "after": after,
                        "filter": {"lifecycleStage": stage, "nameContains": name_contains},
                    },
                )["experiments"]
                out.extend(Experiment.from_graphql(n) for n in data["nodes"])
                if max_results is not None and len(out) >= max_results:
                    return out[:max_results]
                if not data["pageInfo"]["hasNextPage"]:
                    break
                after = data["pageInfo"]["endCursor"]
        return out

    def delete_experiment(self, experiment_id: str) -> None:
        self.execute(Q.DELETE_EXPERIMENT, {"id": experiment_id})

    def restore_experiment(self, experiment_id: str) -> None:
        self.execute(Q.RESTORE_EXPERIMENT, {"id": experiment_id})

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.execute(Q.RENAME_EXPERIMENT, {"id": experiment_id, "name": new_name})

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.execute(
            Q.SET_EXPERIMENT_TAG, {"id": experiment_id, "key": key, "value": to_str(value)}
        )

    # ------------------------------------------------------------------ runs

    def create_run(
        self,
        experiment_id: str,
        start_time: Optional[int] = None,
        tags: Optional[Mapping[str, Any]] = None,
        run_name: Optional[str] = None,
        *,
        parent_run_id: Optional[str] = None,
        source: Optional[Mapping[str, Optional[str]]] = None,
    ) -> Run:
        """Creates a RUNNING run. ``source`` has ``gitCommit``, ``entryPoint``, ``sourceType``."""
        data = self.execute(
            Q.CREATE_RUN,
            {
                "experimentId": experiment_id,
                "name": run_name,
                "startTime": int(start_time) if start_time is not None else int(time.time() * 1000),
                "parentRunId": parent_run_id,
                "tags": _tags_input(tags),
                "source": dict(source) if source else None,
            },
        )
        return Run.from_graphql(data["createRun"])

    def get_run(self, run_id: str) -> Run:
        node = self.execute(Q.GET_RUN, {"id": run_id})["run"]
        if node is None:
            raise CairnError(f"Run {run_id} not found", "NOT_FOUND", {"id": run_id})
        return Run.from_graphql(node)

    def update_run(
        self,
        run_id: str,
        status: Optional[str] = None,
        name: Optional[str] = None,
        end_time: Optional[int] = None,
    ) -> Run:
        data = self.execute(
            Q.UPDATE_RUN, {"runId": run_id, "status": status, "name": name, "endTime": end_time}
        )
        return Run.from_graphql(data["updateRun"])

    def set_terminated(
        self, run_id: str, status: str = RunStatus.FINISHED, end_time: Optional[int] = None
    ) -> Run:
        """Flushes what this client queued, then ends the run with ``status``."""
        if status not in RunStatus.ALL:
            raise CairnError(f"Unknown run status {status!r}", "INVALID_ARGUMENT")
        errors: Optional[CairnError] = None
        try:
            self.flush()
        except CairnError as exc:
            errors = exc
        run = self.update_run(
            run_id, status, end_time=int(end_time) if end_time else int(time.time() * 1000)
        )
        if self._batcher is not None:
            self._batcher.forget_run(run_id)
        if errors is not None:
            raise errors
        return run

    def delete_run(self, run_id: str) -> None:
        self.execute(Q.DELETE_RUN, {"runId": run_id})

    def restore_run(self, run_id: str) -> None:
        self.execute(Q.RESTORE_RUN, {"runId": run_id})

    # ------------------------------------------------------------------ logging

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: Optional[int] = None,
        step: Optional[int] = None,
        synchronous: bool = True,
    ) -> None:
        if not synchronous:
            self.batcher.add_metric(run_id, key, value, step, timestamp)
            return
        self.log_batch(run_id, metrics=[Metric(key, float(value), timestamp or 0, step or 0)])

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool = True) -> Any:
        if not synchronous:
            return self.batcher.add_param(run_id, key, value)
        text = to_str(value)
        self.log_batch(run_id, params={key: text})
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool = True) -> None:
        if not synchronous:
            self.batcher.add_tag(run_id, key, value)
            return
        self.log_batch(run_id, tags={key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        self.flush()  # a queued set_tag of this key must land first
        self.execute(Q.DELETE_TAG, {"runId": run_id, "key": key})

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Union[Mapping[str, Any], Sequence[Any], None] = None,
        tags: Union[Mapping[str, Any], Sequence[Any], None] = None,
        synchronous: bool = True,
    ) -> None:
        """Logs metrics (``Metric`` objects), params and tags (dicts or ``Param``/``RunTag``
        lists) in one request per 50,000 points; with ``synchronous=False``, queues them."""
        param_map = _as_mapping(params)
        tag_map = _as_mapping(tags)
        if not synchronous:
            for m in metrics:
                self.batcher.add_metric(run_id, m.key, m.value, m.step, m.timestamp or None)
            for k, v in param_map.items():
                self.batcher.add_param(run_id, k, v)
            for k, v in tag_map.items():
                self.batcher.add_tag(run_id, k, v)
            return
        now = int(time.time() * 1000)
        metric_input = []
        for m in metrics:
            validate_key("metric", m.key)
            metric_input.append(
                {
                    "key": m.key,
                    "value": encode_metric_value(float(m.value)),
                    "step": check_integer(f'metric "{m.key}" step', m.step or 0),
                    "timestamp": check_integer(f'metric "{m.key}" timestamp', m.timestamp or now),
                }
            )
        param_input = []
        for k, v in param_map.items():
            validate_key("param", k)
            text = to_str(v)
            validate_value("param", k, text)
            param_input.append({"key": k, "value": text})
        tag_input = _tags_input(tag_map) or []
        chunk = 50_000
        first = True
        for i in range(0, max(1, len(metric_input)), chunk):
            variables: Dict[str, Any] = {
                "runId": run_id,
                "metrics": metric_input[i : i + chunk],
                # Retries of this request (same body) are stored once (see _batcher).
                "idempotencyKey": uuid.uuid4().hex,
            }
            if first:
                # params/tags go with the first request; limits are 1,000 each per request
                variables["params"] = param_input[:1000]
                variables["tags"] = tag_input[:1000]
            self.execute(Q.LOG_BATCH_SYNC, variables)
            first = False
        for i in range(1000, max(len(param_input), len(tag_input)), 1000):
            self.execute(
                Q.LOG_BATCH_SYNC,
                {
                    "runId": run_id,
                    "params": param_input[i : i + 1000],
                    "tags": tag_input[i : i + 1000],
                    "idempotencyKey": uuid.uuid4().hex,
                },
            )

    # ------------------------------------------------------------------ reads

    def get_metric_history(
        self, run_id: str, key: str, max_points: Optional[int] = None
    ) -> List[Metric]:
        """All points of a metric, ordered by step (``max_points`` asks the server to downsample,
        keeping extremes and the last point)."""
        if max_points is not None:
            return self._history(run_id, key, max_points, None, None)
        return self._full_history(run_id, key, None, None)

    def _history(
        self,
        run_id: str,
        key: str,
        max_points: int,
        start_step: Optional[int],
        end_step: Optional[int],
    ) -> List[Metric]:
        data = self.execute(
            Q.METRIC_HISTORY,
            {
                "id": run_id,
                "key": key,
                "maxPoints": max_points,
                "startStep": start_step,
                "endStep": end_step,
            },
        )["run"]
        if data is None:
            raise CairnError(f"Run {run_id} not found", "NOT_FOUND", {"id": run_id})
        return [
            Metric(key, decode_metric_value(p["value"]), p["timestamp"], p["step"])
            for p in data["metricHistory"]
        ]

    def _full_history(
        self, run_id: str, key: str, start: Optional[int], end: Optional[int]
    ) -> List[Metric]:
        # The server downsamples above maxPoints, and a downsampled answer can be as long as a
        # complete one; only an answer under half the limit is provably complete. Longer ones
        # are re-read in step ranges cut at the answer's step quantiles (a downsampled answer
        # keeps extremes per equal-count bucket, so its quantiles are the series' quantiles).
        points = self._history(run_id, key, _MAX_HISTORY_POINTS, start, end)
        complete_below = (_MAX_HISTORY_POINTS - 2) // 2
        if len(points) < complete_below:
            return points
        lo, hi = points[0].step, points[-1].step
        if lo >= hi:
            _log.warning(
                "cairn: metric %r of run %s has more points at step %d than one read returns; "
                "the history is downsampled",
                key,
                run_id,
                lo,
            )
            return points
        parts = -(-len(points) // (complete_below * 2 // 3))  # ~33k points expected per part
        cuts = sorted({points[len(points) * j // parts].step for j in range(1, parts)} - {hi})
        bounds = [lo] + [c + 1 for c in cuts]
        ends = [c for c in cuts] + [hi]
        if len(bounds) == 1:
            mid = lo + (hi - lo) // 2
            bounds, ends = [lo, mid + 1], [mid, hi]
        out: List[Metric] = []
        for a, b in zip(bounds, ends):
            if a <= b:
                out.extend(self._full_history(run_id, key, a, b))
        return out

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList:
        """One page of runs (``max_results`` at most); ``.token`` is the next page's cursor.

        ``filter_string`` and ``order_by`` use MLflow's search grammar (plus OR and
        parentheses) and are passed to the server as they are.
        """
        out: List[Run] = []
        stages = _lifecycle(run_view_type)
        cursor: Optional[str] = None
        if page_token:
            # tokens carry the lifecycle stage they page through: "<STAGE>:<cursor>"
            stage_name, _, rest = page_token.partition(":")
            cursor = rest or None
            if stage_name in stages:
                stages = stages[stages.index(stage_name) :]
        token: Optional[str] = None
        for stage in stages:
            runs, next_cursor = self._search_page(
                experiment_ids, filter_string, stage, max_results - len(out), order_by, cursor
            )
            cursor = None
            out.extend(runs)
            if next_cursor is not None:
                token = f"{stage}:{next_cursor}"
                break
            if len(out) >= max_results:
                later = stages[stages.index(stage) + 1 :]
                token = f"{later[0]}:" if later else None
                break
        return PagedList(out, token)

    def search_all_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: Optional[int] = None,
        order_by: Optional[Sequence[str]] = None,
    ) -> List[Run]:
        """Every matching run (follows the cursors), up to ``max_results``."""
        out: List[Run] = []
        for stage in _lifecycle(run_view_type):
            token: Optional[str] = None
            while True:
                want = 1000 if max_results is None else min(1000, max_results - len(out))
                if want <= 0:
                    return out
                runs, token = self._search_page(
                    experiment_ids, filter_string, stage, want, order_by, token
                )
                out.extend(runs)
                if token is None:
                    break
        return out

    def _search_page(
        self,
        experiment_ids: Sequence[str],
        filter_string: str,
        stage: Optional[str],
        first: int,
        order_by: Optional[Sequence[str]],
        after: Optional[str],
    ) -> "tuple[List[Run], Optional[str]]":
        variables: Dict[str, Any] = {
            "experimentIds": list(experiment_ids),
            "first": max(1, min(first, 1000)),
            "after": after,
            "lifecycleStage": stage,
        }
        extra: Dict[str, str] = {}
        if filter_string and filter_string.strip():
            extra["filter"] = self._runs_arg_type("filter")
            variables["filter"] = filter_string
        if order_by:
            gql_type = self._runs_arg_type("orderBy")
            extra["orderBy"] = gql_type
            variables["orderBy"] = (
                list(order_by) if gql_type.startswith("[") else ", ".join(order_by)
            )
        data = self.execute(Q.search_runs_query(extra), variables)["runs"]
        runs = [Run.from_graphql(n) for n in data["nodes"]]
        info = data["pageInfo"]
        return runs, (info["endCursor"] if info["hasNextPage"] else None)

    def _runs_arg_type(self, name: str) -> str:
        """The GraphQL type of an argument of ``Query.runs`` as this server declares it."""
        if self._runs_args is None:
            fields = self.execute(Q.RUNS_ARGS_INTROSPECTION)["__type"]["fields"]
            runs = next((f for f in fields if f["name"] == "runs"), None)
            self._runs_args = {
                a["name"]: _type_ref(a["type"]) for a in (runs or {}).get("args", [])
            }
        if name not in self._runs_args:
            what = "filter_string" if name == "filter" else "order_by"
            raise CairnError(
                f"This Cairn server does not support {what} in run searches yet "
                f"(Query.runs has no '{name}' argument)",
                "UNIMPLEMENTED",
                {"argument": name},
            )
        return self._runs_args[name]

    # ------------------------------------------------------------------ artifacts

    @property
    def artifacts(self) -> ArtifactStore:
        """The HTTP artifact transfer of this client (created on first use)."""
        store = self._artifacts
        if store is None:
            store = self._artifacts = ArtifactStore(self._transport)
        return store

    def log_artifact(
        self, run_id: str, local_path: str, artifact_path: Optional[str] = None
    ) -> None:
        """Uploads a file to ``<artifact_path>/<file name>`` of the run (streamed)."""
        local_path = os.fspath(local_path)
        if not os.path.isfile(local_path):
            raise error_for(
                f"{local_path} is not a file (use log_artifacts for a directory)",
                "INVALID_ARGUMENT",
                {"path": local_path},
            )
        target = join_artifact_path(artifact_path, os.path.basename(local_path))
        self.artifacts.upload_file(run_id, local_path, target)

    def log_artifacts(
        self, run_id: str, local_dir: str, artifact_path: Optional[str] = None
    ) -> None:
        """Uploads every file under ``local_dir`` to ``artifact_path`` (tree kept)."""
        local_dir = os.fspath(local_dir)
        if not os.path.isdir(local_dir):
            raise error_for(
                f"{local_dir} is not a directory", "INVALID_ARGUMENT", {"path": local_dir}
            )
        files = []
        for root, dirs, names in os.walk(local_dir):
            dirs.sort()
            rel = os.path.relpath(root, local_dir)
            rel_posix = "" if rel == "." else rel.replace(os.sep, "/")
            for name in sorted(names):
                target = join_artifact_path(artifact_path, rel_posix, name)
                validate_artifact_path(target)  # all paths are checked before any upload
                files.append((os.path.join(root, name), target))
        for local, target in files:
            self.artifacts.upload_file(run_id, local, target)

    def _log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None:
        validate_artifact_path(artifact_file)
        with tempfile.TemporaryDirectory(prefix="cairn-") as tmp:
            local = os.path.join(tmp, "artifact")
            with open(local, "wb") as f:
                f.write(data)
            self.artifacts.upload_file(run_id, local, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Stores a dict as JSON (``.json``) or YAML (``.yaml``/``.yml``, needs PyYAML)."""
        if artifact_file.endswith((".yaml", ".yml")):
            try:
                import yaml  # type: ignore[import-untyped]
            except ImportError as exc:
                raise error_for(
                    "log_dict to a .yaml file needs PyYAML (pip install pyyaml); use .json",
                    "FAILED_PRECONDITION",
                ) from exc
            text = yaml.safe_dump(dictionary, sort_keys=False)
        else:
            text = json.dumps(dictionary, indent=2)
        self._log_bytes(run_id, text.encode("utf-8"), artifact_file)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._log_bytes(run_id, text.encode("utf-8"), artifact_file)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        save_kwargs: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Stores a matplotlib figure (``savefig``) or a plotly figure (``write_html`` for
        ``.html``, ``write_image`` otherwise) under ``artifact_file``."""
        validate_artifact_path(artifact_file)
        with tempfile.TemporaryDirectory(prefix="cairn-") as tmp:
            local = os.path.join(tmp, os.path.basename(artifact_file))
            if hasattr(figure, "savefig"):
                figure.savefig(local, **(save_kwargs or {}))
            elif hasattr(figure, "write_html") and artifact_file.endswith(".html"):
                figure.write_html(local, **(save_kwargs or {}))
            elif hasattr(figure, "write_image"):
                figure.write_image(local, **(save_kwargs or {}))
            else:
                raise error_for(
                    f"log_figure takes a matplotlib or plotly figure, not {type(figure).__name__}",
                    "INVALID_ARGUMENT",
                )
            self.artifacts.upload_file(run_id, local, artifact_file)

    def list_artifacts(self, run_id: str, path: Optional[str] = None) -> List[FileInfo]:
        """The direct children of ``path`` (the run's root by default): directories first."""
        return [
            FileInfo.from_graphql(entry)
            for entry in self.artifacts.list(run_id, (path or "").strip("/"))
        ]

    def download_artifacts(
        self, run_id: str, path: str = "", dst_path: Optional[str] = None
    ) -> str:
        """Downloads a file or directory of the run into ``dst_path`` (a new temporary
        directory by default); every file's sha256 is checked. Returns the local path."""
        dst = dst_path or tempfile.mkdtemp(prefix="cairn-artifacts-")
        os.makedirs(dst, exist_ok=True)
        return self.artifacts.download(run_id, path or "", dst)

    # ------------------------------------------------------------------ model registry

    def create_registered_model(
        self,
        name: str,
        tags: Optional[Mapping[str, Any]] = None,
        description: Optional[str] = None,
    ) -> RegisteredModel:
        data = self.execute(
            Q.CREATE_REGISTERED_MODEL,
            {"name": name, "description": description, "tags": _tags_input(tags)},
        )
        return RegisteredModel.from_graphql(data["createRegisteredModel"])

    def get_registered_model(self, name: str) -> RegisteredModel:
        node = self.execute(Q.REGISTERED_MODEL, {"name": name})["registeredModel"]
        if node is None:
            raise error_for(f"Registered model {name!r} not found", "NOT_FOUND", {"name": name})
        return RegisteredModel.from_graphql(node)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        data = self.execute(Q.RENAME_REGISTERED_MODEL, {"name": name, "newName": new_name})
        return RegisteredModel.from_graphql(data["renameRegisteredModel"])

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        data = self.execute(Q.UPDATE_REGISTERED_MODEL, {"name": name, "description": description})
        return RegisteredModel.from_graphql(data["updateRegisteredModel"])

    def delete_registered_model(self, name: str) -> None:
        self.execute(Q.DELETE_REGISTERED_MODEL, {"name": name})

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self.execute(Q.SET_REGISTERED_MODEL_TAG, {"name": name, "key": key, "value": to_str(value)})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.execute(Q.DELETE_REGISTERED_MODEL_TAG, {"name": name, "key": key})

    def search_registered_models(
        self,
        filter_string: Optional[str] = None,
        max_results: int = 100,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList:
        """One page of registered models (``filter_string``: ``name LIKE 'x%'``,
        ``tags.k = 'v'``); ``.token`` is the next page's cursor."""
        data = self.execute(
            Q.REGISTERED_MODELS,
            {
                "filter": filter_string or None,
                "orderBy": list(order_by) if order_by else None,
                "first": max(1, min(int(max_results), 1000)),
                "after": page_token,
            },
        )["registeredModels"]
        items = [RegisteredModel.from_graphql(e["node"]) for e in data["edges"]]
        info = data["pageInfo"]
        return PagedList(items, info["endCursor"] if info["hasNextPage"] else None)

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: Optional[str] = None,
        tags: Optional[Mapping[str, Any]] = None,
        description: Optional[str] = None,
        *,
        create_model_if_missing: bool = False,
    ) -> ModelVersion:
        data = self.execute(
            Q.CREATE_MODEL_VERSION,
            {
                "name": name,
                "source": source,
                "runId": run_id,
                "description": description,
                "tags": _tags_input(tags),
                "createModelIfMissing": create_model_if_missing,
            },
        )
        return ModelVersion.from_graphql(data["createModelVersion"])

    def get_model_version(self, name: str, version: Union[int, str]) -> ModelVersion:
        v = _version_number(version)
        node = self.execute(Q.MODEL_VERSION, {"name": name, "version": v})["modelVersion"]
        if node is None:
            raise error_for(
                f"Registered model {name!r} has no version {v}",
                "NOT_FOUND",
                {"name": name, "version": v},
            )
        return ModelVersion.from_graphql(node)

    def update_model_version(
        self, name: str, version: Union[int, str], description: str
    ) -> ModelVersion:
        data = self.execute(
            Q.UPDATE_MODEL_VERSION,
            {"name": name, "version": _version_number(version), "description": description},
        )
        return ModelVersion.from_graphql(data["updateModelVersion"])

    def delete_model_version(self, name: str, version: Union[int, str]) -> None:
        self.execute(Q.DELETE_MODEL_VERSION, {"name": name, "version": _version_number(version)})

    def set_model_version_tag(
        self, name: str, version: Union[int, str], key: str, value: Any
    ) -> None:
        self.execute(
            Q.SET_MODEL_VERSION_TAG,
            {"name": name, "version": _version_number(version), "key": key, "value": to_str(value)},
        )

    def delete_model_version_tag(self, name: str, version: Union[int, str], key: str) -> None:
        self.execute(
            Q.DELETE_MODEL_VERSION_TAG,
            {"name": name, "version": _version_number(version), "key": key},
        )

    def search_model_versions(
        self,
        filter_string: Optional[str] = None,
        max_results: int = 1000,
        order_by: Optional[Sequence[str]] = None,
        page_token: Optional[str] = None,
    ) -> PagedList:
        """One page of model versions (``name = 'm'``, ``run_id = '...'``,
        ``stage = 'Production'``, ``tags.k = 'v'``)."""
        data = self.execute(
            Q.MODEL_VERSIONS,
            {
                "filter": filter_string or None,
                "orderBy": list(order_by) if order_by else None,
                "first": max(1, min(int(max_results), 1000)),
                "after": page_token,
            },
        )["modelVersions"]
        items = [ModelVersion.from_graphql(e["node"]) for e in data["edges"]]
        info = data["pageInfo"]
        return PagedList(items, info["endCursor"] if info["hasNextPage"] else None)

    def get_latest_versions(
        self, name: str, stages: Optional[Sequence[str]] = None
    ) -> List[ModelVersion]:
        """The newest version per stage (only ``stages`` when given)."""
        model = self.get_registered_model(name)
        wanted = {to_stage(s) for s in stages} if stages else None
        return [
            v
            for v in model.latest_versions
            if wanted is None or to_stage(v.current_stage) in wanted
        ]

    def transition_model_version_stage(
        self,
        name: str,
        version: Union[int, str],
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        """Moves a version to ``stage`` ("None", "Staging", "Production", "Archived");
        ``archive_existing_versions`` archives the versions currently in that stage."""
        data = self.execute(
            Q.TRANSITION_MODEL_VERSION_STAGE,
            {
                "name": name,
                "version": _version_number(version),
                "stage": to_stage(stage),
                "archive": bool(archive_existing_versions),
            },
        )
        return ModelVersion.from_graphql(data["transitionModelVersionStage"])

    def set_registered_model_alias(
        self, name: str, alias: str, version: Union[int, str]
    ) -> ModelVersion:
        """Points ``alias`` at ``version`` (moving it back is a rollback: one call)."""
        data = self.execute(
            Q.SET_MODEL_ALIAS, {"name": name, "alias": alias, "version": _version_number(version)}
        )
        return ModelVersion.from_graphql(data["setModelAlias"])

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.execute(Q.DELETE_MODEL_ALIAS, {"name": name, "alias": alias})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.resolve_model_uri(f"models:/{name}@{alias}")

    def get_registered_model_history(self, name: str, first: int = 200) -> List[ModelHistoryEntry]:
        """Who changed what and when (newest first): versions, stage moves, alias moves."""
        node = self.execute(Q.MODEL_HISTORY, {"name": name, "first": first})["registeredModel"]
        if node is None:
            raise error_for(f"Registered model {name!r} not found", "NOT_FOUND", {"name": name})
        return [ModelHistoryEntry.from_graphql(e) for e in node["history"]]

    def resolve_model_uri(self, uri: str) -> ModelVersion:
        """The version a ``models:/`` URI names (``@alias``, ``/Stage``, ``/3``, ``/latest``)."""
        data = self.execute(Q.RESOLVE_MODEL_URI, {"uri": uri})
        return ModelVersion.from_graphql(data["resolveModelUri"])


def _version_number(version: Union[int, str]) -> int:
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise error_for(
            f"Model version must be a positive integer, not {version!r}",
            "INVALID_ARGUMENT",
            {"version": version},
        ) from None
    if number < 1:
        raise error_for(
            f"Model version must be a positive integer, not {version!r}",
            "INVALID_ARGUMENT",
            {"version": version},
        )
    return number


def _type_ref(t: Mapping[str, Any]) -> str:
    if t["kind"] == "NON_NULL":
        return _type_ref(t["ofType"]) + "!"
    if t["kind"] == "LIST":
        return "[" + _type_ref(t["ofType"]) + "]"
    return str(t["name"])


def _as_mapping(items: Union[Mapping[str, Any], Iterable[Any], None]) -> Dict[str, Any]:
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return dict(items)
    return {getattr(item, "key"): getattr(item, "value") for item in items}
