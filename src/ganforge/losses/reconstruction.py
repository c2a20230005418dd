"""Reconstruction losses: mean absolute and mean squared error between two tensors of the same shape.

Used by the models that reconstruct their inputs: AEGAN (Lazarou 2020: λ_x ||x - G(E(x))||_1 on
images, λ_z ||z - E(G(z))||_2^2 on latents), PPGN (Nguyen et al. 2017: the image and feature MSE of its
generator loss) and ModNet (Basart 2017: the L1 change ||x - x'||_1). Both are means over every
element, as ``torch.nn.functional.l1_loss`` / ``mse_loss`` with ``reduction="mean"``; a per-sample sum
is the mean times the number of elements per sample. Shapes must match exactly: no broadcasting.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check_same_shape(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape:
        raise ValueError(f"reconstruction needs equal shapes, got {tuple(x.shape)} and {tuple(y.shape)}")


def l1_reconstruction(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute error mean(|x - y|) of a batch x (B, ...) and its reconstruction y (same shape).

    Returns a scalar (float32 under autocast).
    """
    _check_same_shape(x, y)
    return F.l1_loss(x, y)


def l2_reconstruction(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error mean((x - y)²) of a batch x (B, ...) and its reconstruction y (same shape).

    Returns a scalar (float32 under autocast).
    """
    _check_same_shape(x, y)
    return F.mse_loss(x, y)
