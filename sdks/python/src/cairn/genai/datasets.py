"""Evaluation datasets (docs/python-sdk.md, "Evaluation"): versioned sets of records with
``inputs``, ``expectations`` and ``tags``, MLflow 3's names.

>>> ds = cairn.genai.datasets.create_dataset("qa")
>>> ds.merge_records([{"inputs": {"q": "2+2?"}, "expectations": {"expected_response": "4"}}])
>>> ds.version, len(ds.records)
(1, 1)

``merge_records`` takes a list of dicts, a pandas DataFrame, a path to a ``.csv``/``.jsonl``
file, or traces (trace ids, trace dicts from ``cairn.get_trace``, or :class:`Trace` views). Every
call appends the records as a new version (the server numbers versions; records keep the version
that added them). Records are appended, not merged with existing ones of the same inputs.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from .._validation import to_str, validate_key, validate_value
from ..exceptions import CairnError, InvalidArgumentError, NotFoundError
from .assessments import json_value

#: records per ``appendDatasetRecords`` call (the server's limit)
APPEND_BATCH = 500
#: trace ids per ``appendDatasetRecordsFromTraces`` call
TRACE_BATCH = 500
#: plain CSV/DataFrame columns read as expectations (others are inputs)
EXPECTATION_COLUMNS = ("expected_response", "expected_facts", "guidelines")
RECORD_KEYS = ("inputs", "expectations", "tags", "source_trace_id")


def _invalid(message: str, argument: str = "records") -> InvalidArgumentError:
    return InvalidArgumentError(message, "INVALID_ARGUMENT", {"argument": argument})


_DATASET_FIELDS = "id name experimentId version recordCount tags { key value } createdAt updatedAt"
_RECORD_FIELDS = "id inputs expectations tags sourceTraceId version createdAt"

CREATE = f"""mutation CairnCreateDataset($input: CreateEvaluationDatasetInput!) {{
  createEvaluationDataset(input: $input) {{ {_DATASET_FIELDS} }}
}}"""
APPEND = f"""mutation CairnAppendDatasetRecords($input: AppendDatasetRecordsInput!) {{
  appendDatasetRecords(input: $input) {{ {_DATASET_FIELDS} }}
}}"""
APPEND_TRACES = f"""mutation CairnAppendDatasetTraces($input: AppendDatasetRecordsFromTracesInput!) {{
  appendDatasetRecordsFromTraces(input: $input) {{ {_DATASET_FIELDS} }}
}}"""
GET = f"""query CairnDataset($id: ID, $name: String) {{
  evaluationDataset(id: $id, name: $name) {{ {_DATASET_FIELDS} }}
}}"""
RECORDS = f"""query CairnDatasetRecords($id: ID, $version: Int, $first: Int, $after: String) {{
  evaluationDataset(id: $id) {{
    id version
    records(version: $version, first: $first, after: $after) {{
      edges {{ node {{ {_RECORD_FIELDS} }} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}"""
SEARCH = f"""query CairnDatasets($nameContains: String, $first: Int, $after: String) {{
  evaluationDatasets(nameContains: $nameContains, first: $first, after: $after) {{
    edges {{ node {{ {_DATASET_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


def _client() -> Any:
    from .. import fluent

    return fluent.get_client()


@dataclass(frozen=True)
class DatasetRecord:
    inputs: Dict[str, Any]
    expectations: Dict[str, Any] = field(default_factory=dict)
    tags: Dict[str, Any] = field(default_factory=dict)
    source_trace_id: Optional[str] = None
    record_id: Optional[str] = None
    #: the dataset version that added the record
    version: Optional[int] = None
    create_time_ms: Optional[int] = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "record_id": self.record_id,
            "inputs": self.inputs,
            "expectations": self.expectations,
            "tags": self.tags,
            "source_trace_id": self.source_trace_id,
            "version": self.version,
            "create_time_ms": self.create_time_ms,
        }


class EvaluationDataset:
    """A dataset on the server. ``records`` reads the records of the version this object is at
    (``version``); ``merge_records`` appends and moves it to the new version."""

    def __init__(self, node: Mapping[str, Any], client: Any = None) -> None:
        self._client = client
        self._records: Optional[List[DatasetRecord]] = None
        self._update(node)

    def _update(self, node: Mapping[str, Any]) -> None:
        self.dataset_id = str(node["id"])
        self.name = str(node["name"])
        self.experiment_id: Optional[str] = node.get("experimentId")
        self.version = int(node.get("version") or 0)
        self.record_count = int(node.get("recordCount") or 0)
        self.tags: Dict[str, str] = {str(t["key"]): str(t["value"]) for t in node.get("tags") or []}
        self.create_time_ms: Optional[int] = node.get("createdAt")
        self.last_update_time_ms: Optional[int] = node.get("updatedAt")
        self._records = None

    @property
    def client(self) -> Any:
        return self._client or _client()

    @property
    def records(self) -> List[DatasetRecord]:
        """Every record as of :attr:`version` (fetched once per version, 200 per page)."""
        if self._records is None:
            self._records = self.records_at(self.version)
        return list(self._records)

    def records_at(self, version: Optional[int] = None) -> List[DatasetRecord]:
        """The records as of ``version`` (default: the latest on the server)."""
        out: List[DatasetRecord] = []
        after: Optional[str] = None
        while True:
            node = self.client.execute(
                RECORDS, {"id": self.dataset_id, "version": version, "first": 200, "after": after}
            )["evaluationDataset"]
            if node is None:
                raise NotFoundError(
                    f"Evaluation dataset {self.dataset_id} not found",
                    "NOT_FOUND",
                    {"id": self.dataset_id},
                )
            page = node["records"]
            for edge in page["edges"]:
                r = edge["node"]
                out.append(
                    DatasetRecord(
                        inputs=dict(r.get("inputs") or {}),
                        expectations=dict(r.get("expectations") or {}),
                        tags=dict(r.get("tags") or {}),
                        source_trace_id=r.get("sourceTraceId"),
                        record_id=r.get("id"),
                        version=r.get("version"),
                        create_time_ms=r.get("createdAt"),
                    )
                )
            if not page["pageInfo"]["hasNextPage"] or not page["edges"]:
                return out
            after = page["pageInfo"]["endCursor"]

    def merge_records(self, records: Any) -> "EvaluationDataset":
        """Appends records (a list of dicts, a DataFrame, a ``.csv``/``.jsonl`` path, or traces)
        as a new version; returns ``self`` at that version. Everything is checked before the
        first request, so bad input changes nothing."""
        trace_ids, plain = _normalize(records)
        if not trace_ids and not plain:
            raise _invalid("merge_records got no records")
        node: Optional[Mapping[str, Any]] = None
        for i in range(0, len(plain), APPEND_BATCH):
            node = self.client.execute(
                APPEND,
                {"input": {"datasetId": self.dataset_id, "records": plain[i : i + APPEND_BATCH]}},
            )["appendDatasetRecords"]
        for i in range(0, len(trace_ids), TRACE_BATCH):
            node = self.client.execute(
                APPEND_TRACES,
                {
                    "input": {
                        "datasetId": self.dataset_id,
                        "traceIds": trace_ids[i : i + TRACE_BATCH],
                    }
                },
            )["appendDatasetRecordsFromTraces"]
        if node is not None:
            self._update(node)
        return self

    def to_df(self) -> Any:
        """The records as a pandas DataFrame (columns ``inputs``, ``expectations``, ``tags``,
        ``source_trace_id``, ``record_id``, ``version``, ``create_time_ms``); needs pandas."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "EvaluationDataset.to_df() needs pandas: pip install 'cairn-ml[pandas]' "
                "(or use dataset.records)"
            ) from None
        rows = [r.to_dict() for r in self.records]
        columns = [
            "inputs",
            "expectations",
            "tags",
            "source_trace_id",
            "record_id",
            "version",
            "create_time_ms",
        ]
        return pd.DataFrame(rows, columns=columns)

    def __len__(self) -> int:
        return self.record_count

    def __repr__(self) -> str:
        return (
            f"<EvaluationDataset {self.name!r} id={self.dataset_id} version={self.version} "
            f"records={self.record_count}>"
        )


# ---------------------------------------------------------------------- normalizing records


def _normalize(records: Any) -> "tuple[List[str], List[Dict[str, Any]]]":
    """(trace ids, record inputs) from whatever ``merge_records`` was given."""
    from ._trace import Trace

    if isinstance(records, (str, os.PathLike)):
        return [], _from_file(Path(records))
    if _is_dataframe(records):
        return [], [_record(row, i, flat=True) for i, row in enumerate(_frame_rows(records))]
    if isinstance(records, Mapping):
        records = [records]
    if not isinstance(records, (list, tuple)):
        raise _invalid(
            "records must be a list of dicts, a pandas DataFrame, a path to a .csv/.jsonl file, "
            f"or a list of traces; got {type(records).__name__}"
        )
    trace_ids: List[str] = []
    plain: List[Dict[str, Any]] = []
    for i, item in enumerate(records):
        if isinstance(item, str):
            if not item.strip():
                raise _invalid(f"records[{i}] is an empty trace id")
            trace_ids.append(item.strip())
        elif isinstance(item, Trace):
            trace_ids.append(item.trace_id)
        elif (
            (
                isinstance(item, Mapping)
                and "spans" in item
                and "id" in item
                and "inputs" not in item
            )
            or isinstance(item, Mapping)
            and _is_trace_dict(item)
        ):
            trace_ids.append(str(item["id"]))
        elif isinstance(item, Mapping):
            plain.append(_record(item, i, flat=False))
        else:
            raise _invalid(
                f"records[{i}] must be a dict with 'inputs' or a trace (id), got {type(item).__name__}"
            )
    return trace_ids, plain


def _is_trace_dict(item: Mapping[str, Any]) -> bool:
    """A trace as ``cairn.get_trace``/``search_traces`` answer it (has spanCount/startTime)."""
    return (
        "id" in item and ("spanCount" in item or "startTime" in item) and "expectations" not in item
    )


def _is_dataframe(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "to_dict")


def _frame_rows(frame: Any) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = frame.to_dict(orient="records")
    out = []
    for row in rows:
        clean = {}
        for key, value in row.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue  # NaN: a missing cell
            clean[str(key)] = value
        out.append(clean)
    return out


def _record(row: Mapping[str, Any], index: int, flat: bool) -> Dict[str, Any]:
    """One ``DatasetRecordInput``. A row with an ``inputs`` key is in record shape
    (``inputs``, ``expectations``, ``tags``, ``source_trace_id``; JSON strings are parsed for
    CSV); a flat row (CSV/DataFrame without ``inputs``): ``expected_response``,
    ``expected_facts``, ``guidelines`` and ``expectations.<name>`` columns are expectations,
    ``tags.<name>`` tags, every other column an input."""
    where = f"records[{index}]"
    if "inputs" in row:
        unknown = sorted(set(row) - set(RECORD_KEYS) - {"source_trace_id", "sourceTraceId"})
        if unknown and not flat:
            raise _invalid(
                f"{where} has unknown key(s) {', '.join(unknown)}; use {', '.join(RECORD_KEYS)}"
            )
        inputs = _object(row["inputs"], f"{where}.inputs")
        expectations = _object(row.get("expectations"), f"{where}.expectations", optional=True)
        tags = _object(row.get("tags"), f"{where}.tags", optional=True)
        source = row.get("source_trace_id", row.get("sourceTraceId"))
    elif flat:
        inputs, expectations, tags = {}, {}, {}
        for key, value in row.items():
            if key.startswith("expectations."):
                expectations[key[len("expectations.") :]] = _cell(value)
            elif key in EXPECTATION_COLUMNS:
                expectations[key] = _cell(value)
            elif key.startswith("tags."):
                tags[key[len("tags.") :]] = _cell(value)
            elif key.startswith("inputs."):
                inputs[key[len("inputs.") :]] = _cell(value)
            else:
                inputs[key] = _cell(value)
        source = None
    else:
        raise _invalid(f"{where} has no 'inputs' (a dict of the predict function's arguments)")
    if not inputs:
        raise _invalid(f"{where}.inputs is empty")
    out: Dict[str, Any] = {"inputs": json_value(inputs, f"{where}.inputs")}
    if expectations:
        out["expectations"] = json_value(expectations, f"{where}.expectations")
    if tags:
        out["tags"] = json_value(tags, f"{where}.tags")
    if source:
        out["sourceTraceId"] = str(source)
    return out


def _cell(value: Any) -> Any:
    """A CSV cell: JSON arrays/objects are parsed (``expected_facts`` as ``["a", "b"]``)."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("[", "{"):
            try:
                return json.loads(text)
            except ValueError:
                return value
    return value


def _object(value: Any, where: str, optional: bool = False) -> Dict[str, Any]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if optional:
            return {}
        raise _invalid(f"{where} is missing")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _invalid(f"{where} must be a JSON object, got the text {value[:80]!r}") from None
    if not isinstance(value, Mapping):
        raise _invalid(f"{where} must be a dict, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _from_file(path: Path) -> List[Dict[str, Any]]:
    if not path.is_file():
        raise _invalid(f"No such file: {path}", "records")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [
                {k: v for k, v in row.items() if k is not None and v not in (None, "")}
                for row in csv.DictReader(handle)
            ]
        return [_record(row, i, flat=True) for i, row in enumerate(rows)]
    if suffix in (".jsonl", ".ndjson"):
        out: List[Dict[str, Any]] = []
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise _invalid(f"{path}:{number} is not JSON: {exc}") from None
                if not isinstance(row, dict):
                    raise _invalid(f"{path}:{number} is not a JSON object")
                out.append(_record(row, len(out), flat=True))
        return out
    raise _invalid(f"{path}: only .csv and .jsonl files are read")


# ---------------------------------------------------------------------- public API


def _tags_input(tags: Optional[Mapping[str, Any]]) -> Optional[List[Dict[str, str]]]:
    if tags is None:
        return None
    if not isinstance(tags, Mapping):
        raise _invalid(f"tags must be a dict, got {type(tags).__name__}", "tags")
    out = []
    for key, value in tags.items():
        text = to_str(value)
        try:
            validate_key("tag", key)
            validate_value("tag", key, text)
        except CairnError as exc:
            raise _invalid(exc.message, "tags") from None
        out.append({"key": key, "value": text})
    return out


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise _invalid(f"A dataset name must be a non-empty string, got {name!r}", "name")
    return name


def create_dataset(
    name: str, experiment_id: Optional[str] = None, tags: Optional[Mapping[str, Any]] = None
) -> EvaluationDataset:
    """Creates an empty dataset (version 0). Names are unique per workspace:
    :class:`~cairn.exceptions.AlreadyExistsError` when taken."""
    variables = {
        "name": _check_name(name),
        "experimentId": str(experiment_id) if experiment_id is not None else None,
        "tags": _tags_input(tags),
    }
    client = _client()
    data = client.execute(CREATE, {"input": variables})
    return EvaluationDataset(data["createEvaluationDataset"])


def get_dataset(name: Optional[str] = None, dataset_id: Optional[str] = None) -> EvaluationDataset:
    """The dataset with that name or id (exactly one); :class:`NotFoundError` when missing."""
    if (name is None) == (dataset_id is None):
        raise _invalid("get_dataset needs exactly one of name and dataset_id", "name")
    if name is not None:
        _check_name(name)
    node = _client().execute(GET, {"id": dataset_id, "name": name})["evaluationDataset"]
    if node is None:
        what = f"named {name!r}" if name is not None else f"with id {dataset_id}"
        raise NotFoundError(
            f"No evaluation dataset {what}", "NOT_FOUND", {"name": name, "id": dataset_id}
        )
    return EvaluationDataset(node)


def search_datasets(
    name_contains: Optional[str] = None, max_results: int = 1000
) -> List[EvaluationDataset]:
    """Datasets whose name contains ``name_contains`` (all without it), at most ``max_results``."""
    if not isinstance(max_results, int) or max_results < 1:
        raise _invalid("max_results must be a positive integer", "max_results")
    client = _client()
    out: List[EvaluationDataset] = []
    after: Optional[str] = None
    while len(out) < max_results:
        page = client.execute(
            SEARCH,
            {
                "nameContains": name_contains,
                "first": min(200, max_results - len(out)),
                "after": after,
            },
        )["evaluationDatasets"]
        out.extend(EvaluationDataset(e["node"]) for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"] or not page["edges"]:
            break
        after = page["pageInfo"]["endCursor"]
    return out
