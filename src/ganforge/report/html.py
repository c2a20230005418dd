"""A self-contained HTML report of one or more runs (images embedded as data URIs).

For each run: its config, sample grids over training (and other grids in ``samples/``, such as the one
``sample --class-grid`` writes), loss and Wasserstein-estimate curves from ``log.jsonl``, the metric
tables of ``metrics.json`` (written by ``ganforge evaluate --json``) and the DDM-over-training curve
(``ddm_over_training.csv``). Several runs appear side by side.

The page runs no script and copies nothing from outside its runs: every value from a run's files is
escaped whatever its type, files are read through :class:`~ganforge.report.run_files.RunFiles` (regular
files inside the run only), and a Content-Security-Policy forbids scripts, connections and any image that
is not embedded. A damaged file becomes a note in the page, not an error.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganforge.errors import ConfigError
from ganforge.report.run_files import RunFiles
from ganforge.train.logs import parse_log

CURVE_GROUPS = (("losses", ("loss_d", "loss_g")), ("Wasserstein estimate", ("wasserstein",)),
                ("gradient penalty", ("gp", "grad_norm")))
STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
.runs{display:flex;gap:2em;flex-wrap:wrap}.run{flex:1;min-width:420px}
img{image-rendering:pixelated;max-width:100%;border:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th{background:#f3f3f3}pre{background:#f7f7f7;padding:.5em;max-height:20em;overflow:auto;font-size:12px}
.grids{display:flex;flex-wrap:wrap;gap:.5em}.grids figure{margin:0}figcaption{font-size:12px}
.notes{color:#8a4b00;font-size:13px}"""
# No script may run, nothing may be fetched: images are data: URIs, the style is inline.
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; base-uri 'none'; "
       "form-action 'none'")


def esc(value: Any) -> str:
    """Any value from a run's files as HTML text (numbers, lists and None included)."""
    return html.escape(str(value), quote=True)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def read_log_records(files: RunFiles) -> list[dict]:
    """The records of ``RUN/log.jsonl`` (a torn last line, as a full disk leaves, is dropped and noted)."""
    data = files.read_bytes("log.jsonl")
    if data is None:
        return []
    log = parse_log(data, "log.jsonl")
    if log.dropped:
        files.notes.append(log.dropped)
    return log.records


def plot_png(series: dict[str, tuple[list[float], list[float]]], title: str, xlabel: str = "generator step") -> bytes:
    """A small line plot as PNG bytes (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3), dpi=90)
    for name, (x, y) in series.items():
        ax.plot(x, y, label=name, linewidth=1.2)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def curve_sections(log: list[dict]) -> list[str]:
    out = []
    for title, keys in CURVE_GROUPS:
        series = {}
        for key in keys:
            points = [(r["step"], r[key]) for r in log if is_number(r.get(key))]
            if points:
                series[key] = ([x for x, _ in points], [y for _, y in points])
        if series:
            out.append(f'<img alt="{esc(title)}" src="{data_uri(plot_png(series, title))}">')
    return out


def _figure(png: bytes, alt: str, caption: str) -> str:
    return f'<figure><img alt="{esc(alt)}" src="{data_uri(png)}"><figcaption>{esc(caption)}</figcaption></figure>'


def grid_sections(files: RunFiles, limit: int = 6) -> list[str]:
    """Up to ``limit`` grids over training (``samples/<step>.png``), then every other grid in ``samples/``
    (``sample --class-grid`` writes ``class-grid.png`` there)."""
    names = files.png_names("samples")
    is_step = [n[:-4].isascii() and n[:-4].isdigit() for n in names]  # '²'.isdigit() is True, int('²') fails
    steps = sorted((int(n[:-4]), n) for n, step in zip(names, is_step, strict=True) if step)
    others = [n for n, step in zip(names, is_step, strict=True) if not step]
    if len(steps) > limit:
        steps = [steps[round(i * (len(steps) - 1) / (limit - 1))] for i in range(limit)]
    figures = [_figure(png, f"samples at step {step}", f"step {step}")
               for step, name in steps if (png := files.read_png(f"samples/{name}")) is not None]
    out = ["<h3>Samples over training</h3>",
           '<div class="grids">' + "".join(figures) + "</div>" if figures else "<p>no sample grids</p>"]
    extra = [_figure(png, name, name) for name in others if (png := files.read_png(f"samples/{name}")) is not None]
    if extra:
        out += ["<h3>Other samples</h3>", '<div class="grids">' + "".join(extra) + "</div>"]
    return out


def metrics_table(metrics: dict) -> str:
    """Rows: metric; columns: each evaluated set (generated, training baseline, noise ...)."""
    sets = [k for k, v in metrics.items() if isinstance(v, dict)]
    names = sorted({str(m) for s in sets for m, v in metrics[s].items() if is_number(v)})
    if not sets or not names:
        return ""
    head = "<tr><th>metric</th>" + "".join(f"<th>{esc(s)}</th>" for s in sets) + "</tr>"
    rows = []
    for name in names:
        cells = []
        for s in sets:
            value = metrics[s].get(name)
            cells.append(f"<td>{esc(format(value, '.4g'))}</td>" if is_number(value) else "<td></td>")
        rows.append(f"<tr><th>{esc(name)}</th>{''.join(cells)}</tr>")
    return "<table>" + head + "".join(rows) + "</table>"


def ddm_curve(files: RunFiles) -> str:
    text = files.read_text("ddm_over_training.csv")
    if text is None:
        return ""
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
        points = [(float(r["step"]), float(r["ddm"])) for r in rows]
    except (ValueError, KeyError, TypeError, csv.Error) as exc:
        files.notes.append(f"skipped ddm_over_training.csv: damaged ({exc})")
        return ""
    points = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
    if not points:
        return ""
    series = {"DDM": ([x for x, _ in points], [y for _, y in points])}
    return f'<img alt="DDM over training" src="{data_uri(plot_png(series, "DDM over training (lower is better)"))}">'


def summary_line(summary: dict) -> str:
    """Steps, wall time, speed and device of ``summary.json``; every value escaped, whatever its type."""
    speed = summary.get("steps_per_second")
    speed = format(speed, ".3g") if is_number(speed) else (speed if speed is not None else 0)
    return (f"<p>{esc(summary.get('steps'))} generator steps, {esc(summary.get('wall_s'))} s, {esc(speed)} steps/s "
            f"({esc(summary.get('device'))}, {esc(summary.get('precision'))})</p>")


def run_section(run: Path, warn: Callable[[str], None] | None = None) -> str:
    """The HTML block of one run; ``warn`` also gets each note (a skipped or damaged file)."""
    if not run.is_dir():
        raise ConfigError(f"run folder {str(run)!r} not found; pass folders written by `ganforge train`")
    files = RunFiles(run)
    config, settings = files.read_yaml("config.yaml") or ("", {})
    summary, metrics = files.read_json("summary.json"), files.read_json("metrics.json")
    description = settings.get("description")  # a scalar only: a YAML alias bomb must not be expanded by str()
    description = description if isinstance(description, (str, int, float)) else ""
    parts = [f"<h2>{esc(run.name)}</h2>", f"<p>{esc(description)}</p>"]
    if summary:
        parts.append(summary_line(summary))
    parts += [*grid_sections(files), "<h3>Curves</h3>", *curve_sections(read_log_records(files))]
    if metrics:
        parts += ["<h3>Metrics</h3>", metrics_table(metrics)]
    parts += [ddm_curve(files), "<h3>Config</h3>", f"<pre>{esc(config)}</pre>"]
    for note in files.notes if warn else []:
        warn(f"{run}: {note}")
    if files.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{esc(note)}</li>" for note in files.notes) + "</ul>")
    return '<section class="run">' + "\n".join(p for p in parts if p) + "</section>"


def write_report(runs: list[str | Path], out: str | Path, title: str = "ganforge report",
                 warn: Callable[[str], None] | None = None) -> Path:
    """Write the report of ``runs`` to ``out`` (one self-contained HTML file that runs no script); returns
    its path. ``warn`` gets one line per skipped or damaged file (each is also a note in the page)."""
    sections = [run_section(Path(r), warn) for r in runs]
    page = (f'<!doctype html><html lang=en><head><meta charset=utf-8>'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}"><title>{esc(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{esc(title)}</h1>"
            f'<div class="runs">{"".join(sections)}</div></body></html>')
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
