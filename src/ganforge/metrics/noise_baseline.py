"""The uniform-noise baseline of ``ganforge evaluate``: the far end of the scale the samples are placed on.

Every measure of the generated samples is also computed for n real training images (``baseline_train``, the
near end) and for n items of uniform noise (``baseline_noise``, the far end), so a reader can say where the
samples stand between the two (``ganforge report`` does). Noise images are uniform in [0, 1] per pixel (the
demo's and ``experiment compare``'s baseline, seed :data:`NOISE_SEED`); noise for 2-D toy points is uniform
over the bounding box of the training points. The noise baseline is computed once, without a bootstrap
spread: it only fixes the end of a scale and lies far from any run on it.
"""

from __future__ import annotations

import torch

NOISE_SEED = 1


def uniform_noise(train: torch.Tensor, train_range: tuple[float, float] | None, n: int,
                  seed: int = NOISE_SEED) -> tuple[torch.Tensor, tuple[float, float] | None]:
    """n items of uniform noise shaped like the training items.

    Args:
        train: (R, C, H, W) training images, or (R, 2) toy points (``train_range`` None).
        train_range: the images' pixel range; None for toy points.
        n: items to draw.
        seed: seeds the draw.

    Returns:
        ((n, C, H, W) images uniform in [0, 1] and their range (0.0, 1.0)) for images, or ((n, 2) points uniform
        over the box [min, max] of the training points per coordinate, None) for toy points.
    """
    generator = torch.Generator().manual_seed(seed)
    if train_range is not None:  # float32 draws: the same images the demo and compare have always used
        return torch.rand(n, *train.shape[1:], generator=generator), (0.0, 1.0)
    noise = torch.rand(n, *train.shape[1:], generator=generator, dtype=torch.float64)
    low, high = train.double().min(0).values, train.double().max(0).values  # (2,), (2,)
    return (low + (high - low) * noise).float(), None
