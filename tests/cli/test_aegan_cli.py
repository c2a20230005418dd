"""``ganforge reconstruct`` and ``ganforge interpolate --between-real`` on tiny AEGAN runs: image sizes,
JSON keys and values, and bad input as one line with exit status 2. The first commands run the real
entry point in a subprocess; the rest call ``ganforge.cli.main`` in-process (the same code, faster)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.cli import main
from ganforge.train.grids import tile
from helpers.cli_checks import in_process_one_line_error as one_line_error
from helpers.data_files import write_idx_mnist

pytestmark = pytest.mark.precision  # trains through precision auto: make test runs it as both CPU kinds

TEST_IMAGES = 10
TILE = 28 + 2  # a 28×28 image and its 2-pixel padding


def ganforge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=240,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """An AEGAN image run (with EMA, through a subprocess), a GAN image run, and AEGAN and GAN toy runs."""
    root = tmp_path_factory.mktemp("aegan-cli")
    tiny = ["--set", f"data.path={write_idx_mnist(root / 'idx', test=TEST_IMAGES)}", "--set", "model.width=4", "--set",
            "model.hidden=8", "--set", "train.batch_size=4", "--steps", "2"]
    out = {name: root / name for name in ("aegan", "gan", "aegan_toy", "gan_toy")}
    result = ganforge("train", "--model", "aegan", "--dataset", "mnist", *tiny, "--set", "model.z_dim=4",
                      "--set", "train.ema=0.5", "--out", str(out["aegan"]))
    assert result.returncode == 0, result.stderr
    assert main(["train", "--model", "gan", "--dataset", "mnist", *tiny, "--out", str(out["gan"])]) == 0
    toy = ["--set", "model.hidden=8", "--set", "train.batch_size=16", "--steps", "1"]
    assert main(["train", "--preset", "aegan-ring8", *toy, "--out", str(out["aegan_toy"])]) == 0
    assert main(["train", "--preset", "gan-ring8", *toy, "--out", str(out["gan_toy"])]) == 0
    return out


def test_reconstruct_writes_pairs_grid_and_json(runs, tmp_path):
    grid, report = tmp_path / "pairs.png", tmp_path / "rec.json"
    result = ganforge("reconstruct", "--run", str(runs["aegan"]), "--n", "10", "--grid", str(grid),
                      "--json", str(report))
    assert result.returncode == 0, result.stderr
    assert Image.open(grid).size == (16 * TILE + 2, 2 * TILE + 2)  # 8 pairs (16 tiles) a row, 10 pairs
    data = json.loads(report.read_text())
    assert data == json.loads(result.stdout)
    assert data.keys() == {"run", "step", "dataset", "split", "n_eval", "mean_l1", "pixel_range", "ema", "grid"}
    assert (data["step"], data["dataset"], data["split"], data["n_eval"]) == (2, "mnist", "test", TEST_IMAGES)
    assert data["pixel_range"] == [-1.0, 1.0] and data["grid"] == str(grid)
    assert 0.0 < data["mean_l1"] <= 2.0  # both images lie in [-1, 1]


def test_reconstruct_mean_l1_equals_a_direct_computation(runs, tmp_path, capsys):
    from ganforge.data import load_dataset
    from ganforge.train.run import open_run

    capsys.readouterr()
    assert main(["reconstruct", "--run", str(runs["aegan"]), "--n-eval", "3", "--ema"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_eval"] == 3 and data["ema"] is True and data["grid"] is None
    session = open_run(runs["aegan"])
    x = load_dataset("mnist", "test", path=session.cfg.data.path).images[:3]
    with torch.no_grad():
        x_tilde = session.ema["generator"](session.ema["encoder"](x))
    expected = (x - x_tilde).abs().mean()
    torch.testing.assert_close(torch.tensor(data["mean_l1"]), expected, rtol=1e-5, atol=1e-7)


def test_reconstruct_on_toy_points_gives_the_mean_only(runs, capsys):
    capsys.readouterr()
    assert main(["reconstruct", "--run", str(runs["aegan_toy"]), "--n-eval", "100"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pixel_range"] is None and data["n_eval"] == 100 and data["mean_l1"] > 0
    one_line_error(capsys, ["reconstruct", "--run", str(runs["aegan_toy"]), "--grid", "x.png"], "2-D points")


def test_interpolate_between_real_images(runs, tmp_path, capsys):
    out = tmp_path / "real.png"
    assert main(["interpolate", "--run", str(runs["aegan"]), "--between-real", "0,3", "--steps", "4",
                 "--out", str(out)]) == 0
    grid = np.asarray(Image.open(out).convert("RGB"))
    assert grid.shape == (2 * TILE + 2, 6 * TILE + 2, 3)  # x_0, 4 decoded points, x_3; lerp and slerp rows
    from ganforge.data import load_dataset

    x = load_dataset("mnist", "test", path=str(runs["aegan"].parent / "idx")).images
    ends = tile(x[[0, 3]], nrow=2)  # the two real images, drawn the same way
    for row in (0, 1):
        top = row * TILE
        assert np.array_equal(grid[top:top + TILE + 2, :TILE + 2], ends[:, :TILE + 2]), row
        assert np.array_equal(grid[top + 2:top + TILE, -TILE:-2], ends[2:TILE, -TILE:-2]), row


def test_bad_input_is_one_line(runs, capsys):
    aegan, gan = str(runs["aegan"]), str(runs["gan"])
    result = ganforge("reconstruct", "--run", gan)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "needs a run with an encoder" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    one_line_error(capsys, ["interpolate", "--run", gan, "--between-real", "0,1", "--out", "x.png"],
                   "--between-real", "encoder", "'gan'")
    one_line_error(capsys, ["interpolate", "--run", aegan, "--between-real", "0,10", "--out", "x.png"],
                   "index 10 is out of range", f"{TEST_IMAGES} images")
    for bad in ("3", "a,b", "1,2,3", "1, x"):
        one_line_error(capsys, ["interpolate", "--run", aegan, "--between-real", bad, "--out", "x.png"],
                       "is not I,J")
    one_line_error(capsys, ["interpolate", "--run", aegan, "--between-real", "0,1", "--steps", "1",
                            "--out", "x.png"], "--steps")
    one_line_error(capsys, ["interpolate", "--run", str(runs["gan_toy"]), "--between-real", "0,1",
                            "--out", "x.png"], "2-D points")
    one_line_error(capsys, ["reconstruct", "--run", aegan, "--n-eval", "11"], "--n-eval", "between 1 and 10")
    one_line_error(capsys, ["reconstruct", "--run", aegan, "--n", "0", "--grid", "x.png"], "--n ")
    one_line_error(capsys, ["reconstruct", "--run", str(runs["gan_toy"])], "needs a run with an encoder")
    one_line_error(capsys, ["reconstruct", "--run", str(runs["aegan_toy"]), "--ema"], "--ema")


def test_the_encoder_modes_by_name_write_what_their_older_commands_write(runs, tmp_path, capsys):
    aegan = str(runs["aegan"])
    assert main(["reconstruct", "--run", aegan, "--n", "4", "--n-eval", "3", "--grid", str(tmp_path / "a.png")]) == 0
    old = json.loads(capsys.readouterr().out)
    assert main(["sample", "--mode", "reconstruct", "--run", aegan, "--n", "4", "--n-eval", "3", "--grid",
                 str(tmp_path / "b.png")]) == 0
    new = json.loads(capsys.readouterr().out)
    assert {**old, "grid": None} == {**new, "grid": None}
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert main(["interpolate", "--run", aegan, "--between-real", "0,3", "--steps", "4",
                 "--out", str(tmp_path / "c.png")]) == 0
    assert main(["sample", "--run", aegan, "--mode", "between-real", "--between-real", "0,3", "--steps", "4",
                 "--grid", str(tmp_path / "d.png")]) == 0
    assert (tmp_path / "c.png").read_bytes() == (tmp_path / "d.png").read_bytes()
    one_line_error(capsys, ["sample", "--run", aegan, "--mode", "between-real"], "needs --between-real I,J")
