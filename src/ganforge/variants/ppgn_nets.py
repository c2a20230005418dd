"""The nets of the ``ppgn`` variant: the frozen encoder E loaded from a classifier folder, G, and one
WGAN-GP critic per attached encoder layer (Nguyen et al. 2017; seed thesis, KTH 2018; SPEC.md "PPGN-h").

E is the MNIST domain classifier (:class:`~ganforge.nets.classifiers.MNISTClassifier`, trained with SGD and
cross-entropy by ``ganforge classifier train``), loaded from ``model.encoder``:

- ``default``: the dataset's cached classifier, ``<data cache>/classifiers/<data.name>/``;
- a folder written by ``ganforge classifier train --out FOLDER``;
- ``random``: an untrained E of ``model.width`` (for tests and ablations only: its codes carry no class
  information, so neither training nor MALA sampling means anything).

A missing, corrupt or mismatched classifier (another architecture, width, dataset, class count or pixel
range) is refused with one ConfigError line naming the command that fixes it. The folder format is the one
``ganforge.train.classifier`` writes (``classifier.json`` + ``classifier.safetensors`` with its sha256);
it is read by ``ganforge.nets.classifier_files`` (variants may not import the training layer). E's weights
are frozen (``requires_grad`` off) and also saved in every checkpoint, but sampling a run rebuilds E from
``model.encoder`` first, so the classifier folder must still exist then.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganforge.config import Config
from ganforge.errors import ConfigError
from ganforge.nets.classifier_files import classifier_folder, frozen, load_classifier_weights, read_classifier_meta
from ganforge.nets.classifiers import MNISTClassifier
from ganforge.nets.ppgn import IMAGE_SHAPE, PPGNCodeCritic, PPGNFeatureCritic, PPGNGenerator, PPGNImageCritic
from ganforge.variants.base import DataShape

ENCODER_LAYERS = ("conv1", "conv2", "pool2", "conv3", "pool3", "fc1", "fc2")
CRITIC_LAYERS = ("image", *ENCODER_LAYERS)  # "image": the pixel critic D on x itself
WHAT = "PPGN encoder"


def critic_net_name(layer: str) -> str:
    """The nets / optimizers key of the critic on ``layer`` ("critic_fc1", "critic_image", ...)."""
    return f"critic_{layer}"


def encoder_dir(encoder: str, dataset: str) -> Path:
    """The classifier folder that ``model.encoder`` names (``default``: the dataset's cached one)."""
    return classifier_folder(encoder, dataset)


def load_encoder(cfg: Config, data: DataShape) -> MNISTClassifier:
    """E for ``cfg``: loaded from ``model.encoder`` and checked against the config, then frozen.

    Raises:
        ConfigError: no classifier there, a corrupt one, or one that does not match (one line with the fix).
    """
    m = cfg.model
    if m.encoder == "random":
        return frozen(MNISTClassifier(width=m.width, num_classes=data.num_classes))
    folder = encoder_dir(m.encoder, cfg.data.name)
    out = "" if m.encoder == "default" else f" --out {folder}"
    fix = f"`ganforge classifier train --dataset {cfg.data.name} --width {m.width:g}{out}`"
    meta = read_classifier_meta(folder, what=WHAT, fix=fix)
    _check_meta(meta, cfg, data, folder, fix)
    return frozen(load_classifier_weights(folder, meta, what=WHAT, fix=fix))


def _check_meta(meta: dict, cfg: Config, data: DataShape, folder: Path, fix: str) -> None:
    """Refuse a classifier that is not the PPGN encoder this config needs."""
    m, build = cfg.model, meta["build"]
    where = f"PPGN encoder in {folder}"
    if meta.get("architecture") != "mnist-classifier" or build.get("in_channels", 1) != IMAGE_SHAPE[0]:
        raise ConfigError(f"{where} is a {meta.get('architecture')!r}, not the 1-channel MNIST classifier E; "
                          f"train one with {fix}")
    if meta.get("dataset") != cfg.data.name:
        raise ConfigError(f"{where} was trained on {meta.get('dataset')!r}, not data.name {cfg.data.name!r}; "
                          f"train one with {fix}")
    if float(build.get("width", 1.0)) != float(m.width):
        raise ConfigError(f"{where} has width {build.get('width')} but model.width is {m.width:g}; train a "
                          f"matching one with {fix} or set model.width={build.get('width')}")
    if build.get("num_classes", 10) != data.num_classes:
        raise ConfigError(f"{where} has {build.get('num_classes', 10)} classes but the data has "
                          f"{data.num_classes}; train one with {fix}")
    trained = tuple(float(v) for v in meta.get("pixel_range", ()))
    wanted = tuple(float(v) for v in cfg.data.pixel_range.split(","))
    if trained != wanted:
        low, high = (f"{v:g}" for v in trained) if len(trained) == 2 else ("?", "?")
        raise ConfigError(f"{where} was trained on pixels in [{low}, {high}] but data.pixel_range is "
                          f"{cfg.data.pixel_range}; set data.pixel_range={low},{high}")


def feature_shapes(encoder: MNISTClassifier, layers: list[str]) -> dict[str, tuple[int, ...]]:
    """Per-sample shape of E_i(x) for each layer i ("image": the image itself)."""
    wanted = [layer for layer in layers if layer != "image"]
    with torch.no_grad():
        acts = encoder.activations(torch.zeros(1, *IMAGE_SHAPE), wanted)
    return {layer: IMAGE_SHAPE if layer == "image" else tuple(acts[layer].shape[1:]) for layer in layers}


def build_critic(layer: str, shape: tuple[int, ...], width: float) -> nn.Module:
    """D for "image", D1 for "fc1", a :class:`PPGNFeatureCritic` for any other layer of E."""
    if layer == "image":
        return PPGNImageCritic(width=width)
    if layer == "fc1":
        return PPGNCodeCritic(width=width)
    return PPGNFeatureCritic(input_shape=shape, width=width)


def build_ppgn_nets(cfg: Config, data: DataShape) -> dict[str, nn.Module]:
    """``encoder`` (frozen E), ``generator`` (G) and ``critic_<layer>`` for each of ``model.critics``.

    Raises:
        ConfigError: the data are not 1×28×28 images, or the encoder is missing or mismatched.
    """
    if tuple(data.shape) != IMAGE_SHAPE:
        raise ConfigError(f"model 'ppgn' needs 1x28x28 images (its encoder is the MNIST classifier), got samples "
                          f"of shape {tuple(data.shape)}; use data.name=mnist or fashion-mnist")
    m = cfg.model
    encoder = load_encoder(cfg, data)
    generator = PPGNGenerator(width=m.width, adv_terms=len(m.critics))
    nets: dict[str, nn.Module] = {"encoder": encoder, "generator": generator}
    shapes = feature_shapes(encoder, list(m.critics))
    for layer in m.critics:
        nets[critic_net_name(layer)] = build_critic(layer, shapes[layer], m.width)
    return nets
