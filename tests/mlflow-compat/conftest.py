"""MLflow wire compatibility (docs/mlflow-compatibility.md): the real ``mlflow`` client against a
real ``cairn server``.

The server is the repository's own CLI (``apps/cli/bin/cairn.js server``: local mode, embedded
PostgreSQL) on a free loopback port with a temporary home, once for the session. The client talks
to it through a small recording proxy: a failing test prints the HTTP calls the client made and
what Cairn answered (the last ones), which is what a finding needs.
"""

from __future__ import annotations

import http.client
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
CLI = REPO_ROOT / "apps" / "cli" / "bin" / "cairn.js"

# The OpenAI-compatible loopback server of the Python SDK's tests (fixed answer, fixed usage).
sys.path.insert(0, str(REPO_ROOT / "sdks" / "python" / "tests"))

# Set before mlflow is imported: fail fast instead of MLflow's minutes of retries on a 5xx, no
# telemetry, traces exported synchronously (a test reads them back right after the call).
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"
os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ.pop("MLFLOW_REGISTRY_URI", None)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CairnServer:
    """One ``cairn server`` process with its own home and port."""

    def __init__(self, home: str, port: int) -> None:
        self.home = home
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.log_path = os.path.join(home, "server.log")

    def start(self, timeout: float = 120.0) -> None:
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is not on PATH: the tests need the Cairn CLI (apps/cli)")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [node, str(CLI), "server", "--home", self.home, "--port", str(self.port)],
            cwd=str(REPO_ROOT),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cairn server exited with {self.proc.returncode}:\n{self.tail()}")
            text = Path(self.log_path).read_text(errors="replace")
            if re.search(rf"Cairn is running at http://127\.0\.0\.1:{self.port}", text):
                try:
                    if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                        return
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
        """A raw GraphQL call (to check what Cairn stored, independently of the MLflow API)."""
        response = requests.post(
            self.url + "/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        payload = response.json()
        assert not payload.get("errors"), payload["errors"]
        return payload["data"]  # type: ignore[no-any-return]


class RecordingProxy:
    """A loopback HTTP proxy in front of the server: forwards every call, keeps a short log."""

    def __init__(self, target_port: int) -> None:
        self.calls: List[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def _forward(self) -> None:
                body = self._body()
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "transfer-encoding", "content-length", "connection")
                }
                conn = http.client.HTTPConnection("127.0.0.1", target_port, timeout=120)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                finally:
                    conn.close()
                outer.calls.append(
                    f"{self.command} {self.path} {_preview(body, self.headers)} -> {answer.status} "
                    f"{_preview(data, answer.headers)}"
                )
                del outer.calls[:-60]
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _preview(data: bytes, headers: Any) -> str:
    if not data:
        return ""
    kind = (headers.get("Content-Type") or "").split(";")[0]
    if kind.startswith("application/json") or kind.startswith("text/"):
        text = data.decode(errors="replace")
        return text if len(text) <= 600 else text[:600] + f"…({len(data)} bytes)"
    return f"<{kind or 'bytes'} {len(data)} bytes>"


_PROXY: Optional[RecordingProxy] = None


@pytest.fixture(scope="session")
def server() -> Iterator[CairnServer]:
    home = tempfile.mkdtemp(prefix="cairn-mlflow-compat-")
    srv = CairnServer(home, free_port())
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def tracking_uri(server: CairnServer) -> Iterator[str]:
    global _PROXY
    _PROXY = RecordingProxy(server.port)
    try:
        yield _PROXY.url
    finally:
        _PROXY.close()
        _PROXY = None


@pytest.fixture()
def mlflow_env(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``mlflow`` pointed at Cairn (as a user would: MLFLOW_TRACKING_URI), a fresh experiment."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    if _PROXY is not None:
        _PROXY.calls.clear()
    experiment = mlflow.set_experiment(f"compat-{uuid.uuid4().hex[:10]}")
    yield experiment
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.autolog(disable=True)


@pytest.fixture()
def client(mlflow_env: Any) -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


@pytest.fixture(scope="session")
def llm_server() -> Iterator[Any]:
    from llm_server import FakeLLMServer

    srv = FakeLLMServer()
    try:
        yield srv
    finally:
        srv.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and _PROXY is not None and _PROXY.calls:
        report.sections.append(("HTTP calls (last first)", "\n".join(reversed(_PROXY.calls[-15:]))))
