"""``ganforge evaluate --self-check``: the FID/KID pipeline checked on one real set against itself.

Four checks, each reported with its number and its pass criterion:

* ``fid_self``: FID of the features against a copy of themselves, 0 up to float64 rounding
  (pass: |FID| <= 1e-6 · max(1, Tr Σ)).
* ``kid_self``: KID of the set against itself, ≈ 0: each of 100 subsets takes a random permutation and
  compares its first m rows with the next m (disjoint halves, m = min(1000, N/2)), which makes the
  unbiased MMD² exactly unbiased for 0 (pass: |mean| <= 3 standard errors, std/√100). ``kid(x, x)``
  itself draws both sides independently from one finite set; rows drawn on both sides then enter the
  cross term k(x, x) but not the within terms, biasing it negative by about 2 (mean k(x, x) - mean
  k(x, y)) / N, which is large for the cubic kernel on logits.
* ``batch_size``: features computed at two batch sizes (default 7 and 64) agree (pass: max |Δ| <= 1e-4 ·
  max(1, max |φ|), float32 rounding of the forward pass), and FID between the two feature sets is ≈ 0.
* ``float64``: the Gaussian statistics behind FID are float64.

FID's sample-count rule (N > D, see :func:`ganforge.metrics.spread.check_fid_samples`) is applied first,
so a set too small for its feature dimension fails with one line that names the fix.
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge.metrics.features import embed
from ganforge.metrics.fid import fid, gaussian_stats
from ganforge.metrics.kid import mmd2_unbiased
from ganforge.metrics.spread import check_fid_samples

BATCH_SIZES = (7, 64)
KID_SUBSETS = 100


def self_check(classifier: Any, images: torch.Tensor, pixel_range: tuple[float, float] | None, *,
               embedding: str = "logits", batch_sizes: tuple[int, int] = BATCH_SIZES, seed: int = 0) -> dict:
    """Run the four checks on ``images`` (one real set).

    Args:
        classifier: the domain classifier (None for the "identity" embedding).
        images: (N, C, H, W) images in ``pixel_range`` or (N, 2) toy points.
        pixel_range: the images' (low, high), None for toy points.
        embedding: as in :func:`ganforge.metrics.features.embed`.
        batch_sizes: the two batch sizes whose features are compared.
        seed: seeds KID's subset draws.

    Returns:
        {"n", "feature_dim", "embedding", "checks": {name: {..., "pass": bool}}, "pass": bool}.
    """
    first, second = (embed(classifier, images, embedding=embedding, batch_size=b, pixel_range=pixel_range)
                     for b in batch_sizes)
    n, dim = first.shape
    check_fid_samples(n, dim, "samples in the self-check set")
    checks = {"fid_self": _fid_self(first), "kid_self": _kid_self(first, seed),
              "batch_size": _batch_size(first, second, batch_sizes),
              "float64": _float64(first)}
    return {"n": n, "feature_dim": dim, "embedding": embedding, "checks": checks,
            "pass": all(c["pass"] for c in checks.values())}


def _fid_self(x: torch.Tensor) -> dict:
    value = fid(x, x.clone())
    tol = 1e-6 * max(1.0, float(gaussian_stats(x)[1].trace()))
    return {"fid": value, "tolerance": tol, "pass": abs(value) <= tol}


def _kid_self(x: torch.Tensor, seed: int) -> dict:
    m = min(1000, max(2, len(x) // 2))
    rng = torch.Generator().manual_seed(seed)
    values = torch.empty(KID_SUBSETS, dtype=torch.float64)
    for i in range(KID_SUBSETS):
        perm = torch.randperm(len(x), generator=rng)
        values[i] = mmd2_unbiased(x[perm[:m]].double(), x[perm[m:2 * m]].double())
    mean, std = float(values.mean()), float(values.std(correction=0))
    se = std / KID_SUBSETS ** 0.5
    return {"kid": mean, "kid_std": std, "kid_subset_size": m, "kid_subsets": KID_SUBSETS, "halves": "disjoint",
            "tolerance": 3 * se, "pass": abs(mean) <= 3 * se}


def _batch_size(a: torch.Tensor, b: torch.Tensor, sizes: tuple[int, int]) -> dict:
    diff = float((a.double() - b.double()).abs().max())
    tol = 1e-4 * max(1.0, float(a.abs().max()))
    between = fid(a, b)
    fid_tol = 1e-6 * max(1.0, float(gaussian_stats(a)[1].trace())) + tol
    return {"batch_sizes": list(sizes), "max_abs_feature_diff": diff, "tolerance": tol,
            "fid_between": between, "pass": diff <= tol and abs(between) <= fid_tol}


def _float64(x: torch.Tensor) -> dict:
    mu, sigma = gaussian_stats(x)
    dtypes = sorted({str(mu.dtype), str(sigma.dtype)})
    return {"stats_dtypes": dtypes, "pass": dtypes == ["float64"]}
