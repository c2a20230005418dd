"""The WGAN-GP MNIST generator and critic, exactly as the reference code (Gulrajani et al. 2017).

Follows ``gan_mnist.py`` of the authors' reference code in its PyTorch port (the version the PPGN-disc
thesis builds on), preset ``wgan-gp-mnist`` in SPEC.md: DIM = 64, z 128, data in [0, 1], no batch norm.

- Generator: Linear(128, 4·4·4·DIM) ReLU -> view (4DIM, 4, 4) -> ConvT(4DIM, 2DIM, 5) ReLU (8×8) ->
  crop to 7×7 -> ConvT(2DIM, DIM, 5) ReLU (11×11) -> ConvT(DIM, 1, 8, stride 2) (28×28) -> sigmoid.
- Critic: Conv(1, DIM, 5, s2, p2) ReLU (14×14) -> Conv(DIM, 2DIM, 5, s2, p2) ReLU (7×7) ->
  Conv(2DIM, 4DIM, 5, s2, p2) ReLU (4×4) -> Linear(4·4·4·DIM, 1). No normalisation, as the gradient
  penalty requires (Sec. 4 of the paper).

Parameter names match the reference port (``preprocess``, ``block1``, ``block2``, ``deconv_out``;
``main``, ``output``), so its state dicts load. PyTorch's default initialisation, as in the port.
Unlike the port, the generator returns (B, 1, 28, 28) instead of (B, 784) and the critic takes
(B, 1, 28, 28) instead of reshaping any input.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.nets.layers import Crop, Reshape
from ganforge.nets.spec import (
    NETS,
    NetSpec,
    check_positive,
    latent_input,
    sample_output,
    score_output,
    uniform_input,
)

MNIST_SHAPE = (1, 28, 28)


class WGANGPMNISTGenerator(nn.Module):
    """z (B, z_dim) -> MNIST images (B, 1, 28, 28) in (0, 1).

    Args:
        z_dim: noise dimension (128 in the reference).
        dim: the reference's DIM (64).
    """

    def __init__(self, *, z_dim: int = 128, dim: int = 64) -> None:
        super().__init__()
        check_positive(z_dim=z_dim, dim=dim)
        self.z_dim = z_dim
        self.sample_shape = MNIST_SHAPE
        self.preprocess = nn.Sequential(nn.Linear(z_dim, 4 * 4 * 4 * dim), nn.ReLU())
        self.reshape = Reshape(4 * dim, 4, 4)
        self.block1 = nn.Sequential(nn.ConvTranspose2d(4 * dim, 2 * dim, 5), nn.ReLU())
        self.crop = Crop(7, 7)
        self.block2 = nn.Sequential(nn.ConvTranspose2d(2 * dim, dim, 5), nn.ReLU())
        self.deconv_out = nn.ConvTranspose2d(dim, 1, 8, stride=2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Args: z (B, z_dim). Returns: images (B, 1, 28, 28) in (0, 1)."""
        h = self.reshape(self.preprocess(z))  # (B, 4DIM, 4, 4)
        h = self.crop(self.block1(h))  # (B, 2DIM, 8, 8) -> (B, 2DIM, 7, 7)
        h = self.block2(h)  # (B, DIM, 11, 11)
        return torch.sigmoid(self.deconv_out(h))  # (B, 1, 28, 28)


class WGANGPMNISTCritic(nn.Module):
    """MNIST images (B, 1, 28, 28) -> critic values (B,).

    Args:
        dim: the reference's DIM (64).
    """

    def __init__(self, *, dim: int = 64) -> None:
        super().__init__()
        check_positive(dim=dim)
        self.input_shape = MNIST_SHAPE
        self.main = nn.Sequential(
            nn.Conv2d(1, dim, 5, stride=2, padding=2),  # (B, DIM, 14, 14)
            nn.ReLU(),
            nn.Conv2d(dim, 2 * dim, 5, stride=2, padding=2),  # (B, 2DIM, 7, 7)
            nn.ReLU(),
            nn.Conv2d(2 * dim, 4 * dim, 5, stride=2, padding=2),  # (B, 4DIM, 4, 4)
            nn.ReLU(),
        )
        self.output = nn.Linear(4 * 4 * 4 * dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, 1, 28, 28). Returns: critic values (B,)."""
        return self.output(self.main(x).flatten(1)).squeeze(1)

    def piecewise_linear_layers(self) -> list[nn.Module]:
        """The layers whose composition is ``forward`` (used by the explicit gradient penalty)."""
        return [*self.main, nn.Flatten(), self.output]


NETS.register("wgan-gp-mnist-generator", NetSpec(
    build=WGANGPMNISTGenerator,
    example_input=latent_input,
    output_shape=sample_output,
    description="WGAN-GP reference MNIST generator, DIM 64, z 128, sigmoid output (Gulrajani et al. 2017)",
))
NETS.register("wgan-gp-mnist-critic", NetSpec(
    build=WGANGPMNISTCritic,
    example_input=uniform_input(0.0, 1.0),
    output_shape=score_output,
    description="WGAN-GP reference MNIST critic, DIM 64, no normalisation (Gulrajani et al. 2017)",
))
