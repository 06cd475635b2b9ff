"""Tracing of the ``openai`` client (v1+): ``cairn.openai.autolog()``.

Patches ``chat.completions.create``, ``embeddings.create`` and ``responses.create`` of the sync
and async clients. Each call is a span (CHAT_MODEL, EMBEDDING) under the current span: inputs
are the request kwargs, outputs the response as a dict; the OTel GenAI attributes carry model,
provider and token usage, from which the server computes the cost. A streamed response
(``stream=True``) is a span that ends when the stream is consumed (or closed), with the
assembled message (text and tool calls) as outputs and the usage of the final chunk
(``stream_options={"include_usage": True}``).

This module is ``cairn.openai``; the client library is imported as the top-level ``openai``.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List, Optional

from . import _autolog
from .tracing import _llm
from .tracing._llm import Accumulator, get, usage_attributes
from .tracing._span import SpanType

PROVIDER = "openai"


def _usage_attrs(usage: Any) -> Dict[str, int]:
    if usage is None:
        return {}
    return usage_attributes(
        input_tokens=get(usage, "prompt_tokens")
        if get(usage, "prompt_tokens") is not None
        else get(usage, "input_tokens"),
        output_tokens=get(usage, "completion_tokens")
        if get(usage, "completion_tokens") is not None
        else get(usage, "output_tokens"),
        total_tokens=get(usage, "total_tokens"),
        cached_tokens=get(usage, "prompt_tokens_details", "cached_tokens")
        if get(usage, "prompt_tokens_details") is not None
        else get(usage, "input_tokens_details", "cached_tokens"),
        reasoning_tokens=get(usage, "completion_tokens_details", "reasoning_tokens")
        if get(usage, "completion_tokens_details") is not None
        else get(usage, "output_tokens_details", "reasoning_tokens"),
    )


def _response_attrs(response: Any) -> Dict[str, Any]:
    attrs: Dict[str, Any] = {
        "gen_ai.response.model": get(response, "model"),
        "gen_ai.response.id": get(response, "id"),
    }
    choices = get(response, "choices")
    if isinstance(choices, list):
        reasons = [get(c, "finish_reason") for c in choices if get(c, "finish_reason")]
        if reasons:
            attrs["gen_ai.response.finish_reasons"] = [str(r) for r in reasons]
    attrs.update(_usage_attrs(get(response, "usage")))
    return attrs


def _request_attrs(operation: str, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    attrs: Dict[str, Any] = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": kwargs.get("model"),
    }
    for key, attr in (
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("max_tokens", "gen_ai.request.max_tokens"),
        ("max_completion_tokens", "gen_ai.request.max_tokens"),
        ("max_output_tokens", "gen_ai.request.max_tokens"),
        ("seed", "gen_ai.request.seed"),
    ):
        value = kwargs.get(key)
        if _llm.given(value) and isinstance(value, (int, float)):
            attrs[attr] = value
    return attrs


# ---------------------------------------------------------------------- stream assembly


class ChatStreamAccumulator(Accumulator):
    """Chat completion chunks -> one ``chat.completion`` dict (text, tool calls, usage)."""

    def __init__(self) -> None:
        self.id: Optional[str] = None
        self.model: Optional[str] = None
        self.created: Optional[int] = None
        self.system_fingerprint: Optional[str] = None
        self.choices: Dict[int, Dict[str, Any]] = {}
        self.usage: Any = None

    def add(self, chunk: Any) -> None:
        self.id = get(chunk, "id") or self.id
        self.model = get(chunk, "model") or self.model
        self.created = get(chunk, "created") or self.created
        self.system_fingerprint = get(chunk, "system_fingerprint") or self.system_fingerprint
        usage = get(chunk, "usage")
        if usage is not None:
            self.usage = usage
        for choice in get(chunk, "choices") or []:
            index = get(choice, "index") or 0
            entry = self.choices.setdefault(
                index,
                {
                    "index": index,
                    "role": None,
                    "content": None,
                    "tool_calls": {},
                    "refusal": None,
                    "finish_reason": None,
                },
            )
            delta = get(choice, "delta")
            if get(choice, "finish_reason"):
                entry["finish_reason"] = get(choice, "finish_reason")
            if delta is None:
                continue
            if get(delta, "role"):
                entry["role"] = get(delta, "role")
            content = get(delta, "content")
            if content:
                entry["content"] = (entry["content"] or "") + content
            refusal = get(delta, "refusal")
            if refusal:
                entry["refusal"] = (entry["refusal"] or "") + refusal
            for call in get(delta, "tool_calls") or []:
                position = get(call, "index") or 0
                slot = entry["tool_calls"].setdefault(
                    position,
                    {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                )
                if get(call, "id"):
                    slot["id"] = get(call, "id")
                if get(call, "type"):
                    slot["type"] = get(call, "type")
                name = get(call, "function", "name")
                if name:
                    slot["function"]["name"] += name
                arguments = get(call, "function", "arguments")
                if arguments:
                    slot["function"]["arguments"] += arguments

    def result(self) -> "tuple[Any, Dict[str, Any]]":
        choices: List[Dict[str, Any]] = []
        for index in sorted(self.choices):
            entry = self.choices[index]
            message: Dict[str, Any] = {
                "role": entry["role"] or "assistant",
                "content": entry["content"],
            }
            if entry["refusal"]:
                message["refusal"] = entry["refusal"]
            if entry["tool_calls"]:
                message["tool_calls"] = [
                    entry["tool_calls"][i] for i in sorted(entry["tool_calls"])
                ]
            choices.append(
                {"index": index, "message": message, "finish_reason": entry["finish_reason"]}
            )
        usage = _llm.to_dict(self.usage)
        outputs = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            "usage": usage,
        }
        if self.system_fingerprint:
            outputs["system_fingerprint"] = self.system_fingerprint
        return outputs, _response_attrs(outputs)


class ResponsesStreamAccumulator(Accumulator):
    """Responses API stream events -> the final ``response`` (from ``response.completed``)."""

    def __init__(self) -> None:
        self.response: Any = None
        self.text: List[str] = []

    def add(self, event: Any) -> None:
        kind = get(event, "type") or ""
        if get(event, "response") is not None and kind in (
            "response.completed",
            "response.failed",
            "response.incomplete",
            "response.created",
            "response.in_progress",
        ):
            self.response = get(event, "response")
        elif kind == "response.output_text.delta":
            self.text.append(get(event, "delta") or "")

    def result(self) -> "tuple[Any, Dict[str, Any]]":
        if self.response is None:
            return {"output_text": "".join(self.text)}, {}
        outputs = _llm.to_dict(self.response)
        return outputs, _response_attrs(self.response)


# ---------------------------------------------------------------------- patches


def _make(
    span_name: str,
    operation: str,
    span_type: str,
    is_async: bool,
    accumulator: Optional[Callable[[], Accumulator]],
) -> Callable[[Any], Callable[..., Any]]:
    def make(original: Any) -> Callable[..., Any]:
        if is_async:

            async def traced_async(self: Any, *args: Any, **kwargs: Any) -> Any:
                span = _llm.start_llm_span(
                    span_name,
                    span_type,
                    _llm.request_inputs(kwargs),
                    _request_attrs(operation, kwargs),
                )
                if span is None:
                    return await original(self, *args, **kwargs)
                try:
                    result = await original(self, *args, **kwargs)
                except BaseException as exc:
                    _llm.end_error(span, exc)
                    raise
                return _finish(span, result, accumulator, True)

            return traced_async

        def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
            span = _llm.start_llm_span(
                span_name,
                span_type,
                _llm.request_inputs(kwargs),
                _request_attrs(operation, kwargs),
            )
            if span is None:
                return original(self, *args, **kwargs)
            try:
                result = original(self, *args, **kwargs)
            except BaseException as exc:
                _llm.end_error(span, exc)
                raise
            return _finish(span, result, accumulator, False)

        return traced

    return make


def _finish(span: Any, result: Any, accumulator: Any, is_async: bool) -> Any:
    if accumulator is not None and _llm.is_stream(result):
        return _llm.trace_stream(result, span, accumulator(), is_async)
    try:
        outputs = _llm.to_dict(result)
        attrs = _response_attrs(result)
    except Exception:  # noqa: BLE001
        outputs, attrs = None, {}
    _llm.end_ok(span, outputs, attrs)
    return result


_TARGETS = [
    # module, class, span name, operation, span type, async, stream accumulator
    (
        "openai.resources.chat.completions",
        "Completions",
        "Completions",
        "chat",
        SpanType.CHAT_MODEL,
        False,
        ChatStreamAccumulator,
    ),
    (
        "openai.resources.chat.completions",
        "AsyncCompletions",
        "AsyncCompletions",
        "chat",
        SpanType.CHAT_MODEL,
        True,
        ChatStreamAccumulator,
    ),
    (
        "openai.resources.embeddings",
        "Embeddings",
        "Embeddings",
        "embeddings",
        SpanType.EMBEDDING,
        False,
        None,
    ),
    (
        "openai.resources.embeddings",
        "AsyncEmbeddings",
        "AsyncEmbeddings",
        "embeddings",
        SpanType.EMBEDDING,
        True,
        None,
    ),
    (
        "openai.resources.completions",
        "Completions",
        "LegacyCompletions",
        "text_completion",
        SpanType.LLM,
        False,
        None,
    ),
    (
        "openai.resources.completions",
        "AsyncCompletions",
        "AsyncLegacyCompletions",
        "text_completion",
        SpanType.LLM,
        True,
        None,
    ),
    (
        "openai.resources.responses",
        "Responses",
        "Responses",
        "chat",
        SpanType.CHAT_MODEL,
        False,
        ResponsesStreamAccumulator,
    ),
    (
        "openai.resources.responses",
        "AsyncResponses",
        "AsyncResponses",
        "chat",
        SpanType.CHAT_MODEL,
        True,
        ResponsesStreamAccumulator,
    ),
]


def _patch(integration: _autolog.Integration) -> None:
    for module_name, cls_name, span_name, operation, span_type, is_async, acc in _TARGETS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        owner = getattr(module, cls_name, None)
        if owner is None:
            continue
        integration.wrap(owner, "create", _make(span_name, operation, span_type, is_async, acc))


_integration = _autolog.register(_autolog.Integration("openai", ("openai",), _patch))


def autolog(disable: bool = False, silent: bool = False, log_traces: bool = True) -> None:
    """Traces every call of the ``openai`` client (sync and async, streaming included).

    ``disable=True`` restores the original methods. Patching happens when ``openai`` is
    imported (now, if it already is).
    """
    if disable or not log_traces:
        _autolog.disable(_integration)
        return
    _autolog.enable(_integration, {"silent": silent})
