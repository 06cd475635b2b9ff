"""Models: the directory format (``cairn-model.json``), signatures, model URIs and the shared
``log_model`` flow the flavors (``cairn.sklearn``, ``cairn.xgboost``, ``cairn.pytorch``,
``cairn.onnx``, ``cairn.pyfunc``) use. See docs/models.md."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

from ..exceptions import error_for
from .model import (
    FORMAT_VERSION,
    INPUT_EXAMPLE_FILE,
    MODEL_FILE,
    PYFUNC_FLAVOR,
    REQUIREMENTS_FILE,
    Model,
)
from .signature import ColSpec, ModelSignature, Schema, TensorSpec, infer_signature

__all__ = [
    "ColSpec",
    "FORMAT_VERSION",
    "INPUT_EXAMPLE_FILE",
    "MODEL_FILE",
    "Model",
    "ModelInfo",
    "ModelSignature",
    "PYFUNC_FLAVOR",
    "REQUIREMENTS_FILE",
    "Schema",
    "TensorSpec",
    "download_model",
    "infer_signature",
    "parse_runs_uri",
]


@dataclass
class ModelInfo:
    """What ``log_model`` returns."""

    artifact_path: str
    model_uri: str
    run_id: str
    model_uuid: str
    flavors: Dict[str, Dict[str, Any]]
    signature: Optional[ModelSignature] = None
    registered_model_version: Optional[int] = None
    model_version: Any = None
    metadata: Dict[str, Any] = field(default_factory=dict)


def parse_runs_uri(uri: str) -> Tuple[str, str]:
    """``runs:/<run_id>/<path>`` → ``(run_id, path)``."""
    rest = uri[len("runs:") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not uri.startswith("runs:/") or not run_id:
        raise error_for(
            f"Not a runs:/ URI: {uri!r} (expected runs:/<run_id>/<path>)",
            "INVALID_ARGUMENT",
            {"uri": uri},
        )
    return run_id, path.strip("/")


def _client(client: Any) -> Any:
    if client is not None:
        return client
    from ..fluent import get_client

    return get_client()


def download_model(model_uri: str, dst_path: Optional[str] = None, client: Any = None) -> str:
    """The local directory of a model: ``runs:/<run>/<path>``, ``models:/name@alias``,
    ``models:/name/Production``, ``models:/name/3``, ``models:/name/latest`` are downloaded
    (into ``dst_path`` or a new temporary directory, sha256-checked); a local path (or
    ``file://`` URI) is used as it is."""
    uri = os.fspath(model_uri)
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    if uri.startswith("models:/"):
        version = _client(client).resolve_model_uri(uri)
        source = str(version.source)
        if not source.startswith("runs:/"):
            if os.path.isdir(source):
                return str(source)
            raise error_for(
                f"{uri} resolves to version {version.version} whose source {source!r} is not a "
                "runs:/ URI this SDK can download",
                "FAILED_PRECONDITION",
                {"uri": uri, "source": source},
            )
        uri = source
    if uri.startswith("runs:/"):
        run_id, path = parse_runs_uri(uri)
        dst = dst_path or tempfile.mkdtemp(prefix="cairn-model-")
        return str(_client(client).download_artifacts(run_id, path, dst))
    if "://" in uri or uri.startswith(("models:", "runs:")):
        raise error_for(
            f"Unsupported model URI {model_uri!r}: use runs:/<run_id>/<path>, "
            "models:/<name>@<alias>, models:/<name>/<version or stage> or a local path",
            "INVALID_ARGUMENT",
            {"uri": model_uri},
        )
    if not os.path.isdir(uri):
        raise error_for(f"No model directory at {uri}", "NOT_FOUND", {"path": uri})
    return uri


def load_descriptor(model_uri: str, dst_path: Optional[str] = None) -> Tuple[str, Model]:
    local = download_model(model_uri, dst_path)
    return local, Model.load(local)


def log_model(
    save: Callable[..., Model],
    artifact_path: str,
    *,
    registered_model_name: Optional[str] = None,
    run_id: Optional[str] = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Saves a model with ``save(path=..., _model=Model(...), **save_kwargs)`` into a temporary
    directory, uploads it to ``artifact_path`` of the active run (or ``run_id``), and
    registers it as a new version of ``registered_model_name`` when given."""
    from .. import fluent
    from .._artifacts import validate_artifact_path

    artifact_path = artifact_path.strip("/")
    validate_artifact_path(artifact_path)
    if run_id is None:
        active = fluent._active_or_start()
        client, rid = active.client, active.run_id
    else:
        client, rid = fluent.get_client(), run_id
    descriptor = Model(artifact_path=artifact_path, run_id=rid)
    with tempfile.TemporaryDirectory(prefix="cairn-model-") as tmp:
        local = os.path.join(tmp, "model")
        saved = save(path=local, _model=descriptor, **save_kwargs)
        client.log_artifacts(rid, local, artifact_path)
    uri = f"runs:/{rid}/{artifact_path}"
    info = ModelInfo(
        artifact_path=artifact_path,
        model_uri=uri,
        run_id=rid,
        model_uuid=saved.model_uuid,
        flavors=saved.flavors,
        signature=saved.signature,
        metadata=saved.metadata,
    )
    if registered_model_name:
        version = client.create_model_version(
            registered_model_name, uri, rid, create_model_if_missing=True
        )
        info.model_version = version
        info.registered_model_version = version.version
    return info
