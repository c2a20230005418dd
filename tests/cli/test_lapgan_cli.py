"""``ganforge sample --levels`` and ``--lapgan-levels`` on tiny LAPGAN runs: the level grid's size, levels
trained alone assembled into one pyramid, and bad input as one line with exit status 2. The first command
runs the real entry point in a subprocess; the rest call ``ganforge.cli.main`` in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.cli import main
from ganforge.train.run import open_run
from ganforge.variants.lapgan_sampling import load_level_generators
from helpers.cli_checks import in_process_one_line_error as one_line_error
from helpers.data_files import write_idx_mnist

pytestmark = pytest.mark.precision  # trains through precision auto: make test runs it as both CPU kinds

TILE = 28 + 2  # a 28×28 image and its 2-pixel padding
TINY = ["--set", "model.width=4", "--set", "model.hidden_g=8", "--set", "model.hidden_d=6", "--set", "model.z_dim=3",
        "--set", "train.batch_size=4", "--set", "train.sample_grid=4", "--steps", "2"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A lapgan-mnist run of every level (with EMA), one run per level trained alone, a run of a wider
    pyramid and a GAN run."""
    root = tmp_path_factory.mktemp("lapgan-cli")
    data = ["--set", f"data.path={write_idx_mnist(root / 'idx')}"]
    out = {name: root / name for name in ("all", "level0", "level1", "level2", "wide", "gan")}
    common = ["train", "--preset", "lapgan-mnist", *data, *TINY]
    assert main([*common, "--set", "train.ema=0.5", "--out", str(out["all"])]) == 0
    for k in range(3):
        assert main([*common, "--set", f"model.level={k}", "--out", str(out[f"level{k}"])]) == 0
    assert main([*common, "--set", "model.level=1", "--set", "model.width=5", "--out", str(out["wide"])]) == 0
    assert main(["train", "--model", "gan", "--dataset", "mnist", *data, "--set", "model.width=4", "--set",
                 "train.batch_size=4", "--steps", "1", "--out", str(out["gan"])]) == 0
    return out


def test_levels_grid_has_one_row_per_level(runs, tmp_path):
    grid, levels = tmp_path / "final.png", tmp_path / "levels.png"
    result = subprocess.run([sys.executable, "-m", "ganforge", "sample", "--run", str(runs["all"]), "--n", "5",
                             "--ema", "--levels", str(levels), "--grid", str(grid)], capture_output=True, text=True,
                            timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert Image.open(levels).size == (5 * TILE + 2, 3 * TILE + 2)  # 5 samples a row; rows 7×7, 14×14, 28×28
    assert Image.open(grid).size == (3 * TILE + 2, 2 * TILE + 2)  # the final samples only: ceil(sqrt(5)) a row
    assert f"levels (3 rows, coarse to fine, x 5 samples): {levels}" in result.stdout


def test_levels_trained_alone_assemble_into_one_pyramid(runs):
    session = open_run(runs["level0"])
    load_level_generators(session.nets["generator"], [str(runs[f"level{k}"]) for k in range(3)], session, ema=False)
    for k in range(3):
        donor = open_run(runs[f"level{k}"]).nets["generator"].levels[k].state_dict()
        got = session.nets["generator"].levels[k].state_dict()
        assert all(torch.equal(got[key], donor[key]) for key in donor), k
    first = open_run(runs["level0"]).nets["generator"].levels[1].state_dict()
    assert any(not torch.equal(first[key], got[key]) for key in first)  # level 1 really came from level1/


def test_assembling_one_runs_levels_reproduces_its_samples(runs, tmp_path):
    own, assembled = tmp_path / "own.npz", tmp_path / "assembled.npz"
    assert main(["sample", "--run", str(runs["all"]), "--n", "6", "--npz", str(own)]) == 0
    every = ",".join([str(runs["all"])] * 3)
    assert main(["sample", "--run", str(runs["level0"]), "--lapgan-levels", every, "--n", "6", "--npz",
                 str(assembled), "--levels", str(tmp_path / "levels.png")]) == 0
    a, b = np.load(own)["samples"], np.load(assembled)["samples"]
    assert a.shape == (6, 1, 28, 28) and np.array_equal(a, b)
    assert Image.open(tmp_path / "levels.png").size == (6 * TILE + 2, 3 * TILE + 2)


def test_levels_npz_brings_every_level_to_full_size_with_the_pyramids_u(runs, tmp_path):
    """PREFIX-level<k>.npz holds u^k(I~_k): level 0 is the final sample, level k the level-k sample upsampled
    k times by the pyramid's u, recomputed here from sample_levels with the same seed."""
    from ganforge.data.transforms import pyramid_up
    from ganforge.variants.lapgan import sample_levels

    prefix, final = tmp_path / "lv", tmp_path / "final.npz"
    assert main(["sample", "--run", str(runs["all"]), "--n", "5", "--seed", "3", "--npz", str(final),
                 "--levels-npz", str(prefix)]) == 0
    session = open_run(runs["all"])
    with torch.no_grad():
        levels = sample_levels(session.nets, session.cfg, 5, generator=torch.Generator().manual_seed(3))
    sigma = session.cfg.model.blur_sigma
    expected = [levels[0], pyramid_up(levels[1], sigma), pyramid_up(pyramid_up(levels[2], sigma), sigma)]
    for k, want in enumerate(expected):
        got = np.load(f"{prefix}-level{k}.npz")
        assert got["samples"].shape == (5, 1, 28, 28) and list(got["pixel_range"]) == [-1.0, 1.0]
        torch.testing.assert_close(torch.from_numpy(got["samples"]), want, rtol=1e-5, atol=1e-6)
    assert np.array_equal(np.load(f"{prefix}-level0.npz")["samples"], np.load(final)["samples"])
    assert not np.allclose(expected[2].numpy(), expected[1].numpy())  # the levels differ


def test_bad_input_is_one_line_with_exit_status_2(runs, capsys, tmp_path):
    png = str(tmp_path / "x.png")
    level = [str(runs[f"level{k}"]) for k in range(3)]
    one_line_error(capsys, ["sample", "--run", str(runs["gan"]), "--levels", png], "need a lapgan run", "'gan'")
    one_line_error(capsys, ["sample", "--run", level[0], "--lapgan-levels", ",".join(level[:2])], "needs 3 runs")
    one_line_error(capsys, ["sample", "--run", level[0], "--lapgan-levels", ",".join([level[1], level[0], level[2]])],
                   "trained level 1, not level 0")
    missing = str(tmp_path / "nope")
    one_line_error(capsys, ["sample", "--run", level[0], "--lapgan-levels", f"{level[0]},{missing},{level[2]}"],
                   "not a run folder")
    one_line_error(capsys, ["sample", "--run", level[0], "--lapgan-levels", f"{level[0]},{runs['wide']},{level[2]}"],
                   "model.width=5")
    one_line_error(capsys, ["sample", "--run", level[0], "--lapgan-levels", f"{level[0]},{runs['gan']},{level[2]}"],
                   "not a lapgan run")
    one_line_error(capsys, ["sample", "--run", level[0], "--levels", png, "--ema"], "no EMA generator")
    one_line_error(capsys, ["sample", "--run", level[0], "--levels", png, "--n", "0"], "--n must be at least 1")
    one_line_error(capsys, ["sample", "--run", missing, "--levels", png], "not found")
    assert not Path(png).exists()
