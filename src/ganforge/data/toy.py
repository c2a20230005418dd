"""2-D toy sets for mode-collapse studies and fast tests, generated from a seed (no files).

- ``ring8``: 8 Gaussian modes evenly spaced on a circle of radius 2, σ = 0.02 (Metz et al. 2017,
  Unrolled GANs); mode k is centred at 2·(cos 2πk/8, sin 2πk/8).
- ``grid25``: 25 Gaussian modes on a 5×5 grid at coordinates {-4, -2, 0, 2, 4}², σ = 0.05
  (Dumoulin et al. 2017 / VEEGAN); mode 5·i + j is centred at (x_i, y_j).
- ``swissroll``: t = 1.5π(1 + 2u), u ~ U(0, 1), points (t cos t, t sin t) / 7.5 plus Gaussian noise
  σ = 0.25 / 7.5 (the WGAN-GP toy, Gulrajani et al. 2017); one class, label 0.

Labels are mode indices. Points are float32 (N, 2) and are not pixels, so no pixel range applies.
Each split draws from its own stream ``SeedSequence([seed, split_id])``: test never repeats train.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganforge.data.spec import DATASETS, DatasetSpec, RawSplit, ReadOptions
from ganforge.errors import DataError

DEFAULT_SIZES = {"train": 10000, "test": 2000}
SPLIT_STREAM = {"train": 0, "test": 1}
GRID_COORDS = (-4.0, -2.0, 0.0, 2.0, 4.0)


def toy_mode_centers(name: str) -> np.ndarray:
    """The mode centres of a toy mixture, indexed by label.

    Args:
        name: "ring8" or "grid25".

    Returns:
        float64 array (K, 2): K = 8 or 25.
    """
    if name == "ring8":
        angles = 2 * np.pi * np.arange(8) / 8
        return 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if name == "grid25":
        return np.array([(x, y) for x in GRID_COORDS for y in GRID_COORDS])
    raise DataError(f"toy set {name!r} has no mode centres; use 'ring8' or 'grid25'")


def _mixture(rng: np.random.Generator, centers: np.ndarray, sigma: float, n: int, classes: list[str]) -> RawSplit:
    labels = rng.integers(0, len(centers), size=n)
    points = centers[labels] + sigma * rng.standard_normal((n, 2))  # (n, 2)
    return RawSplit(points.astype(np.float32), labels.astype(np.int64), classes)


def _swissroll(rng: np.random.Generator, n: int) -> RawSplit:
    t = 1.5 * np.pi * (1 + 2 * rng.random(n))
    points = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 7.5  # (n, 2)
    points += (0.25 / 7.5) * rng.standard_normal((n, 2))
    return RawSplit(points.astype(np.float32), np.zeros(n, dtype=np.int64), ["roll"])


@dataclass
class ToySpec(DatasetSpec):
    """A 2-D point set generated on demand; ``n`` samples per split, reproducible from ``seed``."""

    sigma: float = 0.0
    storage: str = "float32 points, generated"
    shape: tuple[int, ...] = (2,)
    split_sizes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SIZES))
    options: frozenset[str] = frozenset({"n"})
    pixels: bool = False

    def present(self, path: Path | None) -> bool:
        """Always: toy sets are generated."""
        return True

    def fetch_command(self, path: Path | None) -> str:
        """Empty: there is nothing to fetch."""
        return ""

    def fetch(self, path: Path | None) -> Path:
        """Toy sets have no files: always raises :class:`DataError` saying so."""
        raise DataError(f"{self.name} is generated from a seed; there is nothing to fetch, just load it")

    def read(self, split: str, path: Path | None, options: ReadOptions) -> RawSplit:
        """Generate ``options.n`` (default 10000 train / 2000 test) points of ``split`` from ``options.seed``.

        Returns:
            RawSplit with points float32 (n, 2) and mode labels int64 (n,).
        """
        n = DEFAULT_SIZES[split] if options.n is None else options.n
        rng = np.random.default_rng([options.seed, SPLIT_STREAM[split]])
        if self.name == "swissroll":
            return _swissroll(rng, n)
        return _mixture(rng, toy_mode_centers(self.name), self.sigma, n, list(self.classes))

    def info(self, path: Path | None) -> dict[str, Any]:
        """As the base; the location says the data are generated."""
        return super().info(path) | {"location": "(generated from seed)"}


RING8 = DATASETS.register("ring8", ToySpec(
    name="ring8", description="8 Gaussians on a ring of radius 2, sigma 0.02 (2-D toy)",
    classes=tuple(f"mode{k}" for k in range(8)), sigma=0.02,
))
GRID25 = DATASETS.register("grid25", ToySpec(
    name="grid25", description="25 Gaussians on a 5x5 grid at -4,-2,0,2,4, sigma 0.05 (2-D toy)",
    classes=tuple(f"mode{k}" for k in range(25)), sigma=0.05,
))
SWISSROLL = DATASETS.register("swissroll", ToySpec(
    name="swissroll", description="Swiss roll (WGAN-GP toy), scaled by 1/7.5, noise 0.25/7.5 (2-D toy)",
    classes=("roll",),
))
