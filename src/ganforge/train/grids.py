"""Sample grids: a batch of images tiled into one PNG (no torchvision needed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.data.cache import write_atomic


def tile(images: torch.Tensor, *, nrow: int | None = None, pixel_range=(-1.0, 1.0), pad: int = 2) -> np.ndarray:
    """Tile images into one uint8 array.

    Args:
        images: (N, C, H, W) with C in {1, 3}, values in ``pixel_range``.
        nrow: images per row (default: ceil(sqrt(N))).
        pixel_range: (low, high) mapped to 0..255; values outside are clipped.
        pad: pixels of padding between tiles.

    Returns:
        (rows·(H+pad)+pad, nrow·(W+pad)+pad, 3) uint8 array.
    """
    x = images.detach().float().cpu()
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected (N, 1|3, H, W) images, got {tuple(x.shape)}")
    low, high = pixel_range
    x = ((x - low) / (high - low)).clamp(0, 1).mul(255).round().to(torch.uint8)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    n, _, h, w = x.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    canvas = torch.zeros(3, rows * (h + pad) + pad, nrow * (w + pad) + pad, dtype=torch.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        canvas[:, top:top + h, left:left + w] = x[i]
    return canvas.permute(1, 2, 0).numpy()


def save_grid(images: torch.Tensor, path: str | Path, **kwargs) -> Path:
    """Tile ``images`` (see :func:`tile`) and write a PNG atomically; returns the path."""
    return save_png_atomic(tile(images, **kwargs), path)


def save_png_atomic(pixels: np.ndarray, path: str | Path) -> Path:
    """Write an (H, W, 3) uint8 array as a PNG through a temporary file, so a failed write (a full disk)
    leaves no partial PNG behind; the OSError is raised again."""
    path = Path(path)
    write_atomic(path, lambda tmp: Image.fromarray(pixels).save(tmp, format="PNG"))
    return path


def scatter_png(points: torch.Tensor, path: str | Path, size: int = 256, extent: float = 5.0) -> Path:
    """Draw 2-D points (N, 2) in [-extent, extent]^2 as a black-on-white PNG (toy data)."""
    p = points.detach().float().cpu()
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)
    ij = ((p + extent) / (2 * extent) * (size - 1)).round().long()
    keep = ((ij >= 0) & (ij < size)).all(dim=1)
    ij = ij[keep].numpy()
    canvas[size - 1 - ij[:, 1], ij[:, 0]] = 0
    return save_png_atomic(canvas, path)


def save_samples_png(samples: torch.Tensor, path: str | Path, pixel_range=(-1.0, 1.0)) -> Path:
    """A grid for images (N, C, H, W) or a scatter plot for points (N, 2)."""
    if samples.dim() == 2:
        return scatter_png(samples, path)
    return save_grid(samples, path, pixel_range=pixel_range)
