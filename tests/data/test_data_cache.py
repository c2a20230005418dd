"""The data cache: its root, atomic writes, and errors on missing or corrupt cache files."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from ganforge.data import data_cache_dir
from ganforge.data.cache import copy_atomic, load_npz_split, save_npz_atomic, write_bytes_atomic
from ganforge.errors import DataError
from helpers.data_checks import raises_one_line


def test_root_from_env_or_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "d"))
    assert data_cache_dir() == tmp_path / "d"
    for unset in (lambda: monkeypatch.delenv("GANFORGE_DATA"), lambda: monkeypatch.setenv("GANFORGE_DATA", "")):
        unset()
        assert data_cache_dir() == Path.home() / ".cache" / "ganforge"


def test_atomic_writes_leave_only_the_target(tmp_path: Path) -> None:
    arrays = {"train_images": np.arange(8, dtype=np.uint8).reshape(2, 2, 2), "train_labels": np.array([1, 2])}
    save_npz_atomic(tmp_path / "c" / "x.npz", arrays)
    write_bytes_atomic(tmp_path / "c" / "b.bin", b"abc")
    copy_atomic(tmp_path / "c" / "b.bin", tmp_path / "c" / "copy.bin")
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["b.bin", "copy.bin", "x.npz"]
    assert stat.S_IMODE((tmp_path / "c" / "x.npz").stat().st_mode) == 0o644
    images, labels = load_npz_split(tmp_path / "c" / "x.npz", "train", fetch_command="cmd")
    np.testing.assert_array_equal(images, arrays["train_images"])
    assert labels.tolist() == [1, 2] and (tmp_path / "c" / "copy.bin").read_bytes() == b"abc"


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    write_bytes_atomic(tmp_path / "t.bin", b"old")
    with pytest.raises(TypeError):
        write_bytes_atomic(tmp_path / "t.bin", "not bytes")  # type: ignore[arg-type]
    assert [p.name for p in tmp_path.iterdir()] == ["t.bin"] and (tmp_path / "t.bin").read_bytes() == b"old"


def test_missing_or_incomplete_cache(tmp_path: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        load_npz_split(tmp_path / "none.npz", "train", fetch_command="ganforge data fetch mnist")
    raises_one_line(excinfo, "does not exist", "run `ganforge data fetch mnist`")
    save_npz_atomic(tmp_path / "x.npz", {"train_images": np.zeros(2, np.uint8)})
    with pytest.raises(DataError) as excinfo:
        load_npz_split(tmp_path / "x.npz", "train", fetch_command="ganforge data fetch mnist")
    raises_one_line(excinfo, "corrupt", "delete it and run `ganforge data fetch mnist`")
