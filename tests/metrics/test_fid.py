"""FID against scipy.linalg.sqrtm, np.cov, and closed forms for Gaussians."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.linalg
import torch

from ganforge.errors import ConfigError
from ganforge.metrics import fid, fid_from_stats, gaussian_stats

fid_module = importlib.import_module("ganforge.metrics.fid")  # the package re-exports the function as `fid`


def _reference_fid(a: np.ndarray, b: np.ndarray) -> float:
    """The pytorch-fid formula: np.cov statistics and scipy.linalg.sqrtm."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _correlated(seed: int, n: int, d: int, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + shift


def test_matches_sqrtm_reference():
    a, b = _correlated(0, 500, 16), _correlated(1, 400, 16, shift=0.3)
    assert fid(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(_reference_fid(a, b), rel=1e-9)
    assert fid(a, b) == pytest.approx(fid(b, a), rel=1e-9)


def test_gaussian_stats_match_numpy_for_every_chunk_size(monkeypatch):
    x = _correlated(2, 301, 8, shift=1e4)  # large mean: the shifted accumulation must stay accurate
    expected_mu, expected_sigma = x.mean(0), np.cov(x, rowvar=False)
    for rows in (7, 100, 4096):
        monkeypatch.setattr(fid_module, "STATS_CHUNK_ROWS", rows)
        mu, sigma = gaussian_stats(torch.from_numpy(x))
        np.testing.assert_allclose(mu, expected_mu, rtol=1e-14)
        np.testing.assert_allclose(sigma, expected_sigma, rtol=1e-9, atol=1e-9 * np.abs(expected_sigma).max())


def test_diagonal_gaussians_closed_form_exact():
    # Commuting (diagonal) covariances: FID = Σ (μa - μb)² + Σ (σa - σb)² with σ the standard deviations.
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 0.0])
    sd1, sd2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 2.0, 1.5])
    expected = ((mu1 - mu2) ** 2).sum() + ((sd1 - sd2) ** 2).sum()
    got = fid_from_stats(mu1, np.diag(sd1**2), mu2, np.diag(sd2**2))
    assert got == pytest.approx(expected, rel=1e-13)
    assert expected == pytest.approx(4.25 + 4.0 + 1.0)


def test_general_gaussians_closed_form_from_samples():
    # A rotated covariance does not commute with the other: the trace term needs the matrix square root.
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    s1 = q @ np.diag([4.0, 1.0, 0.25, 2.0]) @ q.T
    s2 = np.diag([1.0, 2.0, 3.0, 0.5])
    mu1, mu2 = np.zeros(4), np.array([1.0, 0.0, -1.0, 0.5])
    root = scipy.linalg.sqrtm(s1)
    exact = mu2 @ mu2 + np.trace(s1 + s2) - 2 * np.trace(scipy.linalg.sqrtm(root @ s2 @ root)).real
    assert fid_from_stats(mu1, s1, mu2, s2) == pytest.approx(exact, rel=1e-10)
    a = rng.multivariate_normal(mu1, s1, size=100_000)
    b = rng.multivariate_normal(mu2, s2, size=100_000)
    assert fid(a, b) == pytest.approx(exact, rel=0.03)


def test_rank_deficient_covariances_match_the_product_eigenvalues():
    # Fewer samples than dimensions (singular Σ): the symmetric route must still give Σ sqrt(eig(Σa Σb)).
    a, b = _correlated(6, 12, 30), _correlated(7, 9, 30, shift=0.2)
    (mu1, s1), (mu2, s2) = gaussian_stats(a), gaussian_stats(b)
    lam = np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(lam).sum()
    assert fid_from_stats(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)


def test_identical_sets_score_zero_and_shift_moves_by_squared_norm():
    a = _correlated(4, 300, 6)
    assert fid(a, a.copy()) == pytest.approx(0.0, abs=1e-9)
    shift = np.array([1.0, -2.0, 0.0, 0.5, 0.0, 0.0])
    assert fid(a, a + shift) == pytest.approx(shift @ shift, rel=1e-9)


def test_bad_inputs():
    a = _correlated(5, 20, 4)
    with pytest.raises(ValueError, match="differ in feature shape"):
        fid(a, a[:, :3])
    with pytest.raises(ConfigError, match="samples for a covariance: need at least 2, got 1"):
        gaussian_stats(a[:1])
    mu, sigma = gaussian_stats(a)
    with pytest.raises(ValueError, match="disagree in dimension"):
        fid_from_stats(mu, sigma, mu[:3], sigma[:3, :3])
    with pytest.raises(ValueError, match="square matrix"):
        fid_from_stats(mu, sigma[:, :3], mu, sigma)
    with pytest.raises(ValueError, match="must be a vector"):
        fid_from_stats(sigma, sigma, mu, sigma)
    with pytest.raises(ValueError, match="NaN or Inf"):
        fid_from_stats(mu, sigma * np.nan, mu, sigma)
