"""A trained ModNet run applied to real images, for ``fool``, ``augment`` and the augmentation experiment
(Basart 2017): every source x of label y modified to every target y_t ≠ y, x' = ModNet(x, y_t).

Outputs are ordered source by source, targets increasing: for K classes, rows i·(K-1) .. i·(K-1) + K-2 are
source i modified to the K - 1 labels other than y_i.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganforge.config import Config
from ganforge.data import LabeledData, load_data_split
from ganforge.errors import ConfigError
from ganforge.metrics.features import subset_indices
from ganforge.variants.modnet import modify


@dataclass
class ModNetRun:
    """A ModNet run opened for use: its nets (eval mode, CPU or the run's device), config and pixel range."""

    nets: dict[str, nn.Module]
    cfg: Config
    pixel_range: tuple[float, float]
    num_classes: int

    @classmethod
    def open(cls, run: str | Path, step: int | None = None) -> ModNetRun:
        """Open a ``ganforge train`` run folder; refuses a run of another model in one line."""
        from ganforge.train.run import open_run

        opened = open_run(run, step=step)
        if opened.spec.name != "modnet":
            raise ConfigError(f"{run} is a {opened.spec.name!r} run; this command needs a modnet run "
                              "(ganforge train --preset modnet-mnist)")
        return cls(opened.nets, opened.cfg, opened.cfg.data.range, opened.data_shape.num_classes)

    def split(self, split: str) -> LabeledData:
        """A split of the run's dataset in the run's pixel range."""
        return load_data_split(self.cfg.data, split)

    def subset(self, split: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """(images (n', C, H, W), labels (n',), indices) of a seeded subset of ``split`` (n' = min(n, size))."""
        data = self.split(split)
        idx = subset_indices(len(data), n, seed)
        t = torch.from_numpy(idx)
        return data.images[t], data.labels[t], idx


def other_labels(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N, K-1): for each label y_i, the labels ≠ y_i in increasing order."""
    t = torch.arange(num_classes - 1).expand(len(y), -1)  # (N, K-1)
    return t + (t >= y[:, None]).long()


@torch.no_grad()
def all_targets(run: ModNetRun, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 500,
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every source modified to every other label.

    Args:
        run: the opened ModNet run.
        x: sources (N, C, H, W) in the run's pixel range.
        y: their labels (N,).
        batch_size: modified images per forward pass of G (eval mode: batch-independent).

    Returns:
        (x' (N·(K-1), C, H, W) float32 CPU, source index into x (N·(K-1),), target label (N·(K-1),)).
    """
    if len(x) == 0:
        raise ConfigError("no source images to modify; pass a positive --n")
    K = run.num_classes
    source = torch.arange(len(x)).repeat_interleave(K - 1)
    target = other_labels(y, K).reshape(-1)
    G = run.nets["generator"]
    device = next(G.parameters()).device
    parts = []
    for i in range(0, len(source), batch_size):
        s, t = source[i:i + batch_size], target[i:i + batch_size]
        parts.append(modify(G, x[s].to(device), t.to(device), K, run.cfg.model.delta_mode, run.pixel_range).cpu())
    return torch.cat(parts), source, target
