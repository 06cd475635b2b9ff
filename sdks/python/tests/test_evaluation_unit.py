"""Evaluation, client side, without a Cairn server: judge answer parsing, the judge HTTP call
against a local OpenAI-compatible judge (retries, Retry-After), every scorer, ``@scorer``,
``make_judge``, dataset record normalization (list, DataFrame, CSV, JSONL, traces), the value
model and aggregation, progress output, and ``evaluate``'s typed errors for bad input (raised
before any request: the tracking URI points at a port nobody listens on)."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pytest
from conftest import free_port
from judge_server import JudgeServer, verdict

import cairn
from cairn.exceptions import InvalidArgumentError
from cairn.genai import judges as J
from cairn.genai import scorers as S
from cairn.genai._trace import SpanView, Trace, TraceData, TraceInfo
from cairn.genai.assessments import AssessmentSource, Feedback
from cairn.genai.datasets import _normalize
from cairn.genai.evaluation import (
    _assign_row_keys,
    _extra_aggregations,
    _Progress,
    _Row,
    _row_input,
    aggregate,
    numeric,
    row_key,
    summary_table,
)


@pytest.fixture()
def judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[JudgeServer]:
    srv = JudgeServer()
    monkeypatch.setenv("CAIRN_JUDGE_BASE_URL", srv.url)
    monkeypatch.setenv("CAIRN_JUDGE_BACKOFF_INITIAL", "0.05")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield srv
    srv.close()


def a_trace(duration_ms: float = 120.0, tokens: int = 0, retrieved: Any = None) -> Trace:
    spans = [
        SpanView("s1", "agent", "CHAIN", None, {"q": "x"}, "out", {}, 0, int(duration_ms * 1e6))
    ]
    if retrieved is not None:
        spans.append(SpanView("s2", "retrieve", "RETRIEVER", "s1", {}, retrieved, {}, 10, 20))
    usage = (
        {"input_tokens": tokens - 5, "output_tokens": 5, "total_tokens": tokens} if tokens else {}
    )
    return Trace(TraceInfo("t" * 32, duration_ms, usage), TraceData(spans))


# ---------------------------------------------------------------------- judge answers


@pytest.mark.parametrize(
    ("text", "value", "rationale"),
    [
        ('{"result": "yes", "rationale": "fine"}', "yes", "fine"),
        ('{"result": "No", "rationale": "wrong"}', "no", "wrong"),
        ('```json\n{"result": "YES", "rationale": "r"}\n```', "yes", "r"),
        ('Here you go: {"result": true, "rationale": "t"} hope it helps', "yes", "t"),
        ('{"result": false}', "no", None),
        ('{"result": 4, "rationale": "four"}', 4, "four"),
        ('{"result": "0.75", "rationale": "x"}', 0.75, "x"),
        ('{"result": " Yes. ", "rationale": "x"}', "yes", "x"),
    ],
)
def test_parse_answer(text: str, value: Any, rationale: Any) -> None:
    assert J.parse_answer(text) == (value, rationale)


@pytest.mark.parametrize(
    "text", ["I think yes", '{"verdict": "yes"}', "[1, 2]", '{"result": "maybe"}', ""]
)
def test_parse_answer_refuses_what_it_cannot_read_and_keeps_the_raw_text(text: str) -> None:
    with pytest.raises(J.JudgeError) as info:
        J.parse_answer(text)
    assert info.value.raw == text
    assert info.value.code == "JUDGE_FAILED"


def test_parse_answer_allow_any_keeps_labels() -> None:
    assert J.parse_answer('{"result": "formal", "rationale": "r"}', allow_any=True) == (
        "formal",
        "r",
    )


def test_model_uris() -> None:
    assert J.parse_model_uri("openai:/gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert J.parse_model_uri("openai:gpt-4.1") == ("openai", "gpt-4.1")
    for bad in ["", "gpt-4o-mini", "anthropic:/claude", None, 3]:
        with pytest.raises(InvalidArgumentError):
            J.parse_model_uri(bad)
    with pytest.raises(InvalidArgumentError):
        S.Correctness(model="bedrock:/x")


# ---------------------------------------------------------------------- the judge call


def test_judge_call_sends_a_deterministic_request(judge: JudgeServer) -> None:
    judge.rules = [("<response>\nParis", verdict("yes", "matches"))]
    fb = S.Correctness(model="openai:/judge-model")(
        inputs={"question": "Capital of France?", "lang": "en"},
        outputs="Paris",
        expectations={"expected_response": "Paris"},
    )
    assert isinstance(fb, Feedback)
    assert (fb.name, fb.value, fb.rationale) == ("correctness", "yes", "matches")
    assert fb.source == AssessmentSource("LLM_JUDGE", "correctness")
    assert fb.metadata["usage"] == {"input_tokens": 50, "output_tokens": 10, "total_tokens": 60}
    body = judge.requests[0]["body"]
    assert body["model"] == "judge-model" and body["temperature"] == 0
    # the same inputs in another key order give the same prompt
    S.Correctness(model="openai:/judge-model")(
        inputs={"lang": "en", "question": "Capital of France?"},
        outputs="Paris",
        expectations={"expected_response": "Paris"},
    )
    first, second = judge.prompts()
    assert first == second and "<expected_response>\nParis" in first


def test_judge_retries_429_honouring_retry_after(judge: JudgeServer) -> None:
    judge.rules = [("", verdict("yes", "ok"))]
    judge.fail_next = [(429, "0.4")]
    started = time.monotonic()
    answer = J.judge("openai:/m", "prompt")
    assert time.monotonic() - started >= 0.4
    assert (answer.value, answer.attempts) == ("yes", 2)
    assert len(judge.requests) == 2


def test_judge_gives_up_after_three_5xx_and_does_not_retry_4xx(judge: JudgeServer) -> None:
    judge.fail_next = [(503, None)] * 3 + [(400, None)]
    with pytest.raises(J.JudgeError) as info:
        J.judge("openai:/m", "prompt")
    assert info.value.http_status == 503 and info.value.details["attempts"] == 3
    with pytest.raises(J.JudgeError) as info:
        J.judge("openai:/m", "prompt")
    assert info.value.http_status == 400 and info.value.details["attempts"] == 1
    assert len(judge.requests) == 4


def test_unreachable_judge_is_a_scorer_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_JUDGE_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("CAIRN_JUDGE_BACKOFF_INITIAL", "0.01")
    [fb] = S.Safety().run(outputs="hello")
    assert fb.value is None and fb.error is not None and "failed after 3 attempt" in fb.error


def test_unparseable_judge_answer_is_a_scorer_error_with_the_raw_text(judge: JudgeServer) -> None:
    judge.default = "I would say it is mostly fine."
    [fb] = S.RelevanceToQuery().run(inputs={"q": "hi"}, outputs="hello")
    assert fb.value is None and fb.name == "relevance_to_query"
    assert "I would say it is mostly fine." in str(fb.error)
    with pytest.raises(J.JudgeError):
        S.RelevanceToQuery()(inputs={"q": "hi"}, outputs="hello")


def test_every_builtin_judge_builds_its_prompt(judge: JudgeServer) -> None:
    judge.default = verdict("yes", "ok")
    trace = a_trace(retrieved=[{"page_content": "Paris is the capital."}, "Second doc"])
    row = {
        "inputs": {"question": "Capital?"},
        "outputs": {"choices": [{"message": {"content": "Paris"}}]},
        "expectations": {
            "expected_facts": ["Paris is the capital"],
            "guidelines": ["Answer in one word"],
        },
        "trace": trace,
    }
    built = [
        S.Correctness(),
        S.Guidelines(name="brief", guidelines=["Be brief", "No emojis"]),
        S.ExpectationsGuidelines(),
        S.RelevanceToQuery(),
        S.Safety(),
        S.RetrievalGroundedness(),
        S.RetrievalRelevance(),
        S.RetrievalSufficiency(),
    ]
    for item in built:
        [fb] = item.run(**row)
        expected = 1.0 if isinstance(item, S.RetrievalRelevance) else "yes"
        assert fb.value == expected, (item, fb.error)
    prompts = judge.prompts()
    assert len(prompts) == 9  # RetrievalRelevance asks once per document
    assert "- Paris is the capital" in prompts[0]  # expected facts
    assert "- Be brief\n- No emojis" in prompts[1]
    assert "- Answer in one word" in prompts[2]
    assert "<response>\nParis\n</response>" in prompts[3]  # a chat completion's text
    assert "[1] Paris is the capital.\n[2] Second doc" in prompts[5]


def test_get_all_scorers() -> None:
    names = [s.name for s in S.get_all_scorers(model="openai:/m")]
    assert names == [
        "correctness",
        "expectations_guidelines",
        "relevance_to_query",
        "retrieval_groundedness",
        "retrieval_relevance",
        "retrieval_sufficiency",
        "safety",
    ]
    assert {s.model for s in S.get_all_scorers(model="openai:/m")} == {"openai:/m"}


def test_retrieval_relevance_judges_each_document(judge: JudgeServer) -> None:
    judge.rules = [("<document>\nParis", verdict("yes", "about the capital"))]
    judge.default = verdict("no", "off topic")
    trace = a_trace(
        retrieved=[{"page_content": "Paris is the capital."}, "Cheese recipes", "Paris facts"]
    )
    fb = S.RetrievalRelevance()(inputs={"q": "Capital of France?"}, trace=trace)
    assert fb.value == pytest.approx(2 / 3)
    assert fb.rationale == (
        "2 of 3 documents are relevant\n[1] yes: about the capital\n[2] no: off topic\n"
        "[3] yes: about the capital"
    )
    assert fb.metadata["usage"]["total_tokens"] == 3 * 60
    empty = a_trace(retrieved=[])
    [failed] = S.RetrievalRelevance().run(inputs={"q": "x"}, trace=empty)
    assert "no documents" in str(failed.error)


def test_judges_say_what_a_row_lacks() -> None:
    cases = [
        (S.Correctness(), {"outputs": "x"}, "expected_response"),
        (S.ExpectationsGuidelines(), {"outputs": "x", "expectations": {"a": 1}}, "guidelines"),
        (S.RetrievalGroundedness(), {"outputs": "x"}, "trace"),
        (S.RetrievalRelevance(), {"outputs": "x", "trace": a_trace()}, "RETRIEVER"),
    ]
    for item, row, needle in cases:
        [fb] = item.run(**row)
        assert fb.value is None and needle in str(fb.error), fb
        with pytest.raises(S.ScorerInputError):
            item(**row)
    with pytest.raises(InvalidArgumentError):
        S.Guidelines(guidelines=[])
    with pytest.raises(InvalidArgumentError):
        S.Guidelines()


def test_make_judge(judge: JudgeServer) -> None:
    judge.rules = [("Rate the tone of: Dear sir", verdict(4, "polite"))]
    tone = S.make_judge(
        name="tone",
        instructions="Rate the tone of: {{ outputs }} (asked: {{inputs}}), 1-5",
        model="openai:/m",
    )
    fb = tone(inputs={"q": "hello"}, outputs="Dear sir")
    assert (fb.value, fb.rationale, fb.source.source_type) == (4, "polite", "LLM_JUDGE")
    assert '"q": "hello"' in judge.prompts()[0]
    for bad in ["no placeholders", "{{ outputs }} and {{ context }}", ""]:
        with pytest.raises(InvalidArgumentError):
            S.make_judge(name="j", instructions=bad)
    with pytest.raises(InvalidArgumentError):
        S.make_judge(name="bad name!", instructions="{{ outputs }}")
    [fb] = S.make_judge(name="e", instructions="{{ expectations }}").run(outputs="x")
    assert "needs expectations" in str(fb.error)


# ---------------------------------------------------------------------- deterministic scorers


def test_deterministic_scorers() -> None:
    exp = {"expected_response": "Paris"}
    assert S.ExactMatch()(outputs=" Paris ", expectations=exp).value is True
    assert S.ExactMatch()(outputs="paris", expectations=exp).value is False
    assert S.ExactMatch(case_sensitive=False)(outputs="paris", expectations=exp).value is True
    assert S.Contains()(outputs="It is PARIS.", expectations=exp).value is True
    assert S.Contains(substring="Rome")(outputs="Paris").value is False
    assert S.RegexMatch(r"^\d+$")(outputs="42").value is True
    assert S.RegexMatch(r"^\d+$")(outputs="4x2").value is False
    assert S.JsonValid()(outputs='{"a": 1}').value is True
    assert S.JsonValid()(outputs={"a": 1}).value is True
    bad = S.JsonValid()(outputs="{nope")
    assert bad.value is False and "not JSON" in str(bad.rationale)
    assert S.JsonValid(require_object=True)(outputs="[1]").value is False
    fast = S.LatencyBudget(max_ms=200)(trace=a_trace(duration_ms=120))
    assert fast.value is True and "120.0 ms" in str(fast.rationale)
    assert S.LatencyBudget(max_ms=100)(trace=a_trace(duration_ms=120)).value is False
    assert S.TokenBudget(max_tokens=100)(trace=a_trace(tokens=90)).value is True
    assert S.TokenBudget(max_tokens=50)(trace=a_trace(tokens=90)).value is False
    assert S.TokenBudget(max_tokens=50)(trace=a_trace()).value is True  # no usage recorded
    [fb] = S.ExactMatch().run(outputs="x")
    assert "expected_response" in str(fb.error)
    [fb] = S.LatencyBudget(max_ms=1).run(outputs="x")
    assert "trace" in str(fb.error)
    for make in [
        lambda: S.RegexMatch("("),
        lambda: S.LatencyBudget(max_ms=0),
        lambda: S.TokenBudget(max_tokens=-1),
        lambda: S.Contains(substring=""),
        lambda: S.ExactMatch(name=""),
        lambda: S.ExactMatch(name="../x"),
    ]:
        with pytest.raises(InvalidArgumentError):
            make()


# ---------------------------------------------------------------------- @scorer


def test_scorer_decorator_return_shapes() -> None:
    @S.scorer
    def short(outputs: str) -> bool:
        return len(outputs) < 10

    @S.scorer(name="length")
    def length(inputs: Any, outputs: str, expectations: Any, trace: Any) -> int:
        assert trace is not None and expectations == {"k": 1} and inputs == {"q": 1}
        return len(outputs)

    @S.scorer
    def labelled(outputs: str) -> str:
        return "long" if len(outputs) > 3 else "short"

    @S.scorer
    def explained(outputs: str) -> Feedback:
        return Feedback(value=0.5, rationale="half")

    @S.scorer
    def many(outputs: str) -> list:
        return [Feedback(name="a", value=True), Feedback(name="b", value=2, rationale="two")]

    @S.scorer
    def everything(**kwargs: Any) -> bool:
        return set(kwargs) == {"inputs", "outputs", "expectations", "trace"}

    row = {"inputs": {"q": 1}, "outputs": "hello", "expectations": {"k": 1}, "trace": a_trace()}
    assert short.name == "short" and short(outputs="hi").value is True
    assert [(f.name, f.value) for f in length.run(**row)] == [("length", 5)]
    assert labelled.run(**row)[0].value == "long"
    fb = explained.run(**row)[0]
    assert (fb.name, fb.value, fb.rationale, fb.source) == (
        "explained",
        0.5,
        "half",
        AssessmentSource("CODE", "explained"),
    )
    assert [(f.name, f.value, f.rationale) for f in many.run(**row)] == [
        ("a", True, None),
        ("b", 2, "two"),
    ]
    assert everything.run(**row)[0].value is True


def test_scorer_failures_are_row_errors_and_bad_signatures_fail_early() -> None:
    @S.scorer
    def boom(outputs: str) -> bool:
        raise ValueError("kaput")

    @S.scorer
    def nothing(outputs: str) -> None:
        return None

    @S.scorer
    def unnamed(outputs: str) -> list:
        return [Feedback(value=1), Feedback(value=2)]

    @S.scorer
    def not_json(outputs: str) -> Any:
        return float("nan")

    assert boom.run(outputs="x")[0].error == "ValueError: kaput"
    assert "returned None" in str(nothing.run(outputs="x")[0].error)
    assert "needs a name" in str(unnamed.run(outputs="x")[0].error)
    assert "finite" in str(not_json.run(outputs="x")[0].error)
    with pytest.raises(InvalidArgumentError):

        @S.scorer
        def wrong(response: str) -> bool:
            return True


# ---------------------------------------------------------------------- values and aggregation


def test_value_model_and_aggregation() -> None:
    assert [numeric(v) for v in [True, False, "yes", "No", 3, 0.5, "maybe", None, {"a": 1}]] == [
        1.0,
        0.0,
        1.0,
        0.0,
        3.0,
        0.5,
        None,
        None,
        None,
    ]
    rows = []
    for values in [("yes", 4), ("no", None), ("yes", "err")]:
        row = _Row(len(rows))
        row.feedbacks = [Feedback(name="correctness", value=values[0])]
        if values[1] == "err":
            row.feedbacks.append(Feedback(name="length", error="boom"))
        elif values[1] is not None:
            row.feedbacks.append(Feedback(name="length", value=values[1]))
        rows.append(row)
    metrics = aggregate(rows, ["correctness", "length", "label"])
    assert metrics == {
        "correctness/mean": pytest.approx(2 / 3),
        "correctness/count": 3.0,
        "correctness/error_count": 0.0,
        "length/mean": 4.0,
        "length/count": 2.0,
        "length/error_count": 1.0,
        "label/count": 0.0,
        "label/error_count": 0.0,
    }
    table = summary_table(metrics, ["correctness", "length", "label"])
    lines = table.splitlines()
    assert lines[0].split() == ["scorer", "mean", "count", "errors"]
    assert lines[2].split() == ["correctness", "0.667", "3", "0"]
    assert lines[4].split() == ["label", "-", "0", "0"]


def test_extra_aggregations() -> None:
    @S.scorer(aggregations=["min", "max", "median", "variance", "p90", "mean"])
    def length(outputs: str) -> int:
        return len(outputs)

    assert length.aggregations == ["min", "max", "median", "variance", "p90"]
    rows = []
    for i, text in enumerate(["a", "abc", "abcdefghij", "ab"]):
        row = _Row(i)
        row.feedbacks = length.run(outputs=text)
        rows.append(row)
    metrics = aggregate(rows, ["length"], _extra_aggregations([length], rows))
    assert metrics["length/mean"] == 4.0
    assert (metrics["length/min"], metrics["length/max"], metrics["length/median"]) == (1, 10, 2.5)
    assert metrics["length/variance"] == pytest.approx(12.5)
    assert metrics["length/p90"] == pytest.approx(3 + 0.7 * 7)  # numpy.percentile(..., 90)
    for bad in ["mean", ["p99"]]:
        with pytest.raises(InvalidArgumentError):
            S.scorer(aggregations=bad)


def test_row_keys_are_stable_and_repeats_do_not_collide() -> None:
    expected = hashlib.sha256('{"a":1,"b":"é"}'.encode()).hexdigest()
    assert row_key({"b": "é", "a": 1}) == expected
    rows = [
        _Row(0, inputs={"a": 1, "b": "é"}),
        _Row(1, inputs={"b": "é", "a": 1}),
        _Row(2, inputs={"a": 2}),
    ]
    _assign_row_keys(rows)
    assert rows[0].row_key == expected
    assert rows[1].row_key == hashlib.sha256('{"a":1,"b":"é"}#2'.encode()).hexdigest()
    assert len({r.row_key for r in rows}) == 3


def test_row_payload_respects_the_server_limits() -> None:
    row = _Row(0, inputs={"q": 1}, outputs="o" * 300_000, has_outputs=True, trace_id="t" * 32)
    row.row_key = row_key(row.inputs)
    row.feedbacks = [
        Feedback(name="long", value=True, rationale="é" * 20_000),
        Feedback(name="huge", value={"blob": "x" * 70_000}),
        Feedback(name="failed", error="E" * 40_000),
    ]
    payload = _row_input(row)
    assert len(json.dumps(payload["outputs"]).encode()) <= 128 * 1024
    assert payload["outputs"].endswith("[cut: 300000 characters]")
    long, huge, failed = payload["scores"]
    assert len(long["rationale"].encode()) <= 16 * 1024 and long["value"] is True
    assert huge["value"] is None and "larger than 65536 bytes" in huge["error"]
    assert len(failed["error"].encode()) <= 16 * 1024 and failed["value"] is None


def test_result_df_is_a_list_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    from cairn.genai.evaluation import EvaluationResult

    rows = [{"row_key": "k", "trace_id": "t", "ok/value": True}]
    result = EvaluationResult("r", {"ok/mean": 1.0}, rows, ["ok"])
    assert isinstance(result.result_df, pd.DataFrame) and list(result.result_df["ok/value"]) == [
        True
    ]
    monkeypatch.setitem(sys.modules, "pandas", None)  # import fails as if not installed
    assert result.result_df == rows
    assert "ok" in result.summary() and "1.000" in result.summary()


def test_progress_falls_back_to_a_stderr_line_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails as if not installed
    stream = io.StringIO()
    progress = _Progress(3, stream)
    assert progress.bar is None
    for _ in range(3):
        progress.step()
    progress.close()
    assert stream.getvalue().endswith("\rEvaluating: 3/3 rows\n")


# ---------------------------------------------------------------------- dataset records


def test_dataset_records_from_lists_frames_files_and_traces(tmp_path: Path) -> None:
    ids, records = _normalize(
        [
            {
                "inputs": {"q": "2+2?"},
                "expectations": {"expected_response": "4"},
                "tags": {"s": "a"},
            },
            {"inputs": {"q": "3+3?"}},
            "f" * 32,
            a_trace(),
            {"id": "e" * 32, "spans": [], "inputs": None, "spanCount": 1},
        ]
    )
    assert ids == ["f" * 32, "t" * 32, "e" * 32]
    assert records == [
        {"inputs": {"q": "2+2?"}, "expectations": {"expected_response": "4"}, "tags": {"s": "a"}},
        {"inputs": {"q": "3+3?"}},
    ]
    frame = pd.DataFrame(
        [{"question": "a?", "expected_response": "A", "tags.split": "dev"}, {"question": "b?"}]
    )
    assert _normalize(frame)[1] == [
        {
            "inputs": {"question": "a?"},
            "expectations": {"expected_response": "A"},
            "tags": {"split": "dev"},
        },
        {"inputs": {"question": "b?"}},
    ]
    nested = pd.DataFrame([{"inputs": {"q": 1}, "expectations": {"expected_facts": ["x"]}}])
    assert _normalize(nested)[1] == [
        {"inputs": {"q": 1}, "expectations": {"expected_facts": ["x"]}}
    ]
    csv_path = tmp_path / "qa.csv"
    csv_path.write_text(
        'question,context,expected_facts\nCapital?,geo,"[""Paris""]"\nLargest?,,\n',
        encoding="utf-8",
    )
    assert _normalize(str(csv_path))[1] == [
        {
            "inputs": {"question": "Capital?", "context": "geo"},
            "expectations": {"expected_facts": ["Paris"]},
        },
        {"inputs": {"question": "Largest?"}},
    ]
    jsonl = tmp_path / "qa.jsonl"
    jsonl.write_text(
        json.dumps({"inputs": {"q": "x"}, "expectations": {"guidelines": ["Be brief"]}})
        + "\n\n"
        + json.dumps({"q": "y", "expected_response": "Y"})
        + "\n",
        encoding="utf-8",
    )
    assert _normalize(jsonl)[1] == [
        {"inputs": {"q": "x"}, "expectations": {"guidelines": ["Be brief"]}},
        {"inputs": {"q": "y"}, "expectations": {"expected_response": "Y"}},
    ]


def test_bad_dataset_records(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"inputs": {"q": 1}}\nnot json\n', encoding="utf-8")
    (tmp_path / "data.parquet").write_text("x", encoding="utf-8")
    for bad in [
        42,
        [{"question": "no inputs key"}],
        [{"inputs": "not a dict"}],
        [{"inputs": {}}],
        [{"inputs": {"q": 1}, "extra": 1}],
        [{"inputs": {"q": 1}, "tags": ["not", "a", "dict"]}],
        [""],
        [3],
        str(tmp_path / "missing.csv"),
        str(tmp_path / "bad.jsonl"),
        str(tmp_path / "data.parquet"),
    ]:
        with pytest.raises(InvalidArgumentError):
            _normalize(bad)


# ---------------------------------------------------------------------- evaluate: bad input


@pytest.fixture()
def nowhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A tracking URI nobody listens on, and no retries: any request would fail loudly."""
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("CAIRN_TRACKING_URI", url)
    monkeypatch.setenv("CAIRN_HTTP_RETRY_TIMEOUT", "0")
    from cairn import config

    previous = config._tracking_uri
    cairn.set_tracking_uri(url)
    yield
    config._tracking_uri = previous
    cairn.fluent._reset_default_client()


@S.scorer
def always(outputs: Any) -> bool:
    return True


def test_evaluate_refuses_bad_input_before_any_request(
    nowhere: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = [{"inputs": {"q": "x"}, "outputs": "y"}]
    cases: list = [
        {"data": good, "scorers": None},
        {"data": good, "scorers": []},
        {"data": good, "scorers": [S.Correctness]},
        {"data": good, "scorers": [lambda outputs: True]},
        {"data": good, "scorers": [always, always]},
        {"data": "not rows", "scorers": [always]},
        {"data": [], "scorers": [always]},
        {"data": [{"outputs": "y"}], "scorers": [always]},
        {"data": [{"inputs": "q", "outputs": "y"}], "scorers": [always]},
        {"data": [{"inputs": {"q": 1}, "output": "typo"}], "scorers": [always]},
        {"data": [{"inputs": {"q": 1}}], "scorers": [always]},
        {"data": good, "predict_fn": lambda q: q, "scorers": [always]},
        {"data": good, "predict_fn": "not callable", "scorers": [always]},
        {"data": [{"inputs": {"question": "x"}}], "predict_fn": lambda q: q, "scorers": [always]},
        {
            "data": [{"inputs": {"a": 1}}, {"inputs": {"a": 1, "b": 2}}],
            "predict_fn": lambda a: a,
            "scorers": [always],
        },
        {"data": good, "scorers": [always], "max_workers": 0},
        {
            "data": [{"inputs": {"q": 1}, "outputs": "y", "expectations": ["x"]}],
            "scorers": [always],
        },
        {"data": good, "scorers": [always], "model_id": ""},
        {"data": [{"inputs": {"q": "x" * 200_000}, "outputs": "y"}], "scorers": [always]},
    ]
    for kwargs in cases:
        with pytest.raises(InvalidArgumentError):
            cairn.genai.evaluate(**kwargs)
    monkeypatch.setenv("CAIRN_GENAI_EVAL_MAX_WORKERS", "many")
    with pytest.raises(InvalidArgumentError):
        cairn.genai.evaluate(good, scorers=[always])
    monkeypatch.delenv("CAIRN_GENAI_EVAL_MAX_WORKERS")
    cairn.tracing.disable()
    try:
        with pytest.raises(InvalidArgumentError) as info:
            cairn.genai.evaluate(good, scorers=[always])
        assert "tracing is disabled" in info.value.message
    finally:
        cairn.tracing.enable()


def test_feedback_calls_refuse_bad_input_before_any_request(nowhere: None) -> None:
    for call in [
        lambda: cairn.log_feedback(trace_id="", name="x", value=1),
        lambda: cairn.log_feedback(trace_id="t", name="", value=1),
        lambda: cairn.log_feedback(trace_id="t", name="x"),
        lambda: cairn.log_feedback(trace_id="t", name="x", value=1, error="both"),
        lambda: cairn.log_feedback(trace_id="t", name="x", value=float("inf")),
        lambda: cairn.log_feedback(trace_id="t", name="x", value=object()),
        lambda: cairn.log_feedback(trace_id="t", name="x", value=1, source="ROBOT"),
        lambda: cairn.log_feedback(trace_id="t", name="x", value=1, metadata=["no"]),
        lambda: cairn.log_expectation(trace_id="t", name="expected_response", value=None),
        lambda: cairn.update_assessment("", value=1),
        lambda: cairn.update_assessment("a1"),
        lambda: cairn.get_assessments(),
        lambda: cairn.genai.datasets.create_dataset(""),
        lambda: cairn.genai.datasets.create_dataset("d", tags={"bad key!": 1}),
        lambda: cairn.genai.datasets.get_dataset(),
        lambda: cairn.genai.datasets.get_dataset(name="a", dataset_id="b"),
        lambda: cairn.genai.datasets.search_datasets(max_results=0),
    ]:
        with pytest.raises(InvalidArgumentError):
            call()
    assert AssessmentSource("ai_judge", "gpt").source_type == "LLM_JUDGE"
