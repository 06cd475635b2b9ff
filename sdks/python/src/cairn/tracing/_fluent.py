"""The tracing API: ``@trace``, ``start_span``, the current span (``contextvars``), export."""

from __future__ import annotations

import collections
import concurrent.futures
import contextvars
import functools
import inspect
import logging
import os
import sys
import threading
import time
from typing import (
    Any,
    AsyncIterator,
    Callable,
    Dict,
    Generator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
    overload,
)

from ..config import _env_bool, api_key_from_env, get_tracking_uri
from . import _span as S
from . import _json
from ._export import ExportSettings, SpanExporter, flush_all
from ._span import LiveSpan, NoOpSpan, SpanStatusCode, SpanType, TraceState

_log = logging.getLogger("cairn")

F = TypeVar("F", bound=Callable[..., Any])

_CURRENT: "contextvars.ContextVar[Optional[LiveSpan]]" = contextvars.ContextVar(
    "cairn_current_span", default=None
)

_enabled: Optional[bool] = None
_last_trace_id: Optional[str] = None
_exporters: Dict[Tuple[str, Optional[str], Optional[str]], SpanExporter] = {}
_exporters_lock = threading.Lock()
#: spans also handed to these callables when they end (tests, custom sinks)
_end_hooks: List[Callable[[LiveSpan], None]] = []
#: spans ended per trace id (the latest traces), so get_trace knows when the server has all
_ended_counts: "collections.OrderedDict[str, int]" = collections.OrderedDict()
_ended_lock = threading.Lock()


# ---------------------------------------------------------------------- switches and export


def is_enabled() -> bool:
    if _enabled is not None:
        return _enabled
    return _env_bool("CAIRN_TRACING_ENABLED", True)


def enable() -> None:
    """Turns tracing on (the default; env ``CAIRN_TRACING_ENABLED=false`` turns it off)."""
    global _enabled
    _enabled = True


def disable() -> None:
    """Turns tracing off: decorated functions run untraced, ``start_span`` yields a no-op span."""
    global _enabled
    _enabled = False


def _endpoint() -> str:
    explicit = os.environ.get("CAIRN_TRACE_EXPORT_ENDPOINT")
    if explicit:
        return explicit.rstrip("/")
    return get_tracking_uri() + "/v1/traces"


def get_exporter() -> SpanExporter:
    """The exporter for the current tracking URI, workspace and API key (made on first use)."""
    endpoint = _endpoint()
    workspace = os.environ.get("CAIRN_WORKSPACE") or None
    api_key = api_key_from_env()
    key = (endpoint, workspace, api_key)
    exporter = _exporters.get(key)
    if exporter is None:
        with _exporters_lock:
            exporter = _exporters.get(key)
            if exporter is None:
                headers: Dict[str, str] = {}
                if workspace:
                    headers["x-cairn-workspace"] = workspace
                if api_key:
                    headers["Authorization"] = f"Bearer {api_key}"
                exporter = SpanExporter(endpoint, headers, ExportSettings.from_env())
                _exporters[key] = exporter
    return exporter


def flush_trace_export(timeout: Optional[float] = None) -> bool:
    """Waits until every ended span was exported (or given up on). False on timeout.

    Spans are sent in the background; call this before reading traces back (tests, notebooks).
    MLflow's name: ``flush_trace_async_logging``.
    """
    return flush_all(timeout)


def flush_trace_async_logging(terminate: bool = False, timeout: Optional[float] = None) -> bool:
    """MLflow's name for :func:`flush_trace_export`."""
    return flush_all(timeout)


def _on_end(span: LiveSpan) -> None:
    global _last_trace_id
    try:
        state = span._trace
        is_root = state.root is span
        with _ended_lock:
            _ended_counts[span.trace_id] = _ended_counts.pop(span.trace_id, 0) + 1
            while len(_ended_counts) > 1000:
                _ended_counts.popitem(last=False)
        if is_root:
            span.set_attributes(state.attributes())
            _last_trace_id = span.trace_id
        for hook in list(_end_hooks):
            try:
                hook(span)
            except Exception:  # noqa: BLE001
                _log.exception("cairn: span end hook failed")
        get_exporter().submit(span, urgent=is_root)
    except Exception as exc:  # noqa: BLE001 - tracing never raises into the caller
        _log.warning("cairn: could not export span %r: %s", span.name, exc)


# ---------------------------------------------------------------------- spans


def _new_span(
    name: str,
    span_type: Any,
    attributes: Optional[Mapping[str, Any]],
    parent: Optional[LiveSpan],
    kind: int = S.KIND_INTERNAL,
) -> LiveSpan:
    if parent is not None:
        return LiveSpan(
            name,
            trace=parent._trace,
            parent_id=parent.span_id,
            span_type=span_type,
            attributes=attributes,
            kind=kind,
        )
    otel_trace_id, otel_parent_id = _otel_parent()
    state = TraceState(otel_trace_id or S.new_trace_id())
    run_id = _active_run_id()
    if run_id:
        state.fields[S.TRACE_RUN_ID] = run_id
    env = os.environ.get("CAIRN_TRACE_ENVIRONMENT")
    if env:
        state.fields[S.TRACE_ENVIRONMENT] = env
    span = LiveSpan(
        name,
        trace=state,
        parent_id=otel_parent_id,
        span_type=span_type,
        attributes=attributes,
        kind=kind,
    )
    state.root = span
    return span


def _otel_parent() -> Tuple[Optional[str], Optional[str]]:
    """The current OpenTelemetry span's (trace id, span id) when the application uses OTel
    (``opentelemetry`` already imported) and one is active: Cairn's spans then join that
    trace. Never imports OpenTelemetry."""
    otel = sys.modules.get("opentelemetry.trace")
    if otel is None:
        return None, None
    try:
        context = otel.get_current_span().get_span_context()
        if context.is_valid:
            return format(context.trace_id, "032x"), format(context.span_id, "016x")
    except Exception:  # noqa: BLE001
        pass
    return None, None


def _active_run_id() -> Optional[str]:
    try:
        from .. import fluent

        run = fluent.active_run()
        return run.run_id if run is not None else None
    except Exception:  # noqa: BLE001
        return None


class _SpanContext:
    """``with start_span(...) as span`` (also ``async with``): the span is current inside."""

    def __init__(self, name: str, span_type: Any, attributes: Optional[Mapping[str, Any]]) -> None:
        self._name = name
        self._span_type = span_type
        self._attributes = attributes
        self._span: Optional[LiveSpan] = None
        self._token: Optional[contextvars.Token[Optional[LiveSpan]]] = None
        self._parent: Optional[LiveSpan] = None

    def __enter__(self) -> LiveSpan:
        if not is_enabled():
            return cast(LiveSpan, NoOpSpan())
        try:
            self._parent = _CURRENT.get()
            self._span = _new_span(self._name, self._span_type, self._attributes, self._parent)
            self._token = _CURRENT.set(self._span)
            return self._span
        except Exception as exc:  # noqa: BLE001
            _log.warning("cairn: could not start span %r: %s", self._name, exc)
            self._span = None
            return cast(LiveSpan, NoOpSpan())

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        span = self._span
        if span is None:
            return
        _restore(self._token, self._parent)
        _finish(span, exc)

    async def __aenter__(self) -> LiveSpan:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)


def _restore(token: Optional["contextvars.Token[Optional[LiveSpan]]"], parent: Any) -> None:
    if token is None:
        return
    try:
        _CURRENT.reset(token)
    except ValueError:  # exited in another context (e.g. a generator resumed elsewhere)
        _CURRENT.set(parent)


def _finish(span: LiveSpan, exc: Optional[BaseException], outputs: Any = None) -> None:
    try:
        if exc is not None and not isinstance(exc, (GeneratorExit, StopIteration)):
            span.record_exception(exc)
        elif span.status.status_code == SpanStatusCode.UNSET:
            span.set_status(SpanStatusCode.OK)
        if isinstance(outputs, _Outputs):
            span.set_outputs(outputs.value)
        span.end()
    except Exception as error:  # noqa: BLE001
        _log.warning("cairn: could not end span %r: %s", span.name, error)


def start_span(
    name: str = "span",
    span_type: Any = SpanType.UNKNOWN,
    attributes: Optional[Mapping[str, Any]] = None,
) -> _SpanContext:
    """A span around a block: ``with cairn.start_span("retrieve", span_type="RETRIEVER") as s:``.

    The span is the current one inside the block (children nest under it). Leaving the block
    ends it: status OK, or ERROR with an ``exception`` event when the block raised.
    """
    return _SpanContext(name, span_type, attributes)


def start_span_no_context(
    name: str,
    span_type: Any = SpanType.UNKNOWN,
    parent_span: Optional[LiveSpan] = None,
    inputs: Any = None,
    attributes: Optional[Mapping[str, Any]] = None,
) -> LiveSpan:
    """A span that is not made current (MLflow 3's name); end it with ``span.end()``. Its parent
    is ``parent_span``, else the current span, else it starts a new trace."""
    if not is_enabled():
        return cast(LiveSpan, NoOpSpan())
    parent = parent_span if isinstance(parent_span, LiveSpan) else _CURRENT.get()
    span = _new_span(name, span_type, attributes, parent)
    if inputs is not None:
        span.set_inputs(inputs)
    return span


def get_current_active_span() -> Optional[LiveSpan]:
    """The span of the innermost ``@trace`` call or ``start_span`` block, or None."""
    return _CURRENT.get()


def get_last_active_trace_id() -> Optional[str]:
    """The trace id of the last trace whose root span ended in this process."""
    return _last_trace_id


def update_current_trace(
    tags: Optional[Mapping[str, Any]] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    session_id: Optional[str] = None,
    user_id: Optional[str] = None,
    environment: Optional[str] = None,
    model_version: Optional[str] = None,
    prompt_versions: Optional[Sequence[str]] = None,
    run_id: Optional[str] = None,
) -> None:
    """Sets trace-level fields of the current trace (written on its root span): tags and
    metadata (merged with earlier calls), session, user, environment, links."""
    span = _CURRENT.get()
    if span is None:
        _log.warning("cairn: update_current_trace() outside a trace (no active span): ignored")
        return
    state = span._trace
    with state.lock:
        for key, value in (tags or {}).items():
            state.tags[str(key)] = value if isinstance(value, str) else _json.dumps(value)
        for key, value in (metadata or {}).items():
            state.metadata[str(key)] = value if isinstance(value, str) else _json.dumps(value)
        for attr, value in (
            (S.TRACE_SESSION, session_id),
            (S.TRACE_USER, user_id),
            (S.TRACE_ENVIRONMENT, environment),
            (S.TRACE_MODEL_VERSION, model_version),
            (S.TRACE_RUN_ID, run_id),
        ):
            if value is not None:
                state.fields[attr] = str(value)
        if prompt_versions is not None:
            state.fields[S.TRACE_PROMPT_VERSIONS] = _json.dumps(list(prompt_versions))
    root = state.root
    if root is None or root.ended:
        # the root is not in this process or already exported: carry them on this span
        span.set_attributes(state.attributes())


# ---------------------------------------------------------------------- @trace


def _input_binder(func: Callable[..., Any]) -> Callable[[Tuple[Any, ...], Dict[str, Any]], Any]:
    try:
        signature: Optional[inspect.Signature] = inspect.signature(func)
    except (TypeError, ValueError):
        signature = None

    def bind(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        if signature is None:
            return {"args": list(args), "kwargs": kwargs} if kwargs else {"args": list(args)}
        try:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
        except TypeError:
            return {"args": list(args), "kwargs": kwargs}
        out: Dict[str, Any] = {}
        for key, value in bound.arguments.items():
            if key in ("self", "cls") and not out:
                continue
            param = signature.parameters.get(key)
            if param is not None and param.kind is inspect.Parameter.VAR_KEYWORD:
                out.update(value)
            else:
                out[key] = value
        return out

    return bind


@overload
def trace(func: F) -> F: ...


@overload
def trace(
    func: None = None,
    name: Optional[str] = None,
    span_type: Any = SpanType.UNKNOWN,
    attributes: Optional[Mapping[str, Any]] = None,
    output_reducer: Optional[Callable[[List[Any]], Any]] = None,
) -> Callable[[F], F]: ...


def trace(
    func: Optional[F] = None,
    name: Optional[str] = None,
    span_type: Any = SpanType.UNKNOWN,
    attributes: Optional[Mapping[str, Any]] = None,
    output_reducer: Optional[Callable[[List[Any]], Any]] = None,
) -> Union[F, Callable[[F], F]]:
    """Traces a function: each call is a span (named after the function, or ``name``) whose
    inputs are the bound arguments (``self`` left out) and outputs the return value.

    Works on plain and ``async`` functions, generators and async generators (the span lasts
    until the generator is exhausted or closed; its outputs are the list of yielded values, or
    ``output_reducer(list)``). An exception sets status ERROR, adds an ``exception`` event and
    propagates unchanged.
    """

    def decorator(fn: F) -> F:
        if isinstance(fn, (staticmethod, classmethod)):
            inner = decorator(cast(F, fn.__func__))
            return cast(F, type(fn)(inner))
        span_name: str = name or str(getattr(fn, "__name__", "span"))
        bind = _input_binder(fn)
        wrapper: Callable[..., Any]

        if inspect.isasyncgenfunction(fn):

            async def agen_wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                if not is_enabled():
                    async for item in fn(*args, **kwargs):
                        yield item
                    return
                span, parent = _start_for_call(span_name, span_type, attributes, bind, args, kwargs)
                if span is None:
                    async for item in fn(*args, **kwargs):
                        yield item
                    return
                items: List[Any] = []
                agen = fn(*args, **kwargs)
                error: Optional[BaseException] = None
                try:
                    sent: Any = None
                    while True:
                        token = _CURRENT.set(span)
                        try:
                            item = await agen.asend(sent)
                        except StopAsyncIteration:
                            break
                        finally:
                            _restore(token, parent)
                        items.append(item)
                        try:
                            sent = yield item
                        except GeneratorExit:
                            await agen.aclose()
                            raise
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    _finish(span, error, _reduce(items, output_reducer))

            wrapper = agen_wrapper

        elif inspect.isgeneratorfunction(fn):

            def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
                if not is_enabled():
                    result = yield from fn(*args, **kwargs)
                    return result
                span, parent = _start_for_call(span_name, span_type, attributes, bind, args, kwargs)
                if span is None:
                    result = yield from fn(*args, **kwargs)
                    return result
                items: List[Any] = []
                gen = fn(*args, **kwargs)
                error: Optional[BaseException] = None
                try:
                    sent: Any = None
                    while True:
                        token = _CURRENT.set(span)
                        try:
                            item = gen.send(sent)
                        except StopIteration as stop:
                            value: Any = stop.value
                            return value
                        finally:
                            _restore(token, parent)
                        items.append(item)
                        try:
                            sent = yield item
                        except GeneratorExit:
                            gen.close()
                            raise
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    _finish(span, error, _reduce(items, output_reducer))

            wrapper = gen_wrapper

        elif inspect.iscoroutinefunction(fn):

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if not is_enabled():
                    return await fn(*args, **kwargs)
                span, parent = _start_for_call(span_name, span_type, attributes, bind, args, kwargs)
                if span is None:
                    return await fn(*args, **kwargs)
                token = _CURRENT.set(span)
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as exc:
                    _restore(token, parent)
                    _finish(span, exc)
                    raise
                _restore(token, parent)
                _finish(span, None, _Outputs(result))
                return result

            wrapper = async_wrapper

        else:

            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                if not is_enabled():
                    return fn(*args, **kwargs)
                span, parent = _start_for_call(span_name, span_type, attributes, bind, args, kwargs)
                if span is None:
                    return fn(*args, **kwargs)
                token = _CURRENT.set(span)
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    _restore(token, parent)
                    _finish(span, exc)
                    raise
                _restore(token, parent)
                _finish(span, None, _Outputs(result))
                return result

            wrapper = sync_wrapper

        functools.update_wrapper(wrapper, fn)
        wrapper.__cairn_traced__ = True  # type: ignore[attr-defined,union-attr]
        return cast(F, wrapper)

    if func is not None:
        return decorator(func)
    return decorator


class _Outputs:
    """Marks a return value (``None`` included) to record as the span's outputs."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _reduce(items: List[Any], reducer: Optional[Callable[[List[Any]], Any]]) -> "_Outputs":
    if reducer is None:
        return _Outputs(items)
    try:
        return _Outputs(reducer(items))
    except Exception as exc:  # noqa: BLE001
        _log.warning("cairn: output_reducer failed: %s", exc)
        return _Outputs(items)


def _start_for_call(
    name: str,
    span_type: Any,
    attributes: Optional[Mapping[str, Any]],
    bind: Callable[[Tuple[Any, ...], Dict[str, Any]], Any],
    args: Tuple[Any, ...],
    kwargs: Dict[str, Any],
) -> Tuple[Optional[LiveSpan], Optional[LiveSpan]]:
    try:
        parent = _CURRENT.get()
        span = _new_span(name, span_type, attributes, parent)
        span.set_inputs(bind(args, kwargs))
        return span, parent
    except Exception as exc:  # noqa: BLE001
        _log.warning("cairn: could not start span %r: %s", name, exc)
        return None, None


# ---------------------------------------------------------------------- threads


def wrap(fn: F) -> F:
    """``fn`` bound to the current tracing context: spans it starts (in any thread) are
    children of the span that is current where ``wrap`` was called.

    >>> pool.submit(cairn.tracing.wrap(work), item)
    """
    context = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        return context.copy().run(fn, *args, **kwargs)

    return cast(F, run)


class ThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """``concurrent.futures.ThreadPoolExecutor`` whose tasks run in the submitter's context
    (current span, and any other ``contextvars``)."""

    def submit(  # type: ignore[override]
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> "concurrent.futures.Future[Any]":
        context = contextvars.copy_context()
        return super().submit(context.run, fn, *args, **kwargs)


# ---------------------------------------------------------------------- reading traces back

TRACE_FIELDS = """
    id name status startTime endTime durationMs inputs outputs sessionId userId environment
    runId modelVersion promptVersions spanCount errorCount cost
    tags { key value } metadata { key value }
    tokenUsage { inputTokens outputTokens totalTokens cachedTokens reasoningTokens }
"""
SPAN_FIELDS = """
    id traceId parentId name kind spanType startTimeUnixNano endTimeUnixNano durationMs
    status { code message } inputs outputs attributes events { name timeUnixNano attributes }
    model provider cost
    tokenUsage { inputTokens outputTokens totalTokens cachedTokens reasoningTokens }
"""
GET_TRACE = (
    f"query CairnTrace($id: ID!) {{ trace(id: $id) {{ {TRACE_FIELDS} "
    f"spans {{ {SPAN_FIELDS} }} }} }}"
)
SEARCH_TRACES = f"""query CairnTraces($filter: String, $orderBy: [String!], $first: Int) {{
  traces(filter: $filter, orderBy: $orderBy, first: $first) {{
    edges {{ node {{ {TRACE_FIELDS} }} }}
  }}
}}"""


def get_trace(trace_id: str, timeout: float = 10.0) -> Optional[Dict[str, Any]]:
    """The trace as the server has it (GraphQL ``trace(id)``: fields, spans, token usage, cost),
    or None. Exports what is queued first and waits (up to ``timeout`` s) until the server has
    every span this process ended for the trace."""
    from .. import fluent

    flush_all(timeout)
    with _ended_lock:
        expected = _ended_counts.get(trace_id, 0)
    client = fluent.get_client()
    deadline = time.monotonic() + timeout
    while True:
        trace = client.execute(GET_TRACE, {"id": trace_id}).get("trace")
        complete = trace is not None and trace.get("name") and trace["spanCount"] >= expected
        if complete or time.monotonic() >= deadline:
            return cast(Optional[Dict[str, Any]], trace)
        time.sleep(0.05)


def search_traces(
    filter_string: Optional[str] = None,
    order_by: Optional[Sequence[str]] = None,
    max_results: int = 100,
) -> List[Dict[str, Any]]:
    """Traces matching ``filter_string`` (docs/tracing.md, "Trace search grammar"), newest
    first unless ``order_by`` says otherwise; trace fields without spans."""
    from .. import fluent

    flush_all(10.0)
    data = fluent.get_client().execute(
        SEARCH_TRACES,
        {
            "filter": filter_string,
            "orderBy": list(order_by) if order_by else None,
            "first": max_results,
        },
    )
    return [edge["node"] for edge in data["traces"]["edges"]]
