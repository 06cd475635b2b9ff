"""Exceptions raised by the Cairn SDK.

Every error the server reports keeps its code (``errors[].extensions.code`` in the GraphQL
response) in :attr:`CairnError.code` and the rest of its extensions in :attr:`CairnError.details`,
so callers can branch on ``err.code == "NOT_FOUND"`` instead of parsing messages.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence


class CairnError(Exception):
    """An error from Cairn: a server error code, or one of the SDK's own codes.

    Server codes: ``NOT_FOUND``, ``ALREADY_EXISTS``, ``INVALID_ARGUMENT``, ``CONFLICT``,
    ``UNAUTHENTICATED``, ``PERMISSION_DENIED``, ``UNAVAILABLE``, ``INTERNAL``.
    SDK codes: ``UNAVAILABLE`` (server unreachable after all retries), ``UNIMPLEMENTED``
    (a feature that needs a part of the platform that does not exist yet), ``BAD_RESPONSE``.
    """

    def __init__(
        self,
        message: str,
        code: str = "INTERNAL",
        details: Optional[Mapping[str, Any]] = None,
        http_status: Optional[int] = None,
    ) -> None:
        self.message = message
        self.code = code
        self.details: dict[str, Any] = dict(details or {})
        self.http_status = http_status
        super().__init__(f"{code}: {message}")

    @property
    def key(self) -> Optional[str]:
        """The param, tag or metric key the error is about, when the server names one."""
        key = self.details.get("key")
        return key if isinstance(key, str) else None

    def __reduce__(self) -> Any:  # picklable (multiprocessing, joblib)
        return (type(self), (self.message, self.code, self.details, self.http_status))


class RestException(CairnError):
    """Alias kept for code written against MLflow (``except RestException``)."""


class CairnUnavailableError(CairnError):
    """The server could not be reached (or kept answering 5xx) for the whole retry window."""

    def __init__(self, message: str, details: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message, "UNAVAILABLE", details)

    def __reduce__(self) -> Any:
        return (type(self), (self.message, self.details))


class NotFoundError(CairnError):
    """``NOT_FOUND``: a run, artifact, registered model, version or alias that does not exist."""


class AlreadyExistsError(CairnError):
    """``ALREADY_EXISTS``: e.g. a registered model name that is taken."""


class InvalidArgumentError(CairnError):
    """``INVALID_ARGUMENT``: bad input (an artifact path with ``..``, an unknown stage, ...)."""


class ConflictError(CairnError):
    """``CONFLICT``: the write raced with another one (version numbers, aliases)."""


class ChecksumMismatchError(CairnError):
    """``DATA_LOSS``: bytes did not match their sha256 (upload or download); nothing was kept."""


class UnauthenticatedError(CairnError):
    """``UNAUTHENTICATED`` (HTTP 401): no API key, or one that is unknown, revoked or expired.

    Set ``CAIRN_API_KEY`` (or ``MLFLOW_TRACKING_TOKEN``) to a key from ``cairn keys create``.
    """


class PermissionDeniedError(CairnError):
    """``PERMISSION_DENIED`` (HTTP 403): the key's role lacks the scope, or names another workspace."""


_BY_CODE = {
    "UNAUTHENTICATED": UnauthenticatedError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "NOT_FOUND": NotFoundError,
    "ALREADY_EXISTS": AlreadyExistsError,
    "INVALID_ARGUMENT": InvalidArgumentError,
    "CONFLICT": ConflictError,
    "DATA_LOSS": ChecksumMismatchError,
}


def error_for(
    message: str,
    code: str,
    details: Optional[Mapping[str, Any]] = None,
    http_status: Optional[int] = None,
) -> CairnError:
    """The most specific :class:`CairnError` subclass for a server or SDK error code."""
    return _BY_CODE.get(code, CairnError)(message, code, details, http_status)


class BatchLoggingError(CairnError):
    """Raised by ``flush()``/``end_run()`` when queued items were rejected or could not be sent.

    ``errors`` holds every underlying error (first one is also the ``code``/``message``);
    ``dropped`` counts the metric points, params and tags that were not recorded.
    """

    def __init__(self, errors: Sequence[CairnError], dropped: int) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        super().__init__(
            f"{first.message}{more}; {dropped} queued item(s) were not recorded",
            first.code,
            {**first.details, "dropped": dropped},
            first.http_status,
        )
        self.errors = list(errors)
        self.dropped = dropped

    def __reduce__(self) -> Any:
        return (type(self), (self.errors, self.dropped))
