"""The report's small HTML pieces: escaping any value, data URIs, figures and PNG plots made with matplotlib."""

from __future__ import annotations

import base64
import html
import io
from typing import Any


def esc(value: Any) -> str:
    """Any value from a run's files as HTML text (numbers, lists and None included)."""
    return html.escape(str(value), quote=True)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure(png: bytes, alt: str, caption: str) -> str:
    """An embedded PNG with its caption (both escaped)."""
    return f'<figure><img alt="{esc(alt)}" src="{data_uri(png)}"><figcaption>{esc(caption)}</figcaption></figure>'


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig) -> bytes:
    """A matplotlib figure as PNG bytes; the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    pyplot().close(fig)
    return buffer.getvalue()
