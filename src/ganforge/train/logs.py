"""Training logs: JSONL scalars, TensorBoard event files and a progress display.

Every logged record is one JSON line in ``RUN/log.jsonl`` (``step`` plus scalars) and the same
scalars in TensorBoard (``RUN/tensorboard``). On a terminal a tqdm bar shows losses and it/s;
elsewhere plain periodic lines are printed. A run with a time budget (``deadline``) shows the time
left instead of a step total it will not reach.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tqdm import tqdm


class RunLogger:
    """Writes scalars to JSONL and TensorBoard and drives the progress display.

    Args:
        run_dir: the run folder.
        total: total generator steps.
        start: first step of this session.
        tensorboard: write TensorBoard events.
        stream: where progress goes (stderr).
        deadline: ``time.monotonic()`` value at which a time budget ends, or None.
    """

    def __init__(self, run_dir: Path, *, total: int, start: int, tensorboard: bool = True,
                 stream=None, deadline: float | None = None) -> None:
        self.path = Path(run_dir) / "log.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"), purge_step=start)
        self.stream = stream or sys.stderr
        self.total, self.deadline = total, deadline
        self._bar = None
        if self.stream.isatty():
            self._bar = tqdm(total=None if deadline is not None else total, initial=start, file=self.stream,
                             dynamic_ncols=True, unit="step")

    def _time_left(self) -> str:
        """``M:SS`` until the deadline (0:00 once past it)."""
        left = max(0, round(self.deadline - time.monotonic()))
        return f"{left // 60}:{left % 60:02d}"

    def _where(self, step: int) -> str:
        """``step N/total``, or ``step N (M:SS left)`` under a time budget."""
        if self.deadline is None:
            return f"step {step}/{self.total}"
        return f"step {step} ({self._time_left()} left)"

    def scalars(self, step: int, values: dict[str, float]) -> None:
        """Record ``values`` at generator step ``step`` (1-based count of finished steps)."""
        record = {"step": step, **{k: float(v) for k, v in values.items()}}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in values.items():
                self._tb.add_scalar(key, float(value), step)
        if self._bar is None:
            shown = " ".join(f"{k}={v:.4g}" for k, v in values.items())
            print(f"{self._where(step)} {shown}", file=self.stream, flush=True)

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

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._tb is not None:
            self._tb.flush()
            self._tb.close()
        self._file.close()


class NullLogger:
    """A :class:`RunLogger` that writes nothing (processes other than rank 0 of a distributed run)."""

    def scalars(self, step: int, values: dict[str, float]) -> None:
        pass

    def progress(self, step: int, values: dict[str, float]) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass
