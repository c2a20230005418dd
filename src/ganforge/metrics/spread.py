"""Spreads of FID and DDM: the headline number on the full sets, its bootstrap std beside it.

The headline values are exactly those of :func:`ganforge.metrics.fid` and :func:`ganforge.metrics.ddm`
on the full sets. The spread is a **bootstrap over both sets**: ``resamples`` (B) times, every set
involved is redrawn with replacement at its own size (a fresh, independent draw per set and per
resample, from a torch generator seeded with ``seed``), the measure is recomputed, and the std
(ddof=1) over the B values is reported. The same redrawn test set serves the generated set and its
training baseline within a resample, so ``ddm_relative`` gets a paired spread. Bootstrap (not disjoint
subsets) because both FID and DDM depend on the sample count (FID is biased upwards at small N; DDM
shifts with log|G|): subsets of N/S rows would measure a different quantity.

FID's rule for the sample count: a D-dimensional covariance estimated with ddof=1 from N rows has rank
at most N - 1, so it can only be full rank when N > D. :func:`check_fid_samples` refuses fewer with
one line that names the fix; :func:`ganforge.metrics.fid` itself stays permissive for callers that
knowingly pass singular statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from ganforge.errors import ConfigError
from ganforge.metrics.ddm import ddm_summary
from ganforge.metrics.fid import fid
from ganforge.metrics.validation import ArrayLike, as_features, check_positive_int

SPREAD_METHOD = "bootstrap"
DEFAULT_RESAMPLES = 10


def check_fid_samples(n: int, dim: int, what: str = "samples") -> None:
    """Refuse FID on N <= D rows (the covariance could not be full rank) with a one-line ``ConfigError``."""
    if n <= dim:
        raise ConfigError(f"FID needs more {what} than feature dimensions (N > D, for a full-rank covariance): "
                          f"got N={n} for D={dim}; pass at least {dim + 1} samples (--n {dim + 1}) "
                          "or a smaller embedding (--embedding logits)")


def bootstrap_std(fn: Callable[..., Mapping[str, float]], sets: Mapping[str, torch.Tensor],
                  resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict[str, float]:
    """Std (ddof=1) of ``fn``'s values over bootstrap resamples of every set.

    Args:
        fn: called as ``fn(**resampled_sets)``; returns {name: float}.
        sets: {name: (N_i, D) tensor}; each is redrawn with replacement at its own size N_i.
        resamples: B >= 2.
        seed: seeds the draws (set order, then resample order, as in ``sets``).

    Returns:
        {name: std over the B values of fn's ``name``}.
    """
    b = check_positive_int(resamples, "resamples")
    if b < 2:
        raise ConfigError(f"a bootstrap std needs at least 2 resamples, got {b}")
    rng = torch.Generator().manual_seed(seed)
    values: dict[str, list[float]] = {}
    for _ in range(b):
        drawn = {k: x[torch.randint(len(x), (len(x),), generator=rng)] for k, x in sets.items()}
        for key, value in fn(**drawn).items():
            values.setdefault(key, []).append(value)
    return {k: float(torch.tensor(v, dtype=torch.float64).std(correction=1)) for k, v in values.items()}


def _spread_fields(prefix: str, resamples: int, seed: int) -> dict:
    return {f"{prefix}_spread_method": SPREAD_METHOD, f"{prefix}_resamples": resamples, f"{prefix}_spread_seed": seed}


def fid_with_spread(test: ArrayLike, fake: ArrayLike, train: ArrayLike | None = None, *,
                    resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict[str, dict]:
    """FID of ``fake`` (and of the training baseline ``train``) against ``test``, with bootstrap stds.

    Args:
        test, fake, train: (N, D) features; each N > D (see :func:`check_fid_samples`).
        resamples, seed: as in :func:`bootstrap_std`.

    Returns:
        {"fake": {"fid", "fid_std", "fid_spread_method", "fid_resamples", "fid_spread_seed", "n_fake", "n_real"},
        and with ``train`` "baseline_train": the same keys with ``n_fake`` the training rows}.
    """
    sets = {"test": as_features(test, "test features", keep_float32=True),
            "fake": as_features(fake, "generated features", keep_float32=True)}
    if train is not None:
        sets["train"] = as_features(train, "training features", keep_float32=True)
    for name, x in sets.items():
        check_fid_samples(len(x), x.shape[1], f"{name} samples")

    def values(test, **others):
        return {role: fid(test, x) for role, x in others.items()}

    head, std = values(**sets), bootstrap_std(values, sets, resamples, seed)
    roles = {"fake": "fake", "train": "baseline_train"}
    return {roles[k]: {"fid": head[k], "fid_std": std[k], **_spread_fields("fid", resamples, seed),
                       "n_fake": len(sets[k]), "n_real": len(sets["test"])} for k in head}


def ddm_with_spread(train: ArrayLike, test: ArrayLike, fake: ArrayLike, *, resamples: int = DEFAULT_RESAMPLES,
                    seed: int = 0) -> dict[str, dict]:
    """:func:`ganforge.metrics.ddm_summary`'s numbers with bootstrap stds of ddm, ddm_relative and the baseline.

    Args:
        train: (|R|, D) training features, |R| = |G|.
        test: (|T|, D) held-out real features.
        fake: (|G|, D) generated features.
        resamples, seed: as in :func:`bootstrap_std`.

    Returns:
        {"fake": {"ddm", "ddm_std", "ddm_relative", "ddm_relative_std", "ddm_sum", spread fields, "n_fake",
        "n_real"}, "baseline_train": {"ddm", "ddm_std", spread fields, "n_fake", "n_real"}}.
    """
    if len(train) != len(fake):
        raise ValueError(f"DDM compares at equal size: {len(train)} training vs {len(fake)} generated samples; "
                         "subsample the training features to the number of generated samples")
    sets = {"test": as_features(test, "test features", keep_float32=True),
            "fake": as_features(fake, "generated features", keep_float32=True),
            "train": as_features(train, "training features", keep_float32=True)}

    def values(test, fake, train):
        return ddm_summary(train, test, fake)

    head, std = values(**sets), bootstrap_std(values, sets, resamples, seed)
    counts = {"n_fake": len(sets["fake"]), "n_real": len(sets["test"])}
    fields = _spread_fields("ddm", resamples, seed)
    fake_out = {"ddm": head["ddm"], "ddm_std": std["ddm"], "ddm_relative": head["ddm_relative"],
                "ddm_relative_std": std["ddm_relative"], "ddm_sum": head["ddm_sum"]}
    return {"fake": {**fake_out, **fields, **counts},
            "baseline_train": {"ddm": head["ddm_train"], "ddm_std": std["ddm_train"], **fields, **counts}}
