"""Encoders E: X → Z for AEGAN (Lazarou 2020, "Autoencoding Generative Adversarial Networks").

AEGAN's encoder maps a sample back to the latent space, (B, C, H, W) or (B, D) → z (B, z_dim). It is
a critic body with a z_dim-wide linear head instead of the one-unit score, so it shares the critic's
architecture choices:

- ``DCGANEncoder``: the DCGAN discriminator body (Radford et al. 2016; see ``nets/dcgan.py``:
  Conv(C, w) LReLU → Conv(w, 2w) norm LReLU → Conv(2w, 4w) norm LReLU → flatten (16·4w)) and
  Linear(16·4w, z_dim). 28×28 or 32×32 images; ``norm`` "batch", "layer" or "none".
- ``MLPEncoder``: the toy MLP discriminator's ``depth`` LeakyReLU(0.2) layers of ``hidden`` units, then
  Linear(hidden, z_dim).

The output is linear (no activation): codes are matched to the prior z ~ N(0, I) by AEGAN's latent
discriminator, not squashed into a range. AEGAN's latent discriminator itself is the toy
``MLPDiscriminator`` with ``in_dim = z_dim``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ganforge.nets.dcgan import DCGANDiscriminator
from ganforge.nets.layers import dcgan_init_
from ganforge.nets.mlp import MLPDiscriminator
from ganforge.nets.spec import NETS, NetSpec, check_positive, uniform_input


class DCGANEncoder(nn.Module):
    """Images (B, C, H, W) with H = W in {28, 32} → latent codes (B, z_dim).

    Args:
        image_shape: (C, H, W), one of ``nets.SUPPORTED_SHAPES``.
        z_dim: latent dimension.
        width: channels of the first layer, w; later layers have 2w and 4w.
        norm: "batch", "layer" or "none".
        init: "dcgan" (N(0, 0.02)) or "pytorch".
    """

    def __init__(self, *, image_shape: Sequence[int] = (1, 28, 28), z_dim: int = 16, width: int = 64,
                 norm: str = "batch", init: str = "dcgan") -> None:
        super().__init__()
        check_positive(z_dim=z_dim)
        body = DCGANDiscriminator(image_shape=image_shape, width=width, norm=norm, init=init)
        self.input_shape = body.input_shape
        self.z_dim = z_dim
        self.features = body.features  # (B, 16·4w)
        self.head = nn.Linear(body.score.in_features, z_dim)
        if init == "dcgan":
            dcgan_init_(self.head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, C, H, W). Returns: codes (B, z_dim)."""
        return self.head(self.features(x))


class MLPEncoder(nn.Module):
    """Points (B, in_dim) → latent codes (B, z_dim) through ``depth`` LeakyReLU(0.2) layers.

    Args:
        in_dim: data dimension.
        z_dim: latent dimension.
        hidden: units per hidden layer.
        depth: number of hidden layers (>= 1).
    """

    def __init__(self, *, in_dim: int = 2, z_dim: int = 2, hidden: int = 128, depth: int = 3) -> None:
        super().__init__()
        check_positive(z_dim=z_dim)
        body = MLPDiscriminator(in_dim=in_dim, hidden=hidden, depth=depth)
        self.input_shape = body.input_shape
        self.z_dim = z_dim
        self.net = nn.Sequential(*list(body.net)[:-1], nn.Linear(hidden, z_dim))  # body without its score

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, in_dim). Returns: codes (B, z_dim)."""
        return self.net(x)


def latent_output(net: nn.Module, batch: int) -> tuple[int, ...]:
    """The shape (batch, net.z_dim) an encoder returns."""
    return (batch, net.z_dim)


NETS.register("dcgan-encoder", NetSpec(
    build=DCGANEncoder,
    example_input=uniform_input(-1.0, 1.0),
    output_shape=latent_output,
    description="AEGAN encoder: DCGAN discriminator body with a z_dim head (Lazarou 2020)",
))
NETS.register("mlp-encoder", NetSpec(
    build=MLPEncoder,
    example_input=uniform_input(-2.0, 2.0),
    output_shape=latent_output,
    description="AEGAN encoder for 2-D toy data: MLP discriminator body with a z_dim head (Lazarou 2020)",
))
