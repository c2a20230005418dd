"""Train, save and load the per-dataset domain classifier (the embedding φ of the measures; SPEC.md "Measures").

As SPEC.md says for the PPGN encoder E (Nguyen et al. 2017; seed thesis, KTH 2018): SGD with momentum and
cross-entropy. ganforge's choices, all arguments of :func:`train_classifier`: momentum 0.9, weight decay
5e-4, batch 64, a cosine learning-rate decay over the run, data in [-1, 1]. 28×28 grayscale sets use
:class:`~ganforge.nets.classifiers.MNISTClassifier` (the PPGN encoder at width 1), other sets
:class:`~ganforge.nets.classifiers.ResNetClassifier`.

Per-dataset defaults (``DEFAULTS``), from per-batch timings on the shared 2-core CPU (batch 64, fp32, fwd +
bwd + SGD step; load average ~1.7): MNISTClassifier width 1 ≈ 0.26 s/batch (≈ 4.1 min/epoch), width 0.5 ≈
0.07-0.10 s/batch (≈ 1.1-1.6 min/epoch); with other jobs running (load ~4) both were 2-5x slower.
MNIST: width 0.5, 4 epochs (≈ 5-7 min; a width-0.125 proxy already reaches 98.8% after 2 epochs);
``--width 1 --epochs 3`` is the exact PPGN encoder (≈ 13 min). Fashion-MNIST: width 0.5, 10 epochs with
left-right flips (≈ 11-16 min; width-0.125/0.25 proxies reach 87.6-87.8% after 2-3 epochs).

A trained classifier is two files in one folder (default ``<data cache>/classifiers/<dataset>/``):
``classifier.safetensors`` (the state dict) and ``classifier.json`` (architecture, build arguments,
dataset, pixel range, test accuracy, epochs, sha256 of the weights file). Both are written atomically, the
JSON last, and :func:`load_classifier` refuses weights whose sha256 differs from the JSON's.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn
from torch.nn import functional as F

from ganforge.data import DATASETS, data_cache_dir, load_dataset
from ganforge.data.cache import write_bytes_atomic
from ganforge.errors import CheckpointError, ConfigError
from ganforge.nets import NETS, classifier_files
from ganforge.nets.classifier_files import CLASSIFIER_FORMAT as FORMAT
from ganforge.nets.classifier_files import META_FILE, WEIGHTS_FILE, load_classifier_weights, read_classifier_meta

DEFAULTS: dict[str, dict[str, Any]] = {
    "mnist": {"width": 0.5, "epochs": 4, "lr": 0.05, "flip": False},
    "fashion-mnist": {"width": 0.5, "epochs": 10, "lr": 0.05, "flip": True},
    "cifar10": {"width": 1.0, "epochs": 15, "lr": 0.05, "flip": True},
}
FALLBACK = {"width": 1.0, "epochs": 15, "lr": 0.05, "flip": False}  # ResNet for other sets (svhn: digits, no flip)


def default_classifier_dir(dataset: str) -> Path:
    """``<data cache>/classifiers/<dataset>/``, where ``ganforge classifier train`` puts a dataset's classifier."""
    return data_cache_dir() / "classifiers" / dataset


def build_classifier(dataset_shape: tuple[int, ...], num_classes: int, width: float) -> tuple[str, dict, nn.Module]:
    """Pick and build the architecture for images of ``dataset_shape`` (C, H, W).

    Returns:
        (NETS name, build keyword arguments, the built module).
    """
    c, h, w = dataset_shape
    if (h, w) == (28, 28):
        name, kwargs = "mnist-classifier", {"width": width, "num_classes": num_classes, "in_channels": c}
    elif h == w:
        name, kwargs = "resnet-classifier", {"width": width, "num_classes": num_classes, "in_channels": c,
                                             "image_size": h}
    else:
        raise ConfigError(f"no domain classifier for {h}x{w} images; resize them to a square size (image_size=32)")
    return name, kwargs, NETS.get(name).build(**kwargs)


def _subset(images: torch.Tensor, labels: torch.Tensor, size: int | None, seed: int):
    if size is None or size >= len(images):
        return images, labels
    idx = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:size]
    return images[idx], labels[idx]


def accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Share of ``images`` (N, C, H, W) whose argmax logit equals ``labels`` (N,); net in eval mode."""
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            correct += int((net(images[i:i + batch_size]).argmax(1) == labels[i:i + batch_size]).sum())
    return correct / len(images)


def _fit(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, steps: int, batch_size: int, lr: float,
         seed: int, flip: bool, budget_s: float | None, log: Callable[[str], None] | None,
         warmup_steps: int = 0) -> int:
    """SGD (momentum 0.9, weight decay 5e-4, cosine decay) for ``steps`` steps; returns the steps taken.

    ``warmup_steps`` > 0 scales the learning rate linearly up over the first steps (step i: (i + 1) / warmup).

    ``flip`` mirrors a random half of every batch left-right (for clothes and objects, not for digits).
    With a time budget the cosine follows whichever runs out first, steps or seconds, so a run stopped by
    the clock still ends at a small learning rate.
    """
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    order = torch.Generator().manual_seed(seed)
    per_epoch = max(1, len(images) // batch_size)
    start = time.monotonic()
    net.train()
    for step in range(steps):
        progress = step / steps
        if budget_s is not None:
            elapsed = time.monotonic() - start
            if elapsed >= budget_s:
                return step
            progress = max(progress, elapsed / budget_s)
        warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
        for group in opt.param_groups:
            group["lr"] = lr * warm * 0.5 * (1 + math.cos(math.pi * progress))
        if step % per_epoch == 0:
            perm = torch.randperm(len(images), generator=order)
        idx = perm[(step % per_epoch) * batch_size:(step % per_epoch + 1) * batch_size]
        x = images[idx]  # (B, C, H, W)
        if flip:
            x = torch.where(torch.rand(len(x), 1, 1, 1, generator=order) < 0.5, x.flip(3), x)
        loss = F.cross_entropy(net(x), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if log is not None and ((step + 1) % per_epoch == 0 or step + 1 == steps):
            log(f"step {step + 1}/{steps} epoch {(step + 1) / per_epoch:.2f} loss {loss.item():.4f}")
    return steps


def train_classifier(dataset: str, *, out_dir: str | Path | None = None, epochs: float | None = None,
                     width: float | None = None, batch_size: int = 64, lr: float | None = None, seed: int = 0,
                     data_path: str | Path | None = None, max_minutes: float | None = None,
                     max_steps: int | None = None, train_size: int | None = None, test_size: int | None = None,
                     log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train the domain classifier of ``dataset`` on its training split and save it.

    Args:
        dataset: a registered image dataset ("mnist", "fashion-mnist", "cifar10", ...).
        out_dir: folder for the two files (default :func:`default_classifier_dir`).
        epochs, width, lr: default from ``DEFAULTS`` for the dataset.
        batch_size, seed: SGD batch size; seed of the initialisation and the data order.
        data_path: the dataset's ``path`` (imagefolder or a folder of official files).
        max_minutes: stop training after this many minutes (the learning rate decays over that time too;
            the classifier is still evaluated and saved).
        max_steps: cap on SGD steps (tests and quick runs).
        train_size, test_size: random subsets of the splits (default: all of them).
        log: receives one progress line per epoch.

    Returns:
        The saved metadata (see ``classifier.json``) plus "dir".
    """
    given = {"epochs": epochs, "width": width, "lr": lr}
    recipe = {**DEFAULTS.get(dataset, FALLBACK), **{k: v for k, v in given.items() if v is not None}}
    train = load_dataset(dataset, "train", path=data_path)
    test = load_dataset(dataset, "test", path=data_path)
    if train.pixel_range is None:
        raise ConfigError(f"{dataset} holds 2-D points, not images; toy sets need no domain classifier")
    x, y = _subset(train.images, train.labels, train_size, seed)
    x_test, y_test = _subset(test.images, test.labels, test_size, seed + 1)
    torch.manual_seed(seed)
    arch, build, net = build_classifier(tuple(x.shape[1:]), len(train.classes), recipe["width"])
    steps = max(1, round(recipe["epochs"] * max(1, len(x) // batch_size)))
    steps = steps if max_steps is None else min(steps, max_steps)
    start = time.monotonic()
    budget = None if max_minutes is None else 60.0 * max_minutes
    taken = _fit(net, x, y, steps=steps, batch_size=batch_size, lr=recipe["lr"], seed=seed, flip=recipe["flip"],
                 budget_s=budget, log=log)
    meta = {"architecture": arch, "build": build, "dataset": dataset, "pixel_range": list(train.pixel_range),
            "input_shape": list(x.shape[1:]), "classes": train.classes, "test_accuracy": accuracy(net, x_test, y_test),
            "test_size": len(x_test), "train_size": len(x), "epochs": taken / max(1, len(x) // batch_size),
            "steps": taken, "planned_steps": steps, "batch_size": batch_size, "lr": recipe["lr"], "seed": seed,
            "flip": recipe["flip"],
            "seconds": round(time.monotonic() - start, 1)}
    folder = Path(out_dir) if out_dir is not None else default_classifier_dir(dataset)
    return {**save_classifier(net, meta, folder), "dir": str(folder)}


def save_classifier(net: nn.Module, meta: dict[str, Any], folder: str | Path) -> dict[str, Any]:
    """Write ``classifier.safetensors`` then ``classifier.json`` (with the weights' sha256) atomically.

    Args:
        net: the classifier (its state dict is saved).
        meta: at least "architecture", "build", "dataset" and "pixel_range".

    Returns:
        The metadata as written.
    """
    folder = Path(folder)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    data = safetensors.torch.save(state)
    full = {"format": FORMAT, "version": 1, **meta, "sha256": hashlib.sha256(data).hexdigest()}
    write_bytes_atomic(folder / WEIGHTS_FILE, data)
    write_bytes_atomic(folder / META_FILE, (json.dumps(full, indent=2) + "\n").encode())
    return full


def load_classifier(source: str | Path, *, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Load a saved classifier, verifying the weights' sha256.

    Args:
        source: a dataset name (its default classifier) or a folder written by :func:`train_classifier`.
        map_location: device of the loaded weights.

    Returns:
        (module in eval mode with ``pixel_range`` set to the (low, high) it was trained on,
        the ``classifier.json`` metadata plus "dir").
    """
    text = str(source)  # a dataset name stands for its default folder unless a folder of that name exists
    folder = default_classifier_dir(text) if text in DATASETS and not Path(text).is_dir() else Path(text)
    found = {"what": "domain classifier", "error": CheckpointError}
    dataset = text if text in DATASETS else "D"
    meta = read_classifier_meta(folder, fix=classifier_files.train_command(dataset, folder), **found)
    retrain = classifier_files.train_command(meta.get("dataset", "D"), folder)
    net = load_classifier_weights(folder, meta, fix=retrain, **found)
    pixel_range = classifier_files.meta_pixel_range(meta)
    if pixel_range is None:
        raise CheckpointError(f"classifier in {folder} has no valid pixel_range; retrain with {retrain}")
    net.pixel_range = pixel_range  # what metrics.features.embed expects
    return net.to(map_location).eval(), {**meta, "dir": str(folder)}
