"""Mode coverage (SPEC.md "Measures"): toy mixtures and class histograms of image samples.

Toy mixtures (8 Gaussians on a ring, 25 on a grid; Metz et al. 2017, Unrolled GANs; Srivastava et al.
2017, VEEGAN): a sample is *high quality* when it lies within ``radius`` = 3 standard deviations σ of a
mode centre (Euclidean distance ≤ 3σ; VEEGAN's criterion). A mode is *hit* when at least ``min_count``
high-quality samples lie within 3σ of it. ``min_count`` defaults to 20 (ganforge's choice, in the spirit of the
PacGAN 2-D experiments, Lin et al. 2018: a handful of stray samples does not make a mode); ``min_count=1``
gives VEEGAN's count. The caller passes the centres and σ (``ganforge.data.toy_mode_centers``; ring8 σ 0.02,
grid25 σ 0.05).

Image data (Basart 2017; Che et al. 2017): the histogram of the domain classifier's argmax classes over the
samples, its KL divergence to the uniform distribution, KL(p || U) = Σ_k p_k log(K p_k) (0 log 0 = 0; 0 for a
uniform histogram, log K when all samples fall in one class), and the number of classes *covered*: classes
whose share is at least ``min_share_factor`` (default 0.1) times the uniform share 1/K (1% for 10 classes).
"""

from __future__ import annotations

import numpy as np
import torch

from ganforge.errors import ConfigError
from ganforge.metrics.validation import ArrayLike

DEFAULT_MIN_COUNT = 20
DEFAULT_RADIUS_SIGMAS = 3.0
DEFAULT_MIN_SHARE_FACTOR = 0.1


def toy_mode_coverage(points: ArrayLike, centers: ArrayLike, sigma: float, *, min_count: int = DEFAULT_MIN_COUNT,
                      radius_sigmas: float = DEFAULT_RADIUS_SIGMAS) -> dict[str, object]:
    """Modes hit and share of high-quality samples of 2-D samples from a Gaussian mixture.

    Args:
        points: (N, 2) generated points.
        centers: (K, 2) mode centres.
        sigma: the modes' standard deviation.
        min_count: high-quality samples a mode needs to count as hit.
        radius_sigmas: the high-quality radius in units of σ.

    Returns:
        {"modes_hit": int, "modes_total": K, "high_quality_share": float, "counts": [per-mode high-quality
        counts], "min_count", "radius": radius_sigmas · σ}.
    """
    p = torch.as_tensor(np.asarray(points, dtype=np.float64))
    c = torch.as_tensor(np.asarray(centers, dtype=np.float64))
    if p.dim() != 2 or c.dim() != 2 or p.shape[1] != c.shape[1] or len(p) == 0 or len(c) == 0:
        raise ValueError(f"points {tuple(p.shape)} and centres {tuple(c.shape)} must be (N, D) and (K, D)")
    if not sigma > 0 or min_count < 1 or not radius_sigmas > 0:
        raise ConfigError("sigma and radius_sigmas must be positive and min_count at least 1")
    radius = radius_sigmas * sigma
    dist, nearest = torch.cdist(p, c).min(1)  # (N,), (N,)
    good = dist <= radius
    counts = torch.bincount(nearest[good], minlength=len(c))
    return {
        "modes_hit": int((counts >= min_count).sum()),
        "modes_total": len(c),
        "high_quality_share": float(good.double().mean()),
        "counts": counts.tolist(),
        "min_count": int(min_count),
        "radius": float(radius),
    }


def class_histogram(logits: ArrayLike, num_classes: int | None = None) -> np.ndarray:
    """Share of samples per argmax class.

    Args:
        logits: (N, K) classifier logits (or probabilities).
        num_classes: K (default: the logits' width).

    Returns:
        (K,) float64 shares summing to 1.
    """
    x = torch.as_tensor(np.asarray(logits))
    if x.dim() != 2 or len(x) == 0:
        raise ValueError(f"logits must be a non-empty (N, K) array, got shape {tuple(x.shape)}")
    k = x.shape[1] if num_classes is None else num_classes
    counts = torch.bincount(x.argmax(1), minlength=k).double()
    return (counts / counts.sum()).numpy()


def kl_to_uniform(histogram: ArrayLike) -> float:
    """KL(p || uniform) = Σ_k p_k log(K p_k) in nats, with 0 log 0 = 0.

    Args:
        histogram: (K,) non-negative shares summing to 1.
    """
    p = np.asarray(histogram, dtype=np.float64).ravel()
    if p.size == 0 or (p < 0).any() or not np.isclose(p.sum(), 1.0):
        raise ValueError("histogram must hold non-negative shares that sum to 1")
    nz = p[p > 0]
    return float(np.sum(nz * np.log(p.size * nz)))


def class_coverage(logits: ArrayLike, *, min_share_factor: float = DEFAULT_MIN_SHARE_FACTOR) -> dict[str, object]:
    """Class histogram, its KL to uniform, and classes covered.

    Args:
        logits: (N, K) classifier logits of the samples.
        min_share_factor: a class is covered when its share >= min_share_factor / K.

    Returns:
        {"histogram": [K shares], "kl_to_uniform": float, "classes_covered": int, "num_classes": K,
        "min_share": float}.
    """
    hist = class_histogram(logits)
    min_share = min_share_factor / len(hist)
    return {
        "histogram": hist.tolist(),
        "kl_to_uniform": kl_to_uniform(hist),
        "classes_covered": int((hist >= min_share).sum()),
        "num_classes": len(hist),
        "min_share": float(min_share),
    }
