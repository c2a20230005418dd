"""``ganforge export RUN OUT``: a run's generator (EMA weights when present) as a folder that ``ganforge sample
--run OUT`` and ``ganforge.open_run(OUT)`` load without the training run (:mod:`ganforge.train.export`)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="write a run's generator, config and model card to a shareable folder")
    export.add_argument("run", metavar="RUN", help="run folder of `ganforge train`")
    export.add_argument("out", metavar="OUT", help="new (or empty) folder to write")
    export.add_argument("--step", type=int, help="checkpoint step (default: latest)")
    export.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from ganforge.train.export import export_run

    out = export_run(args.run, args.out, step=args.step)
    print(f"exported {args.run} to {out} (README.md, config.json, checkpoints/); "
          f"sample it: ganforge sample --run {out} --grid samples.png")
    return 0
