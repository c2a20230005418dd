"""Learning-rate schedule of the training loop: an optional linear decay to 0 (``train.lr_decay_start``).

The scale is a function of the generator step alone and is applied to the rates the config gives (which
:func:`ganforge.train.session.restore` puts back on resume), so a resumed run follows the same schedule
bit for bit. Radford et al. (2016) and Denton et al. (2015) train at constant rates; the decay is a
ganforge option, used where a preset says why.
"""

from __future__ import annotations

import torch


def lr_scale(step: int, start: int | None, steps: int) -> float:
    """The factor on every configured rate for the generator step numbered ``step`` (0-based): 1 before
    ``start``, then ``(steps - step) / (steps - start)``, reaching 1 / (steps - start) at the last step.
    ``start`` None or >= ``steps`` means no decay (1 throughout)."""
    if start is None or start >= steps or step < start:
        return 1.0
    return max(steps - step, 0) / (steps - start)


def base_rates(optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, list[float]]:
    """Each optimizer's per-group learning rates as configured (read before the first step)."""
    return {name: [float(g["lr"]) for g in opt.param_groups] for name, opt in optimizers.items()}


def apply_lr_scale(optimizers: dict[str, torch.optim.Optimizer], base: dict[str, list[float]],
                   scale: float) -> None:
    """Set every group's rate to ``scale`` times its configured rate in ``base``."""
    for name, opt in optimizers.items():
        for group, lr in zip(opt.param_groups, base[name], strict=True):
            group["lr"] = lr * scale
