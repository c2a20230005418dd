"""A resumable stream of shuffled mini-batches with an explicit data order.

Epoch ``e`` visits the training set in the permutation drawn from ``seed`` and ``e``; the state
(epoch, position) is plain JSON saved in every checkpoint, so a resumed run sees exactly the
batches an uninterrupted run would. Batches never straddle an epoch (the tail is dropped).
"""

from __future__ import annotations

import torch

from ganforge.errors import ConfigError


class BatchStream:
    """Shuffled batches of (images, labels) held as tensors on one device.

    Args:
        images: (N, ...) tensor.
        labels: (N,) int64 tensor.
        batch_size: samples per batch (≤ N).
        seed: base seed of the data order.
        transform: optional function applied to each image batch (memory format, dtype).
        shard: (rank, world) to take every world-th batch for rank (distributed training).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int, seed: int,
                 transform=None, shard: tuple[int, int] = (0, 1)) -> None:
        if batch_size < 1 or batch_size * shard[1] > len(images):
            raise ConfigError(f"train.batch_size {batch_size} does not fit a dataset of {len(images)} samples "
                              f"on {shard[1]} process(es); choose 1 ≤ batch_size ≤ {len(images) // shard[1]}")
        self.images, self.labels = images, labels
        self.batch_size, self.seed = batch_size, seed
        self.transform = transform
        self.rank, self.world = shard
        self.epoch, self.position = 0, 0
        self._order: torch.Tensor | None = None

    @property
    def batches_per_epoch(self) -> int:
        return len(self.images) // (self.batch_size * self.world)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch: images (B, ...) and labels (B,)."""
        if self.position >= self.batches_per_epoch:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        if self._order is None:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            self._order = torch.randperm(len(self.images), generator=gen).to(self.images.device)
        start = (self.position * self.world + self.rank) * self.batch_size
        idx = self._order[start:start + self.batch_size]
        self.position += 1
        x, y = self.images.index_select(0, idx), self.labels.index_select(0, idx)
        return (self.transform(x) if self.transform else x), y

    def state_dict(self) -> dict:
        """JSON-safe data order: seed, epoch, position."""
        return {"seed": self.seed, "epoch": self.epoch, "position": self.position,
                "batch_size": self.batch_size, "world": self.world}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved data order."""
        self.seed, self.epoch, self.position = state["seed"], state["epoch"], state["position"]
        self._order = None
