"""A user's feature extractor φ for the measures (``ganforge evaluate --features SPEC``), with its hash.

SPEC is either the path of a TorchScript file (``torch.jit.save``; read with ``torch.jit.load``, never with
``torch.load`` or pickle) or a module path ``pkg.module:function`` whose function, called with no arguments,
returns an ``nn.Module``. The extractor runs on the CPU in eval mode without gradients and receives float32
images (N, C, H, W) in [0, 1], channels as the dataset stores them (1 for MNIST, 3 for CIFAR-10), whatever
range the generator or the dataset uses; it returns (N, D) features (more dimensions are flattened to D).
It replaces the domain classifier's embedding in DDM, FID, KID and nn's feature neighbours (Heusel et al.
2017 and Bińkowski et al. 2018 leave φ free; torch-fidelity's ``feature_extractor`` works the same way).

Its hash (``sha256``) names its cache entries of real features: the sha256 of the TorchScript file's bytes;
for a module, the sha256 of the spec, the module's repr and every ``state_dict`` tensor (name, shape,
dtype, bytes), so two extractors never share an entry and new weights give a new one.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganforge.errors import ConfigError

FEATURES = "features"  # the embedding name of a user's extractor (``--features``)
MODULE_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
FIX = "pass a TorchScript file (torch.jit.save) or pkg.module:function returning an nn.Module"


@dataclass(frozen=True)
class FeatureExtractor:
    """A loaded extractor: its module (CPU, eval mode), the spec it came from and its hash.

    Attributes:
        module: maps (B, C, H, W) float32 images in [0, 1] to (B, D, ...) features.
        spec: the TorchScript path or ``pkg.module:function`` (for a module passed in Python: its class name).
        kind: "torchscript" or "module".
        sha256: hex digest naming its cached features (see the module docstring).
    """

    module: nn.Module
    spec: str
    kind: str
    sha256: str

    def summary(self) -> dict:
        """JSON-able record for results: spec, kind, sha256."""
        return {"spec": self.spec, "kind": self.kind, "sha256": self.sha256}

    def embed(self, images: torch.Tensor, *, pixel_range: tuple[float, float] | None,
              batch_size: int = 500) -> torch.Tensor:
        """(N, D) float32 CPU features of ``images`` (N, C, H, W) given in ``pixel_range`` (None: already [0, 1]).

        Raises:
            ConfigError: images that are not (N, C, H, W), a failing forward pass, an output that is not a
                tensor of shape (B, ...) with D > 0 on every batch, or NaN/Inf features.
        """
        if images.dim() != 4:
            raise ConfigError(f"--features {self.spec} takes images (N, C, H, W); these are "
                              f"{tuple(images.shape)} (2-D toy points have no images: drop --features)")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size}")
        low, high = pixel_range or (0.0, 1.0)
        self.module.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(images), batch_size):
                x = (images[i:i + batch_size].float() - low) / (high - low)  # (B, C, H, W) in [0, 1]
                out.append(self._checked(self._forward(x), len(x), i))
        if not out:
            return torch.empty(0, 0)
        if len({f.shape[1] for f in out}) != 1:
            raise ConfigError(f"--features {self.spec} gave {sorted({f.shape[1] for f in out})} feature dims on "
                              "different batches; return a fixed D per image")
        return torch.cat(out)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        try:
            return self.module(x)
        except (RuntimeError, ValueError, TypeError, IndexError, AssertionError) as exc:
            if "memory" in str(exc).lower():
                raise
            raise ConfigError(f"--features {self.spec} failed on images {tuple(x.shape)} in [0, 1]: "
                              f"{_first_line(exc)}") from None

    def _checked(self, y: object, batch: int, start: int) -> torch.Tensor:
        """(B, D) float32 CPU features from the output ``y`` of a batch of ``batch`` images starting at ``start``."""
        if not torch.is_tensor(y):
            raise ConfigError(f"--features {self.spec} returned {type(y).__name__}, not a tensor; return (N, D) "
                              "features")
        if y.dim() < 2 or y.shape[0] != batch or y[0].numel() == 0:
            raise ConfigError(f"--features {self.spec} returned shape {tuple(y.shape)} for {batch} images; return "
                              "(N, D) features (further dims are flattened)")
        y = y.detach().reshape(batch, -1).float().cpu()  # (B, D)
        bad = ~torch.isfinite(y).all(1)
        if bad.any():
            raise ConfigError(f"--features {self.spec} gave NaN or Inf features for image "
                              f"{start + int(bad.nonzero()[0])} ({int(bad.sum())} of {batch} in its batch); "
                              "fix the extractor (its input is float32 in [0, 1])")
        return y


def load_extractor(spec: str | Path | nn.Module | FeatureExtractor) -> FeatureExtractor:
    """The extractor named by ``spec``: a TorchScript file, ``pkg.module:function``, an ``nn.Module`` or a
    loaded :class:`FeatureExtractor` (returned as it is).

    Raises:
        ConfigError: a missing or non-TorchScript file, a module or function that cannot be imported or called,
            a function that does not return an ``nn.Module``.
    """
    if isinstance(spec, FeatureExtractor):
        return spec
    if isinstance(spec, nn.Module):
        name = f"{type(spec).__module__}.{type(spec).__qualname__}"
        return FeatureExtractor(_on_cpu(spec), name, "module", module_sha256(spec, name))
    text = str(spec)
    if MODULE_SPEC.match(text) and not Path(text).exists():
        module = _call_spec(text)
        return FeatureExtractor(_on_cpu(module), text, "module", module_sha256(module, text))
    return _torchscript(Path(text))


def check_features(features: FeatureExtractor | None, embedding: str, *, toy: bool, dataset: str) -> None:
    """Refuse an extractor without embedding "features" (or that embedding without one), and one on toy points."""
    if (features is None) == (embedding == FEATURES):
        raise ConfigError("embedding 'features' goes with a feature extractor, and an extractor with it: pass "
                          "--features SPEC and no --embedding")
    if toy and features is not None:
        raise ConfigError(f"{dataset} holds 2-D points, not images: drop --features")


def _torchscript(path: Path) -> FeatureExtractor:
    """A TorchScript file read once: the bytes hashed are the bytes loaded."""
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise ConfigError(f"--features {path} {what}; {FIX}")
    data = path.read_bytes()
    try:
        module = torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError, ValueError or zip errors on other files
        raise ConfigError(f"--features {path} is not a TorchScript file ({_first_line(exc)}); {FIX}") from None
    return FeatureExtractor(module, str(path), "torchscript", hashlib.sha256(data).hexdigest())


def _call_spec(spec: str) -> nn.Module:
    """``pkg.module:function`` imported with importlib and called with no arguments."""
    module_name, _, attr = spec.partition(":")
    try:
        target = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or anything the module raises while importing
        raise ConfigError(f"--features {spec}: cannot import {module_name} ({_first_line(exc)}); put it on "
                          "PYTHONPATH or pass a TorchScript file") from None
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ConfigError(f"--features {spec}: {module_name} has no {attr}; name a function that returns "
                              "an nn.Module")
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(f"--features {spec}: {attr} is not callable; name a function that returns an nn.Module")
    try:
        module = target()
    except Exception as exc:
        raise ConfigError(f"--features {spec}: calling {attr}() failed ({_first_line(exc)})") from None
    if not isinstance(module, nn.Module):
        raise ConfigError(f"--features {spec}: {attr}() returned {type(module).__name__}, not an nn.Module")
    return module


def module_sha256(module: nn.Module, spec: str) -> str:
    """sha256 of ``spec``, the module's repr (and TorchScript code) and every state_dict tensor (name, shape,
    dtype, bytes), in order."""
    h = hashlib.sha256()
    h.update(spec.encode() + b"\0" + repr(module).encode() + b"\0")
    code = getattr(module, "code", None)
    if isinstance(code, str):
        h.update(code.encode() + b"\0")
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _on_cpu(module: nn.Module) -> nn.Module:
    return module.to("cpu").eval()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
