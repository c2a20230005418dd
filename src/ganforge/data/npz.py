"""A labelled image set in one ``.npz`` file, such as the augmented sets ``ganforge augment`` writes
(ModNet, Basart 2017): ``load_dataset("npz", path=FILE)``, or ``--set data.name=npz --set data.path=FILE``.

The file holds ``images`` (N, C, H, W) with C in {1, 3} (or (N, H, W), read as one channel), ``labels``
(N,) integers >= 0 and, for float images, ``pixel_range`` (low, high), either (-1, 1) or (0, 1); uint8
images are 0..255 and need no range. Optional ``classes`` (strings) names the labels (default "0", "1",
...). Float images are stored by the data layer as every image set is, as uint8 pixels: each value is
rounded to the nearest of the 256 levels of its range (an error of at most half a level, 1/510 of the
range); values outside the stated range are refused, not clipped. ``ganforge evaluate --fake FILE`` reads
the same file through ``metrics.features.load_samples``, which keeps the floats unrounded.

The file is one split, "train" (``val_size`` holds out a part as "val"); it has no "test" split. Every
array's header is checked against the bytes behind it before it is read, and a member that inflates more
than ``array_files.MAX_RATIO`` times is refused (:mod:`ganforge.data.array_files`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ganforge.data.array_files import load_npz_member, npz_keys, open_npz
from ganforge.data.spec import DATASETS, DatasetSpec, RawSplit, ReadOptions
from ganforge.data.transforms import PIXEL_RANGES
from ganforge.errors import DataError

MAKE = "ganforge augment --run RUN --n-real N --out FILE.npz"


def read_npz(file: Path) -> RawSplit:
    """Read and check one labelled ``.npz`` (module docstring) into stored form (uint8 pixels)."""
    fix = f"write it with `{MAKE}`"
    with open_npz(file, fix=fix) as archive:  # each header checked against its bytes, zip bombs refused
        arrays = {k: load_npz_member(archive, k, str(file), fix=fix) for k in npz_keys(archive)}
    missing = [k for k in ("images", "labels") if k not in arrays]
    if missing:
        raise DataError(f"{file} holds {sorted(arrays)}, not 'images' and 'labels'; write it with `{MAKE}`")
    images, labels = arrays["images"], arrays["labels"]
    images = images[:, None] if images.ndim == 3 else images
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise DataError(f"images in {file} have shape {images.shape}; store (N, C, H, W) with C 1 or 3, N > 0")
    if labels.shape != (len(images),) or labels.dtype.kind not in "iu" or labels.min() < 0:
        raise DataError(f"labels in {file} must be {len(images)} integers >= 0, got shape {labels.shape} "
                        f"dtype {labels.dtype}")
    pixels = images if images.dtype == np.uint8 else _quantize(images, arrays.get("pixel_range"), file)
    return RawSplit(np.ascontiguousarray(pixels), labels.astype(np.int64), _classes(arrays, labels, file))


def _quantize(images: np.ndarray, stored: np.ndarray | None, file: Path) -> np.ndarray:
    """Float images in the stored pixel range → uint8 0..255 (rounded); out-of-range values are refused."""
    if images.dtype.kind != "f":
        raise DataError(f"images in {file} are {images.dtype}; store uint8 pixels or floats with a pixel_range")
    if stored is None:
        raise DataError(f"{file} holds float images but no 'pixel_range'; store pixel_range=[-1, 1] or [0, 1]")
    bounds = tuple(float(v) for v in np.asarray(stored, dtype=np.float64).ravel())
    if bounds not in PIXEL_RANGES:
        raise DataError(f"pixel_range {list(bounds)} in {file} is not supported; store [-1, 1] or [0, 1]")
    low, high = bounds
    if not np.isfinite(images).all() or images.min() < low or images.max() > high:
        raise DataError(f"images in {file} leave their pixel_range [{low:g}, {high:g}] (or hold NaN/Inf); "
                        "store them inside it")
    return np.rint((images.astype(np.float64) - low) * (255.0 / (high - low))).astype(np.uint8)


def _classes(arrays: dict[str, np.ndarray], labels: np.ndarray, file: Path) -> list[str]:
    if "classes" not in arrays:
        return [str(i) for i in range(int(labels.max()) + 1)]
    classes = [str(c) for c in arrays["classes"].ravel()]
    if int(labels.max()) >= len(classes):
        raise DataError(f"{file} names {len(classes)} classes but has label {int(labels.max())}; fix 'classes'")
    return classes


class NpzSpec(DatasetSpec):
    """One labelled ``.npz`` file given as ``path``; it is read, never fetched or cached."""

    def present(self, path: Path | None) -> bool:
        return path is not None and Path(path).is_file()

    def fetch_command(self, path: Path | None) -> str:
        return MAKE

    def missing_error(self, path: Path | None) -> DataError:
        where = "no path was given" if path is None else f"{path} does not exist"
        return DataError(f"dataset 'npz' reads one .npz file and {where}; pass path=FILE (--set data.path=FILE), "
                         f"written by `{MAKE}`")

    def fetch(self, path: Path | None) -> Path:
        if not self.present(path):
            raise self.missing_error(path)
        read_npz(Path(path))  # validate
        return Path(path)

    def read(self, split: str, path: Path | None, options: ReadOptions) -> RawSplit:
        if not self.present(path):
            raise self.missing_error(path)
        if split == "test":
            raise DataError(f"{path} is one labelled set, so it has no test split; use split 'train' (--set "
                            "data.val_size=N holds out N items) and evaluate on the source dataset's test split")
        return read_npz(Path(path))

    def info(self, path: Path | None) -> dict[str, Any]:
        out = super().info(path)
        if self.present(path):
            raw = read_npz(Path(path))
            out.update(splits={"train": len(raw.labels)}, shape=list(raw.images.shape[1:]), classes=raw.classes)
        return out


DATASETS.register("npz", NpzSpec(
    name="npz",
    description="a labelled image set in one .npz file (images, labels, pixel_range), e.g. from ganforge augment",
    classes=(),
    shape=(),
    storage="uint8 0-255 (float images are rounded to 256 levels)",
))
