"""Annotation queues for human review (docs/evaluation.md, "Annotation queues"; docs/python-sdk.md).

A queue holds traces to review and a label schema; reviewers answer each label with a HUMAN
feedback assessment of the label's name (``cairn.log_feedback``), in the dashboard or here.

>>> from cairn.genai import annotation
>>> q = annotation.create_annotation_queue(
...     "support-review",
...     labels=[{"name": "correct", "kind": "BOOL", "required": True},
...             {"name": "quality", "kind": "SCORE", "min": 1, "max": 5}],
... )
>>> annotation.add_traces(q.queue_id, filter_string="name = 'chat'")
>>> [item.status for item in annotation.get_queue_items(q.queue_id)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..exceptions import InvalidArgumentError, NotFoundError

LABEL_KINDS = ("BOOL", "SCORE", "CATEGORICAL", "TEXT")
ITEM_STATUSES = ("PENDING", "ASSIGNED", "COMPLETED", "SKIPPED")

_QUEUE = """id name description itemCount pendingCount assignedCount completedCount skippedCount
  labelSchema { name kind min max options required instructions }"""
_ITEM = "traceId status assignee completedBy labels { name value }"

CREATE_QUEUE = f"""mutation CreateAnnotationQueue($input: CreateAnnotationQueueInput!) {{
  createAnnotationQueue(input: $input) {{ {_QUEUE} }}
}}"""
ADD_TRACES = f"""mutation AddTracesToAnnotationQueue($input: AddTracesToAnnotationQueueInput!) {{
  addTracesToAnnotationQueue(input: $input) {{ added matched queue {{ {_QUEUE} }} }}
}}"""
GET_QUEUE = f"""query AnnotationQueue($id: ID!) {{ annotationQueue(id: $id) {{ {_QUEUE} }} }}"""
GET_ITEMS = f"""query AnnotationQueueItems(
  $id: ID!, $status: AnnotationItemStatus, $after: String
) {{
  annotationQueue(id: $id) {{
    items(first: 200, status: $status, after: $after) {{
      nodes {{ {_ITEM} }} pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""


@dataclass(frozen=True)
class Label:
    """One label of a queue's schema."""

    name: str
    kind: str
    min: Optional[float] = None
    max: Optional[float] = None
    options: List[str] = field(default_factory=list)
    required: bool = False
    instructions: Optional[str] = None

    def to_input(self) -> Dict[str, Any]:
        if self.kind not in LABEL_KINDS:
            raise _invalid(f"kind must be one of {', '.join(LABEL_KINDS)}", "kind")
        out: Dict[str, Any] = {"name": self.name, "kind": self.kind, "required": self.required}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.options:
            out["options"] = list(self.options)
        if self.instructions is not None:
            out["instructions"] = self.instructions
        return out

    @staticmethod
    def from_graphql(node: Mapping[str, Any]) -> "Label":
        return Label(
            name=node["name"],
            kind=node["kind"],
            min=node.get("min"),
            max=node.get("max"),
            options=list(node.get("options") or []),
            required=bool(node.get("required")),
            instructions=node.get("instructions"),
        )


@dataclass(frozen=True)
class AnnotationQueue:
    queue_id: str
    name: str
    description: Optional[str]
    labels: List[Label]
    item_count: int
    pending_count: int
    assigned_count: int
    completed_count: int
    skipped_count: int

    @staticmethod
    def from_graphql(node: Mapping[str, Any]) -> "AnnotationQueue":
        return AnnotationQueue(
            queue_id=node["id"],
            name=node["name"],
            description=node.get("description"),
            labels=[Label.from_graphql(label) for label in node["labelSchema"]],
            item_count=node["itemCount"],
            pending_count=node["pendingCount"],
            assigned_count=node["assignedCount"],
            completed_count=node["completedCount"],
            skipped_count=node["skippedCount"],
        )


@dataclass(frozen=True)
class AnnotationQueueItem:
    trace_id: str
    status: str
    assignee: Optional[str]
    completed_by: Optional[str]
    #: The trace's feedback named after the queue's labels: ``{name: newest value}``.
    labels: Dict[str, Any]


def _invalid(message: str, argument: str) -> InvalidArgumentError:
    return InvalidArgumentError(message, "INVALID_ARGUMENT", {"field": argument})


def _client() -> Any:
    from .. import fluent

    return fluent.get_client()


def _label(spec: Any) -> Dict[str, Any]:
    if isinstance(spec, Label):
        return spec.to_input()
    if isinstance(spec, Mapping):
        return Label(**dict(spec)).to_input()
    raise _invalid("labels must be Label objects or dicts", "labels")


def create_annotation_queue(
    name: str, labels: Sequence[Any], description: Optional[str] = None
) -> AnnotationQueue:
    """Creates a queue (names are unique per workspace: ``AlreadyExistsError``)."""
    variables = {
        "input": {
            "name": name,
            "description": description,
            "labelSchema": [_label(spec) for spec in labels],
        }
    }
    data = _client().execute(CREATE_QUEUE, variables)
    return AnnotationQueue.from_graphql(data["createAnnotationQueue"])


def get_annotation_queue(queue_id: str) -> Optional[AnnotationQueue]:
    data = _client().execute(GET_QUEUE, {"id": queue_id})
    node = data["annotationQueue"]
    return AnnotationQueue.from_graphql(node) if node else None


def add_traces(
    queue_id: str,
    trace_ids: Optional[Sequence[str]] = None,
    filter_string: Optional[str] = None,
    limit: Optional[int] = None,
) -> int:
    """Adds traces by id (at most 1000) or the newest ones matching a trace search filter (at
    most ``limit``, default 1000); traces already in the queue stay as they are. Returns how many
    were added."""
    if (trace_ids is None) == (filter_string is None):
        raise _invalid("Give exactly one of trace_ids and filter_string", "trace_ids")
    payload: Dict[str, Any] = {"queueId": queue_id}
    if trace_ids is not None:
        payload["traceIds"] = list(trace_ids)
    else:
        payload["filter"] = filter_string
        if limit is not None:
            payload["limit"] = limit
    data = _client().execute(ADD_TRACES, {"input": payload})
    return int(data["addTracesToAnnotationQueue"]["added"])


def get_queue_items(queue_id: str, status: Optional[str] = None) -> List[AnnotationQueueItem]:
    """The queue's items in the order they were added (all pages), of one status when given."""
    if status is not None and status not in ITEM_STATUSES:
        raise _invalid(f"status must be one of {', '.join(ITEM_STATUSES)}", "status")
    items: List[AnnotationQueueItem] = []
    after: Optional[str] = None
    while True:
        data = _client().execute(GET_ITEMS, {"id": queue_id, "status": status, "after": after})
        queue = data["annotationQueue"]
        if queue is None:
            raise NotFoundError(
                f"Annotation queue {queue_id} not found", "NOT_FOUND", {"id": queue_id}
            )
        page = queue["items"]
        for node in page["nodes"]:
            labels: Dict[str, Any] = {}
            for label in node["labels"]:  # newest first: the first of a name wins
                labels.setdefault(label["name"], label["value"])
            items.append(
                AnnotationQueueItem(
                    trace_id=node["traceId"],
                    status=node["status"],
                    assignee=node.get("assignee"),
                    completed_by=node.get("completedBy"),
                    labels=labels,
                )
            )
        if not page["pageInfo"]["hasNextPage"]:
            return items
        after = page["pageInfo"]["endCursor"]
