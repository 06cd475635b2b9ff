"""JSON-safe conversion of span inputs and outputs (never raises)."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import enum
import json
import math
import uuid
from pathlib import PurePath
from typing import Any, Set

#: nesting deeper than this is cut (a repr of the rest)
MAX_DEPTH = 20
#: items of one list/dict kept (the rest summarised)
MAX_ITEMS = 10_000


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: dataclasses and pydantic models become dicts, tuples and
    sets lists, datetimes ISO strings, bytes base64, NaN/Infinity strings; anything else its
    ``repr``. Cycles and very deep nesting are cut."""
    try:
        return _convert(value, 0, set())
    except Exception:  # noqa: BLE001 - a conversion must never break the traced call
        return _safe_repr(value)


def dumps(value: Any) -> str:
    """``to_jsonable(value)`` as a compact JSON string."""
    try:
        return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))
    except Exception:  # noqa: BLE001
        return json.dumps(_safe_repr(value))


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001
        return f"<unrepresentable {type(value).__name__}>"


def _float(value: float) -> Any:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _convert(value: Any, depth: int, seen: Set[int]) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _float(float(value))
    if depth >= MAX_DEPTH:
        return _safe_repr(value)
    if isinstance(value, enum.Enum):
        return _convert(value.value, depth + 1, seen)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID, PurePath, complex)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    key = id(value)
    if key in seen:
        return "<cycle>"
    seen.add(key)
    try:
        return _convert_container(value, depth, seen)
    finally:
        seen.discard(key)


def _convert_container(value: Any, depth: int, seen: Set[int]) -> Any:
    if isinstance(value, dict):
        out = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["..."] = f"{len(value) - MAX_ITEMS} more item(s)"
                break
            out[k if isinstance(k, str) else str(_convert(k, depth + 1, seen))] = _convert(
                v, depth + 1, seen
            )
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        result = [_convert(v, depth + 1, seen) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            result.append(f"... {len(items) - MAX_ITEMS} more item(s)")
        return result
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _convert(getattr(value, f.name, None), depth + 1, seen)
            for f in dataclasses.fields(value)
        }
    # pydantic v2, then v1 (duck-typed: no import of pydantic)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            return _convert(dump(), depth + 1, seen)
        except Exception:  # noqa: BLE001
            pass
    legacy = getattr(value, "dict", None)
    if callable(legacy) and hasattr(value, "__fields__") and not isinstance(value, type):
        try:
            return _convert(legacy(), depth + 1, seen)
        except Exception:  # noqa: BLE001
            pass
    # numpy scalars and arrays, pandas objects
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, type):
        try:
            return _convert(tolist(), depth + 1, seen)
        except Exception:  # noqa: BLE001
            pass
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        try:
            return _convert(to_dict(), depth + 1, seen)
        except Exception:  # noqa: BLE001
            pass
    return _safe_repr(value)
