"""CIFAR-10 (Krizhevsky 2009): 60,000 3×32×32 uint8 colour images in 10 classes, python version.

No package registry carries CIFAR-10, so it cannot be downloaded here: point ``path`` at a directory
with the official python-version files (``data_batch_1`` … ``data_batch_5``, ``test_batch``,
``batches.meta``, from ``cifar-10-python.tar.gz``), or import them once into ``CACHE/cifar10`` with
``ganforge data fetch cifar10 --path DIR``. Each batch is a pickled dict with ``b'data'``
(n × 3072 uint8, channel-major 32×32) and ``b'labels'`` (n ints); it is read with the restricted
unpickler, which admits only plain containers and numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganforge.data.input_files import regular_file
from ganforge.data.safe_pickle import restricted_loads
from ganforge.data.spec import DATASETS, LocalFilesSpec, RawSplit, ReadOptions
from ganforge.errors import DataError

BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
META_FILE = "batches.meta"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FILES_HINT = "the CIFAR-10 python-version files data_batch_1..5 and test_batch (cifar-10-python.tar.gz)"
BATCH_ROWS = 10000  # images in one official batch: (10000, 3072) uint8 + 10000 labels
MAX_BATCH_BYTES = 40 * 2**20  # an official batch file is 31,035,704 bytes (data_batch_*) or 31,035,526 (test)


def read_batch(file: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 batch file through the restricted unpickler.

    Returns:
        images uint8 (n, 3, 32, 32) and labels int64 (n,).
    """
    fix = "replace it with the official python-version file"
    regular_file(file, what="CIFAR-10 batch", fix=f"the directory must hold {FILES_HINT}")
    size = file.stat().st_size
    if size > MAX_BATCH_BYTES:
        raise DataError(f"{file} is {size:,} bytes, larger than an official CIFAR-10 batch (31 MB); {fix}")
    batch = restricted_loads(file.read_bytes(), source=str(file), encoding="bytes")
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{file} is not a pickled CIFAR-10 batch (a dict with b'data' and b'labels'); {fix}")
    data, labels = batch[b"data"], batch[b"labels"]
    is_array = isinstance(data, np.ndarray)
    if not (is_array and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072):
        shown = f"{data.shape} {data.dtype}" if is_array else type(data).__name__
        raise DataError(f"{file}: b'data' is {shown}, expected an (n, 3072) uint8 array; {fix}")
    if len(data) > BATCH_ROWS:
        raise DataError(f"{file}: b'data' holds {len(data)} images, more than the {BATCH_ROWS} of an official "
                        f"batch; {fix}")
    labels = np.asarray(labels) if isinstance(labels, (list, np.ndarray)) else np.zeros(0, dtype=np.float32)
    if labels.dtype.kind not in "iu" or labels.shape != (len(data),) or len(data) == 0:
        raise DataError(f"{file}: b'labels' is not a list of {len(data)} ints; {fix}")
    if labels.min() < 0 or labels.max() > 9:
        raise DataError(f"{file}: labels lie outside 0..9; {fix}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)  # channel-major rows -> (n, C, H, W)


@dataclass
class Cifar10Spec(LocalFilesSpec):
    """CIFAR-10 from a directory of official python-version batches (``path`` or ``CACHE/cifar10``)."""

    files_hint: str = FILES_HINT

    def required_files(self) -> list[str]:
        """The six batch files."""
        return [name for names in BATCHES.values() for name in names]

    def optional_files(self) -> list[str]:
        """``batches.meta`` (class names), copied when present."""
        return [META_FILE]

    def validate_file(self, file: Path) -> None:
        """Read the batch through the restricted unpickler (raises DataError)."""
        read_batch(file)

    def read(self, split: str, path: Path | None, options: ReadOptions) -> RawSplit:
        """Concatenate the batches of ``split``.

        Returns:
            RawSplit with images uint8 (N, 3, 32, 32) and labels int64 (N,).
        """
        folder = self.location(path)
        parts = [read_batch(folder / name) for name in BATCHES[split]]
        images, labels = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
        return RawSplit(images, labels, list(self.classes))


CIFAR10 = DATASETS.register(
    "cifar10",
    Cifar10Spec(
        name="cifar10",
        description="CIFAR-10 tiny colour images (Krizhevsky 2009), 32x32 RGB, 10 classes; bring the files",
        classes=CLASSES,
        shape=(3, 32, 32),
        split_sizes={"train": 50000, "test": 10000},
    ),
)
