"""Class-conditional samples scored (``ganforge experiment class-samples --run RUN``): does a class-conditional
run (Stacked GAN, CC-LAPGAN: any model with the ``class`` sampling mode) draw the class it is asked for, and
are the samples of one class as varied as real images of that class?

``per_class`` samples of each class c (y = 0, 1, ..., K-1, drawn with ``Run.generate_classes`` in batches
of 500, the i-th batch's noise seeded with ``seed + i``) are read by one or more classifiers (the dataset's
domain classifier by default; ``classifiers`` adds e.g. a second, independently trained one, so that a
model whose encoder *is* the domain classifier is also judged by a net it never saw). Per classifier:

- ``class_accuracy``: share classified as the class asked for (and ``per_class`` accuracy);
- within-class diversity (:func:`ganforge.metrics.diversity.diversity_ratio`) in the classifier's logits,
  against as many real test images per class: ``diversity_ratio`` 1 is as varied as real digits, 0 one image
  per class;
- ``pixel_diversity_ratio``: the same ratio with raw pixels as the features (the classifier's view can hide
  a class drawn in one style that it reads in many ways).

Written: OUT/class_samples.json, .csv (one row per classifier) and grid.png (one column per class).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ganforge.errors import ConfigError
from ganforge.experiments.outputs import write_csv, write_json
from ganforge.experiments.real_features import Embedder
from ganforge.metrics.diversity import diversity_ratio
from ganforge.metrics.features import load_real
from ganforge.train.grids import save_grid
from ganforge.train.run import Run, open_run

BATCH = 500


def draw_per_class(run: Run, per_class: int, *, seed: int, ema: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (K·per_class, C, H, W), classes asked for (K·per_class,)): ``per_class`` of each class in turn."""
    if run.spec.sample_classes is None:
        raise ConfigError(f"a {run.spec.name!r} run draws no class-conditional samples; class-samples needs a model "
                          "with the 'class' sampling mode (stackgan, lapgan with model.conditional=true)")
    classes = torch.arange(run.num_classes).repeat_interleave(per_class)
    images = [run.generate_classes(classes[i:i + BATCH], ema=ema, generator=torch.Generator().manual_seed(seed + i))
              for i in range(0, len(classes), BATCH)]
    return torch.cat(images), classes


def real_per_class(dataset: str, classes: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor, tuple]:
    """Real test images, as many per class as ``classes`` holds of its most frequent one: (images, labels, range)."""
    images, labels, pixel_range, _ = load_real(dataset, "test", 10000, seed)
    per_class = int(torch.bincount(classes).max())
    keep = torch.cat([torch.nonzero(labels == c).flatten()[:per_class] for c in classes.unique().tolist()])
    return images[keep], labels[keep], pixel_range


def score(embed: Embedder, images: torch.Tensor, classes: torch.Tensor, pixel_range: tuple[float, float],
          real: tuple[torch.Tensor, torch.Tensor, tuple]) -> dict[str, Any]:
    """Class accuracy, per-class accuracy and logit diversity of ``images`` by one classifier."""
    logits = embed(images, pixel_range, "logits")
    hit = (logits.argmax(1) == classes).double()
    real_logits = embed(real[0], real[2], "logits")
    return {"classifier": embed.meta.get("dir", embed.dataset), "class_accuracy": float(hit.mean()),
            "per_class": [float(hit[classes == c].mean()) for c in classes.unique().tolist()],
            **diversity_ratio(logits.double(), classes, real_logits.double(), real[1])}


def class_samples(run_dir: str | Path, out_dir: str | Path, *, per_class: int = 100, seed: int = 0,
                  classifiers: tuple[str | None, ...] = (None,), ema: bool = False,
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Score a class-conditional run's samples (module docstring); returns the JSON summary."""
    if per_class < 2:
        raise ConfigError(f"--per-class must be at least 2 (diversity needs two samples of a class), got {per_class}")
    run, out = open_run(run_dir), Path(out_dir)
    images, classes = draw_per_class(run, per_class, seed=seed, ema=ema)
    real = real_per_class(run.cfg.data.name, classes, seed)
    pixels = diversity_ratio(images.flatten(1).double(), classes, real[0].flatten(1).double(), real[1])
    rows = []
    for name in classifiers:
        rows.append(score(Embedder.load(run.cfg.data.name, name), images, classes, run.pixel_range, real))
        log(f"class-samples: {rows[-1]['classifier']}: accuracy {rows[-1]['class_accuracy']:.3f}, "
            f"diversity {rows[-1]['diversity_ratio']:.3f} of real")
    order = torch.arange(len(classes)).reshape(run.num_classes, per_class).T.flatten()[:10 * run.num_classes]
    save_grid(images[order], out / "grid.png", nrow=run.num_classes, pixel_range=run.pixel_range)
    summary = {"experiment": "class-samples", "run": str(run_dir), "step": run.step, "per_class": per_class,
               "seed": seed, "ema": ema, "pixel_diversity_ratio": pixels["diversity_ratio"], "rows": rows,
               "files": {"csv": str(write_csv([{k: v for k, v in r.items() if k != "per_class"} for r in rows],
                                              out / "class_samples.csv")),
                         "png": str(out / "grid.png")}}
    summary["files"]["json"] = str(out / "class_samples.json")
    write_json(summary, out / "class_samples.json")
    return summary
