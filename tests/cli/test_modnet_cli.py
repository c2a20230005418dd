"""``ganforge fool`` and ``ganforge augment`` on a tiny ModNet run over real MNIST: the JSON's keys and ranges,
the grid's size, the memorization share against a brute-force search, the augmented .npz read back by
``evaluate --fake``, ``load_samples`` and the data layer, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ganforge import config as C
from ganforge.cli import main as cli_main
from ganforge.data import LabeledData, dataset_info, load_dataset
from ganforge.errors import DataError
from ganforge.experiments.modnet_fool import HEADER, memorization_check
from ganforge.metrics.features import load_samples, subset_indices
from ganforge.nets import MNISTClassifier
from ganforge.train.classifier import save_classifier
from ganforge.train.run import Run
from ganforge.variants import VARIANTS, DataShape
from helpers.eval_fixtures import ONE_THREAD_ENV, one_thread, private_mnist_cache

pytestmark = pytest.mark.precision  # trains through precision auto: make test runs it as both CPU kinds

META = {"architecture": "mnist-classifier", "build": {"width": 0.0625, "num_classes": 10, "in_channels": 1},
        "dataset": "mnist", "pixel_range": [-1.0, 1.0], "input_shape": [1, 28, 28]}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A private data cache with real MNIST, two untrained classifiers and a 2-iteration ModNet run."""
    root = tmp_path_factory.mktemp("modnet_cli")
    with private_mnist_cache(root) as cache:
        for seed, name in ((0, "clf"), (1, "clf2")):
            torch.manual_seed(seed)
            save_classifier(MNISTClassifier(width=0.0625), META, root / name)
        train = ["train", "--model", "modnet", "--dataset", "mnist", "--set", f"model.classifier={root / 'clf'}",
                 "--set", "model.width=2", "--set", "model.d_width=2", "--set", "train.batch_size=4",
                 "--set", "train.sample_grid=4", "--steps", "2", "--out", str(root / "run")]
        assert cli_main(train) == 0
        toy = ["train", "--preset", "wgan-gp-ring8", "--set", "model.hidden=8", "--set", "train.batch_size=16",
               "--steps", "1", "--out", str(root / "toy")]
        assert cli_main(toy) == 0
        yield {"root": root, "cache": cache, "run": str(root / "run")}


def test_fool_json_grid_and_rates_through_the_entry_point(env, tmp_path):
    root, out = env["root"], tmp_path / "fool"
    proc = subprocess.run([sys.executable, "-m", "ganforge", "fool", "--run", env["run"], "--classifier",
                           str(root / "clf"), "--second-classifier", str(root / "clf2"), "--n", "6", "--nn-train",
                           "300", "--grid-rows", "4", "--out", str(out)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **ONE_THREAD_ENV, "GANFORGE_DATA": str(env["cache"])})
    assert proc.returncode == 0, proc.stderr
    s = json.loads((out / "fool.json").read_text())
    assert json.loads(proc.stdout) == s
    assert {"classifier", "second_classifier", "change", "memorization", "n_sources", "n_modified"} <= s.keys()
    assert (s["n_sources"], s["n_modified"], s["num_classes"]) == (6, 54, 10)
    labels = load_dataset("mnist", "test").labels[torch.from_numpy(subset_indices(10000, 6, 0))]
    counts = {t: int((labels != t).sum()) for t in range(10)}  # sources whose label is not t get target t
    for role in ("classifier", "second_classifier"):
        r = s[role]
        assert 0 <= r["fooling_rate"] <= 1 and 0 <= r["source_accuracy"] <= 1
        weighted = sum(r["per_target"][str(t)] * counts[t] for t in range(10)) / 54
        assert r["fooling_rate"] == pytest.approx(weighted, abs=1e-12)
    assert s["classifier"]["sha256"] != s["second_classifier"]["sha256"]
    c = s["change"]
    assert c["l1_mean"] > 0 and c["l2_mean"] > 0 and 0 < c["l1_per_pixel"] <= 2
    assert c["l1_per_pixel"] == pytest.approx(c["l1_mean"] / 784, rel=1e-9)
    m = s["memorization"]
    assert (m["n_sources"], m["n_modified"], m["train_searched"]) == (6, 54, 300)
    for key in ("share_own_source", "share_neighbour_label_target", "share_neighbour_label_source"):
        assert 0 <= m[key] <= 1
    assert m["mean_distance_to_neighbour"] <= m["mean_distance_to_source"] + 1e-9
    assert Image.open(out / "fool.png").size == (11 * (28 + 2) + 2, HEADER + 4 * (28 + 2) + 2)


class ShiftG(nn.Module):
    """A stand-in G: δ = 0.9 for target 0, 0 for target 1, -0.9 for target 2 (read from the label planes)."""

    num_classes = 3

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        level = xy[:, 1:, :1, :1] * torch.tensor([0.9, 0.0, -0.9])[None, :, None, None]
        return level.sum(1, keepdim=True).expand(-1, 1, *xy.shape[-2:])


def test_memorization_share_matches_a_brute_force_search(monkeypatch):
    gen = torch.Generator().manual_seed(0)
    images = (torch.rand(12, 1, 4, 4, generator=gen) * 1.6 - 0.8)
    images[6:] = images[:6] + 0.15 * torch.randn(6, 1, 4, 4, generator=gen)  # near twins: a neighbour can be another
    images = images.clamp(-1, 1)
    labels = torch.arange(12) % 3
    run = Run(Path("run"), C.resolve(sets=["model.name=modnet"]), VARIANTS.get("modnet"),
              DataShape((1, 4, 4), 3, (-1.0, 1.0)), {"generator": ShiftG()}, {}, 0)
    monkeypatch.setattr(run, "split", lambda split: LabeledData(images, labels, "toy", split, (-1.0, 1.0),
                                                                ["a", "b", "c"]))
    m = memorization_check(run, 5, 0, None)
    keys_idx = torch.from_numpy(subset_indices(12, 12, 1))
    keys, key_labels = images[keys_idx], labels[keys_idx]
    own = hits_target = total = 0
    for i in range(5):
        for t in [t for t in range(3) if t != int(key_labels[i])]:
            x_mod = (keys[i] + [0.9, 0.0, -0.9][t]).clamp(-1, 1)
            nearest = int(torch.cdist(x_mod.reshape(1, -1).double(), keys.reshape(12, -1).double()).argmin())
            own += nearest == i
            hits_target += int(key_labels[nearest]) == t
            total += 1
    assert total == m["n_modified"] == 10
    assert m["share_own_source"] == pytest.approx(own / total, abs=1e-12) and 0 < own < total
    assert m["share_neighbour_label_target"] == pytest.approx(hits_target / total, abs=1e-12)


def test_augment_npz_is_read_by_evaluate_load_samples_and_the_data_layer(env, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    out = tmp_path / "aug.npz"
    with one_thread():
        assert cli_main(["augment", "--run", env["run"], "--n-real", "5", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["real"], summary["generated"], summary["images"]) == (5, 45, [50, 1, 28, 28])
    data = np.load(out)
    assert {"images", "labels", "pixel_range", "generated", "source", "classes"} <= set(data.files)
    real, gen = ~data["generated"], data["generated"]
    assert (data["labels"][gen] != data["labels"][real][data["source"][gen]]).all()  # targets ≠ source labels
    assert sorted(np.bincount(data["source"][gen]).tolist()) == [9] * 5
    samples, pixel_range = load_samples(out)
    assert samples.shape == (50, 1, 28, 28) and pixel_range == (-1.0, 1.0)
    loaded = load_dataset("npz", "train", path=out)
    assert loaded.images.shape == (50, 1, 28, 28) and torch.equal(loaded.labels, torch.from_numpy(data["labels"]))
    torch.testing.assert_close(loaded.images, samples, rtol=0, atol=1 / 255 + 1e-6)  # rounded to 256 levels
    assert loaded.classes == [str(i) for i in range(10)]
    assert dataset_info("npz", path=out)["splits"] == {"train": 50}
    with one_thread():
        code = cli_main(["evaluate", "--fake", str(out), "--real", "mnist:test", "--metrics", "ddm", "--n", "20",
                         "--classifier", str(env["root"] / "clf"), "--no-cache"])
    assert code == 0 and np.isfinite(json.loads(capsys.readouterr().out)["fake"]["ddm"])


def test_npz_dataset_refusals(tmp_path):
    with pytest.raises(DataError, match="dataset 'npz' reads one .npz file and no path was given"):
        load_dataset("npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.full((2, 1, 4, 4), 1.5, np.float32), labels=np.array([0, 1]), pixel_range=[-1, 1])
    with pytest.raises(DataError, match="leave their pixel_range"):
        load_dataset("npz", path=bad)
    np.savez(bad, images=np.zeros((2, 1, 4, 4), np.uint8), labels=np.array([0, 1]))
    assert load_dataset("npz", path=bad).images.shape == (2, 1, 4, 4)
    with pytest.raises(DataError, match="no test split"):
        load_dataset("npz", "test", path=bad)
    np.savez(bad, images=np.zeros((2, 1, 4, 4), np.float32), labels=np.array([0, 1]))
    with pytest.raises(DataError, match="no 'pixel_range'"):
        load_dataset("npz", path=bad)


@pytest.mark.parametrize("args,message", [
    (["fool", "--run", "{toy}", "--classifier", "{clf}"], "needs a modnet run"),
    (["fool", "--run", "{run}", "--classifier", "{clf}", "--n", "0"], "--n, --grid-rows and --nn-train must be >= 1"),
    (["fool", "--run", "{run}", "--classifier", "{root}/missing"], "no domain classifier in"),
    (["augment", "--run", "{run}", "--n-real", "3", "--out", "{root}/x.txt"], "must name a .npz file"),
    (["augment", "--run", "{run}", "--n-real", "0", "--out", "{root}/x.npz"], "--n-real must be at least 1"),
    (["experiment", "augmentation", "--run", "{run}", "--n-values", "1,a"], "not a comma list of integers"),
    (["experiment", "augmentation", "--run", "{run}", "--n-values", "0"], "--n-values must lie in 1..60000"),
])
def test_one_line_errors(env, monkeypatch, capsys, args, message):
    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    names = {"run": env["run"], "toy": str(env["root"] / "toy"), "clf": str(env["root"] / "clf"),
             "root": str(env["root"])}
    assert cli_main([a.format(**names) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
