"""Latent interpolation: linear (lerp) and spherical (slerp, Shoemake 1985; White 2016)."""

from __future__ import annotations

import torch

from ganforge.errors import ConfigError


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Linear interpolation (1 - t) a + t b.

    Args:
        a, b: (D,) endpoints.
        t: (T,) weights in [0, 1].

    Returns:
        (T, D) points.
    """
    t = t[:, None]
    return (1 - t) * a[None] + t * b[None]


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation along the great circle between a and b (norms interpolated linearly).

    Args:
        a, b: (D,) endpoints.
        t: (T,) weights in [0, 1].

    Returns:
        (T, D) points; falls back to lerp when a and b are (anti)parallel within ``eps``.
    """
    na, nb = a.norm(), b.norm()
    ua, ub = a / na, b / nb
    omega = torch.arccos((ua * ub).sum().clamp(-1.0, 1.0))
    so = torch.sin(omega)
    if so.abs() < eps:
        return lerp(a, b, t)
    t = t[:, None]
    direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / so
    return direction * ((1 - t) * na + t * nb)


def interpolate_latents(a: torch.Tensor, b: torch.Tensor, steps: int, method: str = "slerp") -> torch.Tensor:
    """``steps`` latents from a to b inclusive with ``method`` 'lerp' or 'slerp'; shape (steps, D)."""
    t = torch.linspace(0.0, 1.0, steps, dtype=a.dtype)
    if method == "lerp":
        return lerp(a, b, t)
    if method == "slerp":
        return slerp(a, b, t)
    raise ConfigError(f"unknown interpolation {method!r}; choose one of: lerp, slerp")
