"""The corruption experiment of the DDM paper (Basart 2017; SPEC.md "Measures"): a measure of sample
quality must get worse as real images are corrupted more.

A seeded set of n training images (the "generator") is corrupted at rising strength and scored against n
test images by DDM (eq. 3.4, domain-classifier logits) and, for reference, by FID on the same features:

- ``gaussian``: x + N(0, s²) per pixel, s in pixel units of [0, 1];
- ``uniform``: x + U[-s, s] per pixel;
- ``blur``: a Gaussian blur of standard deviation s pixels (``ganforge.data.transforms.gaussian_blur``).

Noisy pixels are clipped back to [0, 1], as an image file would store them. Level 0 is the clean set, so
the first row of every corruption is the training-set baseline. Expected: DDM rises monotonically with s.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import torch

from ganforge.data.transforms import gaussian_blur
from ganforge.errors import ConfigError
from ganforge.experiments.outputs import Panel, write_outputs, write_panels
from ganforge.experiments.real_features import Embedder
from ganforge.metrics import ddm, fid
from ganforge.metrics.features import convert_range

LEVELS: dict[str, tuple[float, ...]] = {
    "gaussian": (0.0, 0.05, 0.1, 0.2, 0.3, 0.5),
    "uniform": (0.0, 0.1, 0.2, 0.4, 0.6, 0.8),
    "blur": (0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
}
UNITS = {"gaussian": "noise std (pixels in [0, 1])", "uniform": "noise half-width (pixels in [0, 1])",
         "blur": "blur std (pixels)"}


def corrupt(images01: torch.Tensor, kind: str, strength: float, generator: torch.Generator) -> torch.Tensor:
    """(N, C, H, W) images in [0, 1] corrupted by ``kind`` at ``strength``, back in [0, 1]."""
    if strength < 0:
        raise ConfigError(f"corruption strength must be >= 0, got {strength}")
    if kind == "gaussian":
        noise = torch.randn(images01.shape, generator=generator) * strength
    elif kind == "uniform":
        noise = (torch.rand(images01.shape, generator=generator) * 2 - 1) * strength
    elif kind == "blur":
        return gaussian_blur(images01, strength).clamp(0, 1)
    else:
        raise ConfigError(f"unknown corruption {kind!r}; choose from {', '.join(LEVELS)}")
    return (images01 + noise).clamp(0, 1)


def corruptions(dataset: str = "mnist", out_dir: str | Path = "corruptions", *, n: int = 10000,
                levels: dict[str, tuple[float, ...]] | None = None, seed: int = 0, classifier: str | None = None,
                log: Callable[[str], None] = print) -> dict:
    """Run the experiment and write ``corruptions.csv``, ``corruptions.png`` and ``corruptions.json``.

    Args:
        dataset: an image dataset with a trained domain classifier.
        out_dir: folder for the three files.
        n: test images T and corrupted training images G (seeded subsets).
        levels: corruption kind → strengths (default ``LEVELS``); 0 gives the clean baseline.
        seed: seeds the subsets and the noise.
        classifier: classifier folder (default: the dataset's cached one).

    Returns:
        The JSON summary: per kind the strengths, DDM and FID values and ``ddm_monotone`` (DDM strictly
        rises with strength), plus ``all_monotone``.
    """
    levels = levels or LEVELS
    embed = Embedder.load(dataset, classifier)
    _, test_f, _ = embed.real("test", n, seed)
    train, _, pixel_range = embed.real("train", n, seed)
    train01 = convert_range(train, pixel_range, (0.0, 1.0))
    rows = []
    for kind, strengths in levels.items():
        for strength in strengths:
            gen = torch.Generator().manual_seed(seed)
            feats = embed(corrupt(train01, kind, float(strength), gen), (0.0, 1.0))
            rows.append({"corruption": kind, "strength": float(strength), "ddm": ddm(test_f, feats),
                         "fid": fid(test_f, feats)})
            log(f"{kind} {strength}: DDM {rows[-1]['ddm']:.4f} FID {rows[-1]['fid']:.3f}")
    summary = _summary(rows, dataset, embed, n)
    return write_outputs(summary, rows, out_dir, "corruptions", _plot)


def _summary(rows: list[dict], dataset: str, embed: Embedder, n: int) -> dict:
    kinds = {}
    for kind in dict.fromkeys(r["corruption"] for r in rows):
        mine = sorted((r for r in rows if r["corruption"] == kind), key=lambda r: r["strength"])
        ddms = [r["ddm"] for r in mine]
        kinds[kind] = {"strength": [r["strength"] for r in mine], "ddm": ddms, "fid": [r["fid"] for r in mine],
                       "ddm_monotone": bool(all(b > a for a, b in pairwise(ddms)))}
    return {"experiment": "corruptions", "dataset": dataset, "embedding": embed.embedding, "n": n,
            "classifier": {"dir": embed.meta["dir"], "test_accuracy": embed.meta.get("test_accuracy")},
            "corruptions": kinds, "all_monotone": all(k["ddm_monotone"] for k in kinds.values())}


def _plot(summary: dict, path: Path) -> Path:
    panels = [Panel(f"{kind}", UNITS.get(kind, "strength"), "DDM(test, corrupted train)",
                    series={"DDM": (v["strength"], v["ddm"], None)})
              for kind, v in summary["corruptions"].items()]
    return write_panels(panels, path, f"corruptions of {summary['dataset']}: DDM against strength (0 = clean)")
