"""The prompt registry from Python (docs/python-sdk.md, "Prompts"; contract in docs/prompts.md).

``load_prompt`` caches what it resolved per process: a copy younger than the TTL is answered
from memory; an older one is answered at once while a background thread fetches it again
(stale-while-revalidate); while the server cannot be reached the last good copy keeps being
served, with a :class:`PromptCacheWarning`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .._validation import to_str, validate_key, validate_value
from ..exceptions import CairnError, InvalidArgumentError, NotFoundError

_log = logging.getLogger("cairn")

#: default time (seconds) a loaded prompt is served from memory before it is fetched again
DEFAULT_CACHE_TTL_SECONDS = 60.0
#: how long a background refresh retries before it gives up (and the stale copy stays)
DEFAULT_REFRESH_TIMEOUT_SECONDS = 10.0

#: a ``{{ name }}`` placeholder, as the server extracts them (apps/api/src/prompts/prompt-template.ts)
VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
URI_SCHEME = "prompts:/"
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
#: names hold no ":", so "<scheme>:..." is a URI of another kind
_OTHER_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

Template = Union[str, List[Dict[str, str]]]


class PromptCacheWarning(UserWarning):
    """``load_prompt`` answered a cached copy because the server could not be asked again."""


class PromptFormatError(InvalidArgumentError):
    """``PromptVersion.format`` was not given every variable; ``missing`` names them."""

    def __init__(self, message: str, missing: Sequence[str]) -> None:
        super().__init__(message, "INVALID_ARGUMENT", {"missing": list(missing)})
        self.missing = list(missing)

    def __reduce__(self) -> Any:
        return (type(self), (self.message, self.missing))


# ---------------------------------------------------------------------- URIs


def _uri_error(reason: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(message, "INVALID_ARGUMENT", {"argument": "uri", "reason": reason})


def parse_prompt_uri(
    name_or_uri: str, version: Optional[Union[int, str]] = None
) -> Tuple[str, Optional[int], Optional[str]]:
    """``(name, version, alias)`` of a prompt URI or a plain name (exactly one of version and
    alias is set; a plain name without ``version`` means ``latest``).

    >>> parse_prompt_uri("prompts:/summarise/3")
    ('summarise', 3, None)
    >>> parse_prompt_uri("prompts:/summarise@production")
    ('summarise', None, 'production')
    >>> parse_prompt_uri("summarise")
    ('summarise', None, 'latest')
    """
    if not isinstance(name_or_uri, str) or not name_or_uri.strip():
        raise _uri_error("NAME", "A prompt name or prompts:/ URI is needed")
    text = name_or_uri.strip()
    if text.startswith(URI_SCHEME):
        if version is not None:
            raise InvalidArgumentError(
                f"Give either a URI ({text!r}) or version={version!r}, not both",
                "INVALID_ARGUMENT",
                {"argument": "version"},
            )
        rest = text[len(URI_SCHEME) :]
        if "@" in rest:
            name, alias = rest.rsplit("@", 1)
            _check_name(name)
            if not _ALIAS.match(alias):
                raise _uri_error("ALIAS", f"Bad alias {alias!r} in {text!r}")
            return name, None, alias
        if "/" in rest:
            name, ver = rest.rsplit("/", 1)
            _check_name(name)
            if ver == "latest":
                return name, None, "latest"
            return name, _version_number(ver, text), None
        raise _uri_error(
            "SHAPE", f"{text!r} is neither prompts:/<name>/<version> nor prompts:/<name>@<alias>"
        )
    if _OTHER_SCHEME.match(text):
        raise _uri_error("SCHEME", f"{text!r} is not a prompts:/ URI")
    _check_name(text)
    if version is None:
        return text, None, "latest"
    if isinstance(version, str) and version == "latest":
        return text, None, "latest"
    return text, _version_number(version, text), None


def _check_name(name: str) -> None:
    if not name or "/" in name or "@" in name:
        raise _uri_error("NAME", f"Bad prompt name {name!r}: not empty, no '/' or '@'")


def _version_number(value: Union[int, str], where: str) -> int:
    if isinstance(value, bool):
        raise _uri_error("VERSION", f"Bad version {value!r} for {where!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isdigit():
        number = int(value)
    else:
        raise _uri_error("VERSION", f"Bad version {value!r} for {where!r}: a positive integer")
    if number < 1:
        raise _uri_error("VERSION", f"Bad version {value!r} for {where!r}: a positive integer")
    return number


def prompt_uri(name: str, version: Optional[int] = None, alias: Optional[str] = None) -> str:
    return f"{URI_SCHEME}{name}/{version}" if version is not None else f"{URI_SCHEME}{name}@{alias}"


# ---------------------------------------------------------------------- templates


def template_variables(template: Template) -> List[str]:
    """The distinct ``{{name}}`` placeholders, in order of first appearance."""
    seen: Dict[str, None] = {}
    for text in _texts(template):
        for match in VARIABLE.finditer(text):
            seen.setdefault(match.group(1), None)
    return list(seen)


def _texts(template: Template) -> List[str]:
    if isinstance(template, str):
        return [template]
    return [m["content"] for m in template]


def _substitute(text: str, values: Mapping[str, Any], missing: Dict[str, None]) -> str:
    def replace(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name in values:
            value = values[name]
            return value if isinstance(value, str) else str(value)
        missing.setdefault(name, None)
        return match.group(0)

    return VARIABLE.sub(replace, text)


@dataclass(frozen=True)
class PromptVersion:
    """One immutable version of a prompt (GraphQL ``PromptVersion``)."""

    name: str
    version: int
    #: TEXT: the template string; CHAT: the list of ``{"role", "content"}`` messages
    template: Template
    variables: List[str] = field(default_factory=list)
    commit_message: Optional[str] = None
    tags: Dict[str, str] = field(default_factory=dict)
    aliases: List[str] = field(default_factory=list)
    model_config: Optional[Dict[str, Any]] = None
    response_format: Optional[Dict[str, Any]] = None
    author: Optional[str] = None
    #: Unix epoch milliseconds
    creation_timestamp: Optional[int] = None
    prompt_id: Optional[str] = None

    @property
    def uri(self) -> str:
        """``prompts:/<name>/<version>``: the spelling traces link by."""
        return prompt_uri(self.name, self.version)

    @property
    def is_text_prompt(self) -> bool:
        return isinstance(self.template, str)

    @property
    def template_type(self) -> str:
        return "TEXT" if self.is_text_prompt else "CHAT"

    @property
    def messages(self) -> Optional[List[Dict[str, str]]]:
        return None if isinstance(self.template, str) else [dict(m) for m in self.template]

    def format(self, allow_partial: bool = False, **values: Any) -> Template:
        """Fills the ``{{variables}}``: a string for a text prompt, a list of messages for a
        chat prompt. Every variable must be given (:class:`PromptFormatError` names the missing
        ones) unless ``allow_partial``, which leaves them in place. Extra values are ignored.

        Inside an active Cairn trace, the trace is linked to this version
        (``cairn.trace.prompt_versions``, docs/prompts.md, "Lineage to traces").
        """
        missing: Dict[str, None] = {}
        out: Template
        if isinstance(self.template, str):
            out = _substitute(self.template, values, missing)
        else:
            out = [
                {"role": m["role"], "content": _substitute(m["content"], values, missing)}
                for m in self.template
            ]
        if missing and not allow_partial:
            names = ", ".join(repr(n) for n in missing)
            raise PromptFormatError(
                f"Prompt {self.uri} needs variable(s) {names} that were not given "
                f"(its variables: {', '.join(self.variables) or 'none'})",
                list(missing),
            )
        link_to_current_trace(self.uri)
        return out

    def to_single_brace_format(self) -> Template:
        """The template with ``{{ name }}`` written ``{name}`` (for ``str.format``-style tools,
        e.g. LangChain's ``PromptTemplate``). Other braces are left as they are."""

        def convert(text: str) -> str:
            return VARIABLE.sub(lambda m: "{" + m.group(1) + "}", text)

        if isinstance(self.template, str):
            return convert(self.template)
        return [{"role": m["role"], "content": convert(m["content"])} for m in self.template]

    def __repr__(self) -> str:
        return f"<PromptVersion {self.uri} {self.template_type} variables={self.variables}>"


@dataclass(frozen=True)
class Prompt:
    """A prompt (GraphQL ``Prompt``), as ``search_prompts`` returns it."""

    name: str
    description: Optional[str] = None
    tags: Dict[str, str] = field(default_factory=dict)
    archived: bool = False
    latest_version: Optional[int] = None
    #: alias → version
    aliases: Dict[str, int] = field(default_factory=dict)
    creation_timestamp: Optional[int] = None
    last_updated_timestamp: Optional[int] = None


def link_to_current_trace(uri: str) -> bool:
    """Adds ``uri`` to the prompt versions of the current trace; False outside a trace."""
    from ..tracing import _fluent
    from ..tracing import _span as S

    span = _fluent.get_current_active_span()
    state = getattr(span, "_trace", None)
    if span is None or state is None:
        return False
    with state.lock:
        raw = state.fields.get(S.TRACE_PROMPT_VERSIONS)
    current: List[str] = []
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
            if isinstance(parsed, list):
                current = [str(x) for x in parsed]
        except ValueError:
            current = []
    if uri in current:
        return True
    _fluent.update_current_trace(prompt_versions=[*current, uri])
    return True


# ---------------------------------------------------------------------- GraphQL

_VERSION_FIELDS = """
  promptId name version uri templateType template messages { role content } variables
  responseFormat modelConfig commitMessage author createdAt tags { key value } aliases
"""

RESOLVE = f"query CairnResolvePrompt($uri: String!) {{ resolvePromptUri(uri: $uri) {{ {_VERSION_FIELDS} }} }}"

CREATE_VERSION = f"""
mutation CairnRegisterPrompt($name: String!, $template: String, $messages: [PromptMessageInput!],
  $responseFormat: JSON, $modelConfig: JSON, $commitMessage: String, $tags: [KeyValueInput!]) {{
  createPromptVersion(name: $name, template: $template, messages: $messages,
    responseFormat: $responseFormat, modelConfig: $modelConfig, commitMessage: $commitMessage,
    tags: $tags, createPromptIfMissing: true) {{ {_VERSION_FIELDS} }}
}}"""

SET_ALIAS = f"""
mutation CairnSetPromptAlias($name: String!, $alias: String!, $version: Int!) {{
  setPromptAlias(name: $name, alias: $alias, version: $version) {{ {_VERSION_FIELDS} }}
}}"""

DELETE_ALIAS = """
mutation CairnDeletePromptAlias($name: String!, $alias: String!) {
  deletePromptAlias(name: $name, alias: $alias) { name }
}"""

_PROMPT_FIELDS = """
  name description tags { key value } archived createdAt updatedAt
  latestVersion { version } aliases { alias version }
"""

SEARCH = f"""
query CairnSearchPrompts($filter: String, $orderBy: [String!], $includeArchived: Boolean,
  $first: Int, $after: String) {{
  prompts(filter: $filter, orderBy: $orderBy, includeArchived: $includeArchived, first: $first,
    after: $after) {{
    edges {{ node {{ {_PROMPT_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""

SET_TAG = f"""
mutation CairnSetPromptTag($name: String!, $key: String!, $value: String!) {{
  setPromptTag(name: $name, key: $key, value: $value) {{ {_PROMPT_FIELDS} }}
}}"""

DELETE_TAG = f"""
mutation CairnDeletePromptTag($name: String!, $key: String!) {{
  deletePromptTag(name: $name, key: $key) {{ {_PROMPT_FIELDS} }}
}}"""

SET_VERSION_TAG = f"""
mutation CairnSetPromptVersionTag($name: String!, $version: Int!, $key: String!, $value: String!) {{
  setPromptVersionTag(name: $name, version: $version, key: $key, value: $value) {{ {_VERSION_FIELDS} }}
}}"""

DELETE_VERSION_TAG = f"""
mutation CairnDeletePromptVersionTag($name: String!, $version: Int!, $key: String!) {{
  deletePromptVersionTag(name: $name, version: $version, key: $key) {{ {_VERSION_FIELDS} }}
}}"""

DELETE_PROMPT = "mutation CairnDeletePrompt($name: String!) { deletePrompt(name: $name) }"


def _kv(items: Optional[Sequence[Mapping[str, str]]]) -> Dict[str, str]:
    return {str(t["key"]): str(t["value"]) for t in items or []}


def _to_version(node: Mapping[str, Any]) -> PromptVersion:
    template: Template
    if node.get("templateType") == "CHAT":
        template = [
            {"role": m["role"], "content": m["content"]} for m in node.get("messages") or []
        ]
    else:
        template = str(node.get("template") or "")
    return PromptVersion(
        name=str(node["name"]),
        version=int(node["version"]),
        template=template,
        variables=list(node.get("variables") or []),
        commit_message=node.get("commitMessage"),
        tags=_kv(node.get("tags")),
        aliases=list(node.get("aliases") or []),
        model_config=node.get("modelConfig"),
        response_format=node.get("responseFormat"),
        author=node.get("author"),
        creation_timestamp=node.get("createdAt"),
        prompt_id=node.get("promptId"),
    )


def _to_prompt(node: Mapping[str, Any]) -> Prompt:
    latest = node.get("latestVersion")
    return Prompt(
        name=str(node["name"]),
        description=node.get("description"),
        tags=_kv(node.get("tags")),
        archived=bool(node.get("archived")),
        latest_version=int(latest["version"]) if latest else None,
        aliases={str(a["alias"]): int(a["version"]) for a in node.get("aliases") or []},
        creation_timestamp=node.get("createdAt"),
        last_updated_timestamp=node.get("updatedAt"),
    )


def _tags_input(tags: Optional[Mapping[str, Any]]) -> Optional[List[Dict[str, str]]]:
    if not tags:
        return None
    out = []
    for key, value in tags.items():
        text = to_str(value)
        validate_key("tag", key)
        validate_value("tag", key, text)
        out.append({"key": key, "value": text})
    return out


def _client() -> Any:
    from .. import fluent

    return fluent.get_client()


def _json_object(value: Any, argument: str) -> Optional[Dict[str, Any]]:
    if value is None:
        return None
    if hasattr(value, "model_json_schema"):  # a pydantic model class
        value = value.model_json_schema()
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(
            f"{argument} must be a dict (a JSON object), got {type(value).__name__}",
            "INVALID_ARGUMENT",
            {"argument": argument},
        )
    return dict(value)


# ---------------------------------------------------------------------- the cache


@dataclass
class _Entry:
    value: PromptVersion
    fetched_at: float
    refreshing: bool = False
    last_error: Optional[BaseException] = None
    failed_at: Optional[float] = None


class PromptCache:
    """In-process cache of resolved prompt URIs, per server and workspace (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: Dict[Tuple[str, str, str], _Entry] = {}

    def clear(self, name: Optional[str] = None) -> None:
        with self._lock:
            if name is None:
                self._entries.clear()
                return
            for key in [k for k in self._entries if _uri_name(k[2]) == name]:
                del self._entries[key]

    def get(self, key: Tuple[str, str, str]) -> Optional[_Entry]:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: Tuple[str, str, str], value: PromptVersion) -> None:
        with self._lock:
            self._entries[key] = _Entry(value, time.monotonic())

    def drop(self, key: Tuple[str, str, str]) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def start_refresh(self, key: Tuple[str, str, str]) -> bool:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.refreshing:
                return False
            entry.refreshing = True
            return True

    def refresh_failed(self, key: Tuple[str, str, str], error: BaseException) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.refreshing = False
                entry.last_error = error
                entry.failed_at = time.monotonic()


def _uri_name(uri: str) -> str:
    rest = uri[len(URI_SCHEME) :]
    return rest.rsplit("@", 1)[0] if "@" in rest else rest.rsplit("/", 1)[0]


_cache = PromptCache()


def clear_prompt_cache() -> None:
    """Forgets every prompt ``load_prompt`` cached in this process."""
    _cache.clear()


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise ValueError(f"Environment variable {name} must be a number, got {raw!r}") from None


def _resolve(client: Any, uri: str, retry_timeout: Optional[float]) -> PromptVersion:
    data = client._transport.execute(RESOLVE, {"uri": uri}, retry_timeout=retry_timeout)
    return _to_version(data["resolvePromptUri"])


def _refresh(client: Any, key: Tuple[str, str, str], timeout: float) -> None:
    uri = key[2]
    try:
        fresh = _resolve(client, uri, timeout)
    except NotFoundError:
        _cache.drop(key)  # the server answered: the alias or prompt is gone
        _log.warning("cairn: prompt %s no longer exists; dropped from the cache", uri)
    except BaseException as exc:  # noqa: BLE001 - keep serving the last good copy
        _cache.refresh_failed(key, exc)
        _log.warning("cairn: could not refresh prompt %s (serving the cached copy): %s", uri, exc)
    else:
        _cache.put(key, fresh)


def _serve_stale(entry: _Entry, uri: str) -> PromptVersion:
    if entry.last_error is not None:
        age = time.monotonic() - entry.fetched_at
        warnings.warn(
            f"cairn: serving {uri} as version {entry.value.version} cached {age:.0f} s ago; "
            f"the server could not be reached: {entry.last_error}",
            PromptCacheWarning,
            stacklevel=3,
        )
    return entry.value


# ---------------------------------------------------------------------- public API


def register_prompt(
    name: str,
    template: Template,
    commit_message: Optional[str] = None,
    tags: Optional[Mapping[str, Any]] = None,
    model_config: Optional[Mapping[str, Any]] = None,
    response_format: Any = None,
) -> PromptVersion:
    """Creates a new version of the prompt ``name`` (and the prompt, when it does not exist).

    ``template`` is a text template (a string with ``{{variables}}``) or a chat template (a list
    of ``{"role": ..., "content": ...}`` messages). ``tags`` are tags of the new version;
    ``model_config`` (provider, model, temperature, ...) and ``response_format`` (a JSON schema
    dict, or a pydantic model class) are stored with it.
    """
    _check_name(name)
    variables: Dict[str, Any] = {
        "name": name,
        "commitMessage": commit_message,
        "tags": _tags_input(tags),
        "modelConfig": _json_object(model_config, "model_config"),
        "responseFormat": _json_object(response_format, "response_format"),
    }
    if isinstance(template, str):
        variables["template"] = template
    elif isinstance(template, (list, tuple)):
        messages = []
        for i, message in enumerate(template):
            if not isinstance(message, Mapping) or not {"role", "content"} <= set(message):
                raise InvalidArgumentError(
                    f"template[{i}] must be a dict with 'role' and 'content'",
                    "INVALID_ARGUMENT",
                    {"argument": f"template[{i}]"},
                )
            messages.append({"role": str(message["role"]), "content": str(message["content"])})
        variables["messages"] = messages
    else:
        raise InvalidArgumentError(
            "template must be a string (text) or a list of {role, content} messages (chat)",
            "INVALID_ARGUMENT",
            {"argument": "template"},
        )
    data = _client().execute(CREATE_VERSION, variables)
    _cache.clear(name)
    return _to_version(data["createPromptVersion"])


def load_prompt(
    name_or_uri: str,
    version: Optional[Union[int, str]] = None,
    allow_missing: bool = False,
    cache_ttl_seconds: Optional[float] = None,
) -> Optional[PromptVersion]:
    """The prompt version a URI (``prompts:/name@alias``, ``prompts:/name/3``,
    ``prompts:/name@latest``) or a name (with ``version``, else the latest) points at.

    Cached in this process for ``cache_ttl_seconds`` (default ``CAIRN_PROMPT_CACHE_TTL_SECONDS``,
    60 s; 0 asks the server every time). After the TTL the cached copy is answered at once and
    fetched again in the background; while the server cannot be reached the last good copy is
    answered with a :class:`PromptCacheWarning`. ``allow_missing=True`` answers None instead of
    raising :class:`NotFoundError` when nothing has that name, version or alias.
    """
    name, number, alias = parse_prompt_uri(name_or_uri, version)
    uri = prompt_uri(name, number, alias)
    ttl = (
        _env_seconds("CAIRN_PROMPT_CACHE_TTL_SECONDS", DEFAULT_CACHE_TTL_SECONDS)
        if cache_ttl_seconds is None
        else max(0.0, float(cache_ttl_seconds))
    )
    refresh_timeout = _env_seconds(
        "CAIRN_PROMPT_REFRESH_TIMEOUT_SECONDS", DEFAULT_REFRESH_TIMEOUT_SECONDS
    )
    client = _client()
    key = (client.tracking_uri, client._transport.settings.workspace or "", uri)
    entry = _cache.get(key)
    if entry is not None and ttl > 0:
        if time.monotonic() - entry.fetched_at < ttl:
            return entry.value
        if _cache.start_refresh(key):
            threading.Thread(
                target=_refresh,
                args=(client, key, refresh_timeout),
                name="cairn-prompt-refresh",
                daemon=True,
            ).start()
        return _serve_stale(entry, uri)
    try:
        # with a cached copy to fall back on, do not wait out the long default retry window
        fetched = _resolve(client, uri, refresh_timeout if entry is not None else None)
    except NotFoundError:
        _cache.drop(key)
        if allow_missing:
            return None
        raise
    except CairnError as exc:
        if entry is None or exc.code not in ("UNAVAILABLE", "INTERNAL", "BAD_RESPONSE"):
            raise
        _cache.refresh_failed(key, exc)
        return _serve_stale(entry, uri)
    _cache.put(key, fetched)
    return fetched


def set_prompt_alias(name: str, alias: str, version: int) -> PromptVersion:
    """Points ``alias`` (e.g. ``production``) at ``version`` of the prompt, moving it when it
    exists (the move is in the alias history); returns that version."""
    data = _client().execute(SET_ALIAS, {"name": name, "alias": alias, "version": int(version)})
    _cache.clear(name)
    return _to_version(data["setPromptAlias"])


def delete_prompt_alias(name: str, alias: str) -> None:
    """Removes ``alias`` from the prompt (NOT_FOUND when it is not set)."""
    _client().execute(DELETE_ALIAS, {"name": name, "alias": alias})
    _cache.clear(name)


def search_prompts(
    filter_string: Optional[str] = None,
    max_results: int = 1000,
    order_by: Optional[Sequence[str]] = None,
    include_archived: bool = False,
) -> List[Prompt]:
    """Prompts matching ``filter_string`` (``name LIKE 'sum%'``, ``tags.team = 'x'``, AND/OR/NOT,
    parentheses; docs/prompts.md), by name unless ``order_by`` says otherwise; at most
    ``max_results``, fetched page by page."""
    if max_results < 1:
        raise InvalidArgumentError(
            "max_results must be at least 1", "INVALID_ARGUMENT", {"argument": "max_results"}
        )
    client = _client()
    out: List[Prompt] = []
    after: Optional[str] = None
    while len(out) < max_results:
        data = client.execute(
            SEARCH,
            {
                "filter": filter_string,
                "orderBy": list(order_by) if order_by else None,
                "includeArchived": include_archived,
                "first": min(100, max_results - len(out)),
                "after": after,
            },
        )["prompts"]
        out.extend(_to_prompt(edge["node"]) for edge in data["edges"])
        if not data["pageInfo"]["hasNextPage"] or not data["edges"]:
            break
        after = data["pageInfo"]["endCursor"]
    return out


def set_prompt_tag(name: str, key: str, value: Any) -> Prompt:
    """Sets a tag of the prompt (all versions)."""
    text = to_str(value)
    validate_key("tag", key)
    validate_value("tag", key, text)
    return _to_prompt(
        _client().execute(SET_TAG, {"name": name, "key": key, "value": text})["setPromptTag"]
    )


def delete_prompt_tag(name: str, key: str) -> Prompt:
    return _to_prompt(_client().execute(DELETE_TAG, {"name": name, "key": key})["deletePromptTag"])


def set_prompt_version_tag(name: str, version: int, key: str, value: Any) -> PromptVersion:
    text = to_str(value)
    validate_key("tag", key)
    validate_value("tag", key, text)
    data = _client().execute(
        SET_VERSION_TAG, {"name": name, "version": int(version), "key": key, "value": text}
    )
    _cache.clear(name)
    return _to_version(data["setPromptVersionTag"])


def delete_prompt_version_tag(name: str, version: int, key: str) -> PromptVersion:
    data = _client().execute(
        DELETE_VERSION_TAG, {"name": name, "version": int(version), "key": key}
    )
    _cache.clear(name)
    return _to_version(data["deletePromptVersionTag"])


def delete_prompt(name: str) -> None:
    """Deletes the prompt and its versions from the read models (the events stay)."""
    _client().execute(DELETE_PROMPT, {"name": name})
    _cache.clear(name)
