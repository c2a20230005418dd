"""Input checks shared by the metric math: features become finite float64 (N, D) tensors.

Every metric accepts torch tensors or numpy arrays. Arithmetic is float64 on the CPU, so the numbers do
not depend on the caller's dtype, device or batching; float32 inputs may stay float32 until a tile or
subset is converted (float32 values are exact in float64, so the result is the same). Bad shapes raise
``ValueError``; bad argument values (too few samples for the requested splits or subsets) raise
``ConfigError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganforge.errors import ConfigError

ArrayLike = torch.Tensor | np.ndarray


def as_features(x: Any, name: str = "features", *, keep_float32: bool = False,
                keep_device: bool = False) -> torch.Tensor:
    """Convert ``x`` to a contiguous, finite float64 CPU tensor of shape (N, D) (with ``keep_device``, on the
    device of a tensor ``x``).

    Args:
        x: (N, D) torch tensor, numpy array or nested sequence of numbers.
        name: what ``x`` is, used in error messages.
        keep_float32: leave float32 input as it is (no copy); for callers that convert to float64 tile by
            tile or subset by subset, so that memory does not hold a float64 copy of every feature.
        keep_device: leave a CUDA tensor on its GPU (for metrics that compute there: DDM, Parzen).

    Returns:
        (N, D) float64 tensor (float32 when ``keep_float32`` and ``x`` is float32); a copy only when the
        dtype or device changes.

    Raises:
        ValueError: if ``x`` is not 2-D, is empty, or holds NaN or Inf.
    """
    if isinstance(x, torch.Tensor):
        t = x.detach() if keep_device else x.detach().cpu()
    else:
        t = torch.as_tensor(np.asarray(x))
    if not (keep_float32 and t.dtype == torch.float32):
        t = t.to(torch.float64)
    if t.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D), got shape {tuple(t.shape)}; flatten each sample's features")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)}); pass at least one sample with one feature")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or Inf; check the network that produced the features")
    return t.contiguous()


def feature_pair(a: Any, b: Any, name_a: str, name_b: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Two (N, D) feature sets for a pairwise metric (DDM, Parzen): :func:`as_features` with ``keep_float32``,
    on one device (a GPU when either set is on one; the other is copied there), checked to share D."""
    x = as_features(a, name_a, keep_float32=True, keep_device=True)
    y = as_features(b, name_b, keep_float32=True, keep_device=True)
    if x.device != y.device:
        device = x.device if x.device.type != "cpu" else y.device
        x, y = x.to(device), y.to(device)
    check_same_dim(x, y, name_a, name_b)
    return x, y


def check_same_dim(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless (N, D) tensors ``a`` and ``b`` have the same feature dimension D."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{name_a} has {a.shape[1]} features but {name_b} has {b.shape[1]}; embed both with the same network"
        )


def check_at_least(count: int, minimum: int, what: str, fix: str) -> None:
    """Raise ``ConfigError`` when ``count`` is below ``minimum`` (e.g. samples for the requested splits)."""
    if count < minimum:
        raise ConfigError(f"{what}: need at least {minimum}, got {count}; {fix}")


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` if it is an int >= 1, else raise ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
