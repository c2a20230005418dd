"""MLflow tracking (``train.log_to: [..., mlflow]``) against a real local SQLite store, read back with MLflow's
own client: params, scalar histories, sample-grid artifacts, run status, resume into the same MLflow run, a
shared store named by ``train.mlflow_uri``; and the one-line error when the extra is not installed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import ganforge as ganforge_package
from ganforge import config as C
from ganforge.errors import ConfigError
from ganforge.train.mlflow_log import MISSING, RUN_ID_FILE
from helpers.cli_checks import in_process_one_line_error

TOY = ["--preset", "wgan-gp-ring8", "--set", "train.batch_size=64", "--set", "model.hidden=32",
       "--set", "train.log_every=4", "--set", "train.sample_every=6", "--set", "train.checkpoint_every=4"]
SOURCE = str(Path(ganforge_package.__file__).parents[1])  # the subprocesses import this ganforge from any cwd
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([SOURCE, os.environ.get("PYTHONPATH", "")])}


def ganforge(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=240,
                          env=ENV, cwd=cwd)


def client_of(run: Path):
    """MLflow's client on the run folder's default store."""
    mlflow = pytest.importorskip("mlflow")
    return mlflow.tracking.MlflowClient(f"sqlite:///{run / 'mlflow.db'}")


def jsonl(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_params_scalars_and_sample_grids_reach_the_run_folders_store(tmp_path):
    pytest.importorskip("mlflow")
    run = tmp_path / "run"
    result = ganforge("train", *TOY, "--steps", "12", "--out", str(run), "--set", "train.log_to=jsonl,mlflow")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "INFO" not in result.stderr  # MLflow's table setup stays quiet
    assert not (run / "tensorboard").exists()  # log_to left it out
    run_id = json.loads((run / RUN_ID_FILE).read_text())["run_id"]
    client = client_of(run)
    experiment = client.get_experiment_by_name("wgan-gp")  # default experiment: the model's name
    assert experiment.artifact_location == (run / "mlartifacts").resolve().as_uri()
    assert [r.info.run_id for r in client.search_runs([experiment.experiment_id])] == [run_id]
    mlrun = client.get_run(run_id)
    assert mlrun.info.status == "FINISHED" and mlrun.info.run_name == "run"
    params = mlrun.data.params
    assert params["model.name"] == "wgan-gp" and params["train.batch_size"] == "64"
    assert params["model.hidden"] == "32" and params["model.net"] == "mlp" and params["data.name"] == "ring8"
    assert params["train.log_to"] == '["jsonl", "mlflow"]' and params["model.optim_g.betas"] == "[0.5, 0.9]"
    records = jsonl(run)
    assert set(mlrun.data.metrics) == set(records[0]) - {"step"}
    history = client.get_metric_history(run_id, "wasserstein")
    assert [m.step for m in history] == [r["step"] for r in records] == [4, 8, 12]
    assert [m.value for m in history] == pytest.approx([r["wasserstein"] for r in records], rel=1e-12)
    grids = client.list_artifacts(run_id, "samples")
    assert [g.path for g in grids] == ["samples/00000006.png", "samples/00000012.png"]
    local = client.download_artifacts(run_id, "samples/00000012.png", str(tmp_path))
    assert Path(local).read_bytes() == (run / "samples" / "00000012.png").read_bytes()


def test_a_signal_ends_the_mlflow_run_killed_and_resume_continues_it(tmp_path):
    pytest.importorskip("mlflow")
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "ganforge", "train", *TOY, "--steps", "12", "--out", str(run),
                             "--set", "train.log_to=jsonl,tensorboard,mlflow"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**ENV, "GANFORGE_TEST_STALL_AT_STEP": "8"})
    lines = []
    for line in proc.stdout:  # until the stall after step 8
        lines.append(line)
        if "stalled after step 8" in line:
            break
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(lines) + out
    run_id = json.loads((run / RUN_ID_FILE).read_text())["run_id"]
    assert client_of(run).get_run(run_id).info.status == "KILLED"

    resumed = ganforge("train", "--out", str(run), "--resume", "--steps", "12")  # the saved config's log_to
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / RUN_ID_FILE).read_text())["run_id"] == run_id
    client = client_of(run)
    assert len(client.search_runs([client.get_experiment_by_name("wgan-gp").experiment_id])) == 1
    assert client.get_run(run_id).info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run_id, "loss_d")] == [4, 8, 12]
    assert [g.path for g in client.list_artifacts(run_id, "samples")] == ["samples/00000006.png",
                                                                          "samples/00000012.png"]


def test_runs_share_a_store_and_experiment_named_by_the_config(tmp_path):
    """A store named by ``train.mlflow_uri`` keeps its artifacts where MLflow puts them (here ./mlartifacts)."""
    mlflow = pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    for name in ("a", "b"):
        result = ganforge("train", *TOY, "--steps", "4", "--out", str(tmp_path / name), "--set",
                          "train.log_to=jsonl,mlflow", "--set", f"train.mlflow_uri={uri}",
                          "--set", "train.mlflow_experiment=ring8-study", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert not (tmp_path / name / "mlflow.db").exists()
    client = mlflow.tracking.MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("ring8-study").experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["a", "b"]
    assert all(r.data.params["train.mlflow_experiment"] == "ring8-study" for r in runs)


def test_without_mlflow_installed_training_stops_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` raises ImportError, as without the extra
    from ganforge.train.trainer import train

    cfg = C.resolve(preset="wgan-gp-ring8", sets=["train.steps=2", "train.log_to=jsonl,mlflow"])
    with pytest.raises(ConfigError) as info:
        train(cfg, tmp_path / "run")
    assert str(info.value) == MISSING == ("train.log_to includes 'mlflow' but MLflow is not installed; "
                                          "pip install 'ganforge[mlflow]'")
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "run" / "log.jsonl").exists()
    in_process_one_line_error(capsys, ["train", "--preset", "wgan-gp-ring8", "--steps", "2", "--out",
                                       str(tmp_path / "cli"), "--set", "train.log_to=jsonl,mlflow"], MISSING)


def test_a_resume_may_add_mlflow_and_drop_tensorboard_without_a_config_change(tmp_path):
    pytest.importorskip("mlflow")
    run = tmp_path / "run"
    first = ganforge("train", *TOY, "--steps", "4", "--out", str(run))
    assert first.returncode == 0, first.stderr
    resumed = ganforge("train", "--out", str(run), "--resume", "--steps", "8", "--set", "train.log_to=jsonl,mlflow")
    assert resumed.returncode == 0, resumed.stderr
    run_id = json.loads((run / RUN_ID_FILE).read_text())["run_id"]
    client = client_of(run)
    assert [m.step for m in client.get_metric_history(run_id, "loss_g")] == [8]  # a new MLflow run from step 5
    assert client.get_run(run_id).data.params["train.log_to"] == '["jsonl", "mlflow"]'
