"""What every experiment writes: a CSV of rows, a JSON summary and a PNG of line panels (matplotlib, Agg)."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganforge.data.cache import write_bytes_atomic


@dataclass
class Panel:
    """One subplot: named series of (x, y, y error or None), an optional horizontal reference line."""

    title: str
    xlabel: str
    ylabel: str
    series: dict[str, tuple[list[float], list[float], list[float] | None]] = field(default_factory=dict)
    hline: tuple[str, float] | None = None
    logx: bool = False
    logy: bool = False


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    """Rows (dicts with the same keys) as CSV, written atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_bytes_atomic(Path(path), buffer.getvalue().encode())
    return Path(path)


def write_json(summary: dict[str, Any], path: Path) -> Path:
    """A JSON summary (NaN/Inf as null), written atomically."""
    write_bytes_atomic(Path(path), (json.dumps(_finite(summary), indent=2) + "\n").encode())
    return Path(path)


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_panels(panels: list[Panel], path: Path, title: str, columns: int | None = None) -> Path:
    """Line panels as one PNG: side by side, or ``columns`` to a row (unused cells of the last row hidden)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(columns or len(panels), len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), dpi=100, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        for name, (x, y, err) in panel.series.items():
            ax.errorbar(x, y, yerr=err, label=name, marker="o", markersize=3, linewidth=1.2, capsize=2)
        if panel.hline is not None:
            ax.axhline(panel.hline[1], color="gray", linestyle="--", linewidth=1, label=panel.hline[0])
        if panel.logx:
            ax.set_xscale("log")
        if panel.logy:
            ax.set_yscale("log")
        ax.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    write_bytes_atomic(Path(path), buffer.getvalue())
    return Path(path)
