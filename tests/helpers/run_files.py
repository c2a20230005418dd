"""Reading a run folder back in tests: a checkpoint's tensors, and the log without its timing column."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file


def checkpoint_tensors(run: Path, step: int, parts: tuple[str, ...] = ("modules", "optimizers")
                       ) -> dict[str, torch.Tensor]:
    """Every tensor of checkpoint ``step`` in ``run``, keyed ``"<part>:<name>"`` (parts: modules, optimizers, rng)."""
    folder = run / "checkpoints" / f"{step:08d}"
    return {f"{name}:{key}": value for name in parts
            for key, value in load_file(str(folder / f"{name}.safetensors")).items()}


def log_without_speed(run: Path) -> list[dict]:
    """The records of ``run/log.jsonl`` without ``it_per_s`` (wall-clock speed differs between equal runs)."""
    return [{k: v for k, v in json.loads(line).items() if k != "it_per_s"}
            for line in (run / "log.jsonl").read_text().splitlines()]
