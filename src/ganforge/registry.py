"""One :class:`Registry` class: named factories of one kind (datasets, nets, variants, metrics).

Asking for an unknown name raises :class:`ConfigError` that lists the choices. A registry may be filled on first
use: :meth:`Registry.fill_on_first_use` names a function (an import) run once before the first lookup, so a lower
layer can ask for entries that a higher layer registers without importing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from ganforge.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → object map for one kind of thing.

    Args:
        kind: what the entries are, used in error messages ("dataset", "model", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._filler: Callable[[], object] | None = None

    def fill_on_first_use(self, filler: Callable[[], object]) -> None:
        """Run ``filler`` (which registers entries, such as importing the module that defines them) once, before
        the first lookup (``get``, ``names``, ``in``, iteration, ``len``); not again if it succeeds."""
        self._filler = filler

    def _fill(self) -> None:
        filler, self._filler = self._filler, None  # cleared first: the filler's own lookups must not recurse
        if filler is None:
            return
        try:
            filler()
        except BaseException:
            self._filler = filler  # an interrupted or failed fill is tried again at the next lookup
            raise

    def register(self, name: str, obj: T | None = None) -> Callable[[T], T] | T:
        """Add ``obj`` under ``name``; without ``obj`` returns a decorator.

        Raises:
            ValueError: if ``name`` is already registered (a programming error).
        """
        if obj is None:
            def decorator(target: T) -> T:
                self._add(name, target)
                return target
            return decorator
        self._add(name, obj)
        return obj

    def _add(self, name: str, obj: T) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj

    def get(self, name: str) -> T:
        """The entry named ``name``; an unknown name raises ConfigError listing the choices."""
        self._fill()
        try:
            return self._entries[name]
        except KeyError:
            choices = ", ".join(self.names()) or "(none registered)"
            raise ConfigError(f"unknown {self.kind} {name!r}; choose one of: {choices}") from None

    def names(self) -> list[str]:
        """Registered names in sorted order."""
        self._fill()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._fill()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._fill()
        return len(self._entries)
