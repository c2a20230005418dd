"""A tiny PPGN-h session and its encoder written out by hand, shared by the PPGN-h variant and balance tests."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ganforge import config as C
from ganforge.nets import MNISTClassifier
from ganforge.train.batches import BatchStream
from ganforge.train.session import Session, build_nets
from ganforge.variants import DataShape

MNIST = DataShape((1, 28, 28), 10, (-1.0, 1.0))
TINY = ["model.name=ppgn", "model.encoder=random", "model.width=0.0625", "train.batch_size=4",
        "train.channels_last=false", "model.warmup=false", "model.n_critic=1"]


def tiny_session(*sets: str) -> Session:
    """A CPU fp32 PPGN-h session at ``TINY`` (plus ``sets``) on 32 random MNIST-shaped images."""
    cfg = C.resolve(sets=[*TINY, *sets])
    spec, nets = build_nets(cfg, MNIST, torch.device("cpu"))
    images = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2 - 1
    stream = BatchStream(images, torch.zeros(32, dtype=torch.long), batch_size=4, seed=0)
    return Session(cfg, spec, torch.device("cpu"), "fp32", nets, spec.build_optimizers(cfg, nets), MNIST, stream)


def encoder_by_hand(E: MNISTClassifier, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(conv2 activations, fc1 code) written out with the functional ops."""
    a1 = F.relu(F.conv2d(x, E.conv1.weight, E.conv1.bias))
    a2 = F.relu(F.conv2d(a1, E.conv2.weight, E.conv2.bias))
    a3 = F.max_pool2d(F.relu(F.conv2d(F.max_pool2d(a2, 2), E.conv3.weight, E.conv3.bias)), 2)
    return a2, F.relu(a3.flatten(1) @ E.fc1.weight.T + E.fc1.bias)
