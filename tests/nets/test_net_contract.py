"""Contract tests over every ``NETS`` entry: build, shape, backward, state round-trip, channels_last, bf16."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets import NETS, NetSpec

BATCH = 3
NAMES = NETS.names()


def _built(name: str, seed: int = 0) -> tuple[NetSpec, nn.Module, torch.Tensor]:
    torch.manual_seed(seed)
    spec = NETS.get(name)
    net = spec.build()
    return spec, net, spec.example_input(net, BATCH)


def test_registry_holds_the_first_families() -> None:
    expected = {
        "mlp-generator", "mlp-discriminator", "dcgan-generator", "dcgan-discriminator",
        "wgan-gp-mnist-generator", "wgan-gp-mnist-critic",
    }
    assert expected <= set(NAMES)
    for name in NAMES:
        assert isinstance(NETS.get(name), NetSpec)
        assert NETS.get(name).description.strip()


def test_unknown_net_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="dcgan-generator") as info:
        NETS.get("no-such-net")
    assert "wgan-gp-mnist-critic" in str(info.value)


@pytest.mark.parametrize("name", NAMES)
def test_output_shape_and_generator_contract(name: str) -> None:
    spec, net, x = _built(name)
    out = net(x)
    assert tuple(out.shape) == spec.output_shape(net, BATCH)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    if name == "lapgan-conditional-generator":
        assert tuple(x.shape) == (BATCH, *net.input_shape)  # [z plane; low-pass] → band-pass image
        assert tuple(out.shape) == (BATCH, *net.sample_shape)
    elif name.endswith("generator"):
        assert tuple(x.shape) == (BATCH, net.z_dim)
        assert out.dim() in (2, 4)
    elif name.endswith("classifier"):
        assert tuple(out.shape) == (BATCH, net.num_classes)  # logits, one row per sample
    elif name.endswith("encoder"):
        assert tuple(out.shape) == (BATCH, net.z_dim)  # latent codes, one row per sample
    elif name == "modnet-unet":
        assert tuple(out.shape) == (BATCH, *net.image_shape)  # a delta image per (image + label planes) input
    elif name == "modnet-discriminator":
        assert tuple(out.shape) == (BATCH, 1 + net.num_classes)  # real/fake logit, then the class logits
    else:
        assert tuple(out.shape) == (BATCH,)  # raw scores, one per sample
    single = spec.example_input(net, 1)
    if any(isinstance(m, nn.BatchNorm1d) for m in net.modules()):
        net.eval()  # batch norm over features needs two or more samples in training mode; eval uses running stats
    assert tuple(net(single).shape) == spec.output_shape(net, 1)  # a batch of one keeps its batch dim


@pytest.mark.parametrize("name", NAMES)
def test_backward_reaches_every_parameter_with_finite_grads(name: str) -> None:
    _, net, x = _built(name)
    net(x).square().mean().backward()
    for pname, param in net.named_parameters():
        assert param.grad is not None, pname
        assert torch.isfinite(param.grad).all(), pname
        assert param.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_round_trip_gives_identical_outputs(name: str, tmp_path) -> None:
    spec, net, x = _built(name, seed=0)
    net(x)  # a training-mode pass updates batch-norm running statistics, so they are saved non-trivially
    net.eval()
    path = tmp_path / "net.safetensors"
    save_file(net.state_dict(), str(path))
    torch.manual_seed(1)
    fresh = spec.build().eval()
    assert not torch.equal(fresh(x), net(x))  # a different initialisation
    fresh.load_state_dict(load_file(str(path)))
    torch.testing.assert_close(fresh(x), net(x), rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_channels_last_matches_contiguous(name: str) -> None:
    _, net, x = _built(name)
    net.eval()
    expected = net(x)
    net = net.to(memory_format=torch.channels_last)
    x_cl = x.to(memory_format=torch.channels_last) if x.dim() == 4 else x
    out = net(x_cl)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_bf16_autocast_is_close_to_float32(name: str) -> None:
    _, net, x = _built(name)
    net.eval()
    expected = net(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x)
    assert tuple(out.shape) == tuple(expected.shape)
    # bf16 keeps 8 bits of mantissa: a few layers stay within a few percent of the output scale.
    scale = expected.abs().max().item() + 1e-3
    torch.testing.assert_close(out.float(), expected, rtol=0.0, atol=0.05 * scale)
    out.float().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())
