"""DDM (Basart 2017 eq. 3.4) against a full float64 distance matrix, closed forms, and ganforge's eq. 3.5.

DDM takes its costs, exps and tile sums in float32 after a float64 product (``metrics.pairwise`` step 4), so
values agree with float64 references to ~1e-8 relative; the tests allow 1e-7 (the issue's bound: 2e-5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from ganforge.errors import ConfigError
from ganforge.metrics import ddm, ddm_relative, ddm_sum, ddm_summary
from ganforge.metrics.pairwise import neg_cost_logsumexp


def _reference_ddm(t: torch.Tensor, g: torch.Tensor, distance: str) -> float:
    """-(1/|T|) Σ_t log((1/|G|) Σ_g exp(-D)) with D from torch.cdist in float64 and scipy's logsumexp."""
    d = torch.cdist(t.double(), g.double(), compute_mode="donot_use_mm_for_euclid_dist").numpy()
    dist = d if distance == "euclidean" else 0.5 * d**2
    return float(-np.mean(logsumexp(-dist, axis=1) - math.log(len(g))))


def _features(seed: int, n: int, d: int = 10, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) * 1.5 + shift


@pytest.mark.parametrize("distance", ["euclidean", "half_sq"])
def test_matches_full_matrix_reference(distance):
    t, g = _features(0, 120), _features(1, 90, shift=0.4)
    assert ddm(t, g, distance) == pytest.approx(_reference_ddm(t, g, distance), rel=1e-7)


@pytest.mark.parametrize("distance", ["euclidean", "half_sq"])
def test_same_value_for_every_block_size(distance):
    t, g = _features(2, 301), _features(3, 257)
    values = [ddm(t, g, distance, block_size=b) for b in (None, 1, 16, 300, 1000, (7, 5), (64, 2000))]
    assert values == pytest.approx([values[0]] * len(values), rel=1e-7)


@pytest.mark.parametrize("distance", ["euclidean", "half_sq"])
def test_identical_sets_accurate_to_1e6(distance):
    # T == G: every diagonal distance is 0; logit-like features far from the origin stress the expansion.
    t = _features(4, 400, shift=30.0)
    ref = _reference_ddm(t, t, distance)
    assert abs(ddm(t, t.clone(), distance) - ref) / ref < 1e-6
    assert abs(ddm(t.float(), t.float(), distance) - _reference_ddm(t.float(), t.float(), distance)) / ref < 1e-6


@pytest.mark.parametrize("kind", ["unit", "logit-like"])
@pytest.mark.parametrize("same", [False, True], ids=["T!=G", "T==G"])
def test_float32_tiles_match_the_all_float64_computation(kind, same):
    """The float32 element-wise work against the float64 path of the same tiles, at a size with many tiles:
    well inside the issue's 2e-5 (measured 2e-10 to 3e-9 at 10k x 10k)."""
    scale, shift = (1.0, 0.0) if kind == "unit" else (8.0, 5.0)
    gen = torch.Generator().manual_seed(21)
    t = torch.randn(1500, 10, generator=gen) * scale + shift
    g = t.clone() if same else torch.randn(2500, 10, generator=gen) * scale + shift
    exact = math.log(len(g)) - float(neg_cost_logsumexp(t, g, cost="euclidean", exp_dtype=torch.float64).mean())
    assert ddm(t, g) == pytest.approx(exact, rel=1e-7)
    assert ddm(t, g) != exact  # the float32 path is the one measured


@pytest.mark.parametrize("distance", ["euclidean", "half_sq"])
def test_far_off_generated_samples_cost_no_accuracy(distance):
    """A tenth of the generated features at 1e11 (a diverged sampler's logits): the ordinary points' distances
    must survive the expansion. Centred on the generated set's mean they rounded to 0 and DDM fell from 10.3
    to 0.59, below real data's."""
    gen = torch.Generator().manual_seed(5)
    t = torch.randn(500, 10, generator=gen) * 3
    g = torch.randn(200, 10, generator=gen) * 3
    g[:20] = torch.randn(20, 10, generator=gen) * 1e11
    assert ddm(t, g, distance) == pytest.approx(_reference_ddm(t, g, distance), rel=1e-7)
    assert ddm(t, g, distance) > ddm(t, g[20:], distance)  # far-off samples only make the score worse


def test_two_points_closed_form():
    # T = G = {0, a}: every t sees itself (D = 0) and the other point, so DDM = log 2 - log(1 + exp(-D(0, a))).
    a = 1.7
    pts = torch.tensor([[0.0, 0.0], [a, 0.0]], dtype=torch.float64)
    assert ddm(pts, pts, "half_sq") == pytest.approx(math.log(2) - math.log1p(math.exp(-a * a / 2)), rel=1e-7)
    assert ddm(pts, pts, "euclidean") == pytest.approx(math.log(2) - math.log1p(math.exp(-a)), rel=1e-7)


def test_one_test_point_closed_form_and_far_sets():
    t = np.array([[0.0, 0.0, 0.0]])
    g = np.array([[1.0, 2.0, 2.0], [0.0, 0.0, 4.0]])  # distances 3 and 4
    expected = -math.log((math.exp(-3.0) + math.exp(-4.0)) / 2)
    assert ddm(t, g) == pytest.approx(expected, rel=1e-7)
    # exp(-D) underflows in float64 here; DDM must still be exact.
    assert ddm(t, g * 1e3, "half_sq") == pytest.approx(-math.log((math.exp(-4.5e6 + 4.5e6) + 0.0) / 2) + 4.5e6,
                                                      rel=1e-7)


def test_duplicating_generated_set_changes_nothing():
    # The inner term is a mean over G, so G and G ∪ G give the same DDM.
    t, g = _features(5, 50), _features(6, 40)
    assert ddm(t, torch.cat([g, g])) == pytest.approx(ddm(t, g), rel=1e-7)


def test_closer_generated_set_scores_lower():
    t = _features(7, 200)
    near, far = _features(8, 200, shift=0.1), _features(9, 200, shift=2.0)
    assert ddm(t, near) < ddm(t, far)


def test_a_slightly_contracted_set_beats_the_test_distribution_itself():
    """DDM is a cross-entropy of T under a fixed-width kernel density on G, so it is minimised by a G narrower
    than T, not by T's own distribution. For T ~ N(0, s² I_d) and G ~ N(0, c² s² I_d), half_sq DDM tends to
    (d/2)(log(1 + c²s²) + s²/(1 + c²s²)), smallest at c² = 1 - 1/s². This is why weak noise, which contracts
    the classifier's logits, lowers DDM in ``ganforge experiment corruptions``."""
    d, s = 2, 1.5
    gen = torch.Generator().manual_seed(0)
    t = torch.randn(3000, d, generator=gen, dtype=torch.float64) * s
    g = torch.randn(6000, d, generator=gen, dtype=torch.float64) * s
    best = math.sqrt(1 - 1 / s**2)
    values = {}
    for c in (1.0, 0.9, best, 0.5):
        values[c] = ddm(t, c * g, distance="half_sq")
        assert values[c] == pytest.approx(d / 2 * (math.log(1 + (c * s) ** 2) + s**2 / (1 + (c * s) ** 2)), abs=0.03)
    assert values[best] < values[0.9] < values[1.0] and values[best] < values[0.5]
    assert values[1.0] - values[best] > 0.05


def test_numpy_and_float32_inputs_agree_with_torch():
    t, g = _features(10, 60), _features(11, 70)
    assert ddm(t.numpy(), g.numpy()) == ddm(t, g)
    assert ddm(t.float(), g.float()) == pytest.approx(ddm(t, g), rel=1e-6)


def test_summary_relative_and_sum_follow_their_definitions():
    train, test, gen = _features(12, 80), _features(13, 100), _features(14, 80, shift=0.5)
    s = ddm_summary(train, test, gen, "half_sq")
    assert s["ddm"] == pytest.approx(_reference_ddm(test, gen, "half_sq"), rel=1e-7)
    assert s["ddm_train"] == pytest.approx(_reference_ddm(test, train, "half_sq"), rel=1e-7)
    assert s["ddm_relative"] == pytest.approx(s["ddm"] - s["ddm_train"], rel=1e-12)
    assert s["ddm_sum"] == pytest.approx(2 * s["ddm"] - s["ddm_train"], rel=1e-12)
    assert ddm_relative(train, test, gen, "half_sq") == s["ddm_relative"]
    assert ddm_sum(train, test, gen, "half_sq") == s["ddm_sum"]
    assert ddm_relative(train, test, train.clone()) == pytest.approx(0.0, abs=1e-12)


def test_relative_requires_equal_sizes():
    with pytest.raises(ValueError, match="subsample the training features"):
        ddm_relative(_features(15, 81), _features(16, 50), _features(17, 80))


def test_bad_inputs():
    t, g = _features(18, 10), _features(19, 10)
    with pytest.raises(ConfigError, match="unknown DDM distance 'cosine'; choose one of: euclidean, half_sq"):
        ddm(t, g, "cosine")
    with pytest.raises(ValueError, match="10 features but generated features has 3"):
        ddm(t, g[:, :3])
    with pytest.raises(ValueError, match="must be 2-D"):
        ddm(t[0], g)
    with pytest.raises(ValueError, match="NaN or Inf"):
        ddm(t, torch.where(g > 1, float("nan"), g))
    with pytest.raises(ValueError, match="empty"):
        ddm(t[:0], g)
    with pytest.raises(ConfigError, match="block_size"):
        ddm(t, g, block_size=0)
