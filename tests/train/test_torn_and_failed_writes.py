"""Torn logs and failed writes, as a full disk leaves them: a torn last line of log.jsonl does not block
`--resume` (dropped, with one warning line); a sample grid, log line or TensorBoard write that fails with
ENOSPC costs one warning line, not the run: training goes on and writes its checkpoints."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from ganforge.config import resolve
from ganforge.train.logs import RunLogger, read_log
from ganforge.train.trainer import train

TOY = ["--preset", "wgan-gp-ring8", "--set", "model.hidden=16", "--set", "train.batch_size=32",
       "--set", "train.log_every=1"]
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def ganforge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ganforge: warning:")]


def tiny_config(steps: int = 6):
    return resolve(preset="wgan-gp-ring8", sets=[f"train.steps={steps}", "model.hidden=16", "train.batch_size=32",
                                                  "train.sample_every=2", "train.checkpoint_every=3"])


def test_a_torn_last_log_line_is_dropped_on_resume_with_one_warning(tmp_path):
    run = tmp_path / "run"
    assert ganforge("train", *TOY, "--steps", "4", "--out", str(run)).returncode == 0
    with (run / "log.jsonl").open("a") as f:
        f.write('{"step": 5, "loss_d": 0.1')  # the disk filled mid-line
    resumed = ganforge("train", "--out", str(run), "--resume", "--steps", "6")
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    [warning] = warnings(resumed.stderr)
    assert "log.jsonl" in warning and "torn last line" in warning
    steps = [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert json.loads((run / "summary.json").read_text())["steps"] == 6


def test_read_log_drops_a_torn_tail_and_damaged_lines_and_says_so(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"step": 1, "a": 1.0}\n[1, 2]\n{"step": 2, "a": 2.0}\n{"step": 3, "a": \xff')
    log = read_log(path)
    assert [r["step"] for r in log.records] == [1, 2]
    assert "torn last line" in log.dropped and "1 damaged line" in log.dropped
    path.write_text('{"step": 1}\n')
    assert read_log(path).dropped is None and read_log(tmp_path / "none.jsonl").records == []


def test_enospc_while_writing_sample_grids_costs_one_line_not_the_run(tmp_path, monkeypatch, capsys):
    def full_disk(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"\x89PNG partial")  # a write that got part of the way
        raise ENOSPC

    monkeypatch.setattr(Image.Image, "save", full_disk)
    run = tmp_path / "run"
    summary = train(tiny_config(), run)
    assert summary["steps"] == 6
    assert sorted(p.name for p in (run / "checkpoints").iterdir())[-1] == "00000006"
    [warning] = warnings(capsys.readouterr().err)  # one line, although 3 grids failed
    assert "sample grids" in warning and "No space left on device" in warning
    assert not [p for p in (run / "samples").iterdir()]  # no partial PNG left behind


class FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise ENOSPC


def test_enospc_while_writing_a_log_line_costs_one_line_not_the_run(tmp_path, monkeypatch, capsys):
    original = RunLogger.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._file = FullDisk()

    monkeypatch.setattr(RunLogger, "__init__", init)
    summary = train(tiny_config(), tmp_path / "run")
    assert summary["steps"] == 6 and (tmp_path / "run" / "checkpoints" / "00000006").is_dir()
    [warning] = warnings(capsys.readouterr().err)
    assert "log.jsonl" in warning and "No space left on device" in warning


def test_enospc_in_tensorboard_events_costs_one_line(tmp_path):
    stream = io.StringIO()
    logger = RunLogger(tmp_path, total=10, start=0, stream=stream)

    def full(*args, **kwargs):
        raise ENOSPC

    logger._tb.add_scalar = full
    logger._tb.flush = full
    for step in (1, 2, 3):
        logger.scalars(step, {"loss_d": 0.5})
    logger.close()
    [warning] = warnings(stream.getvalue())
    assert "TensorBoard events" in warning and "No space left on device" in warning
    assert [r["step"] for r in read_log(tmp_path / "log.jsonl").records] == [1, 2, 3]  # the JSONL goes on


def test_a_samples_path_that_cannot_be_written_does_not_stop_a_resume(tmp_path):
    run = tmp_path / "run"
    assert ganforge("train", *TOY, "--steps", "2", "--out", str(run)).returncode == 0
    for grid in (run / "samples").iterdir():
        grid.unlink()
    (run / "samples").rmdir()
    (run / "samples").write_text("not a folder")  # what a user's mistake or a broken disk can leave
    resumed = ganforge("train", "--out", str(run), "--resume", "--steps", "4")
    assert resumed.returncode == 0, resumed.stderr
    [warning] = warnings(resumed.stderr)
    assert "sample grids" in warning
    assert (run / "checkpoints" / "00000004").is_dir()


def test_a_full_disk_before_the_first_step_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    from ganforge.cli import main

    original = Path.write_text

    def write_text(self, *args, **kwargs):
        if self.name == "config.yaml":
            raise ENOSPC
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    assert main(["train", *TOY, "--steps", "2", "--out", str(tmp_path / "run")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("ganforge: error: cannot write to the run folder") and "No space left" in line
    assert "--out" in line
