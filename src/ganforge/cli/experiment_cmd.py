"""``ganforge experiment NAME``: the seed papers' experiments; each writes a CSV, a PNG plot and a JSON summary."""

from __future__ import annotations

import argparse
import json
import sys

from ganforge.cli.compare_cmd import DESCRIPTION as COMPARE
from ganforge.cli.compare_cmd import add_compare_args
from ganforge.cli.modnet_cmd import add_augmentation_args
from ganforge.cli.ppgn_disc_cmd import DESCRIPTION as PPGN_DISC
from ganforge.cli.ppgn_disc_cmd import add_ppgn_disc_args
from ganforge.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    exp = sub.add_parser("experiment", help="the papers' experiments (CSV + PNG + JSON each)")
    names = exp.add_subparsers(dest="experiment", metavar="NAME", required=True)
    mm = names.add_parser("missing-modes", help="DDM vs the score for generators that know n training images")
    _common(mm, "missing-modes")
    mm.add_argument("--n-values", default="10,20,100,1000,10000", help="distinct training images per set")
    mm.add_argument("--repeats", type=int, default=5)
    mm.add_argument("--n-test", type=int, default=10000, help="test images compared against")
    mm.add_argument("--train-size", type=int, help="training images used and replicated size (default: all)")
    mm.set_defaults(func=_missing_modes)
    co = names.add_parser("corruptions", help="DDM of noisy and blurred real images at rising strength")
    _common(co, "corruptions")
    co.add_argument("--n", type=int, default=10000, help="test images and corrupted training images")
    co.add_argument("--kinds", default="gaussian,uniform,blur", help="comma list of gaussian,uniform,blur")
    co.set_defaults(func=_corruptions)
    aug = names.add_parser("augmentation", help="ModNet augmentation: classifiers on real, real + generated, generated")
    add_augmentation_args(aug)
    pd = names.add_parser("ppgn-disc", help="PPGN-h with encoder-layer critics, six variants (reduced CPU version "
                          "by default)", description=PPGN_DISC, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_ppgn_disc_args(pd)
    cmp = names.add_parser("compare", help="several MNIST GANs under one budget (steps or minutes) over seeds, "
                           "scored alike", description=COMPARE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_compare_args(cmp)
    lv = names.add_parser("lapgan-levels", help="class coverage of a LAPGAN run at every pyramid level "
                          "(domain classifier and k-NN labels)")
    lv.add_argument("--run", required=True, help="a lapgan run folder")
    lv.add_argument("--n", type=int, default=1000, help="samples (and real test images) per level")
    lv.add_argument("--n-reference", type=int, default=10000, help="training images the k-NN labels search")
    lv.add_argument("--k", type=int, default=5, help="neighbours of the k-NN labels")
    lv.add_argument("--classifier", help="domain classifier folder (default: the dataset's cached classifier)")
    lv.add_argument("--out", default="experiments/lapgan-levels", help="folder for the CSV, PNG and JSON")
    lv.add_argument("--seed", type=int, default=0)
    lv.add_argument("--ema", action="store_true", help="score the EMA generator (runs trained with train.ema)")
    lv.add_argument("--all-checkpoints", action="store_true", help="score every kept checkpoint (train.keep_every): "
                    "OUT/lapgan_levels_over_training.csv and .json")
    lv.set_defaults(func=_lapgan_levels)
    cs = names.add_parser("class-samples", help="class accuracy and within-class diversity of a class-conditional "
                          "run's samples (stackgan, CC-LAPGAN)")
    cs.add_argument("--run", required=True, help="a run of a model with the 'class' sampling mode")
    cs.add_argument("--per-class", type=int, default=100, help="samples drawn of each class")
    cs.add_argument("--classifier", action="append", help="classifier folder to read the samples with "
                    "(repeatable; default: the dataset's cached classifier)")
    cs.add_argument("--ema", action="store_true", help="use the EMA generator")
    cs.add_argument("--out", default="experiments/class-samples", help="folder for the CSV, PNG and JSON")
    cs.add_argument("--seed", type=int, default=0)
    cs.set_defaults(func=_class_samples)


def _common(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--classifier", help="classifier folder (default: the dataset's cached classifier)")
    parser.add_argument("--out", default=f"experiments/{name}", help="folder for the CSV, PNG and JSON")
    parser.add_argument("--seed", type=int, default=0)


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"{flag} {text!r} is not a comma list of integers, e.g. 10,100,1000") from None
    if not values:
        raise ConfigError(f"{flag} is empty; give a comma list of integers, e.g. 10,100,1000")
    return values


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _missing_modes(args: argparse.Namespace) -> int:
    from ganforge.experiments.missing_modes import missing_modes

    if args.n_test < 10:
        raise ConfigError(f"--n-test must be at least 10, got {args.n_test}")
    summary = missing_modes(args.dataset, args.out, n_values=_ints(args.n_values, "--n-values"),
                            repeats=args.repeats, n_test=args.n_test, train_size=args.train_size, seed=args.seed,
                            classifier=args.classifier, log=_log)
    print(json.dumps(summary, indent=2))
    return 0


def _corruptions(args: argparse.Namespace) -> int:
    from ganforge.experiments.corruptions import LEVELS, corruptions

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in LEVELS]
    if unknown or not kinds:
        raise ConfigError(f"--kinds {args.kinds!r}: choose from {', '.join(LEVELS)}")
    if args.n < 10:
        raise ConfigError(f"--n must be at least 10, got {args.n}")
    summary = corruptions(args.dataset, args.out, n=args.n, levels={k: LEVELS[k] for k in kinds}, seed=args.seed,
                          classifier=args.classifier, log=_log)
    print(json.dumps(summary, indent=2))
    return 0


def _lapgan_levels(args: argparse.Namespace) -> int:
    from ganforge.experiments.lapgan_levels import lapgan_levels, lapgan_levels_over_training

    score = lapgan_levels_over_training if args.all_checkpoints else lapgan_levels
    summary = score(args.run, args.out, n=args.n, seed=args.seed, classifier=args.classifier,
                            n_reference=args.n_reference, k_neighbours=args.k, ema=args.ema, log=_log)
    print(json.dumps(summary, indent=2))
    return 0


def _class_samples(args: argparse.Namespace) -> int:
    from ganforge.experiments.class_samples import class_samples

    summary = class_samples(args.run, args.out, per_class=args.per_class, seed=args.seed, ema=args.ema,
                            classifiers=tuple(args.classifier or (None,)), log=_log)
    print(json.dumps(summary, indent=2))
    return 0
