"""One-line error text: every :class:`DataError` names the problem and the fix on a single line."""

from __future__ import annotations


def one_line(exc: BaseException, limit: int = 200) -> str:
    """``exc`` as ``Type: first line of its message``, cut to ``limit`` characters.

    Args:
        exc: an exception raised by a parser (gzip, pickle, scipy.io, Pillow, ...).
        limit: the most characters kept.

    Returns:
        A single line suitable for embedding in a :class:`DataError` message.
    """
    text = " ".join(str(exc).split()) or "no details"
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 3] + "..."
