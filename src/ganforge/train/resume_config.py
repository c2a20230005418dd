"""Whether a resume may go on: the config it was given against the one the run's checkpoint saved.

A resume continues the saved run bit for bit, so any difference (``train.steps`` and where the logs go aside)
is refused unless the user allows it (``--allow-config-change``); choices the saved config made for its data,
such as ``model.net: auto``, are made the same way for the new config before comparing.
"""

from __future__ import annotations

from pathlib import Path

from ganforge.config import Config, to_dict
from ganforge.errors import ConfigError
from ganforge.train import checkpoint as ckpt
from ganforge.train.session import fit_to_data, read_config, saved_data_shape

# keys that change nothing a run computes: its length, where its logs go (a resume may add MLflow) and the
# preset's prose (a description updated with new measurements leaves the runs of that preset reusable)
NOT_COMPARED = ("train.steps", "train.log_to", "train.mlflow_uri", "train.mlflow_experiment", "description")


def config_difference(a: dict, b: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts, ignoring :data:`NOT_COMPARED`."""
    keys = sorted(set(a) | set(b))
    out = []
    for key in keys:
        name = prefix + key
        if name in NOT_COMPARED:
            continue
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += config_difference(va, vb, name + ".")
        elif va != vb:
            out.append(name)
    return out


def differences_from_saved(cfg: Config, path: Path) -> list[str]:
    """Dotted keys in which ``cfg`` differs from the config saved in checkpoint ``path`` (``train.steps``
    aside), once ``cfg``'s choices left to the data (``model.net: auto``) are made for the checkpoint's data."""
    saved = read_config(path)
    cfg = fit_to_data(cfg, saved_data_shape(ckpt.read_checkpoint_meta(path), path))
    return config_difference(to_dict(saved), to_dict(cfg))


def check_resume_config(cfg: Config, path: Path, allow_change: bool) -> None:
    """Refuse to resume with a config that differs from the saved one unless ``allow_change``."""
    diff = differences_from_saved(cfg, path)
    if diff and not allow_change:
        shown = ", ".join(diff[:5]) + (" ..." if len(diff) > 5 else "")
        raise ConfigError(f"the config differs from the run's saved config in {shown}; resume without "
                          "overrides, or pass --allow-config-change to continue with the new values")
