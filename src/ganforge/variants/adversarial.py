"""Shared pieces of the classic two-player family (GAN, WGAN, WGAN-GP): config, nets, sampling.

A generator G: z → x and a discriminator/critic D: x → score, picked by net family:
``mlp`` (2-D toy sets), ``dcgan`` (Radford et al. 2016; 28×28×1 or 32×32×3, ``width``) or
``wgan-gp-mnist`` (the exact reference architecture of Gulrajani et al. 2017, ``gan_mnist.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from ganforge.config import Config, ModelConfig, OptimConfig
from ganforge.errors import ConfigError
from ganforge.samplers.noise import sample_noise
from ganforge.variants.base import DataShape, make_optimizer


@dataclass
class AdversarialConfig(ModelConfig):
    """Net families and optimizers shared by the classic variants."""

    net: Literal["mlp", "dcgan", "wgan-gp-mnist"] = "dcgan"
    z_dim: int = 100
    width: int = 64
    hidden: int = 128
    depth: int = 3
    d_norm: Literal["batch", "layer", "none"] = "batch"
    optim_g: OptimConfig = field(default_factory=OptimConfig)
    optim_d: OptimConfig = field(default_factory=OptimConfig)


def _output_activation(data: DataShape) -> str:
    return "sigmoid" if tuple(data.pixel_range) == (0.0, 1.0) else "tanh"


def build_generator_critic(cfg: Config, data: DataShape) -> dict[str, nn.Module]:
    """Build ``generator`` and ``critic`` for ``cfg.model.net`` and the data's shape.

    Raises:
        ConfigError: the family does not fit the data (for example an image net on 2-D points).
    """
    from ganforge import nets

    m: AdversarialConfig = cfg.model  # type: ignore[assignment]
    if m.net == "mlp":
        if len(data.shape) != 1:
            raise ConfigError(f"model.net 'mlp' is for 2-D toy data, got samples of shape {data.shape}; "
                              "use model.net=dcgan for images")
        (dim,) = data.shape
        return {"generator": nets.MLPGenerator(z_dim=m.z_dim, out_dim=dim, hidden=m.hidden, depth=m.depth),
                "critic": nets.MLPDiscriminator(in_dim=dim, hidden=m.hidden, depth=m.depth)}
    if len(data.shape) != 3:
        raise ConfigError(f"model.net {m.net!r} needs images, got samples of shape {data.shape}; "
                          "use model.net=mlp for 2-D toy data")
    if m.net == "wgan-gp-mnist":
        if tuple(data.shape) != (1, 28, 28) or tuple(data.pixel_range) != (0.0, 1.0):
            raise ConfigError("model.net 'wgan-gp-mnist' needs 1×28×28 images in [0, 1] (its generator ends "
                              "in a sigmoid); set data.pixel_range=0,1 and a 28×28 grayscale dataset")
        return {"generator": nets.WGANGPMNISTGenerator(z_dim=m.z_dim, dim=m.width),
                "critic": nets.WGANGPMNISTCritic(dim=m.width)}
    return {"generator": nets.DCGANGenerator(z_dim=m.z_dim, image_shape=tuple(data.shape), width=m.width,
                                             output=_output_activation(data)),
            "critic": nets.DCGANDiscriminator(image_shape=tuple(data.shape), width=m.width, norm=m.d_norm)}


def build_two_optimizers(cfg: Config, modules: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """One optimizer for the generator (``optim_g``) and one for the critic (``optim_d``)."""
    m: AdversarialConfig = cfg.model  # type: ignore[assignment]
    return {"generator": make_optimizer(modules["generator"].parameters(), m.optim_g),
            "critic": make_optimizer(modules["critic"].parameters(), m.optim_d)}


def generate(modules: dict[str, nn.Module], cfg: Config, n: int,
             generator: torch.Generator | None = None, z: torch.Tensor | None = None) -> torch.Tensor:
    """Samples G(z), z ~ N(0, I).

    Args:
        modules: needs ``generator``.
        cfg: the run's config (for ``z_dim``).
        n: number of samples (ignored when ``z`` is given).
        generator: RNG for z.
        z: optional (n, z_dim) latents.

    Returns:
        (n, C, H, W) images or (n, D) points, float32 on the generator's device.
    """
    g = modules["generator"]
    device = next(g.parameters()).device
    if z is None:
        z = sample_noise(n, cfg.model.z_dim, generator=generator, device=device)
    return g(z.to(device)).float()


def latent_dim(cfg: Config) -> int:
    """Size of z for interpolation."""
    return int(cfg.model.z_dim)
