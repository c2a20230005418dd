"""The DDM paper's experiments on real MNIST with a tiny classifier: their files, their numbers, their checks."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.experiments.corruptions import corrupt, corruptions
from ganforge.experiments.missing_modes import missing_modes, replicated_indices
from ganforge.experiments.real_features import Embedder
from ganforge.metrics import ddm
from helpers.eval_fixtures import ONE_THREAD_ENV, private_mnist_cache, tiny_classifier


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A private data cache (real MNIST linked in, features cached there) and a tiny classifier."""
    root = tmp_path_factory.mktemp("experiments")
    with private_mnist_cache(root) as cache:
        tiny_classifier(root / "clf", steps=150)
        yield {"classifier": str(root / "clf"), "cache": cache, "root": root}


def test_replicated_indices_use_n_distinct_items_evenly():
    idx = replicated_indices(1000, 30, np.random.default_rng(0))
    counts = np.bincount(idx, minlength=1000)
    assert len(idx) == 1000 and (counts > 0).sum() == 30 and set(counts[counts > 0]) <= {33, 34}
    assert not np.array_equal(idx[:30], np.sort(idx[:30]))  # shuffled, not blocks


def test_missing_modes_writes_its_files_and_ddm_keeps_improving(env, tmp_path):
    out = tmp_path / "mm"
    s = missing_modes("mnist", out, n_values=(10, 100, 1000), repeats=2, n_test=500, train_size=3000,
                      classifier=env["classifier"], log=lambda line: None)
    rows = list(csv.DictReader((out / "missing_modes.csv").open()))
    assert [(int(r["n"]), int(r["repeat"])) for r in rows] == [(n, r) for n in (10, 100, 1000) for r in (0, 1)]
    assert json.loads((out / "missing_modes.json").read_text())["per_n"].keys() == {"10", "100", "1000"}
    assert Image.open(out / "missing_modes.png").size[0] > 400
    means = [s["per_n"][k]["ddm_mean"] for k in ("10", "100", "1000")]
    assert means[0] > means[1] > means[2] > s["reference_train"]["ddm"] and s["ddm_keeps_improving"]
    assert s["score_saturation"] == pytest.approx(1.0)  # n = 1000 is the largest n here
    assert s["per_n"]["10"]["score_mean"] < s["per_n"]["1000"]["score_mean"]  # 10 images miss classes
    # Replication leaves DDM unchanged: the replicated set's DDM is that of its n distinct images (to DDM's
    # float32 tile sums, ~1e-8 relative: the copies change the rounding, not the value).
    embed = Embedder.load("mnist", env["classifier"])
    _, test_f, _ = embed.real("test", 500, 0)
    _, train_f, _ = embed.real("train", 3000, 0)
    idx = replicated_indices(3000, 100, np.random.default_rng([0, 100, 1]))
    assert float(rows[3]["ddm"]) == pytest.approx(ddm(test_f, train_f[np.unique(idx)]), rel=1e-7)


def test_corruptions_raise_ddm_monotonically(env, tmp_path):
    out = tmp_path / "co"
    levels = {"gaussian": (0.0, 0.2, 0.5), "uniform": (0.0, 0.4, 0.8), "blur": (0.0, 1.0, 2.5)}
    s = corruptions("mnist", out, n=400, levels=levels, classifier=env["classifier"], log=lambda line: None)
    rows = list(csv.DictReader((out / "corruptions.csv").open()))
    assert len(rows) == 9 and Image.open(out / "corruptions.png").size[0] > 600
    assert s["all_monotone"] and all(v["ddm_monotone"] for v in s["corruptions"].values())
    clean = [v["ddm"][0] for v in s["corruptions"].values()]
    assert clean == pytest.approx([clean[0]] * 3, rel=1e-12)  # level 0 is the same clean baseline each time
    embed = Embedder.load("mnist", env["classifier"])
    _, test_f, _ = embed.real("test", 400, 0)
    _, train_f, _ = embed.real("train", 400, 0)
    assert clean[0] == pytest.approx(ddm(test_f, train_f), rel=1e-6)


def test_corrupt_keeps_pixels_in_range_and_strength_zero_is_identity():
    x = torch.rand(4, 1, 8, 8)
    gen = torch.Generator().manual_seed(0)
    for kind in ("gaussian", "uniform", "blur"):
        torch.testing.assert_close(corrupt(x, kind, 0.0, gen), x)
        y = corrupt(x, kind, 0.7, gen)
        assert y.min() >= 0 and y.max() <= 1 and (y - x).abs().mean() > 0.01


def _cli(*args: str, env_vars: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **ONE_THREAD_ENV, **env_vars})


def test_cli_experiments_and_their_errors(env, tmp_path):
    vars_ = {"GANFORGE_DATA": str(env["cache"])}
    ok = _cli("experiment", "corruptions", "--classifier", env["classifier"], "--n", "200", "--kinds", "blur",
              "--out", str(tmp_path / "c"), env_vars=vars_)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["corruptions"]["blur"]["strength"] == [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
    for args, needle in ((("corruptions", "--kinds", "fog"), "--kinds 'fog'"),
                         (("missing-modes", "--n-values", "10,x"), "--n-values"),
                         (("missing-modes", "--n-values", "10,99999999"), "must lie in 1..")):
        bad = _cli("experiment", *args, "--classifier", env["classifier"], "--out", str(tmp_path / "bad"),
                   env_vars=vars_)
        lines = bad.stderr.strip().splitlines()
        assert bad.returncode == 2 and len(lines) == 1 and needle in lines[0], bad.stderr
