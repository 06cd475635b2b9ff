"""Tracing of LangChain (``langchain-core``): ``cairn.langchain.autolog()``.

A callback handler turns LangChain's runs into spans: chains and runnables (CHAIN), chat models
(CHAT_MODEL) and LLMs (LLM) with their token usage, tools (TOOL), retrievers (RETRIEVER); agent
actions become span events. ``autolog()`` adds the handler to every callback manager LangChain
makes (so every ``invoke``/``stream``/``batch``, sync or async, is traced); the handler can also
be passed explicitly:
``chain.invoke(x, config={"callbacks": [cairn.langchain.CairnCallbackHandler()]})``.

A LangChain run without a parent run nests under the current Cairn span (``@cairn.trace``).

This module is ``cairn.langchain``; the library is imported as the top-level ``langchain_core``.
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Any, Dict, List, Optional
from uuid import UUID

from . import _autolog
from .tracing import _fluent, _llm
from .tracing._span import KIND_CLIENT, LiveSpan, SpanEvent, SpanType

_log = logging.getLogger("cairn")

_base: Any
try:
    _base = importlib.import_module("langchain_core.callbacks.base").BaseCallbackHandler
except ImportError:  # the handler class still exists (unusable until langchain-core is there)
    _base = object


def _name(serialized: Any, kwargs: Dict[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if name:
        return str(name)
    if isinstance(serialized, dict):
        if serialized.get("name"):
            return str(serialized["name"])
        ids = serialized.get("id")
        if isinstance(ids, list) and ids:
            return str(ids[-1])
    return default


def _message(message: Any) -> Any:
    """A LangChain message as an OpenAI-style dict."""
    role = {"human": "user", "ai": "assistant"}.get(getattr(message, "type", ""), None)
    data = _llm.to_dict(message)
    if not isinstance(data, dict):
        return data
    out: Dict[str, Any] = {"role": role or data.get("type"), "content": data.get("content")}
    for key in ("tool_calls", "tool_call_id", "name"):
        if data.get(key):
            out[key] = data[key]
    return out


class CairnCallbackHandler(_base):  # type: ignore[misc]
    """LangChain callback handler that records runs as Cairn spans."""

    run_inline = True  # async runs call it in their own task (keeps the span tree)
    raise_error = False

    def __init__(self) -> None:
        super().__init__()
        self._spans: Dict[UUID, LiveSpan] = {}
        self._lock = threading.Lock()

    # -- span bookkeeping -----------------------------------------------------------------

    def _start(
        self,
        run_id: UUID,
        parent_run_id: Optional[UUID],
        name: str,
        span_type: str,
        inputs: Any,
        attributes: Optional[Dict[str, Any]] = None,
        kind: int = 1,
    ) -> None:
        if not _fluent.is_enabled():
            return
        try:
            with self._lock:
                parent = self._spans.get(parent_run_id) if parent_run_id else None
            if parent is None:
                parent = _fluent._CURRENT.get()
            span = _fluent._new_span(name, span_type, None, parent, kind=kind)
            if attributes:
                span.set_attributes({k: v for k, v in attributes.items() if _llm.given(v)})
            span.set_inputs(inputs)
            with self._lock:
                self._spans[run_id] = span
        except Exception as exc:  # noqa: BLE001
            _log.warning("cairn langchain: could not start span %r: %s", name, exc)

    def _end(
        self,
        run_id: UUID,
        outputs: Any = None,
        error: Optional[BaseException] = None,
        attributes: Optional[Dict[str, Any]] = None,
    ) -> None:
        with self._lock:
            span = self._spans.pop(run_id, None)
        if span is None:
            return
        try:
            if error is not None:
                span.record_exception(error)
                span.end()
            else:
                _llm.end_ok(span, outputs, attributes or {})
        except Exception as exc:  # noqa: BLE001
            _log.warning("cairn langchain: could not end span %r: %s", span.name, exc)

    def _event(self, run_id: UUID, name: str, attributes: Dict[str, Any]) -> None:
        with self._lock:
            span = self._spans.get(run_id)
        if span is not None:
            span.add_event(SpanEvent(name, attributes={k: str(v) for k, v in attributes.items()}))

    # -- chains ---------------------------------------------------------------------------

    def on_chain_start(
        self,
        serialized: Dict[str, Any],
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        self._start(
            run_id, parent_run_id, _name(serialized, kwargs, "chain"), SpanType.CHAIN, inputs
        )

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, outputs)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # -- models ---------------------------------------------------------------------------

    def _model_attrs(
        self, serialized: Any, kwargs: Dict[str, Any], metadata: Optional[Dict[str, Any]], op: str
    ) -> Dict[str, Any]:
        params = kwargs.get("invocation_params") or {}
        meta = metadata or {}
        model = (
            params.get("model")
            or params.get("model_name")
            or meta.get("ls_model_name")
            or (serialized or {}).get("kwargs", {}).get("model_name")
        )
        return {
            "gen_ai.operation.name": op,
            "gen_ai.request.model": model,
            "gen_ai.provider.name": meta.get("ls_provider"),
            "gen_ai.request.temperature": params.get("temperature")
            if isinstance(params.get("temperature"), (int, float))
            else None,
        }

    def on_chat_model_start(
        self,
        serialized: Dict[str, Any],
        messages: List[List[Any]],
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        batch = [[_message(m) for m in group] for group in messages]
        inputs: Any = {"messages": batch[0] if len(batch) == 1 else batch}
        params = kwargs.get("invocation_params") or {}
        if params.get("tools"):
            inputs["tools"] = params["tools"]
        self._start(
            run_id,
            parent_run_id,
            _name(serialized, kwargs, "chat_model"),
            SpanType.CHAT_MODEL,
            inputs,
            self._model_attrs(serialized, kwargs, metadata, "chat"),
            KIND_CLIENT,
        )

    def on_llm_start(
        self,
        serialized: Dict[str, Any],
        prompts: List[str],
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        self._start(
            run_id,
            parent_run_id,
            _name(serialized, kwargs, "llm"),
            SpanType.LLM,
            {"prompts": prompts},
            self._model_attrs(serialized, kwargs, metadata, "text_completion"),
            KIND_CLIENT,
        )

    def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            span = self._spans.get(run_id)
        if span is not None and not span.events:
            span.add_event(SpanEvent("first_token"))

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        attrs: Dict[str, Any] = {}
        outputs: Any = None
        try:
            generations = getattr(response, "generations", None) or []
            flat = [g for group in generations for g in group]
            messages = [getattr(g, "message", None) for g in flat]
            if any(m is not None for m in messages):
                outputs = {
                    "generations": [
                        _message(m) if m is not None else {"text": getattr(g, "text", None)}
                        for g, m in zip(flat, messages)
                    ]
                }
            else:
                outputs = {"generations": [getattr(g, "text", None) for g in flat]}
            llm_output = getattr(response, "llm_output", None) or {}
            usage = llm_output.get("token_usage") or llm_output.get("usage") or None
            first = messages[0] if messages else None
            usage_metadata = getattr(first, "usage_metadata", None)
            if usage_metadata:
                attrs.update(
                    _llm.usage_attributes(
                        usage_metadata.get("input_tokens"),
                        usage_metadata.get("output_tokens"),
                        usage_metadata.get("total_tokens"),
                        (usage_metadata.get("input_token_details") or {}).get("cache_read"),
                        (usage_metadata.get("output_token_details") or {}).get("reasoning"),
                    )
                )
            elif usage:
                attrs.update(
                    _llm.usage_attributes(
                        usage.get("prompt_tokens", usage.get("input_tokens")),
                        usage.get("completion_tokens", usage.get("output_tokens")),
                        usage.get("total_tokens"),
                    )
                )
            response_meta = getattr(first, "response_metadata", None) or {}
            attrs["gen_ai.response.model"] = (
                response_meta.get("model_name")
                or response_meta.get("model")
                or llm_output.get("model_name")
                or llm_output.get("model")
            )
        except Exception as exc:  # noqa: BLE001
            _log.warning("cairn langchain: could not read an LLM result: %s", exc)
        self._end(run_id, outputs, attributes=attrs)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # -- tools, retrievers, agents --------------------------------------------------------

    def on_tool_start(
        self,
        serialized: Dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        inputs: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        self._start(
            run_id,
            parent_run_id,
            _name(serialized, kwargs, "tool"),
            SpanType.TOOL,
            inputs if inputs is not None else input_str,
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": _name(serialized, kwargs, "tool"),
            },
        )

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        content = getattr(output, "content", None)
        self._end(run_id, content if content is not None else output)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    def on_retriever_start(
        self,
        serialized: Dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: Optional[UUID] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        self._start(
            run_id,
            parent_run_id,
            _name(serialized, kwargs, "retriever"),
            SpanType.RETRIEVER,
            {"query": query},
        )

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        docs = [
            {
                "page_content": getattr(d, "page_content", None),
                "metadata": getattr(d, "metadata", None),
                "id": getattr(d, "id", None),
            }
            for d in documents or []
        ]
        self._end(run_id, docs)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._event(
            run_id,
            "agent_action",
            {
                "tool": getattr(action, "tool", ""),
                "tool_input": getattr(action, "tool_input", ""),
                "log": getattr(action, "log", ""),
            },
        )

    def on_agent_finish(self, finish: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._event(
            run_id,
            "agent_finish",
            {
                "return_values": _llm.to_dict(getattr(finish, "return_values", {})),
                "log": getattr(finish, "log", ""),
            },
        )


_handler: Optional[CairnCallbackHandler] = None


def _make_init(original: Any) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        handler = _handler
        if handler is None or not _fluent.is_enabled():
            return
        try:
            if not any(isinstance(h, CairnCallbackHandler) for h in self.handlers):
                self.add_handler(handler, inherit=True)
        except Exception as exc:  # noqa: BLE001
            _integration.warn("could not add the callback handler", exc)

    return __init__


def _patch(integration: _autolog.Integration) -> None:
    manager = importlib.import_module("langchain_core.callbacks.base")
    integration.wrap(manager.BaseCallbackManager, "__init__", _make_init)


_integration = _autolog.register(_autolog.Integration("langchain", ("langchain_core",), _patch))


def autolog(disable: bool = False, silent: bool = False, log_traces: bool = True) -> None:
    """Traces every LangChain run (chains, chat models, LLMs, tools, retrievers).
    ``disable=True`` stops it and restores LangChain's callback manager."""
    global _handler
    if disable or not log_traces:
        _autolog.disable(_integration)
        _handler = None
        return
    _handler = CairnCallbackHandler()
    _autolog.enable(_integration, {"silent": silent})
