"""What every one-line-error CLI test checks: exit status 2, no traceback, exactly one ``ganforge: error:``
line holding the given needles (of a subprocess, or of ``main`` run in this process)."""

from __future__ import annotations

import subprocess

import pytest

from ganforge.cli import main


def one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """The one error line of ``result`` (asserted: status 2, no traceback or MemoryError, one line, needles)."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def in_process_one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    """``ganforge.cli.main(argv)`` in this process: asserted status 2 and one stderr line, no traceback, holding
    the needles; returns the line."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]
