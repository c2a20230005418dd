"""`ganforge train` assembles its config through one checked path: a resume's range errors are refused before
the run folder is touched, and ``model.net: auto`` builds (and records) the net that fits the data."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from helpers.cli_checks import one_line_error

TOY = ["--model", "wgan-gp", "--dataset", "ring8", "--set", "model.hidden=8", "--set", "model.z_dim=4",
       "--set", "train.batch_size=16", "--set", "train.precision=fp32"]


def ganforge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def folder_state(run: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``run``: its sha256 and modification time."""
    return {str(p.relative_to(run)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(run.rglob("*")) if p.is_file()}


@pytest.fixture
def toy_run(tmp_path) -> Path:
    run = tmp_path / "run"
    result = ganforge("train", *TOY, "--steps", "2", "--out", str(run))
    assert result.returncode == 0, result.stderr
    return run


def test_auto_net_on_point_data_builds_and_records_the_mlp(toy_run):
    summary = json.loads((toy_run / "summary.json").read_text())
    assert (summary["model"], summary["net"], summary["steps"]) == ("wgan-gp", "mlp", 2)
    assert yaml.safe_load((toy_run / "config.yaml").read_text())["model"]["net"] == "mlp"
    state = json.loads((toy_run / "checkpoints" / "00000002" / "state.json").read_text())
    assert state["meta"]["config"]["model"]["net"] == "mlp"
    weights = load_file(str(toy_run / "checkpoints" / "00000002" / "modules.safetensors"))
    generator = {k: v for k, v in weights.items() if k.startswith("generator.")}
    assert generator and all(v.dim() <= 2 for v in generator.values())  # linear layers only, no convolutions
    assert generator["generator.net.0.weight"].shape == (8, 4)  # (hidden, z_dim)
    # a resume that names the same source again (net still auto) is the same config, not a change
    again = ganforge("train", *TOY, "--steps", "3", "--out", str(toy_run), "--resume")
    assert again.returncode == 0, again.stderr
    assert json.loads((toy_run / "summary.json").read_text())["steps"] == 3


@pytest.mark.parametrize("extra, needle", [
    (["--set", "train.log_every=0"], "'train.log_every': must be >= 1, got 0"),
    (["--set", "train.log_every=0", "--allow-config-change"], "'train.log_every': must be >= 1, got 0"),
    (["--set", "train.ema=1.5", "--allow-config-change"], "'train.ema': must be in [0, 1)"),
    ([*TOY, "--set", "train.sample_every=0", "--allow-config-change"], "'train.sample_every': must be >= 1"),
], ids=["saved-config", "saved-config-allow-change", "ema-allow-change", "named-source-allow-change"])
def test_range_errors_on_resume_are_one_line_and_leave_the_run_untouched(toy_run, extra, needle):
    before = folder_state(toy_run)
    result = ganforge("train", "--out", str(toy_run), "--resume", "--steps", "4", *extra)
    one_line_error(result, needle)
    assert folder_state(toy_run) == before


def test_a_named_net_that_does_not_fit_the_data_is_one_line(tmp_path):
    result = ganforge("train", *TOY, "--steps", "2", "--set", "model.net=dcgan", "--out", str(tmp_path / "run"))
    one_line_error(result, "model.net 'dcgan' needs images", "model.net=mlp")
