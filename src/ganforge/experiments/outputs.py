"""What every experiment writes: a CSV of rows, a JSON summary and a PNG of line panels (matplotlib, Agg), and
the mean ± std over seeds that the multi-seed experiments report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganforge.data.cache import write_bytes_atomic
from ganforge.metrics.evaluate import finite_or_none
from ganforge.report.markup import png_bytes, pyplot


@dataclass
class Panel:
    """One subplot: named series of (x, y, y error or None), an optional horizontal reference line.

    ``references`` adds more named horizontal lines (one style each); ``categories`` turns x into category
    positions 0, 1, ... labelled with these names, drawn as points with error bars, not lines; ``ylim``
    fixes the y range (a reference line outside it is not drawn, its legend entry stays).
    """

    title: str
    xlabel: str
    ylabel: str
    series: dict[str, tuple[list[float], list[float], list[float] | None]] = field(default_factory=dict)
    hline: tuple[str, float] | None = None
    logx: bool = False
    logy: bool = False
    references: dict[str, float] = field(default_factory=dict)
    categories: list[str] | None = None
    ylim: tuple[float, float] | None = None


def mean_std(values: list[float | None]) -> tuple[float | None, float | None]:
    """(mean, sample std with ddof 1; 0 for one value) of the values that are not None."""
    got = [float(v) for v in values if v is not None]
    if not got:
        return None, None
    return float(np.mean(got)), float(np.std(got, ddof=1)) if len(got) > 1 else 0.0


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
    write_bytes_atomic(Path(path), (json.dumps(finite_or_none(summary), indent=2) + "\n").encode())
    return Path(path)


def write_outputs(summary: dict[str, Any], rows: list[dict[str, Any]], out_dir: str | Path, stem: str,
                  plot: Callable[[dict[str, Any], Path], Path]) -> dict[str, Any]:
    """Write ``stem``.csv (the rows), ``stem``.png (``plot(summary, path)``) and ``stem``.json (the summary, its
    ``files`` naming all three) into ``out_dir``, made if missing; return the summary."""
    out = Path(out_dir)
    summary["files"] = {"csv": str(write_csv(rows, out / f"{stem}.csv")),
                        "png": str(plot(summary, out / f"{stem}.png")), "json": str(out / f"{stem}.json")}
    write_json(summary, out / f"{stem}.json")
    return summary


def write_panels(panels: list[Panel], path: Path, title: str, columns: int | None = None) -> Path:
    """Line panels as one PNG: side by side, or ``columns`` to a row (unused cells of the last row hidden)."""
    cols = min(columns or len(panels), len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = pyplot().subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), dpi=100, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        _draw(ax, panel)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    write_bytes_atomic(Path(path), png_bytes(fig))
    return Path(path)


REFERENCE_STYLES = ("--", ":", "-.")


def _draw(ax, panel: Panel) -> None:
    """One panel's series, reference lines, scales, range, labels and legend onto ``ax``."""
    style = {"linestyle": "none", "marker": "o", "markersize": 5, "capsize": 4} if panel.categories else {
        "marker": "o", "markersize": 3, "linewidth": 1.2, "capsize": 2}
    for name, (x, y, err) in panel.series.items():
        ax.errorbar(x, y, yerr=err, label=name, **style)
    lines = ([panel.hline] if panel.hline is not None else []) + list(panel.references.items())
    for i, (name, value) in enumerate(lines):
        ax.axhline(value, color="gray" if i == 0 else f"C{7 + i % 3}", linestyle=REFERENCE_STYLES[i % 3],
                   linewidth=1, label=name)
    if panel.categories is not None:
        ax.set_xticks(range(len(panel.categories)), panel.categories, rotation=30, ha="right", fontsize=8)
        ax.set_xlim(-0.5, len(panel.categories) - 0.5)
    if panel.logx:
        ax.set_xscale("log")
    if panel.logy:
        ax.set_yscale("log")
    if panel.ylim is not None:
        ax.set_ylim(*panel.ylim)
    ax.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
