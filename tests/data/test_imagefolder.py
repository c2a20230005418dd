"""Image folders: class sub-folders as labels, PNG/JPEG, grayscale/resize options, unreadable images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganforge.data import dataset_info, fetch_dataset, load_dataset
from ganforge.errors import DataError
from helpers.data_checks import raises_one_line


def _save(path: Path, pixels: np.ndarray, fmt: str = "PNG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format=fmt)


def _folder(root: Path, mode: str = "RGB", size: tuple[int, int] = (6, 8)) -> dict[str, np.ndarray]:
    """Classes 'cat' (2 PNGs) and 'ant' (1 PNG); returns the pixels written by file name."""
    rng = np.random.default_rng(0)
    shape = (*size, 3) if mode == "RGB" else size
    written = {}
    for name in ("cat/b.png", "cat/a.png", "ant/z.png"):
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        _save(root / name, pixels)
        written[name] = pixels
    (root / "cat" / "notes.txt").write_text("ignored")
    return written


def test_classes_are_sorted_folders_and_pixels_exact(tmp_path: Path) -> None:
    written = _folder(tmp_path)
    data = load_dataset("imagefolder", path=tmp_path, pixel_range=(0, 1))
    assert data.classes == ["ant", "cat"] and data.labels.tolist() == [0, 1, 1]
    assert data.images.shape == (3, 3, 6, 8) and data.pixel_range == (0.0, 1.0)
    expected = written["cat/a.png"].transpose(2, 0, 1)  # files sorted within a class
    np.testing.assert_array_equal(np.round(data.images[1].numpy() * 255).astype(np.uint8), expected)


def test_grayscale_inferred_and_forced(tmp_path: Path) -> None:
    _folder(tmp_path, mode="L")
    assert load_dataset("imagefolder", path=tmp_path).images.shape == (3, 1, 6, 8)
    assert load_dataset("imagefolder", path=tmp_path, grayscale=False).images.shape == (3, 3, 6, 8)
    _save(tmp_path / "ant" / "rgb.jpg", np.zeros((6, 8, 3), np.uint8), fmt="JPEG")
    assert load_dataset("imagefolder", path=tmp_path).images.shape == (4, 3, 6, 8)
    assert load_dataset("imagefolder", path=tmp_path, grayscale=True).images.shape == (4, 1, 6, 8)


def test_resize_and_size_mismatch(tmp_path: Path) -> None:
    _folder(tmp_path)
    _save(tmp_path / "ant" / "big.png", np.full((10, 12, 3), 200, np.uint8))
    with pytest.raises(DataError) as excinfo:
        load_dataset("imagefolder", path=tmp_path)
    raises_one_line(excinfo, "big.png is 12x10", "image_size")
    resized = load_dataset("imagefolder", path=tmp_path, image_size=(4, 5), pixel_range=(0, 1))
    assert resized.images.shape == (4, 3, 4, 5)
    assert np.allclose(resized.images[0].numpy() * 255, 200, atol=1)  # a flat image stays flat
    assert load_dataset("imagefolder", path=tmp_path, image_size=7).images.shape == (4, 3, 7, 7)
    with pytest.raises(DataError) as excinfo:
        load_dataset("imagefolder", path=tmp_path, image_size=0)
    raises_one_line(excinfo, "image_size 0")


@pytest.mark.parametrize("content", [b"not an image", b"\x89PNG\r\n\x1a\n truncated"])
def test_unreadable_image_is_named(tmp_path: Path, content: bytes) -> None:
    _folder(tmp_path)
    (tmp_path / "cat" / "broken.png").write_bytes(content)
    for grayscale in (None, False):
        with pytest.raises(DataError) as excinfo:
            load_dataset("imagefolder", path=tmp_path, grayscale=grayscale)
        raises_one_line(excinfo, str(tmp_path / "cat" / "broken.png"), "cannot read image")


def test_train_test_layout_and_flat_has_no_test(tmp_path: Path) -> None:
    _folder(tmp_path / "flat")
    with pytest.raises(DataError) as excinfo:
        load_dataset("imagefolder", "test", path=tmp_path / "flat")
    raises_one_line(excinfo, "no test split", "val_size")
    _folder(tmp_path / "split" / "train")
    _save(tmp_path / "split" / "test" / "cat" / "t.png", np.zeros((6, 8, 3), np.uint8))
    test = load_dataset("imagefolder", "test", path=tmp_path / "split")
    assert test.classes == ["ant", "cat"] and test.labels.tolist() == [1]
    info = dataset_info("imagefolder", path=tmp_path / "split")
    assert info["splits"] == {"train": 3, "test": 1} and info["shape"] == [3, 6, 8] and info["present"] is True
    _save(tmp_path / "split" / "test" / "dog" / "d.png", np.zeros((6, 8, 3), np.uint8))
    with pytest.raises(DataError) as excinfo:
        load_dataset("imagefolder", "test", path=tmp_path / "split")
    raises_one_line(excinfo, "['dog']")


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        load_dataset("imagefolder")
    raises_one_line(excinfo, "imagefolder reads your own images", "--path DIR")
    with pytest.raises(DataError) as excinfo:
        fetch_dataset("imagefolder")
    raises_one_line(excinfo, "--path DIR")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as excinfo:
        load_dataset("imagefolder", path=tmp_path / "empty")
    raises_one_line(excinfo, "no class sub-folders")
    (tmp_path / "empty" / "cls").mkdir()
    with pytest.raises(DataError) as excinfo:
        fetch_dataset("imagefolder", path=tmp_path / "empty")
    raises_one_line(excinfo, "has no .png/.jpg/.jpeg images")
    assert dataset_info("imagefolder", path=tmp_path / "nowhere")["present"] is False
