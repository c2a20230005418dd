"""LAPGAN generators and discriminators, one pair per pyramid level (Denton et al. 2015, "Deep Generative
Image Models using a Laplacian Pyramid of Adversarial Networks", Sec. 4 and the authors' Torch code,
facebookarchive/eyescream ``cifar/scripts/train_cifar*.lua``).

Level K, the coarsest (7×7 or 8×8), is an unconditional GAN with dense nets (Sec. 4, CIFAR10: "densely
connected nets for both G_K & D_K with 2 hidden layers and ReLU non-linearities. D_K uses Dropout and
has 600 units/layer vs 1200 for G_K. z_K is a 100-d vector"):

- ``LAPGANCoarseGenerator``: [z_K (B, z_dim); y] → Linear(·, 1200) ReLU → Linear(1200, 1200) ReLU →
  Linear(1200, C·s·s) → I~_K (B, C, s, s), linear output.
- ``LAPGANCoarseDiscriminator``: [flatten(I) (B, C·s·s); y] → Linear(·, 600) ReLU Dropout →
  Linear(600, 600) ReLU Dropout → Linear(600, 1) → raw score (B,).

Levels k < K are conditional convnets ("G_k & D_k are convnets with 3 and 2 layers"; the code's
``train_cifar_coarse_to_fine.lua``: 128 channels, 7×7, 7×7, 5×5 size-preserving convolutions in G and
5×5, 5×5 stride-2 valid convolutions in D):

- ``LAPGANConditionalGenerator``: planes (B, 1 + C, S, S) = [z_k; l_k] ("the noise input z_k to G_k is
  presented as a 4th 'color plane' to low-pass l_k") → Conv(·, w, 7) ReLU → Conv(w, w, 7) ReLU →
  Conv(w, C, 5) → band-pass h~_k (B, C, S, S), linear output.
- ``LAPGANConditionalDiscriminator``: I = l_k + h (B, C, S, S) (the low-pass "is explicitly added to h_k
  or h~_k before the first convolution layer") → Conv(·, w, 5) ReLU → Conv(w, w, 5, stride 2) ReLU →
  Dropout → Linear(w·s'·s', 1) → (B,), s' = ⌊(S - 9) / 2⌋ + 1 (so S >= 9).

Class-conditional (CC-LAPGAN, Sec. 4): the one-hot label y (B, n_classes) "is integrated into G_k & D_k
by passing it through a linear layer whose output is reshaped into a single plane feature map which is
then concatenated with the 1st layer maps": Linear(n_classes, S·S) ReLU → (B, 1, S, S), concatenated
with the input planes as the code does; the dense nets of level K concatenate y to their input vector
(``train_cifar_classcond.lua``). ``num_classes = 0`` builds the unconditional nets, which take no y.
Weights use PyTorch's default initialisation. ``LAPGANGenerators`` / ``LAPGANDiscriminators`` hold the
K + 1 nets of a pyramid (``levels[k]``); their ``forward(k, inputs, labels)`` runs level k.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import Reshape
from ganforge.nets.spec import NETS, NetSpec, check_positive, latent_input, sample_output, score_output, uniform_input


def _shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(v) for v in image_shape)
    if len(shape) != 3:
        raise ConfigError(f"LAPGAN nets need an image shape (C, H, W), got {shape}")
    check_positive(channels=shape[0], height=shape[1], image_width=shape[2])
    return shape  # type: ignore[return-value]


def _check_labels(labels: torch.Tensor | None, batch: int, num_classes: int) -> None:
    """Refuse labels for an unconditional net (``num_classes`` 0), absent or misshapen ones for a conditional one."""
    if num_classes == 0 and labels is not None:
        raise ValueError("this net is unconditional (num_classes=0); pass no labels")
    if num_classes and (labels is None or tuple(labels.shape) != (batch, num_classes)):
        raise ValueError(f"a class-conditional net needs one-hot labels of shape ({batch}, {num_classes})")


def _with_labels(x: torch.Tensor, labels: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """[x; y] for the dense nets: x (B, D) and one-hot y (B, num_classes)."""
    _check_labels(labels, x.shape[0], num_classes)
    return x if labels is None else torch.cat([x, labels.to(x.dtype)], dim=1)


class ClassPlane(nn.Module):
    """One-hot y (B, n_classes) → Linear(n_classes, H·W) ReLU → one feature plane (B, 1, H, W)."""

    def __init__(self, num_classes: int, size: tuple[int, int]) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.net = nn.Sequential(nn.Linear(num_classes, size[0] * size[1]), nn.ReLU(), Reshape(1, *size))


def _check_classes(num_classes: int) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise ConfigError(f"num_classes must be an integer >= 0 (0 = unconditional), got {num_classes!r}")
    return num_classes


def _class_plane(num_classes: int, size: tuple[int, int]) -> ClassPlane | None:
    return ClassPlane(num_classes, size) if _check_classes(num_classes) else None


def _join(plane: ClassPlane | None, planes: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """[planes; plane(y)]: (B, P, H, W) → (B, P + 1, H, W); ``planes`` itself for an unconditional net."""
    _check_labels(labels, planes.shape[0], 0 if plane is None else plane.num_classes)
    return planes if plane is None else torch.cat([planes, plane.net(labels.to(planes.dtype)).to(planes.dtype)], 1)


class LAPGANCoarseGenerator(nn.Module):
    """z_K (B, z_dim) [and one-hot y] → I~_K (B, C, s, s): the dense G_K of level K.

    Args:
        z_dim: noise dimension (100 in the paper).
        image_shape: (C, s, s) of the coarsest level.
        hidden: units of each of the two hidden layers (1200).
        num_classes: one-hot label size; 0 for the unconditional net.
    """

    def __init__(self, *, z_dim: int = 100, image_shape: Sequence[int] = (3, 8, 8), hidden: int = 1200,
                 num_classes: int = 0) -> None:
        super().__init__()
        c, h, w = _shape(image_shape)
        check_positive(z_dim=z_dim, hidden=hidden)
        _check_classes(num_classes)
        self.z_dim, self.sample_shape, self.num_classes = z_dim, (c, h, w), num_classes
        self.net = nn.Sequential(nn.Linear(z_dim + num_classes, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, c * h * w), Reshape(c, h, w))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Args: z (B, z_dim), labels (B, num_classes) one-hot or None. Returns: (B, C, s, s)."""
        return self.net(_with_labels(z, labels, self.num_classes))


class LAPGANCoarseDiscriminator(nn.Module):
    """I_K (B, C, s, s) [and one-hot y] → raw scores (B,): the dense D_K of level K.

    Args:
        image_shape: (C, s, s) of the coarsest level.
        hidden: units of each of the two hidden layers (600).
        dropout: drop probability after each hidden layer (0.5, ``nn.Dropout``'s default as in the code).
        num_classes: one-hot label size; 0 for the unconditional net.
    """

    def __init__(self, *, image_shape: Sequence[int] = (3, 8, 8), hidden: int = 600, dropout: float = 0.5,
                 num_classes: int = 0) -> None:
        super().__init__()
        c, h, w = _shape(image_shape)
        check_positive(hidden=hidden)
        _check_classes(num_classes)
        self.input_shape, self.num_classes = (c, h, w), num_classes
        self.flatten = nn.Flatten()
        self.net = nn.Sequential(nn.Linear(c * h * w + num_classes, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Args: x (B, C, s, s), labels (B, num_classes) one-hot or None. Returns: scores (B,)."""
        return self.net(_with_labels(self.flatten(x), labels, self.num_classes)).squeeze(1)


class LAPGANConditionalGenerator(nn.Module):
    """Planes [z_k; l_k] (B, 1 + C, S, S) [and one-hot y] → band-pass h~_k (B, C, S, S): G_k for k < K.

    Args:
        image_shape: (C, S, S) of level k.
        width: channels of the two hidden convolutions (128).
        num_classes: one-hot label size; 0 for the unconditional net.
    """

    def __init__(self, *, image_shape: Sequence[int] = (3, 32, 32), width: int = 128, num_classes: int = 0) -> None:
        super().__init__()
        c, h, w = _shape(image_shape)
        check_positive(width=width)
        self.input_shape, self.sample_shape, self.num_classes = (1 + c, h, w), (c, h, w), num_classes
        self.class_plane = _class_plane(num_classes, (h, w))
        planes = 1 + c + (1 if num_classes else 0)
        self.net = nn.Sequential(nn.Conv2d(planes, width, 7, padding=3), nn.ReLU(),
                                 nn.Conv2d(width, width, 7, padding=3), nn.ReLU(),
                                 nn.Conv2d(width, c, 5, padding=2))

    def forward(self, planes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Args: planes (B, 1 + C, S, S) = [z_k; l_k], labels (B, num_classes) or None. Returns: (B, C, S, S)."""
        return self.net(_join(self.class_plane, planes, labels))


class LAPGANConditionalDiscriminator(nn.Module):
    """I = l_k + h (B, C, S, S) [and one-hot y] → raw scores (B,): D_k for k < K.

    Args:
        image_shape: (C, S, S) of level k, S >= 9.
        width: channels of the two convolutions (128).
        dropout: drop probability before the linear score (0.5).
        num_classes: one-hot label size; 0 for the unconditional net.
    """

    def __init__(self, *, image_shape: Sequence[int] = (3, 32, 32), width: int = 128, dropout: float = 0.5,
                 num_classes: int = 0) -> None:
        super().__init__()
        c, h, w = _shape(image_shape)
        check_positive(width=width)
        out_h, out_w = (h - 9) // 2 + 1, (w - 9) // 2 + 1  # 5×5 valid, then 5×5 valid stride 2
        if min(h, w) < 9:
            raise ConfigError(f"the LAPGAN level discriminator needs levels of at least 9×9 pixels (two valid 5×5 "
                              f"convolutions), got {h}×{w}; use fewer model.levels")
        self.input_shape, self.num_classes = (c, h, w), num_classes
        self.class_plane = _class_plane(num_classes, (h, w))
        self.features = nn.Sequential(nn.Conv2d(c + (1 if num_classes else 0), width, 5), nn.ReLU(),
                                      nn.Conv2d(width, width, 5, stride=2), nn.ReLU(), nn.Flatten(),
                                      nn.Dropout(dropout))
        self.score = nn.Linear(width * out_h * out_w, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Args: x (B, C, S, S) = l_k + h, labels (B, num_classes) or None. Returns: scores (B,)."""
        return self.score(self.features(_join(self.class_plane, x, labels))).squeeze(1)


def pyramid_shapes(image_shape: Sequence[int], levels: int) -> list[tuple[int, int, int]]:
    """(C, H / 2^k, W / 2^k) for k = 0..levels-1; raises ConfigError unless H, W divide by 2^(levels-1)."""
    c, h, w = _shape(image_shape)
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ConfigError(f"model.levels must be an integer >= 1, got {levels!r}")
    factor = 2 ** (levels - 1)
    if h % factor or w % factor:
        raise ConfigError(f"model.levels={levels} halves {h}×{w} images {levels - 1} times, so H and W must be "
                          f"divisible by {factor}; use fewer levels")
    return [(c, h // 2 ** k, w // 2 ** k) for k in range(levels)]


class LAPGANGenerators(nn.Module):
    """G_0, ..., G_K for ``levels`` = K + 1 levels of ``image_shape`` images (``levels[k]``).

    Args:
        image_shape: (C, H, W) of the full-size images.
        levels: K + 1 (>= 1); level k is (C, H / 2^k, W / 2^k).
        z_dim: size of z_K.
        width: channels of the conditional convnets.
        hidden: units of G_K's hidden layers.
        num_classes: one-hot label size (CC-LAPGAN); 0 for unconditional nets.
    """

    def __init__(self, *, image_shape: Sequence[int] = (3, 32, 32), levels: int = 3, z_dim: int = 100,
                 width: int = 128, hidden: int = 1200, num_classes: int = 0) -> None:
        super().__init__()
        shapes = pyramid_shapes(image_shape, levels)
        self.z_dim, self.sample_shape, self.num_classes = z_dim, shapes[0], num_classes
        self.levels = nn.ModuleList(
            [LAPGANConditionalGenerator(image_shape=s, width=width, num_classes=num_classes) for s in shapes[:-1]]
            + [LAPGANCoarseGenerator(z_dim=z_dim, image_shape=shapes[-1], hidden=hidden, num_classes=num_classes)])

    def forward(self, level: int, inputs: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """G_level: z_K (B, z_dim) at level K, planes [z_k; l_k] (B, 1 + C, S, S) below. Returns: (B, C, S, S)."""
        return self.levels[level](inputs, labels)


class LAPGANDiscriminators(nn.Module):
    """D_0, ..., D_K for ``levels`` = K + 1 levels of ``image_shape`` images (``levels[k]``).

    Args:
        image_shape: (C, H, W) of the full-size images.
        levels: K + 1 (>= 1).
        width: channels of the conditional convnets.
        hidden: units of D_K's hidden layers.
        dropout: drop probability in every discriminator.
        num_classes: one-hot label size (CC-LAPGAN); 0 for unconditional nets.
    """

    def __init__(self, *, image_shape: Sequence[int] = (3, 32, 32), levels: int = 3, width: int = 128,
                 hidden: int = 600, dropout: float = 0.5, num_classes: int = 0) -> None:
        super().__init__()
        shapes = pyramid_shapes(image_shape, levels)
        self.num_classes = num_classes
        self.levels = nn.ModuleList(
            [LAPGANConditionalDiscriminator(image_shape=s, width=width, dropout=dropout, num_classes=num_classes)
             for s in shapes[:-1]]
            + [LAPGANCoarseDiscriminator(image_shape=shapes[-1], hidden=hidden, dropout=dropout,
                                         num_classes=num_classes)])

    def forward(self, level: int, inputs: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """D_level on images I = l_k + h (B, C, S, S) (I_K at level K). Returns: scores (B,)."""
        return self.levels[level](inputs, labels)


NETS.register("lapgan-coarse-generator", NetSpec(
    build=LAPGANCoarseGenerator, example_input=latent_input, output_shape=sample_output,
    description="LAPGAN G_K: dense z -> coarsest pyramid level, 2 x 1200 ReLU (Denton et al. 2015)"))
NETS.register("lapgan-coarse-discriminator", NetSpec(
    build=LAPGANCoarseDiscriminator, example_input=uniform_input(-1.0, 1.0), output_shape=score_output,
    description="LAPGAN D_K: dense, 2 x 600 ReLU with dropout, on the coarsest level (Denton et al. 2015)"))
NETS.register("lapgan-conditional-generator", NetSpec(
    build=LAPGANConditionalGenerator, example_input=uniform_input(-1.0, 1.0), output_shape=sample_output,
    description="LAPGAN G_k: 3-layer convnet [z plane; low-pass] -> band-pass image (Denton et al. 2015)"))
NETS.register("lapgan-conditional-discriminator", NetSpec(
    build=LAPGANConditionalDiscriminator, example_input=uniform_input(-1.0, 1.0), output_shape=score_output,
    description="LAPGAN D_k: 2-layer convnet on low-pass + band-pass (Denton et al. 2015)"))
