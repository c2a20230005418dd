"""Samples → features → statistics → numbers: the evaluation suite behind ``ganforge evaluate``.

Measures (SPEC.md "Measures"): DDM (Basart 2017, eq. 3.4/3.5), the inception-style score with the domain
classifier (Salimans et al. 2016), FID (Heusel et al. 2017), KID (Bińkowski et al. 2018), the Parzen window
(Goodfellow et al. 2014), nearest-training-neighbour memorization (Basart 2017) and mode coverage.

Every number comes with a reference computed the same way at the same sample count n:
``baseline_train`` puts n training images where the generated samples were (DDM, FID, KID, IS, Parzen,
modes), ``baseline_noise`` n items of uniform noise (``ganforge.metrics.noise_baseline``: DDM, FID, KID, IS,
modes, without spreads), ``real_test`` holds IS and modes of the real test set. Sets: n generated samples, n test items
(all of them when the split is smaller, with a note), n training items (a seeded subset), plus 1000 more
training items as the Parzen validation set (σ chosen there on logspace(-1, 0, 10) for [0, 1] pixels,
logspace(-3, 0, 13) for toy points). Parzen works in pixel space ([0, 1]) or on raw toy points. KID uses
100 subsets of min(1000, n/2) rows (n/2 so that small sets still give distinct subsets). DDM and FID carry a
bootstrap std over 10 resamples of every set (``ganforge.metrics.spread``; FID needs n > feature dims), and
DDM, FID and KID entries their sample counts ``n_fake`` (generated or training rows) and ``n_real`` (test rows).
``nn`` compares pixel and feature neighbours in the whole training split (or ``nn_train`` items) and writes
a grid of 32 samples beside their pixel neighbours.

A user's extractor (``features``; ``metrics/extractors.py``) replaces the classifier's embedding in DDM, FID,
KID and nn's feature neighbours; IS and modes need class logits and keep the domain classifier.

2-D toy runs: the embedding is "identity" (raw points); IS and nn need a classifier and are skipped with a
note; modes uses the mixture's centres and σ (ring8, grid25).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.data import DATASETS, toy_mode_centers
from ganforge.errors import ConfigError
from ganforge.metrics import ddm, fid, inception_score, kid, parzen_log_likelihood, parzen_select_sigma
from ganforge.metrics.extractors import FEATURES, check_features
from ganforge.metrics.features import convert_range, default_feature_cache, feature_cache_path, load_real, real_features
from ganforge.metrics.memorization import memorization, neighbour_pairs
from ganforge.metrics.modes import class_coverage, toy_mode_coverage
from ganforge.metrics.noise_baseline import uniform_noise
from ganforge.metrics.spread import ddm_with_spread, fid_with_spread
from ganforge.train.classifier import load_classifier

METRIC_NAMES = ("ddm", "is", "fid", "kid", "parzen", "nn", "modes")
DEFAULT_METRICS = ("ddm", "is", "fid", "kid")
PARZEN_VAL = 1000
TOY_SIGMA_GRID = tuple(float(s) for s in np.logspace(-3, 0, 13))
GRID_PAIRS = 32
# (result key, image set) of the measures every set gets: the samples, both baselines and the real test set
ROLES = (("fake", "fake"), ("baseline_train", "train"), ("baseline_noise", "noise"), ("real_test", "test"))


@dataclass
class EvalRequest:
    """What to evaluate against what.

    Attributes:
        dataset: the real dataset (its test/train splits and, by default, its cached classifier).
        metrics: names from ``METRIC_NAMES``.
        n: samples per set (generated, test, training baseline).
        embedding: "logits", "prelogits", "hypercolumns", "identity", or "features" with ``features``.
        classifier: a classifier folder; None = the dataset's default (``ganforge classifier train``).
        features: a :class:`~ganforge.metrics.extractors.FeatureExtractor` (embedding "features"): it replaces
            the classifier in ddm, fid, kid and nn; is and modes still use the classifier.
        real_split: the split compared against ("test"; "train" works too).
        real: (M, C, H, W) images to use instead of the split (``--real PATH``), with ``real_pixel_range``.
        seed: seeds the real subsets and KID's subset draws.
        data_path: the dataset's ``path`` (imagefolder or a folder of official files).
        feature_cache: folder of cached real features; None = ``<data cache>/features``; False = no caching.
        grid_path: where ``nn`` writes its PNG (None: no grid, with a note).
        nn_train: training items searched by ``nn`` (None = the whole split).
        val_size: training items held out as the "val" split (needed when ``real_split`` is "val"; the
            training baseline then excludes them).
    """

    dataset: str
    metrics: tuple[str, ...] = DEFAULT_METRICS
    n: int = 10000
    embedding: str = "logits"
    classifier: str | None = None
    features: Any = None
    real_split: str = "test"
    real: torch.Tensor | None = None
    real_pixel_range: tuple[float, float] | None = None
    seed: int = 0
    data_path: str | None = None
    feature_cache: Path | bool | None = None
    grid_path: Path | None = None
    nn_train: int | None = None
    val_size: int = 0
    notes: list[str] = field(default_factory=list)


class EvalSets:
    """The generated, test and training sets of one evaluation, with their features computed once each."""

    def __init__(self, fake: torch.Tensor, fake_range: tuple[float, float] | None, req: EvalRequest) -> None:
        self.req, self.toy = req, not DATASETS.get(req.dataset).pixels
        if len(fake) < req.n:
            raise ConfigError(f"only {len(fake)} generated samples for n={req.n}; pass --n {len(fake)} or more samples")
        self.images = {"fake": fake[:req.n].float()}
        self.ranges = {"fake": fake_range}
        self._load_real()
        self.classifier, self.meta = self._classifier()
        self._features: dict[tuple[str, str], torch.Tensor] = {}

    def _load_real(self) -> None:
        req, size = self.req, self.req.n + PARZEN_VAL
        if req.real is not None:
            self.images["test"], self.ranges["test"] = req.real[:req.n].float(), req.real_pixel_range
        else:
            self.images["test"], _, self.ranges["test"], _ = load_real(req.dataset, req.real_split, req.n, req.seed,
                                                                      data_path=req.data_path, toy_size=req.n,
                                                                      val_size=req.val_size)
        train, _, self.ranges["train"], _ = load_real(req.dataset, "train", size, req.seed, data_path=req.data_path,
                                                      toy_size=max(size, 10000), val_size=req.val_size)
        self.images["train"], self.images["val"] = train[:req.n], train[req.n:]
        self.ranges["val"] = self.ranges["train"]
        self.images["noise"], self.ranges["noise"] = uniform_noise(train[:req.n], self.ranges["train"], req.n)
        if len(self.images["test"]) < req.n:
            req.notes.append(f"the real set holds {len(self.images['test'])} items, fewer than n={req.n}; all used")
        if len(self.images["train"]) < req.n:
            raise ConfigError(f"the training split holds {len(self.images['train'])} items; pass --n at most that")

    def _classifier(self) -> tuple[Any, dict | None]:
        req = self.req
        check_features(req.features, req.embedding, toy=self.toy, dataset=req.dataset)
        needs = {"is", "modes"} | ({"nn"} if req.features is None else set()) | (
            {"ddm", "fid", "kid"} if req.embedding not in ("identity", FEATURES) else set())
        if self.toy:
            if req.embedding != "identity":
                req.notes.append(f"{req.dataset} holds 2-D points: embedding 'identity' (raw points) is used")
                req.embedding = "identity"
            return None, None
        if not needs & set(req.metrics):
            return None, None
        net, meta = load_classifier(req.classifier or req.dataset)
        if meta.get("dataset") != req.dataset:
            req.notes.append(f"the classifier was trained on {meta.get('dataset')!r}, not {req.dataset!r}")
        return net, meta

    def features(self, which: str, embedding: str | None = None) -> torch.Tensor:
        """(N, D) features of set ``which`` ("fake", "test", "train") under ``embedding`` (default the request's)."""
        embedding = embedding or self.req.embedding
        key = (which, embedding)
        if key not in self._features:
            self._features[key] = self._compute(which, embedding, self.images[which], len(self.images[which]))
        return self._features[key]

    def _compute(self, which: str, embedding: str, images: torch.Tensor, n: int, split: str | None = None):
        cache = self.req.feature_cache
        cacheable = which not in ("fake", "noise") and embedding != "identity" and cache is not False and not (
            which == "test" and self.req.real is not None)
        cache_file = None
        if cacheable:
            folder = default_feature_cache() if cache in (None, True) else Path(cache)
            split = split or (self.req.real_split if which == "test" else "train")
            split += f"-heldout{self.req.val_size}" if self.req.val_size and split != "test" else ""
            sha = self.req.features.sha256 if embedding == FEATURES else self.meta["sha256"]
            cache_file = feature_cache_path(folder, dataset=self.req.dataset, split=split, n=n, seed=self.req.seed,
                                            embedding=embedding, classifier_sha=sha, data_path=self.req.data_path)
        net = self.req.features if embedding == FEATURES else self.classifier
        return real_features(net, images, self.ranges[which], cache_file=cache_file, embedding=embedding)

    def pixels01(self, which: str) -> torch.Tensor:
        """(N, D) set ``which`` flattened, images mapped to [0, 1] (toy points unchanged)."""
        x, rng = self.images[which], self.ranges[which]
        return (x if rng is None else convert_range(x, rng, (0.0, 1.0))).reshape(len(x), -1)


def _noise(s: EvalSets, name: str, value: float) -> dict:
    """The noise baseline's entry of one measure (one value, no spread) with its sample counts."""
    return {"baseline_noise": {name: value, "n_fake": len(s.images["noise"]), "n_real": len(s.images["test"])}}


def _ddm(s: EvalSets) -> dict:
    out = ddm_with_spread(s.features("train"), s.features("test"), s.features("fake"), seed=s.req.seed)
    return out | _noise(s, "ddm", ddm(s.features("test"), s.features("noise")))


def _fid(s: EvalSets) -> dict:
    out = fid_with_spread(s.features("test"), s.features("fake"), s.features("train"), seed=s.req.seed)
    return out | _noise(s, "fid", fid(s.features("test"), s.features("noise")))


def _kid(s: EvalSets) -> dict:
    test = s.features("test")
    m = min(1000, max(2, min(len(test), len(s.features("fake"))) // 2))
    out = {}
    for role, which in (("fake", "fake"), ("baseline_train", "train"), ("baseline_noise", "noise")):
        mean, std = kid(test, s.features(which), subsets=100, subset_size=m, seed=s.req.seed)
        out[role] = {"kid": mean, "kid_std": std, "kid_subset_size": m, "kid_subsets": 100,
                     "n_fake": len(s.features(which)), "n_real": len(test)}
    return out


def _is(s: EvalSets) -> dict:
    out = {}
    for role, which in ROLES:
        mean, std = inception_score(s.features(which, "logits"), splits=10)
        out[role] = {"is": mean, "is_std": std, "is_splits": 10, "is_n": len(s.features(which, "logits"))}
    return out


def _parzen(s: EvalSets) -> dict:
    grid = TOY_SIGMA_GRID if s.toy else None
    test, val = s.pixels01("test"), s.pixels01("val")
    out = {}
    for role, which in (("fake", "fake"), ("baseline_train", "train")):
        kernels = s.pixels01(which)
        sigma = parzen_select_sigma(kernels, val, grid)
        mean, se = parzen_log_likelihood(kernels, test, sigma)
        out[role] = {"parzen": mean, "parzen_se": se, "parzen_sigma": sigma}
    return out


def _nn(s: EvalSets) -> dict:
    req = s.req
    train, _, rng, _ = load_real(req.dataset, "train", req.nn_train or 10**9, req.seed, data_path=req.data_path)
    train01 = convert_range(train, rng, (0.0, 1.0))
    pixel = memorization(s.pixels01("fake"), s.pixels01("test"), train01)
    feats = s._compute("train", req.embedding, train, len(train), split="train_all")
    feature = memorization(s.features("fake"), s.features("test"), feats)
    fake01 = s.pixels01("fake").reshape(s.images["fake"].shape)
    if req.grid_path is not None:
        from ganforge.train.grids import save_grid

        save_grid(neighbour_pairs(fake01, train01, pixel["fake_index"], GRID_PAIRS), req.grid_path, nrow=16,
                  pixel_range=(0.0, 1.0))
    else:
        req.notes.append("nn: no grid written (give --json FILE to get nn_grid.png beside it)")
    clean = {k: {key: v for key, v in d.items() if key != "fake_index"} for k, d in (("pixel", pixel),
                                                                                      ("feature", feature))}
    return {"fake": {"nn": {**clean, "train_size": len(train)}}}


def _modes(s: EvalSets) -> dict:
    if not s.toy:
        return {role: {"modes": class_coverage(s.features(which, "logits"))}
                for role, which in ROLES}
    spec = DATASETS.get(s.req.dataset)
    if s.req.dataset not in ("ring8", "grid25"):
        s.req.notes.append(f"modes: {s.req.dataset} is not a Gaussian mixture; skipped")
        return {}
    centers = toy_mode_centers(s.req.dataset)
    return {role: {"modes": toy_mode_coverage(s.images[which], centers, spec.sigma)}
            for role, which in ROLES}


RUNNERS = {"ddm": _ddm, "is": _is, "fid": _fid, "kid": _kid, "parzen": _parzen, "nn": _nn, "modes": _modes}
NEEDS_CLASSIFIER = ("is", "nn")


def evaluate(fake: torch.Tensor, fake_pixel_range: tuple[float, float] | None, req: EvalRequest) -> dict[str, Any]:
    """Run the requested metrics on generated samples and on the training-set baseline.

    Args:
        fake: (N, C, H, W) generated images in ``fake_pixel_range`` (or (N, 2) toy points, range None); N >= n.
        fake_pixel_range: (low, high) of ``fake``.
        req: the sets, metrics and options.

    Returns:
        {"fake": {...}, "baseline_train": {...}, "baseline_noise": {...}, "real_test": {...}, "n", "n_test",
        "dataset", "real", "embedding", "classifier": {...} or None, "features": {"spec", "kind", "sha256"} or None,
        "metrics", "seed", "notes"}; JSON-able.
    """
    unknown = [m for m in req.metrics if m not in RUNNERS]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRIC_NAMES)}")
    sets = EvalSets(fake, fake_pixel_range, req)
    result: dict[str, Any] = {"fake": {}, "baseline_train": {}, "baseline_noise": {}, "real_test": {}}
    for name in req.metrics:
        if sets.toy and name in NEEDS_CLASSIFIER:
            req.notes.append(f"{name}: needs a domain classifier, which 2-D toy points have none of; skipped")
            continue
        for role, values in RUNNERS[name](sets).items():
            result[role].update(values)
    return {**result, "n": req.n, "n_test": len(sets.images["test"]), "dataset": req.dataset,
            "real": "PATH" if req.real is not None else f"{req.dataset}:{req.real_split}",
            "embedding": req.embedding, "classifier": _classifier_summary(sets.meta),
            "features": req.features.summary() if req.features is not None else None, "metrics": list(req.metrics),
            "seed": req.seed, "notes": req.notes}


def samples_from_run(run: str | Path, n: int, *, seed: int = 0, ema: bool = False, step: int | None = None,
                     batch_size: int = 500) -> tuple[torch.Tensor, tuple[float, float] | None, Any]:
    """Draw ``n`` samples from a run's generator in batches (z from a generator seeded with ``seed``).

    Returns:
        (samples (n, C, H, W) or (n, 2) on the CPU, their pixel range (None for points), the run's DataConfig).
    """
    from ganforge.train.run import open_run

    run = open_run(run, step=step)
    samples = run.generate(n, ema=ema, generator=torch.Generator().manual_seed(seed), batch_size=batch_size)
    return samples.float(), run.pixel_range, run.cfg.data


def _classifier_summary(meta: dict | None) -> dict | None:
    if meta is None:
        return None
    keys = ("dir", "architecture", "dataset", "sha256", "test_accuracy", "pixel_range")
    return {k: meta.get(k) for k in keys} | {"width": meta.get("build", {}).get("width")}


def finite_or_none(value: Any) -> Any:
    """JSON has no NaN/Inf: map them to None, recursively (tuples become lists, as JSON writes them)."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
