"""MLP generator and discriminator for 2-D toy data."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets import MLPDiscriminator, MLPGenerator


@pytest.mark.parametrize("depth", [1, 3, 5])
def test_depth_counts_hidden_layers_and_parameters(depth: int) -> None:
    g = MLPGenerator(z_dim=4, out_dim=3, hidden=16, depth=depth)
    d = MLPDiscriminator(in_dim=3, hidden=16, depth=depth)
    assert sum(isinstance(m, nn.Linear) for m in g.modules()) == depth + 1
    assert sum(isinstance(m, nn.ReLU) for m in g.modules()) == depth
    slopes = [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2] * depth
    hidden_params = (depth - 1) * (16 * 16 + 16)
    assert sum(p.numel() for p in g.parameters()) == (4 * 16 + 16) + hidden_params + (16 * 3 + 3)
    assert sum(p.numel() for p in d.parameters()) == (3 * 16 + 16) + hidden_params + (16 + 1)


def test_shapes_and_unbounded_outputs() -> None:
    torch.manual_seed(0)
    g, d = MLPGenerator(z_dim=3, out_dim=2), MLPDiscriminator(in_dim=2)
    assert (g.z_dim, g.sample_shape, d.input_shape) == (3, (2,), (2,))
    points = g(torch.randn(7, 3))
    assert tuple(points.shape) == (7, 2)
    assert tuple(d(points).shape) == (7,)
    # Linear output layers: scaling the last layer scales the output exactly.
    with torch.no_grad():
        d.net[-1].weight.mul_(100.0)
        d.net[-1].bias.zero_()
    assert d(points).abs().max() > 1.0


@pytest.mark.parametrize("kwargs", [{"depth": 0}, {"hidden": -1}, {"z_dim": 0}, {"out_dim": True}])
def test_bad_sizes_raise_config_error(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        MLPGenerator(**kwargs)
