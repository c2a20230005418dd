"""The data cache: where fetched datasets live, and atomic writes of uint8 ``.npz`` caches.

The cache root is ``$GANFORGE_DATA`` or ``~/.cache/ganforge``; each dataset has a sub-folder named
after it. Caches are written to a temporary file in the same folder and moved into place with
``os.replace``, so an interrupted fetch never leaves a half-written cache behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ganforge.data.messages import one_line
from ganforge.errors import DataError

ENV_VAR = "GANFORGE_DATA"


def data_cache_dir() -> Path:
    """The root of the data cache: ``$GANFORGE_DATA`` if set and non-empty, else ``~/.cache/ganforge``."""
    root = os.environ.get(ENV_VAR)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "ganforge"


def dataset_dir(name: str) -> Path:
    """The cache folder of dataset ``name`` (may not exist yet)."""
    return data_cache_dir() / name


def _tmp_beside(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; caches are ordinary readable files
    return Path(tmp)


def write_atomic(target: Path, write: Callable[[Path], object]) -> None:
    """Fill a temporary file beside ``target`` with ``write(tmp)``, sync it to disk and move it into place with
    ``os.replace``; a failed write leaves neither the temporary file nor a partial ``target`` behind."""
    tmp = _tmp_beside(target)
    try:
        write(tmp)
        with open(tmp, "r+b") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file and ``os.replace``."""
    write_atomic(target, lambda tmp: tmp.write_bytes(data))


def copy_atomic(source: Path, target: Path) -> None:
    """Copy file ``source`` to ``target`` through a temporary file and ``os.replace``."""
    write_atomic(target, lambda tmp: shutil.copyfile(source, tmp))


def save_npz_atomic(target: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save ``arrays`` as an uncompressed ``.npz`` (fast to read back) at ``target``, atomically."""
    def save(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file, not a name: np.savez would add ".npz" to the name
            np.savez(f, **arrays)

    write_atomic(target, save)


def load_npz_split(target: Path, split: str, *, fetch_command: str) -> tuple[np.ndarray, np.ndarray]:
    """Read ``{split}_images`` and ``{split}_labels`` from a cache written by :func:`save_npz_atomic`.

    Args:
        target: the ``.npz`` file.
        split: "train" or "test".
        fetch_command: the shell command that (re)creates the cache, quoted in errors.

    Returns:
        images uint8 (N, H, W) or (N, C, H, W) and labels (N,), as stored.
    """
    try:
        with np.load(target, allow_pickle=False) as npz:
            return npz[f"{split}_images"], npz[f"{split}_labels"]
    except FileNotFoundError:
        raise DataError(f"{target} does not exist; run `{fetch_command}`") from None
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(
            f"cache file {target} is corrupt ({one_line(exc)}); delete it and run `{fetch_command}`"
        ) from None
