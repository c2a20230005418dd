"""Adversarial losses against closed forms, hand-computed values and BCE references."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from ganforge.errors import ConfigError
from ganforge.losses import (
    ADVERSARIAL_LOSSES,
    discriminator_loss,
    generator_loss,
    wasserstein_estimate,
)

KINDS = ["minimax", "non-saturating", "wasserstein", "hinge", "least-squares"]
LOG2 = math.log(2.0)


def _softplus(t: float) -> float:
    return math.log1p(math.exp(t))


def test_registry_holds_exactly_the_five_kinds() -> None:
    assert sorted(KINDS) == ADVERSARIAL_LOSSES.names()


@pytest.mark.parametrize("call", [lambda k: discriminator_loss(k, torch.zeros(2), torch.zeros(2)),
                                  lambda k: generator_loss(k, torch.zeros(2))])
def test_unknown_kind_lists_the_choices(call) -> None:
    with pytest.raises(ConfigError, match="unknown adversarial loss 'wgan'") as info:
        call("wgan")
    for kind in KINDS:
        assert kind in str(info.value)


@pytest.mark.parametrize(("kind", "d_value", "g_value"), [
    ("minimax", 2 * LOG2, -LOG2),
    ("non-saturating", 2 * LOG2, LOG2),
    ("wasserstein", 0.0, 0.0),
    ("hinge", 2.0, 0.0),
    ("least-squares", 0.5, 0.5),
])
def test_values_at_zero_scores(kind: str, d_value: float, g_value: float) -> None:
    zeros = torch.zeros(6)
    assert discriminator_loss(kind, zeros, zeros).item() == pytest.approx(d_value, abs=1e-6)
    assert generator_loss(kind, zeros).item() == pytest.approx(g_value, abs=1e-6)


REAL = torch.tensor([1.0, -2.0, 0.5])
FAKE = torch.tensor([0.5, 3.0])  # a different batch size is allowed


def test_hand_computed_values() -> None:
    r, f = REAL.tolist(), FAKE.tolist()
    minimax_d = sum(_softplus(-x) for x in r) / 3 + sum(_softplus(x) for x in f) / 2
    expected = {
        ("minimax", "d"): minimax_d,
        ("minimax", "g"): -(_softplus(0.5) + _softplus(3.0)) / 2,
        ("non-saturating", "g"): (_softplus(-0.5) + _softplus(-3.0)) / 2,
        ("wasserstein", "d"): (0.5 + 3.0) / 2 - (1.0 - 2.0 + 0.5) / 3,
        ("wasserstein", "g"): -(0.5 + 3.0) / 2,
        ("hinge", "d"): (0.0 + 3.0 + 0.5) / 3 + (1.5 + 4.0) / 2,
        ("hinge", "g"): -1.75,
        ("least-squares", "d"): 0.5 * (0.0 + 9.0 + 0.25) / 3 + 0.5 * (0.25 + 9.0) / 2,
        ("least-squares", "g"): 0.5 * (0.25 + 4.0) / 2,
    }
    for (kind, who), value in expected.items():
        got = discriminator_loss(kind, REAL, FAKE) if who == "d" else generator_loss(kind, FAKE)
        assert got.item() == pytest.approx(value, rel=1e-6), (kind, who)


def test_minimax_matches_binary_cross_entropy() -> None:
    torch.manual_seed(0)
    real, fake = 3 * torch.randn(50), 3 * torch.randn(40)
    bce = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
           + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    torch.testing.assert_close(discriminator_loss("minimax", real, fake), bce)
    torch.testing.assert_close(discriminator_loss("non-saturating", real, fake), bce)
    # Saturating G loss: E[log(1 - σ(D(G(z))))]; non-saturating: E[-log σ(D(G(z)))].
    torch.testing.assert_close(generator_loss("minimax", fake), torch.log1p(-torch.sigmoid(fake)).mean())
    torch.testing.assert_close(generator_loss("non-saturating", fake),
                               F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake)))


def _generator_grad(kind: str, logit: float) -> float:
    fake = torch.tensor([logit], requires_grad=True)
    generator_loss(kind, fake).backward()
    return fake.grad.item()


def test_minimax_generator_gradient_saturates_and_non_saturating_does_not() -> None:
    # D confidently rejects the fakes (logit -10): d/dt[-softplus(t)] = -σ(t) ≈ -4.5e-5,
    # d/dt[softplus(-t)] = -σ(-t) ≈ -1. Both push the logit up; only the second with force.
    saturating = _generator_grad("minimax", -10.0)
    non_saturating = _generator_grad("non-saturating", -10.0)
    assert saturating == pytest.approx(-1.0 / (1.0 + math.exp(10.0)), rel=1e-4)
    assert non_saturating == pytest.approx(-1.0 / (1.0 + math.exp(-10.0)), rel=1e-4)
    assert abs(non_saturating) > 1e4 * abs(saturating)
    # Where D is fooled (logit +10) the roles swap.
    assert abs(_generator_grad("minimax", 10.0)) > 1e4 * abs(_generator_grad("non-saturating", 10.0))


def test_wasserstein_estimate_is_minus_the_critic_loss() -> None:
    assert wasserstein_estimate(REAL, FAKE).item() == pytest.approx(-0.5 / 3 - 1.75, rel=1e-6)
    critic_loss = discriminator_loss("wasserstein", REAL, FAKE)
    torch.testing.assert_close(wasserstein_estimate(REAL, FAKE), -critic_loss)


@pytest.mark.parametrize("kind", KINDS)
def test_bf16_scores_give_float32_losses_with_gradients(kind: str) -> None:
    real = torch.randn(8).bfloat16().requires_grad_(True)
    fake = torch.randn(8).bfloat16().requires_grad_(True)
    d_loss, g_loss = discriminator_loss(kind, real, fake), generator_loss(kind, fake)
    assert d_loss.dtype == g_loss.dtype == torch.float32
    torch.testing.assert_close(d_loss, discriminator_loss(kind, real.float(), fake.float()))
    (d_loss + g_loss).backward()
    assert real.grad is not None and fake.grad is not None


scores = st.lists(st.floats(-20, 20), min_size=1, max_size=16).map(torch.tensor)


@settings(max_examples=40, deadline=None)
@given(real=scores, fake=scores, shift=st.floats(-5, 5))
def test_properties(real: torch.Tensor, fake: torch.Tensor, shift: float) -> None:
    # The Wasserstein critic loss ignores a common offset; hinge and LSGAN D losses are non-negative.
    torch.testing.assert_close(discriminator_loss("wasserstein", real + shift, fake + shift),
                               discriminator_loss("wasserstein", real, fake), atol=1e-4, rtol=1e-5)
    assert discriminator_loss("hinge", real, fake).item() >= 0.0
    assert discriminator_loss("least-squares", real, fake).item() >= 0.0
    # The minimax D loss is at least its value at the optimum when the two batches agree: 2 log 2.
    assert discriminator_loss("minimax", real, real).item() >= 2 * LOG2 - 1e-5
