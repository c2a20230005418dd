"""What ``ganforge evaluate`` and ``ganforge.evaluate`` compare against: one :class:`EvalRequest` builder for both.

``real`` is ``DATASET[:split]`` (a registered dataset's split, "test" by default) or the path of a set of real
samples (.npy / .npz / a folder of images); the dataset (for the training baseline and the classifier) comes from
the split's name, ``dataset``, the run's config, or the classifier's record, in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ganforge.data import DATASETS
from ganforge.errors import ConfigError
from ganforge.metrics.evaluate import EvalRequest
from ganforge.metrics.extractors import FEATURES, load_extractor
from ganforge.metrics.features import load_samples

DEFAULT_VAL_SIZE = 10000
MIN_N = 10  # the inception-style score uses 10 splits
CLASS_LOGIT_METRICS = {"is", "modes"}  # measures that read the domain classifier's logits, even with --features


def check_n(n: int, flag: str = "--n") -> None:
    """Refuse fewer than :data:`MIN_N` samples per set with one line."""
    if n < MIN_N:
        raise ConfigError(f"{flag} must be at least {MIN_N} (the inception-style score uses 10 splits), got {n}")


def build_request(real: str | None, *, metrics: Sequence[str], n: int, seed: int = 0, embedding: str | None = None,
                  classifier: str | None = None, dataset: str | None = None,
                  pixel_range: tuple[float, float] | None = None, val_size: int | None = None, run_data=None,
                  feature_cache: bool | None = None, grid_path: Path | None = None,
                  nn_train: int | None = None, features=None) -> EvalRequest:
    """The request of one evaluation (``ganforge evaluate``'s flags by the same names).

    Args:
        real: ``DATASET[:split]`` or a path of real samples (read with ``pixel_range``, first ``n``); None: the
            run's dataset, test split.
        embedding: the classifier's embedding (None: "logits"; "features" with ``features``).
        run_data: the evaluated run's ``DataConfig`` (its dataset, path and val_size), or None for loose samples.
        features: a user's extractor (``--features``: a TorchScript path, ``pkg.module:function``, an ``nn.Module``
            or a loaded ``FeatureExtractor``); it excludes ``embedding``, and ``classifier`` unless is or modes
            (the measures that still use the classifier) are asked for.
        feature_cache: False: neither read nor write cached real features; None: the default cache.

    Returns:
        The :class:`EvalRequest` for :func:`ganforge.metrics.evaluate.evaluate`.
    """
    features, embedding = resolve_features(features, embedding, classifier, metrics)
    run_dataset = run_data.name if run_data is not None else None
    real_samples, real_range, split, dataset = None, None, "test", dataset or run_dataset
    if real:
        name, _, part = str(real).partition(":")
        if name in DATASETS and not Path(real).exists():
            dataset, split = name, part or "test"
        else:
            real_samples, real_range = load_samples(real, pixel_range=pixel_range, limit=n)
    if dataset is None and classifier:
        from ganforge.train.classifier import load_classifier

        dataset = load_classifier(classifier)[1].get("dataset")
    if dataset is None:
        raise ConfigError("say which dataset the samples imitate: --real DATASET[:split] (or --dataset D)")
    same = run_data is not None and dataset == run_dataset
    return EvalRequest(dataset=dataset, metrics=tuple(metrics), n=n, embedding=embedding, classifier=classifier,
                       features=features,
                       real_split=split, real=real_samples, real_pixel_range=real_range, seed=seed,
                       data_path=run_data.path if same else None, feature_cache=feature_cache, grid_path=grid_path,
                       nn_train=nn_train, val_size=resolve_val_size(val_size, split, run_data if same else None))


def resolve_features(features, embedding: str | None, classifier: str | None, metrics: Sequence[str]):
    """(the loaded extractor or None, the embedding): refuses --features beside --embedding, or beside a
    --classifier that no requested measure would use."""
    if features is None:
        return None, embedding or "logits"
    if embedding not in (None, FEATURES):
        raise ConfigError(f"--features replaces the classifier's embedding; drop --embedding {embedding}")
    if classifier and not CLASS_LOGIT_METRICS & set(metrics):
        raise ConfigError("with --features the classifier serves only is and modes; drop --classifier or add is "
                          "or modes to --metrics")
    return load_extractor(features), FEATURES


def resolve_val_size(val_size: int | None, split: str, run_data) -> int:
    """Training items held out as "val": ``val_size``, else the run's data.val_size, else 10000 (val split only)."""
    if val_size is not None:
        if val_size < 1:
            raise ConfigError(f"--val-size must be at least 1, got {val_size}")
        return val_size
    if split != "val":
        return 0
    return run_data.val_size if run_data is not None and run_data.val_size > 0 else DEFAULT_VAL_SIZE
