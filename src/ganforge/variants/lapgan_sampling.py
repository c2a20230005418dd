"""LAPGAN's sampling mode ``levels`` (Denton et al. 2015): the per-level grid, each level's samples, and pyramids
assembled from levels trained apart.

``--levels FILE.png`` writes one row per pyramid level, coarsest first, each upsampled to full size by pixel
replication, with the final samples I~_0 in the last row (like the paper's sampling figure).
``--levels-npz PREFIX`` writes each level brought to full size by the pyramid's u as PREFIX-level<k>.npz,
so that ``ganforge evaluate --fake`` scores every level with the domain classifier (classes, KL).
``--lapgan-levels RUN0,RUN1,...`` samples with level k's generator taken from RUN_k, so levels trained
alone (``--set model.level=k``) combine into one model; ``--run`` gives the config and data shape, and
each RUN_k must have trained level k (or all levels) of the same pyramid. Giving any of these options selects
the mode without ``--mode levels``.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
from torch import nn

from ganforge.errors import CheckpointError, ConfigError
from ganforge.variants.sample_modes import SampleMode, check_n, write_samples

# model settings that must agree for level generators to compose into one pyramid
SHARED_KEYS = ("levels", "conditional", "z_dim", "width", "hidden_g", "blur_sigma")


def load_level_generators(generator: nn.Module, runs: list[str], run: Any, *, ema: bool) -> None:
    """Replace ``generator.levels[k]`` with level k's (EMA) generator from the latest checkpoint of ``runs[k]``.

    Raises:
        ConfigError: a count that is not one run per level, a run of another model or pyramid, or a run
            that did not train level k.
        CheckpointError: a missing run or checkpoint.
    """
    if len(runs) != len(generator.levels) or not all(runs):
        raise ConfigError(f"--lapgan-levels needs {len(generator.levels)} runs, one per level (level 0 = finest "
                          f"first), got {len(runs)}: {','.join(runs)}")
    for k, path in enumerate(runs):
        try:
            donor = run.open_other(path)
        except CheckpointError:
            raise CheckpointError(f"--lapgan-levels: {path!r} is not a run folder with a complete checkpoint") from None
        _check_level_run(path, k, donor, run)
        generator.levels[k].load_state_dict(donor.nets_for_sampling(ema)["generator"].levels[k].state_dict())


def _check_level_run(path: str, k: int, donor: Any, run: Any) -> None:
    """Refuse a run of another model or pyramid, or one that did not train level k."""
    theirs, ours = donor.cfg.model, run.cfg.model
    if theirs.name != "lapgan":
        raise ConfigError(f"--lapgan-levels: {path} is a {theirs.name!r} run, not a lapgan run")
    for key in SHARED_KEYS:
        if getattr(theirs, key) != getattr(ours, key):
            raise ConfigError(f"--lapgan-levels: {path} has model.{key}={getattr(theirs, key)!r} but --run has "
                              f"{getattr(ours, key)!r}; all levels must come from the same pyramid")
    if tuple(donor.data_shape.shape) != tuple(run.data_shape.shape):
        raise ConfigError(f"--lapgan-levels: {path} was trained on images of another shape than --run")
    if str(theirs.level) not in ("all", str(k)):
        raise ConfigError(f"--lapgan-levels: run {k} ({path}) trained level {theirs.level}, not level {k}; "
                          "list the runs in level order, finest first")


def _draw_levels(run: Any, args: argparse.Namespace) -> int:
    """Sample every level, optionally with per-level generators from other runs; write the files asked for."""
    from ganforge.variants.lapgan import levels_figure, levels_full_size, sample_levels

    check_n(args.n)
    nets = run.nets_for_sampling(args.ema)
    if args.lapgan_levels is not None:
        load_level_generators(nets["generator"], [r.strip() for r in args.lapgan_levels.split(",")], run, ema=args.ema)
    with torch.no_grad():
        levels = [im.cpu() for im in sample_levels(nets, run.cfg, args.n,
                                                   generator=torch.Generator().manual_seed(args.seed))]
    if args.levels:
        run.write_grid(levels_figure(levels), args.levels, nrow=args.n)
        print(f"levels ({len(levels)} rows, coarse to fine, x {args.n} samples): {args.levels}")
    write_samples(run, args, levels[0])
    if args.levels_npz:
        for k, full in enumerate(levels_full_size(levels, run.cfg.model.blur_sigma)):
            run.write_npz(f"{args.levels_npz}-level{k}.npz", samples=full)
        print(f"levels at full size: {args.levels_npz}-level0..{len(levels) - 1}.npz")
    return 0


LEVELS = SampleMode("levels", "every pyramid level: --levels FILE.png, --levels-npz PREFIX, --lapgan-levels "
                    "RUN0,RUN1,... (lapgan)", _draw_levels, (
    (("--levels",), {"metavar": "FILE.png", "help": "lapgan runs: write a grid with one row per pyramid level "
                     "(coarse levels upsampled to full size), --n samples a row"}),
    (("--levels-npz",), {"metavar": "PREFIX", "help": "lapgan runs: write PREFIX-level<k>.npz per level, I~_k "
                         "brought to full size by the pyramid's u (k times), for `evaluate --fake` per level"}),
    (("--lapgan-levels",), {"metavar": "RUN0,RUN1,...", "help": "lapgan runs: take level k's generator from RUN_k "
                            "(runs trained one level each with --set model.level=k)"})),
    triggers=("levels", "levels_npz", "lapgan_levels"))
