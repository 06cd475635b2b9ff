"""Evaluation end to end against the real Cairn server and a local OpenAI-compatible judge
(tests/judge_server.py: fixed verdicts chosen from the prompt text, fixed usage, 429 on demand).

The acceptance scenario of issue 14: ``evaluate`` with ``Correctness``, ``Guidelines`` and a
custom ``@scorer`` stores per-row results linked to traces (read back through GraphQL
``evaluationRun.rows`` and ``trace.assessments``) and a summary; a second run of the same inputs
with the same judge answers gives the same scores. Also: ``predict_fn`` traced concurrently,
scorer errors per row, datasets from a list, a DataFrame, CSV, JSONL and traces, feedback round
trips, and evaluating existing traces.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pandas as pd
import pytest
from conftest import CairnServer
from judge_server import JudgeServer, verdict

import cairn
from cairn.exceptions import AlreadyExistsError, NotFoundError
from cairn.genai import datasets
from cairn.genai.assessments import AssessmentSource, Feedback
from cairn.genai.scorers import Correctness, Guidelines, RegexMatch, scorer

ROW_FIELDS = """
  rowKey traceId inputs outputs expectations
  assessments { name value rationale error kind runId source { type id } }
"""
RUN_QUERY = f"""query R($runId: ID!) {{
  evaluationRun(runId: $runId) {{
    runId name experimentId datasetId datasetVersion modelId scorers rowCount
    run {{ id }}
    summary {{ name mean count errorCount }}
    rows(first: 200) {{ edges {{ node {{ {ROW_FIELDS} }} }} pageInfo {{ hasNextPage }} }}
  }}
}}"""
TRACE_QUERY = """query T($id: ID!) {
  trace(id: $id) {
    id name runId spanCount inputs outputs
    assessments { id name kind value rationale error runId source { type id } author }
  }
}"""

COMPARE_QUERY = """query C($base: ID!, $candidate: ID!) {
  compareEvaluationRuns(baseRunId: $base, candidateRunId: $candidate) {
    scorers { name baseMean candidateMean regressions improvements }
    rows { edges { node { rowKey regressed improved scores { name change } } } }
  }
}"""

CAPITALS = {"France": "Paris", "Italy": "Rome", "Spain": "Madrid"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[JudgeServer]:
    srv = JudgeServer()
    monkeypatch.setenv("CAIRN_JUDGE_BASE_URL", srv.url)
    monkeypatch.setenv("CAIRN_JUDGE_BACKOFF_INITIAL", "0.05")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield srv
    srv.close()


@pytest.fixture()
def env(cairn_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("CAIRN_TRACE_EXPORT_ENDPOINT", raising=False)
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_INTERVAL", "0.1")
    cairn.tracing.enable()
    yield cairn_env


def rows_of(server: CairnServer, run_id: str) -> Dict[str, Dict[str, Any]]:
    run = server.graphql(RUN_QUERY, {"runId": run_id})["evaluationRun"]
    assert run is not None
    return {e["node"]["rowKey"]: e["node"] for e in run["rows"]["edges"]}


def scores(row: Dict[str, Any]) -> Dict[str, Any]:
    return {a["name"]: a["value"] for a in row["assessments"]}


def capital_questions() -> List[Dict[str, Any]]:
    return [
        {
            "inputs": {"question": f"What is the capital of {country}?"},
            "expectations": {"expected_response": capital},
        }
        for country, capital in CAPITALS.items()
    ]


def test_acceptance_evaluate_stores_queryable_rows_linked_to_traces_and_is_repeatable(
    env: Any, judge: JudgeServer, server: CairnServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # the judge: correct when the response is the expected city; concise when it is one word
    judge.rules = [
        (
            "<response>\nParis\n</response> && <expected_response>\nParis",
            verdict("yes", "same city"),
        ),
        ("<response>\nRome\n</response> && <expected_response>\nRome", verdict("yes", "same city")),
        ("One word only && <response>\nParis\n</response>", verdict("yes", "one word")),
        ("One word only && <response>\nRome\n</response>", verdict("yes", "one word")),
        ("One word only", verdict("no", "more than one word")),
    ]
    judge.default = verdict("no", "different city")

    def answer(question: str) -> str:
        if "France" in question:
            return "Paris"
        if "Italy" in question:
            return "Rome"
        return "Barcelona, I think"  # wrong and wordy

    @scorer(aggregations=["min", "max"])
    def mentions_a_capital(outputs: str) -> Feedback:
        hit = any(city in outputs for city in CAPITALS.values())
        return Feedback(value=hit, rationale="names a capital" if hit else "no capital named")

    def run_once() -> Any:
        return cairn.genai.evaluate(
            capital_questions(),
            predict_fn=answer,
            scorers=[
                Correctness(),
                Guidelines(name="concise", guidelines="One word only"),
                mentions_a_capital,
            ],
            model_id="capitals-v1",
        )

    first = run_once()
    assert first.metrics["correctness/mean"] == pytest.approx(2 / 3)
    assert first.metrics["concise/mean"] == pytest.approx(2 / 3)
    assert first.metrics["mentions_a_capital/mean"] == pytest.approx(2 / 3)
    assert first.metrics["correctness/count"] == 3 and first.metrics["correctness/error_count"] == 0
    printed = capsys.readouterr().out
    assert f"Evaluation run {first.run_id} (3 rows)" in printed
    assert "correctness" in printed and "0.667" in printed

    # the run: tagged, metrics logged, registered with its scorers and model
    run = cairn.get_run(first.run_id)
    assert run.data.tags["cairn.evaluation"] == "true"
    assert run.data.metrics["correctness/mean"] == pytest.approx(2 / 3)
    assert run.data.metrics["concise/error_count"] == 0
    assert run.data.metrics["mentions_a_capital/min"] == 0
    assert run.data.metrics["mentions_a_capital/max"] == 1
    stored = server.graphql(RUN_QUERY, {"runId": first.run_id})["evaluationRun"]
    assert stored["scorers"] == ["correctness", "concise", "mentions_a_capital"]
    assert stored["modelId"] == "capitals-v1" and stored["rowCount"] == 3
    summary = {s["name"]: s for s in stored["summary"]}
    assert summary["correctness"]["mean"] == pytest.approx(2 / 3)
    assert summary["correctness"]["count"] == 3 and summary["correctness"]["errorCount"] == 0

    # per-row results, keyed by the sha256 of the canonical inputs, linked to their traces
    rows = rows_of(server, first.run_id)
    assert len(rows) == 3
    by_question = {r["inputs"]["question"]: r for r in rows.values()}
    paris = by_question["What is the capital of France?"]
    key = hashlib.sha256(b'{"question":"What is the capital of France?"}').hexdigest()
    assert paris["rowKey"] == key
    assert paris["outputs"] == "Paris"
    assert paris["expectations"] == {"expected_response": "Paris"}
    assert scores(paris) == {"correctness": "yes", "concise": "yes", "mentions_a_capital": True}
    madrid = by_question["What is the capital of Spain?"]
    assert scores(madrid) == {"correctness": "no", "concise": "no", "mentions_a_capital": False}
    rationale = {a["name"]: a for a in madrid["assessments"]}
    assert rationale["correctness"]["rationale"] == "different city"
    assert rationale["correctness"]["source"] == {"type": "LLM_JUDGE", "id": "correctness"}
    assert rationale["mentions_a_capital"]["source"] == {"type": "CODE", "id": "mentions_a_capital"}
    assert all(a["runId"] == first.run_id for a in madrid["assessments"])

    trace = server.graphql(TRACE_QUERY, {"id": paris["traceId"]})["trace"]
    assert trace["name"] == "answer" and trace["runId"] == first.run_id
    assert trace["inputs"] == {"question": "What is the capital of France?"}
    assert trace["outputs"] == "Paris"
    on_trace = {a["name"]: a for a in trace["assessments"]}
    assert (
        on_trace["correctness"]["value"] == "yes" and on_trace["correctness"]["kind"] == "FEEDBACK"
    )
    assert on_trace["correctness"]["rationale"] == "same city"
    assert on_trace["concise"]["runId"] == first.run_id

    # result_df: one row per input, a value/rationale/error column per assessment
    df = first.result_df
    assert isinstance(df, pd.DataFrame) and len(df) == 3
    assert set(df["trace_id"]) == {r["traceId"] for r in rows.values()}
    assert list(df["correctness/value"]) == ["yes", "yes", "no"]

    # the same inputs with the same judge answers: the same scores, row by row
    second = run_once()
    assert second.run_id != first.run_id
    assert second.metrics == first.metrics
    again = rows_of(server, second.run_id)
    assert set(again) == set(rows)
    for key, row in rows.items():
        assert scores(again[key]) == scores(row)
        assert again[key]["traceId"] != row["traceId"]  # a new trace per call
    compared = server.graphql(COMPARE_QUERY, {"base": first.run_id, "candidate": second.run_id})[
        "compareEvaluationRuns"
    ]
    assert {(s["name"], s["regressions"], s["improvements"]) for s in compared["scorers"]} == {
        ("correctness", 0, 0),
        ("concise", 0, 0),
        ("mentions_a_capital", 0, 0),
    }
    changes = [c["change"] for e in compared["rows"]["edges"] for c in e["node"]["scores"]]
    assert len(changes) == 9 and set(changes) == {"UNCHANGED"}


def test_predict_fn_is_traced_concurrently_in_a_bounded_pool(
    env: Any, judge: JudgeServer, server: CairnServer, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = threading.Lock()
    running = [0]
    peak = [0]
    calls: List[float] = []

    @cairn.trace(span_type="TOOL")
    def lookup(n: int) -> int:
        return n * 2

    def predict(n: int) -> str:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            calls.append(time.monotonic())
        time.sleep(0.15)
        with lock:
            running[0] -= 1
            calls.append(time.monotonic())
        return f"double is {lookup(n)}"

    result = cairn.genai.evaluate(
        [{"inputs": {"n": n}} for n in range(8)],
        predict_fn=predict,
        scorers=[RegexMatch(r"^double is \d+$", name="format")],
        max_workers=3,
    )
    assert peak[0] == 3  # bounded by max_workers, and used
    assert max(calls) - min(calls) < 8 * 0.15  # concurrent, not one after the other
    assert result.metrics["format/mean"] == 1.0
    assert "Evaluating" in capsys.readouterr().err  # progress output
    rows = rows_of(server, result.run_id)
    assert len(rows) == 8
    trace_ids = {r["traceId"] for r in rows.values()}
    assert len(trace_ids) == 8
    for row in rows.values():
        trace = cairn.get_trace(row["traceId"])
        assert trace is not None
        assert trace["name"] == "predict" and trace["runId"] == result.run_id
        assert trace["spanCount"] == 2  # predict → lookup, one tree per row
        n = row["inputs"]["n"]
        assert row["outputs"] == f"double is {n * 2}"
        assert {s["name"] for s in trace["spans"]} == {"predict", "lookup"}


def test_scorer_errors_are_recorded_per_row_and_the_judge_retries_429(
    env: Any, judge: JudgeServer, server: CairnServer
) -> None:
    judge.rules = [
        ("<response>\nbroken", "this is not JSON"),
        ("", verdict("yes", "fine")),
    ]
    judge.fail_next = [(429, "0.2")]

    @scorer
    def picky(inputs: Dict[str, Any], outputs: str) -> bool:
        if inputs["i"] == 1:
            raise RuntimeError("cannot score row 1")
        return True

    data = [
        {"inputs": {"i": 0}, "outputs": "good answer"},
        {"inputs": {"i": 1}, "outputs": "another good answer"},
        {"inputs": {"i": 2}, "outputs": "broken answer"},
    ]
    result = cairn.genai.evaluate(
        data, scorers=[Guidelines(guidelines="Be helpful"), picky], max_workers=1
    )
    assert result.metrics["guidelines/count"] == 3  # scores recorded, errors included
    assert result.metrics["guidelines/error_count"] == 1
    assert result.metrics["picky/error_count"] == 1
    assert result.metrics["picky/mean"] == 1.0
    assert judge.requests[0]["body"]["model"] == "gpt-4o-mini"
    assert len(judge.requests) == 4  # three rows, one of them retried after the 429
    rows = {r["inputs"]["i"]: r for r in rows_of(server, result.run_id).values()}
    assert len(rows) == 3
    picky_1 = next(a for a in rows[1]["assessments"] if a["name"] == "picky")
    assert picky_1["value"] is None and picky_1["error"] == "RuntimeError: cannot score row 1"
    judge_2 = next(a for a in rows[2]["assessments"] if a["name"] == "guidelines")
    assert judge_2["value"] is None and "this is not JSON" in judge_2["error"]
    summary = {
        s["name"]: s
        for s in server.graphql(RUN_QUERY, {"runId": result.run_id})["evaluationRun"]["summary"]
    }
    assert summary["guidelines"]["errorCount"] == 1 and summary["guidelines"]["count"] == 3
    assert summary["guidelines"]["mean"] == 1.0
    # given outputs get a trace each, so every result links to one
    for row in rows.values():
        trace = server.graphql(TRACE_QUERY, {"id": row["traceId"]})["trace"]
        assert trace["inputs"] == row["inputs"] and trace["outputs"] == row["outputs"]


def _traced(question: str, reply: str) -> str:
    with cairn.start_span("chat", span_type="CHAIN") as span:
        span.set_inputs({"question": question})
        span.set_outputs(reply)
        trace_id = span.trace_id
    return trace_id


def test_feedback_round_trip(env: Any, server: CairnServer) -> None:
    trace_id = _traced("Is it raining?", "Yes")
    cairn.flush_trace_export()
    human = AssessmentSource(source_type="HUMAN", source_id="ana@example.com")
    fb = cairn.log_feedback(
        trace_id=trace_id,
        name="helpful",
        value=False,
        rationale="too short",
        source=human,
        metadata={"ui": "thumbs"},
    )
    assert (fb.trace_id, fb.name, fb.kind, fb.value) == (trace_id, "helpful", "FEEDBACK", False)
    assert fb.rationale == "too short" and fb.source == human and fb.metadata == {"ui": "thumbs"}
    exp = cairn.log_expectation(trace_id=trace_id, name="expected_response", value="No, sunny")
    assert exp.kind == "EXPECTATION" and exp.value == "No, sunny"
    updated = cairn.update_assessment(
        fb.assessment_id, value=True, rationale="on second thought", source=human
    )
    assert updated.value is True and updated.rationale == "on second thought"
    assert [h.value for h in updated.history] == [False]
    listed = {a.name: a for a in cairn.get_assessments(trace_id=trace_id)}
    assert listed["helpful"].value is True and listed["expected_response"].value == "No, sunny"
    on_trace = server.graphql(TRACE_QUERY, {"id": trace_id})["trace"]["assessments"]
    assert {a["name"]: a["value"] for a in on_trace} == {
        "helpful": True,
        "expected_response": "No, sunny",
    }
    assert next(a for a in on_trace if a["name"] == "helpful")["source"] == {
        "type": "HUMAN",
        "id": "ana@example.com",
    }
    # MLflow's call shape: trace id, assessment id, a Feedback
    again = cairn.update_assessment(
        trace_id=trace_id, assessment_id=fb.assessment_id, assessment=Feedback(value=False)
    )
    assert again.value is False and [h.value for h in again.history] == [False, True]
    with pytest.raises(NotFoundError):
        cairn.update_assessment(
            trace_id=_traced("other", "x"), assessment_id=fb.assessment_id, value=1
        )
    cairn.genai.delete_assessment(fb.assessment_id, trace_id=trace_id)
    assert [a.name for a in cairn.get_assessments(trace_id=trace_id)] == ["expected_response"]


def test_datasets_from_lists_frames_files_and_traces_then_evaluated(
    env: Any, judge: JudgeServer, server: CairnServer, tmp_path: Path
) -> None:
    name = unique("capitals")
    ds = datasets.create_dataset(name, tags={"team": "search"})
    assert (ds.name, ds.version, ds.record_count, ds.tags) == (name, 0, 0, {"team": "search"})
    with pytest.raises(AlreadyExistsError):
        datasets.create_dataset(name)

    ds.merge_records(capital_questions()[:1])
    assert ds.version == 1 and ds.record_count == 1
    ds.merge_records(pd.DataFrame([{"question": "Capital of Italy?", "expected_response": "Rome"}]))
    assert ds.version == 2
    csv_path = tmp_path / "more.csv"
    csv_path.write_text(
        'question,expected_facts\nCapital of Spain?,"[""Madrid""]"\n', encoding="utf-8"
    )
    ds.merge_records(str(csv_path))
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text(
        json.dumps({"inputs": {"question": "Capital of Peru?"}, "tags": {"split": "test"}}) + "\n",
        encoding="utf-8",
    )
    ds.merge_records(jsonl)
    assert ds.version == 4 and ds.record_count == 4

    trace_id = _traced("Capital of Japan?", "Tokyo")
    cairn.flush_trace_export()
    cairn.log_expectation(trace_id=trace_id, name="expected_response", value="Tokyo")
    ds.merge_records([trace_id])
    assert ds.version == 5 and ds.record_count == 5

    records = ds.records
    assert [r.version for r in records] == [1, 2, 3, 4, 5]
    assert records[1].inputs == {"question": "Capital of Italy?"}
    assert records[2].expectations == {"expected_facts": ["Madrid"]}
    assert records[3].tags == {"split": "test"}
    assert records[4].inputs == {"question": "Capital of Japan?"}
    assert records[4].expectations == {"expected_response": "Tokyo"}
    assert records[4].source_trace_id == trace_id
    assert len(ds.records_at(2)) == 2
    df = ds.to_df()
    assert list(df["version"]) == [1, 2, 3, 4, 5] and "inputs" in df.columns

    again = datasets.get_dataset(name=name)
    assert (again.dataset_id, again.version, again.record_count) == (ds.dataset_id, 5, 5)
    assert datasets.get_dataset(dataset_id=ds.dataset_id).name == name
    assert [d.name for d in datasets.search_datasets(name_contains=name)] == [name]
    with pytest.raises(NotFoundError):
        datasets.get_dataset(name=unique("missing"))

    judge.default = verdict("yes", "ok")
    result = cairn.genai.evaluate(
        ds, predict_fn=lambda question: "An answer", scorers=[Guidelines(guidelines="Be kind")]
    )
    stored = server.graphql(RUN_QUERY, {"runId": result.run_id})["evaluationRun"]
    assert stored["datasetId"] == ds.dataset_id and stored["datasetVersion"] == 5
    assert stored["rowCount"] == 5
    assert result.metrics["guidelines/mean"] == 1.0


def test_evaluate_existing_traces_uses_their_outputs_and_expectations(
    env: Any, judge: JudgeServer, server: CairnServer
) -> None:
    right = _traced("2+2?", "4")
    wrong = _traced("3+3?", "7")
    cairn.flush_trace_export()
    cairn.log_expectation(trace_id=right, name="expected_response", value="4")
    cairn.log_expectation(trace_id=wrong, name="expected_response", value="6")

    @scorer
    def exact(outputs: str, expectations: Dict[str, Any]) -> bool:
        return outputs == expectations["expected_response"]

    fresh = _traced("1+1?", "2")  # just ended: evaluate waits until the server lists it
    result = cairn.genai.evaluate(
        [right, wrong, {"trace": fresh, "expectations": {"expected_response": "2"}}],
        scorers=[exact],
    )
    assert result.metrics["exact/mean"] == pytest.approx(2 / 3)
    rows = {r["traceId"]: r for r in rows_of(server, result.run_id).values()}
    assert set(rows) == {right, wrong, fresh}
    assert rows[fresh]["outputs"] == "2" and rows[fresh]["expectations"] == {
        "expected_response": "2"
    }
    assert scores(rows[right]) == {"exact": True} and scores(rows[wrong]) == {"exact": False}
    assert rows[right]["inputs"] == {"question": "2+2?"}


def test_trace_scorers_see_the_predict_trace_and_an_active_run_is_used(
    env: Any, judge: JudgeServer, server: CairnServer
) -> None:
    judge.rules = [
        ("[1] Paris is the capital of France. && <response>\nParis", verdict("yes", "grounded"))
    ]

    async def rag(question: str) -> str:
        with cairn.start_span("retrieve", span_type="RETRIEVER") as span:
            span.set_inputs({"query": question})
            span.set_outputs([{"page_content": "Paris is the capital of France."}])
        return "Paris"

    with cairn.start_run(run_name="outer") as outer:
        result = cairn.genai.evaluate(
            [{"inputs": {"question": "Capital of France?"}}],
            predict_fn=rag,  # a coroutine function: run per row
            scorers=[
                cairn.genai.scorers.RetrievalGroundedness(),
                cairn.genai.scorers.LatencyBudget(max_ms=5_000),
                cairn.genai.scorers.TokenBudget(max_tokens=10),
            ],
        )
        assert result.run_id == outer.info.run_id  # the active run is the evaluation run
        assert cairn.active_run() is not None  # and it is left running
    assert result.metrics["retrieval_groundedness/mean"] == 1.0
    assert result.metrics["latency_budget/mean"] == 1.0
    [row] = rows_of(server, result.run_id).values()
    trace = cairn.get_trace(row["traceId"])
    assert trace is not None and trace["name"] == "rag" and trace["spanCount"] == 2
    rationale = {a["name"]: a["rationale"] for a in row["assessments"]}
    assert rationale["token_budget"] == "0 tokens (budget 10) (no token usage recorded)"
    assert cairn.get_run(result.run_id).data.tags["cairn.evaluation"] == "true"


def test_server_side_bad_input(
    env: Any, server: CairnServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cairn.genai import evaluation

    monkeypatch.setattr(evaluation, "TRACE_WAIT_SECONDS", 0.3)
    missing = "0" * 31 + "1"
    with pytest.raises(NotFoundError):
        cairn.genai.evaluate([missing], scorers=[RegexMatch("x")])
    with pytest.raises(NotFoundError):
        cairn.log_feedback(trace_id=missing, name="helpful", value=True)
    assert cairn.active_run() is None  # nothing was started


def test_many_rows_are_recorded_in_batches_and_repeated_inputs_stay_distinct(
    env: Any, server: CairnServer
) -> None:
    data = [{"inputs": {"n": 0}, "outputs": "0"}] + [
        {"inputs": {"n": n}, "outputs": str(n)} for n in range(205)
    ]  # 206 rows, the first two with the same inputs
    result = cairn.genai.evaluate(data, scorers=[RegexMatch(r"^\d$", name="one_digit")])
    assert result.metrics["one_digit/mean"] == pytest.approx(11 / 206)
    stored = server.graphql(RUN_QUERY, {"runId": result.run_id})["evaluationRun"]
    assert stored["rowCount"] == 206
    summary = {s["name"]: s for s in stored["summary"]}
    assert summary["one_digit"]["count"] == 206
    assert summary["one_digit"]["mean"] == pytest.approx(11 / 206)
    keys = [row["row_key"] for row in result.rows]
    assert len(set(keys)) == 206
    assert keys[0] == hashlib.sha256(b'{"n":0}').hexdigest()
    assert keys[1] == hashlib.sha256(b'{"n":0}#2').hexdigest()


def test_token_budget_reads_the_autologged_llm_calls_of_the_predict_trace(
    env: Any, server: CairnServer
) -> None:
    import openai
    from llm_server import ANSWER, COMPLETION_TOKENS, PROMPT_TOKENS, FakeLLMServer

    llm = FakeLLMServer()
    cairn.openai.autolog()
    try:
        client = openai.OpenAI(base_url=llm.url + "/v1", api_key="sk-test")

        def chat(question: str) -> str:
            reply = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
            )
            return str(reply.choices[0].message.content)

        total = PROMPT_TOKENS + COMPLETION_TOKENS
        result = cairn.genai.evaluate(
            [{"inputs": {"question": "Hi?"}}],
            predict_fn=chat,
            scorers=[
                cairn.genai.scorers.TokenBudget(max_tokens=total - 1, name="tight"),
                cairn.genai.scorers.TokenBudget(max_tokens=total, name="enough"),
            ],
        )
    finally:
        cairn.openai.autolog(disable=True)
        llm.close()
    assert result.metrics["tight/mean"] == 0.0 and result.metrics["enough/mean"] == 1.0
    [row] = rows_of(server, result.run_id).values()
    assert row["outputs"] == ANSWER
    rationale = {a["name"]: a["rationale"] for a in row["assessments"]}
    assert rationale["tight"] == f"{total} tokens (budget {total - 1})"
    trace = cairn.get_trace(row["traceId"])
    assert trace is not None and trace["tokenUsage"]["totalTokens"] == total


def test_a_failed_write_ends_the_run_failed_and_raises(
    env: Any, server: CairnServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cairn.genai import evaluation
    from cairn.genai._trace import Trace, TraceData, TraceInfo

    monkeypatch.setattr(evaluation, "TRACE_WAIT_SECONDS", 0.3)
    unknown = Trace(TraceInfo("0" * 31 + "2", 1.0, {}), TraceData([]))  # not on the server
    with pytest.raises(NotFoundError) as info:
        cairn.genai.evaluate(
            [{"inputs": {"q": 1}, "outputs": "x", "trace": unknown}],
            scorers=[RegexMatch("x")],
            run_name="doomed",
        )
    assert "0" * 31 + "2" in info.value.message
    assert cairn.active_run() is None
    run = cairn.last_active_run()
    assert run is not None and run.info.run_name == "doomed" and run.info.status == "FAILED"
    assert run.data.tags["cairn.evaluation"] == "true"
