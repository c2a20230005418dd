"""``ganforge fool`` and ``ganforge augment``: use a trained ModNet run (Basart 2017).

``fool`` writes ``fool.json`` (fooling rate against the frozen classifier and, with ``--second-classifier``,
against an independently trained one; L1/L2 change; the memorization check) and ``fool.png`` (originals
beside their versions for every target) into ``--out``. ``augment`` writes a labelled augmented ``.npz``.
"""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    fool = sub.add_parser("fool", help="ModNet fooling rate, transfer, L1/L2 change, memorization and a grid")
    fool.add_argument("--run", required=True, help="a modnet run folder")
    fool.add_argument("--classifier", required=True, help="the frozen classifier: a folder or a dataset name")
    fool.add_argument("--second-classifier", help="an independently trained classifier (transfer rate)")
    fool.add_argument("--n", type=int, default=100, help="test sources, each modified to every other label")
    fool.add_argument("--nn-train", type=int, help="training images searched by the memorization check "
                      "(default: the whole split)")
    fool.add_argument("--grid-rows", type=int, default=10, help="sources shown in fool.png")
    fool.add_argument("--seed", type=int, default=0)
    fool.add_argument("--out", help="folder for fool.json and fool.png (default: RUN/fool)")
    fool.set_defaults(func=_fool)

    aug = sub.add_parser("augment", help="a labelled .npz of n real images plus ModNet's versions for every "
                         "other label")
    aug.add_argument("--run", required=True, help="a modnet run folder")
    aug.add_argument("--n-real", type=int, required=True, help="real training images (a seeded subset)")
    aug.add_argument("--out", required=True, help="the .npz file to write")
    aug.add_argument("--seed", type=int, default=0)
    aug.set_defaults(func=_augment)


def _fool(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ganforge.experiments.modnet_fool import fool

    out = args.out or str(Path(args.run) / "fool")
    summary = fool(args.run, args.classifier, out, second_classifier=args.second_classifier, n=args.n,
                   seed=args.seed, nn_train=args.nn_train, grid_rows=args.grid_rows)
    print(json.dumps(summary, indent=2))
    return 0


def _augment(args: argparse.Namespace) -> int:
    from ganforge.experiments.augmentation import write_augmented

    print(json.dumps(write_augmented(args.run, args.n_real, args.out, seed=args.seed)))
    return 0


def add_augmentation_args(parser: argparse.ArgumentParser) -> None:
    """The options of ``ganforge experiment augmentation`` (registered by ``experiment_cmd``)."""
    parser.add_argument("--run", required=True, action="append", metavar="[LABEL=]RUN[,RUN...]",
                        help="a variant: trained modnet run folders, one per replicate (repeat for more variants; "
                        "the label defaults to the first folder's name)")
    parser.add_argument("--n-values", default="10,100,1000,10000", help="real training images per row")
    parser.add_argument("--epochs", type=float, help="passes over each training set (default: the dataset's "
                        "classifier recipe)")
    parser.add_argument("--min-steps", type=int, default=1000, help="SGD steps of a classifier at least")
    parser.add_argument("--warmup-steps", type=int, default=100, help="linear learning-rate warm-up steps")
    parser.add_argument("--steps", type=int, help="a fixed SGD step count for every classifier instead")
    parser.add_argument("--width", type=float, help="classifier width (default: the dataset's classifier recipe)")
    parser.add_argument("--lr", type=float, help="classifier learning rate (default: the dataset's recipe)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-test", type=int, default=10000, help="test images (a seeded subset)")
    parser.add_argument("--no-full-check", action="store_true", help="skip the recipe's run on the whole "
                        "training split (its convergence check)")
    parser.add_argument("--out", default="experiments/augmentation", help="folder for the CSV, PNG and JSON")
    parser.add_argument("--seed", type=int, default=0, help="replicate i uses seed + i")
    parser.set_defaults(func=_augmentation)


def parse_variants(specs: list[str]) -> dict[str, list[str]]:
    """``--run`` values ``[LABEL=]RUN[,RUN...]`` as {label: runs}; a repeated label is refused."""
    from pathlib import Path

    from ganforge.errors import ConfigError

    out: dict[str, list[str]] = {}
    for spec in specs:
        label, sep, paths = spec.partition("=")
        label, paths = (label, paths) if sep else ("", spec)
        runs = [p for p in paths.split(",") if p.strip()]
        label = label or (Path(runs[0]).name if runs else "")
        if not runs or not label or label in out:
            raise ConfigError(f"--run {spec!r}: give [LABEL=]RUN[,RUN...] with a label used once")
        out[label] = runs
    return out


def _augmentation(args: argparse.Namespace) -> int:
    import sys

    from ganforge.errors import ConfigError
    from ganforge.experiments.augmentation import augmentation

    try:
        n_values = tuple(int(v) for v in args.n_values.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"--n-values {args.n_values!r} is not a comma list of integers, e.g. 10,100") from None
    for name in ("width", "lr"):
        if getattr(args, name) is not None and not getattr(args, name) > 0:
            raise ConfigError(f"--{name} must be positive, got {getattr(args, name)}")
    recipe = {"width": args.width, "lr": args.lr, "epochs": args.epochs, "batch_size": args.batch_size,
              "min_steps": args.min_steps, "steps": args.steps, "warmup_steps": args.warmup_steps}
    summary = augmentation(parse_variants(args.run), args.out, n_values=n_values, recipe=recipe,
                           n_test=args.n_test, full_check=not args.no_full_check, seed=args.seed,
                           log=lambda line: print(line, file=sys.stderr, flush=True))
    print(accuracy_table(summary), file=sys.stderr)
    print(json.dumps(summary, indent=2))
    return 0


def accuracy_table(summary: dict) -> str:
    """Test accuracies (mean ± std over replicates) as a text table: per variant one row per n, one column per
    training set; then the full check."""
    sets = ("real", "real+generated", "generated")
    lines = [f"{'variant':>12}{'n real':>8}" + "".join(f"{name:>20}" for name in sets)]
    for label, per_n in summary["per_n"].items():
        for n, accs in per_n.items():
            cells = "".join(f"{accs[s]['mean']:>12.4f} ± {accs[s]['std']:.3f}" for s in sets)
            lines.append(f"{label:>12}{n:>8}" + cells)
    check = summary.get("full_check")
    if check:
        lines.append(f"full check: real only on all {check['train_size']} training images, {check['steps']} steps: "
                     f"{check['test_accuracy']:.4f} (domain classifier {check['domain_classifier_test_accuracy']})")
    return "\n".join(lines)
