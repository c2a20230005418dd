"""The Python API as a user calls it: ``ganforge.train`` / ``open_run`` / ``evaluate`` give what the CLI gives
(bit for bit for samples, equal JSON for measures), with the CLI's one-line errors; ``import ganforge`` is light;
the README's example runs as written (extracted from README.md below)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ganforge
from ganforge.metrics.features import load_real
from helpers.eval_fixtures import ONE_THREAD_ENV

pytestmark = pytest.mark.usefixtures("one_torch_thread")
REPO = Path(__file__).resolve().parents[1]
TINY_RING = {"model": {"hidden": 16}, "train": {"batch_size": 32}}
TINY_LAPGAN = {"name": "lapgan", "conditional": True, "width": 4, "hidden_g": 8, "hidden_d": 8, "z_dim": 4}


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **ONE_THREAD_ENV, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("api") / "ring"
    return out, ganforge.train("wgan-gp-ring8", out=out, steps=3, seed=5, sets=["train.ema=0.5"], **TINY_RING)


def test_import_ganforge_does_not_import_torch():
    code = ("import sys, ganforge; from ganforge import Config, ConfigError, CheckpointError, resolve_config; "
            "assert 'torch' not in sys.modules and 'ganforge.variants' not in sys.modules, sorted(sys.modules); "
            "cfg = resolve_config(preset='wgan-gp-ring8', sets=['model.hidden=12']); "
            "print(type(cfg.model).__name__, cfg.model.hidden, callable(ganforge.train), "
            "ganforge.metrics.fid.__name__)")
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["WGANGPConfig", "12", "True", "fid"]  # the model registered on first lookup


def test_train_takes_sections_sets_steps_and_seed(ring_run):
    out, summary = ring_run
    assert (summary["steps"], summary["start_step"], summary["model"], summary["net"]) == (3, 0, "wgan-gp", "mlp")
    run = ganforge.open_run(out)
    assert (run.step, run.modes, run.pixel_range) == (3, ("noise",), None)
    cfg = run.config
    train = cfg.train
    assert (cfg.model.hidden, train.batch_size, train.ema, train.seed, train.steps) == (16, 32, 0.5, 5, 3)


def test_resume_without_a_preset_continues_from_the_saved_config(tmp_path):
    out = tmp_path / "ring"
    ganforge.train("wgan-gp-ring8", out=out, steps=2, **TINY_RING)
    summary = ganforge.train(out=out, steps=4, resume=True)
    assert (summary["start_step"], summary["steps"]) == (2, 4)
    assert ganforge.open_run(out).config.model.hidden == 16  # the saved config, not the preset's default


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"model": {"hiden": 3}}, "unknown config key 'model.hiden'"),
    ({"train": {"batch_size": "many"}}, "train.batch_size"),
    ({"sets": ["train.steps"]}, "expected KEY=VALUE"),
    ({"sets": ["train.log_every=0"]}, "'train.log_every': must be >= 1"),
    ({"optimiser": {}}, "unknown config key 'optimiser'"),
    ({"minutes": -1}, "minutes must be positive"),
])
def test_train_refuses_bad_settings_with_the_cli_line(tmp_path, kwargs, needle):
    with pytest.raises(ganforge.ConfigError) as info:
        ganforge.train("wgan-gp-ring8", out=tmp_path / "r", steps=1, **kwargs)
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "r" / "checkpoints").exists()


def test_train_without_a_source_says_what_to_train(tmp_path):
    with pytest.raises(ganforge.ConfigError, match="say what to train"):
        ganforge.train(out=tmp_path / "r", steps=1)


@pytest.mark.parametrize("ema", [False, True])
def test_sample_equals_the_cli_npz_bit_for_bit(ring_run, tmp_path, ema):
    out, _ = ring_run
    npz = tmp_path / "s.npz"
    proc = cli("sample", "--run", str(out), "--n", "64", "--seed", "7", "--npz", str(npz), *(["--ema"] if ema else []))
    assert proc.returncode == 0, proc.stderr
    run = ganforge.open_run(out)
    ours = run.sample(64, seed=7, ema=ema)
    assert ours.shape == (64, 2) and ours.dtype == torch.float32
    assert torch.equal(ours, torch.from_numpy(np.load(npz)["samples"]))
    assert torch.equal(run.sample(64, seed=7, ema=ema), ours)  # each call draws afresh
    assert not torch.equal(run.sample(64, seed=8, ema=ema), ours)


def test_sample_refuses_classes_for_an_unconditional_model(ring_run):
    run = ganforge.open_run(ring_run[0])
    with pytest.raises(ganforge.ConfigError, match="draws no class-conditional samples .*modes: noise"):
        run.sample(4, classes=1)
    with pytest.raises(ganforge.ConfigError, match="n must be at least 1"):
        run.sample(0)


def test_class_samples_equal_the_cli_and_are_checked(tmp_path):
    out = tmp_path / "lap"
    ganforge.train(out=out, steps=2, model=TINY_LAPGAN, data={"name": "mnist"}, train={"batch_size": 8})
    npz = tmp_path / "c.npz"
    proc = cli("sample", "--run", str(out), "--n", "6", "--seed", "2", "--class", "3", "--npz", str(npz))
    assert proc.returncode == 0, proc.stderr
    run = ganforge.open_run(out)
    assert run.modes == ("noise", "class", "levels") and run.pixel_range == (-1.0, 1.0)
    images = run.sample(6, seed=2, classes=3)
    assert images.shape == (6, 1, 28, 28) and -1 <= images.min() and images.max() <= 1
    assert torch.equal(images, torch.from_numpy(np.load(npz)["samples"]))
    assert torch.equal(run.sample(6, seed=2, classes=[3] * 6), images)
    with pytest.raises(ganforge.ConfigError, match="class 10 is outside 0..9"):
        run.sample(2, classes=10)
    with pytest.raises(ganforge.ConfigError, match="3 labels for n=2"):
        run.sample(2, classes=[1, 2, 3])


def test_evaluate_equals_the_cli_json_for_a_tensor_an_array_and_a_file(ring_run, tmp_path):
    run = ganforge.open_run(ring_run[0])
    points = run.sample(300, seed=1)
    path = tmp_path / "fake.npy"
    np.save(path, points.numpy())
    proc = cli("evaluate", "--fake", str(path), "--real", "ring8:test", "--metrics", "ddm,fid", "--n", "300")
    assert proc.returncode == 0, proc.stderr
    expected = json.loads(proc.stdout)
    for samples in (points, points.numpy(), path, str(path)):
        result = ganforge.evaluate(samples, real="ring8:test", metrics=("ddm", "fid"))
        assert json.loads(json.dumps(result)) == expected
    # and the numbers are the metric math on the raw points (ring8's embedding is the identity)
    test_points = load_real("ring8", "test", 300, 0, toy_size=300)[0]
    assert expected["fake"]["fid"] == pytest.approx(ganforge.metrics.fid(test_points, points), rel=1e-9)
    assert expected["fake"]["ddm"] == pytest.approx(ganforge.metrics.ddm(test_points, points), rel=1e-9)
    assert expected["fake"]["fid"] > 10 * expected["baseline_train"]["fid"]  # 3 steps: far from the ring


def test_evaluate_checks_its_inputs(ring_run):
    images = torch.rand(20, 1, 28, 28)
    with pytest.raises(ganforge.ConfigError, match="pixel_range"):
        ganforge.evaluate(images)
    with pytest.raises(ganforge.ConfigError, match="at least 10"):
        ganforge.evaluate(torch.rand(5, 2), real="ring8:test")
    with pytest.raises(ganforge.ConfigError, match="shape"):
        ganforge.evaluate(torch.rand(20, 5), real="ring8:test")


def test_readme_example_runs_as_written(tmp_path, monkeypatch, capsys):
    text = (REPO / "README.md").read_text()
    code = re.search(r"<!-- python-api-example -->\n```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    tokens = capsys.readouterr().out.strip().splitlines()[-1].split()
    assert tokens[:3] == ["20", "20", "('noise',)"]
    assert 0 <= float(tokens[4]) < float(tokens[3])  # the training baseline's FID below the 20-step model's
    assert (tmp_path / "runs" / "api-ring8" / "summary.json").is_file()
