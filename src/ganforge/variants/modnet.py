"""ModNet (Basart 2017; SPEC.md "ModNet"): learn a delta image that turns a real image x of class y into a
realistic image x' of a chosen target class y_t ≠ y.

Notation: x (B, C, H, W) real images with labels y (B,), y_t (B,) targets drawn uniformly from the K - 1
labels ≠ y per sample, G the U-Net of ``nets.modnet``, D the discriminator's real/fake logit, C the class
logits (D's joint head, or a separate classifier: ``variants.modnet_nets``).

1. δ = G(x, y_t) = tanh(·) (B, C, H, W); ``delta_mode: clip``: x' = clip(x + δ, low, high);
   ``renormalize``: x' = low + (high - low)·(s - min s)/(max s - min s), s = x + δ, min/max per image (so
   every x' spans the pixel range [low, high] exactly).
2. Losses, as SPEC.md writes them (σ the logistic function, batch means throughout):
       L_G = -log σ(D(x')),   L_D = -log σ(D(x)) - log(1 - σ(D(x'))),
       L_label = CE(C(x), y) + CE(C(x'), y_t),   L_1 = ||x - x'||_1 (sum over pixels, mean over the batch),
   G minimises L_G + CE(C(x'), y_t) + λ L_1 (``l1_mode: lambda``, λ = ``l1_weight``; the thesis uses λ in
   [1e-5, 1e-3], default 1e-4) or L_G + CE(C(x'), y_t) + L_1 / m (``l1_mode: running-mean``, m the running
   mean of L_1: m ← L_1 on the first G step, then m ← β m + (1 - β) L_1 with β = ``l1_momentum`` 0.99,
   updated before the division and kept in the ``record`` buffers). D minimises L_D; a C that learns (joint
   head or ``classifier: random``) minimises CE(C(x), y) with it, plus CE(C(x'), y_t) when
   ``classify_fakes`` (AC-GAN style, Odena et al. 2017, the literal reading of L_label; default). Measured on
   MNIST (2,000 iterations): with it, G and a learning C agree on an invisible code (mean L_1 2.7 on [0, 1]
   pixels; an independent classifier reads 0.06% of the x' as y_t), so ``modnet-mnist-joint`` turns it off and
   C learns from real images only (82% read as y_t by an independent classifier, 3 seeds). A frozen
   C (``classifier: default`` or a folder: the fooling mode) learns nothing, so CE(C(x), y) is a constant
   and is not computed.
3. One iteration (one trainer step) = j D steps (``d_steps``) then k G steps (``g_steps``), the thesis's
   (1, 1) or (1, 2); every D and G step draws its own batch (j + k batches per iteration) and its own y_t.
   Adam 2e-4, betas (0.5, 0.999) for G, D and a learning C (DCGAN's settings; the thesis says Adam only).

Logged: ``loss_d`` (L_D), ``loss_g`` (G's total), ``gan_g`` (L_G), ``ce_target`` (CE(C(x'), y_t)), ``l1``
(L_1), ``l1_term`` (λ L_1 or L_1 / m), ``fool`` (share of x' that C labels y_t), ``d_real``/``d_fake``
(mean σ(D)), and with a learning C ``ce_real`` (and ``ce_fake``). ``generate`` modifies images drawn from
the record's ring of the latest ``bank_size`` training images to random targets ≠ their labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.config import Config, ModelConfig, OptimConfig
from ganforge.errors import ConfigError
from ganforge.losses import discriminator_loss, generator_loss
from ganforge.nets.modnet import condition
from ganforge.variants.base import StepContext, VariantSpec, make_optimizer, set_requires_grad, update
from ganforge.variants.modnet_nets import TRAINED_CLASSIFIERS, build_modnet_nets
from ganforge.variants.modnet_sampling import MODIFY
from ganforge.variants.sample_modes import NOISE


@dataclass
class ModNetConfig(ModelConfig):
    """ModNet hyperparameters (module docstring)."""

    name: str = "modnet"
    width: int = 32  # U-Net channels w, 2w, 4w
    d_width: int = 32  # discriminator channels w, 2w, 4w
    classifier: str = "joint"  # joint | default | random | a classifier folder
    classifier_width: float = 0.5  # the ``random`` separate classifier's width
    delta_mode: Literal["clip", "renormalize"] = "clip"
    l1_mode: Literal["lambda", "running-mean"] = "lambda"
    l1_weight: float = 1e-4  # λ (l1_mode lambda only)
    l1_momentum: float = 0.99  # β of the running mean (l1_mode running-mean only)
    classify_fakes: bool = True  # a learning C also minimises CE(C(x'), y_t)
    d_steps: int = 1  # j
    g_steps: int = 1  # k
    bank_size: int = 256  # training images kept as the sources of ``generate``
    optim_g: OptimConfig = OptimConfig.field(lr=2e-4, betas=(0.5, 0.999))
    optim_d: OptimConfig = OptimConfig.field(lr=2e-4, betas=(0.5, 0.999))

    @property
    def z_dim(self) -> int:
        raise ConfigError("model 'modnet' modifies real images and has no latent z; use `ganforge fool` or "
                          "`ganforge sample` instead of latent interpolation")

    def validate(self) -> None:
        if self.width < 1 or self.d_width < 1 or self.bank_size < 1 or not self.classifier_width > 0:
            raise ConfigError("model.width, model.d_width and model.bank_size must be >= 1 and "
                              "model.classifier_width > 0")
        if self.d_steps < 1 or self.g_steps < 1:
            raise ConfigError(f"model.d_steps (j) and model.g_steps (k) must be >= 1, got {self.d_steps}, "
                              f"{self.g_steps}")
        if self.l1_weight < 0 or not 0 <= self.l1_momentum < 1:
            raise ConfigError(f"model.l1_weight must be >= 0 and model.l1_momentum in [0, 1), got "
                              f"{self.l1_weight}, {self.l1_momentum}")
        if not self.classifier:
            raise ConfigError("model.classifier is empty; use joint, default, random or a classifier folder")


def draw_targets(y: torch.Tensor, num_classes: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """y_t uniform over the K - 1 labels ≠ y, per sample: (y + u) mod K with u uniform in 1..K-1.

    With ``generator`` (a CPU generator) u is drawn on the CPU, else from the global RNG of y's device.
    """
    if num_classes < 2:
        raise ConfigError(f"ModNet needs at least 2 classes to pick a target label ≠ y, got {num_classes}")
    device = None if generator is not None else y.device
    u = torch.randint(1, num_classes, y.shape, generator=generator, device=device)
    return (y + u.to(y.device)) % num_classes


def apply_delta(x: torch.Tensor, delta: torch.Tensor, mode: str, bounds: tuple[float, float]) -> torch.Tensor:
    """x' from x and δ (both (B, C, H, W)): clip x + δ to ``bounds``, or map each image's [min, max] onto it."""
    low, high = bounds
    s = x.float() + delta.float()
    if mode == "clip":
        return s.clamp(low, high)
    flat = s.flatten(1)
    lo, hi = flat.min(1).values, flat.max(1).values  # (B,)
    scale = (high - low) / (hi - lo).clamp_min(1e-8)
    return low + (s - lo[:, None, None, None]) * scale[:, None, None, None]


def modify(G: nn.Module, x: torch.Tensor, target: torch.Tensor, num_classes: int, mode: str,
           bounds: tuple[float, float]) -> torch.Tensor:
    """x' = apply_delta(x, G(x, y_t)) for images x (B, C, H, W) and targets y_t (B,); (B, C, H, W) float32."""
    return apply_delta(x, G(condition(x, target, num_classes)), mode, bounds)


def scores(nets: dict[str, nn.Module], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(D's real/fake logits (B,), joint class logits (B, K) or None when C is separate) in one pass of D."""
    out = nets["discriminator"](x).float()  # (B, 1 + K)
    return out[:, 0], (out[:, 1:] if out.shape[1] > 1 else None)


def class_logits(nets: dict[str, nn.Module], x: torch.Tensor, joint: torch.Tensor | None) -> torch.Tensor:
    """C(x) (B, K): D's joint head ``joint`` when given, else the separate classifier's logits."""
    return joint if joint is not None else nets["classifier"](x).float()


def l1_distance(x: torch.Tensor, x_mod: torch.Tensor) -> torch.Tensor:
    """L_1 = ||x - x'||_1: per-image sum of |x - x'| over pixels, averaged over the batch (a scalar)."""
    return (x.float() - x_mod.float()).abs().flatten(1).sum(1).mean()


def discriminator_terms(nets: dict[str, nn.Module], m: ModNetConfig, x: torch.Tensor, y: torch.Tensor,
                        x_mod: torch.Tensor, y_t: torch.Tensor) -> dict[str, torch.Tensor]:
    """L_D and, for a learning C, its CE terms; ``loss`` is what the D step minimises (module docstring)."""
    real, real_c = scores(nets, x)
    fake, fake_c = scores(nets, x_mod)
    terms = {"loss_d": discriminator_loss("minimax", real, fake),
             "d_real": torch.sigmoid(real).mean(), "d_fake": torch.sigmoid(fake).mean()}
    loss = terms["loss_d"]
    if m.classifier in TRAINED_CLASSIFIERS:
        terms["ce_real"] = F.cross_entropy(class_logits(nets, x, real_c), y)
        loss = loss + terms["ce_real"]
        if m.classify_fakes:
            terms["ce_fake"] = F.cross_entropy(class_logits(nets, x_mod, fake_c), y_t)
            loss = loss + terms["ce_fake"]
    return {**terms, "loss": loss}


def generator_terms(nets: dict[str, nn.Module], m: ModNetConfig, x: torch.Tensor, x_mod: torch.Tensor,
                    y_t: torch.Tensor, l1_scale: torch.Tensor | float) -> dict[str, torch.Tensor]:
    """L_G, CE(C(x'), y_t), L_1 and G's total ``loss_g`` = L_G + CE + ``l1_scale``·L_1 (λ, or 1/m)."""
    fake, fake_c = scores(nets, x_mod)
    logits = class_logits(nets, x_mod, fake_c)
    terms = {"gan_g": generator_loss("non-saturating", fake), "ce_target": F.cross_entropy(logits, y_t),
             "l1": l1_distance(x, x_mod)}
    terms["l1_term"] = l1_scale * terms["l1"]
    terms["loss_g"] = terms["gan_g"] + terms["ce_target"] + terms["l1_term"]
    terms["fool"] = (logits.argmax(1) == y_t).float().mean()
    return terms


def _learning_nets(m: ModNetConfig) -> list[str]:
    """The nets the D step updates: D, and a separate C that learns (``classifier: random``)."""
    return ["discriminator", "classifier"] if m.classifier == "random" else ["discriminator"]


def num_classes(ctx: StepContext) -> int:
    """K, the number of classes (the U-Net's label planes)."""
    return ctx.nets["generator"].num_classes


def discriminator_step(ctx: StepContext) -> dict[str, torch.Tensor]:
    """One D (and learning C) update on a fresh batch and fresh targets."""
    m = ctx.cfg.model_as(ModNetConfig)
    x, y = ctx.next_batch()
    y_t = draw_targets(y, num_classes(ctx))
    with torch.no_grad(), ctx.autocast():
        x_mod = modify(ctx.nets["generator"], x, y_t, num_classes(ctx), m.delta_mode, ctx.cfg.data.range)
    learning = _learning_nets(m)
    set_requires_grad(True, *(ctx.nets[name] for name in learning))
    with ctx.autocast():
        terms = discriminator_terms(ctx.nets, m, x, y, x_mod.to(x.dtype), y_t)
    update(terms.pop("loss"), *(ctx.optimizers[name] for name in learning))
    return terms


def generator_step(ctx: StepContext) -> dict[str, torch.Tensor]:
    """One G update on a fresh batch; D and C are frozen for it. The batch also enters the record's ring."""
    m = ctx.cfg.model_as(ModNetConfig)
    G, record = ctx.nets["generator"], ctx.nets["record"]
    set_requires_grad(False, *(ctx.nets[name] for name in _learning_nets(m)))
    x, y = ctx.next_batch()
    y_t = draw_targets(y, num_classes(ctx))
    with ctx.autocast():
        x_mod = modify(G, x, y_t, num_classes(ctx), m.delta_mode, ctx.cfg.data.range)
        scale = m.l1_weight if m.l1_mode == "lambda" else 1.0 / record.update_l1(l1_distance(x, x_mod), m.l1_momentum)
        terms = generator_terms(ctx.nets, m, x, x_mod.to(x.dtype), y_t, scale)
    update(terms["loss_g"], ctx.optimizers["generator"])
    record.observe(x, y)
    return terms


def train_step(ctx: StepContext) -> dict[str, torch.Tensor]:
    """j D steps then k G steps (module docstring); logs the last of each."""
    m = ctx.cfg.model_as(ModNetConfig)
    if "classifier" in ctx.nets and m.classifier not in TRAINED_CLASSIFIERS:
        ctx.nets["classifier"].eval()  # frozen: no batch statistics move (the trainer sets nets to train mode)
    logs: dict[str, torch.Tensor] = {}
    for _ in range(m.d_steps):
        logs.update(discriminator_step(ctx))
    for _ in range(m.g_steps):
        logs.update(generator_step(ctx))
    return {k: v.detach() for k, v in logs.items()}


def build_optimizers(cfg: Config, nets: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """Adam for G (``optim_g``), D and a learning separate C (``optim_d``); none for a frozen C."""
    m = cfg.model_as(ModNetConfig)
    opts = {"generator": make_optimizer(nets["generator"].parameters(), m.optim_g),
            "discriminator": make_optimizer(nets["discriminator"].parameters(), m.optim_d)}
    if m.classifier == "random":
        opts["classifier"] = make_optimizer(nets["classifier"].parameters(), m.optim_d)
    return opts


def generate(nets: dict[str, nn.Module], cfg: Config, n: int, generator: torch.Generator | None = None,
             z: torch.Tensor | None = None) -> torch.Tensor:
    """x' for ``n`` training images drawn from the record's ring, each to a random target ≠ its label.

    Args:
        nets: needs ``generator`` and ``record``.
        cfg: the run's config.
        n: number of images.
        generator: CPU RNG of the sources and the targets.
        z: not accepted (ModNet has no latent).

    Returns:
        (n, C, H, W) float32 images on G's device.
    """
    if z is not None:
        raise ConfigError("model 'modnet' modifies real images and takes no latent z")
    G = nets["generator"]
    x, y = nets["record"].draw(n, generator)
    y_t = draw_targets(y.cpu(), G.num_classes, generator).to(y.device)
    return modify(G, x, y_t, G.num_classes, cfg.model.delta_mode, cfg.data.range)


SPEC = VariantSpec(
    description="ModNet (Basart 2017): a label-conditioned U-Net delta that turns x into a realistic image of y_t",
    config_class=ModNetConfig,
    build_nets=build_modnet_nets,
    build_optimizers=build_optimizers,
    train_step=train_step,
    generate=generate,
    tiny={"model": {"width": 2, "d_width": 2, "bank_size": 8}},
    sample_modes=(NOISE, MODIFY),
)
