"""KID (Bińkowski et al. 2018) against explicit double loops, replayed subset draws and a closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.metrics import kid, mmd2_unbiased, polynomial_kernel


def _loop_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² with k(a, b) = (a·b/d + 1)^3, written as plain double loops."""
    m, d = x.shape
    k = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / m**2


def _sets(seed: int, n: int, d: int, shift: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=g, dtype=torch.float64),
            torch.randn(n, d, generator=g, dtype=torch.float64) + shift)


def test_kernel_and_mmd_match_explicit_loops():
    x, y = _sets(0, 9, 4, shift=0.7)
    k = polynomial_kernel(x, y)
    assert k[2, 5].item() == pytest.approx((x[2] @ y[5] / 4 + 1).item() ** 3, rel=1e-14)
    assert mmd2_unbiased(x, y) == pytest.approx(_loop_mmd2(x.numpy(), y.numpy()), rel=1e-12)


def test_kid_replays_its_subset_draws():
    a, b = _sets(1, 60, 3, shift=0.5)
    mean, std = kid(a, b, subsets=7, subset_size=12, seed=5)
    g = torch.Generator().manual_seed(5)
    values = []
    for _ in range(7):
        ia, ib = torch.randperm(60, generator=g)[:12], torch.randperm(60, generator=g)[:12]
        values.append(_loop_mmd2(a[ia].numpy(), b[ib].numpy()))
    assert mean == pytest.approx(np.mean(values), rel=1e-12)
    assert std == pytest.approx(np.std(values), rel=1e-9)


def test_uniform_shift_closed_form():
    # d = 1: k(a, b) = (ab + 1)^3 has features (a³, √3 a², √3 a, 1), so the population MMD² is
    # (E a³ - E b³)² + 3 (E a² - E b²)² + 3 (E a - E b)². a ~ U[-1, 1], b = a' + μ: E b = μ,
    # E b² = 1/3 + μ², E b³ = μ³ + μ. The estimator is unbiased, so the mean over subsets is close.
    mu = 0.5
    exact = (mu**3 + mu) ** 2 + 3 * mu**4 + 3 * mu**2  # 1.328125
    g = torch.Generator().manual_seed(2)
    a = torch.rand(20_000, 1, generator=g, dtype=torch.float64) * 2 - 1
    b = torch.rand(20_000, 1, generator=g, dtype=torch.float64) * 2 - 1 + mu
    mean, std = kid(a, b, subsets=50, subset_size=1000)
    assert mean == pytest.approx(exact, rel=0.03)
    assert 0.0 < std < 0.2


def test_identical_distributions_near_zero_and_shift_positive():
    a, b = _sets(3, 2000, 8)
    mean, std = kid(a, b, subsets=20, subset_size=500)
    assert abs(mean) < 3 * std + 1e-3
    shifted_mean, _ = kid(a, b + 1.0, subsets=20, subset_size=500)
    assert shifted_mean > 0.1


def test_seed_and_generator_determinism():
    a, b = _sets(4, 300, 5, shift=0.2)
    assert kid(a, b, 5, 100, seed=1) == kid(a, b, 5, 100, seed=1)
    assert kid(a, b, 5, 100, seed=1) != kid(a, b, 5, 100, seed=2)
    assert kid(a, b, 5, 100, generator=torch.Generator().manual_seed(1)) == kid(a, b, 5, 100, seed=1)
    assert kid(a.numpy(), b.float(), 5, 100) == pytest.approx(kid(a, b.float().double(), 5, 100), rel=1e-15)


def test_bad_inputs():
    a, b = _sets(5, 50, 4)
    with pytest.raises(ConfigError, match="need at least 100, got 50; pass more samples or lower subset_size=100"):
        kid(a, b, subset_size=100)
    with pytest.raises(ConfigError, match="two rows per subset"):
        kid(a, b, subset_size=1)
    with pytest.raises(ConfigError, match="subsets must be a positive integer"):
        kid(a, b, subsets=0, subset_size=10)
    with pytest.raises(ValueError, match="4 features but second KID features has 3"):
        kid(a, b[:, :3], subset_size=10)
