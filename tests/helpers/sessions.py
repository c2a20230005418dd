"""Tiny training sessions of the registered variants, and the step / snapshot helpers the variant tests share."""

from __future__ import annotations

import torch

from ganforge import config as C
from ganforge.train.batches import BatchStream
from ganforge.train.session import Session, build_nets
from ganforge.variants import DataShape, StepContext

IMAGE = DataShape((1, 28, 28), 10, (-1.0, 1.0))
TOY = DataShape((2,), 8, None)
UNIT = DataShape((1, 28, 28), 10, (0.0, 1.0))
# variants outside the classic net families: (their tiny settings, frozen nets, whether they take 2-D toy data)
OWN_NETS = {"ppgn": (["model.encoder=random", "model.width=0.0625", "model.warmup=false"], {"encoder"}, False)}
OWN_NETS["lapgan"] = (["model.width=4", "model.hidden_g=8", "model.hidden_d=8", "model.z_dim=4"], set(), False)
OWN_NETS["modnet"] = (["model.width=2", "model.d_width=2", "model.bank_size=8"], {"record"}, False)
OWN_NETS["stackgan"] = (["model.encoder=random", "model.encoder_width=0.0625", "model.width=0.0625",
                        "model.noise_0=4", "model.noise_1=4"], {"encoder"}, False)


def tiny_session(model: str, data: DataShape, sets: list[str]) -> Session:
    """A CPU fp32 session of ``model`` at its tiny settings on 64 random images of ``data``'s shape."""
    net = "mlp" if data is TOY else "dcgan"
    family = [f"model.net={net}", "model.width=4", "model.hidden=8"]
    cfg = C.resolve(sets=[f"model.name={model}", *OWN_NETS.get(model, (family,))[0],
                          "train.batch_size=8", "train.channels_last=false", *sets])
    spec, nets = build_nets(cfg, data, torch.device("cpu"))
    images = torch.rand(64, *data.shape) * 2 - 1
    stream = BatchStream(images, torch.zeros(64, dtype=torch.long), batch_size=8, seed=0)
    return Session(cfg, spec, torch.device("cpu"), "fp32", nets, spec.build_optimizers(cfg, nets), data, stream)


def step(session: Session, index: int = 0) -> dict[str, float]:
    """One ``train_step`` of the session's variant at step ``index``; its logs as floats."""
    ctx = StepContext(cfg=session.cfg, nets=session.nets, optimizers=session.optimizers,
                      next_batch=session.stream.next, step=index, device=session.device)
    return {k: float(v) for k, v in session.spec.train_step(ctx).items()}


def snapshot(session: Session) -> dict[str, list[torch.Tensor]]:
    """A copy of every net's parameters, by net name."""
    return {k: [p.detach().clone() for p in v.parameters()] for k, v in session.nets.items()}


def changed(before: dict, session: Session) -> set[str]:
    """The names of the nets whose parameters differ from the ``snapshot`` ``before``."""
    return {k for k, v in session.nets.items()
            if any(not torch.equal(a, b) for a, b in zip(before[k], v.parameters(), strict=True))}
