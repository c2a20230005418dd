"""The report explains itself: a headline per measure placing the samples between uniform noise and real training
images, a glossary with each measure's direction, the class histogram beside the real one, the nearest-neighbour
grid; a run without an evaluation names the command that makes one. Rendered in headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganforge.data import load_dataset
from ganforge.metrics.evaluate import EvalRequest, evaluate, finite_or_none
from ganforge.report import write_report
from ganforge.report.evaluation import number, placement, position
from ganforge.report.glossary import MEASURES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# (fake, fake's spread, training baseline, noise baseline) of each measure in the fixture's metrics.json
DDM, FID, IS = (9.1, 0.2, 6.4, 17.3), (30.0, 1.5, 2.0, 402.0), (7.5, 0.1, 9.5, 1.5)
REAL_HISTOGRAM = [0.1] * 10
FAKE_HISTOGRAM = [0.3, 0.25, 0.15, 0.1, 0.1, 0.05, 0.05, 0.0, 0.0, 0.0]


def metrics_json() -> dict:
    """What ``ganforge evaluate --run RUN --metrics ddm,fid,kid,is,modes,nn --json RUN/metrics.json`` writes,
    with round numbers (KID has no noise baseline here: the report must say so)."""
    def modes(histogram, covered, kl):
        return {"modes": {"histogram": histogram, "classes_covered": covered, "kl_to_uniform": kl, "num_classes": 10}}

    nn = {space: {"fake_mean": 4.0, "test_mean": 5.0, "median_ratio": 0.75, "share_exact_copies": 0.0}
          for space in ("pixel", "feature")}
    return {
        "fake": {"ddm": DDM[0], "ddm_std": DDM[1], "fid": FID[0], "fid_std": FID[1], "is": IS[0], "is_std": IS[1],
                 "kid": 0.05, "kid_std": 0.004, **modes(FAKE_HISTOGRAM, 7, 0.5), "nn": {**nn, "train_size": 60000}},
        "baseline_train": {"ddm": DDM[2], "fid": FID[2], "is": IS[2], "kid": 0.0, **modes(REAL_HISTOGRAM, 10, 0.0)},
        "baseline_noise": {"ddm": DDM[3], "fid": FID[3], "is": IS[3], **modes([1.0] + [0.0] * 9, 1, 2.3)},
        "real_test": {"is": 9.6, **modes(REAL_HISTOGRAM, 10, 0.0)},
        "n": 1000, "real": "mnist:test <b>", "dataset": "mnist",
    }


def grid_png(path: Path) -> bytes:
    """A stand-in for evaluate's nn_grid.png: 4 rows of 16 random 28×28 cells."""
    pixels = np.random.default_rng(0).integers(0, 256, (4 * 30, 16 * 30), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path.read_bytes()


@pytest.fixture()
def evaluated_run(tmp_path) -> Path:
    run = tmp_path / "evaluated"
    run.mkdir()
    (run / "config.yaml").write_text("description: a tiny evaluated run\n")
    (run / "metrics.json").write_text(json.dumps(metrics_json()))
    grid_png(run / "nn_grid.png")
    return run


def render(tmp_path: Path, *runs: Path) -> str:
    return write_report(list(runs), tmp_path / "report.html").read_text()


def embedded_pngs(page: str) -> dict[str, bytes]:
    """alt text → PNG bytes of every embedded image."""
    return {alt: base64.b64decode(data) for alt, data in re.findall(r'<img alt="([^"]*)" src="data:image/png;'
                                                                        r'base64,([^"]+)"', page)}


def test_headline_places_each_measure_between_noise_and_training_images(evaluated_run, tmp_path):
    page = render(tmp_path, evaluated_run)
    for label, (value, spread, train, noise), lower in (("DDM", DDM, True), ("FID", FID, True),
                                                        ("Inception-style score", IS, False)):
        expected = (noise - value) / (noise - train)  # the share of the way from noise to training images
        assert position(value, train, noise) == pytest.approx(expected, rel=1e-12, abs=1e-12)
        sentence = (f"<b>{label} {value:.3g} ± {spread:.2g}</b>: {expected:.0%} of the way from uniform noise "
                    f"({noise:.3g}) to real training images ({train:.3g}); "
                    f"{'lower' if lower else 'higher'} is better.")
        assert sentence in page, sentence
    assert position(DDM[0], DDM[2], DDM[3]) == pytest.approx(0.7523, abs=1e-4)  # (17.3 - 9.1) / (17.3 - 6.4)
    assert f'style="width:{position(*DDM[:1], *DDM[2:]):.1%}"' in page  # the meter beside the DDM line
    assert "<b>classes covered 7</b>: 67% of the way from uniform noise (1) to real training images (10)" in page
    assert "<b>KID 0.05 ± 0.004</b>: real training images 0; no uniform noise baseline to place it against" in page
    assert "mnist:test &lt;b&gt;" in page and "mnist:test <b>" not in page  # values from the run are escaped


def test_numbers_read_without_exponents():
    assert (number(3726.4), number(612.3), number(104.0, 2), number(0.0123), number(-58.2)) == (
        "3726", "612", "104", "0.0123", "-58.2")


def test_position_outside_the_scale_says_so():
    assert position(20.0, 6.0, 16.0) == pytest.approx(-0.4) and position(4.0, 6.0, 16.0) == pytest.approx(1.2)
    assert position(0.5, 1.0, 0.0) == pytest.approx(0.5)  # a measure where higher is better
    assert position(5.0, None, 16.0) is None and position(5.0, 6.0, 6.0) is None
    assert placement(-0.4, 6.0, 16.0) == "-40%, worse than uniform noise (16); real training images score 6"
    assert placement(1.2, 6.0, 16.0) == "120%, past real training images (6) as seen from uniform noise (16)"


def test_glossary_explains_every_measure_and_its_direction(evaluated_run, tmp_path):
    page = render(tmp_path, evaluated_run)
    glossary = page[page.index('id="glossary"'):page.index('<div class="runs">')]
    for measure in MEASURES:
        assert f"<dt>{measure.label} <span class=dir>({measure.direction})</span></dt>" in glossary
    for needle in ("DDM <span class=dir>(lower is better)", "Inception-style score <span class=dir>(higher is better)",
                   "nearest-neighbour ratio", "uniform noise", "bootstrap spread"):
        assert needle in glossary, needle


def test_class_histogram_and_nearest_neighbour_grid_are_embedded(evaluated_run, tmp_path):
    page = render(tmp_path, evaluated_run)
    images = embedded_pngs(page)
    histogram = Image.open(io.BytesIO(images["class histogram of samples and real images"]))
    assert histogram.size[0] > 300 and histogram.size[1] > 150
    assert images["samples beside their nearest training images"] == (evaluated_run / "nn_grid.png").read_bytes()
    assert "nearest-neighbour ratio mean 0.8 (median 0.75), exact copies 0.0%" in page  # 4.0 / 5.0
    assert "Classes of the samples beside real images" in page


def test_a_run_without_an_evaluation_names_the_command(evaluated_run, tmp_path):
    bare = tmp_path / "bare run"
    bare.mkdir()
    page = render(tmp_path, bare, evaluated_run)
    assert "This run has no evaluation yet" in page
    assert f"ganforge evaluate --run &#x27;{bare}&#x27; --metrics ddm,fid,kid,is,modes,nn --json" in page
    (evaluated_run / "nn_grid.png").unlink()
    assert "No nn_grid.png beside metrics.json" in render(tmp_path, evaluated_run)


def test_report_reads_what_evaluate_writes(tmp_path):
    """Toy points through the real evaluation suite: its JSON feeds the headline and the mode histogram."""
    points = load_dataset("ring8", "test", n=400, seed=3).images
    result = finite_or_none(evaluate(points, None, EvalRequest(dataset="ring8", n=400,
                                                               metrics=("ddm", "fid", "kid", "modes"))))
    run = tmp_path / "toy"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps(result))
    page = render(tmp_path, run)
    fake, train, noise = (result[k]["ddm"] for k in ("fake", "baseline_train", "baseline_noise"))
    where = (fake - noise) / (train - noise)
    assert 0.8 < where < 1.2  # real points score like the training baseline, far from noise
    assert f"{where:.0%} " in page and f"uniform noise ({noise:.3g})" in page
    assert "class histogram of samples and real images" in embedded_pngs(page)
    assert "No memorization check" in page  # nn needs a classifier, toy points have none


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium, chromium-browser or google-chrome on PATH "
                    "(.ci/run and `make browser` install Debian's chromium)")
def test_report_screenshot_in_headless_chromium(evaluated_run, tmp_path):
    out = write_report([evaluated_run], tmp_path / "report.html", title="ganforge report: what it shows")
    shot = tmp_path / "screenshot.png"
    result = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update",
                             f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                             "--window-size=1200,2000", out.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.exists(), result.stderr[-2000:]
    image = Image.open(shot)
    image.verify()  # a whole, valid PNG
    image = Image.open(shot)
    assert image.format == "PNG" and image.size == (1200, 2000)
    gray = np.asarray(image.convert("L"), dtype=np.float64)
    assert gray.std() > 20 and gray.min() < 60  # text, plots and the grid were drawn, not a blank page
    shutil.copy(shot, tmp_path.parent / "report-explains-screenshot.png")
