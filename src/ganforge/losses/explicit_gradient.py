"""Input gradients of piecewise-linear critics written out explicitly (for a fast gradient penalty).

WGAN-GP (Gulrajani et al. 2017, Eq. 3) needs ∇_x^ D(x^) as a function of the critic's weights.
Autograd gets it by a double backward, which (a) back-propagates zeros through the whole forward
graph of x^, because the derivative of ReLU's mask is zero, and (b) computes the weight term of
each convolution's double backward with a batch-as-channels convolution that oneDNN runs slowly.
For a critic that is a chain of Conv2d / Linear / ReLU / LeakyReLU / MaxPool2d (non-overlapping
windows) / Flatten / Unflatten layers the gradient is, exactly,

    ∇_x D(x) = J_1^T M_1 J_2^T M_2 ... J_L^T 1,

with J_l^T a transposed convolution (or a matrix product) by the layer's weight, M_l the activation's
slope at x (0/1 for ReLU), and a max pool's transpose the scatter of each window's gradient to its
argmax (``max_unpool2d`` with the forward pass's indices, the entries autograd picks). This module runs
the forward pass once without a graph to get the slopes, then builds only that chain with a graph on the
weights, so the penalty's backward is one ordinary convolution and one weight-gradient per layer. The
values equal autograd's up to float rounding (tests/losses/test_explicit_gradient.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SUPPORTED = (nn.Conv2d, nn.Linear, nn.ReLU, nn.LeakyReLU, nn.MaxPool2d, nn.Flatten, nn.Unflatten, nn.Identity)


def explicit_layers(critic: nn.Module) -> list[nn.Module] | None:
    """The critic's layer chain if it declares one made only of supported layers, else None.

    A critic opts in with a ``piecewise_linear_layers()`` method returning the layers whose
    composition is exactly its forward pass, ending in a Linear layer with one output.
    """
    getter = getattr(critic, "piecewise_linear_layers", None)
    if getter is None:
        return None
    layers = list(getter())
    if not layers or not all(type(layer) in SUPPORTED for layer in layers):
        return None
    if not all(_pool_tiles(layer) for layer in layers if isinstance(layer, nn.MaxPool2d)):
        return None
    last = layers[-1]
    if not isinstance(last, nn.Linear) or last.out_features != 1:
        return None
    return layers


def _pool_tiles(pool: nn.MaxPool2d) -> bool:
    """Whether the pool's windows tile without overlap (stride = kernel, no dilation), so that scattering each
    window's gradient to its argmax is its exact transpose."""
    def pair(v) -> tuple:
        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)

    tiles = pair(pool.kernel_size) == pair(pool.stride or pool.kernel_size) and pair(pool.dilation) == (1, 1)
    return tiles and not pool.return_indices


@torch.no_grad()
def _forward_slopes(layers: list[nn.Module], x: torch.Tensor) -> list:
    """Run the chain without a graph; keep what each layer's transpose needs."""
    saved: list = []
    h = x
    for layer in layers:
        if isinstance(layer, nn.MaxPool2d):  # the argmax of every window, and the input's shape
            pooled, indices = F.max_pool2d(h, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                                           layer.ceil_mode, return_indices=True)
            saved.append((indices, h.shape))
            h = pooled
            continue
        if isinstance(layer, nn.ReLU):
            saved.append(h > 0)
        elif isinstance(layer, nn.LeakyReLU):
            saved.append(torch.where(h > 0, 1.0, layer.negative_slope).to(h.dtype))
        else:
            saved.append(h.shape)
        if not isinstance(layer, nn.Linear) or layer is not layers[-1]:
            h = layer(h)
    return saved


def _conv_transpose(layer: nn.Conv2d, g: torch.Tensor, in_shape: torch.Size) -> torch.Tensor:
    """J^T g for a Conv2d: a transposed convolution whose output has the layer's input size."""
    if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
        raise ValueError("explicit gradients support zero padding given as numbers only")
    out_pad = []
    for i in range(2):
        size = (g.shape[2 + i] - 1) * layer.stride[i] - 2 * layer.padding[i]
        size += layer.dilation[i] * (layer.kernel_size[i] - 1) + 1
        out_pad.append(in_shape[2 + i] - size)
    return F.conv_transpose2d(g, layer.weight, None, layer.stride, layer.padding, tuple(out_pad),
                              layer.groups, layer.dilation)


def input_gradient(layers: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """∇_x Σ_b D(x)_b for a piecewise-linear chain, differentiable w.r.t. the weights.

    Args:
        layers: chain from :func:`explicit_layers`.
        x: (B, ...) inputs (not needing grad).

    Returns:
        (B, ...) gradient, same shape as ``x``, with a graph to the layers' weights.
    """
    saved = _forward_slopes(layers, x)
    last = layers[-1]
    g = last.weight.expand(x.shape[0], -1)  # (B, in) = 1ᵀ W for a one-output Linear
    for layer, info in zip(reversed(layers[:-1]), reversed(saved[:-1]), strict=True):
        if isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
            g = g * info
        elif isinstance(layer, nn.Linear):
            g = g @ layer.weight
        elif isinstance(layer, nn.Conv2d):
            g = _conv_transpose(layer, g, info)
        elif isinstance(layer, nn.MaxPool2d):
            indices, in_shape = info
            g = F.max_unpool2d(g, indices, layer.kernel_size, layer.stride, layer.padding, output_size=in_shape[-2:])
        elif isinstance(layer, (nn.Flatten, nn.Unflatten)):
            g = g.reshape(info)
    return g
