"""``cairn.pyfunc``: every Cairn model loads as a python function with ``.predict(data)``.

- ``load_model(uri)`` loads any model (scikit-learn, XGBoost, PyTorch, custom) through the
  ``python_function`` entry of its descriptor: the entry names a loader module whose
  ``_load_pyfunc(data_path, model_dir)`` returns an object with ``predict(data)``.
- ``log_model(artifact_path, python_model=MyModel(), artifacts={...})`` stores a custom model:
  a :class:`PythonModel` subclass (pickled with cloudpickle when installed, so classes defined
  in ``__main__`` or notebooks travel by value) plus files it needs, copied into the model
  directory and handed back as ``context.artifacts[name]`` (local paths) at load time.
"""

from __future__ import annotations

import os
import pickle
import shutil
from typing import Any, Dict, Optional, Sequence, Union

from .exceptions import error_for
from .models import ModelInfo, download_model
from .models import log_model as _log_model
from .models.model import (
    PYFUNC_FLAVOR,
    Model,
    finish_model,
    import_loader,
    pinned,
    prepare_dir,
)
from .models.signature import ModelSignature

FLAVOR = "python_function"
_PYTHON_MODEL_FILE = "python_model.pkl"
_ARTIFACTS_DIR = "artifacts"


class PythonModelContext:
    """What ``load_context`` and ``predict`` receive: ``artifacts`` maps names to local paths."""

    def __init__(self, artifacts: Dict[str, str], model_config: Optional[Dict[str, Any]] = None):
        self.artifacts = artifacts
        self.model_config = model_config or {}


class PythonModel:
    """Base class of custom models: override ``predict`` (and ``load_context`` to load files
    from ``context.artifacts``)."""

    def load_context(self, context: PythonModelContext) -> None:
        pass

    def predict(self, context: PythonModelContext, model_input: Any, params: Any = None) -> Any:
        raise NotImplementedError


class PyFuncModel:
    """A loaded model: ``predict(data)`` whatever the flavor; ``metadata`` is the descriptor."""

    def __init__(self, metadata: Model, impl: Any, local_path: str) -> None:
        self.metadata = metadata
        self._impl = impl
        self.local_path = local_path

    @property
    def loader_module(self) -> str:
        return str(self.metadata.flavors[PYFUNC_FLAVOR]["loader_module"])

    def predict(self, data: Any, params: Optional[Dict[str, Any]] = None) -> Any:
        data = _as_model_input(data, self.metadata.signature)
        if params:
            return self._impl.predict(data, params=params)
        return self._impl.predict(data)

    def unwrap_python_model(self) -> Any:
        """The underlying model object (the ``PythonModel`` for custom models)."""
        inner = getattr(self._impl, "python_model", None)
        return inner if inner is not None else getattr(self._impl, "model", self._impl)

    def __repr__(self) -> str:
        return f"PyFuncModel(loader_module={self.loader_module!r}, path={self.local_path!r})"


def _as_model_input(data: Any, signature: Optional[ModelSignature]) -> Any:
    """A dict or list of records becomes a DataFrame when the signature has named columns
    (and pandas is installed); a DataFrame's columns are put in the signature's order."""
    if signature is None or signature.inputs.kind != "columns":
        return data
    names = [n for n in signature.inputs.names() if n is not None]
    if not names:
        return data
    try:
        import pandas as pd
    except ImportError:
        return data
    if isinstance(data, dict) or (
        isinstance(data, list) and data and all(isinstance(r, dict) for r in data)
    ):
        data = pd.DataFrame(data)
    if isinstance(data, pd.DataFrame) and set(names) <= set(map(str, data.columns)):
        if list(map(str, data.columns)) != names:
            data = data[names]
    return data


def load_model(model_uri: str, dst_path: Optional[str] = None) -> PyFuncModel:
    """Loads any Cairn model as a :class:`PyFuncModel` (``runs:/``, ``models:/`` or a path)."""
    local = download_model(model_uri, dst_path)
    meta = Model.load(local)
    conf = meta.flavor(PYFUNC_FLAVOR, model_uri)
    module = import_loader(str(conf["loader_module"]))
    data = conf.get("data")
    impl = module._load_pyfunc(os.path.join(local, data) if data else local, local)
    return PyFuncModel(meta, impl, local)


# ---------------------------------------------------------------------- custom models


class _CustomPyfunc:
    def __init__(self, python_model: PythonModel, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context

    def predict(self, data: Any, params: Any = None) -> Any:
        if params is None:
            return self.python_model.predict(self.context, data)
        return self.python_model.predict(self.context, data, params=params)


def _pickler() -> "tuple[Any, str]":
    try:
        import cloudpickle

        return cloudpickle, "cloudpickle"
    except ImportError:
        return pickle, "pickle"


def save_model(
    path: str,
    python_model: Optional[PythonModel] = None,
    artifacts: Optional[Dict[str, str]] = None,
    signature: Optional[ModelSignature] = None,
    input_example: Any = None,
    pip_requirements: Optional[Union[str, Sequence[str]]] = None,
    extra_pip_requirements: Optional[Union[str, Sequence[str]]] = None,
    metadata: Optional[Dict[str, Any]] = None,
    model_config: Optional[Dict[str, Any]] = None,
    _model: Optional[Model] = None,
) -> Model:
    """Saves a custom :class:`PythonModel` (and the files in ``artifacts``) to ``path``."""
    if python_model is None or not isinstance(python_model, PythonModel):
        raise error_for(
            "cairn.pyfunc.save_model needs python_model=<a cairn.pyfunc.PythonModel instance>",
            "INVALID_ARGUMENT",
        )
    prepare_dir(path)
    copied: Dict[str, str] = {}
    for name, src in (artifacts or {}).items():
        if src.startswith(("runs:/", "models:/")):
            src = _download_artifact_uri(src)
        if not os.path.exists(src):
            raise error_for(f"Artifact {name!r}: {src} does not exist", "NOT_FOUND", {"path": src})
        rel = os.path.join(_ARTIFACTS_DIR, name, os.path.basename(src.rstrip("/")))
        dst = os.path.join(path, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
        copied[name] = rel.replace(os.sep, "/")
    module, fmt = _pickler()
    with open(os.path.join(path, _PYTHON_MODEL_FILE), "wb") as f:
        module.dump(python_model, f)
    model = _model or Model()
    model.add_flavor(
        PYFUNC_FLAVOR,
        loader_module="cairn.pyfunc",
        data=None,
        python_model=_PYTHON_MODEL_FILE,
        serialization_format=fmt,
        artifacts=copied,
        model_config=model_config or {},
        python_model_class=f"{type(python_model).__module__}.{type(python_model).__qualname__}",
    )
    context = PythonModelContext(
        {k: os.path.join(path, v) for k, v in copied.items()}, model_config
    )

    def predict(example: Any) -> Any:
        python_model.load_context(context)
        return python_model.predict(context, example)

    reqs = ["cloudpickle"] if fmt == "cloudpickle" else []
    return finish_model(
        path,
        model,
        predict_fn=predict,
        signature=signature,
        input_example=input_example,
        default_requirements=pinned(reqs),
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _download_artifact_uri(uri: str) -> str:
    from .artifacts import download_artifacts

    return download_artifacts(uri)


def log_model(
    artifact_path: str = "model",
    python_model: Optional[PythonModel] = None,
    artifacts: Optional[Dict[str, str]] = None,
    registered_model_name: Optional[str] = None,
    signature: Optional[ModelSignature] = None,
    input_example: Any = None,
    pip_requirements: Optional[Union[str, Sequence[str]]] = None,
    extra_pip_requirements: Optional[Union[str, Sequence[str]]] = None,
    metadata: Optional[Dict[str, Any]] = None,
    model_config: Optional[Dict[str, Any]] = None,
    run_id: Optional[str] = None,
) -> ModelInfo:
    """Logs a custom :class:`PythonModel` to the active run (see :func:`save_model`)."""
    return _log_model(
        save_model,
        artifact_path,
        registered_model_name=registered_model_name,
        run_id=run_id,
        python_model=python_model,
        artifacts=artifacts,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        model_config=model_config,
    )


def _load_pyfunc(data_path: str, model_dir: str) -> _CustomPyfunc:
    meta = Model.load(model_dir)
    conf = meta.flavors[PYFUNC_FLAVOR]
    with open(os.path.join(model_dir, conf["python_model"]), "rb") as f:
        python_model = pickle.load(f)  # cloudpickle output loads with pickle
    artifacts = {
        k: os.path.join(model_dir, *v.split("/")) for k, v in conf.get("artifacts", {}).items()
    }
    context = PythonModelContext(artifacts, conf.get("model_config"))
    python_model.load_context(context)
    return _CustomPyfunc(python_model, context)


__all__ = [
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "log_model",
    "save_model",
]
