"""Parzen window against scipy.stats mixtures, closed forms, and brute-force bandwidth selection."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from ganforge.errors import ConfigError
from ganforge.metrics import (
    DEFAULT_SIGMA_GRID,
    parzen_log_density,
    parzen_log_likelihood,
    parzen_select_sigma,
    parzen_sigma_scores,
)


def _reference_log_density(samples: np.ndarray, points: np.ndarray, sigma: float) -> np.ndarray:
    """log of the equal-weight mixture of N(s_i, σ² I), each component from scipy.stats."""
    d = samples.shape[1]
    comps = np.stack([multivariate_normal(mean=s, cov=sigma**2 * np.eye(d)).logpdf(points) for s in samples])
    return logsumexp(comps, axis=0) - math.log(len(samples))


def _data(seed: int, n: int, d: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(size=(n, d))


@pytest.mark.parametrize("sigma", [0.05, 0.2, 1.0])
def test_matches_scipy_mixture(sigma):
    samples, test = _data(0, 40, 5), _data(1, 30, 5)
    ref = _reference_log_density(samples, test, sigma)
    mean, se = parzen_log_likelihood(torch.from_numpy(samples), torch.from_numpy(test), sigma)
    assert mean == pytest.approx(ref.mean(), rel=1e-12)
    assert se == pytest.approx(ref.std() / math.sqrt(len(ref)), rel=1e-9)


def test_single_kernel_closed_form_far_from_the_sample():
    # One sample at 0: log p(x) = -||x||²/(2σ²) - (D/2) log(2πσ²), exactly, even where exp underflows.
    x = np.array([[3.0, 4.0], [300.0, 400.0]])
    sigma = 0.1
    expected = -np.array([25.0, 250_000.0]) / (2 * sigma**2) - math.log(2 * math.pi * sigma**2)
    got = parzen_log_density(np.zeros((1, 2)), x, [sigma])[:, 0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_block_size_and_sigma_batching_change_nothing():
    samples, test = _data(2, 97, 6), _data(3, 83, 6)
    grid = [0.05, 0.1, 0.3]
    together = parzen_log_density(samples, test, grid)
    for block in (1, 10, (13, 7), (500, 500)):
        torch.testing.assert_close(parzen_log_density(samples, test, grid, block_size=block), together,
                                   rtol=1e-13, atol=1e-12)
    for k, sigma in enumerate(grid):
        torch.testing.assert_close(parzen_log_density(samples, test, [sigma])[:, 0], together[:, k],
                                   rtol=1e-13, atol=1e-12)


def test_sigma_selection_is_the_brute_force_argmax():
    rng = np.random.default_rng(4)
    samples = rng.normal(size=(400, 2))
    val = rng.normal(size=(300, 2))
    sigmas, scores = parzen_sigma_scores(samples, val)
    np.testing.assert_allclose(sigmas, np.logspace(-1, 0, 10), rtol=1e-15)
    brute = [parzen_log_likelihood(samples, val, s)[0] for s in sigmas]
    np.testing.assert_allclose(scores, brute, rtol=1e-12)
    best = parzen_select_sigma(samples, val)
    assert best == sigmas[int(np.argmax(brute))]
    assert 0.2 < best < 0.6  # Silverman's rule for N(0, I_2), n = 400: ≈ 0.37
    assert parzen_select_sigma(samples, val, grid=[0.01, 5.0, 0.3]) == 0.3


def test_default_grid_is_goodfellows():
    assert DEFAULT_SIGMA_GRID == pytest.approx(tuple(np.logspace(-1, 0, 10)), rel=1e-15)


def test_bad_inputs():
    samples, test = _data(5, 10, 3), _data(6, 10, 3)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ConfigError, match="positive"):
            parzen_log_likelihood(samples, test, bad)
    with pytest.raises(ConfigError, match="non-empty"):
        parzen_select_sigma(samples, test, grid=[])
    with pytest.raises(ValueError, match="3 features but Parzen evaluation points has 2"):
        parzen_log_likelihood(samples, test[:, :2], 0.1)
