"""Typed, strict experiment configuration (nanoGPT / StudioGAN style).

A config is a tree of dataclasses. Presets and user files are YAML override files (read with
``yaml.safe_load``) that hold only what differs from the defaults; ``--set a.b=c`` overrides one
value with type conversion. An unknown key or a value of the wrong type raises :class:`ConfigError`
that names the key and the allowed keys or the expected type. The resolved config is saved inside
every checkpoint. :mod:`ganforge.config_resolve` assembles every config (fresh, preset, files, ``--set``,
a saved one for resume or sampling) through one checked path; :func:`resolve` and
:func:`config_from_json` here are thin wrappers around it.

The ``model`` section's type depends on ``model.name``: registering a variant's spec
(``ganforge.variants.register_variant``) registers its :class:`ModelConfig` subclass in :data:`MODEL_CONFIGS`
when ``ganforge.variants`` is imported (``import ganforge`` does that), so this module never imports a higher
layer. Variant code reads its own section typed with :meth:`Config.model_as`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union

import yaml

from ganforge.errors import ConfigError
from ganforge.registry import Registry


@dataclass
class ModelConfig:
    """Base of every variant's config; ``name`` selects the variant."""

    name: str = "wgan-gp"

    def for_data(self, sample_shape: tuple[int, ...]) -> ModelConfig:
        """This section with every choice left to the data made for samples of ``sample_shape`` ((D,) points
        or (C, H, W) images), such as ``net: auto``; called where the data is known (the training session),
        so a run's saved config names what was built. The base class leaves no choice open."""
        return self


MODEL_CONFIGS: Registry[type[ModelConfig]] = Registry("model")
ModelT = TypeVar("ModelT", bound=ModelConfig)


@dataclass
class DataConfig:
    """Which dataset to train on and how its pixels are scaled."""

    name: str = "mnist"
    path: str | None = None
    pixel_range: Literal["-1,1", "0,1"] = "-1,1"
    val_size: int = 0
    image_size: int | None = None
    grayscale: bool | None = None

    @property
    def range(self) -> tuple[float, float]:
        """``pixel_range`` as numbers: (-1.0, 1.0) or (0.0, 1.0)."""
        low, high = (float(v) for v in self.pixel_range.split(","))
        return low, high


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

    @staticmethod
    def field(name: str = "adam", *, lr: float, betas: tuple[float, float] = (0.5, 0.9), momentum: float = 0.0):
        """A config field defaulting to a fresh optimizer per instance, e.g. DCGAN's Adam for ``optim_g``:
        ``optim_g: OptimConfig = OptimConfig.field(lr=2e-4, betas=(0.5, 0.999))``."""
        return field(default_factory=lambda: OptimConfig(name=name, lr=lr, betas=list(betas), momentum=momentum))


LogSink = Literal["jsonl", "tensorboard", "mlflow"]


@dataclass
class TrainConfig:
    """Model-agnostic training loop settings (steps count generator steps).

    ``log_to`` lists where scalars go: ``jsonl`` (``RUN/log.jsonl``, always: summaries, reports and resumes read
    it), ``tensorboard`` (``RUN/tensorboard``) and ``mlflow`` (the optional extra ``ganforge[mlflow]``: params,
    scalars and sample grids in the store at ``mlflow_uri``, by default ``sqlite:///RUN/mlflow.db``, under the
    experiment ``mlflow_experiment``, by default the model's name).

    ``lr_decay_start``: from this generator step on, every optimizer's learning rate falls linearly from its
    configured value to 0 at step ``steps`` (a function of the step and ``steps`` alone, so a resume continues
    the same schedule; a resume that raises ``steps`` stretches the rest of it to the new end); null (the
    default) keeps the rates constant, as do values at or past ``steps``.

    ``deterministic``: on CUDA, deterministic kernels (slower; what a bit-for-bit resume needs there); CPU
    kernels are deterministic either way.
    """

    steps: int = 1000
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    channels_last: bool = True
    compile: bool = False
    deterministic: bool = True
    ema: float = 0.0
    log_every: int = 10
    sample_every: int = 200
    checkpoint_every: int = 200
    keep_last: int = 3
    keep_every: int = 0
    sample_grid: int = 64
    log_to: list[LogSink] = field(default_factory=lambda: ["jsonl", "tensorboard"])
    mlflow_uri: str | None = None
    mlflow_experiment: str | None = None
    lr_decay_start: int | None = None


@dataclass
class Config:
    """The whole experiment: model, data and training loop."""

    description: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def model_as(self, cls: type[ModelT]) -> ModelT:
        """The ``model`` section typed as the variant's own config class ``cls``; ConfigError if it is not one."""
        if not isinstance(self.model, cls):
            raise ConfigError(f"model {self.model.name!r} has no {cls.__name__} settings (its section is a "
                              f"{type(self.model).__name__})")
        return self.model


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
            value = [v.strip() for v in value.split(",") if v.strip()]
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


def from_dict(cls: type, data: dict, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a (possibly partial) nested dict, strictly.

    Raises:
        ConfigError: unknown key (lists the allowed keys) or a value of the wrong type.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"config section {prefix.rstrip('.') or '(root)'!r}: expected a mapping, got {data!r}")
    if cls is ModelConfig or (isinstance(cls, type) and issubclass(cls, ModelConfig)):
        name = data.get("name", ModelConfig.name)
        if not isinstance(name, str):
            raise ConfigError(f"config key 'model.name': expected a string, got {name!r}")
        cls = MODEL_CONFIGS.get(name)
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


# ---------------------------------------------------------------- assembling (ganforge.config_resolve)


def resolve(
    *,
    preset: str | None = None,
    files: list[str] | None = None,
    overrides: dict | None = None,
    sets: list[str] | None = None,
) -> Config:
    """Defaults ← preset ← files ← overrides ← ``--set`` assignments, checked strictly
    (:func:`ganforge.config_resolve.assemble`)."""
    from ganforge.config_resolve import assemble

    return assemble(preset=preset, files=files, overrides=overrides, sets=sets)


def dump_yaml(cfg: Config) -> str:
    """The resolved config as YAML."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def config_from_json(data: dict) -> Config:
    """Rebuild a config saved inside a checkpoint or run folder, checked as every config is
    (:func:`ganforge.config_resolve.assemble` with ``base=data``)."""
    from ganforge.config_resolve import assemble

    return assemble(base=data)


_MOVED = ("PRESET_DIR", "TRAIN_MINIMA", "check_train", "merge", "parse_set", "preset_names", "preset_overrides",
          "read_yaml")


def __getattr__(name: str) -> Any:
    """The assembling helpers moved to :mod:`ganforge.config_resolve`; the old names still reach them."""
    if name in _MOVED:
        from ganforge import config_resolve

        return getattr(config_resolve, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
