"""What a benchmark ran on, for its JSON: the CPU's model name and bf16 flags, threads, torch, the GPU."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def describe() -> dict:
    """{"cpu": model name, "bf16_flags": the AMX/AVX512-BF16 flags present, "threads", "torch", "gpu": name or None}."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    names = [line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")]
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    return {"cpu": names[0] if names else platform.processor() or platform.machine(),
            "bf16_flags": [f for f in BF16_FLAGS if f in flags], "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
