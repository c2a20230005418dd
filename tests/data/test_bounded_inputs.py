"""Inputs that declare more than they hold: the readers check every declaration before allocating.

Each test crafts the hostile file an attacker would send (``attack_files``) and expects one clear
DataError line, or a read bounded by the rows asked for; honest files still round-trip exactly.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganforge.data.array_files import load_npy, load_npz_member, npz_keys, open_npz
from ganforge.data.cifar10 import read_batch
from ganforge.data.imagefolder import decode, read_image
from ganforge.data.input_files import regular_file
from ganforge.data.safe_pickle import restricted_loads
from ganforge.errors import ConfigError, DataError
from helpers.attack_files import (
    ForgedArray,
    cifar_bomb_pickle,
    object_array_pickle,
    write_lying_npy,
    write_npz_bomb,
    write_png_header,
)
from helpers.data_checks import raises_one_line


def test_a_pickle_declaring_a_3gb_array_is_refused_before_allocating() -> None:
    data = cifar_bomb_pickle(rows=1_000_000)
    assert len(data) < 300
    with pytest.raises(DataError) as excinfo:
        restricted_loads(data, source="data_batch_1")
    raises_one_line(excinfo, "data_batch_1", "_reconstruct", "(1000000, 3072)", "replace it")


def test_an_object_array_shorter_than_its_shape_is_refused_not_crashed() -> None:
    with pytest.raises(DataError) as excinfo:  # numpy's own __setstate__ segfaulted on this
        restricted_loads(object_array_pickle(), source="x.pkl")
    raises_one_line(excinfo, "x.pkl", "not plain numbers")


def test_an_array_state_declaring_more_than_its_bytes_is_refused() -> None:
    state = (1, (10_000, 3072), np.dtype(np.uint8), False, bytes(196))
    with pytest.raises(DataError) as excinfo:
        restricted_loads(pickle.dumps(ForgedArray((0,), state=state), protocol=3), source="x")
    raises_one_line(excinfo, "(10000, 3072)", "196 bytes")


def test_cifar_batch_bomb_and_oversized_file_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "data_batch_1"
    bomb.write_bytes(cifar_bomb_pickle())
    with pytest.raises(DataError) as excinfo:
        read_batch(bomb)
    raises_one_line(excinfo, "data_batch_1", "(1000000, 3072)")
    big = tmp_path / "data_batch_2"
    with open(big, "wb") as handle:
        handle.truncate(41 * 2**20)  # sparse: 41 MB declared, nothing written
    with pytest.raises(DataError) as excinfo:
        read_batch(big)
    raises_one_line(excinfo, "data_batch_2", "larger than an official CIFAR-10 batch")


def test_an_npy_header_larger_than_the_file_is_refused(tmp_path: Path) -> None:
    lie = write_lying_npy(tmp_path / "lie.npy", (10**9, 1, 28, 28))
    for rows in (None, 10):
        with pytest.raises(DataError) as excinfo:
            load_npy(lie, rows=rows, fix="FIX")
        raises_one_line(excinfo, "lie.npy", "(1000000000, 1, 28, 28)", "784,000,000,000 bytes", "1,000 bytes", "FIX")


def test_an_npz_bomb_gives_its_first_rows_and_is_refused_whole(tmp_path: Path) -> None:
    bomb = write_npz_bomb(tmp_path / "bomb.npz", (3_000_000, 1, 28, 28))  # 2.3 MB inflating to 2.35 GB
    assert bomb.stat().st_size < 3 * 2**20
    with open_npz(bomb, fix="FIX") as archive:
        first = load_npz_member(archive, "samples", str(bomb), rows=10, fix="FIX")
        assert first.shape == (10, 1, 28, 28) and not first.any()
        with pytest.raises(DataError) as excinfo:
            load_npz_member(archive, "samples", str(bomb), fix="FIX")
    raises_one_line(excinfo, "bomb.npz:samples", "more than 100:1", "FIX")


def test_an_npz_member_whose_header_disagrees_with_its_zip_entry_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "ok.npz", samples=np.zeros((4, 3), np.float32))
    forged = tmp_path / "forged.npz"
    with zipfile.ZipFile(tmp_path / "ok.npz") as src, zipfile.ZipFile(forged, "w") as dst:
        data = src.read("samples.npy").replace(b"(4, 3)", b"(9, 3)")
        dst.writestr("samples.npy", data)
    with open_npz(forged, fix="FIX") as archive, pytest.raises(DataError) as excinfo:
        load_npz_member(archive, "samples", str(forged), rows=2, fix="FIX")
    raises_one_line(excinfo, "declares shape (9, 3)", "truncated or forged")


@pytest.mark.parametrize("compressed", [False, True])
def test_honest_arrays_round_trip_whole_and_by_rows(tmp_path: Path, compressed: bool) -> None:
    x = np.arange(5 * 3 * 4, dtype=np.float32).reshape(5, 3, 4)
    arrays = {"c": x, "f": np.asfortranarray(x), "scalar": np.float64(2.5), "empty": np.zeros((0, 3), np.uint8)}
    (np.savez_compressed if compressed else np.savez)(tmp_path / "a.npz", **arrays)
    with open_npz(tmp_path / "a.npz", fix="FIX") as archive:
        assert sorted(npz_keys(archive)) == sorted(arrays)
        for key, value in arrays.items():
            got = load_npz_member(archive, key, "a.npz", fix="FIX")
            assert got.shape == np.shape(value) and np.array_equal(got, value)
        assert np.array_equal(load_npz_member(archive, "c", "a.npz", rows=2, fix="FIX"), x[:2])
        assert np.array_equal(load_npz_member(archive, "f", "a.npz", rows=2, fix="FIX"), x[:2])
    for key, value in arrays.items():
        np.save(tmp_path / f"{key}.npy", value)
        assert np.array_equal(load_npy(tmp_path / f"{key}.npy", fix="FIX"), value)
    assert np.array_equal(load_npy(tmp_path / "f.npy", rows=2, fix="FIX"), x[:2])
    assert np.array_equal(load_npy(tmp_path / "c.npy", rows=99, fix="FIX"), x)


def test_object_arrays_in_npy_files_are_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ConfigError) as excinfo:
        load_npy(tmp_path / "o.npy", fix="FIX", error=ConfigError)
    assert "Python objects" in str(excinfo.value)


@pytest.mark.parametrize("size", [(100_000, 100_000), (10_000, 9_000)])
def test_decompression_bomb_pngs_are_one_line_without_decoding(tmp_path: Path, size: tuple[int, int]) -> None:
    png = write_png_header(tmp_path / "bomb.png", *size)  # 9000x10000 lies between Pillow's warning and error
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # no multi-line warning either
        with pytest.raises(DataError) as excinfo:
            decode(png, mode="L", size=None)
        raises_one_line(excinfo, "bomb.png")
        with pytest.raises(ConfigError):
            read_image(png, fix="FIX", error=ConfigError)


def test_fifos_devices_and_folders_are_not_regular_files(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.npy"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "FIFO (named pipe)"), (Path("/dev/zero"), "character device"), (tmp_path, "folder")):
        with pytest.raises(DataError) as excinfo:
            regular_file(path, what="samples", fix="FIX")
        raises_one_line(excinfo, str(path), kind, "FIX")
    with pytest.raises(DataError) as excinfo:  # opening it would block until a writer came
        load_npy(fifo, fix="FIX")
    raises_one_line(excinfo, "FIFO")


def test_npz_rows_of_absurd_size_are_refused_even_when_few_are_asked(tmp_path: Path) -> None:
    wide = write_npz_bomb(tmp_path / "wide.npz", (10, 1, 18_000, 18_000))  # 3 MB; 324 MB per sample
    with open_npz(wide, fix="FIX") as archive, pytest.raises(DataError) as excinfo:
        load_npz_member(archive, "samples", str(wide), rows=1, fix="FIX")
    raises_one_line(excinfo, "wide.npz:samples", "324,000,000", "more than 100:1")
