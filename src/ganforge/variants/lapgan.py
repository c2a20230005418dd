"""LAPGAN (Denton et al. 2015, "Deep Generative Image Models using a Laplacian Pyramid of Adversarial
Networks", NIPS): a Laplacian pyramid of conditional GANs, one per level, trained level by level.

Pyramid (Sec. 3.1, ``ganforge.data.transforms``): I_0 = x (B, C, H, W), I_{k+1} = d(I_k), low-pass
l_k = u(I_{k+1}) and band-pass h_k = I_k - l_k for k < K, h_K = I_K; K + 1 = ``levels`` (3: 28 → 14 → 7
or 32 → 16 → 8). Level k is (B, C, H / 2^k, W / 2^k).

Training (Sec. 3.2), each level an independent conditional GAN (Eq. 2 with l = l_k):

    min_{G_k} max_{D_k}  E_{h,l}[log D_k(h_k, l_k)] + E_{z,l}[log(1 - D_k(G_k(z_k, l_k), l_k))]

D_k sees l_k + h (the low-pass "explicitly added" before its first layer); level K is an unconditional
GAN on I_K (no l). The paper feeds D one real or generated h at random with equal probability; here each
D update uses the B real and B generated band-pass images of one batch (the same expectation). G_k
minimises -log D_k(G_k(z_k, l_k), l_k) (``g_loss`` non-saturating, as the authors' Torch code does) or
the saturating log(1 - D) (``minimax``). One step: for every level in ``model.level`` (``all`` or one
index k), ``d_steps`` D_k updates (k of Goodfellow's Algorithm 1; default 1, the paper's; one count for all
levels or one per level, finest first; each further update takes a fresh real batch, as the authors' code
does with its flag) then one G_k update with fresh noise; the losses of
different levels share nothing, so a level trained alone (``model.level=k``: only G_k and D_k get
optimizers and updates) follows the same recipe as in ``all``. Every run holds the nets of every level
(one checkpoint layout; sampling always works), untrained levels stay at their initialisation;
``ganforge sample --lapgan-levels RUN0,RUN1,...`` samples with level k's generator taken from RUN_k.

Noise (Sec. 4): z_K ~ U[-1, 1]^z_dim (B, z_dim); z_k ~ U[-1, 1] as one extra input plane (B, 1, S, S).
Class-conditional (CC-LAPGAN, ``conditional``): every G_k and D_k also gets the one-hot label y.

Sampling (Sec. 3.2, Eq. 5): I~_K = G_K(z_K); I~_k = u(I~_{k+1}) + G_k(z_k, u(I~_{k+1})) for k = K-1..0.

Hyperparameters (Sec. 4, CIFAR-10; nets in ``nets/lapgan.py``): z 100-d; G_K, D_K dense with 2 hidden
layers of 1200 / 600 units, dropout in D; G_k, D_k convnets of 3 / 2 layers with 128 channels; SGD,
learning rate 0.02 and momentum 0.5 (the paper decays the rate by (1 + 4·10^-5) and raises momentum by
0.0008 per epoch up to 0.8; the authors' code starts at 0.01 and momentum 0 and caps it at 0.7). These
per-epoch schedules are not applied: ``optim_g`` / ``optim_d`` are constant and may be any
``OptimConfig`` (the CPU preset uses Adam). Blur σ = 1 pixel in d and u (a choice: the paper does not
give its filter; the authors' code rescales with ``image.scale``).
Logged: loss_d, loss_g (sums over the trained levels), loss_d_k, loss_g_k, d_real_k, d_fake_k (σ(D)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.config import Config, ModelConfig, OptimConfig
from ganforge.data.transforms import gaussian_pyramid, pyramid_up
from ganforge.errors import ConfigError
from ganforge.losses import discriminator_loss, generator_loss
from ganforge.variants.base import DataShape, StepContext, VariantSpec, make_optimizer, set_requires_grad, update
from ganforge.variants.lapgan_sampling import LEVELS
from ganforge.variants.sample_modes import CLASS, NOISE


@dataclass
class LAPGANConfig(ModelConfig):
    """LAPGAN hyperparameters: pyramid, which level(s) to train, nets and optimizers (paper defaults)."""

    name: str = "lapgan"
    levels: int = 3
    level: str = "all"
    conditional: bool = False
    z_dim: int = 100
    width: int = 128
    hidden_g: int = 1200
    hidden_d: int = 600
    dropout: float = 0.5
    blur_sigma: float = 1.0
    g_loss: Literal["minimax", "non-saturating"] = "non-saturating"
    d_steps: list[int] = field(default_factory=lambda: [1])  # k D updates per G update (all levels, or per level)
    optim_g: OptimConfig = OptimConfig.field("sgd", lr=0.02, momentum=0.5)
    optim_d: OptimConfig = OptimConfig.field("sgd", lr=0.02, momentum=0.5)

    def validate(self) -> None:
        for key in ("levels", "z_dim", "width", "hidden_g", "hidden_d"):
            if getattr(self, key) < 1:
                raise ConfigError(f"config key 'model.{key}': must be >= 1, got {getattr(self, key)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"config key 'model.dropout': must be in [0, 1), got {self.dropout}")
        if not self.blur_sigma > 0:
            raise ConfigError(f"config key 'model.blur_sigma': must be > 0, got {self.blur_sigma}")
        if len(self.d_steps) not in (1, self.levels) or min(self.d_steps, default=0) < 1:
            raise ConfigError(f"config key 'model.d_steps': one count >= 1 for every level, or one per level "
                              f"({self.levels}, finest first), got {self.d_steps}; e.g. --set model.d_steps=[1,1,3]")
        if self.level != "all" and not (self.level.isdigit() and int(self.level) < self.levels):
            raise ConfigError(f"config key 'model.level': expected 'all' or a level index 0..{self.levels - 1} "
                              f"(0 = finest), got {self.level!r}")


def trained_levels(m: LAPGANConfig) -> list[int]:
    """The level indices that ``m.level`` trains, finest first."""
    return list(range(m.levels)) if m.level == "all" else [int(m.level)]


def build_nets(cfg: Config, data: DataShape) -> dict[str, nn.Module]:
    """``generator`` (G_0..G_K) and ``critic`` (D_0..D_K) for the data's images.

    Raises:
        ConfigError: 2-D toy data, sizes that ``levels`` cannot halve, levels under 9×9 pixels, or
            ``conditional`` without labelled classes.
    """
    from ganforge.nets import LAPGANDiscriminators, LAPGANGenerators

    m = cfg.model_as(LAPGANConfig)
    if len(data.shape) != 3:
        raise ConfigError(f"lapgan needs images (C, H, W), got samples of shape {data.shape}")
    if m.conditional and data.num_classes < 2:
        raise ConfigError(f"model.conditional needs a labelled dataset with >= 2 classes, got {data.num_classes}")
    classes = data.num_classes if m.conditional else 0
    return {"generator": LAPGANGenerators(image_shape=data.shape, levels=m.levels, z_dim=m.z_dim, width=m.width,
                                          hidden=m.hidden_g, num_classes=classes),
            "critic": LAPGANDiscriminators(image_shape=data.shape, levels=m.levels, width=m.width,
                                           hidden=m.hidden_d, dropout=m.dropout, num_classes=classes)}


def build_optimizers(cfg: Config, modules: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """``generator_k`` and ``critic_k`` for each trained level k only."""
    m = cfg.model_as(LAPGANConfig)
    opts = {}
    for k in trained_levels(m):
        opts[f"generator_{k}"] = make_optimizer(modules["generator"].levels[k].parameters(), m.optim_g)
        opts[f"critic_{k}"] = make_optimizer(modules["critic"].levels[k].parameters(), m.optim_d)
    return opts


def uniform_noise(shape: tuple[int, ...], *, generator: torch.Generator | None = None,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """U[-1, 1] noise of ``shape`` (drawn on the CPU when ``generator`` is given, as ``sample_noise``)."""
    if generator is not None:
        return (torch.rand(shape, generator=generator) * 2 - 1).to(device)
    return torch.rand(shape, device=device) * 2 - 1


def level_noise(level: int, batch: int, generator_net: nn.Module, **kwargs) -> torch.Tensor:
    """z_K (B, z_dim) at the coarsest level, one noise plane (B, 1, S, S) below it."""
    G = generator_net.levels[level]
    if level == len(generator_net.levels) - 1:
        return uniform_noise((batch, G.z_dim), **kwargs)
    return uniform_noise((batch, 1, *G.sample_shape[1:]), **kwargs)


def generator_input(z: torch.Tensor, low: torch.Tensor | None) -> torch.Tensor:
    """G's input: z_K at level K (``low`` None), the planes [z_k; l_k] (B, 1 + C, S, S) below."""
    return z if low is None else torch.cat([z.to(low.dtype), low], dim=1)


def critic_input(h: torch.Tensor, low: torch.Tensor | None) -> torch.Tensor:
    """D's input: l_k + h (the low-pass added to the band-pass), or I_K itself at level K."""
    return h if low is None else low + h


def level_targets(pyramid: list[torch.Tensor], level: int, sigma: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(h_k, l_k) of the Gaussian pyramid [I_0..I_K]: (I_K, None) at level K."""
    if level == len(pyramid) - 1:
        return pyramid[level], None
    low = pyramid_up(pyramid[level + 1], sigma)
    return pyramid[level] - low, low


def critic_update(ctx: StepContext, k: int, pyramid: list[torch.Tensor],
                  y: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """One D_k update on (h_k, l_k) of one real batch against G_k's samples (Eq. 2)."""
    m = ctx.cfg.model_as(LAPGANConfig)
    G, D = ctx.nets["generator"], ctx.nets["critic"]
    h, low = level_targets(pyramid, k, m.blur_sigma)
    batch, labels = h.shape[0], None if y is None else torch.cat([y, y])
    with torch.no_grad(), ctx.autocast():
        fake = G(k, generator_input(level_noise(k, batch, G, device=ctx.device), low), y)
    with ctx.autocast():  # one pass over real and generated (no batch statistics in D)
        scores = D(k, torch.cat([critic_input(h, low), critic_input(fake.to(h.dtype), low)]), labels).float()
    real_s, fake_s = scores[:batch], scores[batch:]
    loss_d = discriminator_loss("minimax", real_s, fake_s)
    update(loss_d, ctx.optimizers[f"critic_{k}"])
    return {f"loss_d_{k}": loss_d.detach(), f"d_real_{k}": torch.sigmoid(real_s.detach()).mean(),
            f"d_fake_{k}": torch.sigmoid(fake_s.detach()).mean()}


def level_step(ctx: StepContext, k: int, pyramid: list[torch.Tensor],
               y: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """k D_k updates (the first on this step's batch, each further one on a fresh batch, as in Goodfellow's
    Algorithm 1), then one G_k update with fresh z_k on the last batch's l_k (Eq. 2)."""
    m = ctx.cfg.model_as(LAPGANConfig)
    G, D = ctx.nets["generator"], ctx.nets["critic"]
    D_k = D.levels[k]
    set_requires_grad(True, D_k)
    d_steps = m.d_steps[0] if len(m.d_steps) == 1 else m.d_steps[k]  # model.d_steps: one for all levels, or per level
    for i in range(d_steps):
        if i > 0:
            x, labels = ctx.next_batch()
            pyramid, y = gaussian_pyramid(x, m.levels, m.blur_sigma), one_hot(labels, G.num_classes)
        logs = critic_update(ctx, k, pyramid, y)
    set_requires_grad(False, D_k)  # G_k's step computes no weight gradients for D_k
    h, low = level_targets(pyramid, k, m.blur_sigma)
    with ctx.autocast():
        fake = G(k, generator_input(level_noise(k, h.shape[0], G, device=ctx.device), low), y)
        g_scores = D(k, critic_input(fake.to(h.dtype), low), y).float()
    loss_g = generator_loss(m.g_loss, g_scores)
    update(loss_g, ctx.optimizers[f"generator_{k}"])
    set_requires_grad(True, D_k)
    return {**logs, f"loss_g_{k}": loss_g.detach()}


def train_step(ctx: StepContext) -> dict[str, torch.Tensor]:
    """Draw one batch, build its pyramid, and update every trained level (independent losses)."""
    m = ctx.cfg.model_as(LAPGANConfig)
    x, labels = ctx.next_batch()
    pyramid = gaussian_pyramid(x, m.levels, m.blur_sigma)  # [I_0 (B, C, H, W), ..., I_K]
    y = one_hot(labels, ctx.nets["generator"].num_classes)
    logs: dict[str, torch.Tensor] = {}
    for k in trained_levels(m):
        logs |= level_step(ctx, k, pyramid, y)
    levels = trained_levels(m)
    return {"loss_d": sum(logs[f"loss_d_{k}"] for k in levels), "loss_g": sum(logs[f"loss_g_{k}"] for k in levels),
            **logs}


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor | None:
    """One-hot float labels (B, num_classes), or None for unconditional nets (``num_classes`` 0)."""
    return F.one_hot(labels.long(), num_classes).float() if num_classes else None


def sample_levels(modules: dict[str, nn.Module], cfg: Config, n: int, generator: torch.Generator | None = None,
                  z: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> list[torch.Tensor]:
    """Coarse-to-fine samples of every level (Eq. 5): I~_K = G_K(z_K), I~_k = u(I~_{k+1}) + G_k(z_k, u(I~_{k+1})).

    Noise is drawn in this order from ``generator``: the labels (conditional runs, uniform over the
    classes, unless given), z_K, then z_{K-1}, ..., z_0.

    Args:
        modules: needs ``generator`` (a ``LAPGANGenerators``).
        cfg: the run's config (``blur_sigma``).
        n: number of samples (ignored when ``z`` is given).
        generator: RNG for the labels and every z.
        z: optional (n, z_dim) noise z_K of the coarsest level.
        labels: optional (n,) class indices for a conditional run.

    Returns:
        [I~_0 (n, C, H, W), ..., I~_K (n, C, H / 2^K, W / 2^K)], float32 on the generator's device.
    """
    G = modules["generator"]
    device, K = next(G.parameters()).device, len(G.levels) - 1
    n = len(z) if z is not None else n
    if labels is not None and not G.num_classes:
        raise ConfigError("labels select classes of a class-conditional run (model.conditional=true); this run is not")
    if G.num_classes and labels is None:
        labels = torch.randint(G.num_classes, (n,), generator=generator)
    y = one_hot(labels.to(device), G.num_classes) if labels is not None else None
    z_top = z.to(device) if z is not None else level_noise(K, n, G, generator=generator, device=device)
    images = [G(K, z_top, y)]  # I~_K
    for k in range(K - 1, -1, -1):
        low = pyramid_up(images[-1].float(), cfg.model.blur_sigma)  # u(I~_{k+1})
        z_k = level_noise(k, n, G, generator=generator, device=device)
        images.append(low + G(k, generator_input(z_k, low), y).float())
    return [im.float() for im in reversed(images)]


def generate(modules: dict[str, nn.Module], cfg: Config, n: int, generator: torch.Generator | None = None,
             z: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Full-size samples I~_0 (n, C, H, W) of :func:`sample_levels`."""
    return sample_levels(modules, cfg, n, generator=generator, z=z, labels=labels)[0]


def sample_classes(modules: dict[str, nn.Module], cfg: Config, classes, generator: torch.Generator | None = None,
                   ) -> torch.Tensor:
    """CC-LAPGAN samples (B, C, H, W) of the given classes (B,) (``ganforge sample --class C``)."""
    if not cfg.model.conditional:
        raise ConfigError("this LAPGAN run is not class-conditional; train with --set model.conditional=true "
                          "to sample given classes")
    labels = torch.as_tensor(classes, dtype=torch.long)
    return generate(modules, cfg, len(labels), generator, labels=labels)


def levels_figure(levels: list[torch.Tensor]) -> torch.Tensor:
    """One row per level, coarsest first, each upsampled to full size by pixel replication (like the
    sampling figure of Denton et al. 2015).

    Args:
        levels: [I~_0 (n, C, H, W), ..., I~_K] as :func:`sample_levels` returns.

    Returns:
        ((K + 1)·n, C, H, W): the n samples of I~_K, then of I~_{K-1}, ..., then I~_0.
    """
    rows = [F.interpolate(im, scale_factor=2 ** k, mode="nearest") if k else im for k, im in enumerate(levels)]
    return torch.cat(rows[::-1])


def levels_full_size(levels: list[torch.Tensor], sigma: float) -> list[torch.Tensor]:
    """[I~_0, u(I~_1), u(u(I~_2)), ...]: every level brought to full size by the pyramid's upsampling u (the
    low-pass image that the next finer generator would receive), so one classifier can score every level."""
    out = []
    for k, image in enumerate(levels):
        for _ in range(k):
            image = pyramid_up(image, sigma)
        out.append(image)
    return out


SPEC = VariantSpec(
    description="LAPGAN (Denton 2015): a Laplacian pyramid of conditional GANs, level by level, optional CC-LAPGAN",
    config_class=LAPGANConfig,
    build_nets=build_nets,
    build_optimizers=build_optimizers,
    train_step=train_step,
    generate=generate,
    sample_classes=sample_classes,
    tiny={"model": {"width": 4, "hidden_g": 8, "hidden_d": 8, "z_dim": 4}},
    sample_modes=(NOISE, CLASS, LEVELS),
)
