"""Laplacian pyramid (Denton et al. 2015, Sec. 3.1): collapse(build(x)) == x for every supported size and
channel count, the level shapes of 28 and 32 pixel images, the bands against their definition, and
one-line errors for sizes that cannot be halved."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from ganforge.data.transforms import (
    build_laplacian_pyramid,
    collapse_laplacian_pyramid,
    gaussian_blur,
    gaussian_pyramid,
    pyramid_down,
    pyramid_up,
)
from ganforge.errors import DataError


@st.composite
def images_and_levels(draw):
    """A batch of random images whose height and width can be halved ``levels`` - 1 times: the 28×28 and
    32×32 datasets, or any multiple of 2^(levels - 1), square or not; 1 to 4 channels."""
    levels = draw(st.integers(1, 4))
    factor = 2 ** (levels - 1)
    if draw(st.booleans()) and levels <= 3:
        h = w = draw(st.sampled_from([28, 32]))
    else:
        h, w = (factor * draw(st.integers(1, 40 // factor)) for _ in range(2))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 4)), h, w)
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([1.0, 255.0]))
    x = (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1) * scale
    sigma = draw(st.sampled_from([0.5, 1.0, 2.0]))
    return x, levels, sigma


@settings(max_examples=40, deadline=None)
@given(images_and_levels())
def test_collapse_of_build_is_the_identity_to_float_precision(case):
    x, levels, sigma = case
    pyramid = build_laplacian_pyramid(x, levels, sigma)
    assert len(pyramid) == levels
    for k, band in enumerate(pyramid):
        assert band.shape == (*x.shape[:2], x.shape[2] // 2**k, x.shape[3] // 2**k)
    back = collapse_laplacian_pyramid(pyramid, sigma)
    # float32: a few ulp of the image scale (each level adds and subtracts the same u(I_{k+1}))
    scale = float(x.abs().max())
    torch.testing.assert_close(back, x, rtol=0, atol=4e-7 * scale * levels)
    double = collapse_laplacian_pyramid(build_laplacian_pyramid(x.double(), levels, sigma), sigma)
    torch.testing.assert_close(double, x.double(), rtol=0, atol=1e-14 * scale * levels)


@pytest.mark.parametrize("size,sides", [(28, [28, 14, 7]), (32, [32, 16, 8])])
def test_level_shapes_of_the_dataset_sizes(size, sides):
    x = torch.rand(2, 3, size, size)
    assert [tuple(h.shape[-2:]) for h in build_laplacian_pyramid(x, 3)] == [(s, s) for s in sides]
    assert [tuple(i.shape[-2:]) for i in gaussian_pyramid(x, 3)] == [(s, s) for s in sides]


def test_bands_follow_their_definition():
    x = torch.rand(2, 1, 28, 28, dtype=torch.float64)
    i1 = F.avg_pool2d(gaussian_blur(x, 1.0), 2)  # d: blur then 2×2 mean
    i2 = F.avg_pool2d(gaussian_blur(i1, 1.0), 2)
    up = lambda t: gaussian_blur(F.interpolate(t, scale_factor=2, mode="nearest"), 1.0)  # noqa: E731
    h0, h1, h2 = build_laplacian_pyramid(x, 3)
    torch.testing.assert_close(h2, i2, rtol=0, atol=0)  # h_K = I_K
    torch.testing.assert_close(h1, i1 - up(i2), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h0, x - up(i1), rtol=1e-12, atol=1e-12)


def test_constant_images_have_zero_band_pass():
    x = torch.full((1, 3, 32, 32), 0.25, dtype=torch.float64)
    h0, h1, h2 = build_laplacian_pyramid(x, 3)
    assert float(h0.abs().max()) < 1e-6 and float(h1.abs().max()) < 1e-6  # the blur taps are float32
    torch.testing.assert_close(h2, torch.full((1, 3, 8, 8), 0.25, dtype=torch.float64))
    assert pyramid_down(x).shape == (1, 3, 16, 16) and pyramid_up(x).shape == (1, 3, 64, 64)


def test_sizes_that_cannot_be_halved_are_refused():
    with pytest.raises(DataError, match="divisible by 8"):
        build_laplacian_pyramid(torch.rand(1, 1, 28, 28), 4)  # 28 → 14 → 7 → ?
    with pytest.raises(DataError, match="must be even"):
        pyramid_down(torch.rand(1, 1, 7, 7))
    with pytest.raises(DataError, match="at least one level"):
        build_laplacian_pyramid(torch.rand(1, 1, 8, 8), 0)
    with pytest.raises(DataError, match="twice the size"):
        collapse_laplacian_pyramid([torch.rand(1, 1, 8, 8), torch.rand(1, 1, 3, 3)])
    with pytest.raises(DataError, match=r"\(N, C, H, W\)"):
        build_laplacian_pyramid(torch.rand(28, 28), 2)
