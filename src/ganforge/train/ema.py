"""Exponential moving average of generator weights (Yazıcı et al. 2019, "The Unusual
Effectiveness of Averaging in GAN Training"): θ_ema ← β θ_ema + (1 - β) θ after every G step.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(module: nn.Module) -> nn.Module:
    """A frozen copy of ``module`` to hold the averaged weights."""
    return copy.deepcopy(module).requires_grad_(False)


@torch.no_grad()
def update_ema(ema: nn.Module, module: nn.Module, decay: float) -> None:
    """θ_ema ← decay θ_ema + (1 - decay) θ; buffers (BatchNorm statistics) are copied."""
    ema_params = list(ema.parameters())
    torch._foreach_lerp_(ema_params, list(module.parameters()), 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), module.buffers(), strict=True):
        b_ema.copy_(b)
