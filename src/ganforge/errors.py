"""Errors that ganforge raises on bad input: one line naming the problem and the fix.

The CLI maps every :class:`GanforgeError` to a single line on stderr and exit status 2
(``--debug`` shows the traceback). Library users catch the specific kinds.
"""

from __future__ import annotations


class GanforgeError(Exception):
    """Base of every error ganforge raises on purpose; its message is one line."""


class DataError(GanforgeError):
    """A dataset is missing, corrupt, fails its checksum, or is in an unexpected format."""


class ConfigError(GanforgeError):
    """A config key is unknown, a value has the wrong type, or a preset does not exist."""


class CheckpointError(GanforgeError):
    """A checkpoint is missing, corrupt, or belongs to another model or config."""


class TrainingError(GanforgeError):
    """Training cannot go on (for example a NaN or Inf loss)."""


class RunFolderError(GanforgeError):
    """A run folder is being written by another process, or a folder given as a run is not one."""
