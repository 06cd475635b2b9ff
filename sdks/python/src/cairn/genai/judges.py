"""LLM judges: an OpenAI-compatible ``/chat/completions`` call that answers
``{"result": "yes"|"no"|<number>, "rationale": "..."}`` (docs/python-sdk.md, "Evaluation").

Model URIs are ``openai:/<model>`` (default ``openai:/gpt-4o-mini``, or env
``CAIRN_JUDGE_MODEL``). The base URL is ``CAIRN_JUDGE_BASE_URL``, else ``OPENAI_BASE_URL``, else
``https://api.openai.com/v1``; the key ``OPENAI_API_KEY``. 429 and 5xx answers (and connection
errors) are retried with exponential back-off that honours ``Retry-After``, 3 attempts by default
(``CAIRN_JUDGE_MAX_ATTEMPTS``). The judge runs at temperature 0 and its prompt is built
deterministically (sorted JSON), so the same inputs with the same judge answers give the same
scores.
"""

from __future__ import annotations

import email.utils
import json
import math
import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import requests

from .._version import __version__
from ..exceptions import CairnError, InvalidArgumentError

DEFAULT_MODEL = "openai:/gpt-4o-mini"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: the longest Retry-After the judge waits (seconds); longer answers are capped
MAX_RETRY_AFTER = 60.0
SUPPORTED_PROVIDERS = ("openai",)

_local = threading.local()


class JudgeError(CairnError):
    """A judge call failed (HTTP error after the retries, or an answer that cannot be parsed).

    ``raw`` holds the judge's text when it answered something unparseable."""

    def __init__(
        self,
        message: str,
        code: str = "JUDGE_FAILED",
        details: Optional[Mapping[str, Any]] = None,
        http_status: Optional[int] = None,
        raw: Optional[str] = None,
    ) -> None:
        super().__init__(message, code, details, http_status)
        self.raw = raw

    def __reduce__(self) -> Any:
        return (type(self), (self.message, self.code, self.details, self.http_status, self.raw))


def parse_model_uri(uri: Any) -> Tuple[str, str]:
    """``("openai", "gpt-4o-mini")`` from ``"openai:/gpt-4o-mini"`` (also ``openai:gpt-4o-mini``
    and ``openai/gpt-4o-mini``); raises :class:`InvalidArgumentError` otherwise."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidArgumentError(
            f"A judge model URI like 'openai:/gpt-4o-mini' is needed, got {uri!r}",
            "INVALID_ARGUMENT",
            {"argument": "model"},
        )
    match = re.match(r"^\s*([A-Za-z][A-Za-z0-9_-]*)(?::/{0,2}|/)(\S.*?)\s*$", uri)
    if not match:
        raise InvalidArgumentError(
            f"Bad judge model URI {uri!r}: use '<provider>:/<model>', e.g. 'openai:/gpt-4o-mini'",
            "INVALID_ARGUMENT",
            {"argument": "model"},
        )
    provider, model = match.group(1).lower(), match.group(2)
    if provider not in SUPPORTED_PROVIDERS:
        raise InvalidArgumentError(
            f"Judge provider {provider!r} is not supported: use an OpenAI-compatible endpoint "
            "('openai:/<model>' with CAIRN_JUDGE_BASE_URL or OPENAI_BASE_URL)",
            "INVALID_ARGUMENT",
            {"argument": "model"},
        )
    return provider, model


def default_model() -> str:
    return os.environ.get("CAIRN_JUDGE_MODEL") or DEFAULT_MODEL


def base_url() -> str:
    return (
        os.environ.get("CAIRN_JUDGE_BASE_URL")
        or os.environ.get("OPENAI_BASE_URL")
        or DEFAULT_BASE_URL
    ).rstrip("/")


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidArgumentError(
            f"Environment variable {name} must be a number, got {raw!r}", "INVALID_ARGUMENT"
        ) from None


@dataclass
class JudgeAnswer:
    """A parsed judge answer: ``value`` is ``"yes"``/``"no"``, a number, or a string."""

    value: Any
    rationale: Optional[str]
    raw: str
    usage: Dict[str, int] = field(default_factory=dict)
    attempts: int = 1


def parse_answer(text: str, *, allow_any: bool = False) -> Tuple[Any, Optional[str]]:
    """``(value, rationale)`` of a judge's answer text; :class:`JudgeError` (with ``raw``) when
    it is not the JSON object asked for. Accepts a fenced code block or text around the object.
    ``"yes"``/``"no"`` (any case, also true/false) become ``"yes"``/``"no"``; numbers stay
    numbers; other strings are an error unless ``allow_any``."""
    obj = _find_json_object(text)
    if obj is None or "result" not in obj:
        raise JudgeError(
            'The judge did not answer a JSON object with "result": '
            + (text if len(text) <= 500 else text[:500] + "…"),
            details={"raw": text[:4000]},
            raw=text,
        )
    result = obj["result"]
    rationale = obj.get("rationale")
    rationale_text = None if rationale is None else str(rationale)
    if isinstance(result, bool):
        return ("yes" if result else "no"), rationale_text
    if isinstance(result, (int, float)):
        return result, rationale_text
    if isinstance(result, str):
        word = result.strip().strip(".!\"'").strip().lower()
        if word in ("yes", "true", "pass"):
            return "yes", rationale_text
        if word in ("no", "false", "fail"):
            return "no", rationale_text
        try:
            number = float(word)
        except ValueError:
            number = None
        if number is not None and math.isfinite(number):
            return (int(number) if number.is_integer() else number), rationale_text
        if allow_any and word:
            return result.strip(), rationale_text
    raise JudgeError(
        f'The judge answered an unusable "result" {result!r}: {text[:500]}',
        details={"raw": text[:4000]},
        raw=text,
    )


def _find_json_object(text: str) -> Optional[Dict[str, Any]]:
    stripped = text.strip()
    fenced = re.search(r"```(?:json)?\s*(\{.*?\})\s*```", stripped, re.DOTALL)
    candidates = [stripped]
    if fenced:
        candidates.append(fenced.group(1))
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        candidates.append(stripped[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _session() -> requests.Session:
    session: Optional[requests.Session] = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        _local.session = session
    return session


def _retry_after(response: requests.Response) -> Optional[float]:
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, min(MAX_RETRY_AFTER, float(raw)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, min(MAX_RETRY_AFTER, when.timestamp() - time.time()))


def complete(
    model_uri: str,
    messages: List[Dict[str, str]],
    *,
    max_attempts: Optional[int] = None,
    timeout: Optional[float] = None,
) -> Tuple[str, Dict[str, int], int]:
    """One chat completion: ``(content, usage, attempts)``; raises :class:`JudgeError`."""
    _, model = parse_model_uri(model_uri)
    attempts_allowed = int(max_attempts or _env_number("CAIRN_JUDGE_MAX_ATTEMPTS", 3))
    attempts_allowed = max(1, attempts_allowed)
    request_timeout = timeout or _env_number("CAIRN_JUDGE_TIMEOUT", 60.0)
    backoff = _env_number("CAIRN_JUDGE_BACKOFF_INITIAL", 1.0)
    url = base_url() + "/chat/completions"
    headers = {"Content-Type": "application/json", "User-Agent": f"cairn-python/{__version__}"}
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body = {
        "model": model,
        "messages": messages,
        "temperature": 0,
        "response_format": {"type": "json_object"},
    }
    reason = ""
    status: Optional[int] = None
    for attempt in range(1, attempts_allowed + 1):
        wait: Optional[float] = None
        try:
            response = _session().post(url, json=body, headers=headers, timeout=request_timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = f"{type(exc).__name__} talking to {url}"
            status = None
        else:
            status = response.status_code
            if 200 <= status < 300:
                return (*_content(response), attempt)
            reason = f"HTTP {status} from {url}: {response.text[:300]}"
            if status not in RETRYABLE_STATUS:
                break
            wait = _retry_after(response)
        if attempt < attempts_allowed:
            if wait is None:
                wait = backoff * (2 ** (attempt - 1)) * (0.75 + random.random() * 0.5)
            time.sleep(wait)
    raise JudgeError(
        f"Judge {model_uri} failed after {attempt} attempt(s): {reason}",
        details={"attempts": attempt, "model": model_uri},
        http_status=status,
    )


def _content(response: requests.Response) -> Tuple[str, Dict[str, int]]:
    try:
        payload = response.json()
        message = payload["choices"][0]["message"]
        content = message.get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        text = response.text[:500]
        raise JudgeError(f"The judge endpoint answered no chat completion: {text}", raw=text)
    if not isinstance(content, str):
        raise JudgeError("The judge answered no text content", raw=json.dumps(message)[:4000])
    usage_raw = payload.get("usage") if isinstance(payload, dict) else None
    usage: Dict[str, int] = {}
    if isinstance(usage_raw, dict):
        for src, dst in (
            ("prompt_tokens", "input_tokens"),
            ("completion_tokens", "output_tokens"),
            ("total_tokens", "total_tokens"),
        ):
            if isinstance(usage_raw.get(src), int):
                usage[dst] = int(usage_raw[src])
    return content, usage


SYSTEM_PROMPT = (
    "You are an impartial judge that evaluates the output of an AI application. "
    "Answer with a single JSON object and nothing else: "
    '{"result": "yes" or "no", "rationale": "<one or two sentences explaining why>"}.'
)
SYSTEM_PROMPT_ANY = (
    "You are an impartial judge that evaluates the output of an AI application. "
    "Answer with a single JSON object and nothing else: "
    '{"result": <your assessment: "yes" or "no", a number, or a short label, as the '
    'instructions ask>, "rationale": "<one or two sentences explaining why>"}.'
)


def judge(
    model_uri: str, prompt: str, *, allow_any: bool = False, max_attempts: Optional[int] = None
) -> JudgeAnswer:
    """Asks the judge ``prompt`` and parses its answer (:class:`JudgeError` when it fails)."""
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT_ANY if allow_any else SYSTEM_PROMPT},
        {"role": "user", "content": prompt},
    ]
    text, usage, attempts = complete(model_uri, messages, max_attempts=max_attempts)
    value, rationale = parse_answer(text, allow_any=allow_any)
    return JudgeAnswer(value, rationale, text, usage, attempts)


def render(value: Any) -> str:
    """A value as prompt text: strings as they are, everything else as sorted, indented JSON."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
