"""experiments.outputs: the panel figure's layout (side by side, or a fixed number of columns)."""

from __future__ import annotations

import pytest
from PIL import Image

from ganforge.experiments.outputs import Panel, mean_std, write_panels


def _panels(n: int) -> list[Panel]:
    return [Panel(f"p{i}", "x", "y", series={"s": ([0, 1], [i, i + 1], None)}) for i in range(n)]


@pytest.mark.parametrize("n,columns,size", [(2, None, (840, 340)), (5, 3, (1260, 680)), (2, 3, (840, 340)),
                                            (6, 3, (1260, 680)), (4, 1, (420, 1360))])
def test_panels_are_laid_out_in_rows_of_columns(tmp_path, n, columns, size):
    path = write_panels(_panels(n), tmp_path / "p.png", "title", columns=columns)
    assert Image.open(path).size == size


def test_category_panels_with_references_and_a_fixed_range(tmp_path):
    panel = Panel("p", "", "y", series={"mean": ([0, 2], [1.0, 2.0], [0.1, 0.2])}, references={"a": 1.5, "b": 9.0},
                  hline=("h", 0.5), categories=["x", "y", "z"], ylim=(0.0, 3.0))
    assert Image.open(write_panels([panel, panel], tmp_path / "p.png", "title")).size == (840, 340)


def test_mean_std_is_the_sample_std_and_ignores_none():
    assert mean_std([1.0, None, 3.0]) == pytest.approx((2.0, 2.0 ** 0.5), rel=1e-12)
    assert mean_std([4.0]) == (4.0, 0.0) and mean_std([None]) == (None, None)
