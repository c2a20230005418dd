"""Pixel-range scaling between stored uint8 pixels and the float ranges the nets use.

Two ranges are supported: (-1, 1), for generators that end in ``tanh`` (DCGAN, Radford et al. 2016),
and (0, 1), for ``sigmoid`` outputs. 0 maps to the low end and 255 to the high end exactly.
:func:`gaussian_blur` smooths images (the corruption experiment of Basart 2017; the pyramid of LAPGAN,
Denton et al. 2015, blurs too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.errors import DataError

PIXEL_RANGES: tuple[tuple[float, float], ...] = ((-1.0, 1.0), (0.0, 1.0))


def check_pixel_range(pixel_range: Sequence[float]) -> tuple[float, float]:
    """Validate ``pixel_range`` and return it as a tuple of two floats.

    Raises:
        DataError: unless it is (-1, 1) or (0, 1).
    """
    low, high = float("nan"), float("nan")
    if not isinstance(pixel_range, (str, bytes)):
        try:
            low, high = (float(v) for v in pixel_range)
        except (TypeError, ValueError):
            pass
    if (low, high) not in PIXEL_RANGES:
        raise DataError(f"pixel_range {pixel_range!r} is not supported; use (-1.0, 1.0) or (0.0, 1.0)")
    return low, high


def scale_uint8(pixels: np.ndarray | torch.Tensor, pixel_range: tuple[float, float]) -> torch.Tensor:
    """Map uint8 pixels 0..255 to float32 in ``pixel_range`` (vectorized, exact at both ends).

    Args:
        pixels: uint8 array or tensor of any shape, e.g. (N, C, H, W).
        pixel_range: (-1.0, 1.0) or (0.0, 1.0).

    Returns:
        float32 tensor of the same shape; 0 maps to ``low`` and 255 to ``high`` exactly, every
        other value lies within one float32 ulp of ``low + k * (high - low) / 255``.
    """
    low, high = check_pixel_range(pixel_range)
    tensor = torch.from_numpy(pixels) if isinstance(pixels, np.ndarray) else pixels
    if tensor.dtype != torch.uint8:
        raise DataError(f"scale_uint8 expects uint8 pixels, got {tensor.dtype}; pass the stored pixels")
    # numpy's allocator asks for transparent huge pages, which makes the first touch of a large
    # float buffer several times cheaper than torch's; the tensor shares that memory.
    out = torch.from_numpy(np.empty(tuple(tensor.shape), dtype=np.float32))
    out.copy_(tensor)  # uint8 -> float32 in one vectorized pass
    if low == 0.0:
        return out.mul_(1.0 / 255.0)  # 255 -> 1.0 exactly; others within 1 ulp of k / 255
    return out.mul_(1.0 / 127.5).sub_(1.0)  # 0 -> -1.0, 255 -> 1.0 exactly; others within 1 ulp


def to_uint8(images: torch.Tensor, pixel_range: tuple[float, float]) -> torch.Tensor:
    """Inverse of :func:`scale_uint8`: floats in ``pixel_range`` to uint8 (rounded, clamped).

    Args:
        images: float tensor of any shape, e.g. (N, C, H, W), nominally within ``pixel_range``.
        pixel_range: (-1.0, 1.0) or (0.0, 1.0).

    Returns:
        uint8 tensor of the same shape; values outside the range are clamped to 0 or 255.
    """
    low, high = check_pixel_range(pixel_range)
    unit = (images.detach().float() - low) / (high - low)  # (…) in [0, 1]
    return unit.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)


def gaussian_kernel1d(sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian taps of standard deviation ``sigma`` pixels, radius ceil(3σ): (2r + 1,)."""
    if not sigma > 0:
        raise DataError(f"blur sigma must be positive, got {sigma}")
    radius = max(1, math.ceil(3.0 * sigma))
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=torch.float64) / sigma) ** 2)
    return (taps / taps.sum()).float()


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur every channel of (N, C, H, W) ``images`` with a separable Gaussian of ``sigma`` pixels.

    Borders are reflected (replicated when the kernel is wider than the image), so a constant image stays
    constant. ``sigma == 0`` returns the images unchanged.
    """
    if sigma == 0:
        return images
    taps = gaussian_kernel1d(sigma).to(images.device, images.dtype)
    n, c, h, w = images.shape
    r = len(taps) // 2
    x = images.reshape(n * c, 1, h, w)
    mode = "reflect" if r < min(h, w) else "replicate"
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode=mode), taps.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, r, r), mode=mode), taps.view(1, 1, -1, 1))
    return x.reshape(n, c, h, w)
