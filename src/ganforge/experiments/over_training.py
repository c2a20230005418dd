"""DDM (and the other scalar measures) over training: every kept checkpoint of a run, evaluated alike.

Each checkpoint's generator draws the same n samples' noise (seed fixed) and is scored against the same
real sets by ``ganforge.metrics.evaluate`` (the real features are computed once and cached). Rows go to
``RUN/ddm_over_training.csv`` (read by ``ganforge report``) and a plot to ``RUN/ddm_over_training.png``.
Keep more checkpoints for a finer curve with ``train.keep_every`` (never pruned) or ``train.keep_last: 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ganforge.errors import CheckpointError
from ganforge.experiments.outputs import Panel, write_csv, write_panels
from ganforge.metrics.evaluate import EvalRequest, evaluate, samples_from_run
from ganforge.train.checkpoint import list_checkpoints

SCALARS = ("ddm", "ddm_relative", "ddm_sum", "fid", "kid", "is", "parzen")


def evaluate_checkpoints(run: str | Path, req: EvalRequest, *, ema: bool = False,
                         log: Callable[[str], None] = print) -> list[dict]:
    """Evaluate every checkpoint of ``run`` with ``req`` and write the CSV and plot into the run folder.

    Args:
        run: a run folder with ``checkpoints/``.
        req: the measures, n, seed and sets (the same for every checkpoint; ``req.notes`` gathers notes).
        ema: use the EMA generator.

    Returns:
        One row per checkpoint: step, then each requested scalar for the samples and, with suffix
        ``_train``, for the training-set baseline (the same at every step).
    """
    run = Path(run)
    steps = [int(p.name) for p in list_checkpoints(run)]
    if not steps:
        raise CheckpointError(f"no checkpoints in {run / 'checkpoints'}; train the run first")
    rows = []
    for step in steps:
        samples, pixel_range, _ = samples_from_run(run, req.n, seed=req.seed, ema=ema, step=step)
        result = evaluate(samples, pixel_range, replace(req, notes=[]))
        row = {"step": step}
        row |= {k: result["fake"][k] for k in SCALARS if k in result["fake"]}
        row |= {f"{k}_train": result["baseline_train"][k] for k in SCALARS if k in result["baseline_train"]}
        rows.append(row)
        log(f"step {step}: " + ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "step"))
    write_csv(rows, run / "ddm_over_training.csv")
    _plot(rows, run / "ddm_over_training.png")
    return rows


def _plot(rows: list[dict], path: Path) -> Path:
    steps = [r["step"] for r in rows]
    panels = []
    for key in ("ddm", "fid", "kid", "is"):
        if key in rows[0]:
            base = rows[0].get(f"{key}_train")
            panels.append(Panel(key.upper(), "generator step", key, series={"generated": (steps, [r[key] for r in rows],
                                                                                          None)},
                                hline=None if base is None else ("training set", base)))
    return write_panels(panels, path, "measures over training")
