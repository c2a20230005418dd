"""Domain classifiers: the embedding φ of ganforge's measures and the PPGN encoder E.

- :class:`MNISTClassifier` is, at ``width=1``, exactly the PPGN-h encoder of SPEC.md (Nguyen et al. 2017, as
  used by the seed thesis, KTH 2018): conv1(1, 64, k7) ReLU (22×22) → conv2(64, 128, k7) ReLU (16×16) →
  maxpool 2 (8×8) → conv3(128, 256, k7) ReLU (2×2) → maxpool 2 (1×1) → fc1(256, 64) ReLU → fc2(64, 10).
  ``width`` multiplies the three conv widths (64, 128, 256); fc1 stays 64-d, so h = fc1 is 64-d at any width.
- :class:`ResNetClassifier` is a small ResNet (He et al. 2016, its CIFAR variant with post-activation basic
  blocks) for 32×32 colour images: a 3×3 stem, three stages of ``blocks`` basic blocks at 16·w, 32·w, 64·w
  channels (stride 1, 2, 2), global average pooling and one linear layer.

Both expose ``activations(x, layers)`` (named post-ReLU activations, logits under the last name) and three
class attributes that ``ganforge.metrics.features`` uses to build embeddings:

- ``prelogits_layer``: the penultimate layer ("fc1" / "pool");
- ``logits_layer``: "fc2" / "fc";
- ``hypercolumn_layers``: layers whose global-average-pooled activations are concatenated into the
  "hypercolumns" embedding: MNIST conv1, conv2, conv3, fc1 (64 + 128 + 256 + 64 = 512-d at width 1);
  ResNet stem, stage1, stage2, stage3 (16 + 16 + 32 + 64 = 128-d at width 1).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.errors import ConfigError
from ganforge.nets.layers import scaled_width
from ganforge.nets.spec import NETS, NetSpec, check_positive, uniform_input


class LayeredClassifier(nn.Module):
    """Base of the domain classifiers: a chain of named stages, run up to the deepest requested one."""

    logits_layer = ""
    prelogits_layer = ""
    hypercolumn_layers: tuple[str, ...] = ()

    def stages(self) -> list[tuple[str, nn.Module]]:
        """The (name, callable) chain whose composition is ``forward``; subclasses define it."""
        raise NotImplementedError

    @property
    def layer_names(self) -> list[str]:
        """Names accepted by :meth:`activations`, input to output."""
        return [name for name, _ in self.stages()]

    def activations(self, x: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
        """Named intermediate activations, computed only up to the deepest one asked for.

        Args:
            x: images (B, C, H, W) in the classifier's pixel range.
            layers: names from :attr:`layer_names` (post-ReLU activations; the logits layer gives logits).

        Returns:
            name → activation, (B, C', H', W') for conv layers and (B, D) for linear ones.
        """
        names = self.layer_names
        unknown = [name for name in layers if name not in names]
        if unknown:
            raise ConfigError(f"unknown classifier layer(s) {unknown}; choose from {', '.join(names)}")
        wanted, out = set(layers), {}
        h = x
        for name, stage in self.stages():
            if not wanted - out.keys():
                break
            h = stage(h)
            if name in wanted:
                out[name] = h
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, C, H, W). Returns: logits (B, num_classes)."""
        for _, stage in self.stages():
            x = stage(x)
        return x


class MNISTClassifier(LayeredClassifier):
    """The PPGN encoder E / MNIST domain classifier: (B, C, 28, 28) → logits (B, num_classes).

    Args:
        width: multiplier of the conv widths 64, 128, 256 (1.0 = the paper's net).
        num_classes: outputs of fc2 (10).
        in_channels: input channels (1).
    """

    logits_layer = "fc2"
    prelogits_layer = "fc1"
    hypercolumn_layers = ("conv1", "conv2", "conv3", "fc1")

    def __init__(self, *, width: float = 1.0, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        check_positive(num_classes=num_classes, in_channels=in_channels)
        c1, c2, c3 = (scaled_width(c, width, "classifier") for c in (64, 128, 256))
        self.width, self.num_classes = width, num_classes
        self.input_shape = (in_channels, 28, 28)
        self.conv1 = nn.Conv2d(in_channels, c1, 7)
        self.conv2 = nn.Conv2d(c1, c2, 7)
        self.conv3 = nn.Conv2d(c2, c3, 7)
        self.fc1 = nn.Linear(c3, 64)
        self.fc2 = nn.Linear(64, num_classes)

    def stages(self) -> list[tuple[str, nn.Module]]:
        return [
            ("conv1", lambda x: F.relu(self.conv1(x))),  # (B, 64w, 22, 22)
            ("conv2", lambda x: F.relu(self.conv2(x))),  # (B, 128w, 16, 16)
            ("pool2", lambda x: F.max_pool2d(x, 2)),  # (B, 128w, 8, 8)
            ("conv3", lambda x: F.relu(self.conv3(x))),  # (B, 256w, 2, 2)
            ("pool3", lambda x: F.max_pool2d(x, 2).flatten(1)),  # (B, 256w)
            ("fc1", lambda x: F.relu(self.fc1(x))),  # (B, 64): h of PPGN
            ("fc2", self.fc2),  # (B, num_classes) logits
        ]


class BasicBlock(nn.Module):
    """conv3×3-BN-ReLU-conv3×3-BN plus a (1×1 conv + BN when the shape changes) shortcut, then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class ResNetClassifier(LayeredClassifier):
    """A small CIFAR-style ResNet: (B, C, H, W) (32×32 by default) → logits (B, num_classes).

    Args:
        width: multiplier of the stage widths 16, 32, 64.
        blocks: basic blocks per stage (1 or 2 are typical; 3 gives ResNet-20).
        num_classes: outputs of the final linear layer.
        in_channels: input channels (3).
        image_size: side of the square input images (any size >= 4 works; global pooling at the end).
    """

    logits_layer = "fc"
    prelogits_layer = "pool"
    hypercolumn_layers = ("stem", "stage1", "stage2", "stage3")

    def __init__(self, *, width: float = 1.0, blocks: int = 2, num_classes: int = 10, in_channels: int = 3,
                 image_size: int = 32) -> None:
        super().__init__()
        check_positive(blocks=blocks, num_classes=num_classes, in_channels=in_channels, image_size=image_size)
        c1, c2, c3 = (scaled_width(c, width, "classifier") for c in (16, 32, 64))
        self.width, self.num_classes = width, num_classes
        self.input_shape = (in_channels, image_size, image_size)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1))
        self.stage1 = self._stage(c1, c1, 1, blocks)
        self.stage2 = self._stage(c1, c2, 2, blocks)
        self.stage3 = self._stage(c2, c3, 2, blocks)
        self.fc = nn.Linear(c3, num_classes)

    @staticmethod
    def _stage(c_in: int, c_out: int, stride: int, blocks: int) -> nn.Sequential:
        return nn.Sequential(BasicBlock(c_in, c_out, stride), *(BasicBlock(c_out, c_out, 1) for _ in range(blocks - 1)))

    def stages(self) -> list[tuple[str, nn.Module]]:
        return [
            ("stem", lambda x: F.relu(self.stem(x))),  # (B, 16w, H, W)
            ("stage1", self.stage1),  # (B, 16w, H, W)
            ("stage2", self.stage2),  # (B, 32w, H/2, W/2)
            ("stage3", self.stage3),  # (B, 64w, H/4, W/4)
            ("pool", lambda x: x.mean((2, 3))),  # (B, 64w) prelogits
            ("fc", self.fc),  # (B, num_classes) logits
        ]


def logits_output(net: nn.Module, batch: int) -> tuple[int, ...]:
    """The shape (batch, net.num_classes) a classifier returns."""
    return (batch, net.num_classes)


NETS.register("mnist-classifier", NetSpec(
    build=MNISTClassifier,
    example_input=uniform_input(-1.0, 1.0),
    output_shape=logits_output,
    description="MNIST domain classifier = PPGN encoder E (k7 convs 64-128-256, fc1 64) (Nguyen et al. 2017)",
))
NETS.register("resnet-classifier", NetSpec(
    build=ResNetClassifier,
    example_input=uniform_input(-1.0, 1.0),
    output_shape=logits_output,
    description="small CIFAR-style ResNet domain classifier for 32x32 colour images (He et al. 2016)",
))
