"""Registry fetching: sha256/size checks, the ar and .deb readers, pip/apt download wrappers."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from ganforge.data.fetch import apt_download, ar_members, deb_files, pip_download, sha256_hex, verify_bytes
from ganforge.errors import DataError
from helpers.data_checks import raises_one_line
from helpers.data_files import ar_archive, tar_xz


def test_verify_bytes() -> None:
    data = b"hello"
    verify_bytes(data, sha256=sha256_hex(data), size=5, source="f", fix="do x")
    with pytest.raises(DataError) as excinfo:
        verify_bytes(data, sha256=sha256_hex(data), size=6, source="f", fix="do x")
    raises_one_line(excinfo, "f has 5 bytes, expected 6", "do x")
    with pytest.raises(DataError) as excinfo:
        verify_bytes(data + b"!", sha256=sha256_hex(data), source="f", fix="do x")
    raises_one_line(excinfo, "sha256 mismatch for f", f"expected {sha256_hex(data)}", "do x")


def test_ar_members_with_odd_sizes() -> None:
    members = {"debian-binary": b"2.0\n", "odd": b"abc", "data.tar.xz": b"x" * 7}
    assert ar_members(ar_archive(members), source="a.deb") == members


@pytest.mark.parametrize("data, fragment", [
    (b"not an archive", "not an ar archive"),
    (b"!<arch>\n" + b"x" * 30, "corrupt ar header"),
    (ar_archive({"m": b"12345678"})[:-3], "truncated"),
])
def test_bad_ar(data: bytes, fragment: str) -> None:
    with pytest.raises(DataError) as excinfo:
        ar_members(data, source="a.deb")
    raises_one_line(excinfo, "a.deb", fragment)


def test_deb_files() -> None:
    deb = ar_archive({"debian-binary": b"2.0\n", "data.tar.xz": tar_xz({"./usr/share/x/a.gz": b"A", "./b": b"B"})})
    assert deb_files(deb, {"a.gz"}, source="p.deb") == {"a.gz": b"A"}
    with pytest.raises(DataError) as excinfo:
        deb_files(deb, {"a.gz", "c.gz"}, source="p.deb")
    raises_one_line(excinfo, "lacks c.gz")
    with pytest.raises(DataError) as excinfo:
        deb_files(ar_archive({"data.tar.xz": b"\xfd7zXZ\x00 broken"}), {"a.gz"}, source="p.deb")
    raises_one_line(excinfo, "data.tar.xz is corrupt")
    with pytest.raises(DataError) as excinfo:
        deb_files(ar_archive({"data.tar.gz": b""}), {"a.gz"}, source="p.deb")
    raises_one_line(excinfo, "no data.tar.xz")


def _script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_pip_download_passes_the_exact_arguments(tmp_path: Path) -> None:
    # a stand-in interpreter: records its arguments and drops a wheel into the -d folder
    fake = _script(tmp_path / "python", f'echo "$@" > "{tmp_path}/args"\ntouch "$8/x-1.0-py3-none-any.whl"\n')
    (tmp_path / "dest").mkdir()
    wheel = pip_download("x==1.0", tmp_path / "dest", python=fake)
    assert wheel == tmp_path / "dest" / "x-1.0-py3-none-any.whl"
    expected = f"-m pip download --no-deps --only-binary :all: -d {tmp_path / 'dest'} x==1.0"
    assert (tmp_path / "args").read_text().strip() == expected


def test_pip_download_failure_is_one_line(tmp_path: Path) -> None:
    fake = _script(tmp_path / "python", 'echo "ERROR: No matching distribution found" >&2\nexit 1\n')
    (tmp_path / "dest").mkdir()
    with pytest.raises(DataError) as excinfo:
        pip_download("x==1.0", tmp_path / "dest", python=fake)
    raises_one_line(excinfo, "pip download x==1.0", "No matching distribution found")
    with pytest.raises(DataError) as excinfo:
        pip_download("x==1.0", tmp_path / "dest", python=str(tmp_path / "no-such-python"))
    raises_one_line(excinfo, "could not run")


def test_apt_download_failure_after_update(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = f'echo "$*" >> "{tmp_path}/log"\necho "E: Unable to locate package $2" >&2\nexit 100\n'
    _script(tmp_path / "apt-get", body)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "dest").mkdir()
    with pytest.raises(DataError) as excinfo:
        apt_download("nope", tmp_path / "dest")
    raises_one_line(excinfo, "apt-get download nope", "Unable to locate package", "apt-get install -y nope")
    assert (tmp_path / "log").read_text().splitlines() == ["download nope", "update", "download nope"]


def test_sys_executable_is_the_default_pip() -> None:
    assert pip_download.__kwdefaults__["python"] == sys.executable
