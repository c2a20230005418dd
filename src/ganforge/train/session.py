"""Everything a training session holds: config, variant, nets, optimizers, EMA copies, data.

``build_session`` turns a config into live objects; ``save``/``restore`` move the whole state
through :mod:`ganforge.train.checkpoint` so that a resumed run is bit-for-bit an uninterrupted one
(nets, optimizers, EMA weights, every RNG state and the data order). Sampling a finished run goes through
:class:`ganforge.train.run.Run` instead (nets and weights only).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ganforge.config import Config, config_from_json, to_dict
from ganforge.data import load_data_split
from ganforge.errors import CheckpointError
from ganforge.nets.classifier_files import frozen_builds
from ganforge.train import checkpoint as ckpt
from ganforge.train.batches import BatchStream
from ganforge.train.checkpoint_match import RESUME_EARLIER
from ganforge.train.distributed import per_rank_batch
from ganforge.train.ema import make_ema
from ganforge.train.rng import restore_rng_state
from ganforge.train.runtime import (
    autocast_factory,
    resolve_precision,
    select_device,
    to_memory_format,
    use_deterministic_cuda,
)
from ganforge.variants import VARIANTS, DataShape, VariantSpec

EMA_PREFIX = "ema_"


@dataclass
class Session:
    """Live training state (a finished run opens for sampling as :class:`ganforge.train.run.Run`)."""

    cfg: Config
    spec: VariantSpec
    device: torch.device
    precision: str
    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    data_shape: DataShape
    stream: BatchStream | None = None
    ema: dict[str, nn.Module] = field(default_factory=dict)
    step: int = 0
    saved_step: int | None = None
    reported_step: int | None = None  # the last step whose scalars were logged
    last_values: dict[str, float] = field(default_factory=dict)  # that step's logged values (or the latest)

    compiled: dict[str, nn.Module] = field(default_factory=dict)

    def autocast(self):
        return autocast_factory(self.precision, self.device)

    def step_nets(self) -> dict[str, nn.Module]:
        """The nets a train step calls: ``torch.compile`` wrappers where ``train.compile`` made them
        (weights shared with ``nets``, which checkpoints and EMA use)."""
        return {**self.nets, **self.compiled}

    def modules(self) -> dict[str, nn.Module]:
        """Every module that a checkpoint holds (nets and their EMA copies)."""
        return {**self.nets, **{EMA_PREFIX + k: v for k, v in self.ema.items()}}


def fit_to_data(cfg: Config, data_shape: DataShape) -> Config:
    """``cfg`` with the choices left to the data made (``model.net: auto`` → ``mlp`` for points, ``dcgan``
    for images; :meth:`ModelConfig.for_data`). A session holds this config, so checkpoints, ``config.yaml``
    and a resume name the nets that were built; ``cfg`` itself when nothing was left open."""
    model = cfg.model.for_data(tuple(data_shape.shape))
    return cfg if model is cfg.model else dataclasses.replace(cfg, model=model)


def build_nets(cfg: Config, data_shape: DataShape, device: torch.device) -> tuple[VariantSpec, dict]:
    """The variant and its nets, seeded by ``cfg.train.seed``, on ``device``."""
    spec = VARIANTS.get(cfg.model.name)
    torch.manual_seed(cfg.train.seed)
    nets = spec.build_nets(cfg, data_shape)
    fmt = torch.channels_last if cfg.train.channels_last and len(data_shape.shape) == 3 else torch.contiguous_format
    nets = {k: v.to(device=device, memory_format=fmt) for k, v in nets.items()}
    return spec, nets


def planned_shapes(cfg: Config, data_shape: DataShape) -> dict[str, dict[str, tuple[int, ...]]]:
    """Every net's state_dict shapes as ``cfg`` implies them, built on the ``meta`` device (no memory used)."""
    spec = VARIANTS.get(cfg.model.name)
    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")  # a frozen classifier loaded into meta nets warns that this is a no-op
        nets = spec.build_nets(cfg, data_shape)
    return {name: {key: tuple(value.shape) for key, value in net.state_dict().items()} for name, net in nets.items()}


def compile_nets(nets: dict[str, nn.Module], spec: VariantSpec, enabled: bool) -> dict[str, nn.Module]:
    """``torch.compile`` the generator-side nets (``spec.sample_nets``) when ``enabled``.

    Critics are left eager: the gradient penalty's double backward is not supported by
    torch.compile (torch 2.13), and the explicit penalty reads the critic's layers directly.
    """
    if not enabled:
        return {}
    return {name: torch.compile(nets[name]) for name in spec.sample_nets if name in nets}


def build_session(cfg: Config, *, shard: tuple[int, int] = (0, 1), checkpoint: Path | None = None) -> Session:
    """Build the batch stream, nets, optimizers and EMA copies from ``cfg`` made to fit the data
    (:func:`fit_to_data`; the session holds that config); with ``shard=(rank, world)`` the stream yields this
    process's ``batch_size // world`` of each batch. With ``checkpoint``, the shapes ``cfg`` implies are
    checked against its tensors before any net is built."""
    device = select_device(cfg.train.device)
    use_deterministic_cuda(device, cfg.train.deterministic)
    data = load_data_split(cfg.data, "train", seed=cfg.train.seed, val_size=cfg.data.val_size)  # less held-out items
    data_shape = DataShape(tuple(data.images.shape[1:]), len(data.classes), data.pixel_range)
    images = to_memory_format(data.images.to(device), False)
    chl = cfg.train.channels_last
    stream = BatchStream(images, data.labels.to(device), batch_size=per_rank_batch(cfg.train.batch_size, shard[1]),
                         seed=cfg.train.seed, transform=lambda x: to_memory_format(x, chl), shard=shard)
    cfg = fit_to_data(cfg, data_shape)
    if checkpoint is not None:
        ckpt.check_shapes(checkpoint, planned_shapes(cfg, data_shape))
    spec, nets = build_nets(cfg, data_shape, device)
    optimizers = spec.build_optimizers(cfg, nets)
    ema = {k: make_ema(nets[k]) for k in spec.sample_nets} if cfg.train.ema > 0 else {}
    precision = resolve_precision(cfg.train.precision, device)
    compiled = compile_nets(nets, spec, cfg.train.compile)
    torch.manual_seed(cfg.train.seed + 1)
    return Session(cfg, spec, device, precision, nets, optimizers, data_shape, stream, ema, compiled=compiled)


def save(session: Session, run_dir: Path, *, extra_tensors: dict[str, torch.Tensor] | None = None) -> Path:
    """Write a checkpoint of the whole session at ``session.step`` (the checkpoint module captures
    every global RNG state itself; ``extra_tensors`` such as other processes' RNG states go along)."""
    shape = session.data_shape
    meta = {"config": to_dict(session.cfg), "model": session.cfg.model.name, "step": session.step,
            "data_order": session.stream.state_dict() if session.stream else None,
            "data_shape": {"shape": list(shape.shape), "num_classes": shape.num_classes,
                           "pixel_range": None if shape.pixel_range is None else list(shape.pixel_range)},
            "precision": session.precision, "frozen_classifiers": frozen_builds(session.nets)}
    return ckpt.save_checkpoint(run_dir, session.step, modules=session.modules(), optimizers=session.optimizers,
                                extra_tensors=extra_tensors, meta=meta, keep_last=session.cfg.train.keep_last,
                                keep_every=session.cfg.train.keep_every)


def restore(session: Session, path: Path) -> ckpt.LoadedCheckpoint:
    """Load a checkpoint into ``session`` and restore every RNG and the data order; returns what was
    loaded (its ``extra_tensors`` hold the other processes' RNG states of a distributed run).

    Optimizer hyperparameters (lr, betas, ...) come from the current config, so a resume with
    ``--allow-config-change`` really uses the new values; the moments and step counts come from
    the checkpoint.
    """
    fresh = {name: [{k: v for k, v in group.items() if k != "params"} for group in opt.param_groups]
             for name, opt in session.optimizers.items()}
    loaded = ckpt.load_checkpoint(path, modules=session.modules(), optimizers=session.optimizers)
    for name, opt in session.optimizers.items():
        for group, hyper in zip(opt.param_groups, fresh[name], strict=True):
            group.update(hyper)
    session.step = session.saved_step = int(loaded.meta["step"])
    if session.stream is not None and loaded.meta.get("data_order"):
        session.stream.load_state_dict(loaded.meta["data_order"])
    restore_rng_state(loaded.rng_tensors, loaded.rng_json)
    return loaded


def saved_config_dict(path: Path) -> dict:
    """The config dict saved in a checkpoint, as written (``config_resolve.assemble(base=...)`` checks it)."""
    meta = ckpt.read_checkpoint_meta(path)
    if "config" not in meta:
        raise CheckpointError(f"checkpoint {path} holds no config; it was not written by ganforge train")
    if not isinstance(meta["config"], dict):
        raise CheckpointError(f"checkpoint {path} has a damaged config in its state.json; {RESUME_EARLIER}")
    return meta["config"]


def read_config(path: Path) -> Config:
    """The config saved in a checkpoint, checked as every config is."""
    return config_from_json(saved_config_dict(path))


MAX_SAMPLE_VALUES = 2**24  # values in one sample (3x2048x2048 is 12.6 M): a bound on what `sample` allocates


def saved_data_shape(meta: dict, path: Path) -> DataShape:
    """The checkpoint's ``data_shape``, checked: 1 or 3 positive sizes of at most MAX_SAMPLE_VALUES values in
    all, a class count and a pixel range; an edited or damaged one is refused before anything is allocated."""
    try:
        saved = meta["data_shape"]
        shape = tuple(saved["shape"])
        num_classes, pixel_range = saved["num_classes"], saved["pixel_range"]
        low_high = (float(pixel_range[0]), float(pixel_range[1])) if pixel_range is not None else None
        ok = (len(shape) in (1, 3) and all(type(d) is int and d > 0 for d in shape)
              and math.prod(shape) <= MAX_SAMPLE_VALUES and type(num_classes) is int and 0 <= num_classes <= 2**16
              and (pixel_range is None or len(pixel_range) == 2))
    except (KeyError, TypeError, ValueError, IndexError):
        ok = False
    if not ok:
        raise CheckpointError(f"checkpoint {path} has a damaged data_shape in its state.json "
                              f"({str(meta.get('data_shape'))[:80]}); {RESUME_EARLIER}")
    return DataShape(shape, num_classes, low_high)
