"""PPGN-h's sampling mode ``mala``: class-conditional chains by MALA-approx (Nguyen et al. 2017, Eq. 11).

``--class C`` runs ``--n`` chains of class C (writes ``--grid`` and/or ``--npz``); ``--class-grid N`` runs N
chains per class and writes one PNG with a row per class (10 rows × N columns for MNIST, like Fig. 3 of the
seed thesis, KTH 2018) to ``--grid`` (default ``RUN/samples/mala-class-grid.png``). ``--sampler mala`` is the
older spelling of ``--mode mala``.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch

from ganforge.samplers.mala import MALASettings
from ganforge.variants.sample_modes import CLASS_OPTIONS, SampleMode, classes_asked, write_class_samples

DEFAULTS = MALASettings()


def _draw_mala(run: Any, args: argparse.Namespace) -> int:
    from ganforge.variants.ppgn import sample_mala

    nets = run.nets_for_sampling(args.ema)
    num_classes = nets["encoder"].num_classes
    classes = classes_asked(args, num_classes, "this run's encoder")
    steps = DEFAULTS.steps if args.steps is None else args.steps
    settings = MALASettings(eps1=args.eps1, eps2=args.eps2, eps3=args.eps3, steps=steps)
    result = sample_mala(nets, classes, settings, generator=torch.Generator().manual_seed(args.seed))
    return write_class_samples(run, args, result.images.cpu(), classes, num_classes, "mala-class-grid.png")


MALA = SampleMode("mala", "class-conditional MALA-approx chains: --class C or --class-grid N (ppgn)", _draw_mala, (
    *CLASS_OPTIONS,
    (("--eps1",), {"type": float, "default": DEFAULTS.eps1, "help": "MALA: weight of R(h) - h (default 1e-2)"}),
    (("--eps2",), {"type": float, "default": DEFAULTS.eps2, "help": "MALA: weight of the class gradient (default 1)"}),
    (("--eps3",), {"type": float, "default": DEFAULTS.eps3, "help": "MALA: noise standard deviation (default 1e-15)"}),
    (("--steps",), {"type": int, "help": "MALA steps per chain (default 200); decoded points of between-real "
                    "(default 10)"})))
