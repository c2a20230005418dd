"""A trained ModNet run opened for ``fool``, ``augment`` and the augmentation experiment (Basart 2017): every
source x of label y modified to every target y_t ≠ y, x' = ModNet(x, y_t), by
:func:`ganforge.variants.modnet_sampling.all_targets`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganforge.errors import ConfigError
from ganforge.metrics.features import subset_indices
from ganforge.train.run import Run, open_run
from ganforge.variants.modnet_sampling import all_targets, other_labels

__all__ = ["all_targets", "open_modnet_run", "other_labels", "subset"]


def open_modnet_run(run: str | Path, step: int | None = None) -> Run:
    """Open a ``ganforge train`` run folder; refuses a run of another model in one line."""
    opened = open_run(run, step=step)
    if opened.spec.name != "modnet":
        raise ConfigError(f"{run} is a {opened.spec.name!r} run; this command needs a modnet run "
                          "(ganforge train --preset modnet-mnist)")
    return opened


def subset(run: Run, split: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """(images (n', C, H, W), labels (n',), indices) of a seeded subset of ``split`` (n' = min(n, size))."""
    data = run.split(split)
    idx = subset_indices(len(data), n, seed)
    t = torch.from_numpy(idx)
    return data.images[t], data.labels[t], idx
