"""Inception-style score (Salimans et al. 2016) with ganforge's domain classifier in place of Inception.

    IS = exp( E_x KL( p(y|x) || p(y) ) ),   p(y) = E_x p(y|x) over the same split,

computed on ``splits`` consecutive chunks of the samples (chunk i holds rows i·N//splits up to
(i+1)·N//splits, as in the original improved-GAN code) and reported as mean ± std over the chunks, std
with ddof=0 as in that code. Computed in float64 from logits with log-softmax, so confident predictions
do not produce log(0). Higher is better; 1 for a constant prediction, K for confident, balanced
predictions over K classes.
"""

from __future__ import annotations

import math

import torch

from ganforge.metrics.validation import ArrayLike, as_features, check_at_least, check_positive_int


def inception_score(logits: ArrayLike, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) per split, mean and std over splits.

    Args:
        logits: (N, K) unnormalised class scores of the classifier for N generated samples (not
            probabilities: they go through log-softmax).
        splits: number of consecutive chunks; N must be at least ``splits``.

    Returns:
        (mean, std) over the splits, std with ddof=0.
    """
    splits = check_positive_int(splits, "splits")
    z = as_features(logits, "logits")
    check_at_least(len(z), splits, "inception score samples", f"generate more samples or lower splits={splits}")
    log_p = torch.log_softmax(z, dim=1)  # (N, K) log p(y|x)
    n = len(z)
    scores = [split_score(log_p[i * n // splits : (i + 1) * n // splits]) for i in range(splits)]
    values = torch.tensor(scores, dtype=torch.float64)
    return float(values.mean()), float(values.std(correction=0))


def split_score(log_p: torch.Tensor) -> float:
    """exp(mean_x KL(p(y|x) || p(y))) for one split.

    Args:
        log_p: (n, K) float64 log p(y|x), rows normalised.

    Returns:
        The split's score (float).
    """
    log_py = torch.logsumexp(log_p, dim=0) - math.log(len(log_p))  # (K,) log of the marginal p(y)
    kl = (log_p.exp() * (log_p - log_py)).sum(1)  # (n,) KL(p(y|x) || p(y))
    return math.exp(float(kl.mean()))
