"""L1 and L2 reconstruction losses against hand-computed values."""

from __future__ import annotations

import pytest
import torch

from ganforge.losses import l1_reconstruction, l2_reconstruction


def test_hand_computed_values() -> None:
    x = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    y = torch.tensor([[0.0, 0.0], [1.5, 3.0]])
    # |diff| = 1, 2, 1, 0; diff^2 = 1, 4, 1, 0.
    assert l1_reconstruction(x, y).item() == pytest.approx(1.0)
    assert l2_reconstruction(x, y).item() == pytest.approx(1.5)


def test_zero_for_identical_inputs_and_symmetric() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4)
    assert l1_reconstruction(x, x).item() == 0.0 and l2_reconstruction(x, x).item() == 0.0
    torch.testing.assert_close(l1_reconstruction(x, y), l1_reconstruction(y, x))
    torch.testing.assert_close(l2_reconstruction(x, y), (x - y).pow(2).sum() / x.numel())


def test_gradients_in_closed_form() -> None:
    x = torch.tensor([2.0, -1.0, 0.5, 4.0], requires_grad=True)
    y = torch.zeros(4)
    l2_reconstruction(x, y).backward()
    torch.testing.assert_close(x.grad, 2 * x.detach() / 4)
    x.grad = None
    l1_reconstruction(x, y).backward()
    torch.testing.assert_close(x.grad, torch.sign(x.detach()) / 4)


@pytest.mark.parametrize("loss", [l1_reconstruction, l2_reconstruction])
def test_shapes_must_match_without_broadcasting(loss) -> None:
    with pytest.raises(ValueError, match="equal shapes"):
        loss(torch.zeros(4, 3), torch.zeros(1, 3))


@pytest.mark.parametrize("loss", [l1_reconstruction, l2_reconstruction])
def test_float32_under_bf16_autocast(loss) -> None:
    x, y = torch.randn(8, 5), torch.randn(8, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(x.bfloat16(), y.bfloat16())
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, loss(x.bfloat16().float(), y.bfloat16().float()))
