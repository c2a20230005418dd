"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al. 1998), plain or gzipped.

An IDX file is a big-endian header, magic ``0x000008DD`` (``08`` = unsigned byte, ``DD`` = number of
dimensions), one 32-bit size per dimension, then the uint8 data. Images are ``0x00000803``
(count, rows, cols) and labels ``0x00000801`` (count). Every field is checked, and the file must
hold exactly ``header + prod(dims)`` bytes: a truncated or padded file is an error.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ganforge.data.array_files import MAX_RATIO, RATIO_FREE_BYTES
from ganforge.data.input_files import regular_file
from ganforge.data.messages import one_line
from ganforge.errors import DataError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
# Official file stems of each split: the training set and the "t10k" test set.
SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when the name ends in ``.gz`` (no more than the IDX header declares)."""
    regular_file(path, what="IDX file", fix="point path at a directory holding the four official IDX files")
    try:
        if path.suffix != ".gz":
            return path.read_bytes()
        with gzip.open(path) as stream:
            return _read_declared(stream, path)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{path} is not a valid gzip file ({one_line(exc)}); replace it with the official file"
        ) from None
    except OSError as exc:
        raise DataError(f"cannot read {path} ({one_line(exc)}); check the path and its permissions") from None


def _read_declared(stream: gzip.GzipFile, path: Path) -> bytes:
    """Inflate the IDX header, then at most the bytes it declares plus one (so that padding still shows): a
    gzip bomb is refused when it inflates more than MAX_RATIO times, before the data is inflated."""
    head = stream.read(4)
    ndim = head[3] if len(head) == 4 else 0
    if ndim == 0 or ndim > 4:  # not an IDX header: parse_idx names the problem
        return head + stream.read(64)
    dims = stream.read(4 * ndim)
    head += dims
    if len(dims) < 4 * ndim:  # truncated: parse_idx says so
        return head
    declared = len(head) + math.prod(struct.unpack(f">{ndim}I", dims))
    packed = path.stat().st_size
    if declared > RATIO_FREE_BYTES and declared > MAX_RATIO * packed:
        raise DataError(f"{path} declares {declared:,} bytes from {packed:,} compressed (more than {MAX_RATIO}:1; "
                        "a gzip bomb?); replace it with the official file")
    return head + stream.read(declared - len(head) + 1)


def parse_idx(data: bytes, *, magic: int, dims: tuple[int | None, ...], source: str) -> np.ndarray:
    """Parse IDX ``data`` and check its magic, dimensions and exact length.

    Args:
        data: the uncompressed file contents.
        magic: the expected magic number (:data:`IMAGES_MAGIC` or :data:`LABELS_MAGIC`).
        dims: expected sizes, ``None`` where any size is fine (e.g. ``(None, 28, 28)``).
        source: the file name, used in errors.

    Returns:
        uint8 array of shape ``dims`` as stored in the file (e.g. (N, 28, 28) or (N,)).
    """
    fix = "replace it with the official file"
    if len(data) < 4:
        raise DataError(f"{source} is truncated: {len(data)} bytes, too short for an IDX header; {fix}")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"{source} has IDX magic 0x{found:08X}, expected 0x{magic:08X}; {fix}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source} is truncated: {len(data)} bytes, under the {header}-byte header; {fix}")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    if any(want is not None and want != got for want, got in zip(dims, shape, strict=True)) or shape[0] == 0:
        want = "×".join("N" if d is None else str(d) for d in dims)
        raise DataError(f"{source} has dimensions {'×'.join(map(str, shape))}, expected {want}; {fix}")
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "too long"
        raise DataError(
            f"{source} is {kind}: {len(data)} bytes, expected exactly {expected} for dimensions "
            f"{'×'.join(map(str, shape))}; {fix}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def read_idx(path: Path, *, magic: int, dims: tuple[int | None, ...]) -> np.ndarray:
    """Read and check one IDX file (``.gz`` is gunzipped); see :func:`parse_idx`."""
    return parse_idx(_read_bytes(path), magic=magic, dims=dims, source=str(path))


def find_idx_file(directory: Path, stem: str) -> Path:
    """``directory/stem`` or ``directory/stem.gz``, whichever exists.

    Raises:
        DataError: neither exists.
    """
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise DataError(
        f"{directory} has no {stem}[.gz]; point path at a directory holding the four official IDX files"
    )


def has_idx_files(directory: Path) -> bool:
    """Whether ``directory`` holds all four official IDX files (plain or gzipped)."""
    kinds = ("images-idx3-ubyte", "labels-idx1-ubyte")
    stems = [f"{prefix}-{kind}" for prefix in SPLIT_PREFIX.values() for kind in kinds]
    return all((directory / s).is_file() or (directory / (s + ".gz")).is_file() for s in stems)


def read_idx_split(
    directory: Path, split: str, *, image_shape: tuple[int, int] = (28, 28), num_classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Read the images and labels of one split from a directory of official IDX files.

    Args:
        directory: holds ``train-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``, ...
        split: "train" or "test".
        image_shape: expected (rows, cols).
        num_classes: labels must lie in ``0 .. num_classes - 1``.

    Returns:
        images uint8 (N, rows, cols) and labels uint8 (N,).
    """
    prefix = SPLIT_PREFIX[split]
    images_path = find_idx_file(directory, f"{prefix}-images-idx3-ubyte")
    labels_path = find_idx_file(directory, f"{prefix}-labels-idx1-ubyte")
    images = read_idx(images_path, magic=IMAGES_MAGIC, dims=(None, *image_shape))
    labels = read_idx(labels_path, magic=LABELS_MAGIC, dims=(None,))
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
            "use matching official files"
        )
    if labels.max() >= num_classes:
        raise DataError(f"{labels_path} has label {labels.max()}, outside 0..{num_classes - 1}; replace it")
    return images, labels
