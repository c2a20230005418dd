"""``ganforge experiment compare`` on real MNIST with tiny nets: one row per run, the summary's mean ± std against
the rows, scores recomputed independently, reuse without training, resume of an interrupted run (equal to the
uninterrupted one), the time budget, and refusals."""

from __future__ import annotations

import csv
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from ganforge.errors import ConfigError, RunFolderError
from ganforge.experiments import compare_eval, compare_runs
from ganforge.experiments.compare import CompareSettings, compare
from ganforge.experiments.compare_eval import MEASURES
from ganforge.experiments.real_features import Embedder
from ganforge.metrics import class_coverage, ddm, diversity_ratio, fid
from ganforge.metrics.evaluate import samples_from_run
from ganforge.metrics.features import load_real
from ganforge.train import trainer
from ganforge.train.checkpoint import latest_checkpoint
from helpers.eval_fixtures import private_mnist_cache, tiny_classifier

PRESETS = ("gan-mnist", "aegan-mnist")
TINY = ("model.width=8", "train.batch_size=8", "train.sample_grid=4")
N = 100


def quiet(line: str) -> None:
    pass


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A private data cache (real MNIST linked in), a tiny domain classifier and one comparison of two presets
    over two seeds at 3 generator steps."""
    root = tmp_path_factory.mktemp("compare")
    with private_mnist_cache(root) as cache:
        tiny_classifier(root / "clf", steps=150)
        settings = CompareSettings(presets=PRESETS, seeds=2, steps=3, n=N, classifier=str(root / "clf"), sets=TINY)
        result = compare(root / "out", settings, log=quiet)
        yield {"root": root, "cache": cache, "out": root / "out", "settings": settings, "result": result}


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open()))


def number(text: str) -> float:
    return float("nan") if text == "" else float(text)


def test_one_row_per_preset_and_seed_and_the_files(env):
    out, table = env["out"], rows(env["out"] / "compare.csv")
    assert [(r["preset"], int(r["seed"])) for r in table] == [(p, s) for p in PRESETS for s in (0, 1)]
    for row in table:
        run = out / "runs" / f"{row['preset']}-seed{row['seed']}"
        assert int(row["steps"]) == int(latest_checkpoint(run).name) == 3
        budget = json.loads((run / compare_runs.STATE_FILE).read_text())
        assert budget["session_started"] is None and budget["budget"] == "steps"
        assert float(row["train_seconds"]) == pytest.approx(budget["trained_seconds"], abs=1e-3)
        assert set(MEASURES) <= set(row)
    for preset in PRESETS:
        grid = out / "runs" / f"{preset}-seed0" / "samples" / "00000003.png"
        assert (out / "samples" / f"{preset}.png").read_bytes() == grid.read_bytes()
    summary = json.loads((out / "compare.json").read_text())
    assert set(summary["baselines"]) == {"train", "noise"} and len(summary["rows"]) == 4
    assert (out / "compare.png").stat().st_size > 10000


def test_summary_is_mean_and_std_over_the_seeds(env):
    table, summary = rows(env["out"] / "compare.csv"), rows(env["out"] / "compare_summary.csv")
    assert [r["preset"] for r in summary] == list(PRESETS)
    stds = []
    for row in summary:
        assert int(row["seeds"]) == 2
        for column in ("steps", "train_seconds", *MEASURES):
            values = np.array([number(r[column]) for r in table if r["preset"] == row["preset"]])
            assert number(row[f"{column}_mean"]) == pytest.approx(values.mean(), rel=1e-9, abs=1e-12)
            assert number(row[f"{column}_std"]) == pytest.approx(values.std(ddof=1), rel=1e-9, abs=1e-12)
            stds.append(number(row[f"{column}_std"]))
    assert max(stds) > 0  # the seeds differ: the check above compares real spreads, not only zeros


def test_scores_equal_independent_computations(env):
    """DDM, FID, classes covered and the diversity ratio of one run, recomputed from its samples; the training
    baseline covers the classes and is about as varied as the test set."""
    embed = Embedder.load("mnist", env["settings"].classifier)
    _, test_f, _ = embed.real("test", N, compare_eval.EVAL_SEED)
    _, labels, _, _ = load_real("mnist", "test", N, compare_eval.EVAL_SEED)
    row = rows(env["out"] / "compare.csv")[3]  # aegan-mnist, seed 1
    x, pixel_range, _ = samples_from_run(env["out"] / "runs" / "aegan-mnist-seed1", N, seed=1)
    logits = embed(x, pixel_range)
    assert float(row["ddm"]) == pytest.approx(ddm(test_f, logits), rel=1e-6)
    assert float(row["fid"]) == pytest.approx(fid(test_f, logits), rel=1e-5)
    assert int(row["classes_covered"]) == class_coverage(logits)["classes_covered"]
    ratio = diversity_ratio(logits, logits.argmax(1), test_f, labels)["diversity_ratio"]
    assert number(row["diversity_ratio"]) == pytest.approx(ratio, rel=1e-9, nan_ok=True)
    train = env["result"]["baselines"]["train"]
    assert train["classes_covered"] == 10 and 0.7 < train["diversity_ratio"] < 1.3


def test_second_invocation_trains_and_samples_nothing_and_gives_the_same_numbers(env, monkeypatch):
    out = env["out"]
    before = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/checkpoints/*/*")}
    csv_before = (out / "compare.csv").read_bytes()

    def refuse(*args, **kwargs):
        raise AssertionError("a finished run was trained or sampled again")

    monkeypatch.setattr(compare_runs, "train", refuse)
    monkeypatch.setattr(compare_eval, "samples_from_run", refuse)
    compare(out, env["settings"], log=quiet)
    assert (out / "compare.csv").read_bytes() == csv_before
    assert {p: p.stat().st_mtime_ns for p in out.glob("runs/*/checkpoints/*/*")} == before


def test_interrupted_run_resumes_to_the_budget_and_equals_the_uninterrupted_one(env, monkeypatch, tmp_path):
    """Ctrl-C after step 2 (the trainer's stop flag set there) stops the experiment with a checkpoint at step 2;
    the same call then resumes the run to step 3, and its weights are the uninterrupted run's."""
    settings = replace(env["settings"], presets=("gan-mnist",), seeds=1)
    run = tmp_path / "runs" / "gan-mnist-seed0"

    def interrupt_at_2(step, stopper):
        if step == 2:
            stopper.requested = "SIGINT"

    with monkeypatch.context() as patch:
        patch.setattr(trainer, "_test_stall", interrupt_at_2)
        with pytest.raises(KeyboardInterrupt):
            compare(tmp_path, settings, log=quiet)
    assert int(latest_checkpoint(run).name) == 2 and not (tmp_path / "compare.csv").exists()
    first = json.loads((run / compare_runs.STATE_FILE).read_text())
    assert first["session_started"] is None and first["trained_seconds"] > 0
    compare(tmp_path, settings, log=quiet)
    assert int(latest_checkpoint(run).name) == 3
    assert json.loads((run / compare_runs.STATE_FILE).read_text())["trained_seconds"] > first["trained_seconds"]
    resumed = load_file(latest_checkpoint(run) / "modules.safetensors")
    straight = load_file(latest_checkpoint(env["out"] / "runs" / "gan-mnist-seed0") / "modules.safetensors")
    assert resumed.keys() == straight.keys()
    for key in resumed:
        torch.testing.assert_close(resumed[key], straight[key], rtol=0, atol=0)
    assert rows(tmp_path / "compare.csv")[0]["ddm"] == rows(env["out"] / "compare.csv")[0]["ddm"]


def test_killed_session_counts_the_time_to_its_last_checkpoint(env):
    run = env["out"] / "runs" / "gan-mnist-seed0"
    saved_at = os.stat(latest_checkpoint(run) / "state.json").st_mtime
    state = {"budget": "steps", "trained_seconds": 1.5, "session_started": saved_at - 4.0}
    compare_runs.count_killed_session(state, run)
    assert state["trained_seconds"] == pytest.approx(5.5, abs=1e-6) and state["session_started"] is None


def test_time_budget_trains_until_spent_then_reuses(env, monkeypatch, tmp_path):
    settings = replace(env["settings"], presets=("gan-mnist",), seeds=1, steps=None, minutes=0.002)  # 0.12 s
    compare(tmp_path, settings, log=quiet)
    run = tmp_path / "runs" / "gan-mnist-seed0"
    state = json.loads((run / compare_runs.STATE_FILE).read_text())
    assert state["budget"] == "minutes" and state["trained_seconds"] >= 0.12 - compare_runs.SECONDS_SLACK
    steps = int(latest_checkpoint(run).name)
    assert steps >= 1 and int(rows(tmp_path / "compare.csv")[0]["steps"]) == steps
    monkeypatch.setattr(compare_runs, "train", lambda *a, **k: pytest.fail("a spent time budget was trained again"))
    compare(tmp_path, settings, log=quiet)
    with pytest.raises(ConfigError, match="under a --minutes budget"):
        compare(tmp_path, replace(settings, minutes=None, steps=3), log=quiet)


@pytest.mark.parametrize("change, needle", [
    ({"steps": None}, "exactly one budget"),
    ({"minutes": 1.0}, "exactly one budget"),
    ({"steps": 0}, "--steps must be a positive"),
    ({"steps": None, "minutes": -1.0}, "--minutes must be > 0"),
    ({"presets": ("gan-mnist", "nope")}, "unknown 'nope'"),
    ({"presets": ("gan-ring8",), "sets": ()}, "trains on ring8"),
    ({"presets": ("modnet-mnist",), "sets": ()}, "no noise input"),
    ({"sets": ("train.steps=5",)}, "--steps or --minutes"),
    ({"classifier": "/nonexistent/clf"}, "no such folder"),
    ({"n": 5}, "10 <= --n"),
])
def test_bad_settings_are_refused_before_anything_is_written(env, tmp_path, change, needle):
    with pytest.raises(ConfigError) as caught:
        compare(tmp_path / "out", replace(env["settings"], **change), log=quiet)
    assert needle in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_a_run_of_another_config_or_from_elsewhere_is_refused(env, tmp_path):
    with pytest.raises(ConfigError, match="another config .*model.width"):
        compare(env["out"], replace(env["settings"], sets=("model.width=4", *TINY[1:])), log=quiet)
    foreign = tmp_path / "runs" / "gan-mnist-seed0"  # a run that `ganforge train` made: its seconds are unknown
    shutil.copytree(env["out"] / "runs" / "gan-mnist-seed0", foreign)
    (foreign / compare_runs.STATE_FILE).unlink()
    with pytest.raises(RunFolderError, match="did not train"):
        compare(tmp_path, replace(env["settings"], presets=("gan-mnist",), seeds=1), log=quiet)
