"""OTLP/HTTP JSON export of ended spans from a background daemon thread.

Caller's thread: ``submit(span)`` appends to a bounded deque (never blocks; when the queue is
full the span is dropped and a warning logged). Worker thread: wakes when ``batch_size`` spans
are queued, when a root span ends, or every ``interval`` seconds, and POSTs them to
``<tracking URI>/v1/traces`` (``ExportTraceServiceRequest`` in OTLP's JSON mapping, gzipped).
5xx/429/connection errors are retried with jittered exponential backoff for ``retry_timeout``
seconds; a 4xx answer drops the batch (logged). ``flush()`` waits until everything submitted
before it was sent (or dropped); at interpreter exit every exporter is flushed.
"""

from __future__ import annotations

import atexit
import collections
import gzip
import json
import logging
import os
import platform
import random
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Deque, Dict, List, Mapping, Optional, Tuple, Union

import requests

from .._version import __version__
from ..config import _env_bool, _env_float, _env_int
from ._span import _STATUS_NUMBERS, LiveSpan

_log = logging.getLogger("cairn")

RETRYABLE_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
#: a request body above this many bytes (before gzip) is split (the server takes 16 MiB)
MAX_BODY_BYTES = 4 * 1024 * 1024
#: string attributes longer than this are cut before sending (the server keeps 64 KiB anyway;
#: this only keeps one huge input from making a request the server refuses)
MAX_ATTRIBUTE_CHARS = 1024 * 1024


@dataclass(frozen=True)
class ExportSettings:
    """Export knobs (see docs/python-sdk.md, "Tracing")."""

    #: send when this many spans are queued ...
    batch_size: int = 256
    #: ... or at least this often (seconds); a root span's end also wakes the sender
    interval: float = 1.0
    #: spans dropped (with a warning) while this many wait
    max_queue: int = 10_000
    #: how long a failing batch is retried (server down, 5xx, network errors)
    retry_timeout: float = 60.0
    request_timeout: float = 30.0
    backoff_initial: float = 0.25
    backoff_max: float = 10.0
    #: how long interpreter exit waits for queued spans
    exit_timeout: float = 10.0
    gzip: bool = True

    @staticmethod
    def from_env() -> "ExportSettings":
        return ExportSettings(
            batch_size=max(1, _env_int("CAIRN_TRACE_EXPORT_BATCH_SIZE", 256)),
            interval=max(0.01, _env_float("CAIRN_TRACE_EXPORT_INTERVAL", 1.0)),
            max_queue=max(1, _env_int("CAIRN_TRACE_EXPORT_MAX_QUEUE", 10_000)),
            retry_timeout=max(0.0, _env_float("CAIRN_TRACE_EXPORT_RETRY_TIMEOUT", 60.0)),
            request_timeout=_env_float("CAIRN_HTTP_REQUEST_TIMEOUT", 30.0),
            backoff_initial=_env_float("CAIRN_HTTP_BACKOFF_INITIAL", 0.25),
            backoff_max=_env_float("CAIRN_HTTP_BACKOFF_MAX", 10.0),
            exit_timeout=max(0.0, _env_float("CAIRN_TRACE_EXPORT_EXIT_TIMEOUT", 10.0)),
            gzip=_env_bool("CAIRN_TRACE_EXPORT_GZIP", True),
        )


# ---------------------------------------------------------------------- OTLP JSON encoding


def any_value(value: Any) -> Dict[str, Any]:
    """An OTLP ``AnyValue`` in the JSON mapping."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"stringValue": str(value)}
        return {"doubleValue": value}
    if isinstance(value, str):
        if len(value) > MAX_ATTRIBUTE_CHARS:
            value = value[:MAX_ATTRIBUTE_CHARS]
        return {"stringValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": key_values(value)}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any]) -> List[Dict[str, Any]]:
    return [{"key": str(k), "value": any_value(v)} for k, v in attributes.items()]


def encode_span(span: LiveSpan) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": span.kind,
        "startTimeUnixNano": str(span.start_time_ns),
        "endTimeUnixNano": str(span.end_time_ns or span.start_time_ns),
        "attributes": key_values(span._snapshot_attributes()),
        "events": [
            {
                "timeUnixNano": str(e.timestamp),
                "name": e.name,
                "attributes": key_values(e.attributes),
            }
            for e in list(span.events)
        ],
        "status": {"code": _STATUS_NUMBERS.get(span.status.status_code, 0)},
    }
    if span.parent_id:
        out["parentSpanId"] = span.parent_id
    if span.status.description:
        out["status"]["message"] = span.status.description
    return out


def default_resource() -> Dict[str, Any]:
    service = os.environ.get("OTEL_SERVICE_NAME") or _script_name()
    attrs: Dict[str, Any] = {
        "service.name": service,
        "telemetry.sdk.name": "cairn",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": __version__,
        "process.runtime.name": platform.python_implementation().lower(),
        "process.runtime.version": platform.python_version(),
        "process.pid": os.getpid(),
    }
    env = os.environ.get("CAIRN_TRACE_ENVIRONMENT")
    if env:
        attrs["deployment.environment.name"] = env
    for item in (os.environ.get("OTEL_RESOURCE_ATTRIBUTES") or "").split(","):
        key, sep, val = item.partition("=")
        if sep and key.strip():
            attrs[key.strip()] = val.strip()
    return attrs


def _script_name() -> str:
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    base = os.path.basename(argv0)
    return base or "python"


def encode_request(spans: List[Dict[str, Any]], resource: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": key_values(resource)},
                "scopeSpans": [
                    {"scope": {"name": "cairn", "version": __version__}, "spans": spans}
                ],
            }
        ]
    }


# ---------------------------------------------------------------------- the exporter


class _Marker:
    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()


Item = Union[LiveSpan, _Marker]

_all_exporters: "weakref.WeakSet[SpanExporter]" = weakref.WeakSet()


class SpanExporter:
    """One per (endpoint, workspace, API key). Thread-safe; safe across ``fork()``."""

    def __init__(
        self,
        endpoint: str,
        headers: Optional[Mapping[str, str]] = None,
        settings: Optional[ExportSettings] = None,
    ) -> None:
        self.endpoint = endpoint
        self.settings = settings or ExportSettings.from_env()
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"cairn-python/{__version__}",
            **dict(headers or {}),
        }
        self.resource = default_resource()
        self._queue: Deque[Item] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._abandon = False
        self._warned_full = False
        self._session: Optional[requests.Session] = None
        #: counters (tests and diagnostics)
        self.sent_spans = 0
        self.dropped_spans = 0
        self.rejected_spans = 0
        self.requests = 0
        self._in_flight = 0
        self._pid = os.getpid()
        self._thread = self._start_thread()
        _all_exporters.add(self)

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="cairn-trace-exporter", daemon=True)
        thread.start()
        return thread

    def _after_fork_in_child(self) -> None:
        self._pid = os.getpid()
        self._queue = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._session = None
        if not self._closed:
            self._thread = self._start_thread()

    # -- caller's side ------------------------------------------------------------------

    def submit(self, span: LiveSpan, urgent: bool = False) -> bool:
        """Queues an ended span; never blocks. False when it was dropped (queue full)."""
        if self._pid != os.getpid():
            self._after_fork_in_child()
        if len(self._queue) >= self.settings.max_queue:
            self.dropped_spans += 1
            if not self._warned_full:
                self._warned_full = True
                _log.warning(
                    "cairn: %d spans are waiting to be exported to %s; dropping new spans "
                    "(CAIRN_TRACE_EXPORT_MAX_QUEUE)",
                    len(self._queue),
                    self.endpoint,
                )
            return False
        self._queue.append(span)
        if urgent or len(self._queue) >= self.settings.batch_size:
            self._wake.set()
        return True

    def pending(self) -> int:
        """Spans queued or being sent."""
        queued = sum(1 for item in list(self._queue) if isinstance(item, LiveSpan))
        return queued + self._in_flight

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Waits until every span submitted before the call was sent or dropped. False on
        timeout."""
        if self._pid != os.getpid():
            self._after_fork_in_child()
        marker = _Marker()
        self._queue.append(marker)
        if self._closed or not self._thread.is_alive():
            self._drain()  # the worker is gone (e.g. a late atexit handler): send here
        self._wake.set()
        return marker.event.wait(timeout)

    def close(self, timeout: Optional[float] = None) -> None:
        if self._closed or self._pid != os.getpid():
            return
        pending = self.pending()
        if pending:
            _log.info("cairn: exporting %d span(s) before exit", pending)
        try:
            if not self.flush(timeout):
                self._abandon = True  # stop retrying: the process is leaving
                _log.error(
                    "cairn: %d span(s) were not exported to %s within %.0f s "
                    "(CAIRN_TRACE_EXPORT_EXIT_TIMEOUT)",
                    self.pending(),
                    self.endpoint,
                    timeout or 0,
                )
        except KeyboardInterrupt:
            self._abandon = True
        self._closed = True
        self._wake.set()

    # -- worker thread ------------------------------------------------------------------

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.settings.interval)
            self._wake.clear()
            try:
                self._drain()
            except Exception:  # noqa: BLE001 - never let the worker die
                _log.exception("cairn: unexpected error in the trace exporter")

    def _drain(self) -> None:
        with self._lock:  # one drainer at a time (worker, or flush() after close)
            q = self._queue
            while q:
                batch: List[LiveSpan] = []
                marker: Optional[_Marker] = None
                while q and len(batch) < self.settings.batch_size:
                    item = q.popleft()
                    if isinstance(item, _Marker):
                        marker = item
                        break
                    batch.append(item)
                if batch:
                    self._in_flight = len(batch)
                    try:
                        self._export(batch)
                    except Exception:  # noqa: BLE001
                        _log.exception("cairn: could not export %d span(s)", len(batch))
                        self.dropped_spans += len(batch)
                    finally:
                        self._in_flight = 0
                if marker is not None:
                    marker.event.set()

    def _export(self, batch: List[LiveSpan]) -> None:
        encoded = []
        for span in batch:
            try:
                encoded.append(encode_span(span))
            except Exception as exc:  # noqa: BLE001
                self.dropped_spans += 1
                _log.warning("cairn: span %r could not be encoded: %s", span.name, exc)
        for chunk, body in self._bodies(encoded):
            self._send(body, len(chunk))

    def _bodies(self, spans: List[Dict[str, Any]]) -> List[Tuple[List[Dict[str, Any]], bytes]]:
        if not spans:
            return []
        body = json.dumps(
            encode_request(spans, self.resource), ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
        if len(body) <= MAX_BODY_BYTES or len(spans) == 1:
            return [(spans, body)]
        half = len(spans) // 2
        return self._bodies(spans[:half]) + self._bodies(spans[half:])

    def _post(self, body: bytes) -> requests.Response:
        if self._session is None:
            self._session = requests.Session()
            self._session.headers.update(self.headers)
        headers = {}
        if self.settings.gzip and len(body) > 1024:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        self.requests += 1
        return self._session.post(
            self.endpoint, data=body, headers=headers, timeout=self.settings.request_timeout
        )

    def _send(self, body: bytes, count: int) -> None:
        started = time.monotonic()
        delay = self.settings.backoff_initial
        attempt = 0
        while True:
            attempt += 1
            reason: str
            try:
                response = self._post(body)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if self._session is not None:
                    self._session.close()
                    self._session = None
                reason = f"{type(exc).__name__} talking to {self.endpoint}"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    self._accepted(response, count)
                    return
                if status not in RETRYABLE_HTTP:
                    self.rejected_spans += count
                    _log.error(
                        "cairn: %s refused %d span(s) (HTTP %d): %s",
                        self.endpoint,
                        count,
                        status,
                        response.text[:300],
                    )
                    return
                reason = f"HTTP {status} from {self.endpoint}"
            elapsed = time.monotonic() - started
            if elapsed >= self.settings.retry_timeout or self._abandon:
                self.dropped_spans += count
                _log.error(
                    "cairn: %d span(s) were not exported after %d attempt(s) over %.0f s: %s",
                    count,
                    attempt,
                    elapsed,
                    reason,
                )
                return
            if attempt == 1 or attempt % 10 == 0:
                _log.warning("cairn: trace export: %s; retrying (attempt %d)", reason, attempt)
            sleep = min(delay, self.settings.backoff_max, self.settings.retry_timeout - elapsed)
            time.sleep(max(0.0, sleep) * (0.75 + random.random() * 0.5))
            delay = min(delay * 2, self.settings.backoff_max)

    def _accepted(self, response: requests.Response, count: int) -> None:
        rejected = 0
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            partial = payload.get("partialSuccess") or payload.get("partial_success")
            if isinstance(partial, dict):
                try:
                    rejected = int(
                        partial.get("rejectedSpans") or partial.get("rejected_spans") or 0
                    )
                except (TypeError, ValueError):
                    rejected = 0
                if rejected or partial.get("errorMessage"):
                    _log.warning(
                        "cairn: %s rejected %d span(s): %s",
                        self.endpoint,
                        rejected,
                        partial.get("errorMessage") or partial.get("error_message"),
                    )
        self.rejected_spans += rejected
        self.sent_spans += count - rejected


def close_all() -> None:
    timeout = ExportSettings.from_env().exit_timeout
    for exporter in list(_all_exporters):
        try:
            exporter.close(timeout)
        except Exception:  # noqa: BLE001
            pass


def flush_all(timeout: Optional[float] = None) -> bool:
    ok = True
    for exporter in list(_all_exporters):
        ok = exporter.flush(timeout) and ok
    return ok


def _after_fork() -> None:
    for exporter in list(_all_exporters):
        exporter._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

atexit.register(close_all)
