"""``ganforge experiment compare``: several GANs trained alike, over several seeds, and scored alike on MNIST
(issue 14: a fair comparison of the models as one command).

Fair means one budget for every run, of one of two kinds, because neither is neutral alone:
- equal generator steps (``--steps N``) compares what each training algorithm learns from the same number
  of updates, whatever one step costs; a WGAN step (5 critic updates) then buys far more computation than
  a GAN step (1 discriminator update);
- equal time (``--minutes M`` per run, the trainer's wall-time limit) compares what each model reaches
  with the same computer time, the question a user with one CPU asks; cheap steps are then many steps.
Report both when they disagree. Time budgets are only comparable on the same, equally loaded machine.

Presets (``--presets``; default ``DEFAULT_PRESETS``): every MNIST preset that generates from noise alone,
trained without labels, at a CPU size: gan-mnist, wgan-mnist, wgan-gp-mnist-small, aegan-mnist,
lapgan-mnist. Not by default: wgan-gp-mnist (the reference network, about 1 s a step on a CPU; use
wgan-gp-mnist-small); stackgan-mnist (class-conditional: G_1 is given the labels and trained to make the
frozen MNIST classifier, the cached domain classifier itself unless --classifier names another, label its
output, so the class-based scores would grade it with its own teacher; named explicitly it runs, with a
note); the PPGN presets (G is trained to invert a classifier's codes h = E(x) of real images and samples
through MALA in that code space, not from a noise prior, and needs an encoder of its width); ModNet
(transforms real images towards a target class; no noise input at all: refused).

For each preset and seed s (``--seed`` … ``--seed + --seeds - 1``) the preset, with ``train.seed = s``, the
budget and the ``--set`` overrides, is trained through the normal trainer into ``OUT/runs/<preset>-seed<s>``
(``compare_runs``: finished runs are reused, interrupted ones resumed), then n samples of its latest
checkpoint are scored with the domain classifier against the MNIST test set, beside n training images and
n uniform-noise images (``compare_eval``). Written: ``compare.csv`` (one row per preset and seed: steps,
train seconds, every measure), ``compare_summary.csv`` (mean ± std per preset, std over seeds with ddof 1),
``compare.json`` (settings, classifier, baselines, rows, summary, notes), ``compare.png`` (one panel per
measure) and ``samples/<preset>.png`` (the trainer's last sample grid of the first seed).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ganforge import config as C
from ganforge.errors import ConfigError
from ganforge.experiments.compare_eval import MEASURES, Scorer, plot, run_scores, summarize
from ganforge.experiments.compare_runs import TIME_BUDGET_STEPS, train_to_budget
from ganforge.experiments.outputs import write_csv, write_json

DEFAULT_PRESETS = ("gan-mnist", "wgan-mnist", "wgan-gp-mnist-small", "aegan-mnist", "lapgan-mnist")
NOT_FROM_NOISE = {"modnet": "ModNet transforms real images and has no noise input"}
CAVEATS = {"stackgan": "class-conditional, trained against the frozen MNIST classifier (by default the domain "
                       "classifier that scores it): its class-based scores favour it",
           "ppgn": "samples G(h) from a Gaussian fit of real codes, not the MALA sampler PPGN is meant for"}
OWN_KEYS = {"train.steps": "--steps or --minutes", "train.seed": "--seed"}


@dataclass
class CompareSettings:
    """What ``compare`` trains and how it scores; exactly one of ``steps`` and ``minutes`` is the budget."""

    presets: tuple[str, ...] = DEFAULT_PRESETS
    seeds: int = 3
    seed: int = 0
    steps: int | None = None  # generator steps per run
    minutes: float | None = None  # wall-clock minutes per run (the trainer's time limit)
    n: int = 1000  # samples per run, and images per baseline and of the test set
    classifier: str | None = None  # domain classifier folder (default: mnist's cached one)
    sets: tuple[str, ...] = ()  # `--set KEY=VALUE` overrides applied to every run's config

    def check(self) -> None:
        """Refuse bad input in one line before anything is trained."""
        if (self.steps is None) == (self.minutes is None):
            raise ConfigError("give exactly one budget: --steps N (equal generator steps) or --minutes M (equal "
                              "training time per run)")
        if self.steps is not None and self.steps < 1:
            raise ConfigError(f"--steps must be a positive number of generator steps, got {self.steps}")
        if self.minutes is not None and not self.minutes > 0:
            raise ConfigError(f"--minutes must be > 0, got {self.minutes}")
        if self.seeds < 1 or not 10 <= self.n <= 10000:
            raise ConfigError(f"need --seeds >= 1 and 10 <= --n <= 10000 (the MNIST test set), got --seeds "
                              f"{self.seeds} --n {self.n}")
        if not self.presets or len(set(self.presets)) != len(self.presets):
            raise ConfigError(f"--presets must name each preset once, got {','.join(self.presets) or 'none'}")
        known = C.preset_names()
        unknown = [p for p in self.presets if p not in known]
        if unknown:
            raise ConfigError(f"--presets: unknown {', '.join(map(repr, unknown))}; the default is "
                              f"{','.join(DEFAULT_PRESETS)}")
        for text in self.sets:
            key = text.split("=", 1)[0].strip()
            if key in OWN_KEYS:
                raise ConfigError(f"--set {text!r}: {key} is set by {OWN_KEYS[key]}")
        if self.classifier is not None and not Path(self.classifier).is_dir():
            raise ConfigError(f"--classifier {self.classifier}: no such folder; train one with `ganforge classifier "
                              f"train --dataset mnist --out {self.classifier}`, or leave --classifier out")


def run_config(preset: str, seed: int, settings: CompareSettings) -> C.Config:
    """``preset`` with ``train.seed`` = ``seed``, the budget's ``train.steps`` and the ``--set`` overrides; a
    preset that is not an MNIST generator from noise is refused."""
    steps = settings.steps if settings.steps is not None else TIME_BUDGET_STEPS
    cfg = C.resolve(preset=preset, overrides={"train": {"steps": steps, "seed": seed}}, sets=list(settings.sets))
    if cfg.data.name != "mnist":
        raise ConfigError(f"preset {preset} trains on {cfg.data.name}; compare scores MNIST models only")
    if cfg.model.name in NOT_FROM_NOISE:
        raise ConfigError(f"preset {preset}: {NOT_FROM_NOISE[cfg.model.name]}; compare needs generators")
    return cfg


def run_one(preset: str, seed: int, settings: CompareSettings, out: Path, scorer: Scorer,
            log: Callable[[str], None]) -> dict[str, Any]:
    """Train (or reuse) one run and score it: its CSV row."""
    run_dir = out / "runs" / f"{preset}-seed{seed}"
    trained = train_to_budget(run_config(preset, seed, settings), run_dir, steps=settings.steps,
                              minutes=settings.minutes, log=log)
    scores = run_scores(scorer, run_dir, trained["steps"], seed, log)
    seconds = trained["train_seconds"]
    row = {"preset": preset, "seed": seed, "steps": trained["steps"], "train_seconds": round(seconds, 3),
           "steps_per_second": trained["steps"] / seconds if seconds > 0 else None,
           **{m: scores.get(m) for m in MEASURES}}
    log(f"[{preset} seed {seed}] {row['steps']} steps in {seconds:.1f} s: " + " ".join(
        f"{m} {row[m]:.4g}" for m in MEASURES if row[m] is not None))
    return row


def copy_grid(run_dir: Path, target: Path) -> str | None:
    """The trainer's last sample grid of ``run_dir`` copied to ``target`` (None when it wrote none)."""
    grids = sorted(p for p in (run_dir / "samples").glob("*.png") if p.stem.isdigit())
    return str(shutil.copyfile(grids[-1], target)) if grids else None


def compare(out_dir: str | Path = "experiments/compare", settings: CompareSettings | None = None, *,
            log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the comparison (module docstring) and write its files into ``out_dir``.

    Returns:
        The JSON summary: settings, classifier, baselines, one row per preset and seed, one summary row
        per preset, notes, files and total seconds.
    """
    settings = settings or CompareSettings()
    settings.check()
    configs = {p: run_config(p, settings.seed, settings) for p in settings.presets}  # bad presets fail first
    notes = [f"{p}: {CAVEATS[cfg.model.name]}" for p, cfg in configs.items() if cfg.model.name in CAVEATS]
    for note in notes:
        log(f"note: {note}")
    started, out = time.perf_counter(), Path(out_dir)
    scorer = Scorer.load(settings.n, settings.classifier)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    seeds = range(settings.seed, settings.seed + settings.seeds)
    rows = [run_one(p, s, settings, out, scorer, log) for p in settings.presets for s in seeds]
    result = {"experiment": "compare", "settings": {**asdict(settings), "budget": budget_text(settings)},
              "classifier": _meta(scorer.embed.meta), "baselines": scorer.baselines(), "rows": rows,
              "summary": summarize(rows, list(settings.presets)), "notes": notes}
    result["files"] = write_outputs(result, settings, out)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    write_json(result, out / "compare.json")
    return result


def budget_text(settings: CompareSettings) -> str:
    return f"{settings.steps} generator steps" if settings.steps else f"{settings.minutes:g} minutes"


def write_outputs(result: dict[str, Any], settings: CompareSettings, out: Path) -> dict[str, Any]:
    """The two CSVs, the plot and the first seed's sample grid per preset; returns their paths (the JSON's
    path included, which the caller writes last)."""
    title = f"compare: {budget_text(settings)} per run, n = {settings.n}, {settings.seeds} seed(s) per preset"
    files: dict[str, Any] = {"csv": write_csv(result["rows"], out / "compare.csv"),
                             "summary_csv": write_csv(result["summary"], out / "compare_summary.csv"),
                             "png": plot(result["summary"], result["baselines"], out / "compare.png", title),
                             "json": out / "compare.json"}
    files = {k: str(v) for k, v in files.items()}
    files["samples"] = {p: copy_grid(out / "runs" / f"{p}-seed{settings.seed}", out / "samples" / f"{p}.png")
                        for p in settings.presets}
    return files


def _meta(meta: dict) -> dict[str, Any]:
    keys = ("dir", "architecture", "test_accuracy", "sha256", "seed")
    return {k: meta[k] for k in keys if k in meta}
