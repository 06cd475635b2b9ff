"""Cairn's Python SDK: MLflow-style experiment tracking against a Cairn server.

>>> import cairn
>>> cairn.set_experiment("quickstart")
>>> with cairn.start_run():
...     cairn.log_param("lr", 0.01)
...     for step in range(100):
...         cairn.log_metric("loss", 1 / (step + 1), step=step)

Metrics, params and tags are queued and sent by a background thread; ``end_run()`` (or leaving
the ``with`` block), ``flush()`` and interpreter exit send everything that is queued.
"""

from ._autolog import autolog
from ._version import __version__
from .client import CairnClient
from .config import get_tracking_uri, is_tracking_uri_set, set_tracking_uri
from .entities import (
    Experiment,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from .entities import FileInfo, ModelVersion, RegisteredModel
from .exceptions import (
    AlreadyExistsError,
    BatchLoggingError,
    CairnError,
    CairnUnavailableError,
    ChecksumMismatchError,
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RestException,
    UnauthenticatedError,
)
from .fluent import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_experiment,
    delete_run,
    delete_tag,
    disable_system_metrics_logging,
    enable_system_metrics_logging,
    end_run,
    flush,
    get_artifact_uri,
    get_client,
    get_experiment,
    get_experiment_by_name,
    get_metric_history,
    get_run,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    register_model,
    search_experiments,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_tag,
    set_tags,
    start_run,
)

# Dataset inputs of runs (docs/python-sdk.md, "Dataset inputs"): MLflow's log_input
from . import data
from .data import log_input, log_inputs

# LLM tracing (docs/python-sdk.md, "Tracing"); imported after .fluent so that its exit handler
# (export queued spans) runs before the one that ends runs
from . import tracing
from .tracing import (
    SpanType,
    flush_trace_async_logging,
    flush_trace_export,
    get_current_active_span,
    get_last_active_trace_id,
    get_trace,
    search_traces,
    start_span,
    start_span_no_context,
    trace,
    update_current_trace,
)

# The prompt registry (docs/python-sdk.md, "Prompts"): cairn.genai.load_prompt, ...
from . import genai

# Feedback and expectations on traces (docs/python-sdk.md, "Evaluation")
from .genai.assessments import get_assessments, log_expectation, log_feedback, update_assessment

#: MLflow's name for the low-level client
MlflowClient = CairnClient

#: submodules imported on first attribute access (``cairn.sklearn.log_model`` after
#: ``import cairn``); none of them imports its ML library before it is used
_LAZY_SUBMODULES = (
    "anthropic",
    "artifacts",
    "keras",
    "langchain",
    "lightgbm",
    "llama_index",
    "models",
    "onnx",
    "openai",
    "pyfunc",
    "pytorch",
    "sklearn",
    "xgboost",
)


def __getattr__(name: str) -> object:
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "__version__",
    "ActiveRun",
    "AlreadyExistsError",
    "ChecksumMismatchError",
    "ConflictError",
    "FileInfo",
    "InvalidArgumentError",
    "ModelVersion",
    "NotFoundError",
    "PermissionDeniedError",
    "UnauthenticatedError",
    "RegisteredModel",
    "BatchLoggingError",
    "CairnClient",
    "CairnError",
    "CairnUnavailableError",
    "Experiment",
    "Metric",
    "MlflowClient",
    "Param",
    "RestException",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "SpanType",
    "ViewType",
    "active_run",
    "autolog",
    "create_experiment",
    "data",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "end_run",
    "flush",
    "flush_trace_async_logging",
    "flush_trace_export",
    "genai",
    "get_artifact_uri",
    "get_assessments",
    "get_client",
    "get_current_active_span",
    "get_experiment",
    "get_experiment_by_name",
    "get_last_active_trace_id",
    "get_metric_history",
    "get_run",
    "get_trace",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_expectation",
    "log_feedback",
    "log_figure",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "register_model",
    "search_experiments",
    "search_runs",
    "search_traces",
    "set_experiment",
    "set_experiment_tag",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    "start_span",
    "start_span_no_context",
    "trace",
    "tracing",
    "update_assessment",
    "update_current_trace",
]
