"""Autologging plumbing: reversible monkey-patches, post-import hooks, safe run handling.

Each integration (``cairn.sklearn``, ``cairn.xgboost``, ``cairn.lightgbm``, ``cairn.pytorch``,
``cairn.keras``)
patches its library only when the library is imported: right away if it already is, else
through an import hook that fires when the user imports it. Nothing here imports a library
that the user's code does not import. ``autolog(disable=True)`` puts every original back.

Autologging must never break training: errors in our own logging are logged as warnings
(once per integration and message) and the user's call proceeds.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import logging
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

_log = logging.getLogger("cairn")

_ORIGINAL = "__cairn_original__"


@dataclass
class Integration:
    name: str
    modules: Tuple[str, ...]  # importing any of these triggers patching
    patch: Callable[["Integration"], None]
    config: Dict[str, Any] = field(default_factory=dict)
    enabled: bool = False
    patched: List[Tuple[Any, str, Any, bool]] = field(default_factory=list)
    patched_modules: Set[str] = field(default_factory=set)
    warned: Set[str] = field(default_factory=set)

    # -- patching -----------------------------------------------------------------------

    def wrap(self, owner: Any, name: str, make: Callable[[Any], Callable[..., Any]]) -> bool:
        """Replaces ``owner.name`` by ``make(original)``; remembers how to undo it."""
        had_own = name in getattr(owner, "__dict__", {})
        original = owner.__dict__[name] if had_own else getattr(owner, name, None)
        if original is None or getattr(original, _ORIGINAL, None) is not None:
            return False
        func = original
        wrapper_kind: Optional[type] = None
        if isinstance(original, (staticmethod, classmethod)):
            wrapper_kind = type(original)
            func = original.__func__
        elif not inspect.isfunction(original):
            # scikit-learn's ``available_if`` descriptors keep the method in ``.fn``: patch
            # that, so the descriptor's availability check keeps working.
            inner = getattr(original, "fn", None)
            if had_own and inspect.isfunction(inner):
                return self.wrap(original, "fn", make)
            return False
        replacement = make(func)
        try:
            functools.update_wrapper(replacement, func)
        except (AttributeError, TypeError):
            pass
        setattr(replacement, _ORIGINAL, func)
        setattr(owner, name, wrapper_kind(replacement) if wrapper_kind else replacement)
        self.patched.append((owner, name, original, had_own))
        return True

    def restore(self) -> None:
        for owner, name, original, had_own in reversed(self.patched):
            try:
                if had_own:
                    setattr(owner, name, original)
                else:
                    delattr(owner, name)
            except (AttributeError, TypeError):
                pass
        self.patched.clear()
        self.patched_modules.clear()

    def warn(self, what: str, exc: BaseException) -> None:
        message = f"{what}: {type(exc).__name__}: {exc}"
        if message not in self.warned and not self.config.get("silent"):
            self.warned.add(message)
            _log.warning("cairn %s autologging: %s", self.name, message)

    def apply(self) -> None:
        if not self.enabled:
            return
        try:
            self.patch(self)
        except Exception as exc:
            self.warn("could not enable autologging", exc)


# ---------------------------------------------------------------------- nesting


_depth_lock = threading.Lock()
_depth = 0


@contextlib.contextmanager
def autolog_scope() -> Iterator[bool]:
    """Yields True for the outermost autologged call; nested calls (a Pipeline fitting its
    steps, a search fitting candidates, XGBoost's sklearn wrapper calling ``xgboost.train``)
    yield False and are not logged on their own. Process-wide on purpose: candidate fits run
    on other threads under joblib's threading backend."""
    global _depth
    with _depth_lock:
        outermost = _depth == 0
        _depth += 1
    try:
        yield outermost
    finally:
        with _depth_lock:
            _depth -= 1


def inside_autologged_call() -> bool:
    return _depth > 0


# ---------------------------------------------------------------------- runs


@contextlib.contextmanager
def autolog_run(integration: Integration) -> Iterator[Optional[Any]]:
    """The run to log into: the active run, else one started here and ended afterwards
    (FAILED if the training raised). Yields None when ``exclusive`` forbids logging into a
    run the user started."""
    from . import fluent

    active = fluent.active_run()
    if active is not None:
        if integration.config.get("exclusive"):
            yield None
        else:
            yield active
        return
    try:
        tags = dict(integration.config.get("extra_tags") or {})
        tags["cairn.autologging"] = integration.name
        run = fluent.start_run(tags=tags)
    except Exception as exc:
        integration.warn("could not start a run", exc)
        yield None
        return
    try:
        yield run
    except BaseException:
        _end_quietly(integration, run, "FAILED")
        raise
    _end_quietly(integration, run, "FINISHED")


def _end_quietly(integration: Integration, run: Any, status: str) -> None:
    from . import fluent

    try:
        if fluent.active_run() is run:
            fluent.end_run(status)
    except Exception as exc:
        integration.warn("could not end the run", exc)


def safe(
    integration: Integration, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """Calls our own logging code; an error becomes a warning, never the user's problem."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        integration.warn(what, exc)
        return None


def stringify_params(params: Dict[str, Any], limit: int = 6000) -> Dict[str, str]:
    from ._validation import _KEY

    out: Dict[str, str] = {}
    for key, value in params.items():
        key = str(key)
        if not _KEY.match(key) or len(key) > 250:
            continue
        text = (
            value if isinstance(value, str) else repr(value) if _is_callable(value) else str(value)
        )
        out[key] = text if len(text) <= limit else text[: limit - 3] + "..."
    return out


def _is_callable(value: Any) -> bool:
    return callable(value) and not isinstance(value, type)


# ---------------------------------------------------------------------- import hooks


_registry: Dict[str, Integration] = {}
_hooked: Dict[str, List[Integration]] = {}


class _HookedLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, fullname: str) -> None:
        self._loader = loader
        self._fullname = fullname

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        for integration in list(_hooked.get(self._fullname, [])):
            integration.apply()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _PostImportFinder(importlib.abc.MetaPathFinder):
    _busy: Set[str] = set()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in _hooked or fullname in self._busy:
            return None
        self._busy.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy.discard(fullname)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _HookedLoader(spec.loader, fullname)
        return spec


_finder = _PostImportFinder()


def _install_finder() -> None:
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def register(integration: Integration) -> Integration:
    _registry[integration.name] = integration
    return integration


def enable(integration: Integration, config: Dict[str, Any]) -> None:
    """Patches now if the library is imported, else when it is (if it is installed at all)."""
    disable(integration)
    integration.config = dict(config)
    integration.enabled = True
    imported = [m for m in integration.modules if m in sys.modules]
    if imported:
        integration.apply()
        return
    for module in integration.modules:
        if _installed(module):
            _hooked.setdefault(module, []).append(integration)
            _install_finder()


def disable(integration: Integration) -> None:
    integration.enabled = False
    integration.restore()
    for hooks in _hooked.values():
        if integration in hooks:
            hooks.remove(integration)


def _installed(module: str) -> bool:
    top = module.split(".")[0]
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


# ---------------------------------------------------------------------- autolog()


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: Optional[int] = 5,
    log_post_training_metrics: bool = True,
    extra_tags: Optional[Dict[str, str]] = None,
) -> None:
    """Turns on autologging for every supported library that is installed: scikit-learn,
    XGBoost, LightGBM, PyTorch Lightning and Keras. ``disable=True`` turns it off and restores
    the libraries' original functions.

    ``log_models``: the trained model (estimator, booster, LightningModule, Keras model) is
    logged at ``model`` of the run, in its library's flavor.
    """
    from . import keras as _keras
    from . import lightgbm as _lgb
    from . import pytorch as _pt
    from . import sklearn as _sk
    from . import xgboost as _xgb

    common = dict(
        log_models=log_models,
        disable=disable,
        exclusive=exclusive,
        silent=silent,
        extra_tags=extra_tags,
    )
    _sk.autolog(
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        max_tuning_runs=max_tuning_runs,
        log_post_training_metrics=log_post_training_metrics,
        **common,  # type: ignore[arg-type]
    )
    _xgb.autolog(**common)  # type: ignore[arg-type]
    _lgb.autolog(**common)  # type: ignore[arg-type]
    _pt.autolog(**common)  # type: ignore[arg-type]
    _keras.autolog(**common)  # type: ignore[arg-type]
