"""MALA-approx sampling of PPGN-h codes (Nguyen et al. 2017, "Plug & Play Generative Networks", Eq. 11
and Sec. 3.3; the seed thesis, KTH 2018, ``sampler`` of its reference code ``ppgn-disc``).

For a Noiseless Joint PPGN-h the chain walks the encoder's fc1 code h (B, 64):

    h_{t+1} = h_t + ε1 (R(h_t) - h_t) + ε2 ∂ log C_c(G(h_t)) / ∂h_t + N(0, ε3²),   R(h) = E_fc1(G(h)),

where R is the reconstruction of the DAE formed by G and E (prior term), C_c = softmax(E_fc2)_c the
classifier's probability of class c (condition term) and the last term the noise. Defaults as the paper
and the thesis: ε1 1e-2, ε2 1, ε3 1e-15, 200 steps, h_0 ~ N(0, I). ε1 = ε3 = 0 gives DGN-AM (activation
maximisation through G; Nguyen et al. 2016). With ε3 = 0 no noise is drawn.

Weight-free: the sampler takes two callables, ``generator(h) -> x`` and ``encoder(x) -> (code, logits)``,
and holds nothing else. Each step runs G once and E once: the same x = G(h_t) gives R(h_t) and the class
gradient (the reference code runs E twice and recomputes G; once is 1.34× faster, SPEC.md). All chains of
a batch advance together; each chain's gradient is its own because G and E score samples independently
(no batch statistics; call them in eval mode).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from ganforge.errors import ConfigError

GeneratorFn = Callable[[torch.Tensor], torch.Tensor]
EncoderFn = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class MALASettings:
    """Step sizes and length of a MALA-approx chain.

    Attributes:
        eps1: weight of the reconstruction term R(h) - h (prior).
        eps2: weight of the class gradient ∂ log C_c / ∂h (condition).
        eps3: standard deviation of the Gaussian noise.
        steps: number of updates.
        snapshot_every: keep G(h_t) every this many steps (0: none).
    """

    eps1: float = 1e-2
    eps2: float = 1.0
    eps3: float = 1e-15
    steps: int = 200
    snapshot_every: int = 0

    def __post_init__(self) -> None:
        for name in ("eps1", "eps2", "eps3"):
            value = getattr(self, name)
            if not value >= 0:
                raise ConfigError(f"MALA {name} must be >= 0, got {value}")
        if self.steps < 0 or self.snapshot_every < 0:
            raise ConfigError(f"MALA steps and snapshot_every must be >= 0, got {self.steps} and "
                              f"{self.snapshot_every}")


@dataclass
class MALAResult:
    """What :func:`run_mala` returns.

    Attributes:
        codes: final codes h_T, (B, D).
        images: G(h_T), (B, C, H, W).
        snapshots: (t, G(h_t)) for t = 0, k, 2k, ... < steps (k = ``snapshot_every``), then (steps, G(h_T)).
    """

    codes: torch.Tensor
    images: torch.Tensor
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)


def class_log_prob(logits: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """log C_c = log softmax(logits)_c per chain: logits (B, K), classes (B,) → (B,)."""
    return F.log_softmax(logits.float(), dim=1).gather(1, classes[:, None]).squeeze(1)


def mala_step(h: torch.Tensor, classes: torch.Tensor, generator: GeneratorFn, encoder: EncoderFn,
              settings: MALASettings, *, rng: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One MALA-approx update of every chain.

    Args:
        h: current codes h_t, (B, D).
        classes: target class of each chain, (B,) int64.
        generator: h (B, D) → images x (B, C, H, W).
        encoder: x → (fc1 code R (B, D), logits (B, K)).
        settings: ε1, ε2, ε3.
        rng: source of the noise (CPU generator; the global one when None).

    Returns:
        (h_{t+1} (B, D) detached, x_t = G(h_t) (B, C, H, W) detached).
    """
    with torch.enable_grad():  # the class gradient is needed even inside a caller's no_grad block
        h = h.detach().requires_grad_(True)
        x = generator(h)  # (B, C, H, W): the one G pass of this step
        code, logits = encoder(x)  # R(h_t) (B, D), logits (B, K)
        (grad,) = torch.autograd.grad(class_log_prob(logits, classes).sum(), h)  # (B, D), per chain
    with torch.no_grad():
        step = h + settings.eps1 * (code.float() - h) + settings.eps2 * grad  # (1) prior, (2) condition
        if settings.eps3 > 0:  # (3) noise
            step = step + settings.eps3 * torch.randn(h.shape, generator=rng).to(h.device)
    return step.detach(), x.detach()


def run_mala(h0: torch.Tensor, classes: int | torch.Tensor, generator: GeneratorFn, encoder: EncoderFn,
             settings: MALASettings = MALASettings(), *, rng: torch.Generator | None = None) -> MALAResult:
    """Run ``settings.steps`` MALA-approx updates of a batch of chains.

    Args:
        h0: initial codes (B, D), for example ``torch.randn(B, 64)``.
        classes: one class for every chain or a (B,) tensor, one per chain.
        generator, encoder: see :func:`mala_step`.
        settings: step sizes, step count and snapshot interval.
        rng: source of the noise.

    Returns:
        :class:`MALAResult` with the final codes, G(h_T) and the snapshots.
    """
    classes = chain_classes(classes, h0.shape[0], h0.device)
    h, snapshots = h0.detach().float(), []
    for t in range(settings.steps):
        h_next, x = mala_step(h, classes, generator, encoder, settings, rng=rng)
        if settings.snapshot_every and t % settings.snapshot_every == 0:
            snapshots.append((t, x))
        h = h_next
    with torch.no_grad():
        images = generator(h).detach()  # G(h_T)
    if settings.snapshot_every:
        snapshots.append((settings.steps, images))
    return MALAResult(h, images, snapshots)


def chain_classes(classes: int | torch.Tensor, n: int, device: torch.device) -> torch.Tensor:
    """One class per chain as an int64 (n,) tensor on ``device``."""
    c = torch.as_tensor(classes, dtype=torch.long, device=device)
    if c.dim() == 0:
        return c.expand(n).clone()
    if c.shape != (n,):
        raise ConfigError(f"give one class or one per chain ({n}), got a tensor of shape {tuple(c.shape)}")
    return c
