"""Adversarial losses from raw discriminator scores: minimax, non-saturating, Wasserstein, hinge, LSGAN.

Every loss takes the raw scores D(x) of real samples and D(G(z)) of generated ones (logits: no sigmoid
applied), each of shape (B,), and returns the mean over the batch as a float32 scalar (scores are cast
to float32 first, so bf16 autocast outputs give float32 losses). With σ the sigmoid and
softplus(t) = log(1 + e^t), -log σ(t) = softplus(-t) and -log(1 - σ(t)) = softplus(t):

- ``minimax`` (Goodfellow et al. 2014, Eq. 1): D minimises softplus(-D(x)) + softplus(D(G(z))), i.e.
  -log σ(D(x)) - log(1 - σ(D(G(z)))); G minimises log(1 - σ(D(G(z)))) = -softplus(D(G(z))), the
  saturating form whose gradient vanishes when D rejects the fakes confidently.
- ``non-saturating`` (Goodfellow et al. 2014, Sec. 3): the same D loss; G minimises
  -log σ(D(G(z))) = softplus(-D(G(z))).
- ``wasserstein`` (Arjovsky et al. 2017, Eq. 3 and Alg. 1): critic E[D(G(z))] - E[D(x)]; G -E[D(G(z))].
- ``hinge`` (Lim & Ye 2017, Geometric GAN; in the form of Miyato et al. 2018, Eq. 16-17):
  D E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]; G -E[D(G(z))].
- ``least-squares`` (Mao et al. 2017, Eq. 2, with a = 0, b = 1, c = 1): D ½E[(D(x) - 1)²] + ½E[D(G(z))²];
  G ½E[(D(G(z)) - 1)²].

``discriminator_loss`` and ``generator_loss`` look the kind up in ``ADVERSARIAL_LOSSES``; an unknown
kind raises ConfigError listing the choices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganforge.registry import Registry


@dataclass(frozen=True)
class AdversarialLoss:
    """The two halves of one adversarial objective.

    Attributes:
        discriminator: ``(real (B,), fake (B,)) -> scalar`` minimised by the discriminator or critic.
        generator: ``fake (B,) -> scalar`` minimised by the generator.
    """

    discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: Callable[[torch.Tensor], torch.Tensor]


ADVERSARIAL_LOSSES: Registry[AdversarialLoss] = Registry("adversarial loss")


def _minimax_discriminator(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.softplus(-real.float()).mean() + F.softplus(fake.float()).mean()


def _minimax_generator(fake: torch.Tensor) -> torch.Tensor:
    return -F.softplus(fake.float()).mean()


def _non_saturating_generator(fake: torch.Tensor) -> torch.Tensor:
    return F.softplus(-fake.float()).mean()


def _wasserstein_discriminator(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return fake.float().mean() - real.float().mean()


def _negated_mean_generator(fake: torch.Tensor) -> torch.Tensor:
    return -fake.float().mean()


def _hinge_discriminator(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real.float()).mean() + F.relu(1.0 + fake.float()).mean()


def _least_squares_discriminator(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (real.float() - 1.0).square().mean() + 0.5 * fake.float().square().mean()


def _least_squares_generator(fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (fake.float() - 1.0).square().mean()


ADVERSARIAL_LOSSES.register("minimax", AdversarialLoss(_minimax_discriminator, _minimax_generator))
ADVERSARIAL_LOSSES.register(
    "non-saturating", AdversarialLoss(_minimax_discriminator, _non_saturating_generator)
)
ADVERSARIAL_LOSSES.register(
    "wasserstein", AdversarialLoss(_wasserstein_discriminator, _negated_mean_generator)
)
ADVERSARIAL_LOSSES.register("hinge", AdversarialLoss(_hinge_discriminator, _negated_mean_generator))
ADVERSARIAL_LOSSES.register(
    "least-squares", AdversarialLoss(_least_squares_discriminator, _least_squares_generator)
)


def discriminator_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The loss the discriminator (or critic) minimises.

    Args:
        kind: one of ``ADVERSARIAL_LOSSES.names()``.
        real: raw scores D(x) of real samples, (B,).
        fake: raw scores D(G(z)) of generated samples, (B',); B' may differ from B.

    Returns:
        A float32 scalar: the batch means of the per-sample terms (see the module docstring).

    Raises:
        ConfigError: ``kind`` is unknown.
    """
    return ADVERSARIAL_LOSSES.get(kind).discriminator(real, fake)


def generator_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    """The loss the generator minimises.

    Args:
        kind: one of ``ADVERSARIAL_LOSSES.names()``.
        fake: raw scores D(G(z)) of generated samples, (B,).

    Returns:
        A float32 scalar: the batch mean of the per-sample term (see the module docstring).

    Raises:
        ConfigError: ``kind`` is unknown.
    """
    return ADVERSARIAL_LOSSES.get(kind).generator(fake)


def wasserstein_estimate(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The critic's estimate of the Wasserstein-1 distance, E[D(x)] - E[D(G(z))] (Arjovsky et al. 2017,
    Eq. 3); the negative of the ``wasserstein`` critic loss, logged over training.

    Args:
        real_scores: critic values of real samples, (B,).
        fake_scores: critic values of generated samples, (B',).

    Returns:
        A float32 scalar, still attached to the graph (call ``.item()`` or ``.detach()`` to log it).
    """
    return real_scores.float().mean() - fake_scores.float().mean()
