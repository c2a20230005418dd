"""Latent noise z ~ N(0, I) (Goodfellow et al. 2014, the prior p_z)."""

from __future__ import annotations

import torch


def sample_noise(
    n: int, z_dim: int, *, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Standard normal latents.

    Args:
        n: number of latents.
        z_dim: latent size.
        generator: optional dedicated RNG (the global one otherwise); it lives on the CPU.
        device: where the result goes.

    Returns:
        (n, z_dim) float32 tensor.
    """
    z = torch.randn(n, z_dim, generator=generator)
    return z.to(device)
