"""A self-contained HTML report of one or more runs (images embedded as data URIs).

For each run: its config, sample grids over training, loss and Wasserstein-estimate curves from
``log.jsonl``, the metric tables of ``metrics.json`` (written by ``ganforge evaluate --json``) and
the DDM-over-training curve (``ddm_over_training.csv``). Several runs appear side by side.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path

import yaml

from ganforge.errors import ConfigError

CURVE_GROUPS = (("losses", ("loss_d", "loss_g")), ("Wasserstein estimate", ("wasserstein",)),
                ("gradient penalty", ("gp", "grad_norm")))
STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
.runs{display:flex;gap:2em;flex-wrap:wrap}.run{flex:1;min-width:420px}
img{image-rendering:pixelated;max-width:100%;border:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th{background:#f3f3f3}pre{background:#f7f7f7;padding:.5em;max-height:20em;overflow:auto;font-size:12px}
.grids{display:flex;flex-wrap:wrap;gap:.5em}.grids figure{margin:0}figcaption{font-size:12px}"""
# Marks the page once loaded: how many images decoded and how many script errors happened, so a
# headless browser test can read both from the DOM.
SELF_CHECK = """<script>
let errors = 0;
window.addEventListener("error", () => { errors += 1; }, true);
window.addEventListener("load", () => {
  const ok = [...document.images].filter((i) => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.imagesOk = String(ok);
  document.body.dataset.consoleErrors = String(errors);
});
</script>"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def read_log(run: Path) -> list[dict]:
    path = run / "log.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


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
        series = {k: ([r["step"] for r in log if k in r], [r[k] for r in log if k in r]) for k in keys}
        series = {k: v for k, v in series.items() if v[0]}
        if series:
            out.append(f'<img alt="{html.escape(title)}" src="{data_uri(plot_png(series, title))}">')
    return out


def grid_section(run: Path, limit: int = 6) -> str:
    grids = sorted((run / "samples").glob("*.png"))
    if not grids:
        return "<p>no sample grids</p>"
    chosen = grids if len(grids) <= limit else [grids[round(i * (len(grids) - 1) / (limit - 1))] for i in range(limit)]
    figures = [f'<figure><img alt="samples at step {int(p.stem)}" src="{data_uri(p.read_bytes())}">'
               f"<figcaption>step {int(p.stem)}</figcaption></figure>" for p in chosen]
    return '<div class="grids">' + "".join(figures) + "</div>"


def metrics_table(metrics: dict) -> str:
    """Rows: metric; columns: each evaluated set (generated, training baseline, noise ...)."""
    sets = [k for k, v in metrics.items() if isinstance(v, dict)]
    names = sorted({m for s in sets for m, v in metrics[s].items() if isinstance(v, (int, float))})
    if not sets or not names:
        return ""
    head = "<tr><th>metric</th>" + "".join(f"<th>{html.escape(s)}</th>" for s in sets) + "</tr>"
    rows = []
    for name in names:
        cells = []
        for s in sets:
            value = metrics[s].get(name)
            cells.append(f"<td>{value:.4g}</td>" if isinstance(value, (int, float)) else "<td></td>")
        rows.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
    return "<table>" + head + "".join(rows) + "</table>"


def ddm_curve(run: Path) -> str:
    path = run / "ddm_over_training.csv"
    if not path.exists():
        return ""
    rows = list(csv.DictReader(path.open()))
    series = {"DDM": ([float(r["step"]) for r in rows], [float(r["ddm"]) for r in rows])}
    return f'<img alt="DDM over training" src="{data_uri(plot_png(series, "DDM over training (lower is better)"))}">'


def run_section(run: Path) -> str:
    """The HTML block of one run."""
    if not run.is_dir():
        raise ConfigError(f"run folder {str(run)!r} not found; pass folders written by `ganforge train`")
    config = (run / "config.yaml").read_text() if (run / "config.yaml").exists() else ""
    description = yaml.safe_load(config).get("description", "") if config else ""
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").exists() else {}
    metrics = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").exists() else {}
    parts = [f"<h2>{html.escape(run.name)}</h2>", f"<p>{html.escape(description)}</p>"]
    if summary:
        where = html.escape(f"{summary.get('device')}, {summary.get('precision')}")
        parts.append(f"<p>{summary.get('steps')} generator steps, {summary.get('wall_s')} s, "
                     f"{(summary.get('steps_per_second') or 0):.3g} steps/s ({where})</p>")
    parts += ["<h3>Samples over training</h3>", grid_section(run), "<h3>Curves</h3>", *curve_sections(read_log(run))]
    if metrics:
        parts += ["<h3>Metrics</h3>", metrics_table(metrics)]
    parts += [ddm_curve(run), "<h3>Config</h3>", f"<pre>{html.escape(config)}</pre>"]
    return '<section class="run">' + "\n".join(p for p in parts if p) + "</section>"


def write_report(runs: list[str | Path], out: str | Path, title: str = "ganforge report") -> Path:
    """Write the report of ``runs`` to ``out`` (one self-contained HTML file); returns its path."""
    sections = [run_section(Path(r)) for r in runs]
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style>{SELF_CHECK}</head><body><h1>{html.escape(title)}</h1>"
            f'<div class="runs">{"".join(sections)}</div></body></html>')
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
