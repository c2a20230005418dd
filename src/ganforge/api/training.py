"""``ganforge.train``: ``ganforge train`` from Python, through the same config path (``config_resolve.assemble``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ganforge.config import Config, to_dict
from ganforge.config_resolve import assemble, merge
from ganforge.errors import ConfigError

MISSING = "preset=NAME (see `ganforge models`) or model={'name': M}, data={'name': D}"


def train(preset: str | None = None, *, out: str | Path, steps: int | None = None, minutes: float | None = None,
          resume: bool = False, seed: int | None = None, config: str | Path | Sequence | dict | Config | None = None,
          sets: Sequence[str] | None = None, allow_config_change: bool = False, **sections: dict) -> dict:
    """Train a model into the run folder ``out`` (``ganforge train``).

    Args:
        preset: a preset name (``ganforge models``), as ``--preset``.
        out: the run folder, as ``--out``.
        steps: total generator steps (``train.steps``), as ``--steps``.
        minutes: stop with a checkpoint after this much wall time, as ``--max-minutes``.
        resume: continue the run in ``out`` up to ``steps``, as ``--resume``; with no preset, config or model
            given, from the run's saved config.
        seed: ``train.seed``, as ``--seed``.
        config: YAML override file(s) (``--config``), an override dict, or a whole :class:`Config`.
        sets: ``"a.b=c"`` assignments, applied last (``--set``).
        allow_config_change: resume with a changed config (``--allow-config-change``).
        **sections: one override dict per config section: ``model={"width": 0.5}``, ``train={"batch_size": 32}``.

    Returns:
        The training summary (also ``out/summary.json``): steps, wall_s, final losses, model and net.

    Raises:
        ConfigError: one line naming the bad key, value, preset or file (the CLI's checks).
    """
    from ganforge.train.trainer import train as train_config

    cfg = train_config_for(preset, out=out, steps=steps, resume=resume, seed=seed, config=config, sets=sets,
                           sections=sections)
    if minutes is not None and not minutes > 0:
        raise ConfigError(f"minutes must be positive, got {minutes}")
    return train_config(cfg, out, resume=resume, allow_config_change=allow_config_change,
                        max_seconds=minutes * 60 if minutes is not None else None)


def train_config_for(preset: str | None, *, out: str | Path, steps: int | None, resume: bool, seed: int | None,
                     config, sets: Sequence[str] | None, sections: dict, missing: str = MISSING) -> Config:
    """The checked config of :func:`train`: defaults ← saved config (a resume naming no source) ← preset ← config
    ← section dicts ← steps and seed ← sets, as ``ganforge train`` assembles its flags (it calls this too, with
    ``missing`` naming its flags: what to give when nothing says what to train)."""
    from ganforge.train.checkpoint import latest_checkpoint
    from ganforge.train.session import saved_config_dict

    base, files, layer = None, None, {}
    if isinstance(config, Config):
        base = to_dict(config)
    elif isinstance(config, dict):
        layer = config
    elif isinstance(config, (str, Path)):
        files = [config]
    elif config is not None:
        files = list(config)
    model = sections.get("model")
    names_model = isinstance(model, dict) and "name" in model
    if not (preset or config is not None or names_model):
        # the config dict saved in the latest checkpoint of run folder ``out`` (None when it has none)
        latest = latest_checkpoint(Path(out)) if resume and Path(out).is_dir() else None
        base = saved_config_dict(latest) if latest is not None else None
        if base is None:
            raise ConfigError(f"say what to train: {missing}")
    flags = {key: value for key, value in (("steps", steps), ("seed", seed)) if value is not None}
    overrides = merge(merge(layer, sections), {"train": flags} if flags else {})
    return assemble(base=base, preset=preset, files=files, overrides=overrides, sets=sets)
