"""A read-only view of a trace for scorers: built from the spans this process recorded (the
``predict_fn`` call, or the trace made for given inputs/outputs) or from the server's
``trace(id)`` answer. MLflow's shape: ``trace.info.trace_id``, ``trace.info.execution_duration``,
``trace.info.token_usage``, ``trace.data.spans``, ``trace.search_spans(span_type=...)``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

USAGE_KEYS = (
    ("gen_ai.usage.input_tokens", "input_tokens"),
    ("gen_ai.usage.output_tokens", "output_tokens"),
    ("gen_ai.usage.total_tokens", "total_tokens"),
)


@dataclass(frozen=True)
class SpanView:
    span_id: str
    name: str
    span_type: str
    parent_id: Optional[str]
    inputs: Any
    outputs: Any
    attributes: Dict[str, Any]
    start_time_ns: int
    end_time_ns: int
    status: str = "OK"

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_time_ns - self.start_time_ns) / 1e6


@dataclass(frozen=True)
class TraceInfo:
    trace_id: str
    #: wall time of the root span, milliseconds
    execution_duration: Optional[float]
    #: ``{"input_tokens", "output_tokens", "total_tokens"}`` summed over LLM spans (empty: none)
    token_usage: Dict[str, int]
    status: str = "OK"

    @property
    def request_id(self) -> str:
        return self.trace_id


@dataclass(frozen=True)
class TraceData:
    spans: List[SpanView]


@dataclass(frozen=True)
class Trace:
    """What a scorer's ``trace`` argument is."""

    info: TraceInfo
    data: TraceData
    inputs: Any = None
    outputs: Any = None
    _extra: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def trace_id(self) -> str:
        return self.info.trace_id

    def search_spans(self, span_type: Any = None, name: Optional[str] = None) -> List[SpanView]:
        wanted = None if span_type is None else str(getattr(span_type, "value", span_type)).upper()
        return [
            s
            for s in self.data.spans
            if (wanted is None or s.span_type == wanted) and (name is None or s.name == name)
        ]

    def retrieved_context(self) -> List[str]:
        """The documents the RETRIEVER spans returned (their ``page_content``/``content``/
        ``text``, or the item itself as text), in span order."""
        out: List[str] = []
        for span in self.search_spans("RETRIEVER"):
            outputs = span.outputs
            items = outputs if isinstance(outputs, list) else [outputs]
            for item in items:
                if item is None:
                    continue
                if isinstance(item, Mapping):
                    text = item.get("page_content") or item.get("content") or item.get("text")
                    out.append(str(text) if text is not None else json.dumps(item, sort_keys=True))
                else:
                    out.append(str(item))
        return out


def from_live_spans(trace_id: str, spans: List[Any]) -> Trace:
    """From ``LiveSpan`` objects of one trace (ended)."""
    views = sorted(
        (
            SpanView(
                span_id=s.span_id,
                name=s.name,
                span_type=s.span_type,
                parent_id=s.parent_id,
                inputs=s.inputs,
                outputs=s.outputs,
                attributes=s.attributes,
                start_time_ns=s.start_time_ns,
                end_time_ns=s.end_time_ns or s.start_time_ns,
                status=s.status.status_code,
            )
            for s in spans
            if s.trace_id == trace_id
        ),
        key=lambda v: (v.start_time_ns, v.span_id),
    )
    ids = {v.span_id for v in views}
    root = next((v for v in views if v.parent_id is None or v.parent_id not in ids), None)
    usage: Dict[str, int] = {}
    for view in views:
        for attr, key in USAGE_KEYS:
            value = view.attributes.get(attr)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                usage[key] = usage.get(key, 0) + int(value)
    if usage and "total_tokens" not in usage:
        usage["total_tokens"] = usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
    return Trace(
        info=TraceInfo(
            trace_id=trace_id,
            execution_duration=root.duration_ms if root else None,
            token_usage=usage,
            status="ERROR" if any(v.status == "ERROR" for v in views if v is root) else "OK",
        ),
        data=TraceData(views),
        inputs=root.inputs if root else None,
        outputs=root.outputs if root else None,
    )


def from_graphql(node: Mapping[str, Any]) -> Trace:
    """From the server's ``trace(id)`` answer (``cairn.get_trace``)."""
    views = []
    for s in node.get("spans") or []:
        start = int(s.get("startTimeUnixNano") or 0)
        end = int(s.get("endTimeUnixNano") or start)
        views.append(
            SpanView(
                span_id=str(s.get("id")),
                name=str(s.get("name") or ""),
                span_type=str(s.get("spanType") or "UNKNOWN"),
                parent_id=s.get("parentId"),
                inputs=s.get("inputs"),
                outputs=s.get("outputs"),
                attributes=dict(s.get("attributes") or {}),
                start_time_ns=start,
                end_time_ns=end,
                status=str((s.get("status") or {}).get("code") or "OK"),
            )
        )
    usage_node = node.get("tokenUsage") or {}
    usage = {
        key: int(usage_node[src])
        for src, key in (
            ("inputTokens", "input_tokens"),
            ("outputTokens", "output_tokens"),
            ("totalTokens", "total_tokens"),
        )
        if isinstance(usage_node.get(src), int)
    }
    if usage and not any(usage.values()):
        usage = {}
    duration = node.get("durationMs")
    return Trace(
        info=TraceInfo(
            trace_id=str(node["id"]),
            execution_duration=float(duration) if isinstance(duration, (int, float)) else None,
            token_usage=usage,
            status=str(node.get("status") or "OK"),
        ),
        data=TraceData(views),
        inputs=node.get("inputs"),
        outputs=node.get("outputs"),
    )
