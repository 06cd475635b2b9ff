"""Plain data objects shaped like MLflow's (``run.info.run_id``, ``run.data.metrics``, ...)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


class RunStatus:
    """Run statuses (the GraphQL ``RunStatus`` enum)."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    ALL = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
    TERMINAL = (FINISHED, FAILED, KILLED)

    @staticmethod
    def is_terminated(status: str) -> bool:
        return status in RunStatus.TERMINAL


class ViewType:
    """Which runs or experiments a search returns (MLflow's names)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int


@dataclass(frozen=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: Optional[str]
    lifecycle_stage: str
    tags: Dict[str, str] = field(default_factory=dict)
    creation_time: Optional[int] = None
    last_update_time: Optional[int] = None

    @staticmethod
    def from_graphql(node: Dict[str, Any]) -> "Experiment":
        return Experiment(
            experiment_id=node["id"],
            name=node["name"],
            artifact_location=node.get("artifactLocation"),
            lifecycle_stage=str(node.get("lifecycleStage", "ACTIVE")).lower(),
            tags={t["key"]: t["value"] for t in node.get("tags") or []},
            creation_time=node.get("createdAt"),
            last_update_time=node.get("updatedAt"),
        )


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_name: str
    experiment_id: str
    status: str
    start_time: int
    end_time: Optional[int]
    lifecycle_stage: str
    artifact_uri: Optional[str] = None
    parent_run_id: Optional[str] = None
    git_commit: Optional[str] = None
    entry_point: Optional[str] = None
    source_type: Optional[str] = None

    @property
    def run_uuid(self) -> str:  # MLflow's old name
        return self.run_id


@dataclass(frozen=True)
class RunData:
    metrics: Dict[str, float] = field(default_factory=dict)
    params: Dict[str, str] = field(default_factory=dict)
    tags: Dict[str, str] = field(default_factory=dict)
    #: the latest point of each metric, with step and timestamp
    latest_metrics: Dict[str, Metric] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData

    @staticmethod
    def from_graphql(node: Dict[str, Any]) -> "Run":
        source = node.get("source") or {}
        parent = node.get("parentRun") or None
        latest = {
            m["key"]: Metric(m["key"], decode_metric_value(m["value"]), m["timestamp"], m["step"])
            for m in node.get("latestMetrics") or []
        }
        tags = {t["key"]: t["value"] for t in node.get("tags") or []}
        parent_id = parent["id"] if parent else tags.get("mlflow.parentRunId")
        info = RunInfo(
            run_id=node["id"],
            run_name=node.get("name") or "",
            experiment_id=node["experimentId"],
            status=node.get("status", RunStatus.RUNNING),
            start_time=node.get("startTime") or 0,
            end_time=node.get("endTime"),
            lifecycle_stage=str(node.get("lifecycleStage", "ACTIVE")).lower(),
            artifact_uri=None,
            parent_run_id=parent_id,
            git_commit=source.get("gitCommit"),
            entry_point=source.get("entryPoint"),
            source_type=source.get("sourceType"),
        )
        data = RunData(
            metrics={k: m.value for k, m in latest.items()},
            params={p["key"]: p["value"] for p in node.get("params") or []},
            tags=tags,
            latest_metrics=latest,
        )
        return Run(info, data)


def decode_metric_value(value: Any) -> float:
    """The ``MetricValue`` scalar: a number, or "NaN", "Infinity", "-Infinity"."""
    if isinstance(value, str):
        return float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}.get(value, value))
    return float(value)


def encode_metric_value(value: float) -> Any:
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class PagedList(List[Any]):
    """A list with the cursor of the next page (``token``), like MLflow's ``PagedList``."""

    def __init__(self, items: List[Any], token: Optional[str]) -> None:
        super().__init__(items)
        self.token = token


# ---------------------------------------------------------------------- artifacts


@dataclass(frozen=True)
class FileInfo:
    """One entry of ``list_artifacts`` (MLflow's name): ``path``, ``is_dir``, ``file_size``."""

    path: str
    is_dir: bool
    file_size: Optional[int] = None
    sha256: Optional[str] = None
    logged_at: Optional[int] = None

    @staticmethod
    def from_graphql(node: Dict[str, Any]) -> "FileInfo":
        size = node.get("size")
        return FileInfo(
            path=str(node["path"]),
            is_dir=bool(node["isDir"]),
            file_size=int(size) if size is not None else None,
            sha256=node.get("sha256"),
            logged_at=node.get("loggedAt"),
        )


# ---------------------------------------------------------------------- model registry

#: the stage names MLflow users write → the GraphQL ``ModelStage`` enum
_STAGES = {"none": "NONE", "staging": "STAGING", "production": "PRODUCTION", "archived": "ARCHIVED"}
_STAGE_NAMES = {v: k.capitalize() for k, v in _STAGES.items()}


def to_stage(stage: str) -> str:
    """``"Production"`` (any case) → ``"PRODUCTION"``; raises on an unknown stage."""
    value = _STAGES.get(str(stage).strip().lower())
    if value is None:
        from .exceptions import error_for

        raise error_for(
            f"Unknown model stage {stage!r}: use None, Staging, Production or Archived",
            "INVALID_ARGUMENT",
            {"stage": stage},
        )
    return value


def stage_name(stage: Optional[str]) -> str:
    """``"PRODUCTION"`` → ``"Production"`` (MLflow's spelling)."""
    return _STAGE_NAMES.get(str(stage or "NONE").upper(), str(stage))


def _kv(items: Any) -> Dict[str, str]:
    return {t["key"]: t["value"] for t in items or []}


@dataclass
class ModelVersion:
    """A registered model version (MLflow's attribute names; ``version`` is an int)."""

    name: str
    version: int
    source: str
    run_id: Optional[str]
    current_stage: str
    status: str
    description: Optional[str] = None
    tags: Dict[str, str] = field(default_factory=dict)
    aliases: List[str] = field(default_factory=list)
    creation_timestamp: Optional[int] = None
    last_updated_timestamp: Optional[int] = None
    id: Optional[str] = None

    @staticmethod
    def from_graphql(node: Dict[str, Any]) -> "ModelVersion":
        return ModelVersion(
            name=str(node.get("modelName")),
            version=int(node["version"]),
            source=str(node.get("source")),
            run_id=node.get("runId"),
            current_stage=stage_name(node.get("stage")),
            status=str(node.get("status") or "READY"),
            description=node.get("description"),
            tags=_kv(node.get("tags")),
            aliases=list(node.get("aliases") or []),
            creation_timestamp=node.get("createdAt"),
            last_updated_timestamp=node.get("updatedAt"),
            id=node.get("id"),
        )


@dataclass
class RegisteredModel:
    name: str
    description: Optional[str] = None
    tags: Dict[str, str] = field(default_factory=dict)
    #: alias → version number
    aliases: Dict[str, int] = field(default_factory=dict)
    latest_versions: List[ModelVersion] = field(default_factory=list)
    creation_timestamp: Optional[int] = None
    last_updated_timestamp: Optional[int] = None
    id: Optional[str] = None

    @staticmethod
    def from_graphql(node: Dict[str, Any]) -> "RegisteredModel":
        return RegisteredModel(
            name=str(node["name"]),
            description=node.get("description"),
            tags=_kv(node.get("tags")),
            aliases={a["alias"]: int(a["version"]) for a in node.get("aliases") or []},
            latest_versions=[
                ModelVersion.from_graphql(v) for v in node.get("latestVersions") or []
            ],
            creation_timestamp=node.get("createdAt"),
            last_updated_timestamp=node.get("updatedAt"),
            id=node.get("id"),
        )


@dataclass(frozen=True)
class ModelHistoryEntry:
    """One change of a registered model (``kind``: VERSION_CREATED, STAGE_TRANSITIONED,
    ALIAS_SET, ...); stages in MLflow's spelling."""

    at: Any
    kind: str
    actor: Optional[str] = None
    version: Optional[int] = None
    from_stage: Optional[str] = None
    to_stage: Optional[str] = None
    alias: Optional[str] = None
    previous_version: Optional[int] = None

    @staticmethod
    def from_graphql(node: Dict[str, Any]) -> "ModelHistoryEntry":
        return ModelHistoryEntry(
            at=node.get("at"),
            kind=str(node["kind"]),
            actor=node.get("actor"),
            version=node.get("version"),
            from_stage=stage_name(node["fromStage"]) if node.get("fromStage") else None,
            to_stage=stage_name(node["toStage"]) if node.get("toStage") else None,
            alias=node.get("alias"),
            previous_version=node.get("previousVersion"),
        )
