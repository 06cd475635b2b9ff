"""The model directory format: a ``cairn-model.json`` descriptor next to the flavors' files.

See docs/models.md for the full description. A model directory looks like::

    model/
      cairn-model.json     descriptor: format version, flavors, signature, requirements, ...
      model.pkl            the flavor's data (file or directory, named in the descriptor)
      input_example.json   the input example (when one was given)
      requirements.txt     pinned pip requirements of the flavor's libraries
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import math
import os
import platform
import uuid
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from .._version import __version__
from ..exceptions import error_for
from .signature import ModelSignature, _is_dataframe, _is_ndarray, _is_series, infer_signature

#: the descriptor's file name
MODEL_FILE = "cairn-model.json"
#: the descriptor format this SDK writes; it reads this one and older
FORMAT_VERSION = 1
INPUT_EXAMPLE_FILE = "input_example.json"
REQUIREMENTS_FILE = "requirements.txt"
PYFUNC_FLAVOR = "python_function"


class Model:
    """The parsed descriptor of a model directory."""

    def __init__(
        self,
        *,
        artifact_path: Optional[str] = None,
        run_id: Optional[str] = None,
        flavors: Optional[Dict[str, Dict[str, Any]]] = None,
        signature: Optional[ModelSignature] = None,
        input_example: Optional[Dict[str, Any]] = None,
        requirements: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
        model_uuid: Optional[str] = None,
        created_at: Optional[str] = None,
        python_version: Optional[str] = None,
        cairn_version: Optional[str] = None,
        format_version: int = FORMAT_VERSION,
    ) -> None:
        self.format_version = format_version
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.flavors: Dict[str, Dict[str, Any]] = dict(flavors or {})
        self.signature = signature
        self.input_example = input_example
        self.requirements = requirements
        self.metadata = dict(metadata or {})
        self.model_uuid = model_uuid or uuid.uuid4().hex
        self.created_at = created_at or _dt.datetime.now(_dt.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
        self.python_version = python_version or platform.python_version()
        self.cairn_version = cairn_version or __version__

    def add_flavor(self, name: str, **params: Any) -> "Model":
        self.flavors[name] = dict(params)
        return self

    def to_dict(self) -> Dict[str, Any]:
        return {
            "format_version": self.format_version,
            "model_uuid": self.model_uuid,
            "created_at": self.created_at,
            "run_id": self.run_id,
            "artifact_path": self.artifact_path,
            "cairn_version": self.cairn_version,
            "python_version": self.python_version,
            "flavors": self.flavors,
            "signature": self.signature.to_dict() if self.signature is not None else None,
            "input_example": self.input_example,
            "requirements": self.requirements,
            "metadata": self.metadata,
        }

    def save(self, path: str) -> None:
        with open(os.path.join(path, MODEL_FILE), "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=False)
            f.write("\n")

    @staticmethod
    def load(path: str) -> "Model":
        """Reads ``<path>/cairn-model.json`` (``path`` may also be the file itself)."""
        file = path if os.path.isfile(path) else os.path.join(path, MODEL_FILE)
        if not os.path.isfile(file):
            raise error_for(
                f"{path} is not a Cairn model directory (no {MODEL_FILE})",
                "INVALID_ARGUMENT",
                {"path": path},
            )
        with open(file, encoding="utf-8") as f:
            d = json.load(f)
        version = d.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise error_for(
                f"{file} has model format version {version!r}; this SDK ({__version__}) reads "
                f"up to {FORMAT_VERSION}: upgrade cairn-ml",
                "INVALID_ARGUMENT",
                {"path": file},
            )
        sig = d.get("signature")
        return Model(
            format_version=version,
            artifact_path=d.get("artifact_path"),
            run_id=d.get("run_id"),
            flavors=d.get("flavors") or {},
            signature=ModelSignature.from_dict(sig) if sig else None,
            input_example=d.get("input_example"),
            requirements=d.get("requirements"),
            metadata=d.get("metadata") or {},
            model_uuid=d.get("model_uuid"),
            created_at=d.get("created_at"),
            python_version=d.get("python_version"),
            cairn_version=d.get("cairn_version"),
        )

    def flavor(self, name: str, path: str) -> Dict[str, Any]:
        conf = self.flavors.get(name)
        if conf is None:
            raise error_for(
                f"The model at {path} has no {name!r} flavor (it has: "
                f"{', '.join(sorted(self.flavors)) or 'none'})",
                "INVALID_ARGUMENT",
                {"flavor": name, "flavors": sorted(self.flavors)},
            )
        return conf

    def load_input_example(self, path: str) -> Any:
        """The saved input example, rebuilt as the type it was given as (or None)."""
        if not self.input_example:
            return None
        with open(os.path.join(path, self.input_example["file"]), encoding="utf-8") as f:
            payload = json.load(f)
        return _decode_example(self.input_example["type"], payload, self.input_example)


# ---------------------------------------------------------------------- input examples


def _jsonable(value: Any) -> Any:
    """Numbers, strings, lists and dicts from numpy/pandas values (NaN → None)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if _is_ndarray(value):
        return _jsonable(value.tolist())
    if hasattr(value, "item") and callable(value.item) and type(value).__module__ == "numpy":
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def save_input_example(path: str, example: Any) -> Dict[str, Any]:
    """Writes ``input_example.json``; returns the descriptor's ``input_example`` entry."""
    info: Dict[str, Any] = {"file": INPUT_EXAMPLE_FILE}
    if _is_dataframe(example):
        info["type"] = "dataframe"
        info["dtypes"] = {str(c): str(t) for c, t in zip(example.columns, example.dtypes)}
        payload: Any = {
            "columns": [str(c) for c in example.columns],
            "data": _jsonable(example.to_numpy().tolist()),
        }
    elif _is_series(example):
        info["type"] = "series"
        info["dtype"] = str(example.dtype)
        payload = {"name": _jsonable(example.name), "data": _jsonable(example.tolist())}
    elif _is_ndarray(example):
        info["type"] = "ndarray"
        info["dtype"] = str(example.dtype)
        payload = {"inputs": _jsonable(example.tolist())}
    elif isinstance(example, dict):
        info["type"] = "dict"
        info["dtypes"] = {str(k): str(v.dtype) for k, v in example.items() if _is_ndarray(v)}
        payload = _jsonable(example)
    elif isinstance(example, (list, tuple)):
        info["type"] = "list"
        payload = _jsonable(list(example))
    else:
        info["type"] = "json"
        payload = _jsonable(example)
    with open(os.path.join(path, INPUT_EXAMPLE_FILE), "w", encoding="utf-8") as f:
        json.dump(payload, f, allow_nan=False)
    return info


def _decode_example(kind: str, payload: Any, info: Dict[str, Any]) -> Any:
    if kind == "dataframe":
        import pandas as pd

        df = pd.DataFrame(payload["data"], columns=payload["columns"])
        for col, dtype in (info.get("dtypes") or {}).items():
            try:
                df[col] = df[col].astype(dtype)
            except (TypeError, ValueError, KeyError):
                pass
        return df
    if kind == "series":
        import pandas as pd

        return pd.Series(payload["data"], name=payload.get("name"), dtype=info.get("dtype"))
    if kind == "ndarray":
        import numpy as np

        return np.asarray(payload["inputs"], dtype=info.get("dtype"))
    if kind == "dict" and info.get("dtypes"):
        import numpy as np

        return {
            k: np.asarray(v, dtype=info["dtypes"][k]) if k in info["dtypes"] else v
            for k, v in payload.items()
        }
    return payload


# ---------------------------------------------------------------------- requirements


def installed_version(*dists: str) -> Optional[str]:
    """The installed version of the first distribution found among ``dists``."""
    from importlib import metadata

    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def pinned(dists: Iterable[Union[str, Sequence[str]]]) -> List[str]:
    """``name==version`` for each installed distribution (a tuple = alternatives, the first
    installed one wins: ``("xgboost", "xgboost-cpu")``); missing ones are left out."""
    out: List[str] = []
    for entry in dists:
        names = [entry] if isinstance(entry, str) else list(entry)
        for name in names:
            version = installed_version(name)
            if version is not None:
                out.append(f"{name}=={version}")
                break
    return out


def write_requirements(
    path: str,
    default: Sequence[str],
    pip_requirements: Optional[Union[str, Sequence[str]]] = None,
    extra_pip_requirements: Optional[Union[str, Sequence[str]]] = None,
) -> str:
    """Writes ``requirements.txt``: ``pip_requirements`` (a list, or the path of a requirements
    file) replaces the detected pins, ``extra_pip_requirements`` adds to them."""
    if pip_requirements is not None:
        lines = _read_reqs(pip_requirements)
    else:
        lines = list(default)
    if extra_pip_requirements is not None:
        lines += _read_reqs(extra_pip_requirements)
    seen = set()
    unique = [r for r in lines if not (r in seen or seen.add(r))]  # type: ignore[func-returns-value]
    with open(os.path.join(path, REQUIREMENTS_FILE), "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in unique))
    return REQUIREMENTS_FILE


def _read_reqs(reqs: Union[str, Sequence[str]]) -> List[str]:
    if isinstance(reqs, str):
        with open(reqs, encoding="utf-8") as f:
            return [ln.strip() for ln in f if ln.strip() and not ln.strip().startswith("#")]
    return [str(r).strip() for r in reqs if str(r).strip()]


def cairn_requirement() -> str:
    return f"cairn-ml=={__version__}"


# ---------------------------------------------------------------------- saving helpers


def prepare_dir(path: str) -> None:
    """Creates ``path``; refuses a non-empty existing directory (a model is never merged)."""
    if os.path.exists(path):
        if not os.path.isdir(path) or os.listdir(path):
            raise error_for(
                f"{path} already exists and is not an empty directory",
                "ALREADY_EXISTS",
                {"path": path},
            )
    os.makedirs(path, exist_ok=True)


def finish_model(
    path: str,
    model: Model,
    *,
    predict_fn: Any = None,
    signature: Optional[ModelSignature] = None,
    input_example: Any = None,
    default_requirements: Sequence[str] = (),
    pip_requirements: Optional[Union[str, Sequence[str]]] = None,
    extra_pip_requirements: Optional[Union[str, Sequence[str]]] = None,
    metadata: Optional[Dict[str, Any]] = None,
) -> Model:
    """Adds the signature (given, or inferred from ``input_example`` and, when
    ``predict_fn`` works on it, the prediction), the input example, requirements and metadata,
    then writes the descriptor."""
    if input_example is not None:
        model.input_example = save_input_example(path, input_example)
        if signature is None:
            output = None
            if predict_fn is not None:
                try:
                    output = predict_fn(input_example)
                except Exception:  # noqa: BLE001 - outputs are optional in a signature
                    output = None
            try:
                signature = infer_signature(input_example, output)
            except (TypeError, ValueError):
                signature = None
    model.signature = signature
    model.requirements = write_requirements(
        path,
        list(default_requirements) + [cairn_requirement()],
        pip_requirements,
        extra_pip_requirements,
    )
    if metadata:
        model.metadata.update(metadata)
    model.save(path)
    return model


def import_loader(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise error_for(
            f"Cannot import the model's loader module {module_name!r}: {exc}",
            "FAILED_PRECONDITION",
            {"module": module_name},
        ) from exc
