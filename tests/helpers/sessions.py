"""Tiny training sessions of the registered variants, and the step / snapshot helpers the variant tests share."""

from __future__ import annotations

import copy

import torch

from ganforge import config as C
from ganforge.train.batches import BatchStream
from ganforge.train.session import Session, build_nets
from ganforge.variants import VARIANTS, DataShape, StepContext

IMAGE = DataShape((1, 28, 28), 10, (-1.0, 1.0))
TOY = DataShape((2,), 8, None)
UNIT = DataShape((1, 28, 28), 10, (0.0, 1.0))


def tiny_settings(model: str) -> dict:
    """The tiny config overrides that ``model``'s spec declares (``VariantSpec.tiny``); a copy."""
    tiny = VARIANTS.get(model).tiny
    assert tiny is not None, (f"model {model!r} is registered without tiny settings: give its VariantSpec "
                              "tiny={'model': {...}} (a few units wide, fast) so the contract tests can train it")
    return copy.deepcopy(tiny)


def tiny_session(model: str, data: DataShape, sets: list[str]) -> Session:
    """A CPU fp32 session of ``model`` at its spec's tiny settings on 64 random images of ``data``'s shape."""
    cfg = C.resolve(overrides=tiny_settings(model),
                    sets=[f"model.name={model}", "train.batch_size=8", "train.channels_last=false", *sets])
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
