"""Fully connected generator and discriminator for 2-D toy data (Gaussian mixtures on a ring or grid).

The toy setting of the mode-collapse literature (Metz et al. 2017, unrolled GANs, Sec. 3.1: 8 Gaussians
on a ring; Gulrajani et al. 2017, Sec. 5.1 and ``gan_toy.py``: 8 and 25 Gaussians, DIM 512 ReLU MLPs).
Defaults: ``depth`` = 3 hidden layers of ``hidden`` = 128 units; ReLU in the generator, LeakyReLU(0.2)
in the discriminator; the generator output and the discriminator score are linear (no tanh, no sigmoid).
No normalisation layers, so the discriminator also serves as a WGAN-GP critic.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from ganforge.nets.spec import (
    NETS,
    NetSpec,
    check_positive,
    latent_input,
    sample_output,
    score_output,
    uniform_input,
)


def _mlp(
    in_dim: int, out_dim: int, hidden: int, depth: int, activation: Callable[[], nn.Module]
) -> nn.Sequential:
    """``depth`` hidden Linear+activation layers of width ``hidden``, then a linear output layer."""
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """z (B, z_dim) -> points (B, out_dim) through ``depth`` ReLU layers of ``hidden`` units.

    Args:
        z_dim: noise dimension.
        out_dim: data dimension (2 for the toy mixtures).
        hidden: units per hidden layer.
        depth: number of hidden layers (>= 1).
    """

    def __init__(self, *, z_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3) -> None:
        super().__init__()
        check_positive(z_dim=z_dim, out_dim=out_dim, hidden=hidden, depth=depth)
        self.z_dim = z_dim
        self.sample_shape = (out_dim,)
        self.net = _mlp(z_dim, out_dim, hidden, depth, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Args: z (B, z_dim). Returns: points (B, out_dim)."""
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """Points (B, in_dim) -> raw scores (B,) through ``depth`` LeakyReLU(0.2) layers of ``hidden`` units.

    Args:
        in_dim: data dimension.
        hidden: units per hidden layer.
        depth: number of hidden layers (>= 1).
    """

    def __init__(self, *, in_dim: int = 2, hidden: int = 128, depth: int = 3) -> None:
        super().__init__()
        check_positive(in_dim=in_dim, hidden=hidden, depth=depth)
        self.input_shape = (in_dim,)
        self.net = _mlp(in_dim, 1, hidden, depth, partial(nn.LeakyReLU, 0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, in_dim). Returns: scores (B,), logits for a GAN, critic values for a WGAN."""
        return self.net(x).squeeze(1)

    def piecewise_linear_layers(self) -> list[nn.Module]:
        """The layers whose composition is ``forward`` (used by the explicit gradient penalty)."""
        return list(self.net)


NETS.register("mlp-generator", NetSpec(
    build=MLPGenerator,
    example_input=latent_input,
    output_shape=sample_output,
    description="MLP generator z -> R^out_dim for 2-D toy mixtures (ReLU, linear output)",
))
NETS.register("mlp-discriminator", NetSpec(
    build=MLPDiscriminator,
    example_input=uniform_input(-2.0, 2.0),
    output_shape=score_output,
    description="MLP discriminator/critic R^in_dim -> score for 2-D toy mixtures (LeakyReLU 0.2)",
))
