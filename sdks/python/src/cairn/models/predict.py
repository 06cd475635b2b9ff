"""``python -m cairn.models predict``: batch predictions for a file (docs/deployment.md).

The input file is read exactly as the scoring server reads a request body (``scoring.py``):
JSON in one of MLflow's four formats (with optional ``params``) or CSV with a header row, with
the same signature enforcement. The output is ``{"predictions": [...]}``, to a file or stdout.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Optional

from .scoring import CONTENT_TYPE_CSV, CONTENT_TYPE_JSON, parse_request, predictions_json


def content_type_of(input_path: Optional[str], content_type: Optional[str]) -> str:
    """``json`` / ``csv`` (or a full media type) as given, else from the file extension;
    stdin without ``--content-type`` is JSON."""
    if content_type:
        lowered = content_type.lower()
        if lowered in ("json", CONTENT_TYPE_JSON):
            return CONTENT_TYPE_JSON
        if lowered in ("csv", CONTENT_TYPE_CSV):
            return CONTENT_TYPE_CSV
        raise ValueError(f"Unknown content type {content_type!r}: use json or csv")
    if input_path and input_path.lower().endswith(".csv"):
        return CONTENT_TYPE_CSV
    return CONTENT_TYPE_JSON


def predict(
    model_uri: str,
    input_path: Optional[str] = None,
    output_path: Optional[str] = None,
    content_type: Optional[str] = None,
) -> bytes:
    """Scores ``input_path`` (stdin when None) with the model ``model_uri``; writes the
    predictions JSON to ``output_path`` (stdout when None) and returns it."""
    from .serve import load_local_model, resolve_and_download

    mime = content_type_of(input_path, content_type)
    if input_path is None or input_path == "-":
        body = sys.stdin.buffer.read()
    else:
        with open(input_path, "rb") as f:
            body = f.read()
    with tempfile.TemporaryDirectory(prefix="cairn-predict-") as tmp:
        local, meta = resolve_and_download(model_uri, os.path.join(tmp, "model"))
        model = load_local_model(local, model_uri, meta.get("name"), meta.get("version"))
        data, params = parse_request(body, mime, model.signature)
        out = predictions_json(model.pyfunc.predict(data, params=params))
    if output_path is None or output_path == "-":
        sys.stdout.buffer.write(out + b"\n")
        sys.stdout.flush()
    else:
        tmp_out = output_path + ".tmp"
        with open(tmp_out, "wb") as f:
            f.write(out)
            f.write(b"\n")
        os.replace(tmp_out, output_path)
    return out
