"""The nets of ModNet (Basart 2017): a label-conditioned U-Net that outputs a delta image, and a
discriminator whose output row holds a real/fake logit and, optionally, class logits (the joint classifier).

:class:`ModNetUNet` (after the U-Net of Ronneberger et al. 2015) maps an image x (B, C, H, W) and a one-hot
target label y_t (B, K) to δ = tanh(·) (B, C, H, W). The label is injected twice, as SPEC.md asks: at the
input, as K constant planes stacked on the image (the net's input is ``condition(x, y_t)``, (B, C + K, H, W),
so the net keeps the one-tensor call of every ``NETS`` entry), and at the bottleneck, where the same planes
average-pooled to the bottleneck size (still exactly the one-hot code) are stacked on the features.
Shapes for a 28×28 input at ``width`` w (32×32 gives 32 → 16 → 8):

    enc1  conv3×3(C+K, w)   BN ReLU        (B, w, 28, 28)  ─────────────── skip ──┐
    pool 2, enc2 conv3×3(w, 2w) BN ReLU    (B, 2w, 14, 14) ─── skip ──┐           │
    pool 2, enc3 conv3×3(2w, 4w) BN ReLU   (B, 4w, 7, 7)              │           │
    bottleneck conv3×3(4w+K, 4w) BN ReLU   (B, 4w, 7, 7)   ← label planes again   │
    up2 convT2×2/2(4w, 2w), cat skip, dec2 conv3×3(4w, 2w) BN ReLU (B, 2w, 14, 14)│
    up1 convT2×2/2(2w, w), cat skip,  dec1 conv3×3(2w, w) BN ReLU  (B, w, 28, 28) ┘
    out conv1×1(w, C), tanh                (B, C, 28, 28) = δ

Batch norm and ReLU as in the pix2pix U-Net (Isola et al. 2017). Side lengths must be multiples of 4.

:class:`ModNetDiscriminator`: conv4×4/2(C, w) LReLU(0.2) → conv4×4/2(w, 2w) LReLU → conv3×3(2w, 4w) LReLU →
linear(4w·H/4·W/4, 1 + K). Column 0 is the real/fake logit D(x); columns 1..K are the class logits of the
joint classifier C (K = 0 when C is a separate network). No normalisation layer, so real and fake images
can share one pass.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.errors import ConfigError
from ganforge.nets.spec import NETS, NetSpec, check_positive, uniform_input


def _check_image_shape(image_shape: tuple[int, ...]) -> tuple[int, int, int]:
    if len(image_shape) != 3:
        raise ConfigError(f"ModNet needs images (C, H, W), got samples of shape {tuple(image_shape)}")
    c, h, w = (int(v) for v in image_shape)
    check_positive(channels=c, height=h, width=w)
    if h % 4 or w % 4:
        raise ConfigError(f"ModNet's U-Net pools twice: image sides must be multiples of 4, got {h}x{w}")
    return c, h, w


def condition(x: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The U-Net's input: images with K one-hot label planes stacked on them.

    Args:
        x: images (B, C, H, W).
        target: target labels (B,) int64 in 0..K-1.
        num_classes: K.

    Returns:
        (B, C + K, H, W), plane C + y_t of sample b all ones, the other label planes zero.
    """
    onehot = F.one_hot(target, num_classes).to(x.dtype)  # (B, K)
    planes = onehot[:, :, None, None].expand(-1, -1, *x.shape[-2:])  # (B, K, H, W)
    return torch.cat([x, planes], 1)


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class ModNetUNet(nn.Module):
    """The ModNet generator G: ``condition(x, y_t)`` (B, C + K, H, W) → δ (B, C, H, W) in (-1, 1).

    Args:
        image_shape: (C, H, W) of the images, sides multiples of 4.
        num_classes: K, the number of one-hot label planes.
        width: channels of the first level (w, 2w, 4w down the U).
    """

    def __init__(self, *, image_shape: tuple[int, int, int] = (1, 28, 28), num_classes: int = 10,
                 width: int = 32) -> None:
        super().__init__()
        c, h, w = _check_image_shape(image_shape)
        check_positive(num_classes=num_classes, width=width)
        self.image_shape, self.num_classes = (c, h, w), num_classes
        self.input_shape = (c + num_classes, h, w)
        self.enc1 = _block(c + num_classes, width)
        self.enc2 = _block(width, 2 * width)
        self.enc3 = _block(2 * width, 4 * width)
        self.bottleneck = _block(4 * width + num_classes, 4 * width)
        self.up2 = nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.dec2 = _block(4 * width, 2 * width)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec1 = _block(2 * width, width)
        self.out = nn.Conv2d(width, c, 1)

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        """Args: xy (B, C + K, H, W) from :func:`condition`. Returns: δ (B, C, H, W), tanh output."""
        labels = xy[:, self.image_shape[0]:]  # (B, K, H, W) one-hot planes
        e1 = self.enc1(xy)  # (B, w, H, W)
        e2 = self.enc2(F.max_pool2d(e1, 2))  # (B, 2w, H/2, W/2)
        e3 = self.enc3(F.max_pool2d(e2, 2))  # (B, 4w, H/4, W/4)
        b = self.bottleneck(torch.cat([e3, F.adaptive_avg_pool2d(labels, e3.shape[-2:])], 1))
        d2 = self.dec2(torch.cat([self.up2(b), e2], 1))  # (B, 2w, H/2, W/2)
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))  # (B, w, H, W)
        return torch.tanh(self.out(d1))


class ModNetDiscriminator(nn.Module):
    """The ModNet discriminator: images (B, C, H, W) → (B, 1 + K): real/fake logit, then class logits.

    Args:
        image_shape: (C, H, W), sides multiples of 4.
        num_classes: K class logits of the joint classifier head (0: real/fake only).
        width: channels of the first conv (w, 2w, 4w).
    """

    def __init__(self, *, image_shape: tuple[int, int, int] = (1, 28, 28), num_classes: int = 10,
                 width: int = 32) -> None:
        super().__init__()
        c, h, w = _check_image_shape(image_shape)
        check_positive(width=width)
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ConfigError(f"num_classes must be an integer >= 0, got {num_classes!r}")
        self.input_shape, self.num_classes = (c, h, w), num_classes
        self.features = nn.Sequential(
            nn.Conv2d(c, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # (B, w, H/2, W/2)
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # (B, 2w, H/4, W/4)
            nn.Conv2d(2 * width, 4 * width, 3, padding=1), nn.LeakyReLU(0.2),  # (B, 4w, H/4, W/4)
            nn.Flatten())
        self.head = nn.Linear(4 * width * (h // 4) * (w // 4), 1 + num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, C, H, W). Returns: (B, 1 + K); column 0 the logit of "real"."""
        return self.head(self.features(x))


NETS.register("modnet-unet", NetSpec(
    build=ModNetUNet,
    example_input=uniform_input(-1.0, 1.0),
    output_shape=lambda net, batch: (batch, *net.image_shape),
    description="ModNet label-conditioned U-Net: image + one-hot planes → tanh delta (Basart 2017)",
))
NETS.register("modnet-discriminator", NetSpec(
    build=ModNetDiscriminator,
    example_input=uniform_input(-1.0, 1.0),
    output_shape=lambda net, batch: (batch, 1 + net.num_classes),
    description="ModNet discriminator: real/fake logit plus joint class logits (Basart 2017)",
))
