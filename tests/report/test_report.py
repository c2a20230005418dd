"""The HTML report: self-contained (every image a data URI), every section present, and it renders
in real headless Chromium with its images decoded and no console errors. The page itself runs no script
(its Content-Security-Policy forbids them), so the count of decoded images is read from a copy of the page
that this test instruments with SELF_CHECK."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    out = []
    for name, preset in (("ring", "wgan-gp-ring8"), ("grid", "wgan-gp-grid25")):
        run = tmp_path_factory.mktemp(name) / name
        result = subprocess.run([sys.executable, "-m", "ganforge", "train", "--preset", preset, "--steps", "6",
                                 "--set", "model.hidden=16", "--set", "train.sample_every=3",
                                 "--set", "train.log_every=2", "--out", str(run)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        out.append(run)
    (out[0] / "metrics.json").write_text(json.dumps({"fake": {"ddm": 1.5, "fid": 3.25},
                                                     "baseline_train": {"ddm": 1.0, "fid": 0.5}}))
    (out[0] / "ddm_over_training.csv").write_text("step,ddm\n3,2.0\n6,1.5\n")
    return out


def write(runs: list[Path], tmp_path: Path) -> tuple[Path, str]:
    out = tmp_path / "report.html"
    result = subprocess.run([sys.executable, "-m", "ganforge", "report", *map(str, runs), "--out", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    return out, out.read_text()


def test_report_is_self_contained_with_every_section(runs, tmp_path):
    _, page = write(runs, tmp_path)
    sources = re.findall(r'src="([^"]+)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert page.count('<section class="run">') == 2
    # per run: 2 sample grids + 3 curve plots; run 0 adds the DDM curve
    assert len(sources) == 2 * 5 + 1
    for needle in ("Samples over training", "losses", "Wasserstein estimate", "gradient penalty",
                   "DDM over training", "<th>baseline_train</th>", "<td>3.25</td>", "gp_weight: 0.1"):
        assert needle in page, needle


def test_missing_run_is_a_one_line_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ganforge", "report", str(tmp_path / "none"), "--out",
                             str(tmp_path / "r.html")], capture_output=True, text=True)
    assert result.returncode == 2 and "not found" in result.stderr and "Traceback" not in result.stderr


# Marks the page once loaded: how many images decoded and how many script errors happened, so a
# headless browser test can read both from the DOM (only in the test's instrumented copy).
SELF_CHECK = """<script>
let errors = 0;
window.addEventListener("error", () => { errors += 1; }, true);
window.addEventListener("load", () => {
  const ok = [...document.images].filter((i) => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.imagesOk = String(ok);
  document.body.dataset.consoleErrors = String(errors);
});
</script>"""


def instrumented(page: Path) -> Path:
    """A copy of the report with SELF_CHECK added and the policy that would block it removed."""
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text())
    copy = page.with_name("instrumented.html")
    copy.write_text(text.replace("</head>", SELF_CHECK + "</head>", 1))
    return copy


CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"]


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                    reason="Debian's chromium is not installed (make test installs it)")
def test_report_renders_in_headless_chromium(runs, tmp_path):
    assert CHROMIUM, "chromium missing: `apt-get install -y chromium` (make test does this)"
    out, _ = write(runs, tmp_path)
    profile = tmp_path / "profile"
    base = [CHROMIUM, *CHROME_FLAGS, f"--user-data-dir={profile}"]
    shot = tmp_path / "report.png"
    result = subprocess.run([*base, "--window-size=1400,2400", f"--screenshot={shot}", out.as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "Uncaught" in line or "rror" in line], console
    dom = subprocess.run([*base, "--dump-dom", instrumented(out).as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert 'data-images-ok="11"' in dom.stdout, dom.stdout[-500:]
    assert 'data-console-errors="0"' in dom.stdout
    from PIL import Image

    image = Image.open(shot).convert("L")
    assert image.getextrema()[0] < 100  # something dark was drawn (text, plots, samples)
    shutil.copy(shot, tmp_path.parent / "report-screenshot.png")
