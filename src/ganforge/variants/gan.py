"""GAN (Goodfellow et al. 2014, "Generative Adversarial Nets", Algorithm 1, Eq. 1).

D outputs a logit. D loss: softplus(-D(x)) + softplus(D(G(z))) (maximise log D(x) + log(1 - D(G(z)))).
G loss ``minimax`` (the paper's saturating form): minimise log(1 - D(G(z))) = -softplus(D(G(z)));
``non-saturating`` (Sec. 3 of the paper): minimise -log D(G(z)) = softplus(-D(G(z))).
The paper trains k discriminator steps per generator step; k = 1 (``d_steps``) is its default.
Defaults here follow DCGAN (Radford et al. 2016): Adam lr 2e-4, betas (0.5, 0.999), batch 64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ganforge.config import OptimConfig
from ganforge.losses import discriminator_loss
from ganforge.samplers.noise import sample_noise
from ganforge.variants.adversarial import AdversarialConfig, adversarial_spec
from ganforge.variants.base import StepContext, set_requires_grad, update
from ganforge.variants.scoring import critic_scores, generator_step


@dataclass
class GANConfig(AdversarialConfig):
    """GAN hyperparameters: generator loss form and k discriminator steps per generator step."""

    name: str = "gan"
    g_loss: Literal["minimax", "non-saturating"] = "non-saturating"
    d_steps: int = 1
    optim_g: OptimConfig = OptimConfig.field(lr=2e-4, betas=(0.5, 0.999))
    optim_d: OptimConfig = OptimConfig.field(lr=2e-4, betas=(0.5, 0.999))


def train_step(ctx: StepContext) -> dict[str, torch.Tensor]:
    """k discriminator steps then one generator step (Algorithm 1)."""
    m = ctx.cfg.model_as(GANConfig)
    G, D = ctx.nets["generator"], ctx.nets["critic"]
    set_requires_grad(True, D)
    for _ in range(m.d_steps):
        x, _ = ctx.next_batch()
        z = sample_noise(x.shape[0], m.z_dim, device=ctx.device)
        with torch.no_grad(), ctx.autocast():
            fake = G(z)
        with ctx.autocast():
            real_s, fake_s = critic_scores(D, x, fake)
        loss_d = discriminator_loss("minimax", real_s, fake_s)
        update(loss_d, ctx.optimizers["critic"])
    loss_g, fake_s = generator_step(ctx, m.g_loss)
    return {"loss_d": loss_d.detach(), "loss_g": loss_g,
            "d_real": torch.sigmoid(real_s.detach()).mean(), "d_fake": torch.sigmoid(fake_s.detach()).mean()}


SPEC = adversarial_spec(
    description="GAN (Goodfellow 2014): minimax or non-saturating G loss, k D steps per G step",
    config_class=GANConfig,
    train_step=train_step,
    tiny={"model": {"width": 4, "hidden": 8}},
)
