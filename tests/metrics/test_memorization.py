"""Nearest-training-neighbour memorization: blocked search vs brute force, copies, and the test reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.data import load_dataset
from ganforge.metrics import memorization, memorization_summary, nearest_neighbours, neighbour_pairs
from helpers.eval_fixtures import require_mnist

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # torch on one thread for the whole module


@pytest.mark.parametrize("block", [(1, 1), (7, 13), (512, 8192)])
def test_blocked_search_matches_brute_force(block):
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(50, 6, generator=gen), torch.randn(90, 6, generator=gen) + 0.3
    dist, idx = nearest_neighbours(q, k, block_rows=block[0], block_cols=block[1])
    full = torch.cdist(q.double(), k.double())  # (50, 90): small enough for the reference
    ref_dist, ref_idx = full.min(1)
    assert torch.equal(idx, ref_idx)
    torch.testing.assert_close(dist, ref_dist, rtol=1e-12, atol=1e-12)


def test_copies_have_distance_exactly_zero_even_far_from_the_origin():
    gen = torch.Generator().manual_seed(1)
    keys = torch.randn(300, 784, generator=gen) * 0.1 + 100.0  # float32 expansion alone would not give 0
    dist, idx = nearest_neighbours(keys[::3], keys)
    assert torch.equal(idx, torch.arange(0, 300, 3)) and float(dist.abs().max()) == 0.0


def test_summary_numbers_on_known_distances():
    test = np.arange(1, 101, dtype=np.float64)  # 1..100: 1st percentile 1.99
    fake = np.array([0.0, 0.0, 1.5, 50.0])
    out = memorization_summary(fake, test, quantiles=(0.5,))
    assert out["test_p1"] == pytest.approx(1.99) and out["share_below_test_p1"] == 0.75
    assert out["share_exact_copies"] == 0.5 and out["fake_quantiles"] == {"0.5": 0.75}
    assert out["test_quantiles"]["0.5"] == pytest.approx(50.5) and out["median_ratio"] == pytest.approx(0.75 / 50.5)


def test_copied_training_images_are_flagged_and_test_images_are_not():
    require_mnist()
    train = load_dataset("mnist", "train").images[:2000]
    test = load_dataset("mnist", "test").images[:300]
    copied = memorization(train[500:800], test, train)
    assert copied["share_exact_copies"] == 1.0 and copied["share_below_test_p1"] == 1.0
    assert copied["fake_quantiles"]["0.95"] == 0.0 and list(copied["fake_index"]) == list(range(500, 800))
    held_out = memorization(load_dataset("mnist", "test").images[300:600], test, train)
    assert held_out["share_exact_copies"] == 0.0 and held_out["share_below_test_p1"] < 0.05
    assert 0.8 < held_out["median_ratio"] < 1.25  # real unseen images sit as far from train as the test set


def test_neighbour_pairs_interleave_samples_and_neighbours():
    samples, train = torch.zeros(5, 1, 2, 2), torch.arange(4.0)[:, None, None, None].expand(4, 1, 2, 2)
    pairs = neighbour_pairs(samples, train, np.array([3, 1, 2, 0, 0]), 3)
    assert pairs.shape == (6, 1, 2, 2)
    assert pairs[:, 0, 0, 0].tolist() == [0.0, 3.0, 0.0, 1.0, 0.0, 2.0]
