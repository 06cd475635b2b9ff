"""The scoring server's registry watcher: follows ``models:/name@alias`` (or a stage, or
``latest``) and reports a new version to the serving master (``serve.py``).

It subscribes to GraphQL ``registeredModelChanged(name)`` over graphql-ws (the
``graphql-transport-ws`` protocol; a minimal RFC 6455 client below, so the SDK keeps its one
dependency) and re-resolves the URI on every push; it also re-resolves every
``poll_interval`` seconds (a push missed while reconnecting is caught then) and falls back to
that poll alone when the subscription cannot be opened. A changed version is downloaded into a
fresh directory and reported as one JSON line on the master's pipe.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import select
import signal
import socket
import ssl
import struct
import sys
import time
from typing import Any, Dict, Optional
from urllib.parse import urlsplit

_FIXED_VERSION = re.compile(r"^models:/[^/@]+/\d+$")
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

SUBSCRIPTION = (
    "subscription CairnServeFollow($name: String!) { registeredModelChanged(name: $name) { name } }"
)


def follows(uri: str) -> bool:
    """Whether a served URI can move: ``models:/name@alias``, ``models:/name/<stage>``,
    ``models:/name/latest`` do; a fixed version, ``runs:/`` and paths do not."""
    return uri.startswith("models:/") and not _FIXED_VERSION.match(uri)


def model_name(uri: str) -> str:
    rest = uri[len("models:/") :]
    return re.split(r"[@/]", rest, maxsplit=1)[0]


def _log(message: str) -> None:
    sys.stderr.write(f"cairn-models[{os.getpid()}] watcher: {message}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------- a WebSocket client


class WebSocketError(Exception):
    pass


class WebSocket:
    """Just enough RFC 6455 for graphql-ws: text frames, ping/pong, close; client frames
    masked."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    @staticmethod
    def connect(
        url: str, headers: Dict[str, str], subprotocol: str, timeout: float = 10.0
    ) -> "WebSocket":
        parts = urlsplit(url)
        secure = parts.scheme in ("https", "wss")
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if secure else 80)
        sock = socket.create_connection((host, port), timeout=timeout)
        if secure:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"Sec-WebSocket-Protocol: {subprotocol}",
        ] + [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise WebSocketError("connection closed during the WebSocket handshake")
            head += chunk
            if len(head) > 65536:
                raise WebSocketError("WebSocket handshake response too large")
        raw, _, rest = head.partition(b"\r\n\r\n")
        status_line, *header_lines = raw.decode("latin-1").split("\r\n")
        if " 101 " not in status_line + " ":
            raise WebSocketError(f"WebSocket upgrade refused: {status_line}")
        got = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
        want = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        if got.get("sec-websocket-accept") != want:
            raise WebSocketError("WebSocket handshake: bad Sec-WebSocket-Accept")
        ws = WebSocket(sock)
        ws.buf = rest
        return ws

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytearray([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header.append(0x80 | 126)
            header += struct.pack("!H", n)
        else:
            header.append(0x80 | 127)
            header += struct.pack("!Q", n)
        mask = os.urandom(4)
        header += mask
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.sock.sendall(bytes(header) + masked)

    def send_json(self, message: Dict[str, Any]) -> None:
        self._send_frame(0x1, json.dumps(message).encode())

    def _frame(self) -> Optional[tuple[int, bool, bytes, int]]:
        buf = self.buf
        if len(buf) < 2:
            return None
        fin = bool(buf[0] & 0x80)
        opcode = buf[0] & 0x0F
        masked = bool(buf[1] & 0x80)
        n = buf[1] & 0x7F
        pos = 2
        if n == 126:
            if len(buf) < 4:
                return None
            n = struct.unpack("!H", buf[2:4])[0]
            pos = 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n = struct.unpack("!Q", buf[2:10])[0]
            pos = 10
        mask = b""
        if masked:
            if len(buf) < pos + 4:
                return None
            mask = buf[pos : pos + 4]
            pos += 4
        if len(buf) < pos + n:
            return None
        payload = buf[pos : pos + n]
        if masked:
            payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        return opcode, fin, payload, pos + n

    def recv_json(self, timeout: float) -> Optional[Dict[str, Any]]:
        """The next message, or None when ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        parts: list[bytes] = []
        while True:
            frame = self._frame()
            if frame is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                ready, _, _ = select.select([self.sock], [], [], remaining)
                if not ready:
                    return None
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise WebSocketError("connection closed")
                self.buf += chunk
                continue
            opcode, fin, payload, used = frame
            self.buf = self.buf[used:]
            if opcode == 0x8:
                raise WebSocketError("closed by the server")
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            parts.append(payload)
            if fin:
                try:
                    message = json.loads(b"".join(parts))
                except ValueError as exc:
                    raise WebSocketError(f"bad message: {exc}") from None
                return message if isinstance(message, dict) else {}

    def close(self) -> None:
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------- the watcher


def ws_headers(client: Any) -> Dict[str, str]:
    """The WebSocket upgrade's headers: the client's API key and workspace."""
    settings = client._transport.settings
    headers = {"User-Agent": "cairn-models"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    if settings.workspace:
        headers["x-cairn-workspace"] = settings.workspace
    return headers


class RegistryWatcher:
    def __init__(
        self,
        uri: str,
        version: Optional[int],
        out_fd: int,
        workdir: str,
        poll_interval: float,
        subscribe: bool,
        master_pid: int,
        client: Any = None,
    ) -> None:
        from ..client import CairnClient

        self.uri = uri
        self.name = model_name(uri)
        self.version = version
        self.out_fd = out_fd
        self.workdir = workdir
        self.poll_interval = max(0.2, poll_interval)
        self.subscribe = subscribe
        self.master_pid = master_pid
        self.client = client or CairnClient()
        self.counter = 0

    def run(self) -> None:
        backoff = 0.5
        while os.getppid() == self.master_pid:
            if not self.subscribe:
                self.check()
                time.sleep(self.poll_interval)
                continue
            try:
                self._follow_subscription()
                backoff = 0.5
            except (OSError, WebSocketError) as exc:
                _log(
                    f"subscription unavailable ({exc}); polling every "
                    f"{self.poll_interval:g} s until it reconnects"
                )
                self.check()
                time.sleep(min(backoff, self.poll_interval))
                backoff = min(backoff * 2, 30.0)

    def _headers(self) -> Dict[str, str]:
        return ws_headers(self.client)

    def _follow_subscription(self) -> None:
        url = self.client.tracking_uri + "/graphql"
        headers = self._headers()
        ws = WebSocket.connect(url, headers, "graphql-transport-ws")
        try:
            init: Dict[str, Any] = {}
            if "Authorization" in headers:
                init["authorization"] = headers["Authorization"]
            if "x-cairn-workspace" in headers:
                init["x-cairn-workspace"] = headers["x-cairn-workspace"]
            ws.send_json({"type": "connection_init", "payload": init})
            ack = ws.recv_json(10.0)
            if not ack or ack.get("type") != "connection_ack":
                raise WebSocketError(f"no connection_ack: {ack}")
            ws.send_json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIPTION, "variables": {"name": self.name}},
                }
            )
            self.check()  # whatever moved before the subscription was open
            while os.getppid() == self.master_pid:
                message = ws.recv_json(self.poll_interval)
                if message is None:
                    self.check()
                    continue
                kind = message.get("type")
                if kind == "ping":
                    ws.send_json({"type": "pong"})
                elif kind == "next":
                    self.check()
                elif kind in ("error", "complete"):
                    # the model is unknown or was deleted: keep the version served, poll
                    raise WebSocketError(f"subscription ended ({kind}: {message.get('payload')})")
        finally:
            ws.close()

    def check(self) -> None:
        """Re-resolves the URI; a different version is downloaded and reported."""
        try:
            mv = self.client.resolve_model_uri(self.uri)
        except Exception as exc:  # noqa: BLE001 - keep serving what is loaded
            _log(f"cannot resolve {self.uri} ({exc}); keeping version {self.version}")
            return
        if mv.version == self.version:
            return
        self.counter += 1
        dst = os.path.join(self.workdir, f"v{mv.version}-{self.counter}")
        try:
            from . import download_model

            local = download_model(str(mv.source), dst, client=self.client)
        except Exception as exc:  # noqa: BLE001
            _log(f"cannot download version {mv.version} ({exc}); keeping {self.version}")
            return
        message = {
            "path": local,
            "name": mv.name,
            "version": mv.version,
            "run_id": mv.run_id,
            "followed_uri": self.uri,
        }
        os.write(self.out_fd, (json.dumps(message) + "\n").encode())
        _log(f"{self.uri} now resolves to version {mv.version}")
        self.version = mv.version


def run_watcher(
    uri: str,
    version: Optional[int],
    out_fd: int,
    workdir: str,
    poll_interval: float,
    subscribe: bool,
    master_pid: int,
) -> None:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    RegistryWatcher(uri, version, out_fd, workdir, poll_interval, subscribe, master_pid).run()
