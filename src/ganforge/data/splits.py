"""The held-out validation split: a deterministic subset of the training split.

``val`` is the first ``val_size`` indices of a permutation drawn from the fixed seed
:data:`VAL_SEED` (independent of any training seed), so the same images are held out on every run
and machine; ``train`` is the rest. Both keep the original order.
"""

from __future__ import annotations

import numpy as np

from ganforge.data.spec import RawSplit
from ganforge.errors import DataError

VAL_SEED = 0x6A9F  # fixed forever: changing it changes every validation split


def holdout_indices(total: int, val_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training part and the validation part of a split of ``total`` samples.

    Args:
        total: size of the official training split.
        val_size: number of samples to hold out, 0 < val_size < total.

    Returns:
        (train_indices, val_indices): sorted int64 arrays, disjoint, together ``range(total)``.
    """
    if not 0 < val_size < total:
        raise DataError(f"val_size {val_size} must lie in 1..{total - 1} for a training split of {total}")
    order = np.random.default_rng(VAL_SEED).permutation(total)
    return np.sort(order[val_size:]), np.sort(order[:val_size])


def select(raw: RawSplit, split: str, val_size: int) -> RawSplit:
    """The "train" (rest) or "val" (held-out) part of the official training split ``raw``."""
    train_idx, val_idx = holdout_indices(len(raw.labels), val_size)
    index = val_idx if split == "val" else train_idx
    return RawSplit(raw.images[index], raw.labels[index], raw.classes)
