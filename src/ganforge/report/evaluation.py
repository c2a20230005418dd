"""The evaluated part of a run's report: where its samples stand, their classes, and their nearest training images.

Numbers come from ``RUN/metrics.json``, the JSON that ``ganforge evaluate --run RUN --json RUN/metrics.json``
writes (the demo writes it too): the samples' measures under ``fake``, the training-set baseline under
``baseline_train``, the uniform-noise baseline under ``baseline_noise`` (``noise`` in older demo runs) and the
real test set under ``real_test``; ``nn`` writes ``nn_grid.png`` beside the JSON. Nothing is computed here: a run
without that file gets one sentence naming the command that makes it.

The headline of a measure with value x, training baseline r and noise baseline u is the position
(x - u) / (r - u): 0 at noise, 1 at real training images, whichever way the measure improves.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from ganforge.report.glossary import MEASURES, Measure
from ganforge.report.markup import esc, figure, is_number, png_bytes, pyplot
from ganforge.report.run_files import RunFiles

METRICS_FILE = "metrics.json"
NN_GRID = "nn_grid.png"
SUITE = "ddm,fid,kid,is,modes,nn"


def evaluate_command(run: Path) -> str:
    """The command that writes the evaluation this report reads."""
    return f"ganforge evaluate --run {shlex.quote(str(run))} --metrics {SUITE} --json " \
           f"{shlex.quote(str(run / METRICS_FILE))}"


def lookup(entry: Any, path: tuple[str, ...]) -> float | None:
    """The number at ``path`` inside one set's entry, or None (absent, null, not a number)."""
    for key in path:
        entry = entry.get(key) if isinstance(entry, dict) else None
    return float(entry) if is_number(entry) else None


def position(value: float, train: float | None, noise: float | None) -> float | None:
    """(value - noise) / (train - noise): 0 at uniform noise, 1 at real training images; None without both."""
    if train is None or noise is None or train == noise:
        return None
    return (value - noise) / (train - noise)


def number(value: float, digits: int = 3) -> str:
    """``digits`` significant digits, without an exponent for numbers up to a billion (3726, not 3.73e+03)."""
    return f"{value:.0f}" if 10 ** digits <= abs(value) < 1e9 else format(value, f".{digits}g")


def placement(where: float, train: float, noise: float) -> str:
    """Words for a position on the noise → training-images scale (escaped HTML)."""
    share, u, r = esc(format(where, ".0%")), esc(number(noise)), esc(number(train))
    if where < 0:
        return f"{share}, worse than uniform noise ({u}); real training images score {r}"
    if where > 1:
        return f"{share}, past real training images ({r}) as seen from uniform noise ({u})"
    return f"{share} of the way from uniform noise ({u}) to real training images ({r})"


def headline(measure: Measure, metrics: dict) -> str | None:
    """One sentence placing the samples between the baselines on ``measure`` (None when it was not measured)."""
    value = lookup(metrics.get("fake"), measure.path)
    if value is None:
        return None
    spread = lookup(metrics.get("fake"), (*measure.path[:-1], measure.spread)) if measure.spread else None
    train = lookup(metrics.get("baseline_train"), measure.path)
    noise = lookup(metrics.get("baseline_noise") or metrics.get("noise"), measure.path)
    where = position(value, train, noise)
    shown = number(value) + (f" ± {number(spread, 2)}" if spread is not None else "")
    text = f"<b>{esc(measure.label)} {esc(shown)}</b>: "
    if where is not None:
        meter = min(max(where, 0.0), 1.0)
        text = (f'<span class=meter title="0% noise, 100% training images"><span style="width:{meter:.1%}">'
                f"</span></span> {text}{placement(where, train, noise)}")
    else:
        missing = [name for name, v in (("real training images", train), ("uniform noise", noise)) if v is None]
        known = f"real training images {esc(number(train))}; " if train is not None else ""
        text = f"<span class=meter></span> {text}{known}no {esc(' or '.join(missing) or 'distinct')} baseline to " \
               "place it against"
    return f"<li>{text}; {esc(measure.direction)}.</li>"


def headline_section(metrics: dict) -> str:
    lines = [line for m in MEASURES if (line := headline(m, metrics)) is not None]
    if not lines:
        return "<p>metrics.json holds none of the report's measures.</p>"
    n = metrics.get("n")
    counted = f"{n} samples" if is_number(n) else "the samples"
    against = metrics.get("real", "the real test set")
    intro = (f"Where {esc(counted)} stand on each measure, from uniform noise (0%) to real training images (100%), "
             f"all compared against {esc(against)} " '(<a href="#glossary">what the measures mean</a>):')
    return f"<p>{intro}</p><ul class=headline>{''.join(lines)}</ul>"


def histogram_png(samples: list[float], real: list[float], kind: str) -> bytes:
    """Grouped bars of two histograms of shares (class k of the samples beside class k of real images)."""
    fig, ax = pyplot().subplots(figsize=(5, 2.6), dpi=90)
    xs = range(len(samples))
    ax.bar([x - 0.2 for x in xs], samples, width=0.4, label="samples", color="#d95f02")
    ax.bar([x + 0.2 for x in xs], real, width=0.4, label="real test images", color="#1b9e77")
    ax.set_xticks(list(xs))
    ax.set_xlabel("class (domain classifier's decision)" if kind == "classes" else "mode of the mixture")
    ax.set_ylabel("share")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return png_bytes(fig)


def _shares(modes: Any) -> tuple[list[float], str] | None:
    """A set's histogram of shares from its ``modes`` entry: class shares, or toy mode counts over their sum."""
    if not isinstance(modes, dict):
        return None
    for key, kind in (("histogram", "classes"), ("counts", "modes")):
        values = modes.get(key)
        if isinstance(values, list) and values and all(is_number(v) and v >= 0 for v in values):
            total = sum(values) if kind == "modes" else 1.0
            return [v / total if total else 0.0 for v in values], kind
    return None


def histogram_section(metrics: dict) -> str:
    """The class histogram of the samples beside the real test set's (or the training set's)."""
    fake = _shares((metrics.get("fake") or {}).get("modes"))
    real = _shares((metrics.get("real_test") or {}).get("modes")) or _shares(
        (metrics.get("baseline_train") or {}).get("modes"))
    if fake is None or real is None or len(fake[0]) != len(real[0]):
        return "<p>No class histogram: evaluate with the <code>modes</code> measure.</p>"
    caption = ("Share of samples in each class, as the domain classifier labels them, beside real test images. "
               "Bars far from the real ones mean missing or over-produced classes.")
    return figure(histogram_png(fake[0], real[0], fake[1]), "class histogram of samples and real images", caption)


def nn_section(files: RunFiles, metrics: dict) -> str:
    """The nearest-neighbour ratios and the grid of samples beside their nearest training images."""
    nn = (metrics.get("fake") or {}).get("nn")
    if not isinstance(nn, dict):
        return "<p>No memorization check: evaluate with the <code>nn</code> measure.</p>"
    parts = []
    for space in ("pixel", "feature"):
        stats = nn.get(space) if isinstance(nn.get(space), dict) else {}
        fake, test, median = (lookup(stats, (k,)) for k in ("fake_mean", "test_mean", "median_ratio"))
        copies = lookup(stats, ("share_exact_copies",))
        if fake is not None and test:
            parts.append(f"<li>{esc(space)} space: nearest-neighbour ratio mean {esc(format(fake / test, '.3g'))}"
                         f" (median {esc(format(median, '.3g') if median is not None else '?')}), exact copies "
                         f"{esc(format(copies, '.1%') if copies is not None else '?')}</li>")
    grid = files.read_png(NN_GRID)
    caption = ("Each generated sample (1st, 3rd, 5th ... column) is followed by its nearest training image in "
               "pixel space. Pairs that look identical would mean the generator copies its training data.")
    shown = figure(grid, "samples beside their nearest training images", caption) if grid else (
        f"<p>No {NN_GRID} beside metrics.json: the grid is written by <code>ganforge evaluate --json</code> "
        "with the <code>nn</code> measure.</p>")
    return f"<ul>{''.join(parts)}</ul>{shown}"


def evaluation_sections(files: RunFiles, run: Path, metrics: dict | None) -> list[str]:
    """The headline, class histogram and memorization blocks of one run (``metrics``: its ``metrics.json``,
    None when absent or damaged), or the command that makes them."""
    if not metrics or not isinstance(metrics.get("fake"), dict):
        return ["<h3>How good are the samples?</h3>",
                f"<p class=missing>This run has no evaluation yet ({METRICS_FILE}), so the report cannot say where "
                f"its samples stand. Make it with <code>{esc(evaluate_command(run))}</code> and write the "
                "report again.</p>"]
    return ["<h3>How good are the samples?</h3>", headline_section(metrics),
            "<h3>Classes of the samples beside real images</h3>", histogram_section(metrics),
            "<h3>Memorization: samples beside their nearest training images</h3>", nn_section(files, metrics)]
