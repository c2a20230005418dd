"""Critic scores and generator samples for the critic steps, in as few passes as the math allows.

A critic without batch statistics (no BatchNorm) scores real and fake independently per sample,
so one forward pass over ``cat(real, fake)`` gives the same numbers as two passes and halves
the number of kernel launches. With BatchNorm, a joint batch would mix the statistics of real
and fake (Radford et al. 2016 keep them apart), so two passes are used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ganforge.losses import generator_loss
from ganforge.samplers.noise import sample_noise
from ganforge.variants.base import StepContext, set_requires_grad, update


def has_batch_statistics(module: nn.Module) -> bool:
    """True when any submodule normalises with batch statistics."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def group_scores(critic: nn.Module, groups: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Float32 scores (B_i,) of each group: one pass over their concatenation, or one pass per group
    when the critic normalises with batch statistics (so real and generated statistics stay apart)."""
    if has_batch_statistics(critic):
        return [critic(g).float() for g in groups]
    scores = critic(torch.cat([g.to(groups[0].dtype) for g in groups])).float()
    return list(scores.split([g.shape[0] for g in groups]))


def critic_scores(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of ``real`` (B, ...) and ``fake`` (B', ...) as float32 (B,) and (B',)."""
    return tuple(group_scores(critic, [real, fake]))


@torch.no_grad()
def fake_batches(generator: nn.Module, count: int, batch_size: int, z_dim: int, *, device: torch.device,
                 autocast: Callable, group: int = 10) -> list[torch.Tensor]:
    """``count`` batches of G(z) for the critic steps that precede one generator step.

    G does not change during those critic steps, so for a generator without batch statistics one
    forward pass over up to ``group`` batches gives the same samples as separate passes, with
    better kernel efficiency. With BatchNorm every batch gets its own pass (its statistics
    depend on the batch).

    Returns:
        ``count`` tensors of shape (batch_size, ...).
    """
    per_pass = 1 if has_batch_statistics(generator) else group
    out: list[torch.Tensor] = []
    while len(out) < count:
        k = min(per_pass, count - len(out))
        z = sample_noise(k * batch_size, z_dim, device=device)
        with autocast():
            out.extend(generator(z).chunk(k))
    return out


def generator_step(ctx: StepContext, loss_kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One generator update of the classic family: z ~ N(0, I), loss ``loss_kind`` on D(G(z)).

    The critic's parameters are frozen for the step (no weight gradients are computed for it).

    Args:
        ctx: the StepContext (``generator`` and ``critic`` nets and optimizers).
        loss_kind: a ``ganforge.losses`` generator loss ("non-saturating", "minimax", "wasserstein", ...).

    Returns:
        (detached generator loss, detached scores D(G(z)) of shape (B,)).
    """
    G, D = ctx.nets["generator"], ctx.nets["critic"]
    set_requires_grad(False, D)
    z = sample_noise(ctx.cfg.train.batch_size, ctx.cfg.model.z_dim, device=ctx.device)
    with ctx.autocast():
        scores = D(G(z)).float()
    loss = generator_loss(loss_kind, scores)
    update(loss, ctx.optimizers["generator"])
    return loss.detach(), scores.detach()
