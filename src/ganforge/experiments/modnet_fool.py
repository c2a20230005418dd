"""ModNet's fooling mode and memorization check (Basart 2017; SPEC.md "ModNet"), behind ``ganforge fool``.

1. Fooling: n test images x (a seeded subset), each modified to every target y_t ≠ y (n·(K-1) images x').
   The fooling rate is the share of x' that the frozen classifier C labels y_t; the same share under a
   second, independently trained classifier says whether the change transfers. Per-target rates, the
   classifiers' accuracy on the unmodified sources, and the size of the change: per image
   L_1 = Σ|x' - x| and L_2 = ||x' - x||_2 (mean and standard deviation, in the run's pixel range) and the
   mean |x' - x| per pixel.
2. Grid (``fool.png``): one row per source (the first ``grid_rows``), the original in column 0 and its
   version for target t in column t + 1 (the source's own label's column stays blank), under a header
   row naming the column: "x", then the target labels 0..K-1.
3. Memorization: n training images (the first n of a seeded subset of the training split, which is the
   searched set: all of it, or ``nn_train`` items), each modified to every other label; for each x' its
   nearest searched training image in pixel L2. Reported: the share whose neighbour is x' 's own source x
   (the thesis's figure: ModNet edits its input rather than recalling another training image), the shares
   whose neighbour carries the target or the source label, and the mean distances to the neighbour and to
   the source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ganforge.errors import ConfigError
from ganforge.experiments.modnet_apply import all_targets, open_modnet_run, subset
from ganforge.experiments.outputs import write_json
from ganforge.metrics.features import convert_range, subset_indices
from ganforge.metrics.memorization import nearest_neighbours
from ganforge.train.classifier import load_classifier
from ganforge.train.grids import save_png_atomic, tile
from ganforge.train.run import Run

HEADER = 14  # pixels of the label row above the grid
PAD = 2  # grid padding (train.grids.tile)


@torch.no_grad()
def predict(net: torch.nn.Module, images: torch.Tensor, pixel_range: tuple[float, float],
            batch_size: int = 500) -> torch.Tensor:
    """argmax labels (N,) of a loaded classifier for images (N, C, H, W) given in ``pixel_range``."""
    target = tuple(getattr(net, "pixel_range", (-1.0, 1.0)))
    device = next(net.parameters()).device
    net.eval()
    out = [net(convert_range(images[i:i + batch_size], pixel_range, target).to(device)).argmax(1).cpu()
           for i in range(0, len(images), batch_size)]
    return torch.cat(out)


def fooling(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, x_mod: torch.Tensor, target: torch.Tensor,
            pixel_range: tuple[float, float], num_classes: int) -> dict[str, Any]:
    """Fooling rate of x' against ``net`` (share labelled y_t), per target, and the accuracy on the sources x."""
    hit = (predict(net, x_mod, pixel_range) == target).double()
    per_target = {str(t): float(hit[target == t].mean()) for t in range(num_classes) if bool((target == t).any())}
    return {"fooling_rate": float(hit.mean()), "per_target": per_target,
            "source_accuracy": float((predict(net, x, pixel_range) == y).double().mean())}


def change(x: torch.Tensor, x_mod: torch.Tensor, source: torch.Tensor) -> dict[str, float]:
    """Per-image L_1 and L_2 of x' - x (the run's pixel units): means, standard deviations, mean |Δ| per pixel."""
    diff = (x_mod - x[source]).flatten(1).double()  # (M, D)
    l1, l2 = diff.abs().sum(1), diff.square().sum(1).sqrt()
    return {"l1_mean": float(l1.mean()), "l1_std": float(l1.std(unbiased=False)), "l2_mean": float(l2.mean()),
            "l2_std": float(l2.std(unbiased=False)), "l1_per_pixel": float(diff.abs().mean())}


def grid_image(x: torch.Tensor, x_mod: torch.Tensor, source: torch.Tensor, target: torch.Tensor,
               num_classes: int, pixel_range: tuple[float, float], rows: int) -> np.ndarray:
    """The fooling grid (module docstring) as uint8 (HEADER + r·(H+2)+2, (K+1)·(W+2)+2, 3), r = min(rows, N)."""
    r = min(rows, len(x))
    cells = torch.full((r, num_classes + 1, *x.shape[1:]), pixel_range[0])  # blank = the low end (black)
    cells[:, 0] = x[:r]
    keep = source < r
    cells[source[keep], target[keep] + 1] = x_mod[keep]
    body = tile(cells.reshape(-1, *x.shape[1:]), nrow=num_classes + 1, pixel_range=pixel_range, pad=PAD)
    canvas = Image.new("RGB", (body.shape[1], body.shape[0] + HEADER), "white")
    canvas.paste(Image.fromarray(body), (0, HEADER))
    draw, font = ImageDraw.Draw(canvas), ImageFont.load_default()
    width = x.shape[-1] + PAD
    for col, text in enumerate(["x", *map(str, range(num_classes))]):
        draw.text((PAD + col * width + width // 2 - 3, 1), text, fill="black", font=font)
    return np.asarray(canvas)


def memorization_check(run: Run, n: int, seed: int, nn_train: int | None) -> dict[str, Any]:
    """The memorization figures of the module docstring for n training sources."""
    train = run.split("train")
    keys_idx = torch.from_numpy(subset_indices(len(train), nn_train or len(train), seed + 1))
    if n > len(keys_idx):
        raise ConfigError(f"--n {n} sources exceed the {len(keys_idx)} searched training images; lower --n")
    keys, key_labels = train.images[keys_idx], train.labels[keys_idx]
    x_mod, source, target = all_targets(run, keys[:n], key_labels[:n])
    dist, index = nearest_neighbours(x_mod, keys)
    own = (x_mod - keys[source]).flatten(1).double().square().sum(1).sqrt()
    return {"sources": "train", "n_sources": n, "n_modified": len(x_mod), "train_searched": len(keys),
            "share_own_source": float((index == source).double().mean()),
            "share_neighbour_label_target": float((key_labels[index] == target).double().mean()),
            "share_neighbour_label_source": float((key_labels[index] == key_labels[source]).double().mean()),
            "mean_distance_to_neighbour": float(dist.mean()), "mean_distance_to_source": float(own.mean())}


def fool(run: str | Path, classifier: str, out_dir: str | Path, *, second_classifier: str | None = None,
         n: int = 100, seed: int = 0, nn_train: int | None = None, grid_rows: int = 10) -> dict[str, Any]:
    """Write ``fool.json`` and ``fool.png`` for a ModNet run (module docstring) and return the summary.

    Args:
        run: a modnet run folder.
        classifier: the frozen classifier (folder or dataset name), as for ``ganforge evaluate``.
        out_dir: folder for the two files.
        second_classifier: an independently trained classifier for the transfer rate (None: skipped).
        n: test sources (each gives K - 1 modified images) and training sources of the memorization check.
        seed: seeds the test and training subsets.
        nn_train: training images searched by the memorization check (None: the whole split).
        grid_rows: sources shown in the grid.
    """
    if n < 1 or grid_rows < 1 or (nn_train is not None and nn_train < 1):
        raise ConfigError(f"--n, --grid-rows and --nn-train must be >= 1, got {n}, {grid_rows}, {nn_train}")
    mod = open_modnet_run(run)
    x, y, _ = subset(mod, "test", n, seed)
    x_mod, source, target = all_targets(mod, x, y)
    summary: dict[str, Any] = {"experiment": "modnet-fool", "run": str(run), "dataset": mod.cfg.data.name,
                               "n_sources": len(x), "n_modified": len(x_mod), "num_classes": mod.num_classes,
                               "pixel_range": list(mod.pixel_range), "seed": seed}
    for role, source_name in (("classifier", classifier), ("second_classifier", second_classifier)):
        if source_name is None:
            summary[role] = None
            continue
        net, meta = load_classifier(source_name)
        result = fooling(net, x, y, x_mod, target, mod.pixel_range, mod.num_classes)
        summary[role] = {"dir": meta["dir"], "sha256": meta["sha256"], "test_accuracy": meta.get("test_accuracy"),
                         **result}
    summary["change"] = change(x, x_mod, source)
    summary["memorization"] = memorization_check(mod, n, seed, nn_train)
    out = Path(out_dir)
    grid = grid_image(x, x_mod, source, target, mod.num_classes, mod.pixel_range, grid_rows)
    save_png_atomic(grid, out / "fool.png")
    summary["files"] = {"json": str(out / "fool.json"), "png": str(out / "fool.png")}
    write_json(summary, out / "fool.json")
    return summary

