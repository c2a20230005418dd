"""ganforge: train, sample and honestly evaluate generative adversarial networks.

Public API (explicit re-exports; importing ganforge runs nothing heavy):
    Config, resolve_config: the typed experiment config (``ganforge.config``).
    GanforgeError, DataError, ConfigError, CheckpointError, TrainingError, RunFolderError: errors.
    Registry: the one registry class.
"""

import os
import signal
import sys
import threading


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

from ganforge import variants as _variants  # noqa: E402, F401  (registers every model's config)
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

if _ctrl_c is not None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if _ctrl_c:
        print("ganforge: interrupted", file=sys.stderr)
        raise SystemExit(130)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "Config",
    "ConfigError",
    "DataError",
    "GanforgeError",
    "Registry",
    "RunFolderError",
    "TrainingError",
    "__version__",
    "resolve_config",
]
