"""Artifacts against the real server: uploads (single request and multipart), listing,
downloads with sha256 checks, path validation."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import requests


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def test_file_dir_text_dict_round_trip(cairn_env, client, tmp_path):
    cairn = cairn_env
    src = tmp_path / "src"
    (src / "nested" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "nested" / "b.bin").write_bytes(os.urandom(70_000))
    (src / "nested" / "deeper" / "c with space.json").write_text('{"c": 1}')
    (src / "empty.txt").write_bytes(b"")
    single = tmp_path / "single.csv"
    single.write_text("x,y\n1,2\n")
    with cairn.start_run() as run:
        cairn.log_artifact(str(single))
        cairn.log_artifact(str(single), artifact_path="tables/v1")
        cairn.log_artifacts(str(src), artifact_path="tree")
        cairn.log_text("héllo\n", "notes/readme.md")
        cairn.log_dict({"lr": 0.1, "layers": [1, 2]}, "config/params.json")
        uri = cairn.get_artifact_uri("tree")
    assert uri == f"runs:/{run.run_id}/tree"

    root = client.list_artifacts(run.run_id)
    assert [(f.path, f.is_dir) for f in root] == [
        ("config", True),
        ("notes", True),
        ("tables", True),
        ("tree", True),
        ("single.csv", False),
    ]
    assert root[-1].file_size == single.stat().st_size
    assert root[-1].sha256 == _sha(single)
    nested = client.list_artifacts(run.run_id, "tree/nested")
    assert [(f.path, f.is_dir) for f in nested] == [
        ("tree/nested/deeper", True),
        ("tree/nested/b.bin", False),
    ]

    # a directory, recursively, every file checked
    out = Path(cairn.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "out")))
    assert out == tmp_path / "out" / "tree"
    for rel in ("a.txt", "nested/b.bin", "nested/deeper/c with space.json", "empty.txt"):
        assert (out / rel).read_bytes() == (src / rel).read_bytes(), rel
    # one file, by run id + path
    one = cairn.artifacts.download_artifacts(
        run_id=run.run_id, artifact_path="tables/v1/single.csv", dst_path=str(tmp_path / "one")
    )
    assert Path(one).read_text() == "x,y\n1,2\n"
    assert cairn.artifacts.load_text(f"runs:/{run.run_id}/notes/readme.md") == "héllo\n"
    assert cairn.artifacts.load_dict(f"runs:/{run.run_id}/config/params.json") == {
        "lr": 0.1,
        "layers": [1, 2],
    }
    # the whole run
    everything = Path(client.download_artifacts(run.run_id, "", str(tmp_path / "all")))
    assert json.loads((everything / "config" / "params.json").read_text())["lr"] == 0.1


def test_logging_a_path_again_replaces_it(cairn_env, client, tmp_path):
    cairn = cairn_env
    with cairn.start_run() as run:
        cairn.log_text("first", "x.txt")
        cairn.log_text("second version", "x.txt")
    [entry] = client.list_artifacts(run.run_id)
    assert entry.file_size == len("second version")
    assert cairn.artifacts.load_text(f"runs:/{run.run_id}/x.txt") == "second version"


def test_multipart_upload_above_threshold_with_a_failed_part_retried(
    cairn_env, client, tmp_path, monkeypatch
):
    """An 80 MiB file goes up in three 32 MiB parts; the first attempt at part 2 fails on the
    network and is sent again without restarting the upload."""
    from cairn import _artifacts

    big = tmp_path / "big.bin"
    block = os.urandom(1 << 20)
    with open(big, "wb") as f:
        for i in range(80):
            f.write(hashlib.sha256(block + bytes([i])).digest() * 32768)  # 1 MiB, distinct
    want = _sha(big)

    calls = []
    original = requests.Session.request

    def flaky(self, method, url, *args, **kwargs):
        calls.append((method, url.rsplit("/api/", 1)[-1]))
        if (
            method == "PUT"
            and url.endswith("/parts/2")
            and not any(c == ("FAILED", "2") for c in calls)
        ):
            calls.append(("FAILED", "2"))
            raise requests.ConnectionError("connection reset (test)")
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", flaky)
    assert _artifacts.multipart_threshold() == 64 << 20
    cairn = cairn_env
    with cairn.start_run() as run:
        cairn.log_artifact(str(big), artifact_path="data")
    monkeypatch.setattr(requests.Session, "request", original)

    puts = [u for m, u in calls if m == "PUT"]
    assert [u.rsplit("/", 1)[-1] for u in puts] == ["1", "2", "2", "3"]
    assert sum(1 for m, u in calls if m == "POST" and u.endswith("/complete")) == 1
    [entry] = client.list_artifacts(run.run_id, "data")
    assert entry.path == "data/big.bin"
    assert entry.file_size == 80 << 20
    assert entry.sha256 == want
    local = client.download_artifacts(run.run_id, "data/big.bin", str(tmp_path / "down"))
    assert _sha(Path(local)) == want


def test_upload_with_a_wrong_sha256_is_refused_and_records_nothing(
    cairn_env, client, tmp_path, monkeypatch
):
    from cairn import _artifacts

    path = tmp_path / "f.txt"
    path.write_text("payload")
    monkeypatch.setattr(_artifacts, "file_sha256", lambda p: "0" * 64)
    cairn = cairn_env
    with cairn.start_run() as run:
        with pytest.raises(cairn.InvalidArgumentError) as info:
            cairn.log_artifact(str(path))
    assert info.value.http_status == 400
    assert client.list_artifacts(run.run_id) == []


def test_download_detects_a_corrupted_file(cairn_env, client, server, tmp_path):
    """The bytes on the server's disk are changed behind its back: the download fails its
    sha256 check and leaves no file behind."""
    cairn = cairn_env
    with cairn.start_run() as run:
        cairn.log_text("the real content", "model/weights.txt")
    stored = [
        p
        for p in Path(server.home).rglob("weights.txt")
        if run.run_id in p.parts and ".uploads" not in p.parts
    ]
    assert len(stored) == 1, f"stored file not found under {server.home}: {stored}"
    stored[0].write_text("the fake content")  # same length
    dst = tmp_path / "dl"
    with pytest.raises(cairn.ChecksumMismatchError) as info:
        client.download_artifacts(run.run_id, "model/weights.txt", str(dst))
    assert info.value.code == "DATA_LOSS"
    assert not (dst / "model" / "weights.txt").exists()
    assert [p.name for p in (dst / "model").iterdir()] == []


def test_bad_paths_and_missing_artifacts_raise_clear_errors(cairn_env, client, tmp_path):
    cairn = cairn_env
    f = tmp_path / "ok.txt"
    f.write_text("x")
    with cairn.start_run() as run:
        for bad in ("../escape.txt", "/abs.txt", "a//b.txt", "a\\b.txt", "a/./b", "x\x01y"):
            with pytest.raises(cairn.InvalidArgumentError):
                cairn.log_text("x", bad)
        with pytest.raises(cairn.InvalidArgumentError):
            cairn.log_artifact(str(tmp_path))  # a directory
        with pytest.raises(cairn.InvalidArgumentError):
            cairn.log_figure(object(), "f.png")
    assert client.list_artifacts(run.run_id) == []
    with pytest.raises(cairn.NotFoundError):
        client.download_artifacts(run.run_id, "nope.txt", str(tmp_path / "d"))
    with pytest.raises(cairn.NotFoundError):
        client.list_artifacts("00000000-0000-0000-0000-000000000000")
