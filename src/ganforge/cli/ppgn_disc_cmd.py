"""Options of ``ganforge experiment ppgn-disc`` (registered by ``experiment_cmd``): PPGN-h with critics on
encoder layers, six variants trained alike, then MALA samples scored by the domain classifier
(``ganforge.experiments.ppgn_disc``; seed thesis, KTH 2018)."""

from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = """\
Train the PPGN-disc variants (presets ppgn-<variant>) through the normal trainer into OUT/runs/<variant>,
then write per variant its sample grid, a MALA class grid (10 rows x --grid-columns), its Wasserstein-estimate
curves (OUT/ppgn_disc.png), training time, and DDM / FID / class accuracy of MALA samples measured with the
domain classifier (not PPGN's encoder E) against the MNIST test set: OUT/ppgn_disc.csv and OUT/ppgn_disc.json.

REDUCED by default, sized for a 2-core CPU (about an hour for all six variants on one core): width 0.125
(thesis 1), 3,750 generator steps = 10 epochs (thesis 15 epochs = 4,979 steps), no warm-up critic schedule (thesis: on),
MALA 20 chains per class x 1,000 steps (thesis 200: too few for these chains to settle, see prior_gap).
The thesis's setting: --width 1 --epochs 15 --warmup --mala-steps 200.
E (an MNIST classifier of the same width) is trained once and cached."""


def add_ppgn_disc_args(parser: argparse.ArgumentParser) -> None:
    """The options of ``ganforge experiment ppgn-disc``."""
    from ganforge.experiments.ppgn_disc import DEFAULT_STEPS, REDUCED_MALA_STEPS, VARIANTS

    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma list of {','.join(VARIANTS)}")
    parser.add_argument("--width", type=float, default=0.125, help="width of G, the critics and E (thesis: 1; "
                        "default 0.125, the reduced CPU version)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help=f"generator steps per variant (default {DEFAULT_STEPS} = 10 epochs; "
                        "with --minutes-per-variant: at most 4979)")
    length.add_argument("--epochs", type=float, help="epochs per variant, as generator steps by the thesis's relation "
                        "(15 epochs with --warmup = 4,979 steps; 1 epoch without = 375)")
    parser.add_argument("--minutes-per-variant", type=float, help="equal wall-time budget per variant (stops "
                        "training at the budget or the step count, whichever comes first)")
    parser.add_argument("--warmup", action="store_true", help="the thesis's warm-up critic schedule (100 critic "
                        "steps for the first 25 generator steps and every 500th; off in the reduced version)")
    parser.add_argument("--encoder", help="PPGN encoder E folder, trained there if empty (default: "
                        "<data cache>/classifiers/mnist-ppgn-encoder-w<W>)")
    parser.add_argument("--encoder-epochs", type=float, default=2.0, help="epochs when E must be trained")
    parser.add_argument("--classifier", help="domain classifier folder (default: mnist's cached classifier)")
    parser.add_argument("--second-classifier", help="an independently trained classifier folder: class accuracy of "
                        "the MALA samples by a network they were not optimised against")
    parser.add_argument("--n-recon", type=int, default=1000, help="test images reconstructed as G(E(x))")
    parser.add_argument("--per-class", type=int, default=20, help="MALA chains (samples) per class")
    parser.add_argument("--grid-columns", type=int, default=10, help="columns of each MALA class grid")
    parser.add_argument("--reference-run", default=None,
                        help="a run folder (e.g. runs/demo) whose generator's samples are scored alike, at the "
                             "same sample count, as a yardstick for DDM and FID")
    parser.add_argument("--mala-steps", type=int, default=REDUCED_MALA_STEPS,
                        help=f"MALA steps per chain (default {REDUCED_MALA_STEPS}; the thesis: 200)")
    parser.add_argument("--eps1", type=float, default=1e-2, help="MALA weight of R(h) - h")
    parser.add_argument("--eps2", type=float, default=1.0, help="MALA weight of the class gradient")
    parser.add_argument("--eps3", type=float, default=1e-15, help="MALA noise standard deviation")
    parser.add_argument("--n-test", type=int, default=10000, help="MNIST test images compared with")
    parser.add_argument("--out", default="experiments/ppgn-disc", help="folder for runs/, samples/, CSV, PNG, JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1, help="run every seed from --seed on into OUT/seed-<s> and "
                        "report mean ± std over them (ppgn_disc_seeds.csv/json); finished runs are reused")
    parser.add_argument("--jobs", type=int, help="variants trained side by side, each in its own process with the "
                        "threads shared out (default: one per torch thread, at most one per variant; 1: one after "
                        "another in this process)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="config override for every variant, e.g. model.adv_balance=every_step (repeatable)")
    parser.set_defaults(func=_ppgn_disc)


def settings_from_args(args: argparse.Namespace):
    """The :class:`~ganforge.experiments.ppgn_disc.DiscSettings` that ``args`` describe."""
    from ganforge.experiments.ppgn_disc import DEFAULT_STEPS, THESIS, DiscSettings, epochs_to_steps
    from ganforge.samplers.mala import MALASettings

    if args.epochs is not None:
        steps = epochs_to_steps(args.epochs, warmup=args.warmup)
    else:
        steps = THESIS["steps"] if args.minutes_per_variant is not None else DEFAULT_STEPS
        steps = steps if args.steps is None else args.steps
    mala = MALASettings(eps1=args.eps1, eps2=args.eps2, eps3=args.eps3, steps=args.mala_steps)
    return DiscSettings(variants=tuple(v.strip() for v in args.variants.split(",") if v.strip()), width=args.width,
                        steps=steps, minutes_per_variant=args.minutes_per_variant, warmup=args.warmup,
                        seed=args.seed, encoder=args.encoder, encoder_epochs=args.encoder_epochs,
                        classifier=args.classifier, second_classifier=args.second_classifier,
                        n_recon=args.n_recon, reference_run=args.reference_run, per_class=args.per_class,
                        grid_columns=args.grid_columns,
                        n_test=args.n_test, mala=mala, sets=tuple(args.sets), jobs=args.jobs)


def results_table(summary: dict) -> str:
    """The CSV's numbers as a text table, the training-set baseline last."""
    lines = [f"{'variant':<10}{'critics':>11}{'steps':>7}{'train s':>9}{'DDM':>9}{'FID':>9}{'class acc':>10}"
             f"{'2nd acc':>8}{'divers.':>8}{'recon':>7}{'rec FID':>8}  final w"]
    for name, r in summary["variants"].items():
        w = " ".join(f"{layer} {v:.3f}" for layer, v in r["final_w"].items() if v is not None)
        second = "-" if r.get("second_accuracy") is None else f"{r['second_accuracy']:.3f}"
        lines.append(f"{name:<10}{'+'.join(r['critics']):>11}{r['steps']:>7}{r['train_seconds']:>9.0f}"
                     f"{r['ddm']:>9.4f}{r['fid']:>9.3f}{r['class_accuracy']:>10.3f}{second:>8}"
                     f"{r['diversity_ratio']:>8.3f}{r['recon_accuracy']:>7.3f}"
                     f"{r['recon_fid']:>8.2f}  {w}")
    base = summary["baseline_train"]
    lines.append(f"{'train set':<10}{'':>11}{'':>7}{'':>9}{base['ddm']:>9.4f}{base['fid']:>9.3f}  (n = {base['n']})")
    if ref := base.get("reference"):
        lines.append(f"{'reference':<10}{'':>11}{'':>7}{'':>9}{ref['ddm']:>9.4f}{ref['fid']:>9.3f}  "
                     f"(n = {ref['n']}, {ref['run']})")
    return "\n".join(lines)


def seeds_table(summary: dict) -> str:
    """Mean ± std over the seeds of the main measures, one line per variant."""
    cols = (("class_accuracy", "class acc"), ("second_accuracy", "2nd acc"), ("diversity_ratio", "diversity"),
            ("recon_accuracy", "recon acc"), ("fid", "FID"), ("recon_fid", "FID of G(E(x))"),
            ("steps_per_second", "steps/s"))
    lines = [f"{'variant':<10}" + "".join(f"{name:>17}" for _, name in cols) + f"   ({len(summary['seeds'])} seeds)"]
    for variant, row in summary["variants"].items():
        cells = []
        for key, _ in cols:
            mean, std = row.get(f"{key}_mean"), row.get(f"{key}_std")
            cells.append(f"{'-':>17}" if mean is None else f"{mean:>10.3f} ± {std:<4.3f}")
        lines.append(f"{variant:<10}" + "".join(cells))
    return "\n".join(lines)


def _ppgn_disc(args: argparse.Namespace) -> int:
    from ganforge.experiments.ppgn_disc import ppgn_disc

    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if args.seeds != 1:
        from ganforge.experiments.ppgn_disc_seeds import ppgn_disc_seeds

        summary = ppgn_disc_seeds(args.out, settings_from_args(args), args.seeds, log=log)
        print(seeds_table(summary), file=sys.stderr)
        print(json.dumps({**summary, "variants": {v: {k: x for k, x in r.items() if k != "per_seed"}
                                                  for v, r in summary["variants"].items()}}, indent=2))
        return 0
    summary = ppgn_disc(args.out, settings_from_args(args), log=log)
    print(results_table(summary), file=sys.stderr)
    shown = {**summary, "variants": {name: {k: v for k, v in r.items() if k not in ("curves", "ratio_curves")}
                                     for name, r in summary["variants"].items()}}
    print(json.dumps(shown, indent=2))
    return 0
