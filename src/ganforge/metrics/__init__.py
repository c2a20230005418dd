"""Metric math: feature tensors in, numbers out (DDM, inception-style score, FID, KID, Parzen window).

Every function takes (N, D) feature tensors or numpy arrays, works in float64, and gives the same number
whatever the block or batch size. These modules import only torch, numpy, scipy and ganforge's errors and
registry; turning checkpoints into features is ``features.py`` / ``evaluate.py``'s job.

Public API (explicit re-exports):
    ddm, ddm_relative, ddm_sum, ddm_summary, DDM_DISTANCES: Basart (2017) eq. 3.4 and ganforge's reading of 3.5.
    inception_score: exp(E KL(p(y|x) || p(y))) over splits, mean ± std (Salimans et al. 2016).
    fid, gaussian_stats, fid_from_stats: Fréchet distance (Heusel et al. 2017).
    kid, mmd2_unbiased, polynomial_kernel: unbiased cubic-kernel MMD² over subsets (Bińkowski et al. 2018).
    parzen_log_likelihood, parzen_log_density, parzen_sigma_scores, parzen_select_sigma, DEFAULT_SIGMA_GRID:
        Gaussian Parzen window (Breuleux et al. 2011; Goodfellow et al. 2014).
    nearest_neighbours, memorization, memorization_summary, neighbour_pairs: nearest training items (Basart 2017).
    toy_mode_coverage, class_histogram, class_coverage, kl_to_uniform: mode coverage (toy mixtures, classes).
    class_spreads, within_class_spread, diversity_ratio: within-class diversity against real images.
    Samples → features (``ganforge.metrics.features``) and the whole suite (``ganforge.metrics.evaluate``)
    import nets, data and train, so they are imported from their modules, not re-exported here.
    METRICS: Registry naming the headline function of each measure.
"""

from __future__ import annotations

from collections.abc import Callable

from ganforge.metrics.ddm import DISTANCES as DDM_DISTANCES
from ganforge.metrics.ddm import ddm, ddm_relative, ddm_sum, ddm_summary
from ganforge.metrics.diversity import class_spreads, diversity_ratio, within_class_spread
from ganforge.metrics.fid import fid, fid_from_stats, gaussian_stats
from ganforge.metrics.inception_score import inception_score
from ganforge.metrics.kid import kid, mmd2_unbiased, polynomial_kernel
from ganforge.metrics.memorization import memorization, memorization_summary, nearest_neighbours, neighbour_pairs
from ganforge.metrics.modes import class_coverage, class_histogram, kl_to_uniform, toy_mode_coverage
from ganforge.metrics.parzen import (
    DEFAULT_SIGMA_GRID,
    parzen_log_density,
    parzen_log_likelihood,
    parzen_select_sigma,
    parzen_sigma_scores,
)
from ganforge.registry import Registry

METRICS: Registry[Callable[..., object]] = Registry("metric")
for _name, _fn in (
    ("ddm", ddm),
    ("ddm_relative", ddm_relative),
    ("ddm_sum", ddm_sum),
    ("inception_score", inception_score),
    ("fid", fid),
    ("kid", kid),
    ("parzen", parzen_log_likelihood),
):
    METRICS.register(_name, _fn)

__all__ = [
    "DDM_DISTANCES",
    "DEFAULT_SIGMA_GRID",
    "METRICS",
    "class_coverage",
    "class_histogram",
    "class_spreads",
    "ddm",
    "ddm_relative",
    "ddm_summary",
    "ddm_sum",
    "diversity_ratio",
    "fid",
    "fid_from_stats",
    "gaussian_stats",
    "inception_score",
    "kid",
    "kl_to_uniform",
    "memorization",
    "memorization_summary",
    "mmd2_unbiased",
    "nearest_neighbours",
    "neighbour_pairs",
    "parzen_log_density",
    "parzen_log_likelihood",
    "parzen_select_sigma",
    "parzen_sigma_scores",
    "polynomial_kernel",
    "toy_mode_coverage",
    "within_class_spread",
]
