"""`ganforge data info mnist --path DIR` claims only what it checked: truncated, cut or padded IDX files are
reported with the problem and `present: false`, never as 60,000 images (headers and sizes only, no pixels)."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

N = 60000  # what the header declares


def idx_bytes(shape: tuple[int, ...], rng) -> bytes:
    dims = len(shape)
    header = bytes([0, 0, 8, dims]) + struct.pack(f">{dims}I", *shape)
    return header + rng.integers(0, 10, shape).astype(np.uint8).tobytes()


def write_dir(folder: Path, damage, gz: bool = True, n: int = N) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        for kind, shape in (("images-idx3-ubyte", (n, 28, 28)), ("labels-idx1-ubyte", (n,))):
            data = idx_bytes(shape, rng)
            name = f"{prefix}-{kind}" + (".gz" if gz else "")
            (folder / name).write_bytes(damage(gzip.compress(data, compresslevel=1) if gz else data))
    return folder


def info(folder: Path) -> dict:
    result = subprocess.run([sys.executable, "-m", "ganforge", "data", "info", "mnist", "--path", str(folder),
                             "--json"], capture_output=True, text=True, timeout=120, env=os.environ)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("damage,gz,word", [
    (lambda b: gzip.compress(gzip.decompress(b)[: len(gzip.decompress(b)) // 3]), True, "truncated"),
    (lambda b: b[: len(b) // 2], True, "damaged or truncated"),  # the download stopped half way
    (lambda b: b[: len(b) // 2], False, "truncated"),
    (lambda b: b + b"\0" * 10, False, "too long"),
], ids=["gz-short-data", "gz-cut", "plain-cut", "plain-padded"])
def test_damaged_idx_files_are_not_called_present(tmp_path, damage, gz, word):
    found = info(write_dir(tmp_path / "idx", damage, gz))
    assert found["present"] is False and found["splits"] == {}
    assert word in found["problem"] and "train-images-idx3-ubyte" in found["problem"]
    assert "60000" not in json.dumps(found["splits"])


def test_good_idx_files_report_the_counts_their_headers_declare(tmp_path):
    found = info(write_dir(tmp_path / "idx", lambda b: b, n=7))
    assert found["present"] is True and found["splits"] == {"train": 7, "test": 7}
    assert "not the pixels" in found["checked"] and "ganforge data fetch mnist --path" in found["checked"]
    assert "problem" not in found
