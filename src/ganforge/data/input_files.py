"""Paths the user names must be regular files before they are opened, and images must be of bounded size.

Opening a FIFO blocks until something writes to it and a device such as ``/dev/zero`` never ends, so
every reader of a user-given file calls :func:`regular_file` first (``stat.S_ISREG``), which names what the
path is instead. :func:`check_image_pixels` refuses an image whose header declares more pixels than
:data:`MAX_IMAGE_PIXELS` before anything is decoded (a decompression bomb: a small PNG that inflates to
gigabytes).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ganforge.errors import DataError, GanforgeError

# Pillow's own default limit (a 9,500 x 9,500 photo); Pillow only warns between it and twice it.
MAX_IMAGE_PIXELS = 89_478_485

_KINDS = ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISCHR, "character device"),
          (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))


def file_kind(mode: int) -> str:
    """What a ``st_mode`` describes, in words ("regular file", "folder", "FIFO (named pipe)", ...)."""
    if stat.S_ISREG(mode):
        return "regular file"
    return next((name for test, name in _KINDS if test(mode)), "special file")


def regular_file(path: str | Path, *, what: str, fix: str, error: type[GanforgeError] = DataError) -> Path:
    """Return ``path`` if it is a regular file (symlinks followed); otherwise raise one line saying what it is.

    Args:
        path: a path the user gave (or a file inside a folder the user gave).
        what: the role of the file in the message ("samples", "CIFAR-10 batch", ...).
        fix: the fix to print: a command or flag that works.
        error: the :class:`GanforgeError` kind to raise.

    Raises:
        ``error``: the path is missing, unreadable, or a folder, FIFO, device or socket.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist; {fix}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path} ({exc.strerror or type(exc).__name__}); {fix}") from None
    if not stat.S_ISREG(mode):
        raise error(f"{what} {path} is a {file_kind(mode)}, not a regular file; {fix}")
    return path


def check_image_pixels(file: Path, size: tuple[int, int], *, fix: str, error: type[GanforgeError] = DataError,
                       max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """Refuse an image whose header declares more than ``max_pixels`` pixels.

    Args:
        file: the image, named in the message.
        size: (width, height) from its header.
        fix: the fix to print.
        error: the :class:`GanforgeError` kind to raise.
        max_pixels: the cap (default :data:`MAX_IMAGE_PIXELS`; generated samples take a smaller one).
    """
    width, height = size
    if width * height > max_pixels:
        raise error(f"image {file} declares {width}x{height} pixels, more than the {max_pixels:,} ganforge "
                    f"decodes here (a decompression bomb?); {fix}")
