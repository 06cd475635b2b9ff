"""``python -m cairn.models serve``: a scoring server for any Cairn model (docs/deployment.md).

Design: a pre-fork server with no dependency beyond the SDK's. The master process loads the
model (so forked workers share its memory and start at once), binds one listening socket and
forks ``--workers`` processes that accept on it. Each worker runs an asyncio event loop with a
lean HTTP/1.1 protocol handler (keep-alive, ``Expect: 100-continue``, chunked request bodies,
a body size limit); a request is scored synchronously on the loop (scoring is CPU-bound: one
request per worker at a time, the others queue in the socket buffers). The master reaps and
respawns workers that die.

- ``--timeout S``: a request that takes longer is answered 504 (``SIGALRM`` interrupts the
  Python code of the prediction; the worker stays up).
- ``SIGTERM`` / ``SIGINT`` drain: the listening socket closes, requests already received are
  answered (with ``Connection: close``), idle keep-alive connections are closed; after
  ``--grace`` seconds whatever is left is cut.
- Following an alias (``models:/name@alias``, ``models:/name/Production``,
  ``models:/name/latest``): a watcher process (``serve_watch.py``) subscribes to the registry
  (GraphQL ``registeredModelChanged`` over graphql-ws) and re-resolves the URI on every push
  (and every ``--poll-interval`` seconds as a safety net); a new version is downloaded, loaded
  by the master and then by each worker in a background thread, and swapped in between two
  requests: no request fails or waits for the load.

Linux/macOS only (``os.fork``).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import email.utils
import errno
import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from .._version import __version__
from .scoring import (
    DEADLINE_EXCEEDED,
    INTERNAL_ERROR,
    NOT_FOUND,
    ScoringError,
    parse_content_type,
    parse_request,
    predictions_json,
)

DEFAULT_PORT = 5000
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_BODY = 64 * 1024 * 1024
DEFAULT_GRACE = 30.0
DEFAULT_POLL_INTERVAL = 30.0
#: how often a worker hands its request stats to the reporter (a deployment's)
STATS_FLUSH_INTERVAL = 0.5
MAX_HEADER_BYTES = 64 * 1024
KEEPALIVE_IDLE = 75.0

_REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _log(message: str) -> None:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
    sys.stderr.write(f"{stamp} cairn-models[{os.getpid()}] {message}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------- the loaded model


@dataclass
class ServedModel:
    """One loaded model version: what ``/invocations`` scores with and ``/version`` reports."""

    pyfunc: Any
    uri: str
    path: str
    served_uri: Optional[str] = None
    name: Optional[str] = None
    version: Optional[int] = None
    run_id: Optional[str] = None
    loaded_at: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(
            timespec="milliseconds"
        )
    )

    @property
    def signature(self) -> Any:
        return self.pyfunc.metadata.signature

    def describe(self) -> Dict[str, Any]:
        meta = self.pyfunc.metadata
        return {
            "cairn_version": __version__,
            "model_uri": self.uri,
            "model_name": self.name,
            "model_version": self.version,
            "run_id": self.run_id or meta.run_id,
            "model_uuid": meta.model_uuid,
            "flavors": sorted(meta.flavors),
            "loaded_at": self.loaded_at,
        }


def load_local_model(
    path: str,
    uri: str,
    name: Optional[str] = None,
    version: Optional[int] = None,
    run_id: Optional[str] = None,
) -> ServedModel:
    """Loads the model directory ``path`` through the pyfunc loader."""
    from .. import pyfunc

    return ServedModel(
        pyfunc.load_model(path), uri, path, name=name, version=version, run_id=run_id
    )


def resolve_and_download(uri: str, dst: str, client: Any = None) -> Tuple[str, Dict[str, Any]]:
    """Downloads the model ``uri`` names into ``dst``: ``(local path, {name, version,
    run_id})``. A ``models:/`` URI is resolved once and its version's source downloaded (so
    an alias moving meanwhile cannot mix two versions)."""
    from . import download_model

    if uri.startswith("models:/"):
        if client is None:
            from ..fluent import get_client

            client = get_client()
        mv = client.resolve_model_uri(uri)
        local = download_model(str(mv.source), dst, client=client)
        return local, {"name": mv.name, "version": mv.version, "run_id": mv.run_id}
    local = download_model(uri, dst, client=client)
    return local, {}


# ---------------------------------------------------------------------- the application


class _RequestTimeout(BaseException):
    """Raised by SIGALRM inside a prediction (a BaseException: model code's ``except
    Exception`` cannot swallow it)."""


class ScoringApp:
    """The routes: ``GET /ping``, ``/health``, ``/version``; ``POST /invocations``.
    ``handle`` never raises; it answers ``(status, content type, body)``."""

    def __init__(
        self, model: ServedModel, timeout: float = DEFAULT_TIMEOUT, log_traces: bool = False
    ) -> None:
        self.model = model
        self.timeout = timeout
        self._armed = False
        self.traces: Any = None
        if log_traces:
            from .deployment import TraceLogger

            self.traces = TraceLogger(None)

    def respond(
        self, method: str, path: str, headers: Dict[str, str], body: bytes
    ) -> Tuple[int, str, bytes, str]:
        """``handle`` plus extra response header lines (none here; a deployment's variant
        and version in ``DeploymentApp``)."""
        if self.traces is None or method != "POST" or path.split("?", 1)[0] != "/invocations":
            status, ctype, payload = self.handle(method, path, headers, body)
            return status, ctype, payload, ""
        start_ns = time.time_ns()
        started = time.perf_counter()
        model = self.model
        status, ctype, payload = self.invocations(headers.get("content-type"), body, model)
        latency_ms = (time.perf_counter() - started) * 1000.0
        self.traces.log(None, model, body, payload, status, start_ns, latency_ms)
        return status, ctype, payload, ""

    # control messages from the master (a deployment's app routes between several)
    def install(self, variant: Optional[str], model: ServedModel) -> None:
        self.model = model  # atomic: the next request scores with it

    def set_routing(self, routing: List[Dict[str, Any]]) -> None:
        pass

    def flush_stats(self) -> None:
        pass

    def close(self) -> None:
        if self.traces is not None:
            self.traces.flush(5.0)

    def handle(
        self, method: str, path: str, headers: Dict[str, str], body: bytes
    ) -> Tuple[int, str, bytes]:
        path = path.split("?", 1)[0]
        if path == "/invocations":
            if method != "POST":
                return _error(ScoringError(405, "BAD_REQUEST", "Use POST /invocations"))
            return self.invocations(headers.get("content-type"), body)
        if path in ("/ping", "/health"):
            if method not in ("GET", "HEAD"):
                return _error(ScoringError(405, "BAD_REQUEST", f"Use GET {path}"))
            return 200, "application/json", b"\n"
        if path == "/version":
            if method not in ("GET", "HEAD"):
                return _error(ScoringError(405, "BAD_REQUEST", "Use GET /version"))
            info = self.model.describe()
            info["worker_pid"] = os.getpid()
            return 200, "application/json", json.dumps(info).encode()
        return _error(
            ScoringError(
                404, NOT_FOUND, f"No route {path}: use /invocations, /ping, /health or /version"
            )
        )

    def invocations(
        self, content_type: Optional[str], body: bytes, model: Optional[ServedModel] = None
    ) -> Tuple[int, str, bytes]:
        if model is None:
            model = self.model  # one version per request, whatever swaps meanwhile
        timeout = self.timeout
        try:
            mime = parse_content_type(content_type)
            if timeout > 0:
                self._armed = True
                signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                data, params = parse_request(body, mime, model.signature)
                try:
                    raw = model.pyfunc.predict(data, params=params)
                except ScoringError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the model's own failure
                    raise ScoringError(
                        400,
                        "BAD_REQUEST",
                        "Encountered an unexpected error while evaluating the model; verify "
                        f"that the input is compatible with the model: {type(exc).__name__}: "
                        f"{exc}",
                    ) from exc
                out = predictions_json(raw)
            finally:
                if timeout > 0:
                    self._armed = False
                    signal.setitimer(signal.ITIMER_REAL, 0)
            return 200, "application/json", out
        except ScoringError as err:
            return _error(err)
        except _RequestTimeout:
            return _error(
                ScoringError(
                    504,
                    DEADLINE_EXCEEDED,
                    f"Request processing time exceeded the limit of {timeout:g} s",
                )
            )
        except Exception as exc:  # noqa: BLE001 - answered 500, logged
            _log(f"internal error scoring a request: {traceback.format_exc()}")
            return _error(
                ScoringError(500, INTERNAL_ERROR, f"Internal error: {type(exc).__name__}")
            )

    def on_alarm(self, _signum: int, _frame: Any) -> None:
        if self._armed:
            self._armed = False
            raise _RequestTimeout()


def _error(err: ScoringError) -> Tuple[int, str, bytes]:
    return err.status, "application/json", err.to_json()


# ---------------------------------------------------------------------- HTTP/1.1 handler


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parse_head(head: bytes) -> Tuple[str, str, str, Dict[str, str]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
        raise _BadRequest(400, "Undecodable request head") from None
    lines = text.split("\r\n")
    while lines and not lines[0]:
        lines.pop(0)  # RFC 9112: ignore empty lines before the request line
    if not lines:
        raise _BadRequest(400, "Empty request")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest(400, f"Malformed request line {lines[0][:100]!r}")
    headers: Dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _BadRequest(400, f"Malformed header line {line[:100]!r}")
        key = name.lower()
        if key in headers and key in ("content-length", "transfer-encoding"):
            raise _BadRequest(400, f"Repeated {name} header")
        headers[key] = value.strip()
    return parts[0], parts[1], parts[2], headers


def _dechunk(buf: bytearray, start: int, limit: int) -> Optional[Tuple[bytes, int]]:
    """``(body, end offset)`` of a complete chunked body at ``buf[start:]``, None when more
    bytes are needed."""
    pos = start
    out = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            if len(buf) - pos > 1024:
                raise _BadRequest(400, "Malformed chunk size line")
            return None
        size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _BadRequest(400, "Malformed chunk size") from None
        if size < 0:
            raise _BadRequest(400, "Malformed chunk size")
        if size == 0:
            # trailers (ignored) end with an empty line
            end = buf.find(b"\r\n\r\n", eol)
            if end < 0:
                return None
            return bytes(out), end + 4
        if len(out) + size > limit:
            raise _BadRequest(413, f"Request body larger than {limit} bytes")
        data_start = eol + 2
        if len(buf) < data_start + size + 2:
            return None
        out += buf[data_start : data_start + size]
        pos = data_start + size + 2


class _Connection(asyncio.Protocol):
    def __init__(self, worker: "_Worker") -> None:
        self.worker = worker
        self.transport: Optional[asyncio.Transport] = None
        self.buf = bytearray()
        self.last_activity = time.monotonic()
        self.continued = False
        self.closing = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.worker.connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.worker.connections.discard(self)
        self.closing = True

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self.last_activity = time.monotonic()
        while not self.closing and self.buf:
            try:
                request = self._next_request()
            except _BadRequest as bad:
                self._send(
                    bad.status,
                    "application/json",
                    ScoringError(bad.status, "BAD_REQUEST", bad.message).to_json(),
                    keep_alive=False,
                )
                return
            if request is None:
                return
            method, target, headers, body, keep_alive = request
            status, ctype, payload, extra = self.worker.app.respond(method, target, headers, body)
            if method == "HEAD":
                payload_out = b""
                length = len(payload)
            else:
                payload_out, length = payload, len(payload)
            self._send(
                status,
                ctype,
                payload_out,
                keep_alive=keep_alive and not self.worker.draining,
                length=length,
                extra=extra,
            )

    @property
    def idle(self) -> bool:
        return not self.buf

    # parsing
    def _next_request(self) -> Optional[Tuple[str, str, Dict[str, str], bytes, bool]]:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEADER_BYTES:
                raise _BadRequest(431, f"Request head larger than {MAX_HEADER_BYTES} bytes")
            return None
        if end > MAX_HEADER_BYTES:
            raise _BadRequest(431, f"Request head larger than {MAX_HEADER_BYTES} bytes")
        method, target, version, headers = _parse_head(bytes(buf[:end]))
        start = end + 4
        limit = self.worker.max_body
        te = headers.get("transfer-encoding")
        if te is not None:
            if te.lower() != "chunked":
                raise _BadRequest(501, f"Unsupported Transfer-Encoding {te!r}")
            if "content-length" in headers:
                raise _BadRequest(400, "Both Content-Length and Transfer-Encoding")
            self._maybe_continue(headers)
            done = _dechunk(buf, start, limit)
            if done is None:
                return None
            body, consumed = done
        else:
            length_text = headers.get("content-length", "0")
            if not length_text.isdigit():
                raise _BadRequest(400, f"Invalid Content-Length {length_text[:30]!r}")
            length = int(length_text)
            if length > limit:
                raise _BadRequest(413, f"Request body larger than {limit} bytes")
            if len(buf) < start + length:
                self._maybe_continue(headers)
                return None
            body = bytes(buf[start : start + length])
            consumed = start + length
        del buf[:consumed]
        self.continued = False
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            keep_alive = "keep-alive" in connection
        else:
            keep_alive = "close" not in connection
        return method, target, headers, body, keep_alive

    def _maybe_continue(self, headers: Dict[str, str]) -> None:
        if not self.continued and headers.get("expect", "").lower() == "100-continue":
            self.continued = True
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _send(
        self,
        status: int,
        ctype: str,
        payload: bytes,
        keep_alive: bool,
        length: Optional[int] = None,
        extra: str = "",
    ) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            self.closing = True
            return
        head = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
            f"Content-Type: {ctype}\r\n"
            f"Content-Length: {len(payload) if length is None else length}\r\n"
            f"Date: {self.worker.date}\r\n"
            "Server: cairn-models\r\n"
            + extra
            + ("" if keep_alive else "Connection: close\r\n")
            + "\r\n"
        ).encode("latin-1")
        transport.write(head + payload)
        if not keep_alive:
            self.closing = True
            self.buf.clear()
            transport.close()

    def close_if_idle(self, idle_after: float) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self.idle and time.monotonic() - self.last_activity >= idle_after:
            self.closing = True
            self.transport.close()


# ---------------------------------------------------------------------- a worker process


class _Worker:
    def __init__(
        self,
        sock: socket.socket,
        app: ScoringApp,
        control_fd: int,
        max_body: int,
        grace: float,
        master_pid: int,
    ) -> None:
        self.sock = sock
        self.app = app
        self.control_fd = control_fd
        self.max_body = max_body
        self.grace = grace
        self.master_pid = master_pid
        self.connections: "set[_Connection]" = set()
        self.draining = False
        self.drain_deadline = 0.0
        self.date = email.utils.formatdate(usegmt=True)
        self._control_buf = b""
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.server: Optional[asyncio.AbstractServer] = None

    def run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        signal.signal(signal.SIGALRM, self.app.on_alarm)
        self.server = loop.run_until_complete(
            loop.create_server(lambda: _Connection(self), sock=self.sock, backlog=2048)
        )
        loop.add_signal_handler(signal.SIGTERM, self.drain)
        loop.add_reader(self.control_fd, self._on_control)
        loop.call_later(1.0, self._tick)
        loop.call_later(STATS_FLUSH_INTERVAL, self._flush_stats)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def drain(self) -> None:
        if self.draining:
            return
        self.draining = True
        self.drain_deadline = time.monotonic() + self.grace
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections):
            conn.close_if_idle(0.0)
        self._check_drained()

    def _check_drained(self) -> None:
        assert self.loop is not None
        if not self.connections or time.monotonic() >= self.drain_deadline:
            for conn in list(self.connections):
                if conn.transport is not None:
                    conn.transport.abort()
            try:
                self.app.close()  # the last stats and request traces
            except Exception:  # noqa: BLE001
                _log(f"while draining: {traceback.format_exc()}")
            self.loop.stop()
            return
        self.loop.call_later(0.05, self._check_drained)

    def _tick(self) -> None:
        assert self.loop is not None
        self.date = email.utils.formatdate(usegmt=True)
        if not self.draining:
            if os.getppid() != self.master_pid:  # the master is gone: stop serving
                self.drain()
                return
            for conn in list(self.connections):
                conn.close_if_idle(KEEPALIVE_IDLE)
            self.loop.call_later(1.0, self._tick)

    def _flush_stats(self) -> None:
        assert self.loop is not None
        self.app.flush_stats()
        if not self.draining:
            self.loop.call_later(STATS_FLUSH_INTERVAL, self._flush_stats)

    def _on_control(self) -> None:
        try:
            chunk = os.read(self.control_fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            assert self.loop is not None
            self.loop.remove_reader(self.control_fd)
            return
        self._control_buf += chunk
        while b"\n" in self._control_buf:
            line, self._control_buf = self._control_buf.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("kind") == "routing":
                self.app.set_routing(message["variants"])
            else:
                self._swap_in_background(message)

    def _swap_in_background(self, message: Dict[str, Any]) -> None:
        assert self.loop is not None
        loop = self.loop

        def load() -> ServedModel:
            return load_local_model(
                message["path"],
                message["uri"],
                message.get("name"),
                message.get("version"),
                message.get("run_id"),
            )

        future = loop.run_in_executor(None, load)

        def done(f: "asyncio.Future[ServedModel]") -> None:
            exc = f.exception()
            if exc is not None:
                _log(f"could not load version {message.get('version')}: {exc}")
                return
            self.app.install(message.get("variant"), f.result())

        future.add_done_callback(done)


# ---------------------------------------------------------------------- the master


@dataclass
class ServeOptions:
    model_uri: Optional[str] = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    timeout: float = DEFAULT_TIMEOUT
    max_body: int = DEFAULT_MAX_BODY
    grace: float = DEFAULT_GRACE
    follow: bool = True
    poll_interval: float = DEFAULT_POLL_INTERVAL
    subscribe: bool = True
    #: a model directory already on disk (build-docker's entry point): served as it is,
    #: reported under ``model_uri`` / name / version from here
    served_uri: Optional[str] = None
    name: Optional[str] = None
    version: Optional[int] = None
    #: serve the deployment of this name (its variants, weights, metrics) instead of one URI
    deployment: Optional[str] = None
    #: seconds between two ``recordDeploymentMetrics`` reports (deployment mode)
    report_interval: float = 2.0
    #: one trace per request (inputs/outputs cut, version, latency) through the span exporter
    log_traces: bool = False


#: the variant name of a plain (non-deployment) server's one model
PRIMARY = "primary"


@dataclass
class _Child:
    """A helper process: a registry watcher (one per variant), the deployment watcher or the
    metrics reporter. ``retired``: replaced or no longer needed; reaped without a restart and
    its reports ignored."""

    role: str
    variant: Optional[str] = None
    uri: Optional[str] = None
    fd: Optional[int] = None
    buf: bytes = b""
    retired: bool = False


class _Master:
    def __init__(
        self,
        options: ServeOptions,
        models: Dict[str, ServedModel],
        workdir: str,
        spec: Any = None,
    ) -> None:
        self.options = options
        self.spec = spec  # a deployment.DeploymentSpec, or None for a plain server
        self.models = dict(models)  # variant -> loaded model
        if spec is not None:
            self.routing: List[Dict[str, Any]] = spec.routing()
            self.uris = {v.name: v.model_uri for v in spec.variants}
        else:
            self.routing = [{"name": PRIMARY, "weight": 100}]
            self.uris = {PRIMARY: str(options.model_uri)}
        #: the URI each variant's loaded model was resolved from
        self.loaded_uris = dict(self.uris)
        self.previous_paths: Dict[str, str] = {}
        self.workdir = workdir
        self.sock: Optional[socket.socket] = None
        self.workers: Dict[int, int] = {}  # pid -> control pipe write fd
        self.children: Dict[int, _Child] = {}  # pid -> helper process
        self.generation = 0
        self.stats_r: Optional[int] = None
        self.stats_w: Optional[int] = None
        self.reporter_signalled = False
        self.stopping = False
        self.deaths: List[float] = []
        self.exit_code = 0

    @property
    def model(self) -> ServedModel:
        first = self.routing[0]["name"] if self.routing else PRIMARY
        return self.models.get(first) or next(iter(self.models.values()))

    # process management
    def _fds_to_close_in_child(self) -> List[int]:
        fds = list(self.workers.values())
        fds += [c.fd for c in self.children.values() if c.fd is not None]
        return fds

    def _make_app(self) -> ScoringApp:
        o = self.options
        if self.spec is None:
            return ScoringApp(self.model, o.timeout, log_traces=o.log_traces)
        from .deployment import DeploymentApp

        return DeploymentApp(
            self.spec.name, self.models, self.routing, o.timeout, self.stats_w, o.log_traces
        )

    def _spawn_worker(self) -> None:
        assert self.sock is not None
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                os.close(w)
                self._child_reset()
                for fd in self._fds_to_close_in_child():
                    os.close(fd)
                if self.stats_r is not None:
                    os.close(self.stats_r)
                _Worker(
                    self.sock,
                    self._make_app(),
                    r,
                    self.options.max_body,
                    self.options.grace,
                    os.getppid(),
                ).run()
            except BaseException:  # noqa: BLE001 - a child never returns into the master
                traceback.print_exc()
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)
        os.close(r)
        self.workers[pid] = w

    def _fork_child(self, child: _Child, run: Callable[[int], None], pipe: bool = True) -> None:
        """Forks a helper that runs ``run(write fd)`` (-1 without a pipe)."""
        r, w = os.pipe() if pipe else (-1, -1)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                if r >= 0:
                    os.close(r)
                self._child_reset()
                for fd in self._fds_to_close_in_child():
                    os.close(fd)
                if self.sock is not None:
                    self.sock.close()
                if self.stats_w is not None:
                    os.close(self.stats_w)
                if self.stats_r is not None and child.role != "reporter":
                    os.close(self.stats_r)
                run(w)
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)
        if w >= 0:
            os.close(w)
            child.fd = r
        self.children[pid] = child

    def _spawn_registry_watcher(self, variant: str, version: Optional[int]) -> None:
        """Follows the variant's URI: an alias through the registry subscription (and the
        poll); a fixed version is resolved once (and hourly), which downloads it when
        ``version`` is None (a new variant or URI)."""
        from .serve_watch import follows, run_watcher

        o = self.options
        uri = self.uris[variant]
        moves = follows(uri)
        self.generation += 1
        workdir = os.path.join(self.workdir, f"{variant}-w{self.generation}")
        os.makedirs(workdir, exist_ok=True)
        poll = o.poll_interval if moves else 3600.0
        subscribe = o.subscribe and moves
        master = os.getpid()
        self._fork_child(
            _Child("registry", variant, uri),
            lambda w: run_watcher(uri, version, w, workdir, poll, subscribe, master),
        )

    def _spawn_deployment_watcher(self) -> None:
        from .deployment import run_deployment_watcher

        o, spec, master = self.options, self.spec, os.getpid()
        self._fork_child(
            _Child("deployment"),
            lambda w: run_deployment_watcher(spec, w, o.poll_interval, o.subscribe, master),
        )

    def _spawn_reporter(self) -> None:
        from .deployment import run_reporter

        assert self.stats_r is not None and self.spec is not None
        name, fd, master = self.spec.name, self.stats_r, os.getpid()
        interval = self.options.report_interval
        self._fork_child(
            _Child("reporter"), lambda _w: run_reporter(name, fd, interval, master), pipe=False
        )

    def _respawn(self, child: _Child) -> None:
        if child.role == "registry":
            variant = child.variant
            assert variant is not None
            if variant not in self.uris:
                return
            same = self.loaded_uris.get(variant) == self.uris[variant]
            model = self.models.get(variant)
            self._spawn_registry_watcher(variant, model.version if same and model else None)
        elif child.role == "deployment":
            self._spawn_deployment_watcher()
        elif child.role == "reporter":
            self._spawn_reporter()

    def _retire(self, pid: int) -> None:
        child = self.children[pid]
        child.retired = True
        if child.fd is not None:
            os.close(child.fd)
            child.fd = None
        _kill(pid, signal.SIGTERM)

    @staticmethod
    def _child_reset() -> None:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master turns Ctrl-C into SIGTERM
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)

    def _start_helpers(self) -> None:
        o = self.options
        if self.spec is None:
            if o.follow and _follows(self.uris[PRIMARY]):
                self._spawn_registry_watcher(PRIMARY, self.model.version)
            return
        for variant in self.uris:
            self._spawn_registry_watcher(variant, self.models[variant].version)
        self._spawn_deployment_watcher()
        self._spawn_reporter()

    # the loop
    def run(self, on_ready: Optional[Callable[[str], None]] = None) -> int:
        o = self.options
        family = socket.AF_INET6 if ":" in o.host else socket.AF_INET
        self.sock = socket.create_server((o.host, o.port), family=family, backlog=2048)
        self.sock.set_inheritable(True)
        if self.spec is not None:
            self.stats_r, self.stats_w = os.pipe()
            os.set_blocking(self.stats_w, False)  # a worker never waits for the reporter
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for _ in range(max(1, o.workers)):
            self._spawn_worker()
        self._start_helpers()
        host, port = self.sock.getsockname()[:2]
        url = f"http://{host if ':' not in host else '[' + host + ']'}:{port}"
        if self.spec is not None:
            what = (
                f"deployment {self.spec.name} ("
                + ", ".join(
                    f"{r['name']} {r['weight']}% {self.uris[r['name']]} version "
                    f"{self.models[r['name']].version}"
                    for r in self.routing
                )
                + ")"
            )
        else:
            what = f"{o.model_uri}" + (
                f" (version {self.model.version})" if self.model.version else ""
            )
        following = any(c.role == "registry" for c in self.children.values())
        _log(
            f"serving {what} on {url} with {len(self.workers)} worker(s), timeout "
            f"{o.timeout:g} s" + (", following the registry" if following else "")
        )
        if on_ready is not None:
            on_ready(url)
        stop_deadline: Optional[float] = None
        while True:
            self._reap()
            if self.stopping:
                if stop_deadline is None:
                    extra = 8.0 if self.spec is not None else 2.0  # the last metrics report
                    stop_deadline = time.monotonic() + o.grace + extra
                    _log("draining: no new connections, answering requests in flight")
                    self.sock.close()
                    for pid in list(self.workers):
                        _kill(pid, signal.SIGTERM)
                    for pid, child in list(self.children.items()):
                        if child.role != "reporter":
                            _kill(pid, signal.SIGTERM)
                if not self.workers and not self.reporter_signalled:
                    # the workers have handed over their last stats: the final report
                    self.reporter_signalled = True
                    for pid, child in list(self.children.items()):
                        if child.role == "reporter":
                            _kill(pid, signal.SIGTERM)
                if not self.workers and not self.children:
                    break
                if time.monotonic() > stop_deadline:
                    for pid in list(self.workers) + list(self.children):
                        _kill(pid, signal.SIGKILL)
            fds = [wake_r] + [c.fd for c in self.children.values() if c.fd is not None]
            try:
                ready, _, _ = select.select(fds, [], [], 0.5)
            except InterruptedError:  # pragma: no cover - PEP 475 retries select
                ready = []
            if wake_r in ready:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
            for child in list(self.children.values()):
                if child.fd is not None and child.fd in ready:
                    self._on_child(child)
        signal.set_wakeup_fd(-1)
        os.close(wake_r)
        os.close(wake_w)
        for fd in (self.stats_r, self.stats_w):
            if fd is not None:
                os.close(fd)
        _log("stopped")
        return self.exit_code

    def _on_stop(self, _signum: int, _frame: Any) -> None:
        self.stopping = True

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.workers:
                os.close(self.workers.pop(pid))
                if not self.stopping:
                    _log(f"worker {pid} exited ({_status_text(status)}); starting another")
                    now = time.monotonic()
                    self.deaths = [t for t in self.deaths if now - t < 30] + [now]
                    if len(self.deaths) > 5 * max(1, self.options.workers):
                        _log("workers keep dying: stopping")
                        self.exit_code = 1
                        self.stopping = True
                    else:
                        self._spawn_worker()
            elif pid in self.children:
                child = self.children.pop(pid)
                if child.fd is not None:
                    os.close(child.fd)
                    child.fd = None
                if not self.stopping and not child.retired:
                    what = {
                        "registry": "registry watcher",
                        "deployment": "deployment watcher",
                        "reporter": "metrics reporter",
                    }[child.role]
                    _log(f"{what} exited ({_status_text(status)}); restarting it")
                    time.sleep(1.0)
                    self._respawn(child)

    def _on_child(self, child: _Child) -> None:
        assert child.fd is not None
        try:
            chunk = os.read(child.fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            os.close(child.fd)
            child.fd = None
            return
        child.buf += chunk
        while b"\n" in child.buf and not child.retired:
            line, child.buf = child.buf.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if child.role == "registry":
                self._swap(child, message)
            elif child.role == "deployment":
                self._on_deployment(message)

    def _swap(self, child: _Child, message: Dict[str, Any]) -> None:
        """Loads the new version here (so it is known to load, and respawned workers fork
        with it), then has every worker load it in the background."""
        variant = child.variant or PRIMARY
        if variant not in self.uris or child.uri != self.uris[variant]:
            shutil.rmtree(message["path"], ignore_errors=True)
            return
        served_uri = self.options.model_uri if self.spec is None else self.uris[variant]
        try:
            new = load_local_model(
                message["path"],
                str(served_uri),
                message.get("name"),
                message.get("version"),
                message.get("run_id"),
            )
        except Exception as exc:  # noqa: BLE001 - keep serving the current version
            current = self.models.get(variant)
            _log(
                f"version {message.get('version')} does not load ({exc}); still serving "
                f"version {current.version if current else None}"
            )
            shutil.rmtree(message["path"], ignore_errors=True)
            return
        old = self.models.get(variant)
        self.models[variant] = new
        self.loaded_uris[variant] = self.uris[variant]
        line = (
            json.dumps({**message, "uri": served_uri, "variant": variant, "kind": "model"}) + "\n"
        ).encode()
        self._tell_workers(line)
        where = "" if self.spec is None else f"{variant}: "
        _log(
            f"{where}switching from version {old.version if old else None} to version {new.version}"
        )
        # workers have loaded the previous version long ago: its files can go
        previous = self.previous_paths.get(variant)
        if previous and previous.startswith(self.workdir):
            shutil.rmtree(previous, ignore_errors=True)
        if old is not None:
            self.previous_paths[variant] = old.path

    def _tell_workers(self, line: bytes) -> None:
        for fd in list(self.workers.values()):
            try:
                os.write(fd, line)
            except OSError as exc:
                if exc.errno != errno.EPIPE:
                    raise

    def _on_deployment(self, message: Dict[str, Any]) -> None:
        """The deployment changed: new weights apply at once; a new variant or URI gets its
        own registry watcher, whose download is swapped in when loaded (the old model serves
        the variant until then); a removed variant stops getting traffic; a deleted
        deployment drains the server (exit code 0)."""
        from .deployment import DeploymentSpec

        if message.get("kind") == "deleted":
            _log(f"deployment {message.get('name')} was deleted: draining")
            self.stopping = True
            return
        if message.get("kind") != "deployment":
            return
        spec = DeploymentSpec.from_graphql(message)
        wanted = {v.name: v.model_uri for v in spec.variants}
        for pid, child in list(self.children.items()):
            if child.role != "registry" or child.retired:
                continue
            if wanted.get(child.variant or "") != child.uri:
                self._retire(pid)
        for name in [n for n in self.uris if n not in wanted]:
            del self.uris[name]
        for name, uri in wanted.items():
            if self.uris.get(name) != uri:
                self.uris[name] = uri
                self._spawn_registry_watcher(name, None)
        self.spec = spec
        self.routing = spec.routing()
        for name in [n for n in self.models if n not in wanted]:
            del self.models[name]
        self._tell_workers(
            (json.dumps({"kind": "routing", "variants": self.routing}) + "\n").encode()
        )
        _log(
            "deployment changed: "
            + ", ".join(f"{r['name']} {r['weight']}% {self.uris[r['name']]}" for r in self.routing)
        )


def _status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.WEXITSTATUS(status)}"


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _follows(uri: str) -> bool:
    from .serve_watch import follows

    return follows(uri)


def serve(options: ServeOptions, on_ready: Optional[Callable[[str], None]] = None) -> int:
    """Loads the model (or every variant of the deployment) and serves until SIGTERM/SIGINT
    (or the deployment's deletion); returns the exit code."""
    workdir = tempfile.mkdtemp(prefix="cairn-serve-")
    try:
        if options.deployment:
            return _serve_deployment(options, workdir, on_ready)
        uri = str(options.model_uri)
        if os.path.isdir(uri) or uri.startswith("file://"):
            local = uri[len("file://") :] if uri.startswith("file://") else uri
            meta: Dict[str, Any] = {"name": options.name, "version": options.version}
        else:
            client = None
            if uri.startswith(("models:/", "runs:/")):
                from ..fluent import get_client

                client = get_client()
            local, meta = resolve_and_download(uri, os.path.join(workdir, "v0"), client)
            if client is not None:
                client._transport.close()  # no pooled sockets inherited by the workers
        model = load_local_model(
            local,
            options.served_uri or uri,
            meta.get("name"),
            meta.get("version"),
            meta.get("run_id"),
        )
        return _Master(options, {PRIMARY: model}, workdir).run(on_ready)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _serve_deployment(
    options: ServeOptions, workdir: str, on_ready: Optional[Callable[[str], None]]
) -> int:
    from ..fluent import get_client
    from .deployment import load_deployment

    client = get_client()
    spec, downloads = load_deployment(str(options.deployment), client, workdir)
    client._transport.close()  # no pooled sockets inherited by the workers
    models = {}
    for variant in spec.variants:
        local, meta = downloads[variant.name]
        models[variant.name] = load_local_model(
            local, variant.model_uri, meta.get("name"), meta.get("version"), meta.get("run_id")
        )
    return _Master(options, models, workdir, spec).run(on_ready)
