"""Pixel-range scaling: exact ends, ulp-accurate interior, and the uint8 round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.data.transforms import check_pixel_range, scale_uint8, to_uint8
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
