"""LangChain and LlamaIndex autologging against the real Cairn server (LangChain's ChatOpenAI
talks to the local fake LLM server; LlamaIndex uses its shipped mock LLM and embeddings)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

import cairn
from llm_server import ANSWER, COMPLETION_TOKENS, PROMPT_TOKENS, FakeLLMServer
from test_tracing_server import MODEL, expected_cost, span, wait_trace


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
    cairn.langchain.autolog(disable=True)
    cairn.llama_index.autolog(disable=True)


def test_langchain_chain_tool_and_chat_model(server: Any, tracing: Any, llm: FakeLLMServer) -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    cairn.langchain.autolog()

    @tool
    def get_weather(city: str) -> str:
        """The weather of a city."""
        return f"sunny in {city}"

    model = ChatOpenAI(model=MODEL, base_url=llm.url + "/v1", api_key="sk-test")  # type: ignore[arg-type]
    chain = (
        ChatPromptTemplate.from_messages([("user", "Tell me about {topic}")])
        | model
        | StrOutputParser()
    )

    @cairn.trace(span_type="AGENT")
    def app(topic: str) -> str:
        answer = chain.invoke({"topic": topic})
        return answer + " / " + get_weather.invoke({"city": "Paris"})

    assert app("Paris") == ANSWER + " / sunny in Paris"
    trace = wait_trace(server, cairn.get_last_active_trace_id() or "", 6)
    root = span(trace, "app")
    sequence = span(trace, "RunnableSequence")
    assert sequence["parentId"] == root["id"] and sequence["spanType"] == "CHAIN"
    assert sequence["inputs"] == {"topic": "Paris"}
    assert sequence["outputs"] == ANSWER
    for child in ("ChatPromptTemplate", "ChatOpenAI", "StrOutputParser"):
        assert span(trace, child)["parentId"] == sequence["id"]
    chat = span(trace, "ChatOpenAI")
    assert chat["spanType"] == "CHAT_MODEL"
    assert chat["inputs"]["messages"] == [{"role": "user", "content": "Tell me about Paris"}]
    assert chat["outputs"]["generations"][0]["content"] == ANSWER
    assert chat["model"] == MODEL
    assert chat["tokenUsage"] == {
        "inputTokens": PROMPT_TOKENS,
        "outputTokens": COMPLETION_TOKENS,
        "totalTokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }
    assert chat["cost"] == pytest.approx(
        expected_cost(server, MODEL, PROMPT_TOKENS, COMPLETION_TOKENS)
    )
    weather = span(trace, "get_weather")
    assert weather["spanType"] == "TOOL" and weather["parentId"] == root["id"]
    assert weather["inputs"] == {"city": "Paris"} and weather["outputs"] == "sunny in Paris"
    assert trace["tokenUsage"]["totalTokens"] == PROMPT_TOKENS + COMPLETION_TOKENS


def test_langchain_errors_and_disable(server: Any, tracing: Any) -> None:
    from langchain_core.runnables import RunnableLambda

    def explode(x: int) -> int:
        raise ValueError(f"bad {x}")

    cairn.langchain.autolog()
    with cairn.start_span("outer"):
        with pytest.raises(ValueError):
            RunnableLambda(explode).invoke(1)
    trace = wait_trace(server, cairn.get_last_active_trace_id() or "", 2)
    failed = span(trace, "explode")
    assert failed["status"]["code"] == "ERROR"
    assert failed["events"][0]["attributes"]["exception.message"] == "bad 1"

    cairn.langchain.autolog(disable=True)
    with cairn.start_span("outer-untraced"):
        assert RunnableLambda(lambda x: x + 1).invoke(1) == 2
    trace = wait_trace(server, cairn.get_last_active_trace_id() or "", 1)
    assert [s["name"] for s in trace["spans"]] == ["outer-untraced"]


def test_llama_index_query_engine(server: Any, tracing: Any) -> None:
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding
    from llama_index.core.llms import MockLLM

    cairn.llama_index.autolog()
    Settings.embed_model = MockEmbedding(embed_dim=8)
    Settings.llm = MockLLM(max_tokens=5)
    index = VectorStoreIndex.from_documents(
        [Document(text="Paris is in France."), Document(text="Berlin is in Germany.")]
    )

    @cairn.trace(span_type="AGENT")
    def ask(question: str) -> str:
        return str(index.as_query_engine().query(question))

    answer = ask("Where is Paris?")
    assert answer.strip()
    trace = wait_trace(server, cairn.get_last_active_trace_id() or "", 5)
    root = span(trace, "ask")
    query = span(trace, "RetrieverQueryEngine.query")
    assert query["parentId"] == root["id"]
    assert query["inputs"]["str_or_query_bundle"] == "Where is Paris?"
    retrieve = span(trace, "VectorIndexRetriever.retrieve")
    assert retrieve["spanType"] == "RETRIEVER"
    assert len(retrieve["outputs"]) == 2
    by_id = {s["id"]: s for s in trace["spans"]}
    # every span is in the tree under the root
    for s in trace["spans"]:
        node = s
        while node["parentId"] is not None:
            node = by_id[node["parentId"]]
        assert node["id"] == root["id"]
    types = {s["spanType"] for s in trace["spans"]}
    assert {"AGENT", "CHAIN", "RETRIEVER", "EMBEDDING", "LLM"} <= types
    llm_span = next(s for s in trace["spans"] if s["name"] == "MockLLM.complete")
    assert llm_span["outputs"]["text"] == answer.strip()
