"""Mode coverage: toy mixtures (modes hit, high-quality share) and class histograms (KL to uniform, coverage)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganforge.data import load_dataset, toy_mode_centers
from ganforge.metrics import class_coverage, class_histogram, kl_to_uniform, toy_mode_coverage


def test_samples_on_five_of_eight_ring_modes():
    centers = toy_mode_centers("ring8")
    points = np.repeat(centers[[0, 2, 3, 5, 7]], 30, axis=0)
    out = toy_mode_coverage(points, centers, 0.02)
    assert out["modes_hit"] == 5 and out["modes_total"] == 8 and out["high_quality_share"] == 1.0
    assert out["counts"] == [30, 0, 30, 30, 0, 30, 0, 30] and out["radius"] == pytest.approx(0.06)
    far = np.vstack([points, np.zeros((50, 2))])  # the ring's centre is 2 away from every mode
    assert toy_mode_coverage(far, centers, 0.02)["high_quality_share"] == pytest.approx(150 / 200)


def test_min_count_and_the_three_sigma_radius():
    centers = toy_mode_centers("ring8")
    points = np.vstack([np.repeat(centers[:1], 19, axis=0), centers[1:2] + [0.059, 0.0], centers[2:3] + [0.061, 0]])
    out = toy_mode_coverage(points, centers, 0.02)
    assert out["modes_hit"] == 0 and out["counts"][:3] == [19, 1, 0]  # 19 < 20; 0.061 > 3σ
    assert toy_mode_coverage(points, centers, 0.02, min_count=1)["modes_hit"] == 2
    assert out["high_quality_share"] == pytest.approx(20 / 21)


def test_real_grid25_samples_hit_every_mode_with_the_gaussian_share():
    data = load_dataset("grid25", "train", n=25000, seed=3)
    out = toy_mode_coverage(data.images.numpy(), toy_mode_centers("grid25"), 0.05)
    assert out["modes_hit"] == 25
    within = 1 - math.exp(-4.5)  # P(||N(0, σ²I₂)|| <= 3σ) = 0.98889
    assert abs(out["high_quality_share"] - within) < 0.003  # binomial sd 0.0007


def test_class_histogram_kl_and_coverage():
    uniform = np.eye(10)[np.arange(1000) % 10] * 5.0  # logits: 100 samples per class
    np.testing.assert_allclose(class_histogram(uniform), np.full(10, 0.1))
    out = class_coverage(uniform)
    assert out["kl_to_uniform"] == 0.0 and out["classes_covered"] == 10 and out["min_share"] == pytest.approx(0.01)
    collapsed = np.eye(10)[np.zeros(100, dtype=int)]
    assert kl_to_uniform(class_histogram(collapsed)) == pytest.approx(math.log(10))
    labels = np.r_[np.zeros(495, int), np.ones(495, int), np.full(9, 2), [3]]  # 0.9% and 0.1%: below 1%
    out = class_coverage(np.eye(10)[labels])
    assert out["classes_covered"] == 2
    p = np.array([0.495, 0.495, 0.009, 0.001])
    assert out["kl_to_uniform"] == pytest.approx(float(np.sum(p * np.log(10 * p))))
    with pytest.raises(ValueError):
        kl_to_uniform([0.5, 0.6])
