"""ganforge: train, sample and honestly evaluate generative adversarial networks.

Public API (explicit re-exports; ``import ganforge`` imports neither torch nor any model):
    train, open_run, evaluate, OpenedRun: train a model, sample a run, measure samples from Python
        (``ganforge.api``; loaded on first use).
    metrics: the metric math on feature tensors (``ganforge.metrics``: ddm, fid, kid, ...; loaded on first use).
    Config, resolve_config: the typed experiment config (``ganforge.config``).
    GanforgeError, DataError, ConfigError, CheckpointError, TrainingError, RunFolderError: errors.
    Registry: the one registry class.

The models (``ganforge.variants``, which imports torch) register their config sections the first time a config
asks for one (``config.MODEL_CONFIGS.fill_on_first_use``), so every path that resolves a ``model`` section
registers them first. The ``ganforge`` command imports them at once, under its Ctrl-C guard.
"""

import importlib
import os
import signal
import sys
import threading
import types
from typing import Any


def _started_by_cli() -> bool:
    """Whether this process is the ``ganforge`` command (its console script or ``python -m ganforge``)."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    as_module = "-mganforge" in argv or any(argv[i:i + 2] == ["-m", "ganforge"] for i in range(len(argv)))
    return as_module or os.path.basename(sys.argv[0]) == "ganforge"


def _defer_ctrl_c() -> list[int] | None:
    """Under the CLI, make Ctrl-C during the imports below (torch takes a second or two) only set a flag: a
    KeyboardInterrupt inside a third-party import can leave it half-imported and end in an unrelated traceback.
    Returns the flag list (None when not deferred: a library import, or not the main thread)."""
    if not _started_by_cli() or threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return None
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    return caught


_ctrl_c = _defer_ctrl_c()

from ganforge.config import MODEL_CONFIGS as _MODEL_CONFIGS  # noqa: E402
from ganforge.config import Config  # noqa: E402
from ganforge.config import resolve as resolve_config  # noqa: E402
from ganforge.errors import (  # noqa: E402
    CheckpointError,
    ConfigError,
    DataError,
    GanforgeError,
    RunFolderError,
    TrainingError,
)
from ganforge.registry import Registry  # noqa: E402


def _register_models() -> None:
    """Import ``ganforge.variants``: each model's module registers its spec and config section."""
    import ganforge.variants  # noqa: F401


_MODEL_CONFIGS.fill_on_first_use(_register_models)
if _started_by_cli():
    _register_models()  # the command needs them at once; Ctrl-C during torch's import stays one line

if _ctrl_c is not None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if _ctrl_c:
        print("ganforge: interrupted", file=sys.stderr)
        raise SystemExit(130)

__version__ = "0.1.0"

class _TrainPackage(types.ModuleType):
    """``ganforge.train`` is both the training subpackage and the API's ``train`` function: importing a submodule
    (``ganforge.train.trainer``) sets the package as the attribute, so the package itself is made callable."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        """:func:`ganforge.api.train`: train a model from Python; returns the training summary."""
        from ganforge.api import train

        return train(*args, **kwargs)


# make ``ganforge.train`` (the subpackage: a docstring, no torch) callable as :func:`ganforge.api.train`
importlib.import_module("ganforge.train").__class__ = _TrainPackage

_LAZY = {"open_run": "ganforge.api", "evaluate": "ganforge.api",
         "OpenedRun": "ganforge.api", "metrics": None, "api": None}


def __getattr__(name: str) -> Any:
    """PEP 562: the Python API and the metric math load (with torch) when first used, not at ``import ganforge``."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _LAZY[name]
    value = importlib.import_module(f"ganforge.{name}") if module is None else getattr(importlib.import_module(module),
                                                                                       name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CheckpointError",
    "Config",
    "ConfigError",
    "DataError",
    "GanforgeError",
    "OpenedRun",
    "Registry",
    "RunFolderError",
    "TrainingError",
    "__version__",
    "evaluate",
    "metrics",
    "open_run",
    "resolve_config",
    "train",
]
