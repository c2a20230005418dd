"""The Python API: train a model, open a run and sample it, measure samples, as the CLI does, from a notebook.

Each function takes the CLI's path through the library, so a call gives what the matching command gives:
    train(preset=..., out=..., steps=..., minutes=..., resume=..., seed=..., config=..., sets=..., **sections):
        ``ganforge train`` (``config_resolve.assemble``, then ``train.trainer.train``); returns the summary.
    open_run(path, step=None) -> OpenedRun: ``.sample(n, seed=, ema=, classes=)`` equals ``ganforge sample --npz``;
        ``.config``, ``.step``, ``.modes``, ``.pixel_range``.
    evaluate(samples, real=..., metrics=..., n=...): ``ganforge evaluate --fake ...``'s numbers for a tensor, an
        array or a path.
``ganforge.train``, ``ganforge.open_run`` and ``ganforge.evaluate`` reach these (loaded on first use).
"""

from ganforge.api.evaluation import evaluate
from ganforge.api.runs import OpenedRun, open_run
from ganforge.api.training import train

__all__ = ["OpenedRun", "evaluate", "open_run", "train"]
