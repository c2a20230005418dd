"""Stacked GAN with two levels (Huang, Li, Poursaeed, Hopcroft & Belongie 2017, "Stacked Generative
Adversarial Networks", CVPR, arXiv:1612.04357; SPEC.md "Stacked GAN"; reference code xunhuang1995/SGAN,
``mnist/train_independent.py`` and ``mnist/train_joint.py``).

The frozen bottom-up encoder stack (paper Sec. 3, "Pre-trained Encoder") is the MNIST classifier split at
``model.split``: h_0 = x (B, 1, 28, 28), h_1 = E_0(x) (B, d) (fc1: d = 64), h_2 = y with E_1(h_1) the logits
(B, K).
Top-down generators ("Stacked Generators"), each with its own noise z_i ~ U(0, 1)^{n_i} (n_0 = n_1 = 50):
h^_1 = G_1(y, z_1) (y one-hot) and x^ = h^_0 = G_0(c, z_0), where the condition c is the real h_1 in
the independent phase and G_1's output h^_1 in the joint phase. Losses per level i ∈ {0, 1} (the
"Stacked Generators", "Conditional Loss" and "Entropy Loss" paragraphs):

    L_{D_i}      = ½ (E[-log D_i(h_i)] + E[-log(1 - D_i(h^_i))])     (halved as in the reference code)
    L^adv_{G_i}  = E[-log D_i(h^_i)]                                  (non-saturating)
    L^cond_{G_i} = f(E_i(h^_i), c_{i+1}),  f = cross-entropy with y (i = 1), mean squared error with the
                   condition c (i = 0: the real h_1, or h^_1 in the joint phase)
    L^ent_{G_i}  = E[||Q_i(h^_i) - z_i||² / n_i]                      (a Gaussian Q_i of fixed variance:
                   the variational bound on -H(h^_i | h_{i+1}) up to constants)
    L_{G_i}      = λ1_i L^adv_{G_i} + λ2_i L^cond_{G_i} + λ3_i L^ent_{G_i}

D_i with Q_i (which shares D_i's body) minimises λ1_i L_{D_i} + λ3_i L^ent_{G_i}; the generators minimise
L_{G_1} + L_{G_0}. All means run over the batch and every element. λ1 = ``adv_weights``, λ2 =
``cond_weights``, λ3 = ``ent_weights``, each [level 0, level 1]; the reference MNIST code's values are
1, 1, 10 for both levels, with Adam 1e-4 (β 0.5, 0.999) for every net, batch 100 and 200 epochs.
The defaults here are the reference's; the CPU preset ``stackgan-mnist`` departs where a 4-minute budget
needs it and says why in its description (5 noise units per level, λ3_0 = 50, D_i and Q_i at 4e-4, and the
level-1 nets at the reference's full width, ``width_1`` 1, beside a 0.25-wide image level).

Independent, then joint training: ``phase: independent`` conditions G_0 on the real h_1 = E_0(x)
at every step (the levels train apart); ``phase: joint`` takes the first ``independent_steps`` generator
steps independently, then feeds h^_1 to G_0 end to end: D_0 sees G_0(h^_1, z_0), L^cond_{G_0} compares
E_0(x^) with h^_1, and the image-level losses L_{G_0} reach G_1 through h^_1 with weight ``joint_weight``
(0.01, the reference CIFAR-10 joint code's ``loss_gen1 + 0.01 * loss_gen0``; the reference MNIST joint code
uses 0, i.e. G_1 keeps only its own losses). One step: one batch (x, y); one update of every D_i and Q_i
on fakes drawn without gradients, then one update of G_1 and G_0 with fresh noise (D_i, Q_i frozen).

Sampling is class-conditional and top-down: y → h^_1 = G_1(y, z_1) → x^ = G_0(h^_1, z_0).
``generate`` cycles the classes 0, 1, ..., K-1 (every class equally often, like the reference code's
sample grids); :func:`sample_classes` takes explicit classes (``ganforge sample --class C``).
Logged: loss_d, loss_d_<i>, q_<i> (L^ent on the discriminator step), loss_g, adv_<i>, cond_<i>, ent_<i>
(unweighted), ent_rel_<i> = ent_<i> / Var(U(0, 1)) = 12 · ent_<i> (1.0: Q_i recovers nothing of z_i, i.e. predicts
its mean ½; 0: Q_i recovers z_i exactly), and joint (1.0 in joint steps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.config import Config, ModelConfig, OptimConfig
from ganforge.errors import ConfigError
from ganforge.losses import discriminator_loss, generator_loss
from ganforge.variants.base import StepContext, VariantSpec, make_optimizer, set_requires_grad, update
from ganforge.variants.sample_modes import CLASS, NOISE
from ganforge.variants.stackgan_nets import build_stackgan_nets, encode_bottom, encode_top

LEVELS = (0, 1)
NOISE_VARIANCE = 1.0 / 12.0  # Var(U(0, 1)): L^ent of a Q_i that recovers nothing of z_i (predicts E[z_i] = ½)
CRITIC_NETS = ("critic_1", "critic_0", "q_1", "q_0")
GENERATOR_NETS = ("generator_1", "generator_0")


@dataclass
class StackGANConfig(ModelConfig):
    """Stacked GAN hyperparameters (defaults: the reference MNIST code's losses and optimizers)."""

    name: str = "stackgan"
    encoder: str = "default"  # classifier folder; "default": the dataset's cached one; "random": tests only
    encoder_width: float = 0.5  # width of that classifier (the cached MNIST one is 0.5)
    split: Literal["pool3", "fc1"] = "fc1"  # h_1 = the classifier's activations at this layer
    width: float = 1.0  # multiplies the hidden widths of G_i, D_i (1: the reference MNIST nets)
    width_1: float | None = None  # the level-1 nets' (G_1, D_1) multiplier instead; None: model.width
    noise_0: int = 50  # n_0, size of z_0
    noise_1: int = 50  # n_1, size of z_1
    adv_weights: list[float] = field(default_factory=lambda: [1.0, 1.0])  # λ1, [level 0, level 1]
    cond_weights: list[float] = field(default_factory=lambda: [1.0, 1.0])  # λ2
    ent_weights: list[float] = field(default_factory=lambda: [10.0, 10.0])  # λ3
    phase: Literal["independent", "joint"] = "joint"
    independent_steps: int = 0  # phase joint: generator steps taken independently first
    joint_weight: float = 0.01  # scale of L_{G_0}'s gradient reaching G_1 in joint steps
    optim_g: OptimConfig = OptimConfig.field(lr=1e-4, betas=(0.5, 0.999))
    optim_d: OptimConfig = OptimConfig.field(lr=1e-4, betas=(0.5, 0.999))

    @property
    def z_dim(self) -> int:
        """n_0 + n_1, the noise of one sample (``generate`` takes no latents: it samples from classes)."""
        return self.noise_0 + self.noise_1

    def validate(self) -> None:
        for key in ("adv_weights", "cond_weights", "ent_weights"):
            values = getattr(self, key)
            if len(values) != len(LEVELS) or min(values) < 0:
                raise ConfigError(f"model.{key} needs two weights >= 0 (level 0, level 1), got {values}")
        if not self.width > 0 or not self.encoder_width > 0 or min(self.noise_0, self.noise_1) < 1:
            raise ConfigError("model.width and model.encoder_width must be > 0 and model.noise_0, noise_1 >= 1")
        if self.width_1 is not None and not self.width_1 > 0:
            raise ConfigError(f"model.width_1 must be > 0 (or null: model.width), got {self.width_1}")
        if self.independent_steps < 0 or self.joint_weight < 0 or not self.encoder:
            raise ConfigError("model.independent_steps and model.joint_weight must be >= 0, model.encoder non-empty")
        if self.phase == "independent" and self.independent_steps:
            raise ConfigError("model.independent_steps counts the independent steps before joint ones; set "
                              "model.phase=joint or drop it (phase independent trains independently throughout)")


def build_optimizers(cfg: Config, nets: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """Adam over G_1 and G_0 (``optim_g``) and Adam over D_1, D_0, Q_1, Q_0 (``optim_d``); none for E.

    Adam is per parameter, so one optimizer per side equals the reference code's one per net.
    """
    m = cfg.model_as(StackGANConfig)
    params = lambda names: [p for name in names for p in nets[name].parameters()]  # noqa: E731
    return {"generator": make_optimizer(params(GENERATOR_NETS), m.optim_g),
            "critic": make_optimizer(params(CRITIC_NETS), m.optim_d)}


def is_joint(m: StackGANConfig, step: int) -> bool:
    """Whether generator step ``step`` is a joint one (G_0 conditioned on h^_1)."""
    return m.phase == "joint" and step >= m.independent_steps


def route(h: torch.Tensor, weight: float) -> torch.Tensor:
    """h^_1 as G_0's condition in joint steps: the same values, with the gradient back into G_1 times ``weight``."""
    if weight == 0:
        return h.detach()
    return h.detach() + weight * (h - h.detach())  # h - h.detach() is exactly 0: the value is h


def stack_forward(nets: dict[str, nn.Module], m: StackGANConfig, h1: torch.Tensor, y: torch.Tensor, *,
                  joint: bool) -> dict[str, torch.Tensor]:
    """One top-down pass for a batch with real features h1 = E_0(x) (B, d) and labels y (B,).

    Returns:
        h1, z1 (B, n_1), z0 (B, n_0) ~ U(0, 1), h1_hat = G_1(y, z_1) (B, d), condition (B, d) = h1 or
        route(h1_hat) (joint), x_hat = G_0(condition, z_0) (B, 1, 28, 28).
    """
    G1, G0 = nets["generator_1"], nets["generator_0"]
    z1 = torch.rand(h1.shape[0], m.noise_1).to(h1.device)
    z0 = torch.rand(h1.shape[0], m.noise_0).to(h1.device)
    h1_hat = G1(torch.cat([F.one_hot(y, G1.num_classes).to(z1.dtype), z1], dim=1))
    condition = route(h1_hat, m.joint_weight) if joint else h1
    x_hat = G0(torch.cat([condition.to(z0.dtype), z0], dim=1))
    return {"h1": h1, "z1": z1, "z0": z0, "h1_hat": h1_hat, "condition": condition, "x_hat": x_hat}


def critic_terms(nets: dict[str, nn.Module], m: StackGANConfig, x: torch.Tensor,
                 s: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``loss_d`` = Σ_i λ1_i L_{D_i} + λ3_i L^ent (Q_i on D_i's features of h^_i), and its parts.

    ``s`` is :func:`stack_forward`'s output (without gradients): real h_1 and x against h^_1 and x^.
    """
    terms: dict[str, torch.Tensor] = {}
    loss = torch.zeros((), device=x.device)
    for level, real, fake, z in ((1, s["h1"], s["h1_hat"], s["z1"]), (0, x, s["x_hat"], s["z0"])):
        features, scores = nets[f"critic_{level}"].features_and_score(torch.cat([real, fake.to(real.dtype)]))
        real_s, fake_s = scores.float().split(real.shape[0])
        terms[f"loss_d_{level}"] = 0.5 * discriminator_loss("minimax", real_s, fake_s)
        terms[f"q_{level}"] = F.mse_loss(nets[f"q_{level}"](features[real.shape[0]:]).float(), z.float())
        loss = loss + m.adv_weights[level] * terms[f"loss_d_{level}"] + m.ent_weights[level] * terms[f"q_{level}"]
    return {"loss_d": loss, **terms}


def generator_terms(nets: dict[str, nn.Module], m: StackGANConfig, y: torch.Tensor,
                    s: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``loss_g`` = L_{G_1} + L_{G_0} and the unweighted terms adv_i, cond_i, ent_i (module docstring)."""
    E = nets["encoder"]
    f1, s1 = nets["critic_1"].features_and_score(s["h1_hat"])
    f0, s0 = nets["critic_0"].features_and_score(s["x_hat"])
    terms = {
        "adv_1": generator_loss("non-saturating", s1),
        "cond_1": F.cross_entropy(encode_top(E, s["h1_hat"], m.split).float(), y),
        "ent_1": F.mse_loss(nets["q_1"](f1).float(), s["z1"].float()),
        "adv_0": generator_loss("non-saturating", s0),
        "cond_0": F.mse_loss(encode_bottom(E, s["x_hat"], m.split).float(), s["condition"].float()),
        "ent_0": F.mse_loss(nets["q_0"](f0).float(), s["z0"].float()),
    }
    loss = sum(m.adv_weights[i] * terms[f"adv_{i}"] + m.cond_weights[i] * terms[f"cond_{i}"]
               + m.ent_weights[i] * terms[f"ent_{i}"] for i in LEVELS)
    relative = {f"ent_rel_{i}": terms[f"ent_{i}"].detach() / NOISE_VARIANCE for i in LEVELS}
    return {"loss_g": loss, **terms, **relative}


def train_step(ctx: StepContext) -> dict[str, torch.Tensor]:
    """One D_i + Q_i update on fakes drawn without gradients, then one G_1 + G_0 update (module docstring)."""
    m = ctx.cfg.model_as(StackGANConfig)
    joint = is_joint(m, ctx.step)
    x, y = ctx.next_batch()
    set_requires_grad(True, *(ctx.nets[name] for name in CRITIC_NETS))
    with torch.no_grad(), ctx.autocast():
        h1 = encode_bottom(ctx.nets["encoder"], x, m.split)  # (B, d), E is frozen
        fakes = stack_forward(ctx.nets, m, h1, y, joint=joint)
    with ctx.autocast():
        d_terms = critic_terms(ctx.nets, m, x, fakes)
    update(d_terms["loss_d"], ctx.optimizers["critic"])
    set_requires_grad(False, *(ctx.nets[name] for name in CRITIC_NETS))
    with ctx.autocast():
        g_terms = generator_terms(ctx.nets, m, y, stack_forward(ctx.nets, m, h1, y, joint=joint))
    update(g_terms["loss_g"], ctx.optimizers["generator"])
    logs = {k: v.detach() for k, v in {**d_terms, **g_terms}.items()}
    return {**logs, "joint": torch.tensor(float(joint))}


def sample_classes(nets: dict[str, nn.Module], cfg: Config, classes: torch.Tensor | list[int],
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Top-down samples of the given classes: x^ = G_0(G_1(y, z_1), z_0), z_i ~ U(0, 1) from ``generator``.

    Args:
        nets: needs ``generator_1`` and ``generator_0`` (in eval mode for sampling).
        cfg: the run's config.
        classes: (B,) class indices in 0..K-1.
        generator: CPU RNG for z_1 then z_0.

    Returns:
        (B, 1, 28, 28) float32 images on G_0's device.
    """
    G1, G0 = nets["generator_1"], nets["generator_0"]
    device = next(G0.parameters()).device
    c = torch.as_tensor(classes, dtype=torch.long).reshape(-1)
    if len(c) == 0 or int(c.min()) < 0 or int(c.max()) >= G1.num_classes:
        raise ConfigError(f"classes must be in 0..{G1.num_classes - 1} with at least one sample, got "
                          f"{c.unique().tolist()}")
    z1 = torch.rand(len(c), G1.noise_dim, generator=generator).to(device)
    z0 = torch.rand(len(c), G0.noise_dim, generator=generator).to(device)
    h1_hat = G1(torch.cat([F.one_hot(c, G1.num_classes).float().to(device), z1], dim=1))  # (B, d)
    return G0(torch.cat([h1_hat, z0], dim=1)).float()


def generate(nets: dict[str, nn.Module], cfg: Config, n: int, generator: torch.Generator | None = None,
             z: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` top-down samples of the classes 0, 1, ..., K-1, 0, 1, ... (each class equally often).

    Returns:
        (n, 1, 28, 28) float32 images. Raises ConfigError for ``z`` (no single latent to interpolate).
    """
    if z is not None:
        raise ConfigError("a stackgan run samples top-down from a class and two noises; it has no single latent "
                          "to interpolate (use `ganforge sample --run RUN --class C`)")
    return sample_classes(nets, cfg, torch.arange(n) % nets["generator_1"].num_classes, generator)


SPEC = VariantSpec(
    description="Stacked GAN (Huang 2017): per-level G_i, D_i, Q_i on a frozen classifier; independent then joint",
    config_class=StackGANConfig,
    build_nets=build_stackgan_nets,
    build_optimizers=build_optimizers,
    train_step=train_step,
    generate=generate,
    sample_nets=GENERATOR_NETS,
    sample_classes=sample_classes,
    tiny={"model": {"encoder": "random", "encoder_width": 0.0625, "width": 0.0625, "noise_0": 4, "noise_1": 4}},
    sample_modes=(NOISE, CLASS),
)
