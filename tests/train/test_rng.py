"""Tests for ganforge.train.rng: every global generator round-trips, through JSON and safetensors."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import safetensors.torch
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ganforge.errors import CheckpointError
from ganforge.train.rng import capture_rng_state, generator_state, restore_rng_state, set_generator_state


def _draw() -> tuple[torch.Tensor, np.ndarray, float, float]:
    """Draw from every global generator (numpy's gaussian exercises its cached-gauss state)."""
    return torch.rand(5), np.random.standard_normal(3), np.random.rand(), random.gauss(0.0, 1.0)


def _assert_same(a: tuple, b: tuple) -> None:
    assert torch.equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2] and a[3] == b[3]


def _through_disk_formats(tensors: dict, meta: dict) -> tuple[dict, dict]:
    """What a checkpoint does to the snapshot: safetensors for tensors, JSON for the rest."""
    return safetensors.torch.load(safetensors.torch.save(tensors)), json.loads(json.dumps(meta))


def test_capture_restore_reproduces_every_generator() -> None:
    np.random.standard_normal()  # leave a cached gaussian in numpy's legacy state
    random.gauss(0.0, 1.0)  # and in python's
    tensors, meta = _through_disk_formats(*capture_rng_state())
    expected = _draw()
    _draw()
    restore_rng_state(tensors, meta)
    _assert_same(_draw(), expected)


def test_snapshot_types() -> None:
    tensors, meta = capture_rng_state()
    assert tensors["torch.cpu"].dtype == torch.uint8 and tensors["torch.cpu"].dim() == 1
    assert json.loads(json.dumps(meta)) == meta
    assert meta["numpy"]["kind"] == "MT19937" and len(meta["numpy"]["keys"]) == 624
    assert meta["cuda_device_count"] == (torch.cuda.device_count() if torch.cuda.is_available() else 0)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), burn=st.integers(min_value=0, max_value=5))
def test_round_trip_for_any_seed(seed: int, burn: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    for _ in range(burn):
        _draw()
    tensors, meta = _through_disk_formats(*capture_rng_state())
    expected = _draw()
    restore_rng_state(tensors, meta)
    _assert_same(_draw(), expected)


def test_dedicated_generator_round_trip() -> None:
    gen = torch.Generator().manual_seed(7)
    torch.randperm(10, generator=gen)
    state = generator_state(gen)
    expected = torch.randperm(10, generator=gen)
    other = torch.Generator().manual_seed(123)
    set_generator_state(other, safetensors.torch.load(safetensors.torch.save({"s": state}))["s"])
    assert torch.equal(torch.randperm(10, generator=other), expected)


def test_bad_generator_state_raises_checkpoint_error() -> None:
    with pytest.raises(CheckpointError, match="generator state"):
        set_generator_state(torch.Generator(), torch.zeros(3, dtype=torch.float32))


def test_missing_torch_state_raises() -> None:
    _, meta = capture_rng_state()
    with pytest.raises(CheckpointError, match="torch.cpu"):
        restore_rng_state({}, meta)


def test_malformed_json_state_raises_one_line() -> None:
    tensors, meta = capture_rng_state()
    del meta["numpy"]["keys"]
    with pytest.raises(CheckpointError, match="malformed") as info:
        restore_rng_state(tensors, meta)
    assert "\n" not in str(info.value)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_states_round_trip() -> None:
    tensors, meta = _through_disk_formats(*capture_rng_state())
    assert all(f"torch.cuda.{i}" in tensors for i in range(torch.cuda.device_count()))
    expected = torch.rand(5, device="cuda")
    restore_rng_state(tensors, meta)
    assert torch.equal(torch.rand(5, device="cuda"), expected)
