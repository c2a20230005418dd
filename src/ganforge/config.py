"""Typed, strict experiment configuration (nanoGPT / StudioGAN style).

A config is a tree of dataclasses. Presets and user files are YAML override files (read with
``yaml.safe_load``) that hold only what differs from the defaults; ``--set a.b=c`` overrides one
value with type conversion. An unknown key or a value of the wrong type raises :class:`ConfigError`
that names the key and the allowed keys or the expected type. The resolved config is saved inside
every checkpoint.

The ``model`` section's type depends on ``model.name``: each variant registers its own
:class:`ModelConfig` subclass in :data:`MODEL_CONFIGS` when ``ganforge.variants`` is imported
(``import ganforge`` does that), so this module never imports a higher layer.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from ganforge.errors import ConfigError
from ganforge.registry import Registry

PRESET_DIR = Path(__file__).parent / "configs"


@dataclass
class ModelConfig:
    """Base of every variant's config; ``name`` selects the variant."""

    name: str = "wgan-gp"


MODEL_CONFIGS: Registry[type[ModelConfig]] = Registry("model")


@dataclass
class DataConfig:
    """Which dataset to train on and how its pixels are scaled."""

    name: str = "mnist"
    path: str | None = None
    pixel_range: Literal["-1,1", "0,1"] = "-1,1"
    val_size: int = 0
    image_size: int | None = None
    grayscale: bool | None = None


@dataclass
class OptimConfig:
    """One optimizer: Adam (betas), RMSprop or SGD (momentum).

    ``validate`` (run by :func:`from_dict` on every path: presets, files, ``--set``, saved configs) refuses
    what torch's optimizers would reject later with a traceback: a negative or non-finite lr (0 freezes the
    net), betas outside [0, 1) or not two of them, negative momentum or weight decay.
    """

    name: Literal["adam", "rmsprop", "sgd"] = "adam"
    lr: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.9])
    momentum: float = 0.0
    weight_decay: float = 0.0

    def validate(self, where: str = "model.optim_g") -> None:
        """Raise ConfigError naming the first value torch would reject, as key ``where.<field>``."""
        if not (math.isfinite(self.lr) and self.lr >= 0):
            raise ConfigError(f"config key '{where}.lr': must be a finite number >= 0, got {self.lr}; set e.g. "
                              f"--set {where}.lr=0.0001")
        if len(self.betas) != 2 or not all(math.isfinite(b) and 0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"config key '{where}.betas': must be two numbers in [0, 1), got {self.betas}; set "
                              f"e.g. --set {where}.betas=[0.5,0.9]")
        for key in ("momentum", "weight_decay"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"config key '{where}.{key}': must be a finite number >= 0, got {value}; set "
                                  f"e.g. --set {where}.{key}=0")


@dataclass
class TrainConfig:
    """Model-agnostic training loop settings (steps count generator steps)."""

    steps: int = 1000
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    channels_last: bool = True
    compile: bool = False
    ema: float = 0.0
    log_every: int = 10
    sample_every: int = 200
    checkpoint_every: int = 200
    keep_last: int = 3
    keep_every: int = 0
    sample_grid: int = 64


@dataclass
class Config:
    """The whole experiment: model, data and training loop."""

    description: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


# ---------------------------------------------------------------- type conversion


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "null")


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Convert ``value`` to type ``tp`` or raise ConfigError naming ``key``."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"config key {key!r}: expected {' or '.join(map(_type_name, args))}, got {value!r}")
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise ConfigError(f"config key {key!r}: expected {_type_name(tp)}, got {value!r}")
    if origin is list:
        (item,) = typing.get_args(tp)
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key {key!r}: expected a list, got {value!r}")
        return [_convert(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    return _convert_scalar(value, tp, key)


def _convert_scalar(value: Any, tp: Any, key: str) -> Any:
    bad = ConfigError(f"config key {key!r}: expected {_type_name(tp)}, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise bad
        try:
            return int(value)
        except ValueError:
            raise bad from None
    if tp is float:
        if isinstance(value, bool):
            raise bad
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad from None
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad
    raise ConfigError(f"config key {key!r}: unsupported type {tp!r}")


# ---------------------------------------------------------------- dataclass <-> dict


def _model_class(name: Any) -> type[ModelConfig]:
    if not isinstance(name, str):
        raise ConfigError(f"config key 'model.name': expected a string, got {name!r}")
    return MODEL_CONFIGS.get(name)


def from_dict(cls: type, data: dict, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a (possibly partial) nested dict, strictly.

    Raises:
        ConfigError: unknown key (lists the allowed keys) or a value of the wrong type.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"config section {prefix.rstrip('.') or '(root)'!r}: expected a mapping, got {data!r}")
    if cls is ModelConfig or (isinstance(cls, type) and issubclass(cls, ModelConfig)):
        cls = _model_class(data.get("name", ModelConfig.name))
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        where = prefix.rstrip(".") or "the config root"
        raise ConfigError(
            f"unknown config key {prefix + str(unknown[0])!r}; allowed keys in {where}: {', '.join(names)}"
        )
    kwargs = {}
    for name in names:  # the model section's class depends on model.name, so always resolve it
        if hints[name] is ModelConfig and name not in data:
            kwargs[name] = from_dict(ModelConfig, {}, f"{prefix}{name}.")
    for name, value in data.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = from_dict(tp, value, f"{prefix}{name}.")
        else:
            kwargs[name] = _convert(value, tp, prefix + name)
    obj = cls(**kwargs)
    if isinstance(obj, OptimConfig):
        obj.validate(prefix.rstrip(".") or "optimizer")
    elif callable(getattr(obj, "validate", None)):
        obj.validate()
    return obj


def to_dict(cfg: Any) -> dict:
    """The config as plain nested dicts (JSON/YAML-safe)."""
    return dataclasses.asdict(cfg)


# ---------------------------------------------------------------- overrides


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


def resolve(
    *,
    preset: str | None = None,
    files: list[str] | None = None,
    overrides: dict | None = None,
    sets: list[str] | None = None,
) -> Config:
    """Defaults ← preset ← files ← overrides ← ``--set`` assignments, checked strictly."""
    data: dict = {}
    if preset:
        data = merge(data, preset_overrides(preset))
    for path in files or []:
        data = merge(data, read_yaml(path))
    data = merge(data, overrides or {})
    data = merge(data, parse_set(sets or []))
    return check_train(from_dict(Config, data))


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
    return cfg


def dump_yaml(cfg: Config) -> str:
    """The resolved config as YAML."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def config_from_json(data: dict) -> Config:
    """Rebuild a config saved inside a checkpoint or run folder."""
    return from_dict(Config, data)
