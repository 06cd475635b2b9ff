"""Settings: tracking URI, API key, workspace, retry and batching knobs (all from env vars too)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

DEFAULT_TRACKING_URI = "http://127.0.0.1:4680"

_tracking_uri: Optional[str] = None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"Environment variable {name} must be a number, got {raw!r}") from None


def _env_int(name: str, default: int) -> int:
    return int(_env_float(name, float(default)))


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def set_tracking_uri(uri: str) -> None:
    """Points the SDK at a Cairn server, e.g. ``http://127.0.0.1:4680`` (env ``CAIRN_TRACKING_URI``).

    Takes effect for runs started afterwards; queued points of a running run still go to the
    server they were logged for.
    """
    global _tracking_uri
    previous = get_tracking_uri()
    _tracking_uri = normalize_uri(uri)
    if _tracking_uri != previous:
        from . import fluent  # late: fluent imports config

        fluent._reset_default_client()


def get_tracking_uri() -> str:
    if _tracking_uri is not None:
        return _tracking_uri
    return normalize_uri(os.environ.get("CAIRN_TRACKING_URI") or DEFAULT_TRACKING_URI)


def is_tracking_uri_set() -> bool:
    return _tracking_uri is not None or bool(os.environ.get("CAIRN_TRACKING_URI"))


def normalize_uri(uri: str) -> str:
    uri = uri.strip()
    if not uri:
        raise ValueError("The tracking URI must not be empty")
    if "://" not in uri:
        uri = "http://" + uri
    if not uri.startswith(("http://", "https://")):
        raise ValueError(
            f"Unsupported tracking URI {uri!r}: Cairn is reached over http(s)://host:port"
        )
    uri = uri.rstrip("/")
    if uri.endswith("/graphql"):
        uri = uri[: -len("/graphql")]
    return uri


@dataclass(frozen=True)
class TransportSettings:
    """How requests are sent and retried.

    ``retry_timeout`` bounds retries of calls made on the caller's thread (create a run, read,
    search); ``batch_retry_timeout`` bounds retries of the background queue, i.e. how long the
    server may be down without any logged point being lost.
    """

    api_key: Optional[str] = None
    workspace: Optional[str] = None
    request_timeout: float = 30.0
    retry_timeout: float = 120.0
    batch_retry_timeout: float = 600.0
    backoff_initial: float = 0.25
    backoff_max: float = 10.0

    @staticmethod
    def from_env() -> "TransportSettings":
        return TransportSettings(
            api_key=api_key_from_env(),
            workspace=os.environ.get("CAIRN_WORKSPACE") or None,
            request_timeout=_env_float("CAIRN_HTTP_REQUEST_TIMEOUT", 30.0),
            retry_timeout=_env_float("CAIRN_HTTP_RETRY_TIMEOUT", 120.0),
            batch_retry_timeout=_env_float("CAIRN_BATCH_RETRY_TIMEOUT", 600.0),
            backoff_initial=_env_float("CAIRN_HTTP_BACKOFF_INITIAL", 0.25),
            backoff_max=_env_float("CAIRN_HTTP_BACKOFF_MAX", 10.0),
        )


@dataclass(frozen=True)
class BatchSettings:
    """Thresholds of the background queue (see docs/python-sdk.md, "Background batching")."""

    #: send when this many items are queued (metric points + params + tags) ...
    flush_size: int = 10_000
    #: ... or when the oldest queued item is this old (seconds)
    flush_interval: float = 1.0
    #: at most this many metric points per request (the server's limit is 50,000)
    max_points_per_request: int = 50_000
    #: callers block (back-pressure) while this many items are queued and unsent
    max_queue: int = 200_000

    @staticmethod
    def from_env() -> "BatchSettings":
        return BatchSettings(
            flush_size=max(1, _env_int("CAIRN_BATCH_FLUSH_SIZE", 10_000)),
            flush_interval=max(0.01, _env_float("CAIRN_BATCH_FLUSH_INTERVAL", 1.0)),
            max_points_per_request=min(
                50_000, max(1, _env_int("CAIRN_BATCH_MAX_POINTS_PER_REQUEST", 50_000))
            ),
            max_queue=max(1_000, _env_int("CAIRN_BATCH_MAX_QUEUE", 200_000)),
        )


def system_metrics_enabled_by_env() -> bool:
    return _env_bool("CAIRN_ENABLE_SYSTEM_METRICS_LOGGING", False)


def system_metrics_interval() -> float:
    return max(0.1, _env_float("CAIRN_SYSTEM_METRICS_SAMPLING_INTERVAL", 10.0))


def api_key_from_env() -> Optional[str]:
    """``CAIRN_API_KEY``, else ``MLFLOW_TRACKING_TOKEN`` (what MLflow clients send as Bearer)."""
    return (
        os.environ.get("CAIRN_API_KEY", "").strip()
        or os.environ.get("MLFLOW_TRACKING_TOKEN", "").strip()
        or None
    )
