"""Options of ``ganforge experiment compare`` (registered by ``experiment_cmd``): several MNIST GANs trained
under one budget over several seeds and scored alike (``ganforge.experiments.compare``; issue 14)."""

from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = """\
Train every --presets preset for --seeds seeds through the normal trainer into OUT/runs/<preset>-seed<s>,
all under one budget: --steps N generator steps each (equal updates) or --minutes M of training each (equal
time; comparable only on one equally loaded machine). Then score n samples of each run against the MNIST
test set with the domain classifier (DDM, FID, KID, inception-style score, classes covered, KL of the class
histogram to uniform, within-class diversity ratio), beside n training images and n uniform-noise images:
OUT/compare.csv (one row per run), OUT/compare_summary.csv (mean ± std per preset), OUT/compare.json,
OUT/compare.png and OUT/samples/<preset>.png. Interrupted, the same command resumes: finished runs are
reused, unfinished ones resume from their checkpoints, scores are cached per run."""


def add_compare_args(parser: argparse.ArgumentParser) -> None:
    """The options of ``ganforge experiment compare``."""
    from ganforge.experiments.compare import DEFAULT_PRESETS

    parser.add_argument("--presets", default=",".join(DEFAULT_PRESETS), help="comma list of MNIST presets "
                        f"(default {','.join(DEFAULT_PRESETS)})")
    parser.add_argument("--steps", type=int, help="budget: generator steps per run")
    parser.add_argument("--minutes", type=float, help="budget: minutes of training per run (the trainer's time "
                        "limit)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per preset, from --seed on (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--n", type=int, default=1000, help="samples per run, and images of each baseline and of "
                        "the test set (default 1000)")
    parser.add_argument("--classifier", help="domain classifier folder (default: mnist's cached classifier)")
    parser.add_argument("--out", default="experiments/compare", help="folder for runs/, samples/, CSV, PNG, JSON")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="config override for every run, e.g. train.batch_size=32 (repeatable)")
    parser.set_defaults(func=_compare)


def settings_from_args(args: argparse.Namespace):
    """The :class:`~ganforge.experiments.compare.CompareSettings` that ``args`` describe."""
    from ganforge.experiments.compare import CompareSettings

    return CompareSettings(presets=tuple(p.strip() for p in args.presets.split(",") if p.strip()), seeds=args.seeds,
                           seed=args.seed, steps=args.steps, minutes=args.minutes, n=args.n,
                           classifier=args.classifier, sets=tuple(args.sets))


def summary_table(result: dict) -> str:
    """Mean ± std per preset of the main measures, then the two baselines."""
    cols = (("ddm", "DDM"), ("fid", "FID"), ("is", "IS"), ("classes_covered", "classes"),
            ("diversity_ratio", "diversity"), ("steps", "steps"))
    lines = [f"{'preset':<22}" + "".join(f"{name:>19}" for _, name in cols)]
    for row in result["summary"]:
        cells = []
        for key, _ in cols:
            mean, std = row.get(f"{key}_mean"), row.get(f"{key}_std")
            cells.append(f"{'-':>19}" if mean is None else f"{mean:>11.4g} ± {std:<5.2g}")
        lines.append(f"{row['preset']:<22}" + "".join(cells))
    for name, scores in result["baselines"].items():
        cells = [f"{'-':>19}" if scores.get(k) is None else f"{scores[k]:>11.4g}{'':8}" for k, _ in cols[:-1]]
        lines.append(f"{'baseline ' + name:<22}" + "".join(cells))
    return "\n".join(lines)


def _compare(args: argparse.Namespace) -> int:
    from ganforge.experiments.compare import compare

    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    result = compare(args.out, settings_from_args(args), log=log)
    print(summary_table(result), file=sys.stderr)
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))
    return 0
