"""``ganforge experiment lapgan-levels``: k-NN labels by hand, and on tiny LAPGAN runs (real MNIST) that every
level is scored by both labelers, with numbers equal to recomputations and the real test images' ceiling."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from ganforge.cli import main as cli_main
from ganforge.data.transforms import gaussian_pyramid
from ganforge.experiments.lapgan_levels import knn_labels
from ganforge.metrics.features import load_real
from ganforge.metrics.modes import class_coverage
from ganforge.train.run import open_run
from ganforge.variants.lapgan import sample_levels
from helpers.eval_fixtures import one_thread, private_mnist_cache, tiny_classifier

TINY = ["--set", "model.width=4", "--set", "model.hidden_g=8", "--set", "model.hidden_d=6", "--set", "model.z_dim=3",
        "--set", "train.batch_size=4", "--steps", "2"]


def test_knn_labels_by_hand():
    reference = torch.tensor([[0.0], [0.1], [0.2], [5.0], [5.1], [9.0]]).reshape(6, 1, 1, 1)
    labels = torch.tensor([0, 0, 1, 1, 1, 2])
    queries = torch.tensor([[0.05], [5.05], [8.0]]).reshape(3, 1, 1, 1)
    assert knn_labels(queries, reference, labels, 1).tolist() == [0, 1, 2]
    assert knn_labels(queries, reference, labels, 3).tolist() == [0, 1, 1]  # 8.0: 9.0 (2), 5.1 (1), 5.0 (1)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("lapgan_levels")
    with private_mnist_cache(root), one_thread():
        tiny_classifier(root / "clf", steps=100)
        kept = ["--set", "train.checkpoint_every=1", "--set", "train.keep_every=1"]
        for name, extra in (("plain", []), ("cc", ["--set", "model.conditional=true"]), ("kept", kept)):
            assert cli_main(["train", "--preset", "lapgan-mnist", *TINY, *extra, "--out", str(root / name)]) == 0
        yield root


def run_levels(root: Path, name: str) -> dict:
    out = root / f"out-{name}"
    with one_thread():
        assert cli_main(["experiment", "lapgan-levels", "--run", str(root / name), "--n", "30", "--n-reference",
                         "200", "--k", "3", "--classifier", str(root / "clf"), "--out", str(out), "--seed", "4"]) == 0
    return json.loads((out / "lapgan_levels.json").read_text())


def test_every_level_scored_by_both_labelers_as_recomputed(env):
    summary = run_levels(env, "plain")
    rows = summary["rows"]
    assert [(r["level"], r["size"], r["labeler"]) for r in rows] == [
        (k, 28 >> k, lab) for k in range(3) for lab in ("classifier", "knn")]
    assert all(r["class_accuracy"] is None for r in rows)  # unconditional: nothing was asked for
    assert len(list(csv.DictReader(Path(summary["files"]["csv"]).open()))) == 6
    session = open_run(env / "plain")
    with torch.no_grad():
        levels = sample_levels(session.nets, session.cfg, 30, generator=torch.Generator().manual_seed(4))
    train_x, train_y, _, _ = load_real("mnist", "train", 200, 4)
    train_pyr = gaussian_pyramid(train_x.float(), 3, session.cfg.model.blur_sigma)
    for k in range(3):
        labels = knn_labels(levels[k], train_pyr[k], train_y, 3)
        expected = class_coverage(torch.nn.functional.one_hot(labels, 10).float())
        row = rows[2 * k + 1]
        assert row["kl_to_uniform"] == pytest.approx(expected["kl_to_uniform"], rel=1e-9, abs=1e-12)
        assert row["classes_covered"] == expected["classes_covered"]
    test_x, test_y, _, _ = load_real("mnist", "test", 30, 4)
    real0 = knn_labels(gaussian_pyramid(test_x.float(), 3)[0], train_pyr[0], train_y, 3)
    assert rows[1]["real_accuracy"] == pytest.approx(float((real0 == test_y).double().mean()), abs=1e-12)


def test_conditional_run_reports_the_share_of_the_asked_class(env):
    rows = run_levels(env, "cc")["rows"]
    assert all(0.0 <= r["class_accuracy"] <= 1.0 for r in rows)
    assert rows[0]["real_accuracy"] > 0.5  # the tiny classifier reads real test digits better than chance


def test_a_run_of_another_model_is_one_line(env, tmp_path, capsys):
    with one_thread():
        assert cli_main(["train", "--model", "gan", "--dataset", "mnist", "--set", "model.width=4", "--set",
                         "train.batch_size=4", "--steps", "1", "--out", str(tmp_path / "gan")]) == 0
    capsys.readouterr()
    assert cli_main(["experiment", "lapgan-levels", "--run", str(tmp_path / "gan"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs a lapgan run" in err[0]


def test_ema_scores_the_ema_generator_and_is_refused_without_one(env, tmp_path, capsys):
    run = tmp_path / "ema"
    with private_mnist_cache(tmp_path), one_thread():
        assert cli_main(["train", "--preset", "lapgan-mnist", *TINY, "--set", "train.ema=0.5", "--out", str(run)]) == 0
        out = tmp_path / "out"
        assert cli_main(["experiment", "lapgan-levels", "--run", str(run), "--ema", "--n", "30", "--n-reference",
                         "200", "--k", "3", "--classifier", str(env / "clf"), "--out", str(out), "--seed", "4"]) == 0
        summary = json.loads((out / "lapgan_levels.json").read_text())
        opened = open_run(run)
        with torch.no_grad():
            levels = sample_levels(opened.nets_for_sampling(True), opened.cfg, 30,
                                   generator=torch.Generator().manual_seed(4))
        train_x, train_y, _, _ = load_real("mnist", "train", 200, 4)
        labels = knn_labels(levels[2], gaussian_pyramid(train_x.float(), 3, opened.cfg.model.blur_sigma)[2], train_y, 3)
        expected = class_coverage(torch.nn.functional.one_hot(labels, 10).float())
        assert summary["ema"] is True
        assert summary["rows"][5]["kl_to_uniform"] == pytest.approx(expected["kl_to_uniform"], rel=1e-9, abs=1e-12)
        capsys.readouterr()
        assert cli_main(["experiment", "lapgan-levels", "--run", str(env / "plain"), "--ema", "--out",
                         str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no EMA generator" in err[0]


def test_all_checkpoints_scores_every_kept_step_as_the_single_run_does(env):
    out = env / "out-kept-all"
    with one_thread():
        assert cli_main(["experiment", "lapgan-levels", "--run", str(env / "kept"), "--all-checkpoints", "--n", "30",
                         "--n-reference", "200", "--k", "3", "--classifier", str(env / "clf"), "--out", str(out),
                         "--seed", "4"]) == 0
    over = json.loads((out / "lapgan_levels_over_training.json").read_text())
    assert over["steps"] == [1, 2]
    assert [r["step"] for r in over["rows"]] == [1] * 6 + [2] * 6
    assert len(list(csv.DictReader((out / "lapgan_levels_over_training.csv").open()))) == 12
    last = run_levels(env, "kept")["rows"]  # the latest checkpoint (step 2), same samples' seed
    for mine, single in zip(over["rows"][6:], last, strict=True):
        assert mine["kl_to_uniform"] == pytest.approx(single["kl_to_uniform"], rel=1e-9, abs=1e-12)
        assert mine["classes_covered"] == single["classes_covered"]
