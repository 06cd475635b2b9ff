"""LLM tracing: ``@cairn.trace``, ``cairn.start_span``, autologging of LLM clients.

Spans are exported over OTLP/HTTP (JSON) to ``<tracking URI>/v1/traces`` by a background
thread; see docs/python-sdk.md, "Tracing", and docs/tracing.md for the wire contract.
"""

from ._export import ExportSettings, SpanExporter
from ._fluent import (
    ThreadPoolExecutor,
    disable,
    enable,
    flush_trace_async_logging,
    flush_trace_export,
    get_current_active_span,
    get_exporter,
    get_last_active_trace_id,
    get_trace,
    is_enabled,
    search_traces,
    start_span,
    start_span_no_context,
    trace,
    update_current_trace,
    wrap,
)
from ._json import to_jsonable
from ._span import LiveSpan, NoOpSpan, SpanEvent, SpanStatus, SpanStatusCode, SpanType

__all__ = [
    "ExportSettings",
    "LiveSpan",
    "NoOpSpan",
    "SpanEvent",
    "SpanExporter",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "ThreadPoolExecutor",
    "disable",
    "enable",
    "flush_trace_async_logging",
    "flush_trace_export",
    "get_current_active_span",
    "get_exporter",
    "get_last_active_trace_id",
    "get_trace",
    "is_enabled",
    "search_traces",
    "start_span",
    "start_span_no_context",
    "to_jsonable",
    "trace",
    "update_current_trace",
    "wrap",
]
