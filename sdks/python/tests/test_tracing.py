"""Tracing without a Cairn server: the span model, context propagation and the OTLP exporter,
checked on what a local OTLP/HTTP receiver is sent."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

pytest.register_assert_rewrite("tracing_helpers")

import cairn  # noqa: E402
from cairn.tracing import _fluent  # noqa: E402
from tracing_helpers import OTLPReceiver, find, inputs, outputs  # noqa: E402

pytest_plugins = ["tracing_helpers"]  # the `receiver` fixture

SDK_DIR = Path(__file__).resolve().parents[1]


def flush() -> None:
    assert cairn.flush_trace_export(timeout=20)


# ---------------------------------------------------------------------- decorator


class Agent:
    @cairn.trace(span_type="AGENT")
    def run(self, question: str, temperature: float = 0.5) -> str:
        return self.plan(question) + "!"

    @cairn.trace(name="planner", span_type=cairn.SpanType.CHAIN, attributes={"step": 1})
    def plan(self, question: str) -> str:
        return tool(question.upper())


@cairn.trace(span_type="TOOL")
def tool(text: str, **options: Any) -> str:
    return text[::-1]


def test_decorator_builds_the_tree_with_inputs_outputs_and_ids(receiver: OTLPReceiver) -> None:
    before = time.time_ns()
    assert Agent().run("hi") == "IH!"
    after = time.time_ns()
    flush()
    spans = receiver.spans
    assert sorted(s["name"] for s in spans) == ["planner", "run", "tool"]
    run, plan, leaf = (find(spans, n) for n in ("run", "planner", "tool"))
    assert run and plan and leaf
    # ids: 32-hex trace, 16-hex span, one trace, parent links
    assert re.fullmatch(r"[0-9a-f]{32}", run["traceId"])
    assert {s["traceId"] for s in spans} == {run["traceId"]}
    for s in spans:
        assert re.fullmatch(r"[0-9a-f]{16}", s["spanId"])
    assert "parentSpanId" not in run
    assert plan["parentSpanId"] == run["spanId"]
    assert leaf["parentSpanId"] == plan["spanId"]
    # ns timestamps, children inside parents
    start, end = int(run["startTimeUnixNano"]), int(run["endTimeUnixNano"])
    assert before <= start <= end <= after
    assert start <= int(plan["startTimeUnixNano"]) <= int(plan["endTimeUnixNano"]) <= end
    # span types, inputs (self dropped, defaults bound), outputs, attributes
    assert run["attrs"]["cairn.span.type"] == "AGENT"
    assert plan["attrs"]["cairn.span.type"] == "CHAIN"
    assert leaf["attrs"]["cairn.span.type"] == "TOOL"
    assert inputs(run) == {"question": "hi", "temperature": 0.5}
    assert inputs(plan) == {"question": "hi"}
    assert inputs(leaf) == {"text": "HI"}
    assert outputs(run) == "IH!"
    assert outputs(leaf) == "IH"
    assert plan["attrs"]["step"] == 1
    assert run["status"] == {"code": 1}
    assert run["kind"] == 1
    assert run["scope"]["name"] == "cairn"
    assert run["resource"]["telemetry.sdk.name"] == "cairn"
    assert cairn.get_last_active_trace_id() == run["traceId"]


def test_each_top_level_call_is_a_new_trace_with_random_ids(receiver: OTLPReceiver) -> None:
    tool("a")
    tool("b")
    flush()
    spans = receiver.spans
    assert len(spans) == 2
    assert spans[0]["traceId"] != spans[1]["traceId"]
    assert spans[0]["spanId"] != spans[1]["spanId"]


@dataclasses.dataclass
class Answer:
    text: str
    score: float
    tags: tuple  # type: ignore[type-arg]


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque thing>"


def test_outputs_are_json_safe(receiver: OTLPReceiver) -> None:
    import pydantic

    class Doc(pydantic.BaseModel):
        title: str
        pages: int

    @cairn.trace
    def produce(doc: Doc, blob: bytes) -> Dict[str, Any]:
        return {
            "answer": Answer("yes", float("nan"), ("a", "b")),
            "doc": doc,
            "opaque": Opaque(),
            "set": {1},
        }

    produce(Doc(title="t", pages=3), b"\x00\x01")
    flush()
    span = receiver.by_name("produce")
    assert inputs(span) == {"doc": {"title": "t", "pages": 3}, "blob": "AAE="}
    assert outputs(span) == {
        "answer": {"text": "yes", "score": "NaN", "tags": ["a", "b"]},
        "doc": {"title": "t", "pages": 3},
        "opaque": "<Opaque thing>",
        "set": [1],
    }


def test_exception_sets_error_status_and_event_and_propagates(receiver: OTLPReceiver) -> None:
    class Boom(RuntimeError):
        pass

    @cairn.trace
    def inner() -> None:
        raise Boom("it broke")

    @cairn.trace
    def outer() -> None:
        inner()

    with pytest.raises(Boom, match="it broke"):
        outer()
    flush()
    for name in ("inner", "outer"):
        span = receiver.by_name(name)
        assert span["status"]["code"] == 2
        assert "it broke" in span["status"]["message"]
        (event,) = span["events"]
        assert event["name"] == "exception"
        ev = {kv["key"]: kv["value"]["stringValue"] for kv in event["attributes"]}
        assert ev["exception.type"].endswith("Boom")
        assert ev["exception.message"] == "it broke"
        assert "Traceback" in ev["exception.stacktrace"]
        assert "raise Boom" in ev["exception.stacktrace"]
        assert int(event["timeUnixNano"]) >= int(span["startTimeUnixNano"])


def test_async_functions_and_tasks_inherit_the_current_span(receiver: OTLPReceiver) -> None:
    @cairn.trace(span_type="TOOL")
    async def fetch(i: int) -> int:
        await asyncio.sleep(0.01)
        assert cairn.get_current_active_span() is not None
        return i * 10

    @cairn.trace(span_type="AGENT")
    async def orchestrate() -> List[int]:
        tasks = [asyncio.create_task(fetch(i)) for i in range(3)]
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(orchestrate()) == [0, 10, 20]
    assert cairn.get_current_active_span() is None
    flush()
    root = receiver.by_name("orchestrate")
    children = [s for s in receiver.spans if s["name"] == "fetch"]
    assert len(children) == 3
    assert {c["parentSpanId"] for c in children} == {root["spanId"]}
    assert sorted(outputs(c) for c in children) == [0, 10, 20]
    assert outputs(root) == [0, 10, 20]


def test_generators_collect_their_yields_and_stay_current_only_inside(
    receiver: OTLPReceiver,
) -> None:
    @cairn.trace
    def child() -> str:
        return "c"

    @cairn.trace(span_type="LLM")
    def tokens(n: int) -> Iterator[str]:
        for i in range(n):
            yield f"{child()}{i}"

    @cairn.trace
    def consume() -> str:
        parts = []
        for t in tokens(3):
            # between yields the generator's span is not current: this is consume's span
            assert cairn.get_current_active_span().name == "consume"  # type: ignore[union-attr]
            parts.append(t)
        return "".join(parts)

    assert consume() == "c0c1c2"
    flush()
    gen = receiver.by_name("tokens")
    assert outputs(gen) == ["c0", "c1", "c2"]
    assert inputs(gen) == {"n": 3}
    assert gen["parentSpanId"] == receiver.by_name("consume")["spanId"]
    kids = [s for s in receiver.spans if s["name"] == "child"]
    assert len(kids) == 3 and {k["parentSpanId"] for k in kids} == {gen["spanId"]}


def test_generator_reducer_error_and_early_close(receiver: OTLPReceiver) -> None:
    @cairn.trace(output_reducer="".join)
    def joined() -> Iterator[str]:
        yield "a"
        yield "b"

    @cairn.trace
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("bad item")

    @cairn.trace
    def endless() -> Iterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    assert list(joined()) == ["a", "b"]
    with pytest.raises(ValueError):
        list(failing())
    gen = endless()
    assert [next(gen), next(gen)] == [0, 1]
    gen.close()
    flush()
    assert outputs(receiver.by_name("joined")) == "ab"
    bad = receiver.by_name("failing")
    assert bad["status"]["code"] == 2 and outputs(bad) == [1]
    closed = receiver.by_name("endless")
    assert closed["status"]["code"] == 1 and outputs(closed) == [0, 1]


def test_async_generators(receiver: OTLPReceiver) -> None:
    @cairn.trace(span_type="LLM")
    async def stream(n: int) -> Any:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    async def main() -> List[int]:
        return [i async for i in stream(4)]

    assert asyncio.run(main()) == [0, 1, 2, 3]
    flush()
    span = receiver.by_name("stream")
    assert outputs(span) == [0, 1, 2, 3]
    assert span["attrs"]["cairn.span.type"] == "LLM"


def test_static_and_class_methods(receiver: OTLPReceiver) -> None:
    class K:
        @cairn.trace
        @staticmethod
        def s(x: int) -> int:
            return x + 1

        @cairn.trace
        @classmethod
        def c(cls, x: int) -> int:
            return x + 2

    assert K.s(1) == 2 and K().c(1) == 3
    flush()
    assert inputs(receiver.by_name("s")) == {"x": 1}
    assert inputs(receiver.by_name("c")) == {"x": 1}


# ---------------------------------------------------------------------- start_span and trace fields


def test_start_span_api(receiver: OTLPReceiver) -> None:
    with cairn.start_span("root", span_type="CHAIN", attributes={"a": "b"}) as root:
        assert cairn.get_current_active_span() is root
        root.set_inputs({"q": "question"})
        with cairn.start_span("retrieve", span_type=cairn.SpanType.RETRIEVER) as span:
            assert cairn.get_current_active_span() is span
            span.set_attribute("k", 3)
            span.set_attributes({"f": 1.5, "flag": True, "list": ["x", "y"], "obj": {"n": 1}})
            span.add_event(cairn.tracing.SpanEvent("found", attributes={"count": 2}))
            span.add_event("simple")
            span.set_outputs([{"doc": 1}])
            span.set_status("ERROR", "partial")
        cairn.update_current_trace(
            tags={"team": "search"},
            metadata={"version": "7"},
            session_id="sess-1",
            user_id="user-1",
            environment="staging",
        )
        cairn.update_current_trace(tags={"more": "yes"})
        root.set_outputs("done")
    assert cairn.get_current_active_span() is None
    flush()
    r, s = receiver.by_name("root"), receiver.by_name("retrieve")
    assert s["parentSpanId"] == r["spanId"] and s["traceId"] == r["traceId"]
    assert s["attrs"]["cairn.span.type"] == "RETRIEVER"
    assert s["attrs"]["k"] == 3 and s["attrs"]["f"] == 1.5 and s["attrs"]["flag"] is True
    assert s["attrs"]["list"] == ["x", "y"] and json.loads(s["attrs"]["obj"]) == {"n": 1}
    assert [e["name"] for e in s["events"]] == ["found", "simple"]
    assert s["status"] == {"code": 2, "message": "partial"}
    assert outputs(s) == [{"doc": 1}]
    assert inputs(r) == {"q": "question"} and outputs(r) == "done"
    assert r["attrs"]["a"] == "b"
    assert json.loads(r["attrs"]["cairn.trace.tags"]) == {"team": "search", "more": "yes"}
    assert json.loads(r["attrs"]["cairn.trace.metadata"]) == {"version": "7"}
    assert r["attrs"]["cairn.trace.session_id"] == "sess-1"
    assert r["attrs"]["cairn.trace.user_id"] == "user-1"
    assert r["attrs"]["cairn.trace.environment"] == "staging"
    assert "cairn.trace.tags" not in s["attrs"]


def test_start_span_records_exceptions(receiver: OTLPReceiver) -> None:
    with pytest.raises(KeyError):
        with cairn.start_span("fails"):
            raise KeyError("missing")
    flush()
    span = receiver.by_name("fails")
    assert span["status"]["code"] == 2
    assert span["events"][0]["name"] == "exception"


def test_update_current_trace_outside_a_trace_warns(
    receiver: OTLPReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cairn"):
        cairn.update_current_trace(tags={"a": "b"})
    assert "outside a trace" in caplog.text


def test_start_span_no_context(receiver: OTLPReceiver) -> None:
    with cairn.start_span("parent") as parent:
        span = cairn.start_span_no_context("detached", inputs={"x": 1})
        assert cairn.get_current_active_span() is parent
    span.end(outputs={"y": 2})
    flush()
    d = receiver.by_name("detached")
    assert d["parentSpanId"] == receiver.by_name("parent")["spanId"]
    assert outputs(d) == {"y": 2}


def test_disabled_tracing_runs_functions_and_sends_nothing(receiver: OTLPReceiver) -> None:
    cairn.tracing.disable()
    try:
        assert tool("abc") == "cba"
        with cairn.start_span("nothing") as span:
            span.set_inputs(1)
            span.set_attribute("a", 1)
    finally:
        cairn.tracing.enable()
    tool("x")
    flush()
    assert [s["name"] for s in receiver.spans] == ["tool"]


def test_run_link(receiver: OTLPReceiver, cairn_env: Any) -> None:
    with cairn.start_run() as run:
        tool("in run")
    tool("no run")
    flush()
    linked, unlinked = receiver.spans
    assert linked["attrs"]["cairn.trace.run_id"] == run.info.run_id
    assert "cairn.trace.run_id" not in unlinked["attrs"]


# ---------------------------------------------------------------------- threads


def test_threads_join_the_trace_through_wrap_and_the_executor(receiver: OTLPReceiver) -> None:
    @cairn.trace
    def work(i: int) -> int:
        return i

    with cairn.start_span("fan-out") as root:
        # a bare thread starts from an empty context: its span is a new trace
        plain = threading.Thread(target=work, args=(0,))
        plain.start()
        plain.join()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            wrapped = [pool.submit(cairn.tracing.wrap(work), i) for i in (1, 2)]
            assert [f.result() for f in wrapped] == [1, 2]
        with cairn.tracing.ThreadPoolExecutor(2) as pool:
            assert list(pool.map(work, [3, 4])) == [3, 4]
            assert pool.submit(work, 5).result() == 5
    flush()
    by_input = {inputs(s)["i"]: s for s in receiver.spans if s["name"] == "work"}
    assert sorted(by_input) == [0, 1, 2, 3, 4, 5]
    assert by_input[0]["traceId"] != root.trace_id and "parentSpanId" not in by_input[0]
    for i in (1, 2, 3, 4, 5):
        assert by_input[i]["traceId"] == root.trace_id
        assert by_input[i]["parentSpanId"] == root.span_id


# ---------------------------------------------------------------------- export


def test_workspace_header_gzip_and_batching(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_WORKSPACE", "team-a")
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_BATCH_SIZE", "10")
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_INTERVAL", "30")  # size and root ends wake it
    for _ in range(25):
        with cairn.start_span("s") as s:
            s.set_inputs("x" * 2000)
    receiver.wait_for(lambda spans: len(spans) == 25)
    flush()
    assert all(h.get("x-cairn-workspace") == "team-a" for h in receiver.headers)
    assert all(h.get("content-type") == "application/json" for h in receiver.headers)
    assert any(h.get("content-encoding") == "gzip" for h in receiver.headers)
    assert all(len(b["resourceSpans"][0]["scopeSpans"][0]["spans"]) <= 10 for b in receiver.bodies)


def test_retries_5xx_then_delivers_once(receiver: OTLPReceiver) -> None:
    receiver.script = [503, 500, 502]
    tool("retry me")
    flush()
    assert len(receiver.headers) == 4  # three refused attempts, one accepted
    assert [s["name"] for s in receiver.spans] == ["tool"]


def test_server_down_then_up_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/v1/traces"
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_ENDPOINT", endpoint)
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_INTERVAL", "0.05")
    monkeypatch.setenv("CAIRN_HTTP_BACKOFF_INITIAL", "0.05")
    monkeypatch.setenv("CAIRN_HTTP_BACKOFF_MAX", "0.1")
    cairn.tracing.enable()
    started = time.monotonic()
    tool("while down")  # nothing listens yet: the call must not block or raise
    assert time.monotonic() - started < 0.5
    time.sleep(0.3)
    recv = OTLPReceiver(port)  # the server comes up on the port being retried
    try:
        flush()
        assert [s["name"] for s in recv.spans] == ["tool"]
    finally:
        exporter = _fluent._exporters.pop((endpoint, None, None))
        exporter.close(2)
        recv.close()


def test_4xx_drops_the_batch_with_an_error(
    receiver: OTLPReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.script = [400]
    with caplog.at_level(logging.ERROR, logger="cairn"):
        tool("refused")
        flush()
    assert "refused 1 span(s) (HTTP 400)" in caplog.text
    assert len(receiver.headers) == 1
    tool("next")
    flush()
    assert [s["name"] for s in receiver.spans] == ["tool"]


def test_full_queue_drops_with_a_warning_and_never_blocks(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_MAX_QUEUE", "5")
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_BATCH_SIZE", "100")
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_INTERVAL", "30")
    receiver.delay = 0.5  # the first export is slow: later spans pile up
    with caplog.at_level(logging.WARNING, logger="cairn"):
        with cairn.start_span("first"):
            pass
        time.sleep(0.1)  # the worker took "first" and is sending it
        started = time.monotonic()
        for i in range(50):
            with cairn.start_span(f"s{i}"):
                pass
        elapsed = time.monotonic() - started
    assert elapsed < 0.4, elapsed
    assert "dropping new spans" in caplog.text
    flush()
    exporter = _fluent.get_exporter()
    names = [s["name"] for s in receiver.spans]
    assert names[0] == "first"
    assert len(names) == 1 + 5
    assert exporter.dropped_spans == 45


def test_spans_are_exported_at_interpreter_exit(receiver: OTLPReceiver) -> None:
    script = "import cairn\n@cairn.trace\ndef at_exit(x):\n    return x * 2\nat_exit(21)\n"
    env = dict(os.environ)
    env["CAIRN_TRACE_EXPORT_ENDPOINT"] = receiver.endpoint
    env["CAIRN_TRACE_EXPORT_INTERVAL"] = "60"  # only the exit handler can send it
    env["PYTHONPATH"] = str(SDK_DIR / "src")
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    span = receiver.by_name("at_exit")
    assert outputs(span) == 42


def test_huge_inputs_are_cut_before_sending(receiver: OTLPReceiver) -> None:
    from cairn.tracing import _export

    with cairn.start_span("huge") as span:
        span.set_inputs("x" * (_export.MAX_ATTRIBUTE_CHARS + 10))
    flush()
    sent = receiver.by_name("huge")["attrs"]["cairn.span.inputs"]
    assert len(sent) == _export.MAX_ATTRIBUTE_CHARS


def test_spans_join_an_active_opentelemetry_trace(receiver: OTLPReceiver) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("app")
    with tracer.start_as_current_span("otel-request") as otel_span:
        tool("inside otel")
    tool("outside otel")
    flush()
    inside, outside = receiver.spans
    context = otel_span.get_span_context()
    assert inside["traceId"] == format(context.trace_id, "032x")
    assert inside["parentSpanId"] == format(context.span_id, "016x")
    assert outside["traceId"] != inside["traceId"] and "parentSpanId" not in outside
