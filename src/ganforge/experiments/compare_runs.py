"""Training half of ``ganforge experiment compare``: one run trained to its budget, resumable.

Each run is an ordinary run folder written by the trainer (``train.trainer.train``, what ``ganforge train``
runs). The budget is either generator steps (``train.steps`` = N) or wall-clock seconds, where
``train.steps`` is set out of reach (``TIME_BUDGET_STEPS``) and the trainer's time limit (``max_seconds``,
``ganforge train --max-minutes``) stops it. The seconds a run has trained are kept beside it in
``RUN/compare_budget.json`` ({"budget": "steps" | "minutes", "trained_seconds", "session_started"}),
since the trainer's ``summary.json`` holds only its last session:

1. Before a session, ``session_started`` (the wall-clock time) is written; after it, the session's
   ``wall_s`` is added to ``trained_seconds`` and ``session_started`` cleared.
2. A session that was killed (``kill -9``, a power cut) leaves ``session_started`` set: the time from
   its start to its last checkpoint is counted (the work kept), the steps after that checkpoint are lost
   and trained again.
3. A run is finished when its latest checkpoint is at step N (steps), or when ``trained_seconds`` reaches
   the budget (minutes); it is then reused without training. Otherwise it resumes from its latest
   checkpoint through the trainer (bit-for-bit the uninterrupted run under a step budget), for the
   seconds left of a time budget. A larger budget later extends finished runs the same way.
4. A run of another config (``train.steps`` aside), of the other kind of budget, or trained beyond the
   budget is refused in one line, never overwritten.

Ctrl-C or SIGTERM during a session: the trainer finishes the step and checkpoints, the seconds are
counted, and the experiment stops with ``KeyboardInterrupt``; the same command resumes it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganforge.config import Config
from ganforge.data.cache import write_bytes_atomic
from ganforge.errors import ConfigError, RunFolderError
from ganforge.train.checkpoint import latest_checkpoint
from ganforge.train.resume_config import differences_from_saved
from ganforge.train.run_lock import claim_run_folder
from ganforge.train.trainer import train

STATE_FILE = "compare_budget.json"
TIME_BUDGET_STEPS = 10**9  # train.steps under a time budget: the clock stops the run, not the step count
SECONDS_SLACK = 1e-3  # the trainer rounds wall_s to 1 ms: a time-limited session may fall short by 0.5 ms


def read_state(run_dir: Path, kind: str) -> dict[str, Any]:
    """The run's budget record (a fresh one for a run without checkpoints); one of another budget kind, or a
    run with checkpoints but no record (not trained by this experiment), is refused."""
    path = run_dir / STATE_FILE
    if not path.is_file():
        if latest_checkpoint(run_dir) is not None:
            raise RunFolderError(f"{run_dir} holds a run that `ganforge experiment compare` did not train (no "
                                 f"{STATE_FILE}), so its training time is unknown; delete it or choose another --out")
        return {"budget": kind, "trained_seconds": 0.0, "session_started": None}
    try:
        state = json.loads(path.read_text())
        ok = isinstance(state, dict) and isinstance(state.get("trained_seconds"), (int, float))
    except (ValueError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise RunFolderError(f"{path} is damaged; delete the run folder {run_dir} (it is retrained) or choose "
                             "another --out")
    if state.get("budget") != kind:
        other = "--minutes" if state.get("budget") == "minutes" else "--steps"
        raise ConfigError(f"{run_dir} was trained under a {other} budget, not --{kind}; choose another --out")
    return state


def write_state(run_dir: Path, state: dict[str, Any]) -> None:
    write_bytes_atomic(run_dir / STATE_FILE, (json.dumps(state) + "\n").encode())


def count_killed_session(state: dict[str, Any], run_dir: Path) -> None:
    """Add the time from a killed session's start to its last checkpoint (point 2 of the module docstring)."""
    started = state.get("session_started")
    if started is None:
        return
    latest = latest_checkpoint(run_dir)
    saved_at = os.stat(latest / "state.json").st_mtime if latest is not None else started
    state["trained_seconds"] += max(0.0, saved_at - float(started))
    state["session_started"] = None


def check_same_config(cfg: Config, run_dir: Path, latest: Path) -> int:
    """The step of the run's latest checkpoint, after refusing a run of another config (``train.steps`` aside)."""
    differ = differences_from_saved(cfg, latest)
    if differ:
        raise ConfigError(f"{run_dir} holds a run of another config (it differs in {', '.join(differ[:5])}); "
                          "delete it or choose another --out")
    return int(latest.name)


def budget_left(state: dict[str, Any], step: int, steps: int | None, minutes: float | None,
                run_dir: Path) -> float | None:
    """Seconds (time budget) or steps (step budget) still to train: 0 when finished; a run past its budget
    is refused."""
    if steps is not None:
        if step > steps:
            raise ConfigError(f"{run_dir} is trained to step {step}, beyond --steps {steps}; choose another --out")
        return float(steps - step)
    assert minutes is not None
    left = 60.0 * minutes - state["trained_seconds"]
    return left if left > SECONDS_SLACK else 0.0


def train_to_budget(cfg: Config, run_dir: Path, *, steps: int | None, minutes: float | None,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train ``cfg`` into ``run_dir`` until its budget (exactly one of ``steps`` and ``minutes``) is spent,
    reusing or resuming what the folder holds.

    Returns:
        {"steps": the latest checkpoint's step, "train_seconds": seconds trained over all sessions,
        "trained_now": whether this call trained, "stopped_by": the trainer's reason or None}.
    """
    kind = "steps" if steps is not None else "minutes"
    with claim_run_folder(run_dir):
        state = read_state(run_dir, kind)
        count_killed_session(state, run_dir)
        latest = latest_checkpoint(run_dir)
        step = check_same_config(cfg, run_dir, latest) if latest is not None else 0
        left = budget_left(state, step, steps, minutes, run_dir)
        if left == 0:
            log(f"reusing the finished run {run_dir} ({step} steps, {state['trained_seconds']:.1f} s)")
            return {"steps": step, "train_seconds": state["trained_seconds"], "trained_now": False,
                    "stopped_by": None}
        log(f"training {run_dir} from step {step}: " + (f"{int(left)} steps" if steps else f"{left:.1f} s") + " left")
        state["session_started"] = time.time()
        write_state(run_dir, state)
        summary = train(cfg, run_dir, resume=latest is not None, max_seconds=None if steps else left)
        state["trained_seconds"] += summary["wall_s"]
        state["session_started"] = None
        write_state(run_dir, state)
    if summary.get("stopped_by") not in (None, "time limit"):
        log(f"stopped by {summary['stopped_by']} at step {summary['steps']} of {run_dir} (checkpoint saved); run "
            "the same `ganforge experiment compare` command again to resume")
        raise KeyboardInterrupt
    return {"steps": summary["steps"], "train_seconds": state["trained_seconds"], "trained_now": True,
            "stopped_by": summary.get("stopped_by")}
