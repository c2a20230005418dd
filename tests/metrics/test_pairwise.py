"""The blocked log-sum-exp engine against a full distance matrix built from direct differences."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from ganforge.errors import ConfigError
from ganforge.metrics.pairwise import neg_cost_logsumexp, tile_shape


def _reference(q: torch.Tensor, k: torch.Tensor, cost: str, scales: list[float]) -> torch.Tensor:
    """Full (Nq, Nk) matrix from direct float64 differences, then scipy's logsumexp per scale."""
    sq = (q[:, None, :] - k[None, :, :]).pow(2).sum(-1)
    c = sq.sqrt() if cost == "euclidean" else sq
    return torch.stack([torch.from_numpy(logsumexp(-s * c.numpy(), axis=1)) for s in scales], dim=1)


def _data(seed: int, nq: int, nk: int, d: int, offset: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(nq, d, generator=g, dtype=torch.float64) + offset
    k = 1.3 * torch.randn(nk, d, generator=g, dtype=torch.float64) + offset + 0.2
    return q, k


@pytest.mark.parametrize("cost", ["euclidean", "squared"])
@pytest.mark.parametrize("block_size", [None, 1, 7, (5, 3), (64, 1000), (1000, 1000)])
def test_matches_full_matrix_for_every_tile_shape(cost, block_size):
    q, k = _data(0, 53, 71, 6)
    scales = [0.1, 0.5, 1.0, 3.0]
    got = neg_cost_logsumexp(q, k, cost=cost, scales=scales, block_size=block_size)
    torch.testing.assert_close(got, _reference(q, k, cost, scales), rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(nq=st.integers(1, 40), nk=st.integers(1, 40), d=st.integers(1, 5), rows=st.integers(1, 45),
       cols=st.integers(1, 45), seed=st.integers(0, 2**16))
def test_any_tiling_matches_reference(nq, nk, d, rows, cols, seed):
    q, k = _data(seed, nq, nk, d)
    got = neg_cost_logsumexp(q, k, cost="euclidean", scales=[1.0, 0.25], block_size=(rows, cols))
    torch.testing.assert_close(got, _reference(q, k, "euclidean", [1.0, 0.25]), rtol=1e-12, atol=1e-12)


def test_identical_sets_with_large_offset_stay_accurate():
    # T == G far from the origin: the diagonal distance is exactly 0. After centring, the float64 expansion
    # leaves |d²| ~ eps·||q||², so the euclidean diagonal is ~sqrt(eps)·||q|| ≈ 5e-8: far below float32's 6e-5.
    q, _ = _data(1, 200, 1, 10, offset=1e3)
    got = neg_cost_logsumexp(q, q, cost="euclidean")
    torch.testing.assert_close(got, _reference(q, q, "euclidean", [1.0]), rtol=2e-7, atol=0.0)
    got_sq = neg_cost_logsumexp(q, q, cost="squared")
    torch.testing.assert_close(got_sq, _reference(q, q, "squared", [1.0]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cost", ["euclidean", "squared"])
@pytest.mark.parametrize("block_size", [None, 1, (5, 3), (64, 1000)])
def test_float32_element_wise_work_matches_the_reference(cost, block_size):
    q, k = _data(2, 53, 71, 6, offset=5.0)
    scales = [0.1, 0.5, 1.0, 3.0]
    got = neg_cost_logsumexp(q, k, cost=cost, scales=scales, block_size=block_size, exp_dtype=torch.float32)
    assert got.dtype == torch.float64
    # Each float32 cost is off by ~6e-8 of itself, so a log-sum-exp by ~scale · 6e-8 · (its smallest costs).
    torch.testing.assert_close(got, _reference(q, k, cost, scales), rtol=1e-6, atol=1e-6)
    same = neg_cost_logsumexp(q, q, cost=cost, block_size=block_size, exp_dtype=torch.float32)  # T == G
    torch.testing.assert_close(same, _reference(q, q, cost, [1.0]), rtol=1e-6, atol=1e-6)


def test_float32_far_apart_sets_do_not_overflow_or_underflow():
    q = torch.tensor([[0.0]], dtype=torch.float64)
    k = torch.tensor([[1000.0], [1001.0]], dtype=torch.float64)
    got = neg_cost_logsumexp(q, k, cost="squared", scales=[1.0, 2.0], block_size=(1, 1), exp_dtype=torch.float32)
    torch.testing.assert_close(got, torch.tensor([[-1e6, -2e6]], dtype=torch.float64), rtol=1e-7, atol=0.0)


def test_other_element_wise_dtypes_are_refused():
    q, k = _data(3, 4, 4, 2)
    with pytest.raises(ConfigError, match="exp_dtype must be torch.float64 or torch.float32"):
        neg_cost_logsumexp(q, k, exp_dtype=torch.float16)


def test_far_apart_sets_do_not_underflow():
    # exp(-cost) underflows to 0 in float64 here; the running minimum keeps the exact value.
    q = torch.tensor([[0.0]], dtype=torch.float64)
    k = torch.tensor([[1000.0], [1001.0]], dtype=torch.float64)
    got = neg_cost_logsumexp(q, k, cost="squared", scales=[1.0, 2.0], block_size=(1, 1))
    expected = torch.tensor([[-1e6 + torch.log1p(torch.exp(torch.tensor(-2001.0))).item(), -2e6]],
                            dtype=torch.float64)
    torch.testing.assert_close(got, expected, rtol=1e-15, atol=0.0)


def test_tile_shape_defaults_and_overrides():
    assert tile_shape(None) == (256, 1024)
    assert tile_shape(32) == (32, 1024)
    assert tile_shape((8, 16)) == (8, 16)


@pytest.mark.parametrize("bad", [0, -3, (4,), (4, 0), 2.5, True])
def test_bad_block_size_is_config_error(bad):
    with pytest.raises(ConfigError, match="block_size"):
        tile_shape(bad)


def test_unknown_cost_and_bad_scales_are_config_errors():
    q, k = _data(2, 3, 4, 2)
    with pytest.raises(ConfigError, match="unknown pairwise cost 'cosine'"):
        neg_cost_logsumexp(q, k, cost="cosine")
    for scales in ([], [0.0], [-1.0], [float("inf")]):
        with pytest.raises(ConfigError, match="scales"):
            neg_cost_logsumexp(q, k, scales=scales)
