"""The WGAN-GP MNIST nets against the reference code (Gulrajani et al. 2017, ``gan_mnist.py``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets import WGANGPMNISTCritic, WGANGPMNISTGenerator


def _n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _generator_params(z: int, d: int) -> int:
    linear = z * 64 * d + 64 * d  # Linear(z, 4*4*4*DIM)
    convt1 = 4 * d * 2 * d * 5 * 5 + 2 * d  # ConvT(4DIM, 2DIM, 5)
    convt2 = 2 * d * d * 5 * 5 + d  # ConvT(2DIM, DIM, 5)
    convt3 = d * 1 * 8 * 8 + 1  # ConvT(DIM, 1, 8)
    return linear + convt1 + convt2 + convt3


def _critic_params(d: int) -> int:
    conv1 = 1 * d * 5 * 5 + d
    conv2 = d * 2 * d * 5 * 5 + 2 * d
    conv3 = 2 * d * 4 * d * 5 * 5 + 4 * d
    linear = 64 * d + 1  # Linear(4*4*4*DIM, 1)
    return conv1 + conv2 + conv3 + linear


def test_parameter_counts_of_the_reference_preset() -> None:
    # DIM 64, z 128: 528,384 + 819,328 + 204,864 + 4,097 and 1,664 + 204,928 + 819,456 + 4,097.
    assert _n_params(WGANGPMNISTGenerator()) == 1_556_673 == _generator_params(128, 64)
    assert _n_params(WGANGPMNISTCritic()) == 1_030_145 == _critic_params(64)


@pytest.mark.parametrize(("z_dim", "dim"), [(8, 4), (128, 16), (32, 64)])
def test_parameter_counts_for_other_sizes(z_dim: int, dim: int) -> None:
    assert _n_params(WGANGPMNISTGenerator(z_dim=z_dim, dim=dim)) == _generator_params(z_dim, dim)
    assert _n_params(WGANGPMNISTCritic(dim=dim)) == _critic_params(dim)


def _shapes_after(net: nn.Module, names: list[str], x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    modules = dict(net.named_modules())
    for name in names:
        modules[name].register_forward_hook(
            lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape))
        )
    net(x)
    return shapes


def test_generator_spatial_sizes_4_8_7_11_28() -> None:
    dim = 8
    g = WGANGPMNISTGenerator(z_dim=128, dim=dim)
    shapes = _shapes_after(g, ["reshape", "block1", "crop", "block2", "deconv_out"], torch.randn(2, 128))
    assert shapes == {
        "reshape": (2, 4 * dim, 4, 4),
        "block1": (2, 2 * dim, 8, 8),
        "crop": (2, 2 * dim, 7, 7),
        "block2": (2, dim, 11, 11),
        "deconv_out": (2, 1, 28, 28),
    }


def test_critic_spatial_sizes_28_14_7_4() -> None:
    dim = 8
    c = WGANGPMNISTCritic(dim=dim)
    shapes = _shapes_after(c, ["main.0", "main.2", "main.4", "output"], torch.rand(2, 1, 28, 28))
    assert shapes == {
        "main.0": (2, dim, 14, 14),
        "main.2": (2, 2 * dim, 7, 7),
        "main.4": (2, 4 * dim, 4, 4),
        "output": (2, 1),
    }


def test_layer_types_follow_the_reference() -> None:
    g, c = WGANGPMNISTGenerator(dim=8), WGANGPMNISTCritic(dim=8)
    assert [type(m) for m in g.modules() if isinstance(m, (nn.ConvTranspose2d, nn.Linear))] == [
        nn.Linear, nn.ConvTranspose2d, nn.ConvTranspose2d, nn.ConvTranspose2d,
    ]
    assert (g.deconv_out.kernel_size, g.deconv_out.stride) == ((8, 8), (2, 2))
    assert [(m.kernel_size, m.stride, m.padding) for m in c.modules() if isinstance(m, nn.Conv2d)] == [
        ((5, 5), (2, 2), (2, 2)),
    ] * 3
    assert not any(isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm))
                   for m in [*g.modules(), *c.modules()])
    assert sum(isinstance(m, nn.ReLU) for m in c.modules()) == 3


def test_state_dict_keys_match_the_pytorch_port() -> None:
    assert set(WGANGPMNISTGenerator(dim=8).state_dict()) == {
        "preprocess.0.weight", "preprocess.0.bias", "block1.0.weight", "block1.0.bias",
        "block2.0.weight", "block2.0.bias", "deconv_out.weight", "deconv_out.bias",
    }
    assert set(WGANGPMNISTCritic(dim=8).state_dict()) == {
        "main.0.weight", "main.0.bias", "main.2.weight", "main.2.bias",
        "main.4.weight", "main.4.bias", "output.weight", "output.bias",
    }


def test_generator_equals_the_reference_forward_and_lies_in_0_1() -> None:
    torch.manual_seed(0)
    g = WGANGPMNISTGenerator(z_dim=16, dim=8)
    z = torch.randn(5, 16)
    # The reference forward, written out with the same weights.
    h = torch.relu(g.preprocess[0](z)).view(-1, 32, 4, 4)
    h = torch.relu(g.block1[0](h))[:, :, :7, :7]
    h = torch.relu(g.block2[0](h))
    expected = torch.sigmoid(g.deconv_out(h))
    out = g(z)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    assert out.min() > 0 and out.max() < 1


def test_critic_scores_each_sample_independently() -> None:
    torch.manual_seed(0)
    c = WGANGPMNISTCritic(dim=8)
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(c(x)[1:2], c(x[1:2]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_bad_sizes_raise_config_error(bad) -> None:
    with pytest.raises(ConfigError, match="dim"):
        WGANGPMNISTCritic(dim=bad)
    with pytest.raises(ConfigError, match="z_dim"):
        WGANGPMNISTGenerator(z_dim=bad)
