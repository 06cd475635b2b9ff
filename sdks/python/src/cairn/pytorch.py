"""PyTorch Lightning autologging: ``cairn.pytorch.autolog()`` (or ``cairn.autolog()``).

Patches ``Trainer.fit`` of ``lightning.pytorch`` and of ``pytorch_lightning`` (whichever is
imported) to add a callback that logs:

- params: ``epochs`` (max_epochs), ``optimizer_name`` and its ``lr`` (and other scalar
  ``defaults``) for the first optimizer, and the module's ``hparams``;
- metrics: everything in ``trainer.callback_metrics`` (what ``self.log`` produced) at the end
  of every training epoch and validation epoch (step = epoch; ``log_every_n_step=N`` also logs
  every N optimizer steps, step = global step);
- after fit: early-stopping state (``stopped_epoch``, ``wait_count``, ``best_score``) when an
  ``EarlyStopping`` callback is used.

- the trained LightningModule at ``model`` (``log_models=True``, the default), in the PyTorch
  flavor below (checkpoints are not logged).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Dict, List, Optional

from . import _autolog
from ._autolog import (
    Integration,
    autolog_run,
    autolog_scope,
    inside_autologged_call,
    safe,
)

_TRAINER_MODULES = ("lightning.pytorch", "pytorch_lightning")


def _patch(integration: Integration) -> None:
    for name in _TRAINER_MODULES:
        module = sys.modules.get(name)
        trainer = getattr(module, "Trainer", None) if module is not None else None
        if trainer is not None:
            integration.wrap(trainer, "fit", _fit_maker(integration, module))


def _fit_maker(integration: Integration, module: Any) -> Callable[[Any], Callable[..., Any]]:
    return lambda orig: _fit_wrapper(integration, orig, module)


INTEGRATION = _autolog.register(Integration("pytorch", _TRAINER_MODULES, _patch))


def autolog(
    log_every_n_epoch: int = 1,
    log_every_n_step: Optional[int] = None,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: Optional[Dict[str, str]] = None,
) -> None:
    """Autologging for PyTorch Lightning; ``disable=True`` restores ``Trainer.fit``."""
    if disable:
        _autolog.disable(INTEGRATION)
        return
    _autolog.enable(
        INTEGRATION,
        dict(
            log_every_n_epoch=max(1, int(log_every_n_epoch)),
            log_every_n_step=log_every_n_step,
            log_models=log_models,
            exclusive=exclusive,
            silent=silent,
            extra_tags=extra_tags,
        ),
    )


def _scalars(values: Dict[str, Any]) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for key, value in values.items():
        try:
            if hasattr(value, "numel") and value.numel() != 1:
                continue
            out[str(key)] = float(value)
        except (TypeError, ValueError, RuntimeError):
            continue
    return out


def _make_callback(module: Any, integration: Integration, run: Any) -> Any:
    base = getattr(module, "Callback", None)
    if base is None:
        base = sys.modules[module.__name__ + ".callbacks"].Callback
    every_epoch = integration.config.get("log_every_n_epoch", 1)
    every_step = integration.config.get("log_every_n_step")

    last: Dict[str, Any] = {}

    def log(metrics: Dict[str, float], step: int) -> None:
        # (only rank 0 logs under distributed training: see the hooks.) callback_metrics keeps
        # values between hooks: a value already logged at this step is not logged again.
        now = int(time.time() * 1000)
        for key, value in metrics.items():
            if last.get(key) == (step, value):
                continue
            last[key] = (step, value)
            run.batcher.add_metric(run.run_id, key, value, step, now)

    class CairnLightningCallback(base):  # type: ignore[misc, valid-type]
        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            if not getattr(trainer, "is_global_zero", True):
                return
            safe(integration, "logging params", _log_params, integration, run, trainer, pl_module)

        def on_train_batch_end(
            self, trainer: Any, pl_module: Any, *args: Any, **kwargs: Any
        ) -> None:
            if not getattr(trainer, "is_global_zero", True):
                return
            if every_step and trainer.global_step % every_step == 0:
                safe(
                    integration,
                    "logging step metrics",
                    log,
                    _scalars(dict(trainer.callback_metrics)),
                    trainer.global_step,
                )

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if not getattr(trainer, "is_global_zero", True):
                return
            if trainer.current_epoch % every_epoch == 0:
                safe(
                    integration,
                    "logging epoch metrics",
                    log,
                    _scalars(dict(trainer.callback_metrics)),
                    trainer.current_epoch,
                )

        def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if not getattr(trainer, "is_global_zero", True):
                return
            if getattr(trainer, "sanity_checking", False):
                return
            if trainer.current_epoch % every_epoch == 0:
                safe(
                    integration,
                    "logging validation metrics",
                    log,
                    _scalars(dict(trainer.callback_metrics)),
                    trainer.current_epoch,
                )

        def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
            if not getattr(trainer, "is_global_zero", True):
                return
            safe(integration, "logging early stopping", _log_early_stopping, run, trainer)

    return CairnLightningCallback()


def _log_params(integration: Integration, run: Any, trainer: Any, pl_module: Any) -> None:
    params: Dict[str, Any] = {"epochs": trainer.max_epochs}
    optimizers = getattr(trainer, "optimizers", None) or []
    if optimizers:
        optimizer = optimizers[0]
        params["optimizer_name"] = type(optimizer).__name__
        for key, value in (getattr(optimizer, "defaults", None) or {}).items():
            if isinstance(value, (int, float, str, bool)):
                params[f"optimizer_{key}" if key != "lr" else "lr"] = value
    hparams = getattr(pl_module, "hparams", None)
    if hparams:
        for key, value in dict(hparams).items():
            params.setdefault(str(key), value)
    for key, value in _autolog.stringify_params(params).items():
        try:
            run.batcher.add_param(run.run_id, key, value)
        except Exception as exc:
            integration.warn("param not logged", exc)


def _log_early_stopping(run: Any, trainer: Any) -> None:
    now = int(time.time() * 1000)
    for callback in getattr(trainer, "callbacks", []) or []:
        if type(callback).__name__ != "EarlyStopping":
            continue
        for attr in ("stopped_epoch", "wait_count", "best_score"):
            value = getattr(callback, attr, None)
            if value is not None:
                try:
                    run.batcher.add_metric(
                        run.run_id, f"early_stopping_{attr}", float(value), 0, now
                    )
                except (TypeError, ValueError):
                    pass
        for attr in ("monitor", "patience", "min_delta", "mode"):
            value = getattr(callback, attr, None)
            if value is not None:
                try:
                    run.batcher.add_param(run.run_id, f"early_stopping_{attr}", str(value))
                except Exception:
                    pass


def _fit_wrapper(
    integration: Integration, original: Callable[..., Any], module: Any
) -> Callable[..., Any]:
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not integration.enabled or inside_autologged_call():
            return original(self, *args, **kwargs)
        with autolog_scope(), autolog_run(integration) as run:
            if run is None:
                return original(self, *args, **kwargs)
            callback = safe(
                integration, "adding the callback", _make_callback, module, integration, run
            )
            if callback is not None:
                self.callbacks = list(self.callbacks) + [callback]
            try:
                result = original(self, *args, **kwargs)
            finally:
                if callback is not None:
                    try:
                        self.callbacks = [c for c in self.callbacks if c is not callback]
                    except Exception:
                        pass
            module_ = _fitted_module(self, args, kwargs)
            if integration.config.get("log_models") and module_ is not None:
                if getattr(self, "is_global_zero", True):
                    safe(integration, "logging the model", _autolog_model, run, module_)
            return result

    return fit


def _fitted_module(trainer: Any, args: Any, kwargs: Dict[str, Any]) -> Any:
    module_ = kwargs.get("model", args[0] if args else None)
    return module_ if module_ is not None else getattr(trainer, "lightning_module", None)


def _autolog_model(run: Any, module_: Any) -> None:
    log_model(module_, "model", run_id=run.run_id)


# ---------------------------------------------------------------------- model flavor
#
# Tested by tests/test_pytorch_models.py and tests/test_autolog_lightning.py (scripts/test.sh
# installs torch, Lightning and Keras). See docs/models.md.

FLAVOR_NAME = "pytorch"
_MODEL_FILE = "model.pth"


def _pickle_module() -> "tuple[Any, str]":
    try:
        import cloudpickle

        return cloudpickle, "cloudpickle"
    except ImportError:
        import pickle

        return pickle, "pickle"


def save_model(
    pytorch_model: Any,
    path: str,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: Optional[Dict[str, Any]] = None,
    _model: Any = None,
) -> Any:
    """Saves a ``torch.nn.Module`` (the whole module, ``torch.save`` with cloudpickle as the
    pickle module when installed, so classes defined in ``__main__`` travel by value) to
    ``path``. Loading needs the same torch (and the module's code unless it was cloudpickled)."""
    import os
    from importlib import metadata as _md

    import torch

    from .exceptions import error_for
    from .models.model import Model, finish_model, pinned, prepare_dir

    if not isinstance(pytorch_model, torch.nn.Module):
        raise error_for(
            f"cairn.pytorch.save_model takes a torch.nn.Module, not {type(pytorch_model).__name__}",
            "INVALID_ARGUMENT",
        )
    prepare_dir(path)
    pickle_module, fmt = _pickle_module()
    torch.save(pytorch_model, os.path.join(path, _MODEL_FILE), pickle_module=pickle_module)
    try:
        version = _md.version("torch")
    except _md.PackageNotFoundError:
        version = str(torch.__version__)
    model = _model or Model()
    model.add_flavor(
        FLAVOR_NAME,
        loader_module="cairn.pytorch",
        data=_MODEL_FILE,
        pickle_module=fmt,
        model_class=f"{type(pytorch_model).__module__}.{type(pytorch_model).__qualname__}",
        library="torch",
        library_version=version,
    )
    model.add_flavor("python_function", loader_module="cairn.pytorch", data=_MODEL_FILE)
    reqs: List[Any] = ["torch", "numpy"]
    if fmt == "cloudpickle":
        reqs.append("cloudpickle")
    impl = _TorchPyfunc(pytorch_model)
    return finish_model(
        path,
        model,
        predict_fn=impl.predict,
        signature=signature,
        input_example=input_example,
        default_requirements=pinned(reqs),
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def log_model(
    pytorch_model: Any,
    artifact_path: str = "model",
    registered_model_name: Optional[str] = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: Optional[Dict[str, Any]] = None,
    run_id: Optional[str] = None,
) -> Any:
    """Logs a ``torch.nn.Module`` to the active run (see :func:`save_model`); registers it as a
    new version of ``registered_model_name`` when given."""
    from .models import log_model as _log_model

    return _log_model(
        save_model,
        artifact_path,
        registered_model_name=registered_model_name,
        run_id=run_id,
        pytorch_model=pytorch_model,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _torch_load(path: str, map_location: Any = None) -> Any:
    import torch

    try:
        # a whole module is a pickle: weights_only=False (torch >= 2.6 defaults to True)
        return torch.load(path, map_location=map_location, weights_only=False)
    except TypeError:  # torch < 1.13 has no weights_only
        return torch.load(path, map_location=map_location)


def load_model(model_uri: str, dst_path: Optional[str] = None, map_location: Any = None) -> Any:
    """The ``torch.nn.Module`` of a model (``runs:/``, ``models:/`` URI or local path)."""
    import os

    from .models import download_model
    from .models.model import Model

    local = download_model(model_uri, dst_path)
    conf = Model.load(local).flavor(FLAVOR_NAME, model_uri)
    return _torch_load(os.path.join(local, conf["data"]), map_location)


class _TorchPyfunc:
    """``predict``: the input (DataFrame, array, list or tensor) as a float32 tensor, the
    module in eval mode without gradients, the output as a numpy array."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, data: Any, params: Any = None) -> Any:
        import numpy as np
        import torch

        if isinstance(data, torch.Tensor):
            tensor = data
        else:
            values = data.to_numpy() if hasattr(data, "to_numpy") else np.asarray(data)
            if values.dtype.kind in ("f", "i", "u", "b"):
                values = values.astype(np.float32)
            tensor = torch.as_tensor(values)
        device = next((p.device for p in self.model.parameters()), None)
        if device is not None:
            tensor = tensor.to(device)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                out = self.model(tensor)
        finally:
            if was_training:
                self.model.train()
        if isinstance(out, torch.Tensor):
            return out.detach().cpu().numpy()
        return out


def _load_pyfunc(data_path: str, model_dir: str) -> _TorchPyfunc:
    return _TorchPyfunc(_torch_load(data_path))
