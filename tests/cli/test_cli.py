"""The real `ganforge` entry point in a subprocess: commands, and bad input → one line, exit 2."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

pytestmark = pytest.mark.precision  # trains through precision auto: make test runs it as both CPU kinds


def ganforge(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def idx_file(path: Path, array: np.ndarray, magic_dims: int | None = None) -> None:
    dims = array.ndim if magic_dims is None else magic_dims
    header = bytes([0, 0, 8, dims]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def write_idx_dir(folder: Path, n: int = 6) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        idx_file(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        idx_file(folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))


def test_version_and_help():
    result = ganforge("--version")
    assert result.returncode == 0 and result.stdout.startswith("ganforge ")
    result = ganforge("--help")
    for command in ("data", "config", "models", "train", "sample", "interpolate", "demo"):
        assert command in result.stdout


def test_data_list_and_info():
    listed = ganforge("data", "list").stdout.split()
    for name in ("mnist", "fashion-mnist", "cifar10", "svhn", "imagefolder", "ring8", "grid25", "swissroll"):
        assert name in listed
    info = ganforge("data", "info", "cifar10", "--json")
    assert info.returncode == 0
    assert '"shape": [\n    3,\n    32,\n    32\n  ]' in info.stdout and "--path DIR" in info.stdout


def test_missing_dataset_names_the_command_that_gets_it(tmp_path):
    env = {"GANFORGE_DATA": str(tmp_path / "empty")}
    result = ganforge("train", "--model", "gan", "--dataset", "mnist", "--steps", "1", "--out",
                      str(tmp_path / "run"), env=env)
    assert_one_line_error(result, "mnist", "ganforge data fetch mnist")
    debug = ganforge("--debug", "train", "--model", "gan", "--dataset", "mnist", "--steps", "1", "--out",
                     str(tmp_path / "run"), env=env)
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_idx_directory_is_imported_and_bad_idx_refused(tmp_path):
    env = {"GANFORGE_DATA": str(tmp_path / "cache")}
    good = tmp_path / "idx"
    write_idx_dir(good)
    fetched = ganforge("data", "fetch", "mnist", "--path", str(good), env=env)
    assert fetched.returncode == 0, fetched.stderr
    bad = tmp_path / "bad"
    write_idx_dir(bad)
    idx_file(bad / "train-images-idx3-ubyte.gz", np.zeros((6, 28, 28)), magic_dims=2)
    assert_one_line_error(ganforge("data", "fetch", "mnist", "--path", str(bad), env=env), "train-images")
    truncated = bad / "train-images-idx3-ubyte.gz"
    write_idx_dir(tmp_path / "trunc")
    data = gzip.decompress((tmp_path / "trunc" / truncated.name).read_bytes())
    (tmp_path / "trunc" / truncated.name).write_bytes(gzip.compress(data[:-5]))
    assert_one_line_error(ganforge("data", "fetch", "mnist", "--path", str(tmp_path / "trunc"), env=env))


class _Evil:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_crafted_cifar_pickle_is_refused_without_running(tmp_path):
    folder = tmp_path / "cifar"
    folder.mkdir()
    target = tmp_path / "pwned"
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (folder / name).write_bytes(pickle.dumps({b"data": _Evil(target), b"labels": [0]}))
    result = ganforge("data", "fetch", "cifar10", "--path", str(folder),
                      env={"GANFORGE_DATA": str(tmp_path / "cache")})
    assert_one_line_error(result)
    assert not target.exists()


def test_corrupt_mat_and_unreadable_image_are_named(tmp_path):
    svhn = tmp_path / "svhn"
    svhn.mkdir()
    for split in ("train", "test"):
        (svhn / f"{split}_32x32.mat").write_bytes(b"MATLAB 5.0 MAT-file garbage" * 10)
    env = {"GANFORGE_DATA": str(tmp_path / "cache")}
    assert_one_line_error(ganforge("data", "fetch", "svhn", "--path", str(svhn), env=env), "_32x32.mat")
    folder = tmp_path / "images" / "cats"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "ok.png")
    (folder / "broken.png").write_bytes(b"not a png")
    result = ganforge("train", "--model", "gan", "--dataset", "imagefolder", "--set",
                      f"data.path={tmp_path / 'images'}", "--set", "data.image_size=28", "--steps", "1",
                      "--out", str(tmp_path / "run"), env=env)
    assert_one_line_error(result, "broken.png")


def test_config_show_and_config_errors():
    shown = ganforge("config", "show", "--preset", "wgan-gp-mnist", "--set", "train.steps=7")
    assert shown.returncode == 0
    data = yaml.safe_load(shown.stdout)
    assert data["train"]["steps"] == 7 and data["model"]["net"] == "wgan-gp-mnist"
    assert_one_line_error(ganforge("config", "show", "--set", "train.bach_size=3"), "train.bach_size",
                          "batch_size")
    assert_one_line_error(ganforge("config", "show", "--set", "train.steps=ten"), "train.steps", "int")
    assert_one_line_error(ganforge("config", "show", "--preset", "nope"), "wgan-gp-mnist")
    assert_one_line_error(ganforge("train", "--preset", "gan-mnist", "--model", "gan", "--out", "x"), "--preset")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("toy") / "run"
    result = ganforge("train", "--preset", "wgan-gp-ring8", "--steps", "3", "--set", "model.hidden=16",
                      "--set", "train.ema=0.5", "--out", str(run))
    assert result.returncode == 0, result.stderr
    return run


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("img") / "run"
    result = ganforge("train", "--model", "wgan-gp", "--dataset", "mnist", "--steps", "2", "--set",
                      "model.width=4", "--set", "train.batch_size=8", "--out", str(run))
    assert result.returncode == 0, result.stderr
    return run


def test_default_net_on_images_builds_and_records_the_dcgan(image_run):
    import json

    from safetensors.torch import load_file

    assert yaml.safe_load((image_run / "config.yaml").read_text())["model"]["net"] == "dcgan"  # was auto
    assert json.loads((image_run / "summary.json").read_text())["net"] == "dcgan"
    weights = load_file(str(image_run / "checkpoints" / "00000002" / "modules.safetensors"))
    assert any(k.startswith("generator.") and v.dim() == 4 for k, v in weights.items())  # transposed convolutions


def test_sample_needs_only_the_run_folder(toy_run, image_run, tmp_path):
    env = {"GANFORGE_DATA": str(tmp_path / "no-data-here")}
    npz = tmp_path / "s.npz"
    result = ganforge("sample", "--run", str(image_run), "--n", "10", "--grid", str(tmp_path / "g.png"),
                      "--npz", str(npz), "--seed", "3", env=env)
    assert result.returncode == 0, result.stderr
    samples = np.load(npz)["samples"]
    assert samples.shape == (10, 1, 28, 28) and samples.min() >= -1 and samples.max() <= 1
    assert Image.open(tmp_path / "g.png").size[0] > 28 * 3
    again = tmp_path / "again.npz"
    ganforge("sample", "--run", str(image_run), "--n", "10", "--npz", str(again), "--seed", "3", env=env)
    # Same seed, same samples. Across processes a busy CPU can make ATen split an elementwise kernel
    # (the final tanh) differently, which moves a value by one float ulp; measured max 9.5e-8.
    np.testing.assert_allclose(np.load(again)["samples"], samples, rtol=0, atol=1e-6)
    ema = ganforge("sample", "--run", str(toy_run), "--n", "5", "--npz", str(tmp_path / "t.npz"), "--ema")
    assert ema.returncode == 0 and np.load(tmp_path / "t.npz")["samples"].shape == (5, 2)
    assert_one_line_error(ganforge("sample", "--run", str(image_run), "--ema", "--n", "2"), "--ema")
    assert_one_line_error(ganforge("sample", "--run", str(tmp_path / "nothing")), "run folder")


def test_interpolate_writes_lerp_and_slerp_rows(image_run, tmp_path):
    out = tmp_path / "interp.png"
    result = ganforge("interpolate", "--run", str(image_run), "--steps", "5", "--pairs", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    width, height = Image.open(out).size
    assert (width, height) == (5 * 30 + 2, 4 * 30 + 2)


def test_checkpoint_from_another_model_is_refused(image_run, tmp_path):
    from ganforge.train.checkpoint import latest_checkpoint

    ckpt = latest_checkpoint(image_run)
    state = ckpt / "state.json"
    text = state.read_text()
    assert '"width": 4' in text
    state.write_text(text.replace('"width": 4', '"width": 8'))  # config of a wider model, weights of this one
    try:
        result = ganforge("sample", "--run", str(image_run), "--n", "2")
        assert_one_line_error(result, str(ckpt))
    finally:
        state.write_text(text)
