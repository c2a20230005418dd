"""The data layer's entry points: :func:`load_dataset`, :func:`dataset_info`, :func:`fetch_dataset`.

Every dataset goes through the same steps: look up its spec in :data:`DATASETS`, check the
arguments, read the official split in stored form, hold out the validation part if asked, and turn
uint8 pixels into float32 in the requested pixel range with one vectorized op.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.config import DataConfig
from ganforge.data.labeled import LabeledData
from ganforge.data.spec import DATASETS, DatasetSpec, RawSplit, ReadOptions
from ganforge.data.splits import select
from ganforge.data.transforms import check_pixel_range, scale_uint8
from ganforge.errors import DataError

SPLITS = ("train", "val", "test")


def _check_int(value: object, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise DataError(f"{what} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_options(spec: DatasetSpec, given: dict[str, object]) -> None:
    """Reject options the dataset does not use (never ignore them silently)."""
    for option, value in given.items():
        if value is not None and option not in spec.options:
            accepted = ", ".join(sorted(spec.options)) or "none"
            raise DataError(f"{option} does not apply to {spec.name!r} (its options: {accepted}); drop it")


def _check_split(split: str, val_size: int) -> None:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if split == "val" and val_size == 0:
        raise DataError("split 'val' is empty with val_size=0; pass val_size=N to hold out N training items "
                        "(CLI: --set data.val_size=N, or evaluate --val-size N)")


def _to_labeled(
    raw: RawSplit, spec: DatasetSpec, split: str, pixel_range: tuple[float, float]
) -> LabeledData:
    if spec.pixels:
        images = scale_uint8(raw.images, pixel_range)  # (N, C, H, W) float32
        used_range: tuple[float, float] | None = pixel_range
    else:
        images, used_range = torch.from_numpy(np.ascontiguousarray(raw.images, dtype=np.float32)), None
    labels = torch.from_numpy(raw.labels.astype(np.int64, copy=False))
    return LabeledData(images, labels, spec.name, split, used_range, list(raw.classes))


def load_dataset(
    name: str,
    split: str = "train",
    *,
    path: str | Path | None = None,
    pixel_range: Sequence[float] = (-1.0, 1.0),
    val_size: int = 0,
    seed: int = 0,
    image_size: int | tuple[int, int] | None = None,
    grayscale: bool | None = None,
    n: int | None = None,
) -> LabeledData:
    """Load one split of a registered dataset as float tensors.

    Args:
        name: a name in :data:`DATASETS` ("mnist", "fashion-mnist", "cifar10", "svhn", "imagefolder",
            "ring8", "grid25", "swissroll").
        split: "train", "val" (needs ``val_size`` > 0) or "test".
        path: a directory of official files to read instead of the cache (required for imagefolder).
        pixel_range: (-1.0, 1.0) or (0.0, 1.0); ignored by toy sets, which are points.
        val_size: samples of the official training split held out as "val" (a fixed subset that
            does not depend on ``seed``); "train" then excludes them.
        seed: generator seed of the toy sets.
        image_size: imagefolder only: resize to this int or (height, width).
        grayscale: imagefolder only: True for 1 channel, False for 3, None to infer.
        n: toy sets only: number of samples (default 10000 train, 2000 test).

    Returns:
        LabeledData: images float32 (N, C, H, W) in ``pixel_range`` (toy: (N, 2)), labels int64 (N,).

    Raises:
        DataError: bad arguments, or data missing, corrupt or failing a checksum (one line with the fix).
        ConfigError: unknown dataset name (lists the choices).
    """
    spec = DATASETS.get(name)
    val_size = _check_int(val_size, "val_size", 0)
    _check_split(split, val_size)
    pixel_range = check_pixel_range(pixel_range)
    _check_options(spec, {"path": path, "image_size": image_size, "grayscale": grayscale, "n": n})
    options = ReadOptions(
        image_size=image_size,
        grayscale=grayscale,
        n=None if n is None else _check_int(n, "n", 1),
        seed=_check_int(seed, "seed", 0),
    )
    folder = None if path is None else Path(path)
    if folder is None and not spec.present(None):
        raise spec.missing_error(None)
    raw = spec.read("test" if split == "test" else "train", folder, options)
    if split != "test" and val_size > 0:
        raw = select(raw, split, val_size)
    return _to_labeled(raw, spec, split, pixel_range)


def load_data_split(data: DataConfig, split: str, *, seed: int = 0, val_size: int = 0) -> LabeledData:
    """``split`` of the dataset a config's ``data`` section names, in its pixel range (training, a run's
    held-out images, ModNet's sources): :func:`load_dataset` with ``data``'s name, path, range and image options."""
    return load_dataset(data.name, split, path=data.path, pixel_range=data.range, val_size=val_size, seed=seed,
                        image_size=data.image_size, grayscale=data.grayscale)


def dataset_info(name: str, *, path: str | Path | None = None) -> dict[str, Any]:
    """Describe a dataset without loading it.

    Returns:
        JSON-able dict: name, description, present (bool), location (str), splits {"train": n,
        "test": n} (official sizes), shape ([C, H, W] or [2]), storage (e.g. "uint8 0-255"),
        classes (list of str), fetch_command (the shell command that makes it present).
    """
    spec = DATASETS.get(name)
    if path is not None and "path" not in spec.options:
        raise DataError(f"dataset {name!r} is generated and takes no path; drop --path")
    return spec.info(None if path is None else Path(path))


def fetch_dataset(name: str, *, path: str | Path | None = None) -> Path:
    """Make a dataset present in the cache (download + verify + convert, or import from ``path``).

    Returns:
        The dataset's location (its cache folder; for imagefolder, ``path`` itself).
    """
    spec = DATASETS.get(name)
    if path is not None and "path" not in spec.options:
        raise DataError(f"dataset {name!r} is generated and takes no path; drop --path")
    return spec.fetch(None if path is None else Path(path))
