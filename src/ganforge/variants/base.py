"""The contract between a model recipe (variant) and the model-agnostic trainer.

A variant is a small record (:class:`VariantSpec`): its config dataclass, ``build_nets``,
``build_optimizers``, a free ``train_step`` function and ``generate``. The trainer calls only
these; it knows nothing about GANs (flax/optax style free step functions, diffusers-style
explicit loops). The pieces every step shares live here too: :func:`update` (one optimizer step on a
loss) and :func:`make_optimizer` (a config's default optimizer is ``OptimConfig.field(...)``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ganforge.config import Config, ModelConfig, OptimConfig
from ganforge.errors import ConfigError
from ganforge.variants.sample_modes import NOISE, SampleMode

Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class DataShape:
    """What the nets need to know about the data: sample shape, classes and pixel range
    (None for 2-D toy points)."""

    shape: tuple[int, ...]
    num_classes: int
    pixel_range: tuple[float, float] | None


@dataclass
class StepContext:
    """Everything one training step may touch.

    Attributes:
        cfg: the whole config (``cfg.model`` is the variant's own dataclass).
        nets: name → module (for example ``generator``, ``critic``).
        optimizers: name → optimizer.
        next_batch: returns the next (images (B, C, H, W), labels (B,)) on the device.
        step: index of the generator step being taken (0-based).
        device: the training device.
        autocast: returns the mixed-precision context for forward passes.
    """

    cfg: Config
    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    next_batch: Callable[[], Batch]
    step: int
    device: torch.device
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext


@dataclass(kw_only=True)
class VariantSpec:
    """A registered model recipe (``ganforge.variants.register_variant`` registers it and its config class).

    Attributes:
        name: registry name (``model.name`` in configs): the ``name`` default of ``config_class``, where the
            model's name is written once (given here too, it must agree).
        description: one line for ``ganforge models``.
        config_class: the variant's ModelConfig subclass.
        build_nets: (cfg, data_shape) → name → module.
        build_optimizers: (cfg, nets) → name → optimizer.
        train_step: (StepContext) → name → scalar loss/metric tensor (detached values).
        generate: (nets, cfg, n, generator) → (n, ...) samples, used by ``sample`` and metrics.
        sample_nets: names of the nets that ``generate`` needs (EMA copies replace them).
        sample_classes: (nets, cfg, classes (B,), generator) → (B, ...) samples of the given classes, for
            class-conditional models (the ``class`` sampling mode); None for the others.
        tiny: config overrides (a nested mapping, as a YAML override file) that make the model tiny and fast
            on any data it takes (a few units wide, no warm-up): the settings the contract tests in
            ``tests/variants`` train every registered model with. None fails those tests, naming this field.
        sample_modes: the named ways to sample a run of this model (``ganforge sample --mode NAME``,
            :mod:`ganforge.variants.sample_modes`); the first is the default.
    """

    description: str
    config_class: type[ModelConfig]
    build_nets: Callable[[Config, DataShape], dict[str, nn.Module]]
    build_optimizers: Callable[[Config, dict[str, nn.Module]], dict[str, torch.optim.Optimizer]]
    train_step: Callable[[StepContext], dict[str, torch.Tensor]]
    generate: Callable[..., torch.Tensor]
    sample_nets: tuple[str, ...] = ("generator",)
    sample_classes: Callable[..., torch.Tensor] | None = None
    tiny: dict[str, Any] | None = None
    sample_modes: tuple[SampleMode, ...] = (NOISE,)
    name: str = ""

    def __post_init__(self) -> None:
        if self.name not in ("", self.config_class.name):
            raise ValueError(f"VariantSpec name {self.name!r} is not {self.config_class.__name__}.name; write the "
                             "model's name once, as its config's default")
        self.name = self.config_class.name


def make_optimizer(params: Iterator[nn.Parameter] | list, cfg: OptimConfig) -> torch.optim.Optimizer:
    """Build the optimizer that ``cfg`` names (Adam with betas, RMSprop, SGD with momentum; foreach kernels)."""
    params = list(params)
    if cfg.name == "adam":
        if len(cfg.betas) != 2:
            raise ConfigError(f"optimizer betas must have two values, got {cfg.betas}")
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay, foreach=True)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                                   foreach=True)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, foreach=True)


def update(loss: torch.Tensor, *optimizers: torch.optim.Optimizer) -> None:
    """One gradient step on ``loss`` for the nets of ``optimizers``: every optimizer's gradients set to None
    (in order), one backward pass, then each optimizer steps (in order)."""
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    loss.backward()
    for opt in optimizers:
        opt.step()


def critic_iterations(step: int, n_critic: int, warmup: bool, *, warmup_steps: int = 25,
                      warmup_every: int = 500, warmup_critic: int = 100) -> int:
    """Critic steps before generator step ``step`` (Arjovsky et al. 2017, reference code).

    With ``warmup``: ``warmup_critic`` (100) critic steps for each of the first ``warmup_steps``
    (25) generator steps and at every ``warmup_every``-th (500) step; otherwise ``n_critic``.
    """
    if warmup and (step < warmup_steps or step % warmup_every == 0):
        return warmup_critic
    return n_critic


def set_requires_grad(flag: bool, *modules: nn.Module) -> None:
    """Freeze or unfreeze the parameters of ``modules`` (saves the critics' weight grads in G steps)."""
    for module in modules:
        module.requires_grad_(flag)
