"""Checks that a checkpoint fits the modules and optimizers it is loaded into.

Split from :mod:`ganforge.train.checkpoint`: group the saved tensors by module and rebuild each
optimizer's ``state_dict``, refusing (with one :class:`~ganforge.errors.CheckpointError` line that
names what the checkpoint holds and the fix) weights or optimizers of another model or config.
:func:`check_planned_shapes` compares the shapes a config implies (nets built on the ``meta`` device, no
memory) with the safetensors header, before the nets are built for real: a checkpoint whose saved config
was edited (``model.hidden=200000``) is refused instead of allocating 160 GB.
"""

from __future__ import annotations

from pathlib import Path

import safetensors

from ganforge.errors import CheckpointError
from ganforge.train.optimizer_state import decode_optimizer_state, param_shapes

__all__ = ["RESUME_EARLIER", "check_planned_shapes", "check_state_fields", "mismatch", "module_states",
           "optimizer_states", "saved_shapes"]

RESUME_EARLIER = ("delete this checkpoint folder to fall back to the previous one (`ls RUN/checkpoints` lists "
                  "them), or sample another with --step N")


STATE_FIELDS = {"step": int, "meta": dict, "modules": list, "optimizers": dict, "rng": dict, "files": dict}


def check_state_fields(file: Path, state: dict) -> None:
    """Refuse a ``state.json`` whose fields have the wrong types (an edited or damaged file) in one line."""
    for key, kind in STATE_FIELDS.items():
        value = state.get(key)
        bad = not isinstance(value, kind) or isinstance(value, bool) or (key == "step" and value < 0)
        if not bad and key == "modules":
            bad = not all(isinstance(name, str) for name in value)
        if not bad and key == "files":
            bad = not all(isinstance(entry, dict) for entry in value.values())
        if bad:
            raise CheckpointError(f"{file} has a damaged {key!r} field ({str(value)[:60]}); {RESUME_EARLIER}")


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
        raise mismatch(path, state, f"holds weights for {unused} that nothing loads")
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


def check_optimizer_entry(path: Path, name: str, entry: object) -> None:
    """Refuse a damaged state.json entry of optimizer ``name`` (also when only the weights are loaded)."""
    if not isinstance(entry, dict) or not {"type", "param_shapes"} <= set(entry):
        raise CheckpointError(f"checkpoint {path} has a damaged state.json entry for optimizer {name!r}; "
                              f"{RESUME_EARLIER}")


def optimizer_states(path: Path, state: dict, tensors: dict, optimizers: dict,
                     strict: bool) -> dict[str, dict]:
    """Rebuild each requested optimizer's ``state_dict`` from tensors + JSON, checking that it fits."""
    unused = [name for name in state["optimizers"] if name not in optimizers]
    if strict and unused:
        raise mismatch(path, state, f"holds optimizers {unused} that nothing loads")
    rebuilt = {}
    for name, optimizer in optimizers.items():
        entry = state["optimizers"].get(name)
        if entry is None:
            raise mismatch(path, state, f"has no state for optimizer {name!r}")
        check_optimizer_entry(path, name, entry)
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


def saved_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor in ``path/modules.safetensors``, read from its header (no tensor is loaded)."""
    file = path / "modules.safetensors"
    try:
        with safetensors.safe_open(str(file), framework="pt") as handle:
            return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{file} is missing or not valid safetensors ({type(exc).__name__}); "
                              f"{RESUME_EARLIER}") from None


def check_planned_shapes(path: Path, planned: dict[str, dict[str, tuple[int, ...]]]) -> None:
    """Refuse a checkpoint whose saved tensors do not have the shapes ``planned`` (module → key → shape)."""
    saved = saved_shapes(path)
    for name, shapes in planned.items():
        for key, shape in shapes.items():
            got = saved.get(f"{name}.{key}")
            if got is None or tuple(got) != tuple(shape):
                held = "no such tensor" if got is None else f"shape {list(got)}"
                raise CheckpointError(f"checkpoint {path} holds {name}.{key} with {held} but the config in its "
                                      f"state.json implies {list(shape)}: the file was edited or damaged; "
                                      f"{RESUME_EARLIER}")
