"""experiments.outputs: the panel figure's layout (side by side, or a fixed number of columns)."""

from __future__ import annotations

import pytest
from PIL import Image

from ganforge.experiments.outputs import Panel, write_panels


def _panels(n: int) -> list[Panel]:
    return [Panel(f"p{i}", "x", "y", series={"s": ([0, 1], [i, i + 1], None)}) for i in range(n)]


@pytest.mark.parametrize("n,columns,size", [(2, None, (840, 340)), (5, 3, (1260, 680)), (2, 3, (840, 340)),
                                            (6, 3, (1260, 680)), (4, 1, (420, 1360))])
def test_panels_are_laid_out_in_rows_of_columns(tmp_path, n, columns, size):
    path = write_panels(_panels(n), tmp_path / "p.png", "title", columns=columns)
    assert Image.open(path).size == size
