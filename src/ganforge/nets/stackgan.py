"""Stacked GAN nets (Huang et al. 2017, "Stacked Generative Adversarial Networks", CVPR; SPEC.md "Stacked GAN"):
the per-level generators G_i(h_{i+1}, z_i), the representation discriminators D_i and the Q_i heads of the
entropy loss, for two levels on 28×28 images (h_0 = x, h_1 an encoder feature vector, h_2 = y).

At ``width=1`` these are the authors' MNIST nets (reference code xunhuang1995/SGAN,
``mnist/train_independent.py``), with their noise paths: batch norm (then ReLU) on G_1's two hidden layers and
on G_0's noise embedding, weights ~ N(0, 0.02²) and zero biases everywhere (:func:`reference_init`). Without
them (an earlier ganforge version) G_0's output at the preset's width varied 175× less over z_0 than over its
condition at initialisation and ~500× less after 300 steps; with them 10× and ~100× less. ganforge's remaining
departures: h_1 is a layer of ganforge's MNIST classifier (fc1, d = 64, by default; the authors' encoder has a
256-d fc3, whose per-unit standard deviation on MNIST is 0.66 against fc1's 1.66); BN2d over G_0's first
feature maps instead of BN over its 2,048 units. Batch norm needs batches of two or more in training mode;
sampling runs the nets in eval mode (running statistics). ``width`` multiplies every hidden width below (the
preset uses a CPU-sized 0.25); N(0, 0.02²) stays fixed, so narrower layers have a smaller gain than the
reference's:

- G_1 (feature generator): [one-hot y (B, K) ‖ z_1 (B, n_1)] → Linear 512 BN ReLU → Linear 512 BN ReLU →
  Linear d ReLU = h^_1 (B, d) (post-ReLU, like the real h_1).
- G_0 (image generator): z_0 (B, n_0) → Linear 128 BN ReLU (the noise embedding); [h_1 (B, d) ‖ embedding]
  → Linear 128·4·4 → (128, 4, 4) BN ReLU → ConvT(128, 128, k5, s2) BN ReLU (8×8) → ConvT(128, 64, k5)
  BN ReLU (12×12) → ConvT(64, 64, k5, s2) BN ReLU (24×24) → ConvT(64, 1, k5) (28×28) → tanh for
  pixels in [-1, 1] or sigmoid for [0, 1] (the reference's data).
- D_1 (feature discriminator): h (B, d) → Linear 256 LReLU(0.2) → Linear 256 LReLU = shared features
  (B, 256) → Linear 1 = score.
- D_0 (image discriminator): x (B, 1, 28, 28) → Conv(1, 32, k5, s2, p2) LReLU (14×14) → Conv(32, 64, k5,
  s2, p2) LReLU (7×7) → Conv(64, 128, k5, s2, p2) LReLU (4×4) → Linear(2048, 256) LReLU = shared
  features → Linear 1 = score.
- Q_i (the entropy loss's posterior network): D_i's shared features (B, 256) → Linear n_i → sigmoid
  = ẑ_i ∈ (0, 1)^{n_i}. As in the paper ("Entropy Loss") and the reference code, Q_i shares every layer but
  its last with D_i; here the last layer is its own module (:class:`StackGANNoiseHead`).

Generators take ONE input, the condition and the noise concatenated, (B, condition_dim + noise_dim), so
that ``z_dim`` (that total) and ``sample_shape`` follow the generator contract of ``nets/spec.py``.
Discriminators return raw scores (B,) (no sigmoid) from ``forward`` and expose ``features_and_score``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.errors import ConfigError
from ganforge.nets.layers import scaled_width
from ganforge.nets.spec import NETS, NetSpec, check_positive, latent_input, sample_output, score_output, uniform_input

IMAGE_SHAPE = (1, 28, 28)
SLOPE = 0.2  # leaky ReLU slope of the discriminators
INIT_STD = 0.02  # the reference code's weight initialisation N(0, 0.02²)


def reference_init(net: nn.Module, std: float = INIT_STD) -> None:
    """The reference code's initialisation: weights of every linear and (transposed) convolution ~ N(0, std²),
    biases 0; batch-norm scales 1 and shifts 0 (PyTorch's default)."""
    for module in net.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


class StackGANFeatureGenerator(nn.Module):
    """G_1: [one-hot y (B, num_classes) ‖ z_1 (B, noise_dim)] → h^_1 (B, feature_dim), non-negative.

    Args:
        num_classes: K, the one-hot condition's size.
        noise_dim: n_1 (50 in the reference code).
        feature_dim: d, the size of h_1.
        width: multiplier of the two 512-unit hidden layers.
    """

    def __init__(self, *, num_classes: int = 10, noise_dim: int = 50, feature_dim: int = 64,
                 width: float = 1.0) -> None:
        super().__init__()
        check_positive(num_classes=num_classes, noise_dim=noise_dim, feature_dim=feature_dim)
        hidden = scaled_width(512, width, "Stacked GAN")
        self.condition_dim, self.noise_dim, self.num_classes = num_classes, noise_dim, num_classes
        self.z_dim, self.sample_shape = num_classes + noise_dim, (feature_dim,)
        self.net = nn.Sequential(
            nn.Linear(self.z_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, feature_dim), nn.ReLU(),
        )
        reference_init(self)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Args: inputs (B, K + n_1), one-hot y then z_1. Returns: h^_1 (B, d)."""
        return self.net(inputs)


class StackGANImageGenerator(nn.Module):
    """G_0: [h_1 (B, feature_dim) ‖ z_0 (B, noise_dim)] → x^ (B, 1, 28, 28).

    Args:
        feature_dim: d, the size of the condition h_1.
        noise_dim: n_0 (50 in the reference code).
        width: multiplier of the hidden widths 128 (embedding), 128, 128, 64, 64.
        output: "tanh" (pixels in [-1, 1]) or "sigmoid" ([0, 1]).
    """

    def __init__(self, *, feature_dim: int = 64, noise_dim: int = 50, width: float = 1.0,
                 output: str = "tanh") -> None:
        super().__init__()
        check_positive(feature_dim=feature_dim, noise_dim=noise_dim)
        if output not in ("tanh", "sigmoid"):
            raise ConfigError(f"G_0 output must be 'tanh' or 'sigmoid', got {output!r}")
        embed, c1, c2 = (scaled_width(c, width, "Stacked GAN") for c in (128, 128, 64))
        self.condition_dim, self.noise_dim, self.output = feature_dim, noise_dim, output
        self.z_dim, self.sample_shape = feature_dim + noise_dim, IMAGE_SHAPE
        self.embed = nn.Sequential(nn.Linear(noise_dim, embed, bias=False), nn.BatchNorm1d(embed), nn.ReLU())
        self.fc = nn.Linear(feature_dim + embed, c1 * 4 * 4)
        self.bn0 = nn.BatchNorm2d(c1)
        self.deconv1 = nn.ConvTranspose2d(c1, c1, 5, stride=2, padding=2, output_padding=1)
        self.bn1 = nn.BatchNorm2d(c1)
        self.deconv2 = nn.ConvTranspose2d(c1, c2, 5)
        self.bn2 = nn.BatchNorm2d(c2)
        self.deconv3 = nn.ConvTranspose2d(c2, c2, 5, stride=2, padding=2, output_padding=1)
        self.bn3 = nn.BatchNorm2d(c2)
        self.deconv4 = nn.ConvTranspose2d(c2, 1, 5)
        reference_init(self)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Args: inputs (B, d + n_0), h_1 then z_0. Returns: x^ (B, 1, 28, 28)."""
        h, z = inputs.split([self.condition_dim, self.noise_dim], dim=1)
        a = self.fc(torch.cat([h, self.embed(z)], dim=1))
        a = F.relu(self.bn0(a.reshape(a.shape[0], -1, 4, 4)))  # (B, 128w, 4, 4)
        a = F.relu(self.bn1(self.deconv1(a)))  # (B, 128w, 8, 8)
        a = F.relu(self.bn2(self.deconv2(a)))  # (B, 64w, 12, 12)
        a = F.relu(self.bn3(self.deconv3(a)))  # (B, 64w, 24, 24)
        x = self.deconv4(a)  # (B, 1, 28, 28)
        return torch.tanh(x) if self.output == "tanh" else torch.sigmoid(x)


class StackGANDiscriminator(nn.Module):
    """Base of D_0 and D_1: a shared ``body`` (the features Q_i reads too) and a linear ``score`` head."""

    body: nn.Module
    score: nn.Linear

    def features_and_score(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: h (B, *input_shape). Returns: (shared features (B, feature_dim), raw scores (B,))."""
        f = self.body(h)
        return f, self.score(f).squeeze(1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Args: h (B, *input_shape). Returns: raw scores (B,), no sigmoid."""
        return self.features_and_score(h)[1]


class StackGANFeatureDiscriminator(StackGANDiscriminator):
    """D_1: h (B, feature_dim) → scores (B,); shared features (B, 256·width).

    Args:
        feature_dim: d, the size of h_1.
        width: multiplier of the two 256-unit layers.
    """

    def __init__(self, *, feature_dim: int = 64, width: float = 1.0) -> None:
        super().__init__()
        check_positive(feature_dim=feature_dim)
        c = scaled_width(256, width, "Stacked GAN")
        self.input_shape, self.feature_dim = (feature_dim,), c
        self.body = nn.Sequential(nn.Linear(feature_dim, c), nn.LeakyReLU(SLOPE), nn.Linear(c, c), nn.LeakyReLU(SLOPE))
        self.score = nn.Linear(c, 1)
        reference_init(self)


class StackGANImageDiscriminator(StackGANDiscriminator):
    """D_0: x (B, 1, 28, 28) → scores (B,); shared features (B, 256·width).

    Args:
        width: multiplier of the widths 32, 64, 128 (convolutions) and 256 (linear).
    """

    def __init__(self, *, width: float = 1.0) -> None:
        super().__init__()
        c1, c2, c3, c = (scaled_width(b, width, "Stacked GAN") for b in (32, 64, 128, 256))
        self.input_shape, self.feature_dim = IMAGE_SHAPE, c
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 5, stride=2, padding=2), nn.LeakyReLU(SLOPE),  # (B, 32w, 14, 14)
            nn.Conv2d(c1, c2, 5, stride=2, padding=2), nn.LeakyReLU(SLOPE),  # (B, 64w, 7, 7)
            nn.Conv2d(c2, c3, 5, stride=2, padding=2), nn.LeakyReLU(SLOPE),  # (B, 128w, 4, 4)
            nn.Flatten(), nn.Linear(c3 * 4 * 4, c), nn.LeakyReLU(SLOPE),  # (B, 256w)
        )
        self.score = nn.Linear(c, 1)
        reference_init(self)


class StackGANNoiseHead(nn.Module):
    """Q_i's own layer: D_i's shared features (B, in_features) → ẑ_i = sigmoid(Linear) (B, noise_dim).

    The entropy loss is the mean squared error between ẑ_i and the uniform noise z_i (a Gaussian posterior
    with a fixed standard deviation, the paper's "Entropy Loss").

    Args:
        in_features: size of D_i's shared features.
        noise_dim: n_i.
    """

    def __init__(self, *, in_features: int = 256, noise_dim: int = 50) -> None:
        super().__init__()
        check_positive(in_features=in_features, noise_dim=noise_dim)
        self.input_shape, self.z_dim = (in_features,), noise_dim
        self.fc = nn.Linear(in_features, noise_dim)
        reference_init(self)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Args: features (B, in_features). Returns: ẑ_i (B, noise_dim) in (0, 1)."""
        return torch.sigmoid(self.fc(features))


NETS.register("stackgan-feature-generator", NetSpec(
    build=StackGANFeatureGenerator, example_input=latent_input, output_shape=sample_output,
    description="Stacked GAN G_1: one-hot y + z_1 -> encoder feature h_1 (Huang et al. 2017, MNIST reference code)",
))
NETS.register("stackgan-image-generator", NetSpec(
    build=StackGANImageGenerator, example_input=latent_input, output_shape=sample_output,
    description="Stacked GAN G_0: feature h_1 + z_0 -> 28x28 image, deconvs 128-128-64-64 (Huang et al. 2017)",
))
NETS.register("stackgan-feature-discriminator", NetSpec(
    build=StackGANFeatureDiscriminator, example_input=uniform_input(0.0, 1.0), output_shape=score_output,
    description="Stacked GAN representation discriminator D_1 on h_1: MLP 256-256, LReLU (Huang et al. 2017)",
))
NETS.register("stackgan-image-discriminator", NetSpec(
    build=StackGANImageDiscriminator, example_input=uniform_input(-1.0, 1.0), output_shape=score_output,
    description="Stacked GAN image discriminator D_0: k5 s2 convs 32-64-128, fc 256 (Huang et al. 2017)",
))
NETS.register("stackgan-noise-encoder", NetSpec(
    build=StackGANNoiseHead, example_input=uniform_input(0.0, 1.0), output_shape=lambda net, batch: (batch, net.z_dim),
    description="Stacked GAN Q_i head: D_i's shared features -> reconstructed noise z_i (entropy loss)",
))
