"""Contract over every METRICS entry: numpy and torch inputs agree, tiling changes nothing, API is exported."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import ganforge.metrics as metrics
from ganforge.metrics import METRICS

RNG = np.random.default_rng(0)
TRAIN, TEST, GEN = (RNG.normal(size=(60, 5)) + s for s in (0.0, 0.1, 0.5))

# registry name -> positional feature arguments and extra keyword arguments for a small call
CALLS = {
    "ddm": ((TEST, GEN), {}),
    "ddm_relative": ((TRAIN, TEST, GEN), {}),
    "ddm_sum": ((TRAIN, TEST, GEN), {}),
    "inception_score": ((GEN,), {"splits": 5}),
    "fid": ((TEST, GEN), {}),
    "kid": ((TEST, GEN), {"subsets": 4, "subset_size": 30}),
    "parzen": ((GEN, TEST), {"sigma": 0.5}),
}


def test_every_registered_metric_has_a_contract_call():
    assert set(METRICS.names()) == set(CALLS)
    assert BLOCKED == ["ddm", "ddm_relative", "ddm_sum", "parzen"]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_numpy_torch_and_float32_inputs_agree(name):
    fn = METRICS.get(name)
    args, kwargs = CALLS[name]
    from_numpy = np.atleast_1d(fn(*args, **kwargs))
    from_torch = np.atleast_1d(fn(*(torch.from_numpy(a) for a in args), **kwargs))
    np.testing.assert_array_equal(from_numpy, from_torch)
    rounded = [a.astype(np.float32) for a in args]
    np.testing.assert_array_equal(np.atleast_1d(fn(*rounded, **kwargs)),
                                  np.atleast_1d(fn(*(torch.from_numpy(a) for a in rounded), **kwargs)))
    assert np.all(np.isfinite(from_numpy))


BLOCKED = [n for n in sorted(CALLS) if "block_size" in inspect.signature(METRICS.get(n)).parameters]


@pytest.mark.parametrize("name", BLOCKED)
def test_block_size_changes_nothing(name):
    fn = METRICS.get(name)
    args, kwargs = CALLS[name]
    values = [np.atleast_1d(fn(*args, **kwargs, block_size=b)) for b in (None, 1, (7, 3), (100, 100))]
    # DDM sums each tile in float32 (metrics.pairwise step 4): tile shapes move it by ~1e-8 relative.
    tol = {"rtol": 1e-7, "atol": 1e-7} if name.startswith("ddm") else {"rtol": 1e-13}
    for v in values[1:]:
        np.testing.assert_allclose(v, values[0], **tol)


def test_public_api_is_explicit():
    for name in metrics.__all__:
        assert getattr(metrics, name) is not None
    assert {"ddm", "ddm_relative", "ddm_sum", "inception_score", "fid", "gaussian_stats", "fid_from_stats", "kid",
            "parzen_log_likelihood", "parzen_select_sigma", "parzen_sigma_scores", "METRICS"} <= set(metrics.__all__)
