"""``cairn.artifacts``: download a run's artifacts (MLflow's ``mlflow.artifacts`` names)."""

from __future__ import annotations

import json
import tempfile
from typing import Any, List, Optional

from .entities import FileInfo
from .exceptions import error_for


def _client() -> Any:
    from .fluent import get_client

    return get_client()


def download_artifacts(
    artifact_uri: Optional[str] = None,
    run_id: Optional[str] = None,
    artifact_path: Optional[str] = None,
    dst_path: Optional[str] = None,
) -> str:
    """Downloads a file or directory (``runs:/<run>/<path>``, ``models:/...``, or ``run_id`` +
    ``artifact_path``) into ``dst_path`` (a new temporary directory by default) and returns
    its local path. Every file's sha256 is checked against what the server recorded."""
    if artifact_uri is not None and (run_id is not None or artifact_path is not None):
        raise error_for(
            "Give either artifact_uri or run_id (+ artifact_path), not both", "INVALID_ARGUMENT"
        )
    if artifact_uri is not None:
        if artifact_uri.startswith("models:/"):
            from .models import download_model

            return download_model(artifact_uri, dst_path)
        from .models import parse_runs_uri

        run_id, artifact_path = parse_runs_uri(artifact_uri)
    if run_id is None:
        raise error_for("download_artifacts needs artifact_uri or run_id", "INVALID_ARGUMENT")
    return str(_client().download_artifacts(run_id, artifact_path or "", dst_path))


def list_artifacts(
    artifact_uri: Optional[str] = None,
    run_id: Optional[str] = None,
    artifact_path: Optional[str] = None,
) -> List[FileInfo]:
    """The direct children of a run's artifact directory."""
    if artifact_uri is not None:
        from .models import parse_runs_uri

        run_id, artifact_path = parse_runs_uri(artifact_uri)
    if run_id is None:
        raise error_for("list_artifacts needs artifact_uri or run_id", "INVALID_ARGUMENT")
    return list(_client().list_artifacts(run_id, artifact_path))


def load_text(artifact_uri: str) -> str:
    """The content of a text artifact (``runs:/<run>/notes.txt``)."""
    with tempfile.TemporaryDirectory(prefix="cairn-") as tmp:
        local = download_artifacts(artifact_uri, dst_path=tmp)
        with open(local, encoding="utf-8") as f:
            return f.read()


def load_dict(artifact_uri: str) -> Any:
    """A JSON artifact parsed (``runs:/<run>/config.json``)."""
    return json.loads(load_text(artifact_uri))


__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_text"]
