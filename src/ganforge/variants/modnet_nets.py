"""The nets of the ``modnet`` variant (Basart 2017; SPEC.md "ModNet"): G (U-Net), D, the classifier C and
a record of what training has seen.

``model.classifier`` picks C:

- ``joint``: C is D's second head (:class:`~ganforge.nets.modnet.ModNetDiscriminator` with K class logits),
  trained with D;
- ``default``: the dataset's cached domain classifier, ``<data cache>/classifiers/<data.name>/`` (written by
  ``ganforge classifier train --dataset NAME``), pretrained and frozen (the fooling mode);
- a folder written by ``ganforge classifier train --out FOLDER``: the same, from that folder;
- ``random``: a separate classifier of ``model.classifier_width`` from scratch (MNISTClassifier for 28×28
  images, the small ResNet otherwise, as ``ganforge.train.classifier`` picks), trained with D.

:func:`classifier_expectation` states what a loaded classifier must be (any registered architecture taking
the data's shape, trained on ``data.name`` with its class count), checked by the one loader of frozen
classifiers, ``ganforge.nets.classifier_files.load_frozen_classifier`` (one ConfigError line naming the fix).
One trained on another pixel range than ``data.pixel_range`` sees the images mapped affinely onto its own
(:class:`~ganforge.nets.layers.InputRange`): a [-1, 1] classifier serves a ModNet on [0, 1] images, where
δ = tanh(·) can move a pixel across the whole range (on [-1, 1] it moves less than half of it). Its weights are
frozen (``requires_grad`` off; the variant keeps it in eval mode) and saved in every checkpoint with a record of
its build, so opening a run to sample (``ganforge.train.run``) reads no classifier folder.

:class:`ModNetRecord` holds buffers only (saved in checkpoints, so a resumed run is bit-for-bit the same): a
ring of the latest ``model.bank_size`` training images and labels, the sources of ``generate``, and the
running mean of L_1 for ``l1_mode: running-mean``.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.config import Config
from ganforge.errors import ConfigError
from ganforge.nets import NETS, ModNetDiscriminator, ModNetUNet
from ganforge.nets.classifier_files import ClassifierExpectation, load_frozen_classifier
from ganforge.variants.base import DataShape

TRAINED_CLASSIFIERS = ("joint", "random")  # the settings of model.classifier whose C learns


class ModNetRecord(nn.Module):
    """Buffers: ``images`` (S, C, H, W) / ``labels`` (S,) ring of seen training images, ``seen`` (count),
    ``l1_mean`` and ``l1_updates`` (the running mean of L_1)."""

    def __init__(self, *, image_shape: tuple[int, ...], size: int) -> None:
        super().__init__()
        self.register_buffer("images", torch.zeros(size, *image_shape))
        self.register_buffer("labels", torch.zeros(size, dtype=torch.int64))
        self.register_buffer("seen", torch.zeros((), dtype=torch.int64))
        self.register_buffer("l1_mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("l1_updates", torch.zeros((), dtype=torch.int64))

    @torch.no_grad()
    def observe(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Write images (B, C, H, W) with labels (B,) into the ring (the last S of them when B > S)."""
        size = len(self.labels)
        x, y = x[-size:], y[-size:]
        slots = (int(self.seen) + torch.arange(len(y), device=y.device)) % size
        self.images.index_copy_(0, slots, x.to(self.images.dtype))
        self.labels.index_copy_(0, slots, y)
        self.seen += len(y)

    def draw(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` (image, label) pairs drawn uniformly with replacement from the ring (CPU ``generator``)."""
        count = min(int(self.seen), len(self.labels))
        if count == 0:
            raise ConfigError("this ModNet run has seen no training images yet; train it for at least one step")
        idx = torch.randint(count, (n,), generator=generator).to(self.labels.device)
        return self.images[idx], self.labels[idx]

    @torch.no_grad()
    def update_l1(self, value: torch.Tensor, momentum: float) -> torch.Tensor:
        """m ← value on the first update, else momentum·m + (1 - momentum)·value; returns m (float32)."""
        v = value.detach().to(torch.float64)
        self.l1_mean.copy_(v if int(self.l1_updates) == 0 else momentum * self.l1_mean + (1 - momentum) * v)
        self.l1_updates += 1
        return self.l1_mean.float()


def fresh_classifier(data: DataShape, width: float) -> nn.Module:
    """An untrained domain classifier for the data: MNISTClassifier for 28×28 images, else the ResNet."""
    c, h, w = data.shape
    if (h, w) == (28, 28):
        return NETS.get("mnist-classifier").build(width=width, num_classes=data.num_classes, in_channels=c)
    return NETS.get("resnet-classifier").build(width=width, num_classes=data.num_classes, in_channels=c,
                                               image_size=h)


def classifier_expectation(cfg: Config, data: DataShape) -> ClassifierExpectation:
    """Any registered classifier of the data's shape and classes, trained on ``data.name`` (any pixel range)."""
    return ClassifierExpectation(what="ModNet classifier", dataset=cfg.data.name, input_shape=tuple(data.shape),
                                 num_classes=data.num_classes, pixel_range=tuple(map(float, data.pixel_range)),
                                 adapt_range=True, alternative=" or set model.classifier=joint")


def build_modnet_nets(cfg: Config, data: DataShape) -> dict[str, nn.Module]:
    """``generator`` (U-Net), ``discriminator``, ``classifier`` (unless joint) and ``record``.

    Raises:
        ConfigError: the data are not images, or the classifier is missing or does not fit.
    """
    m = cfg.model
    if data.pixel_range is None or len(data.shape) != 3:
        raise ConfigError(f"model 'modnet' modifies images; got samples of shape {tuple(data.shape)} "
                          "(2-D toy points have nothing to modify)")
    shape = tuple(data.shape)
    joint = m.classifier == "joint"
    nets: dict[str, nn.Module] = {
        "generator": ModNetUNet(image_shape=shape, num_classes=data.num_classes, width=m.width),
        "discriminator": ModNetDiscriminator(image_shape=shape, num_classes=data.num_classes if joint else 0,
                                             width=m.d_width)}
    if m.classifier == "random":
        nets["classifier"] = fresh_classifier(data, m.classifier_width)
    elif not joint:
        nets["classifier"] = load_frozen_classifier(m.classifier, classifier_expectation(cfg, data))
    nets["record"] = ModNetRecord(image_shape=shape, size=m.bank_size)
    return nets
