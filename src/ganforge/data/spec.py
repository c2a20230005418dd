"""What a dataset is to ganforge: a :class:`DatasetSpec` registered by name in :data:`DATASETS`.

A spec knows where its files live, whether they are present, how to fetch them and how to read one
official split ("train" or "test") into stored form: uint8 pixels (N, C, H, W), or float32 points
(N, 2) for the toy sets. Scaling, validation splits and tensors are handled once, in ``catalog.py``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganforge.data.cache import copy_atomic, dataset_dir
from ganforge.errors import DataError
from ganforge.registry import Registry


@dataclass
class RawSplit:
    """One split as stored.

    Attributes:
        images: uint8 (N, C, H, W) pixels, or float32 (N, 2) points for toy sets.
        labels: integer class indices (N,).
        classes: class names, ``classes[label]``.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]


@dataclass(frozen=True)
class ReadOptions:
    """Dataset-specific load options; each spec lists in ``options`` the ones it accepts."""

    image_size: int | tuple[int, int] | None = None
    grayscale: bool | None = None
    n: int | None = None
    seed: int = 0


@dataclass
class DatasetSpec:
    """Base class of dataset specs; subclasses override :meth:`read` and, where needed, the rest.

    Attributes:
        name: registry name (also the cache sub-folder).
        description: one sentence for ``dataset_info``.
        classes: class names.
        shape: one sample's shape, [C, H, W] (or [2] for points).
        storage: how samples are stored, e.g. "uint8 0-255".
        split_sizes: official sizes, e.g. {"train": 60000, "test": 10000}.
        options: the :class:`ReadOptions` fields and "path" that this dataset accepts.
        pixels: whether ``images`` are uint8 pixels to scale to a pixel range.
    """

    name: str
    description: str
    classes: tuple[str, ...]
    shape: tuple[int, ...]
    storage: str = "uint8 0-255"
    split_sizes: dict[str, int] = field(default_factory=dict)
    options: frozenset[str] = frozenset({"path"})
    pixels: bool = True

    def location(self, path: Path | None) -> Path:
        """Where the files are: ``path`` when given, else the cache folder."""
        return Path(path) if path is not None else dataset_dir(self.name)

    def present(self, path: Path | None) -> bool:
        """Whether the files needed to load the dataset are there."""
        return self.location(path).is_dir()

    def fetch_command(self, path: Path | None) -> str:
        """The exact shell command that makes the dataset present."""
        return f"ganforge data fetch {self.name}"

    def missing_error(self, path: Path | None) -> DataError:
        """The error for a dataset that is not present: names the location and the command that fixes it."""
        return DataError(
            f"{self.name} is not present at {self.location(path)}; run `{self.fetch_command(path)}`"
        )

    def fetch(self, path: Path | None) -> Path:
        """Make the dataset present in the cache and return its location."""
        raise NotImplementedError

    def read(self, split: str, path: Path | None, options: ReadOptions) -> RawSplit:
        """Read one official split ("train" or "test") in stored form."""
        raise NotImplementedError

    def info(self, path: Path | None) -> dict[str, Any]:
        """A JSON-able description: see :func:`ganforge.data.dataset_info`."""
        return {
            "name": self.name,
            "description": self.description,
            "present": self.present(path),
            "location": str(self.location(path)),
            "splits": dict(self.split_sizes),
            "shape": list(self.shape),
            "storage": self.storage,
            "classes": list(self.classes),
            "fetch_command": self.fetch_command(path),
        }



class LocalFilesSpec(DatasetSpec):
    """A dataset that cannot be downloaded here: the user brings the official files with ``--path``.

    Subclasses set ``files_hint`` (which files, for messages) and implement :meth:`required_files`
    and :meth:`validate_file`; ``fetch`` validates every file before copying any into the cache.
    """

    files_hint: str = ""

    def required_files(self) -> list[str]:
        """File names that must all be present."""
        raise NotImplementedError

    def optional_files(self) -> list[str]:
        """File names copied along when present."""
        return []

    def validate_file(self, file: Path) -> None:
        """Raise DataError when ``file`` is not a valid official file."""
        raise NotImplementedError

    def present(self, path: Path | None) -> bool:
        """Whether every required file is in the location."""
        return all((self.location(path) / name).is_file() for name in self.required_files())

    def fetch_command(self, path: Path | None) -> str:
        """``ganforge data fetch NAME --path DIR``, DIR holding the official files."""
        where = shlex.quote(str(path)) if path is not None else "DIR"
        return f"ganforge data fetch {self.name} --path {where}"

    def missing_error(self, path: Path | None) -> DataError:
        """Not present and not downloadable here: say which files ``--path`` needs."""
        return DataError(
            f"{self.name} is not present at {self.location(path)} and cannot be downloaded here; put "
            f"{self.files_hint} in a directory DIR and run `{self.fetch_command(path)}`"
        )

    def fetch(self, path: Path | None) -> Path:
        """Validate the files under ``path`` and copy them into ``CACHE/<name>``; return that folder."""
        if path is None:
            if self.present(None):
                return self.location(None)
            raise self.missing_error(None)
        source, target = Path(path), dataset_dir(self.name)
        for name in self.required_files():
            self.validate_file(source / name)  # validate before copying anything
        if source.resolve() != target.resolve():
            extra = [name for name in self.optional_files() if (source / name).is_file()]
            for name in self.required_files() + extra:
                copy_atomic(source / name, target / name)
        return target

DATASETS: Registry[DatasetSpec] = Registry("dataset")
