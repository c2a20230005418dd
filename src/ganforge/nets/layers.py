"""Small building blocks shared by the network families: reshape, crop, pixel-range adapter, DCGAN init,
width multiplier.

``Reshape`` and ``Crop`` are the two shape operations of the WGAN-GP MNIST reference generator
(Gulrajani et al. 2017, ``gan_mnist.py``): ``view(-1, 4*DIM, 4, 4)`` and ``output[:, :, :7, :7]``.
``InputRange`` feeds a net trained on one pixel range images given in another (the affine map between
the two ranges, exact). ``dcgan_init_`` is the initialisation of Radford et al. (2016, Sec. 4): every
convolution and linear weight ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), biases 0.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError

DCGAN_INIT_STD = 0.02


def scaled_width(base: int, width: float, owner: str) -> int:
    """``round(base · width)``, at least 1; ``width`` must be a positive number (``owner`` names the nets in the
    error: "PPGN", "Stacked GAN", "classifier")."""
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
        raise ConfigError(f"{owner} width must be a positive number, got {width!r}")
    return max(1, round(base * width))


class Reshape(nn.Module):
    """Reshape every sample, keeping the batch dimension: (B, ...) -> (B, *shape).

    Uses ``reshape`` rather than ``view`` so that channels_last inputs work.

    Args:
        shape: the per-sample shape, for example ``(256, 4, 4)``.
    """

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, ...) with prod(...) == prod(shape). Returns: (B, *shape)."""
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class InputRange(nn.Module):
    """``net`` applied to images in ``given`` = (lo, hi), mapped affinely onto the range it was trained on.

    forward(x) = net(t_lo + (x - lo) · (t_hi - t_lo) / (hi - lo)) for x (B, C, H, W) in [lo, hi]; for example
    a classifier trained on [-1, 1] used on [0, 1] images sees 2x - 1. ``pixel_range`` is ``given``.
    """

    def __init__(self, net: nn.Module, given: tuple[float, float], trained: tuple[float, float]) -> None:
        super().__init__()
        (lo, hi), (t_lo, t_hi) = given, trained
        if not (hi > lo and t_hi > t_lo):
            raise ValueError(f"pixel ranges must have low < high, got {given} and {trained}")
        self.net, self.pixel_range, self.trained_range = net, (float(lo), float(hi)), (float(t_lo), float(t_hi))
        self.scale, self.shift = (t_hi - t_lo) / (hi - lo), t_lo - lo * (t_hi - t_lo) / (hi - lo)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, ...) in ``pixel_range``. Returns: ``net``'s output for x mapped onto ``trained_range``."""
        return self.net(x * self.scale + self.shift)

    def extra_repr(self) -> str:
        return f"given={self.pixel_range}, trained={self.trained_range}"


class Crop(nn.Module):
    """Keep the top-left ``height`` × ``width`` window of an image batch: ``x[:, :, :height, :width]``.

    Args:
        height: rows kept.
        width: columns kept.
    """

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        self.height = height
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, C, H, W) with H >= height, W >= width. Returns: (B, C, height, width)."""
        if x.shape[-2] < self.height or x.shape[-1] < self.width:
            raise ValueError(
                f"cannot crop {tuple(x.shape[-2:])} to {(self.height, self.width)}: input is too small"
            )
        return x[:, :, : self.height, : self.width]

    def extra_repr(self) -> str:
        return f"height={self.height}, width={self.width}"


_WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)


@torch.no_grad()
def dcgan_init_(module: nn.Module, std: float = DCGAN_INIT_STD) -> nn.Module:
    """Initialise ``module`` in place as in DCGAN (Radford et al. 2016, Sec. 4).

    Linear and convolution weights ~ N(0, std); normalisation scales ~ N(1, std); all biases 0.

    Args:
        module: the network; every submodule is visited.
        std: the standard deviation, 0.02 in the paper.

    Returns:
        ``module`` itself.
    """
    for layer in module.modules():
        if isinstance(layer, _WEIGHTED):
            nn.init.normal_(layer.weight, 0.0, std)
        elif isinstance(layer, _NORMS) and layer.weight is not None:
            nn.init.normal_(layer.weight, 1.0, std)
        else:
            continue
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return module
