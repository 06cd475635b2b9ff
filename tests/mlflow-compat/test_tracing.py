"""@mlflow.trace and mlflow.openai.autolog() against Cairn: spans over OTLP, the trace info over
/api/3.0/mlflow/traces; read back with mlflow.get_trace and mlflow.search_traces."""

from __future__ import annotations

from typing import Any

import mlflow


TRACE_QUERY = """query($id: ID!) { trace(id: $id) {
  name status spanCount tags { key value } metadata { key value }
  spans { name spanType parentId inputs outputs }
  tokenUsage { inputTokens outputTokens totalTokens } } }"""


def test_trace_decorator_roundtrip(mlflow_env: Any, client: Any, server: Any) -> None:
    @mlflow.trace(span_type="TOOL")
    def add(a: int, b: int) -> int:
        return a + b

    @mlflow.trace(name="pipeline")
    def pipeline(x: int) -> int:
        return add(x, 1) * 2

    assert pipeline(3) == 8
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None and trace_id.startswith("tr-")

    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    assert trace.info.trace_id == trace_id
    assert trace.info.experiment_id == mlflow_env.experiment_id
    assert trace.info.state.value == "OK"
    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"pipeline", "add"}
    assert spans["add"].parent_id == spans["pipeline"].span_id
    assert spans["add"].span_type == "TOOL"
    assert spans["add"].inputs == {"a": 3, "b": 1}
    assert spans["add"].outputs == 4
    assert spans["pipeline"].outputs == 8

    # The same trace in Cairn's own API (what the dashboard shows).
    cairn = server.graphql(TRACE_QUERY, {"id": trace_id[3:]})["trace"]
    assert cairn["name"] == "pipeline" and cairn["status"] == "OK" and cairn["spanCount"] == 2
    by_name = {s["name"]: s for s in cairn["spans"]}
    assert by_name["add"]["spanType"] == "TOOL" and by_name["add"]["inputs"] == {"a": 3, "b": 1}
    assert {"key": "mlflow.experimentId", "value": mlflow_env.experiment_id} in cairn["metadata"]

    found = mlflow.search_traces(locations=[mlflow_env.experiment_id], return_type="list")
    assert [t.info.trace_id for t in found] == [trace_id]
    df = mlflow.search_traces(locations=[mlflow_env.experiment_id])
    assert list(df["trace_id"]) == [trace_id]

    client.set_trace_tag(trace_id, "reviewed", "yes")
    assert client.get_trace(trace_id).info.tags["reviewed"] == "yes"
    client.delete_trace_tag(trace_id, "reviewed")
    assert "reviewed" not in client.get_trace(trace_id).info.tags
    assert client.delete_traces(mlflow_env.experiment_id, trace_ids=[trace_id]) == 1
    assert mlflow.search_traces(locations=[mlflow_env.experiment_id], return_type="list") == []


def test_failing_function_is_an_error_trace(mlflow_env: Any) -> None:
    @mlflow.trace
    def broken() -> None:
        raise ValueError("boom")

    try:
        broken()
    except ValueError:
        pass
    trace_id = mlflow.get_last_active_trace_id()

    @mlflow.trace
    def fine() -> int:
        return 1

    fine()
    ok_id = mlflow.get_last_active_trace_id()
    assert mlflow.get_trace(trace_id).info.state.value == "ERROR"
    failed = mlflow.search_traces(
        locations=[mlflow_env.experiment_id],
        filter_string="attributes.status = 'ERROR'",
        return_type="list",
    )
    assert [t.info.trace_id for t in failed] == [trace_id]
    newest_first = mlflow.search_traces(
        locations=[mlflow_env.experiment_id], order_by=["timestamp_ms DESC"], return_type="list"
    )
    assert [t.info.trace_id for t in newest_first] == [ok_id, trace_id]
    oldest_first = mlflow.search_traces(
        locations=[mlflow_env.experiment_id],
        order_by=["timestamp_ms ASC"],
        max_results=1,
        return_type="list",
    )
    assert [t.info.trace_id for t in oldest_first] == [trace_id]


def test_openai_autolog(mlflow_env: Any, llm_server: Any, server: Any) -> None:
    import openai
    from llm_server import ANSWER, COMPLETION_TOKENS, PROMPT_TOKENS

    mlflow.openai.autolog()
    try:
        oai = openai.OpenAI(base_url=llm_server.url + "/v1", api_key="test-key", max_retries=0)
        answer = oai.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}]
        )
    finally:
        mlflow.openai.autolog(disable=True)
    assert answer.choices[0].message.content == ANSWER
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    trace = mlflow.get_trace(trace_id)
    assert trace is not None and trace.info.experiment_id == mlflow_env.experiment_id
    [span] = trace.data.spans
    assert span.span_type == "CHAT_MODEL"
    assert span.inputs["messages"] == [{"role": "user", "content": "Say hello"}]
    assert span.outputs["choices"][0]["message"]["content"] == ANSWER
    usage = trace.info.token_usage
    assert usage is not None
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (
        PROMPT_TOKENS,
        COMPLETION_TOKENS,
        PROMPT_TOKENS + COMPLETION_TOKENS,
    )
    cairn = server.graphql(TRACE_QUERY, {"id": trace_id[3:]})["trace"]
    assert cairn["spans"][0]["spanType"] == "CHAT_MODEL"
    # Cairn reads the span's mlflow.chat.tokenUsage, so its rollups count the call too.
    assert cairn["tokenUsage"] == {
        "inputTokens": PROMPT_TOKENS,
        "outputTokens": COMPLETION_TOKENS,
        "totalTokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }
