"""Generator steps per second of every preset: ganforge's default path vs a plain fp32 path.

Prints one JSON object. For ``wgan-gp-mnist`` it also times the hand-written plain PyTorch
baseline (benchmarks/plain_wgan_gp_mnist.py: same architecture and hyperparameters, fp32,
autograd double backward) in the same process, interleaving rounds, and reports the ratio.
Data are synthetic tensors of the preset's shape (the step cost does not depend on the pixels).
On a GPU (``train.device: auto`` takes it) everything runs there and each timing waits for the GPU to finish.

    python benchmarks/train_step.py [--presets wgan-gp-mnist,gan-mnist] [--rounds 5] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from ganforge import config as C  # noqa: E402
from ganforge.errors import GanforgeError  # noqa: E402
from ganforge.train.batches import BatchStream  # noqa: E402
from ganforge.train.runtime import cpu_has_native_bf16, to_memory_format  # noqa: E402
from ganforge.train.session import Session, build_nets  # noqa: E402
from ganforge.variants import DataShape, StepContext  # noqa: E402
from machine import describe  # noqa: E402
from plain_wgan_gp_mnist import PlainTrainer  # noqa: E402

PLAIN = ["train.precision=fp32", "train.channels_last=false", "train.compile=false"]
SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32), "svhn": (3, 32, 32)}


def synthetic_session(preset: str, sets: list[str]) -> Session:
    """A session of ``preset`` whose data are 2,000 random samples of the right shape."""
    cfg = C.resolve(preset=preset, sets=sets)
    shape = SHAPES.get(cfg.data.name, (2,))
    low, high = (float(v) for v in cfg.data.pixel_range.split(","))
    pixel_range = (low, high) if len(shape) == 3 else None
    data_shape = DataShape(shape, 10, pixel_range)
    from ganforge.train.runtime import resolve_precision, select_device

    device = select_device(cfg.train.device)
    images = torch.rand(2000, *shape, device=device) * (high - low) + low
    spec, nets = build_nets(cfg, data_shape, device)
    chl = cfg.train.channels_last
    labels = torch.zeros(2000, dtype=torch.long, device=device)
    stream = BatchStream(images, labels, batch_size=cfg.train.batch_size, seed=0,
                         transform=lambda x: to_memory_format(x, chl))
    return Session(cfg, spec, device, resolve_precision(cfg.train.precision, device), nets,
                   spec.build_optimizers(cfg, nets), data_shape, stream)


def ganforge_steps(session: Session, steps: int, start: int = 100) -> float:
    """Seconds per generator step over ``steps`` steps (past the warm-up schedule's first steps)."""
    t0 = time.perf_counter()
    for i in range(steps):
        ctx = StepContext(cfg=session.cfg, nets=session.nets, optimizers=session.optimizers,
                          next_batch=session.stream.next, step=start + i + 1, device=session.device,
                          autocast=session.autocast())
        session.spec.train_step(ctx)
    synchronize(session.device)
    return (time.perf_counter() - t0) / steps


def plain_steps(trainer: PlainTrainer, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    synchronize(trainer.device)
    return (time.perf_counter() - t0) / steps


def synchronize(device: torch.device) -> None:
    """Wait for a GPU's queued work (a no-op on the CPU), so that a timing covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_preset(preset: str, rounds: int, steps: int) -> dict:
    """Interleaved rounds of the default path, the plain-config path (and the plain baseline)."""
    model = C.resolve(preset=preset).model.name
    base = ["model.encoder=random"] if model == "ppgn" else []  # step speed does not depend on E's weights
    plain = base + PLAIN + (["model.gp_method=autograd"] if model == "wgan-gp" else [])
    runners = {"default": synthetic_session(preset, base), "plain_config": synthetic_session(preset, plain)}
    timers = {name: (lambda s=s: ganforge_steps(s, steps)) for name, s in runners.items()}
    if preset == "wgan-gp-mnist":
        baseline = PlainTrainer(torch.rand(2000, 1, 28, 28, device=runners["default"].device))
        timers["plain_pytorch"] = lambda: plain_steps(baseline, steps)
    for timer in timers.values():  # warm-up
        timer()
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(rounds):
        for name, timer in timers.items():
            samples[name].append(timer())
    out = {f"{name}_steps_per_s": 1.0 / statistics.median(v) for name, v in samples.items()}
    out.update({f"{name}_s_per_step_all": [round(x, 4) for x in v] for name, v in samples.items()})
    out["precision_default"] = runners["default"].precision
    if "plain_pytorch_steps_per_s" in out:
        out["speedup_vs_plain_pytorch"] = out["default_steps_per_s"] / out["plain_pytorch_steps_per_s"]
    out["speedup_vs_plain_config"] = out["default_steps_per_s"] / out["plain_config_steps_per_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(C.preset_names()))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    result = {"machine": {**describe(), "native_bf16": cpu_has_native_bf16()},
              "rounds": args.rounds, "steps_per_round": args.steps, "presets": {}}
    for preset in args.presets.split(","):
        try:
            result["presets"][preset] = bench_preset(preset, args.rounds, args.steps)
        except GanforgeError as exc:  # e.g. a frozen classifier not trained on this machine: say so, go on
            result["presets"][preset] = {"skipped": str(exc)}
        print(json.dumps({preset: result["presets"][preset]}), file=sys.stderr, flush=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
