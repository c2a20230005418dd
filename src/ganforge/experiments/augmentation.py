"""ModNet data augmentation (Basart 2017; SPEC.md "ModNet"): ``ganforge augment`` and the semi-supervised
study ``ganforge experiment augmentation``.

``augment``: n real training images (the first n of a seeded permutation of the training split), each
modified by a trained ModNet run to the K - 1 labels other than its own, written with the real images as one
labelled ``.npz``: ``images`` (n·K, C, H, W) float32 in the run's pixel range (real first, then the generated
ones source by source), ``labels`` (int64: real y, generated y_t), ``pixel_range``, ``generated`` (bool),
``source`` (index of each image's real source among the n), ``classes``. ``ganforge evaluate --fake FILE``
and the data layer (``load_dataset("npz", path=FILE)``) read it.

Experiment: one or more *variants* (a label and its runs: ``--run fooling=R0,R1,R2 --run joint=J0,J1,J2``;
run i of every variant is replicate i, seeded ``seed + i``). For each replicate and each n in
{10, 100, 1000, 10000} (the first n of one seeded permutation of the training split, so the sets are nested),
fresh domain classifiers of one recipe are trained on the n real images (shared by the variants: it does not
depend on the run), and, per variant, on real + generated (n·K images) and on the generated images only
(targets ≠ source labels). Each is tested on the test split (or a seeded subset of ``n_test``) and on its own
training images (a diverged or underfitted run shows as a low training accuracy).

Training to convergence: the recipe is the domain classifier's (``train.classifier``: MNISTClassifier for
28×28, small ResNet otherwise; SGD momentum 0.9, weight decay 5e-4, cosine decay; its width and lr), run for
``max(min_steps, ceil(epochs · N / batch))`` steps on a set of N images, so a large set gets the same number of
passes as the domain classifier's own training and a tiny set at least ``min_steps`` steps; the learning rate
warms up linearly over the first ``warmup_steps`` (100): without it, on sets of <= 100 images (every batch the
whole set) SGD at the recipe's lr 0.05 diverged in 7 of 73 classifiers of a 3-replicate study (training
accuracy 0.1-0.3 on their own images; measured on MNIST). The full check
trains the same recipe on the whole training split and reports its test accuracy beside the cached domain
classifier's: if the recipe had not converged it would fall short there. Batches are drawn uniformly from the
whole set (in real + generated, generated images are K - 1 of every K). Written: ``augmentation.csv`` (one row
per replicate, variant, n and set), ``augmentation.png`` (test accuracy against n, mean ± std over
replicates) and ``augmentation.json``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.data.cache import save_npz_atomic
from ganforge.errors import ConfigError
from ganforge.experiments.modnet_apply import all_targets, open_modnet_run, subset
from ganforge.experiments.outputs import Panel, mean_std, write_outputs, write_panels
from ganforge.metrics.features import subset_indices
from ganforge.nets.classifier_files import META_FILE, read_classifier_meta
from ganforge.train.classifier import DEFAULTS, FALLBACK, _fit, accuracy, build_classifier, default_classifier_dir
from ganforge.train.run import Run

N_VALUES = (10, 100, 1000, 10000)
SETS = ("real", "real+generated", "generated")
MIN_STEPS = 1000  # SGD steps of a classifier on the smallest sets (module docstring)
WARMUP_STEPS = 100  # linear learning-rate warm-up (module docstring)


@dataclass(frozen=True)
class Recipe:
    """How every fresh classifier of the study trains (module docstring): width, lr, mirror flips, epochs over
    its set, a floor of ``min_steps``, the batch; ``steps`` fixes every classifier's step count instead."""

    width: float
    lr: float
    flip: bool
    epochs: float
    batch_size: int = 64
    min_steps: int = MIN_STEPS
    steps: int | None = None
    warmup_steps: int = WARMUP_STEPS

    def steps_for(self, n_images: int) -> int:
        """SGD steps for a set of ``n_images``: ``steps`` if fixed, else max(min_steps, ceil(epochs·N/batch))."""
        if self.steps is not None:
            return self.steps
        return max(self.min_steps, math.ceil(self.epochs * n_images / self.batch_size))


def augmented_arrays(run: Run, n_real: int, seed: int) -> dict[str, np.ndarray]:
    """The arrays of an augmented set (module docstring) from the first ``n_real`` of a seeded training subset."""
    train = run.split("train")
    if n_real > len(train):
        raise ConfigError(f"--n-real {n_real} exceeds the {len(train)} training images; lower it")
    idx = torch.from_numpy(subset_indices(len(train), n_real, seed))
    x, y = train.images[idx], train.labels[idx]
    x_mod, source, target = all_targets(run, x, y)
    return {"images": torch.cat([x, x_mod]).numpy().astype(np.float32),
            "labels": torch.cat([y, target]).numpy().astype(np.int64),
            "pixel_range": np.array(run.pixel_range, dtype=np.float64),
            "generated": np.r_[np.zeros(len(x), bool), np.ones(len(x_mod), bool)],
            "source": torch.cat([torch.arange(len(x)), source]).numpy().astype(np.int64),
            "classes": np.array(train.classes)}


def write_augmented(run: str | Path, n_real: int, out_file: str | Path, *, seed: int = 0) -> dict[str, Any]:
    """``ganforge augment``: write the augmented ``.npz`` for ``n_real`` real images; returns a summary."""
    if n_real < 1:
        raise ConfigError(f"--n-real must be at least 1, got {n_real}")
    out = Path(out_file)
    if out.suffix != ".npz":
        raise ConfigError(f"--out {out} must name a .npz file")
    arrays = augmented_arrays(open_modnet_run(run), n_real, seed)
    save_npz_atomic(out, arrays)
    return {"out": str(out), "images": list(arrays["images"].shape), "real": int((~arrays["generated"]).sum()),
            "generated": int(arrays["generated"].sum()), "pixel_range": arrays["pixel_range"].tolist()}


def train_and_test(images: torch.Tensor, labels: torch.Tensor, test: tuple[torch.Tensor, torch.Tensor], *,
                   num_classes: int, width: float, steps: int, batch_size: int, lr: float, flip: bool,
                   seed: int, warmup_steps: int = 0) -> dict[str, float]:
    """A fresh domain classifier trained for ``steps`` SGD steps on ``images`` (N, C, H, W).

    Returns:
        "test_accuracy" on ``test`` and "train_accuracy" on its own training set: a classifier that does not
        fit its own images (an SGD run that diverged) shows here rather than as a low test accuracy alone.
    """
    torch.manual_seed(seed)
    _, _, net = build_classifier(tuple(images.shape[1:]), num_classes, width)
    _fit(net, images, labels, steps=steps, batch_size=batch_size, lr=lr, seed=seed, flip=flip, budget_s=None,
         log=None, warmup_steps=warmup_steps)
    return {"test_accuracy": accuracy(net, *test), "train_accuracy": accuracy(net, images, labels)}


def augmentation(runs: dict[str, list[str | Path]], out_dir: str | Path = "experiments/augmentation", *,
                 n_values: tuple[int, ...] = N_VALUES, recipe: dict[str, Any] | None = None, n_test: int = 10000,
                 full_check: bool = True, seed: int = 0, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the experiment (module docstring) and write its CSV, PNG and JSON.

    Args:
        runs: {variant label: its trained modnet run folders}; run i of each label is replicate i.
        out_dir: folder of ``augmentation.csv``, ``.png`` and ``.json``.
        n_values: real training images per row (each <= the training split).
        recipe: overrides of the classifier recipe (``Recipe`` fields; default: the dataset's classifier's).
        n_test: test images (a seeded subset).
        full_check: also train the recipe on the whole training split (real only).
        seed: replicate i seeds its subsets, classifiers' initialisation and data order with ``seed + i``.

    Returns:
        The JSON summary: per variant, n and set the test accuracy's mean and std over replicates.
    """
    replicates = _replicates(runs)
    opened = {label: [open_modnet_run(r) for r in paths] for label, paths in runs.items()}
    first = next(iter(opened.values()))[0]
    rec, train = _recipe(first, recipe), first.split("train")
    _check(opened, n_values, n_test, len(train), rec)
    test = subset(first, "test", n_test, seed + 1)[:2]
    rows: list[dict[str, Any]] = []
    for i in range(replicates):
        order = torch.from_numpy(subset_indices(len(train), max(n_values), seed + i))
        for n in sorted(n_values):
            x, y = train.images[order[:n]], train.labels[order[:n]]
            real = _row("real", i, n, "real", (x, y), test, rec, first.num_classes, seed + i, log)
            for label, mods in opened.items():
                rows.append({**real, "variant": label})
                x_mod, _, target = all_targets(mods[i], x, y)
                sets = {"real+generated": (torch.cat([x, x_mod]), torch.cat([y, target])), "generated": (x_mod, target)}
                rows += [_row(label, i, n, name, data, test, rec, first.num_classes, seed + i, log)
                         for name, data in sets.items()]
    summary = {"experiment": "augmentation", "runs": {k: [str(r) for r in v] for k, v in runs.items()},
               "dataset": first.cfg.data.name, "n_test": len(test[0]), "classifier": asdict(rec), "seed": seed,
               "per_n": summarise(rows)}
    if full_check:
        summary["full_check"] = _full_check(train, test, rec, first, seed, log)
    return write_outputs(summary, rows, out_dir, "augmentation", _plot)


def _recipe(run: Run, given: dict[str, Any] | None) -> Recipe:
    """The dataset's classifier recipe with ``given`` (non-None) values over it."""
    base = {k: v for k, v in DEFAULTS.get(run.cfg.data.name, FALLBACK).items() if k in Recipe.__dataclass_fields__}
    return Recipe(**{**base, **{k: v for k, v in (given or {}).items() if v is not None}})


def _replicates(runs: dict[str, list[str | Path]]) -> int:
    """The number of runs per variant, which must be the same (>= 1) for every variant."""
    counts = {len(v) for v in runs.values()}
    if not runs or len(counts) != 1 or 0 in counts:
        raise ConfigError(f"every --run variant needs the same number (>= 1) of runs (its replicates), got "
                          f"{ {k: len(v) for k, v in runs.items()} }")
    return counts.pop()


def _check(opened: dict, n_values: tuple[int, ...], n_test: int, n_train: int, rec: Recipe) -> None:
    """One ConfigError line for settings the study cannot use."""
    datasets = {m.cfg.data.name for mods in opened.values() for m in mods}
    if len(datasets) != 1:
        raise ConfigError(f"the runs were trained on different datasets ({sorted(datasets)}); compare runs of one")
    if not n_values or any(not 1 <= n <= n_train for n in n_values) or n_test < 1:
        raise ConfigError(f"--n-values must lie in 1..{n_train} and --n-test be >= 1; got {list(n_values)}, {n_test}")
    if (rec.batch_size < 1 or rec.min_steps < 1 or not rec.epochs > 0 or (rec.steps is not None and rec.steps < 1)
            or rec.warmup_steps < 0):
        raise ConfigError(f"--batch-size, --min-steps and --steps must be >= 1, --epochs > 0 and --warmup-steps >= 0; "
                          f"got {rec.batch_size}, {rec.min_steps}, {rec.steps}, {rec.epochs}, {rec.warmup_steps}")


def _row(label: str, replicate: int, n: int, name: str,
         data: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor], rec: Recipe,
         num_classes: int, seed: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Train and test one classifier on ``data``; its CSV row."""
    steps = rec.steps_for(len(data[0]))
    acc = train_and_test(*data, test, num_classes=num_classes, width=rec.width, steps=steps,
                         batch_size=rec.batch_size, lr=rec.lr, flip=rec.flip, seed=seed, warmup_steps=rec.warmup_steps)
    row = {"variant": label, "replicate": replicate, "n_real": n, "train_set": name, "train_size": len(data[0]),
           "steps": steps, **acc}
    log(f"replicate {replicate} n={n} {label} {name}: {len(data[0])} images, {steps} steps, test accuracy "
        f"{acc['test_accuracy']:.4f} (on its own training images {acc['train_accuracy']:.4f})")
    return row


def _full_check(train, test, rec: Recipe, run: Run, seed: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The recipe on the whole training split, beside the cached domain classifier's test accuracy."""
    row = _row("full", 0, len(train), "real", (train.images, train.labels), test, rec, run.num_classes, seed,
               log)
    folder = default_classifier_dir(run.cfg.data.name)
    domain = (read_classifier_meta(folder, what="domain classifier", fix="retrain it").get("test_accuracy")
              if (folder / META_FILE).is_file() else None)
    return {**{k: row[k] for k in ("train_size", "steps", "test_accuracy", "train_accuracy")},
            "domain_classifier_test_accuracy": domain,
            "gap": None if domain is None else domain - row["test_accuracy"]}


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """{variant: {n: {set: {mean, std, train_mean, replicates}}}} from the CSV rows (std over replicates, ddof 1;
    0 for one replicate)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["variant"], str(r["n_real"]), r["train_set"]), []).append(r)
    out: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for (label, n, name), group in groups.items():
        mean, std = mean_std([r["test_accuracy"] for r in group])
        out.setdefault(label, {}).setdefault(n, {})[name] = {
            "mean": mean, "std": std, "train_mean": float(np.mean([r["train_accuracy"] for r in group])),
            "replicates": len(group)}
    return out


def _plot(summary: dict, path: Path) -> Path:
    series = {}
    for label, per_n in summary["per_n"].items():
        ns = [float(n) for n in per_n]
        for name in SETS:
            if name == "real" and series.get("real"):
                continue
            key = "real" if name == "real" else f"{label}: {name}"
            series[key] = (ns, [v[name]["mean"] for v in per_n.values()], [v[name]["std"] for v in per_n.values()])
    panel = Panel("test accuracy of a fresh classifier", "real training images n", "test accuracy",
                  series=series, logx=True)
    return write_panels([panel], path, f"ModNet augmentation on {summary['dataset']}: real vs real + generated")
