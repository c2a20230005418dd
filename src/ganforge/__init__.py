"""ganforge: train, sample and honestly evaluate generative adversarial networks.

Public API (explicit re-exports; importing ganforge runs nothing heavy):
    Config, resolve_config: the typed experiment config (``ganforge.config``).
    GanforgeError, DataError, ConfigError, CheckpointError, TrainingError, RunFolderError: errors.
    Registry: the one registry class.
"""

from ganforge import variants as _variants  # noqa: F401  (registers every model's config)
from ganforge.config import Config
from ganforge.config import resolve as resolve_config
from ganforge.errors import CheckpointError, ConfigError, DataError, GanforgeError, RunFolderError, TrainingError
from ganforge.registry import Registry

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
