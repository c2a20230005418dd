"""DCGAN generator and discriminator for 28×28 and 32×32 images (Radford et al. 2016).

Follows the architecture guidelines of Radford et al. (2016, Sec. 3): strided (transposed) convolutions
instead of pooling, batch norm in the generator and the discriminator except the generator output and
the discriminator input layers, ReLU in the generator with a tanh output, LeakyReLU(0.2) in the
discriminator, and weights ~ N(0, 0.02) (Sec. 4).

- Generator: z -> Linear -> (4w, 4, 4) -> BN ReLU -> ConvT(4w, 2w) BN ReLU -> ConvT(2w, w) BN ReLU ->
  ConvT(w, C) -> output; sizes 4 -> 8 -> 16 -> 32, or 4 -> 7 -> 14 -> 28 (kernel 3 in the first
  transposed convolution instead of 4). All transposed convolutions have stride 2, padding 1.
- Discriminator: Conv(C, w) LReLU -> Conv(w, 2w) norm LReLU -> Conv(2w, 4w) norm LReLU -> Linear(16·4w, 1);
  sizes mirror the generator. It returns a raw score (B,): a logit for a GAN, a critic value for a WGAN.

Choices (Sec. 3 of the paper unless said): ``width`` w = 64; ``output`` "tanh" (data in [-1, 1]),
"sigmoid" (data in [0, 1]) or "none"; ``norm`` "batch" (the paper), "layer" or "none". A WGAN-GP critic
must not use batch norm (Gulrajani et al. 2017, Sec. 4): "layer" is their recommended replacement,
implemented as in their ``tflib`` Layernorm: normalise each sample over (C, H, W), then a per-channel
scale and offset (``nn.GroupNorm(1, C)``). Convolutions carry a bias only when no norm follows them.
``init`` "dcgan" (N(0, 0.02), the default) or "pytorch" (PyTorch's default initialisation).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import Reshape, dcgan_init_
from ganforge.nets.spec import (
    NETS,
    NetSpec,
    check_positive,
    latent_input,
    sample_output,
    score_output,
    uniform_input,
)

SUPPORTED_SHAPES = ((1, 28, 28), (3, 28, 28), (1, 32, 32), (3, 32, 32))
# Kernel of the stride-2 layer between 4×4 and 7×7 (28×28 images) or 8×8 (32×32 images).
_EDGE_KERNEL = {28: 3, 32: 4}
_OUTPUTS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "none": nn.Identity}
_NORMS = ("batch", "layer", "none")
_INITS = ("dcgan", "pytorch")


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")


def _check_common(image_shape: Sequence[int], width: int, init: str) -> tuple[int, int, int]:
    """Validate the arguments both nets share; returns the image shape as a tuple."""
    shape = tuple(image_shape)
    if shape not in SUPPORTED_SHAPES:
        supported = ", ".join(str(s) for s in SUPPORTED_SHAPES)
        raise ConfigError(f"DCGAN nets do not support image_shape {shape}; supported (C, H, W): {supported}")
    check_positive(width=width)
    _check_choice("init", init, _INITS)
    return shape


def _upsample(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    """ConvT(stride 2, padding 1) -> BatchNorm -> ReLU: doubles the size (4 -> 7 with kernel 3)."""
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, kernel, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    )


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def _downsample(c_in: int, c_out: int, kernel: int, norm: str) -> nn.Sequential:
    """Conv(stride 2, padding 1) -> norm -> LeakyReLU(0.2): halves the size (7 -> 4 with kernel 3)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=2, padding=1, bias=norm == "none"),
        _norm(norm, c_out),
        nn.LeakyReLU(0.2),
    )


class DCGANGenerator(nn.Module):
    """z (B, z_dim) -> images (B, C, H, W) with H = W in {28, 32}.

    Args:
        z_dim: noise dimension (100 in the paper).
        image_shape: (C, H, W), one of ``SUPPORTED_SHAPES``.
        width: channels of the last hidden layer, w; earlier layers have 2w and 4w.
        output: output activation, "tanh", "sigmoid" or "none".
        init: "dcgan" (N(0, 0.02)) or "pytorch".
    """

    def __init__(
        self,
        *,
        z_dim: int = 100,
        image_shape: Sequence[int] = (1, 28, 28),
        width: int = 64,
        output: str = "tanh",
        init: str = "dcgan",
    ) -> None:
        super().__init__()
        channels, size, _ = _check_common(image_shape, width, init)
        _check_choice("output", output, tuple(_OUTPUTS))
        check_positive(z_dim=z_dim)
        self.z_dim = z_dim
        self.sample_shape = (channels, size, size)
        w = width
        self.project = nn.Sequential(
            nn.Linear(z_dim, 4 * w * 4 * 4, bias=False),
            Reshape(4 * w, 4, 4),
            nn.BatchNorm2d(4 * w),
            nn.ReLU(),
        )
        self.upsample = nn.Sequential(
            _upsample(4 * w, 2 * w, _EDGE_KERNEL[size]),  # (B, 2w, 7|8, 7|8)
            _upsample(2 * w, w, 4),  # (B, w, 14|16, 14|16)
            nn.ConvTranspose2d(w, channels, 4, stride=2, padding=1),  # (B, C, 28|32, 28|32)
            _OUTPUTS[output](),
        )
        if init == "dcgan":
            dcgan_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Args: z (B, z_dim). Returns: images (B, C, H, W)."""
        return self.upsample(self.project(z))


class DCGANDiscriminator(nn.Module):
    """Images (B, C, H, W) with H = W in {28, 32} -> raw scores (B,).

    Args:
        image_shape: (C, H, W), one of ``SUPPORTED_SHAPES``.
        width: channels of the first layer, w; later layers have 2w and 4w.
        norm: "batch" (GAN), "layer" or "none" (WGAN-GP critics: never "batch").
        init: "dcgan" (N(0, 0.02)) or "pytorch".
    """

    def __init__(
        self,
        *,
        image_shape: Sequence[int] = (1, 28, 28),
        width: int = 64,
        norm: str = "batch",
        init: str = "dcgan",
    ) -> None:
        super().__init__()
        shape = _check_common(image_shape, width, init)
        _check_choice("norm", norm, _NORMS)
        self.input_shape = shape
        channels, size, _ = shape
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(channels, w, 4, stride=2, padding=1),  # no norm on the input layer
            nn.LeakyReLU(0.2),  # (B, w, 14|16, 14|16)
            _downsample(w, 2 * w, 4, norm),  # (B, 2w, 7|8, 7|8)
            _downsample(2 * w, 4 * w, _EDGE_KERNEL[size], norm),  # (B, 4w, 4, 4)
            nn.Flatten(),
        )
        self.score = nn.Linear(4 * w * 4 * 4, 1)
        if init == "dcgan":
            dcgan_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, C, H, W). Returns: scores (B,), logits for a GAN, critic values for a WGAN."""
        return self.score(self.features(x)).squeeze(1)

    def piecewise_linear_layers(self) -> list[nn.Module]:
        """The leaf layers whose composition is ``forward``; the explicit gradient penalty uses
        them when every one is piecewise linear (``norm="none"``)."""
        leaves = [m for m in self.features.modules() if not isinstance(m, nn.Sequential)]
        return [*leaves, self.score]


NETS.register("dcgan-generator", NetSpec(
    build=DCGANGenerator,
    example_input=latent_input,
    output_shape=sample_output,
    description="DCGAN generator z -> 28x28 or 32x32 images (Radford et al. 2016)",
))
NETS.register("dcgan-discriminator", NetSpec(
    build=DCGANDiscriminator,
    example_input=uniform_input(-1.0, 1.0),
    output_shape=score_output,
    description="DCGAN discriminator/critic, batch, layer or no norm (Radford et al. 2016)",
))
