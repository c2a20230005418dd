"""``ganforge demo``: the phases run end to end on real MNIST, and running it again continues the run."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from helpers.eval_fixtures import ONE_THREAD_ENV, cache_with_real_mnist


def demo(run: Path, minutes: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", "demo", "--out", str(run), "--minutes", minutes,
                           "--n", "200", "--classifier-minutes", "0.15"], capture_output=True, text=True,
                          timeout=400, env={**os.environ, **ONE_THREAD_ENV, **env})


def test_demo_runs_every_phase_and_continues_when_run_again(tmp_path):
    env = {"GANFORGE_DATA": str(cache_with_real_mnist(tmp_path))}
    run = tmp_path / "demo"
    first = demo(run, "0.05", env)
    assert first.returncode == 0, first.stderr
    for index, phase in enumerate(("fetch MNIST", "domain classifier", "train GAN", "evaluate", "report")):
        assert f"[{index + 1}/5] {phase}" in first.stderr
    assert first.stdout.strip().endswith(f"report: {run / 'report.html'}")
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"ddm", "fid", "kid", "is"} <= set(metrics["fake"]) and metrics["n"] == 200
    assert metrics["noise"]["ddm"] > metrics["baseline_train"]["ddm"]  # uniform noise is far from digits
    steps1 = json.loads((run / "summary.json").read_text())["steps"]
    curve = list(csv.DictReader((run / "ddm_over_training.csv").open()))
    assert curve and int(curve[-1]["step"]) == steps1
    html = (run / "report.html").read_text()
    assert "DDM over training" in html and html.count("data:image/png;base64,") >= 3  # grid, curves, DDM
    assert f"samples at step {steps1}" in html
    clf_meta = (run / "classifier" / "classifier.json").read_text()

    again = demo(run, "0.15", env)  # a larger budget: the run continues from its checkpoint
    assert again.returncode == 0, again.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["start_step"] == steps1 and summary["steps"] > steps1
    assert (run / "classifier" / "classifier.json").read_text() == clf_meta  # trained once, then reused
    spent = json.loads((run / "demo_state.json").read_text())["trained_seconds"]
    assert 0.15 * 60 <= spent < 0.15 * 60 + 30
