"""Memorization check: each generated sample's nearest training item, against the test set's (Basart 2017).

The ModNet thesis (Basart 2017) asks whether generated images are copies of training images by finding the
nearest training image (pixel L2) of each. ganforge does this in pixel space and in the classifier's feature
space, and gives the distances a reference: the nearest-training distances of held-out test images, which
are real but were never trained on. A generator that memorizes puts many samples closer to the training set
than almost any test image is.

Summary (:func:`memorization_summary`): quantiles of both distance sets, the share of generated samples
closer (strictly) than the 1st percentile of the test-to-train distances, and the share of exact copies
(distance 0).

Computation (:func:`nearest_neighbours`): row blocks of queries against column blocks of keys, squared
distances by one float32 matrix product per tile, ||q||² + ||k||² - 2 q·k, keeping the ``candidates``
smallest per row; the candidates' distances are then recomputed from direct float64 differences and the
smallest kept. So memory is one tile, never |Q| × |K|, and a copy of a training item gets distance exactly 0.
"""

from __future__ import annotations

import numpy as np
import torch

from ganforge.errors import ConfigError
from ganforge.metrics.validation import ArrayLike

DEFAULT_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95)


def _rows(x: ArrayLike, name: str) -> torch.Tensor:
    """(N, ...) tensor or array → contiguous float32 (N, D), finite and non-empty."""
    t = torch.as_tensor(x).detach().cpu()
    if t.dim() < 2 or len(t) == 0:
        raise ValueError(f"{name} must be a non-empty batch (N, ...), got shape {tuple(t.shape)}")
    t = t.reshape(len(t), -1).to(torch.float32).contiguous()
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or Inf; check the generator or the features")
    return t


def nearest_neighbours(queries: ArrayLike, keys: ArrayLike, *, block_rows: int = 512, block_cols: int = 8192,
                       candidates: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """The nearest key (Euclidean) of every query, blocked.

    Args:
        queries: (Nq, ...) samples (flattened to (Nq, D)).
        keys: (Nk, ...) reference samples with the same D, e.g. the training set.
        block_rows, block_cols: tile shape; change memory and speed, not the result.
        candidates: float32 candidates per query re-checked in float64 (guards against rounding near ties).

    Returns:
        (distances (Nq,) float64, indices into keys (Nq,) int64).
    """
    q, k = _rows(queries, "queries"), _rows(keys, "keys")
    if q.shape[1] != k.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} values per item but keys {k.shape[1]}; use the same space")
    if block_rows < 1 or block_cols < 1 or candidates < 1:
        raise ConfigError("block_rows, block_cols and candidates must be positive integers")
    center = k.mean(0)
    k_c = k - center  # centred copies for the float32 expansion (it loses less); exact distances use the originals
    k_sq = k_c.square().sum(1)
    dist = torch.empty(len(q), dtype=torch.float64)
    index = torch.empty(len(q), dtype=torch.int64)
    for i in range(0, len(q), block_rows):
        qb = q[i:i + block_rows]
        cand = _candidates(qb - center, k_c, k_sq, block_cols, min(candidates, len(k)))  # (rows, c)
        exact = (qb.double()[:, None, :] - k[cand].double()).square().sum(2).sqrt()  # (rows, c)
        best = exact.argmin(1)
        dist[i:i + len(qb)] = exact.gather(1, best[:, None])[:, 0]
        index[i:i + len(qb)] = cand.gather(1, best[:, None])[:, 0]
    return dist, index


def _candidates(qb: torch.Tensor, k: torch.Tensor, k_sq: torch.Tensor, block_cols: int, c: int) -> torch.Tensor:
    """Indices (rows, c) of the c keys with the smallest float32 squared distance to each query row."""
    q_sq = qb.square().sum(1, keepdim=True)  # (rows, 1)
    best_d = torch.full((len(qb), 0), float("inf"))
    best_i = torch.empty((len(qb), 0), dtype=torch.int64)
    for j in range(0, len(k), block_cols):
        d2 = torch.addmm(q_sq + k_sq[None, j:j + block_cols], qb, k[j:j + block_cols].t(), alpha=-2.0)
        d_all = torch.cat([best_d, d2], 1)
        i_all = torch.cat([best_i, torch.arange(j, j + d2.shape[1]).expand(len(qb), -1)], 1)
        best_d, pos = d_all.topk(min(c, d_all.shape[1]), dim=1, largest=False)
        best_i = i_all.gather(1, pos)
    return best_i


def memorization_summary(fake_distances: ArrayLike, test_distances: ArrayLike,
                         quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> dict[str, object]:
    """Compare generated-to-train nearest distances with test-to-train ones.

    Args:
        fake_distances: (N,) nearest-training distances of generated samples.
        test_distances: (M,) nearest-training distances of test samples (the reference).
        quantiles: levels in [0, 1] reported for both sets.

    Returns:
        {"fake_quantiles": {level: value}, "test_quantiles": {...}, "fake_mean", "test_mean", "test_p1"
        (1st percentile of the test distances), "share_below_test_p1" (share of generated samples strictly
        closer), "share_exact_copies" (share at distance 0), "median_ratio" (fake median / test median)}.
    """
    f = np.asarray(torch.as_tensor(fake_distances, dtype=torch.float64)).ravel()
    t = np.asarray(torch.as_tensor(test_distances, dtype=torch.float64)).ravel()
    if f.size == 0 or t.size == 0:
        raise ValueError("both distance sets must be non-empty")
    p1 = float(np.quantile(t, 0.01))
    t_median = float(np.median(t))
    return {
        "fake_quantiles": {f"{q:g}": float(np.quantile(f, q)) for q in quantiles},
        "test_quantiles": {f"{q:g}": float(np.quantile(t, q)) for q in quantiles},
        "fake_mean": float(f.mean()),
        "test_mean": float(t.mean()),
        "test_p1": p1,
        "share_below_test_p1": float((f < p1).mean()),
        "share_exact_copies": float((f == 0).mean()),
        "median_ratio": float(np.median(f)) / t_median if t_median > 0 else float("inf"),
    }


def memorization(fake: ArrayLike, test: ArrayLike, train: ArrayLike, **block: int) -> dict[str, object]:
    """Nearest training items of generated and of test samples in one space, and their summary.

    Args:
        fake: (N, ...) generated samples (pixels or features).
        test: (M, ...) held-out real samples in the same space.
        train: (R, ...) the training set in the same space.
        block: ``block_rows`` / ``block_cols`` / ``candidates`` for :func:`nearest_neighbours`.

    Returns:
        :func:`memorization_summary` plus "fake_index" (N,) int64 numpy array of the neighbours.
    """
    fake_dist, fake_index = nearest_neighbours(fake, train, **block)
    test_dist, _ = nearest_neighbours(test, train, **block)
    return {**memorization_summary(fake_dist, test_dist), "fake_index": fake_index.numpy()}


def neighbour_pairs(samples: torch.Tensor, train: torch.Tensor, index: ArrayLike, count: int) -> torch.Tensor:
    """The first ``count`` samples, each followed by its nearest training item, for a grid image.

    Args:
        samples: (N, C, H, W) generated images.
        train: (R, C, H, W) training images in the same pixel range.
        index: (N,) nearest-training indices (from :func:`nearest_neighbours`).
        count: pairs to take (at most N).

    Returns:
        (2·count, C, H, W): sample 0, its neighbour, sample 1, its neighbour, ...
    """
    count = min(count, len(samples))
    idx = torch.as_tensor(np.asarray(index)[:count], dtype=torch.int64)
    return torch.stack([samples[:count], train[idx]], 1).reshape(2 * count, *samples.shape[1:])
