"""AEGAN's sampling modes, which need the run's encoder (Lazarou 2020): ``reconstruct`` (held-out test images
beside their reconstructions x~ = G(E(x)), and the mean L1 error) and ``between-real`` (real-to-real
interpolation: z_a = E(x_a), z_b = E(x_b), points between them decoded). ``ganforge reconstruct`` and
``ganforge interpolate --between-real I,J`` are the older spellings.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import torch

from ganforge.errors import ConfigError
from ganforge.variants.sample_modes import SampleMode

PAIRS_PER_ROW = 8
ENCODER_RUN = "a run with an encoder (model aegan)"


def _check_count(flag: str, value: int, available: int, dataset: str) -> None:
    if not 1 <= value <= available:
        raise ConfigError(f"{flag} must be between 1 and {available} (the test split of {dataset}), got {value}")


def _draw_reconstruct(run: Any, args: argparse.Namespace) -> int:
    from ganforge.variants.aegan import mean_reconstruction_l1

    nets = run.nets_for_sampling(args.ema)
    if args.grid and len(run.data_shape.shape) != 3:
        raise ConfigError("reconstruct --grid draws images; this run's samples are 2-D points (drop --grid)")
    images = run.split("test").images
    name = run.cfg.data.name
    n_eval = len(images) if args.n_eval is None else args.n_eval
    _check_count("--n-eval", n_eval, len(images), name)
    if args.grid:
        _check_count("--n", args.n, len(images), name)
        _write_pairs(run, nets, images[: args.n], args.grid)
    pixel_range = run.pixel_range
    result = {"run": str(args.run), "step": run.step, "dataset": name, "split": "test", "n_eval": n_eval,
              "mean_l1": mean_reconstruction_l1(nets, images[:n_eval]),
              "pixel_range": list(pixel_range) if pixel_range is not None else None, "ema": args.ema,
              "grid": args.grid}
    print(run.write_json(args.json, result) if args.json else json.dumps(result, indent=2))
    return 0


def _write_pairs(run: Any, nets: dict, x: torch.Tensor, path: str) -> None:
    """A grid of x_i beside G(E(x_i)): rows of up to ``PAIRS_PER_ROW`` pairs."""
    from ganforge.variants.aegan import reconstruct

    _, x_tilde = reconstruct(nets, x)
    pairs = torch.stack([x.float().cpu(), x_tilde], dim=1).flatten(0, 1)  # (2N, C, H, W): x_0, x~_0, x_1, ...
    run.write_grid(pairs, path, nrow=2 * min(PAIRS_PER_ROW, len(x)))


def _parse_pair(text: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ConfigError(f"--between-real {text!r} is not I,J; give two test-split indices, for example 0,7")
    return int(parts[0]), int(parts[1])


def _draw_between_real(run: Any, args: argparse.Namespace) -> int:
    """Rows x_I, decoded points from E(x_I) to E(x_J), x_J; one row with lerp, one with slerp."""
    from ganforge.samplers.interpolate import interpolate_latents
    from ganforge.variants.aegan import reconstruct

    if args.between_real is None:
        raise ConfigError("--mode between-real needs --between-real I,J (two test-split indices)")
    i, j = _parse_pair(args.between_real)
    steps = 10 if args.steps is None else args.steps
    if steps < 2:
        raise ConfigError(f"--steps must be at least 2 (both ends), got {steps}")
    out = args.grid or str(run.path / "samples" / "between-real.png")
    nets = run.nets_for_sampling(args.ema)
    images = run.split("test").images
    for index in (i, j):
        if index >= len(images):
            raise ConfigError(f"--between-real index {index} is out of range: the test split of "
                              f"{run.cfg.data.name} has {len(images)} images (0 to {len(images) - 1})")
    ends = images[[i, j]].float()
    z, _ = reconstruct(nets, ends)  # (2, z_dim): z_a = E(x_a), z_b = E(x_b)
    rows = []
    for method in ("lerp", "slerp"):
        decoded = run.generate(ema=args.ema, z=interpolate_latents(z[0], z[1], steps, method))  # (steps, ...)
        rows.append(torch.cat([ends[:1], decoded, ends[1:]]))
    run.write_grid(torch.cat(rows), out, nrow=steps + 2)
    print(f"real-to-real interpolation grid (x_{i}, {steps} decoded points, x_{j}; a lerp row, then a "
          f"slerp row): {out}")
    return 0


RECONSTRUCT = SampleMode("reconstruct", "test images beside G(E(x)) (--grid) and the mean L1 error (--json; aegan)",
                         _draw_reconstruct, (
    (("--n-eval",), {"type": int, "help": "reconstruct: test images in the mean L1 (default: the whole test split)"}),
    (("--json",), {"help": "reconstruct: write the results here (they are printed too)"})),
    requires=ENCODER_RUN)
BETWEEN_REAL = SampleMode("between-real", "decode from E(x_I) to E(x_J) for test images I and J, a lerp and a slerp "
                          "row (--between-real I,J --steps K --grid PNG; aegan)", _draw_between_real, (
    (("--between-real",), {"metavar": "I,J", "help": "between-real: the two test-split indices"}),
    (("--steps",), {"type": int, "help": "MALA steps per chain (default 200); decoded points of between-real "
                    "(default 10)"})),
    triggers=("between_real",), requires=ENCODER_RUN)
