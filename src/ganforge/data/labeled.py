"""The loaded form of a dataset split: float tensors plus labels and a little metadata."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LabeledData:
    """One split of a dataset, ready for a model.

    Attributes:
        images: float32 (N, C, H, W) scaled to ``pixel_range``; toy sets: float32 points (N, 2).
        labels: int64 (N,) indices into ``classes``.
        name: dataset name, e.g. "mnist".
        split: "train", "val" or "test".
        pixel_range: (low, high) of ``images``; None for toy point sets, which are not pixels.
        classes: class names.
    """

    images: torch.Tensor
    labels: torch.Tensor
    name: str
    split: str
    pixel_range: tuple[float, float] | None
    classes: list[str]

    def __post_init__(self) -> None:
        if self.images.shape[0] != self.labels.shape[0]:
            raise ValueError(f"{self.images.shape[0]} images but {self.labels.shape[0]} labels")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        return (
            f"LabeledData(name={self.name!r}, split={self.split!r}, images={tuple(self.images.shape)}, "
            f"pixel_range={self.pixel_range}, classes={len(self.classes)})"
        )
