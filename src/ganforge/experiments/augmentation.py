"""ModNet data augmentation (Basart 2017; SPEC.md "ModNet"): ``ganforge augment`` and the semi-supervised
study ``ganforge experiment augmentation``.

``augment``: n real training images (the first n of a seeded permutation of the training split), each
modified by a trained ModNet run to the K - 1 labels other than its own, written with the real images as one
labelled ``.npz``: ``images`` (n·K, C, H, W) float32 in the run's pixel range (real first, then the generated
ones source by source), ``labels`` (int64: real y, generated y_t), ``pixel_range``, ``generated`` (bool),
``source`` (index of each image's real source among the n), ``classes``. ``ganforge evaluate --fake FILE``
and the data layer (``load_dataset("npz", path=FILE)``) read it.

Experiment: for each n in {10, 100, 1000, 10000} (the same nested seeded subsets), three fresh domain
classifiers of one recipe are trained, on the n real images, on real + generated (n·K images) and on the
generated images only (targets ≠ source labels), and their accuracy measured on the test split (or a
seeded subset of ``n_test``) and on their own training images (a diverged run shows as a low training
accuracy). The recipe is the domain classifier's (``train.classifier``: MNISTClassifier for
28×28, small ResNet otherwise; SGD momentum 0.9, weight decay 5e-4, cosine decay), but a fixed number of
SGD ``steps`` for every set, so the sets differ only in their images; batches are drawn uniformly from the
whole set (in real + generated, generated images are K - 1 of every K). Written: ``augmentation.csv`` (one
row per n and set), ``augmentation.png`` (test accuracy against n) and ``augmentation.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.data.cache import save_npz_atomic
from ganforge.errors import ConfigError
from ganforge.experiments.modnet_apply import ModNetRun, all_targets
from ganforge.experiments.outputs import Panel, write_csv, write_json, write_panels
from ganforge.metrics.features import subset_indices
from ganforge.train.classifier import DEFAULTS, FALLBACK, _fit, accuracy, build_classifier

N_VALUES = (10, 100, 1000, 10000)
SETS = ("real", "real+generated", "generated")


def augmented_arrays(run: ModNetRun, n_real: int, seed: int) -> dict[str, np.ndarray]:
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
    arrays = augmented_arrays(ModNetRun.open(run), n_real, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_npz_atomic(out, arrays)
    return {"out": str(out), "images": list(arrays["images"].shape), "real": int((~arrays["generated"]).sum()),
            "generated": int(arrays["generated"].sum()), "pixel_range": arrays["pixel_range"].tolist()}


def train_and_test(images: torch.Tensor, labels: torch.Tensor, test: tuple[torch.Tensor, torch.Tensor], *,
                   num_classes: int, width: float, steps: int, batch_size: int, lr: float, flip: bool,
                   seed: int) -> dict[str, float]:
    """A fresh domain classifier trained for ``steps`` SGD steps on ``images`` (N, C, H, W).

    Returns:
        "test_accuracy" on ``test`` and "train_accuracy" on its own training set: a classifier that does not
        fit its own images (an SGD run that diverged) shows here rather than as a low test accuracy alone.
    """
    torch.manual_seed(seed)
    _, _, net = build_classifier(tuple(images.shape[1:]), num_classes, width)
    _fit(net, images, labels, steps=steps, batch_size=batch_size, lr=lr, seed=seed, flip=flip, budget_s=None,
         log=None)
    return {"test_accuracy": accuracy(net, *test), "train_accuracy": accuracy(net, images, labels)}


def augmentation(run: str | Path, out_dir: str | Path = "experiments/augmentation", *,
                 n_values: tuple[int, ...] = N_VALUES, steps: int = 1000, width: float | None = None,
                 batch_size: int = 64, lr: float | None = None, n_test: int = 10000, seed: int = 0,
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the experiment (module docstring) and write its CSV, PNG and JSON.

    Args:
        run: a trained modnet run folder.
        out_dir: folder of ``augmentation.csv``, ``.png`` and ``.json``.
        n_values: real training images per row (each <= the training split).
        steps, batch_size: SGD steps and batch of every classifier.
        width, lr: the classifier's width and learning rate (default: the dataset's classifier recipe).
        n_test: test images (a seeded subset).
        seed: seeds the subsets, the classifiers' initialisation and their data order.

    Returns:
        The JSON summary: per n the accuracy of each training set and its size.
    """
    mod = ModNetRun.open(run)
    given = {k: v for k, v in (("width", width), ("lr", lr)) if v is not None}
    recipe = {**DEFAULTS.get(mod.cfg.data.name, FALLBACK), **given}
    train = mod.split("train")
    if not n_values or any(not 1 <= n <= len(train) for n in n_values) or steps < 1 or batch_size < 1 or n_test < 1:
        raise ConfigError(f"--n-values must lie in 1..{len(train)}, --steps, --batch-size and --n-test be >= 1; "
                          f"got {list(n_values)}, {steps}, {batch_size}, {n_test}")
    order = torch.from_numpy(subset_indices(len(train), max(n_values), seed))
    test_x, test_y, _ = mod.subset("test", n_test, seed + 1)
    rows = []
    for n in sorted(n_values):
        x, y = train.images[order[:n]], train.labels[order[:n]]
        x_mod, _, target = all_targets(mod, x, y)
        sets = {"real": (x, y), "real+generated": (torch.cat([x, x_mod]), torch.cat([y, target])),
                "generated": (x_mod, target)}
        for name in SETS:
            acc = train_and_test(*sets[name], (test_x, test_y), num_classes=mod.num_classes, width=recipe["width"],
                                 steps=steps, batch_size=batch_size, lr=recipe["lr"], flip=recipe["flip"], seed=seed)
            rows.append({"n_real": n, "train_set": name, "train_size": len(sets[name][0]), **acc})
            log(f"n={n} {name}: {len(sets[name][0])} images, test accuracy {acc['test_accuracy']:.4f} "
                f"(on its own training images {acc['train_accuracy']:.4f})")
    summary = {"experiment": "augmentation", "run": str(run), "dataset": mod.cfg.data.name, "n_test": len(test_x),
               "classifier": {**{k: recipe[k] for k in ("width", "lr", "flip")}, "steps": steps,
                              "batch_size": batch_size}, "seed": seed, "per_n": _per_n(rows)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary["files"] = {"csv": str(write_csv(rows, out / "augmentation.csv")),
                        "png": str(_plot(summary, out / "augmentation.png")), "json": str(out / "augmentation.json")}
    write_json(summary, out / "augmentation.json")
    return summary


def _per_n(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """{n: {training set: test accuracy}} from the CSV rows."""
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        out.setdefault(str(r["n_real"]), {})[r["train_set"]] = r["test_accuracy"]
    return out


def _plot(summary: dict, path: Path) -> Path:
    ns = [float(n) for n in summary["per_n"]]
    series = {name: (ns, [v[name] for v in summary["per_n"].values()], None) for name in SETS}
    panel = Panel("test accuracy of a fresh classifier", "real training images n", "test accuracy",
                  series=series, logx=True)
    return write_panels([panel], path, f"ModNet augmentation on {summary['dataset']}: real vs real + generated")
