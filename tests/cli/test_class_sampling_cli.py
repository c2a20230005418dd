"""``ganforge sample`` on class-conditional runs: PPGN-h through ``--sampler mala`` (chains of one class) and the
Stacked GAN top-down (``--class C`` / ``--class-grid N``). The class grid runs through the real entry point in a
subprocess, the rest in-process; ``ganforge evaluate`` on the Stacked GAN's samples; one-line errors (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.cli import main as cli_main
from ganforge.nets import MNISTClassifier
from ganforge.train.classifier import save_classifier
from ganforge.train.run import open_run

pytestmark = pytest.mark.precision  # trains through precision auto: make test runs it as both CPU kinds

TINY_PPGN = ["train", "--model", "ppgn", "--dataset", "mnist", "--set", "model.encoder=random",
             "--set", "model.width=0.0625", "--set", "model.warmup=false", "--set", "model.n_critic=1",
             "--set", "train.batch_size=4", "--set", "train.sample_grid=4", "--steps", "2"]
TINY_STACKGAN = ["train", "--model", "stackgan", "--dataset", "mnist", "--set", "model.encoder=random", "--set",
                 "model.encoder_width=0.0625", "--set", "model.width=0.0625", "--set", "model.noise_0=4", "--set",
                 "model.noise_1=4", "--set", "train.batch_size=4", "--set", "train.sample_grid=10", "--steps", "2"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 2-step PPGN-h run, a 2-step Stacked GAN run and a 1-step ring8 WGAN-GP run, in root/<name>."""
    root = tmp_path_factory.mktemp("class_sampling_cli")
    assert cli_main([*TINY_PPGN, "--out", str(root / "ppgn")]) == 0
    assert cli_main([*TINY_STACKGAN, "--out", str(root / "stackgan")]) == 0
    toy = ["train", "--preset", "wgan-gp-ring8", "--set", "model.hidden=8", "--set", "train.batch_size=16",
           "--steps", "1", "--out", str(root / "toy")]
    assert cli_main(toy) == 0
    return root


@pytest.mark.parametrize("model, sampler", [("ppgn", ["--sampler", "mala", "--steps", "2"]), ("stackgan", [])],
                         ids=["ppgn", "stackgan"])
def test_class_grid_png_has_ten_rows_of_n_columns(runs, tmp_path, model, sampler):
    out = tmp_path / "grid.png"
    proc = subprocess.run([sys.executable, "-m", "ganforge", "sample", "--run", str(runs / model), *sampler,
                           "--class-grid", "3", "--grid", str(out)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "10 rows x 3 columns" in proc.stdout
    assert Image.open(out).size == (3 * (28 + 2) + 2, 10 * (28 + 2) + 2)  # 28-px tiles, 2-px padding


def test_mala_chains_of_one_class_to_npz(runs, tmp_path, capsys):
    out = tmp_path / "s.npz"
    args = ["sample", "--run", str(runs / "ppgn"), "--sampler", "mala", "--class", "4", "--n", "5", "--steps", "2",
            "--eps1", "0", "--eps3", "0", "--npz", str(out)]
    assert cli_main(args) == 0
    data = np.load(out)
    assert data["samples"].shape == (5, 1, 28, 28) and data["classes"].tolist() == [4] * 5
    assert np.isfinite(data["samples"]).all()


def test_stackgan_samples_of_one_class_to_npz(runs, tmp_path):
    out = tmp_path / "s.npz"
    assert cli_main(["sample", "--run", str(runs / "stackgan"), "--class", "4", "--n", "5", "--seed", "7",
                     "--npz", str(out)]) == 0
    data = np.load(out)
    assert data["samples"].shape == (5, 1, 28, 28) and data["classes"].tolist() == [4] * 5
    session = open_run(runs / "stackgan")
    with torch.no_grad():
        expected = session.spec.sample_classes(session.nets, session.cfg, torch.full((5,), 4),
                                               torch.Generator().manual_seed(7))
    np.testing.assert_allclose(data["samples"], expected.numpy(), rtol=1e-5, atol=1e-6)  # the eval-mode nets
    other = tmp_path / "t.npz"
    assert cli_main(["sample", "--run", str(runs / "stackgan"), "--class", "5", "--n", "5", "--seed", "7",
                     "--npz", str(other)]) == 0
    assert not np.allclose(np.load(other)["samples"], data["samples"])  # same noise, another class


def test_evaluate_runs_on_the_stackgan_top_down_samples(runs, tmp_path):
    classifier = tmp_path / "classifier"
    meta = {"architecture": "mnist-classifier", "build": {"width": 0.0625, "num_classes": 10, "in_channels": 1},
            "dataset": "mnist", "pixel_range": [-1.0, 1.0]}
    torch.manual_seed(0)
    save_classifier(MNISTClassifier(width=0.0625), meta, classifier)
    out = tmp_path / "metrics.json"
    assert cli_main(["evaluate", "--run", str(runs / "stackgan"), "--metrics", "ddm,modes", "--n", "40",
                     "--classifier", str(classifier), "--no-cache", "--json", str(out)]) == 0
    fake = json.loads(out.read_text())["fake"]
    assert np.isfinite(fake["ddm"]) and fake["ddm"] >= 0
    assert fake["modes"]["num_classes"] == 10 and 1 <= fake["modes"]["classes_covered"] <= 10


@pytest.mark.parametrize("model, extra, message", [
    ("ppgn", ["--sampler", "mala", "--class", "10", "--npz", "x.npz"], "--class must be in 0..9"),
    ("ppgn", ["--class", "3", "--npz", "x.npz"], "add --sampler mala"),
    ("ppgn", ["--sampler", "mala"], "exactly one of --class C"),
    ("ppgn", ["--sampler", "mala", "--class-grid", "0"], "--class-grid must be at least 1"),
    ("ppgn", ["--sampler", "mala", "--class", "1"], "give one"),
    ("ppgn", ["--sampler", "mala", "--class", "1", "--eps2", "-1", "--npz", "x.npz"], "MALA eps2 must be >= 0"),
    ("stackgan", ["--class", "10", "--npz", "x.npz"], "--class must be in 0..9"),
    ("stackgan", ["--class", "1"], "give one"),
    ("stackgan", ["--class-grid", "0"], "--class-grid must be at least 1"),
    ("stackgan", ["--class", "1", "--class-grid", "2"], "not both"),
    ("stackgan", ["--class", "1", "--n", "0", "--npz", "x.npz"], "--n must be at least 1"),
    ("stackgan", ["--class-grid", "2", "--ema"], "no EMA generator"),
])
def test_one_line_errors(runs, capsys, model, extra, message):
    assert cli_main(["sample", "--run", str(runs / model), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_mala_needs_a_ppgn_run(runs, tmp_path, capsys):
    args = ["sample", "--run", str(runs / "toy"), "--sampler", "mala", "--class-grid", "2",
            "--grid", str(tmp_path / "g.png")]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs a ppgn run" in err and "'wgan-gp'" in err
    assert not (tmp_path / "g.png").exists()


def test_class_options_need_a_class_conditional_run(runs, tmp_path, capsys):
    args = ["sample", "--run", str(runs / "toy"), "--class-grid", "2", "--grid", str(tmp_path / "g.png")]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'wgan-gp' run does not define" in err and "stackgan" in err
    assert not (tmp_path / "g.png").exists()
    assert cli_main(["interpolate", "--run", str(runs / "stackgan"), "--out", str(tmp_path / "i.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no single latent" in err
