"""A loopback OpenAI-compatible judge for the evaluation tests (no network): ``POST
/v1/chat/completions`` answers a fixed JSON verdict chosen from the prompt text, with fixed
token usage; ``fail_next`` makes the next requests answer an error status (429 with
``Retry-After``, 5xx) first.

Rules are ``(needle, answer)`` pairs tried in order against the last user message: the first
whose every ``needle`` part (``" && "``-separated) occurs in the prompt wins. ``answer`` is the
message content to send (any text: tests send unparseable answers too).
"""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any, Dict, List, Optional, Tuple

JUDGE_PROMPT_TOKENS, JUDGE_COMPLETION_TOKENS = 50, 10


def verdict(result: Any, rationale: str) -> str:
    return json.dumps({"result": result, "rationale": rationale})


class JudgeServer:
    def __init__(self) -> None:
        self.rules: List[Tuple[str, str]] = []
        self.default = verdict("no", "no rule matched")
        #: (status, retry_after or None) answered before the next requests, in order
        self.fail_next: List[Tuple[int, Optional[str]]] = []
        self.requests: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with outer.lock:
                    outer.requests.append({"path": self.path, "body": body})
                    failure = outer.fail_next.pop(0) if outer.fail_next else None
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                if failure is not None:
                    status, retry_after = failure
                    headers = {"Retry-After": retry_after} if retry_after is not None else {}
                    self._send(status, {"error": {"message": "slow down"}}, headers)
                    return
                prompt = _last_user_message(body)
                self._send(200, outer.completion(body.get("model", ""), outer.answer_for(prompt)))

            def _send(
                self, status: int, payload: Any, headers: Optional[Dict[str, str]] = None
            ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def answer_for(self, prompt: str) -> str:
        for needle, answer in self.rules:
            if all(part in prompt for part in needle.split(" && ")):
                return answer
        return self.default

    @staticmethod
    def completion(model: str, content: str) -> Dict[str, Any]:
        return {
            "id": "chatcmpl-judge",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": JUDGE_PROMPT_TOKENS,
                "completion_tokens": JUDGE_COMPLETION_TOKENS,
                "total_tokens": JUDGE_PROMPT_TOKENS + JUDGE_COMPLETION_TOKENS,
            },
        }

    def prompts(self) -> List[str]:
        with self.lock:
            return [_last_user_message(r["body"]) for r in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _last_user_message(body: Dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return str(message.get("content") or "")
    return ""
