"""Shared layers: Reshape, Crop and the DCGAN initialisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganforge.nets import Crop, Reshape, dcgan_init_


def test_reshape_keeps_the_batch_and_accepts_channels_last() -> None:
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    flat = Reshape(60)(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(flat, x.reshape(2, 60), rtol=0, atol=0)
    torch.testing.assert_close(Reshape(3, 4, 5)(flat), x, rtol=0, atol=0)


def test_crop_keeps_the_top_left_window() -> None:
    x = torch.randn(2, 3, 8, 9)
    out = Crop(7, 7)(x)
    assert tuple(out.shape) == (2, 3, 7, 7)
    torch.testing.assert_close(out, x[:, :, :7, :7], rtol=0, atol=0)


def test_crop_refuses_a_too_small_input() -> None:
    with pytest.raises(ValueError, match="too small"):
        Crop(7, 7)(torch.randn(1, 1, 6, 9))


def test_dcgan_init_sets_weights_norm_scales_and_biases() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(400, 500), nn.BatchNorm1d(500), nn.Conv2d(64, 64, 5))
    assert dcgan_init_(net, std=0.05) is net
    assert net[0].weight.std().item() == pytest.approx(0.05, rel=0.02)
    assert net[2].weight.std().item() == pytest.approx(0.05, rel=0.02)
    assert net[1].weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert net[1].weight.std().item() == pytest.approx(0.05, rel=0.15)
    for layer in (net[0], net[1], net[2]):
        assert torch.equal(layer.bias, torch.zeros_like(layer.bias))
