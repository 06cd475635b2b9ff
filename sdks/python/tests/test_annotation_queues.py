"""Annotation queues from the SDK against the real Cairn server: create a queue with a label
schema, add traced calls by id and by filter, read the items, label one with ``log_feedback``
and see it complete (completion is checked by the server: required labels first)."""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest
import requests
from conftest import CairnServer

import cairn
from cairn.exceptions import AlreadyExistsError, InvalidArgumentError, NotFoundError
from cairn.genai import annotation


@pytest.fixture()
def env(cairn_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("CAIRN_TRACE_EXPORT_ENDPOINT", raising=False)
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_INTERVAL", "0.1")
    cairn.tracing.enable()
    yield cairn_env


def _traced(name: str, question: str) -> str:
    with cairn.start_span(name, span_type="CHAIN") as span:
        span.set_inputs({"question": question})
        span.set_outputs("answer")
        return span.trace_id


def _raw(server: CairnServer, query: str, variables: dict) -> dict:
    response = requests.post(
        server.url + "/graphql", json={"query": query, "variables": variables}, timeout=60
    )
    return response.json()  # type: ignore[no-any-return]


def test_queue_from_the_sdk(env: Any, server: CairnServer) -> None:
    span_name = f"review-{uuid.uuid4().hex[:8]}"
    ids = [_traced(span_name, f"q{i}") for i in range(3)]
    other = _traced("elsewhere", "x")
    cairn.flush_trace_export()

    name = f"queue-{uuid.uuid4().hex[:8]}"
    queue = annotation.create_annotation_queue(
        name,
        labels=[
            {"name": "correct", "kind": "BOOL", "required": True},
            annotation.Label(name="quality", kind="SCORE", min=1, max=5),
        ],
        description="from the SDK",
    )
    assert queue.name == name and queue.item_count == 0
    assert [(label.name, label.kind, label.required) for label in queue.labels] == [
        ("correct", "BOOL", True),
        ("quality", "SCORE", False),
    ]
    assert queue.labels[1].min == 1 and queue.labels[1].max == 5
    with pytest.raises(AlreadyExistsError):
        annotation.create_annotation_queue(name, labels=[{"name": "x", "kind": "TEXT"}])
    with pytest.raises(InvalidArgumentError):
        annotation.create_annotation_queue(f"{name}-b", labels=[{"name": "x", "kind": "NOPE"}])

    assert annotation.add_traces(queue.queue_id, trace_ids=ids[:1]) == 1
    assert annotation.add_traces(queue.queue_id, filter_string=f"name = '{span_name}'") == 2
    assert annotation.add_traces(queue.queue_id, trace_ids=ids) == 0
    with pytest.raises(NotFoundError):
        annotation.add_traces(queue.queue_id, trace_ids=["0" * 32])
    with pytest.raises(InvalidArgumentError):
        annotation.add_traces(queue.queue_id)

    items = annotation.get_queue_items(queue.queue_id)
    # The id first (added first), then the filter's matches (newest first).
    assert len(items) == 3 and items[0].trace_id == ids[0]
    assert {i.trace_id for i in items} == set(ids) and other not in {i.trace_id for i in items}
    assert all(i.status == "PENDING" and i.labels == {} for i in items)

    # The server refuses completion until the required label is there, then accepts it.
    complete = """mutation($q: ID!, $t: String!) {
      completeAnnotationQueueItem(queueId: $q, traceId: $t) { status } }"""
    refused = _raw(server, complete, {"q": queue.queue_id, "t": ids[0]})
    assert refused["errors"][0]["extensions"]["code"] == "FAILED_PRECONDITION"
    cairn.log_feedback(trace_id=ids[0], name="correct", value=True)
    done = _raw(server, complete, {"q": queue.queue_id, "t": ids[0]})
    assert done["data"]["completeAnnotationQueueItem"]["status"] == "COMPLETED"

    completed = annotation.get_queue_items(queue.queue_id, status="COMPLETED")
    assert [(i.trace_id, i.labels) for i in completed] == [(ids[0], {"correct": True})]
    assert len(annotation.get_queue_items(queue.queue_id, status="PENDING")) == 2
    fresh = annotation.get_annotation_queue(queue.queue_id)
    assert fresh is not None and (fresh.item_count, fresh.completed_count) == (3, 1)
    assert annotation.get_annotation_queue("f" * 32) is None
