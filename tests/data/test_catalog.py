"""load_dataset / dataset_info / fetch_dataset across datasets: arguments, val split, pixel ranges."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.data import DATASETS, LabeledData, dataset_info, load_dataset
from ganforge.data.mnist import MNIST
from ganforge.data.splits import VAL_SEED, holdout_indices
from ganforge.errors import ConfigError, DataError
from helpers.data_checks import raises_one_line

N = 50


@pytest.fixture
def small_mnist_cache(isolated_cache: Path) -> None:
    """An MNIST cache of N train / 10 test images; train image i is filled with the value i."""
    train = np.repeat(np.arange(N, dtype=np.uint8), 28 * 28).reshape(N, 28, 28)
    MNIST.save_cache({"train_images": train, "train_labels": np.arange(N, dtype=np.uint8) % 10,
                      "test_images": np.full((10, 28, 28), 255, np.uint8), "test_labels": np.zeros(10, np.uint8)})


def _ids(data: LabeledData) -> list[int]:
    return torch.round((data.images[:, 0, 0, 0] + 1) * 127.5).long().tolist()


def test_val_split_is_fixed_disjoint_and_complete(small_mnist_cache: None) -> None:
    val = load_dataset("mnist", "val", val_size=8)
    train = load_dataset("mnist", "train", val_size=8)
    assert len(val) == 8 and len(train) == N - 8 and val.split == "val"
    assert set(_ids(val)).isdisjoint(_ids(train)) and sorted(_ids(val) + _ids(train)) == list(range(N))
    assert _ids(val) == sorted(_ids(val))  # original order kept
    assert _ids(load_dataset("mnist", "val", val_size=8, seed=123)) == _ids(val)  # independent of seed
    assert val.labels.tolist() == [i % 10 for i in _ids(val)]
    assert len(load_dataset("mnist", "test", val_size=8)) == 10  # test is untouched
    assert len(load_dataset("mnist")) == N


def test_holdout_indices_are_a_fixed_permutation() -> None:
    train_idx, val_idx = holdout_indices(1000, 100)
    expected = np.sort(np.random.default_rng(VAL_SEED).permutation(1000)[:100])
    np.testing.assert_array_equal(val_idx, expected)
    assert len(np.intersect1d(train_idx, val_idx)) == 0 and len(train_idx) + len(val_idx) == 1000


def test_val_split_errors(small_mnist_cache: None) -> None:
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", "val")
    raises_one_line(excinfo, "val_size=0", "pass val_size=N")
    for bad in (N, N + 1):
        with pytest.raises(DataError) as excinfo:
            load_dataset("mnist", "val", val_size=bad)
        raises_one_line(excinfo, f"val_size {bad}", f"1..{N - 1}")
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", val_size=-1)
    raises_one_line(excinfo, "val_size must be")


def test_toy_val_split_uses_the_same_indices() -> None:
    full = load_dataset("ring8", n=100, seed=5)
    val = load_dataset("ring8", "val", n=100, seed=5, val_size=10)
    _, val_idx = holdout_indices(100, 10)
    assert torch.equal(val.images, full.images[torch.from_numpy(val_idx)])


@pytest.mark.parametrize("pixel_range, low, high",
                         [((-1.0, 1.0), -1.0, 1.0), ((0, 1), 0.0, 1.0), ([0.0, 1.0], 0.0, 1.0)])
def test_pixel_ranges(small_mnist_cache: None, pixel_range: tuple, low: float, high: float) -> None:
    data = load_dataset("mnist", pixel_range=pixel_range)
    assert data.pixel_range == (low, high)
    assert data.images.min().item() == low and data.images[N - 1].max().item() == pytest.approx(
        low + (N - 1) / 255 * (high - low), abs=1e-6)
    assert load_dataset("mnist", "test", pixel_range=pixel_range).images.max().item() == high


@pytest.mark.parametrize("pixel_range", [(0, 255), (-1, 0), (0.0, 1.0, 2.0), "01", None])
def test_bad_pixel_range(small_mnist_cache: None, pixel_range: object) -> None:
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", pixel_range=pixel_range)
    raises_one_line(excinfo, "pixel_range", "(-1.0, 1.0) or (0.0, 1.0)")


def test_bad_names_splits_and_options(small_mnist_cache: None) -> None:
    with pytest.raises(ConfigError, match="choose one of: cifar10, fashion-mnist"):
        load_dataset("mnits")
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", "validation")
    raises_one_line(excinfo, "unknown split 'validation'", "train, val, test")
    for kwargs, option in [({"image_size": 32}, "image_size"), ({"grayscale": True}, "grayscale"), ({"n": 5}, "n")]:
        with pytest.raises(DataError) as excinfo:
            load_dataset("mnist", **kwargs)
        raises_one_line(excinfo, f"{option} does not apply to 'mnist'")


def test_info_of_every_dataset_is_json(isolated_cache: Path) -> None:
    keys = {"name", "description", "present", "location", "splits", "shape", "storage", "classes", "fetch_command"}
    for name in DATASETS.names():
        info = dataset_info(name)
        assert set(info) == keys and info["name"] == name
        assert json.loads(json.dumps(info)) == info
    assert dataset_info("mnist")["location"] == str(isolated_cache / "mnist")
    assert dataset_info("fashion-mnist")["fetch_command"] == "ganforge data fetch fashion-mnist"
    assert dataset_info("svhn")["storage"] == "uint8 0-255" and dataset_info("svhn")["shape"] == [3, 32, 32]
    with pytest.raises(DataError):
        dataset_info("ring8", path="somewhere")


def test_registry_holds_the_datasets() -> None:
    assert set(DATASETS.names()) == {"mnist", "fashion-mnist", "cifar10", "svhn", "imagefolder", "npz",
                                     "ring8", "grid25", "swissroll"}
    assert "mnist" in DATASETS


def test_labeled_data_len_and_mismatch() -> None:
    data = LabeledData(torch.zeros(3, 2), torch.zeros(3, dtype=torch.int64), "x", "train", None, [])
    assert len(data) == 3 and "images=(3, 2)" in repr(data)
    with pytest.raises(ValueError):
        LabeledData(torch.zeros(3, 2), torch.zeros(2, dtype=torch.int64), "x", "train", None, [])
