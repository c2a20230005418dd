"""One writer per run folder, tried as a user would: a second `ganforge train` (or `--resume`, `--nproc`,
the demo) on a folder that a live process writes is refused at once with one line naming it; readers
keep working; a holder killed with SIGKILL blocks nothing; a folder that is not a run is never written."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganforge.errors import RunFolderError
from ganforge.train.run_lock import LAUNCHER_ENV, LOCK_FILE, claim_run_folder

TOY = ["--preset", "wgan-gp-ring8", "--set", "model.hidden=16", "--set", "train.batch_size=32"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
HOLD = ("import sys, time\nfrom ganforge.train.run_lock import claim_run_folder\n"
        "with claim_run_folder(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n")


def ganforge(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=180,
                          env={**ENV, **(env or {})})


def one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def wait_for(proc: subprocess.Popen, needle: str, timeout: float = 120) -> None:
    deadline, seen = time.time() + timeout, []
    while time.time() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if needle in line:
            return
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"never saw {needle!r}: {''.join(seen)}")


@pytest.fixture
def held(tmp_path):
    """A run folder held by another process (the lock module itself, no training); yields (folder, pid)."""
    run = tmp_path / "held"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True, env=ENV)
    wait_for(proc, "held")
    yield run, proc.pid
    proc.kill()
    proc.wait(timeout=30)


def test_a_second_trainer_is_refused_readers_work_and_a_killed_holder_blocks_nothing(tmp_path):
    run = tmp_path / "run"
    first = ganforge("train", *TOY, "--steps", "4", "--out", str(run))
    assert first.returncode == 0, first.stderr
    holder = subprocess.Popen([sys.executable, "-m", "ganforge", "train", "--out", str(run), "--resume", "--steps",
                               "8"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**ENV, "GANFORGE_TEST_STALL_AT_STEP": "6"})
    try:
        wait_for(holder, "stalled after step 6")
        host = socket.gethostname()
        one_line_error(ganforge("train", *TOY, "--steps", "8", "--out", str(run)), f"pid {holder.pid}", host,
                       f"kill {holder.pid}")
        one_line_error(ganforge("train", "--out", str(run), "--resume", "--steps", "8"), f"pid {holder.pid}")
        log_before = (run / "log.jsonl").read_text()
        # readers take no lock
        grid = ganforge("sample", "--run", str(run), "--grid", str(tmp_path / "g.png"), "--n", "16")
        assert grid.returncode == 0, grid.stderr
        report = ganforge("report", str(run), "--out", str(tmp_path / "r.html"))
        assert report.returncode == 0, report.stderr
        assert (run / "log.jsonl").read_text() == log_before  # the refused writers wrote nothing
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert (run / LOCK_FILE).is_file()  # left behind by the killed holder, and harmless
    resumed = ganforge("train", "--out", str(run), "--resume", "--steps", "8")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "summary.json").read_text())["steps"] == 8
    steps = [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and len(steps) == len(set(steps))  # one writer's records, in order


@pytest.mark.parametrize("command", [
    ["train", *TOY, "--steps", "4"],
    ["train", "--resume", *TOY, "--steps", "4"],
    ["train", *TOY, "--steps", "4", "--nproc", "2"],
    ["demo", "--minutes", "0.01"],
], ids=["train", "resume", "nproc", "demo"])
def test_every_writer_is_refused_at_once_on_a_held_folder(held, command):
    run, pid = held
    before = sorted(os.listdir(run))
    start = time.monotonic()
    one_line_error(ganforge(*command, "--out", str(run)), str(run), f"pid {pid}")
    assert time.monotonic() - start < 60  # at once: no torchrun, no data, no training
    assert sorted(os.listdir(run)) == before


def test_claims_are_reentrant_and_the_launchers_workers_go_on(held, monkeypatch, tmp_path):
    run, pid = held
    with pytest.raises(RunFolderError, match=f"pid {pid}"):
        with claim_run_folder(run):
            pass
    monkeypatch.setenv(LAUNCHER_ENV, str(pid))  # what `train --nproc` sets for its torchrun workers
    with claim_run_folder(run):
        pass
    monkeypatch.setenv(LAUNCHER_ENV, str(pid + 1))
    with pytest.raises(RunFolderError):
        with claim_run_folder(run):
            pass
    other = tmp_path / "mine"
    with claim_run_folder(other), claim_run_folder(other):  # the demo holds its folder while train runs
        pass
    with claim_run_folder(other):  # released after the outer claim
        pass


def test_a_folder_that_is_not_a_run_is_refused_and_left_untouched(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.yaml").write_text("my: own config\n")
    (folder / "summary.json").write_text('{"mine": true}\n')
    for extra in ([], ["--resume"]):
        line = one_line_error(ganforge("train", *TOY, "--steps", "2", "--out", str(folder), *extra),
                              "not a ganforge run", "config.yaml", "--out")
        assert "Traceback" not in line
    assert sorted(os.listdir(folder)) == ["config.yaml", "summary.json"]
    assert (folder / "config.yaml").read_text() == "my: own config\n"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    one_line_error(ganforge("train", *TOY, "--steps", "2", "--out", str(a_file)), "is a file", "--out")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert ganforge("train", *TOY, "--steps", "2", "--out", str(empty)).returncode == 0


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not truncate\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).symlink_to(secret)
    with pytest.raises(RunFolderError, match="lock file"):
        with claim_run_folder(run):
            pass
    assert secret.read_text() == "do not truncate\n"


def test_run_folder_path_type(tmp_path):
    with claim_run_folder(tmp_path / "a" / "b") as run:
        assert isinstance(run, Path) and (run / LOCK_FILE).is_file()
        assert json.loads((run / LOCK_FILE).read_text())["pid"] == os.getpid()


def test_an_experiment_variant_is_refused_on_a_held_run_folder(held):
    from ganforge.experiments.ppgn_disc import train_variant

    run, pid = held
    with pytest.raises(RunFolderError, match=f"pid {pid}"):
        train_variant(None, run, None, print)  # refused before the config or settings are looked at
