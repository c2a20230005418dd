"""The ``NETS`` registry: one :class:`NetSpec` per network, so contract tests can run over all of them.

Each family file (``mlp.py``, ``dcgan.py``, ...) registers its networks at its end. A spec knows how to
build the net from keyword arguments, how to make a batch of valid inputs for a built net, and the
output shape to expect. Conventions shared by every net:

- a generator takes z of shape (B, z_dim) and returns images (B, C, H, W) (toy-data generators return
  points (B, out_dim)); it exposes ``z_dim`` and ``sample_shape`` (the per-sample output shape);
- a discriminator or critic takes (B, C, H, W) (or (B, in_dim)) and returns raw scores (B,), no
  sigmoid; it exposes ``input_shape`` (the per-sample input shape).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.registry import Registry


@dataclass(frozen=True)
class NetSpec:
    """How to build, feed and check one registered network.

    Attributes:
        build: builds the net from keyword arguments (all optional; defaults give the paper's net).
        example_input: ``(net, batch) -> tensor``, a batch of valid inputs for that built net.
        output_shape: ``(net, batch) -> tuple``, the shape ``net(example_input(net, batch))`` has.
        description: one line: what the net is and which paper it follows.
    """

    build: Callable[..., nn.Module]
    example_input: Callable[[nn.Module, int], torch.Tensor]
    output_shape: Callable[[nn.Module, int], tuple[int, ...]]
    description: str


NETS: Registry[NetSpec] = Registry("net")


def latent_input(net: nn.Module, batch: int) -> torch.Tensor:
    """Standard normal noise (batch, net.z_dim) for a generator."""
    return torch.randn(batch, net.z_dim)


def uniform_input(low: float, high: float) -> Callable[[nn.Module, int], torch.Tensor]:
    """An ``example_input`` drawing (batch, *net.input_shape) uniformly from [low, high)."""

    def draw(net: nn.Module, batch: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(batch, *net.input_shape)

    return draw


def sample_output(net: nn.Module, batch: int) -> tuple[int, ...]:
    """The shape (batch, *net.sample_shape) a generator returns."""
    return (batch, *net.sample_shape)


def score_output(net: nn.Module, batch: int) -> tuple[int, ...]:
    """The shape (batch,) a discriminator or critic returns."""
    return (batch,)


def check_positive(**values: int) -> None:
    """Raise ConfigError unless every value is a positive int (a width, depth or dimension of a net)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
