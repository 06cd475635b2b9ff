"""Tracing of LlamaIndex (``llama-index-core``): ``cairn.llama_index.autolog()``.

Registers a span handler and an event handler with LlamaIndex's instrumentation dispatcher:
every instrumented call (query engines, retrievers, LLMs, embeddings, tools, agents, workflows)
becomes a span with the call's arguments as inputs and its result as outputs; the LLM
``*EndEvent``s add model and token usage (from the provider's raw response). A LlamaIndex call
without a parent span nests under the current Cairn span (``@cairn.trace``).

This module is ``cairn.llama_index``; the library is imported as the top-level ``llama_index``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from typing import Any, Dict, Optional

from . import _autolog
from .tracing import _fluent, _llm
from .tracing._span import KIND_CLIENT, LiveSpan, SpanType

_log = logging.getLogger("cairn")

#: (class name in the instance's MRO, span type), first match wins
_TYPES = (
    ("BaseEmbedding", SpanType.EMBEDDING),
    ("BaseLLM", SpanType.LLM),
    ("BaseRetriever", SpanType.RETRIEVER),
    ("BaseNodePostprocessor", SpanType.RERANKER),
    ("BaseTool", SpanType.TOOL),
    ("AsyncBaseTool", SpanType.TOOL),
    ("BaseAgent", SpanType.AGENT),
    ("BaseWorkflowAgent", SpanType.AGENT),
    ("AgentRunner", SpanType.AGENT),
    ("BaseOutputParser", SpanType.PARSER),
)


def _span_type(instance: Any, method: str) -> str:
    names = {c.__name__ for c in type(instance).__mro__} if instance is not None else set()
    for cls_name, span_type in _TYPES:
        if cls_name in names:
            if span_type == SpanType.LLM and "chat" in method:
                return SpanType.CHAT_MODEL
            return span_type
    return SpanType.CHAIN


def _usage(response: Any) -> Dict[str, int]:
    raw = _llm.get(response, "raw")
    usage = _llm.get(raw, "usage")
    if usage is not None:
        prompt = _llm.get(usage, "prompt_tokens")
        completion = _llm.get(usage, "completion_tokens")
        return _llm.usage_attributes(
            prompt if prompt is not None else _llm.get(usage, "input_tokens"),
            completion if completion is not None else _llm.get(usage, "output_tokens"),
            _llm.get(usage, "total_tokens"),
        )
    extra = _llm.get(response, "additional_kwargs") or {}
    return _llm.usage_attributes(
        extra.get("prompt_tokens", extra.get("input_tokens")),
        extra.get("completion_tokens", extra.get("output_tokens")),
        extra.get("total_tokens"),
    )


def _make_handlers() -> Any:
    """The handler classes (made once ``llama_index`` is importable)."""
    instrumentation = importlib.import_module("llama_index.core.instrumentation")
    span_base = importlib.import_module("llama_index.core.instrumentation.span")
    handler_base = importlib.import_module("llama_index.core.instrumentation.span_handlers")
    event_base = importlib.import_module("llama_index.core.instrumentation.event_handlers")

    class CairnSpan(span_base.BaseSpan):  # type: ignore[misc,name-defined]
        live: Any = None

    class CairnSpanHandler(handler_base.BaseSpanHandler[CairnSpan]):  # type: ignore[misc,name-defined]
        @classmethod
        def class_name(cls) -> str:
            return "CairnSpanHandler"

        def new_span(
            self,
            id_: str,
            bound_args: inspect.BoundArguments,
            instance: Optional[Any] = None,
            parent_span_id: Optional[str] = None,
            tags: Optional[Dict[str, Any]] = None,
            **kwargs: Any,
        ) -> Optional[CairnSpan]:
            if not _fluent.is_enabled():
                return None
            try:
                parent_entry = self.open_spans.get(parent_span_id) if parent_span_id else None
                parent = parent_entry.live if parent_entry is not None else _fluent._CURRENT.get()
                name = id_.split("-")[0]
                method = name.rsplit(".", 1)[-1]
                span_type = _span_type(instance, method)
                kind = (
                    KIND_CLIENT
                    if span_type in (SpanType.LLM, SpanType.CHAT_MODEL, SpanType.EMBEDDING)
                    else 1
                )
                live = _fluent._new_span(name, span_type, None, parent, kind=kind)
                live.set_inputs(
                    {k: v for k, v in bound_args.arguments.items() if k not in ("self", "cls")}
                )
                if span_type in (SpanType.LLM, SpanType.CHAT_MODEL):
                    model = _llm.get(instance, "model") or _llm.get(instance, "model_name")
                    live.set_attributes(
                        {
                            "gen_ai.operation.name": "chat"
                            if span_type == SpanType.CHAT_MODEL
                            else "text_completion",
                            "gen_ai.request.model": model if isinstance(model, str) else None,
                        }
                    )
                elif span_type == SpanType.EMBEDDING:
                    live.set_attribute("gen_ai.operation.name", "embeddings")
                return CairnSpan(id_=id_, parent_id=parent_span_id, tags=tags or {}, live=live)
            except Exception as exc:  # noqa: BLE001
                _log.warning("cairn llama_index: could not start span %r: %s", id_, exc)
                return None

        def prepare_to_exit_span(
            self,
            id_: str,
            bound_args: inspect.BoundArguments,
            instance: Optional[Any] = None,
            result: Optional[Any] = None,
            **kwargs: Any,
        ) -> Optional[CairnSpan]:
            entry = self.open_spans.get(id_)
            if entry is not None and isinstance(entry.live, LiveSpan):
                _llm.end_ok(entry.live, result, {})
            return entry  # type: ignore[no-any-return]

        def prepare_to_drop_span(
            self,
            id_: str,
            bound_args: inspect.BoundArguments,
            instance: Optional[Any] = None,
            err: Optional[BaseException] = None,
            **kwargs: Any,
        ) -> Optional[CairnSpan]:
            entry = self.open_spans.get(id_)
            if entry is not None and isinstance(entry.live, LiveSpan):
                if err is not None:
                    _llm.end_error(entry.live, err)
                else:
                    entry.live.end()
            return entry  # type: ignore[no-any-return]

    class CairnEventHandler(event_base.BaseEventHandler):  # type: ignore[misc,name-defined]
        span_handler: Any = None

        @classmethod
        def class_name(cls) -> str:
            return "CairnEventHandler"

        def handle(self, event: Any, **kwargs: Any) -> Any:
            try:
                kind = type(event).__name__
                if kind not in ("LLMChatEndEvent", "LLMCompletionEndEvent", "LLMChatStartEvent"):
                    return None
                entry = self.span_handler.open_spans.get(event.span_id) if event.span_id else None
                live = getattr(entry, "live", None)
                if not isinstance(live, LiveSpan):
                    return None
                if kind == "LLMChatStartEvent":
                    model = (getattr(event, "model_dict", None) or {}).get("model")
                    if isinstance(model, str):
                        live.set_attribute("gen_ai.request.model", model)
                    return None
                response = getattr(event, "response", None)
                live.set_attributes(_usage(response))
                model = _llm.get(response, "raw", "model")
                if isinstance(model, str):
                    live.set_attribute("gen_ai.response.model", model)
            except Exception as exc:  # noqa: BLE001
                _log.warning("cairn llama_index: could not read an event: %s", exc)
            return None

    span_handler = CairnSpanHandler()
    event_handler = CairnEventHandler(span_handler=span_handler)
    return instrumentation.get_dispatcher(), span_handler, event_handler


_installed: Optional[Any] = None


def _patch(integration: _autolog.Integration) -> None:
    global _installed
    if _installed is not None:
        return
    dispatcher, span_handler, event_handler = _make_handlers()
    dispatcher.add_span_handler(span_handler)
    dispatcher.add_event_handler(event_handler)
    _installed = (dispatcher, span_handler, event_handler)


def _remove() -> None:
    global _installed
    if _installed is None:
        return
    dispatcher, span_handler, event_handler = _installed
    try:
        dispatcher.span_handlers = [h for h in dispatcher.span_handlers if h is not span_handler]
        dispatcher.event_handlers = [h for h in dispatcher.event_handlers if h is not event_handler]
    except Exception as exc:  # noqa: BLE001
        _log.warning("cairn llama_index: could not remove the handlers: %s", exc)
    _installed = None


_integration = _autolog.register(_autolog.Integration("llama_index", ("llama_index.core",), _patch))


def autolog(disable: bool = False, silent: bool = False, log_traces: bool = True) -> None:
    """Traces LlamaIndex's instrumented calls. ``disable=True`` removes the handlers."""
    if disable or not log_traces:
        _autolog.disable(_integration)
        _remove()
        return
    _autolog.enable(_integration, {"silent": silent})
