"""The PPGN-h nets of SPEC.md: generator G(h), image critic D, fc1-code critic D1, and a critic for
any other encoder layer (Nguyen et al. 2017, "Plug & Play Generative Networks", Sec. 3.3 and S.7;
the seed thesis, KTH 2018, and its reference code ``ppgn-disc``). The encoder E is
:class:`~ganforge.nets.classifiers.MNISTClassifier`.

At ``width=1`` (the exact architecture; ``width`` multiplies every hidden channel count):

- G: gen-fc1 Linear(64, 5·5·64) ReLU → view (64, 5, 5) → ConvT(64, 512, k5) ReLU (9×9) →
  ConvT(512, 256, k5) ReLU (13×13) → ConvT(256, 256, k7) ReLU (19×19) → ConvT(256, 1, k10) (28×28),
  no output activation. 7,437,889 parameters.
- D (images, B×1×28×28): conv1(1, 256, k3) ReLU (26) → conv2(256, 256, k3) ReLU (24) → pool2 (12) →
  conv3(256, 256, k3) ReLU (10) → pool3 (5) → conv4(256, 512, k3) ReLU (3) → pool4 (1) →
  disc-fc1 Linear(512, 1). Max pools of 2. 2,363,393 parameters.
- D1 (fc1 codes, B×64): view 1×8×8 → conv(1, 256, k2) ReLU (7) → conv(256, 256, k2) ReLU (6) →
  maxpool 2 (3) → conv(256, 512, k2) ReLU (2) → maxpool 2 (1) → Linear(512, 1). 788,993 parameters.
- Other encoder layers (ganforge's choice; SPEC.md names only D and D1): feature maps (C, H, W) get
  conv(C, 256, k3, p1) ReLU, then conv(256, 256, k3, s2, p1) ReLU until the side is ≤ 4, then a linear
  score; vectors of another size (fc2 logits, pool3) get Linear(d, 256) ReLU Linear(256, 256) ReLU
  Linear(256, 1).

Critics return raw scores (B,) and have no normalisation (WGAN-GP, Gulrajani et al. 2017). G also keeps
running sums of the fc1 codes it was trained on (float64 buffers, saved with it), so that unconditional
sampling can draw h from a diagonal Gaussian fit of the training codes (:meth:`PPGNGenerator.code_gaussian`),
and, with ``adv_terms`` > 0, the calibrated weights of its adversarial loss terms (``adv_weight`` float64,
``adv_calibrated`` bool, one per critic; set by ``variants.ppgn_balance``), so a resumed run keeps them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.errors import ConfigError
from ganforge.nets.layers import scaled_width
from ganforge.nets.spec import NETS, NetSpec, latent_input, sample_output, score_output, uniform_input

CODE_DIM = 64  # h = E_fc1(x)
IMAGE_SHAPE = (1, 28, 28)


class PPGNGenerator(nn.Module):
    """G: fc1 codes h (B, 64) → images (B, 1, 28, 28), no output activation.

    Args:
        width: multiplier of the hidden channels 64, 512, 256, 256 (1 = the paper's net).
        adv_terms: number of adversarial loss terms whose calibrated weights G keeps (buffers).
        output_scale, output_shift: a fixed map of the last layer's output y to pixels, x = scale · y + shift
            (1, 0: y is the pixel; the reference code's units: see ``variants.ppgn_nets.output_map``).
    """

    def __init__(self, *, width: float = 1.0, adv_terms: int = 0, output_scale: float = 1.0,
                 output_shift: float = 0.0) -> None:
        super().__init__()
        self.output_scale, self.output_shift = float(output_scale), float(output_shift)
        c0, c1, c2, c3 = (scaled_width(c, width, "PPGN") for c in (64, 512, 256, 256))
        self.z_dim, self.sample_shape, self.width = CODE_DIM, IMAGE_SHAPE, width
        self.fc1 = nn.Linear(CODE_DIM, 5 * 5 * c0)
        self.deconv1 = nn.ConvTranspose2d(c0, c1, 5)
        self.deconv2 = nn.ConvTranspose2d(c1, c2, 5)
        self.deconv3 = nn.ConvTranspose2d(c2, c3, 7)
        self.deconv4 = nn.ConvTranspose2d(c3, 1, 10)
        self.register_buffer("code_count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("code_sum", torch.zeros(CODE_DIM, dtype=torch.float64))
        self.register_buffer("code_sq_sum", torch.zeros(CODE_DIM, dtype=torch.float64))
        self.register_buffer("adv_weight", torch.ones(adv_terms, dtype=torch.float64))
        self.register_buffer("adv_calibrated", torch.zeros(adv_terms, dtype=torch.bool))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Args: h (B, 64). Returns: images (B, 1, 28, 28)."""
        x = F.relu(self.fc1(h)).unflatten(1, (-1, 5, 5))  # (B, 64w, 5, 5)
        x = F.relu(self.deconv1(x))  # (B, 512w, 9, 9)
        x = F.relu(self.deconv2(x))  # (B, 256w, 13, 13)
        x = F.relu(self.deconv3(x))  # (B, 256w, 19, 19)
        y = self.deconv4(x)  # (B, 1, 28, 28)
        if (self.output_scale, self.output_shift) == (1.0, 0.0):
            return y
        return y * self.output_scale + self.output_shift

    @torch.no_grad()
    def observe_codes(self, h: torch.Tensor) -> None:
        """Add a batch of training codes h (B, 64) to the running sums of the Gaussian fit."""
        h = h.detach().double()
        self.code_count += h.shape[0]
        self.code_sum += h.sum(0)
        self.code_sq_sum += h.square().sum(0)

    def code_gaussian(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean (64,), std (64,)) of the codes seen so far as float32; (0, 1) before any were seen."""
        if float(self.code_count) == 0:
            return torch.zeros_like(self.code_sum).float(), torch.ones_like(self.code_sum).float()
        mean = self.code_sum / self.code_count
        var = (self.code_sq_sum / self.code_count - mean.square()).clamp_min(0)
        return mean.float(), var.sqrt().float()


def _conv_pool(*convs: nn.Conv2d) -> list[nn.Module]:
    """conv → ReLU → 2×2 max pool for each conv, as module layers (the critics' explicit layer chains)."""
    return [layer for conv in convs for layer in (conv, nn.ReLU(), nn.MaxPool2d(2))]


class PPGNImageCritic(nn.Module):
    """D: images (B, 1, 28, 28) → scores (B,).

    Args:
        width: multiplier of the channels 256, 256, 256, 512 (1 = the reference net).
    """

    def __init__(self, *, width: float = 1.0) -> None:
        super().__init__()
        c1, c4 = scaled_width(256, width, "PPGN"), scaled_width(512, width, "PPGN")
        self.input_shape = IMAGE_SHAPE
        self.conv1 = nn.Conv2d(1, c1, 3)
        self.conv2 = nn.Conv2d(c1, c1, 3)
        self.conv3 = nn.Conv2d(c1, c1, 3)
        self.conv4 = nn.Conv2d(c1, c4, 3)
        self.fc1 = nn.Linear(c4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, 1, 28, 28). Returns: scores (B,)."""
        x = F.relu(self.conv1(x))  # (B, 256w, 26, 26)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (B, 256w, 12, 12)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)  # (B, 256w, 5, 5)
        x = F.max_pool2d(F.relu(self.conv4(x)), 2)  # (B, 512w, 1, 1)
        return self.fc1(x.flatten(1)).squeeze(1)

    def piecewise_linear_layers(self) -> list[nn.Module]:
        """The layers whose composition is ``forward`` (used by the explicit gradient penalty)."""
        return [self.conv1, nn.ReLU(), *_conv_pool(self.conv2, self.conv3, self.conv4), nn.Flatten(), self.fc1]


class PPGNCodeCritic(nn.Module):
    """D1: fc1 codes (B, 64) → scores (B,).

    Args:
        width: multiplier of the channels 256, 256, 512 (1 = the reference net).
    """

    def __init__(self, *, width: float = 1.0) -> None:
        super().__init__()
        c1, c3 = scaled_width(256, width, "PPGN"), scaled_width(512, width, "PPGN")
        self.input_shape = (CODE_DIM,)
        self.conv1 = nn.Conv2d(1, c1, 2)
        self.conv2 = nn.Conv2d(c1, c1, 2)
        self.conv3 = nn.Conv2d(c1, c3, 2)
        self.fc1 = nn.Linear(c3, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Args: h (B, 64). Returns: scores (B,)."""
        x = h.reshape(-1, 1, 8, 8)  # (B, 1, 8, 8)
        x = F.relu(self.conv1(x))  # (B, 256w, 7, 7)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (B, 256w, 3, 3)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)  # (B, 512w, 1, 1)
        return self.fc1(x.flatten(1)).squeeze(1)

    def piecewise_linear_layers(self) -> list[nn.Module]:
        """The layers whose composition is ``forward`` (used by the explicit gradient penalty)."""
        return [nn.Unflatten(1, (1, 8, 8)), self.conv1, nn.ReLU(), *_conv_pool(self.conv2, self.conv3), nn.Flatten(),
                self.fc1]


class PPGNFeatureCritic(nn.Module):
    """A critic for any other encoder layer: features (B, *input_shape) → scores (B,).

    Args:
        input_shape: (C, H, W) of a conv layer's activations or (d,) of a linear one.
        width: multiplier of the 256 hidden channels / units.
    """

    def __init__(self, *, input_shape: tuple[int, ...] = (128, 16, 16), width: float = 1.0) -> None:
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        c = scaled_width(256, width, "PPGN")
        if len(self.input_shape) == 1:
            (d,) = self.input_shape
            self.body = nn.Sequential(nn.Linear(d, c), nn.ReLU(), nn.Linear(c, c), nn.ReLU())
            self.score = nn.Linear(c, 1)
            return
        if len(self.input_shape) != 3:
            raise ConfigError(f"a feature critic takes (C, H, W) or (d,) features, got {self.input_shape}")
        channels, side, _ = self.input_shape
        layers: list[nn.Module] = [nn.Conv2d(channels, c, 3, padding=1), nn.ReLU()]
        while side > 4:  # halve the side: 22 → 11 → 6 → 3, 16 → 8 → 4
            layers += [nn.Conv2d(c, c, 3, stride=2, padding=1), nn.ReLU()]
            side = (side + 1) // 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.score = nn.Linear(c * side * side, 1)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """Args: f (B, *input_shape). Returns: scores (B,)."""
        return self.score(self.body(f)).squeeze(1)

    def piecewise_linear_layers(self) -> list[nn.Module]:
        """The layers whose composition is ``forward`` (used by the explicit gradient penalty)."""
        return [*self.body, self.score]


NETS.register("ppgn-generator", NetSpec(
    build=PPGNGenerator, example_input=latent_input, output_shape=sample_output,
    description="PPGN-h generator G(h) from the 64-d fc1 code, 28x28 output (Nguyen et al. 2017)",
))
NETS.register("ppgn-image-critic", NetSpec(
    build=PPGNImageCritic, example_input=uniform_input(-1.0, 1.0), output_shape=score_output,
    description="PPGN-disc image critic D: k3 convs 256-256-256-512, max pools (seed thesis, KTH 2018)",
))
NETS.register("ppgn-code-critic", NetSpec(
    build=PPGNCodeCritic, example_input=uniform_input(0.0, 1.0), output_shape=score_output,
    description="PPGN-disc fc1-code critic D1: code as 1x8x8, k2 convs 256-256-512 (seed thesis, KTH 2018)",
))
NETS.register("ppgn-feature-critic", NetSpec(
    build=PPGNFeatureCritic, example_input=uniform_input(0.0, 1.0), output_shape=score_output,
    description="critic on any PPGN encoder layer's activations (ganforge's choice; conv or MLP)",
))
