"""What every one-line-error CLI test checks: exit status 2, no traceback, exactly one ``ganforge: error:``
line holding the given needles."""

from __future__ import annotations

import subprocess


def one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """The one error line of ``result`` (asserted: status 2, no traceback or MemoryError, one line, needles)."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganforge: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]
