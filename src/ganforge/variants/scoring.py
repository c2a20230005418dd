"""Critic scores for a real and a fake batch, in one pass where the math allows.

A critic without batch statistics (no BatchNorm) scores real and fake independently per sample,
so one forward pass over ``cat(real, fake)`` gives the same numbers as two passes and halves
the number of kernel launches. With BatchNorm, a joint batch would mix the statistics of real
and fake (Radford et al. 2016 keep them apart), so two passes are used.
"""

from __future__ import annotations

import torch
from torch import nn


def has_batch_statistics(module: nn.Module) -> bool:
    """True when any submodule normalises with batch statistics."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def critic_scores(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of ``real`` (B, ...) and ``fake`` (B', ...) as float32 (B,) and (B',)."""
    if has_batch_statistics(critic):
        return critic(real).float(), critic(fake).float()
    scores = critic(torch.cat([real, fake])).float()
    return scores[: real.shape[0]], scores[real.shape[0]:]
