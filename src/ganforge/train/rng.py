"""Capture and restore every random number generator a training run draws from.

A resumed run must draw the same noise, dropout masks and data order as an uninterrupted one, so a
checkpoint stores the state of each generator: torch's CPU generator, every CUDA device's generator,
numpy's global (legacy ``np.random``) generator and python's ``random``. Tensor states go to
safetensors, the rest to JSON; nothing is pickled.

Tensor keys returned by :func:`capture_rng_state` (all ``torch.uint8``, 1-D, on the CPU):

- ``"torch.cpu"``: ``torch.get_rng_state()``
- ``"torch.cuda.<i>"``: ``torch.cuda.get_rng_state(i)`` for each visible CUDA device ``i``

JSON keys: ``"cuda_device_count"``, ``"numpy"`` (``kind``, ``keys``, ``pos``, ``has_gauss``,
``cached_gaussian``) and ``"python"`` (``version``, ``internal``, ``gauss_next``).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from ganforge.errors import CheckpointError

__all__ = ["capture_rng_state", "generator_state", "restore_rng_state", "set_generator_state"]

_TORCH_CPU = "torch.cpu"
_CUDA_PREFIX = "torch.cuda."


def capture_rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Snapshot the global generators of torch (CPU and CUDA), numpy and python ``random``.

    Returns:
        ``(tensors, meta)``: ``tensors`` maps the keys in the module docstring to uint8 state
        tensors of shape ``(N,)`` (ready for safetensors); ``meta`` is a JSON-serializable dict.
    """
    tensors = {_TORCH_CPU: torch.get_rng_state().clone()}
    cuda_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for index in range(cuda_count):
        tensors[f"{_CUDA_PREFIX}{index}"] = torch.cuda.get_rng_state(index).cpu().clone()
    kind, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    version, internal, gauss_next = random.getstate()
    meta = {
        "cuda_device_count": cuda_count,
        "numpy": {
            "kind": str(kind),
            "keys": [int(k) for k in keys],
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "python": {"version": int(version), "internal": list(internal), "gauss_next": gauss_next},
    }
    return tensors, meta


def restore_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Put back the generator states captured by :func:`capture_rng_state`.

    CUDA states are restored for the devices present both in the snapshot and on this machine
    (resuming on another number of GPUs cannot reproduce the original draws anyway).

    Args:
        tensors: the ``tensors`` half of a snapshot (uint8 states of shape ``(N,)``).
        meta: the JSON half of the same snapshot.

    Raises:
        CheckpointError: a state is missing or malformed.
    """
    if _TORCH_CPU not in tensors:
        raise CheckpointError(
            "the saved RNG state has no 'torch.cpu' entry; the checkpoint is damaged or was not "
            "written by ganforge, resume from another checkpoint"
        )
    try:
        torch.set_rng_state(_as_state_tensor(tensors[_TORCH_CPU]))
        if torch.cuda.is_available():
            for index in range(torch.cuda.device_count()):
                state = tensors.get(f"{_CUDA_PREFIX}{index}")
                if state is not None:
                    torch.cuda.set_rng_state(_as_state_tensor(state), index)
        _restore_numpy_and_python(meta)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"the saved RNG state is malformed ({type(exc).__name__}: {exc}); the checkpoint is "
            "damaged, resume from another checkpoint"
        ) from None


def generator_state(generator: torch.Generator) -> torch.Tensor:
    """Return a copy of a dedicated generator's state (e.g. the data-order generator).

    Args:
        generator: any ``torch.Generator`` (CPU or CUDA).

    Returns:
        uint8 tensor of shape ``(N,)`` on the CPU, suitable for safetensors.
    """
    return generator.get_state().cpu().clone()


def set_generator_state(generator: torch.Generator, state: torch.Tensor) -> None:
    """Restore a state returned by :func:`generator_state` into ``generator``.

    Args:
        generator: the generator to restore, of the same device type as the one captured.
        state: uint8 tensor of shape ``(N,)``.

    Raises:
        CheckpointError: ``state`` is not a generator state of this generator's kind.
    """
    try:
        generator.set_state(_as_state_tensor(state))
    except (TypeError, RuntimeError) as exc:
        raise CheckpointError(
            f"the saved generator state does not fit a {generator.device} generator ({exc}); "
            "resume on the same kind of device the run was saved on"
        ) from None


def _restore_numpy_and_python(meta: dict[str, Any]) -> None:
    """Set numpy's legacy global state and python's ``random`` state from their JSON form."""
    state = meta["numpy"]
    keys = np.asarray(state["keys"], dtype=np.uint32)
    np.random.set_state((state["kind"], keys, state["pos"], state["has_gauss"], state["cached_gaussian"]))
    state = meta["python"]
    random.setstate((state["version"], tuple(state["internal"]), state["gauss_next"]))


def _as_state_tensor(state: torch.Tensor) -> torch.Tensor:
    """Check that ``state`` is a 1-D uint8 tensor and return it contiguous on the CPU."""
    if not isinstance(state, torch.Tensor):
        raise TypeError(f"expected a 1-D uint8 tensor, got {type(state).__name__}")
    if state.dtype != torch.uint8 or state.dim() != 1:
        raise TypeError(f"expected a 1-D uint8 tensor, got {state.dtype} of shape {list(state.shape)}")
    return state.detach().cpu().contiguous()
