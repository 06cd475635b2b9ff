"""Test helpers for the tracing tests: an OTLP/HTTP receiver that records what it is sent."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest


def attr_value(value: Dict[str, Any]) -> Any:
    """An OTLP JSON ``AnyValue`` as a Python value."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [attr_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: attr_value(kv["value"]) for kv in value["kvlistValue"]["values"]}
    return None


def attrs(items: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {kv["key"]: attr_value(kv["value"]) for kv in items}


class OTLPReceiver:
    """Accepts ``POST /v1/traces`` (OTLP JSON, gzip or not); ``script`` holds statuses to answer
    in order (then 200). ``spans`` are flattened: OTLP span dicts with ``attrs`` decoded and the
    resource attributes under ``resource``."""

    def __init__(self, port: int = 0) -> None:
        self.bodies: List[Dict[str, Any]] = []
        self.headers: List[Dict[str, str]] = []
        self.script: List[int] = []
        self.delay = 0.0
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if outer.delay:
                    time.sleep(outer.delay)
                with outer.lock:
                    status = outer.script.pop(0) if outer.script else 200
                    outer.headers.append({k.lower(): v for k, v in self.headers.items()})
                    if status == 200:
                        if (self.headers.get("Content-Encoding") or "") == "gzip":
                            raw = gzip.decompress(raw)
                        outer.bodies.append(json.loads(raw))
                data = b"{}" if status == 200 else b'{"code": 14, "message": "unavailable"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.endpoint = self.url + "/v1/traces"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def spans(self) -> List[Dict[str, Any]]:
        out = []
        with self.lock:
            bodies = list(self.bodies)
        for body in bodies:
            for rs in body["resourceSpans"]:
                resource = attrs(rs.get("resource", {}).get("attributes", []))
                for ss in rs["scopeSpans"]:
                    for span in ss["spans"]:
                        span = dict(span)
                        span["attrs"] = attrs(span.get("attributes", []))
                        span["resource"] = resource
                        span["scope"] = ss.get("scope")
                        out.append(span)
        return out

    def wait_for(
        self, predicate: Callable[[List[Dict[str, Any]]], bool], timeout: float = 10.0
    ) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans
            if predicate(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {len(spans)} span(s): {spans!r:.2000}")
            time.sleep(0.02)

    def by_name(self, name: str) -> Dict[str, Any]:
        matches = [s for s in self.spans if s["name"] == name]
        assert len(matches) == 1, f"{len(matches)} span(s) named {name!r}"
        return matches[0]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def inputs(span: Dict[str, Any]) -> Any:
    raw = span["attrs"].get("cairn.span.inputs")
    return None if raw is None else json.loads(raw)


def outputs(span: Dict[str, Any]) -> Any:
    raw = span["attrs"].get("cairn.span.outputs")
    return None if raw is None else json.loads(raw)


def find(spans: List[Dict[str, Any]], name: str) -> Optional[Dict[str, Any]]:
    for span in spans:
        if span["name"] == name:
            return span
    return None


@pytest.fixture()
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OTLPReceiver]:
    recv = OTLPReceiver()
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_ENDPOINT", recv.endpoint)
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_INTERVAL", "0.05")
    monkeypatch.setenv("CAIRN_HTTP_BACKOFF_INITIAL", "0.05")
    monkeypatch.setenv("CAIRN_HTTP_BACKOFF_MAX", "0.2")
    monkeypatch.delenv("CAIRN_WORKSPACE", raising=False)
    import cairn
    from cairn.tracing import _fluent

    cairn.tracing.enable()
    yield recv
    for key in [k for k in _fluent._exporters if k[0] == recv.endpoint]:
        _fluent._exporters.pop(key).close(5)
    recv.close()
