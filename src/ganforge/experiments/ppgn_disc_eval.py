"""Evaluation half of ``ganforge experiment ppgn-disc`` (seed thesis, KTH 2018; Nguyen et al. 2017, Eq. 11):
a trained PPGN run's Wasserstein-estimate curves and its MALA-approx class-conditional samples, scored
with the domain classifier of the evaluation suite (a network other than the run's encoder E).

1. Curves: ``w_<layer>`` = E[D_i(real)] - E[D_i(fake)] of every critic, read from the run's ``log.jsonl``
   (only the steps where that critic trained and the step was logged; ``random`` trains one critic a step).
2. Samples: ``per_class`` MALA-approx chains per class (h_0 ~ N(0, I), the run's G and E), run batched,
   ``chain_batch`` chains per call.
3. Scores against the test set's domain-classifier logits φ: DDM (Basart 2017, eq. 3.4) and FID of φ(G),
   and class accuracy, the share of samples that the domain classifier labels as the class their chain
   asked for. DDM shifts with log |G|, so the caller also scores as many real training images (baseline).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.data.cache import save_npz_atomic
from ganforge.experiments.outputs import Panel, write_panels
from ganforge.experiments.real_features import Embedder
from ganforge.metrics import ddm, fid
from ganforge.samplers.mala import MALASettings
from ganforge.train.grids import save_grid
from ganforge.train.logs import read_log
from ganforge.train.session import open_run
from ganforge.variants.ppgn import sample_mala

CRITIC_NAMES = {"image": "D (image)", "fc1": "D1 (fc1)"}


def w_curves(run_dir: Path, critics: list[str]) -> dict[str, tuple[list[int], list[float]]]:
    """Per critic layer: (logged steps, ``w_<layer>`` values) from ``RUN/log.jsonl``, in step order."""
    curves: dict[str, tuple[list[int], list[float]]] = {layer: ([], []) for layer in critics}
    for record in read_log(run_dir / "log.jsonl").records:  # a torn last line is dropped
        for layer in critics:
            if f"w_{layer}" in record:
                curves[layer][0].append(int(record["step"]))
                curves[layer][1].append(float(record[f"w_{layer}"]))
    return curves


def mala_class_samples(run_dir: Path, per_class: int, settings: MALASettings, *, seed: int,
                       chain_batch: int = 200) -> dict[str, Any]:
    """``per_class`` MALA-approx samples of every class from the run's latest checkpoint.

    Returns:
        "images" (K·per_class, 1, 28, 28) CPU float32 in the run's pixel range, "classes" (K·per_class,)
        int64 with chain c·per_class + j asking for class c, "pixel_range", "encoder_accuracy" (share that
        the run's own E labels as asked) and "seconds" (wall time of the chains).
    """
    session = open_run(run_dir)
    num_classes = session.nets["encoder"].num_classes
    classes = torch.arange(num_classes).repeat_interleave(per_class)  # (K·per_class,)
    rng = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    images = torch.cat([sample_mala(session.nets, classes[i:i + chain_batch], settings, generator=rng).images.cpu()
                        for i in range(0, len(classes), chain_batch)])
    seconds = time.perf_counter() - start
    with torch.no_grad():
        encoder = session.nets["encoder"]
        device = next(encoder.parameters()).device
        own = torch.cat([encoder(images[i:i + 500].to(device)).argmax(1).cpu() for i in range(0, len(images), 500)])
    return {"images": images, "classes": classes, "pixel_range": tuple(session.data_shape.pixel_range),
            "encoder_accuracy": float((own == classes).double().mean()), "seconds": seconds}


def score_samples(embed: Embedder, test_features: torch.Tensor, images: torch.Tensor, classes: torch.Tensor,
                  pixel_range: tuple[float, float]) -> dict[str, Any]:
    """DDM and FID of ``images`` (N, C, H, W) against the test features (logits), and class accuracy.

    Returns:
        "ddm", "fid", "class_accuracy" (share whose argmax logit equals ``classes`` (N,)) and
        "per_class_accuracy" (one share per class, in class order).
    """
    logits = embed(images, pixel_range, "logits")  # (N, K)
    hit = (logits.argmax(1) == classes).double()
    per_class = [float(hit[classes == c].mean()) for c in classes.unique().tolist()]
    return {"ddm": ddm(test_features, logits), "fid": fid(test_features, logits),
            "class_accuracy": float(hit.mean()), "per_class_accuracy": per_class}


def write_samples(samples: dict[str, Any], per_class: int, columns: int, folder: Path, variant: str) -> dict[str, str]:
    """The class grid (one row per class, the first ``columns`` chains of each) and an ``.npz`` of all samples."""
    images, classes = samples["images"], samples["classes"]
    keep = torch.cat([torch.arange(columns) + c * per_class for c in range(int(classes.max()) + 1)])
    grid = save_grid(images[keep], folder / f"{variant}-mala-class-grid.png", nrow=columns,
                     pixel_range=samples["pixel_range"])
    npz = folder / f"{variant}-mala.npz"
    save_npz_atomic(npz, {"samples": images.numpy(), "classes": classes.numpy(),
                          "pixel_range": np.array(samples["pixel_range"], dtype=np.float64)})
    return {"mala_class_grid": str(grid), "mala_samples": str(npz)}


def plot_curves(curves: dict[str, dict[str, tuple[list[int], list[float]]]], path: Path) -> Path:
    """One panel per variant, one line per critic: the Wasserstein estimate over generator steps (Fig. 4)."""
    panels = [Panel(variant, "generator step", "Wasserstein estimate",
                    series={CRITIC_NAMES.get(layer, f"D_{layer}"): (steps, values, None)
                            for layer, (steps, values) in per_critic.items()})
              for variant, per_critic in curves.items()]
    return write_panels(panels, path, "PPGN-disc: E[D(real)] - E[D(fake)] of every critic over training", columns=3)
