"""Inception-style score against the improved-GAN numpy formula and its closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.metrics import inception_score


def _reference(logits: np.ndarray, splits: int) -> tuple[float, float]:
    """Salimans et al.'s code: softmax probabilities, consecutive splits, KL with the split marginal."""
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    n, scores = len(p), []
    for i in range(splits):
        part = p[i * n // splits : (i + 1) * n // splits]
        kl = part * (np.log(part) - np.log(part.mean(0, keepdims=True)))
        scores.append(np.exp(kl.sum(1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


@pytest.mark.parametrize(("n", "splits"), [(1000, 10), (997, 10), (50, 3), (7, 7), (20, 1)])
def test_matches_reference_formula(n, splits):
    logits = np.random.default_rng(n).normal(scale=3.0, size=(n, 10))
    mean, std = inception_score(torch.from_numpy(logits), splits)
    ref_mean, ref_std = _reference(logits, splits)
    assert mean == pytest.approx(ref_mean, rel=1e-12)
    assert std == pytest.approx(ref_std, rel=1e-9, abs=1e-14)


def test_uniform_predictions_score_one():
    mean, std = inception_score(torch.zeros(100, 10), splits=10)
    assert mean == pytest.approx(1.0, abs=1e-14)
    assert std == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("k", [2, 5, 10])
def test_confident_balanced_predictions_score_k(k):
    labels = torch.arange(20 * k) % k  # every split of size 2k holds each class twice
    logits = 200.0 * torch.nn.functional.one_hot(labels, k).double()  # p(y|x) one-hot up to e^-200
    mean, std = inception_score(logits, splits=10)
    assert mean == pytest.approx(k, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-10)


def test_single_class_collapse_scores_one():
    logits = torch.zeros(40, 5)
    logits[:, 2] = 50.0  # every sample confidently the same class
    assert inception_score(logits, splits=4)[0] == pytest.approx(1.0, abs=1e-12)


def test_invariant_to_per_row_logit_shift_and_input_type():
    logits = torch.randn(60, 7, generator=torch.Generator().manual_seed(0))
    shifted = logits + torch.randn(60, 1, generator=torch.Generator().manual_seed(1)) * 10
    base = inception_score(logits, 6)
    assert inception_score(shifted, 6) == pytest.approx(base, rel=1e-5)
    assert inception_score(logits.numpy(), 6) == pytest.approx(base, rel=1e-15)


def test_bad_inputs():
    with pytest.raises(ConfigError, match="need at least 10, got 9; generate more samples or lower splits=10"):
        inception_score(torch.zeros(9, 3), splits=10)
    with pytest.raises(ConfigError, match="splits must be a positive integer"):
        inception_score(torch.zeros(9, 3), splits=0)
    with pytest.raises(ValueError, match="must be 2-D"):
        inception_score(torch.zeros(9), splits=3)
