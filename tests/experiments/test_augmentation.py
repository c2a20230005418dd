"""``ganforge experiment augmentation`` (ModNet, Basart 2017) in a tiny run: its CSV, PNG and JSON, the sizes of
the three training sets, and the agreement of its sources with ``ganforge augment``."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.cli import main as cli_main
from ganforge.errors import ConfigError
from ganforge.experiments import augmentation as aug
from ganforge.experiments.modnet_apply import open_modnet_run, other_labels
from helpers.eval_fixtures import private_mnist_cache


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A private data cache with real MNIST and a 2-iteration ModNet run (joint classifier head)."""
    root = tmp_path_factory.mktemp("augmentation")
    with private_mnist_cache(root):
        args = ["train", "--model", "modnet", "--dataset", "mnist", "--set", "model.width=2", "--set",
                "model.d_width=2", "--set", "train.batch_size=4", "--set", "train.sample_grid=4", "--steps", "2",
                "--out", str(root / "run")]
        assert cli_main(args) == 0
        yield str(root / "run")


def test_other_labels_lists_every_label_but_the_own():
    assert other_labels(torch.tensor([0, 2]), 3).tolist() == [[1, 2], [0, 1]]


def test_tiny_experiment_writes_csv_png_json_with_the_right_rows(run, tmp_path, capsys):
    """Two variants (the same run under two labels, so their rows must agree) × 2 replicates × 2 n: every
    row of the table, the real rows shared by the variants, the full check beside the domain classifier."""
    from ganforge.nets import MNISTClassifier
    from ganforge.train.classifier import default_classifier_dir, save_classifier

    meta = {"architecture": "mnist-classifier", "build": {"width": 0.0625, "num_classes": 10, "in_channels": 1},
            "dataset": "mnist", "pixel_range": [-1.0, 1.0], "input_shape": [1, 28, 28], "test_accuracy": 0.5}
    save_classifier(MNISTClassifier(width=0.0625), meta, default_classifier_dir("mnist"))  # the private cache's
    out = tmp_path / "exp"
    args = ["experiment", "augmentation", "--run", f"a={run},{run}", "--run", f"b={run},{run}", "--n-values", "3,6",
            "--steps", "2", "--width", "0.0625", "--batch-size", "8", "--n-test", "20", "--out", str(out)]
    assert cli_main(args) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    table = captured.err.splitlines()[-6:]  # the accuracy table: a header, 2 rows per variant, the full check
    assert table[0].split() == ["variant", "n", "real", "real", "real+generated", "generated"]
    assert [line.split()[:2] for line in table[1:5]] == [["a", "3"], ["a", "6"], ["b", "3"], ["b", "6"]]
    assert table[5].startswith("full check: real only on all 60000 training images, 2 steps")
    rows = list(csv.DictReader((out / "augmentation.csv").open()))
    expected = [(i, label, n, name, size) for i in (0, 1) for n in (3, 6) for label in ("a", "b")
                for name, size in (("real", n), ("real+generated", 10 * n), ("generated", 9 * n))]
    assert [(int(r["replicate"]), r["variant"], int(r["n_real"]), r["train_set"], int(r["train_size"]))
            for r in rows] == expected
    assert all(0 <= float(r["test_accuracy"]) <= 1 and 0 <= float(r["train_accuracy"]) <= 1 for r in rows)
    acc = {(r["replicate"], r["variant"], r["n_real"], r["train_set"]): float(r["test_accuracy"]) for r in rows}
    assert all(acc[(i, "a", n, s)] == acc[(i, "b", n, s)] for i, _, n, s in acc)  # same run, same seeds
    assert json.loads((out / "augmentation.json").read_text()) == summary
    assert summary["per_n"].keys() == {"a", "b"} and summary["per_n"]["a"].keys() == {"3", "6"}
    cell = summary["per_n"]["b"]["6"]["generated"]
    values = [acc[(str(i), "b", "6", "generated")] for i in (0, 1)]
    assert cell["mean"] == pytest.approx(np.mean(values)) and cell["std"] == pytest.approx(np.std(values, ddof=1))
    assert cell["replicates"] == 2 and summary["n_test"] == 20
    assert summary["classifier"] == {"width": 0.0625, "lr": 0.05, "flip": False, "epochs": 4, "batch_size": 8,
                                     "min_steps": 1000, "steps": 2, "warmup_steps": 100}
    check = summary["full_check"]
    assert check["train_size"] == 60000 and check["steps"] == 2 and 0 <= check["test_accuracy"] <= 1
    assert check["domain_classifier_test_accuracy"] == 0.5
    assert check["gap"] == pytest.approx(0.5 - check["test_accuracy"])
    assert Image.open(out / "augmentation.png").size[0] > 300


def test_steps_follow_the_set_size_with_a_floor():
    recipe = aug.Recipe(width=0.5, lr=0.05, flip=False, epochs=2, batch_size=64, min_steps=500)
    assert [recipe.steps_for(n) for n in (10, 16000, 16001, 100000)] == [500, 500, 501, 3125]
    assert aug.Recipe(width=0.5, lr=0.05, flip=False, epochs=2, steps=7).steps_for(100000) == 7


def test_variants_parse_labels_and_replicates():
    from ganforge.cli.modnet_cmd import parse_variants

    parsed = parse_variants(["f=r/a,r/b", "x/joint0,x/joint1"])
    assert parsed == {"f": ["r/a", "r/b"], "joint0": ["x/joint0", "x/joint1"]}
    assert parse_variants(["a=x=1,y"]) == {"a": ["x=1", "y"]}  # only the first "=" ends the label
    for bad in (["a=r", "a=s"], ["a="], [","]):
        with pytest.raises(ConfigError, match="LABEL="):
            parse_variants(bad)


def test_summarise_gives_mean_and_sample_std_per_cell():
    rows = [{"variant": "v", "n_real": 10, "train_set": "generated", "test_accuracy": a, "train_accuracy": 1.0}
            for a in (0.5, 0.7, 0.9)]
    cell = aug.summarise(rows)["v"]["10"]["generated"]
    assert cell == {"mean": pytest.approx(0.7), "std": pytest.approx(0.2), "train_mean": 1.0, "replicates": 3}


def test_train_and_test_reports_both_accuracies():
    """Two separable classes (dark vs bright images) are learnt: 1.0 on the training set and the test set;
    with the labels of the test set swapped the test accuracy is 0."""
    gen = torch.Generator().manual_seed(0)
    noise = torch.rand(32, 1, 28, 28, generator=gen) * 0.2
    x = torch.cat([noise[:16] - 1, noise[16:] + 0.8])
    y = torch.tensor([0] * 16 + [1] * 16)
    kw = dict(num_classes=2, width=0.0625, steps=40, batch_size=8, lr=0.05, flip=False, seed=0)
    assert aug.train_and_test(x, y, (x[::3], y[::3]), **kw) == {"test_accuracy": 1.0, "train_accuracy": 1.0}
    assert aug.train_and_test(x, y, (x[::3], 1 - y[::3]), **kw)["test_accuracy"] == 0.0


def test_sources_are_the_augment_files_and_nested(run, tmp_path):
    mod = open_modnet_run(run)
    small, large = aug.augmented_arrays(mod, 3, 0), aug.augmented_arrays(mod, 6, 0)
    assert np.array_equal(small["images"][:3], large["images"][:3])  # the first n of one seeded permutation
    assert small["images"].shape == (30, 1, 28, 28) and small["generated"].sum() == 27
    np.testing.assert_array_equal(small["labels"][3:], other_labels(torch.from_numpy(small["labels"][:3]), 10)
                                  .reshape(-1).numpy())


def test_refuses_bad_settings(run):
    with pytest.raises(ConfigError, match="--n-values must lie in"):
        aug.augmentation({"r": [run]}, n_values=(10**6,), log=lambda line: None)
    with pytest.raises(ConfigError, match="same number"):
        aug.augmentation({"r": [run], "s": [run, run]}, log=lambda line: None)


def test_classifier_learning_rate_warms_up_then_follows_the_cosine(monkeypatch):
    """_fit's lr at step i: lr · min(1, (i + 1) / warmup) · ½(1 + cos(π i / steps)); no warm-up by default."""
    import math

    from ganforge.train import classifier

    seen: list[float] = []

    class Recording(torch.optim.SGD):
        def step(self, closure=None):
            seen.append(self.param_groups[0]["lr"])
            return super().step(closure)

    monkeypatch.setattr(torch.optim, "SGD", Recording)
    x, y = torch.rand(8, 1, 28, 28), torch.arange(8) % 2
    for warmup in (4, 0):
        seen.clear()
        _, _, net = classifier.build_classifier((1, 28, 28), 2, 0.0625)
        classifier._fit(net, x, y, steps=10, batch_size=4, lr=0.1, seed=0, flip=False, budget_s=None, log=None,
                        warmup_steps=warmup)
        expected = [0.1 * (min(1.0, (i + 1) / warmup) if warmup else 1.0) * 0.5 * (1 + math.cos(math.pi * i / 10))
                    for i in range(10)]
        assert seen == pytest.approx(expected, rel=1e-12)
