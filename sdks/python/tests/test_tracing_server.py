"""Tracing end to end against the real Cairn server: the SDK's spans (``@cairn.trace``,
``cairn.openai``/``cairn.anthropic`` autologging against a local fake LLM server, no network)
read back through GraphQL; plus two clients from outside the SDK: a plain OpenTelemetry SDK app
(OTLP protobuf) and an OpenInference-instrumented OpenAI call."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Optional

import pytest
import requests

import cairn
from llm_server import (
    ANSWER,
    ANTHROPIC_INPUT_TOKENS,
    ANTHROPIC_OUTPUT_TOKENS,
    COMPLETION_TOKENS,
    EMBEDDING_TOKENS,
    PROMPT_TOKENS,
    TOOL_ARGUMENTS,
    TOOL_NAME,
    FakeLLMServer,
)

TRACE_QUERY = """
query T($id: ID!) {
  trace(id: $id) {
    id name status sessionId userId environment runId spanCount errorCount
    tags { key value } metadata { key value }
    inputs outputs
    tokenUsage { inputTokens outputTokens totalTokens }
    cost
    spans {
      id parentId name spanType kind inputs outputs model provider attributes
      status { code message }
      events { name attributes }
      tokenUsage { inputTokens outputTokens totalTokens }
      cost
    }
  }
}"""

MODEL = "gpt-4o-mini"  # has a shipped default price
CLAUDE = "claude-3-5-haiku-20241022"


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    srv = FakeLLMServer()
    yield srv
    srv.close()


@pytest.fixture()
def tracing(cairn_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("CAIRN_TRACE_EXPORT_ENDPOINT", raising=False)
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_INTERVAL", "0.1")
    cairn.tracing.enable()
    yield cairn_env
    cairn.openai.autolog(disable=True)
    cairn.anthropic.autolog(disable=True)


def graphql(
    server: Any, query: str, variables: Dict[str, Any], workspace: Optional[str] = None
) -> Any:
    headers = {"x-cairn-workspace": workspace} if workspace else {}
    response = requests.post(
        server.url + "/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=60,
    )
    payload = response.json()
    assert not payload.get("errors"), payload["errors"]
    return payload["data"]


def wait_trace(
    server: Any, trace_id: str, spans: int, timeout: float = 30.0, workspace: Optional[str] = None
) -> Dict[str, Any]:
    """The trace once ``spans`` spans (and its root) are queryable."""
    assert cairn.flush_trace_export(timeout=timeout)
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = graphql(server, TRACE_QUERY, {"id": trace_id}, workspace)["trace"]
        if last and last["spanCount"] >= spans and last["name"]:
            return last  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise AssertionError(f"trace {trace_id} not complete after {timeout} s: {last}")
        time.sleep(0.1)


def span(trace: Dict[str, Any], name: str) -> Dict[str, Any]:
    found = [s for s in trace["spans"] if s["name"] == name]
    assert len(found) == 1, (
        f"{len(found)} span(s) named {name!r} in {[s['name'] for s in trace['spans']]}"
    )
    return found[0]


def expected_cost(server: Any, model: str, input_tokens: int, output_tokens: int) -> float:
    """The cost by the server's own price table (workspace entries first, then the defaults;
    the latest ``effectiveFrom`` at or before now), as docs/tracing.md defines it."""
    prices = graphql(
        server,
        "{ modelPrices { modelPattern inputPerMillion outputPerMillion effectiveFrom builtIn } }",
        {},
    )["modelPrices"]
    now = datetime.now(timezone.utc).timestamp() * 1000
    matching = [
        p
        for p in prices
        if re.fullmatch(p["modelPattern"], model) and _ms(p["effectiveFrom"]) <= now
    ]
    assert matching, f"no price matches {model!r}: {prices}"
    own = [p for p in matching if not p["builtIn"]]
    best = max(own or matching, key=lambda p: _ms(p["effectiveFrom"]))
    return (input_tokens * best["inputPerMillion"] + output_tokens * best["outputPerMillion"]) / 1e6


def _ms(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000


# ---------------------------------------------------------------------- the acceptance scenario


def test_three_level_chain_with_openai_autolog(
    server: Any, tracing: Any, llm: FakeLLMServer
) -> None:
    import openai

    cairn.openai.autolog()
    client = openai.OpenAI(base_url=llm.url + "/v1", api_key="sk-test-not-a-real-key")
    messages = [{"role": "user", "content": "Say hello"}]

    @cairn.trace(span_type="LLM")
    def ask(question: str) -> str:
        reply = client.chat.completions.create(model=MODEL, messages=messages, temperature=0.2)
        return reply.choices[0].message.content or ""

    @cairn.trace(span_type="LLM")
    def ask_streaming(question: str) -> str:
        stream = client.chat.completions.create(
            model=MODEL,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
        return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    @cairn.trace(span_type="CHAIN")
    def chain(question: str) -> Dict[str, str]:
        return {"plain": ask(question), "streamed": ask_streaming(question)}

    @cairn.trace(span_type="AGENT")
    def agent(question: str) -> Dict[str, str]:
        return chain(question)

    result = agent("hello?")
    assert result == {"plain": ANSWER, "streamed": ANSWER}
    trace_id = cairn.get_last_active_trace_id()
    assert trace_id is not None
    trace = wait_trace(server, trace_id, 6)

    assert trace["name"] == "agent"
    assert trace["status"] == "OK"
    assert trace["spanCount"] == 6
    root, mid = span(trace, "agent"), span(trace, "chain")
    ask_span, stream_span = span(trace, "ask"), span(trace, "ask_streaming")
    llm_spans = [s for s in trace["spans"] if s["name"] == "Completions"]
    assert len(llm_spans) == 2
    assert root["parentId"] is None
    assert mid["parentId"] == root["id"]
    assert ask_span["parentId"] == mid["id"] and stream_span["parentId"] == mid["id"]
    assert {s["parentId"] for s in llm_spans} == {ask_span["id"], stream_span["id"]}
    assert root["spanType"] == "AGENT" and mid["spanType"] == "CHAIN"
    assert ask_span["spanType"] == "LLM"
    assert trace["inputs"] == {"question": "hello?"}
    assert trace["outputs"] == {"plain": ANSWER, "streamed": ANSWER}

    cost = expected_cost(server, MODEL, PROMPT_TOKENS, COMPLETION_TOKENS)
    for llm_span in llm_spans:
        assert llm_span["spanType"] == "CHAT_MODEL"
        assert llm_span["kind"] == "CLIENT"
        assert llm_span["model"] == MODEL and llm_span["provider"] == "openai"
        assert llm_span["inputs"]["messages"] == messages
        assert llm_span["inputs"]["model"] == MODEL
        assert llm_span["tokenUsage"] == {
            "inputTokens": PROMPT_TOKENS,
            "outputTokens": COMPLETION_TOKENS,
            "totalTokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        }
        assert llm_span["cost"] == pytest.approx(cost)
        message = llm_span["outputs"]["choices"][0]["message"]
        assert message["content"] == ANSWER  # the streamed answer is captured whole
        assert message["role"] == "assistant"
    streamed = next(s for s in llm_spans if s["parentId"] == stream_span["id"])
    assert streamed["inputs"]["stream"] is True
    assert [e["name"] for e in streamed["events"]] == ["first_token"]
    assert trace["tokenUsage"]["totalTokens"] == 2 * (PROMPT_TOKENS + COMPLETION_TOKENS)
    assert trace["tokenUsage"]["inputTokens"] == 2 * PROMPT_TOKENS
    assert trace["cost"] == pytest.approx(2 * cost)
    # the API key never reaches the server (not an input; masked if it were)
    assert "sk-test-not-a-real-key" not in str(trace)


def test_openai_tool_calls_streamed_and_not(server: Any, tracing: Any, llm: FakeLLMServer) -> None:
    import openai

    cairn.openai.autolog()
    client = openai.OpenAI(base_url=llm.url + "/v1", api_key="sk-test")
    tools = [
        {
            "type": "function",
            "function": {"name": TOOL_NAME, "parameters": {"type": "object", "properties": {}}},
        }
    ]
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    with cairn.start_span("tools", span_type="AGENT"):
        reply = client.chat.completions.create(model=MODEL, messages=messages, tools=tools)
        assert reply.choices[0].message.tool_calls
        stream = client.chat.completions.create(
            model=MODEL, messages=messages, tools=tools, stream=True
        )
        for _ in stream:
            pass
    trace = wait_trace(server, cairn.get_last_active_trace_id() or "", 3)
    calls = [s for s in trace["spans"] if s["name"] == "Completions"]
    assert len(calls) == 2
    for call in calls:
        assert call["inputs"]["tools"] == tools
        choice = call["outputs"]["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        (tool_call,) = choice["message"]["tool_calls"]
        assert tool_call["id"] == "call_1"
        assert tool_call["function"] == {"name": TOOL_NAME, "arguments": TOOL_ARGUMENTS}
    streamed = next(c for c in calls if c["inputs"].get("stream"))
    assert streamed["tokenUsage"] is None or streamed["tokenUsage"]["totalTokens"] is None


def test_openai_async_stream_embeddings_and_responses(
    server: Any, tracing: Any, llm: FakeLLMServer
) -> None:
    import openai

    cairn.openai.autolog()
    sync_client = openai.OpenAI(base_url=llm.url + "/v1", api_key="sk-test")
    async_client = openai.AsyncOpenAI(base_url=llm.url + "/v1", api_key="sk-test")

    @cairn.trace(span_type="CHAIN")
    async def pipeline() -> str:
        reply = await async_client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "a"}]
        )
        stream = await async_client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "b"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        vectors = sync_client.embeddings.create(model="text-embedding-3-small", input=["x", "y"])
        assert len(vectors.data) == 2
        response = sync_client.responses.create(model=MODEL, input="hi")
        events = [
            e.type for e in sync_client.responses.create(model=MODEL, input="hi", stream=True)
        ]
        assert events[-1] == "response.completed"
        return (reply.choices[0].message.content or "") + "".join(parts) + response.output_text

    assert asyncio.run(pipeline()) == ANSWER * 3
    trace = wait_trace(server, cairn.get_last_active_trace_id() or "", 6)
    root = span(trace, "pipeline")
    chats = [s for s in trace["spans"] if s["name"] == "AsyncCompletions"]
    assert len(chats) == 2
    for chat in chats:
        assert chat["parentId"] == root["id"]
        assert chat["outputs"]["choices"][0]["message"]["content"] == ANSWER
        assert chat["tokenUsage"]["totalTokens"] == PROMPT_TOKENS + COMPLETION_TOKENS
    embedding = span(trace, "Embeddings")
    assert embedding["spanType"] == "EMBEDDING"
    assert embedding["inputs"]["input"] == ["x", "y"]
    assert embedding["tokenUsage"]["inputTokens"] == EMBEDDING_TOKENS
    assert len(embedding["outputs"]["data"]) == 2
    responses = [s for s in trace["spans"] if s["name"] == "Responses"]
    assert len(responses) == 2
    for r in responses:
        assert r["spanType"] == "CHAT_MODEL"
        assert r["outputs"]["output"][0]["content"][0]["text"] == ANSWER
        assert r["tokenUsage"]["inputTokens"] == PROMPT_TOKENS
        assert r["tokenUsage"]["outputTokens"] == COMPLETION_TOKENS
        assert r["cost"] == pytest.approx(
            expected_cost(server, MODEL, PROMPT_TOKENS, COMPLETION_TOKENS)
        )


def test_anthropic_messages(server: Any, tracing: Any, llm: FakeLLMServer) -> None:
    import anthropic

    cairn.anthropic.autolog()
    client = anthropic.Anthropic(base_url=llm.url, api_key="sk-ant-test")
    async_client = anthropic.AsyncAnthropic(base_url=llm.url, api_key="sk-ant-test")
    messages = [{"role": "user", "content": "hi"}]
    tools = [{"name": TOOL_NAME, "input_schema": {"type": "object"}}]

    async def async_calls() -> None:
        stream = await async_client.messages.create(
            model=CLAUDE, max_tokens=64, messages=messages, stream=True
        )
        async for _ in stream:
            pass

    with cairn.start_span("claude", span_type="AGENT"):
        message = client.messages.create(model=CLAUDE, max_tokens=64, messages=messages)
        assert message.content[0].text == ANSWER  # type: ignore[union-attr]
        for _ in client.messages.create(
            model=CLAUDE, max_tokens=64, messages=messages, stream=True
        ):
            pass
        for _ in client.messages.create(
            model=CLAUDE, max_tokens=64, messages=messages, tools=tools, stream=True
        ):
            pass
        with client.messages.stream(model=CLAUDE, max_tokens=64, messages=messages) as helper:
            assert "".join(helper.text_stream) == ANSWER
        asyncio.run(async_calls())
    trace = wait_trace(server, cairn.get_last_active_trace_id() or "", 6)
    calls = [s for s in trace["spans"] if s["name"] != "claude"]
    assert sorted(c["name"] for c in calls) == [
        "AsyncMessages",
        "Messages",
        "Messages",
        "Messages",
        "Messages.stream",
    ]
    for call in calls:
        assert call["spanType"] == "CHAT_MODEL"
        assert call["provider"] == "anthropic" and call["model"] == CLAUDE
        assert call["inputs"]["messages"] == messages
        assert call["tokenUsage"] == {
            "inputTokens": ANTHROPIC_INPUT_TOKENS,
            "outputTokens": ANTHROPIC_OUTPUT_TOKENS,
            "totalTokens": ANTHROPIC_INPUT_TOKENS + ANTHROPIC_OUTPUT_TOKENS,
        }
        block = call["outputs"]["content"][0]
        if call["inputs"].get("tools"):
            assert block["type"] == "tool_use" and block["name"] == TOOL_NAME
            assert block["input"] == {"city": "Paris"}
            assert call["outputs"]["stop_reason"] == "tool_use"
        else:
            assert block == {**block, "type": "text", "text": ANSWER}
            assert call["outputs"]["stop_reason"] == "end_turn"
    assert trace["tokenUsage"]["totalTokens"] == 5 * (
        ANTHROPIC_INPUT_TOKENS + ANTHROPIC_OUTPUT_TOKENS
    )


def test_autolog_disable_restores_the_client(server: Any, tracing: Any, llm: FakeLLMServer) -> None:
    import openai

    original = openai.resources.chat.completions.Completions.create
    cairn.openai.autolog()
    assert openai.resources.chat.completions.Completions.create is not original
    cairn.openai.autolog(disable=True)
    assert openai.resources.chat.completions.Completions.create is original
    client = openai.OpenAI(base_url=llm.url + "/v1", api_key="sk-test")
    with cairn.start_span("untraced-call"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    trace = wait_trace(server, cairn.get_last_active_trace_id() or "", 1)
    assert [s["name"] for s in trace["spans"]] == ["untraced-call"]


# ---------------------------------------------------------------------- trace fields, errors


def test_trace_fields_run_link_and_errors(server: Any, tracing: Any) -> None:
    class Refused(Exception):
        pass

    @cairn.trace(span_type="TOOL")
    def failing_tool() -> None:
        raise Refused("no access")

    @cairn.trace(span_type="AGENT")
    def handle(request: str) -> str:
        cairn.update_current_trace(
            tags={"team": "search"},
            metadata={"build": "42"},
            session_id="session-7",
            user_id="user-3",
            environment="staging",
        )
        try:
            failing_tool()
        except Refused:
            pass
        return "handled"

    with cairn.start_run() as run:
        handle("r1")
    trace = wait_trace(server, cairn.get_last_active_trace_id() or "", 2)
    assert trace["runId"] == run.info.run_id
    assert trace["sessionId"] == "session-7" and trace["userId"] == "user-3"
    assert trace["environment"] == "staging"
    assert {t["key"]: t["value"] for t in trace["tags"]}["team"] == "search"
    assert {m["key"]: m["value"] for m in trace["metadata"]}["build"] == "42"
    assert trace["status"] == "ERROR" and trace["errorCount"] == 1
    tool = span(trace, "failing_tool")
    assert tool["status"]["code"] == "ERROR" and "no access" in tool["status"]["message"]
    (event,) = tool["events"]
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"].endswith("Refused")
    assert event["attributes"]["exception.message"] == "no access"
    assert "raise Refused" in event["attributes"]["exception.stacktrace"]
    assert span(trace, "handle")["status"]["code"] == "OK"


def test_workspace_header_routes_traces(
    server: Any, tracing: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = f"ws-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("CAIRN_WORKSPACE", workspace)
    with cairn.start_span("in-workspace"):
        pass
    trace_id = cairn.get_last_active_trace_id() or ""
    trace = wait_trace(server, trace_id, 1, workspace=workspace)
    assert trace["name"] == "in-workspace"
    assert graphql(server, TRACE_QUERY, {"id": trace_id})["trace"] is None


# ---------------------------------------------------------------------- from outside the SDK


def _otel_provider(server: Any) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "otel-test-app"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=server.url + "/v1/traces"))
    )
    return provider


def test_plain_opentelemetry_sdk_app_protobuf(server: Any) -> None:
    from opentelemetry.trace import Status, StatusCode

    provider = _otel_provider(server)
    tracer = provider.get_tracer("acceptance-app")
    with tracer.start_as_current_span("handle-request") as root:
        root.set_attribute("session.id", "otel-session")
        with tracer.start_as_current_span("llm-call") as child:
            child.set_attribute("gen_ai.operation.name", "chat")
            child.set_attribute("gen_ai.request.model", MODEL)
            child.set_attribute("gen_ai.usage.input_tokens", 11)
            child.set_attribute("gen_ai.usage.output_tokens", 7)
            child.add_event("retry", {"attempt": 1})
            child.set_status(Status(StatusCode.ERROR, "upstream 500"))
    assert provider.force_flush(10_000)
    provider.shutdown()
    trace_id = format(root.get_span_context().trace_id, "032x")
    trace = wait_trace(server, trace_id, 2)
    assert trace["name"] == "handle-request"
    assert trace["sessionId"] == "otel-session"
    assert trace["status"] == "ERROR"
    llm_call = span(trace, "llm-call")
    assert llm_call["parentId"] == format(root.get_span_context().span_id, "016x")
    assert llm_call["spanType"] == "CHAT_MODEL"
    assert llm_call["tokenUsage"]["inputTokens"] == 11
    assert llm_call["tokenUsage"]["outputTokens"] == 7
    assert llm_call["events"][0]["name"] == "retry"
    assert llm_call["cost"] == pytest.approx(expected_cost(server, MODEL, 11, 7))


def test_openinference_instrumented_openai(server: Any, tracing: Any, llm: FakeLLMServer) -> None:
    import openai
    from openinference.instrumentation.openai import OpenAIInstrumentor

    cairn.openai.autolog(disable=True)
    provider = _otel_provider(server)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    tracer = provider.get_tracer("oi-app")
    try:
        client = openai.OpenAI(base_url=llm.url + "/v1", api_key="sk-test")
        with tracer.start_as_current_span("oi-app") as root:
            reply = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi from openinference"}]
            )
        assert reply.choices[0].message.content == ANSWER
    finally:
        instrumentor.uninstrument()
    assert provider.force_flush(10_000)
    provider.shutdown()
    trace = wait_trace(server, format(root.get_span_context().trace_id, "032x"), 2)
    assert trace["name"] == "oi-app"
    (llm_span,) = [s for s in trace["spans"] if s["name"] != "oi-app"]
    assert llm_span["parentId"] == format(root.get_span_context().span_id, "016x")
    assert "hi from openinference" in str(llm_span["inputs"])
    assert llm_span["spanType"] == "LLM"
    assert llm_span["model"] == MODEL
    assert llm_span["tokenUsage"] == {
        "inputTokens": PROMPT_TOKENS,
        "outputTokens": COMPLETION_TOKENS,
        "totalTokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }
    assert ANSWER in str(llm_span["outputs"])


def test_get_trace_and_search_traces(server: Any, tracing: Any) -> None:
    marker = uuid.uuid4().hex

    @cairn.trace(name=f"lookup-{marker}")
    def lookup() -> str:
        with cairn.start_span("inner"):
            pass
        return "ok"

    lookup()
    trace_id = cairn.get_last_active_trace_id()
    assert trace_id is not None
    trace = cairn.get_trace(trace_id)  # exports, then waits for both spans
    assert trace is not None
    assert trace["id"] == trace_id and trace["name"] == f"lookup-{marker}"
    assert trace["spanCount"] == 2
    assert sorted(s["name"] for s in trace["spans"]) == ["inner", f"lookup-{marker}"]
    assert trace["outputs"] == "ok"
    found = cairn.search_traces(f"name = 'lookup-{marker}'")
    assert [t["id"] for t in found] == [trace_id]
    assert cairn.get_trace("0" * 31 + "1", timeout=0.5) is None
