"""``self_check``: FID and KID of a set against itself ≈ 0, batch-size independence, float64, the N > D rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.metrics import fid, gaussian_stats
from ganforge.metrics.features import embed
from ganforge.metrics.self_check import self_check
from ganforge.nets import MNISTClassifier
from helpers.cli_checks import one_line_error
from helpers.eval_fixtures import ONE_THREAD_ENV, tiny_classifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return MNISTClassifier(width=0.25).eval()


@pytest.fixture(scope="module")
def images():
    return torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1


@pytest.mark.parametrize("embedding", ["logits", "prelogits"])
def test_self_check_passes_on_a_real_classifier_pipeline(net, images, embedding):
    out = self_check(net, images, (-1.0, 1.0), embedding=embedding)
    assert out["pass"] and out["n"] == 200
    checks = out["checks"]
    assert checks["fid_self"]["fid"] == pytest.approx(0.0, abs=1e-6)
    assert abs(checks["kid_self"]["kid"]) <= 3 * checks["kid_self"]["kid_std"] / 10
    assert checks["batch_size"]["batch_sizes"] == [7, 64]
    assert checks["batch_size"]["fid_between"] == pytest.approx(0.0, abs=1e-5)
    assert checks["float64"]["stats_dtypes"] == ["float64"]


def test_features_at_batch_sizes_7_and_64_agree_and_give_the_same_fid(net, images):
    a = embed(net, images, embedding="logits", batch_size=7, pixel_range=(-1.0, 1.0))
    b = embed(net, images, embedding="logits", batch_size=64, pixel_range=(-1.0, 1.0))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    ref = torch.randn(300, 10, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert fid(a, ref) == pytest.approx(fid(b, ref), rel=1e-6)
    mu, sigma = gaussian_stats(a)
    assert mu.dtype == sigma.dtype == np.float64


def test_identity_embedding_on_toy_points():
    points = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    out = self_check(None, points, None, embedding="identity")
    assert out["pass"] and out["feature_dim"] == 2
    assert out["checks"]["batch_size"]["max_abs_feature_diff"] == 0.0


def test_too_few_samples_for_the_feature_dimension_is_one_line(net, images):
    with pytest.raises(ConfigError) as err:
        self_check(net, images[:64], (-1.0, 1.0), embedding="prelogits")  # D = 64
    message = str(err.value)
    assert "\n" not in message and "N > D" in message and "got N=64 for D=64" in message and "--n 65" in message


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", "evaluate", "--self-check", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **ONE_THREAD_ENV, **(env or {})})


def test_cli_self_check_on_toy_points_prints_passing_checks():
    result = _cli("--real", "ring8", "--n", "300")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["pass"] and data["embedding"] == "identity" and data["n"] == 300
    assert data["checks"]["fid_self"]["fid"] == pytest.approx(0.0, abs=1e-9)


def test_cli_self_check_refuses_too_few_samples_in_one_line(tmp_path):
    classifier = tmp_path / "classifier"
    tiny_classifier(classifier, steps=2)
    result = _cli("--real", "mnist", "--n", "20", "--embedding", "prelogits", "--classifier", str(classifier))
    one_line_error(result, "N > D", "got N=20 for D=", "--embedding logits")
