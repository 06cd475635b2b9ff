"""Client-side copies of the server's write checks (apps/api/src/limits.ts).

Queued writes are sent later by a background thread, so whatever can be checked locally is
checked on the caller's thread and raised there, with the same code the server would use.
"""

from __future__ import annotations

import re
from typing import Any

from .exceptions import CairnError

PARAM_KEY_MAX = 250
PARAM_VALUE_MAX = 6000
TAG_KEY_MAX = 250
TAG_VALUE_MAX = 8000
METRIC_KEY_MAX = 250
RUN_NAME_MAX = 500
MAX_SAFE_INTEGER = 2**53 - 1

_KEY = re.compile(r"^[\w\-. /:]+$", re.ASCII)


def invalid(message: str, **details: Any) -> CairnError:
    return CairnError(message, "INVALID_ARGUMENT", details)


def validate_key(kind: str, key: Any) -> str:
    if not isinstance(key, str):
        raise invalid(f"{kind} key must be a string, got {type(key).__name__}", key=str(key))
    limit = (
        PARAM_KEY_MAX if kind == "param" else METRIC_KEY_MAX if kind == "metric" else TAG_KEY_MAX
    )
    if not key:
        raise invalid(f"{kind} key must not be empty", field=kind)
    if len(key) > limit:
        raise invalid(f'{kind} key "{key[:40]}…" is longer than {limit} characters', key=key)
    if not _KEY.match(key) or ".." in key.split("/") or key.startswith("/"):
        raise invalid(
            f'Invalid {kind} key "{key}": use letters, digits, "_", "-", ".", " ", ":" and "/" '
            '(no "..", no leading "/")',
            key=key,
        )
    return key


def validate_value(kind: str, key: str, value: str) -> None:
    limit = PARAM_VALUE_MAX if kind == "param" else TAG_VALUE_MAX
    if len(value) > limit:
        raise invalid(
            f'{kind} "{key}" value is longer than {limit} characters', key=key, length=len(value)
        )


def check_integer(what: str, value: Any) -> int:
    try:
        as_int = int(value)
    except (TypeError, ValueError, OverflowError):
        raise invalid(f"{what} must be an integer, got {value!r}") from None
    if as_int != value or not -MAX_SAFE_INTEGER <= as_int <= MAX_SAFE_INTEGER:
        raise invalid(f"{what} must be an integer, got {value!r}")
    return as_int


def to_str(value: Any) -> str:
    """Params and tags are strings; other values are stringified the way MLflow does."""
    return value if isinstance(value, str) else str(value)
