"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs", eq. 4 and section 4).

Unbiased estimate of the squared MMD with the cubic polynomial kernel k(x, y) = (x·y / d + 1)^3, d the
feature dimension, averaged over ``subsets`` random subsets of ``subset_size`` rows drawn without
replacement from each set (independently for every subset), as in the authors' reference code:

    MMD²_u = Σ_{i≠j} k(a_i, a_j) / (m(m-1)) + Σ_{i≠j} k(b_i, b_j) / (m(m-1)) - 2 Σ_{i,j} k(a_i, b_j) / m²

(the cross term keeps all m² pairs, like the reference code and torch-fidelity). Reported as mean and
std over subsets (ddof=0). Identical distributions give ≈ 0, possibly slightly negative. Arithmetic is
float64; beyond the inputs, memory is one m × m kernel matrix and two m × d subsets, whatever the set
sizes (float32 inputs are converted subset by subset).
"""

from __future__ import annotations

import torch

from ganforge.metrics.validation import (
    ArrayLike,
    as_features,
    check_at_least,
    check_positive_int,
    check_same_dim,
)


def kid(
    a: ArrayLike,
    b: ArrayLike,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> tuple[float, float]:
    """Mean and std of the unbiased polynomial-kernel MMD² over random subsets.

    Args:
        a: (Na, D) features, Na >= subset_size (typically real).
        b: (Nb, D) features, Nb >= subset_size (typically generated).
        subsets: number of random subsets.
        subset_size: rows m drawn without replacement from each set per subset.
        seed: seeds the subset draws when ``generator`` is None.
        generator: torch CPU generator for the subset draws (overrides ``seed``).

    Returns:
        (mean, std) of MMD² over the subsets, std with ddof=0.
    """
    subsets = check_positive_int(subsets, "subsets")
    m = check_positive_int(subset_size, "subset_size")
    x = as_features(a, "first KID features", keep_float32=True)  # subsets become float64 one at a time
    y = as_features(b, "second KID features", keep_float32=True)
    check_same_dim(x, y, "first KID features", "second KID features")
    check_at_least(m, 2, "KID subset_size", "the unbiased estimate needs two rows per subset")
    fix = f"pass more samples or lower subset_size={m}"
    check_at_least(len(x), m, "KID samples in the first set", fix)
    check_at_least(len(y), m, "KID samples in the second set", fix)
    rng = generator if generator is not None else torch.Generator().manual_seed(seed)
    values = torch.empty(subsets, dtype=torch.float64)
    buffer = torch.empty(m, m, dtype=torch.float64)
    for i in range(subsets):
        ia = torch.randperm(len(x), generator=rng)[:m]
        ib = torch.randperm(len(y), generator=rng)[:m]
        values[i] = mmd2_unbiased(x[ia].double(), y[ib].double(), buffer)
    return float(values.mean()), float(values.std(correction=0))


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """k(x, y) = (x·y / d + 1)^3 for all pairs.

    Args:
        x: (n, d) float64.
        y: (p, d) float64.
        out: optional (n, p) float64 buffer to write into (reusing it avoids fresh page faults).

    Returns:
        (n, p) kernel matrix (``out`` when given).
    """
    one = torch.ones((), dtype=x.dtype)
    if out is None:
        out = torch.empty(len(x), len(y), dtype=x.dtype)
    torch.addmm(one, x, y.t(), alpha=1.0 / x.shape[1], out=out)  # x·y / d + 1
    return out.pow_(3)


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, buffer: torch.Tensor | None = None) -> float:
    """Unbiased MMD² between equally sized samples with the cubic polynomial kernel.

    Args:
        x: (m, d) float64, m >= 2.
        y: (m, d) float64.
        buffer: optional (m, m) float64 scratch matrix; the only m × m memory used.

    Returns:
        MMD²_u (float); diagonal terms k(x_i, x_i) excluded from the within-set sums.
    """
    m = len(x)
    buffer = torch.empty(m, m, dtype=x.dtype) if buffer is None else buffer
    within = 0.0
    for z in (x, y):
        k = polynomial_kernel(z, z, out=buffer)  # (m, m)
        within += float(k.sum() - k.diagonal().sum())
    cross = float(polynomial_kernel(x, y, out=buffer).sum())
    return within / (m * (m - 1)) - 2.0 * cross / (m * m)
