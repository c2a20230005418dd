"""``ganforge evaluate`` and ``ganforge classifier train``: measures of generated samples, and their classifier."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ganforge.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("evaluate", help="DDM, IS, FID, KID, Parzen, memorization, modes of generated samples")
    fake = ev.add_mutually_exclusive_group(required=True)
    fake.add_argument("--run", help="run folder: draw samples from its generator")
    fake.add_argument("--fake", help="samples: .npy, .npz (key 'samples' or 'images') or a folder of images")
    fake.add_argument("--self-check", action="store_true", help="check FID/KID on the --real set against itself: "
                      "≈ 0, features independent of the batch size, float64 statistics (exit 1 if a check fails)")
    ev.add_argument("--ema", action="store_true", help="with --run: use the EMA generator")
    ev.add_argument("--step", type=int, help="with --run: checkpoint step (default: latest)")
    ev.add_argument("--all-checkpoints", action="store_true",
                    help="with --run: evaluate every kept checkpoint; writes RUN/ddm_over_training.csv and .png")
    ev.add_argument("--pixel-range", help="with --fake float arrays without a stored range: LOW,HIGH "
                    "(--pixel-range=0,1 or --pixel-range=-1,1: with '=', as -1,1 would read as an option)")
    ev.add_argument("--real", help="DATASET[:split] (default: the run's dataset, test split) or a PATH of samples")
    ev.add_argument("--dataset", help="with --real PATH: the dataset for the training baseline and classifier")
    ev.add_argument("--val-size", type=int, help="with --real DATASET:val: training items held out as val "
                    "(default: the run's data.val_size, else 10000)")
    ev.add_argument("--metrics", default="ddm,is,fid,kid", help="comma list of ddm,is,fid,kid,parzen,nn,modes")
    ev.add_argument("--n", type=int, default=10000, help="samples per set (generated, real, training baseline)")
    ev.add_argument("--embedding", choices=("logits", "prelogits", "hypercolumns", "identity"),
                    help="where the classifier's features are read (default: logits)")
    ev.add_argument("--features", metavar="SPEC", help="your feature extractor instead of the classifier's embedding "
                    "(ddm, fid, kid, nn): a TorchScript file or pkg.module:function returning an nn.Module; it gets "
                    "float32 (N, C, H, W) images in [0, 1] and returns (N, D); is and modes keep the classifier")
    ev.add_argument("--classifier", help="classifier folder (default: the dataset's cached classifier)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the samples, real subsets and KID subsets")
    ev.add_argument("--nn-train", type=int, help="nn: training items searched (default: the whole split)")
    ev.add_argument("--no-cache", action="store_true", help="do not read or write cached real features")
    ev.add_argument("--json", help="write the results here (nn writes nn_grid.png beside it)")
    ev.set_defaults(func=_evaluate)

    cls = sub.add_parser("classifier", help="the per-dataset domain classifier behind the measures")
    cls_sub = cls.add_subparsers(dest="classifier_command", metavar="ACTION", required=True)
    train = cls_sub.add_parser("train", help="train it on the training split and save it (prints test accuracy)")
    train.add_argument("--dataset", required=True)
    train.add_argument("--out", help="folder (default: <data cache>/classifiers/<dataset>)")
    train.add_argument("--epochs", type=float)
    train.add_argument("--width", type=float, help="conv width multiplier")
    train.add_argument("--lr", type=float)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--path", help="the dataset's folder (imagefolder or official files)")
    train.add_argument("--max-minutes", type=float, help="stop training after this long, then evaluate and save")
    train.add_argument("--max-steps", type=int, help="cap on SGD steps (quick runs)")
    train.add_argument("--train-size", type=int, help="train on a random subset of this many images")
    train.add_argument("--test-size", type=int, help="measure accuracy on a random subset of this many test images")
    train.set_defaults(func=_train_classifier)


def _train_classifier(args: argparse.Namespace) -> int:
    from ganforge.train.classifier import train_classifier

    for name in ("epochs", "width", "lr", "max_minutes"):
        if getattr(args, name) is not None and not getattr(args, name) > 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    meta = train_classifier(args.dataset, out_dir=args.out, epochs=args.epochs, width=args.width, lr=args.lr,
                            batch_size=args.batch_size, seed=args.seed, data_path=args.path,
                            max_minutes=args.max_minutes, max_steps=args.max_steps, train_size=args.train_size,
                            test_size=args.test_size,
                            log=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"test accuracy {meta['test_accuracy']:.4f} ({meta['dataset']}, {meta['architecture']} width "
          f"{meta['build']['width']}, {meta['epochs']:.2f} epochs, {meta['seconds']} s) -> {meta['dir']}")
    return 0


def _parse_range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"--pixel-range {text!r} is not LOW,HIGH; use --pixel-range=0,1 or "
                          "--pixel-range=-1,1") from None
    if not low < high:
        raise ConfigError(f"--pixel-range {text!r} needs LOW < HIGH; use --pixel-range=0,1 or "
                          "--pixel-range=-1,1")
    return low, high


def _fake_samples(args: argparse.Namespace):
    """(samples, pixel range, the run's DataConfig or None) from --run or --fake."""
    from ganforge.metrics.evaluate import samples_from_run
    from ganforge.metrics.features import load_samples

    if args.run:
        return samples_from_run(args.run, args.n, seed=args.seed, ema=args.ema, step=args.step)
    if args.ema or args.step is not None or args.all_checkpoints:
        raise ConfigError("--ema, --step and --all-checkpoints apply to --run only; drop them with --fake")
    samples, pixel_range = load_samples(args.fake, pixel_range=_parse_range(args.pixel_range), limit=args.n)
    return samples, pixel_range, None


def _request(args: argparse.Namespace, run_data):
    """The EvalRequest from --real/--dataset/--classifier/--val-size and the run's DataConfig (or None)."""
    from ganforge.metrics.eval_request import build_request

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    return build_request(args.real, metrics=metrics, n=args.n, seed=args.seed, embedding=args.embedding,
                         classifier=args.classifier, features=args.features, dataset=args.dataset,
                         pixel_range=_parse_range(args.pixel_range),
                         val_size=args.val_size, run_data=run_data, feature_cache=False if args.no_cache else None,
                         grid_path=Path(args.json).with_name("nn_grid.png") if args.json else None,
                         nn_train=args.nn_train)


def _evaluate(args: argparse.Namespace) -> int:
    from ganforge.data.cache import write_bytes_atomic
    from ganforge.metrics.eval_request import check_n
    from ganforge.metrics.evaluate import evaluate, finite_or_none

    check_n(args.n)
    if args.features:  # loaded (and checked against the other flags) before any sample is drawn
        from ganforge.metrics.eval_request import resolve_features

        args.features, args.embedding = resolve_features(args.features, args.embedding, args.classifier,
                                                         [m.strip() for m in args.metrics.split(",")])
    if args.self_check:
        return _self_check(args)
    if args.all_checkpoints:
        return _all_checkpoints(args)
    samples, pixel_range, run_data = _fake_samples(args)
    req = _request(args, run_data)
    result = finite_or_none(evaluate(samples, pixel_range, req))
    text = json.dumps(result, indent=2)
    if args.json:
        write_bytes_atomic(Path(args.json), (text + "\n").encode())
    print(text)
    return 0


def _all_checkpoints(args: argparse.Namespace) -> int:
    from ganforge.data.cache import write_bytes_atomic
    from ganforge.experiments.over_training import evaluate_checkpoints
    from ganforge.metrics.evaluate import finite_or_none
    from ganforge.train.run import open_run

    if not args.run or args.step is not None:
        raise ConfigError("--all-checkpoints needs --run RUN and no --step")
    req = _request(args, open_run(args.run).cfg.data)
    rows = finite_or_none(evaluate_checkpoints(args.run, req, ema=args.ema,
                                               log=lambda line: print(line, file=sys.stderr, flush=True)))
    text = json.dumps({"run": args.run, "rows": rows, "csv": str(Path(args.run) / "ddm_over_training.csv"),
                       "png": str(Path(args.run) / "ddm_over_training.png"), "notes": req.notes}, indent=2)
    if args.json:
        write_bytes_atomic(Path(args.json), (text + "\n").encode())
    print(text)
    return 0


def _self_check(args: argparse.Namespace) -> int:
    """``--self-check``: :func:`ganforge.metrics.self_check.self_check` on n items of the --real set."""
    from ganforge.data import DATASETS
    from ganforge.metrics.extractors import check_features
    from ganforge.metrics.features import load_real
    from ganforge.metrics.self_check import self_check

    if args.ema or args.step is not None or args.all_checkpoints:
        raise ConfigError("--ema, --step and --all-checkpoints apply to --run only; drop them with --self-check")
    req = _request(args, None)
    if req.real is not None:
        images, pixel_range = req.real, req.real_pixel_range
    else:
        images, _, pixel_range, _ = load_real(req.dataset, req.real_split, req.n, req.seed, val_size=req.val_size)
    toy = not DATASETS.get(req.dataset).pixels
    check_features(req.features, req.embedding, toy=toy, dataset=req.dataset)
    embedding, net = ("identity", None) if toy else (req.embedding, req.features)
    if embedding not in ("identity", "features"):
        from ganforge.train.classifier import load_classifier

        net = load_classifier(req.classifier or req.dataset)[0]
    result = {"real": args.real, "dataset": req.dataset,
              **self_check(net, images[:req.n], pixel_range, embedding=embedding, seed=req.seed)}
    print(json.dumps(result, indent=2))
    if not result["pass"]:
        failed = ", ".join(k for k, c in result["checks"].items() if not c["pass"])
        print(f"self-check failed: {failed}", file=sys.stderr)
        return 1
    return 0
