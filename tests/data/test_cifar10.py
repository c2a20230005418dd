"""CIFAR-10: official python-version batches (py2 pickles), restricted unpickling, bad batches."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.data import dataset_info, fetch_dataset, load_dataset
from ganforge.errors import DataError
from helpers.data_checks import raises_one_line
from helpers.data_files import py2_dumps, write_cifar_dir


def test_load_from_path_channel_major(tmp_path: Path) -> None:
    written = write_cifar_dir(tmp_path / "cifar")
    train = load_dataset("cifar10", path=tmp_path / "cifar", pixel_range=(0, 1))
    test = load_dataset("cifar10", "test", path=tmp_path / "cifar")
    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (4, 3, 32, 32)
    data, labels = written["data_batch_2"]
    i, c, h, w = 1, 2, 5, 7
    assert round(train.images[4 + i, c, h, w].item() * 255) == data[i, c * 1024 + h * 32 + w]
    assert train.labels[4:8].tolist() == labels and train.labels.dtype == torch.int64
    assert test.images.min().item() == -1.0 and test.images.max().item() == 1.0
    assert train.classes[0] == "airplane" and train.classes[9] == "truck"


def test_modern_protocol4_batches_load(tmp_path: Path) -> None:
    write_cifar_dir(tmp_path)
    batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 4]}
    (tmp_path / "test_batch").write_bytes(pickle.dumps(batch, protocol=4))
    assert load_dataset("cifar10", "test", path=tmp_path).labels.tolist() == [3, 4]


def test_fetch_copies_into_cache_and_info(tmp_path: Path, isolated_cache: Path) -> None:
    write_cifar_dir(tmp_path / "cifar")
    assert dataset_info("cifar10")["present"] is False
    assert fetch_dataset("cifar10", path=tmp_path / "cifar") == isolated_cache / "cifar10"
    assert (isolated_cache / "cifar10" / "batches.meta").is_file()
    assert len(load_dataset("cifar10", "test")) == 4
    info = dataset_info("cifar10")
    assert info["present"] is True and info["shape"] == [3, 32, 32]
    assert info["splits"] == {"train": 50000, "test": 10000}


def test_not_present_and_fetch_without_path_explain_path() -> None:
    for call in (lambda: load_dataset("cifar10"), lambda: fetch_dataset("cifar10")):
        with pytest.raises(DataError) as excinfo:
            call()
        raises_one_line(excinfo, "cannot be downloaded", "data_batch_1..5", "ganforge data fetch cifar10 --path DIR")


@pytest.mark.parametrize("content, fragment", [
    (pickle.dumps([1, 2, 3]), "not a pickled CIFAR-10 batch"),
    (py2_dumps({b"labels": [1]}), "not a pickled CIFAR-10 batch"),
    (py2_dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}), "expected an (n, 3072) uint8"),
    (py2_dumps({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}), "expected an (n, 3072) uint8"),
    (py2_dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}), "not a list of 2 ints"),
    (py2_dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}), "outside 0..9"),
    (b"\x80\x02}q\x00(U\x04data", "not a valid pickle"),
])
def test_bad_batch(tmp_path: Path, content: bytes, fragment: str) -> None:
    write_cifar_dir(tmp_path)
    (tmp_path / "data_batch_3").write_bytes(content)
    with pytest.raises(DataError) as excinfo:
        load_dataset("cifar10", path=tmp_path)
    raises_one_line(excinfo, "data_batch_3", fragment)


class _Evil:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # noqa: ANN204
        return os.system, (f"touch {self.target}",)


def test_malicious_batch_is_refused_unrun(tmp_path: Path) -> None:
    write_cifar_dir(tmp_path / "cifar")
    target = tmp_path / "pwned"
    (tmp_path / "cifar" / "test_batch").write_bytes(py2_dumps({b"data": _Evil(target), b"labels": []}))
    with pytest.raises(DataError) as excinfo:
        load_dataset("cifar10", "test", path=tmp_path / "cifar")
    raises_one_line(excinfo, "test_batch", "references", "system")
    assert not target.exists()


def test_missing_batch_file(tmp_path: Path) -> None:
    write_cifar_dir(tmp_path)
    (tmp_path / "data_batch_5").unlink()
    with pytest.raises(DataError) as excinfo:
        load_dataset("cifar10", path=tmp_path)
    raises_one_line(excinfo, "data_batch_5 does not exist")
