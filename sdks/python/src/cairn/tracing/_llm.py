"""Shared plumbing of the LLM client autologgers (``cairn.openai``, ``cairn.anthropic``):
request capture, GenAI attributes, and spans that last until a returned stream is consumed."""

from __future__ import annotations

import logging
import time
from typing import Any, AsyncIterator, Callable, Dict, Iterator, Mapping, Optional

from . import _fluent
from ._span import KIND_CLIENT, LiveSpan, SpanEvent

_log = logging.getLogger("cairn")

#: request kwargs never recorded (may carry credentials, or are transport details)
_DROPPED_KWARGS = frozenset({"extra_headers", "extra_query", "timeout"})


def request_inputs(kwargs: Mapping[str, Any]) -> Dict[str, Any]:
    """The request kwargs that were given (the clients' ``NOT_GIVEN``/``omit`` left out)."""
    return {
        k: v
        for k, v in kwargs.items()
        if k not in _DROPPED_KWARGS and type(v).__name__ not in ("NotGiven", "Omit")
    }


def given(value: Any) -> bool:
    return value is not None and type(value).__name__ not in ("NotGiven", "Omit")


def start_llm_span(
    name: str,
    span_type: str,
    inputs: Mapping[str, Any],
    attributes: Mapping[str, Any],
) -> Optional[LiveSpan]:
    """A span for one client call (parent: the current span), or None when tracing is off or
    the span could not be made (the call then proceeds untraced)."""
    if not _fluent.is_enabled():
        return None
    try:
        parent = _fluent._CURRENT.get()
        span = _fluent._new_span(name, span_type, None, parent, kind=KIND_CLIENT)
        span.set_attributes({k: v for k, v in attributes.items() if given(v)})
        span.set_inputs(dict(inputs))
        return span
    except Exception as exc:  # noqa: BLE001
        _log.warning("cairn: could not start span %r: %s", name, exc)
        return None


def usage_attributes(
    input_tokens: Any = None,
    output_tokens: Any = None,
    total_tokens: Any = None,
    cached_tokens: Any = None,
    reasoning_tokens: Any = None,
) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for key, value in (
        ("gen_ai.usage.input_tokens", input_tokens),
        ("gen_ai.usage.output_tokens", output_tokens),
        ("gen_ai.usage.total_tokens", total_tokens),
        ("gen_ai.usage.cache_read_input_tokens", cached_tokens),
        ("gen_ai.usage.reasoning_tokens", reasoning_tokens),
    ):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = int(value)
    if (
        "gen_ai.usage.total_tokens" not in out
        and "gen_ai.usage.input_tokens" in out
        and "gen_ai.usage.output_tokens" in out
    ):
        out["gen_ai.usage.total_tokens"] = (
            out["gen_ai.usage.input_tokens"] + out["gen_ai.usage.output_tokens"]
        )
    return out


def get(obj: Any, *path: str) -> Any:
    """``obj.a.b`` or ``obj["a"]["b"]``; None when any step is missing."""
    for key in path:
        if obj is None:
            return None
        if isinstance(obj, Mapping):
            obj = obj.get(key)
        else:
            obj = getattr(obj, key, None)
    return obj


def end_ok(span: LiveSpan, outputs: Any, attributes: Mapping[str, Any]) -> None:
    try:
        span.set_attributes({k: v for k, v in attributes.items() if given(v)})
        span.set_outputs(outputs)
        span.set_status("OK")
    except Exception as exc:  # noqa: BLE001
        _log.warning("cairn: could not record the response of %r: %s", span.name, exc)
    span.end()


def end_error(span: LiveSpan, exc: BaseException) -> None:
    try:
        span.record_exception(exc)
    finally:
        span.end()


class Accumulator:
    """Assembles a streamed response: ``add`` each item, then ``result()`` gives
    ``(outputs, attributes)``."""

    def add(self, item: Any) -> None:
        raise NotImplementedError

    def result(self) -> "tuple[Any, Dict[str, Any]]":
        raise NotImplementedError


class _StreamState:
    def __init__(self, span: LiveSpan, acc: Accumulator) -> None:
        self.span = span
        self.acc = acc
        self.first = True
        self.done = False

    def add(self, item: Any) -> None:
        if self.first:
            self.first = False
            self.span.add_event(SpanEvent("first_token", time.time_ns()))
        try:
            self.acc.add(item)
        except Exception as exc:  # noqa: BLE001
            _log.warning("cairn: could not read a stream item of %r: %s", self.span.name, exc)

    def finish(self, exc: Optional[BaseException] = None) -> None:
        if self.done:
            return
        self.done = True
        if exc is not None:
            end_error(self.span, exc)
            return
        try:
            outputs, attributes = self.acc.result()
        except Exception as error:  # noqa: BLE001
            _log.warning("cairn: could not assemble the stream of %r: %s", self.span.name, error)
            outputs, attributes = None, {}
        end_ok(self.span, outputs, attributes)


def _traced_iter(inner: Iterator[Any], state: _StreamState) -> Iterator[Any]:
    try:
        for item in inner:
            state.add(item)
            yield item
    except GeneratorExit:
        state.finish()  # closed early: what was received
        raise
    except BaseException as exc:
        state.finish(exc)
        raise
    state.finish()


async def _traced_aiter(inner: AsyncIterator[Any], state: _StreamState) -> AsyncIterator[Any]:
    try:
        async for item in inner:
            state.add(item)
            yield item
    except GeneratorExit:
        state.finish()
        raise
    except BaseException as exc:
        state.finish(exc)
        raise
    state.finish()


def trace_stream(stream: Any, span: LiveSpan, acc: Accumulator, is_async: bool) -> Any:
    """Makes ``stream`` (an openai/anthropic ``Stream``/``AsyncStream``) end ``span`` when it
    is consumed, closed or fails; returns the same object (its type is kept)."""
    state = _StreamState(span, acc)
    try:
        inner = stream._iterator
        stream._iterator = (_traced_aiter if is_async else _traced_iter)(inner, state)
        close: Optional[Callable[[], Any]] = getattr(stream, "close", None)
        if close is not None:
            if is_async:

                async def aclose_traced() -> Any:
                    state.finish()
                    return await close()  # type: ignore[misc]

                stream.close = aclose_traced
            else:

                def close_traced() -> Any:
                    state.finish()
                    return close()

                stream.close = close_traced
        return stream
    except Exception as exc:  # noqa: BLE001 - unknown stream shape: end the span now
        _log.warning("cairn: could not trace the stream of %r: %s", span.name, exc)
        state.finish()
        return stream


def is_stream(result: Any) -> bool:
    return type(result).__name__ in ("Stream", "AsyncStream") and hasattr(result, "response")


def to_dict(value: Any) -> Any:
    """A client response object as plain JSON data (pydantic ``model_dump``)."""
    from ._json import to_jsonable

    return to_jsonable(value)
