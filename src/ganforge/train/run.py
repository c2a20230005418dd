"""A trained run opened once to sample from it: its config, nets and weights (no optimizers), one EMA rule, the
run's data splits in its pixel range, generation, and the files that samples go to.

:func:`open_run` builds the variant's nets as the checkpoint's config and data shape say and loads their weights
only (:func:`ganforge.train.checkpoint.load_weights`): no optimizer is built or decoded, nothing is compiled,
no training :class:`~ganforge.train.session.Session` exists. A frozen classifier (PPGN's E, the Stacked GAN's
encoder, ModNet's C) is rebuilt from the description the checkpoint holds
(:func:`ganforge.nets.classifier_files.builds_from_checkpoint`) and its weights come from the checkpoint, so a run
folder is self-contained. The CLI, ``metrics.evaluate``, the experiments and the variants' sampling modes
(:class:`ganforge.variants.sample_modes.SampleMode`) open runs through here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganforge.config import Config
from ganforge.data import LabeledData, load_data_split
from ganforge.data.cache import write_bytes_atomic
from ganforge.errors import CheckpointError, ConfigError
from ganforge.nets.classifier_files import builds_from_checkpoint
from ganforge.train import checkpoint as ckpt
from ganforge.train.ema import make_ema
from ganforge.train.grids import save_grid, save_samples_png
from ganforge.train.runtime import sampling_device
from ganforge.train.session import EMA_PREFIX, build_nets, fit_to_data, planned_shapes, read_config, saved_data_shape
from ganforge.variants import DataShape, VariantSpec

NO_EMA = ("this run has no EMA generator (train.ema was 0, or an export, whose weights already are the EMA's); "
          "drop --ema")
EXPORT_KEY = "export"  # checkpoint meta of a `ganforge export` folder: {"nets": [the nets it holds], ...}


@dataclass
class Run:
    """A run folder opened for sampling (nets in eval mode, weights of checkpoint ``step``)."""

    path: Path
    cfg: Config
    spec: VariantSpec
    data_shape: DataShape
    nets: dict[str, nn.Module]
    ema: dict[str, nn.Module]  # EMA copies of ``spec.sample_nets`` (empty when train.ema was 0)
    step: int

    @property
    def pixel_range(self) -> tuple[float, float] | None:
        """The samples' pixel range (None for 2-D points)."""
        return self.data_shape.pixel_range

    @property
    def num_classes(self) -> int:
        """Classes of the run's dataset."""
        return self.data_shape.num_classes

    def in_range(self, samples: torch.Tensor) -> torch.Tensor:
        """``samples`` clamped to the run's pixel range (2-D points unchanged). Generators without an output
        activation (PPGN-h's G, as its paper has it) can draw pixels outside it; what ``generate`` returns,
        metrics score and ``.npz`` files hold are images, as the PNGs show them and as ``ganforge evaluate
        --fake`` accepts them."""
        return samples if self.pixel_range is None else samples.clamp(*self.pixel_range)

    def nets_for_sampling(self, ema: bool) -> dict[str, nn.Module]:
        """The nets, with the EMA copies in place of the sample nets when ``ema`` (refused without them)."""
        if ema and not self.ema:
            raise ConfigError(NO_EMA)
        return {**self.nets, **(self.ema if ema else {})}

    def split(self, split: str) -> LabeledData:
        """A split ("train", "test", ...) of the run's dataset in the run's pixel range."""
        return load_data_split(self.cfg.data, split, seed=self.cfg.train.seed)

    @torch.no_grad()
    def generate(self, n: int = 0, *, ema: bool = False, generator: torch.Generator | None = None,
                 z: torch.Tensor | None = None, batch_size: int | None = None) -> torch.Tensor:
        """Samples on the CPU: ``n`` from noise drawn with ``generator`` (in batches of ``batch_size``, each
        drawing its noise in turn), or one per row of a given ``z`` (n, z_dim) (``n`` unused); EMA nets with ``ema``.

        Returns:
            (n, C, H, W) images or (n, 2) points in the run's pixel range (:meth:`in_range`).
        """
        nets = self.nets_for_sampling(ema)
        if z is not None:
            return self.in_range(self.spec.generate(nets, self.cfg, len(z), z=z).cpu())
        step = batch_size or n
        return self.in_range(torch.cat([self.spec.generate(nets, self.cfg, min(step, n - i), generator=generator).cpu()
                                        for i in range(0, n, step)]))

    @torch.no_grad()
    def generate_classes(self, classes: torch.Tensor, *, ema: bool = False,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """One sample of each of ``classes`` (B,) on the CPU, for class-conditional models (``spec.sample_classes``),
        in the run's pixel range (:meth:`in_range`)."""
        nets = self.nets_for_sampling(ema)
        if self.spec.sample_classes is None:
            raise ConfigError(f"a {self.spec.name!r} run draws no class-conditional samples")
        return self.in_range(self.spec.sample_classes(nets, self.cfg, classes, generator).cpu())

    def write_grid(self, images: torch.Tensor, path: str | Path, *, nrow: int | None = None) -> Path:
        """A PNG of ``images`` in the run's pixel range (2-D points: a scatter plot); ``nrow`` images a row."""
        if nrow is None:
            return save_samples_png(images, path, pixel_range=self.pixel_range)
        return save_grid(images, path, nrow=nrow, pixel_range=self.pixel_range)

    def write_npz(self, path: str | Path, **arrays) -> None:
        """``arrays`` (tensors or arrays) and the run's ``pixel_range`` (none for 2-D points: an array of None
        would be pickled) as one ``.npz``; a ``samples`` tensor is stored in that range (:meth:`in_range`)."""
        extra = {} if self.pixel_range is None else {"pixel_range": np.array(self.pixel_range)}
        if torch.is_tensor(arrays.get("samples")):
            arrays["samples"] = self.in_range(arrays["samples"])
        np.savez(path, **{k: v.cpu().numpy() if torch.is_tensor(v) else v for k, v in arrays.items()}, **extra)

    def write_json(self, path: str | Path, value: dict) -> str:
        """``value`` as indented JSON, written atomically; returns the text."""
        text = json.dumps(value, indent=2)
        write_bytes_atomic(Path(path), (text + "\n").encode())
        return text

    def open_other(self, run_dir: str | Path, *, step: int | None = None) -> Run:
        """Another run folder (modes that combine runs, such as LAPGAN's levels trained apart)."""
        return open_run(run_dir, step=step)


def open_run(run_dir: str | Path, *, step: int | None = None) -> Run:
    """Open a run folder at its latest (or the given) checkpoint step; no dataset or classifier folder is read."""
    run_dir = Path(run_dir)
    path = checkpoint_path(run_dir, step)
    meta = ckpt.read_checkpoint_meta(path)
    data_shape = saved_data_shape(meta, path)
    cfg = fit_to_data(read_config(path), data_shape)
    builds = meta.get("frozen_classifiers")
    exported = _exported_nets(meta, path)
    with builds_from_checkpoint(builds if isinstance(builds, dict) else {}):
        planned = planned_shapes(cfg, data_shape)
        if exported is not None:
            _check_exported(exported, planned, path)
            planned = {name: planned[name] for name in exported}
        ckpt.check_shapes(path, planned)
        spec, nets = build_nets(cfg, data_shape, sampling_device(cfg.train.device))
    if exported is not None:  # an export holds the sample nets (and frozen classifiers) only
        nets = {name: nets[name] for name in exported}
    ema = {name: make_ema(nets[name]) for name in spec.sample_nets} if cfg.train.ema > 0 else {}
    loaded = ckpt.load_weights(path, {**nets, **{EMA_PREFIX + k: v for k, v in ema.items()}})
    for net in [*nets.values(), *ema.values()]:
        net.eval()
    torch.manual_seed(cfg.train.seed + 1)  # the global RNG as a training session leaves it (for bit-equal sampling)
    return Run(run_dir, cfg, spec, data_shape, nets, ema, int(loaded["step"]))


def _exported_nets(meta: dict, path: Path) -> list[str] | None:
    """The nets an export's checkpoint holds (None for a training run's checkpoint, which holds every net)."""
    record = meta.get(EXPORT_KEY)
    if record is None:
        return None
    nets = record.get("nets") if isinstance(record, dict) else None
    if not isinstance(nets, list) or not nets or not all(isinstance(name, str) for name in nets):
        raise CheckpointError(f"checkpoint {path} has a damaged {EXPORT_KEY!r} record in its state.json; export "
                              "the run again (ganforge export RUN OUT)")
    return nets


def _check_exported(names: list[str], planned: dict, path: Path) -> None:
    """Refuse an export naming a net its model does not build."""
    unknown = [name for name in names if name not in planned]
    if unknown:
        raise CheckpointError(f"export {path} names net {unknown[0]!r}, which its model does not build; export "
                              "the run again with this ganforge")


def checkpoint_path(run_dir: Path, step: int | None) -> Path:
    """The run's latest checkpoint, or the one at ``step``; one-line CheckpointErrors naming the fix."""
    if not run_dir.is_dir():
        raise CheckpointError(f"run folder {str(run_dir)!r} not found; pass --run RUN of a `ganforge train` run")
    if step is None:
        path = ckpt.latest_checkpoint(run_dir)
        if path is None:
            folder = run_dir / "checkpoints"
            held = [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []
            why = (f" (the {len(held)} in {folder} are incomplete or damaged: an interrupted save or an edited "
                   "state.json)" if held else "")
            raise CheckpointError(f"run folder {str(run_dir)!r} holds no complete checkpoint{why}; train it first "
                                  f"(ganforge train --out {run_dir} ...)")
        return path
    for path in ckpt.list_checkpoints(run_dir):
        if int(path.name) == step:
            return path
    raise CheckpointError(f"run {str(run_dir)!r} has no checkpoint at step {step}; see {run_dir}/checkpoints")
