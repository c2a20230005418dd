"""What the report may read from a run folder: regular files that resolve inside it, nothing else.

A report is often built from folders someone else wrote, so every file is opened through
:class:`RunFiles`: a symbolic link that leads outside the run (say ``samples/x.png`` → a credentials
file), a FIFO or device, a file over :data:`MAX_BYTES`, a ``.png`` that is not a PNG, or JSON / YAML that
does not parse is skipped, and one sentence saying so is kept in ``notes`` for the page, instead of
embedding the file or crashing.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 64 << 20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class RunFiles:
    """Safe reads of one run folder's files; what was skipped is collected in ``notes``."""

    def __init__(self, run: Path) -> None:
        self.run = run
        self.root = run.resolve()
        self.notes: list[str] = []

    def _skip(self, relative: str, why: str) -> None:
        self.notes.append(f"skipped {relative}: {why}")

    def _inside(self, relative: str) -> Path | None:
        """The resolved path of ``RUN/relative`` when it exists and resolves inside the run."""
        path = self.run / relative
        if not path.exists() and not path.is_symlink():
            return None
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            self._skip(relative, "a broken or looping link")
            return None
        if not resolved.is_relative_to(self.root):
            self._skip(relative, "it leads outside the run folder (a link); a report copies nothing from outside "
                       "its runs")
            return None
        return resolved

    def read_bytes(self, relative: str) -> bytes | None:
        """The bytes of a regular file inside the run, or None (absent, or skipped with a note)."""
        resolved = self._inside(relative)
        if resolved is None:
            return None
        try:
            fd = os.open(resolved, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            self._skip(relative, f"cannot be opened ({exc.strerror})")
            return None
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                self._skip(relative, "not a regular file")
                return None
            if info.st_size > MAX_BYTES:
                self._skip(relative, f"{info.st_size} bytes, over the report's {MAX_BYTES}-byte limit per file")
                return None
            try:
                return f.read(MAX_BYTES + 1)[:MAX_BYTES]
            except OSError as exc:
                self._skip(relative, f"cannot be read ({exc.strerror})")
                return None

    def read_text(self, relative: str) -> str | None:
        data = self.read_bytes(relative)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self._skip(relative, "not UTF-8 text")
            return None

    def read_json(self, relative: str) -> dict[str, Any] | None:
        """A JSON object from the run, or None (absent, damaged or not an object: noted)."""
        text = self.read_text(relative)
        if text is None:
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            self._skip(relative, f"damaged JSON ({str(exc).splitlines()[0]})")
            return None
        if not isinstance(value, dict):
            self._skip(relative, f"JSON {type(value).__name__}, not an object")
            return None
        return value

    def read_yaml(self, relative: str) -> tuple[str, dict[str, Any]] | None:
        """The text of a YAML mapping and the mapping, or None (absent or damaged: noted)."""
        text = self.read_text(relative)
        if text is None:
            return None
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            self._skip(relative, f"damaged YAML ({str(exc).splitlines()[0]})")
            return None
        return text, value if isinstance(value, dict) else {}

    def png_names(self, folder: str) -> list[str]:
        """Names of the ``*.png`` files in ``RUN/folder`` (when that folder is inside the run), sorted."""
        directory = self.run / folder
        if self._inside(folder) is None or not directory.is_dir():
            return []
        return sorted(path.name for path in directory.glob("*.png"))

    def read_png(self, relative: str) -> bytes | None:
        """A PNG's bytes, or None (absent, skipped, or not a PNG: noted)."""
        data = self.read_bytes(relative)
        if data is not None and not data.startswith(PNG_SIGNATURE):
            self._skip(relative, "not a PNG file")
            return None
        return data
