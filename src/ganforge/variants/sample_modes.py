"""Sampling modes: the named ways to draw from a trained run (``ganforge sample --mode NAME``).

A variant declares its modes in ``VariantSpec.sample_modes``. A :class:`SampleMode` is a name, one line of help,
its command-line options and ``draw(run, args)``, which checks its options, draws, writes its files through the
run (``run.write_grid`` / ``write_npz`` / ``write_json``, printing a line per file) and returns the exit status.
``run`` is a :class:`ganforge.train.run.Run` (nets, EMA rule, data split, ``generate``), typed loosely because
variants sit below the training layer. The CLI adds every registered mode's options to ``sample`` once (modes
may share an option, such as ``--class``: the first declaration is used) and dispatches on the name alone, so a
model with a special sampler edits only its own files. ``triggers`` keep older spellings working: giving one of
those options (``--levels``) without ``--mode`` selects the mode.

This module holds the modes every model or every class-conditional model shares: ``noise`` (z from a seeded
generator) and ``class`` (``--class C`` / ``--class-grid N`` through ``spec.sample_classes``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganforge.errors import ConfigError

Option = tuple[tuple[str, ...], dict[str, Any]]  # argparse flags and keyword arguments


@dataclass(frozen=True)
class SampleMode:
    """A named way to sample a run (module docstring).

    Attributes:
        name: what ``--mode`` takes ("noise", "class", "mala", "levels", ...).
        help: one line for ``ganforge sample --help`` and the list of a run's modes.
        draw: (run, args) → exit status; writes the mode's outputs.
        options: the mode's own command-line options (``--run``, ``--n``, ``--grid``, ``--npz``, ``--seed``,
            ``--ema`` and ``--step`` are every mode's).
        triggers: option destinations whose presence selects this mode without ``--mode`` (older flags).
        requires: what a run needs for this mode, for the refusal of other runs ("a run with an encoder");
            empty: the models that declare the mode are named.
    """

    name: str
    help: str
    draw: Callable[[Any, argparse.Namespace], int]
    options: tuple[Option, ...] = ()
    triggers: tuple[str, ...] = ()
    requires: str = ""


def check_n(n: int, flag: str = "--n") -> None:
    if n < 1:
        raise ConfigError(f"{flag} must be at least 1, got {n}")


def write_samples(run: Any, args: argparse.Namespace, samples: torch.Tensor, **arrays: torch.Tensor) -> None:
    """``--grid`` (a PNG) and ``--npz`` (``samples``, ``arrays`` and the pixel range), each where asked."""
    if args.grid:
        run.write_grid(samples, args.grid)
        print(f"grid: {args.grid}")
    if args.npz:
        run.write_npz(args.npz, samples=samples, **arrays)
        print(f"samples: {args.npz} {tuple(samples.shape)}")


def _draw_noise(run: Any, args: argparse.Namespace) -> int:
    check_n(args.n)
    samples = run.generate(args.n, ema=args.ema, generator=torch.Generator().manual_seed(args.seed))
    write_samples(run, args, samples)
    return 0


NOISE = SampleMode("noise", "the model's own samples from seeded noise (every model)", _draw_noise)

CLASS_OPTIONS: tuple[Option, ...] = (
    (("--class",), {"dest": "class_", "type": int, "metavar": "C", "help": "draw --n samples of class C"}),
    (("--class-grid",), {"type": int, "metavar": "N", "help": "N samples per class, one grid row per class"}),
)


def classes_asked(args: argparse.Namespace, num_classes: int, against: str = "this run") -> torch.Tensor:
    """(B,) classes of ``--class C`` (``--n`` of them) or ``--class-grid N`` (row c holds class c), checked."""
    if (args.class_ is None) == (args.class_grid is None):
        raise ConfigError("give exactly one of --class C (with --n samples) or --class-grid N, not both")
    if args.class_grid is not None:
        check_n(args.class_grid, "--class-grid")
        return torch.arange(num_classes).repeat_interleave(args.class_grid)
    check_n(args.n)
    if not (args.grid or args.npz):
        raise ConfigError("--class C writes its samples to --grid PATH and/or --npz PATH; give one")
    if not 0 <= args.class_ < num_classes:
        raise ConfigError(f"--class must be in 0..{num_classes - 1} for {against}, got {args.class_}")
    return torch.full((args.n,), args.class_, dtype=torch.long)


def write_class_samples(run: Any, args: argparse.Namespace, images: torch.Tensor, classes: torch.Tensor,
                        num_classes: int, grid_name: str) -> int:
    """The class grid (``--class-grid``; ``--grid`` or ``RUN/samples/<grid_name>``), or ``--grid`` and/or
    ``--npz`` (samples, classes, pixel range)."""
    if args.class_grid is None:
        write_samples(run, args, images, classes=classes)
        return 0
    path = Path(args.grid) if args.grid else Path(run.path) / "samples" / grid_name
    run.write_grid(images, path, nrow=args.class_grid)
    print(f"class grid ({num_classes} rows x {args.class_grid} columns): {path}")
    return 0


def _draw_classes(run: Any, args: argparse.Namespace) -> int:
    num_classes = run.data_shape.num_classes
    classes = classes_asked(args, num_classes)
    images = run.generate_classes(classes, ema=args.ema, generator=torch.Generator().manual_seed(args.seed))
    return write_class_samples(run, args, images, classes, num_classes, "class-grid.png")


CLASS = SampleMode("class", "samples of given classes: --class C (--n of them) or --class-grid N (class-conditional "
                   "models)", _draw_classes, CLASS_OPTIONS, triggers=("class_", "class_grid"))
