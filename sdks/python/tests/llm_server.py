"""A loopback stand-in for the OpenAI and Anthropic HTTP APIs (no network): fixed answers and
fixed token usage, streamed (SSE) or not, a tool call when the request offers tools.

Endpoints: ``POST /v1/chat/completions`` (``stream``, ``stream_options.include_usage``),
``/v1/embeddings``, ``/v1/responses`` (``stream``), ``/v1/messages`` (Anthropic, ``stream``).
"""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any, Dict, Iterator, List, Tuple

ANSWER_PARTS = ["Hello", " from", " the", " fake", " model."]
ANSWER = "".join(ANSWER_PARTS)
#: chat completions / responses usage
PROMPT_TOKENS, COMPLETION_TOKENS = 100, 20
#: anthropic usage
ANTHROPIC_INPUT_TOKENS, ANTHROPIC_OUTPUT_TOKENS = 50, 10
EMBEDDING_TOKENS = 8
TOOL_NAME = "get_weather"
TOOL_ARGUMENTS = '{"city": "Paris"}'
CREATED = 1_700_000_000


def _usage() -> Dict[str, Any]:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }


def chat_completion(body: Dict[str, Any]) -> Dict[str, Any]:
    model = body.get("model", "gpt-4o-mini")
    if body.get("tools"):
        message: Dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": TOOL_NAME, "arguments": TOOL_ARGUMENTS},
                }
            ],
        }
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": ANSWER}
        finish = "stop"
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": _usage(),
    }


def chat_chunks(body: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
    model = body.get("model", "gpt-4o-mini")

    def chunk(delta: Dict[str, Any], finish: Any = None) -> Dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    if body.get("tools"):
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": TOOL_NAME, "arguments": ""},
                    }
                ]
            }
        )
        half = len(TOOL_ARGUMENTS) // 2
        for part in (TOOL_ARGUMENTS[:half], TOOL_ARGUMENTS[half:]):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
        yield chunk({}, "tool_calls")
    else:
        for part in ANSWER_PARTS:
            yield chunk({"content": part})
        yield chunk({}, "stop")
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [],
            "usage": _usage(),
        }


def embeddings(body: Dict[str, Any]) -> Dict[str, Any]:
    inputs = body.get("input")
    items = inputs if isinstance(inputs, list) else [inputs]
    return {
        "object": "list",
        "model": body.get("model", "text-embedding-3-small"),
        "data": [
            {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
            for i in range(len(items))
        ],
        "usage": {"prompt_tokens": EMBEDDING_TOKENS, "total_tokens": EMBEDDING_TOKENS},
    }


def response(body: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": CREATED,
        "status": "completed",
        "model": body.get("model", "gpt-4o-mini"),
        "output": [
            {
                "type": "message",
                "id": "msg_fake",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": ANSWER, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": PROMPT_TOKENS,
            "output_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


def response_events(body: Dict[str, Any]) -> Iterator[Tuple[str, Dict[str, Any]]]:
    final = response(body)
    created = dict(final, status="in_progress", output=[], usage=None)
    yield (
        "response.created",
        {"type": "response.created", "sequence_number": 0, "response": created},
    )
    for i, part in enumerate(ANSWER_PARTS):
        yield (
            "response.output_text.delta",
            {
                "type": "response.output_text.delta",
                "sequence_number": i + 1,
                "item_id": "msg_fake",
                "output_index": 0,
                "content_index": 0,
                "delta": part,
                "logprobs": [],
            },
        )
    yield (
        "response.completed",
        {"type": "response.completed", "sequence_number": 99, "response": final},
    )


def anthropic_message(body: Dict[str, Any]) -> Dict[str, Any]:
    content: List[Dict[str, Any]]
    if body.get("tools"):
        content = [
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": TOOL_NAME,
                "input": json.loads(TOOL_ARGUMENTS),
            }
        ]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": ANSWER}]
        stop = "end_turn"
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "claude-3-5-haiku-latest"),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": ANTHROPIC_INPUT_TOKENS, "output_tokens": ANTHROPIC_OUTPUT_TOKENS},
    }


def anthropic_events(body: Dict[str, Any]) -> Iterator[Tuple[str, Dict[str, Any]]]:
    full = anthropic_message(body)
    start = dict(
        full,
        content=[],
        stop_reason=None,
        usage={"input_tokens": ANTHROPIC_INPUT_TOKENS, "output_tokens": 1},
    )
    yield "message_start", {"type": "message_start", "message": start}
    if body.get("tools"):
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": TOOL_NAME,
                    "input": {},
                },
            },
        )
        half = len(TOOL_ARGUMENTS) // 2
        for part in (TOOL_ARGUMENTS[:half], TOOL_ARGUMENTS[half:]):
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": part},
                },
            )
    else:
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
        for part in ANSWER_PARTS:
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": part},
                },
            )
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": full["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": ANTHROPIC_OUTPUT_TOKENS},
        },
    )
    yield "message_stop", {"type": "message_stop"}


class FakeLLMServer:
    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?")[0]
                outer.requests.append({"path": path, "body": body, "headers": dict(self.headers)})
                stream = bool(body.get("stream"))
                if not path.startswith("/v1/"):
                    self._json({"error": {"message": f"no route {path}"}}, 404)
                elif path.endswith("/chat/completions"):
                    if stream:
                        self._sse((None, c) for c in chat_chunks(body))
                    else:
                        self._json(chat_completion(body))
                elif path.endswith("/embeddings"):
                    self._json(embeddings(body))
                elif path.endswith("/responses"):
                    if stream:
                        self._sse(response_events(body), done=False)
                    else:
                        self._json(response(body))
                elif path.endswith("/messages"):
                    if stream:
                        self._sse(anthropic_events(body), done=False)
                    else:
                        self._json(anthropic_message(body))
                else:
                    self._json({"error": {"message": f"no route {path}"}}, 404)

            def _json(self, payload: Any, status: int = 200) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _sse(self, events: Any, done: bool = True) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for event, data in events:
                    text = (f"event: {event}\n" if event else "") + f"data: {json.dumps(data)}\n\n"
                    self.wfile.write(text.encode())
                    self.wfile.flush()
                if done:
                    self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
