"""The one loader of the frozen, pretrained classifiers that models build on (PPGN-h's encoder E, the Stacked
GAN's encoder stack, ModNet's frozen classifier), and the reader of classifier folders.

A folder is what ``ganforge classifier train`` writes (``ganforge.train.classifier``, whose ``load_classifier``
for the metrics reads it through here too): ``classifier.json`` (format, architecture, build arguments,
dataset, pixel range, sha256 of the weights) and ``classifier.safetensors``. It is read here, below the
variants, because variants may not import the training layer. Nothing is unpickled: the weights go through the
safetensors parser after their sha256 matches the JSON's. Each model states what it needs in a
:class:`ClassifierExpectation` next to its nets. Every failure is one line that names the command which fixes it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as tensors_from_bytes  # safetensors' parser: no pickle, no torch.load
from torch import nn

from ganforge.data import DATASETS, data_cache_dir
from ganforge.errors import ConfigError, GanforgeError
from ganforge.nets.layers import InputRange
from ganforge.nets.spec import NETS

CLASSIFIER_FORMAT = "ganforge.classifier"
META_FILE, WEIGHTS_FILE = "classifier.json", "classifier.safetensors"
_FAILURES = (KeyError, RuntimeError, ValueError, TypeError, ConfigError)  # a build or state dict that does not fit
_SAVED_BUILDS: ContextVar[dict[str, Any] | None] = ContextVar("saved_classifier_builds", default=None)


@dataclass(frozen=True)
class ClassifierExpectation:
    """What a model needs of the frozen classifier it loads (:func:`load_frozen_classifier` refuses the rest)."""

    what: str  # how messages name it: "PPGN encoder", "ModNet classifier"
    dataset: str  # the data.name it must have been trained on (and whose cache ``default`` names)
    input_shape: tuple[int, ...]  # (C, H, W) of the images the model feeds it
    num_classes: int  # the logits the model reads
    pixel_range: tuple[float, float]  # (low, high) of those images
    adapt_range: bool = False  # True: another trained range is mapped onto (InputRange); False: refused
    architectures: tuple[str, ...] = ()  # the NETS names whose layers the model uses; empty: any registered one
    width: float | None = None  # the width it must have (also in the fix command); None: any
    width_setting: str = "model.width"  # the setting that names ``width``, offered as the other way out
    alternative: str = ""  # appended to the "missing" message: " or set model.classifier=joint"


def classifier_folder(setting: str, dataset: str) -> Path:
    """The folder a ``default`` / FOLDER setting names (``default``: ``<data cache>/classifiers/<dataset>/``)."""
    return data_cache_dir() / "classifiers" / dataset if setting == "default" else Path(setting)


def train_command(dataset: str, folder: Path, width: float | None = None) -> str:
    """The quoted ``ganforge classifier train`` command that writes a classifier of ``dataset`` into ``folder``."""
    out = "" if dataset in DATASETS and folder == classifier_folder("default", dataset) else f" --out {folder}"
    size = "" if width is None else f" --width {width:g}"
    return f"`ganforge classifier train --dataset {dataset}{size}{out}`"


def load_frozen_classifier(setting: str, expect: ClassifierExpectation) -> nn.Module:
    """The classifier ``setting`` names, checked against ``expect`` (architecture, input shape, dataset, classes,
    width, pixel range, then the weights' sha256 and shapes), then frozen.

    Args:
        setting: ``default`` (the dataset's cached classifier), a folder, or ``random`` (an untrained
            ``expect.architectures[0]`` at ``expect.width``, for tests and ablations only).

    Returns:
        The net in eval mode, ``requires_grad`` off: images (B, *input_shape) → logits (B, num_classes); in
        InputRange when ``expect.adapt_range`` and it was trained on another pixel range.

    Raises:
        ConfigError: no classifier there, a corrupt one, or one that does not fit (one line with the fix).
    """
    saved = (_SAVED_BUILDS.get() or {}).get(expect.what)
    if saved is not None:
        return _from_saved_build(saved, expect)
    if setting == "random":
        build = {"width": expect.width, "num_classes": expect.num_classes}
        return described(expect, expect.architectures[0], build, expect.pixel_range)
    folder = classifier_folder(setting, expect.dataset)
    fix = train_command(expect.dataset, folder, expect.width)
    meta = read_classifier_meta(folder, what=expect.what, fix=fix, hint=expect.alternative)
    trained = check_classifier_meta(meta, expect, folder, fix)
    net = load_classifier_weights(folder, meta, what=expect.what, fix=fix)
    return described(expect, meta["architecture"], meta["build"], trained, net)


def described(expect: ClassifierExpectation, architecture: str, build: dict[str, Any],
              trained: tuple[float, float], net: nn.Module | None = None) -> nn.Module:
    """The frozen classifier (``net``, or a fresh one of ``architecture``/``build``), in InputRange when it was
    trained on another pixel range than ``expect``'s; it carries ``frozen_build``, the description that
    checkpoints save so that a run opens without the classifier folder (:func:`builds_from_checkpoint`)."""
    net = frozen(net if net is not None else NETS.get(architecture).build(**build))
    out = net if tuple(trained) == tuple(expect.pixel_range) else frozen(InputRange(net, expect.pixel_range, trained))
    out.frozen_build = {"what": expect.what, "architecture": architecture, "build": dict(build),
                        "pixel_range": [float(v) for v in trained]}
    return out


def frozen_builds(nets: dict[str, nn.Module]) -> dict[str, dict[str, Any]]:
    """The ``frozen_build`` of every frozen classifier among ``nets``, keyed by what it is ("PPGN encoder")."""
    return {net.frozen_build["what"]: net.frozen_build for net in nets.values() if hasattr(net, "frozen_build")}


@contextmanager
def builds_from_checkpoint(builds: dict[str, dict[str, Any]]) -> Iterator[None]:
    """Within it, :func:`load_frozen_classifier` builds the classifiers a checkpoint describes (``builds``, as
    :func:`frozen_builds` made them) instead of reading their folders: the caller loads their weights from the
    checkpoint, so a run folder is self-contained. Checkpoints older than this record read the folder."""
    token = _SAVED_BUILDS.set(builds)
    try:
        yield
    finally:
        _SAVED_BUILDS.reset(token)


def _from_saved_build(saved: Any, expect: ClassifierExpectation) -> nn.Module:
    try:
        low, high = (float(v) for v in saved["pixel_range"])
        return described(expect, saved["architecture"], saved["build"], (low, high))
    except _FAILURES as exc:
        raise ConfigError(f"the checkpoint's record of its {expect.what} ({str(saved)[:80]}) does not build "
                          f"({exc}); the run's checkpoint was edited or damaged") from None


def check_classifier_meta(meta: dict[str, Any], expect: ClassifierExpectation, folder: Path,
                          fix: str) -> tuple[float, float]:
    """Refuse a classifier that is not what ``expect`` states; returns the pixel range it was trained on."""
    where, arch = f"{expect.what} in {folder}", meta.get("architecture")
    if not isinstance(arch, str) or arch not in NETS or (expect.architectures and arch not in expect.architectures):
        wanted = " or ".join(map(repr, expect.architectures)) or "a registered net"
        raise ConfigError(f"{where} has architecture {arch!r}, not {wanted}; train one with {fix}")
    try:  # what the build implies (input shape, classes, width), on the meta device
        net = _planned_net(meta)
    except _FAILURES as exc:
        raise _load_error(exc, folder, expect.what, fix, ConfigError) from None
    shape, classes = tuple(getattr(net, "input_shape", ())), getattr(net, "num_classes", None)
    if shape != tuple(expect.input_shape):
        raise ConfigError(f"{where} takes inputs of shape {list(shape)}, the data are {list(expect.input_shape)}; "
                          f"train one with {fix}")
    if meta.get("dataset") != expect.dataset or classes != expect.num_classes:
        raise ConfigError(f"{where} was trained on {meta.get('dataset')!r} with {classes} classes, not "
                          f"{expect.dataset!r} with {expect.num_classes}; train one with {fix}")
    if expect.width is not None and float(net.width) != float(expect.width):
        raise ConfigError(f"{where} has width {net.width:g} but {expect.width_setting} is {expect.width:g}; train "
                          f"a matching one with {fix} or set {expect.width_setting}={net.width:g}")
    trained = meta_pixel_range(meta)
    if trained is None:
        raise ConfigError(f"{where} has no valid pixel_range in its {META_FILE}; retrain with {fix}")
    if trained != expect.pixel_range and not expect.adapt_range:
        low, high = trained
        raise ConfigError(f"{where} was trained on pixels in [{low:g}, {high:g}] but data.pixel_range is "
                          f"{expect.pixel_range[0]:g},{expect.pixel_range[1]:g}; set data.pixel_range={low:g},{high:g}")
    return trained


def meta_pixel_range(meta: dict[str, Any]) -> tuple[float, float] | None:
    """The (low, high) pixel range ``classifier.json`` states, or None unless it is two numbers, low < high."""
    value = meta.get("pixel_range")
    try:
        low, high = (float(v) for v in value) if isinstance(value, list) else ()
    except (TypeError, ValueError):
        return None
    return (low, high) if low < high else None


def frozen(net: nn.Module) -> nn.Module:
    """``net`` in eval mode with every parameter's ``requires_grad`` off."""
    return net.requires_grad_(False).eval()


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
    try:  # shapes first, on the meta device: an edited build (a width of 10000) must not allocate
        saved = _header_shapes(blob)
        planned = {key: tuple(tensor.shape) for key, tensor in _planned_net(meta).state_dict().items()}
    except _FAILURES as exc:
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
    except _FAILURES as exc:
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


def _planned_net(meta: dict[str, Any]) -> nn.Module:
    """The net ``meta`` describes, built on the meta device (no memory used, no weights)."""
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")
        return NETS.get(meta["architecture"]).build(**meta["build"])
