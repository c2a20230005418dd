"""SVHN: MATLAB v5 files, X 32×32×3×N to (N, 3, 32, 32), label 10 → 0, corrupt files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from ganforge.data import fetch_dataset, load_dataset
from ganforge.errors import DataError
from helpers.data_checks import raises_one_line
from helpers.data_files import write_svhn_mat


def _write(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    write_svhn_mat(folder / "test_32x32.mat", 6, seed=2)
    return write_svhn_mat(folder / "train_32x32.mat", 12, seed=1)


def test_load_transposes_and_maps_label_10_to_0(tmp_path: Path) -> None:
    x, y = _write(tmp_path)
    train = load_dataset("svhn", path=tmp_path, pixel_range=(0, 1))
    assert train.images.shape == (12, 3, 32, 32) and len(load_dataset("svhn", "test", path=tmp_path)) == 6
    n, c, h, w = 3, 1, 4, 9
    assert round(train.images[n, c, h, w].item() * 255) == x[h, w, c, n]
    assert train.labels.tolist() == [int(v) % 10 for v in y.ravel()]
    assert train.labels[9].item() == 0 and y[9, 0] == 10


def test_fetch_copies_and_missing_explains_path(tmp_path: Path, isolated_cache: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        load_dataset("svhn")
    raises_one_line(excinfo, "cannot be downloaded here", "train_32x32.mat", "ganforge data fetch svhn --path DIR")
    _write(tmp_path / "svhn")
    assert fetch_dataset("svhn", path=tmp_path / "svhn") == isolated_cache / "svhn"
    assert len(load_dataset("svhn", "test")) == 6


@pytest.mark.parametrize("corrupt", ["garbage", "truncated"])
def test_corrupt_mat(tmp_path: Path, corrupt: str) -> None:
    _write(tmp_path)
    mat = tmp_path / "train_32x32.mat"
    mat.write_bytes(b"\x00garbage" * 50 if corrupt == "garbage" else mat.read_bytes()[:3000])
    with pytest.raises(DataError) as excinfo:
        load_dataset("svhn", path=tmp_path)
    raises_one_line(excinfo, "train_32x32.mat")


@pytest.mark.parametrize("contents, fragment", [
    ({"y": np.ones((2, 1), np.uint8)}, "X is missing"),
    ({"X": np.zeros((32, 32, 3, 2), np.float64), "y": np.ones((2, 1))}, "X is (32, 32, 3, 2) float64"),
    ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.ones((3, 1), np.uint8)}, "does not hold 2 labels"),
    ({"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[0], [1]], np.uint8)}, "integers 1..10"),
])
def test_wrong_contents(tmp_path: Path, contents: dict, fragment: str) -> None:
    _write(tmp_path)
    scipy.io.savemat(tmp_path / "test_32x32.mat", contents)
    with pytest.raises(DataError) as excinfo:
        load_dataset("svhn", "test", path=tmp_path)
    raises_one_line(excinfo, "test_32x32.mat", fragment)
