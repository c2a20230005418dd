"""MALA-approx (Nguyen et al. 2017, Eq. 11) on a toy linear model whose update has a closed form."""

from __future__ import annotations

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.samplers.mala import MALASettings, mala_step, run_mala

D, P, K = 3, 4, 5  # code size, pixels (1×2×2 images), classes


class ToyModel:
    """Linear G(h) = A h + b (as 1×2×2 images), linear E: code = W x + c, logits = V code + d."""

    def __init__(self, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.A, self.b = torch.randn(P, D, generator=g), torch.randn(P, generator=g)
        self.W, self.c = torch.randn(D, P, generator=g) * 0.5, torch.randn(D, generator=g)
        self.V, self.d = torch.randn(K, D, generator=g), torch.randn(K, generator=g)
        self.g_calls = self.e_calls = 0

    def generator(self, h: torch.Tensor) -> torch.Tensor:
        self.g_calls += 1
        return (h @ self.A.T + self.b).view(-1, 1, 2, 2)

    def encoder(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.e_calls += 1
        code = x.flatten(1) @ self.W.T + self.c
        return code, code @ self.V.T + self.d

    def closed_form_terms(self, h: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """R(h) = W(Ah + b) + c and ∇_h log softmax(V R(h) + d)_c = (V W A)^T (onehot_c - softmax)."""
        r = (h @ self.A.T + self.b) @ self.W.T + self.c  # (B, D)
        p = torch.softmax(r @ self.V.T + self.d, dim=1)  # (B, K)
        onehot = torch.nn.functional.one_hot(classes, K).float()
        grad = (onehot - p) @ (self.V @ self.W @ self.A)  # (B, D)
        return r, grad


def test_one_step_equals_the_closed_form_update():
    toy, h = ToyModel(), torch.randn(6, D, generator=torch.Generator().manual_seed(1))
    classes = torch.tensor([0, 1, 2, 3, 4, 0])
    s = MALASettings(eps1=0.3, eps2=0.7, eps3=0.05)
    h_next, x = mala_step(h, classes, toy.generator, toy.encoder, s, rng=torch.Generator().manual_seed(5))
    r, grad = toy.closed_form_terms(h, classes)
    noise = torch.randn(h.shape, generator=torch.Generator().manual_seed(5))
    expected = h + 0.3 * (r - h) + 0.7 * grad + 0.05 * noise
    torch.testing.assert_close(h_next, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(x, toy.generator(h), rtol=0, atol=0)
    assert (toy.g_calls, toy.e_calls) == (2, 1)  # one G pass in the step (the second is this test's)


def test_dgn_am_when_eps1_and_eps3_are_zero():
    toy, h = ToyModel(seed=2), torch.randn(4, D, generator=torch.Generator().manual_seed(3))
    classes = torch.tensor([1, 1, 4, 2])
    before = torch.get_rng_state()
    out = run_mala(h, classes, toy.generator, toy.encoder, MALASettings(eps1=0.0, eps2=0.5, eps3=0.0, steps=3))
    assert torch.equal(torch.get_rng_state(), before)  # no noise drawn
    expected = h.clone()
    for _ in range(3):  # plain gradient ascent on log C_c(G(h)): activation maximisation through G
        _, grad = toy.closed_form_terms(expected, classes)
        expected = expected + 0.5 * grad
    torch.testing.assert_close(out.codes, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.images, toy.generator(expected), rtol=1e-5, atol=1e-6)


def test_chains_with_noise_match_the_closed_form_over_several_steps():
    toy, h0 = ToyModel(seed=4), torch.randn(3, D, generator=torch.Generator().manual_seed(6))
    s = MALASettings(eps1=1e-2, eps2=1.0, eps3=1e-2, steps=4)
    out = run_mala(h0, 2, toy.generator, toy.encoder, s, rng=torch.Generator().manual_seed(9))
    rng, h, classes = torch.Generator().manual_seed(9), h0.clone(), torch.full((3,), 2)
    for _ in range(4):
        r, grad = toy.closed_form_terms(h, classes)
        h = h + 1e-2 * (r - h) + grad + 1e-2 * torch.randn(h.shape, generator=rng)
    torch.testing.assert_close(out.codes, h, rtol=1e-5, atol=1e-6)
    assert toy.g_calls == 4 + 1 and toy.e_calls == 4  # G once per step, plus G(h_T)


def test_batched_chains_equal_chains_run_one_at_a_time():
    toy, h0 = ToyModel(seed=7), torch.randn(4, D, generator=torch.Generator().manual_seed(8))
    classes = torch.tensor([3, 0, 1, 3])
    s = MALASettings(eps1=0.1, eps2=0.4, eps3=0.0, steps=5)
    batched = run_mala(h0, classes, toy.generator, toy.encoder, s).codes
    single = torch.cat([run_mala(h0[i:i + 1], int(classes[i]), toy.generator, toy.encoder, s).codes for i in range(4)])
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-6)


def test_snapshots_every_k_steps_and_inside_no_grad():
    toy, h0 = ToyModel(), torch.randn(2, D, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # the sampler turns gradients back on for the class term
        out = run_mala(h0, 1, toy.generator, toy.encoder, MALASettings(steps=5, snapshot_every=2, eps3=0.0))
    assert [t for t, _ in out.snapshots] == [0, 2, 4, 5]
    torch.testing.assert_close(out.snapshots[0][1], toy.generator(h0), rtol=0, atol=0)
    assert torch.equal(out.snapshots[-1][1], out.images)
    assert run_mala(h0, 1, toy.generator, toy.encoder, MALASettings(steps=0)).codes.equal(h0)


@pytest.mark.parametrize("kwargs", [{"eps1": -1.0}, {"eps3": float("nan")}, {"steps": -1}, {"snapshot_every": -2}])
def test_settings_refuse_bad_values(kwargs):
    with pytest.raises(ConfigError, match="MALA"):
        MALASettings(**kwargs)


def test_one_class_per_chain_is_checked():
    toy = ToyModel()
    with pytest.raises(ConfigError, match="one per chain"):
        run_mala(torch.zeros(3, D), torch.tensor([1, 2]), toy.generator, toy.encoder, MALASettings(steps=1))
