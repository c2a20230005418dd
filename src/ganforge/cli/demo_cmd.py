"""``ganforge demo``: the main job a new user runs first (``make demo``)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="fetch MNIST and show what ganforge does")
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from ganforge.data import dataset_info, fetch_dataset, load_dataset

    fetch_dataset("mnist")
    info = dataset_info("mnist")
    train = load_dataset("mnist", "train")
    test = load_dataset("mnist", "test")
    print(f"MNIST at {info['location']}")
    for data in (train, test):
        counts = data.labels.bincount(minlength=10).tolist()
        lo, hi = float(data.images.min()), float(data.images.max())
        print(f"  {data.split:<5} {tuple(data.images.shape)} pixels [{lo:.0f}, {hi:.0f}] labels {counts}")
    return 0
