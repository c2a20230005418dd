"""Memory bounded by what was asked, on any input: the real CLI under an address-space cap.

Each command runs in a subprocess limited with ``RLIMIT_AS`` to :data:`CAP` (the CLI, torch included,
runs in ~0.75 GiB here), so a reader that trusts a hostile file's declarations fails with MemoryError
instead of taking the machine; the expected result is one ``ganforge: error:`` line and exit status 2.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers.attack_files import (
    cifar_bomb_pickle,
    object_array_pickle,
    write_gzip_bomb,
    write_lying_npy,
    write_mat_bomb,
    write_npz_bomb,
    write_png_header,
)
from helpers.cli_checks import one_line_error
from helpers.eval_fixtures import require_mnist

CAP = 2 * 2**30  # far below what any of the attacks below would allocate (2.35 GB to 730 GiB)
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


def capped(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m ganforge ARGS`` with its address space capped at CAP."""
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **ONE_THREAD, **(env or {})}, preexec_fn=_limit_memory)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    """A one-step ring8 run with an 8-wide MLP (a few seconds)."""
    run = tmp_path_factory.mktemp("runs") / "toy"
    result = capped("train", "--preset", "wgan-gp-ring8", "--set", "model.hidden=8", "--set", "train.batch_size=16",
                    "--steps", "1", "--out", str(run))
    assert result.returncode == 0, result.stderr
    return run


def test_the_cap_leaves_room_for_an_ordinary_command(toy_run, tmp_path):
    result = capped("sample", "--run", str(toy_run), "--n", "10", "--npz", str(tmp_path / "s.npz"))
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "s.npz")["samples"].shape == (10, 2)


def test_a_200_byte_cifar_batch_declaring_3gb_fails_data_fetch(tmp_path):
    folder = tmp_path / "cifar"
    folder.mkdir()
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        (folder / name).write_bytes(cifar_bomb_pickle())
    result = capped("data", "fetch", "cifar10", "--path", str(folder), env={"GANFORGE_DATA": str(tmp_path / "c")})
    one_line_error(result, "data_batch_1", "(1000000, 3072)", "replace it with the official")
    (folder / "data_batch_1").write_bytes(object_array_pickle())  # segfaulted numpy before
    one_line_error(capped("data", "fetch", "cifar10", "--path", str(folder),
                          env={"GANFORGE_DATA": str(tmp_path / "c")}), "data_batch_1", "not plain numbers")


def test_a_zip_bomb_npz_is_read_only_as_far_as_n(tmp_path):
    bomb = write_npz_bomb(tmp_path / "bomb.npz", (3_000_000, 1, 28, 28), extra={"pixel_range": np.array([0., 1.])})
    empty = {"GANFORGE_DATA": str(tmp_path / "empty-cache")}
    # the 10 samples are read; the command then stops at the missing real data, which proves it got there
    result = capped("evaluate", "--fake", str(bomb), "--dataset", "mnist", "--n", "10", env=empty)
    one_line_error(result, "mnist is not present", "ganforge data fetch mnist")
    result = capped("evaluate", "--fake", str(bomb), "--real", str(bomb), "--dataset", "mnist", "--n", "10", env=empty)
    one_line_error(result, "mnist is not present")


def test_a_zip_bomb_npz_dataset_is_refused_before_inflating(tmp_path):
    bomb = write_npz_bomb(tmp_path / "bomb.npz", (3_000_000, 1, 28, 28), key="images",
                          extra={"labels": np.zeros(3_000_000, np.uint8)})
    one_line_error(capped("data", "info", "npz", "--path", str(bomb)), "bomb.npz:images", "more than 100:1",
                   "ganforge augment")


def test_an_npy_header_declaring_a_billion_images_is_refused(tmp_path):
    lie = write_lying_npy(tmp_path / "lie.npy", (10**9, 1, 28, 28))
    one_line_error(capped("evaluate", "--fake", str(lie), "--dataset", "mnist", "--n", "10"),
                   "lie.npy", "784,000,000,000 bytes", "truncated or forged", "ganforge sample")


def test_decompression_bomb_pngs_are_one_line(tmp_path):
    folder = tmp_path / "fake"
    folder.mkdir()
    write_png_header(folder / "0.png", 100_000, 100_000)
    one_line_error(capped("evaluate", "--fake", str(folder), "--dataset", "mnist", "--n", "10"), "0.png",
                   "--fake folder")
    (folder / "0.png").unlink()
    for i in range(10):  # ten 8000x8000 samples, each under Pillow's limit: 10 GB as floats
        write_png_header(folder / f"{i}.png", 8_000, 8_000)
    one_line_error(capped("evaluate", "--fake", str(folder), "--dataset", "mnist", "--n", "10"), "0.png",
                   "8000x8000 pixels", "4,194,304")
    images = tmp_path / "images" / "cat"
    images.mkdir(parents=True)
    write_png_header(images / "big.png", 10_000, 9_000)
    one_line_error(capped("data", "info", "imagefolder", "--path", str(tmp_path / "images")), "big.png",
                   "10000x9000 pixels")


def test_a_gzip_bomb_idx_file_is_refused_before_inflating(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    rows = 3_000_000  # 2.35 GB of 28x28 images from 2.3 MB
    write_gzip_bomb(folder / "train-images-idx3-ubyte.gz", struct.pack(">I3I", 0x803, rows, 28, 28), rows * 784)
    for name, data in (("train-labels-idx1-ubyte.gz", struct.pack(">II", 0x801, 2) + bytes(2)),
                       ("t10k-images-idx3-ubyte.gz", struct.pack(">I3I", 0x803, 2, 28, 28) + bytes(2 * 784)),
                       ("t10k-labels-idx1-ubyte.gz", struct.pack(">II", 0x801, 2) + bytes(2))):
        (folder / name).write_bytes(gzip.compress(data))
    result = capped("data", "fetch", "mnist", "--path", str(folder), env={"GANFORGE_DATA": str(tmp_path / "c")})
    one_line_error(result, "train-images-idx3-ubyte.gz", "2,352,000,016 bytes", "gzip bomb")


def test_a_compressed_svhn_mat_bomb_is_refused_before_inflating(tmp_path):
    folder = tmp_path / "svhn"
    folder.mkdir()
    for name in ("train_32x32.mat", "test_32x32.mat"):
        write_mat_bomb(folder / name, 1_000_000)  # 3 MB declaring 3 GB
    result = capped("data", "fetch", "svhn", "--path", str(folder), env={"GANFORGE_DATA": str(tmp_path / "c")})
    one_line_error(result, "_32x32.mat", "3,072,000,000 values", "decompression bomb")


def _edited_copy(run: Path, dest: Path, edit) -> Path:
    shutil.copytree(run, dest)
    (state_file,) = dest.glob("checkpoints/*/state.json")
    state = json.loads(state_file.read_text())
    edit(state)
    state_file.write_text(json.dumps(state))
    return dest


def test_an_edited_checkpoint_config_is_refused_before_building_nets(toy_run, tmp_path):
    run = _edited_copy(toy_run, tmp_path / "edited",
                       lambda state: state["meta"]["config"]["model"].update(hidden=200_000))
    message = one_line_error(capped("sample", "--run", str(run), "--n", "10", "--npz", str(tmp_path / "s.npz")),
                             "generator.net.0.weight", "[8, 2]", "[200000, 2]", "edited or damaged")
    assert "--step N" in message and "ls RUN/checkpoints" in message
    one_line_error(capped("train", "--out", str(run), "--resume", "--steps", "2"), "[200000, 2]")
    one_line_error(capped("evaluate", "--run", str(run), "--n", "10", "--real", "ring8"), "[200000, 2]")


def test_an_edited_checkpoint_data_shape_is_refused(toy_run, tmp_path):
    run = _edited_copy(toy_run, tmp_path / "edited",
                       lambda state: state["meta"]["data_shape"].update(shape=[1, 100_000, 100_000]))
    one_line_error(capped("sample", "--run", str(run), "--n", "10", "--npz", str(tmp_path / "s.npz")),
                   "damaged data_shape", "[1, 100000, 100000]")


def test_an_edited_classifier_build_is_refused_before_building_it(tmp_path):
    from ganforge.nets import MNISTClassifier
    from ganforge.train.classifier import save_classifier

    require_mnist()
    folder = tmp_path / "clf"
    save_classifier(MNISTClassifier(width=0.0625), {"architecture": "mnist-classifier", "dataset": "mnist",
                                                    "build": {"width": 0.0625, "num_classes": 10, "in_channels": 1},
                                                    "pixel_range": [-1.0, 1.0], "input_shape": [1, 28, 28]}, folder)
    meta = json.loads((folder / "classifier.json").read_text())
    meta["build"]["width"] = 2000  # the weights' sha256 still matches: only the JSON changed
    (folder / "classifier.json").write_text(json.dumps(meta))
    np.save(tmp_path / "fake.npy", np.zeros((10, 1, 28, 28), np.uint8))
    result = capped("evaluate", "--fake", str(tmp_path / "fake.npy"), "--dataset", "mnist", "--n", "10",
                    "--metrics", "ddm", "--classifier", str(folder), "--no-cache")
    one_line_error(result, "conv1.weight", "[128000, 1, 7, 7]", "[4, 1, 7, 7]", "ganforge classifier train")


def test_an_allocation_beyond_the_cap_is_one_line(toy_run, tmp_path):
    result = capped("sample", "--run", str(toy_run), "--n", "300000000", "--npz", str(tmp_path / "s.npz"))
    one_line_error(result, "out of memory", "--n")
