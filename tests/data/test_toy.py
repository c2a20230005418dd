"""Toy 2-D sets: geometry of the modes, noise scale, seeds and split streams, option checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.data import dataset_info, fetch_dataset, load_dataset, toy_mode_centers
from ganforge.errors import DataError
from helpers.data_checks import raises_one_line


@pytest.mark.parametrize("name, modes, sigma", [("ring8", 8, 0.02), ("grid25", 25, 0.05)])
def test_mixture_points_sit_on_their_modes(name: str, modes: int, sigma: float) -> None:
    data = load_dataset(name)
    assert data.images.shape == (10000, 2) and data.images.dtype == torch.float32
    assert data.pixel_range is None and len(data.classes) == modes
    centers = torch.from_numpy(toy_mode_centers(name)).float()
    offsets = data.images - centers[data.labels]  # (N, 2)
    assert 0.95 * sigma < offsets.std().item() < 1.05 * sigma
    assert offsets.abs().max().item() < 6 * sigma
    counts = torch.bincount(data.labels, minlength=modes).float()
    assert counts.min().item() > 0.8 * 10000 / modes and counts.max().item() < 1.2 * 10000 / modes


def test_mode_centres() -> None:
    ring = toy_mode_centers("ring8")
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0)
    np.testing.assert_allclose(ring[2], [0.0, 2.0], atol=1e-12)
    grid = toy_mode_centers("grid25")
    assert sorted(set(grid[:, 0])) == [-4, -2, 0, 2, 4] and len({tuple(p) for p in grid}) == 25
    np.testing.assert_array_equal(grid[5 * 1 + 3], [-2, 2])
    with pytest.raises(DataError):
        toy_mode_centers("swissroll")


def test_swissroll() -> None:
    data = load_dataset("swissroll", "test")
    assert data.images.shape == (2000, 2) and set(data.labels.tolist()) == {0} and data.classes == ["roll"]
    radius = data.images.norm(dim=1)
    assert 0.4 < radius.min().item() < 0.75 and 1.7 < radius.max().item() < 2.1  # t/7.5 for t in [1.5π, 4.5π]


def test_seed_and_split_streams() -> None:
    a, b = load_dataset("ring8", seed=3, n=500), load_dataset("ring8", seed=3, n=500)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, load_dataset("ring8", seed=4, n=500).images)
    assert not torch.equal(a.images, load_dataset("ring8", "test", seed=3, n=500).images)
    assert len(load_dataset("grid25", "test")) == 2000


def test_options_and_info() -> None:
    for kwargs, fragment in [({"n": 0}, "n must be"), ({"seed": -1}, "seed must be"),
                             ({"path": "x"}, "path does not apply"), ({"image_size": 8}, "image_size does not")]:
        with pytest.raises(DataError) as excinfo:
            load_dataset("ring8", **kwargs)
        raises_one_line(excinfo, fragment)
    with pytest.raises(DataError) as excinfo:
        fetch_dataset("ring8")
    raises_one_line(excinfo, "nothing to fetch")
    info = dataset_info("grid25")
    assert info["present"] is True and info["shape"] == [2] and info["splits"] == {"train": 10000, "test": 2000}
