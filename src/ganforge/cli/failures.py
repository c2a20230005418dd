"""One line for each failure that reaches the command line: OS errors, running out of memory, the rest.

:func:`ganforge.cli.main` maps every :class:`~ganforge.errors.GanforgeError` to its own message; the
operating system's refusals (a read-only or missing folder, a full disk, a path that is a folder) and
memory exhaustion are turned into one line here, naming the path, the errno and a fix that works: a shell
command (``mkdir -p``, ``chmod``, ``df -h``) or a flag. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

MEMORY_FIX = ("ask for less: a smaller --n, --set train.batch_size=N or a smaller model; check the inputs' "
              "sizes with `ls -l`")


def _in_data_cache(path: Path) -> bool:
    from ganforge.data import data_cache_dir

    try:
        return path.resolve().is_relative_to(data_cache_dir().resolve())
    except (OSError, RuntimeError):
        return False


def _fix(exc: OSError, path: Path | None) -> str:
    code = exc.errno
    if path is not None and code == errno.ENOENT:
        parent = path.parent
        if str(parent) not in ("", ".") and not parent.exists():
            return f"its folder {parent} does not exist; create it with `mkdir -p {parent}` or pass another path"
        return "check the path (`ls -l` it) or pass another one"
    if path is not None and code in (errno.EACCES, errno.EPERM):
        if _in_data_cache(path):
            return ("the data cache is not writable: set GANFORGE_DATA=DIR to a writable folder (evaluate can also "
                    "skip its feature cache with --no-cache)")
        folder = path if path.is_dir() else path.parent
        return f"pass a path in a folder you can write, or make it writable with `chmod u+w {folder}`"
    if code == errno.EROFS:
        return "the file system is read-only: pass a path on a writable one"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full: free space (`df -h` shows it) or write to another disk"
    if code == errno.EISDIR:
        return "it is a folder: pass a file path"
    if code == errno.ENOTDIR:
        return "a part of the path is a file, not a folder: pass another path"
    if code == errno.ENOMEM:
        return MEMORY_FIX
    return "check the path (`ls -l` it) and try again"


def os_error_line(exc: OSError) -> str:
    """One line for an ``OSError``: what failed (path, errno name, reason) and a fix that works."""
    raw = exc.filename
    path = Path(os.fsdecode(raw)) if isinstance(raw, (str, bytes, os.PathLike)) else None
    name = errno.errorcode.get(exc.errno, "") if exc.errno is not None else ""
    reason = exc.strerror or type(exc).__name__
    where = f"{path}: " if path is not None else ""
    code = f" ({name})" if name else ""
    if path is None and not exc.strerror:
        reason = " ".join(str(exc).split()) or type(exc).__name__
    return f"{where}{reason}{code}; {_fix(exc, path)}"


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a refused allocation (numpy's and Python's MemoryError, torch's allocator errors)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text.lower())


def unexpected_line(exc: BaseException) -> str:
    """One line for an exception no check turned into a GanforgeError: out of memory, or an unchecked input
    (or a bug), named with its type and first line, and the flag that shows where it came from."""
    text = " ".join(str(exc).split())
    if is_out_of_memory(exc):  # with the allocation that failed when the message names it
        return f"out of memory{f' ({text[:160]})' if text else ''}; {MEMORY_FIX}"
    return (f"unexpected {type(exc).__name__}{': ' + text[:200] if text else ''} (an input ganforge does not check "
            "yet, or a bug); rerun with --debug for the traceback and report it")
