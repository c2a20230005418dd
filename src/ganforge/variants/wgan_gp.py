"""WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Algorithm 1, Eq. 3).

Critic loss E[D(x~)] - E[D(x)] + λ E[(||∇ D(x^)||_2 - 1)^2], x^ = e x + (1 - e) x~ with
e ~ U[0, 1] drawn once per sample; λ = 10, n_critic = 5, Adam lr 1e-4, betas (0.5, 0.9);
no batch norm in the critic (``d_norm`` defaults to ``layer`` for DCGAN critics).
``gp_method`` picks how ∇D(x^) is computed: autograd's double backward or, for piecewise-linear
critics, the explicit transposed chain (same values, faster; ``ganforge.losses.explicit_gradient``).
G loss: -E[D(G(z))]. Logged: Wasserstein estimate, gradient penalty and mean gradient norm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ganforge.config import OptimConfig
from ganforge.errors import ConfigError
from ganforge.losses import discriminator_loss, gradient_penalty, wasserstein_estimate
from ganforge.variants.adversarial import AdversarialConfig, adversarial_spec
from ganforge.variants.base import StepContext, critic_iterations, set_requires_grad, update
from ganforge.variants.scoring import critic_scores, fake_batches, generator_step


@dataclass
class WGANGPConfig(AdversarialConfig):
    """WGAN-GP hyperparameters (Algorithm 1 defaults)."""

    name: str = "wgan-gp"
    n_critic: int = 5
    gp_weight: float = 10.0
    gp_method: Literal["auto", "autograd", "explicit"] = "auto"
    warmup: bool = False
    d_norm: Literal["batch", "layer", "none"] = "layer"
    optim_g: OptimConfig = OptimConfig.field(lr=1e-4, betas=(0.5, 0.9))
    optim_d: OptimConfig = OptimConfig.field(lr=1e-4, betas=(0.5, 0.9))

    def validate(self) -> None:
        if self.d_norm == "batch":
            raise ConfigError("model.d_norm 'batch' breaks the per-sample gradient penalty of WGAN-GP; "
                              "use model.d_norm=layer or none")


def train_step(ctx: StepContext) -> dict[str, torch.Tensor]:
    """n_critic critic steps with the gradient penalty, then one generator step."""
    m = ctx.cfg.model_as(WGANGPConfig)
    G, D = ctx.nets["generator"], ctx.nets["critic"]
    set_requires_grad(True, D)
    n_critic = critic_iterations(ctx.step, m.n_critic, m.warmup)
    fakes = fake_batches(G, n_critic, ctx.cfg.train.batch_size, m.z_dim, device=ctx.device,
                         autocast=ctx.autocast)
    for fake in fakes:
        x, _ = ctx.next_batch()
        with ctx.autocast():
            real_s, fake_s = critic_scores(D, x, fake)
            gp, grad_norm = gradient_penalty(D, x, fake.to(x.dtype), weight=m.gp_weight, method=m.gp_method)
        loss_d = discriminator_loss("wasserstein", real_s, fake_s) + gp
        update(loss_d, ctx.optimizers["critic"])
    loss_g, _ = generator_step(ctx, "wasserstein")
    return {"loss_d": loss_d.detach(), "loss_g": loss_g, "gp": gp.detach(),
            "grad_norm": grad_norm.detach(), "wasserstein": wasserstein_estimate(real_s.detach(), fake_s.detach())}


SPEC = adversarial_spec(
    description="WGAN-GP (Gulrajani 2017): gradient penalty λ 10, n_critic 5, Adam 1e-4 (0.5, 0.9)",
    config_class=WGANGPConfig,
    train_step=train_step,
    tiny={"model": {"width": 4, "hidden": 8}},
)
