"""The shared spec of 28×28 grayscale IDX datasets (MNIST, Fashion-MNIST) with a uint8 ``.npz`` cache.

Fetching converts the four official IDX files once into ``CACHE/<name>/<name>.npz`` (uncompressed,
uint8); loads then read only that file, which takes a fraction of a second for 70,000 images. With
``path`` the loader reads a directory of official IDX files directly instead.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganforge.data.cache import dataset_dir, load_npz_split, save_npz_atomic
from ganforge.data.idx import IMAGES_MAGIC, LABELS_MAGIC, SPLIT_PREFIX, find_idx_file, has_idx_files, read_idx_split
from ganforge.data.idx_header import idx_count
from ganforge.data.spec import DatasetSpec, RawSplit, ReadOptions
from ganforge.errors import DataError

IMAGE_SHAPE = (28, 28)


@dataclass
class IdxDatasetSpec(DatasetSpec):
    """A 1×28×28 uint8 dataset whose official form is four IDX files (see :mod:`ganforge.data.idx`)."""

    def cache_file(self) -> Path:
        """The converted cache, ``CACHE/<name>/<name>.npz``."""
        return dataset_dir(self.name) / f"{self.name}.npz"

    def present(self, path: Path | None) -> bool:
        """With ``path``: whether it holds the four IDX files; else whether the cache file exists."""
        return has_idx_files(Path(path)) if path is not None else self.cache_file().is_file()

    def info(self, path: Path | None) -> dict[str, Any]:
        """As the base; with ``path``, ``present`` and ``splits`` come from the IDX files' headers and sizes
        (``checked`` says what was checked, ``problem`` what failed), never from the official sizes."""
        info = super().info(path)
        if path is None or not info["present"]:
            return info
        info["checked"] = (f"IDX headers and file sizes, not the pixels (`{self.fetch_command(path)}` reads "
                           "every byte)")
        try:
            info["splits"] = {split: self._declared_count(Path(path), split) for split in ("train", "test")}
        except DataError as exc:
            info.update(present=False, splits={}, problem=str(exc))
        return info

    def _declared_count(self, directory: Path, split: str) -> int:
        prefix = SPLIT_PREFIX[split]
        images = idx_count(find_idx_file(directory, f"{prefix}-images-idx3-ubyte"), magic=IMAGES_MAGIC,
                           dims=(None, *IMAGE_SHAPE))
        labels = idx_count(find_idx_file(directory, f"{prefix}-labels-idx1-ubyte"), magic=LABELS_MAGIC, dims=(None,))
        if images != labels:
            raise DataError(f"the {split} files of {directory} declare {images} images but {labels} labels; "
                            "use matching official files")
        return images

    def fetch_command(self, path: Path | None) -> str:
        """``ganforge data fetch NAME`` (with ``--path DIR`` to import a directory of IDX files)."""
        suffix = f" --path {shlex.quote(str(path))}" if path is not None else ""
        return f"ganforge data fetch {self.name}{suffix}"

    def read(self, split: str, path: Path | None, options: ReadOptions) -> RawSplit:
        """Read ``split`` from the IDX files under ``path``, or from the cache.

        Returns:
            RawSplit with images uint8 (N, 1, 28, 28) and labels (N,).
        """
        if path is not None:
            images, labels = read_idx_split(Path(path), split, image_shape=IMAGE_SHAPE)
        else:
            images, labels = load_npz_split(self.cache_file(), split, fetch_command=self.fetch_command(None))
            self._check_cached(images, labels)
        return RawSplit(images[:, None], labels, list(self.classes))  # (N, 1, 28, 28)

    def _check_cached(self, images: np.ndarray, labels: np.ndarray) -> None:
        ok = (
            images.dtype == np.uint8
            and images.shape[1:] == IMAGE_SHAPE
            and labels.ndim == 1
            and len(labels) == len(images)
        )
        if not ok:
            raise DataError(
                f"cache file {self.cache_file()} holds images {images.shape} {images.dtype} and labels "
                f"{labels.shape}; delete it and run `{self.fetch_command(None)}`"
            )

    def fetch(self, path: Path | None) -> Path:
        """The ``.npz`` cache's folder: made from the IDX files in ``path``; without ``path`` an existing cache is
        kept as it is (delete it to fetch again), else made from the official source (:meth:`download_into_cache`)."""
        if path is not None:
            return self.import_idx_dir(Path(path))
        if self.present(None):
            return self.location(None)
        return self.download_into_cache()

    def download_into_cache(self) -> Path:
        """Get the official source, convert it into the cache and return the cache folder."""
        raise NotImplementedError

    def import_idx_dir(self, directory: Path) -> Path:
        """Convert the four official IDX files in ``directory`` into the ``.npz`` cache.

        Returns:
            The cache folder, ``CACHE/<name>``.
        """
        arrays: dict[str, np.ndarray] = {}
        for split in ("train", "test"):
            images, labels = read_idx_split(Path(directory), split, image_shape=IMAGE_SHAPE)
            arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
        return self.save_cache(arrays)

    def save_cache(self, arrays: dict[str, np.ndarray]) -> Path:
        """Write ``train_images``, ``train_labels``, ``test_images``, ``test_labels`` atomically.

        Returns:
            The cache folder, ``CACHE/<name>``.
        """
        save_npz_atomic(self.cache_file(), arrays)
        return self.cache_file().parent
