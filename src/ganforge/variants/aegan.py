"""AEGAN (Lazarou 2020, "Autoencoding Generative Adversarial Networks", arXiv:2004.05472).

Four nets: a generator G: Z → X, an encoder E: X → Z, an image discriminator Dx and a latent
discriminator Dz (an MLP on codes). With x from the data (B, C, H, W) (toy sets: (B, D)) and
z ~ N(0, I) (B, z_dim), the four paths are

    x^ = G(z),   z^ = E(x),   x~ = G(E(x)) = G(z^),   z~ = E(G(z)) = E(x^).

Losses, with the adversarial pair (ℓ_D, ℓ_G) of kind ``adversarial_loss`` from ``ganforge.losses``
(default ``non-saturating``: ℓ_D = -log σ(D(real)) - log(1 - σ(D(fake))), ℓ_G = -log σ(D(fake))):

    L_Dx = ℓ_D(Dx(x), Dx({x^, x~}))     Dx separates x from the 2B generated images
    L_Dz = ℓ_D(Dz(z), Dz({z^, z~}))     Dz separates prior draws from the 2B produced codes
    L_GE = λ_x^ ℓ_G(Dx(x^)) + λ_x~ ℓ_G(Dx(x~)) + λ_z^ ℓ_G(Dz(z^)) + λ_z~ ℓ_G(Dz(z~))
           + λ_x ||x - x~||_1 + λ_z ||z - z~||_2^2

ℓ_D's fake term is the mean over the concatenation {x^, x~}, i.e. the average of the two fake terms.
The reconstruction norms are means over every element (``l1_reconstruction``, ``l2_reconstruction``,
as ``nn.L1Loss`` / ``nn.MSELoss`` in the public PyTorch AEGAN code): a per-sample sum is the mean times
C·H·W (or D) for x and times z_dim for z. G and E share one optimizer and minimise L_GE together;
Dx and Dz have one optimizer each and minimise L_Dx + L_Dz.

One step (``train_step``): ``d_steps`` times { draw a batch x and z; compute the paths without
gradients; one update of Dx and Dz }, then one update of G and E on the last batch x with a fresh z
(the critics are frozen: no weight gradients reach them).

Defaults follow the public PyTorch AEGAN code (``aegan.py``): λ_x = 1 (ALPHA_RECONSTRUCT_IMAGE),
λ_z = 0.5 (ALPHA_RECONSTRUCT_LATENT), image adversarial weight 0.005 and latent 0.1 applied to the
mean of the x^ and x~ (z^ and z~) terms, i.e. λ_x^ = λ_x~ = 0.0025 and λ_z^ = λ_z~ = 0.05; Adam
2e-4 (0.5, 0.999) for G+E and 1e-4 (0.5, 0.999) for Dx and Dz; z_dim 16. Net families: ``dcgan``
(G: ``DCGANGenerator``, E: ``DCGANEncoder``, Dx: ``DCGANDiscriminator``, each of ``width``; E and Dx
normalise with ``d_norm``) for 28×28 or 32×32 images, ``mlp`` for 2-D toy data, and the default ``auto``,
which picks one of them for the data; Dz is always ``MLPDiscriminator(in_dim=z_dim, hidden, depth)``.
Logged (detached, unweighted terms): loss_d = loss_dx + loss_dz, loss_g = L_GE, adv_x_hat, adv_x_tilde,
adv_z_hat, adv_z_tilde, recon_x, recon_z.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ganforge.config import Config, ModelConfig, OptimConfig
from ganforge.errors import ConfigError
from ganforge.losses import discriminator_loss, generator_loss, l1_reconstruction, l2_reconstruction
from ganforge.samplers.noise import sample_noise
from ganforge.variants.adversarial import build_generator_critic, generate, net_for_data, with_net_for_data
from ganforge.variants.aegan_sampling import BETWEEN_REAL, RECONSTRUCT
from ganforge.variants.base import DataShape, StepContext, VariantSpec, make_optimizer, set_requires_grad, update
from ganforge.variants.sample_modes import NOISE
from ganforge.variants.scoring import group_scores

ADVERSARIAL_TERMS = ("adv_x_hat", "adv_x_tilde", "adv_z_hat", "adv_z_tilde")


@dataclass
class AEGANConfig(ModelConfig):
    """AEGAN hyperparameters: nets, adversarial loss kind, the six loss weights and optimizers."""

    name: str = "aegan"
    net: Literal["auto", "dcgan", "mlp"] = "auto"
    z_dim: int = 16
    width: int = 64
    hidden: int = 128
    depth: int = 3
    d_norm: Literal["batch", "layer", "none"] = "batch"
    adversarial_loss: Literal["non-saturating", "minimax", "hinge", "least-squares"] = "non-saturating"
    lambda_x: float = 1.0
    lambda_z: float = 0.5
    lambda_adv_x_hat: float = 0.0025
    lambda_adv_x_tilde: float = 0.0025
    lambda_adv_z_hat: float = 0.05
    lambda_adv_z_tilde: float = 0.05
    d_steps: int = 1
    optim_ge: OptimConfig = OptimConfig.field(lr=2e-4, betas=(0.5, 0.999))
    optim_dx: OptimConfig = OptimConfig.field(lr=1e-4, betas=(0.5, 0.999))
    optim_dz: OptimConfig = OptimConfig.field(lr=1e-4, betas=(0.5, 0.999))

    def for_data(self, sample_shape: tuple[int, ...]) -> AEGANConfig:
        """This config with ``net: auto`` resolved for the data (``mlp`` for points, ``dcgan`` for images)."""
        return with_net_for_data(self, sample_shape)  # type: ignore[return-value]

    def validate(self) -> None:
        if self.d_steps < 1:
            raise ConfigError(f"config key 'model.d_steps': must be >= 1, got {self.d_steps}")
        for key in ("lambda_x", "lambda_z", *(f"lambda_{t}" for t in ADVERSARIAL_TERMS)):
            if getattr(self, key) < 0:
                raise ConfigError(f"config key 'model.{key}': a loss weight must be >= 0, got {getattr(self, key)}")


def build_nets(cfg: Config, data: DataShape) -> dict[str, nn.Module]:
    """``generator``, ``encoder``, ``critic_x`` (on samples) and ``critic_z`` (on codes).

    Raises:
        ConfigError: the net family does not fit the data (an image net on 2-D points or the reverse).
    """
    from ganforge.nets import NETS

    m = cfg.model_as(AEGANConfig)
    pair = build_generator_critic(cfg, data)  # G and Dx, with the family's checks and messages
    if net_for_data(m.net, tuple(data.shape)) == "mlp":
        encoder = NETS.get("mlp-encoder").build(in_dim=data.shape[0], z_dim=m.z_dim, hidden=m.hidden,
                                                depth=m.depth)
    else:
        encoder = NETS.get("dcgan-encoder").build(image_shape=tuple(data.shape), z_dim=m.z_dim, width=m.width,
                                                  norm=m.d_norm)
    critic_z = NETS.get("mlp-discriminator").build(in_dim=m.z_dim, hidden=m.hidden, depth=m.depth)
    return {"generator": pair["generator"], "encoder": encoder, "critic_x": pair["critic"], "critic_z": critic_z}


def build_optimizers(cfg: Config, modules: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """One optimizer for G and E together (``optim_ge``), one for Dx (``optim_dx``), one for Dz (``optim_dz``)."""
    m = cfg.model_as(AEGANConfig)
    pair = [*modules["generator"].parameters(), *modules["encoder"].parameters()]
    return {"generator_encoder": make_optimizer(pair, m.optim_ge),
            "critic_x": make_optimizer(modules["critic_x"].parameters(), m.optim_dx),
            "critic_z": make_optimizer(modules["critic_z"].parameters(), m.optim_dz)}


def autoencode_paths(G: nn.Module, E: nn.Module, x: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
    """The four AEGAN paths.

    Args:
        G: generator, z (B, z_dim) → samples.
        E: encoder, samples → codes (B, z_dim).
        x: real samples (B, C, H, W) or (B, D).
        z: prior draws (B', z_dim).

    Returns:
        ``x_hat`` = G(z) (B', ...), ``z_hat`` = E(x) (B, z_dim), ``x_tilde`` = G(E(x)) (B, ...),
        ``z_tilde`` = E(G(z)) (B', z_dim).
    """
    x_hat = G(z)
    z_hat = E(x)
    return {"x_hat": x_hat, "z_hat": z_hat, "x_tilde": G(z_hat), "z_tilde": E(x_hat)}


def critic_losses(kind: str, Dx: nn.Module, Dz: nn.Module, x: torch.Tensor, z: torch.Tensor,
                  paths: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """L_Dx and L_Dz (module docstring) as float32 scalars ``loss_dx`` and ``loss_dz``."""
    real_x, *fake_x = group_scores(Dx, [x, paths["x_hat"], paths["x_tilde"]])
    real_z, *fake_z = group_scores(Dz, [z, paths["z_hat"], paths["z_tilde"]])
    return {"loss_dx": discriminator_loss(kind, real_x, torch.cat(fake_x)),
            "loss_dz": discriminator_loss(kind, real_z, torch.cat(fake_z))}


def generator_encoder_losses(m: AEGANConfig, Dx: nn.Module, Dz: nn.Module, x: torch.Tensor, z: torch.Tensor,
                             paths: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The unweighted terms of L_GE and their weighted sum ``loss_g`` (float32 scalars).

    Returns:
        ``adv_x_hat``, ``adv_x_tilde``, ``adv_z_hat``, ``adv_z_tilde`` (ℓ_G of each path's scores),
        ``recon_x`` = mean |x - x~|, ``recon_z`` = mean (z - z~)^2 and ``loss_g``.
    """
    s_x_hat, s_x_tilde = group_scores(Dx, [paths["x_hat"], paths["x_tilde"]])
    s_z_hat, s_z_tilde = group_scores(Dz, [paths["z_hat"], paths["z_tilde"]])
    scores = {"adv_x_hat": s_x_hat, "adv_x_tilde": s_x_tilde, "adv_z_hat": s_z_hat, "adv_z_tilde": s_z_tilde}
    terms = {name: generator_loss(m.adversarial_loss, s) for name, s in scores.items()}
    terms["recon_x"] = l1_reconstruction(x.float(), paths["x_tilde"].float())
    terms["recon_z"] = l2_reconstruction(z.float(), paths["z_tilde"].float())
    total = m.lambda_x * terms["recon_x"] + m.lambda_z * terms["recon_z"]
    for name in ADVERSARIAL_TERMS:
        total = total + getattr(m, f"lambda_{name}") * terms[name]
    return {**terms, "loss_g": total}


def critic_step(ctx: StepContext, x: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
    """One update of Dx and Dz on real x (B, ...) and prior z (B, z_dim); G and E get no gradients."""
    m, nets = ctx.cfg.model_as(AEGANConfig), ctx.nets
    set_requires_grad(True, nets["critic_x"], nets["critic_z"])
    with torch.no_grad(), ctx.autocast():
        paths = autoencode_paths(nets["generator"], nets["encoder"], x, z)
    with ctx.autocast():
        losses = critic_losses(m.adversarial_loss, nets["critic_x"], nets["critic_z"], x, z, paths)
    update(losses["loss_dx"] + losses["loss_dz"], ctx.optimizers["critic_x"], ctx.optimizers["critic_z"])
    return {k: v.detach() for k, v in losses.items()}


def generator_encoder_step(ctx: StepContext, x: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
    """One joint update of G and E on L_GE; Dx and Dz are frozen (no weight gradients)."""
    m, nets = ctx.cfg.model_as(AEGANConfig), ctx.nets
    set_requires_grad(False, nets["critic_x"], nets["critic_z"])
    with ctx.autocast():
        paths = autoencode_paths(nets["generator"], nets["encoder"], x, z)
        terms = generator_encoder_losses(m, nets["critic_x"], nets["critic_z"], x, z, paths)
    update(terms["loss_g"], ctx.optimizers["generator_encoder"])
    return {k: v.detach() for k, v in terms.items()}


def train_step(ctx: StepContext) -> dict[str, torch.Tensor]:
    """``d_steps`` updates of Dx and Dz, then one of G and E on the last batch with a fresh z."""
    m = ctx.cfg.model_as(AEGANConfig)
    for _ in range(m.d_steps):
        x, _ = ctx.next_batch()
        d_logs = critic_step(ctx, x, sample_noise(x.shape[0], m.z_dim, device=ctx.device))
    g_logs = generator_encoder_step(ctx, x, sample_noise(x.shape[0], m.z_dim, device=ctx.device))
    return {"loss_d": d_logs["loss_dx"] + d_logs["loss_dz"], **d_logs, **g_logs}


@torch.no_grad()
def reconstruct(modules: dict[str, nn.Module], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes and reconstructions of real samples.

    Args:
        modules: needs ``generator`` and ``encoder``.
        x: samples (B, C, H, W) or (B, D) on any device.

    Returns:
        (z^ = E(x) (B, z_dim), x~ = G(E(x)) shaped like x), float32 on the CPU.
    """
    device = next(modules["encoder"].parameters()).device
    z = modules["encoder"](x.to(device)).float()
    return z.cpu(), modules["generator"](z).float().cpu()


def mean_reconstruction_l1(modules: dict[str, nn.Module], x: torch.Tensor, batch_size: int = 256) -> float:
    """mean |x - G(E(x))| over every element of ``x`` (N, ...), computed in batches."""
    total = 0.0
    for chunk in x.split(batch_size):
        _, x_tilde = reconstruct(modules, chunk)
        total += float((chunk.float().cpu() - x_tilde).abs().sum())
    return total / x.numel()


SPEC = VariantSpec(
    description="AEGAN (Lazarou 2020): G, E, image and latent critics, L1 image and L2 latent reconstruction",
    config_class=AEGANConfig,
    build_nets=build_nets,
    build_optimizers=build_optimizers,
    train_step=train_step,
    generate=generate,
    sample_nets=("generator", "encoder"),
    tiny={"model": {"width": 4, "hidden": 8}},
    sample_modes=(NOISE, RECONSTRUCT, BETWEEN_REAL),
)
