"""DCGAN nets (Radford et al. 2016): supported shapes, output ranges, norms and initialisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets import SUPPORTED_SHAPES, DCGANDiscriminator, DCGANGenerator

WIDTH = 8


@pytest.mark.parametrize("shape", SUPPORTED_SHAPES)
def test_every_supported_shape_round_trips(shape: tuple[int, int, int]) -> None:
    g = DCGANGenerator(z_dim=10, image_shape=shape, width=WIDTH)
    d = DCGANDiscriminator(image_shape=shape, width=WIDTH)
    images = g(torch.randn(4, 10))
    assert tuple(images.shape) == (4, *shape)
    assert tuple(d(images).shape) == (4,)
    assert g.sample_shape == shape and d.input_shape == shape


def test_exactly_the_four_shapes_are_supported() -> None:
    assert set(SUPPORTED_SHAPES) == {(1, 28, 28), (3, 28, 28), (1, 32, 32), (3, 32, 32)}


@pytest.mark.parametrize("shape", [(1, 64, 64), (2, 28, 28), (3, 32, 28), (28, 28)])
def test_unsupported_shapes_name_the_supported_ones(shape) -> None:
    for build in (DCGANGenerator, DCGANDiscriminator):
        with pytest.raises(ConfigError, match=r"\(1, 28, 28\).*\(3, 32, 32\)"):
            build(image_shape=shape)


def test_image_shape_may_be_a_list_as_from_yaml() -> None:
    assert DCGANGenerator(image_shape=[3, 32, 32], width=WIDTH).sample_shape == (3, 32, 32)


@pytest.mark.parametrize(("output", "low", "high"), [("tanh", -1.0, 1.0), ("sigmoid", 0.0, 1.0)])
def test_output_activation_bounds_the_range(output: str, low: float, high: float) -> None:
    torch.manual_seed(0)
    g = DCGANGenerator(z_dim=10, width=WIDTH, output=output, init="pytorch")
    x = g(3.0 * torch.randn(16, 10))
    assert x.min() >= low and x.max() <= high
    assert x.min() < low + 0.45 * (high - low) and x.max() > high - 0.45 * (high - low)


def test_output_none_is_unbounded_linear() -> None:
    g = DCGANGenerator(z_dim=10, width=WIDTH, output="none")
    assert isinstance(g.upsample[-1], nn.Identity)
    assert isinstance(g.upsample[-2], nn.ConvTranspose2d)


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"output": "relu"}, "output"), ({"init": "xavier"}, "init"), ({"width": 0}, "width"),
    ({"z_dim": -3}, "z_dim"),
])
def test_bad_generator_arguments(kwargs: dict, word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        DCGANGenerator(**kwargs)


def test_bad_norm_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="batch, layer, none"):
        DCGANDiscriminator(norm="instance")


def _count(net: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in net.modules())


def test_norm_choices_build_the_right_layers() -> None:
    batch = DCGANDiscriminator(width=WIDTH, norm="batch")
    layer = DCGANDiscriminator(width=WIDTH, norm="layer")
    plain = DCGANDiscriminator(width=WIDTH, norm="none")
    assert (_count(batch, nn.BatchNorm2d), _count(batch, nn.GroupNorm)) == (2, 0)
    assert (_count(layer, nn.BatchNorm2d), _count(layer, nn.GroupNorm)) == (0, 2)
    assert all(m.num_groups == 1 for m in layer.modules() if isinstance(m, nn.GroupNorm))
    assert (_count(plain, nn.BatchNorm2d), _count(plain, nn.GroupNorm)) == (0, 0)
    # A bias only where no normalisation follows (the input layer always has one).
    assert [m.bias is not None for m in batch.modules() if isinstance(m, nn.Conv2d)] == [True, False, False]
    assert [m.bias is not None for m in plain.modules() if isinstance(m, nn.Conv2d)] == [True, True, True]


@pytest.mark.parametrize("norm", ["layer", "none"])
def test_critic_norms_score_samples_independently(norm: str) -> None:
    # What the per-sample gradient penalty needs: no statistics shared across the batch, in train mode.
    torch.manual_seed(0)
    d = DCGANDiscriminator(image_shape=(3, 32, 32), width=WIDTH, norm=norm).train()
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(d(x)[2:3], d(x[2:3]), rtol=1e-5, atol=1e-6)


def test_batch_norm_discriminator_mixes_the_batch_in_train_mode() -> None:
    torch.manual_seed(0)
    d = DCGANDiscriminator(width=WIDTH, norm="batch").train()
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    assert not torch.allclose(d(x)[2:3], d(torch.cat([x[2:3], x[2:3]]))[:1], atol=1e-4)


def test_dcgan_init_draws_weights_with_std_0_02() -> None:
    torch.manual_seed(0)
    g = DCGANGenerator(width=64)
    weight = g.upsample[0][0].weight  # ConvT(256, 128, 3): 294,912 values
    assert abs(weight.mean().item()) < 1e-3
    assert weight.std().item() == pytest.approx(0.02, rel=0.02)
    bn = g.upsample[0][1]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.equal(bn.bias, torch.zeros_like(bn.bias))
    d = DCGANDiscriminator(width=64, norm="none")
    assert d.score.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert torch.equal(d.features[0].bias, torch.zeros_like(d.features[0].bias))


def test_pytorch_init_keeps_the_default_uniform() -> None:
    torch.manual_seed(0)
    weight = DCGANGenerator(width=64, init="pytorch").upsample[0][0].weight  # (256, 128, 3, 3)
    bound = 1.0 / (128 * 3 * 3) ** 0.5  # kaiming-uniform(a=√5): U[-1/√fan_in, 1/√fan_in]
    assert weight.abs().max().item() <= bound
    assert weight.std().item() == pytest.approx(bound / 3**0.5, rel=0.02)
