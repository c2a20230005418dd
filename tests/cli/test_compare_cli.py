"""``ganforge experiment compare`` through the real entry point: a tiny run prints its table and JSON, and every
bad input is one ``ganforge: error:`` line with exit status 2, before anything is trained or written."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.cli_checks import one_line_error
from helpers.eval_fixtures import ONE_THREAD_ENV, private_mnist_cache, tiny_classifier


def ganforge_cli(*args: str, cache: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **ONE_THREAD_ENV, **({"GANFORGE_DATA": str(cache)} if cache else {})}
    return subprocess.run([sys.executable, "-m", "ganforge", "experiment", "compare", *args], capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.mark.parametrize("args, needles", [
    ((), ("exactly one budget", "--steps N", "--minutes M")),
    (("--steps", "3", "--minutes", "1"), ("exactly one budget",)),
    (("--steps", "0"), ("--steps must be a positive",)),
    (("--minutes", "-1"), ("--minutes must be > 0",)),
    (("--steps", "3", "--presets", "gan-mnist,no-such-preset"), ("unknown 'no-such-preset'",)),
    (("--steps", "3", "--classifier", "{tmp}/missing"), ("--classifier", "no such folder", "classifier train")),
])
def test_bad_input_is_one_line_and_status_2(tmp_path, args, needles):
    out = tmp_path / "out"
    result = ganforge_cli(*(a.replace("{tmp}", str(tmp_path)) for a in args), "--out", str(out))
    one_line_error(result, *needles)
    assert not out.exists()


def test_tiny_comparison_prints_its_table_and_summary(tmp_path):
    with private_mnist_cache(tmp_path) as cache:
        tiny_classifier(tmp_path / "clf", steps=100)
    out = tmp_path / "out"
    result = ganforge_cli("--presets", "wgan-gp-mnist-small", "--steps", "2", "--seeds", "2", "--n", "50",
                          "--classifier", str(tmp_path / "clf"), "--set", "model.width=8", "--set",
                          "train.batch_size=8", "--out", str(out), cache=cache)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["settings"]["budget"] == "2 generator steps" and "rows" not in summary
    assert [row["preset"] for row in summary["summary"]] == ["wgan-gp-mnist-small"]
    assert "baseline noise" in result.stderr and "wgan-gp-mnist-small " in result.stderr
    table = list(csv.DictReader((out / "compare.csv").open()))
    assert [(r["preset"], r["seed"], r["steps"]) for r in table] == [("wgan-gp-mnist-small", "0", "2"),
                                                                      ("wgan-gp-mnist-small", "1", "2")]
    assert (out / "samples" / "wgan-gp-mnist-small.png").is_file() and (out / "compare.png").is_file()
