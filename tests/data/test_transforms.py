"""Pixel-range scaling: exact ends, ulp-accurate interior, and the uint8 round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.data.transforms import check_pixel_range, gaussian_blur, gaussian_kernel1d, scale_uint8, to_uint8
from ganforge.errors import DataError

ALL_BYTES = np.arange(256, dtype=np.uint8)


@pytest.mark.parametrize("pixel_range", [(-1.0, 1.0), (0.0, 1.0)])
def test_scale_uint8_every_value(pixel_range: tuple[float, float]) -> None:
    low, high = pixel_range
    scaled = scale_uint8(ALL_BYTES, pixel_range)
    assert scaled.dtype == torch.float32 and scaled[0].item() == low and scaled[255].item() == high
    exact = low + ALL_BYTES.astype(np.float64) * (high - low) / 255
    np.testing.assert_allclose(scaled.double().numpy(), exact, rtol=0, atol=2.5e-7)
    assert torch.all(scaled[1:] > scaled[:-1])
    assert torch.equal(to_uint8(scaled, pixel_range), torch.from_numpy(ALL_BYTES))


def test_scale_keeps_shape_and_accepts_tensors() -> None:
    pixels = torch.from_numpy(ALL_BYTES).repeat(6).reshape(2, 3, 16, 16)
    assert scale_uint8(pixels, (0, 1)).shape == (2, 3, 16, 16)
    with pytest.raises(DataError):
        scale_uint8(pixels.float(), (0, 1))


def test_to_uint8_clamps() -> None:
    assert to_uint8(torch.tensor([-3.0, 3.0, 0.0]), (-1.0, 1.0)).tolist() == [0, 255, 128]


def test_check_pixel_range() -> None:
    assert check_pixel_range([0, 1]) == (0.0, 1.0)
    for bad in [(0, 2), (1, -1), 5, ("a", "b")]:
        with pytest.raises(DataError):
            check_pixel_range(bad)


def test_gaussian_blur_of_an_impulse_is_the_2d_gaussian() -> None:
    image = torch.zeros(1, 1, 21, 21)
    image[0, 0, 10, 10] = 1.0
    sigma = 1.5
    blurred = gaussian_blur(image, sigma)[0, 0].double()
    r = torch.arange(-10, 11, dtype=torch.float64)
    radius = 5  # ceil(3 sigma): taps beyond it are cut, then the taps are renormalised
    g = torch.where(r.abs() <= radius, torch.exp(-0.5 * (r / sigma) ** 2), torch.zeros(()))
    expected = torch.outer(g, g) / g.sum() ** 2
    torch.testing.assert_close(blurred, expected, rtol=0, atol=1e-7)
    assert gaussian_kernel1d(sigma).shape == (2 * radius + 1,)


def test_gaussian_blur_keeps_constants_and_shapes() -> None:
    torch.manual_seed(0)
    constant = torch.full((2, 3, 7, 5), 0.25)
    torch.testing.assert_close(gaussian_blur(constant, 4.0), constant)  # kernel wider than the image
    x = torch.rand(2, 3, 12, 12)
    assert gaussian_blur(x, 0) is x
    smooth = gaussian_blur(x, 1.0)
    assert smooth.shape == x.shape and smooth.std() < 0.6 * x.std()  # uniform noise loses most of its variance
    with pytest.raises(DataError, match="positive"):
        gaussian_kernel1d(-1.0)
