"""``ganforge sample --class C`` / ``--class-grid N`` for class-conditional runs (those whose variant has
``sample_classes``, e.g. ``stackgan``: top-down y → h^_1 → x^, Huang et al. 2017).

``--class C`` draws ``--n`` samples of class C (writes ``--grid`` and/or ``--npz``); ``--class-grid N``
draws N samples per class and writes one PNG with a row per class (10 rows × N columns for MNIST) to
``--grid`` (default ``RUN/samples/class-grid.png``). The options are the ones ``--sampler mala`` uses for
PPGN runs; a ppgn run without ``--sampler mala`` is told to add it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.errors import ConfigError


def wants_classes(args: argparse.Namespace) -> bool:
    """Whether ``sample`` should draw class-conditional samples without MALA (``--class``/``--class-grid``)."""
    return args.sampler == "default" and (args.class_ is not None or args.class_grid is not None)


def sample_classes_command(args: argparse.Namespace) -> int:
    """Draw the samples that ``args`` asks for from a class-conditional run and write the grid / npz."""
    import torch

    from ganforge.train.session import open_run

    _check_args(args)
    session = open_run(Path(args.run), step=args.step)
    spec = session.spec
    if spec.sample_classes is None:
        hint = "add --sampler mala" if spec.name == "ppgn" else "train a class-conditional model such as stackgan"
        raise ConfigError(f"--class and --class-grid draw class-conditional samples, which a {spec.name!r} run "
                          f"does not define; {hint}")
    if args.ema and not session.ema:
        raise ConfigError("this run has no EMA generator (train.ema was 0); drop --ema")
    nets = {**session.nets, **(session.ema if args.ema else {})}
    num_classes = session.data_shape.num_classes
    if args.class_ is not None and not 0 <= args.class_ < num_classes:
        raise ConfigError(f"--class must be in 0..{num_classes - 1} for this run, got {args.class_}")
    if args.class_grid is not None:
        classes = torch.arange(num_classes).repeat_interleave(args.class_grid)  # row c holds class c
    else:
        classes = torch.full((args.n,), args.class_, dtype=torch.long)
    with torch.no_grad():
        images = spec.sample_classes(nets, session.cfg, classes, torch.Generator().manual_seed(args.seed)).cpu()
    return write_class_samples(args, images, classes, num_classes, session.data_shape.pixel_range, "class-grid.png")


def write_class_samples(args: argparse.Namespace, images, classes, num_classes: int, pixel_range,
                        grid_name: str) -> int:
    """Write class-conditional samples: the class grid (``--class-grid``; default ``RUN/samples/<grid_name>``),
    or ``--grid`` and/or ``--npz`` (samples, classes, pixel_range). Shared by ``--class`` and ``--sampler mala``."""
    import numpy as np

    from ganforge.train.grids import save_grid

    if args.class_grid is not None:
        path = Path(args.grid) if args.grid else Path(args.run) / "samples" / grid_name
        save_grid(images, path, nrow=args.class_grid, pixel_range=pixel_range)
        print(f"class grid ({num_classes} rows x {args.class_grid} columns): {path}")
        return 0
    if args.grid:
        save_grid(images, args.grid, pixel_range=pixel_range)
        print(f"grid: {args.grid}")
    if args.npz:
        np.savez(args.npz, samples=images.numpy(), classes=classes.cpu().numpy(), pixel_range=np.array(pixel_range))
        print(f"samples: {args.npz} {tuple(images.shape)}")
    return 0


def _check_args(args: argparse.Namespace) -> None:
    """Refuse inconsistent options before opening the run."""
    if args.class_ is not None and args.class_grid is not None:
        raise ConfigError("give one of --class C (with --n samples) or --class-grid N, not both")
    if args.class_grid is not None and args.class_grid < 1:
        raise ConfigError(f"--class-grid must be at least 1, got {args.class_grid}")
    if args.class_ is not None:
        if args.n < 1:
            raise ConfigError(f"--n must be at least 1, got {args.n}")
        if not (args.grid or args.npz):
            raise ConfigError("--class C writes its samples to --grid PATH and/or --npz PATH; give one")
