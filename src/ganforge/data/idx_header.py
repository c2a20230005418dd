"""Cheap checks of IDX files for ``data info``: the header and the file size, never the pixels.

A plain IDX file must be exactly ``header + prod(dims)`` bytes; a gzipped one must declare that size in
its gzip trailer (ISIZE, the uncompressed size mod 2^32, RFC 1952 §2.3.1). That catches truncated and
padded files in microseconds; only ``data fetch`` (which reads every byte, see :mod:`ganforge.data.idx`)
proves a folder good.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

from ganforge.errors import DataError

FIX = "replace it with the official file"


def _header_and_size(path: Path) -> tuple[bytes, int]:
    """The first 16 uncompressed bytes and the uncompressed size (from the gzip trailer for ``.gz``)."""
    with path.open("rb") as f:
        if path.suffix != ".gz":
            return f.read(16), path.stat().st_size
        f.seek(-4, 2)
        size = struct.unpack("<I", f.read(4))[0]
    with gzip.open(path, "rb") as g:
        return g.read(16), size


def idx_count(path: Path, *, magic: int, dims: tuple[int | None, ...]) -> int:
    """The item count an IDX file declares, after checking its magic, dimensions and size.

    Raises:
        DataError: unreadable, wrong magic or dimensions, or a size that does not match the header.
    """
    try:
        head, size = _header_and_size(path)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} cannot be read as IDX ({exc}); {FIX}") from None
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(head) < header or int.from_bytes(head[:4], "big") != magic:
        raise DataError(f"{path} has no IDX header with magic 0x{magic:08X}; {FIX}")
    shape = struct.unpack(f">{ndim}I", head[4:header])
    if any(want is not None and want != got for want, got in zip(dims, shape, strict=True)):
        raise DataError(f"{path} has dimensions {'×'.join(map(str, shape))}; {FIX}")
    expected = header + math.prod(shape)
    if size != (expected % 2**32 if path.suffix == ".gz" else expected):
        kind = "damaged or truncated" if path.suffix == ".gz" else "truncated" if size < expected else "too long"
        raise DataError(f"{path} is {kind}: {size} bytes of data where its header declares {expected}; {FIX}")
    return shape[0]
