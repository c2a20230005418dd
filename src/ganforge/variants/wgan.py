"""WGAN (Arjovsky, Chintala & Bottou 2017, "Wasserstein GAN", Algorithm 1).

Critic loss E[D(G(z))] - E[D(x)] (no sigmoid); after every critic step every critic weight is
clipped to [-c, c], c = 0.01. RMSProp lr 5e-5, batch 64, n_critic 5, and the reference code's
warm-up: 100 critic steps for each of the first 25 generator steps and at every 500th.
G loss: -E[D(G(z))]. Logged: the Wasserstein estimate E[D(x)] - E[D(G(z))].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.config import OptimConfig
from ganforge.losses import clip_weights_, discriminator_loss, wasserstein_estimate
from ganforge.variants.adversarial import AdversarialConfig, adversarial_spec
from ganforge.variants.base import StepContext, critic_iterations, set_requires_grad, update
from ganforge.variants.scoring import critic_scores, fake_batches, generator_step


@dataclass
class WGANConfig(AdversarialConfig):
    """WGAN hyperparameters (Algorithm 1 defaults)."""

    name: str = "wgan"
    n_critic: int = 5
    clip: float = 0.01
    warmup: bool = True
    optim_g: OptimConfig = OptimConfig.field("rmsprop", lr=5e-5, betas=(0.9, 0.999))
    optim_d: OptimConfig = OptimConfig.field("rmsprop", lr=5e-5, betas=(0.9, 0.999))


def train_step(ctx: StepContext) -> dict[str, torch.Tensor]:
    """n_critic clipped critic steps (100 during warm-up), then one generator step."""
    m = ctx.cfg.model_as(WGANConfig)
    G, D = ctx.nets["generator"], ctx.nets["critic"]
    set_requires_grad(True, D)
    n_critic = critic_iterations(ctx.step, m.n_critic, m.warmup)
    fakes = fake_batches(G, n_critic, ctx.cfg.train.batch_size, m.z_dim, device=ctx.device,
                         autocast=ctx.autocast)
    for fake in fakes:
        x, _ = ctx.next_batch()
        with ctx.autocast():
            real_s, fake_s = critic_scores(D, x, fake)
        loss_d = discriminator_loss("wasserstein", real_s, fake_s)
        update(loss_d, ctx.optimizers["critic"])
        clip_weights_(D, m.clip)
    loss_g, _ = generator_step(ctx, "wasserstein")
    return {"loss_d": loss_d.detach(), "loss_g": loss_g,
            "wasserstein": wasserstein_estimate(real_s.detach(), fake_s.detach())}


SPEC = adversarial_spec(
    description="WGAN (Arjovsky 2017): weight clipping 0.01, RMSProp 5e-5, n_critic 5 with warm-up",
    config_class=WGANConfig,
    train_step=train_step,
    tiny={"model": {"width": 4, "hidden": 8, "warmup": False}},
)
