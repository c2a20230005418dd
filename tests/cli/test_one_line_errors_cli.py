"""One line for every error at the CLI: the mistakes a careless user makes, through the real entry point.

Invalid YAML in ``--set``, optimizer values torch rejects, NaN/Inf or out-of-range samples, non-image
files among images, missing or read-only output folders, FIFOs and devices where a file is expected,
Ctrl-C during start-up: each is one ``ganforge: error:`` line (or ``ganforge: interrupted``) with a fix
that is a command or flag, exit status 2 (130 for Ctrl-C), no traceback; ``--debug`` shows it.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ganforge
from ganforge.cli import main as cli_main
from ganforge.cli.failures import os_error_line
from helpers.cli_checks import one_line_error

ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def ganforge_cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real entry point; the timeout turns a hang (a FIFO opened for reading) into a failure."""
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **ONE_THREAD, **(env or {})})


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "toy"
    result = ganforge_cli("train", "--preset", "wgan-gp-ring8", "--set", "model.hidden=8", "--set",
                          "train.batch_size=16", "--steps", "1", "--out", str(run), timeout=180)
    assert result.returncode == 0, result.stderr
    return run


@pytest.mark.parametrize("assignment, needles", [
    ("model.z_dim=[1", ("--set 'model.z_dim=[1'", "not valid YAML", "quote it")),
    ("model.optim_d.lr=-1", ("'model.optim_d.lr'", ">= 0", "--set model.optim_d.lr=")),
    ("model.optim_g.betas=[1.5,0.9]", ("'model.optim_g.betas'", "[0, 1)", "--set model.optim_g.betas=[0.5,0.9]")),
    ("model.optim_g.lr=.nan", ("'model.optim_g.lr'", "finite")),
    ("model.optim_d.weight_decay=-0.1", ("'model.optim_d.weight_decay'",)),
])
def test_bad_set_values_are_one_line_before_training(tmp_path, assignment, needles):
    result = ganforge_cli("train", "--preset", "wgan-gp-ring8", "--set", assignment, "--steps", "1",
                          "--out", str(tmp_path / "run"))
    one_line_error(result, *needles)
    assert not (tmp_path / "run").exists()
    debug = ganforge_cli("--debug", "config", "show", "--preset", "wgan-gp-ring8", "--set", assignment)
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_an_optimizer_value_edited_into_a_saved_config_is_refused(toy_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(toy_run, run)
    (state_file,) = run.glob("checkpoints/*/state.json")
    state = json.loads(state_file.read_text())
    state["meta"]["config"]["model"]["optim_g"]["betas"] = [1.5, 0.9]
    state_file.write_text(json.dumps(state))
    one_line_error(ganforge_cli("sample", "--run", str(run), "--n", "4"), "'model.optim_g.betas'")
    one_line_error(ganforge_cli("train", "--out", str(run), "--resume", "--steps", "2"), "'model.optim_g.betas'")


def test_nan_inf_and_out_of_range_samples_are_one_line(tmp_path):
    x = np.zeros((12, 1, 8, 8), np.float32)
    x[3, 0, 1, 1] = np.nan
    np.savez(tmp_path / "nan.npz", samples=x, pixel_range=np.array([-1.0, 1.0]))
    one_line_error(ganforge_cli("evaluate", "--fake", str(tmp_path / "nan.npz"), "--dataset", "mnist", "--n", "10"),
                   "sample 3", "NaN or Inf", "ganforge sample --run RUN --npz FILE")
    np.save(tmp_path / "inf.npy", np.full((12, 2), np.inf, np.float32))  # 2-D points: finite is all they need
    one_line_error(ganforge_cli("evaluate", "--fake", str(tmp_path / "inf.npy"), "--dataset", "ring8", "--n", "10"),
                   "sample 0", "NaN or Inf")
    np.save(tmp_path / "wide.npy", np.full((12, 1, 8, 8), 1.5, np.float32))
    result = ganforge_cli("evaluate", "--fake", str(tmp_path / "wide.npy"), "--pixel-range=-1,1",
                          "--dataset", "mnist", "--n", "10")
    one_line_error(result, "span [1.5, 1.5]", "[-1, 1]", "--pixel-range=LOW,HIGH")
    np.savez(tmp_path / "wide.npz", samples=np.full((12, 1, 8, 8), 1.5, np.float32), pixel_range=np.array([0., 1.]))
    line = one_line_error(ganforge_cli("evaluate", "--fake", str(tmp_path / "wide.npz"), "--dataset", "mnist",
                                       "--n", "10"), "stored pixel range [0, 1]")
    assert "--pixel-range" not in line  # it would not override a stored range


def test_non_image_files_in_a_fake_folder_are_one_line(tmp_path):
    folder = tmp_path / "fake"
    folder.mkdir()
    (folder / "0.png").write_text("not an image")
    one_line_error(ganforge_cli("evaluate", "--fake", str(folder), "--dataset", "mnist", "--n", "10"),
                   "0.png", "UnidentifiedImageError", "delete it or move it out of the --fake folder")


def test_fifos_and_devices_where_a_file_is_expected_do_not_hang(toy_run, tmp_path):
    for name in ("x.npz", "x.npy", "c.yaml"):
        os.mkfifo(tmp_path / name)
    one_line_error(ganforge_cli("evaluate", "--fake", str(tmp_path / "x.npz"), "--dataset", "mnist", "--n", "10"),
                   "FIFO (named pipe)", "ganforge sample")
    one_line_error(ganforge_cli("evaluate", "--fake", str(tmp_path / "x.npy"), "--dataset", "mnist", "--n", "10"),
                   "FIFO")
    one_line_error(ganforge_cli("evaluate", "--fake", "/dev/zero", "--dataset", "mnist", "--n", "10"),
                   "/dev/zero is a character device")
    one_line_error(ganforge_cli("train", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "r")),
                   "not a regular file")
    for name in ("log.jsonl", "summary.json"):
        run = tmp_path / f"run-{name}"
        shutil.copytree(toy_run, run)
        (run / name).unlink()
        os.mkfifo(run / name)
        one_line_error(ganforge_cli("train", "--out", str(run), "--resume", "--steps", "2"),
                       f"{run / name} is a FIFO", f"`rm {run / name}`")


def test_a_missing_output_folder_names_mkdir(toy_run, tmp_path):
    target = tmp_path / "no" / "such" / "s.npz"
    one_line_error(ganforge_cli("sample", "--run", str(toy_run), "--n", "4", "--npz", str(target)),
                   str(target), "ENOENT", f"mkdir -p {target.parent}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_one_line(toy_run, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    one_line_error(ganforge_cli("sample", "--run", str(toy_run), "--n", "4", "--npz", str(folder / "s.npz")),
                   "EACCES", f"chmod u+w {folder}")


@pytest.mark.parametrize("code, needle", [(errno.EACCES, "chmod u+w"), (errno.EROFS, "read-only"),
                                          (errno.ENOSPC, "df -h")])
def test_os_errors_while_writing_are_one_line(toy_run, tmp_path, monkeypatch, capsys, code, needle):
    target = tmp_path / "s.npz"

    def refuse(file, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(file))

    monkeypatch.setattr(np, "savez", refuse)  # as a read-only folder, a read-only mount or a full disk would
    assert cli_main(["sample", "--run", str(toy_run), "--n", "4", "--npz", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"ganforge: error: {target}: ") and needle in err[0], err
    assert errno.errorcode[code] in err[0]


def test_a_read_only_data_cache_names_ganforge_data(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "cache"))
    line = os_error_line(PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "cache" / "features" / "f")))
    assert "GANFORGE_DATA=DIR" in line and "--no-cache" in line


def test_ctrl_c_during_start_up_is_one_line_and_exit_130():
    proc = subprocess.Popen([sys.executable, "-m", "ganforge", "data", "list"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **ONE_THREAD})
    time.sleep(0.25)  # inside the imports (torch takes a second or more), before the parser runs
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "ganforge: interrupted\n", (proc.returncode, err)
    assert out == ""


def test_a_library_import_leaves_ctrl_c_alone():
    code = "import signal, ganforge; print(ganforge._started_by_cli(), signal.getsignal(signal.SIGINT) is " \
           "signal.default_int_handler)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "True"], result.stderr


CALL_IN_MESSAGE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_.]*)\(([^)]*)\)")
NOT_CALLS = {"s", "es", "h"}  # "metric(s)", "process(es)", "R(h)"


def test_no_error_message_names_a_python_function_as_its_fix():
    offenders = []
    for path in sorted(Path(ganforge.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            text = "".join(sub.value for sub in ast.walk(node.exc)
                           if isinstance(sub, ast.Constant) and isinstance(sub.value, str))
            offenders += [f"{path.name}:{node.lineno}: {m.group(0)}" for m in CALL_IN_MESSAGE.finditer(text)
                          if m.group(2) not in NOT_CALLS]
    assert not offenders, offenders


@pytest.mark.parametrize("damage, needle", [
    (lambda state: state.update(step="x"), "incomplete or damaged: an interrupted save or an edited state.json"),
    (lambda state: state["optimizers"].update(generator={}), "damaged state.json entry for optimizer 'generator'"),
    (lambda state: state["meta"].pop("data_shape"), "damaged data_shape"),
])
def test_a_damaged_state_json_is_one_line(toy_run, tmp_path, damage, needle):
    run = tmp_path / "run"
    shutil.copytree(toy_run, run)
    (state_file,) = run.glob("checkpoints/*/state.json")
    state = json.loads(state_file.read_text())
    damage(state)
    state_file.write_text(json.dumps(state))
    one_line_error(ganforge_cli("sample", "--run", str(run), "--n", "4"), needle)


def test_an_exception_no_check_caught_is_still_one_line(toy_run, monkeypatch, capsys):
    import ganforge.train.run as run

    def broken(*args, **kwargs):
        raise ValueError("something\nno check foresaw")

    monkeypatch.setattr(run, "open_run", broken)
    assert cli_main(["sample", "--run", str(toy_run), "--n", "4"]) == 1  # not bad input: maybe a bug
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["ganforge: error: unexpected ValueError: something no check foresaw (an input ganforge does not "
                   "check yet, or a bug); rerun with --debug for the traceback and report it"]
    assert cli_main(["--debug", "sample", "--run", str(toy_run), "--n", "4"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_the_demo_reads_its_state_files_only_when_regular(tmp_path):
    from ganforge.cli.demo_cmd import _read_json
    from ganforge.errors import RunFolderError

    os.mkfifo(tmp_path / "demo_state.json")
    (tmp_path / "summary.json").write_text("[1, 2")
    for name, needle in (("demo_state.json", "FIFO"), ("summary.json", "is damaged")):
        with pytest.raises(RunFolderError) as excinfo:
            _read_json(tmp_path / name)
        assert needle in str(excinfo.value) and f"rm {tmp_path / name}" in str(excinfo.value)
