"""Losses: pure functions on tensors (adversarial objectives, critic penalties, reconstruction).

Each module's docstring cites the paper and equation it implements.
"""

from __future__ import annotations

from ganforge.losses.adversarial import (
    ADVERSARIAL_LOSSES,
    AdversarialLoss,
    discriminator_loss,
    generator_loss,
    wasserstein_estimate,
)
from ganforge.losses.penalties import (
    GradientPenalty,
    clip_weights_,
    gradient_penalty,
    random_interpolates,
)
from ganforge.losses.reconstruction import l1_reconstruction, l2_reconstruction

__all__ = [
    "ADVERSARIAL_LOSSES",
    "AdversarialLoss",
    "GradientPenalty",
    "clip_weights_",
    "discriminator_loss",
    "generator_loss",
    "gradient_penalty",
    "l1_reconstruction",
    "l2_reconstruction",
    "random_interpolates",
    "wasserstein_estimate",
]
