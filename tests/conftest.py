"""Fixtures shared across the test folders (folder-specific ones live in that folder's conftest.py; plain
helper functions in the ``helpers`` package)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers.eval_fixtures import one_thread


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread for a whole module (see ``helpers.eval_fixtures.one_thread``); a module opts in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    with one_thread():
        yield
