"""A self-contained HTML report of one or more runs (images embedded as data URIs).

The page opens with how to read it (``report/glossary.py``: the baselines and what each measure means, which
way is better). For each run: where its samples stand between uniform noise and real training images on
every measure, the class histogram of the samples beside the real one and the samples beside their nearest
training images (``report/evaluation.py``, from ``metrics.json``, written by ``ganforge evaluate --json``);
then sample grids over training (and other grids in ``samples/``, such as the one ``sample --class-grid``
writes), loss and Wasserstein-estimate curves from ``log.jsonl``, the table of every number in
``metrics.json``, the DDM-over-training curve (``ddm_over_training.csv``) and the config. Several runs appear
side by side.

The page runs no script and copies nothing from outside its runs: every value from a run's files is
escaped whatever its type, files are read through :class:`~ganforge.report.run_files.RunFiles` (regular
files inside the run only), and a Content-Security-Policy forbids scripts, connections and any image that
is not embedded. A damaged file becomes a note in the page, not an error.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from pathlib import Path

from ganforge.data.cache import write_bytes_atomic
from ganforge.errors import ConfigError
from ganforge.report.evaluation import evaluation_sections
from ganforge.report.glossary import glossary_section
from ganforge.report.markup import data_uri, esc, figure, is_number, png_bytes, pyplot
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
.notes{color:#8a4b00;font-size:13px}.missing{background:#fff4e0;padding:.5em}
.headline{list-style:none;padding:0}.headline li{margin:.3em 0}
.meter{display:inline-block;width:90px;height:10px;background:#eee;border:1px solid #999;vertical-align:middle}
.meter:empty{visibility:hidden}
.meter span{display:block;height:100%;background:#1b9e77}
.glossary{background:#f7f9fc;padding:.2em 1em;margin-bottom:1em;font-size:14px}.glossary dt{font-weight:600}
.glossary dd{margin:0 0 .4em 1.5em}.dir{font-weight:normal;color:#555}"""
# No script may run, nothing may be fetched: images are data: URIs, the style is inline.
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; base-uri 'none'; "
       "form-action 'none'")


def read_log_records(files: RunFiles) -> list[dict]:
    """The records of ``RUN/log.jsonl`` (a torn last line, as a full disk leaves, is dropped and noted)."""
    data = files.read_bytes("log.jsonl")
    if data is None:
        return []
    log = parse_log(data, "log.jsonl")
    if log.dropped:
        files.notes.append(log.dropped)
    return log.records


def plot_png(series: dict[str, list[tuple[float, float]]], title: str, xlabel: str = "generator step") -> bytes:
    """A small line plot of named (x, y) point lists as PNG bytes (matplotlib, Agg backend)."""
    fig, ax = pyplot().subplots(figsize=(5, 3), dpi=90)
    for name, points in series.items():
        ax.plot(*zip(*points, strict=True), label=name, linewidth=1.2)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return png_bytes(fig)


def curve_sections(log: list[dict]) -> list[str]:
    out = []
    for title, keys in CURVE_GROUPS:
        series = {key: [(r["step"], r[key]) for r in log if is_number(r.get(key))] for key in keys}
        series = {key: points for key, points in series.items() if points}
        if series:
            out.append(f'<img alt="{esc(title)}" src="{data_uri(plot_png(series, title))}">')
    return out


def grid_sections(files: RunFiles, limit: int = 6) -> list[str]:
    """Up to ``limit`` grids over training (``samples/<step>.png``), then every other grid in ``samples/``
    (``sample --class-grid`` writes ``class-grid.png`` there)."""
    names = files.png_names("samples")
    is_step = [n[:-4].isascii() and n[:-4].isdigit() for n in names]  # '²'.isdigit() is True, int('²') fails
    steps = sorted((int(n[:-4]), n) for n, step in zip(names, is_step, strict=True) if step)
    others = [n for n, step in zip(names, is_step, strict=True) if not step]
    if len(steps) > limit:
        steps = [steps[round(i * (len(steps) - 1) / (limit - 1))] for i in range(limit)]
    figures = [figure(png, f"samples at step {step}", f"step {step}")
               for step, name in steps if (png := files.read_png(f"samples/{name}")) is not None]
    out = ["<h3>Samples over training</h3>",
           '<div class="grids">' + "".join(figures) + "</div>" if figures else "<p>no sample grids</p>"]
    extra = [figure(png, name, name) for name in others if (png := files.read_png(f"samples/{name}")) is not None]
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
    series = {"DDM": points}
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
    parts += [*evaluation_sections(files, run, metrics), *grid_sections(files), "<h3>Curves</h3>",
              *curve_sections(read_log_records(files))]
    if metrics:
        parts += ["<h3>All measured numbers</h3>", metrics_table(metrics)]
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
            f"<style>{STYLE}</style></head><body><h1>{esc(title)}</h1>{glossary_section()}"
            f'<div class="runs">{"".join(sections)}</div></body></html>')
    out = Path(out)
    write_bytes_atomic(out, page.encode("utf-8"))
    return out
