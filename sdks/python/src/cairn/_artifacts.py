"""Artifact transfer over Cairn's HTTP artifact routes (streamed; see docs/python-sdk.md).

- Uploads stream from the file object (``requests`` sends it in chunks; a file is never read
  into memory whole). The sha256 is computed in a first pass and sent as ``x-cairn-sha256``:
  the server refuses (and records nothing) when the bytes it received differ.
- Files of ``CAIRN_ARTIFACT_MULTIPART_THRESHOLD`` bytes or more (default 64 MiB) go through the
  multipart routes in parts of ``CAIRN_ARTIFACT_PART_SIZE`` (default 32 MiB); a failed part is
  sent again (network errors and 5xx, with backoff) without restarting the upload.
- Downloads stream to a temporary file next to the destination, check the sha256 the server
  announces, then rename; a mismatch raises and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import tempfile
import threading
import time
import urllib.parse
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

import requests

from ._transport import RETRYABLE_HTTP, GraphQLTransport
from .exceptions import CairnError, CairnUnavailableError, error_for

_log = logging.getLogger("cairn")

_CHUNK = 1 << 20
MiB = 1 << 20


def _env_bytes(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return max(1, int(float(raw)))
    except ValueError:
        return default


def multipart_threshold() -> int:
    return _env_bytes("CAIRN_ARTIFACT_MULTIPART_THRESHOLD", 64 * MiB)


def part_size() -> int:
    # the server allows 10,000 parts; 5 MiB minimum keeps request overhead small
    return max(5 * MiB, _env_bytes("CAIRN_ARTIFACT_PART_SIZE", 32 * MiB))


def validate_artifact_path(path: str) -> str:
    """A relative POSIX artifact path as the server accepts it (checked before any upload)."""
    problem = None
    if not path:
        problem = "is empty"
    elif path.startswith("/"):
        problem = "must be relative (no leading '/')"
    elif "\\" in path:
        problem = "must use '/' as separator (no '\\')"
    elif any(ord(c) < 32 or ord(c) == 127 for c in path):
        problem = "contains a control character"
    elif any(seg in ("", ".", "..") for seg in path.split("/")):
        problem = "has an empty, '.' or '..' segment"
    elif len(path.encode("utf-8")) > 1024:
        problem = "is longer than 1024 bytes"
    elif any(len(seg.encode("utf-8")) > 255 for seg in path.split("/")):
        problem = "has a segment longer than 255 bytes"
    if problem:
        raise error_for(f"Artifact path {path!r} {problem}", "INVALID_ARGUMENT", {"path": path})
    return path


def join_artifact_path(*parts: Optional[str]) -> str:
    segs = [p.strip("/") for p in parts if p is not None and p.strip("/")]
    return "/".join(segs)


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class _Slice(io.RawIOBase):
    """A read-only window ``[offset, offset+length)`` of a file, hashing what it reads."""

    def __init__(self, f: IO[bytes], offset: int, length: int) -> None:
        self._f = f
        self._offset = offset
        self._length = length
        self._pos = 0
        self.sha = hashlib.sha256()
        f.seek(offset)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        left = self._length - self._pos
        if left <= 0:
            return b""
        if n is None or n < 0 or n > left:
            n = left
        data = self._f.read(min(n, _CHUNK))
        self._pos += len(data)
        self.sha.update(data)
        return data

    def tell(self) -> int:
        # requests sizes a body as len() - tell(); IOBase.tell() would raise and make it
        # fall back to chunked transfer encoding
        return self._pos

    def __len__(self) -> int:
        return self._length


class ArtifactStore:
    """Uploads and downloads the artifacts of runs through one server's HTTP routes."""

    def __init__(self, transport: GraphQLTransport) -> None:
        self.transport = transport
        self.base = transport.tracking_uri
        headers = {
            k: v
            for k, v in transport._headers.items()
            if k.lower() not in ("content-type", "accept")
        }
        self._headers = headers
        self._local = threading.local()  # one requests.Session per thread, like the transport

    def _session(self) -> requests.Session:
        session: Optional[requests.Session] = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self._headers)
            self._local.session = session
        return session

    def _drop_session(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def _url(self, run_id: str, *tail: str) -> str:
        return f"{self.base}/api/runs/{urllib.parse.quote(run_id, safe='')}" + "".join(tail)

    @staticmethod
    def quote_path(path: str) -> str:
        return urllib.parse.quote(path, safe="/")

    # ------------------------------------------------------------------ retries

    def _request(
        self,
        method: str,
        url: str,
        *,
        body: Optional[Callable[[], Any]] = None,
        expect: Tuple[int, ...] = (200, 201, 204),
        what: str,
        **kwargs: Any,
    ) -> requests.Response:
        """One HTTP call retried on network errors and retryable statuses; ``body()`` gives a
        fresh body for each attempt (a file rewound)."""
        settings = self.transport.settings
        started = time.monotonic()
        delay = settings.backoff_initial
        attempt = 0
        internal = 0
        while True:
            attempt += 1
            reason: str
            try:
                data = body() if body is not None else None
                response = self._session().request(
                    method, url, data=data, timeout=(settings.request_timeout, 300), **kwargs
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._drop_session()  # pooled connections to a server that went away
                reason = f"{type(exc).__name__} during {what}"
            else:
                if response.status_code in expect:
                    return response
                if response.status_code not in RETRYABLE_HTTP:
                    raise _http_error(response, what)
                if response.status_code == 500:
                    internal += 1
                    if internal >= 3:  # maybe a bug, not an outage: do not retry for minutes
                        raise _http_error(response, what)
                reason = f"HTTP {response.status_code} during {what}"
                response.close()
            elapsed = time.monotonic() - started
            if elapsed >= settings.retry_timeout:
                raise CairnUnavailableError(
                    f"{what} failed after {attempt} attempt(s) over {elapsed:.0f} s: {reason}",
                    {"attempts": attempt, "url": url},
                )
            _log.warning("cairn: %s; retrying (attempt %d)", reason, attempt)
            time.sleep(min(delay, settings.backoff_max) * (0.75 + random.random() * 0.5))
            delay = min(delay * 2, settings.backoff_max)

    # ------------------------------------------------------------------ uploads

    def upload_file(self, run_id: str, local_path: str, artifact_path: str) -> Dict[str, Any]:
        """Uploads one file to ``artifact_path`` (multipart above the threshold)."""
        validate_artifact_path(artifact_path)
        size = os.path.getsize(local_path)
        if size >= multipart_threshold():
            return self._upload_multipart(run_id, local_path, artifact_path, size)
        sha = file_sha256(local_path)
        url = self._url(run_id, "/artifacts/", self.quote_path(artifact_path))
        with open(local_path, "rb") as f:

            def body() -> Any:
                f.seek(0)
                return f if size > 0 else b""  # an empty file object would be sent chunked

            response = self._request(
                "PUT",
                url,
                body=body,
                headers={
                    "x-cairn-sha256": sha,
                    "content-type": "application/octet-stream",
                    "content-length": str(size),
                },
                expect=(200, 201),
                what=f"uploading {artifact_path}",
            )
        result = response.json()
        _check_sha(result.get("sha256"), sha, artifact_path)
        return dict(result)

    def _upload_multipart(
        self, run_id: str, local_path: str, artifact_path: str, size: int
    ) -> Dict[str, Any]:
        started = self._request(
            "POST",
            self._url(run_id, "/artifact-uploads"),
            json={"path": artifact_path},
            expect=(200, 201),
            what=f"starting the upload of {artifact_path}",
        ).json()
        upload_id = str(started["uploadId"])
        base = self._url(run_id, "/artifact-uploads/", urllib.parse.quote(upload_id, safe=""))
        whole = hashlib.sha256()
        step = part_size()
        try:
            with open(local_path, "rb") as f:
                for index, offset in enumerate(range(0, max(size, 1), step), start=1):
                    length = min(step, size - offset)
                    self._upload_part(f, base, index, offset, length, artifact_path)
                    # hash the whole file part by part (the part just sent is in the page cache)
                    f.seek(offset)
                    left = length
                    while left > 0:
                        chunk = f.read(min(_CHUNK, left))
                        if not chunk:
                            break
                        whole.update(chunk)
                        left -= len(chunk)
            sha = whole.hexdigest()
            result = self._request(
                "POST",
                base + "/complete",
                headers={"x-cairn-sha256": sha},
                expect=(200, 201),
                what=f"completing the upload of {artifact_path}",
            ).json()
        except BaseException:
            try:
                self._session().delete(base, timeout=self.transport.settings.request_timeout)
            except requests.RequestException:
                pass
            raise
        _check_sha(result.get("sha256"), sha, artifact_path)
        return dict(result)

    def _upload_part(
        self, f: IO[bytes], base: str, n: int, offset: int, length: int, artifact_path: str
    ) -> None:
        holder: List[_Slice] = []

        def body() -> _Slice:
            holder.clear()
            holder.append(_Slice(f, offset, length))
            return holder[0]

        for _ in range(3):
            result = self._request(
                "PUT",
                f"{base}/parts/{n}",
                body=body,
                headers={
                    "content-type": "application/octet-stream",
                    "content-length": str(length),
                },
                expect=(200, 201),
                what=f"uploading part {n} of {artifact_path}",
            ).json()
            sent = holder[0].sha.hexdigest()
            if result.get("sha256") in (None, sent) and int(result.get("size", length)) == length:
                return
            _log.warning("cairn: part %d of %s arrived damaged; sending it again", n, artifact_path)
        raise error_for(
            f"Part {n} of {artifact_path} kept arriving damaged at the server",
            "DATA_LOSS",
            {"path": artifact_path, "part": n},
        )

    # ------------------------------------------------------------------ downloads

    def download_file(self, run_id: str, artifact_path: str, local_path: str) -> str:
        """Downloads one file to ``local_path`` after checking its sha256; returns the path."""
        url = self._url(run_id, "/artifacts/", self.quote_path(artifact_path))
        response = self._request(
            "GET", url, stream=True, expect=(200,), what=f"downloading {artifact_path}"
        )
        parent = os.path.dirname(os.path.abspath(local_path))
        os.makedirs(parent, exist_ok=True)
        h = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(prefix=".cairn-download-", dir=parent)
        try:
            with response, os.fdopen(fd, "wb") as out:
                for chunk in response.iter_content(_CHUNK):
                    h.update(chunk)
                    out.write(chunk)
            expected = response.headers.get("x-cairn-sha256")
            length = response.headers.get("content-length")
            if length is not None and os.path.getsize(tmp) != int(length):
                raise error_for(
                    f"Download of {artifact_path} was cut short "
                    f"({os.path.getsize(tmp)} of {length} bytes)",
                    "DATA_LOSS",
                    {"path": artifact_path},
                )
            if expected:
                _check_sha(h.hexdigest(), expected, artifact_path, downloading=True)
            os.replace(tmp, local_path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return local_path

    def list(self, run_id: str, path: str = "") -> List[Dict[str, Any]]:
        data = self.transport.execute(_LIST_QUERY, {"id": run_id, "path": path})
        run = data.get("run")
        if run is None:
            raise error_for(f"Run {run_id} not found", "NOT_FOUND", {"id": run_id})
        return list(run["artifacts"])

    def download(self, run_id: str, artifact_path: str, dst_dir: str) -> str:
        """Downloads a file or a directory (recursively, file by file with sha256 checks)
        into ``dst_dir``; returns the local path of what ``artifact_path`` names."""
        artifact_path = artifact_path.strip("/")
        if artifact_path:
            validate_artifact_path(artifact_path)
        is_dir = True
        if artifact_path:
            parent, _, name = artifact_path.rpartition("/")
            entry = next((e for e in self.list(run_id, parent) if e["name"] == name), None)
            if entry is None:
                raise error_for(
                    f"Run {run_id} has no artifact {artifact_path!r}",
                    "NOT_FOUND",
                    {"runId": run_id, "path": artifact_path},
                )
            is_dir = bool(entry["isDir"])
        local_root = os.path.join(dst_dir, *artifact_path.split("/")) if artifact_path else dst_dir
        if not is_dir:
            return self.download_file(run_id, artifact_path, local_root)
        os.makedirs(local_root, exist_ok=True)
        pending = [artifact_path]
        while pending:
            current = pending.pop()
            for entry in self.list(run_id, current):
                child = str(entry["path"]).strip("/")
                validate_artifact_path(child)  # never write outside dst_dir
                local = os.path.join(dst_dir, *child.split("/"))
                if entry["isDir"]:
                    os.makedirs(local, exist_ok=True)
                    pending.append(child)
                else:
                    self.download_file(run_id, child, local)
        return local_root


_LIST_QUERY = """
query CairnListArtifacts($id: String!, $path: String) {
  run(id: $id) { artifacts(path: $path) { path name isDir size sha256 loggedAt } }
}
"""


def _check_sha(got: Optional[str], want: str, path: str, downloading: bool = False) -> None:
    if got is None or got.lower() == want.lower():
        return
    where = "downloaded" if downloading else "stored by the server"
    raise error_for(
        f"sha256 mismatch for {path}: {where} {got}, expected {want}",
        "DATA_LOSS",
        {"path": path, "sha256": got, "expected": want},
    )


def _http_error(response: requests.Response, what: str) -> CairnError:
    code = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        405: "UNIMPLEMENTED",
        409: "CONFLICT",
        413: "PAYLOAD_TOO_LARGE",
    }.get(response.status_code, "INTERNAL")
    message = response.text[:300]
    details: Dict[str, Any] = {}
    try:
        payload = response.json()
        err = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(err, dict):
            code = str(err.get("code") or code)
            message = str(err.get("message") or message)
            details = {k: v for k, v in err.items() if k not in ("code", "message")}
    except ValueError:
        pass
    return error_for(f"{what}: {message}", code, details, response.status_code)
