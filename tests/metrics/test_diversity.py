"""metrics.diversity: within-class spreads and the diversity ratio against closed forms by hand."""

from __future__ import annotations

import math

import pytest
import torch

from ganforge.metrics.diversity import class_spreads, diversity_ratio, within_class_spread


def test_within_class_spread_by_hand():
    f = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    classes = torch.tensor([0, 0, 1, 1, 2])  # class 2 has one sample: no pair, left out
    assert within_class_spread(f, classes) == pytest.approx((5.0 + 1.0) / 2, rel=1e-12)
    assert math.isnan(within_class_spread(f[:1], classes[:1]))  # one sample per class: no pair at all


def test_class_spread_is_the_mean_over_ordered_pairs():
    f = torch.tensor([[0.0], [1.0], [3.0]])  # distances 1, 3, 2: mean 2 over the 3 pairs (6 ordered ones)
    assert class_spreads(f, torch.zeros(3, dtype=torch.long)) == pytest.approx({0: 2.0}, rel=1e-12)


def test_diversity_ratio_uses_the_classes_both_sets_have_two_of():
    fake = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0], [1.0, 0.0], [9.0, 9.0]])
    fake_classes = torch.tensor([0, 0, 1, 1, 2])  # spreads 5 and 1; class 2 has one sample
    real = torch.tensor([[0.0, 0.0], [0.0, 10.0], [0.0, 0.0], [0.0, 2.0], [0.0, 0.0], [7.0, 0.0]])
    real_classes = torch.tensor([0, 0, 1, 1, 3, 3])  # spreads 10, 2 (and 7 for class 3, which fake lacks)
    out = diversity_ratio(fake, fake_classes, real, real_classes)
    assert out["diversity"] == pytest.approx(3.0, rel=1e-12) and out["diversity_real"] == pytest.approx(6.0, rel=1e-12)
    assert out["diversity_ratio"] == pytest.approx(0.5, rel=1e-12) and out["diversity_classes"] == 2
    same = diversity_ratio(real, real_classes, real, real_classes)
    assert same["diversity_ratio"] == pytest.approx(1.0, rel=1e-12) and same["diversity_classes"] == 3


def test_diversity_ratio_without_a_shared_class_is_nan():
    out = diversity_ratio(torch.zeros(2, 3), torch.tensor([0, 1]), torch.ones(4, 3), torch.tensor([0, 0, 1, 1]))
    assert math.isnan(out["diversity_ratio"]) and out["diversity_classes"] == 0
