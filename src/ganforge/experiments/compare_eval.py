"""Evaluation half of ``ganforge experiment compare``: every run's samples and two baselines, scored alike.

Each image set of n items (a run's samples, n MNIST training images, n images of uniform noise in [0, 1])
goes through the evaluation suite of ``ganforge evaluate`` (``metrics.evaluate.evaluate``) against the same
n MNIST test images, in the domain classifier's logit space: DDM (Basart 2017, eq. 3.4; and DDM minus the
training-set DDM), FID (Heusel et al. 2017), KID (Bińkowski et al. 2018), the inception-style score
(Salimans et al. 2016) and the class histogram (its classes covered and KL to uniform), plus the
within-class diversity ratio (``metrics.diversity``): samples grouped by the classifier's argmax class,
real test images by their labels. The test subset and KID's draws are seeded by ``EVAL_SEED`` for every
set; a run's latent z by the run's seed. A run's scores are cached in ``RUN/compare_scores.json``, keyed by
n, the classifier's sha256, the checkpoint step and the seeds, so a re-run only reads them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganforge.experiments.outputs import Panel, mean_std, write_json, write_panels
from ganforge.experiments.real_features import Embedder
from ganforge.metrics.diversity import diversity_ratio
from ganforge.metrics.evaluate import EvalRequest, evaluate, finite_or_none, samples_from_run
from ganforge.metrics.features import load_real
from ganforge.metrics.noise_baseline import uniform_noise

EVAL_SEED = 0
SUITE = ("ddm", "is", "fid", "kid", "modes")
SCORES_FILE = "compare_scores.json"
# measure -> (plot title, lower is better)
MEASURES = {"ddm": ("DDM (nats)", True), "ddm_relative": ("DDM - DDM(train)", True), "fid": ("FID", True),
            "kid": ("KID", True), "is": ("inception-style score", False),
            "classes_covered": ("classes covered", False), "kl_to_uniform": ("KL(classes || uniform)", True),
            "diversity_ratio": ("diversity ratio", False)}


@dataclass
class Scorer:
    """The domain classifier and the real test subset that every image set is scored against."""

    n: int
    embed: Embedder
    test_features: torch.Tensor  # (n, K) logits of the test images
    test_labels: torch.Tensor  # (n,)

    @classmethod
    def load(cls, n: int, classifier: str | None) -> Scorer:
        embed = Embedder.load("mnist", classifier, "logits")
        _, features, _ = embed.real("test", n, EVAL_SEED)
        _, labels, _, _ = load_real("mnist", "test", n, EVAL_SEED)
        return cls(n, embed, features, labels)

    def key(self) -> dict[str, Any]:
        return {"n": self.n, "classifier_sha256": self.embed.meta["sha256"], "eval_seed": EVAL_SEED,
                "suite": list(SUITE)}

    def score(self, images: torch.Tensor, pixel_range: tuple[float, float]) -> dict[str, Any]:
        """Every measure of ``images`` (>= n, C, H, W) in ``pixel_range`` (the first n are used); JSON-able,
        NaN as None."""
        request = EvalRequest(dataset="mnist", metrics=SUITE, n=self.n, classifier=self.embed.meta["dir"],
                              seed=EVAL_SEED)
        fake = evaluate(images, pixel_range, request)["fake"]
        logits = self.embed(images[:self.n], pixel_range, "logits")  # (n, K)
        diversity = diversity_ratio(logits, logits.argmax(1), self.test_features, self.test_labels)
        scores = {"ddm": fake["ddm"], "ddm_relative": fake["ddm_relative"], "fid": fake["fid"], "kid": fake["kid"],
                  "kid_std": fake["kid_std"], "is": fake["is"], "is_std": fake["is_std"],
                  "classes_covered": fake["modes"]["classes_covered"],
                  "kl_to_uniform": fake["modes"]["kl_to_uniform"], "histogram": fake["modes"]["histogram"],
                  **diversity}
        return finite_or_none(scores)

    def baselines(self) -> dict[str, dict[str, Any]]:
        """Scores of n MNIST training images and of n uniform-noise images in [0, 1]."""
        train, _, pixel_range, _ = load_real("mnist", "train", self.n, EVAL_SEED)
        noise, noise_range = uniform_noise(train, pixel_range, self.n)
        return {"train": self.score(train, pixel_range), "noise": self.score(noise, noise_range)}


def run_scores(scorer: Scorer, run_dir: Path, step: int, seed: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The run's scores at checkpoint ``step`` from n samples (z seeded by ``seed``), read from
    ``RUN/compare_scores.json`` when it holds them for the same key, else computed and stored there."""
    key = {**scorer.key(), "step": step, "sample_seed": seed}
    path = run_dir / SCORES_FILE
    try:
        cached = json.loads(path.read_text())
        if isinstance(cached, dict) and cached.get("key") == key and isinstance(cached.get("scores"), dict):
            return cached["scores"]
    except (OSError, ValueError, UnicodeDecodeError):
        pass  # absent or damaged: scored again
    log(f"scoring {run_dir} ({scorer.n} samples)")
    samples, pixel_range, _ = samples_from_run(run_dir, scorer.n, seed=seed)
    scores = scorer.score(samples, pixel_range)
    write_json({"key": key, "scores": scores}, path)
    return scores


def summarize(rows: list[dict[str, Any]], presets: list[str]) -> list[dict[str, Any]]:
    """One row per preset: seeds, then ``<column>_mean`` and ``<column>_std`` (sample std, ddof 1; 0 for
    one seed) of steps, train seconds, steps per second and every measure."""
    columns = ["steps", "train_seconds", "steps_per_second", *MEASURES]
    summary = []
    for preset in presets:
        mine = [r for r in rows if r["preset"] == preset]
        row: dict[str, Any] = {"preset": preset, "seeds": len(mine)}
        for column in columns:
            row[f"{column}_mean"], row[f"{column}_std"] = mean_std([r[column] for r in mine])
        summary.append(row)
    return summary


def plot(summary: list[dict[str, Any]], baselines: dict[str, dict[str, Any]], path: Path, title: str) -> Path:
    """One panel per measure: each preset's mean with error bars of ± std over seeds; the training-set and
    uniform-noise baselines as horizontal lines (noise far off the runs' scale is named, not drawn)."""
    presets = [row["preset"] for row in summary]
    panels = []
    for measure, (name, lower) in MEASURES.items():
        means = [row[f"{measure}_mean"] for row in summary]
        stds = [row[f"{measure}_std"] or 0.0 for row in summary]
        shown = [(i, m, s) for i, (m, s) in enumerate(zip(means, stds, strict=True)) if m is not None]
        train, noise = baselines["train"].get(measure), baselines["noise"].get(measure)
        ylim, noise_shown = _ylim([v for _, m, s in shown for v in (m - s, m + s)], train, noise)
        references = {} if train is None else {f"MNIST train ({train:.3g})": train}
        if noise is not None:
            references[f"uniform noise ({noise:.3g}{'' if noise_shown else ', off scale'})"] = noise
        panels.append(Panel(f"{name} ({'lower' if lower else 'higher'} is better)", "", name,
                            series={"mean ± std over seeds": ([i for i, _, _ in shown], [m for _, m, _ in shown],
                                                              [s for _, _, s in shown])},
                            references=references, categories=presets, ylim=ylim))
    return write_panels(panels, path, title, columns=4)


def _ylim(values: list[float], train: float | None, noise: float | None) -> tuple[tuple[float, float] | None, bool]:
    """A y range holding the runs and the training baseline, and the noise baseline when it is within three
    spans of them; returns (range or None for matplotlib's own, whether noise is inside it)."""
    values = values + ([train] if train is not None else [])
    if not values:
        return None, True
    low, high = min(values), max(values)
    span = (high - low) or abs(high) or 1.0
    noise_shown = noise is not None and low - 3 * span <= noise <= high + 3 * span
    if noise_shown:
        low, high = min(low, noise), max(high, noise)
        span = (high - low) or span
    return (low - 0.1 * span, high + 0.1 * span), noise_shown or noise is None
