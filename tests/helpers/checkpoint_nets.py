"""Tiny nets and optimizers for the checkpoint tests, importable by the writer subprocess those tests kill."""

from __future__ import annotations

import torch
from torch import nn

OPTIMIZERS = {
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.5, 0.9)),
    "adam-fused-amsgrad": lambda p: torch.optim.Adam(p, lr=1e-2, fused=True, amsgrad=True),
    "adam-tensor-lr": lambda p: torch.optim.Adam(p, lr=torch.tensor(1e-2), foreach=False),
    "adamw-foreach": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1, foreach=True),
    "rmsprop-centered-momentum": lambda p: torch.optim.RMSprop(p, lr=1e-3, momentum=0.9, centered=True),
    "sgd-nesterov": lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9, nesterov=True, weight_decay=1e-4),
}


def make_nets(width: int = 8, seed: int = 0) -> dict[str, nn.Module]:
    """A tiny generator (with BatchNorm buffers) and critic."""
    torch.manual_seed(seed)
    generator = nn.Sequential(nn.Linear(4, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, 3))
    critic = nn.Sequential(nn.Linear(3, width), nn.LeakyReLU(0.2), nn.Linear(width, 1))
    return {"generator": generator, "critic": critic}


def make_optimizers(nets: dict[str, nn.Module], kind: str = "adam") -> dict[str, torch.optim.Optimizer]:
    """One optimizer of ``kind`` (a key of ``OPTIMIZERS``) per net."""
    return {name: OPTIMIZERS[kind](net.parameters()) for name, net in nets.items()}
