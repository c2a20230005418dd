"""Replace a directory atomically: the rename protocol and the clean-up of what killed writers leave.

A writer fills a scratch directory ``.tmp-<name>-<pid>`` beside the final one with :func:`write_durable`,
fsyncs it with :func:`fsync_dir`, then :func:`install_dir` renames it into place and fsyncs the parent.
Directories to delete are first renamed to ``.old-<name>-<pid>`` so that readers, which skip dot-directories,
never see them half deleted. :func:`remove_stale_scratch` deletes the scratch of writers no longer running.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ["discard_dir", "fsync_dir", "install_dir", "other_writer_alive", "remove_stale_scratch",
           "scratch_dir", "write_durable"]

SCRATCH_PREFIXES = (".tmp-", ".old-")


def scratch_dir(final: Path) -> Path:
    """Return the scratch directory ``.tmp-<name>-<pid>`` where this process builds ``final``."""
    return final.parent / f".tmp-{final.name}-{os.getpid()}"


def write_durable(path: Path, data: bytes) -> dict[str, Any]:
    """Write ``data`` to a new file, flush and fsync it; return its sha256 and size."""
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def fsync_dir(path: Path) -> None:
    """Make a directory's new entries and renames durable (a no-op off POSIX)."""
    if os.name == "posix":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def install_dir(tmp: Path, final: Path) -> None:
    """Rename the finished ``tmp`` to ``final``; an existing ``final`` is renamed away first, then deleted."""
    old = final.parent / f".old-{final.name}-{os.getpid()}"
    replacing = final.exists()
    if replacing:
        os.rename(final, old)
        fsync_dir(final.parent)
    try:
        os.rename(tmp, final)
    except OSError:
        if replacing:  # put the previous copy back rather than leave the step missing
            os.rename(old, final)
        raise
    fsync_dir(final.parent)
    if replacing:
        shutil.rmtree(old)


def discard_dir(path: Path) -> None:
    """Rename ``path`` to ``.old-<name>-<pid>`` (readers stop seeing it at once), then delete it."""
    doomed = path.parent / f".old-{path.name}-{os.getpid()}"
    os.rename(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def remove_stale_scratch(root: Path) -> None:
    """Delete ``.tmp-*``/``.old-*`` dirs of writers no longer running (or of this process)."""
    for entry in root.iterdir():
        pid = entry.name.rsplit("-", 1)[-1]
        if entry.name.startswith(SCRATCH_PREFIXES) and (not pid.isdigit() or not other_writer_alive(int(pid))):
            shutil.rmtree(entry, ignore_errors=True)


def other_writer_alive(pid: int) -> bool:
    """Return whether ``pid`` is another live process (always False off POSIX: one writer per run)."""
    if os.name != "posix" or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
