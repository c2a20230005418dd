"""``ganforge demo``: the main job a new user runs first (``make demo``).

Five phases, each resumable: (1) fetch MNIST; (2) a domain classifier (the cached one, or a quick
demo classifier trained into the run folder); (3) train ``gan-mnist`` (the GAN of Goodfellow et al.
2014 with DCGAN nets, the MNIST preset that learns most per CPU minute in ``ganforge experiment
compare``) for a bounded time (running the demo again continues the run until the budget is spent);
(4) evaluate the samples against the MNIST test set with DDM, FID, KID and the score, beside the
training-set baseline and a uniform-noise baseline, and DDM over training (every 250th step's
checkpoint is kept); (5) write an HTML report and print its path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ganforge.data.input_files import regular_file
from ganforge.errors import RunFolderError

DEMO_PRESET = "gan-mnist"
PHASES = ("fetch MNIST", "domain classifier", "train GAN", "evaluate", "report")
T = TypeVar("T")


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="train a GAN on MNIST for a few minutes, measure it, write a report")
    demo.add_argument("--minutes", type=float, default=10.0, help="training budget in minutes (default 10)")
    demo.add_argument("--out", default="runs/demo", help="run folder (default runs/demo)")
    demo.add_argument("--n", type=int, default=5000, help="samples per set for the measures")
    demo.add_argument("--classifier-minutes", type=float, default=3.0,
                      help="time cap of the quick demo classifier when no cached one exists")
    demo.set_defaults(func=_demo)


class Phases:
    """Phase progress: a tqdm bar on a terminal, numbered lines elsewhere."""

    def __init__(self) -> None:
        from tqdm import tqdm

        # off a terminal the bar is disabled (its calls draw nothing) and run prints the numbered lines
        self.bar = tqdm(total=len(PHASES), file=sys.stderr, unit="phase", bar_format="{l_bar}{bar}| {n}/{total}",
                        disable=not sys.stderr.isatty())

    def run(self, index: int, step: Callable[[], T]) -> T:
        """Announce phase ``index``, run ``step``, count the phase done; returns what ``step`` returns."""
        text = f"[{index + 1}/{len(PHASES)}] {PHASES[index]}"
        if self.bar.disable:
            print(text, file=sys.stderr, flush=True)
        self.bar.set_description(text)
        result = step()
        self.bar.update(1)
        return result

    def close(self) -> None:
        self.bar.close()


def _classifier(run: Path, minutes: float) -> str:
    """The cached MNIST classifier's folder, or a quick one trained once into ``RUN/classifier``."""
    from ganforge.errors import GanforgeError
    from ganforge.train.classifier import load_classifier, train_classifier

    for source in ("mnist", str(run / "classifier")):
        try:
            load_classifier(source)
            return source
        except GanforgeError:
            continue
    meta = train_classifier("mnist", out_dir=run / "classifier", width=0.5, epochs=1, max_minutes=minutes)
    print(f"demo classifier: test accuracy {meta['test_accuracy']:.4f} (width 0.5, {meta['epochs']:.2f} epochs; "
          "`ganforge classifier train --dataset mnist` trains the full one)", file=sys.stderr)
    return str(run / "classifier")


def _train(run: Path, minutes: float) -> dict:
    """Train within the remaining budget; the budget already spent is kept in RUN/demo_state.json."""
    from ganforge.config import resolve
    from ganforge.train.checkpoint import latest_checkpoint
    from ganforge.train.trainer import train

    state_file = run / "demo_state.json"
    state = _read_json(state_file) if os.path.lexists(state_file) else {"trained_seconds": 0.0}
    if not isinstance(state.get("trained_seconds"), (int, float)):
        raise RunFolderError(f"{state_file} is damaged; remove it (`rm {state_file}`) and run the demo again")
    left = minutes * 60 - state["trained_seconds"]
    if left <= 0:
        return _read_json(run / "summary.json")
    cfg = resolve(preset=DEMO_PRESET, sets=["train.steps=1000000", "train.sample_every=200", "train.keep_every=250"])
    summary = train(cfg, run, resume=latest_checkpoint(run) is not None, max_seconds=left)
    state["trained_seconds"] += summary["wall_s"]
    state_file.write_text(json.dumps(state))
    return summary


def _read_json(path: Path) -> dict:
    """A JSON object the demo wrote into its run folder; a FIFO, device or damaged file is one line."""
    fix = f"remove it (`rm {path}`) and run the demo again"
    regular_file(path, what="demo file", fix=fix, error=RunFolderError)
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path} is damaged; {fix}")
    return data


def _evaluate(run: Path, classifier: str, n: int) -> dict:
    """Generated samples, the training set and uniform noise, each against the MNIST test set; then DDM of
    every kept checkpoint (n <= 1000 each) into RUN/ddm_over_training.csv for the report."""
    from ganforge.experiments.over_training import evaluate_checkpoints
    from ganforge.metrics.evaluate import EvalRequest, evaluate, finite_or_none, samples_from_run

    metrics = ("ddm", "fid", "kid", "is")
    curve = EvalRequest(dataset="mnist", metrics=("ddm",), n=min(n, 1000), classifier=classifier)
    evaluate_checkpoints(run, curve, log=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    fake, pixel_range, _ = samples_from_run(run, n)
    result = evaluate(fake, pixel_range, EvalRequest(dataset="mnist", metrics=metrics, n=n, classifier=classifier))
    result["noise"] = result["baseline_noise"]  # the name older demo runs and readers of metrics.json know
    result = finite_or_none(result)
    (run / "metrics.json").write_text(json.dumps(result, indent=2))
    return result


def _demo(args: argparse.Namespace) -> int:
    from ganforge.train.run_lock import claim_run_folder

    with claim_run_folder(args.out) as run:  # one writer: a second demo on the same --out is refused
        return _demo_phases(run, args)


def _demo_phases(run: Path, args: argparse.Namespace) -> int:
    from ganforge.data import fetch_dataset
    from ganforge.report import write_report

    phases = Phases()
    try:
        phases.run(0, lambda: fetch_dataset("mnist"))
        classifier = phases.run(1, lambda: _classifier(run, args.classifier_minutes))
        summary = phases.run(2, lambda: _train(run, args.minutes))
        metrics = phases.run(3, lambda: _evaluate(run, classifier, args.n))
        title = "ganforge demo: GAN (DCGAN nets) on MNIST"
        report = phases.run(4, lambda: write_report([run], run / "report.html", title=title))
    finally:
        phases.close()
    _print_summary(summary, metrics, report)
    return 0


def _print_summary(summary: dict, metrics: dict, report: Path) -> None:
    print(f"trained {summary['steps']} generator steps ({summary.get('steps_per_second') or 0:.2f} steps/s)")
    print(f"{'measure':<8} {'generated':>10} {'train set':>10} {'noise':>10}")
    for key in ("ddm", "fid", "kid", "is"):
        row = [metrics[s].get(key) for s in ("fake", "baseline_train", "noise")]
        print(f"{key:<8} " + " ".join(f"{v:>10.4g}" if isinstance(v, (int, float)) else f"{'-':>10}" for v in row))
    print(f"report: {report}")
