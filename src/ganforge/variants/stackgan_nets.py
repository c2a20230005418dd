"""The nets of the ``stackgan`` variant: the frozen encoder stack taken from the domain classifier, and
G_1, G_0, D_1, D_0, Q_1, Q_0 (Huang et al. 2017, "Stacked Generative Adversarial Networks", Sec. 3).

The encoder is the MNIST domain classifier (:class:`~ganforge.nets.classifiers.MNISTClassifier`), split
at ``model.split`` into the two blocks of the paper's bottom-up stack h_{i+1} = E_i(h_i):

- E_0: x (B, 1, 28, 28) → h_1 = the classifier's activations at ``split`` (fc1: (B, 64); pool3:
  (B, 256·encoder_width)), its layers up to and including ``split``;
- E_1: h_1 → y logits (B, K), the classifier's remaining layers (fc1 then fc2 after pool3; fc2 after fc1).

``model.encoder`` is ``default`` (the dataset's cached classifier), a classifier folder written by ``ganforge
classifier train``, or ``random`` (an untrained classifier, for tests only). :func:`encoder_expectation` states
what it must be (the 1-channel MNIST classifier at ``model.encoder_width``, trained on ``data.name`` in
``data.pixel_range``); ``ganforge.nets.classifier_files.load_frozen_classifier`` checks, loads and freezes it.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.config import Config
from ganforge.errors import ConfigError
from ganforge.nets.classifier_files import ClassifierExpectation, load_frozen_classifier
from ganforge.nets.classifiers import MNISTClassifier
from ganforge.nets.stackgan import (
    IMAGE_SHAPE,
    StackGANFeatureDiscriminator,
    StackGANFeatureGenerator,
    StackGANImageDiscriminator,
    StackGANImageGenerator,
    StackGANNoiseHead,
)
from ganforge.variants.base import DataShape


def encode_bottom(encoder: MNISTClassifier, x: torch.Tensor, split: str) -> torch.Tensor:
    """E_0: images x (B, 1, 28, 28) → h_1 (B, d), the classifier's activations at ``split``."""
    return encoder.activations(x, [split])[split]


def encode_top(encoder: MNISTClassifier, h: torch.Tensor, split: str) -> torch.Tensor:
    """E_1: h_1 (B, d) → logits (B, K), the classifier's layers after ``split``."""
    stages = encoder.stages()
    start = [name for name, _ in stages].index(split) + 1
    for _, stage in stages[start:]:
        h = stage(h)
    return h


def encoder_expectation(cfg: Config, data: DataShape) -> ClassifierExpectation:
    """The 1-channel MNIST classifier at ``model.encoder_width``, trained on ``data.name`` in ``data.pixel_range``."""
    return ClassifierExpectation(what="Stacked GAN encoder", dataset=cfg.data.name, input_shape=IMAGE_SHAPE,
                                 num_classes=data.num_classes, architectures=("mnist-classifier",),
                                 pixel_range=cfg.data.range, width=cfg.model.encoder_width,
                                 width_setting="model.encoder_width")


def feature_dim(encoder: MNISTClassifier, split: str) -> int:
    """d, the size of h_1 = E_0(x)."""
    with torch.no_grad():
        return int(encode_bottom(encoder, torch.zeros(1, *IMAGE_SHAPE), split).shape[1])


def build_stackgan_nets(cfg: Config, data: DataShape) -> dict[str, nn.Module]:
    """``encoder`` (frozen E), ``generator_1``, ``generator_0``, ``critic_1``, ``critic_0``, ``q_1``, ``q_0``.

    Raises:
        ConfigError: the data are not 1×28×28 images, or the encoder is missing or mismatched.
    """
    if tuple(data.shape) != IMAGE_SHAPE or data.pixel_range is None:
        raise ConfigError(f"model 'stackgan' needs 1x28x28 images (its encoder is the MNIST classifier), got "
                          f"samples of shape {tuple(data.shape)}; use data.name=mnist or fashion-mnist")
    m = cfg.model
    encoder = load_frozen_classifier(m.encoder, encoder_expectation(cfg, data))
    d = feature_dim(encoder, m.split)
    output = "sigmoid" if tuple(data.pixel_range) == (0.0, 1.0) else "tanh"
    width_1 = m.width if m.width_1 is None else m.width_1
    d1 = StackGANFeatureDiscriminator(feature_dim=d, width=width_1)
    d0 = StackGANImageDiscriminator(width=m.width)
    return {
        "encoder": encoder,
        "generator_1": StackGANFeatureGenerator(num_classes=data.num_classes, noise_dim=m.noise_1, feature_dim=d,
                                                width=width_1),
        "generator_0": StackGANImageGenerator(feature_dim=d, noise_dim=m.noise_0, width=m.width, output=output),
        "critic_1": d1,
        "critic_0": d0,
        "q_1": StackGANNoiseHead(in_features=d1.feature_dim, noise_dim=m.noise_1),
        "q_0": StackGANNoiseHead(in_features=d0.feature_dim, noise_dim=m.noise_0),
    }
