"""``ganforge sample --sampler mala``: the class grid through the real entry point, chains of one class,
and one-line errors with exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ganforge.cli import main as cli_main

pytestmark = pytest.mark.precision  # trains through precision auto: make test runs it as both CPU kinds

TINY_PPGN = ["train", "--model", "ppgn", "--dataset", "mnist", "--set", "model.encoder=random",
             "--set", "model.width=0.0625", "--set", "model.warmup=false", "--set", "model.n_critic=1",
             "--set", "train.batch_size=4", "--set", "train.sample_grid=4", "--steps", "2"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ppgn_cli")
    assert cli_main([*TINY_PPGN, "--out", str(root / "ppgn")]) == 0
    toy = ["train", "--preset", "wgan-gp-ring8", "--set", "model.hidden=8", "--set", "train.batch_size=16",
           "--steps", "1", "--out", str(root / "toy")]
    assert cli_main(toy) == 0
    return root


def test_class_grid_png_has_ten_rows_of_n_columns(runs, tmp_path):
    out = tmp_path / "grid.png"
    proc = subprocess.run([sys.executable, "-m", "ganforge", "sample", "--run", str(runs / "ppgn"), "--sampler", "mala",
                           "--class-grid", "3", "--steps", "2", "--grid", str(out)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "10 rows x 3 columns" in proc.stdout
    assert Image.open(out).size == (3 * (28 + 2) + 2, 10 * (28 + 2) + 2)  # 28-px tiles, 2-px padding


def test_chains_of_one_class_to_npz(runs, tmp_path, capsys):
    out = tmp_path / "s.npz"
    args = ["sample", "--run", str(runs / "ppgn"), "--sampler", "mala", "--class", "4", "--n", "5", "--steps", "2",
            "--eps1", "0", "--eps3", "0", "--npz", str(out)]
    assert cli_main(args) == 0
    data = np.load(out)
    assert data["samples"].shape == (5, 1, 28, 28) and data["classes"].tolist() == [4] * 5
    assert np.isfinite(data["samples"]).all()


@pytest.mark.parametrize("extra,message", [
    (["--sampler", "mala", "--class", "10", "--npz", "x.npz"], "--class must be in 0..9"),
    (["--class", "3", "--npz", "x.npz"], "add --sampler mala"),
    (["--sampler", "mala"], "exactly one of --class C"),
    (["--sampler", "mala", "--class-grid", "0"], "--class-grid must be at least 1"),
    (["--sampler", "mala", "--class", "1"], "give one"),
    (["--sampler", "mala", "--class", "1", "--eps2", "-1", "--npz", "x.npz"], "MALA eps2 must be >= 0"),
])
def test_one_line_errors(runs, capsys, extra, message):
    assert cli_main(["sample", "--run", str(runs / "ppgn"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_mala_needs_a_ppgn_run(runs, tmp_path, capsys):
    args = ["sample", "--run", str(runs / "toy"), "--sampler", "mala", "--class-grid", "2",
            "--grid", str(tmp_path / "g.png")]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs a ppgn run" in err and "'wgan-gp'" in err
    assert not (tmp_path / "g.png").exists()
