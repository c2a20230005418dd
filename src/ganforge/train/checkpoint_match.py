"""Checks that a checkpoint fits the modules and optimizers it is loaded into.

Split from :mod:`ganforge.train.checkpoint`: group the saved tensors by module and rebuild each
optimizer's ``state_dict``, refusing (with one :class:`~ganforge.errors.CheckpointError` line that
names what the checkpoint holds and the fix) weights or optimizers of another model or config.
"""

from __future__ import annotations

from pathlib import Path

from ganforge.errors import CheckpointError
from ganforge.train.optimizer_state import decode_optimizer_state, param_shapes

__all__ = ["RESUME_EARLIER", "mismatch", "module_states", "optimizer_states"]

RESUME_EARLIER = "resume from an earlier checkpoint (list_checkpoints shows them)"


def mismatch(path: Path, state: dict, problem: str) -> CheckpointError:
    """The error for a checkpoint of another model or config: the problem, what it holds, the fix."""
    saved = ", ".join(repr(name) for name in state["modules"])
    model = state["meta"].get("model")
    origin = f"model {model!r}, modules {saved}" if isinstance(model, str) else f"modules {saved}"
    return CheckpointError(f"checkpoint {path} {problem} (it was saved with {origin}); "
                           "point --run at a run of this model and config")


def module_states(path: Path, state: dict, tensors: dict, modules: dict, strict: bool) -> dict[str, dict]:
    """Group the saved tensors by module, checking names, keys and shapes against ``modules``."""
    missing = [name for name in modules if name not in state["modules"]]
    unused = [name for name in state["modules"] if name not in modules]
    if missing:
        raise mismatch(path, state, f"has no weights for {missing[0]!r}")
    if strict and unused:
        raise mismatch(path, state, f"holds weights for {unused} that nothing loads (strict=False skips)")
    grouped: dict[str, dict] = {name: {} for name in state["modules"]}
    for key, tensor in tensors.items():
        name, _, subkey = key.partition(".")
        grouped.setdefault(name, {})[subkey] = tensor
    for name, module in modules.items():
        expected, got = module.state_dict(), grouped[name]
        absent = [key for key in expected if key not in got]
        surplus = [key for key in got if key not in expected]
        if strict and (absent or surplus):
            what = f"has no tensor {name}.{absent[0]}" if absent else f"has a tensor {name}.{surplus[0]}"
            raise mismatch(path, state, f"{what} that the model {'needs' if absent else 'lacks'}")
        for key in expected:
            if key in got and got[key].shape != expected[key].shape:
                raise mismatch(path, state, f"has {name}.{key} of shape {list(got[key].shape)} but the "
                                            f"model expects {list(expected[key].shape)}")
    return grouped


def optimizer_states(path: Path, state: dict, tensors: dict, optimizers: dict,
                     strict: bool) -> dict[str, dict]:
    """Rebuild each requested optimizer's ``state_dict`` from tensors + JSON, checking that it fits."""
    unused = [name for name in state["optimizers"] if name not in optimizers]
    if strict and unused:
        raise mismatch(path, state, f"holds optimizers {unused} that nothing loads (strict=False skips)")
    rebuilt = {}
    for name, optimizer in optimizers.items():
        entry = state["optimizers"].get(name)
        if entry is None:
            raise mismatch(path, state, f"has no state for optimizer {name!r}")
        if entry["type"] != type(optimizer).__name__:
            raise mismatch(path, state, f"saved optimizer {name!r} as {entry['type']}, not "
                                        f"{type(optimizer).__name__}")
        if entry["param_shapes"] != param_shapes(optimizer):
            raise mismatch(path, state, f"saved optimizer {name!r} for parameters of other shapes")
        try:
            rebuilt[name] = decode_optimizer_state(entry, tensors)
        except KeyError as exc:
            raise CheckpointError(f"checkpoint {path} lacks optimizer tensor {exc}; "
                                  f"{RESUME_EARLIER}") from None
    return rebuilt
