"""``ganforge experiment class-samples``: on a tiny CC-LAPGAN run (real MNIST), the class accuracy and both
diversity ratios equal a recomputation from the run's own class samples; unconditional runs and too few
samples per class are one-line refusals."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from ganforge.cli import main as cli_main
from ganforge.experiments.real_features import Embedder
from ganforge.metrics.diversity import diversity_ratio
from ganforge.metrics.features import load_real
from ganforge.train.run import open_run
from helpers.eval_fixtures import one_thread, private_mnist_cache, tiny_classifier

TINY = ["--set", "model.width=4", "--set", "model.hidden_g=8", "--set", "model.hidden_d=6", "--set", "model.z_dim=3",
        "--set", "train.batch_size=4", "--steps", "2", "--set", "model.conditional=true"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("class_samples")
    with private_mnist_cache(root), one_thread():
        tiny_classifier(root / "clf", steps=100)
        assert cli_main(["train", "--preset", "lapgan-mnist", *TINY, "--out", str(root / "cc")]) == 0
        yield root


def test_accuracy_and_diversity_equal_a_recomputation(env):
    out = env / "out"
    with one_thread():
        assert cli_main(["experiment", "class-samples", "--run", str(env / "cc"), "--per-class", "6",
                         "--classifier", str(env / "clf"), "--out", str(out), "--seed", "3"]) == 0
    summary = json.loads((out / "class_samples.json").read_text())
    run = open_run(env / "cc")
    asked = torch.arange(10).repeat_interleave(6)
    images = run.generate_classes(asked, generator=torch.Generator().manual_seed(3))  # one batch: seed + 0
    embed = Embedder.load("mnist", str(env / "clf"))
    logits = embed(images, run.pixel_range, "logits")
    (row,) = summary["rows"]
    assert row["class_accuracy"] == pytest.approx(float((logits.argmax(1) == asked).double().mean()), abs=1e-12)
    assert len(row["per_class"]) == 10 and row["diversity_classes"] == 10
    test_x, test_y, pixel_range, _ = load_real("mnist", "test", 10000, 3)
    keep = torch.cat([torch.nonzero(test_y == c).flatten()[:6] for c in range(10)])
    real_logits = embed(test_x[keep], pixel_range, "logits").double()
    expected = diversity_ratio(logits.double(), asked, real_logits, test_y[keep])
    assert row["diversity_ratio"] == pytest.approx(expected["diversity_ratio"], rel=1e-9)
    pixels = diversity_ratio(images.flatten(1).double(), asked, test_x[keep].flatten(1).double(), test_y[keep])
    assert summary["pixel_diversity_ratio"] == pytest.approx(pixels["diversity_ratio"], rel=1e-9)
    assert len(list(csv.DictReader(Path(summary["files"]["csv"]).open()))) == 1 and (out / "grid.png").is_file()


@pytest.mark.parametrize("extra,needle", [(["--per-class", "1"], "--per-class must be at least 2"),
                                          ([], "draws no class-conditional samples")])
def test_refusals_are_one_line(env, tmp_path, capsys, extra, needle):
    run = env / "cc"
    if not extra:  # an unconditional model
        run = tmp_path / "gan"
        with one_thread():
            assert cli_main(["train", "--model", "gan", "--dataset", "mnist", "--set", "model.width=4", "--set",
                             "train.batch_size=4", "--steps", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    assert cli_main(["experiment", "class-samples", "--run", str(run), *extra, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
