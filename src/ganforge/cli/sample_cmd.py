"""``ganforge sample | interpolate | reconstruct``: draw from a run folder alone, through the sampling modes its
model declares (``VariantSpec.sample_modes``); this file knows no model by name.

``sample --mode NAME`` runs that mode; without ``--mode``, the older spellings select it: ``--sampler mala``, or
an option a mode lists as a trigger (``--class``, ``--levels``, ``--between-real``); else the model's first mode
(``noise``). A mode the run does not declare is one line naming the run's modes (exit status 2).
``reconstruct`` and ``interpolate --between-real`` are the ``reconstruct`` and ``between-real`` modes under their
older names; ``interpolate`` alone draws lerp and slerp rows between latent points of any model with a latent.
"""

from __future__ import annotations

import argparse

from ganforge.errors import ConfigError


def _all_modes() -> list:
    """Every registered model's sampling modes, each name once, in registration order."""
    from ganforge.variants import VARIANTS

    modes: dict = {}
    for name in VARIANTS:
        for mode in VARIANTS.get(name).sample_modes:
            modes.setdefault(mode.name, mode)
    return list(modes.values())


def register(sub: argparse._SubParsersAction) -> None:
    sample = sub.add_parser("sample", help="draw samples from a trained run (--mode NAME: its sampling modes)")
    _add_run_args(sample, ema="use the EMA generator")
    sample.add_argument("--n", type=int, default=64, help="number of samples")
    sample.add_argument("--grid", help="write a PNG grid here")
    sample.add_argument("--npz", help="write samples (and nothing else) to this .npz")
    sample.add_argument("--seed", type=int, default=0)
    modes = _all_modes()
    sample.add_argument("--mode", help="sampling mode: " + "; ".join(f"{m.name}: {m.help}" for m in modes))
    sample.add_argument("--sampler", default="default", metavar="NAME", help="older spelling of --mode "
                        "(--sampler mala)")
    for mode in modes:
        for flags, kwargs in mode.options:
            if not any(flag in sample._option_string_actions for flag in flags):  # shared options: first wins
                sample.add_argument(*flags, **kwargs)
    sample.set_defaults(func=_sample)

    interp = sub.add_parser("interpolate", help="latent interpolation grid (lerp and slerp rows)")
    interp.add_argument("--run", required=True)
    interp.add_argument("--steps", type=int, default=10)
    interp.add_argument("--pairs", type=int, default=4, help="pairs of endpoints (rows per method)")
    interp.add_argument("--out", required=True, help="PNG file")
    interp.add_argument("--seed", type=int, default=0)
    interp.add_argument("--ema", action="store_true")
    interp.add_argument("--between-real", metavar="I,J", help="runs with an encoder (aegan): decode from E(x_I) "
                        "to E(x_J) for test images I and J (one lerp and one slerp row; --pairs ignored)")
    interp.set_defaults(func=_interpolate)

    rec = sub.add_parser("reconstruct", help="test images beside their reconstructions G(E(x)), and the mean "
                         "L1 error (runs with an encoder: aegan); the reconstruct mode of `sample`")
    _add_run_args(rec, ema="use the EMA generator and encoder")
    rec.add_argument("--n", type=int, default=64, help="test images in the grid (the first N of the split)")
    rec.add_argument("--n-eval", type=int, help="test images in the mean L1 (default: the whole test split)")
    rec.add_argument("--grid", help="write a PNG here: x beside G(E(x)), 8 pairs a row")
    rec.add_argument("--json", help="write the results here (they are printed too)")
    rec.set_defaults(func=_reconstruct)


def _add_run_args(parser: argparse.ArgumentParser, *, ema: str) -> None:
    parser.add_argument("--run", required=True, help="run folder")
    parser.add_argument("--ema", action="store_true", help=ema)
    parser.add_argument("--step", type=int, help="checkpoint step (default: latest)")


def _asked_mode(args: argparse.Namespace) -> tuple[str | None, str]:
    """(mode name or None for the model's default, how the command line asked for it)."""
    if args.mode:
        return args.mode, f"--mode {args.mode}"
    if args.sampler != "default":
        return args.sampler, f"--sampler {args.sampler}"
    for mode in _all_modes():
        flags = [flags[0] for flags, kwargs in mode.options if _dest(flags, kwargs) in mode.triggers]
        if any(getattr(args, dest, None) is not None for dest in mode.triggers):
            return mode.name, flags[0] if len(flags) == 1 else ", ".join(flags[:-1]) + " and " + flags[-1]
    return None, "sample"


def _dest(flags: tuple[str, ...], kwargs: dict) -> str:
    return kwargs.get("dest") or flags[0].lstrip("-").replace("-", "_")


def _sample(args: argparse.Namespace) -> int:
    from ganforge.train.run import open_run

    name, said = _asked_mode(args)
    return _draw(open_run(args.run, step=args.step), args, name, said)


def _draw(run, args: argparse.Namespace, name: str | None, said: str) -> int:
    """Hand the opened run to its mode ``name`` (the model's first when None)."""
    modes = {mode.name: mode for mode in run.spec.sample_modes}
    if name is None:
        return run.spec.sample_modes[0].draw(run, args)
    if name not in modes:
        raise _missing_mode(run, name, said, args)
    return modes[name].draw(run, args)


def _missing_mode(run, name: str, said: str, args: argparse.Namespace) -> ConfigError:
    """One line: what the mode needs, that this run's model does not declare it, its modes, and a way out."""
    from ganforge.variants import VARIANTS

    offering = [model for model in VARIANTS if name in {m.name for m in VARIANTS.get(model).sample_modes}]
    ours = ", ".join(m.name for m in run.spec.sample_modes)
    if not offering:
        return ConfigError(f"unknown sampling mode {name!r}; a {run.spec.name!r} run has the modes {ours} "
                           "(ganforge sample --mode NAME)")
    wanted = next(m for m in _all_modes() if m.name == name)
    given = {dest for dest in wanted.triggers if getattr(args, dest, None) is not None}
    other = [m.name for m in run.spec.sample_modes if given & {_dest(f, kw) for f, kw in m.options}]
    hint = "".join(f"; add --sampler {m} (--mode {m})" for m in other)  # a mode of this run that takes those options
    needs = wanted.requires or "a " + " or ".join(offering) + " run"
    return ConfigError(f"{said} {'need' if ' and ' in said else 'needs'} {needs}: a {run.spec.name!r} run does not "
                       f"define sampling mode {name!r} (its modes: {ours}){hint}")


def _reconstruct(args: argparse.Namespace) -> int:
    from ganforge.train.run import open_run

    return _draw(open_run(args.run, step=args.step), args, "reconstruct", "reconstruct")


def _interpolate(args: argparse.Namespace) -> int:
    import torch

    from ganforge.samplers.interpolate import interpolate_latents
    from ganforge.train.run import open_run

    run = open_run(args.run)
    if len(run.data_shape.shape) != 3:
        raise ConfigError("interpolate draws image grids; this run generates 2-D points")
    if args.between_real is not None:  # the between-real mode, its grid written to --out
        return _draw(run, argparse.Namespace(**vars(args), grid=args.out), "between-real", "interpolate --between-real")
    gen = torch.Generator().manual_seed(args.seed)
    ends = torch.randn(args.pairs, 2, run.cfg.model.z_dim, generator=gen)
    z = torch.cat([interpolate_latents(a, b, args.steps, method) for method in ("lerp", "slerp") for a, b in ends])
    run.write_grid(run.generate(ema=args.ema, z=z), args.out, nrow=args.steps)
    print(f"interpolation grid ({args.pairs} lerp rows, then {args.pairs} slerp rows): {args.out}")
    return 0
