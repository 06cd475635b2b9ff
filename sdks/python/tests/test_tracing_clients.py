"""``cairn.openai`` / ``cairn.anthropic`` autologging with the real client libraries against the
local fake LLM server, checked on the OTLP spans they export (no Cairn server needed)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, Iterator

import pytest

pytest.register_assert_rewrite("tracing_helpers")

import cairn  # noqa: E402
from llm_server import (  # noqa: E402
    ANSWER,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    COMPLETION_TOKENS,
    PROMPT_TOKENS,
    TOOL_ARGUMENTS,
    TOOL_NAME,
    FakeLLMServer,
)
from tracing_helpers import OTLPReceiver, inputs, outputs  # noqa: E402

pytest_plugins = ["tracing_helpers"]  # the `receiver` fixture

MODEL = "gpt-4o-mini"
CLAUDE = "claude-3-5-haiku-20241022"
MESSAGES = [{"role": "user", "content": "hi"}]
TOOLS = [{"type": "function", "function": {"name": TOOL_NAME, "parameters": {"type": "object"}}}]


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    srv = FakeLLMServer()
    yield srv
    srv.close()


@pytest.fixture()
def openai_client(llm: FakeLLMServer, receiver: OTLPReceiver) -> Iterator[Any]:
    import openai

    cairn.openai.autolog()
    yield openai.OpenAI(base_url=llm.url + "/v1", api_key="sk-test", max_retries=0)
    cairn.openai.autolog(disable=True)


@pytest.fixture()
def anthropic_client(llm: FakeLLMServer, receiver: OTLPReceiver) -> Iterator[Any]:
    import anthropic

    cairn.anthropic.autolog()
    yield anthropic.Anthropic(base_url=llm.url, api_key="sk-ant-test", max_retries=0)
    cairn.anthropic.autolog(disable=True)


def only_span(receiver: OTLPReceiver, name: str) -> Dict[str, Any]:
    assert cairn.flush_trace_export(timeout=20)
    return receiver.by_name(name)


def gen_ai(span: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in span["attrs"].items() if k.startswith("gen_ai.")}


def test_openai_chat_completion(openai_client: Any, receiver: OTLPReceiver) -> None:
    reply = openai_client.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0.3)
    assert reply.choices[0].message.content == ANSWER
    span = only_span(receiver, "Completions")
    assert span["kind"] == 3  # CLIENT
    assert span["attrs"]["cairn.span.type"] == "CHAT_MODEL"
    assert inputs(span) == {"model": MODEL, "messages": MESSAGES, "temperature": 0.3}
    assert outputs(span)["choices"][0]["message"]["content"] == ANSWER
    assert gen_ai(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.temperature": 0.3,
        "gen_ai.response.model": MODEL,
        "gen_ai.response.id": "chatcmpl-fake",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": PROMPT_TOKENS,
        "gen_ai.usage.output_tokens": COMPLETION_TOKENS,
        "gen_ai.usage.total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }
    assert span["status"] == {"code": 1}


def test_openai_stream_is_one_span_ending_when_consumed(
    openai_client: Any,
    receiver: OTLPReceiver,
) -> None:
    stream = openai_client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert type(stream).__name__ == "Stream"  # the caller keeps the client's own type
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    assert cairn.flush_trace_export(timeout=20)
    assert receiver.spans == []  # not ended before the stream is consumed
    rest = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert rest == ANSWER
    span = only_span(receiver, "Completions")
    out = outputs(span)
    assert out["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}
    ]
    assert out["usage"]["total_tokens"] == PROMPT_TOKENS + COMPLETION_TOKENS
    assert span["attrs"]["gen_ai.usage.input_tokens"] == PROMPT_TOKENS
    assert span["attrs"]["gen_ai.usage.output_tokens"] == COMPLETION_TOKENS
    assert [e["name"] for e in span["events"]] == ["first_token"]


def test_openai_stream_with_context_manager_and_early_close(
    openai_client: Any,
    receiver: OTLPReceiver,
) -> None:
    with openai_client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True) as s:
        next(iter(s))
        next(iter(s))
    span = only_span(receiver, "Completions")
    assert span["status"] == {"code": 1}
    assert outputs(span)["choices"][0]["message"]["content"] == "Hello"
    assert "gen_ai.usage.input_tokens" not in span["attrs"]  # no include_usage: none sent


def test_openai_tool_calls(openai_client: Any, receiver: OTLPReceiver) -> None:
    with cairn.start_span("agent"):
        openai_client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
        for _ in openai_client.chat.completions.create(
            model=MODEL, messages=MESSAGES, tools=TOOLS, stream=True
        ):
            pass
    assert cairn.flush_trace_export(timeout=20)
    agent = receiver.by_name("agent")
    calls = [s for s in receiver.spans if s["name"] == "Completions"]
    assert len(calls) == 2
    for call in calls:
        assert call["parentSpanId"] == agent["spanId"]
        assert inputs(call)["tools"] == TOOLS
        message = outputs(call)["choices"][0]["message"]
        assert message["tool_calls"][0]["id"] == "call_1"
        assert message["tool_calls"][0]["function"] == {
            "name": TOOL_NAME,
            "arguments": TOOL_ARGUMENTS,
        }
        assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
        assert call["attrs"]["gen_ai.response.finish_reasons"] == ["tool_calls"]


def test_openai_async_and_async_stream(
    llm: FakeLLMServer,
    receiver: OTLPReceiver,
) -> None:
    import openai

    cairn.openai.autolog()
    try:
        client = openai.AsyncOpenAI(base_url=llm.url + "/v1", api_key="sk-test")

        async def main() -> str:
            with cairn.start_span("async-root"):
                reply = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
                stream = await client.chat.completions.create(
                    model=MODEL,
                    messages=MESSAGES,
                    stream=True,
                    stream_options={"include_usage": True},
                )
                text = "".join(
                    [c.choices[0].delta.content or "" async for c in stream if c.choices]
                )
            return (reply.choices[0].message.content or "") + text

        assert asyncio.run(main()) == ANSWER * 2
    finally:
        cairn.openai.autolog(disable=True)
    assert cairn.flush_trace_export(timeout=20)
    root = receiver.by_name("async-root")
    calls = [s for s in receiver.spans if s["name"] == "AsyncCompletions"]
    assert len(calls) == 2
    for call in calls:
        assert call["parentSpanId"] == root["spanId"]
        assert outputs(call)["choices"][0]["message"]["content"] == ANSWER
        assert call["attrs"]["gen_ai.usage.total_tokens"] == PROMPT_TOKENS + COMPLETION_TOKENS


def test_openai_embeddings_and_responses(
    openai_client: Any,
    receiver: OTLPReceiver,
) -> None:
    openai_client.embeddings.create(model="text-embedding-3-small", input="abc")
    openai_client.responses.create(model=MODEL, input="hi")
    events = list(openai_client.responses.create(model=MODEL, input="hi", stream=True))
    assert events[-1].type == "response.completed"
    assert cairn.flush_trace_export(timeout=20)
    embedding = receiver.by_name("Embeddings")
    assert embedding["attrs"]["cairn.span.type"] == "EMBEDDING"
    assert embedding["attrs"]["gen_ai.operation.name"] == "embeddings"
    assert embedding["attrs"]["gen_ai.usage.input_tokens"] == 8
    assert outputs(embedding)["data"][0]["embedding"] == [0.1, 0.2, 0.3]
    responses = [s for s in receiver.spans if s["name"] == "Responses"]
    assert len(responses) == 2
    for r in responses:
        assert outputs(r)["output"][0]["content"][0]["text"] == ANSWER
        assert r["attrs"]["gen_ai.usage.input_tokens"] == PROMPT_TOKENS
        assert r["attrs"]["gen_ai.usage.output_tokens"] == COMPLETION_TOKENS


def test_openai_api_error_is_an_error_span(
    llm: FakeLLMServer,
    receiver: OTLPReceiver,
) -> None:
    import openai

    cairn.openai.autolog()
    try:
        client = openai.OpenAI(base_url=llm.url + "/nowhere", api_key="sk-test", max_retries=0)
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)
    finally:
        cairn.openai.autolog(disable=True)
    span = only_span(receiver, "Completions")
    assert span["status"]["code"] == 2
    assert span["events"][0]["name"] == "exception"


def test_openai_autolog_disable_and_import_hook(receiver: OTLPReceiver) -> None:
    import openai

    original = openai.resources.chat.completions.Completions.create
    cairn.openai.autolog()
    patched = openai.resources.chat.completions.Completions.create
    assert patched is not original and patched.__wrapped__ is original
    cairn.openai.autolog()  # twice: still one layer
    assert openai.resources.chat.completions.Completions.create.__wrapped__ is original
    cairn.openai.autolog(disable=True)
    assert openai.resources.chat.completions.Completions.create is original


def test_anthropic_messages_create_and_streams(
    anthropic_client: Any,
    llm: FakeLLMServer,
    receiver: OTLPReceiver,
) -> None:
    message = anthropic_client.messages.create(model=CLAUDE, max_tokens=64, messages=MESSAGES)
    assert message.content[0].text == ANSWER
    events = [
        e.type
        for e in anthropic_client.messages.create(
            model=CLAUDE, max_tokens=64, messages=MESSAGES, stream=True
        )
    ]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    for _ in anthropic_client.messages.create(
        model=CLAUDE,
        max_tokens=64,
        messages=MESSAGES,
        stream=True,
        tools=[{"name": TOOL_NAME, "input_schema": {"type": "object"}}],
    ):
        pass
    with anthropic_client.messages.stream(model=CLAUDE, max_tokens=64, messages=MESSAGES) as s:
        assert s.get_final_message().content[0].text == ANSWER
    assert cairn.flush_trace_export(timeout=20)
    spans = receiver.spans
    assert sorted(s["name"] for s in spans) == [
        "Messages",
        "Messages",
        "Messages",
        "Messages.stream",
    ]
    for span in spans:
        assert span["attrs"]["cairn.span.type"] == "CHAT_MODEL"
        assert gen_ai(span)["gen_ai.provider.name"] == "anthropic"
        assert gen_ai(span)["gen_ai.request.model"] == CLAUDE
        assert gen_ai(span)["gen_ai.response.model"] == CLAUDE
        assert gen_ai(span)["gen_ai.usage.input_tokens"] == ANTHROPIC_INPUT_TOKENS
        assert gen_ai(span)["gen_ai.usage.output_tokens"] == ANTHROPIC_OUTPUT_TOKENS
        assert inputs(span)["messages"] == MESSAGES
        out = outputs(span)
        assert out["role"] == "assistant" and out["model"] == CLAUDE
        if inputs(span).get("tools"):
            (block,) = out["content"]
            assert block["type"] == "tool_use" and block["input"] == {"city": "Paris"}
            assert out["stop_reason"] == "tool_use"
        else:
            assert [b["text"] for b in out["content"]] == [ANSWER]
            assert out["stop_reason"] == "end_turn"
    assert sum(1 for s in spans if s["events"]) == 3  # first_token on the three streams


def test_anthropic_async_stream(llm: FakeLLMServer, receiver: OTLPReceiver) -> None:
    import anthropic

    cairn.anthropic.autolog()
    try:
        client = anthropic.AsyncAnthropic(base_url=llm.url, api_key="sk-ant-test")

        async def main() -> str:
            stream = await client.messages.create(
                model=CLAUDE, max_tokens=64, messages=MESSAGES, stream=True
            )
            parts = []
            async for event in stream:
                if event.type == "content_block_delta":
                    parts.append(event.delta.text)
            async with client.messages.stream(
                model=CLAUDE, max_tokens=64, messages=MESSAGES
            ) as helper:
                parts.append("|" + "".join([t async for t in helper.text_stream]))
            return "".join(parts)

        assert asyncio.run(main()) == ANSWER + "|" + ANSWER
    finally:
        cairn.anthropic.autolog(disable=True)
    assert cairn.flush_trace_export(timeout=20)
    for name in ("AsyncMessages", "AsyncMessages.stream"):
        span = receiver.by_name(name)
        assert outputs(span)["content"][0]["text"] == ANSWER
        assert span["attrs"]["gen_ai.usage.total_tokens"] == (
            ANTHROPIC_INPUT_TOKENS + ANTHROPIC_OUTPUT_TOKENS
        )
