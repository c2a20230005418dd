"""bf16 autocast follows the fp32 loss trajectory (WGAN-GP on MNIST-shaped data, 50 steps).

Documented tolerance: over 50 generator steps every logged loss stays within 2% of the fp32
trajectory's scale (max |value|); measured on CPU: about 0.25% (loss_d 0.028 of 14.1).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from ganforge.train.runtime import autocast_factory, cpu_has_native_bf16, resolve_precision
from ganforge.variants import StepContext

sys.path.insert(0, str(Path(__file__).parents[1] / "variants"))
from test_variants import UNIT, tiny_session  # noqa: E402


def trajectory(precision: str, steps: int = 50) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    session = tiny_session("wgan-gp", UNIT, ["model.net=wgan-gp-mnist", "model.width=8"])
    logs = []
    for step in range(steps):
        ctx = StepContext(cfg=session.cfg, nets=session.nets, optimizers=session.optimizers,
                          next_batch=session.stream.next, step=step, device=session.device,
                          autocast=autocast_factory(precision, session.device))
        logs.append({k: float(v) for k, v in session.spec.train_step(ctx).items()})
    return {key: torch.tensor([log[key] for log in logs]) for key in logs[0]}


def test_bf16_loss_trajectory_matches_fp32_within_two_percent():
    fp32, bf16 = trajectory("fp32"), trajectory("bf16")
    assert not torch.equal(fp32["loss_d"], bf16["loss_d"])  # bf16 really ran
    for key in ("loss_d", "loss_g", "wasserstein"):
        scale = float(fp32[key].abs().max())
        assert float((fp32[key] - bf16[key]).abs().max()) <= 0.02 * scale, key


def test_precision_auto_picks_by_device():
    assert resolve_precision("fp32", torch.device("cuda")) == "fp32"
    assert resolve_precision("auto", torch.device("cuda")) == "bf16"
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    expected = "bf16" if cpu_has_native_bf16() else "fp32"
    assert resolve_precision("auto", torch.device("cpu")) == expected


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_step_runs_under_bf16_autocast():
    from ganforge import config as C
    from ganforge.train.batches import BatchStream
    from ganforge.train.session import Session, build_nets

    cfg = C.resolve(preset="wgan-gp-mnist", sets=["model.width=8", "train.batch_size=8"])
    device = torch.device("cuda")
    spec, nets = build_nets(cfg, UNIT, device)
    stream = BatchStream(torch.rand(64, 1, 28, 28, device=device), torch.zeros(64, dtype=torch.long, device=device),
                         batch_size=8, seed=0)
    session = Session(cfg, spec, device, resolve_precision("auto", device), nets,
                      spec.build_optimizers(cfg, nets), UNIT, stream)
    assert session.precision == "bf16"
    ctx = StepContext(cfg=cfg, nets=nets, optimizers=session.optimizers, next_batch=stream.next, step=0,
                      device=device, autocast=session.autocast())
    out = spec.train_step(ctx)
    assert all(torch.isfinite(v).item() for v in out.values())
    assert all(p.dtype == torch.float32 and p.is_cuda for p in nets["generator"].parameters())
