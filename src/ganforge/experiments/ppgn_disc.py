"""The PPGN-disc experiment of the seed thesis (KTH 2018; Nguyen et al. 2017): PPGN-h with critics on
encoder layers, six ways, trained alike and compared (``ganforge experiment ppgn-disc``).

Variants (presets ``ppgn-<name>``): ``vanilla`` (image critic D), ``fc1-adv`` / ``fc1-full`` / ``fc1-noadv``
(fc1-code critic D1: adversarial loss only / full loss / no adversarial term), ``combined`` (D and D1),
``random`` (D or D1 with p = 1/2 each step). Each trains through the normal trainer (``train.trainer.train``,
what ``ganforge train --preset ppgn-<name>`` runs) into ``OUT/runs/<name>``; then per variant: its
unconditional sample grid, the Wasserstein-estimate curve of every critic (one panel per variant, like the
thesis's Fig. 4), training time and steps, and MALA-approx class samples scored by the domain classifier
(``ppgn_disc_eval``), as images: clamped to the pixel range, since G has no output activation and MALA
drives pixels past it (scored raw, the over-bright strokes had lowered FID by 5-15, README "PPGN-h").

A REDUCED version by default, sized for a 2-core CPU (all six variants in about an hour on one core of the
AMX Xeon; ``jobs``, by default one per torch thread, trains them side by side, ``experiments.jobs``): width
0.125 (the thesis: 1), 3,750 generator steps = 10 epochs of MNIST at batch 32 with 5 critic steps per
generator step (the thesis: 15 epochs = 4,979 steps). Length is the lever that fits the hour: vanilla's FID at
200 samples (seed 0) was 69.7 / 42.2 / 30.0 after 3 / 5 / 10 epochs, and width 0.25 costs 2.9× per step
(README, "PPGN-h"). No warm-up critic schedule (the thesis: 100 critic steps for the first 25 generator steps
and every 500th, which alone would cost 2-8 minutes per variant here), MALA with 20 chains per class and 1,000
steps (the thesis: 200). The chains are run until their codes stop moving: the prior gap ||R(h) - h|| / ||h||
of combined's chains (seed 0) was 1.17 after 50 steps, 0.47 after 200, 0.17 after 600, 0.14 after 800 and 0.13
after 1,000; 200 steps leave the chains mid-way, off the codes G was trained on. ``prior_gap`` is reported per
variant so a user sees whether the chains got there.
``epochs_to_steps`` converts epochs with the thesis's relation: an epoch is 60,000 / 32 = 1,875 critic
batches, and the generator step reuses the last critic batch, so 15 epochs with warm-up are exactly 4,979
generator steps.

The encoder E is an MNIST classifier of the same width (``ganforge classifier train``), trained once with
seed ``seed + 1`` into ``<data cache>/classifiers/mnist-ppgn-encoder-w<width>`` (or ``encoder``) and reused
when present. The domain classifier that scores the samples must be another network; the same weights are
refused. Finished runs in ``OUT/runs`` with the same config are reused (a re-run only re-evaluates).
Written: ``ppgn_disc.csv`` (one row per variant), ``ppgn_disc.png`` (curves), ``ppgn_disc.json`` (settings,
encoder, classifier, training-set baseline, results), and per variant in ``OUT/samples/``: ``<name>.png``
(the trainer's last unconditional grid), ``<name>-mala-class-grid.png`` (10 rows × columns, Fig. 3) and
``<name>-mala.npz`` (samples, classes, pixel_range).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganforge import config as C
from ganforge.data import data_cache_dir
from ganforge.errors import ConfigError
from ganforge.experiments import ppgn_disc_eval as ev
from ganforge.experiments.jobs import run_jobs, stderr_log, threads_per_job
from ganforge.experiments.outputs import write_csv, write_json
from ganforge.experiments.real_features import Embedder
from ganforge.metrics import ddm, fid
from ganforge.nets.classifier_files import META_FILE
from ganforge.samplers.mala import MALASettings
from ganforge.train import checkpoint as ckpt
from ganforge.train.classifier import load_classifier, train_classifier
from ganforge.train.resume_config import differences_from_saved
from ganforge.train.run_lock import LOCK_FILE, claim_run_folder
from ganforge.train.session import read_config
from ganforge.train.trainer import train
from ganforge.variants.base import critic_iterations

VARIANTS = ("vanilla", "fc1-adv", "fc1-full", "fc1-noadv", "combined", "random")
THESIS = {"width": 1.0, "epochs": 15, "steps": 4979, "warmup": True, "mala_steps": 200}
MNIST_TRAIN, BATCH, N_CRITIC = 60000, 32, 5
DEFAULT_STEPS = 3750  # 10 epochs without warm-up
REDUCED_MALA_STEPS = 1000  # until the chains' prior gap levels off (module docstring); the thesis: 200


@dataclass
class DiscSettings:
    """What ``ppgn_disc`` trains and how it evaluates (defaults: the reduced CPU version)."""

    variants: tuple[str, ...] = VARIANTS
    width: float = 0.125  # of G, the critics and E (1: the thesis's nets)
    steps: int = DEFAULT_STEPS  # generator steps per variant (upper bound with minutes_per_variant)
    minutes_per_variant: float | None = None  # equal wall-time budget per variant
    warmup: bool = False  # the thesis's warm-up critic schedule
    seed: int = 0
    encoder: str | None = None  # E's folder (default: <data cache>/classifiers/mnist-ppgn-encoder-w<width>)
    encoder_epochs: float = 2.0  # when E must be trained
    classifier: str | None = None  # domain classifier (default: mnist's cached one)
    second_classifier: str | None = None  # an independently trained classifier for a second class accuracy
    n_recon: int = 1000  # test images reconstructed as G(E(x))
    reference_run: str | None = None  # a run (e.g. the demo's) whose samples are scored alike, as a yardstick
    per_class: int = 20  # MALA chains per class
    grid_columns: int = 10
    n_test: int = 10000  # test images the samples are compared with
    mala: MALASettings = field(default_factory=lambda: MALASettings(steps=REDUCED_MALA_STEPS))
    sets: tuple[str, ...] = ()  # `--set KEY=VALUE` overrides applied to every variant's config
    jobs: int | None = None  # variants side by side in worker processes (None: one per core); scheduling only

    def check(self) -> None:
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown or not self.variants:
            raise ConfigError(f"--variants: unknown {', '.join(map(repr, unknown)) or 'empty list'}; choose "
                              f"from {','.join(VARIANTS)}")
        if len(set(self.variants)) != len(self.variants):
            raise ConfigError(f"--variants names a variant twice: {','.join(self.variants)}")
        if not self.width > 0 or self.steps < 1 or self.per_class < 1 or self.grid_columns < 1 or self.n_test < 10:
            raise ConfigError("need --width > 0, --steps >= 1, --per-class >= 1, --grid-columns >= 1, --n-test >= 10")
        if self.grid_columns > self.per_class:
            raise ConfigError(f"--grid-columns {self.grid_columns} exceeds --per-class {self.per_class}: a grid row "
                              "shows chains of one class; lower it or raise --per-class")
        if self.jobs is not None and self.jobs < 1:
            raise ConfigError(f"--jobs must be >= 1, got {self.jobs}")
        if self.minutes_per_variant is not None and not self.minutes_per_variant > 0:
            raise ConfigError(f"--minutes-per-variant must be > 0, got {self.minutes_per_variant}")


def epochs_to_steps(epochs: float, *, warmup: bool, batch_size: int = BATCH, train_size: int = MNIST_TRAIN,
                    n_critic: int = N_CRITIC) -> int:
    """Generator steps that consume ``epochs`` epochs of critic batches (15 with warm-up → 4,979).

    Each generator step takes ``critic_iterations`` fresh batches (the generator reuses the last one); the
    result is the first step count whose batches reach ``epochs · (train_size // batch_size)``.
    """
    if not epochs > 0:
        raise ConfigError(f"--epochs must be > 0, got {epochs}")
    target, batches, steps = epochs * (train_size // batch_size), 0, 0
    while batches < target:
        batches += critic_iterations(steps, n_critic, warmup)
        steps += 1
    return steps


def steps_to_epochs(steps: int, *, warmup: bool, batch_size: int = BATCH, train_size: int = MNIST_TRAIN,
                    n_critic: int = N_CRITIC) -> float:
    """Epochs of critic batches that ``steps`` generator steps consume (the inverse of ``epochs_to_steps``)."""
    batches = sum(critic_iterations(step, n_critic, warmup) for step in range(steps))
    return batches / (train_size // batch_size)


def encoder_dir(settings: DiscSettings) -> Path:
    """Where E lives: ``settings.encoder`` or ``<data cache>/classifiers/mnist-ppgn-encoder-w<width>``."""
    if settings.encoder:
        return Path(settings.encoder)
    return data_cache_dir() / "classifiers" / f"mnist-ppgn-encoder-w{settings.width:g}"


def ensure_encoder(settings: DiscSettings, log: Callable[[str], None]) -> dict[str, Any]:
    """E's ``classifier.json`` (plus "dir", "trained_now", "seconds_this_run"), trained first when its folder
    holds none."""
    folder = encoder_dir(settings)
    start = time.perf_counter()
    trained_now = not (folder / META_FILE).is_file()
    if trained_now:
        log(f"training the PPGN encoder E (width {settings.width:g}, {settings.encoder_epochs:g} epochs) "
            f"into {folder}")
        train_classifier("mnist", out_dir=folder, width=settings.width, epochs=settings.encoder_epochs,
                         seed=settings.seed + 1, log=log)
    _, meta = load_classifier(folder)
    width = float(meta["build"].get("width", 1.0))
    if meta.get("architecture") != "mnist-classifier" or width != float(settings.width):
        raise ConfigError(f"the encoder in {folder} is a {meta.get('architecture')} of width {width:g}, not an "
                          f"MNIST classifier of width {settings.width:g}; pass another --encoder folder")
    return {**meta, "trained_now": trained_now, "seconds_this_run": round(time.perf_counter() - start, 1)}


def variant_config(variant: str, settings: DiscSettings, encoder: Path) -> C.Config:
    """The preset ``ppgn-<variant>`` at the experiment's width, encoder, schedule and step count."""
    log_every = 1 if settings.minutes_per_variant else max(1, settings.steps // 250)  # ~250 points per curve
    return C.resolve(preset=f"ppgn-{variant}", overrides={
        "model": {"width": settings.width, "encoder": str(encoder), "warmup": settings.warmup},
        "train": {"steps": settings.steps, "seed": settings.seed, "log_every": log_every}}, sets=list(settings.sets))


def _differences(cfg: C.Config, run_dir: Path) -> list[str]:
    """Keys in which ``cfg`` differs from the config saved in the finished run's latest checkpoint, read as a
    resume reads it (keys added to ganforge since the run was made take their defaults; a preset's prose is
    not compared), plus ``train.steps``, which a resume may change but a reused run may not."""
    path = ckpt.latest_checkpoint(run_dir)
    if path is None:
        raise ConfigError(f"{run_dir} has a summary but no checkpoint; delete it or choose another --out")
    steps = [] if read_config(path).train.steps == cfg.train.steps else ["train.steps"]
    return differences_from_saved(cfg, path) + steps


def train_variant(cfg: C.Config, run_dir: Path, settings: DiscSettings, log: Callable[[str], None]) -> dict:
    """Train ``cfg`` into ``run_dir`` (or reuse a finished run of the same config); the trainer's summary.
    A run that another process is writing (a second experiment on the same --out) is refused, naming it."""
    fresh = not run_dir.exists()
    with claim_run_folder(run_dir):  # refused before the config or settings are looked at
        seconds = None if settings.minutes_per_variant is None else 60.0 * settings.minutes_per_variant
        saved = run_dir / "config.yaml"
        resume = False
        if (run_dir / "summary.json").is_file() and saved.is_file():
            diff = _differences(cfg, run_dir)
            if diff:
                raise ConfigError(f"{run_dir} holds a finished run of another config ({', '.join(diff[:5])}); "
                                  "delete it or choose another --out")
            summary = json.loads((run_dir / "summary.json").read_text())
            if not _interrupted(summary):
                log(f"reusing the finished run {run_dir}")
                return summary
            log(f"resuming {run_dir} from step {summary['steps']} (stopped by {summary['stopped_by']})")
            resume, seconds = True, None if seconds is None else max(seconds - summary["wall_s"], 1.0)
        elif not fresh and set(os.listdir(run_dir)) - {LOCK_FILE}:
            raise ConfigError(f"{run_dir} holds an unfinished run; delete it (or finish it with `ganforge train "
                              f"--out {run_dir} --resume`)")
        summary = train(cfg, run_dir, resume=resume, max_seconds=seconds)
    if _interrupted(summary):  # Ctrl-C or SIGTERM: stop the experiment; the same command resumes this run
        log(f"stopped by {summary['stopped_by']} at step {summary['steps']} of {run_dir} (checkpoint saved); run "
            "the same `ganforge experiment ppgn-disc` command again to resume")
        raise KeyboardInterrupt
    return summary


def _interrupted(summary: dict) -> bool:
    """Whether the trainer stopped on a signal (not at its step count or the time budget)."""
    return summary.get("stopped_by") not in (None, "time limit")


def run_variant(variant: str, settings: DiscSettings, encoder: Path, out: Path, embed: Embedder, test_features,
                log: Callable[[str], None], second: Embedder | None = None) -> dict[str, Any]:
    """Train one variant, then sample and score it; returns its result (curves included)."""
    cfg = variant_config(variant, settings, encoder)
    run_dir = out / "runs" / variant
    log(f"[{variant}] training: critics {'+'.join(cfg.model.critics)}, up to {settings.steps} steps")
    summary = train_variant(cfg, run_dir, settings, log)
    grids = sorted(p for p in (run_dir / "samples").glob("*.png") if p.stem.isdigit())  # not a class grid
    unconditional = shutil.copyfile(grids[-1], out / "samples" / f"{variant}.png")
    log(f"[{variant}] MALA: {settings.per_class} chains per class, {settings.mala.steps} steps")
    samples = ev.mala_class_samples(run_dir, settings.per_class, settings.mala, seed=settings.seed)
    start = time.perf_counter()
    scores = ev.score_samples(embed, test_features, samples["images"], samples["classes"], samples["pixel_range"],
                              second=second, seed=settings.seed)
    recon_grid = out / "samples" / f"{variant}-reconstructions.png"
    scores.update(ev.reconstruction_scores(run_dir, embed, settings.n_recon, seed=settings.seed, grid=recon_grid))
    scores["recon_fid"] = ev.recon_fid(run_dir, embed, test_features, len(samples["images"]), seed=settings.seed)
    files = {"run": str(run_dir), "samples": str(unconditional), "reconstructions": str(recon_grid),
             **ev.write_samples(samples, settings.per_class, settings.grid_columns, out / "samples", variant)}
    curves = ev.w_curves(run_dir, list(cfg.model.critics))
    ratios = ev.ratio_curves(run_dir, list(cfg.model.critics))
    result = {"critics": list(cfg.model.critics), "steps": summary["steps"], "train_seconds": summary["wall_s"],
              "steps_per_second": summary.get("steps_per_second"), "stopped_by": summary.get("stopped_by"),
              **scores, "encoder_accuracy": samples["encoder_accuracy"],
              "prior_gap": samples["prior_gap"], "mala_seconds": round(samples["seconds"], 2),
              "score_seconds": round(time.perf_counter() - start, 2),
              "final_w": {layer: values[-1] if values else None for layer, (_, values) in curves.items()},
              "curves": {layer: {"step": s, "w": v} for layer, (s, v) in curves.items()},
              "ratio_curves": {layer: {"step": s, "ratio": v, "ratio_at_lambda_1": u}
                               for layer, (s, v, u) in ratios.items()},
              "lambdas": ev.final_lambdas(run_dir, list(cfg.model.critics)), "files": files}
    log(f"[{variant}] {result['steps']} steps in {result['train_seconds']:.0f} s; DDM {scores['ddm']:.4f} FID "
        f"{scores['fid']:.3f} class accuracy {scores['class_accuracy']:.3f} (second classifier "
        f"{scores['second_accuracy']}) diversity {scores['diversity_ratio']:.3f} of real; reconstructions "
        f"classified as their source {scores['recon_accuracy']:.3f}; prior gap {samples['prior_gap']:.3f} (real codes "
        f"{scores['real_prior_gap']:.3f})")
    return result


def variant_job(variant: str, settings: DiscSettings, encoder: Path, out: Path,
                log: Callable[[str], None] = stderr_log) -> dict[str, Any]:
    """:func:`run_variant` as one job of :func:`~ganforge.experiments.jobs.run_jobs` (a worker process of
    ``--jobs``, or this one with a single job): loads the classifiers' (cached) features itself."""
    embed = Embedder.load("mnist", settings.classifier, "logits")
    _, test_features, _ = embed.real("test", settings.n_test, settings.seed)
    second = Embedder.load("mnist", settings.second_classifier, "logits") if settings.second_classifier else None
    return run_variant(variant, settings, encoder, out, embed, test_features, log, second)


def ppgn_disc(out_dir: str | Path = "experiments/ppgn-disc", settings: DiscSettings | None = None, *,
              log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the experiment (module docstring) and write its files into ``out_dir``.

    Returns:
        The JSON summary: settings (with the thesis's values beside them), encoder and classifier metadata,
        the training-set baseline at the samples' size, and per variant its training time and steps, DDM, FID,
        class accuracy, final and logged Wasserstein estimates and files.
    """
    settings = settings or DiscSettings()
    settings.check()
    started = time.perf_counter()
    out = Path(out_dir)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    encoder = ensure_encoder(settings, log)
    embed = Embedder.load("mnist", settings.classifier, "logits")
    if embed.meta["sha256"] == encoder["sha256"]:
        raise ConfigError(f"the domain classifier {embed.meta['dir']} is the PPGN encoder itself; score with "
                          "another network (--classifier)")
    _, test_features, _ = embed.real("test", settings.n_test, settings.seed)
    n_samples = settings.per_class * len(encoder.get("classes", range(10)))
    _, train_features, _ = embed.real("train", n_samples, settings.seed)
    baseline = {"n": n_samples, "ddm": ddm(test_features, train_features), "fid": fid(test_features, train_features)}
    if settings.reference_run:
        baseline["reference"] = ev.reference_scores(settings.reference_run, embed, test_features, n_samples,
                                                 settings.seed)
    jobs = min(settings.jobs or torch.get_num_threads(), len(settings.variants))
    job_log = log if jobs == 1 else stderr_log  # workers log to stderr; a single job runs here, with ``log``
    results = run_jobs(variant_job, {v: (v, settings, Path(encoder["dir"]), out, job_log)
                                     for v in settings.variants}, jobs, log)
    summary = {"experiment": "ppgn-disc", "reduced": _reduced(settings), "settings": settings_record(settings),
               "jobs": jobs, "threads_per_job": threads_per_job(jobs),
               "thesis": THESIS, "encoder": _meta(encoder), "classifier": _meta(embed.meta),
               "baseline_train": baseline, "variants": results}
    summary["files"] = {"csv": str(write_csv(ev.csv_rows(results), out / "ppgn_disc.csv")),
                        "png": str(ev.plot_curves(results, out / "ppgn_disc.png")),
                        "gradients_png": str(ev.plot_ratios(results, out / "ppgn_disc_gradients.png")),
                        "json": str(out / "ppgn_disc.json")}
    summary["total_seconds"] = round(time.perf_counter() - started, 1)
    write_json(summary, out / "ppgn_disc.json")
    return summary


def _reduced(s: DiscSettings) -> bool:
    return (s.width, s.steps, s.warmup, s.mala.steps) != (THESIS["width"], THESIS["steps"], True, THESIS["mala_steps"])


def settings_record(s: DiscSettings) -> dict[str, Any]:
    """What was computed (``jobs``, how it was scheduled, is recorded beside it, so a seed finished with
    another --jobs is reused)."""
    record = {k: v for k, v in asdict(s).items() if k != "jobs"}
    return {**record, "variants": list(s.variants), "mala": asdict(s.mala), "batch_size": BATCH,
            "n_critic": N_CRITIC, "epochs_equivalent": steps_to_epochs(s.steps, warmup=s.warmup)}


def _meta(meta: dict) -> dict[str, Any]:
    keys = ("dir", "architecture", "build", "test_accuracy", "epochs", "seed", "seconds", "trained_now",
            "seconds_this_run", "sha256")
    return {k: meta[k] for k in keys if k in meta}
