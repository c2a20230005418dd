"""Helpers shared by the tests: importable as ``helpers.<module>`` because pyproject.toml's
``[tool.pytest.ini_options] pythonpath`` puts ``tests/`` on the path (no ``sys.path`` edits in test files).
Shared pytest fixtures live in ``tests/conftest.py`` (or a folder's own ``conftest.py``)."""
