"""Shared pieces of the classic two-player family (GAN, WGAN, WGAN-GP): config, nets, sampling, spec.

A generator G: z → x and a discriminator/critic D: x → score, picked by net family:
``mlp`` (2-D toy sets), ``dcgan`` (Radford et al. 2016; 28×28×1 or 32×32×3, ``width``) or
``wgan-gp-mnist`` (the exact reference architecture of Gulrajani et al. 2017, ``gan_mnist.py``).
The default ``auto`` follows the data (:func:`net_for_data`): ``mlp`` for points, ``dcgan`` for images;
the training session records the family it picked in the run's config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from ganforge.config import Config, ModelConfig, OptimConfig
from ganforge.errors import ConfigError
from ganforge.samplers.noise import sample_noise
from ganforge.variants.base import DataShape, StepContext, VariantSpec, make_optimizer


@dataclass
class AdversarialConfig(ModelConfig):
    """Net families and optimizers shared by the classic variants."""

    net: Literal["auto", "mlp", "dcgan", "wgan-gp-mnist"] = "auto"
    z_dim: int = 100
    width: int = 64
    hidden: int = 128
    depth: int = 3
    d_norm: Literal["batch", "layer", "none"] = "batch"
    optim_g: OptimConfig = field(default_factory=OptimConfig)
    optim_d: OptimConfig = field(default_factory=OptimConfig)

    def for_data(self, sample_shape: tuple[int, ...]) -> AdversarialConfig:
        """This config with ``net: auto`` replaced by the family :func:`net_for_data` picks."""
        return with_net_for_data(self, sample_shape)


def net_for_data(net: str, sample_shape: tuple[int, ...]) -> str:
    """The net family to build: ``auto`` is ``mlp`` for points (``sample_shape`` (D,)) and ``dcgan`` for
    images ((C, H, W)); a named family is returned as it is (the builders check that it fits)."""
    if net != "auto":
        return net
    return "mlp" if len(sample_shape) == 1 else "dcgan"


def with_net_for_data(model: ModelConfig, sample_shape: tuple[int, ...]) -> ModelConfig:
    """``model`` (any config with a ``net`` field) with ``net: auto`` resolved; itself when nothing changes."""
    net = net_for_data(model.net, sample_shape)  # type: ignore[attr-defined]
    return model if net == model.net else dataclasses.replace(model, net=net)  # type: ignore[attr-defined]


def build_generator_critic(cfg: Config, data: DataShape) -> dict[str, nn.Module]:
    """Build ``generator`` and ``critic`` for ``cfg.model.net`` and the data's shape.

    Raises:
        ConfigError: the family does not fit the data (for example an image net on 2-D points).
    """
    from ganforge import nets

    m = cfg.model  # an AdversarialConfig, or AEGAN's config (the same net fields)
    net = net_for_data(m.net, tuple(data.shape))
    if net == "mlp":
        if len(data.shape) != 1:
            raise ConfigError(f"model.net 'mlp' is for 2-D toy data, got samples of shape {data.shape}; "
                              "use model.net=dcgan (or auto) for images")
        (dim,) = data.shape
        return {"generator": nets.MLPGenerator(z_dim=m.z_dim, out_dim=dim, hidden=m.hidden, depth=m.depth),
                "critic": nets.MLPDiscriminator(in_dim=dim, hidden=m.hidden, depth=m.depth)}
    if len(data.shape) != 3:
        raise ConfigError(f"model.net {net!r} needs images, got samples of shape {data.shape}; "
                          "use model.net=mlp (or auto) for 2-D toy data")
    if net == "wgan-gp-mnist":
        if tuple(data.shape) != (1, 28, 28) or tuple(data.pixel_range) != (0.0, 1.0):
            raise ConfigError("model.net 'wgan-gp-mnist' needs 1×28×28 images in [0, 1] (its generator ends "
                              "in a sigmoid); set data.pixel_range=0,1 and a 28×28 grayscale dataset")
        return {"generator": nets.WGANGPMNISTGenerator(z_dim=m.z_dim, dim=m.width),
                "critic": nets.WGANGPMNISTCritic(dim=m.width)}
    return {"generator": nets.DCGANGenerator(z_dim=m.z_dim, image_shape=tuple(data.shape), width=m.width,
                                             output="sigmoid" if tuple(data.pixel_range) == (0.0, 1.0) else "tanh"),
            "critic": nets.DCGANDiscriminator(image_shape=tuple(data.shape), width=m.width, norm=m.d_norm)}


def build_two_optimizers(cfg: Config, modules: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """One optimizer for the generator (``optim_g``) and one for the critic (``optim_d``)."""
    m = cfg.model_as(AdversarialConfig)
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


def adversarial_spec(*, description: str, config_class: type[AdversarialConfig],
                     train_step: Callable[[StepContext], dict[str, torch.Tensor]], tiny: dict[str, Any]) -> VariantSpec:
    """The VariantSpec of a classic two-player model: :func:`build_generator_critic`, :func:`build_two_optimizers`
    and :func:`generate`, with the model's own config, ``train_step`` and tiny settings."""
    return VariantSpec(description=description, config_class=config_class, build_nets=build_generator_critic,
                       build_optimizers=build_two_optimizers, train_step=train_step, generate=generate, tiny=tiny)
