"""Helpers of the evaluation-suite tests: the real-MNIST requirement and a tiny, quickly trained classifier."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from ganforge.data import dataset_info
from ganforge.train.classifier import train_classifier

TINY_WIDTH = 0.125  # conv widths 8, 16, 32: a few ms per batch
ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1"}  # for subprocesses, as one_thread() for this one


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread: these tiny workloads gain little from two, and on a shared, oversubscribed
    2-core machine two threads were measured 3x slower in wall time (OpenMP waits), one thread not at all."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def require_mnist() -> None:
    """Fail (or skip, with GANFORGE_SKIP_REAL_DATA=1) when real MNIST is not in the default data cache."""
    info = dataset_info("mnist")
    if info["present"]:
        return
    if os.environ.get("GANFORGE_SKIP_REAL_DATA") == "1":
        pytest.skip("real mnist data absent and GANFORGE_SKIP_REAL_DATA=1")
    pytest.fail(f"real mnist data is missing from {info['location']}: run `{info['fetch_command']}`, or set "
                "GANFORGE_SKIP_REAL_DATA=1 to skip real-data tests", pytrace=False)


def tiny_classifier(out_dir: Path, steps: int = 300) -> dict:
    """Train a width-0.125 MNIST classifier on 2,000 real training images; returns its metadata."""
    require_mnist()
    return train_classifier("mnist", out_dir=out_dir, width=TINY_WIDTH, lr=0.05, epochs=100, max_steps=steps,
                            train_size=2000, test_size=1000, seed=0)


def cache_with_real_mnist(root: Path) -> Path:
    """A fresh data cache folder whose ``mnist`` entry links to the real one (nothing else, no features)."""
    require_mnist()
    cache = root / "cache"
    cache.mkdir()
    (cache / "mnist").symlink_to(Path(dataset_info("mnist")["location"]).resolve(), target_is_directory=True)
    return cache


@contextmanager
def private_mnist_cache(root: Path) -> Iterator[Path]:
    """``cache_with_real_mnist(root)`` as the data cache ($GANFORGE_DATA), torch on one thread, for the
    body of a module-scoped fixture; yields the cache folder."""
    cache = cache_with_real_mnist(root)
    with pytest.MonkeyPatch.context() as mp, one_thread():
        mp.setenv("GANFORGE_DATA", str(cache))
        yield cache
