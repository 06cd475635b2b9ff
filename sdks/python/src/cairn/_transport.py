"""GraphQL over HTTP with retries (requests; see docs/python-sdk.md, "Transport")."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any, Callable, Mapping, Optional

import requests

from ._version import __version__
from .config import TransportSettings
from .exceptions import CairnError, CairnUnavailableError, error_for

_log = logging.getLogger("cairn")

#: GraphQL error codes worth retrying: nothing was written, or the server asked for a retry.
RETRYABLE_CODES = frozenset({"UNAVAILABLE", "CONFLICT", "RESOURCE_EXHAUSTED"})
#: Masked unexpected server errors: retried a few times only (may be a bug, not an outage).
MAX_INTERNAL_ATTEMPTS = 3
RETRYABLE_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})


class _Retryable(Exception):
    def __init__(self, reason: str, error: Optional[CairnError] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


class GraphQLTransport:
    """Sends GraphQL operations to ``<tracking_uri>/graphql``.

    Thread-safe: each thread gets its own ``requests.Session`` (connection pool).
    """

    def __init__(self, tracking_uri: str, settings: Optional[TransportSettings] = None) -> None:
        self.tracking_uri = tracking_uri
        self.endpoint = tracking_uri + "/graphql"
        self.settings = settings or TransportSettings.from_env()
        self._local = threading.local()
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"cairn-python/{__version__}",
        }
        if self.settings.api_key:
            self._headers["Authorization"] = f"Bearer {self.settings.api_key}"
        if self.settings.workspace:
            self._headers["x-cairn-workspace"] = self.settings.workspace

    def _session(self) -> requests.Session:
        session: Optional[requests.Session] = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self._headers)
            self._local.session = session
        return session

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def execute(
        self,
        query: str,
        variables: Optional[Mapping[str, Any]] = None,
        *,
        retry_timeout: Optional[float] = None,
        on_retry: Optional[Callable[[str, int], None]] = None,
        should_stop: Optional[Callable[[], bool]] = None,
    ) -> dict[str, Any]:
        """Runs one operation and returns its ``data``; raises :class:`CairnError`.

        Network errors, 5xx/429 answers and the ``UNAVAILABLE``/``CONFLICT`` codes are retried
        with exponential backoff (jittered) until ``retry_timeout`` seconds have passed since
        the first attempt; then :class:`CairnUnavailableError` is raised.
        """
        body = json.dumps({"query": query, "variables": dict(variables or {})}, allow_nan=False)
        window = self.settings.retry_timeout if retry_timeout is None else retry_timeout
        started = time.monotonic()
        delay = self.settings.backoff_initial
        attempt = 0
        internal_attempts = 0
        while True:
            attempt += 1
            try:
                return self._attempt(body)
            except _Retryable as failure:
                if failure.error is not None and failure.error.code == "INTERNAL":
                    internal_attempts += 1
                    if internal_attempts >= MAX_INTERNAL_ATTEMPTS:
                        raise failure.error from None
                elapsed = time.monotonic() - started
                if elapsed >= window or (should_stop is not None and should_stop()):
                    if failure.error is not None and failure.error.code != "UNAVAILABLE":
                        raise failure.error from None
                    raise CairnUnavailableError(
                        f"Cairn at {self.tracking_uri} did not answer after {attempt} attempt(s) "
                        f"over {elapsed:.0f} s: {failure.reason}",
                        {"attempts": attempt, "tracking_uri": self.tracking_uri},
                    ) from None
                if on_retry is not None:
                    on_retry(failure.reason, attempt)
                elif attempt == 1 or attempt % 10 == 0:
                    _log.warning(
                        "cairn: %s; retrying (attempt %d, up to %.0f s)",
                        failure.reason,
                        attempt,
                        window,
                    )
                sleep = min(delay, self.settings.backoff_max, max(0.0, window - elapsed))
                time.sleep(sleep * (0.75 + random.random() * 0.5))
                delay = min(delay * 2, self.settings.backoff_max)

    def _attempt(self, body: str) -> dict[str, Any]:
        try:
            response = self._session().post(
                self.endpoint, data=body.encode("utf-8"), timeout=self.settings.request_timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.close()  # drop pooled connections to a server that went away
            raise _Retryable(f"{type(exc).__name__} talking to {self.endpoint}") from exc
        status = response.status_code
        payload: Any = None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("errors"):
            error = _to_error(payload["errors"], status)
            if error.code in RETRYABLE_CODES or error.code == "INTERNAL":
                raise _Retryable(f"{error.code}: {error.message}", error)
            raise error
        if status in RETRYABLE_HTTP:
            raise _Retryable(f"HTTP {status} from {self.endpoint}")
        if status >= 400 or not isinstance(payload, dict) or "data" not in payload:
            code = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}.get(
                status, "BAD_RESPONSE"
            )
            text = response.text[:300] if payload is None else json.dumps(payload)[:300]
            raise error_for(
                f"Unexpected answer from {self.endpoint} (HTTP {status}): {text}",
                code,
                http_status=status,
            )
        data = payload["data"]
        return data if isinstance(data, dict) else {}


def _to_error(errors: Any, status: int) -> CairnError:
    first = errors[0] if isinstance(errors, list) and errors else {}
    if not isinstance(first, dict):
        return CairnError(str(first), "INTERNAL", http_status=status)
    extensions = first.get("extensions") or {}
    code = extensions.get("code") if isinstance(extensions, dict) else None
    details = {k: v for k, v in extensions.items() if k != "code"} if extensions else {}
    if isinstance(errors, list) and len(errors) > 1:
        details["other_errors"] = [e.get("message") for e in errors[1:] if isinstance(e, dict)]
    message = str(first.get("message") or "unknown error")
    if not isinstance(code, str):
        code = "INTERNAL"
    return error_for(message, code, details, status)
