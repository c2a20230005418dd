"""Samples → features: the embedding φ of the measures (SPEC.md "Measures"; Basart 2017, sec. 3.4).

φ is the dataset's domain classifier (``ganforge.train.classifier``) read at one of four places:

- ``logits``: the classifier's logits (the default, as in Basart 2017);
- ``prelogits``: the penultimate layer (MNISTClassifier fc1 = PPGN's h; ResNet global-average-pool);
- ``hypercolumns``: global-average-pooled activations of several layers, concatenated in order
  (MNISTClassifier conv1, conv2, conv3, fc1; ResNet stem, stage1, stage2, stage3; see ``nets.classifiers``);
- ``identity``: no network: images flattened after mapping them to [0, 1] (pixel space), 2-D toy points as
  they are.

Images are converted from their own pixel range to the classifier's (``classifier.pixel_range``, set by
``load_classifier``; [-1, 1] if absent) before the forward pass, so a sigmoid generator's [0, 1] samples and
a tanh generator's [-1, 1] samples meet the same classifier. ``features``: a user's extractor in place of the
classifier (``ganforge.metrics.extractors``, ``--features``; it receives [0, 1] images). Features of real splits
are cached as ``.npz`` (no pickle) under ``<data cache>/features/``, keyed by dataset, split, n, seed, embedding
and the sha256 of the classifier or extractor.
"""

from __future__ import annotations

import hashlib
import math
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganforge.data import data_cache_dir, load_dataset
from ganforge.data.array_files import load_npy, load_npz_member, npz_keys, open_npz, read_header
from ganforge.data.cache import save_npz_atomic
from ganforge.data.imagefolder import read_image
from ganforge.data.input_files import regular_file
from ganforge.errors import ConfigError
from ganforge.metrics.extractors import FEATURES, FeatureExtractor

EMBEDDINGS = ("logits", "prelogits", "hypercolumns", "identity")
PixelRange = tuple[float, float]


def embedding_layers(classifier: nn.Module, embedding: str) -> list[str]:
    """The classifier layers an embedding reads (empty for "identity")."""
    if embedding not in EMBEDDINGS:
        raise ConfigError(f"unknown embedding {embedding!r}; choose one of: {', '.join(EMBEDDINGS)}")
    if embedding == "identity":
        return []
    if embedding == "logits":
        return [classifier.logits_layer]
    if embedding == "prelogits":
        return [classifier.prelogits_layer]
    return list(classifier.hypercolumn_layers)


def convert_range(images: torch.Tensor, source: PixelRange, target: PixelRange) -> torch.Tensor:
    """Map pixels linearly from ``source`` (low, high) to ``target`` (low, high); a no-op when they match."""
    if tuple(source) == tuple(target):
        return images
    (s0, s1), (t0, t1) = source, target
    return (images - s0) * ((t1 - t0) / (s1 - s0)) + t0


def embed(classifier: nn.Module | None, images: torch.Tensor, *, embedding: str = "logits", batch_size: int = 500,
          pixel_range: PixelRange | None = None) -> torch.Tensor:
    """Features φ(x) of every image, in batches, with the classifier in eval mode and no gradients.

    Args:
        classifier: a domain classifier (``activations``, ``input_shape``, ``pixel_range``); None for "identity";
            a :class:`~ganforge.metrics.extractors.FeatureExtractor` for "features".
        images: (N, C, H, W) images in ``pixel_range``, or (N, D) toy points (identity only).
        embedding: "logits", "prelogits", "hypercolumns", "identity" or "features" (a user's extractor).
        batch_size: images per forward pass; does not change the result beyond float32 rounding.
        pixel_range: the images' (low, high); None means the classifier's own range (identity: keep values).

    Returns:
        (N, D) float32 CPU tensor.
    """
    if embedding == "identity":
        x = images if pixel_range is None else convert_range(images, pixel_range, (0.0, 1.0))
        return x.detach().reshape(len(x), -1).float().cpu()
    if embedding == FEATURES:  # a user's extractor (``--features``) in place of the classifier
        if not isinstance(classifier, FeatureExtractor):
            raise ConfigError("embedding 'features' needs a feature extractor: pass --features SPEC")
        return classifier.embed(images, pixel_range=pixel_range, batch_size=batch_size)
    if classifier is None and embedding in EMBEDDINGS:
        raise ConfigError(f"embedding {embedding!r} needs a domain classifier; pass one or use 'identity'")
    layers = embedding_layers(classifier, embedding)
    target = tuple(getattr(classifier, "pixel_range", (-1.0, 1.0)))
    _check_shape(classifier, images)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size}")
    classifier.eval()
    device = next(classifier.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            x = images[i:i + batch_size].to(device=device, dtype=torch.float32)
            acts = classifier.activations(convert_range(x, pixel_range or target, target), layers)
            out.append(torch.cat([_pooled(acts[name]) for name in layers], 1).cpu())
    return torch.cat(out) if out else torch.empty(0, 0)


def _pooled(activation: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → global average (B, C); (B, D) unchanged."""
    return activation.mean((2, 3)) if activation.dim() == 4 else activation


def _check_shape(classifier: nn.Module, images: torch.Tensor) -> None:
    expected = tuple(getattr(classifier, "input_shape", images.shape[1:]))
    if images.dim() != 4 or tuple(images.shape[1:]) != expected:
        raise ConfigError(f"images of shape {tuple(images.shape[1:])} do not fit the classifier's input "
                          f"{expected}; evaluate with the classifier of the samples' dataset")


def subset_indices(total: int, n: int, seed: int) -> np.ndarray:
    """The first ``n`` of a seeded permutation of ``range(total)`` (all of it when n >= total), int64."""
    return np.random.default_rng(seed).permutation(total)[: min(n, total)].astype(np.int64)


def feature_cache_path(cache_dir: Path, *, dataset: str, split: str, n: int, seed: int, embedding: str,
                       classifier_sha: str, data_path: str | None = None) -> Path:
    """The cache file of one real split's features; every argument is part of its name.

    ``classifier_sha`` is the sha256 of the network that made the features: the domain classifier's, or a
    user's extractor's (``FeatureExtractor.sha256``, with ``embedding`` "features")."""
    where = "" if data_path is None else "_" + hashlib.sha256(str(data_path).encode()).hexdigest()[:8]
    return cache_dir / f"{dataset}{where}_{split}_n{n}_seed{seed}_{embedding}_{classifier_sha[:16]}.npz"


def default_feature_cache() -> Path:
    """``<data cache>/features/``."""
    return data_cache_dir() / "features"


def real_features(classifier: nn.Module | None, images: torch.Tensor, pixel_range: PixelRange | None, *,
                  cache_file: Path | None, embedding: str) -> torch.Tensor:
    """Features of a real split, read from ``cache_file`` when it holds them, else computed and stored there.

    Args:
        classifier, embedding: as in :func:`embed`.
        images: (N, C, H, W) real images (the exact subset the cache key names) in ``pixel_range``.
        cache_file: the ``.npz`` from :func:`feature_cache_path`, or None for no caching.

    Returns:
        (N, D) float32 tensor.
    """
    if cache_file is not None and cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as npz:
                cached = torch.from_numpy(npz["features"].astype(np.float32))
            if len(cached) == len(images):
                return cached
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
            pass  # a damaged cache entry is recomputed and overwritten
    features = embed(classifier, images, embedding=embedding, pixel_range=pixel_range)
    if cache_file is not None:
        save_npz_atomic(cache_file, {"features": features.numpy()})
    return features


def load_real(dataset: str, split: str, n: int, seed: int, *, data_path: str | None = None,
              toy_size: int | None = None, val_size: int = 0,
              ) -> tuple[torch.Tensor, torch.Tensor, PixelRange | None, np.ndarray]:
    """A seeded subset of ``n`` items of a dataset split (in [-1, 1] for images).

    Args:
        toy_size: toy sets only: how many points the split is generated with (default max(n, 10000)).
        val_size: image sets: training items held out as "val" ("train" then excludes them).

    Returns:
        (images (n', ...), labels (n',), pixel range or None for toy points, subset indices (n',)),
        n' = min(n, size of the split).
    """
    from ganforge.data import DATASETS

    spec = DATASETS.get(dataset)
    extra = {"val_size": val_size} if spec.pixels else {"n": toy_size or max(n, 10000), "seed": seed}
    data = load_dataset(dataset, split, path=data_path, **extra)
    idx = subset_indices(len(data), n, seed)
    t = torch.from_numpy(idx)
    return data.images[t], data.labels[t], data.pixel_range, idx


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SAMPLE_CMD = "ganforge sample --run RUN --npz FILE"
MAX_SAMPLE_PIXELS = 2**22  # a generated sample of 2048x2048 at most: ten of a folder's decode to < 1 GB of floats
SAMPLES_FIX = f"write samples with `{SAMPLE_CMD}`"


def load_samples(path: str | Path, *, pixel_range: PixelRange | None = None,
                 limit: int | None = None) -> tuple[torch.Tensor, PixelRange | None]:
    """Read samples from a file or folder; only the first ``limit`` are read (headers are checked first).

    Args:
        path: ``.npy``; ``.npz`` with key "samples" or "images" (and optionally "pixel_range"); or a folder of
            PNG/JPEG images (searched recursively, sorted, read as 8-bit pixels into [0, 1]).
        pixel_range: the (low, high) of float arrays without a stored "pixel_range"; uint8 arrays are 0..255.
        limit: read at most this many samples (``evaluate --n``); None reads all.

    Returns:
        (samples (N, C, H, W) float32 (or (N, 2) points), pixel range (None for 2-D points)).

    Raises:
        ConfigError: a missing or unreadable file, a header that its data does not fill, NaN/Inf or values
            outside the pixel range.
    """
    path = Path(path)
    if path.is_dir():
        return _load_folder(path, limit), (0.0, 1.0)
    regular_file(path, what="samples", fix=SAMPLES_FIX, error=ConfigError)
    if path.suffix not in (".npy", ".npz"):
        raise ConfigError(f"samples {path} are not .npy/.npz/a folder of images; {SAMPLES_FIX}")
    if path.suffix == ".npy":
        return _as_samples(load_npy(path, rows=limit, fix=SAMPLES_FIX, error=ConfigError), pixel_range, path)
    with open_npz(path, fix=SAMPLES_FIX, error=ConfigError) as archive:
        keys = npz_keys(archive)
        key = next((k for k in ("samples", "images") if k in keys), None)
        if key is None:
            raise ConfigError(f"{path} holds {sorted(keys)}, no 'samples' or 'images' array; save them under "
                              "'samples'")
        samples = load_npz_member(archive, key, str(path), rows=limit, fix=SAMPLES_FIX, error=ConfigError)
        stored = _stored_range(archive, keys, path)
    return _as_samples(samples, stored or pixel_range, path, stored=stored is not None)


def array_samples(x: np.ndarray, *, pixel_range: PixelRange | None = None) -> tuple[torch.Tensor, PixelRange | None]:
    """Samples held in memory, checked as :func:`load_samples` checks a file's: (N, C, H, W) or (N, H, W) images
    (uint8: 0..255; float: ``pixel_range`` required) or (N, 2) points.

    Returns:
        (samples (N, C, H, W) float32 (or (N, 2) points), pixel range (None for 2-D points)).
    """
    if x.ndim in (3, 4) and x.dtype != np.uint8 and pixel_range is None:
        raise ConfigError("float image samples need their pixel range: pass pixel_range=(0, 1) or (-1, 1) "
                          "(an opened run's .pixel_range)")
    return _as_samples(x, pixel_range, Path("the array"))


def _stored_range(archive, keys: list[str], path: Path) -> PixelRange | None:
    """The .npz's "pixel_range" (low, high), or None when absent or None (toy points, saved as an object)."""
    if "pixel_range" not in keys:
        return None
    where = f"{path}:pixel_range"
    with archive.open("pixel_range.npy") as stream:
        header = read_header(stream, where, fix=SAMPLES_FIX, error=ConfigError, objects_ok=True)
    if header.dtype.hasobject:  # pixel_range=None: no range
        return None
    if math.prod(header.shape) != 2:
        raise ConfigError(f"pixel_range in {path} has shape {header.shape}, not (low, high); store e.g. [0, 1]")
    values = load_npz_member(archive, "pixel_range", str(path), fix=SAMPLES_FIX, error=ConfigError)
    values = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(values).all() or values[0] >= values[1]:
        raise ConfigError(f"pixel_range {values.tolist()} in the .npz is not (low, high); store e.g. [0, 1]")
    return float(values[0]), float(values[1])


def _as_samples(x: np.ndarray, pixel_range: PixelRange | None, path: Path,
                stored: bool = False) -> tuple[torch.Tensor, PixelRange | None]:
    if x.ndim == 3:
        x = x[:, None]  # (N, H, W) → (N, 1, H, W)
    if x.ndim == 2 and x.shape[1] == 2:
        return torch.from_numpy(_finite(x.astype(np.float32), None, path)), None
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ConfigError(f"samples in {path} have shape {x.shape}; save (N, C, H, W) images or (N, 2) points")
    if x.dtype == np.uint8:
        return torch.from_numpy(x.astype(np.float32) / 255.0), (0.0, 1.0)
    if x.dtype.kind not in "fiu":
        raise ConfigError(f"samples in {path} are {x.dtype}; save float or uint8 pixels")
    if pixel_range is None:
        raise ConfigError(f"{path} does not say its pixel range; pass --pixel-range=0,1 or --pixel-range=-1,1 "
                          "(or store 'pixel_range' in the .npz)")
    low, high = float(pixel_range[0]), float(pixel_range[1])
    return torch.from_numpy(_finite(x.astype(np.float32), (low, high), path, stored)), (low, high)


def _finite(x: np.ndarray, bounds: PixelRange | None, path: Path, stored: bool = False) -> np.ndarray:
    """``x`` if it is finite and (with ``bounds``) inside [low, high], else one line naming the first bad sample."""
    rows = x.reshape(len(x), -1)
    nonfinite = ~np.isfinite(rows).all(axis=1)
    if nonfinite.any():
        raise ConfigError(f"sample {int(np.flatnonzero(nonfinite)[0])} in {path} holds NaN or Inf "
                          f"({int(nonfinite.sum())} of {len(x)} samples do); regenerate them with `{SAMPLE_CMD}`")
    if bounds is not None and len(x) and (rows.min() < bounds[0] or rows.max() > bounds[1]):
        outside = (rows < bounds[0]).any(axis=1) | (rows > bounds[1]).any(axis=1)
        fix = "" if stored else "pass their true range with --pixel-range=LOW,HIGH or "
        raise ConfigError(f"samples in {path} span [{rows.min():g}, {rows.max():g}], outside their "
                          f"{'stored ' if stored else ''}pixel range [{bounds[0]:g}, {bounds[1]:g}] (first: sample "
                          f"{int(np.flatnonzero(outside)[0])}); {fix}regenerate them with `{SAMPLE_CMD}`")
    return x


def _load_folder(folder: Path, limit: int | None) -> torch.Tensor:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ConfigError(f"folder {folder} holds no .png/.jpg images; point at the folder of samples")
    images = [read_image(file, fix="delete it or move it out of the --fake folder", error=ConfigError,
                         max_pixels=MAX_SAMPLE_PIXELS) for file in files[:limit]]
    if len({a.shape for a in images}) != 1:
        raise ConfigError(f"images in {folder} differ in size or colour mode; make them all one shape")
    x = np.stack(images)  # (N, C, H, W)
    return torch.from_numpy(x.astype(np.float32) / 255.0)
