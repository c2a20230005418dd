"""The IDX reader: round trips, and every malformed-header/body case raises a one-line DataError."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ganforge.data.idx import IMAGES_MAGIC, LABELS_MAGIC, has_idx_files, parse_idx, read_idx, read_idx_split
from ganforge.errors import DataError
from helpers.data_checks import raises_one_line
from helpers.data_files import idx_bytes, write_idx_dir


def test_round_trip_plain_and_gzip(tmp_path: Path) -> None:
    images = np.arange(3 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(3, 28, 28)
    (tmp_path / "a").write_bytes(idx_bytes(images))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(images)))
    for name in ("a", "a.gz"):
        got = read_idx(tmp_path / name, magic=IMAGES_MAGIC, dims=(None, 28, 28))
        assert got.dtype == np.uint8 and got.flags.writeable
        np.testing.assert_array_equal(got, images)


def test_read_split_from_official_names(tmp_path: Path) -> None:
    written = write_idx_dir(tmp_path, gz=False)
    assert has_idx_files(tmp_path)
    images, labels = read_idx_split(tmp_path, "test")
    np.testing.assert_array_equal(images, written["test_images"])
    np.testing.assert_array_equal(labels, written["test_labels"])


def test_wrong_magic() -> None:
    data = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError) as excinfo:
        parse_idx(data, magic=LABELS_MAGIC, dims=(None,), source="f")
    raises_one_line(excinfo, "magic 0x00000803", "expected 0x00000801", "official file")


def test_wrong_dimensions() -> None:
    data = idx_bytes(np.zeros((2, 28, 27), np.uint8))
    with pytest.raises(DataError) as excinfo:
        parse_idx(data, magic=IMAGES_MAGIC, dims=(None, 28, 28), source="f")
    raises_one_line(excinfo, "dimensions 2×28×27", "expected N×28×28")


@pytest.mark.parametrize("cut", [1, 28 * 28, 2 * 28 * 28])
def test_truncated_body(cut: int) -> None:
    data = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError) as excinfo:
        parse_idx(data[:-cut], magic=IMAGES_MAGIC, dims=(None, 28, 28), source="f")
    raises_one_line(excinfo, "truncated", f"{len(data) - cut} bytes", f"exactly {len(data)}")


def test_trailing_bytes_and_short_header() -> None:
    data = idx_bytes(np.zeros(5, np.uint8))
    with pytest.raises(DataError) as excinfo:
        parse_idx(data + b"\0", magic=LABELS_MAGIC, dims=(None,), source="f")
    raises_one_line(excinfo, "too long")
    with pytest.raises(DataError) as excinfo:
        parse_idx(data[:6], magic=LABELS_MAGIC, dims=(None,), source="f")
    raises_one_line(excinfo, "truncated", "header")


def test_corrupt_gzip_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "x.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError) as excinfo:
        read_idx(tmp_path / "x.gz", magic=LABELS_MAGIC, dims=(None,))
    raises_one_line(excinfo, "x.gz", "gzip")
    with pytest.raises(DataError) as excinfo:
        read_idx_split(tmp_path, "train")
    raises_one_line(excinfo, "train-images-idx3-ubyte[.gz]")


def test_count_mismatch_and_bad_label(tmp_path: Path) -> None:
    write_idx_dir(tmp_path, gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DataError) as excinfo:
        read_idx_split(tmp_path, "test")
    raises_one_line(excinfo, "8 images but", "3 labels")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.full(8, 10, np.uint8)))
    with pytest.raises(DataError) as excinfo:
        read_idx_split(tmp_path, "test")
    raises_one_line(excinfo, "label 10")


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 4), rows=st.integers(1, 5), cols=st.integers(1, 5), cut=st.integers(1, 200),
       seed=st.integers(0, 99))
def test_property_round_trip_and_any_truncation_fails(n: int, rows: int, cols: int, cut: int, seed: int) -> None:
    array = np.random.default_rng(seed).integers(0, 256, (n, rows, cols), dtype=np.uint8)
    data = idx_bytes(array)
    np.testing.assert_array_equal(parse_idx(data, magic=IMAGES_MAGIC, dims=(None, rows, cols), source="f"), array)
    with pytest.raises(DataError):
        parse_idx(data[: max(0, len(data) - cut)], magic=IMAGES_MAGIC, dims=(None, rows, cols), source="f")
    with pytest.raises(DataError):
        parse_idx(data + struct.pack(">B", 0), magic=IMAGES_MAGIC, dims=(None, rows, cols), source="f")
