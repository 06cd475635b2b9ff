"""``cairn.genai.evaluate``: score an LLM application's answers with scorers and record the
result as an evaluation run (docs/python-sdk.md, "Evaluation"; the GraphQL schema in
packages/schema/schema.graphql).

Per row: a trace (the ``predict_fn`` call traced, or a trace made for the given inputs and
outputs, or the row's own trace), then every scorer (a failing scorer is an error on that row,
never the end of the run). Then: a tracking run tagged ``cairn.evaluation=true`` (the active run
when there is one), ``registerEvaluationRun``, ``recordEvaluationRows`` in batches of at most
100 rows (the scores become FEEDBACK assessments on each row's trace), metrics
``<name>/mean``, ``<name>/count``, ``<name>/error_count`` on the run, and a summary table.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import hashlib
import inspect
import json
import logging
import math
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, TextIO, Tuple

from ..exceptions import CairnError, InvalidArgumentError, NotFoundError
from . import _trace as T
from .assessments import Feedback, json_value
from .datasets import EvaluationDataset
from .scorers import Scorer

_log = logging.getLogger("cairn")

DEFAULT_MAX_WORKERS = 4
#: rows per ``recordEvaluationRows`` call (the server's limit)
ROWS_PER_CALL = 100
EVALUATION_TAG = "cairn.evaluation"
ROW_KEYS = ("inputs", "outputs", "expectations", "trace", "trace_id")
#: the server's limits (apps/api/src/evaluation/evaluation-limits.ts): inputs, outputs and
#: expectations of a row; a score's value; a rationale or error
ROW_FIELD_BYTES = 128 * 1024
VALUE_BYTES = 64 * 1024
TEXT_BYTES = 16 * 1024
#: how long recording waits for a just-exported trace to be listed by the server
TRACE_WAIT_SECONDS = 15.0

REGISTER = """mutation CairnRegisterEvaluationRun($input: RegisterEvaluationRunInput!) {
  registerEvaluationRun(input: $input) { runId }
}"""
RECORD = """mutation CairnRecordEvaluationRows($input: RecordEvaluationRowsInput!) {
  recordEvaluationRows(input: $input)
}"""
TRACE = """query CairnEvaluationTrace($id: ID!) {
  trace(id: $id) {
    id name status durationMs inputs outputs spanCount
    tokenUsage { inputTokens outputTokens totalTokens }
    spans { id parentId name spanType startTimeUnixNano endTimeUnixNano inputs outputs
            attributes status { code } }
    assessments { kind name value }
  }
}"""


def _invalid(message: str, argument: str) -> InvalidArgumentError:
    return InvalidArgumentError(message, "INVALID_ARGUMENT", {"argument": argument})


# ---------------------------------------------------------------------- rows


@dataclass
class _Row:
    index: int
    inputs: Any = None
    outputs: Any = None
    expectations: Dict[str, Any] = field(default_factory=dict)
    #: a trace the row already has (an id to fetch, or a view)
    trace_ref: Optional[str] = None
    trace: Optional[T.Trace] = None
    has_outputs: bool = False
    #: filled while evaluating
    trace_id: str = ""
    row_key: str = ""
    feedbacks: List[Feedback] = field(default_factory=list)
    error: Optional[str] = None


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, non-ASCII kept: what the row key hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_key(inputs: Any) -> str:
    """The stable id of a row across runs: sha256 hex of the canonical JSON of its inputs."""
    return hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()


def _jsonable(value: Any, where: str) -> Any:
    from ..tracing import to_jsonable

    return json_value(to_jsonable(value), where)


def _rows_from(data: Any, has_predict: bool) -> Tuple[List[_Row], Optional[EvaluationDataset]]:
    dataset: Optional[EvaluationDataset] = None
    items: Sequence[Any]
    if isinstance(data, EvaluationDataset):
        dataset = data
        items = [{"inputs": r.inputs, "expectations": r.expectations} for r in data.records]
    elif type(data).__name__ == "DataFrame" and hasattr(data, "to_dict"):
        items = [
            {k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
            for row in data.to_dict(orient="records")
        ]
    elif isinstance(data, (list, tuple)):
        items = list(data)
    else:
        raise _invalid(
            "data must be a list of dicts, a pandas DataFrame, an EvaluationDataset, or a list "
            f"of trace ids / traces; got {type(data).__name__}",
            "data",
        )
    if not items:
        raise _invalid("data has no rows", "data")
    rows = [_row(item, i, has_predict) for i, item in enumerate(items)]
    return rows, dataset


def _row(item: Any, index: int, has_predict: bool) -> _Row:
    where = f"data[{index}]"
    if isinstance(item, (str, T.Trace)) or (
        isinstance(item, Mapping) and "id" in item and ("spans" in item or "spanCount" in item)
    ):
        item = {"trace": item}
    if not isinstance(item, Mapping):
        raise _invalid(
            f"{where} must be a dict (inputs, outputs, expectations, trace) or a trace", where
        )
    unknown = sorted(set(item) - set(ROW_KEYS))
    if unknown:
        raise _invalid(
            f"{where} has unknown key(s) {', '.join(map(str, unknown))}; rows have "
            f"{', '.join(ROW_KEYS)}",
            where,
        )
    row = _Row(index)
    trace = item.get("trace", item.get("trace_id"))
    if trace is not None:
        if isinstance(trace, str) and trace.strip():
            row.trace_ref = trace.strip()
        elif isinstance(trace, T.Trace):
            row.trace = trace
        elif isinstance(trace, Mapping) and "id" in trace:
            row.trace = T.from_graphql(trace)
        else:
            raise _invalid(f"{where}.trace must be a trace id, a trace dict or a Trace", where)
    if "inputs" in item:
        inputs = item["inputs"]
        if not isinstance(inputs, Mapping):
            raise _invalid(
                f"{where}.inputs must be a dict (the predict function's keyword arguments), got "
                f"{type(inputs).__name__}",
                where,
            )
        row.inputs = _jsonable(dict(inputs), f"{where}.inputs")
        if _size(row.inputs) > ROW_FIELD_BYTES:
            raise _invalid(f"{where}.inputs is larger than {ROW_FIELD_BYTES} bytes of JSON", where)
    elif trace is None:
        raise _invalid(f"{where} has no inputs (and no trace)", where)
    if "outputs" in item:
        row.outputs = _jsonable(item["outputs"], f"{where}.outputs")
        row.has_outputs = True
    expectations = item.get("expectations")
    if expectations is not None:
        if not isinstance(expectations, Mapping):
            raise _invalid(
                f"{where}.expectations must be a dict, got {type(expectations).__name__}", where
            )
        row.expectations = _jsonable(dict(expectations), f"{where}.expectations")
        if _size(row.expectations) > ROW_FIELD_BYTES:
            raise _invalid(
                f"{where}.expectations is larger than {ROW_FIELD_BYTES} bytes of JSON", where
            )
    if has_predict:
        if row.has_outputs or trace is not None:
            raise _invalid(
                f"{where} has outputs or a trace, and a predict_fn was given: give one or the other",
                where,
            )
        if row.inputs is None:
            raise _invalid(f"{where} has no inputs for predict_fn", where)
    elif not row.has_outputs and trace is None:
        raise _invalid(
            f"{where} has neither outputs nor a trace to score (or pass predict_fn=)", where
        )
    return row


# ---------------------------------------------------------------------- span collection

#: spans that end while this is set (in the row's context, and contexts copied from it) are
#: collected for the row's trace view
_COLLECT: "contextvars.ContextVar[Optional[List[Any]]]" = contextvars.ContextVar(
    "cairn_eval_collect", default=None
)
_hook_lock = threading.Lock()


def _collect_hook(span: Any) -> None:
    spans = _COLLECT.get()
    if spans is not None:
        spans.append(span)


def _install_hook() -> None:
    from ..tracing import _fluent

    with _hook_lock:
        if _collect_hook not in _fluent._end_hooks:
            _fluent._end_hooks.append(_collect_hook)


# ---------------------------------------------------------------------- progress


class _Progress:
    """tqdm when it is installed; otherwise one ``Evaluating: k/n`` stderr line, rewritten."""

    def __init__(self, total: int, stream: Optional[TextIO] = None) -> None:
        self.total = total
        self.done = 0
        self.lock = threading.Lock()
        self.stream = stream or sys.stderr
        self.bar: Any = None
        self.last = 0.0
        mode = (os.environ.get("CAIRN_GENAI_EVAL_PROGRESS") or "auto").strip().lower()
        self.enabled = mode not in ("0", "false", "off", "no")
        if self.enabled and mode != "plain":
            try:
                from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]

                self.bar = tqdm(total=total, desc="Evaluating", unit="row", file=self.stream)
            except ImportError:
                self.bar = None

    def step(self) -> None:
        with self.lock:
            self.done += 1
            if not self.enabled:
                return
            if self.bar is not None:
                self.bar.update(1)
                return
            now = time.monotonic()
            if now - self.last >= 0.5 or self.done == self.total:
                self.last = now
                end = "\n" if self.done == self.total else ""
                self.stream.write(f"\rEvaluating: {self.done}/{self.total} rows{end}")
                self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------- the result


@dataclass
class EvaluationResult:
    """What :func:`evaluate` returns.

    ``metrics``: ``{"<name>/mean": ..., "<name>/count": ..., "<name>/error_count": ...}`` (no
    ``/mean`` when no value of that name is numeric). ``rows``: one dict per row (``row_key``,
    ``trace_id``, ``inputs``, ``outputs``, ``expectations``, and per assessment name
    ``<name>/value``, ``<name>/rationale``, ``<name>/error``). ``result_df``: ``rows`` as a
    pandas DataFrame when pandas is installed, else the list itself.
    """

    run_id: str
    metrics: Dict[str, float]
    rows: List[Dict[str, Any]]
    scorer_names: List[str]
    dataset_id: Optional[str] = None
    dataset_version: Optional[int] = None

    @property
    def result_df(self) -> Any:
        try:
            import pandas as pd
        except ImportError:
            return list(self.rows)
        return pd.DataFrame(self.rows)

    def summary(self) -> str:
        return summary_table(self.metrics, _names_in(self.metrics))

    def __repr__(self) -> str:
        return (
            f"<EvaluationResult run_id={self.run_id} rows={len(self.rows)} metrics={self.metrics}>"
        )


def _names_in(metrics: Mapping[str, Any]) -> List[str]:
    names: Dict[str, None] = {}
    for key in metrics:
        names.setdefault(key.rsplit("/", 1)[0], None)
    return list(names)


def numeric(value: Any) -> Optional[float]:
    """The contract's value model: true/"yes" → 1, false/"no" → 0, numbers as they are."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "yes":
            return 1.0
        if word == "no":
            return 0.0
    return None


def _aggregated(kind: str, numbers: List[float]) -> float:
    ordered = sorted(numbers)
    if kind == "min":
        return ordered[0]
    if kind == "max":
        return ordered[-1]
    if kind == "median":
        return statistics.median(ordered)
    if kind == "variance":
        return statistics.pvariance(ordered)
    if kind == "p90":  # linear interpolation between closest ranks (numpy's default)
        rank = 0.9 * (len(ordered) - 1)
        low = math.floor(rank)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    raise ValueError(kind)


def aggregate(
    rows: Sequence[_Row],
    names: Sequence[str],
    extra: Optional[Mapping[str, Sequence[str]]] = None,
) -> Dict[str, float]:
    """``<name>/mean``, ``/count`` (errors included), ``/error_count`` per assessment name, and
    the ``extra`` aggregations asked for by name (``min``, ``max``, ``median``, ``variance``,
    ``p90``)."""
    values: Dict[str, List[float]] = {n: [] for n in names}
    counts: Dict[str, int] = {n: 0 for n in names}
    errors: Dict[str, int] = {n: 0 for n in names}
    for row in rows:
        for fb in row.feedbacks:
            name = str(fb.name)
            values.setdefault(name, [])
            counts.setdefault(name, 0)
            errors.setdefault(name, 0)
            counts[name] += 1
            if fb.error is not None:
                errors[name] += 1
                continue
            number = numeric(fb.value)
            if number is not None:
                values[name].append(number)
    out: Dict[str, float] = {}
    for name, numbers in values.items():
        if numbers:
            out[f"{name}/mean"] = sum(numbers) / len(numbers)
            for kind in (extra or {}).get(name, ()):
                out[f"{name}/{kind}"] = _aggregated(kind, numbers)
        out[f"{name}/count"] = float(counts[name])
        out[f"{name}/error_count"] = float(errors[name])
    return out


def summary_table(metrics: Mapping[str, float], names: Sequence[str]) -> str:
    header = ("scorer", "mean", "count", "errors")
    lines = [header]
    for name in names:
        mean = metrics.get(f"{name}/mean")
        lines.append(
            (
                name,
                "-" if mean is None else f"{mean:.3f}",
                str(int(metrics.get(f"{name}/count", 0))),
                str(int(metrics.get(f"{name}/error_count", 0))),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    rendered = [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(line)
        )
        for line in lines
    ]
    rendered.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(rendered)


# ---------------------------------------------------------------------- evaluate


def _max_workers(value: Optional[int]) -> int:
    if value is None:
        raw = os.environ.get("CAIRN_GENAI_EVAL_MAX_WORKERS")
        if raw is None or not raw.strip():
            return DEFAULT_MAX_WORKERS
        try:
            value = int(raw)
        except ValueError:
            raise _invalid(
                f"CAIRN_GENAI_EVAL_MAX_WORKERS must be a positive integer, got {raw!r}",
                "max_workers",
            ) from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid(f"max_workers must be a positive integer, got {value!r}", "max_workers")
    return value


def _check_scorers(scorers: Any) -> List[Scorer]:
    if (
        scorers is None
        or isinstance(scorers, (str, bytes))
        or not isinstance(scorers, (list, tuple))
    ):
        raise _invalid("scorers must be a list of scorers (cairn.genai.scorers)", "scorers")
    if not scorers:
        raise _invalid("scorers must not be empty", "scorers")
    out: List[Scorer] = []
    for i, item in enumerate(scorers):
        if isinstance(item, type) and issubclass(item, Scorer):
            raise _invalid(
                f"scorers[{i}] is the class {item.__name__}; pass an instance: {item.__name__}()",
                "scorers",
            )
        if not isinstance(item, Scorer):
            hint = " (decorate it with @scorer)" if callable(item) else ""
            raise _invalid(f"scorers[{i}] is not a Scorer{hint}: {item!r}", "scorers")
        out.append(item)
    names = [s.name for s in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise _invalid(
            f"Two scorers share the name(s) {', '.join(duplicates)}; pass name= to tell them apart",
            "scorers",
        )
    return out


def evaluate(
    data: Any,
    predict_fn: Optional[Callable[..., Any]] = None,
    scorers: Optional[Sequence[Scorer]] = None,
    model_id: Optional[str] = None,
    experiment_id: Optional[str] = None,
    run_name: Optional[str] = None,
    max_workers: Optional[int] = None,
) -> EvaluationResult:
    """Evaluates ``data`` with ``scorers`` and records an evaluation run.

    ``data``: a list of dicts (``inputs``, optional ``outputs``, ``expectations``, ``trace``),
    a pandas DataFrame with those columns, an :class:`EvaluationDataset`, or a list of trace ids
    / traces. With ``predict_fn``, it is called once per row as ``predict_fn(**inputs)``, traced,
    on up to ``max_workers`` threads (default ``CAIRN_GENAI_EVAL_MAX_WORKERS``, 4). Without it,
    the rows' ``outputs`` (or their traces) are scored.

    The run is the active run if there is one, else a new run in ``experiment_id`` (default:
    the active experiment) named ``run_name``. Bad input raises
    :class:`~cairn.exceptions.InvalidArgumentError` before anything is sent.
    """
    from .. import fluent
    from ..entities import Metric
    from ..tracing import _fluent as tracing

    checked = _check_scorers(scorers)
    if predict_fn is not None and not callable(predict_fn):
        raise _invalid(
            f"predict_fn must be callable, got {type(predict_fn).__name__}", "predict_fn"
        )
    workers = _max_workers(max_workers)
    if model_id is not None and (not isinstance(model_id, str) or not model_id.strip()):
        raise _invalid("model_id must be a non-empty string", "model_id")
    if not tracing.is_enabled():
        raise _invalid(
            "evaluate() records every row as a trace: tracing is disabled "
            "(cairn.tracing.enable(), or unset CAIRN_TRACING_ENABLED=false)",
            "tracing",
        )
    rows, dataset = _rows_from(data, predict_fn is not None)
    if predict_fn is not None:
        _check_signature(predict_fn, rows)
    names = [s.name for s in checked]
    _install_hook()

    client = fluent.get_client()
    # traces the rows point at: read them (spans, and expectations logged on them) first
    refs = [r for r in rows if r.trace_ref is not None]
    if refs:
        tracing.flush_trace_export(10.0)
        with concurrent.futures.ThreadPoolExecutor(min(workers, len(refs))) as pool:
            list(pool.map(lambda r: _load_trace(client, r), refs))
    for row in rows:
        if row.trace is not None:
            if row.inputs is None:
                row.inputs = _jsonable(
                    row.trace.inputs if row.trace.inputs is not None else {}, "inputs"
                )
                if not isinstance(row.inputs, dict):
                    row.inputs = {"inputs": row.inputs}
            if not row.has_outputs:
                row.outputs = row.trace.outputs
                row.has_outputs = True
            row.trace_id = row.trace.trace_id

    _assign_row_keys(rows)

    active = fluent.active_run()
    ours = active is None
    if active is None:
        active = fluent.start_run(
            experiment_id=experiment_id, run_name=run_name, tags={EVALUATION_TAG: "true"}
        )
    else:
        client.set_tag(active.run_id, EVALUATION_TAG, "true")
    run_id = active.run_id
    status = "FAILED"
    try:
        client.execute(
            REGISTER,
            {
                "input": {
                    "runId": run_id,
                    "scorers": names,
                    "datasetId": dataset.dataset_id if dataset else None,
                    "datasetVersion": dataset.version if dataset else None,
                    "modelId": model_id,
                }
            },
        )
        progress = _Progress(len(rows))
        caller = contextvars.copy_context()

        def task(row: _Row) -> None:
            context = caller.copy()
            context.run(_evaluate_row, row, predict_fn, checked, progress)

        def record(batch: List[_Row]) -> None:
            # the traces must be on the server before their assessments point at them
            if not tracing.flush_trace_export(60.0):
                _log.warning("cairn: evaluate: some traces were not exported within 60 s")
            batch.sort(key=lambda r: r.index)
            _record(client, run_id, [_row_input(r) for r in batch])

        # rows are recorded in batches as they finish, so the run fills in while it runs
        done: List[_Row] = []
        try:
            with concurrent.futures.ThreadPoolExecutor(workers, "cairn-eval") as pool:
                futures = {pool.submit(task, row): row for row in rows}
                try:
                    for future in concurrent.futures.as_completed(futures):
                        future.result()
                        done.append(futures[future])
                        if len(done) >= ROWS_PER_CALL:
                            record(done[:ROWS_PER_CALL])
                            del done[:ROWS_PER_CALL]
                except BaseException:
                    for future in futures:  # Ctrl-C or a failed write: start no more rows
                        future.cancel()
                    raise
        finally:
            progress.close()
        if done:
            record(done)
        metrics = aggregate(rows, names, _extra_aggregations(checked, rows))
        now = int(time.time() * 1000)
        client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
        status = "FINISHED"
    finally:
        if ours:
            try:
                fluent.end_run(status)
            except CairnError as exc:
                _log.warning("cairn: evaluate: could not end run %s: %s", run_id, exc)
    result = EvaluationResult(
        run_id=run_id,
        metrics=metrics,
        rows=[_result_row(row) for row in rows],
        scorer_names=names,
        dataset_id=dataset.dataset_id if dataset else None,
        dataset_version=dataset.version if dataset else None,
    )
    print(
        f"Evaluation run {run_id} ({len(rows)} rows)\n{summary_table(metrics, _names_in(metrics))}"
    )
    return result


def _extra_aggregations(scorers: Sequence[Scorer], rows: Sequence[_Row]) -> Dict[str, List[str]]:
    """Assessment name → the extra aggregations of the scorer that produced it."""
    by_source = {s.name: list(s.aggregations) for s in scorers if s.aggregations}
    out: Dict[str, List[str]] = {}
    if not by_source:
        return out
    for row in rows:
        for fb in row.feedbacks:
            producer = fb.source.source_id if fb.source is not None else None
            if producer in by_source:
                out.setdefault(str(fb.name), by_source[producer])
    return out


def _check_signature(predict_fn: Callable[..., Any], rows: Sequence[_Row]) -> None:
    """Every row's inputs bind to ``predict_fn``'s parameters (else nothing is sent)."""
    try:
        signature = inspect.signature(predict_fn)
    except (TypeError, ValueError):
        return
    for row in rows:
        try:
            signature.bind(**row.inputs)
        except TypeError as exc:
            raise _invalid(
                f"data[{row.index}].inputs {sorted(row.inputs)} do not fit predict_fn"
                f"{signature}: {exc}",
                f"data[{row.index}]",
            ) from None


def _load_trace(client: Any, row: _Row) -> None:
    assert row.trace_ref is not None
    # a trace this process just exported may not be listed yet: wait for it a little
    deadline = time.monotonic() + TRACE_WAIT_SECONDS
    while True:
        node = client.execute(TRACE, {"id": row.trace_ref}).get("trace")
        if (node is not None and node.get("name")) or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    if node is None:
        raise NotFoundError(
            f"data[{row.index}]: trace {row.trace_ref} not found",
            "NOT_FOUND",
            {"argument": f"data[{row.index}]", "traceId": row.trace_ref},
        )
    row.trace = T.from_graphql(node)
    if not row.expectations:
        expectations: Dict[str, Any] = {}
        for a in node.get("assessments") or []:  # newest first: the newest of a name wins
            if a.get("kind") == "EXPECTATION":
                expectations.setdefault(str(a["name"]), a.get("value"))
        row.expectations = expectations


def _call(fn: Callable[..., Any], inputs: Mapping[str, Any]) -> Any:
    if inspect.iscoroutinefunction(fn):
        return asyncio.run(fn(**inputs))
    return fn(**inputs)


def _evaluate_row(
    row: _Row,
    predict_fn: Optional[Callable[..., Any]],
    scorers: Sequence[Scorer],
    progress: _Progress,
) -> None:
    from ..tracing import _fluent as tracing
    from ..tracing import to_jsonable

    try:
        if row.trace is None:
            tracing._CURRENT.set(None)  # every row is a trace of its own
            spans: List[Any] = []
            _COLLECT.set(spans)
            if predict_fn is not None:
                if getattr(predict_fn, "__cairn_traced__", False):
                    try:
                        row.outputs = to_jsonable(_call(predict_fn, row.inputs))
                    except Exception as exc:  # noqa: BLE001
                        row.error = f"predict_fn raised {type(exc).__name__}: {exc}"
                else:
                    name = str(getattr(predict_fn, "__name__", "predict_fn"))
                    with tracing.start_span(name, span_type="CHAIN") as span:
                        span.set_inputs(row.inputs)
                        try:
                            result = _call(predict_fn, row.inputs)
                        except Exception as exc:  # noqa: BLE001
                            row.error = f"predict_fn raised {type(exc).__name__}: {exc}"
                            span.record_exception(exc)
                        else:
                            span.set_outputs(result)
                            row.outputs = to_jsonable(result)
                row.has_outputs = row.error is None
            else:
                span = tracing.start_span_no_context(
                    "evaluate", span_type="CHAIN", inputs=row.inputs
                )
                span.end(outputs=row.outputs)
            _COLLECT.set(None)
            roots = [s for s in spans if s._trace.root is s]
            if not roots:
                row.error = row.error or "predict_fn produced no trace"
                row.feedbacks = [
                    Feedback(name=s.name, source=s.source, error=row.error) for s in scorers
                ]
                return
            row.trace_id = roots[0].trace_id
            row.trace = T.from_live_spans(row.trace_id, spans)
        if row.error is not None:
            row.feedbacks = [
                Feedback(name=s.name, source=s.source, error=row.error) for s in scorers
            ]
            return
        for s in scorers:
            row.feedbacks.extend(
                s.run(
                    inputs=row.inputs,
                    outputs=row.outputs,
                    expectations=row.expectations,
                    trace=row.trace,
                )
            )
    finally:
        progress.step()


def _assign_row_keys(rows: Sequence[_Row]) -> None:
    """sha256 of the canonical inputs; the n-th repeat of the same inputs in one evaluation
    (n ≥ 2) hashes ``<canonical JSON>#<n>`` so that no row replaces another."""
    seen: Dict[str, int] = {}
    for row in rows:
        text = canonical_json(row.inputs)
        seen[text] = seen.get(text, 0) + 1
        n = seen[text]
        source = text if n == 1 else f"{text}#{n}"
        row.row_key = hashlib.sha256(source.encode("utf-8")).hexdigest()


def _record(client: Any, run_id: str, rows: List[Dict[str, Any]]) -> None:
    """``recordEvaluationRows``; a trace the server does not list yet (its spans were just
    exported) is waited for, up to ``TRACE_WAIT_SECONDS``."""
    deadline = time.monotonic() + TRACE_WAIT_SECONDS
    while True:
        try:
            client.execute(RECORD, {"input": {"runId": run_id, "rows": rows}})
            return
        except NotFoundError as exc:
            if "missing" not in exc.details or time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _clip(text: Optional[str], limit: int) -> Optional[str]:
    """``text`` cut to at most ``limit`` UTF-8 bytes (the server's limit), marked when cut."""
    if text is None or len(text.encode("utf-8")) <= limit:
        return text
    cut = text.encode("utf-8")[: limit - 64].decode("utf-8", errors="ignore")
    return cut + f" … [cut: {len(text)} characters]"


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def _score_input(fb: Feedback) -> Dict[str, Any]:
    value = None if fb.error is not None else fb.value
    error = fb.error
    if value is not None and _size(value) > VALUE_BYTES:
        value, error = None, f"the value is larger than {VALUE_BYTES} bytes (not stored)"
    return {
        "name": fb.name,
        "value": value,
        "rationale": _clip(fb.rationale, TEXT_BYTES),
        "error": _clip(error, TEXT_BYTES),
        "source": (fb.source.to_input() if fb.source else {"type": "CODE", "id": str(fb.name)}),
    }


def _row_input(row: _Row) -> Dict[str, Any]:
    outputs = None
    if row.has_outputs:
        try:
            outputs = json_value(row.outputs, "outputs")
        except InvalidArgumentError:
            outputs = str(row.outputs)
        if _size(outputs) > ROW_FIELD_BYTES:
            text = outputs if isinstance(outputs, str) else json.dumps(outputs, ensure_ascii=False)
            outputs = _clip(text, ROW_FIELD_BYTES - 1024)
    return {
        "rowKey": row.row_key,
        "traceId": row.trace_id,
        "inputs": row.inputs,
        "outputs": outputs,
        "expectations": row.expectations or None,
        "scores": [_score_input(fb) for fb in row.feedbacks],
    }


def _result_row(row: _Row) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "row_key": row.row_key,
        "trace_id": row.trace_id,
        "inputs": row.inputs,
        "outputs": row.outputs,
        "expectations": row.expectations,
    }
    for fb in row.feedbacks:
        out[f"{fb.name}/value"] = fb.value
        out[f"{fb.name}/rationale"] = fb.rationale
        out[f"{fb.name}/error"] = fb.error
    return out
