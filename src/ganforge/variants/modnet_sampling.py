"""ModNet's sampling mode ``modify`` (Basart 2017): real test images, each modified to every other label,
x' = ModNet(x, y_t) for every y_t ≠ y. ``all_targets`` is also what ``ganforge fool``, ``ganforge augment`` and
the augmentation experiment apply (``ganforge.experiments.modnet_apply``).

Outputs are ordered source by source, targets increasing: for K classes, rows i·(K-1) .. i·(K-1) + K-2 are
source i modified to the K - 1 labels other than y_i. ``--grid`` shows one row per source: x_i, then its K - 1
versions; ``--npz`` holds ``samples`` (the versions), ``labels`` (their targets), ``source`` and ``pixel_range``.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch

from ganforge.errors import ConfigError
from ganforge.variants.sample_modes import SampleMode, check_n


def other_labels(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N, K-1): for each label y_i, the labels ≠ y_i in increasing order."""
    t = torch.arange(num_classes - 1).expand(len(y), -1)  # (N, K-1)
    return t + (t >= y[:, None]).long()


@torch.no_grad()
def all_targets(run: Any, x: torch.Tensor, y: torch.Tensor, *, ema: bool = False, batch_size: int = 500,
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every source modified to every other label.

    Args:
        run: the opened ModNet run (:class:`ganforge.train.run.Run`).
        x: sources (N, C, H, W) in the run's pixel range.
        y: their labels (N,).
        ema: use the EMA generator.
        batch_size: modified images per forward pass of G (eval mode: batch-independent).

    Returns:
        (x' (N·(K-1), C, H, W) float32 CPU, source index into x (N·(K-1),), target label (N·(K-1),)).
    """
    from ganforge.variants.modnet import modify

    if len(x) == 0:
        raise ConfigError("no source images to modify; pass a positive --n")
    K = run.num_classes
    source = torch.arange(len(x)).repeat_interleave(K - 1)
    target = other_labels(y, K).reshape(-1)
    G = run.nets_for_sampling(ema)["generator"]
    device = next(G.parameters()).device
    parts = []
    for i in range(0, len(source), batch_size):
        s, t = source[i:i + batch_size], target[i:i + batch_size]
        parts.append(modify(G, x[s].to(device), t.to(device), K, run.cfg.model.delta_mode, run.pixel_range).cpu())
    return torch.cat(parts), source, target


def _draw_modify(run: Any, args: argparse.Namespace) -> int:
    check_n(args.n)
    test = run.split("test")
    x, y = test.images[:args.n], test.labels[:args.n]
    x_mod, source, target = all_targets(run, x, y, ema=args.ema)
    if args.grid:
        rows = torch.cat([x[:, None].float(), x_mod.reshape(len(x), run.num_classes - 1, *x.shape[1:])], 1)
        run.write_grid(rows.flatten(0, 1), args.grid, nrow=run.num_classes)
        print(f"modified ({len(x)} rows: a test image, then its {run.num_classes - 1} other labels): {args.grid}")
    if args.npz:
        run.write_npz(args.npz, samples=x_mod, labels=target, source=source)
        print(f"samples: {args.npz} {tuple(x_mod.shape)}")
    return 0


MODIFY = SampleMode("modify", "the first --n test images, each modified to every other label (--grid: a row "
                    "per image; --npz; modnet)", _draw_modify)
