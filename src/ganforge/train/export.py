"""``ganforge export RUN OUT``: a trained run as a folder another person can use without the training run.

The export folder is a minimal run folder: ``checkpoints/<step>/`` holds only the nets generation needs
(``spec.sample_nets``, the EMA copies written as the plain nets when the run has them) and the nets training
does not update (the frozen classifiers the model builds on, ModNet's record), with no optimizer state; its
meta carries the config (``train.ema`` 0: the EMA weights are the weights), the data shape, the frozen
classifiers' records and an ``export`` record naming the nets it holds. :func:`ganforge.train.run.open_run`
loads it as any run (only the exported nets), so
``ganforge sample --run OUT`` and ``ganforge.open_run(OUT)`` work on it; nothing is unpickled. Beside it:
``config.json`` (the config) and ``README.md`` (the model card, :mod:`ganforge.train.model_card`).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from ganforge.config import to_dict
from ganforge.errors import ConfigError
from ganforge.train import checkpoint as ckpt
from ganforge.train.atomic_dir import install_dir, scratch_dir
from ganforge.train.model_card import model_card
from ganforge.train.run import EXPORT_KEY, Run, checkpoint_path, open_run


def export_run(run_dir: str | Path, out: str | Path, *, step: int | None = None) -> Path:
    """Write the export of ``run_dir`` (its latest checkpoint, or ``step``) to the new or empty folder ``out``.

    Raises:
        ConfigError: ``out`` exists and is not an empty folder.
        CheckpointError: ``run_dir`` is not a run folder with a complete checkpoint (at ``step``).
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"export folder {str(out)!r} exists and is not empty; pass a new or empty folder")
    run_dir = Path(run_dir)
    run = open_run(run_dir, step=step)
    meta = ckpt.read_checkpoint_meta(checkpoint_path(run_dir, step))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = scratch_dir(out.resolve())
    try:
        tmp.mkdir()
        config = _write_checkpoint(run, meta, tmp)
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        card = model_card(run, out.name, _read_json(run_dir / "summary.json"), _read_json(run_dir / "metrics.json"))
        (tmp / "README.md").write_text(card)
        install_dir(tmp, out.resolve())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_checkpoint(run: Run, meta: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Save the sample nets (EMA copies when present) and the fixed nets; returns the exported config."""
    weights = run.nets_for_sampling(bool(run.ema))
    names = [*run.spec.sample_nets, *(k for k, v in run.nets.items() if _fixed(v))]
    modules = {name: weights[name] for name in dict.fromkeys(names)}
    device = run.cfg.train.device if run.cfg.train.device in ("auto", "cpu") else "auto"
    cfg = dataclasses.replace(run.cfg, train=dataclasses.replace(run.cfg.train, ema=0.0, device=device))
    config = to_dict(cfg)
    record = {"nets": list(modules), "ema": bool(run.ema), "from_run": str(run.path), "from_step": run.step}
    saved = {"config": config, "model": cfg.model.name, "data_shape": meta["data_shape"],
             "precision": meta.get("precision"), "frozen_classifiers": meta.get("frozen_classifiers") or {},
             EXPORT_KEY: record}
    ckpt.save_checkpoint(folder, run.step, modules=modules, optimizers={}, meta=saved, keep_last=None)
    return config


def _fixed(net) -> bool:
    """A net training does not update (a frozen classifier, ModNet's record of training images): generation or a
    sampling mode may read it, and it is small beside the critic, which is left out."""
    return not any(p.requires_grad for p in net.parameters())


def _read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``, or None when it is absent or unreadable (the card then says so)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None
