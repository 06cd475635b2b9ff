"""Model signatures: the names and types of a model's inputs and outputs.

A signature is inferred from an input example (and, when the model can predict on it, from the
prediction): pandas DataFrames and dicts give *column* specs (name + type), numpy arrays give a
*tensor* spec (dtype + shape, the first dimension ``-1`` = any batch size), lists become one or
the other through numpy/pandas. Everything is stored as plain JSON in the model descriptor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

#: the column types a signature uses (numpy dtype kinds map onto these)
COLUMN_TYPES = ("boolean", "integer", "long", "float", "double", "string", "binary", "datetime")


@dataclass
class ColSpec:
    type: str
    name: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        return out


@dataclass
class TensorSpec:
    dtype: str
    shape: List[int]
    name: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"type": "tensor", "dtype": self.dtype, "shape": list(self.shape)}
        if self.name is not None:
            out["name"] = self.name
        return out


@dataclass
class Schema:
    """Either columns (``ColSpec``) or tensors (``TensorSpec``), not both."""

    inputs: List[Any] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "tensor" if self.inputs and isinstance(self.inputs[0], TensorSpec) else "columns"

    def names(self) -> List[Optional[str]]:
        return [s.name for s in self.inputs]

    def to_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "specs": [s.to_dict() for s in self.inputs]}

    @staticmethod
    def from_dict(d: Dict[str, Any]) -> "Schema":
        specs: List[Any] = []
        for s in d.get("specs", []):
            if s.get("type") == "tensor":
                specs.append(TensorSpec(s["dtype"], list(s["shape"]), s.get("name")))
            else:
                specs.append(ColSpec(s["type"], s.get("name")))
        return Schema(specs)


@dataclass
class ModelSignature:
    inputs: Schema
    outputs: Optional[Schema] = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "inputs": self.inputs.to_dict(),
            "outputs": self.outputs.to_dict() if self.outputs is not None else None,
        }

    @staticmethod
    def from_dict(d: Dict[str, Any]) -> "ModelSignature":
        outputs = d.get("outputs")
        return ModelSignature(
            Schema.from_dict(d["inputs"]), Schema.from_dict(outputs) if outputs else None
        )


def _dtype_to_type(dtype: Any) -> str:
    kind = getattr(dtype, "kind", None)
    itemsize = getattr(dtype, "itemsize", 8)
    if kind == "b":
        return "boolean"
    if kind in ("i", "u"):
        return "integer" if itemsize <= 4 else "long"
    if kind == "f":
        return "float" if itemsize <= 4 else "double"
    if kind == "M":
        return "datetime"
    if kind == "S":
        return "binary"
    return "string"


def _value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, (bytes, bytearray)):
        return "binary"
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return _dtype_to_type(dtype)
    return "string"


def _is_dataframe(data: Any) -> bool:
    return (
        type(data).__name__ == "DataFrame" and hasattr(data, "dtypes") and hasattr(data, "columns")
    )


def _is_series(data: Any) -> bool:
    return type(data).__name__ == "Series" and hasattr(data, "dtype") and hasattr(data, "name")


def _is_ndarray(data: Any) -> bool:
    return type(data).__module__ == "numpy" and type(data).__name__ == "ndarray"


def infer_schema(data: Any) -> Schema:
    """The schema of a DataFrame, Series, numpy array, dict (column name → values) or list."""
    if _is_dataframe(data):
        return Schema(
            [ColSpec(_dtype_to_type(dt), str(col)) for col, dt in zip(data.columns, data.dtypes)]
        )
    if _is_series(data):
        return Schema(
            [ColSpec(_dtype_to_type(data.dtype), None if data.name is None else str(data.name))]
        )
    if _is_ndarray(data):
        shape = [-1] + [int(d) for d in data.shape[1:]]
        return Schema([TensorSpec(str(data.dtype), shape)])
    if isinstance(data, dict):
        specs = []
        for key, value in data.items():
            if _is_ndarray(value):
                specs.append(ColSpec(_dtype_to_type(value.dtype), str(key)))
            elif isinstance(value, (list, tuple)):
                specs.append(ColSpec(_value_type(value[0]) if value else "string", str(key)))
            else:
                specs.append(ColSpec(_value_type(value), str(key)))
        return Schema(specs)
    if isinstance(data, (list, tuple)):
        if data and all(isinstance(row, dict) for row in data):
            keys: Dict[str, Any] = {}
            for row in data:
                for k, v in row.items():
                    keys.setdefault(str(k), v)
            return Schema([ColSpec(_value_type(v), k) for k, v in keys.items()])
        import numpy as np

        return infer_schema(np.asarray(data))
    if isinstance(data, (str, bytes, int, float, bool)):
        return Schema([ColSpec(_value_type(data))])
    raise TypeError(f"Cannot infer a schema from {type(data).__name__}")


def infer_signature(model_input: Any, model_output: Any = None) -> ModelSignature:
    """``ModelSignature`` from example inputs (and outputs, e.g. ``model.predict(example)``)."""
    return ModelSignature(
        infer_schema(model_input), infer_schema(model_output) if model_output is not None else None
    )
