"""The report as an attacker or a careless user would feed it: values injected into a run's JSON and YAML
are escaped whatever their type and no script runs (checked in headless Chromium); links that lead
outside the run are skipped with a note, not embedded; damaged files, FIFOs and a `sample --class-grid`
output are notes or figures, never a crash."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ganforge.cli import main as cli_main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
# What the payloads would do if they ran: mark <body>, which --dump-dom shows.
PAYLOAD_IMG = '<img src=x onerror="document.body.dataset.pwned=1">'
PAYLOAD_SCRIPT = "<script>document.body.dataset.pwned2=1</script>"
SECRET = "SECRET-TOKEN-8c1f"


def ganforge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=300,
                          env=ENV)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("toy") / "run"
    assert cli_main(["train", "--preset", "wgan-gp-ring8", "--set", "model.hidden=8", "--set", "train.batch_size=16",
                     "--set", "train.sample_every=2", "--steps", "4", "--out", str(run)]) == 0
    return run


def copy_run(run: Path, tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    shutil.copytree(run, out)
    return out


def report(tmp_path: Path, *runs: Path) -> str:
    out = tmp_path / "report.html"
    result = ganforge("report", *map(str, runs), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return out.read_text()


def hostile_run(toy_run: Path, tmp_path: Path) -> Path:
    run = copy_run(toy_run, tmp_path, "hostile")
    summary = json.loads((run / "summary.json").read_text())
    summary.update(steps=PAYLOAD_IMG, wall_s=[PAYLOAD_SCRIPT], steps_per_second=PAYLOAD_IMG,
                   device={"x": PAYLOAD_SCRIPT}, precision=7)
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "metrics.json").write_text(json.dumps({PAYLOAD_SCRIPT: {PAYLOAD_IMG: 1.5, "fid": PAYLOAD_IMG}}))
    config = (run / "config.yaml").read_text().replace("description:", f"description: '{PAYLOAD_IMG}'\nold:", 1)
    (run / "config.yaml").write_text(config + f"# {PAYLOAD_SCRIPT}\n")
    return run


def test_every_injected_value_is_escaped_and_the_page_forbids_scripts(toy_run, tmp_path):
    page = report(tmp_path, hostile_run(toy_run, tmp_path))
    assert '<meta http-equiv="Content-Security-Policy"' in page and "script-src 'none'" in page
    assert "default-src 'none'" in page and "img-src data:" in page
    assert "<script" not in page.lower() and "<img src=x" not in page
    assert "&lt;img src=x onerror=&quot;document.body.dataset.pwned=1&quot;&gt;" in page  # shown as text
    assert "&lt;script&gt;" in page


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                    reason="Debian's chromium is not installed (make test installs it)")
def test_no_injected_script_runs_in_headless_chromium(toy_run, tmp_path):
    assert CHROMIUM, "chromium missing: `apt-get install -y chromium` (make test does this)"
    page = report(tmp_path, hostile_run(toy_run, tmp_path))
    control = tmp_path / "control.html"  # the same payloads unescaped, no policy: they must run here
    control.write_text(f"<!doctype html><html><body><p>{PAYLOAD_IMG}</p>{PAYLOAD_SCRIPT}</body></html>")
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", f"--user-data-dir={tmp_path / 'p'}",
             "--virtual-time-budget=3000", "--dump-dom"]

    def dom(path: Path) -> str:
        result = subprocess.run([*flags, path.as_uri()], capture_output=True, text=True, timeout=120)
        assert "<body" in result.stdout, result.stderr[-2000:]
        return result.stdout

    ran = dom(control)
    assert 'data-pwned="1"' in ran and 'data-pwned2="1"' in ran  # the probe detects a script that runs
    assert "hostile" in page
    shown = dom(tmp_path / "report.html")
    assert "data-pwned" not in shown.split("<body", 1)[1].split(">", 1)[0]  # no attribute set on <body>
    assert "data-pwned=" not in shown and "data-pwned2=" not in shown


def test_links_that_lead_outside_the_run_are_skipped_with_a_note(toy_run, tmp_path):
    run = copy_run(toy_run, tmp_path, "linked")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "credentials.yaml").write_text(f"description: {SECRET}\ntoken: {SECRET}\n")
    (outside / "metrics.json").write_text(json.dumps({"fake": {"ddm": 1.0, SECRET: 2.0}}))
    grid = sorted((run / "samples").iterdir())[0]
    png = grid.read_bytes() + SECRET.encode()  # a real PNG (trailing bytes are ignored by decoders)
    (outside / "photo.png").write_bytes(png)
    (run / "config.yaml").unlink()
    (run / "config.yaml").symlink_to(outside / "credentials.yaml")
    (run / "metrics.json").symlink_to(outside / "metrics.json")
    (run / "samples" / "00000099.png").symlink_to(outside / "photo.png")
    (run / "samples" / "00000098.png").symlink_to(grid)  # a link that stays inside the run is fine
    page = report(tmp_path, run)
    assert SECRET not in page and base64.b64encode(png).decode() not in page
    for name in ("config.yaml", "metrics.json", "samples/00000099.png"):
        assert f"skipped {name}: it leads outside the run folder" in page, name
    assert "samples at step 98" in page


def test_a_samples_folder_linked_outside_is_not_embedded(toy_run, tmp_path):
    run = copy_run(toy_run, tmp_path, "samples_link")
    shutil.move(run / "samples", tmp_path / "elsewhere")
    (run / "samples").symlink_to(tmp_path / "elsewhere")
    page = report(tmp_path, run)
    assert "skipped samples: it leads outside the run folder" in page and "data:image/png" in page  # curves


def test_damaged_files_and_fifos_are_notes_not_crashes(toy_run, tmp_path):
    run = copy_run(toy_run, tmp_path, "damaged")
    (run / "summary.json").write_text('{"steps": 4, "wall_')
    (run / "metrics.json").write_text("[1, 2, 3]")
    (run / "config.yaml").write_text("model: [unclosed\n  - {\n")
    with (run / "log.jsonl").open("a") as f:
        f.write('{"step": 5, "loss_d"')
    (run / "samples" / "notes.png").write_text("not a png")
    shutil.copy(sorted((run / "samples").iterdir())[0], run / "samples" / "\u00b2.png")  # isdigit(), not int()
    os.mkfifo(run / "ddm_over_training.csv")  # would block a plain open() forever
    page = report(tmp_path, run)
    warnings = ganforge("report", str(run), "--out", str(tmp_path / "again.html")).stderr.splitlines()
    assert len(warnings) == 6 and all(w.startswith(f"ganforge: warning: {run}: ") for w in warnings), warnings
    assert any("log.jsonl: dropped a torn last line" in w for w in warnings)
    for note in ("skipped summary.json: damaged JSON", "skipped metrics.json: JSON list, not an object",
                 "skipped config.yaml: damaged YAML", "log.jsonl: dropped a torn last line",
                 "skipped samples/notes.png: not a PNG file", "skipped ddm_over_training.csv: not a regular file",
                 "<figcaption>\u00b2.png</figcaption>"):
        assert note in page, note
    (run / "ddm_over_training.csv").unlink()
    (run / "ddm_over_training.csv").write_text("step,ddm\n3,abc\n")
    (run / "summary.json").write_text(json.dumps({"steps": None, "wall_s": "n/a", "steps_per_second": "fast"}))
    page = report(tmp_path, run)
    assert "skipped ddm_over_training.csv: damaged" in page and "None generator steps, n/a s, fast steps/s" in page


def test_a_class_grid_written_by_sample_is_shown_not_a_crash(tmp_path):
    run = tmp_path / "stackgan"
    assert cli_main(["train", "--model", "stackgan", "--dataset", "mnist", "--set", "model.encoder=random",
                     "--set", "model.encoder_width=0.0625", "--set", "model.width=0.0625", "--set", "model.noise_0=4",
                     "--set", "model.noise_1=4", "--set", "train.batch_size=4", "--set", "train.sample_grid=10",
                     "--steps", "2", "--out", str(run)]) == 0
    sampled = ganforge("sample", "--run", str(run), "--class-grid", "2")  # writes RUN/samples/class-grid.png
    assert sampled.returncode == 0, sampled.stderr
    assert (run / "samples" / "class-grid.png").is_file()
    page = report(tmp_path, run)
    assert "<h3>Other samples</h3>" in page and "<figcaption>class-grid.png</figcaption>" in page
    assert "samples at step 2" in page
