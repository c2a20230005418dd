"""SVHN cropped digits (Netzer et al. 2011): 3×32×32 uint8 house-number digits, 10 classes.

No package registry carries SVHN, so it cannot be downloaded here: point ``path`` at a directory with
the official ``train_32x32.mat`` and ``test_32x32.mat`` (MATLAB v5), or import them once into
``CACHE/svhn`` with ``ganforge data fetch svhn --path DIR``. In each file X is 32×32×3×N uint8 and
y is N×1 with labels 1-10, where 10 stands for the digit 0; the loader maps 10 to 0.
(``extra_32x32.mat`` is not used.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganforge.data.array_files import MAX_RATIO, RATIO_FREE_BYTES
from ganforge.data.input_files import regular_file
from ganforge.data.messages import one_line
from ganforge.data.spec import DATASETS, LocalFilesSpec, RawSplit, ReadOptions
from ganforge.errors import DataError

FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}
FILES_HINT = "the SVHN cropped-digit files train_32x32.mat and test_32x32.mat"


def _loadmat(file: Path) -> dict[str, object]:
    import scipy.io  # imported here: only SVHN needs it

    regular_file(file, what="SVHN file", fix=f"the directory must hold {FILES_HINT}")
    try:
        declared = {name: math.prod(shape) for name, shape, _ in scipy.io.whosmat(file) if name in ("X", "y")}
        _check_declared(file, sum(declared.values()))
        return scipy.io.loadmat(file, variable_names=["X", "y"])
    except DataError:
        raise
    except Exception as exc:  # scipy raises many kinds on corrupt input
        raise DataError(
            f"{file} is not a readable MATLAB v5 file ({one_line(exc)}); replace it with the official file"
        ) from None


def _check_declared(file: Path, elements: int) -> None:
    """Refuse a file whose X and y declare far more elements than its size can hold: a compressed variable
    inflating more than MAX_RATIO times (the official files are barely compressed)."""
    size = file.stat().st_size
    if elements > RATIO_FREE_BYTES and elements > MAX_RATIO * size:
        raise DataError(f"{file} declares {elements:,} values in {size:,} bytes (more than {MAX_RATIO}:1; a "
                        "decompression bomb?); replace it with the official file")


def read_mat(file: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one SVHN ``.mat`` file.

    Returns:
        images uint8 (N, 3, 32, 32) and labels int64 (N,) in 0..9 (digit 0 is stored as 10).
    """
    mat = _loadmat(file)
    x, y = mat.get("X"), mat.get("y")
    fix = "replace it with the official file"
    if not (isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 4 and x.shape[:3] == (32, 32, 3)):
        shown = f"{x.shape} {x.dtype}" if isinstance(x, np.ndarray) else "missing"
        raise DataError(f"{file}: X is {shown}, expected a 32x32x3xN uint8 array; {fix}")
    count = x.shape[3]
    if not (isinstance(y, np.ndarray) and y.size == count and count > 0 and y.dtype.kind in "iuf"):
        raise DataError(f"{file}: y does not hold {count} labels to match X; {fix}")
    labels = y.reshape(-1)
    if not np.all((labels >= 1) & (labels <= 10) & (labels == np.round(labels))):
        raise DataError(f"{file}: labels must be integers 1..10 (10 means digit 0); {fix}")
    images = np.ascontiguousarray(x.transpose(3, 2, 0, 1))  # (H, W, C, N) -> (N, C, H, W)
    return images, (labels.astype(np.int64) % 10)


@dataclass
class SvhnSpec(LocalFilesSpec):
    """SVHN from a directory of official ``.mat`` files (``path`` or ``CACHE/svhn``)."""

    files_hint: str = FILES_HINT

    def required_files(self) -> list[str]:
        """The train and test ``.mat`` files."""
        return list(FILES.values())

    def validate_file(self, file: Path) -> None:
        """Read the ``.mat`` file (raises DataError)."""
        read_mat(file)

    def read(self, split: str, path: Path | None, options: ReadOptions) -> RawSplit:
        """Read ``split``.

        Returns:
            RawSplit with images uint8 (N, 3, 32, 32) and labels int64 (N,).
        """
        images, labels = read_mat(self.location(path) / FILES[split])
        return RawSplit(images, labels, list(self.classes))


SVHN = DATASETS.register(
    "svhn",
    SvhnSpec(
        name="svhn",
        description="SVHN cropped house-number digits (Netzer et al. 2011), 32x32 RGB, 10 classes",
        classes=tuple(str(d) for d in range(10)),
        shape=(3, 32, 32),
        split_sizes={"train": 73257, "test": 26032},
    ),
)
