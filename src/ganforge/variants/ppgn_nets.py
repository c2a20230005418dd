"""The nets of the ``ppgn`` variant: the frozen encoder E loaded from a classifier folder, G, and one
WGAN-GP critic per attached encoder layer (Nguyen et al. 2017; seed thesis, KTH 2018; SPEC.md "PPGN-h").

E is the MNIST domain classifier (:class:`~ganforge.nets.classifiers.MNISTClassifier`, trained with SGD and
cross-entropy by ``ganforge classifier train``), loaded from ``model.encoder``:

- ``default``: the dataset's cached classifier, ``<data cache>/classifiers/<data.name>/``;
- a folder written by ``ganforge classifier train --out FOLDER``;
- ``random``: an untrained E of ``model.width`` (for tests and ablations only: its codes carry no class
  information, so neither training nor MALA sampling means anything).

:func:`encoder_expectation` states what E must be; ``ganforge.nets.classifier_files.load_frozen_classifier``
(variants may not import the training layer) refuses a missing, corrupt or mismatched classifier (another
architecture, input shape, width, dataset, class count or pixel range) in one ConfigError line naming the
command that fixes it. E's weights are frozen (``requires_grad`` off) and saved in every checkpoint with a record
of its build, so sampling a run (``ganforge.train.run``) reads no classifier folder.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.config import Config
from ganforge.errors import ConfigError
from ganforge.nets.classifier_files import ClassifierExpectation, load_frozen_classifier
from ganforge.nets.classifiers import MNISTClassifier
from ganforge.nets.ppgn import IMAGE_SHAPE, PPGNCodeCritic, PPGNFeatureCritic, PPGNGenerator, PPGNImageCritic
from ganforge.variants.base import DataShape

ENCODER_LAYERS = ("conv1", "conv2", "pool2", "conv3", "pool3", "fc1", "fc2")
CRITIC_LAYERS = ("image", *ENCODER_LAYERS)  # "image": the pixel critic D on x itself


def critic_net_name(layer: str) -> str:
    """The nets / optimizers key of the critic on ``layer`` ("critic_fc1", "critic_image", ...)."""
    return f"critic_{layer}"


def encoder_expectation(cfg: Config, data: DataShape) -> ClassifierExpectation:
    """E is the 1-channel MNIST classifier at ``model.width``, trained on ``data.name`` in ``data.pixel_range``."""
    return ClassifierExpectation(what="PPGN encoder", dataset=cfg.data.name, input_shape=IMAGE_SHAPE,
                                 num_classes=data.num_classes, architectures=("mnist-classifier",),
                                 pixel_range=cfg.data.range, width=cfg.model.width)


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


STANDARDISATION = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}  # pixel mean, std in [0, 1]


def output_map(units: str, dataset: str, pixel_range: tuple[float, float] | None) -> tuple[float, float]:
    """(scale, shift) from G's last layer to pixels: identity for ``pixels``; for ``standardised`` the
    reference code's units, y = (x01 - mean) / std (its data transform), so x = lo + (hi - lo)(std · y + mean).

    With ``standardised`` an untrained G (y ≈ 0) starts at the mean pixel, as the reference code's G does,
    rather than at mid-grey (x ≈ 0 in [-1, 1]), where E's first layer can be dead (module docstring).
    """
    if units == "pixels":
        return 1.0, 0.0
    if dataset not in STANDARDISATION:
        raise ConfigError(f"model.output_units=standardised knows the pixel mean and std of "
                          f"{', '.join(STANDARDISATION)}, not {dataset!r}; use model.output_units=pixels")
    mean, std = STANDARDISATION[dataset]
    lo, hi = pixel_range or (-1.0, 1.0)
    return (hi - lo) * std, lo + (hi - lo) * mean


def build_ppgn_nets(cfg: Config, data: DataShape) -> dict[str, nn.Module]:
    """``encoder`` (frozen E), ``generator`` (G) and ``critic_<layer>`` for each of ``model.critics``.

    Raises:
        ConfigError: the data are not 1×28×28 images, or the encoder is missing or mismatched.
    """
    if tuple(data.shape) != IMAGE_SHAPE:
        raise ConfigError(f"model 'ppgn' needs 1x28x28 images (its encoder is the MNIST classifier), got samples "
                          f"of shape {tuple(data.shape)}; use data.name=mnist or fashion-mnist")
    m = cfg.model
    encoder = load_frozen_classifier(m.encoder, encoder_expectation(cfg, data))
    scale, shift = output_map(m.output_units, cfg.data.name, data.pixel_range)
    generator = PPGNGenerator(width=m.width, adv_terms=len(m.critics), output_scale=scale, output_shift=shift)
    nets: dict[str, nn.Module] = {"encoder": encoder, "generator": generator}
    shapes = feature_shapes(encoder, list(m.critics))
    for layer in m.critics:
        nets[critic_net_name(layer)] = build_critic(layer, shapes[layer], m.width)
    return nets
