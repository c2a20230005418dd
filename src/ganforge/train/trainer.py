"""The model-agnostic training loop: ``train(cfg, run_dir)``.

It calls the variant's ``train_step`` once per generator step and owns everything around it:
resume, atomic checkpoints, EMA, logs, sample grids, NaN/Inf checks and graceful stops on SIGINT
or SIGTERM (finish the step, checkpoint, exit 0 with the command that resumes).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import torch

from ganforge.config import Config, dump_yaml
from ganforge.config_resolve import check_config
from ganforge.data.input_files import regular_file
from ganforge.errors import CheckpointError, RunFolderError, TrainingError
from ganforge.train import checkpoint as ckpt
from ganforge.train.distributed import Workers, start_workers
from ganforge.train.ema import update_ema
from ganforge.train.grids import save_samples_png
from ganforge.train.logs import NullLogger, RunLogger, read_log, truncate_log
from ganforge.train.mlflow_log import MlflowTracker, require_mlflow
from ganforge.train.resume_config import check_resume_config
from ganforge.train.run_lock import claim_run_folder
from ganforge.train.schedule import apply_lr_scale, base_rates, lr_scale
from ganforge.train.session import Session, build_session, restore, save
from ganforge.variants import StepContext


class StopSignal:
    """Turns SIGINT/SIGTERM into a flag checked between steps (restored on exit)."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._old: dict = {}

    def __enter__(self) -> StopSignal:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


RUN_FILES = ("log.jsonl", "summary.json", "config.yaml", "mlflow_run.json")  # read and rewritten in place by a run


def check_run_files(run_dir: Path) -> None:
    """Refuse a run whose own files are FIFOs, devices or folders: reading or writing one would block or fail."""
    for name in RUN_FILES:
        path = run_dir / name
        if os.path.lexists(path):
            regular_file(path, what="run file", fix=f"remove it (`rm {path}`) and run again", error=RunFolderError)


def prepare(cfg: Config, run_dir: Path, *, resume: bool, allow_config_change: bool,
            workers: Workers | None = None) -> Session:
    """Build the session, restoring the latest checkpoint when resuming (every process reads it,
    only rank 0 writes)."""
    workers = workers or Workers()
    check_run_files(run_dir)
    latest = ckpt.latest_checkpoint(run_dir) if run_dir.exists() else None
    workers.check_same_checkpoint(latest)
    if latest is not None and not resume:
        raise CheckpointError(f"{run_dir} already holds a run (step {int(latest.name)}); pass --resume to "
                              "continue it or choose another --out")
    if latest is not None:
        check_resume_config(cfg, latest, allow_config_change)
    session = build_session(cfg, shard=(workers.rank, workers.world), checkpoint=latest)
    extra = restore(session, latest).extra_tensors if latest is not None else {}
    workers.attach(session, extra, restored=latest is not None)
    if workers.is_main:
        if latest is not None:
            _start_writing(run_dir, lambda: truncate_log(run_dir / "log.jsonl", session.step))
        _start_writing(run_dir, lambda: (run_dir / "config.yaml").write_text(dump_yaml(session.cfg)))
    return session


def _start_writing(run_dir: Path, write) -> None:
    """A write before the first step; an OSError (a full disk, a read-only folder) is one line."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        write()
    except OSError as exc:
        raise RunFolderError(f"cannot write to the run folder {run_dir} ({exc.strerror or exc}); free space or "
                             "fix its permissions, or choose another --out") from None


@torch.no_grad()
def write_samples(session: Session, run_dir: Path, step: int) -> Path:
    """Fixed-noise samples (the same z every time) from the EMA or live generator as a PNG."""
    nets = {**session.nets, **session.ema}
    for net in nets.values():
        net.eval()
    gen = torch.Generator().manual_seed(session.cfg.train.seed + 12345)
    samples = session.spec.generate(nets, session.cfg, session.cfg.train.sample_grid, generator=gen)
    for net in session.nets.values():
        net.train()
    path = run_dir / "samples" / f"{step:08d}.png"
    return save_samples_png(samples, path, pixel_range=session.data_shape.pixel_range)


def _try_write_samples(session: Session, run_dir: Path, step: int, logger: RunLogger) -> None:
    """:func:`write_samples`, where an OSError (a full disk) is one warning line, not the end of training;
    a grid written is handed to the logger's tracker."""
    try:
        path = write_samples(session, run_dir, step)
    except OSError as exc:
        logger.write_failed("sample grids", exc, then="(the next grid is tried again)")
        return
    logger.sample_grid(path, step)


def _check_finite(values: dict[str, float], step: int, run_dir: Path) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            last = ckpt.latest_checkpoint(run_dir)
            where = f"the last good checkpoint is {last}" if last else "no checkpoint was written yet"
            raise TrainingError(f"loss {name} is {value} at step {step}; training stopped and {where}; "
                                "lower the learning rate or check the data")


def _save(session: Session, run_dir: Path, workers: Workers) -> None:
    """Checkpoint on rank 0; every process takes part (rank 0 gathers their RNG states)."""
    extra = workers.gather_rng_states()
    if workers.is_main:
        save(session, run_dir, extra_tensors=extra)
    session.saved_step = session.step


def _after_step(session: Session, run_dir: Path, logger: RunLogger, values: dict, stop: bool,
                workers: Workers) -> None:
    t = session.cfg.train
    step = session.step
    last = step == t.steps or stop  # the last step of this session: always logged, sampled and saved
    session.last_values = values
    if step % t.log_every == 0 or last:
        logger.scalars(step, values)
        session.reported_step = step
    logger.progress(step, values)
    if (step % t.sample_every == 0 or last) and workers.is_main:
        _try_write_samples(session, run_dir, step, logger)
    if step % t.checkpoint_every == 0 or last or stop:
        _save(session, run_dir, workers)


def _agree_stop(stopper: StopSignal, deadline: float | None, workers: Workers) -> bool:
    """Whether to stop before the next step: a signal or the deadline on any process."""
    if not stopper.requested and deadline is not None and time.monotonic() >= deadline:
        stopper.requested = "time limit"
    _, agreed = workers.agree({}, stopper.requested)
    stopper.requested = stopper.requested or agreed
    return bool(agreed)


def run_loop(session: Session, run_dir: Path, logger: RunLogger, stopper: StopSignal,
             deadline: float | None = None, workers: Workers | None = None) -> list[float]:
    """Generator steps from ``session.step`` to ``cfg.train.steps`` (or until ``deadline``, a
    ``time.monotonic()`` value, which stops like a signal); returns per-step seconds. With several
    ``workers``, logged values are means over processes and stops are agreed by all."""
    cfg = session.cfg
    workers = workers or Workers()
    step_cfg = workers.step_config(cfg)
    times: list[float] = []
    rates = base_rates(session.optimizers)
    while session.step < cfg.train.steps and not _agree_stop(stopper, deadline, workers):
        t0 = time.perf_counter()
        scale = lr_scale(session.step, cfg.train.lr_decay_start, cfg.train.steps)
        if cfg.train.lr_decay_start is not None:
            apply_lr_scale(session.optimizers, rates, scale)
        workers.sync_buffers(session.nets)
        ctx = StepContext(cfg=step_cfg, nets=session.step_nets(), optimizers=session.optimizers,
                          next_batch=session.stream.next, step=session.step, device=session.device,
                          autocast=session.autocast())
        out = session.spec.train_step(ctx)
        if deadline is not None and not stopper.requested and time.monotonic() >= deadline:
            stopper.requested = "time limit"  # this step is the last: log, sample and save it
        values, stop = workers.agree({k: float(v) for k, v in out.items()}, stopper.requested)
        _check_finite(values, session.step + 1, run_dir)
        for name, ema_net in session.ema.items():
            update_ema(ema_net, session.nets[name], cfg.train.ema)
        times.append(time.perf_counter() - t0)
        session.step += 1
        values["it_per_s"] = 1.0 / max(times[-1], 1e-9)
        if cfg.train.lr_decay_start is not None:
            values["lr_scale"] = scale
        _after_step(session, run_dir, logger, values, bool(stop), workers)
        _test_stall(session.step, stopper)
    return times


def _test_stall(step: int, stopper: StopSignal) -> None:
    """Test hook: with GANFORGE_TEST_STALL_AT_STEP=N the process sleeps after step N so a test can
    kill it at a known point (kill -9 mid-run, SIGTERM handling)."""
    target = os.environ.get("GANFORGE_TEST_STALL_AT_STEP")
    if target is not None and int(target) == step:
        print(f"stalled after step {step}", flush=True)
        while not stopper.requested:
            time.sleep(0.05)


def train(cfg: Config, run_dir: str | Path, *, resume: bool = False, allow_config_change: bool = False,
          max_seconds: float | None = None) -> dict:
    """Train ``cfg`` into ``run_dir`` up to ``cfg.train.steps`` generator steps.

    ``max_seconds`` bounds this session's wall time: training stops after the step in progress,
    writes a checkpoint and can be resumed, as after SIGTERM.

    Returns:
        The summary also written to ``RUN/summary.json``: steps, wall_s, steps_per_second (steady
        state, first 3 steps excluded), final losses, ``stopped_by`` when a signal ended it, and the model
        and its net family as built (``net`` is null for models without that choice), the number of
        ``processes`` and their ``backend`` (``nccl`` or ``gloo`` under torchrun, null for one plain process).

    Raises:
        ConfigError: ``cfg`` fails the checks every assembled config passes (``config_resolve.check_config``).
    """
    cfg = check_config(cfg)
    run_dir, workers = Path(run_dir), start_workers(cfg)
    try:
        with claim_run_folder(run_dir) if workers.is_main else contextlib.nullcontext():
            return _train_claimed(cfg, run_dir, workers, resume, allow_config_change, max_seconds)
    finally:
        workers.close()


def _train_claimed(cfg: Config, run_dir: Path, workers: Workers, resume: bool, allow_config_change: bool,
                   max_seconds: float | None) -> dict:
    """:func:`train` once this process holds the run folder (or is a worker that does not write)."""
    if workers.is_main and "mlflow" in cfg.train.log_to:
        require_mlflow()  # before any work: one line when the extra is not installed
    session = prepare(cfg, run_dir, resume=resume, allow_config_change=allow_config_change, workers=workers)
    tracker = open_tracker(session, run_dir) if workers.is_main else None  # its store's setup is not training time
    start, t0 = session.step, time.perf_counter()
    deadline = time.monotonic() + max_seconds if max_seconds is not None else None
    logger = open_logger(session, run_dir, deadline, tracker) if workers.is_main else NullLogger()
    status = "FAILED"  # the tracker's run status unless the loop ends normally or by a signal
    try:
        with StopSignal() as stopper:
            times = run_loop(session, run_dir, logger, stopper, deadline, workers)
        _, stopped_by = workers.agree({}, stopper.requested)
        if stopped_by:
            _report_last_step(session, run_dir, logger, workers)
            if session.saved_step != session.step:
                _save(session, run_dir, workers)
            nproc = f" --nproc {workers.world}" if workers.world > 1 else ""
            logger.message(f"stopped by {stopped_by} after step {session.step}; checkpoint saved; resume "
                           f"with: ganforge train --out {run_dir} --resume --steps {cfg.train.steps}{nproc}")
        status = "KILLED" if stopped_by and stopped_by != "time limit" else "FINISHED"
    finally:
        logger.close(status)
    wall = time.perf_counter() - t0
    return _write_summary(session, run_dir, times, wall, start, stopped_by, workers)


def open_tracker(session: Session, run_dir: Path) -> MlflowTracker | None:
    """The MLflow tracker when ``train.log_to`` names it (continuing the run's MLflow run when this session
    was restored from a checkpoint), else None."""
    if "mlflow" not in session.cfg.train.log_to:
        return None
    return MlflowTracker(session.cfg, run_dir, resumed=session.step > 0)


def open_logger(session: Session, run_dir: Path, deadline: float | None,
                tracker: MlflowTracker | None = None) -> RunLogger:
    """Rank 0's logger with the sinks ``train.log_to`` names: JSONL always, TensorBoard, the ``tracker``."""
    t = session.cfg.train
    return RunLogger(run_dir, total=t.steps, start=session.step, tensorboard="tensorboard" in t.log_to,
                     deadline=deadline, tracker=tracker)


def _report_last_step(session: Session, run_dir: Path, logger: RunLogger, workers: Workers) -> None:
    """Log and sample the step a stop came after (a signal between steps), unless that step already was."""
    if session.reported_step == session.step or not session.last_values:
        return
    logger.scalars(session.step, session.last_values)
    session.reported_step = session.step
    if workers.is_main:
        _try_write_samples(session, run_dir, session.step, logger)


def _write_summary(session: Session, run_dir: Path, times: list[float], wall: float, start: int,
                   stopped_by: str | None, workers: Workers) -> dict:
    steady = times[3:]
    records = read_log(run_dir / "log.jsonl").records
    final = {k: v for k, v in records[-1].items() if k != "step"} if records else {}
    summary = {"steps": session.step, "start_step": start, "wall_s": round(wall, 3),
               "steps_per_second": (len(steady) / sum(steady)) if steady else None,
               "precision": session.precision, "device": str(session.device), "final": final,
               "stopped_by": stopped_by, "model": session.cfg.model.name,
               "net": getattr(session.cfg.model, "net", None), "processes": workers.world,
               "backend": workers.backend}
    if workers.is_main:
        try:
            (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        except OSError as exc:  # after the last checkpoint: the run itself is safe
            print(f"ganforge: warning: could not write {run_dir / 'summary.json'} ({exc.strerror}); the run's "
                  "checkpoints are complete", file=sys.stderr, flush=True)
    return summary
