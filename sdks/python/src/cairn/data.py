"""Dataset inputs of runs (docs/python-sdk.md, "Dataset inputs"): MLflow's ``log_input``.

``cairn.log_input(df, context="training")`` records that the active run used a dataset. The
dataset is named and identified by a digest computed here (the server never reads the data):

- a pandas ``DataFrame``: sha256 over pandas' row hashes of the first 10,000 rows plus the
  column names and dtypes; schema = the columns and their dtypes; profile = rows and elements;
- a ``dict`` (or list) of plain values: sha256 over its canonical JSON;
- a :class:`Dataset` (name + digest you give, e.g. from your data catalogue).

The digest is the first 8 hex characters, as MLflow's. The lineage graph (``lineage`` query,
the dashboard's /lineage page) links the dataset to the run and to what the run produced.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

__all__ = ["Dataset", "from_dict", "from_pandas", "log_input", "log_inputs"]

_MAX_ROWS_HASHED = 10_000

LOG_RUN_INPUTS = """
mutation($runId: String!, $datasets: [DatasetInputInput!]!) {
  logRunInputs(runId: $runId, datasets: $datasets) { id }
}"""


@dataclass(frozen=True)
class Dataset:
    """A dataset as a run input: ``name`` and ``digest`` identify it; ``source`` says where it
    lives (text, JSON by convention: ``{"uri": "s3://…"}``), ``source_type`` what kind of place
    (``local``, ``s3``, ``http``, ``code``, …)."""

    name: str
    digest: str
    source: str = "{}"
    source_type: str = "code"
    schema: Optional[str] = None
    profile: Optional[str] = None


def _short(h: "hashlib._Hash") -> str:
    return h.hexdigest()[:8]


def _source_json(source: Optional[str]) -> str:
    return "{}" if source is None else json.dumps({"uri": source})


def _source_type(source: Optional[str]) -> str:
    if source is None:
        return "code"
    for prefix, kind in (
        ("s3://", "s3"),
        ("gs://", "gcs"),
        ("http://", "http"),
        ("https://", "http"),
    ):
        if source.startswith(prefix):
            return kind
    return "local"


def from_pandas(df: Any, name: Optional[str] = None, source: Optional[str] = None) -> Dataset:
    """A :class:`Dataset` for a pandas DataFrame (digest over its rows, columns and dtypes)."""
    import pandas as pd

    h = hashlib.sha256()
    h.update(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df.head(_MAX_ROWS_HASHED), index=True).values.tobytes())
    h.update(str(len(df)).encode())
    schema = json.dumps(
        {"columns": [{"name": str(c), "type": str(t)} for c, t in df.dtypes.items()]}
    )
    profile = json.dumps({"num_rows": len(df), "num_elements": int(df.size)})
    return Dataset(
        name=name or "dataset",
        digest=_short(h),
        source=_source_json(source),
        source_type=_source_type(source),
        schema=schema,
        profile=profile,
    )


def from_dict(data: Any, name: Optional[str] = None, source: Optional[str] = None) -> Dataset:
    """A :class:`Dataset` for a dict or list of JSON values (digest over canonical JSON)."""
    try:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"log_input: the dict is not JSON-serialisable: {exc}") from None
    h = hashlib.sha256(text.encode())
    size = len(data) if isinstance(data, (dict, list)) else 1
    return Dataset(
        name=name or "dataset",
        digest=_short(h),
        source=_source_json(source),
        source_type=_source_type(source),
        profile=json.dumps({"num_elements": size}),
    )


def _as_dataset(dataset: Any, name: Optional[str], source: Optional[str]) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, (dict, list)):
        return from_dict(dataset, name=name, source=source)
    if type(dataset).__name__ == "DataFrame" and hasattr(dataset, "dtypes"):
        return from_pandas(dataset, name=name, source=source)
    # an MLflow dataset object (mlflow.data.from_pandas(...)): its own name, digest, source
    if all(hasattr(dataset, a) for a in ("name", "digest", "source")):
        src = dataset.source
        to_json = getattr(src, "to_json", None)
        schema = getattr(dataset, "schema", None)
        profile = getattr(dataset, "profile", None)
        return Dataset(
            name=str(dataset.name),
            digest=str(dataset.digest),
            source=to_json() if callable(to_json) else json.dumps({"uri": str(src)}),
            source_type=str(getattr(src, "_get_source_type", lambda: "code")()),
            schema=None
            if schema is None
            else json.dumps(getattr(schema, "to_dict", lambda: str(schema))()),
            profile=None if profile is None else json.dumps(profile),
        )
    raise TypeError(
        "log_input takes a pandas DataFrame, a dict/list of JSON values or a cairn.data.Dataset,"
        f" not {type(dataset).__name__}"
    )


def dataset_input(
    dataset: Any,
    context: Optional[str] = None,
    tags: Optional[Mapping[str, Any]] = None,
    name: Optional[str] = None,
    source: Optional[str] = None,
) -> Dict[str, Any]:
    """The GraphQL ``DatasetInputInput`` for one dataset."""
    d = _as_dataset(dataset, name, source)
    out: Dict[str, Any] = {
        "name": d.name,
        "digest": d.digest,
        "sourceType": d.source_type,
        "source": d.source,
        "schema": d.schema,
        "profile": d.profile,
        "context": context,
    }
    if tags:
        out["tags"] = [{"key": str(k), "value": str(v)} for k, v in tags.items()]
    return out


def log_input(
    dataset: Any,
    context: Optional[str] = None,
    tags: Optional[Mapping[str, Any]] = None,
    name: Optional[str] = None,
    source: Optional[str] = None,
    run_id: Optional[str] = None,
) -> Dataset:
    """Records that the active run (or ``run_id``) used ``dataset``; ``context`` says how
    (``"training"``, ``"eval"``, …). Synchronous; logging the same dataset with the same
    context again changes nothing. Returns the :class:`Dataset` with its digest."""
    from . import fluent

    d = _as_dataset(dataset, name, source)
    if run_id is None:
        run = fluent._active_or_start()
        client, rid = run.client, run.run_id
    else:
        client, rid = fluent.get_client(), run_id
    client.execute(LOG_RUN_INPUTS, {"runId": rid, "datasets": [dataset_input(d, context, tags)]})
    return d


def log_inputs(
    datasets: List[Any], context: Optional[str] = None, run_id: Optional[str] = None
) -> None:
    """Several datasets in one call (at most 100), all with ``context``."""
    from . import fluent

    if run_id is None:
        run = fluent._active_or_start()
        client, rid = run.client, run.run_id
    else:
        client, rid = fluent.get_client(), run_id
    client.execute(
        LOG_RUN_INPUTS, {"runId": rid, "datasets": [dataset_input(d, context) for d in datasets]}
    )
