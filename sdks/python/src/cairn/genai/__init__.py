"""GenAI helpers with MLflow 3's names: the prompt registry (docs/python-sdk.md, "Prompts") and
evaluation (docs/python-sdk.md, "Evaluation": ``evaluate``, ``scorers``, ``datasets``, feedback).

>>> import cairn
>>> cairn.genai.register_prompt("summarise", "Summarise in {{ n }} words: {{ text }}")
>>> cairn.genai.set_prompt_alias("summarise", "production", 1)
>>> prompt = cairn.genai.load_prompt("prompts:/summarise@production")
>>> prompt.format(n=10, text="...")
>>> from cairn.genai.scorers import Correctness, Guidelines
>>> cairn.genai.evaluate(data, predict_fn=answer, scorers=[Correctness(), Guidelines(guidelines="Be brief")])
"""

from . import annotation, datasets, judges, scorers
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
from .assessments import (
    Assessment,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
    delete_assessment,
    get_assessments,
    log_expectation,
    log_feedback,
    update_assessment,
)
from .datasets import EvaluationDataset, create_dataset, get_dataset, search_datasets
from .evaluation import EvaluationResult, evaluate
from .scorers import Scorer, make_judge, scorer

__all__ = [
    "Assessment",
    "AssessmentSource",
    "AssessmentSourceType",
    "EvaluationDataset",
    "EvaluationResult",
    "Expectation",
    "Feedback",
    "Prompt",
    "PromptCacheWarning",
    "PromptFormatError",
    "PromptVersion",
    "Scorer",
    "annotation",
    "clear_prompt_cache",
    "create_dataset",
    "datasets",
    "delete_assessment",
    "delete_prompt",
    "delete_prompt_alias",
    "delete_prompt_tag",
    "delete_prompt_version_tag",
    "evaluate",
    "get_assessments",
    "get_dataset",
    "judges",
    "load_prompt",
    "log_expectation",
    "log_feedback",
    "make_judge",
    "parse_prompt_uri",
    "register_prompt",
    "scorer",
    "scorers",
    "search_datasets",
    "search_prompts",
    "set_prompt_alias",
    "set_prompt_tag",
    "set_prompt_version_tag",
    "update_assessment",
]
