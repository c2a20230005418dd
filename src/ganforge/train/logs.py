"""Training logs: JSONL scalars, TensorBoard event files, an experiment tracker and a progress display.

Every logged record is one JSON line in ``RUN/log.jsonl`` (``step`` plus scalars) and the same
scalars in TensorBoard (``RUN/tensorboard``) and in a tracker (MLflow, :mod:`ganforge.train.mlflow_log`), each
where ``train.log_to`` names it; a tracker also gets the sample grids. On a terminal a tqdm bar shows losses and it/s;
elsewhere plain periodic lines are printed. A run with a time budget (``deadline``) shows the time
left instead of a step total it will not reach.

Writing a log is never fatal: an OSError (a full disk, say) while writing a log line or TensorBoard
events prints one warning line and training goes on without that log for the rest of the session
(checkpoints are written as before); so is any failure of a tracker (a server gone). :func:`read_log` reads
``log.jsonl`` back, dropping a torn last
line (what a full disk or a killed writer leaves) or damaged lines and saying so.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from ganforge.data.cache import write_bytes_atomic


@dataclass
class LogRecords:
    """What :func:`read_log` found: the good records, their lines as written, and what was dropped.

    Attributes:
        records: dicts with an integer ``step``, in file order.
        lines: the text of each kept record's line (no newline).
        dropped: one sentence on dropped lines (a torn tail, damaged lines), or None.
    """

    records: list[dict] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    dropped: str | None = None


def _record(line: bytes) -> dict | None:
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    step = record.get("step") if isinstance(record, dict) else None
    return record if isinstance(step, int) and not isinstance(step, bool) else None


def read_log(path: Path) -> LogRecords:
    """The records of a ``log.jsonl``; a torn last line or damaged lines are dropped and named in ``dropped``."""
    return parse_log(path.read_bytes(), str(path)) if path.is_file() else LogRecords()


def parse_log(data: bytes, source: str) -> LogRecords:
    """:func:`read_log` of bytes already read; ``source`` names the file in ``dropped``."""
    out = LogRecords()
    lines = data.split(b"\n")
    bad = [i for i, line in enumerate(lines) if line.strip() and _record(line) is None]
    for i, line in enumerate(lines):
        if line.strip() and i not in bad:
            out.records.append(_record(line))
            out.lines.append(line.decode("utf-8"))
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    parts = []
    if last in bad:
        parts.append(f"a torn last line ({len(lines[last])} bytes, as a full disk or a killed writer leaves)")
    damaged = len([i for i in bad if i != last])
    if damaged:
        parts.append(f"{damaged} damaged line(s)")
    if parts:
        out.dropped = f"{source}: dropped {' and '.join(parts)}"
    return out


def truncate_log(path: Path, step: int) -> None:
    """Keep the records of ``log.jsonl`` up to ``step`` (a resume drops what an interrupted session logged
    after its last checkpoint) and drop a torn or damaged line, saying so in one warning line."""
    if not path.exists():
        return
    log = read_log(path)
    if log.dropped:
        print(f"ganforge: warning: {log.dropped}; resuming without it", file=sys.stderr, flush=True)
    kept = [line for line, record in zip(log.lines, log.records, strict=True) if record["step"] <= step]
    write_bytes_atomic(path, "".join(line + "\n" for line in kept).encode())


class Tracker(Protocol):
    """An experiment tracker fed by :class:`RunLogger` (:class:`ganforge.train.mlflow_log.MlflowTracker`)."""

    def scalars(self, step: int, values: dict[str, float]) -> None: ...

    def sample_grid(self, path: Path, step: int) -> None: ...

    def close(self, status: str = "FINISHED") -> None: ...


class RunLogger:
    """Writes scalars to JSONL, TensorBoard and a tracker and drives the progress display.

    Args:
        run_dir: the run folder.
        total: total generator steps.
        start: first step of this session.
        tensorboard: write TensorBoard events.
        stream: where progress goes (stderr).
        deadline: ``time.monotonic()`` value at which a time budget ends, or None.
        tracker: an open experiment tracker (MLflow) that also gets the scalars and the sample grids, or None.
    """

    def __init__(self, run_dir: Path, *, total: int, start: int, tensorboard: bool = True,
                 stream=None, deadline: float | None = None, tracker: Tracker | None = None) -> None:
        self.path = Path(run_dir) / "log.jsonl"
        self.stream = stream or sys.stderr
        self.total, self.deadline, self._tracker = total, deadline, tracker
        self._file = self._tb = self._bar = None
        self._warned: set[str] = set()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            self.write_failed(str(self.path), exc)
        if tensorboard:
            self._open_tensorboard(Path(run_dir) / "tensorboard", start)
        if self.stream.isatty():
            self._bar = tqdm(total=None if deadline is not None else total, initial=start, file=self.stream,
                             dynamic_ncols=True, unit="step")

    def _open_tensorboard(self, folder: Path, start: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        try:
            self._tb = SummaryWriter(log_dir=str(folder), purge_step=start)
        except OSError as exc:
            self.write_failed("TensorBoard events", exc)
            return
        quiet_writer_thread_errors()

    def write_failed(self, what: str, exc: OSError, then: str = "without it until the next resume") -> None:
        """One warning line (the first time per ``what``) for a failed write that training survives."""
        if what in self._warned:
            return
        self._warned.add(what)
        self.message(f"ganforge: warning: could not write {what} ({exc.strerror or exc}); training goes on "
                     f"{then} and checkpoints are still written; free space or fix the run folder")

    def _time_left(self) -> str:
        """``M:SS`` until the deadline (0:00 once past it)."""
        left = max(0, round(self.deadline - time.monotonic()))
        return f"{left // 60}:{left % 60:02d}"

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Record ``values`` at generator step ``step`` (1-based count of finished steps)."""
        record = {"step": step, **{k: float(v) for k, v in values.items()}}
        if self._file is not None:
            try:
                self._file.write(json.dumps(record) + "\n")
                self._file.flush()
            except OSError as exc:  # stop writing: a second partial line would tear the file mid-way
                self.write_failed(str(self.path), exc)
                self._file = _close_quietly(self._file)
        if self._tb is not None:
            try:
                for key, value in values.items():
                    self._tb.add_scalar(key, float(value), step)
            except OSError as exc:
                self.write_failed("TensorBoard events", exc)
                self._tb = _close_quietly(self._tb)
        self._to_tracker("scalars", step, values)
        if self._bar is None:
            shown = " ".join(f"{k}={v:.4g}" for k, v in values.items())
            where = f"step {step}/{self.total}" if self.deadline is None else f"step {step} ({self._time_left()} left)"
            print(f"{where} {shown}", file=self.stream, flush=True)

    def sample_grid(self, path: Path, step: int) -> None:
        """Hand the sample grid written at ``path`` for step ``step`` to the tracker."""
        self._to_tracker("sample_grid", path, step)

    def _to_tracker(self, method: str, *args) -> None:
        """Call the tracker; any failure (a server gone, a full disk) is one warning line and the end of
        tracking for this session: a tracker must never end training."""
        if self._tracker is None:
            return
        try:
            getattr(self._tracker, method)(*args)
        except Exception as exc:
            line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            self.message(f"ganforge: warning: could not write to the experiment tracker ({line}); training goes "
                         "on without it until the next resume and checkpoints are still written")
            self._tracker = None

    def progress(self, step: int, values: dict[str, float]) -> None:
        """Advance the bar to ``step`` and show the latest losses."""
        if self._bar is not None:
            self._bar.n = step
            shown = {k: f"{v:.3g}" for k, v in values.items()}
            if self.deadline is not None:
                shown["left"] = self._time_left()
            self._bar.set_postfix(shown, refresh=False)
            self._bar.refresh()

    def message(self, text: str) -> None:
        """A line for the user that does not break the bar."""
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self, status: str = "FINISHED") -> None:
        """Close every log; the tracker's run ends with ``status`` (FINISHED, KILLED after a signal, FAILED)."""
        self._to_tracker("close", status)
        self._tracker = None
        if self._bar is not None:
            self._bar.close()
        for what, handle in (("TensorBoard events", self._tb), (str(self.path), self._file)):
            if handle is None:
                continue
            try:
                handle.flush()
                handle.close()
            except OSError as exc:
                self.write_failed(what, exc)
                _close_quietly(handle)
        self._tb = self._file = None


def quiet_writer_thread_errors() -> None:
    """Keep TensorBoard's writer thread from printing a traceback when a write fails (a full disk): its
    OSError is raised again by the next ``add_scalar``, where :class:`RunLogger` turns it into one line."""
    if getattr(threading.excepthook, "ganforge_quiet", False):
        return
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if isinstance(args.exc_value, OSError) and type(args.thread).__name__ == "_AsyncWriterThread":
            return
        previous(args)

    hook.ganforge_quiet = True  # type: ignore[attr-defined]
    threading.excepthook = hook


def _close_quietly(handle) -> None:
    """Close a file or SummaryWriter whose writes failed, ignoring a second failure; returns None."""
    with contextlib.suppress(OSError):
        handle.close()


class NullLogger:
    """A :class:`RunLogger` that writes nothing (processes other than rank 0 of a distributed run)."""

    def scalars(self, step: int, values: dict[str, float]) -> None:
        pass

    def progress(self, step: int, values: dict[str, float]) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def write_failed(self, what: str, exc: OSError, then: str = "") -> None:
        pass

    def sample_grid(self, path: Path, step: int) -> None:
        pass

    def close(self, status: str = "FINISHED") -> None:
        pass
