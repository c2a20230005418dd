"""``ganforge train``: train a model (resumable); ``cli/sample_cmd.py`` draws from the run folder."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ganforge.cli.config_cmd import add_config_args
from ganforge.config import Config
from ganforge.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model (resumable)")
    add_config_args(train)
    train.add_argument("--model", help="model name (instead of --preset)")
    train.add_argument("--dataset", help="dataset name (with --model)")
    train.add_argument("--steps", type=int, help="total generator steps (train.steps)")
    train.add_argument("--seed", type=int, help="random seed (train.seed)")
    train.add_argument("--out", required=True, help="run folder")
    train.add_argument("--resume", action="store_true", help="continue the run in --out up to --steps")
    train.add_argument("--allow-config-change", action="store_true", help="resume with a changed config")
    train.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this much wall time")
    train.add_argument("--nproc", type=int, help="data-parallel processes on this machine (launches torchrun; "
                       "train.batch_size stays the global batch)")
    train.set_defaults(func=_train)


def _train_config(args: argparse.Namespace) -> Config:
    """The config to train: assembled (and checked) from --preset/--model/--config/--set, or, for a
    ``--resume`` that names no source, from the run's saved config with the flags and --set on top
    (:func:`ganforge.api.training.train_config_for`, the path ``ganforge.train`` takes)."""
    from ganforge.api.training import train_config_for

    if args.preset and (args.model or args.dataset):
        raise ConfigError("give either --preset or --model/--dataset, not both")
    sections = {key: {"name": name} for key, name in (("model", args.model), ("data", args.dataset)) if name}
    return train_config_for(args.preset, out=args.out, steps=args.steps, resume=args.resume, seed=args.seed,
                            config=args.config or None, sets=args.set, sections=sections,
                            missing="--preset NAME (see `ganforge models`) or --model M --dataset D")


def _train(args: argparse.Namespace) -> int:
    from ganforge.train.distributed import launched_by_torchrun, per_rank_batch
    from ganforge.train.trainer import train

    cfg = _train_config(args)
    if args.nproc is not None and (args.nproc != 1 or launched_by_torchrun()):
        per_rank_batch(cfg.train.batch_size, max(args.nproc, 1))
        return _launch(args)
    max_seconds = args.max_minutes * 60 if args.max_minutes is not None else None
    summary = train(cfg, args.out, resume=args.resume, allow_config_change=args.allow_config_change,
                    max_seconds=max_seconds)
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps(summary))
    return 0


def _launch(args: argparse.Namespace) -> int:
    """``--nproc K``: hold the run folder here, then run torchrun; its rank 0 goes on under this lock."""
    from ganforge.train.distributed import launch_torchrun, launched_by_torchrun
    from ganforge.train.run_lock import LAUNCHER_ENV, claim_run_folder

    if launched_by_torchrun():
        raise ConfigError("--nproc launches torchrun itself; drop --nproc when running under torchrun")
    if args.nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, got {args.nproc}")
    with claim_run_folder(args.out):
        os.environ[LAUNCHER_ENV] = str(os.getpid())
        try:
            return launch_torchrun(args.nproc, getattr(args, "raw_argv", sys.argv[1:]))
        finally:
            os.environ.pop(LAUNCHER_ENV, None)
