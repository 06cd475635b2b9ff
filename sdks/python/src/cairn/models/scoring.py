"""The scoring protocol: request bodies → model input → predictions JSON (docs/deployment.md).

The wire format is MLflow's (``mlflow models serve``), so MLflow clients and tools that speak it
work unchanged:

- ``Content-Type: application/json`` with exactly one of ``dataframe_split``
  (``{"columns": [...], "data": [[...], ...]}``), ``dataframe_records`` (``[{col: value}]``),
  ``instances`` or ``inputs`` (TF-serving style: rows, records, or ``{col: [values]}``), plus an
  optional ``params`` object handed to ``predict(data, params=...)``;
- ``Content-Type: text/csv``: a header row and data rows;
- answer ``{"predictions": [...]}``; errors ``{"error_code": "...", "message": "..."}`` with 400
  (malformed input, signature mismatch), 413 (body too large), 415 (unsupported content type or
  charset) or 504 (timeout).

Signature enforcement (when the model has a column signature): every input column must be
present and each value must be of the column's type (an integer is accepted for a
``double``/``float`` column, nothing else is converted); a missing or mistyped column is a 400
whose message and ``column`` / ``expected_type`` fields name it. Extra columns are dropped and
columns are put in the signature's order, as in-process ``cairn.pyfunc`` does. Tensor
signatures check the dtype conversion and the fixed dimensions of the shape.

Pure functions, no I/O: the server (``serve.py``) and batch prediction (``predict.py``) share
them.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .model import _jsonable
from .signature import ColSpec, ModelSignature, Schema, TensorSpec

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPES = (CONTENT_TYPE_JSON, CONTENT_TYPE_CSV)

DF_SPLIT = "dataframe_split"
DF_RECORDS = "dataframe_records"
INSTANCES = "instances"
INPUTS = "inputs"
FORMATS = (DF_SPLIT, DF_RECORDS, INSTANCES, INPUTS)
PARAMS = "params"

#: MLflow's error codes (``mlflow.protos.databricks_pb2``) and the HTTP status of each.
BAD_REQUEST = "BAD_REQUEST"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
REQUEST_TOO_LARGE = "REQUEST_LIMIT_EXCEEDED"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
NOT_FOUND = "ENDPOINT_NOT_FOUND"
INTERNAL_ERROR = "INTERNAL_ERROR"


class ScoringError(Exception):
    """An expected scoring failure: an HTTP status, MLflow's ``error_code`` and a message;
    ``fields`` go into the error JSON beside them (``column``, ``expected_type``, ...)."""

    def __init__(self, status: int, error_code: str, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def to_dict(self) -> Dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message, **self.fields}

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), default=str).encode("utf-8")


def bad_request(message: str, **fields: Any) -> ScoringError:
    return ScoringError(400, BAD_REQUEST, message, **fields)


# ---------------------------------------------------------------------- content type


def parse_content_type(header: Optional[str]) -> str:
    """The media type of a request (``application/json`` or ``text/csv``); anything else, a
    charset other than UTF-8 or an unknown parameter is a 415, as in MLflow."""
    if not header:
        raise ScoringError(
            415,
            UNSUPPORTED_MEDIA_TYPE,
            f"A Content-Type header is required: one of {', '.join(CONTENT_TYPES)}",
        )
    parts = [p.strip() for p in header.split(";")]
    mime = parts[0].lower()
    for param in parts[1:]:
        if not param:
            continue
        key, _, value = param.partition("=")
        key = key.strip().lower()
        value = value.strip().strip('"').lower()
        if key != "charset":
            raise ScoringError(
                415, UNSUPPORTED_MEDIA_TYPE, f"Unrecognized content type parameter: {key}"
            )
        if value not in ("utf-8", "utf8"):
            raise ScoringError(
                415, UNSUPPORTED_MEDIA_TYPE, "The scoring server only supports UTF-8"
            )
    if mime not in CONTENT_TYPES:
        raise ScoringError(
            415,
            UNSUPPORTED_MEDIA_TYPE,
            f"This predictor only supports the content types {', '.join(CONTENT_TYPES)}; "
            f"got {header!r}",
        )
    return mime


# ---------------------------------------------------------------------- request parsing


def parse_request(
    body: bytes, mime: str, signature: Optional[ModelSignature]
) -> Tuple[Any, Optional[Dict[str, Any]]]:
    """``(model input, params)`` of a request body of media type ``mime``."""
    if mime == CONTENT_TYPE_CSV:
        return parse_csv(body, signature), None
    return parse_json(body, signature)


def parse_json(
    body: bytes, signature: Optional[ModelSignature]
) -> Tuple[Any, Optional[Dict[str, Any]]]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(
            f"Malformed JSON: the request body is not valid UTF-8 JSON ({exc})"
        ) from None
    if not isinstance(doc, dict):
        raise bad_request(
            f"The input must be a JSON object with exactly one of the fields {', '.join(FORMATS)}"
            f"; received a {'list' if isinstance(doc, list) else type(doc).__name__}"
        )
    keys = [k for k in FORMATS if k in doc]
    if len(keys) != 1:
        raise bad_request(
            f"The input must be a JSON object with exactly one of the fields {', '.join(FORMATS)}"
            f"; received the fields {sorted(doc)}"
        )
    params = doc.get(PARAMS)
    if params is not None and not isinstance(params, dict):
        raise bad_request(f"'params' must be a JSON object, not {type(params).__name__}")
    fmt = keys[0]
    return to_model_input(fmt, doc[fmt], signature), params or None


def to_model_input(fmt: str, payload: Any, signature: Optional[ModelSignature]) -> Any:
    """The model input of one payload format, enforced against the signature's inputs."""
    schema = signature.inputs if signature is not None else None
    if schema is not None and schema.inputs and schema.kind == "tensor":
        return _tensor_input(fmt, payload, schema)
    names = _column_names(schema)
    columns = _columns_of(fmt, payload, names)
    if names:
        assert schema is not None
        return _enforced_frame(columns, schema)
    if fmt in (DF_SPLIT, DF_RECORDS) or isinstance(columns, dict):
        return _frame(columns)
    return columns


def _column_names(schema: Optional[Schema]) -> List[str]:
    if schema is None:
        return []
    names = [s.name for s in schema.inputs]
    return [str(n) for n in names] if names and all(n is not None for n in names) else []


def _columns_of(fmt: str, payload: Any, names: Sequence[str]) -> Any:
    """``{column: [values]}`` for table-shaped payloads; a plain nested list for tensor-shaped
    ones when no column names are known."""
    if fmt == DF_SPLIT:
        if not isinstance(payload, dict) or "data" not in payload:
            raise bad_request(
                "dataframe_split must be an object with 'columns' and 'data' "
                '({"columns": ["a", "b"], "data": [[1, 2]]})'
            )
        rows = payload["data"]
        columns = payload.get("columns")
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("dataframe_split.data must be a list of rows (lists)")
        if columns is None:
            columns = list(names) if names else [str(i) for i in range(len(rows[0]) if rows else 0)]
        if not isinstance(columns, list) or not all(isinstance(c, (str, int)) for c in columns):
            raise bad_request("dataframe_split.columns must be a list of column names")
        return _rows_to_columns(rows, [str(c) for c in columns])
    if fmt == DF_RECORDS:
        if not isinstance(payload, list) or not all(isinstance(r, dict) for r in payload):
            raise bad_request('dataframe_records must be a list of objects ([{"a": 1}])')
        return _records_to_columns(payload)
    # instances / inputs (TF-serving style)
    if isinstance(payload, dict):
        out: Dict[str, List[Any]] = {}
        for key, values in payload.items():
            out[str(key)] = values if isinstance(values, list) else [values]
        lengths = {len(v) for v in out.values()}
        if len(lengths) > 1:
            raise bad_request(f"{fmt}: every column must have the same number of values")
        return out
    if isinstance(payload, list):
        if payload and all(isinstance(r, dict) for r in payload):
            return _records_to_columns(payload)
        if names:
            rows = [r if isinstance(r, list) else [r] for r in payload]
            return _rows_to_columns(rows, list(names))
        return payload
    if names:
        return _rows_to_columns([[payload]], list(names))
    return [payload]


def _rows_to_columns(rows: List[List[Any]], columns: List[str]) -> Dict[str, List[Any]]:
    width = len(columns)
    for i, row in enumerate(rows):
        if len(row) != width:
            raise bad_request(
                f"Row {i} has {len(row)} values but there are {width} columns ({columns})"
            )
    if len(set(columns)) != width:
        raise bad_request(f"Duplicate column names: {columns}")
    if not rows:
        return {c: [] for c in columns}
    return {c: list(v) for c, v in zip(columns, zip(*rows))}


def _records_to_columns(records: List[Dict[str, Any]]) -> Dict[str, List[Any]]:
    keys: Dict[str, None] = {}
    for r in records:
        for k in r:
            keys.setdefault(k, None)
    return {str(k): [r.get(k) for r in records] for k in keys}


# ---------------------------------------------------------------------- enforcement

_NUMPY_DTYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _mismatch(col: str, expected: str, value: Any, row: int) -> ScoringError:
    got = _type_name(value)
    return bad_request(
        f"Incompatible input type for column '{col}': expected {expected}, got {got} "
        f"({value!r} in row {row})",
        column=col,
        expected_type=expected,
        received_type=got,
    )


_ALLOWED_TYPES = {
    "double": frozenset({float, int, type(None)}),
    "float": frozenset({float, int, type(None)}),
    "long": frozenset({int}),
    "integer": frozenset({int}),
    "boolean": frozenset({bool}),
    "string": frozenset({str, type(None)}),
}


def _check_values(col: str, expected: str, values: List[Any]) -> List[Any]:
    """The column's values, checked (and decoded for binary / datetime) against its type."""
    allowed = _ALLOWED_TYPES.get(expected)
    if allowed is not None and allowed.issuperset(map(type, values)):
        return values  # the common case, checked in C; the loops below find the culprit
    if expected in ("double", "float"):
        for i, v in enumerate(values):
            t = type(v)
            if t is not float and t is not int and v is not None:
                raise _mismatch(col, expected, v, i)
        return values
    if expected in ("long", "integer"):
        for i, v in enumerate(values):
            if type(v) is not int:
                raise _mismatch(col, expected, v, i)
        return values
    if expected == "boolean":
        for i, v in enumerate(values):
            if type(v) is not bool:
                raise _mismatch(col, expected, v, i)
        return values
    if expected == "string":
        for i, v in enumerate(values):
            if type(v) is not str and v is not None:
                raise _mismatch(col, expected, v, i)
        return values
    if expected == "binary":
        out = []
        for i, v in enumerate(values):
            if isinstance(v, (bytes, bytearray)):
                out.append(bytes(v))
                continue
            if type(v) is not str:
                raise _mismatch(col, expected + " (base64 string)", v, i)
            try:
                out.append(base64.b64decode(v, validate=True))
            except ValueError:
                raise _mismatch(col, expected + " (base64 string)", v, i) from None
        return out
    if expected == "datetime":
        import numpy as np

        stamps: List[Any] = []
        for i, v in enumerate(values):
            if type(v) is not str:
                raise _mismatch(col, expected + " (ISO 8601 string)", v, i)
            try:
                stamps.append(np.datetime64(v.rstrip("Z"), "ns"))
            except ValueError:
                raise _mismatch(col, expected + " (ISO 8601 string)", v, i) from None
        return stamps
    return values


def _missing(col: str, expected: str, given: Sequence[str]) -> ScoringError:
    return bad_request(
        f"Model is missing input column '{col}' (expected type {expected}); the request has "
        f"the columns {list(given)}",
        column=col,
        expected_type=expected,
    )


def _enforced_frame(columns: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    if not isinstance(columns, dict):  # pragma: no cover - _columns_of returns dicts here
        raise bad_request("The input must name its columns")
    data: Dict[str, Any] = {}
    for spec in schema.inputs:
        assert isinstance(spec, ColSpec) and spec.name is not None
        col = spec.name
        values = columns.get(col)
        if values is None:
            raise _missing(col, spec.type, list(columns))
        checked = _check_values(col, spec.type, values)
        dtype = _NUMPY_DTYPES.get(spec.type)
        if dtype is not None:
            # floats go through float64 so that None becomes NaN
            try:
                arr = np.array(checked, dtype="float64" if dtype.startswith("float") else dtype)
            except (OverflowError, ValueError):
                raise bad_request(
                    f"Incompatible input for column '{col}': a value is out of range for "
                    f"{spec.type}",
                    column=col,
                    expected_type=spec.type,
                ) from None
            data[col] = arr.astype(dtype, copy=False)
        elif spec.type == "datetime":
            data[col] = np.array(checked, dtype="datetime64[ns]")
        else:
            arr = np.empty(len(checked), dtype=object)
            arr[:] = checked
            data[col] = arr
    dtypes = {arr.dtype for arr in data.values()}
    if len(dtypes) == 1 and next(iter(dtypes)).kind in "fiub" and data:
        # one numeric dtype: one 2-D block (cheaper to build, and to_numpy() in the model is a
        # view instead of a copy per column)
        first = next(iter(data.values()))
        matrix = np.empty((len(first), len(data)), dtype=first.dtype)
        for j, arr in enumerate(data.values()):
            matrix[:, j] = arr
        return pd.DataFrame(matrix, columns=list(data), copy=False)
    return pd.DataFrame(data, copy=False)


def _frame(columns: Any) -> Any:
    import pandas as pd

    return pd.DataFrame(columns)


def _tensor_input(fmt: str, payload: Any, schema: Schema) -> Any:
    specs = [s for s in schema.inputs if isinstance(s, TensorSpec)]
    if fmt in (DF_SPLIT, DF_RECORDS):
        frame = _frame(_columns_of(fmt, payload, []))
        payload = frame.to_numpy().tolist()
    if len(specs) > 1 or (isinstance(payload, dict) and specs and specs[0].name is not None):
        if not isinstance(payload, dict):
            raise bad_request(
                f"The model takes named tensors {[s.name for s in specs]}: send an object "
                '{"inputs": {"name": [...]}}'
            )
        out: Dict[str, Any] = {}
        for spec in specs:
            name = str(spec.name)
            if name not in payload:
                raise _missing(name, f"tensor of {spec.dtype}", list(payload))
            out[name] = _tensor(name, payload[name], spec)
        return out
    spec = specs[0]
    return _tensor(spec.name or "input", payload, spec)


def _tensor(name: str, value: Any, spec: TensorSpec) -> Any:
    import numpy as np

    expected = f"tensor of {spec.dtype} with shape {spec.shape}"
    try:
        arr = np.asarray(value)
        if arr.dtype.kind in "OUS" and np.dtype(spec.dtype).kind not in "OUS":
            raise ValueError("strings or mixed values")
        if arr.dtype.kind == "f" and np.dtype(spec.dtype).kind in "iu":
            raise ValueError("floats for an integer tensor")
        arr = arr.astype(spec.dtype, copy=False)
    except (TypeError, ValueError) as exc:
        raise bad_request(
            f"Incompatible input for tensor '{name}': expected {expected} ({exc})",
            column=name,
            expected_type=expected,
        ) from None
    shape = list(spec.shape)
    if len(arr.shape) != len(shape) or any(
        want != -1 and want != got for want, got in zip(shape, arr.shape)
    ):
        raise bad_request(
            f"Incompatible shape for tensor '{name}': expected {shape}, got {list(arr.shape)}",
            column=name,
            expected_type=expected,
        )
    return arr


# ---------------------------------------------------------------------- CSV


def parse_csv(body: bytes, signature: Optional[ModelSignature]) -> Any:
    """A CSV body (header row first) as a DataFrame; with a column signature each column is
    parsed as its type (a value that does not parse is a 400 naming the column)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(f"The CSV body is not valid UTF-8 ({exc})") from None
    schema = signature.inputs if signature is not None else None
    names = _column_names(schema)
    if not names:
        import pandas as pd

        try:
            return pd.read_csv(io.StringIO(text))
        except Exception as exc:  # noqa: BLE001 - pandas raises many parser error types
            raise bad_request(f"Failed to parse the input as CSV: {exc}") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise bad_request("The CSV body is empty: a header row is required") from None
    except csv.Error as exc:
        raise bad_request(f"Failed to parse the input as CSV: {exc}") from None
    rows: List[List[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
    except csv.Error as exc:
        raise bad_request(f"Failed to parse the input as CSV: {exc}") from None
    header = [h.strip() for h in header]
    columns = _rows_to_columns(rows, header)
    assert schema is not None
    typed: Dict[str, List[Any]] = {}
    for spec in schema.inputs:
        assert isinstance(spec, ColSpec) and spec.name is not None
        if spec.name not in columns:
            raise _missing(spec.name, spec.type, header)
        typed[spec.name] = [
            _csv_value(spec.name, spec.type, v, i) for i, v in enumerate(columns[spec.name])
        ]
    return _enforced_frame(typed, schema)


def _csv_value(col: str, expected: str, text: str, row: int) -> Any:
    try:
        if expected in ("double", "float"):
            return float(text) if text.strip() else None
        if expected in ("long", "integer"):
            return int(text)
        if expected == "boolean":
            lowered = text.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
            raise ValueError(text)
    except ValueError:
        raise bad_request(
            f"Incompatible input type for column '{col}': expected {expected}, got "
            f"{text!r} in row {row}",
            column=col,
            expected_type=expected,
            received_type="string",
        ) from None
    return text


# ---------------------------------------------------------------------- predictions


def jsonable_predictions(raw: Any) -> Any:
    """Predictions as JSON values: arrays and series as lists, data frames as records (as
    MLflow's ``pandas_orient="records"``), numpy scalars as numbers, NaN as null."""
    kind = type(raw).__name__
    module = type(raw).__module__
    if module == "numpy" and kind == "ndarray":
        if raw.dtype.kind in "iub":
            return raw.tolist()
        if raw.dtype.kind == "f":
            values = raw.tolist()
            if raw.size and not _all_finite(raw):
                return _jsonable(values)
            return values
        return _jsonable(raw.tolist())
    if kind == "DataFrame" and hasattr(raw, "to_dict"):
        return _jsonable(raw.to_dict(orient="records"))
    if kind == "Series" and hasattr(raw, "tolist"):
        return _jsonable(raw.tolist())
    return _jsonable(raw)


def _all_finite(arr: Any) -> bool:
    import numpy as np

    return bool(np.isfinite(arr).all())


def predictions_json(raw: Any) -> bytes:
    """The response body ``{"predictions": ...}``."""
    return (
        b'{"predictions": '
        + json.dumps(jsonable_predictions(raw), allow_nan=False, separators=(",", ":")).encode()
        + b"}"
    )
