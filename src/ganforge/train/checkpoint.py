"""Save and load training checkpoints atomically, as safetensors + JSON only (never pickle).

One checkpoint is ``RUN/checkpoints/<step, 8 digits>/`` holding:

- ``modules.safetensors``: each module's ``state_dict`` (parameters, persistent buffers), keys
  ``<module>.<key>``;
- ``optimizers.safetensors``: each optimizer's tensors, keys ``opt.<optimizer>.state.<param index>.<key>``
  (and ``opt.<optimizer>.param_groups.<i>.<key>`` for tensor hyper-parameters);
- ``rng.safetensors``: the global RNG states (``rng.<key>``, see :mod:`ganforge.train.rng`) and the
  caller's extra tensors (``extra.<name>``);
- ``state.json``: the caller's meta, the step, each optimizer's type, param_groups and non-tensor state,
  the RNG JSON, the format version and the sha256 and size of every file.

Writes follow the rename protocol: all files go into ``.tmp-<step>-<pid>``, each file and the directory are
fsynced, the directory is renamed into place and the parent fsynced; only then are old checkpoints pruned.
Readers skip dot-directories and incomplete checkpoints, so a writer killed at any moment leaves the previous
checkpoint as the latest. One writer per run directory. The rename protocol lives in
:mod:`ganforge.train.atomic_dir`, the optimizer encoding in :mod:`ganforge.train.optimizer_state`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from safetensors.torch import load as tensors_from_bytes  # safetensors' parser: no pickle, no torch.load
from torch import nn

from ganforge.errors import CheckpointError
from ganforge.train import checkpoint_match as match
from ganforge.train.atomic_dir import (
    discard_dir,
    fsync_dir,
    install_dir,
    remove_stale_scratch,
    scratch_dir,
    write_durable,
)
from ganforge.train.optimizer_state import encode_optimizers
from ganforge.train.rng import capture_rng_state

__all__ = ["FORMAT_VERSION", "LoadedCheckpoint", "check_shapes", "latest_checkpoint", "list_checkpoints",
           "load_checkpoint", "read_checkpoint_meta", "save_checkpoint"]

FORMAT_VERSION = 1
STATE_FILE = "state.json"
TENSOR_FILES = ("modules.safetensors", "optimizers.safetensors", "rng.safetensors")
_FORMAT = "ganforge.checkpoint"


@dataclass(frozen=True)
class LoadedCheckpoint:
    """What :func:`load_checkpoint` returns besides the weights it loaded in place.

    Attributes:
        path: the checkpoint directory.
        step: the saved step.
        meta: the caller's meta as saved, with ``"step"`` always present.
        extra_tensors: the caller's extra tensors, on ``map_location``.
        rng_tensors, rng_json: the global RNG state at save time; pass both to
            :func:`ganforge.train.rng.restore_rng_state` (loading never restores it).
    """

    path: Path
    step: int
    meta: dict[str, Any]
    extra_tensors: dict[str, torch.Tensor]
    rng_tensors: dict[str, torch.Tensor]
    rng_json: dict[str, Any]


def save_checkpoint(run_dir: str | Path, step: int, *, modules: dict[str, nn.Module],
                    optimizers: dict[str, torch.optim.Optimizer],
                    extra_tensors: dict[str, torch.Tensor] | None = None, meta: dict[str, Any],
                    keep_last: int | None = 3, keep_every: int = 0) -> Path:
    """Write ``RUN/checkpoints/<step>/`` atomically, then prune to the newest ``keep_last`` (plus every
    ``keep_every``-th step, which is never pruned).

    Args:
        run_dir: the run directory; ``checkpoints/`` is created inside it.
        step: the training step (>= 0). Re-saving a step replaces it safely.
        modules: name (non-empty, no ``.``) -> module whose ``state_dict`` is saved.
        optimizers: name (non-empty, no ``.``) -> optimizer whose whole state is saved.
        extra_tensors: more tensors to keep, e.g. a dedicated generator's state.
        meta: JSON-serializable caller state (config, data order, ...); ``meta["step"]`` must equal ``step``
            if present.
        keep_last: complete checkpoints to keep; ``None`` or 0 keeps all. The new one is never deleted.
        keep_every: > 0 also keeps every checkpoint whose step is a multiple of it (for DDM over training).

    Returns:
        The new checkpoint's directory.
    """
    _check_save_arguments(step, modules, optimizers, meta, keep_last)
    root = Path(run_dir) / "checkpoints"
    final = root / f"{step:08d}"
    tmp = scratch_dir(final)
    try:
        root.mkdir(parents=True, exist_ok=True)
        remove_stale_scratch(root)
        tmp.mkdir()
        _write_checkpoint(tmp, step, modules, optimizers, extra_tensors or {}, meta)
        install_dir(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CheckpointError(f"could not write checkpoint {final}: {exc}; free disk space or point --out "
                              "at a writable directory") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if keep_last:
        for path in list_checkpoints(run_dir)[:-keep_last]:
            if path != final and not (keep_every > 0 and int(path.name) % keep_every == 0):
                discard_dir(path)
    return final


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Return the run's complete checkpoints, oldest step first (``[]`` if none)."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.name.isdigit() and _is_complete(p)]
    return sorted(found, key=lambda p: int(p.name))


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """Return the run's newest complete checkpoint, or ``None`` if it has none."""
    checkpoints = list_checkpoints(run_dir)
    return checkpoints[-1] if checkpoints else None


def read_checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """Return the caller's meta saved in a checkpoint, with ``"step"``; reads only ``state.json``."""
    state = _read_state(_checkpoint_dir(path))
    return {**state["meta"], "step": state["step"]}


def check_shapes(path: str | Path, planned: dict[str, dict[str, tuple[int, ...]]]) -> None:
    """Refuse a checkpoint whose module tensors (read from the safetensors header) differ from ``planned``."""
    match.check_planned_shapes(_checkpoint_dir(path), planned)


def load_checkpoint(path: str | Path, *, modules: dict[str, nn.Module],
                    optimizers: dict[str, torch.optim.Optimizer], map_location: str | torch.device = "cpu",
                    strict: bool = True) -> LoadedCheckpoint:
    """Verify a checkpoint and load it into ``modules`` and ``optimizers``; the global RNG is untouched.

    Every file's sha256 and every name, key and shape is checked before anything is loaded.

    Args:
        path: a checkpoint directory, e.g. ``latest_checkpoint(run_dir)``.
        modules: name -> module to load; each must be in the checkpoint.
        optimizers: name -> optimizer to load, built over the same parameters in the same order.
        map_location: device of the returned extra tensors (weights follow their parameters' devices).
        strict: require exactly the saved module names, optimizer names and state_dict keys; when False the
            checkpoint may hold more (e.g. load only the generator to sample).

    Returns:
        The meta, step, extra tensors and RNG state, see :class:`LoadedCheckpoint`.

    Raises:
        CheckpointError: a missing or corrupt file, a sha256 mismatch, or a checkpoint of another model.
    """
    path = _checkpoint_dir(path)
    state = _read_state(path)
    tensors = {name: _read_verified(path, name, state["files"]) for name in TENSOR_FILES}
    module_states = match.module_states(path, state, tensors["modules.safetensors"], modules, strict)
    optimizer_states = match.optimizer_states(path, state, tensors["optimizers.safetensors"], optimizers, strict)
    for name, module in modules.items():
        module.load_state_dict(module_states[name], strict=strict)
    for name, optimizer in optimizers.items():
        try:
            optimizer.load_state_dict(optimizer_states[name])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise match.mismatch(path, state, f"optimizer {name!r} does not fit ({exc})") from None
    rng = tensors["rng.safetensors"]
    return LoadedCheckpoint(
        path=path, step=state["step"], meta={**state["meta"], "step": state["step"]},
        extra_tensors={k[6:]: v.to(map_location) for k, v in rng.items() if k.startswith("extra.")},
        rng_tensors={k[4:]: v for k, v in rng.items() if k.startswith("rng.")}, rng_json=state["rng"])


def load_weights(path: str | Path, modules: dict[str, nn.Module]) -> dict[str, Any]:
    """Load ``modules`` (exactly the saved module names and keys) from a checkpoint to sample from it: only
    ``modules.safetensors`` is read and verified; optimizer and RNG states are neither read nor decoded (the
    optimizers' state.json entries are checked, so a damaged checkpoint is refused all the same).

    Returns:
        The checkpoint's meta with its ``step``.
    """
    path = _checkpoint_dir(path)
    state = _read_state(path)
    for name, entry in state["optimizers"].items():  # the entries are checked, not decoded
        match.check_optimizer_entry(path, name, entry)
    tensors = _read_verified(path, "modules.safetensors", state["files"])
    for name, tensors_of_module in match.module_states(path, state, tensors, modules, True).items():
        modules[name].load_state_dict(tensors_of_module)
    return {**state["meta"], "step": state["step"]}


# ---------------------------------------------------------------- writing


def _check_save_arguments(step: Any, modules: dict, optimizers: dict, meta: Any, keep_last: Any) -> None:
    """Raise ValueError for arguments that would make an unreadable checkpoint."""
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise ValueError(f"step must be an int >= 0, got {step!r}")
    if keep_last is not None and (not isinstance(keep_last, int) or keep_last < 0):
        raise ValueError(f"keep_last must be an int >= 0 or None, got {keep_last!r}")
    bad = [name for name in [*modules, *optimizers] if not isinstance(name, str) or not name or "." in name]
    if bad:
        raise ValueError(f"module and optimizer names must be non-empty strings without '.', got {bad[0]!r}")
    if not isinstance(meta, dict) or meta.get("step", step) != step:
        raise ValueError(f"meta must be a dict whose 'step' (if any) equals step={step}")


def _write_checkpoint(directory: Path, step: int, modules: dict, optimizers: dict, extra: dict,
                      meta: dict) -> None:
    """Write the safetensors files, then ``state.json`` (which lists their sha256), then fsync the dir."""
    rng_tensors, rng_json = capture_rng_state()
    optimizer_tensors, optimizer_json = encode_optimizers(optimizers)
    module_tensors = {f"{name}.{key}": value for name, module in modules.items()
                      for key, value in module.state_dict().items()}
    payloads = {"modules.safetensors": module_tensors, "optimizers.safetensors": optimizer_tensors,
                "rng.safetensors": {**{f"rng.{k}": v for k, v in rng_tensors.items()},
                                    **{f"extra.{k}": v for k, v in extra.items()}}}
    files = {name: write_durable(directory / name, safetensors.torch.save(_storable(tensors)))
             for name, tensors in payloads.items()}
    state = {"format": _FORMAT, "format_version": FORMAT_VERSION, "step": step, "torch": torch.__version__,
             "modules": list(modules), "optimizers": optimizer_json, "extra_tensors": list(extra),
             "rng": rng_json, "files": files, "meta": meta}
    try:
        text = json.dumps(state, indent=1)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint meta is not JSON-serializable ({exc}); pass only dicts, lists, "
                              "strings, numbers, booleans and None") from None
    write_durable(directory / STATE_FILE, text.encode("utf-8"))
    fsync_dir(directory)


def _storable(tensors: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Return detached, contiguous CPU tensors that share no storage (as safetensors requires)."""
    out, seen = {}, set()
    for key, value in tensors.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{key!r} is a {type(value).__name__}, not a tensor (get_extra_state?); "
                                  "checkpoints hold tensors only, put other values in meta")
        tensor = value.detach().cpu().contiguous()
        storage = tensor.untyped_storage()
        if storage.data_ptr() in seen or storage.nbytes() != tensor.numel() * tensor.element_size():
            tensor = tensor.clone()
        seen.add(tensor.untyped_storage().data_ptr())
        out[key] = tensor
    return out


# ---------------------------------------------------------------- reading


def _checkpoint_dir(path: str | Path) -> Path:
    """Return ``path`` if it is a checkpoint directory, else raise an error saying what to pass."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"checkpoint {path} does not exist; pass RUN/checkpoints/<step> "
                              "(`ls RUN/checkpoints` lists them)")
    if not (path / STATE_FILE).is_file():
        if (path / "checkpoints").is_dir():
            raise CheckpointError(f"{path} is a run directory, not a checkpoint; pass "
                                  f"{path / 'checkpoints'}/<step> (or --run {path})")
        raise CheckpointError(f"checkpoint {path} has no {STATE_FILE} (an interrupted save?); "
                              f"{match.RESUME_EARLIER}")
    return path


def _read_state(path: Path) -> dict[str, Any]:
    """Parse ``state.json`` and check its format and version."""
    file = path / STATE_FILE
    try:
        state = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{file} is unreadable or corrupt ({exc}); {match.RESUME_EARLIER}") from None
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise CheckpointError(f"{file} is not a ganforge checkpoint; point --run at a ganforge run")
    if state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{file} has format version {state.get('format_version')!r} but this ganforge "
                              f"reads {FORMAT_VERSION}; load it with the ganforge version that wrote it")
    match.check_state_fields(file, state)
    return state


def _is_complete(path: Path) -> bool:
    """Return whether ``path`` has a valid ``state.json`` and every file it lists, at full size."""
    try:
        files = _read_state(path)["files"]
        return all((path / name).stat().st_size == files[name]["bytes"] for name in TENSOR_FILES)
    except (CheckpointError, OSError, KeyError, TypeError):
        return False


def _read_verified(path: Path, name: str, files: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Read one safetensors file, check its sha256 against ``state.json`` and parse it on the CPU."""
    try:
        data = (path / name).read_bytes()
    except OSError:
        raise CheckpointError(f"checkpoint {path} is missing {name} (an interrupted save?); "
                              f"{match.RESUME_EARLIER}") from None
    expected, digest = str(files.get(name, {}).get("sha256")), hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise CheckpointError(f"{path / name} fails its sha256 check (state.json says {expected[:12]}..., "
                              f"the file hashes to {digest[:12]}...): it is corrupt; {match.RESUME_EARLIER}")
    try:
        return tensors_from_bytes(data)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{path / name} is not valid safetensors ({exc}); {match.RESUME_EARLIER}") from None
