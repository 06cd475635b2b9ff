"""GenAI helpers with MLflow 3's names: the prompt registry (docs/python-sdk.md, "Prompts").

>>> import cairn
>>> cairn.genai.register_prompt("summarise", "Summarise in {{ n }} words: {{ text }}")
>>> cairn.genai.set_prompt_alias("summarise", "production", 1)
>>> prompt = cairn.genai.load_prompt("prompts:/summarise@production")
>>> prompt.format(n=10, text="...")
"""

from ._prompts import (
    Prompt,
    PromptCacheWarning,
    PromptFormatError,
    PromptVersion,
    clear_prompt_cache,
    delete_prompt,
    delete_prompt_alias,
    delete_prompt_tag,
    delete_prompt_version_tag,
    load_prompt,
    parse_prompt_uri,
    register_prompt,
    search_prompts,
    set_prompt_alias,
    set_prompt_tag,
    set_prompt_version_tag,
)

__all__ = [
    "Prompt",
    "PromptCacheWarning",
    "PromptFormatError",
    "PromptVersion",
    "clear_prompt_cache",
    "delete_prompt",
    "delete_prompt_alias",
    "delete_prompt_tag",
    "delete_prompt_version_tag",
    "load_prompt",
    "parse_prompt_uri",
    "register_prompt",
    "search_prompts",
    "set_prompt_alias",
    "set_prompt_tag",
    "set_prompt_version_tag",
]
