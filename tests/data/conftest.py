"""Shared fixtures of the data-layer tests: an isolated data cache, and access to the real data.

Every test gets ``GANFORGE_DATA`` pointed at its own ``tmp_path`` unless it is marked ``real_data``;
those read the real MNIST / Fashion-MNIST from the default cache, which ``make test`` fills first.
A missing real dataset FAILS such a test (with the command that fetches it) unless
``GANFORGE_SKIP_REAL_DATA=1`` is set.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_data: reads real datasets from the default data cache")


@pytest.fixture(autouse=True)
def isolated_cache(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path | None:
    """``GANFORGE_DATA`` = ``tmp_path/cache`` for every test not marked ``real_data``."""
    if request.node.get_closest_marker("real_data"):
        return None
    cache = tmp_path / "cache"
    monkeypatch.setenv("GANFORGE_DATA", str(cache))
    return cache
