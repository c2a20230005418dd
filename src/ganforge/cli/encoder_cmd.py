"""``ganforge reconstruct`` and ``interpolate --between-real``: commands that need a run's encoder.

Both follow AEGAN (Lazarou 2020): reconstructions x~ = G(E(x)) of held-out test images with their mean
L1 error, and real-to-real interpolation (z_a = E(x_a), z_b = E(x_b), decode points between them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ganforge.errors import ConfigError

PAIRS_PER_ROW = 8


def register(sub: argparse._SubParsersAction) -> None:
    rec = sub.add_parser("reconstruct", help="test images beside their reconstructions G(E(x)), and the mean "
                         "L1 error (runs with an encoder: aegan)")
    rec.add_argument("--run", required=True, help="run folder")
    rec.add_argument("--n", type=int, default=64, help="test images in the grid (the first N of the split)")
    rec.add_argument("--n-eval", type=int, help="test images in the mean L1 (default: the whole test split)")
    rec.add_argument("--grid", help=f"write a PNG here: x beside G(E(x)), {PAIRS_PER_ROW} pairs a row")
    rec.add_argument("--json", help="write the results here (they are printed too)")
    rec.add_argument("--ema", action="store_true", help="use the EMA generator and encoder")
    rec.add_argument("--step", type=int, help="checkpoint step (default: latest)")
    rec.set_defaults(func=_reconstruct)


def encoder_nets(session, ema: bool, command: str) -> dict:
    """The run's nets (EMA copies with ``ema``); refuses runs without an encoder."""
    if "encoder" not in session.nets:
        raise ConfigError(f"{command} needs a run with an encoder (model aegan); this run is model "
                          f"{session.cfg.model.name!r}")
    if ema and not session.ema:
        raise ConfigError("this run has no EMA generator and encoder (train.ema was 0); drop --ema")
    return {**session.nets, **(session.ema if ema else {})}


def held_out_images(session) -> torch.Tensor:
    """The test split of the run's dataset, (N, C, H, W) in the run's pixel range (toy sets: (N, 2))."""
    from ganforge.data import load_dataset
    from ganforge.train.session import parse_pixel_range

    d = session.cfg.data
    data = load_dataset(d.name, "test", path=d.path, pixel_range=parse_pixel_range(d.pixel_range),
                        seed=session.cfg.train.seed, image_size=d.image_size, grayscale=d.grayscale)
    return data.images


def _check_count(flag: str, value: int, available: int, dataset: str) -> None:
    if not 1 <= value <= available:
        raise ConfigError(f"{flag} must be between 1 and {available} (the test split of {dataset}), got {value}")


def _reconstruct(args: argparse.Namespace) -> int:
    from ganforge.data.cache import write_bytes_atomic
    from ganforge.train.session import open_run
    from ganforge.variants.aegan import mean_reconstruction_l1

    session = open_run(Path(args.run), step=args.step)
    nets = encoder_nets(session, args.ema, "reconstruct")
    if args.grid and len(session.data_shape.shape) != 3:
        raise ConfigError("reconstruct --grid draws images; this run's samples are 2-D points (drop --grid)")
    images = held_out_images(session)
    name = session.cfg.data.name
    n_eval = len(images) if args.n_eval is None else args.n_eval
    _check_count("--n-eval", n_eval, len(images), name)
    if args.grid:
        _check_count("--n", args.n, len(images), name)
        _write_pairs(nets, images[: args.n], args.grid, session.data_shape.pixel_range)
    pixel_range = session.data_shape.pixel_range
    result = {"run": str(args.run), "step": session.step, "dataset": name, "split": "test", "n_eval": n_eval,
              "mean_l1": mean_reconstruction_l1(nets, images[:n_eval]),
              "pixel_range": list(pixel_range) if pixel_range is not None else None, "ema": args.ema,
              "grid": args.grid}
    text = json.dumps(result, indent=2)
    if args.json:
        write_bytes_atomic(Path(args.json), (text + "\n").encode())
    print(text)
    return 0


def _write_pairs(nets: dict, x: torch.Tensor, path: str, pixel_range) -> None:
    """A grid of x_i beside G(E(x_i)): rows of up to ``PAIRS_PER_ROW`` pairs."""
    from ganforge.train.grids import save_grid
    from ganforge.variants.aegan import reconstruct

    _, x_tilde = reconstruct(nets, x)
    pairs = torch.stack([x.float().cpu(), x_tilde], dim=1).flatten(0, 1)  # (2N, C, H, W): x_0, x~_0, x_1, ...
    save_grid(pairs, path, nrow=2 * min(PAIRS_PER_ROW, len(x)), pixel_range=pixel_range)


def _parse_pair(text: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ConfigError(f"--between-real {text!r} is not I,J; give two test-split indices, for example 0,7")
    return int(parts[0]), int(parts[1])


def interpolate_between_real(args: argparse.Namespace, session) -> int:
    """``interpolate --between-real I,J``: rows x_I, decoded points from E(x_I) to E(x_J), x_J; one
    row with lerp, one with slerp (EMA generator and encoder with --ema)."""
    from ganforge.samplers.interpolate import interpolate_latents
    from ganforge.train.grids import save_grid
    from ganforge.variants.aegan import reconstruct

    i, j = _parse_pair(args.between_real)
    if args.steps < 2:
        raise ConfigError(f"--steps must be at least 2 (both ends), got {args.steps}")
    nets = encoder_nets(session, args.ema, "interpolate --between-real")
    images = held_out_images(session)
    for index in (i, j):
        if index >= len(images):
            raise ConfigError(f"--between-real index {index} is out of range: the test split of "
                              f"{session.cfg.data.name} has {len(images)} images (0 to {len(images) - 1})")
    ends = images[[i, j]].float()
    z, _ = reconstruct(nets, ends)  # (2, z_dim): z_a = E(x_a), z_b = E(x_b)
    rows = []
    for method in ("lerp", "slerp"):
        path = interpolate_latents(z[0], z[1], args.steps, method)  # (steps, z_dim)
        with torch.no_grad():
            decoded = session.spec.generate(nets, session.cfg, len(path), z=path).cpu()
        rows.append(torch.cat([ends[:1], decoded, ends[1:]]))
    save_grid(torch.cat(rows), args.out, nrow=args.steps + 2, pixel_range=session.data_shape.pixel_range)
    print(f"real-to-real interpolation grid (x_{i}, {args.steps} decoded points, x_{j}; a lerp row, then a "
          f"slerp row): {args.out}")
    return 0
