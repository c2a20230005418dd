"""Bootstrap spreads of FID and DDM: headlines unchanged, stds recomputed by hand, the N > D rule for FID."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.metrics import ddm, ddm_summary, fid
from ganforge.metrics.spread import bootstrap_std, check_fid_samples, ddm_with_spread, fid_with_spread


def _features(seed: int, n: int, d: int, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) + shift


def _by_hand(sets: dict, b: int, seed: int) -> list[dict]:
    """The resampled sets drawn exactly as documented: per resample, per set in order, randint with replacement."""
    rng = torch.Generator().manual_seed(seed)
    return [{k: x[torch.randint(len(x), (len(x),), generator=rng)] for k, x in sets.items()} for _ in range(b)]


def test_fid_headline_unchanged_and_std_recomputed_by_hand():
    test, fake, train = _features(0, 80, 4), _features(1, 60, 4, 0.5), _features(2, 60, 4)
    out = fid_with_spread(test, fake, train, resamples=6, seed=3)
    assert out["fake"]["fid"] == fid(test, fake)
    assert out["baseline_train"]["fid"] == fid(test, train)
    draws = _by_hand({"test": test, "fake": fake, "train": train}, 6, 3)
    for role, key in (("fake", "fake"), ("baseline_train", "train")):
        vals = np.array([fid(d["test"], d[key]) for d in draws])
        assert out[role]["fid_std"] == pytest.approx(vals.std(ddof=1), rel=1e-12, abs=1e-15)
        assert out[role]["fid_std"] > 0
        assert out[role]["fid_spread_method"] == "bootstrap" and out[role]["fid_resamples"] == 6
        assert (out[role]["n_fake"], out[role]["n_real"]) == (60, 80)


def test_ddm_headline_matches_ddm_summary_and_std_recomputed_by_hand():
    test, fake, train = _features(0, 50, 3), _features(1, 40, 3, 1.0), _features(2, 40, 3)
    out = ddm_with_spread(train, test, fake, resamples=5, seed=1)
    ref = ddm_summary(train, test, fake)
    for key in ("ddm", "ddm_relative", "ddm_sum"):
        assert out["fake"][key] == pytest.approx(ref[key], rel=1e-12)
    assert out["baseline_train"]["ddm"] == pytest.approx(ref["ddm_train"], rel=1e-12)
    draws = _by_hand({"test": test, "fake": fake, "train": train}, 5, 1)
    g = np.array([ddm(d["test"], d["fake"]) for d in draws])
    r = np.array([ddm(d["test"], d["train"]) for d in draws])
    assert out["fake"]["ddm_std"] == pytest.approx(g.std(ddof=1), rel=1e-10)
    assert out["baseline_train"]["ddm_std"] == pytest.approx(r.std(ddof=1), rel=1e-10)
    assert out["fake"]["ddm_relative_std"] == pytest.approx((g - r).std(ddof=1), rel=1e-10)
    assert out["fake"]["ddm_spread_method"] == "bootstrap"
    assert (out["fake"]["n_fake"], out["fake"]["n_real"]) == (40, 50)


def test_spread_is_seeded_and_shrinks_with_more_samples():
    small = fid_with_spread(_features(0, 40, 2), _features(1, 40, 2, 0.3), resamples=20)["fake"]["fid_std"]
    again = fid_with_spread(_features(0, 40, 2), _features(1, 40, 2, 0.3), resamples=20)["fake"]["fid_std"]
    large = fid_with_spread(_features(0, 4000, 2), _features(1, 4000, 2, 0.3), resamples=20)["fake"]["fid_std"]
    assert small == again
    assert 0 < large < small / 3  # ~1/sqrt(N): 10× fewer std at 100× the samples, checked loosely


def test_fid_needs_more_samples_than_dimensions():
    check_fid_samples(5, 4)
    with pytest.raises(ConfigError, match=r"N > D.*got N=4 for D=4; pass at least 5 samples \(--n 5\)"):
        check_fid_samples(4, 4)
    with pytest.raises(ConfigError, match="more fake samples than feature dimensions"):
        fid_with_spread(_features(0, 20, 8), _features(1, 8, 8))


def test_bootstrap_needs_two_resamples():
    with pytest.raises(ConfigError, match="at least 2 resamples"):
        bootstrap_std(lambda x: {"m": float(x.mean())}, {"x": torch.zeros(3, 1)}, resamples=1)


def test_evaluate_reports_spreads_and_counts_beside_unchanged_headlines():
    from ganforge.data import load_dataset
    from ganforge.metrics.evaluate import EvalRequest, evaluate

    fake = load_dataset("ring8", "test", n=300, seed=7).images
    out = evaluate(fake, None, EvalRequest(dataset="ring8", n=300, metrics=("ddm", "fid", "kid")))
    for role in ("fake", "baseline_train"):
        entry = out[role]
        assert entry["fid_spread_method"] == entry["ddm_spread_method"] == "bootstrap"
        assert entry["fid_resamples"] == entry["ddm_resamples"] == 10
        assert entry["fid_std"] > 0 and entry["ddm_std"] > 0 and entry["kid_std"] > 0
        assert (entry["n_fake"], entry["n_real"]) == (300, out["n_test"])
    assert out["fake"]["ddm_relative_std"] > 0
    assert out["fake"]["ddm_sum"] == pytest.approx(out["fake"]["ddm"] + out["fake"]["ddm_relative"], rel=1e-12)
