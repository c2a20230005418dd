"""The ``README.md`` model card of a ``ganforge export`` folder: what the model is, what it was trained on and
for how long (the run's ``summary.json``), the run's measures beside their baselines (its ``metrics.json`` from
``ganforge evaluate --json``) or that none were measured, and how to sample it."""

from __future__ import annotations

from typing import Any

from ganforge.train.run import Run


def model_card(run: Run, folder: str, summary: dict[str, Any] | None, metrics: dict[str, Any] | None) -> str:
    """The card's Markdown; ``folder`` is the export folder's name as the sampling commands spell it."""
    cfg, shape = run.cfg, run.data_shape
    lines = [f"# {cfg.model.name} ({cfg.data.name})", "",
             f"- Model: `{cfg.model.name}`: {run.spec.description}",
             f"- Description (preset): {cfg.description or 'none given'}",
             f"- Data: `{cfg.data.name}`, samples of shape {list(shape.shape)}, {shape.num_classes} classes, "
             f"pixel range {list(shape.pixel_range) if shape.pixel_range else 'none (2-D points)'}",
             f"- Generator steps: {run.step}",
             f"- Training time: {_training_time(summary)}",
             f"- Weights: `checkpoints/{run.step:08d}/modules.safetensors` ({_weights_note(run)}); "
             "the config is `config.json` (train.ema 0, the device auto when trained on a GPU)", "",
             "## Measures", "", *_measures(metrics), "",
             "## How to sample", "", "```", f"ganforge sample --run {folder} --n 64 --grid samples.png",
             f"ganforge sample --run {folder} --n 1000 --seed 0 --npz samples.npz", "```", "", "```python",
             "import ganforge", "", f"run = ganforge.open_run({folder!r})",
             "images = run.sample(16, seed=0)  # (16, C, H, W) on the CPU, in the pixel range above", "```",
             "", "Loading reads safetensors and JSON only (nothing is unpickled); the sampling modes of this model "
             f"are {', '.join(mode.name for mode in run.spec.sample_modes)} (`ganforge sample --mode NAME`).", ""]
    return "\n".join(lines)


def _weights_note(run: Run) -> str:
    nets = ", ".join(run.spec.sample_nets)
    return f"the EMA copies of {nets}, saved as the nets" if run.ema else f"{nets}, no EMA (train.ema was 0)"


def _training_time(summary: dict[str, Any] | None) -> str:
    """Wall time, device and precision from ``summary.json``, or that the run had none."""
    if not summary:
        return "unknown (the run folder had no summary.json)"
    wall = summary.get("wall_s")
    wall = f"{wall:.1f} s" if isinstance(wall, (int, float)) else "unknown"
    return f"{wall} on {summary.get('device', 'an unknown device')} ({summary.get('precision', '?')} precision)"


def _measures(metrics: dict[str, Any] | None) -> list[str]:
    """A table (rows: measures; columns: the generated set and its baselines) and the protocol, from
    ``metrics.json``; one line saying none were measured without it."""
    if not metrics:
        return ["None were measured (the run folder had no metrics.json from "
                "`ganforge evaluate --run RUN --json RUN/metrics.json`)."]
    sets = [name for name, value in metrics.items() if isinstance(value, dict)]
    names = sorted({str(m) for s in sets for m, v in metrics[s].items() if _is_number(v)})
    lines = ["| measure | " + " | ".join(sets) + " |", "|---" * (len(sets) + 1) + "|"]
    for name in names:
        cells = [format(metrics[s][name], ".4g") if _is_number(metrics[s].get(name)) else "" for s in sets]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    protocol = [f"- {key}: {value}" for key, value in metrics.items() if not isinstance(value, dict)]
    return [*(lines if sets and names else []), *([""] if sets and names else []), "Protocol:" if protocol else "",
            *protocol]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
