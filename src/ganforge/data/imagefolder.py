"""A folder of your own images: one sub-folder per class, PNG or JPEG files, decoded with Pillow.

Layouts: ``DIR/<class>/*.png`` is the "train" split only (hold out a part with ``val_size``);
``DIR/train/<class>/…`` plus ``DIR/test/<class>/…`` gives both splits. Class names are the sorted
sub-folder names of the training folder; labels index them. Only ``.png``, ``.jpg`` and ``.jpeg``
files are read (other files are ignored). ``grayscale`` picks 1 or 3 channels (default: 1 if every
image is grayscale, else 3); ``image_size`` resizes with bicubic filtering, otherwise all images must
share one size. An unreadable image raises :class:`DataError` naming the file, and so does one whose header
declares more than ``input_files.MAX_IMAGE_PIXELS`` pixels, before anything is decoded.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ganforge.data.input_files import MAX_IMAGE_PIXELS, check_image_pixels, regular_file
from ganforge.data.messages import one_line
from ganforge.data.spec import DATASETS, DatasetSpec, RawSplit, ReadOptions
from ganforge.errors import DataError, GanforgeError

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg"})
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})


def split_root(root: Path, split: str) -> Path:
    """The folder of class sub-folders for ``split`` ("train" or "test") under ``root``."""
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist; pass --path DIR with DIR/<class>/*.png")
    if (root / "train").is_dir():
        if not (root / split).is_dir():
            raise DataError(f"{root} has train/ but no {split}/; add {root / split}/<class>/ images")
        return root / split
    if split == "test":
        raise DataError(
            f"{root} holds one set of class folders, so it has no test split; use the train split (--set "
            f"data.val_size=N holds out N images as val) or arrange {root}/train/<class>/ and {root}/test/<class>/"
        )
    return root


def class_names(folder: Path) -> list[str]:
    """Sorted names of the non-hidden sub-folders of ``folder``; at least one is required."""
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise DataError(f"{folder} has no class sub-folders; put images in {folder}/<class>/")
    return names


def image_files(folder: Path) -> list[Path]:
    """Sorted PNG/JPEG files directly inside ``folder``; at least one is required."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)
    if not files:
        raise DataError(f"class folder {folder} has no .png/.jpg/.jpeg images; add some or remove it")
    return files


REPLACE_FIX = "replace or delete it"
_PIL_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def _open_error(file: Path, exc: BaseException, error: type[GanforgeError] = DataError,
                fix: str = REPLACE_FIX) -> GanforgeError:
    return error(f"cannot read image {file} ({one_line(exc)}); {fix}")


@contextmanager
def open_checked(file: Path, *, fix: str = REPLACE_FIX, error: type[GanforgeError] = DataError,
                 max_pixels: int = MAX_IMAGE_PIXELS) -> Iterator[Image.Image]:
    """Open an image that is a regular file and declares at most ``max_pixels`` pixels (nothing decoded yet)."""
    regular_file(file, what="image", fix=fix, error=error)
    try:
        with warnings.catch_warnings():  # Pillow warns between its limit and twice it; the check below refuses
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(file)
        with image:
            check_image_pixels(file, image.size, fix=fix, error=error, max_pixels=max_pixels)
            yield image
    except _PIL_ERRORS as exc:
        raise _open_error(file, exc, error, fix) from None


def _header(file: Path) -> tuple[str, tuple[int, int]]:
    """The image's mode and (width, height), from its header only."""
    with open_checked(file) as image:
        return image.mode, image.size


def decode(file: Path, *, mode: str, size: tuple[int, int] | None) -> np.ndarray:
    """Decode one image to uint8 (C, H, W), converted to ``mode`` ("L" or "RGB") and resized to ``size``.

    Args:
        file: a PNG or JPEG file.
        mode: "L" (1 channel) or "RGB" (3 channels).
        size: (height, width) to resize to with bicubic filtering, or None to keep the size.

    Returns:
        uint8 array (C, H, W).
    """
    with open_checked(file) as image:
        image = image.convert(mode)
        if size is not None and image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.Resampling.BICUBIC)
        pixels = np.asarray(image, dtype=np.uint8)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)  # (C, H, W)


def read_image(file: Path, *, fix: str = REPLACE_FIX, error: type[GanforgeError] = DataError,
               max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode one image in its own colour kind: grayscale modes to 1 channel, others to RGB; uint8 (C, H, W)."""
    with open_checked(file, fix=fix, error=error, max_pixels=max_pixels) as image:
        pixels = np.asarray(image.convert("L" if image.mode in GRAY_MODES else "RGB"), dtype=np.uint8)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def _stack(files: list[Path], mode: str, size: tuple[int, int] | None) -> np.ndarray:
    """Decode ``files`` into one uint8 (N, C, H, W) array; all must share a size unless ``size`` is set."""
    arrays = [decode(f, mode=mode, size=size) for f in files]
    for file, array in zip(files, arrays, strict=True):
        if array.shape != arrays[0].shape:
            raise DataError(
                f"{file} is {array.shape[2]}x{array.shape[1]} but {files[0]} is "
                f"{arrays[0].shape[2]}x{arrays[0].shape[1]}; pass --set data.image_size=N to resize all images"
            )
    return np.stack(arrays)


def _normalize_size(image_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise DataError(f"image_size {image_size!r} is invalid; use a positive int (--set data.image_size=N)")
    return size  # type: ignore[return-value]


@dataclass
class ImageFolderSpec(DatasetSpec):
    """Images in class sub-folders under ``path`` (default ``CACHE/imagefolder``)."""

    def present(self, path: Path | None) -> bool:
        """Whether the training folder exists and has class sub-folders."""
        try:
            class_names(split_root(self.location(path), "train"))
        except (DataError, OSError):
            return False
        return True

    def fetch_command(self, path: Path | None) -> str:
        """Empty: nothing is downloaded; images are read where they are."""
        return ""

    def missing_error(self, path: Path | None) -> DataError:
        """No folder: say how to name one."""
        return DataError(
            f"imagefolder reads your own images and none are at {self.location(path)}; "
            "pass path=DIR (CLI: --path DIR) with DIR/<class>/*.png"
        )

    def fetch(self, path: Path | None) -> Path:
        """Check the folder layout (no copy: the images stay where they are); return the folder."""
        if path is None:
            raise DataError("imagefolder has nothing to download; pass --path DIR with DIR/<class>/*.png")
        root = split_root(Path(path), "train")
        for name in class_names(root):
            image_files(root / name)
        return Path(path)

    def files(self, split: str, path: Path | None) -> tuple[list[str], list[Path], np.ndarray]:
        """Class names, image files and their labels (int64 (N,)) for ``split``."""
        root = self.location(path)
        classes = class_names(split_root(root, "train"))
        folder = split_root(root, split)
        unknown = sorted(set(class_names(folder)) - set(classes))
        if unknown:
            raise DataError(f"{folder} has classes {unknown} that the training folder lacks; remove them")
        files, labels = [], []
        for label, name in enumerate(classes):
            if (folder / name).is_dir():
                found = image_files(folder / name)
                files += found
                labels += [label] * len(found)
        return classes, files, np.asarray(labels, dtype=np.int64)

    def read(self, split: str, path: Path | None, options: ReadOptions) -> RawSplit:
        """Decode every image of ``split``.

        Returns:
            RawSplit with images uint8 (N, C, H, W) (C = 1 or 3) and labels int64 (N,).
        """
        classes, files, labels = self.files(split, path)
        grayscale = options.grayscale
        if grayscale is None:
            grayscale = all(_header(f)[0] in GRAY_MODES for f in files)
        images = _stack(files, "L" if grayscale else "RGB", _normalize_size(options.image_size))
        return RawSplit(images, labels, classes)

    def info(self, path: Path | None) -> dict[str, Any]:
        """As the base, with classes, split sizes and the first image's shape read from the folder."""
        info = super().info(path)
        if not info["present"]:
            return info | {"splits": {}, "shape": None, "classes": []}
        classes, files, _ = self.files("train", path)
        splits = {"train": len(files)}
        root = self.location(path)
        if (root / "train").is_dir() and (root / "test").is_dir():
            splits["test"] = len(self.files("test", path)[1])
        mode, (width, height) = _header(files[0])
        shape = [1 if mode in GRAY_MODES else 3, height, width]  # of the first image
        return info | {"splits": splits, "shape": shape, "classes": classes}


IMAGEFOLDER = DATASETS.register(
    "imagefolder",
    ImageFolderSpec(
        name="imagefolder",
        description="your own PNG/JPEG images in class sub-folders (DIR/<class>/*.png)",
        classes=(),
        shape=(),
        options=frozenset({"path", "image_size", "grayscale"}),
    ),
)
