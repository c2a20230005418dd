"""Assembling a :class:`~ganforge.config.Config`: the one path every config takes.

A config is built from layers of override dicts, each holding only what differs from what it lies on:
the defaults ← a saved config (``base``: a run's checkpoint, for resume or sampling) ← a preset ← YAML
files ← programmatic overrides (``--model``, ``--steps``, ...) ← ``--set a.b=c`` assignments. The merged
dict is converted strictly (:func:`ganforge.config.from_dict`: unknown keys, wrong types, each section's
``validate``) and the training loop's ranges are checked (:func:`check_train`), whatever the source.
:func:`assemble` is that path; ``config.resolve`` and ``config.config_from_json`` are thin wrappers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from ganforge.config import Config, from_dict, to_dict
from ganforge.errors import ConfigError

PRESET_DIR = Path(__file__).parent / "configs"


def assemble(
    *,
    base: dict | None = None,
    preset: str | None = None,
    files: Sequence[str | Path] | None = None,
    overrides: dict | None = None,
    sets: Sequence[str] | None = None,
) -> Config:
    """Build a checked Config from defaults ← ``base`` ← preset ← files ← ``overrides`` ← ``sets``.

    Args:
        base: a whole or partial config dict, such as the one saved in a checkpoint (resume, sampling).
        preset: name of a preset in ``ganforge/configs``.
        files: YAML override files, later ones winning.
        overrides: a nested override dict (for example the CLI's ``--model``, ``--dataset``, ``--steps``).
        sets: ``KEY=VALUE`` assignments (``--set``), applied last.

    Returns:
        The config, checked strictly: unknown keys, wrong types, each section's ``validate`` and the
        training loop's ranges (:func:`check_train`).

    Raises:
        ConfigError: one line naming the first bad key, file or preset.
    """
    data: dict = merge({}, base or {})
    if preset:
        data = merge(data, preset_overrides(preset))
    for path in files or []:
        data = merge(data, read_yaml(path))
    data = merge(data, overrides or {})
    data = merge(data, parse_set(list(sets or [])))
    return check_train(from_dict(Config, data))


def check_config(cfg: Config) -> Config:
    """A config built in code (not read from a file), checked as :func:`assemble` checks every other one.

    Returns:
        An equal, checked copy of ``cfg``.
    """
    return assemble(base=to_dict(cfg))


def parse_set(assignments: list[str]) -> dict:
    """Turn ``["a.b=c", ...]`` into a nested override dict (values parsed as YAML scalars)."""
    out: dict = {}
    for item in assignments:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, for example --set train.steps=100")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        if not all(parts):
            raise ConfigError(f"--set {item!r}: empty key part; use dotted keys like train.batch_size=32")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML; quote it (--set '{key}=\"TEXT\"') or "
                              "write a number, true/false or [a, b]") from None
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item!r}: {part!r} is a value, not a section")
        node[parts[-1]] = value
    return out


def merge(base: dict, override: dict) -> dict:
    """Deep-merge ``override`` into a copy of ``base``."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: str | Path) -> dict:
    """Read an override file with ``yaml.safe_load``; an empty file is ``{}``."""
    path = Path(path)
    if not path.is_file():
        kind = "is not a regular file (a folder, FIFO or device)" if path.exists() else "not found"
        raise ConfigError(f"config file {str(path)!r} {kind}; pass an existing YAML file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise ConfigError(f"config file {str(path)!r} is not valid YAML{where}; fix its syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping of sections, got {type(data).__name__}")
    return data


def preset_names() -> list[str]:
    """Names of the presets shipped in ``ganforge/configs``."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def preset_overrides(name: str) -> dict:
    """The override dict of preset ``name``; an unknown name lists the presets."""
    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(preset_names())}")
    return read_yaml(path)


# train field -> smallest allowed value (the loop divides by the *_every fields)
TRAIN_MINIMA = {"steps": 0, "batch_size": 1, "log_every": 1, "sample_every": 1, "checkpoint_every": 1,
                "keep_last": 0, "keep_every": 0, "sample_grid": 1}


def check_train(cfg: Config) -> Config:
    """Refuse out-of-range training-loop values with one line naming the key and the allowed range."""
    for key, low in TRAIN_MINIMA.items():
        value = getattr(cfg.train, key)
        if value < low:
            raise ConfigError(f"config key 'train.{key}': must be >= {low}, got {value}")
    if not 0.0 <= cfg.train.ema < 1.0:
        raise ConfigError(f"config key 'train.ema': must be in [0, 1) (0 = no EMA), got {cfg.train.ema}")
    if cfg.train.lr_decay_start is not None and cfg.train.lr_decay_start < 0:
        raise ConfigError(f"config key 'train.lr_decay_start': must be >= 0 or null (no decay), "
                          f"got {cfg.train.lr_decay_start}")
    check_log_to(cfg.train.log_to)
    return cfg


def check_log_to(sinks: list[str]) -> None:
    """``train.log_to`` names each sink once and keeps ``jsonl`` (summaries, reports and resumes read
    ``RUN/log.jsonl``); unknown names were already refused with the list of sinks."""
    if "jsonl" not in sinks:
        shown = ",".join(["jsonl", *sinks])
        raise ConfigError(f"config key 'train.log_to': must include 'jsonl' (summaries, reports and resumes read "
                          f"RUN/log.jsonl), got {sinks}; set e.g. --set train.log_to={shown}")
    repeated = sorted({s for s in sinks if sinks.count(s) > 1})
    if repeated:
        raise ConfigError(f"config key 'train.log_to': names {repeated[0]!r} more than once, got {sinks}")
