"""Test harness: a real Cairn server (local mode, embedded PostgreSQL) for the whole session.

The server is the repository's own CLI (``apps/cli/bin/cairn.js server``) started on a free
loopback port with a temporary home; ``CAIRN_TEST_SERVER_URL`` points the tests at a server
that is already running instead (the outage test is skipped then, as it restarts the server).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests

SDK_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = SDK_DIR.parents[1]
CLI = REPO_ROOT / "apps" / "cli" / "bin" / "cairn.js"

# Short backoff so retry tests run fast; the retry window itself stays long.
os.environ.setdefault("CAIRN_HTTP_BACKOFF_MAX", "0.5")
os.environ.setdefault("CAIRN_DISABLE_GIT_CAPTURE", "")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CairnServer:
    """One ``cairn server`` process; ``stop()``/``start()`` keep the same home and port."""

    def __init__(self, home: str, port: int) -> None:
        self.home = home
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.log_path = os.path.join(home, "server.log")
        self._output: List[str] = []

    def start(self, timeout: float = 90.0) -> float:
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is not on PATH: the tests need the Cairn CLI (apps/cli)")
        started = time.monotonic()
        log = open(self.log_path, "ab")
        offset = log.tell()
        self.proc = subprocess.Popen(
            [node, str(CLI), "server", "--home", self.home, "--port", str(self.port)],
            cwd=str(REPO_ROOT),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"cairn server exited with {self.proc.returncode}:\n{self.tail()}"
                )
            text = Path(self.log_path).read_bytes()[offset:].decode(errors="replace")
            if re.search(rf"Cairn is running at http://127\.0\.0\.1:{self.port}", text):
                try:
                    if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                        return time.monotonic() - started
                except requests.RequestException:
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"cairn server did not start within {timeout} s:\n{self.tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def graphql(self, query: str, variables: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """A raw GraphQL call, independent of the SDK (to check what the server stored)."""
        response = requests.post(
            self.url + "/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        payload = response.json()
        assert not payload.get("errors"), payload["errors"]
        return payload["data"]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def server() -> Iterator[CairnServer]:
    external = os.environ.get("CAIRN_TEST_SERVER_URL")
    if external:
        srv = CairnServer(tempfile.mkdtemp(prefix="cairn-sdk-ext-"), 0)
        srv.url = external.rstrip("/")
        yield srv
        return
    home = tempfile.mkdtemp(prefix="cairn-sdk-test-")
    srv = CairnServer(home, free_port())
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture()
def cairn_env(server: CairnServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The ``cairn`` module pointed at the test server, with a fresh experiment per test."""
    import cairn
    from cairn import fluent

    monkeypatch.setenv("CAIRN_TRACKING_URI", server.url)
    cairn.set_tracking_uri(server.url)
    cairn.set_experiment(f"test-{uuid.uuid4().hex[:10]}")
    yield cairn
    while cairn.active_run() is not None:
        try:
            cairn.end_run()
        except Exception:
            fluent._active_runs.clear()
    cairn.autolog(disable=True)


@pytest.fixture()
def client(server: CairnServer) -> Any:
    from cairn import CairnClient

    return CairnClient(server.url)


# ---------------------------------------------------------------------- a fake server


class FakeGraphQLServer:
    """A loopback HTTP server answering scripted responses and recording requests."""

    def __init__(self) -> None:
        import http.server
        import json

        self.requests: List[Dict[str, Any]] = []
        self.responses: List[Any] = []  # (status, body) or callables
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                outer.requests.append({"headers": dict(self.headers), "body": body})
                status, reply = outer.responses.pop(0) if outer.responses else (200, {"data": {}})
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def fake_server() -> Iterator[FakeGraphQLServer]:
    srv = FakeGraphQLServer()
    yield srv
    srv.close()
