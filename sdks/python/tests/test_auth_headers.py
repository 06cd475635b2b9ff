"""API keys in the SDK (issue 20): ``CAIRN_API_KEY`` (fallback ``MLFLOW_TRACKING_TOKEN``) goes out
as ``Authorization: Bearer`` on GraphQL, artifact and OTLP requests, and 401/403 answers raise
:class:`cairn.UnauthenticatedError` / :class:`cairn.PermissionDeniedError`.

The receiver is a real HTTP server in this process that records the headers it gets and answers
as a Cairn server with ``--auth required`` does for a missing or insufficient key (the GraphQL
error shape of apps/api, the artifact routes' JSON error shape).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterator, List, Tuple

import pytest

import cairn
from cairn.config import api_key_from_env
from cairn.tracing._fluent import get_exporter

KEY = "cairn_abcdefghijkl_0123456789abcdefghijABCDEFGHIJ0123"


class Receiver:
    def __init__(self) -> None:
        self.requests: List[Tuple[str, str, Dict[str, str]]] = []
        self.status = 401
        self.statuses: List[int] = []  # answered first, one per request
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                receiver.requests.append(
                    (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                status = receiver.statuses.pop(0) if receiver.statuses else receiver.status
                code = {401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED"}.get(
                    status, "PERMISSION_DENIED"
                )
                if status == 200:
                    body: object = {"data": {"experimentByName": None}}
                elif self.path.startswith("/graphql"):
                    body = {"errors": [{"message": "denied", "extensions": {"code": code}}]}
                else:
                    body = {"error": {"code": code, "message": "denied"}}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _answer
            do_POST = _answer
            do_PUT = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def authorizations(self) -> List[str]:
        return [h.get("authorization", "") for _, _, h in self.requests]


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_key_from_env_with_mlflow_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAIRN_API_KEY", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    assert api_key_from_env() is None
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "mlflow-token")
    assert api_key_from_env() == "mlflow-token"
    monkeypatch.setenv("CAIRN_API_KEY", KEY)
    assert api_key_from_env() == KEY
    monkeypatch.setenv("CAIRN_API_KEY", "  ")
    assert api_key_from_env() == "mlflow-token"


def test_graphql_401_is_unauthenticated_error_with_bearer_sent(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_API_KEY", KEY)
    client = cairn.CairnClient(receiver.url)
    with pytest.raises(cairn.UnauthenticatedError) as info:
        client.get_experiment_by_name("anything")
    assert info.value.code == "UNAUTHENTICATED"
    assert info.value.http_status == 401
    assert len(receiver.requests) == 1  # not retried
    assert receiver.authorizations() == [f"Bearer {KEY}"]


def test_artifacts_403_is_permission_denied_with_bearer_sent(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CAIRN_API_KEY", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", KEY)
    receiver.status = 403
    client = cairn.CairnClient(receiver.url)
    with pytest.raises(cairn.PermissionDeniedError) as info:
        client.artifacts.download_file("0123456789abcdef0123456789abcdef", "m.txt", str(tmp_path / "m"))
    assert info.value.code == "PERMISSION_DENIED"
    assert receiver.requests, "the artifact route was called"
    assert all(a == f"Bearer {KEY}" for a in receiver.authorizations())
    assert any(path.startswith("/api/runs/") for _, path, _ in receiver.requests)


def test_otlp_export_sends_bearer(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_API_KEY", KEY)
    monkeypatch.setenv("CAIRN_TRACE_EXPORT_ENDPOINT", receiver.url + "/v1/traces")
    exporter = get_exporter()
    assert exporter.headers["Authorization"] == f"Bearer {KEY}"
    assert exporter._post(b"{}").status_code == 401  # a real POST to the receiver
    assert receiver.requests[-1][1] == "/v1/traces"
    assert receiver.requests[-1][2]["authorization"] == f"Bearer {KEY}"


def test_no_key_sends_no_authorization(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAIRN_API_KEY", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    with pytest.raises(cairn.UnauthenticatedError):
        cairn.CairnClient(receiver.url).get_experiment_by_name("x")
    assert receiver.authorizations() == [""]


def test_429_is_retried(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_API_KEY", KEY)
    receiver.statuses = [429, 429, 200]
    assert cairn.CairnClient(receiver.url).get_experiment_by_name("x") is None
    assert len(receiver.requests) == 3
