"""The restricted unpickler: plain data and numpy arrays load; any other global is refused unrun."""

from __future__ import annotations

import builtins
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from ganforge.data.safe_pickle import NUMPY_ARRAY_GLOBALS, restricted_loads
from ganforge.errors import DataError
from helpers.data_checks import raises_one_line
from helpers.data_files import py2_dumps


class MakesFileWithSystem:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return os.system, (f"touch {self.target}",)


class MakesFileWithOpen:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return builtins.open, (str(self.target), "w")


def test_plain_data_and_arrays_round_trip() -> None:
    obj = {b"data": np.arange(12, dtype=np.uint8).reshape(3, 4), "names": ["a", b"b"], "n": 3,
           "f": np.float32([0.5]), "i": np.int64(7)}
    for data in (pickle.dumps(obj, protocol=3), pickle.dumps(obj, protocol=4)):
        got = restricted_loads(data, source="x")
        np.testing.assert_array_equal(got[b"data"], obj[b"data"])
        assert got["names"] == ["a", b"b"] and got["n"] == 3 and got["i"] == 7 and got["f"].dtype == np.float32


def test_python2_pickle_with_numpy1_globals_loads() -> None:
    array = np.arange(6, dtype=np.float32).reshape(2, 3) / 256
    data = py2_dumps((array, np.array([1, 2], dtype=np.int64)))
    assert b"cnumpy.core.multiarray\n_reconstruct" in data  # numpy 1 spelling, mapped to numpy._core
    got = restricted_loads(data, source="x", allowed=NUMPY_ARRAY_GLOBALS, encoding="latin1")
    np.testing.assert_array_equal(got[0], array)
    assert got[1].dtype == np.int64 and got[1].tolist() == [1, 2]


@pytest.mark.parametrize("maker", [MakesFileWithSystem, MakesFileWithOpen])
@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_malicious_global_is_refused_and_never_run(tmp_path: Path, maker: type, protocol: int) -> None:
    target = tmp_path / "pwned"
    data = pickle.dumps({b"data": maker(target)}, protocol=protocol)
    with pytest.raises(DataError) as excinfo:
        restricted_loads(data, source="evil.pkl")
    raises_one_line(excinfo, "evil.pkl", "references", "refuses")
    assert not target.exists()


def test_unknown_module_is_refused_before_any_import() -> None:
    data = b"\x80\x02cganforge_no_such_module\nboom\nq\x00)\x81q\x01."  # GLOBAL of a module that doesn't exist
    with pytest.raises(DataError) as excinfo:
        restricted_loads(data, source="x")
    raises_one_line(excinfo, "ganforge_no_such_module.boom")  # refused, not an ImportError


@pytest.mark.parametrize("module, name", [("numpy", "load"), ("numpy", "save"), ("_codecs", "encode"),
                                          ("builtins", "eval"), ("numpy.core.multiarray", "scalar")])
def test_other_globals_are_refused(module: str, name: str) -> None:
    data = f"c{module}\n{name}\n)R.".encode()  # protocol 0: GLOBAL, empty tuple, REDUCE
    with pytest.raises(DataError) as excinfo:
        restricted_loads(data, source="x", allowed=NUMPY_ARRAY_GLOBALS)
    raises_one_line(excinfo, f"{module}.{name}")


def test_protocol5_array_reconstructor_is_not_admitted() -> None:
    data = pickle.dumps(np.zeros(3, np.uint8), protocol=5)  # numpy._core.numeric._frombuffer
    with pytest.raises(DataError) as excinfo:
        restricted_loads(data, source="x")
    raises_one_line(excinfo, "_frombuffer")


@pytest.mark.parametrize("data", [b"", b"not a pickle", pickle.dumps([1, 2, 3])[:-3]])
def test_garbage_is_a_data_error(data: bytes) -> None:
    with pytest.raises(DataError) as excinfo:
        restricted_loads(data, source="junk.bin")
    raises_one_line(excinfo, "junk.bin", "not a valid pickle")
