"""``ganforge sample --sampler mala``: class-conditional PPGN samples by MALA-approx (Nguyen et al. 2017, Eq. 11).

``--class C`` runs ``--n`` chains of class C (writes ``--grid`` and/or ``--npz``); ``--class-grid N`` runs N
chains per class and writes one PNG with a row per class (10 rows × N columns for MNIST, like Fig. 3 of
the seed thesis, KTH 2018) to ``--grid`` (default ``RUN/samples/mala-class-grid.png``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.errors import ConfigError
from ganforge.samplers.mala import MALASettings

DEFAULTS = MALASettings()


def add_mala_args(parser: argparse.ArgumentParser) -> None:
    """The MALA options of ``ganforge sample``."""
    parser.add_argument("--sampler", choices=("default", "mala"), default="default",
                        help="default: the model's own sampling; mala: MALA-approx class-conditional chains "
                        "(ppgn runs)")
    parser.add_argument("--class", dest="class_", type=int, metavar="C",
                        help="target class of every chain (with --sampler mala)")
    parser.add_argument("--class-grid", type=int, metavar="N", help="N chains per class, one grid row per class")
    parser.add_argument("--eps1", type=float, default=DEFAULTS.eps1, help="weight of R(h) - h (default 1e-2)")
    parser.add_argument("--eps2", type=float, default=DEFAULTS.eps2, help="weight of the class gradient (default 1)")
    parser.add_argument("--eps3", type=float, default=DEFAULTS.eps3, help="noise standard deviation (default 1e-15)")
    parser.add_argument("--steps", type=int, default=DEFAULTS.steps, help="MALA steps per chain (default 200)")


def wants_mala(args: argparse.Namespace) -> bool:
    """Whether ``sample`` should run MALA chains (any MALA-only option given)."""
    return args.sampler == "mala" or args.class_ is not None or args.class_grid is not None


def sample_mala_command(args: argparse.Namespace) -> int:
    """Run the chains that ``args`` asks for and write the grid / npz."""
    import torch

    from ganforge.cli.class_cmd import write_class_samples
    from ganforge.train.session import open_run
    from ganforge.variants.ppgn import sample_mala

    classes_of = _check_args(args)
    settings = MALASettings(eps1=args.eps1, eps2=args.eps2, eps3=args.eps3, steps=args.steps)
    session = open_run(Path(args.run), step=args.step)
    if session.spec.name != "ppgn":
        raise ConfigError(f"--sampler mala needs a ppgn run (its encoder gives R(h) and the class gradient); "
                          f"{args.run} is a {session.spec.name!r} run")
    if args.ema and not session.ema:
        raise ConfigError("this run has no EMA generator (train.ema was 0); drop --ema")
    nets = {**session.nets, **(session.ema if args.ema else {})}
    num_classes = nets["encoder"].num_classes
    classes = classes_of(num_classes)
    result = sample_mala(nets, classes, settings, generator=torch.Generator().manual_seed(args.seed))
    return write_class_samples(args, result.images.cpu(), classes, num_classes, session.data_shape.pixel_range,
                               "mala-class-grid.png")


def _check_args(args: argparse.Namespace):
    """Refuse inconsistent options; returns ``num_classes -> (B,) classes`` for the chains."""
    import torch

    if args.sampler != "mala":
        raise ConfigError("--class and --class-grid draw class-conditional samples; add --sampler mala")
    if (args.class_ is None) == (args.class_grid is None):
        raise ConfigError("--sampler mala needs exactly one of --class C (with --n chains) or --class-grid N")
    if args.class_grid is not None:
        if args.class_grid < 1:
            raise ConfigError(f"--class-grid must be at least 1, got {args.class_grid}")
        return lambda k: torch.arange(k).repeat_interleave(args.class_grid)  # row c holds class c
    if args.n < 1:
        raise ConfigError(f"--n must be at least 1, got {args.n}")
    if not (args.grid or args.npz):
        raise ConfigError("--class C writes its samples to --grid PATH and/or --npz PATH; give one")

    def one_class(k: int):
        if not 0 <= args.class_ < k:
            raise ConfigError(f"--class must be in 0..{k - 1} for this run's encoder, got {args.class_}")
        return torch.full((args.n,), args.class_, dtype=torch.long)

    return one_class
