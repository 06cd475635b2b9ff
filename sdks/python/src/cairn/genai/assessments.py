"""Assessments on traces: feedback and expectations (docs/python-sdk.md, "Evaluation").

MLflow 3's names: ``cairn.log_feedback`` / ``cairn.log_expectation`` / ``cairn.update_assessment``
with an :class:`AssessmentSource` (``HUMAN``, ``LLM_JUDGE`` or ``CODE`` and an id). The GraphQL
contract is ``logFeedback``, ``logExpectation``, ``updateAssessment``, ``deleteAssessment`` and
``assessments(...)`` (packages/schema/schema.graphql).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Union

from ..exceptions import InvalidArgumentError, NotFoundError

#: the longest assessment / scorer name the SDK sends (metric keys are ``<name>/mean``)
NAME_MAX = 200


class AssessmentSourceType:
    """Who produced an assessment (GraphQL ``AssessmentSourceType``)."""

    HUMAN = "HUMAN"
    LLM_JUDGE = "LLM_JUDGE"
    CODE = "CODE"

    ALL = ("HUMAN", "LLM_JUDGE", "CODE")


def _invalid(message: str, argument: str, **details: Any) -> InvalidArgumentError:
    return InvalidArgumentError(message, "INVALID_ARGUMENT", {"argument": argument, **details})


@dataclass(frozen=True)
class AssessmentSource:
    """``AssessmentSource(source_type="HUMAN", source_id="ana@example.com")``.

    ``source_type`` is one of :class:`AssessmentSourceType` (case-insensitive; MLflow's
    ``"AI_JUDGE"`` is read as ``LLM_JUDGE``); ``source_id`` names the person, judge or code.
    """

    source_type: str = AssessmentSourceType.HUMAN
    source_id: str = "default"

    def __post_init__(self) -> None:
        kind = str(getattr(self.source_type, "value", self.source_type)).strip().upper()
        if kind == "AI_JUDGE":
            kind = AssessmentSourceType.LLM_JUDGE
        if kind not in AssessmentSourceType.ALL:
            raise _invalid(
                f"Unknown assessment source type {self.source_type!r}: use HUMAN, LLM_JUDGE or CODE",
                "source_type",
            )
        if not isinstance(self.source_id, str) or not self.source_id.strip():
            raise _invalid("AssessmentSource.source_id must be a non-empty string", "source_id")
        object.__setattr__(self, "source_type", kind)

    def to_input(self) -> Dict[str, str]:
        return {"type": self.source_type, "id": self.source_id}

    @staticmethod
    def from_graphql(node: Optional[Mapping[str, Any]]) -> "AssessmentSource":
        if not node:
            return AssessmentSource()
        return AssessmentSource(str(node.get("type") or "HUMAN"), str(node.get("id") or "default"))


@dataclass
class Feedback:
    """A score: ``value`` (bool, number, string, or a JSON object/array), a ``rationale``, or an
    ``error`` when the scorer failed (then ``value`` is None). What scorers return; what
    ``log_feedback`` stores."""

    value: Any = None
    rationale: Optional[str] = None
    name: Optional[str] = None
    source: Optional[AssessmentSource] = None
    error: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Expectation:
    """A ground truth on a trace (``expected_response``, ``expected_facts``, ``guidelines``...)."""

    value: Any
    name: Optional[str] = None
    source: Optional[AssessmentSource] = None
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AssessmentRevision:
    value: Any
    rationale: Optional[str]
    source: AssessmentSource
    author: str
    #: epoch milliseconds
    at: Optional[int]


@dataclass(frozen=True)
class Assessment:
    """An assessment as the server stores it (GraphQL ``Assessment``)."""

    assessment_id: str
    trace_id: str
    name: str
    kind: str
    value: Any
    rationale: Optional[str]
    error: Optional[str]
    source: AssessmentSource
    author: str
    span_id: Optional[str] = None
    run_id: Optional[str] = None
    rule_id: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)
    #: epoch milliseconds
    create_time_ms: Optional[int] = None
    last_update_time_ms: Optional[int] = None
    history: List[AssessmentRevision] = field(default_factory=list)

    @property
    def is_feedback(self) -> bool:
        return self.kind == "FEEDBACK"

    @staticmethod
    def from_graphql(node: Mapping[str, Any]) -> "Assessment":
        return Assessment(
            assessment_id=str(node["id"]),
            trace_id=str(node["traceId"]),
            name=str(node["name"]),
            kind=str(node.get("kind") or "FEEDBACK"),
            value=node.get("value"),
            rationale=node.get("rationale"),
            error=node.get("error"),
            source=AssessmentSource.from_graphql(node.get("source")),
            author=str(node.get("author") or ""),
            span_id=node.get("spanId"),
            run_id=node.get("runId"),
            rule_id=node.get("ruleId"),
            metadata=dict(node.get("metadata") or {}),
            create_time_ms=node.get("createdAt"),
            last_update_time_ms=node.get("updatedAt"),
            history=[
                AssessmentRevision(
                    value=h.get("value"),
                    rationale=h.get("rationale"),
                    source=AssessmentSource.from_graphql(h.get("source")),
                    author=str(h.get("author") or ""),
                    at=h.get("at"),
                )
                for h in node.get("history") or []
            ],
        )


# ---------------------------------------------------------------------- validation


def check_name(name: Any, argument: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise _invalid(f"{argument} must be a non-empty string, got {name!r}", argument)
    if len(name) > NAME_MAX:
        raise _invalid(f"{argument} is longer than {NAME_MAX} characters", argument)
    return name


def check_trace_id(trace_id: Any) -> str:
    if not isinstance(trace_id, str) or not trace_id.strip():
        raise _invalid(f"trace_id must be a non-empty string, got {trace_id!r}", "trace_id")
    return trace_id.strip()


def json_value(value: Any, argument: str = "value") -> Any:
    """``value`` as JSON the server accepts (bool, finite number, string, list, dict, None)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise _invalid(f"{argument} must be a finite number, got {value!r}", argument)
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        try:
            return json_value(value.item(), argument)
        except (TypeError, ValueError):
            pass
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise _invalid(
            f"{argument} must be JSON (bool, number, string, list, dict): {exc}", argument
        )


def _source(
    source: Union[AssessmentSource, str, None], argument: str = "source"
) -> Optional[Dict[str, str]]:
    if source is None:
        return None
    if isinstance(source, str):  # "HUMAN", "CODE", ...
        return AssessmentSource(source).to_input()
    if not isinstance(source, AssessmentSource):
        raise _invalid(
            f"{argument} must be an AssessmentSource, got {type(source).__name__}", argument
        )
    return source.to_input()


def _metadata(metadata: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise _invalid(f"metadata must be a dict, got {type(metadata).__name__}", "metadata")
    out = json_value(dict(metadata), "metadata")
    return out if isinstance(out, dict) else None


# ---------------------------------------------------------------------- GraphQL

ASSESSMENT_FIELDS = """
  id traceId spanId kind name value rationale error source { type id } author runId ruleId
  metadata createdAt updatedAt history { value rationale source { type id } author at }
"""

LOG_FEEDBACK = f"""mutation CairnLogFeedback($input: LogFeedbackInput!) {{
  logFeedback(input: $input) {{ {ASSESSMENT_FIELDS} }}
}}"""
LOG_EXPECTATION = f"""mutation CairnLogExpectation($input: LogExpectationInput!) {{
  logExpectation(input: $input) {{ {ASSESSMENT_FIELDS} }}
}}"""
UPDATE_ASSESSMENT = f"""mutation CairnUpdateAssessment($input: UpdateAssessmentInput!) {{
  updateAssessment(input: $input) {{ {ASSESSMENT_FIELDS} }}
}}"""
DELETE_ASSESSMENT = (
    """mutation CairnDeleteAssessment($id: ID!) { deleteAssessment(assessmentId: $id) }"""
)
SEARCH_ASSESSMENTS = f"""query CairnAssessments($traceId: String, $runId: String, $ruleId: String,
  $name: String, $first: Int, $after: String) {{
  assessments(traceId: $traceId, runId: $runId, ruleId: $ruleId, name: $name, first: $first,
    after: $after) {{
    edges {{ node {{ {ASSESSMENT_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


def _client() -> Any:
    from .. import fluent

    return fluent.get_client()


def log_feedback(
    trace_id: str,
    name: str = "feedback",
    value: Any = None,
    rationale: Optional[str] = None,
    source: Optional[AssessmentSource] = None,
    error: Optional[Union[str, BaseException]] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    span_id: Optional[str] = None,
    run_id: Optional[str] = None,
) -> Assessment:
    """Logs a FEEDBACK assessment on a trace (or one of its spans) and returns it as stored.

    ``value`` is a bool, number, string or JSON object/array; ``error`` (a message or an
    exception) records a failed assessment instead (``value`` must then be None). ``source``
    defaults to ``HUMAN`` with the caller's identity as the id (decided by the server).
    """
    variables: Dict[str, Any] = {
        "traceId": check_trace_id(trace_id),
        "name": check_name(name),
        "value": json_value(value),
        "rationale": _optional_text(rationale, "rationale"),
        "source": _source(source),
        "metadata": _metadata(metadata),
    }
    if error is not None:
        if value is not None:
            raise _invalid("Give either value or error, not both", "error")
        variables["error"] = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    elif value is None:
        raise _invalid("log_feedback needs a value (or an error)", "value")
    if span_id is not None:
        variables["spanId"] = _optional_text(span_id, "span_id")
    if run_id is not None:
        variables["runId"] = _optional_text(run_id, "run_id")
    data = _client().execute(LOG_FEEDBACK, {"input": variables})
    return Assessment.from_graphql(data["logFeedback"])


def log_expectation(
    trace_id: str,
    name: str,
    value: Any,
    source: Optional[AssessmentSource] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    span_id: Optional[str] = None,
    run_id: Optional[str] = None,
) -> Assessment:
    """Logs an EXPECTATION (ground truth, e.g. ``expected_response``) on a trace."""
    if value is None:
        raise _invalid("log_expectation needs a value", "value")
    variables: Dict[str, Any] = {
        "traceId": check_trace_id(trace_id),
        "name": check_name(name),
        "value": json_value(value),
        "source": _source(source),
        "metadata": _metadata(metadata),
    }
    if span_id is not None:
        variables["spanId"] = _optional_text(span_id, "span_id")
    if run_id is not None:
        variables["runId"] = _optional_text(run_id, "run_id")
    data = _client().execute(LOG_EXPECTATION, {"input": variables})
    return Assessment.from_graphql(data["logExpectation"])


def update_assessment(
    assessment_id: str,
    value: Any = None,
    rationale: Optional[str] = None,
    source: Optional[AssessmentSource] = None,
    assessment: Optional[Union[Feedback, Expectation]] = None,
    *,
    trace_id: Optional[str] = None,
) -> Assessment:
    """Overrides an assessment's value (and rationale, source); the server keeps the earlier
    values in ``history``. MLflow's call shape works too:
    ``update_assessment(trace_id=..., assessment_id=..., assessment=Feedback(value=...))``
    (``trace_id`` is checked: :class:`NotFoundError` when the assessment is not on that trace)."""
    if not isinstance(assessment_id, str) or not assessment_id.strip():
        raise _invalid("assessment_id must be a non-empty string", "assessment_id")
    if assessment is not None:
        value = assessment.value if value is None else value
        if isinstance(assessment, Feedback) and rationale is None:
            rationale = assessment.rationale
        source = source or assessment.source
    if value is None and rationale is None:
        raise _invalid("update_assessment needs a new value or rationale", "value")
    if trace_id is not None:
        _check_on_trace(assessment_id, check_trace_id(trace_id))
    # omitted fields keep their current value (an explicit null would clear it)
    variables: Dict[str, Any] = {"assessmentId": assessment_id}
    if value is not None:
        variables["value"] = json_value(value)
    if rationale is not None:
        variables["rationale"] = _optional_text(rationale, "rationale")
    if source is not None:
        variables["source"] = _source(source)
    data = _client().execute(UPDATE_ASSESSMENT, {"input": variables})
    return Assessment.from_graphql(data["updateAssessment"])


def delete_assessment(assessment_id: str, *, trace_id: Optional[str] = None) -> None:
    """Deletes an assessment (it no longer appears on the trace; the events stay).
    ``trace_id`` (MLflow's call shape) is checked like :func:`update_assessment`'s."""
    if not isinstance(assessment_id, str) or not assessment_id.strip():
        raise _invalid("assessment_id must be a non-empty string", "assessment_id")
    if trace_id is not None:
        _check_on_trace(assessment_id, check_trace_id(trace_id))
    _client().execute(DELETE_ASSESSMENT, {"id": assessment_id})


def _check_on_trace(assessment_id: str, trace_id: str) -> None:
    if not any(a.assessment_id == assessment_id for a in get_assessments(trace_id=trace_id)):
        raise NotFoundError(
            f"Assessment {assessment_id} is not on trace {trace_id}",
            "NOT_FOUND",
            {"id": assessment_id, "traceId": trace_id},
        )


def get_assessments(
    trace_id: Optional[str] = None,
    run_id: Optional[str] = None,
    name: Optional[str] = None,
    rule_id: Optional[str] = None,
    max_results: int = 1000,
) -> List[Assessment]:
    """Assessments matching every given filter (a trace, an evaluation run, an online rule, a
    name), fetched page by page, at most ``max_results``."""
    if trace_id is None and run_id is None and rule_id is None:
        raise _invalid("get_assessments needs trace_id, run_id or rule_id", "trace_id")
    if not isinstance(max_results, int) or max_results < 1:
        raise _invalid("max_results must be a positive integer", "max_results")
    client = _client()
    out: List[Assessment] = []
    after: Optional[str] = None
    while len(out) < max_results:
        data = client.execute(
            SEARCH_ASSESSMENTS,
            {
                "traceId": trace_id,
                "runId": run_id,
                "ruleId": rule_id,
                "name": name,
                "first": min(200, max_results - len(out)),
                "after": after,
            },
        )["assessments"]
        out.extend(Assessment.from_graphql(e["node"]) for e in data["edges"])
        if not data["pageInfo"]["hasNextPage"] or not data["edges"]:
            break
        after = data["pageInfo"]["endCursor"]
    return out


def _optional_text(value: Any, argument: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"{argument} must be a string, got {type(value).__name__}", argument)
    return value
