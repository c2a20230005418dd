"""The explicit input gradient of piecewise-linear critics equals autograd's double backward."""

import pytest
import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.losses import gradient_penalty
from ganforge.losses.explicit_gradient import explicit_layers, input_gradient
from ganforge.nets import DCGANDiscriminator, MLPDiscriminator, WGANGPMNISTCritic
from ganforge.nets.ppgn import PPGNCodeCritic, PPGNFeatureCritic, PPGNImageCritic

CRITICS = [
    (lambda: WGANGPMNISTCritic(dim=8), (6, 1, 28, 28)),
    (lambda: MLPDiscriminator(in_dim=2, hidden=16, depth=3), (6, 2)),
    (lambda: DCGANDiscriminator(image_shape=(3, 32, 32), width=8, norm="none"), (6, 3, 32, 32)),
    (lambda: DCGANDiscriminator(image_shape=(1, 28, 28), width=8, norm="none"), (6, 1, 28, 28)),
    # max pools (conv4's 3x3 map pools to 1x1, dropping a row and a column) and an Unflatten
    (lambda: PPGNImageCritic(width=0.125), (6, 1, 28, 28)),
    (lambda: PPGNCodeCritic(width=0.125), (6, 64)),
    (lambda: PPGNFeatureCritic(input_shape=(16, 10, 10), width=0.125), (6, 16, 10, 10)),
]


def _autograd_gradient(critic, x):
    x = x.clone().requires_grad_(True)
    return torch.autograd.grad(critic(x).sum(), x, create_graph=True)[0]


@pytest.mark.parametrize("make,shape", CRITICS)
def test_input_gradient_matches_autograd(make, shape):
    torch.manual_seed(0)
    critic = make()
    x = torch.randn(shape)
    layers = explicit_layers(critic)
    assert layers is not None
    torch.testing.assert_close(input_gradient(layers, x), _autograd_gradient(critic, x), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make,shape", CRITICS)
def test_penalty_parameter_gradients_match_autograd(make, shape):
    torch.manual_seed(1)
    critic = make()
    real, fake = torch.randn(shape), torch.randn(shape)
    results = {}
    for method in ("autograd", "explicit"):
        gen = torch.Generator().manual_seed(5)
        pen, norm = gradient_penalty(critic, real, fake, weight=10.0, generator=gen, method=method)
        grads = torch.autograd.grad(pen, list(critic.parameters()), allow_unused=True)
        results[method] = (pen, norm, [torch.zeros_like(p) if g is None else g
                                       for g, p in zip(grads, critic.parameters(), strict=True)])
    (pa, na, ga), (pe, ne, ge) = results["autograd"], results["explicit"]
    torch.testing.assert_close(pe, pa, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(ne, na, rtol=1e-5, atol=1e-7)
    for a, e in zip(ga, ge, strict=True):
        torch.testing.assert_close(e, a, rtol=1e-4, atol=1e-6)


def test_channels_last_input():
    torch.manual_seed(2)
    critic = WGANGPMNISTCritic(dim=8).to(memory_format=torch.channels_last)
    x = torch.rand(4, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(input_gradient(explicit_layers(critic), x), _autograd_gradient(critic, x),
                               rtol=1e-5, atol=1e-7)


def test_norm_layers_fall_back_or_refuse():
    critic = DCGANDiscriminator(image_shape=(1, 28, 28), width=8, norm="layer")
    assert explicit_layers(critic) is None
    real = fake = torch.rand(2, 1, 28, 28)
    pen, _ = gradient_penalty(critic, real, fake, method="auto")  # autograd fallback works
    assert torch.isfinite(pen)
    with pytest.raises(ConfigError, match="piecewise-linear"):
        gradient_penalty(critic, real, fake, method="explicit")
    with pytest.raises(ConfigError, match="choose one of: auto, autograd, explicit"):
        gradient_penalty(critic, real, fake, method="magic")


def test_unsupported_chain_is_rejected():
    class Odd(nn.Module):
        def piecewise_linear_layers(self):
            return [nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)]

    assert explicit_layers(Odd()) is None


@pytest.mark.parametrize("pool,explicit", [(nn.MaxPool2d(2), True), (nn.MaxPool2d(3, stride=2), False),
                                           (nn.MaxPool2d(2, dilation=2), False)])
def test_max_pools_need_windows_that_tile(pool, explicit):
    """Scattering to the argmax is a max pool's exact transpose only where windows do not overlap."""

    class Pooled(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Conv2d(1, 4, 3), nn.ReLU(), pool, nn.Flatten(), nn.LazyLinear(1)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x.squeeze(1)

        def piecewise_linear_layers(self):
            return list(self.layers)

    torch.manual_seed(3)
    critic = Pooled()
    x = torch.randn(5, 1, 12, 12)
    critic(x)  # materialise the lazy layer
    layers = explicit_layers(critic)
    assert (layers is not None) is explicit
    if explicit:
        torch.testing.assert_close(input_gradient(layers, x), _autograd_gradient(critic, x), rtol=1e-5, atol=1e-7)
