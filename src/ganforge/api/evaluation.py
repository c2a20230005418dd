"""``ganforge.evaluate``: ``ganforge evaluate --fake ...`` from Python, for a tensor, an array or a path of samples."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.metrics.eval_request import build_request, check_n
from ganforge.metrics.evaluate import evaluate as evaluate_suite
from ganforge.metrics.evaluate import finite_or_none
from ganforge.metrics.features import array_samples, load_samples

PixelRange = tuple[float, float]


def evaluate(samples: torch.Tensor | np.ndarray | str | Path, real: str | Path = "mnist:test",
             metrics: Sequence[str] = ("ddm", "fid"), n: int | None = None, pixel_range: PixelRange | None = None,
             seed: int = 0, classifier: str | Path | None = None, *, embedding: str | None = None,
             dataset: str | None = None, feature_cache: bool | None = None,
             features: str | Path | torch.nn.Module | None = None) -> dict[str, Any]:
    """The evaluation suite on ``samples``: the numbers ``ganforge evaluate --fake PATH --real REAL --metrics ...
    --n N --seed S`` prints as JSON.

    Args:
        samples: (N, C, H, W) images or (N, 2) points as a tensor or array (uint8 pixels are 0..255), or a .npy,
            .npz (key "samples" or "images") or folder of images.
        real: ``DATASET[:split]`` or a path of real samples (``--real``).
        metrics: names among ddm, is, fid, kid, parzen, nn, modes (``--metrics``).
        n: samples per set (``--n``, at least 10); None: all of ``samples``.
        pixel_range: (low, high) of float samples without a stored range (``--pixel-range``), such as
            ``run.pixel_range``; the range of ``real`` samples given as a path too.
        seed: seeds the real subsets and KID's subsets (``--seed``).
        classifier: a classifier folder (``--classifier``); None: the dataset's cached one.
        embedding: "logits" (None), "prelogits", "hypercolumns" or "identity" (``--embedding``).
        dataset: with ``real`` a path: the dataset for the training baseline and classifier (``--dataset``).
        feature_cache: False: neither read nor write cached real features (``--no-cache``).
        features: your feature extractor instead of the classifier's embedding in ddm, fid, kid and nn
            (``--features``): a TorchScript file, ``"pkg.module:function"`` or an ``nn.Module`` (moved to the CPU,
            eval mode); it gets float32 (N, C, H, W) images in [0, 1] and returns (N, D) features.

    Returns:
        The results dict (non-finite numbers as None), as the CLI's JSON.

    Raises:
        ConfigError: unreadable samples, a missing pixel range, too few samples, an unknown dataset or metric, an
            extractor that cannot be loaded or gives features of the wrong shape or NaN.
    """
    if isinstance(samples, (str, Path)):
        fake, fake_range = load_samples(samples, pixel_range=pixel_range, limit=n)
    else:  # a tensor or array: its first n, as (N, C, H, W) float32 images or (N, 2) points
        array = samples.detach().cpu().numpy() if torch.is_tensor(samples) else samples
        fake, fake_range = array_samples(np.asarray(array)[:n], pixel_range=pixel_range)
    n = len(fake) if n is None else n
    check_n(n, "n")
    req = build_request(str(real), metrics=tuple(metrics), n=n, seed=seed, embedding=embedding,
                        classifier=str(classifier) if classifier is not None else None, dataset=dataset,
                        pixel_range=pixel_range, feature_cache=feature_cache,
                        features=str(features) if isinstance(features, Path) else features)
    return finite_or_none(evaluate_suite(fake, fake_range, req))

