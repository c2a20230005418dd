"""Gradient penalty (WGAN-GP) and weight clipping (WGAN) against closed forms and per-sample autograd."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.losses import GradientPenalty, clip_weights_, gradient_penalty, random_interpolates
from ganforge.nets import DCGANDiscriminator, WGANGPMNISTCritic


def _linear_critic(weight: torch.Tensor, bias: float = 0.3) -> nn.Module:
    """D(x) = <w, flatten(x)> + b: its gradient is w everywhere, so ||∇D|| = ||w||."""
    critic = nn.Sequential(nn.Flatten(), nn.Linear(weight.numel(), 1), nn.Flatten(0))
    with torch.no_grad():
        critic[1].weight.copy_(weight.reshape(1, -1))
        critic[1].bias.fill_(bias)
    return critic


class _Recorder(nn.Module):
    """Passes inputs through ``inner`` and keeps the last input."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.seen: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen = x.detach().clone()
        return self.inner(x)


def _images(seed: int, batch: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 1, 28, 28, generator=g), torch.rand(batch, 1, 28, 28, generator=g)


@pytest.mark.parametrize("norm", [1.0, 0.5, 2.5, 0.0])
def test_linear_critic_closed_form(norm: float) -> None:
    # ||∇D|| = ||w|| at every x^: penalty λ (||w|| - 1)^2, zero for a unit-norm w.
    torch.manual_seed(0)
    direction = torch.randn(1, 4, 4)
    w = norm * direction / direction.norm()
    real, fake = torch.randn(8, 1, 4, 4), torch.randn(8, 1, 4, 4)
    result = gradient_penalty(_linear_critic(w), real, fake, weight=10.0)
    assert isinstance(result, GradientPenalty)
    assert result.penalty.item() == pytest.approx(10.0 * (norm - 1.0) ** 2, abs=1e-5)
    assert result.grad_norm.item() == pytest.approx(norm, abs=1e-5)
    assert not result.grad_norm.requires_grad


def test_center_and_weight_enter_the_closed_form() -> None:
    w = torch.tensor([[3.0, 4.0]])  # ||w|| = 5
    critic = _linear_critic(w)
    x, y = torch.randn(5, 2), torch.randn(5, 2)
    assert gradient_penalty(critic, x, y, weight=2.0, center=0.0).penalty.item() == pytest.approx(50.0)
    assert gradient_penalty(critic, x, y, weight=0.5).penalty.item() == pytest.approx(8.0)


def test_penalty_backpropagates_into_critic_parameters_in_closed_form() -> None:
    # d/dw λ (||w|| - 1)^2 = 2 λ (||w|| - 1) w / ||w||; the bias gets no gradient.
    w = torch.tensor([[0.6, -1.2, 2.0]])
    critic = _linear_critic(w)
    penalty, _ = gradient_penalty(critic, torch.randn(4, 3), torch.randn(4, 3), weight=10.0)
    penalty.backward()
    n = w.norm()
    torch.testing.assert_close(critic[1].weight.grad, 2 * 10.0 * (n - 1) * w / n)
    assert critic[1].bias.grad is None or torch.all(critic[1].bias.grad == 0)


def test_zero_gradient_gives_lambda_and_finite_parameter_grads() -> None:
    critic = _linear_critic(torch.zeros(1, 6))
    penalty, grad_norm = gradient_penalty(critic, torch.randn(3, 6), torch.randn(3, 6))
    assert penalty.item() == pytest.approx(10.0) and grad_norm.item() == 0.0
    penalty.backward()
    assert torch.isfinite(critic[1].weight.grad).all()


def _per_sample_reference(critic: nn.Module, real, fake, eps: torch.Tensor, weight: float) -> torch.Tensor:
    """An independent computation: one autograd call per sample on its own interpolate."""
    terms = []
    for i in range(real.shape[0]):
        x_hat = (eps[i] * real[i : i + 1] + (1 - eps[i]) * fake[i : i + 1]).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
        terms.append((grad.norm() - 1.0) ** 2)
    return weight * torch.stack(terms).mean()


def test_matches_a_per_sample_autograd_reference_with_the_same_eps() -> None:
    torch.manual_seed(0)
    critic = WGANGPMNISTCritic(dim=4)
    real, fake = _images(1)
    penalty, _ = gradient_penalty(critic, real, fake, weight=10.0, generator=torch.Generator().manual_seed(7))
    eps = torch.rand(4, 1, 1, 1, generator=torch.Generator().manual_seed(7))  # the documented draw
    expected = _per_sample_reference(critic, real, fake, eps, 10.0)
    torch.testing.assert_close(penalty, expected, rtol=1e-5, atol=1e-6)
    # The critic-parameter gradients of both agree too (create_graph=True in both). In a ReLU net
    # ∇_x D is a product of weights and activation masks, so only the weights receive a gradient.
    names, params = zip(*critic.named_parameters(), strict=True)
    got = torch.autograd.grad(penalty, params, materialize_grads=True)
    want = torch.autograd.grad(expected, params, materialize_grads=True)
    for name, g in zip(names, got, strict=True):
        assert (g.abs().sum() > 0) == name.endswith("weight"), name
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-7)


def test_eps_is_drawn_once_per_sample_not_per_pixel() -> None:
    recorder = _Recorder(_linear_critic(torch.ones(1, 3, 5, 5)))
    real, fake = torch.ones(16, 3, 5, 5), torch.zeros(16, 3, 5, 5)  # x^ = e exactly
    gradient_penalty(recorder, real, fake, generator=torch.Generator().manual_seed(3))
    x_hat = recorder.seen
    per_sample = x_hat.flatten(1)
    torch.testing.assert_close(per_sample, per_sample[:, :1].expand_as(per_sample), rtol=0, atol=0)
    eps = per_sample[:, 0]
    assert eps.min() >= 0 and eps.max() <= 1
    assert eps.unique().numel() == 16  # a fresh value for every sample


def test_random_interpolates_lie_on_the_segment_and_detach_inputs() -> None:
    real = torch.randn(6, 3, requires_grad=True)
    fake = torch.randn(6, 3, requires_grad=True)
    x_hat = random_interpolates(real, fake, generator=torch.Generator().manual_seed(0))
    assert x_hat.requires_grad and x_hat.grad_fn is None  # a leaf, cut from real and fake
    eps = torch.rand(6, 1, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(x_hat, (eps * real + (1 - eps) * fake).detach())


def test_channels_last_inputs_give_the_same_penalty() -> None:
    torch.manual_seed(0)
    critic = DCGANDiscriminator(image_shape=(3, 32, 32), width=4, norm="layer")
    real, fake = torch.rand(3, 3, 32, 32), torch.rand(3, 3, 32, 32)
    plain = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1))
    cl = torch.channels_last
    critic_cl = critic.to(memory_format=cl)
    mixed = gradient_penalty(critic_cl, real.to(memory_format=cl), fake.to(memory_format=cl),
                             generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(mixed.penalty, plain.penalty, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(mixed.grad_norm, plain.grad_norm, rtol=1e-4, atol=1e-6)


def test_bf16_autocast_gives_a_float32_penalty_close_to_float32() -> None:
    torch.manual_seed(0)
    critic = WGANGPMNISTCritic(dim=8)
    real, fake = _images(2, batch=6)
    exact = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(5))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        approx = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(5))
    assert approx.penalty.dtype == torch.float32 and approx.grad_norm.dtype == torch.float32
    torch.testing.assert_close(approx.grad_norm, exact.grad_norm, rtol=0.03, atol=0.0)
    torch.testing.assert_close(approx.penalty, exact.penalty, rtol=0.05, atol=1e-3)
    approx.penalty.backward()
    weights = [p for name, p in critic.named_parameters() if name.endswith("weight")]
    assert all(torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in weights)


def test_bad_arguments() -> None:
    critic = _linear_critic(torch.ones(1, 2))
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(critic, torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ConfigError, match="weight"):
        gradient_penalty(critic, torch.zeros(3, 2), torch.zeros(3, 2), weight=-1.0)


def test_clip_weights_bounds_and_keeps_in_range_values() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 20), nn.BatchNorm1d(20), nn.Linear(20, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-0.03, 0.03)
        net[1].running_var.fill_(5.0)
    old = torch.cat([p.detach().flatten() for p in net.parameters()])
    clip_weights_(net, 0.01)
    new = torch.cat([p.detach().flatten() for p in net.parameters()])
    inside = old.abs() <= 0.01
    assert 0.2 < inside.float().mean() < 0.5  # about a third of U[-0.03, 0.03] is in range
    assert new.abs().max() <= 0.01
    torch.testing.assert_close(new[inside], old[inside], rtol=0, atol=0)
    torch.testing.assert_close(new[~inside], 0.01 * old[~inside].sign(), rtol=0, atol=0)
    assert torch.all(net[1].running_var == 5.0)  # buffers are not parameters


@pytest.mark.parametrize("clip", [0.0, -0.01])
def test_clip_weights_rejects_a_non_positive_bound(clip: float) -> None:
    with pytest.raises(ConfigError, match="clipping"):
        clip_weights_(nn.Linear(2, 2), clip)
