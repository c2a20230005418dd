"""A domain-classifier folder read into a frozen net, for the models built on a pretrained classifier
(PPGN-h's encoder E, the Stacked GAN's encoder stack, ModNet's frozen classifier).

The folder is what ``ganforge classifier train`` writes (``ganforge.train.classifier``, whose
``load_classifier`` for the metrics reads it through here too): ``classifier.json``
(format, architecture, build arguments, dataset, pixel range, sha256 of the weights) and
``classifier.safetensors``. It is read here, below the variants, because variants may not import the
training layer. Nothing is unpickled: the weights go through the safetensors parser after their sha256
matches the JSON's. Every failure is one ConfigError line that names the command which fixes it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as tensors_from_bytes  # safetensors' parser: no pickle, no torch.load
from torch import nn

from ganforge.data import data_cache_dir
from ganforge.errors import ConfigError, GanforgeError
from ganforge.nets.spec import NETS

CLASSIFIER_FORMAT = "ganforge.classifier"
META_FILE, WEIGHTS_FILE = "classifier.json", "classifier.safetensors"


def classifier_folder(setting: str, dataset: str) -> Path:
    """The folder a ``default`` / FOLDER setting names (``default``: ``<data cache>/classifiers/<dataset>/``)."""
    return data_cache_dir() / "classifiers" / dataset if setting == "default" else Path(setting)


def frozen(net: nn.Module) -> nn.Module:
    """``net`` in eval mode with every parameter's ``requires_grad`` off."""
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval()


def read_classifier_meta(folder: Path, *, what: str, fix: str, hint: str = "",
                         error: type[GanforgeError] = ConfigError) -> dict[str, Any]:
    """The folder's ``classifier.json`` as a dict with a ``build`` mapping.

    Args:
        folder: the classifier folder.
        what: how messages name the classifier ("PPGN encoder", "ModNet classifier").
        fix: the command that makes a fitting classifier, quoted in every message.
        hint: appended to the "missing" message (another way out, e.g. "or set model.classifier=joint").
        error: the error raised (the metrics' loader raises CheckpointError).
    """
    path = folder / META_FILE
    if not path.is_file():
        raise error(f"no {what} in {folder}; train one with {fix}{hint}")
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != CLASSIFIER_FORMAT or not isinstance(meta.get("build"), dict):
        raise error(f"{path} is not a ganforge classifier file; retrain with {fix}")
    return meta


def load_classifier_weights(folder: Path, meta: dict[str, Any], *, what: str, fix: str,
                            error: type[GanforgeError] = ConfigError) -> nn.Module:
    """The net ``meta`` describes, with the folder's weights once their sha256 matches (not yet frozen)."""
    weights = folder / WEIGHTS_FILE
    blob = weights.read_bytes() if weights.is_file() else b""
    if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
        raise error(f"{what} weights {weights} are missing or fail their sha256 check; retrain with {fix}")
    failures = (KeyError, RuntimeError, ValueError, TypeError, ConfigError)
    try:  # shapes first, on the meta device: an edited build (a width of 10000) must not allocate
        saved, planned = _header_shapes(blob), _planned_shapes(meta)
    except failures as exc:
        raise _load_error(exc, folder, what, fix, error) from None
    for key, shape in planned.items():
        if saved.get(key) != shape:
            held = "no such tensor" if key not in saved else f"shape {list(saved[key])}"
            raise error(f"{what} in {folder}: its {META_FILE} build {meta['build']} implies {key} of shape "
                        f"{list(shape)} but the weights hold {held} (the file was edited or damaged); "
                        f"retrain with {fix}")
    try:
        net = NETS.get(meta["architecture"]).build(**meta["build"])
        net.load_state_dict(tensors_from_bytes(blob))
    except failures as exc:
        raise _load_error(exc, folder, what, fix, error) from None
    return net


def _load_error(exc: BaseException, folder: Path, what: str, fix: str, error: type[GanforgeError]) -> GanforgeError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return error(f"{what} in {folder} does not load ({reason}); retrain with {fix}")


def _header_shapes(blob: bytes) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from a safetensors blob's JSON header (8-byte little-endian length, then the JSON)."""
    size = int.from_bytes(blob[:8], "little")
    if len(blob) < 8 or size > len(blob) - 8:
        raise ValueError("the safetensors header is longer than the file")
    header = json.loads(blob[8:8 + size])
    return {key: tuple(entry["shape"]) for key, entry in header.items() if key != "__metadata__"}


def _planned_shapes(meta: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The tensor shapes of the net ``meta`` describes, built on the meta device (no memory used)."""
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")
        net = NETS.get(meta["architecture"]).build(**meta["build"])
    return {key: tuple(tensor.shape) for key, tensor in net.state_dict().items()}
