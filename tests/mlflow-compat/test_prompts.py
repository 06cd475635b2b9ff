"""mlflow.genai.register_prompt / load_prompt against Cairn."""

from __future__ import annotations

import uuid
from typing import Any

import mlflow


def test_register_and_load_prompt(mlflow_env: Any) -> None:
    name = f"greet-{uuid.uuid4().hex[:8]}"
    v1 = mlflow.genai.register_prompt(name=name, template="Hello {{name}}!", commit_message="first")
    assert v1.version == 1
    v2 = mlflow.genai.register_prompt(name=name, template="Hi {{name}}, welcome to {{place}}.")
    assert v2.version == 2
    second = mlflow.genai.load_prompt(f"prompts:/{name}/2")
    assert second.version == 2
    assert second.format(name="Ada", place="Cairn") == "Hi Ada, welcome to Cairn."
    assert mlflow.genai.load_prompt(f"prompts:/{name}@latest").version == 2
    first = mlflow.genai.load_prompt(f"prompts:/{name}/1")
    assert first.template == "Hello {{name}}!"
    assert first.format(name="Ada") == "Hello Ada!"
    mlflow.genai.set_prompt_alias(name, alias="production", version=1)
    assert mlflow.genai.load_prompt(f"prompts:/{name}@production").version == 1
