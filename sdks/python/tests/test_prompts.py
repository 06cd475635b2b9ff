"""The prompt registry from Python against a real Cairn server: register, versions, aliases,
the load_prompt cache (alias moves seen within the TTL, last good copy while the server is down),
allow_missing, search, and lineage from a formatted prompt to the trace."""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
import warnings
from typing import Any, Iterator

import pytest

import cairn
from cairn.exceptions import CairnError, InvalidArgumentError, NotFoundError
from cairn.genai import PromptCacheWarning, PromptFormatError
from conftest import CairnServer, free_port


def unique(prefix: str = "prompt") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def genai(cairn_env: Any) -> Iterator[Any]:
    cairn.genai.clear_prompt_cache()
    yield cairn.genai
    cairn.genai.clear_prompt_cache()


def test_register_versions_aliases_and_load(genai: Any, server: CairnServer) -> None:
    name = unique()
    v1 = genai.register_prompt(
        name,
        "Summarise in {{ n }} words: {{text}}",
        commit_message="first",
        tags={"author": "ada"},
        model_config={"model": "gpt-4o-mini", "temperature": 0.2},
        response_format={"type": "object", "properties": {"summary": {"type": "string"}}},
    )
    assert (v1.name, v1.version, v1.uri) == (name, 1, f"prompts:/{name}/1")
    assert v1.variables == ["n", "text"]
    assert v1.commit_message == "first" and v1.tags == {"author": "ada"}
    assert v1.model_config == {"model": "gpt-4o-mini", "temperature": 0.2}
    assert v1.response_format["properties"]["summary"]["type"] == "string"
    chat = [
        {"role": "system", "content": "You are {{ tone }}."},
        {"role": "user", "content": "{{question}}"},
    ]
    v2 = genai.register_prompt(name, chat, commit_message="chat")
    assert v2.version == 2 and v2.template == chat and v2.variables == ["tone", "question"]
    assert not v2.is_text_prompt

    genai.set_prompt_alias(name, "production", 1)
    prod = genai.load_prompt(f"prompts:/{name}@production")
    assert prod.version == 1 and prod.aliases == ["production"]
    assert prod.format(n=5, text="long text") == "Summarise in 5 words: long text"
    assert genai.load_prompt(name).version == 2  # a plain name is the latest
    assert genai.load_prompt(f"prompts:/{name}@latest").version == 2
    assert genai.load_prompt(f"prompts:/{name}/1").template == v1.template
    assert genai.load_prompt(name, version=2).format(tone="terse", question="Why?") == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Why?"},
    ]

    # the server holds what the SDK wrote (read independently of the SDK)
    data = server.graphql(
        "query($n: String!) { prompt(name: $n) { versions { totalCount }"
        " aliases { alias version } } }",
        {"n": name},
    )["prompt"]
    assert data["versions"]["totalCount"] == 2
    assert data["aliases"] == [{"alias": "production", "version": 1}]

    genai.delete_prompt_alias(name, "production")
    with pytest.raises(NotFoundError):
        genai.load_prompt(f"prompts:/{name}@production")
    assert genai.load_prompt(f"prompts:/{name}@production", allow_missing=True) is None


def test_missing_and_bad_input(genai: Any) -> None:
    name = unique("missing")
    assert genai.load_prompt(name, allow_missing=True) is None
    assert genai.load_prompt(f"prompts:/{name}/7", allow_missing=True) is None
    with pytest.raises(NotFoundError):
        genai.load_prompt(name)
    with pytest.raises(InvalidArgumentError) as info:
        genai.load_prompt("prompts:/x")
    assert info.value.details["reason"] == "SHAPE"
    with pytest.raises(InvalidArgumentError):
        genai.register_prompt(unique(), "")  # the server refuses an empty template
    with pytest.raises(InvalidArgumentError):
        genai.register_prompt(unique(), [{"role": "user"}])
    with pytest.raises(InvalidArgumentError):
        genai.register_prompt(unique(), "x", model_config=["not", "an", "object"])
    existing = unique()
    genai.register_prompt(existing, "Hi {{ who }}")
    with pytest.raises(NotFoundError):
        genai.set_prompt_alias(existing, "production", 9)
    loaded = genai.load_prompt(existing)
    with pytest.raises(PromptFormatError) as err:
        loaded.format()
    assert err.value.missing == ["who"] and "'who'" in str(err.value)


def test_alias_move_seen_within_the_ttl(genai: Any, server: CairnServer) -> None:
    name = unique()
    for i in range(3):
        genai.register_prompt(name, f"version {i + 1}: {{{{ x }}}}")
    genai.set_prompt_alias(name, "production", 2)
    uri = f"prompts:/{name}@production"
    assert genai.load_prompt(uri, cache_ttl_seconds=1).version == 2
    # moved by someone else (a raw GraphQL call: the SDK's own cache is not told)
    server.graphql(
        'mutation($n: String!) { setPromptAlias(name: $n, alias: "production", version: 3)'
        " { version } }",
        {"n": name},
    )
    assert genai.load_prompt(uri, cache_ttl_seconds=1).version == 2  # still cached
    moved_at = time.monotonic()
    seen = None
    while time.monotonic() - moved_at < 5:
        seen = genai.load_prompt(uri, cache_ttl_seconds=1)
        if seen.version == 3:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - moved_at
    assert seen is not None and seen.version == 3
    assert seen.template == "version 3: {{ x }}"
    assert elapsed < 3, f"the move took {elapsed:.2f} s to be seen with a 1 s TTL"
    history = server.graphql(
        'query($n: String!) { prompt(name: $n) { aliasHistory(alias: "production")'
        " { edges { node { kind fromVersion toVersion } } } } }",
        {"n": name},
    )["prompt"]["aliasHistory"]["edges"]
    assert history[0]["node"] == {"kind": "SET", "fromVersion": 2, "toVersion": 3}


def test_server_down_serves_the_last_good_copy(genai: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tempfile.mkdtemp(prefix="cairn-prompts-outage-")
    own = CairnServer(home, free_port())
    own.start()
    try:
        monkeypatch.setenv("CAIRN_PROMPT_REFRESH_TIMEOUT_SECONDS", "1")
        cairn.set_tracking_uri(own.url)
        name = unique()
        genai.register_prompt(name, "one {{ x }}")
        genai.register_prompt(name, "two {{ x }}")
        genai.set_prompt_alias(name, "production", 2)
        uri = f"prompts:/{name}@production"
        assert genai.load_prompt(uri, cache_ttl_seconds=0.2).version == 2
        assert genai.load_prompt(uri, cache_ttl_seconds=0).version == 2
        own.stop()
        time.sleep(0.3)  # the cached copy is stale now
        # stale: answered at once, refreshed in the background (which fails)
        started = time.monotonic()
        assert genai.load_prompt(uri, cache_ttl_seconds=0.2).version == 2
        assert time.monotonic() - started < 0.5
        deadline = time.monotonic() + 10
        caught: list = []
        while time.monotonic() < deadline and not caught:
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                prompt = genai.load_prompt(uri, cache_ttl_seconds=0.2)
            assert prompt.version == 2 and prompt.format(x=1) == "two 1"
            caught = [w for w in record if issubclass(w.category, PromptCacheWarning)]
            time.sleep(0.1)
        assert caught, "no PromptCacheWarning while the server was down"
        assert "could not be reached" in str(caught[0].message)
        # ttl 0 asks the server every time, and falls back on the last good copy too
        with pytest.warns(PromptCacheWarning):
            assert genai.load_prompt(uri, cache_ttl_seconds=0).version == 2
        # nothing was ever loaded for this URI: the error surfaces
        with pytest.raises(CairnError) as info:
            genai.load_prompt(f"prompts:/{name}/1", cache_ttl_seconds=0.2)
        assert info.value.code == "UNAVAILABLE"
    finally:
        own.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_search_prompts_pages(genai: Any) -> None:
    prefix = unique("search")
    for i in range(5):
        genai.register_prompt(f"{prefix}-{i}", "t {{ a }}", tags={"i": str(i)})
    genai.set_prompt_tag(f"{prefix}-3", "team", "nlp")
    found = genai.search_prompts(f"name LIKE '{prefix}-%'", max_results=3)
    assert [p.name for p in found] == [f"{prefix}-{i}" for i in range(3)]
    every = genai.search_prompts(f"name LIKE '{prefix}-%'")
    assert len(every) == 5 and every[0].latest_version == 1
    tagged = genai.search_prompts(f"name LIKE '{prefix}-%' AND tags.team = 'nlp'")
    assert [p.name for p in tagged] == [f"{prefix}-3"] and tagged[0].tags == {"team": "nlp"}
    assert genai.delete_prompt_tag(f"{prefix}-3", "team").tags == {}


def test_trace_links_the_formatted_prompt_version(
    genai: Any, server: CairnServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAIRN_TRACE_EXPORT_ENDPOINT", raising=False)
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_INTERVAL", "0.1")
    cairn.tracing.enable()
    name = unique()
    other = unique("other")
    for i in range(3):
        genai.register_prompt(name, f"v{i + 1} {{{{ q }}}}")
    genai.register_prompt(other, "other {{ q }}")
    genai.set_prompt_alias(name, "production", 3)

    @cairn.trace(span_type="CHAIN")
    def answer(question: str) -> str:
        prompt = genai.load_prompt(f"prompts:/{name}@production")
        with cairn.start_span("inner"):
            text = prompt.format(q=question)
            prompt.format(q=question)  # once in the list
            genai.load_prompt(other).format(q=question)
        return text

    assert answer("why?") == "v3 why?"
    trace_id = cairn.get_last_active_trace_id()
    assert trace_id
    trace = cairn.get_trace(trace_id, timeout=30)
    assert trace is not None
    assert trace["promptVersions"] == [f"prompts:/{name}/3", f"prompts:/{other}/1"]
    deadline = time.monotonic() + 30
    while True:
        version = server.graphql(
            "query($n: String!) { promptVersion(name: $n, version: 3)"
            " { traces { totalCount edges { node { id } } } } }",
            {"n": name},
        )["promptVersion"]
        if version["traces"]["totalCount"] >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [e["node"]["id"] for e in version["traces"]["edges"]] == [trace_id]
    v2 = server.graphql(
        "query($n: String!) { promptVersion(name: $n, version: 2) { traces { totalCount } } }",
        {"n": name},
    )["promptVersion"]
    assert v2["traces"]["totalCount"] == 0
