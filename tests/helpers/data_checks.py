"""Assertions shared by the data-layer tests: one-line errors, and the real-data requirement."""

from __future__ import annotations

import os

import pytest

from ganforge.data import dataset_info
from ganforge.errors import DataError


def require_real(name: str) -> None:
    """Fail (or skip, with GANFORGE_SKIP_REAL_DATA=1) when real dataset ``name`` is not in the cache."""
    info = dataset_info(name)
    if info["present"]:
        return
    if os.environ.get("GANFORGE_SKIP_REAL_DATA") == "1":
        pytest.skip(f"real {name} data absent and GANFORGE_SKIP_REAL_DATA=1")
    pytest.fail(
        f"real {name} data is missing from {info['location']}: run `{info['fetch_command']}` "
        "(`make test` does this first), or set GANFORGE_SKIP_REAL_DATA=1 to skip real-data tests",
        pytrace=False,
    )


def raises_one_line(excinfo: pytest.ExceptionInfo[DataError], *fragments: str) -> str:
    """Assert the DataError message is one line containing every fragment; return it."""
    message = str(excinfo.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message
