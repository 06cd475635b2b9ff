"""Tracing of the ``anthropic`` client: ``cairn.anthropic.autolog()``.

Patches ``messages.create`` of ``Anthropic`` and ``AsyncAnthropic`` (streaming included) and the
``messages.stream(...)`` helper. Each call is a CHAT_MODEL span under the current span: inputs
are the request kwargs, outputs the message as a dict (text, tool_use blocks), GenAI attributes
for model, provider and tokens (the server computes the cost). A stream's span ends when the
stream is consumed or closed; its outputs are the message assembled from the stream events,
its usage the ``message_start`` input tokens with the ``message_delta`` output tokens.

This module is ``cairn.anthropic``; the client library is imported as the top-level
``anthropic``.
"""

from __future__ import annotations

import importlib
import json
from typing import Any, Callable, Dict, List, Optional

from . import _autolog
from .tracing import _llm
from .tracing._llm import Accumulator, get, usage_attributes
from .tracing._span import SpanType

PROVIDER = "anthropic"


def _usage_attrs(usage: Any) -> Dict[str, int]:
    if usage is None:
        return {}
    inputs = get(usage, "input_tokens")
    cache_read = get(usage, "cache_read_input_tokens")
    cache_write = get(usage, "cache_creation_input_tokens")
    # Anthropic's input_tokens leave out the cached ones; GenAI's count every input token
    total_in = None
    if isinstance(inputs, int):
        total_in = inputs + (cache_read or 0) + (cache_write or 0)
    return usage_attributes(
        input_tokens=total_in,
        output_tokens=get(usage, "output_tokens"),
        cached_tokens=cache_read,
    )


def _response_attrs(message: Any) -> Dict[str, Any]:
    attrs: Dict[str, Any] = {
        "gen_ai.response.model": get(message, "model"),
        "gen_ai.response.id": get(message, "id"),
    }
    stop = get(message, "stop_reason")
    if stop:
        attrs["gen_ai.response.finish_reasons"] = [str(stop)]
    attrs.update(_usage_attrs(get(message, "usage")))
    return attrs


def _request_attrs(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    attrs: Dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": kwargs.get("model"),
    }
    for key, attr in (
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("top_k", "gen_ai.request.top_k"),
        ("max_tokens", "gen_ai.request.max_tokens"),
    ):
        value = kwargs.get(key)
        if _llm.given(value) and isinstance(value, (int, float)):
            attrs[attr] = value
    return attrs


class MessageStreamAccumulator(Accumulator):
    """Raw message stream events -> one ``message`` dict."""

    def __init__(self) -> None:
        self.message: Dict[str, Any] = {}
        self.blocks: Dict[int, Dict[str, Any]] = {}
        self.json_parts: Dict[int, List[str]] = {}
        self.usage: Dict[str, Any] = {}

    def add(self, event: Any) -> None:
        kind = get(event, "type")
        if kind == "message_start":
            message = _llm.to_dict(get(event, "message")) or {}
            self.message = {k: v for k, v in message.items() if k not in ("content", "usage")}
            self.usage.update(
                {k: v for k, v in (message.get("usage") or {}).items() if v is not None}
            )
        elif kind == "content_block_start":
            index = get(event, "index") or 0
            self.blocks[index] = dict(_llm.to_dict(get(event, "content_block")) or {})
        elif kind == "content_block_delta":
            index = get(event, "index") or 0
            block = self.blocks.setdefault(index, {"type": "text", "text": ""})
            delta = get(event, "delta")
            dtype = get(delta, "type")
            if dtype == "text_delta":
                block["text"] = (block.get("text") or "") + (get(delta, "text") or "")
            elif dtype == "input_json_delta":
                self.json_parts.setdefault(index, []).append(get(delta, "partial_json") or "")
            elif dtype == "thinking_delta":
                block["thinking"] = (block.get("thinking") or "") + (get(delta, "thinking") or "")
            elif dtype == "signature_delta":
                block["signature"] = get(delta, "signature")
            elif dtype == "citations_delta":
                block.setdefault("citations", []).append(_llm.to_dict(get(delta, "citation")))
        elif kind == "message_delta":
            delta = get(event, "delta")
            for key in ("stop_reason", "stop_sequence"):
                value = get(delta, key)
                if value is not None:
                    self.message[key] = value
            usage = _llm.to_dict(get(event, "usage")) or {}
            self.usage.update({k: v for k, v in usage.items() if v is not None})

    def result(self) -> "tuple[Any, Dict[str, Any]]":
        content = []
        for index in sorted(self.blocks):
            block = dict(self.blocks[index])
            if index in self.json_parts:
                text = "".join(self.json_parts[index])
                try:
                    block["input"] = json.loads(text) if text else {}
                except ValueError:
                    block["input"] = text
            content.append(block)
        outputs = dict(self.message)
        outputs["content"] = content
        outputs["usage"] = dict(self.usage)
        return outputs, _response_attrs(outputs)


def _make(span_name: str, is_async: bool) -> Callable[[Any], Callable[..., Any]]:
    def make(original: Any) -> Callable[..., Any]:
        if is_async:

            async def traced_async(self: Any, *args: Any, **kwargs: Any) -> Any:
                span = _llm.start_llm_span(
                    span_name,
                    SpanType.CHAT_MODEL,
                    _llm.request_inputs(kwargs),
                    _request_attrs(kwargs),
                )
                if span is None:
                    return await original(self, *args, **kwargs)
                try:
                    result = await original(self, *args, **kwargs)
                except BaseException as exc:
                    _llm.end_error(span, exc)
                    raise
                return _finish(span, result, True)

            return traced_async

        def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            span = _llm.start_llm_span(
                span_name,
                SpanType.CHAT_MODEL,
                _llm.request_inputs(kwargs),
                _request_attrs(kwargs),
            )
            if span is None:
                return original(self, *args, **kwargs)
            try:
                result = original(self, *args, **kwargs)
            except BaseException as exc:
                _llm.end_error(span, exc)
                raise
            return _finish(span, result, False)

        return traced

    return make


def _finish(span: Any, result: Any, is_async: bool) -> Any:
    if _llm.is_stream(result):
        return _llm.trace_stream(result, span, MessageStreamAccumulator(), is_async)
    try:
        outputs = _llm.to_dict(result)
        attrs = _response_attrs(result)
    except Exception:  # noqa: BLE001
        outputs, attrs = None, {}
    _llm.end_ok(span, outputs, attrs)
    return result


# -- the messages.stream(...) helper: the manager opens the raw stream on __enter__


def _make_stream(span_name: str) -> Callable[[Any], Callable[..., Any]]:
    def make(original: Any) -> Callable[..., Any]:
        def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            manager = original(self, *args, **kwargs)
            try:
                manager._cairn_request = (span_name, dict(kwargs))
            except Exception:  # noqa: BLE001
                pass
            return manager

        return traced

    return make


def _traced_raw(message_stream: Any, request: Any, is_async: bool) -> None:
    if request is None:
        return
    span_name, kwargs = request
    span = _llm.start_llm_span(
        span_name, SpanType.CHAT_MODEL, _llm.request_inputs(kwargs), _request_attrs(kwargs)
    )
    raw = getattr(message_stream, "_raw_stream", None)
    if span is None:
        return
    if raw is None:
        _llm.end_ok(span, None, {})
        return
    _llm.trace_stream(raw, span, MessageStreamAccumulator(), is_async)


def _make_enter(original: Any) -> Callable[..., Any]:
    def enter(self: Any) -> Any:
        stream = original(self)
        _traced_raw(stream, getattr(self, "_cairn_request", None), False)
        return stream

    return enter


def _make_aenter(original: Any) -> Callable[..., Any]:
    async def aenter(self: Any) -> Any:
        stream = await original(self)
        _traced_raw(stream, getattr(self, "_cairn_request", None), True)
        return stream

    return aenter


def _patch(integration: _autolog.Integration) -> None:
    messages = importlib.import_module("anthropic.resources.messages")
    integration.wrap(messages.Messages, "create", _make("Messages", False))
    integration.wrap(messages.AsyncMessages, "create", _make("AsyncMessages", True))
    integration.wrap(messages.Messages, "stream", _make_stream("Messages.stream"))
    integration.wrap(messages.AsyncMessages, "stream", _make_stream("AsyncMessages.stream"))
    try:
        streaming = importlib.import_module("anthropic.lib.streaming")
    except ImportError:
        return
    sync_manager: Optional[Any] = getattr(streaming, "MessageStreamManager", None)
    async_manager: Optional[Any] = getattr(streaming, "AsyncMessageStreamManager", None)
    if sync_manager is not None:
        integration.wrap(sync_manager, "__enter__", _make_enter)
    if async_manager is not None:
        integration.wrap(async_manager, "__aenter__", _make_aenter)


_integration = _autolog.register(_autolog.Integration("anthropic", ("anthropic",), _patch))


def autolog(disable: bool = False, silent: bool = False, log_traces: bool = True) -> None:
    """Traces every ``messages.create`` / ``messages.stream`` of the ``anthropic`` client
    (sync and async). ``disable=True`` restores the original methods."""
    if disable or not log_traces:
        _autolog.disable(_integration)
        return
    _autolog.enable(_integration, {"silent": silent})
