"""Writers of small hostile input files: each declares far more data than it holds or inflates to.

A reader that trusts these declarations allocates gigabytes from a few hundred bytes; the tests run the
readers (often the CLI under an address-space cap) and expect one clear error or a bounded read.
"""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1
    from numpy.core.multiarray import _reconstruct


class ForgedArray:
    """Pickles as numpy's array reconstructor with any shape, and optionally any ``__setstate__`` state."""

    def __init__(self, shape: tuple[int, ...], state: tuple | None = None, code: bytes = b"B") -> None:
        self.shape, self.state, self.code = shape, state, code

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        args = (np.ndarray, self.shape, self.code)
        return (_reconstruct, args) if self.state is None else (_reconstruct, args, self.state)


def cifar_bomb_pickle(rows: int = 1_000_000) -> bytes:
    """A CIFAR-style batch of ~200 bytes declaring ``rows`` x 3072 uint8 images (3 GB) and ``rows`` labels."""
    batch = {b"data": ForgedArray((rows, 3072)), b"labels": ForgedArray((rows,), code=b"l")}
    return pickle.dumps(batch, protocol=3)


def object_array_pickle(rows: int = 1_000_000) -> bytes:
    """An object array whose state declares ``rows`` items but carries three (numpy itself crashed on it)."""
    state = (1, (rows,), np.dtype(object), False, [1, 2, 3])
    return pickle.dumps({b"data": ForgedArray((0,), state=state), b"labels": [0]}, protocol=3)


def npy_header(shape: tuple[int, ...], descr: str = "|u1") -> bytes:
    """The bytes of an .npy (version 1.0) header declaring ``shape`` and ``descr``."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue()


def write_lying_npy(path: Path, shape: tuple[int, ...], held: int = 1000) -> Path:
    """An .npy whose header declares ``shape`` uint8 but which holds only ``held`` bytes of data."""
    path.write_bytes(npy_header(shape) + bytes(held))
    return path


def _deflate_zeros(header: bytes, zero_bytes: int) -> bytes:
    """A raw deflate stream of ``header`` + ``zero_bytes`` zero bytes, built in milliseconds: each 1 MiB of
    zeros is one identical full-flushed block (~1 KB), repeated."""
    chunk = 1 << 20
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    whole, rest = divmod(zero_bytes, chunk)
    repeated = block.compress(bytes(chunk)) + block.flush(zlib.Z_FULL_FLUSH)
    return b"".join([head.compress(header) + head.flush(zlib.Z_FULL_FLUSH), repeated * whole,
                     tail.compress(bytes(rest)) + tail.flush(zlib.Z_FINISH)])


def _write_zip(path: Path, entries: list[tuple[str, int, bytes, int, int]]) -> Path:
    """A zip of (name, method 0 stored / 8 deflated, payload, crc32, uncompressed size) entries, by hand."""
    body, directory = b"", b""
    for name, method, payload, crc, size in entries:
        raw = name.encode()
        fields = (method, 0, 0x21, crc, len(payload), size, len(raw), 0)
        directory += struct.pack("<IHHHH", 0x02014B50, 20, 20, 0, fields[0]) + struct.pack(
            "<HHIIIHHHHHII", *fields[1:], 0, 0, 0, 0, len(body)) + raw
        body += struct.pack("<IHH", 0x04034B50, 20, 0) + struct.pack("<HHHIIIHH", *fields) + raw + payload
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), len(body), 0)
    path.write_bytes(body + directory + end)
    return path


def write_npz_bomb(path: Path, shape: tuple[int, ...], key: str = "samples",
                   extra: dict[str, np.ndarray] | None = None) -> Path:
    """An .npz whose member ``key`` is a deflated uint8 array of zeros of ``shape``: a few MB on disk that
    inflate to ``prod(shape)`` bytes (its CRC is left 0: the readers under test stop long before the end,
    where it would be checked). ``extra`` arrays are stored alongside, uncompressed and honest."""
    header = npy_header(shape)
    size = len(header) + int(np.prod(shape))
    assert size < 2**32, "keep the bomb below 4 GiB (no zip64 here)"
    entries = [(f"{key}.npy", 8, _deflate_zeros(header, int(np.prod(shape))), 0, size)]
    for name, array in (extra or {}).items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        data = buffer.getvalue()
        entries.append((f"{name}.npy", 0, data, zlib.crc32(data), len(data)))
    return _write_zip(path, entries)


def write_gzip_bomb(path: Path, header: bytes, zero_bytes: int) -> Path:
    """A .gz of ``header`` + ``zero_bytes`` zeros, a thousand times smaller than what it inflates to (its CRC
    and length trailer are left 0: readers that stop early never check them)."""
    gzip_header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    path.write_bytes(gzip_header + _deflate_zeros(header, zero_bytes) + bytes(8))
    return path


def write_mat_bomb(path: Path, count: int) -> Path:
    """A MATLAB v5 file whose one compressed variable X is 32x32x3x``count`` uint8 zeros (SVHN's layout):
    a few MB that inflate to ``count`` * 3072 bytes (the zlib checksum is left 0, never reached)."""
    import scipy.io

    plain = io.BytesIO()
    scipy.io.savemat(plain, {"X": np.zeros((32, 32, 3, 1), np.uint8)}, do_compression=False)
    raw = plain.getvalue()
    header, element = raw[:128], raw[128:]
    data_at = len(element) - 3072  # X's 3072 bytes end the element, after an 8-byte miUINT8 tag
    prefix = bytearray(element[:data_at])
    prefix[4:8] = struct.pack("<I", len(prefix) - 8 + 3072 * count)  # miMATRIX size
    dims_at = bytes(prefix).find(struct.pack("<4i", 32, 32, 3, 1))
    prefix[dims_at:dims_at + 16] = struct.pack("<4i", 32, 32, 3, count)
    prefix[-4:] = struct.pack("<I", 3072 * count)  # the data tag's byte count
    stream = b"\x78\xda" + _deflate_zeros(bytes(prefix), 3072 * count) + bytes(4)
    path.write_bytes(header + struct.pack("<II", 15, len(stream)) + stream)  # 15 = miCOMPRESSED
    return path


def write_png_header(path: Path, width: int, height: int) -> Path:
    """A grayscale PNG whose header declares ``width`` x ``height`` pixels, with a few bytes of image data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(bytes(4 * (width + 1)))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path
