"""Pixel-range scaling between stored uint8 pixels and the float ranges the nets use.

Two ranges are supported: (-1, 1), for generators that end in ``tanh`` (DCGAN, Radford et al. 2016),
and (0, 1), for ``sigmoid`` outputs. 0 maps to the low end and 255 to the high end exactly.
:func:`gaussian_blur` smooths images (the corruption experiment of Basart 2017; the pyramid of LAPGAN,
Denton et al. 2015, blurs too).

Laplacian pyramid (Burt & Adelson 1983; LAPGAN, Denton et al. 2015, Sec. 3.1, Eqs. 3-4), with
d = blur + 2×2 mean (``pyramid_down``) and u = nearest ×2 + blur (``pyramid_up``), both with the same
Gaussian of ``sigma`` pixels (the 2×2 mean and the pixel replication keep the two grids aligned):

    I_0 = x,  I_{k+1} = d(I_k)                      Gaussian pyramid, K + 1 = ``levels`` images
    h_k = I_k - u(I_{k+1}) for k < K,  h_K = I_K     band-pass images and low-pass residual (Eq. 3)
    I_k = u(I_{k+1}) + h_k                           collapse, exact up to float rounding (Eq. 4)

Sizes halve at each level: 28 → 14 → 7 and 32 → 16 → 8 for three levels; H and W must be divisible
by 2^(levels - 1).
"""

from __future__ import annotations

import contextlib
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
        with contextlib.suppress(TypeError, ValueError):
            low, high = (float(v) for v in pixel_range)
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


def _check_images(images: torch.Tensor, what: str) -> None:
    if images.dim() != 4:
        raise DataError(f"{what} expects (N, C, H, W) images, got shape {tuple(images.shape)}")


def pyramid_down(images: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """d(·): Gaussian blur of ``sigma`` pixels, then the mean of each 2×2 block.

    Args:
        images: (N, C, H, W) with H and W even.
        sigma: blur standard deviation in pixels (> 0).

    Returns:
        (N, C, H/2, W/2) in the dtype of ``images``.
    """
    _check_images(images, "pyramid_down")
    h, w = images.shape[-2:]
    if h % 2 or w % 2:
        raise DataError(f"pyramid_down halves the size, so H and W must be even; got {h}×{w}")
    return F.avg_pool2d(gaussian_blur(images, sigma), 2)


def pyramid_up(images: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """u(·): each pixel repeated 2×2 (nearest neighbour), then a Gaussian blur of ``sigma`` pixels.

    Args:
        images: (N, C, H, W).
        sigma: blur standard deviation in pixels (> 0).

    Returns:
        (N, C, 2H, 2W) in the dtype of ``images``.
    """
    _check_images(images, "pyramid_up")
    return gaussian_blur(images.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1), sigma)


def gaussian_pyramid(images: torch.Tensor, levels: int, sigma: float = 1.0) -> list[torch.Tensor]:
    """[I_0, ..., I_K] with I_0 = ``images`` and I_{k+1} = d(I_k); K = ``levels`` - 1.

    Args:
        images: (N, C, H, W) with H and W divisible by 2^(levels - 1).
        levels: number of images in the pyramid (>= 1).
        sigma: blur of d in pixels.

    Returns:
        ``levels`` tensors; I_k has shape (N, C, H / 2^k, W / 2^k).

    Raises:
        DataError: ``levels`` < 1, or a size that cannot be halved ``levels`` - 1 times.
    """
    _check_images(images, "gaussian_pyramid")
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise DataError(f"a pyramid needs at least one level, got levels={levels!r}")
    h, w = images.shape[-2:]
    factor = 2 ** (levels - 1)
    if h % factor or w % factor:
        raise DataError(f"{levels} pyramid levels halve {h}×{w} images {levels - 1} times, so H and W must be "
                        f"divisible by {factor}; use fewer levels")
    out = [images]
    for _ in range(levels - 1):
        out.append(pyramid_down(out[-1], sigma))
    return out


def build_laplacian_pyramid(images: torch.Tensor, levels: int, sigma: float = 1.0) -> list[torch.Tensor]:
    """[h_0, ..., h_K]: h_k = I_k - u(I_{k+1}) for k < K and h_K = I_K (Denton et al. 2015, Eq. 3).

    Args:
        images: (N, C, H, W) with H and W divisible by 2^(levels - 1).
        levels: number of pyramid levels K + 1 (>= 1).
        sigma: blur of d and u in pixels.

    Returns:
        ``levels`` tensors; h_k has shape (N, C, H / 2^k, W / 2^k).
    """
    gauss = gaussian_pyramid(images, levels, sigma)
    bands = [fine - pyramid_up(coarse, sigma) for fine, coarse in zip(gauss[:-1], gauss[1:], strict=True)]
    return [*bands, gauss[-1]]


def collapse_laplacian_pyramid(pyramid: Sequence[torch.Tensor], sigma: float = 1.0) -> torch.Tensor:
    """The image I_0 of a Laplacian pyramid: I_K = h_K, then I_k = u(I_{k+1}) + h_k (Eq. 4).

    Args:
        pyramid: [h_0, ..., h_K] as :func:`build_laplacian_pyramid` returns, each level half the size
            of the one before.
        sigma: the blur the pyramid was built with.

    Returns:
        (N, C, H, W), the shape of h_0.
    """
    if len(pyramid) == 0:
        raise DataError("collapse_laplacian_pyramid needs at least one level, got an empty list")
    image = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        if band.shape[-2:] != (2 * image.shape[-2], 2 * image.shape[-1]) or band.shape[:2] != image.shape[:2]:
            raise DataError(f"pyramid level of shape {tuple(band.shape)} is not twice the size of the next "
                            f"level {tuple(image.shape)}; pass the list that build_laplacian_pyramid returned")
        image = pyramid_up(image, sigma) + band
    return image
