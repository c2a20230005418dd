"""Class coverage of a LAPGAN run at every pyramid level (Denton et al. 2015; ``ganforge experiment
lapgan-levels --run RUN``): does each level's generator cover the classes, and (CC-LAPGAN) does it draw
the class it is asked for?

For level k the run's samples I~_k (Eq. 5, coarse to fine) are labelled two ways:

- ``classifier``: the domain classifier on u^k(I~_k), the level brought to full size by the pyramid's
  upsampling u (the low-pass image the next finer generator receives);
- ``knn``: the majority label of the ``k_neighbours`` nearest real training images in pixel space at the
  level's own resolution (d^k of the training images): 7×7 digits are too coarse for the classifier, which
  puts real ones into about half the classes (its KL on real level-2 images is itself large), while 5-NN at
  7×7 labels real test digits correctly about 9 times in 10 (``real_accuracy`` states it for each run).

Per level and labeler: the class histogram's KL to uniform, classes covered (share ≥ 1/(2K), as
``metrics.modes``), and for a conditional run the share labelled as the class asked for; beside each, the
same numbers for as many real test images at that level (the labeler's own ceiling). Written: OUT/
lapgan_levels.csv, .json and levels.png (one row per level, coarse to fine, like the paper's Fig. 3).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ganforge.data.transforms import gaussian_pyramid
from ganforge.errors import ConfigError
from ganforge.experiments.outputs import write_csv, write_json
from ganforge.experiments.real_features import Embedder
from ganforge.metrics.features import load_real
from ganforge.metrics.modes import class_coverage
from ganforge.train.checkpoint import list_checkpoints
from ganforge.train.grids import save_grid
from ganforge.train.run import Run, open_run
from ganforge.variants.lapgan import levels_figure, levels_full_size, sample_levels


def knn_labels(queries: torch.Tensor, reference: torch.Tensor, labels: torch.Tensor, k: int, *,
               block_rows: int = 256) -> torch.Tensor:
    """Majority label of the ``k`` nearest ``reference`` rows (L2 over pixels) of each query.

    Args: queries (N, C, h, w); reference (M, C, h, w); labels (M,). Returns: (N,) class indices.
    """
    ref = reference.flatten(1).float()
    out = []
    for block in queries.flatten(1).float().split(block_rows):  # (rows, M) distances at a time: bounded memory
        nearest = torch.cdist(block, ref).topk(min(k, len(ref)), largest=False).indices
        out.append(torch.mode(labels[nearest], dim=1).values)
    return torch.cat(out)


def _score(labels: torch.Tensor, asked: torch.Tensor | None, num_classes: int) -> dict[str, Any]:
    coverage = class_coverage(torch.nn.functional.one_hot(labels.long(), num_classes).float())
    hit = None if asked is None else float((labels == asked).double().mean())
    return {"kl_to_uniform": coverage["kl_to_uniform"], "classes_covered": coverage["classes_covered"],
            "class_accuracy": hit}


@torch.no_grad()
def level_scores(levels: list[torch.Tensor], asked: torch.Tensor | None, real: dict[str, torch.Tensor],
                 embed: Embedder, pixel_range: tuple[float, float], sigma: float, k_neighbours: int,
                 ) -> list[dict[str, Any]]:
    """One row per level and labeler: the samples' scores beside the real test images' at that level."""
    rows, K = [], int(real["test_labels"].max()) + 1
    train_pyr = gaussian_pyramid(real["train"], len(levels), sigma)
    test_pyr = gaussian_pyramid(real["test"], len(levels), sigma)
    fake_full, real_full = levels_full_size(levels, sigma), levels_full_size(test_pyr, sigma)
    for k, fake in enumerate(levels):
        labelled = {
            "classifier": [embed(x, pixel_range, "logits").argmax(1) for x in (fake_full[k], real_full[k])],
            "knn": [knn_labels(x, train_pyr[k], real["train_labels"], k_neighbours) for x in (fake, test_pyr[k])],
        }
        for name, (fake_labels, real_labels) in labelled.items():
            ours, ceiling = _score(fake_labels, asked, K), _score(real_labels, real["test_labels"], K)
            rows.append({"level": k, "size": fake.shape[-1], "labeler": name, **ours,
                         "real_kl_to_uniform": ceiling["kl_to_uniform"],
                         "real_classes_covered": ceiling["classes_covered"],
                         "real_accuracy": ceiling["class_accuracy"]})
    return rows


def _sampled_levels(opened: Run, n: int, seed: int, ema: bool) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """The run's n samples at every level (coarse classes asked in turn for CC-LAPGAN) and the classes asked."""
    gen = torch.Generator().manual_seed(seed)
    asked = torch.arange(n) % 10 if opened.cfg.model.conditional else None
    with torch.no_grad():
        levels = sample_levels(opened.nets_for_sampling(ema), opened.cfg, n, generator=gen, labels=asked)
    return [x.cpu() for x in levels], asked


def _judges(opened: Run, n: int, seed: int, classifier: str | None, n_reference: int,
            ) -> tuple[Embedder, dict[str, torch.Tensor], tuple[float, float]]:
    """The domain classifier, the real train (k-NN reference) and test images, and their pixel range."""
    embed = Embedder.load(opened.cfg.data.name, classifier, "logits")
    train_x, train_y, pixel_range, _ = load_real(opened.cfg.data.name, "train", n_reference, seed)
    test_x, test_y, _, _ = load_real(opened.cfg.data.name, "test", n, seed)
    return embed, {"train": train_x.float(), "train_labels": train_y, "test": test_x.float(),
                   "test_labels": test_y}, pixel_range


def _check_args(run: str | Path, n: int, n_reference: int, k_neighbours: int, step: int | None = None) -> Run:
    if n < 10 or n_reference < k_neighbours or k_neighbours < 1:
        raise ConfigError(f"need --n >= 10, --k >= 1 and --n-reference >= --k; got {n}, {k_neighbours}, "
                          f"{n_reference}")
    opened = open_run(run, step=step)
    if opened.spec.name != "lapgan":
        raise ConfigError(f"experiment lapgan-levels needs a lapgan run; {run} is a {opened.spec.name!r} run")
    return opened


def lapgan_levels(run: str | Path, out_dir: str | Path, *, n: int = 1000, seed: int = 0, classifier: str | None = None,
                  n_reference: int = 10000, k_neighbours: int = 5, ema: bool = False,
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Score every level of ``run`` (module docstring; ``ema``: its EMA generator) and write OUT's files; returns
    the JSON summary."""
    opened = _check_args(run, n, n_reference, k_neighbours)
    m = opened.cfg.model
    levels, asked = _sampled_levels(opened, n, seed, ema)
    embed, real, pixel_range = _judges(opened, n, seed, classifier, n_reference)
    rows = level_scores(levels, asked, real, embed, pixel_range, m.blur_sigma, k_neighbours)
    out = Path(out_dir)
    grid = save_grid(levels_figure([x[:10] for x in levels]), out / "levels.png", nrow=10, pixel_range=pixel_range)
    summary = {"experiment": "lapgan-levels", "run": str(run), "step": opened.step, "n": n, "seed": seed, "ema": ema,
               "conditional": bool(m.conditional), "k_neighbours": k_neighbours, "n_reference": n_reference,
               "classifier": embed.meta.get("dir"), "rows": rows,
               "files": {"csv": str(write_csv(rows, out / "lapgan_levels.csv")), "png": str(grid),
                         "json": str(out / "lapgan_levels.json")}}
    write_json(summary, out / "lapgan_levels.json")
    for r in rows:
        acc = "" if r["class_accuracy"] is None else f", asked class {r['class_accuracy']:.3f}"
        log(f"level {r['level']} ({r['size']}x{r['size']}) {r['labeler']:<10} KL {r['kl_to_uniform']:.3f} "
            f"classes {r['classes_covered']}{acc} (real test: KL {r['real_kl_to_uniform']:.3f}, accuracy "
            f"{r['real_accuracy']:.3f})")
    return summary


def lapgan_levels_over_training(run: str | Path, out_dir: str | Path, *, n: int = 1000, seed: int = 0,
                                classifier: str | None = None, n_reference: int = 10000, k_neighbours: int = 5,
                                ema: bool = False, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The same scores at every kept checkpoint of ``run`` (``train.keep_every``), the same samples' seed at
    each: whether the class histogram holds or drifts during training. Writes OUT/
    lapgan_levels_over_training.csv (one row per step, level and labeler) and .json; returns the summary."""
    steps = [int(p.name) for p in list_checkpoints(run)]
    if not steps:
        raise ConfigError(f"run {str(run)!r} has no checkpoint; train it first")
    opened = _check_args(run, n, n_reference, k_neighbours, steps[0])
    embed, real, pixel_range = _judges(opened, n, seed, classifier, n_reference)
    rows: list[dict[str, Any]] = []
    for step in steps:
        opened = opened if opened.step == step else open_run(run, step=step)
        levels, asked = _sampled_levels(opened, n, seed, ema)
        scored = level_scores(levels, asked, real, embed, pixel_range, opened.cfg.model.blur_sigma, k_neighbours)
        rows += [{"step": step, **r} for r in scored]
        log(f"step {step}: KL " + " ".join(f"{r['size']}/{r['labeler']} {r['kl_to_uniform']:.3f}" for r in scored))
    out = Path(out_dir)
    summary = {"experiment": "lapgan-levels-over-training", "run": str(run), "steps": steps, "n": n, "seed": seed,
               "ema": ema, "k_neighbours": k_neighbours, "n_reference": n_reference,
               "classifier": embed.meta.get("dir"), "rows": rows,
               "files": {"csv": str(write_csv(rows, out / "lapgan_levels_over_training.csv")),
                         "json": str(out / "lapgan_levels_over_training.json")}}
    write_json(summary, out / "lapgan_levels_over_training.json")
    return summary
