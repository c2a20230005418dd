"""Device, precision and memory-format choices for training and sampling.

``device: auto`` takes CUDA when present, else the CPU. ``precision: auto`` takes bf16 autocast on
CUDA and on CPUs with native bf16 matrix units (AMX or AVX512-BF16), fp32 elsewhere: on CPUs
without them bf16 is emulated and slower than fp32 (measured in ``benchmarks/train_step.py``).
The environment variable ``GANFORGE_PRECISION`` (``fp32`` or ``bf16``) overrides what ``auto`` picks,
so one machine can run as the other kind of CPU would (``make test`` does, for the tests marked
``precision``); an explicit ``train.precision`` is never overridden.

``train.deterministic`` (default true) asks CUDA for deterministic kernels (:func:`use_deterministic_cuda`),
so that a resumed run equals an uninterrupted one bit for bit on a GPU as it does on a CPU, whose kernels
are deterministic already.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from pathlib import Path

import torch

from ganforge.errors import ConfigError


def select_device(name: str) -> torch.device:
    """``auto`` → cuda if available else cpu; otherwise the named device (checked)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device {name!r} is not a device; use auto, cpu or cuda[:N]") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device {name!r} asked for CUDA but none is available; use train.device=cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"train.device {name!r} names GPU {device.index}, but this machine has "
                          f"{torch.cuda.device_count()}; use train.device=cuda (the first) or cuda:N with a smaller N")
    return device


def sampling_device(name: str) -> torch.device:
    """Where an opened run's nets go: its training device (``train.device``) when this machine has it, else
    the CPU, so that a run trained on a GPU samples and is evaluated on a machine without one."""
    try:
        return select_device(name)
    except ConfigError:
        return torch.device("cpu")


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when /proc/cpuinfo lists AMX-BF16 or AVX512-BF16 (Linux; False elsewhere)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


PRECISION_ENV = "GANFORGE_PRECISION"
PRECISIONS = ("fp32", "bf16")


def precision_override() -> str | None:
    """The precision ``GANFORGE_PRECISION`` forces on ``auto`` (None when unset or empty)."""
    value = os.environ.get(PRECISION_ENV, "").strip().lower()
    if not value:
        return None
    if value not in PRECISIONS:
        raise ConfigError(f"{PRECISION_ENV}={value!r} is not a precision; set it to fp32 or bf16, or unset it")
    return value


def other_cpu_precision() -> str:
    """What ``auto`` picks on the other kind of CPU: ``fp32`` where this one has native bf16, else ``bf16``."""
    return "fp32" if cpu_has_native_bf16() else "bf16"


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` → ``GANFORGE_PRECISION`` if set, else ``bf16`` on CUDA or CPUs with native bf16, else ``fp32``."""
    if precision != "auto":
        return precision
    forced = precision_override()
    if forced is not None:
        return forced
    if device.type == "cuda" or cpu_has_native_bf16():
        return "bf16"
    return "fp32"


CUBLAS_WORKSPACE = ":4096:8"  # what cuBLAS needs for deterministic matrix products (CUDA >= 10.2)


def use_deterministic_cuda(device: torch.device, enabled: bool) -> None:
    """On CUDA with ``enabled``: deterministic cuDNN and PyTorch kernels, no cuDNN autotuning, and the cuBLAS
    workspace setting they need (set when the environment has none). Kernels without a deterministic version
    warn instead of failing (``warn_only``). Does nothing on other devices: CPU kernels are deterministic.

    The settings are process-wide (``torch.use_deterministic_algorithms``), as a training process's are.
    """
    if device.type != "cuda" or not enabled:
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)


def autocast_factory(precision: str, device: torch.device) -> Callable[[], contextlib.AbstractContextManager]:
    """A zero-argument callable returning the autocast context for forward passes."""
    if precision == "bf16":
        return functools.partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def to_memory_format(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """Images (B, C, H, W) in channels_last when asked; other tensors unchanged."""
    if channels_last and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x
