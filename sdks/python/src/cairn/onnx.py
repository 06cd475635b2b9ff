"""The ONNX flavor: ``cairn.onnx.log_model``, ``save_model``, ``load_model`` (docs/models.md,
docs/deployment.md "ONNX").

An ONNX model is stored as ``model.onnx`` beside the descriptor. The descriptor's ``onnx``
entry records what a server without Python needs to serve it (the TypeScript scoring server,
``npx cairn models serve``): the file, its sha256, the IR version, the opsets, and the name,
ONNX type, numpy dtype and shape (``-1`` for a dynamic dimension) of every graph input and
output.

As a python function (``cairn.pyfunc.load_model``) the model runs on an
``onnxruntime.InferenceSession``, as MLflow's onnx flavor does:

- a DataFrame feeds the model's one input with all its columns (in the signature's order), or,
  when the model has several inputs, each input from the column of the same name; values are
  cast to the input's element type; the answer is a DataFrame with one column per (tensor)
  output: a scalar per row for an output of shape ``[N]`` or ``[N, 1]``, the row's values as a
  list otherwise;
- a numpy array feeds the model's one input; a dict maps input names to arrays; the answer is
  a dict of output name → numpy array.

Outputs that are not tensors (a sequence of maps, as skl2onnx's ``ZipMap`` makes for
classifier probabilities) stay in the in-process answer but cannot be served by the TypeScript
server: convert with ``options={"zipmap": False}``.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Dict, List, Optional, Sequence

FLAVOR_NAME = "onnx"
_MODEL_FILE = "model.onnx"
DEFAULT_PROVIDERS = ("CPUExecutionProvider",)

#: ONNX TensorProto element types → numpy dtype names (what the descriptor records)
_ELEM_DTYPES = {
    1: "float32",
    2: "uint8",
    3: "int8",
    4: "uint16",
    5: "int16",
    6: "int32",
    7: "int64",
    8: "str",
    9: "bool",
    10: "float16",
    11: "float64",
    12: "uint32",
    13: "uint64",
}
#: onnxruntime's type strings ("tensor(float)") → numpy dtype names
_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32",
    "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
    "tensor(string)": "str",
}


def _value_info(value: Any) -> Dict[str, Any]:
    """``{name, type, dtype, shape}`` of a graph input or output (``type`` as onnxruntime
    spells it: ``tensor(float)``, ``seq(map(int64,tensor(float)))``, ...)."""
    t = value.type
    kind = t.WhichOneof("value")
    if kind == "tensor_type":
        elem = int(t.tensor_type.elem_type)
        dtype = _ELEM_DTYPES.get(elem)
        shape: Optional[List[int]] = None
        if t.tensor_type.HasField("shape"):
            shape = [
                int(d.dim_value) if d.HasField("dim_value") else -1 for d in t.tensor_type.shape.dim
            ]
        name = {"str": "string", "float32": "float", "float64": "double"}.get(
            dtype or "", dtype or f"elem{elem}"
        )
        return {"name": value.name, "type": f"tensor({name})", "dtype": dtype, "shape": shape}
    return {"name": value.name, "type": _type_text(t), "dtype": None, "shape": None}


def _type_text(t: Any) -> str:
    kind = t.WhichOneof("value")
    if kind == "tensor_type":
        dtype = _ELEM_DTYPES.get(int(t.tensor_type.elem_type), "unknown")
        return "tensor({})".format(
            {"str": "string", "float32": "float", "float64": "double"}.get(dtype, dtype)
        )
    if kind == "sequence_type":
        return f"seq({_type_text(t.sequence_type.elem_type)})"
    if kind == "map_type":
        key = _ELEM_DTYPES.get(int(t.map_type.key_type), "unknown")
        key = {"str": "string"}.get(key, key)
        return f"map({key},{_type_text(t.map_type.value_type)})"
    return str(kind)


def _as_model_proto(onnx_model: Any) -> Any:
    import onnx

    from .exceptions import error_for

    if isinstance(onnx_model, (str, os.PathLike)):
        path = os.fspath(onnx_model)
        if not os.path.isfile(path):
            raise error_for(f"No ONNX file at {path}", "NOT_FOUND", {"path": path})
        return onnx.load(path)
    if isinstance(onnx_model, (bytes, bytearray)):
        return onnx.load_from_string(bytes(onnx_model))
    if isinstance(onnx_model, onnx.ModelProto):
        return onnx_model
    raise error_for(
        "cairn.onnx needs an onnx.ModelProto, the path of a .onnx file or its bytes, not "
        f"{type(onnx_model).__name__}",
        "INVALID_ARGUMENT",
    )


def describe(model: Any) -> Dict[str, Any]:
    """The descriptor fields of an ``onnx.ModelProto`` (IR version, opsets, inputs, outputs)."""
    initializers = {i.name for i in model.graph.initializer}
    return {
        "ir_version": int(model.ir_version),
        "opset": {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import},
        "producer": f"{model.producer_name} {model.producer_version}".strip() or None,
        "inputs": [_value_info(v) for v in model.graph.input if v.name not in initializers],
        "outputs": [_value_info(v) for v in model.graph.output],
    }


def save_model(
    onnx_model: Any,
    path: str,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: Optional[Dict[str, Any]] = None,
    onnx_execution_providers: Optional[Sequence[str]] = None,
    _model: Any = None,
) -> Any:
    """Saves an ONNX model (an ``onnx.ModelProto``, a ``.onnx`` file path or its bytes) to the
    directory ``path``. The model is checked with ``onnx.checker`` first. A signature is
    inferred from ``input_example`` (and the model's answer to it) when none is given."""
    import onnx

    from .exceptions import error_for
    from .models.model import Model, finish_model, pinned, prepare_dir

    proto = _as_model_proto(onnx_model)
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        raise error_for(f"Not a valid ONNX model: {exc}", "INVALID_ARGUMENT") from None
    prepare_dir(path)
    data = proto.SerializeToString()
    with open(os.path.join(path, _MODEL_FILE), "wb") as f:
        f.write(data)
    providers = list(onnx_execution_providers or DEFAULT_PROVIDERS)
    model = _model or Model()
    model.add_flavor(
        FLAVOR_NAME,
        loader_module="cairn.onnx",
        data=_MODEL_FILE,
        sha256=hashlib.sha256(data).hexdigest(),
        onnx_version=onnx.__version__,
        providers=providers,
        **describe(proto),
    )
    model.add_flavor("python_function", loader_module="cairn.onnx", data=_MODEL_FILE)
    predict_fn = None
    if input_example is not None:
        try:
            predict_fn = _OnnxPyfunc(data, providers).predict
        except Exception:  # noqa: BLE001 - no onnxruntime: the signature keeps inputs only
            predict_fn = None
    reqs: List[Any] = ["onnx", "onnxruntime", "numpy"]
    if type(input_example).__module__.startswith("pandas"):
        reqs.append("pandas")
    return finish_model(
        path,
        model,
        predict_fn=predict_fn,
        signature=signature,
        input_example=input_example,
        default_requirements=pinned(reqs),
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def log_model(
    onnx_model: Any,
    artifact_path: str = "model",
    registered_model_name: Optional[str] = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: Optional[Dict[str, Any]] = None,
    onnx_execution_providers: Optional[Sequence[str]] = None,
    run_id: Optional[str] = None,
    name: Optional[str] = None,
) -> Any:
    """Logs an ONNX model to ``artifact_path`` (or ``name``) of the active run (a run is
    started when none is active) and, with ``registered_model_name``, registers it as a new
    version. Returns a :class:`cairn.models.ModelInfo`."""
    from .models import log_model as _log_model

    return _log_model(
        save_model,
        name or artifact_path,
        registered_model_name=registered_model_name,
        run_id=run_id,
        onnx_model=onnx_model,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        onnx_execution_providers=onnx_execution_providers,
    )


def load_model(model_uri: str, dst_path: Optional[str] = None) -> Any:
    """The ``onnx.ModelProto`` of a model (``runs:/``, ``models:/`` URI or local path); its
    file's sha256 is checked against the descriptor."""
    import onnx

    from .models import download_model
    from .models.model import Model

    local = download_model(model_uri, dst_path)
    conf = Model.load(local).flavor(FLAVOR_NAME, model_uri)
    return onnx.load_from_string(_read_checked(os.path.join(local, conf["data"]), conf))


def _read_checked(path: str, conf: Dict[str, Any]) -> bytes:
    from .exceptions import error_for

    with open(path, "rb") as f:
        data = f.read()
    want = conf.get("sha256")
    if want and hashlib.sha256(data).hexdigest() != want:
        raise error_for(
            f"{path}: sha256 differs from the model descriptor's", "DATA_LOSS", {"path": path}
        )
    return data


# ---------------------------------------------------------------------- python function


class _OnnxPyfunc:
    def __init__(self, model_bytes: bytes, providers: Sequence[str]) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        available = set(ort.get_available_providers())
        chosen = [p for p in providers if p in available] or ["CPUExecutionProvider"]
        self.session = ort.InferenceSession(model_bytes, providers=chosen)
        self.inputs = [(i.name, i.type, i.shape) for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]

    def _cast(self, name: str, value: Any) -> Any:
        import numpy as np

        ort_type = next(t for n, t, _ in self.inputs if n == name)
        dtype = _ORT_DTYPES.get(ort_type)
        arr = np.asarray(value)
        if dtype == "str":
            return arr.astype(object)
        if dtype is not None and arr.dtype != np.dtype(dtype):
            arr = arr.astype(dtype)
        return arr

    def _feeds(self, data: Any) -> Dict[str, Any]:
        import numpy as np

        from .exceptions import error_for

        names = [n for n, _, _ in self.inputs]
        if isinstance(data, dict):
            return {k: self._cast(k, v) for k, v in data.items()}
        if type(data).__name__ == "DataFrame":
            if len(names) > 1:
                missing = [n for n in names if n not in data.columns]
                if missing:
                    raise error_for(
                        f"The ONNX model's inputs {names} are fed by the DataFrame's columns "
                        f"of the same names; missing: {missing}",
                        "INVALID_ARGUMENT",
                    )
                feeds = {}
                for n, _, shape in self.inputs:
                    col = data[n].to_numpy()
                    if shape is not None and len(shape) == 2:
                        col = col.reshape(-1, 1)
                    feeds[n] = self._cast(n, col)
                return feeds
            name, _, shape = self.inputs[0]
            values = data.to_numpy()
            if shape is not None and len(shape) == 1 and values.shape[1] == 1:
                values = values.reshape(-1)
            return {name: self._cast(name, values)}
        if len(names) != 1:
            raise error_for(
                f"The ONNX model takes {len(names)} inputs {names}: pass a dict or a DataFrame",
                "INVALID_ARGUMENT",
            )
        return {names[0]: self._cast(names[0], np.asarray(data))}

    def predict(self, data: Any, params: Any = None) -> Any:
        import numpy as np

        results = self.session.run(self.outputs, self._feeds(data))
        if type(data).__name__ != "DataFrame":
            return dict(zip(self.outputs, results))
        import pandas as pd

        rows = len(data)
        columns: Dict[str, Any] = {}
        for name, value in zip(self.outputs, results):
            if isinstance(value, np.ndarray):
                if value.ndim == 1 or (value.ndim == 2 and value.shape[1] == 1):
                    columns[name] = value.reshape(-1)
                else:
                    cells = np.empty(rows, dtype=object)
                    cells[:] = [value[i] for i in range(value.shape[0])]
                    columns[name] = cells
            else:  # a sequence of maps (ZipMap) or another non-tensor output: one per row
                cells = np.empty(rows, dtype=object)
                cells[:] = list(value)
                columns[name] = cells
        return pd.DataFrame(columns)


def _load_pyfunc(data_path: str, model_dir: str) -> _OnnxPyfunc:
    from .models.model import Model

    conf = Model.load(model_dir).flavors.get(FLAVOR_NAME, {})
    return _OnnxPyfunc(
        _read_checked(data_path, conf), conf.get("providers") or list(DEFAULT_PROVIDERS)
    )


__all__ = ["FLAVOR_NAME", "describe", "load_model", "log_model", "save_model"]
