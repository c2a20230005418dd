"""``ganforge sample`` options for LAPGAN runs (Denton et al. 2015): the per-level grid and level assembly.

``--levels FILE.png`` writes one row per pyramid level, coarsest first, each upsampled to full size by
pixel replication, with the final samples I~_0 in the last row (like the paper's sampling figure).
``--levels-npz PREFIX`` writes each level brought to full size by the pyramid's u as PREFIX-level<k>.npz,
so that ``ganforge evaluate --fake`` scores every level with the domain classifier (classes, KL).
``--lapgan-levels RUN0,RUN1,...`` samples with level k's generator taken from RUN_k, so levels trained
alone (``--set model.level=k``) combine into one model; ``--run`` gives the config and data shape, and
each RUN_k must have trained level k (or all levels) of the same pyramid.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from ganforge.errors import CheckpointError, ConfigError

# model settings that must agree for level generators to compose into one pyramid
SHARED_KEYS = ("levels", "conditional", "z_dim", "width", "hidden_g", "blur_sigma")


def add_lapgan_args(parser: argparse.ArgumentParser) -> None:
    """The LAPGAN options of ``ganforge sample``."""
    parser.add_argument("--levels", metavar="FILE.png", help="lapgan runs: write a grid with one row per pyramid "
                        "level (coarse levels upsampled to full size), --n samples a row")
    parser.add_argument("--levels-npz", metavar="PREFIX", help="lapgan runs: write PREFIX-level<k>.npz per level, "
                        "I~_k brought to full size by the pyramid's u (k times), for `evaluate --fake` per level")
    parser.add_argument("--lapgan-levels", metavar="RUN0,RUN1,...", help="lapgan runs: take level k's generator "
                        "from RUN_k (runs trained one level each with --set model.level=k)")


def wants_lapgan(args: argparse.Namespace) -> bool:
    """Whether ``sample`` needs the LAPGAN path (any LAPGAN-only option given)."""
    return any(getattr(args, key) is not None for key in ("levels", "levels_npz", "lapgan_levels"))


def sample_lapgan_command(args: argparse.Namespace) -> int:
    """Sample every level, optionally with per-level generators from other runs; write the files asked for."""
    import numpy as np
    import torch

    from ganforge.train.grids import save_grid, save_samples_png
    from ganforge.train.session import open_run
    from ganforge.variants.lapgan import levels_figure, levels_full_size, sample_levels

    if args.n < 1:
        raise ConfigError(f"--n must be at least 1, got {args.n}")
    session = open_run(Path(args.run), step=args.step)
    if session.spec.name != "lapgan":
        raise ConfigError(f"--levels, --levels-npz and --lapgan-levels need a lapgan run; {args.run} is a "
                          f"{session.spec.name!r} run")
    if args.ema and not session.ema:
        raise ConfigError("this run has no EMA generator (train.ema was 0); drop --ema")
    nets = {**session.nets, **(session.ema if args.ema else {})}
    if args.lapgan_levels is not None:
        runs = [r.strip() for r in args.lapgan_levels.split(",")]
        load_level_generators(nets["generator"], runs, session, ema=args.ema)
    with torch.no_grad():
        levels = [im.cpu() for im in sample_levels(nets, session.cfg, args.n,
                                                   generator=torch.Generator().manual_seed(args.seed))]
    pixel_range = session.data_shape.pixel_range
    if args.levels:
        save_grid(levels_figure(levels), args.levels, nrow=args.n, pixel_range=pixel_range)
        print(f"levels ({len(levels)} rows, coarse to fine, x {args.n} samples): {args.levels}")
    if args.grid:
        save_samples_png(levels[0], args.grid, pixel_range=pixel_range)
        print(f"grid: {args.grid}")
    if args.npz:
        np.savez(args.npz, samples=levels[0].numpy(), pixel_range=np.array(pixel_range))
        print(f"samples: {args.npz} {tuple(levels[0].shape)}")
    if args.levels_npz:
        for k, full in enumerate(levels_full_size(levels, session.cfg.model.blur_sigma)):
            np.savez(f"{args.levels_npz}-level{k}.npz", samples=full.numpy(), pixel_range=np.array(pixel_range))
        print(f"levels at full size: {args.levels_npz}-level0..{len(levels) - 1}.npz")
    return 0


def load_level_generators(generator, runs: list[str], session, *, ema: bool) -> None:
    """Replace ``generator.levels[k]`` with level k's (EMA) generator from the latest checkpoint of ``runs[k]``.

    Raises:
        ConfigError: a count that is not one run per level, a run of another model or pyramid, or a run
            that did not train level k.
        CheckpointError: a missing run or checkpoint.
    """
    from ganforge.train import checkpoint as ckpt

    if len(runs) != len(generator.levels) or not all(runs):
        args_text = ",".join(runs)
        raise ConfigError(f"--lapgan-levels needs {len(generator.levels)} runs, one per level (level 0 = finest "
                          f"first), got {len(runs)}: {args_text}")
    name = "ema_generator" if ema else "generator"
    for k, run in enumerate(runs):
        path = ckpt.latest_checkpoint(run) if Path(run).is_dir() else None
        if path is None:
            raise CheckpointError(f"--lapgan-levels: {run!r} is not a run folder with a complete checkpoint")
        _check_level_run(run, k, ckpt.read_checkpoint_meta(path), session)
        donor = copy.deepcopy(generator)
        ckpt.load_checkpoint(path, modules={name: donor}, optimizers={}, strict=False)
        generator.levels[k].load_state_dict(donor.levels[k].state_dict())


def _check_level_run(run: str, k: int, meta: dict, session) -> None:
    """Refuse a run of another model or pyramid, or one that did not train level k."""
    model = meta.get("config", {}).get("model", {})
    if model.get("name") != "lapgan":
        raise ConfigError(f"--lapgan-levels: {run} is a {model.get('name')!r} run, not a lapgan run")
    ours = session.cfg.model
    for key in SHARED_KEYS:
        if model.get(key) != getattr(ours, key):
            raise ConfigError(f"--lapgan-levels: {run} has model.{key}={model.get(key)!r} but --run has "
                              f"{getattr(ours, key)!r}; all levels must come from the same pyramid")
    if list(meta.get("data_shape", {}).get("shape", [])) != list(session.data_shape.shape):
        raise ConfigError(f"--lapgan-levels: {run} was trained on images of another shape than --run")
    if str(model.get("level")) not in ("all", str(k)):
        raise ConfigError(f"--lapgan-levels: run {k} ({run}) trained level {model.get('level')}, not level {k}; "
                          "list the runs in level order, finest first")
