"""Encode optimizer ``state_dict``s as tensors + JSON (no pickle), and decode them back exactly.

Each optimizer's tensors are keyed ``opt.<optimizer>.state.<param index>.<key>`` (and
``opt.<optimizer>.param_groups.<i>.<key>`` for tensor hyper-parameters); the JSON side keeps the type, the
parameter shapes, the param_groups and the non-tensor state, with ``{"__tensor__": key}`` where a tensor
was and ``{"__tuple__": [...]}`` so that tuples come back as tuples.
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge.errors import CheckpointError

__all__ = ["decode_optimizer_state", "encode_optimizers", "param_shapes"]


def encode_optimizers(optimizers: dict) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split each optimizer's ``state_dict`` into tensors (for safetensors) and JSON.

    Args:
        optimizers: name -> optimizer.

    Returns:
        The tensors by key, and name -> ``{"type", "param_shapes", "param_groups", "state"}`` as JSON.
    """
    tensors: dict[str, torch.Tensor] = {}
    described = {}
    for name, optimizer in optimizers.items():
        state_dict, prefix = optimizer.state_dict(), f"opt.{name}"
        described[name] = {
            "type": type(optimizer).__name__, "param_shapes": param_shapes(optimizer),
            "param_groups": [_encode(group, f"{prefix}.param_groups.{i}", tensors)
                             for i, group in enumerate(state_dict["param_groups"])],
            "state": {str(index): _encode(values, f"{prefix}.state.{index}", tensors)
                      for index, values in state_dict["state"].items()}}
    return tensors, described


def decode_optimizer_state(entry: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Rebuild one optimizer's ``state_dict`` from its JSON ``entry`` and the saved tensors.

    Raises:
        KeyError: a tensor the JSON refers to is not in ``tensors``.
    """
    return {"state": {int(i): _decode(v, tensors) for i, v in entry["state"].items()},
            "param_groups": [_decode(group, tensors) for group in entry["param_groups"]]}


def param_shapes(optimizer: torch.optim.Optimizer) -> list[list[int]]:
    """The shapes of the optimizer's parameters, in state_dict index order."""
    return [list(p.shape) for group in optimizer.param_groups for p in group["params"]]


def _encode(value: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Make ``value`` JSON: tensors move to ``tensors[key]``; tuples are tagged to come back as tuples."""
    if isinstance(value, torch.Tensor):
        tensors[key] = value
        return {"__tensor__": key}
    if isinstance(value, (tuple, list)):
        items = [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _encode(v, f"{key}.{k}", tensors) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CheckpointError(f"optimizer state {key!r} is a {type(value).__name__} that JSON cannot hold; "
                          "use a torch optimizer whose state is tensors and plain values")


def _decode(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Invert :func:`_encode`."""
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"__tensor__"}:
        return tensors[value["__tensor__"]]
    if set(value) == {"__tuple__"}:
        return tuple(_decode(v, tensors) for v in value["__tuple__"])
    return {k: _decode(v, tensors) for k, v in value.items()}
