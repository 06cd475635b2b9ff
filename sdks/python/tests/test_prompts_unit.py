"""Prompt objects without a server: URI parsing, variables, format, single-brace form."""

from __future__ import annotations

import pytest

from cairn.exceptions import InvalidArgumentError
from cairn.genai import PromptFormatError, PromptVersion, parse_prompt_uri
from cairn.genai._prompts import template_variables


def test_parse_uris_and_names() -> None:
    assert parse_prompt_uri("prompts:/summarise/3") == ("summarise", 3, None)
    assert parse_prompt_uri("prompts:/summarise@production") == ("summarise", None, "production")
    assert parse_prompt_uri("prompts:/summarise@latest") == ("summarise", None, "latest")
    assert parse_prompt_uri("prompts:/summarise/latest") == ("summarise", None, "latest")
    assert parse_prompt_uri("my prompt.v2") == ("my prompt.v2", None, "latest")
    assert parse_prompt_uri("summarise", version=4) == ("summarise", 4, None)
    assert parse_prompt_uri("summarise", version="5") == ("summarise", 5, None)


@pytest.mark.parametrize(
    "uri,version,reason",
    [
        ("prompts:/summarise", None, "SHAPE"),
        ("prompts:/summarise/0", None, "VERSION"),
        ("prompts:/summarise/x", None, "VERSION"),
        ("prompts:/summarise@", None, "ALIAS"),
        ("prompts:/summarise@bad alias", None, "ALIAS"),
        ("prompts:/@prod", None, "NAME"),
        ("prompts:/a/b/3", None, "NAME"),
        ("models:/m/1", None, "SCHEME"),
        ("s3://bucket/x", None, "SCHEME"),
        ("prompts:summarise", None, "SCHEME"),
        ("", None, "NAME"),
        ("summarise", 0, "VERSION"),
        ("summarise", True, "VERSION"),
    ],
)
def test_bad_uris_name_their_reason(uri: str, version: object, reason: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        parse_prompt_uri(uri, version)  # type: ignore[arg-type]
    assert info.value.details["reason"] == reason
    assert info.value.details["argument"] == "uri"


def test_uri_and_version_together_are_refused() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        parse_prompt_uri("prompts:/a/1", 2)
    assert info.value.details["argument"] == "version"


def test_variables_in_order_of_first_appearance() -> None:
    assert template_variables("{{ b }} {{a}} {{b}} {{ x.y }} {not} {{ 1bad }}") == ["b", "a", "x.y"]
    chat = [
        {"role": "system", "content": "{{ tone }}"},
        {"role": "user", "content": "{{q}} {{tone}}"},
    ]
    assert template_variables(chat) == ["tone", "q"]


def text_prompt(template: str = "Hello {{ name }}, {{greeting}}!") -> PromptVersion:
    return PromptVersion(
        name="greet", version=3, template=template, variables=template_variables(template)
    )


def test_format_text() -> None:
    prompt = text_prompt()
    assert prompt.uri == "prompts:/greet/3"
    assert prompt.is_text_prompt and prompt.template_type == "TEXT"
    assert prompt.format(name="Ada", greeting="welcome", extra=1) == "Hello Ada, welcome!"
    assert prompt.format(name=7, greeting="{{name}}") == "Hello 7, {{name}}!"  # no re-expansion


def test_format_names_each_missing_variable() -> None:
    prompt = text_prompt()
    with pytest.raises(PromptFormatError) as info:
        prompt.format()
    assert info.value.missing == ["name", "greeting"]
    assert "'name'" in str(info.value) and "'greeting'" in str(info.value)
    assert info.value.code == "INVALID_ARGUMENT"
    with pytest.raises(PromptFormatError) as info:
        prompt.format(name="Ada")
    assert info.value.missing == ["greeting"]
    assert prompt.format(allow_partial=True, name="Ada") == "Hello Ada, {{greeting}}!"


def test_format_chat() -> None:
    messages = [
        {"role": "system", "content": "You are {{ tone }}."},
        {"role": "user", "content": "{{question}}"},
    ]
    prompt = PromptVersion("qa", 1, messages, template_variables(messages))
    assert not prompt.is_text_prompt and prompt.template_type == "CHAT"
    assert prompt.format(tone="terse", question="Why?") == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Why?"},
    ]
    assert messages[0]["content"] == "You are {{ tone }}."  # the template is untouched
    with pytest.raises(PromptFormatError) as info:
        prompt.format(tone="terse")
    assert info.value.missing == ["question"]


def test_single_brace_format() -> None:
    assert text_prompt().to_single_brace_format() == "Hello {name}, {greeting}!"
    chat = [{"role": "user", "content": "{{ q }} and {{a.b}}"}]
    assert PromptVersion("c", 1, chat).to_single_brace_format() == [
        {"role": "user", "content": "{q} and {a.b}"}
    ]


def test_format_outside_a_trace_links_nothing() -> None:
    from cairn.genai._prompts import link_to_current_trace

    assert link_to_current_trace("prompts:/greet/3") is False
