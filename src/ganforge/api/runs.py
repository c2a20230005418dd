"""``ganforge.open_run``: a trained run folder opened to sample from Python, as ``ganforge sample`` draws."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from ganforge.config import Config
from ganforge.errors import ConfigError
from ganforge.train.run import Run
from ganforge.train.run import open_run as open_run_folder


class OpenedRun:
    """A run folder at one checkpoint: its config, nets and weights (no optimizers, no dataset read).

    Attributes:
        run: the underlying :class:`ganforge.train.run.Run` (nets, EMA copies, ``generate``, data splits).
    """

    def __init__(self, run: Run) -> None:
        self.run = run

    @property
    def path(self) -> Path:
        return self.run.path

    @property
    def config(self) -> Config:
        """The run's config as trained (choices left to the data made, such as ``model.net``)."""
        return self.run.cfg

    @property
    def step(self) -> int:
        """The checkpoint's generator step."""
        return self.run.step

    @property
    def modes(self) -> tuple[str, ...]:
        """Names of the model's sampling modes (``ganforge sample --mode NAME``), its default first."""
        return tuple(mode.name for mode in self.run.spec.sample_modes)

    @property
    def pixel_range(self) -> tuple[float, float] | None:
        """(low, high) of the samples' pixels; None for 2-D points."""
        return self.run.pixel_range

    @property
    def num_classes(self) -> int:
        return self.run.num_classes

    def sample(self, n: int, seed: int = 0, ema: bool = False,
               classes: int | Sequence[int] | torch.Tensor | None = None) -> torch.Tensor:
        """``n`` samples from noise seeded with ``seed``, equal to ``ganforge sample --run R --n N --seed S --npz``
        (with ``classes=C``: ``--class C``). Each call draws afresh: the same seed gives the same samples.

        Args:
            n: number of samples (>= 1).
            seed: seeds the noise (a ``torch.Generator``); the global RNG is set as ``open_run`` leaves it and
                restored afterwards.
            ema: use the EMA generator (refused when the run has none).
            classes: class-conditional models only: one class for all ``n`` samples, or ``n`` classes.

        Returns:
            (n, C, H, W) images (or (n, 2) points) on the CPU, in :attr:`pixel_range`.
        """
        if n < 1:
            raise ConfigError(f"n must be at least 1, got {n}")
        labels = None if classes is None else self._classes(classes, n)
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.train.seed + 1)  # as open_run leaves it, for `ganforge sample`'s samples
            if labels is None:
                return self.run.generate(n, ema=ema, generator=generator)
            return self.run.generate_classes(labels, ema=ema, generator=generator)

    def _classes(self, classes: int | Sequence[int] | torch.Tensor, n: int) -> torch.Tensor:
        """(n,) class labels, checked against the model and the dataset's classes."""
        if self.run.spec.sample_classes is None:
            raise ConfigError(f"a {self.run.spec.name!r} run draws no class-conditional samples (its sampling "
                              f"modes: {', '.join(self.modes)}); drop classes=")
        labels = torch.as_tensor(classes, dtype=torch.long).reshape(-1)
        if labels.numel() == 1:
            labels = labels.expand(n).clone()
        if len(labels) != n:
            raise ConfigError(f"classes holds {len(labels)} labels for n={n}; give one class or n of them")
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if len(bad):
            raise ConfigError(f"class {int(bad[0])} is outside 0..{self.num_classes - 1} for this run")
        return labels

    def __repr__(self) -> str:
        return f"OpenedRun({str(self.path)!r}, model={self.run.spec.name!r}, step={self.step})"


def open_run(path: str | Path, step: int | None = None) -> OpenedRun:
    """Open run folder ``path`` at its latest checkpoint (or ``step``) to sample from it.

    Raises:
        CheckpointError: no such folder, no complete checkpoint, or no checkpoint at ``step``.
    """
    return OpenedRun(open_run_folder(path, step=step))
