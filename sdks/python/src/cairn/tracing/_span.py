"""The span model: ids, timestamps, attributes, events, status (OTel's, with MLflow's names)."""

from __future__ import annotations

import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Union

from . import _json


class SpanType:
    """Span types (the GraphQL ``SpanType`` enum; MLflow's ``mlflow.entities.SpanType``)."""

    LLM = "LLM"
    CHAT_MODEL = "CHAT_MODEL"
    CHAIN = "CHAIN"
    TOOL = "TOOL"
    RETRIEVER = "RETRIEVER"
    AGENT = "AGENT"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    PARSER = "PARSER"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"
    UNKNOWN = "UNKNOWN"


class SpanStatusCode:
    """OTel status codes (MLflow's ``SpanStatusCode``)."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


_STATUS_NUMBERS = {SpanStatusCode.UNSET: 0, SpanStatusCode.OK: 1, SpanStatusCode.ERROR: 2}


@dataclass
class SpanStatus:
    status_code: str = SpanStatusCode.UNSET
    description: str = ""


@dataclass
class SpanEvent:
    """An event on a span (MLflow's ``SpanEvent``): ``timestamp`` in ns since the epoch."""

    name: str
    timestamp: int = field(default_factory=time.time_ns)
    attributes: Dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def from_exception(exc: BaseException) -> "SpanEvent":
        return SpanEvent(
            "exception",
            attributes={
                "exception.type": _qualified_name(type(exc)),
                "exception.message": str(exc),
                "exception.stacktrace": "".join(
                    traceback.format_exception(type(exc), exc, exc.__traceback__)
                ),
            },
        )


def _qualified_name(cls: type) -> str:
    module = getattr(cls, "__module__", "") or ""
    if module in ("builtins", "__main__", ""):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def span_type_name(span_type: Any) -> str:
    """``"LLM"`` from ``"LLM"``, ``"llm"``, ``SpanType.LLM`` or an enum member."""
    if span_type is None:
        return SpanType.UNKNOWN
    value = getattr(span_type, "value", span_type)
    if not isinstance(value, str):
        value = getattr(span_type, "name", str(span_type))
    return str(value).strip().upper() or SpanType.UNKNOWN


def new_trace_id() -> str:
    while True:
        value = os.urandom(16).hex()
        if value != "0" * 32:
            return value


def new_span_id() -> str:
    while True:
        value = os.urandom(8).hex()
        if value != "0" * 16:
            return value


# attribute keys (docs/tracing.md)
SPAN_TYPE = "cairn.span.type"
SPAN_INPUTS = "cairn.span.inputs"
SPAN_OUTPUTS = "cairn.span.outputs"
TRACE_RUN_ID = "cairn.trace.run_id"
TRACE_TAGS = "cairn.trace.tags"
TRACE_METADATA = "cairn.trace.metadata"
TRACE_SESSION = "cairn.trace.session_id"
TRACE_USER = "cairn.trace.user_id"
TRACE_ENVIRONMENT = "cairn.trace.environment"
TRACE_MODEL_VERSION = "cairn.trace.model_version"
TRACE_PROMPT_VERSIONS = "cairn.trace.prompt_versions"

#: span kinds (OTLP numbers)
KIND_INTERNAL = 1
KIND_CLIENT = 3


class TraceState:
    """What the spans of one in-process trace share: trace-level fields set with
    ``update_current_trace`` (written on the root span when it ends)."""

    def __init__(self, trace_id: str) -> None:
        self.trace_id = trace_id
        self.lock = threading.Lock()
        self.tags: Dict[str, str] = {}
        self.metadata: Dict[str, str] = {}
        self.fields: Dict[str, Any] = {}
        self.root: Optional["LiveSpan"] = None

    def attributes(self) -> Dict[str, Any]:
        with self.lock:
            out: Dict[str, Any] = dict(self.fields)
            if self.tags:
                out[TRACE_TAGS] = _json.dumps(self.tags)
            if self.metadata:
                out[TRACE_METADATA] = _json.dumps(self.metadata)
        return out


class LiveSpan:
    """A span being recorded (MLflow's ``LiveSpan``). Thread-safe; ``end()`` exports it once."""

    def __init__(
        self,
        name: str,
        *,
        trace: TraceState,
        parent_id: Optional[str],
        span_type: Any = SpanType.UNKNOWN,
        attributes: Optional[Mapping[str, Any]] = None,
        start_time_ns: Optional[int] = None,
        kind: int = KIND_INTERNAL,
    ) -> None:
        self.name = str(name)
        self._trace = trace
        self.trace_id = trace.trace_id
        self.span_id = new_span_id()
        self.parent_id = parent_id
        self.kind = kind
        self.start_time_ns = time.time_ns() if start_time_ns is None else int(start_time_ns)
        self.end_time_ns: Optional[int] = None
        self.status = SpanStatus()
        self.events: List[SpanEvent] = []
        self._attributes: Dict[str, Any] = {}
        self._lock = threading.Lock()
        self._inputs: Any = None
        self._outputs: Any = None
        self.span_type = span_type_name(span_type)
        self._attributes[SPAN_TYPE] = self.span_type
        if attributes:
            self.set_attributes(attributes)

    # MLflow's names
    @property
    def request_id(self) -> str:
        return self.trace_id

    @property
    def parent_span_id(self) -> Optional[str]:
        return self.parent_id

    @property
    def inputs(self) -> Any:
        return self._inputs

    @property
    def outputs(self) -> Any:
        return self._outputs

    @property
    def attributes(self) -> Dict[str, Any]:
        with self._lock:
            return dict(self._attributes)

    @property
    def ended(self) -> bool:
        return self.end_time_ns is not None

    def get_attribute(self, key: str) -> Any:
        with self._lock:
            return self._attributes.get(key)

    def set_inputs(self, inputs: Any) -> None:
        converted = _json.to_jsonable(inputs)
        with self._lock:
            self._inputs = converted

    def set_outputs(self, outputs: Any) -> None:
        converted = _json.to_jsonable(outputs)
        with self._lock:
            self._outputs = converted

    def set_attribute(self, key: str, value: Any) -> None:
        if value is None:
            return
        with self._lock:
            self._attributes[str(key)] = _attribute_value(value)
        if key == SPAN_TYPE:
            self.span_type = span_type_name(value)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_span_type(self, span_type: Any) -> None:
        self.set_attribute(SPAN_TYPE, span_type_name(span_type))

    def add_event(
        self,
        event: Union[SpanEvent, str],
        attributes: Optional[Mapping[str, Any]] = None,
        timestamp: Optional[int] = None,
    ) -> None:
        """``add_event(SpanEvent(...))`` (MLflow) or ``add_event("name", {...})``."""
        if not isinstance(event, SpanEvent):
            event = SpanEvent(
                str(event),
                time.time_ns() if timestamp is None else int(timestamp),
                dict(attributes or {}),
            )
        with self._lock:
            self.events.append(event)

    def set_status(self, status: Union[SpanStatus, str], description: Optional[str] = None) -> None:
        """``"OK"``/``"ERROR"``/``"UNSET"``, a ``SpanStatusCode`` or a ``SpanStatus``."""
        if isinstance(status, SpanStatus):
            new = SpanStatus(status.status_code, status.description or (description or ""))
        else:
            code = str(getattr(status, "value", status)).upper()
            if code.startswith("STATUS_CODE_"):
                code = code[len("STATUS_CODE_") :]
            if code not in _STATUS_NUMBERS:
                raise ValueError(f"Unknown span status {status!r}: use OK, ERROR or UNSET")
            new = SpanStatus(code, description or "")
        with self._lock:
            self.status = new

    def record_exception(self, exc: BaseException) -> None:
        """Status ERROR and an ``exception`` event (type, message, stack trace)."""
        self.add_event(SpanEvent.from_exception(exc))
        self.set_status(SpanStatusCode.ERROR, f"{type(exc).__name__}: {exc}")

    def end(
        self,
        outputs: Any = None,
        attributes: Optional[Mapping[str, Any]] = None,
        status: Optional[Union[SpanStatus, str]] = None,
        end_time_ns: Optional[int] = None,
    ) -> None:
        """Ends and exports the span (later calls do nothing)."""
        if outputs is not None:
            self.set_outputs(outputs)
        if attributes:
            self.set_attributes(attributes)
        if status is not None:
            self.set_status(status)
        with self._lock:
            if self.end_time_ns is not None:
                return
            self.end_time_ns = time.time_ns() if end_time_ns is None else int(end_time_ns)
        from . import _fluent  # late: _fluent imports this module

        _fluent._on_end(self)

    def _snapshot_attributes(self) -> Dict[str, Any]:
        with self._lock:
            attrs = dict(self._attributes)
            inputs, outputs = self._inputs, self._outputs
        if inputs is not None:
            attrs[SPAN_INPUTS] = _json.dumps(inputs)
        if outputs is not None:
            attrs[SPAN_OUTPUTS] = _json.dumps(outputs)
        return attrs

    def __repr__(self) -> str:
        return (
            f"<LiveSpan name={self.name!r} type={self.span_type} trace_id={self.trace_id} "
            f"span_id={self.span_id}>"
        )


class NoOpSpan:
    """What ``start_span`` yields while tracing is disabled: accepts every call, records nothing."""

    name = ""
    trace_id = ""
    request_id = ""
    span_id = ""
    parent_id: Optional[str] = None
    span_type = SpanType.UNKNOWN
    inputs: Any = None
    outputs: Any = None
    attributes: Dict[str, Any] = {}
    ended = False

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _attribute_value(value: Any) -> Any:
    """Attribute values are strings, numbers, booleans or lists of those; anything else is
    stored as its JSON."""
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and all(
        isinstance(v, (str, bool, int, float)) for v in value
    ):
        return list(value)
    return _json.dumps(value)
