"""Bounded reading of ``.npy`` and ``.npz`` files: headers are checked against the bytes behind them first.

``np.load`` trusts what a file declares: a 1 KB ``.npy`` whose header says 10^9 images asks for 730 GiB,
and an ``.npz`` member that inflates a few MB into gigabytes is read whole even when ten samples are
wanted. Here, before anything is allocated:

- an ``.npy`` header (shape, dtype; never Python objects) must describe exactly the bytes the file holds
  after it;
- an ``.npz`` member's header must describe exactly the uncompressed size its zip entry declares, and a
  member read whole may not inflate more than :data:`MAX_RATIO` times (past :data:`RATIO_FREE_BYTES`);
- ``rows=n`` reads only the first n rows: one seek and read for an ``.npy``, n rows of the inflated
  stream for an ``.npz`` member (C order; a Fortran-order ``.npy`` is memory-mapped and sliced, a
  Fortran-order ``.npz`` member is read whole under the ratio check, then sliced).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from ganforge.data.input_files import regular_file
from ganforge.data.messages import one_line
from ganforge.errors import DataError, GanforgeError

MAX_RATIO = 100  # deflate reaches ~1000:1 on constant data; real image arrays stay far below 100:1
RATIO_FREE_BYTES = 64 * 2**20  # members this small are read whole whatever their ratio


@dataclass(frozen=True)
class ArrayHeader:
    """What an ``.npy`` header declares, and where its data starts."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def row_bytes(self) -> int:
        return math.prod(self.shape[1:]) * self.dtype.itemsize


def read_header(stream: IO[bytes], source: str, *, fix: str, error: type[GanforgeError] = DataError,
                objects_ok: bool = False) -> ArrayHeader:
    """Parse the ``.npy`` header at the start of ``stream`` (left positioned at the data).

    Args:
        objects_ok: return the header of an array of Python objects (to recognise it) instead of refusing it;
            its data is never read here.

    Raises:
        ``error``: not an ``.npy`` header, an unsupported version, or an array of Python objects.
    """
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        readers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
        if version not in readers:
            raise ValueError(f".npy format version {version} is not supported")
        shape, fortran, dtype = readers[version](stream)
    except (ValueError, EOFError, OSError, SyntaxError, zipfile.BadZipFile) as exc:
        raise error(f"cannot read {source} as a numpy array ({one_line(exc)}); {fix}") from None
    if dtype.hasobject and not objects_ok:
        raise error(f"{source} holds Python objects (a pickle), which ganforge does not load; {fix}")
    return ArrayHeader(tuple(int(d) for d in shape), dtype, bool(fortran), stream.tell())


def _check_declared(header: ArrayHeader, held: int, source: str, fix: str, error: type[GanforgeError]) -> None:
    if header.nbytes != held:
        raise error(f"{source} declares shape {header.shape} {header.dtype} ({header.nbytes:,} bytes) but holds "
                    f"{held:,} bytes of data: it is truncated or forged; {fix}")


def _row_count(header: ArrayHeader, rows: int | None) -> int | None:
    """How many leading rows to read (None: the whole array)."""
    if rows is None or not header.shape or rows >= header.shape[0]:
        return None
    return max(rows, 0)


def _read_rows(stream: IO[bytes], header: ArrayHeader, count: int | None, source: str, fix: str,
               error: type[GanforgeError]) -> np.ndarray:
    """Read the first ``count`` rows (C order), or the whole array when ``count`` is None, into a fresh array."""
    size = header.nbytes if count is None else count * header.row_bytes()
    buffer = bytearray(size)
    view, done = memoryview(buffer), 0
    try:
        while done < size:
            got = stream.readinto(view[done:])
            if not got:
                break
            done += got
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise error(f"cannot read {source} ({one_line(exc)}); {fix}") from None
    if done != size:
        raise error(f"{source} ends after {done:,} of the {size:,} bytes its header declares; {fix}")
    flat = np.frombuffer(buffer, dtype=header.dtype)
    if count is None:
        return flat.reshape(header.shape, order="F" if header.fortran else "C")
    return flat.reshape((count, *header.shape[1:]))


def load_npy(path: str | Path, *, rows: int | None = None, fix: str,
             error: type[GanforgeError] = DataError) -> np.ndarray:
    """Read an ``.npy`` file (only its first ``rows`` rows when given), checking its header first.

    Args:
        path: the file (must be a regular file).
        rows: read at most this many leading rows; None reads the whole array.
        fix: the fix named in errors (a command or flag).
        error: the :class:`GanforgeError` kind to raise.

    Returns:
        The array, shape (min(rows, N), ...) or the stored shape.
    """
    path = regular_file(path, what="array file", fix=fix, error=error)
    with open(path, "rb") as stream:
        header = read_header(stream, str(path), fix=fix, error=error)
        _check_declared(header, path.stat().st_size - header.offset, str(path), fix, error)
        count = _row_count(header, rows)
        if header.fortran and count is not None:  # rows are strided: map the (size-checked) file, copy them
            return np.array(np.load(path, mmap_mode="r", allow_pickle=False)[:count])
        return _read_rows(stream, header, count, str(path), fix, error)


def npz_keys(archive: zipfile.ZipFile) -> list[str]:
    """The array names of an ``.npz`` (its ``NAME.npy`` members)."""
    return [name[:-4] for name in archive.namelist() if name.endswith(".npy")]


def load_npz_member(archive: zipfile.ZipFile, key: str, source: str, *, rows: int | None = None, fix: str,
                    error: type[GanforgeError] = DataError) -> np.ndarray:
    """Read array ``key`` of an open ``.npz`` (only its first ``rows`` rows when given), header checked first.

    Args:
        archive: the ``.npz`` opened with ``zipfile.ZipFile``.
        key: the array name (member ``key.npy``).
        source: the file name for messages.
        rows: read at most this many leading rows; None reads the whole array (its ratio is checked).
        fix: the fix named in errors.
        error: the :class:`GanforgeError` kind to raise.
    """
    info = archive.getinfo(f"{key}.npy")
    where = f"{source}:{key}"
    with archive.open(info) as stream:
        header = read_header(stream, where, fix=fix, error=error)
        _check_declared(header, info.file_size - header.offset, where, fix, error)
        count = _row_count(header, rows)
        if count is None or header.fortran:  # Fortran order: rows are strided, so the member is read whole
            _check_ratio(info, info.file_size, where, fix, error)
            whole = _read_rows(stream, header, None, where, fix, error)
            return whole if count is None else np.array(whole[:count])
        _check_ratio(info, count * header.row_bytes(), where, fix, error)  # rows of absurd size are a bomb too
        return _read_rows(stream, header, count, where, fix, error)


def _check_ratio(info: zipfile.ZipInfo, wanted: int, where: str, fix: str, error: type[GanforgeError]) -> None:
    """Refuse to inflate ``wanted`` bytes of a member past RATIO_FREE_BYTES and MAX_RATIO times its compressed
    size (a zip bomb)."""
    if wanted > RATIO_FREE_BYTES and wanted > MAX_RATIO * max(info.compress_size, 1):
        raise error(f"{where} would inflate {info.compress_size:,} bytes into {wanted:,} (more than "
                    f"{MAX_RATIO}:1; a zip bomb?); {fix}")


def open_npz(path: str | Path, *, fix: str, error: type[GanforgeError] = DataError) -> zipfile.ZipFile:
    """Open an ``.npz`` (a regular file) as a zip archive; close it after use (``with``)."""
    path = regular_file(path, what="array file", fix=fix, error=error)
    try:
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise error(f"cannot read {path} as a numpy .npz ({one_line(exc)}); {fix}") from None
