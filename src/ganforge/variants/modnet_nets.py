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

A loaded classifier is checked against the data (architecture known, input shape, class count, dataset) and
its weights against the sha256 in ``classifier.json``; a problem is one ConfigError line naming the command
that fixes it. A classifier trained on another pixel range than ``data.pixel_range`` sees the images mapped
affinely onto its own range (:class:`~ganforge.nets.layers.InputRange`): a [-1, 1] classifier serves a ModNet
on [0, 1] images, where δ = tanh(·) can move a pixel across the whole range (on [-1, 1] it moves less than
half of it). The folder format is the one ``ganforge.train.classifier`` writes; it is read by
``ganforge.nets.classifier_files`` (variants may not import the training layer). Its weights are frozen
(``requires_grad`` off; the variant keeps it in eval mode) and saved in every checkpoint, but
opening a run rebuilds it from ``model.classifier`` first, so the folder must still exist then.

:class:`ModNetRecord` holds buffers only (saved in checkpoints, so a resumed run is bit-for-bit the same): a
ring of the latest ``model.bank_size`` training images and labels, the sources of ``generate``, and the
running mean of L_1 for ``l1_mode: running-mean``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganforge.config import Config
from ganforge.errors import ConfigError
from ganforge.nets import NETS, ModNetDiscriminator, ModNetUNet
from ganforge.nets.classifier_files import classifier_folder, frozen, load_classifier_weights, read_classifier_meta
from ganforge.nets.layers import InputRange
from ganforge.variants.base import DataShape

WHAT = "ModNet classifier"
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


def classifier_dir(setting: str, dataset: str) -> Path:
    """The folder ``model.classifier`` names (``default``: the dataset's cached classifier)."""
    return classifier_folder(setting, dataset)


def fresh_classifier(data: DataShape, width: float) -> nn.Module:
    """An untrained domain classifier for the data: MNISTClassifier for 28×28 images, else the ResNet."""
    c, h, w = data.shape
    if (h, w) == (28, 28):
        return NETS.get("mnist-classifier").build(width=width, num_classes=data.num_classes, in_channels=c)
    return NETS.get("resnet-classifier").build(width=width, num_classes=data.num_classes, in_channels=c,
                                               image_size=h)


def load_frozen_classifier(cfg: Config, data: DataShape) -> nn.Module:
    """C from the folder ``model.classifier`` names, checked against ``cfg`` and ``data``, then frozen.

    Raises:
        ConfigError: no classifier there, a corrupt one, or one that does not fit (one line with the fix).
    """
    folder = classifier_dir(cfg.model.classifier, cfg.data.name)
    out = "" if cfg.model.classifier == "default" else f" --out {folder}"
    fix = f"`ganforge classifier train --dataset {cfg.data.name}{out}`"
    meta = read_classifier_meta(folder, what=WHAT, fix=fix, hint=" or set model.classifier=joint")
    _check_meta(meta, cfg, data, folder, fix)
    net = frozen(load_classifier_weights(folder, meta, what=WHAT, fix=fix))
    trained, given = tuple(float(v) for v in meta["pixel_range"]), tuple(float(v) for v in data.pixel_range)
    return net if trained == given else frozen(InputRange(net, given, trained))


def _check_meta(meta: dict, cfg: Config, data: DataShape, folder: Path, fix: str) -> None:
    """Refuse a classifier that does not fit the data this ModNet trains on."""
    where = f"ModNet classifier in {folder}"
    if meta.get("architecture") not in NETS:
        raise ConfigError(f"{where} has unknown architecture {meta.get('architecture')!r}; retrain with {fix}")
    if tuple(meta.get("input_shape", ())) != tuple(data.shape):
        raise ConfigError(f"{where} takes inputs of shape {meta.get('input_shape')}, the data are "
                          f"{list(data.shape)}; train one with {fix}")
    if meta["build"].get("num_classes") != data.num_classes or meta.get("dataset") != cfg.data.name:
        raise ConfigError(f"{where} was trained on {meta.get('dataset')!r} with {meta['build'].get('num_classes')} "
                          f"classes, not {cfg.data.name!r} with {data.num_classes}; train one with {fix}")
    trained = meta.get("pixel_range")
    if not (isinstance(trained, list) and len(trained) == 2 and trained[0] < trained[1]):
        raise ConfigError(f"{where} has no valid pixel_range in its classifier.json; retrain with {fix}")


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
        nets["classifier"] = load_frozen_classifier(cfg, data)
    nets["record"] = ModNetRecord(image_shape=shape, size=m.bank_size)
    return nets
