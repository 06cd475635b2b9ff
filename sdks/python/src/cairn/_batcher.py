"""The background queue that turns many small ``log_*`` calls into few ``logBatch`` requests.

Caller's thread (hot path, a few microseconds): validate locally, append a tuple to a deque.
Worker thread: wakes when ``flush_size`` items are queued or every ``flush_interval`` seconds,
drains the deque into per-run batches (at most 50,000 points, 1,000 params, 1,000 tags each)
and sends them with ``logBatch(sync: false)`` (durable when the call returns). Failures are
retried with backoff for ``batch_retry_timeout`` seconds (server down, 5xx, network errors);
items the server rejects are dropped and reported by the next ``flush()``.

``flush()`` puts a marker in the queue and waits for the worker to reach it, so everything
logged before the call has been written (or reported as failed) when it returns.
Memory is bounded: once ``max_queue`` items wait, callers block until the worker catches up.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import uuid
import weakref
from typing import Any, Deque, Dict, List, Optional, Set, Tuple

from ._transport import GraphQLTransport
from ._validation import check_integer, invalid, to_str, validate_key, validate_value
from .config import BatchSettings
from .exceptions import BatchLoggingError, CairnError, CairnUnavailableError

_log = logging.getLogger("cairn")

_METRIC, _PARAM, _TAG = 0, 1, 2
_KIND_NAMES = {_METRIC: "metric", _PARAM: "param", _TAG: "tag"}
_INF = float("inf")

LOG_BATCH = """
mutation CairnLogBatch($runId: String!, $metrics: [MetricInput!], $params: [KeyValueInput!],
                       $tags: [KeyValueInput!], $sync: Boolean, $idempotencyKey: String) {
  logBatch(runId: $runId, metrics: $metrics, params: $params, tags: $tags, sync: $sync,
           idempotencyKey: $idempotencyKey) { id }
}"""

MAX_PARAMS_PER_REQUEST = 1000
MAX_TAGS_PER_REQUEST = 1000

# Items: (kind, run_id, key, value, step, timestamp); markers: threading.Event
Item = Tuple[int, str, str, Any, int, int]

_all_batchers: "weakref.WeakSet[Batcher]" = weakref.WeakSet()


class _RunBatch:
    __slots__ = ("metrics", "params", "tags")

    def __init__(self) -> None:
        self.metrics: List[Item] = []
        self.params: List[Item] = []
        self.tags: List[Item] = []

    def size(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)


def _encode(value: float) -> Any:
    if -_INF < value < _INF:
        return value
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


class Batcher:
    """One per client (tracking URI). Thread-safe; safe across ``fork()`` (the child starts empty)."""

    def __init__(
        self, transport: GraphQLTransport, settings: Optional[BatchSettings] = None
    ) -> None:
        self.transport = transport
        self.settings = settings or BatchSettings.from_env()
        self._flush_size = self.settings.flush_size
        self._max_queue = self.settings.max_queue
        self._metric_keys: Set[str] = set()
        #: params sent (or queued) per run, to reject a changed value on the caller's thread
        self._params: Dict[str, Dict[str, str]] = {}
        self._params_lock = threading.Lock()
        self._init_state()
        _all_batchers.add(self)

    def _init_state(self) -> None:
        self._queue: Deque[Any] = collections.deque()
        self._wake = threading.Event()
        self._room = threading.Condition()
        self._waiting_for_room = 0
        self._errors: List[CairnError] = []
        self._dropped = 0
        self._errors_lock = threading.Lock()
        self._closed = False
        self._abandon = False
        self._warned_backpressure = False
        self._in_flight = 0
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="cairn-batcher", daemon=True)
        self._thread.start()

    def _after_fork_in_child(self) -> None:
        # The worker thread does not exist in a forked child: start over with an empty queue.
        self._init_state()

    # ----------------------------------------------------------------- caller's thread

    def add_metric(
        self,
        run_id: str,
        key: str,
        value: Any,
        step: Optional[int] = None,
        timestamp: Optional[int] = None,
    ) -> None:
        if key not in self._metric_keys:
            validate_key("metric", key)
            self._metric_keys.add(key)
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise invalid(
                f'metric "{key}" value must be a number, got {value!r}', key=key
            ) from None
        if step is None:
            step = 0
        elif type(step) is not int:
            step = check_integer(f'metric "{key}" step', step)
        if timestamp is None:
            timestamp = int(time.time() * 1000)
        elif type(timestamp) is not int:
            timestamp = check_integer(f'metric "{key}" timestamp', timestamp)
        q = self._queue
        q.append((_METRIC, run_id, key, v, step, timestamp))
        if len(q) >= self._flush_size:
            self._kick()

    def add_metrics(
        self, run_id: str, metrics: Dict[str, Any], step: Optional[int], timestamp: Optional[int]
    ) -> None:
        if timestamp is None:
            timestamp = int(time.time() * 1000)
        for key, value in metrics.items():
            self.add_metric(run_id, key, value, step, timestamp)

    def add_param(self, run_id: str, key: str, value: Any) -> str:
        validate_key("param", key)
        text = to_str(value)
        validate_value("param", key, text)
        with self._params_lock:
            known = self._params.setdefault(run_id, {})
            existing = known.get(key)
            if existing is not None and existing != text:
                raise CairnError(
                    f'Param "{key}" is already logged with value "{existing}"; params are '
                    f'immutable (new value "{text}")',
                    "INVALID_ARGUMENT",
                    {"key": key, "oldValue": existing, "newValue": text, "runId": run_id},
                )
            known[key] = text
        self._queue.append((_PARAM, run_id, key, text, 0, 0))
        self._maybe_kick()
        return text

    def add_tag(self, run_id: str, key: str, value: Any) -> None:
        validate_key("tag", key)
        text = to_str(value)
        validate_value("tag", key, text)
        self._queue.append((_TAG, run_id, key, text, 0, 0))
        self._maybe_kick()

    def remember_params(self, run_id: str, params: Dict[str, str]) -> None:
        """Params the run already has on the server (a resumed run)."""
        with self._params_lock:
            self._params.setdefault(run_id, {}).update(params)

    def forget_run(self, run_id: str) -> None:
        with self._params_lock:
            self._params.pop(run_id, None)

    def _maybe_kick(self) -> None:
        if len(self._queue) >= self._flush_size:
            self._kick()

    def _kick(self) -> None:
        if self._pid != os.getpid():
            self._after_fork_in_child()
        if not self._wake.is_set():
            self._wake.set()
        if len(self._queue) >= self._max_queue:
            self._wait_for_room()

    def _wait_for_room(self) -> None:
        if threading.current_thread() is self._thread:
            return
        if not self._warned_backpressure:
            self._warned_backpressure = True
            _log.warning(
                "cairn: %d items are waiting to be sent; logging calls block until the server "
                "catches up (CAIRN_BATCH_MAX_QUEUE)",
                len(self._queue),
            )
        low = self._max_queue * 3 // 4
        with self._room:
            self._waiting_for_room += 1
            try:
                while len(self._queue) >= low and self._thread.is_alive() and not self._closed:
                    self._room.wait(0.5)
            finally:
                self._waiting_for_room -= 1

    def pending(self) -> int:
        """Items queued and not yet taken by the worker."""
        return len(self._queue)

    def in_flight(self) -> int:
        """Items the worker took and is sending (or retrying) now."""
        return self._in_flight

    def flush(self, timeout: Optional[float] = None, raise_errors: bool = True) -> None:
        """Waits until every item queued before this call was sent (or failed).

        Raises :class:`BatchLoggingError` if items were rejected or could not be delivered
        since the last flush (and ``raise_errors`` is true).
        """
        if self._pid != os.getpid():
            self._after_fork_in_child()
        marker = threading.Event()
        self._queue.append(marker)
        if self._closed or not self._thread.is_alive():
            self._drain()  # after close() (e.g. a later atexit handler): send on this thread
        self._wake.set()
        if not marker.wait(timeout):
            raise CairnUnavailableError(
                f"flush() timed out after {timeout} s with {len(self._queue)} item(s) still queued"
            )
        if raise_errors:
            self.raise_errors()

    def raise_errors(self) -> None:
        with self._errors_lock:
            errors, dropped = self._errors, self._dropped
            self._errors, self._dropped = [], 0
        if errors:
            raise BatchLoggingError(errors, dropped)

    def close(self, timeout: Optional[float] = None) -> None:
        """Flushes, then stops the worker. Errors are logged, not raised (used at exit)."""
        if self._closed or self._pid != os.getpid():
            return
        pending = len(self._queue)
        if pending:
            _log.info("cairn: sending %d queued item(s) before exit", pending)
        try:
            self.flush(timeout, raise_errors=False)
        except KeyboardInterrupt:
            self._abandon = True
            _log.error(
                "cairn: interrupted; %d queued item(s) were not sent",
                len(self._queue) + self._in_flight,
            )
        except CairnError as exc:
            _log.error("cairn: %s", exc)
        self._closed = True
        self._wake.set()
        with self._errors_lock:
            errors, dropped = self._errors, self._dropped
            self._errors, self._dropped = [], 0
        for error in errors:
            _log.error("cairn: queued items were not recorded: %s", error)
        if dropped:
            _log.error("cairn: %d queued item(s) were not recorded", dropped)

    # ----------------------------------------------------------------- worker thread

    def _run(self) -> None:
        interval = self.settings.flush_interval
        while not self._closed:
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self._drain()
            except Exception:  # never let the worker die: report and go on
                _log.exception("cairn: unexpected error in the background sender")

    def _drain(self) -> None:
        q = self._queue
        max_points = self.settings.max_points_per_request
        while q:
            batches: Dict[str, _RunBatch] = {}
            points = 0
            marker: Optional[threading.Event] = None
            while q:
                item = q.popleft()
                if isinstance(item, threading.Event):
                    marker = item
                    break
                batch = batches.get(item[1])
                if batch is None:
                    batch = batches[item[1]] = _RunBatch()
                kind = item[0]
                if kind == _METRIC:
                    batch.metrics.append(item)
                    points += 1
                    if points >= max_points:
                        break
                elif kind == _PARAM:
                    batch.params.append(item)
                    if len(batch.params) >= MAX_PARAMS_PER_REQUEST:
                        break
                else:
                    batch.tags.append(item)
                    if len(batch.tags) >= MAX_TAGS_PER_REQUEST:
                        break
            if self._waiting_for_room:
                with self._room:
                    self._room.notify_all()
            # While a backlog remains, batches are durable-on-return (sync: false, the server's
            # bulk mode); the batch that empties the queue (or reaches a flush marker) waits for
            # the read model, so everything sent before it is queryable when flush() returns.
            last = marker is not None or not q
            self._in_flight = sum(b.size() for b in batches.values())
            try:
                for run_id, batch in batches.items():
                    self._send(run_id, batch, last)
            finally:
                self._in_flight = 0
            if marker is not None:
                marker.set()

    def _record(self, error: CairnError, dropped: int) -> None:
        _log.error("cairn: %d queued item(s) were not recorded: %s", dropped, error)
        with self._errors_lock:
            if len(self._errors) < 100:
                self._errors.append(error)
            self._dropped += dropped

    def _send(self, run_id: str, batch: _RunBatch, sync: bool) -> None:
        # A rejected key (e.g. a param changed by another process) is removed and the rest sent
        # again; an error that names no key drops the batch. Bounded: each retry removes items.
        for _ in range(1 + len(batch.params) + len(batch.tags) + 5):
            if batch.size() == 0:
                return
            # A fresh key per request content, the same on each of its retries (the transport
            # resends the same body): a retry after a lost answer stores nothing twice.
            variables: Dict[str, Any] = {
                "runId": run_id,
                "sync": sync,
                "idempotencyKey": uuid.uuid4().hex,
            }
            if batch.metrics:
                variables["metrics"] = [
                    {"key": m[2], "value": _encode(m[3]), "step": m[4], "timestamp": m[5]}
                    for m in batch.metrics
                ]
            if batch.params:
                variables["params"] = [{"key": p[2], "value": p[3]} for p in batch.params]
            if batch.tags:
                variables["tags"] = [{"key": t[2], "value": t[3]} for t in batch.tags]
            try:
                self.transport.execute(
                    LOG_BATCH,
                    variables,
                    retry_timeout=self.transport.settings.batch_retry_timeout,
                    should_stop=lambda: self._abandon,
                )
                return
            except CairnUnavailableError as exc:
                self._record(exc, batch.size())
                return
            except CairnError as exc:
                exc.details.setdefault("runId", run_id)
                key = exc.key
                if key is None or exc.code == "NOT_FOUND":
                    self._record(exc, batch.size())
                    return
                kinds = _kinds_named_in(exc.message)
                removed = 0
                for kind, items in (
                    (_METRIC, batch.metrics),
                    (_PARAM, batch.params),
                    (_TAG, batch.tags),
                ):
                    if kinds and kind not in kinds:
                        continue
                    keep = [i for i in items if i[2] != key]
                    removed += len(items) - len(keep)
                    items[:] = keep
                if removed == 0:
                    self._record(exc, batch.size())
                    return
                self._record(exc, removed)
        if batch.size():
            self._record(
                CairnError("Too many rejected items in one batch", "INVALID_ARGUMENT"), batch.size()
            )


def _kinds_named_in(message: str) -> Set[int]:
    lower = message.lower()
    positions = {k: lower.find(name) for k, name in _KIND_NAMES.items()}
    found = {k: p for k, p in positions.items() if p >= 0}
    if not found:
        return set()
    first = min(found.values())
    return {k for k, p in found.items() if p == first}


def close_all(timeout: Optional[float] = None) -> None:
    for batcher in list(_all_batchers):
        batcher.close(timeout)


def abandon_all() -> None:
    """Stops retrying (Ctrl-C at exit): what is still queued is reported, not sent."""
    for batcher in list(_all_batchers):
        batcher._abandon = True


def _after_fork() -> None:
    for batcher in list(_all_batchers):
        batcher._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
