"""One writer per run folder: an OS lock on ``RUN/.lock``, and a refusal of folders that are not runs.

:func:`claim_run_folder` is held by whatever writes a run folder (``train``, ``train --resume``, the
``--nproc`` launcher, the demo, experiments that train). It takes ``fcntl.flock(LOCK_EX | LOCK_NB)`` on
``RUN/.lock`` and writes the holder (pid, host, start time, command) into that file. The kernel drops a
flock when its holder's process ends, however it ends (``kill -9`` included), so a lock file left behind
never blocks the next run; its contents only name the holder when a second writer is refused. The file
is never deleted (deleting it would let two processes lock two different files). Readers (``sample``,
``evaluate``, ``report``) take no lock.

Before anything is written, a folder that exists, is not empty and is not a ganforge run (no
``.lock``, no ``checkpoints/``) is refused, so ``train --out`` never overwrites a user's own files.

Claims are re-entrant within a process (the demo holds its folder while ``train`` runs inside it). The
``train --nproc K`` launcher holds the lock itself and names its pid in ``GANFORGE_RUN_LOCK_PID`` for its
torchrun workers: a worker whose lock attempt finds exactly that pid as the holder goes on.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ganforge.errors import RunFolderError

__all__ = ["LAUNCHER_ENV", "LOCK_FILE", "check_run_folder", "claim_run_folder", "is_run_folder"]

LOCK_FILE = ".lock"
LAUNCHER_ENV = "GANFORGE_RUN_LOCK_PID"
_held: dict[Path, list] = {}  # resolved run folder -> [fd or None (the launcher holds it), claim count]


def is_run_folder(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a ganforge run (its lock file, or checkpoints of a run older than locks)."""
    return (run_dir / LOCK_FILE).exists() or (run_dir / LOCK_FILE).is_symlink() or (run_dir / "checkpoints").is_dir()


def check_run_folder(run_dir: Path) -> None:
    """Refuse a path that a run cannot be written into: a file, or a non-empty folder that is no run."""
    if not run_dir.exists() and not run_dir.is_symlink():
        return
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir} is a file, not a run folder; choose a new folder with --out")
    entries = sorted(os.listdir(run_dir))
    if entries and not is_run_folder(run_dir):
        shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
        raise RunFolderError(f"{run_dir} is not empty and not a ganforge run (it holds {shown}); nothing was "
                             "written to it; choose a new or empty folder with --out")


def _holder_record() -> dict:
    since = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": since, "command": sys.argv[:8]}


def _read_holder(fd: int) -> dict:
    """The holder's record, re-read for up to a second while it is being written (the holder writes it
    right after it locks)."""
    deadline = time.monotonic() + 1.0
    while True:
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
            if isinstance(record, dict) and isinstance(record.get("pid"), int):
                return record
        if time.monotonic() >= deadline:
            return {}
        time.sleep(0.05)


def _open_lock_file(run_dir: Path) -> int:
    """Open (create) ``RUN/.lock`` without following a symlink and refuse anything but a regular file."""
    path = run_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise RunFolderError(f"cannot open the run's lock file {path} ({exc.strerror}); remove it if it is a "
                             "link or not a file, or choose another --out") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise RunFolderError(f"the run's lock file {path} is not a regular file; remove it or choose another --out")
    return fd


def _refusal(run_dir: Path, holder: dict) -> RunFolderError:
    if not holder:
        return RunFolderError(f"run folder {run_dir} is being written by another process; wait for it to "
                              f"finish, then resume with: ganforge train --out {run_dir} --resume")
    pid, host = holder["pid"], holder.get("host", "?")
    return RunFolderError(f"run folder {run_dir} is being written by another ganforge process (pid {pid} on host "
                          f"{host}, since {holder.get('since', '?')}); wait for it to finish, or stop it with "
                          f"`kill {pid}` (it checkpoints), then resume with: ganforge train --out {run_dir} --resume")


def _lock(run_dir: Path) -> int | None:
    """Lock ``run_dir``; returns the lock's fd, or None when this process's launcher holds it."""
    fd = _open_lock_file(run_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        launcher = os.environ.get(LAUNCHER_ENV)
        if launcher and holder.get("pid") == int(launcher) and holder.get("host") == socket.gethostname():
            return None
        raise _refusal(run_dir, holder) from None
    with contextlib.suppress(OSError):  # a full disk: the lock holds all the same; a refused writer then cannot name us
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(_holder_record()) + "\n").encode("utf-8"), 0)
    return fd


@contextlib.contextmanager
def claim_run_folder(run_dir: str | Path) -> Iterator[Path]:
    """Hold ``run_dir`` as its one writer for the ``with`` block (creating it; re-entrant per process).

    Raises:
        RunFolderError: another process holds it (the message names its pid and host), or it is a file
            or a non-empty folder that is not a ganforge run.
    """
    run_dir = Path(run_dir)
    key = run_dir.resolve()
    if key in _held:
        _held[key][1] += 1
    else:
        check_run_folder(run_dir)
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunFolderError(f"cannot create run folder {run_dir} ({exc.strerror}); choose another --out") from None
        _held[key] = [_lock(run_dir), 1]
    try:
        yield run_dir
    finally:
        _held[key][1] -= 1
        if _held[key][1] == 0:
            fd = _held.pop(key)[0]
            if fd is not None:
                os.close(fd)  # closing the only descriptor releases the flock
