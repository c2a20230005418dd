"""The evaluation suite: real test images score like the training baseline, noise does not; toy runs; the CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from ganforge.data import load_dataset
from ganforge.errors import ConfigError
from ganforge.metrics import ddm
from ganforge.metrics.evaluate import EvalRequest, evaluate
from ganforge.metrics.features import embed, subset_indices
from ganforge.train.classifier import load_classifier
from helpers.eval_fixtures import ONE_THREAD_ENV, cache_with_real_mnist, one_thread, require_mnist, tiny_classifier

N = 500


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # torch on one thread for the whole module


def ganforge(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **ONE_THREAD_ENV, **env})


def one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval_classifier")
    tiny_classifier(folder, steps=120)
    return folder


@pytest.fixture(scope="module")
def held_out():
    """N real test images that are not among the N the evaluation compares against (seed 0)."""
    require_mnist()
    used = set(subset_indices(10000, N, 0).tolist())
    rest = np.array([i for i in range(10000) if i not in used])
    rest = torch.from_numpy(np.random.default_rng(1).permutation(rest)[:N])  # random: the test set is ordered
    return load_dataset("mnist", "test").images[rest]


def test_real_images_score_like_the_training_baseline_and_noise_does_not(classifier_dir, held_out, tmp_path):
    req = EvalRequest(dataset="mnist", n=N, classifier=str(classifier_dir), feature_cache=tmp_path)
    real = evaluate(held_out, (-1.0, 1.0), req)
    fake, base = real["fake"], real["baseline_train"]
    assert abs(fake["ddm"] - base["ddm"]) < 0.05 * base["ddm"] and abs(fake["ddm_relative"]) < 0.05 * base["ddm"]
    assert 0 < fake["fid"] and 0 < base["fid"]
    assert abs(fake["is"] - real["real_test"]["is"]) < 0.1 * real["real_test"]["is"] and fake["is"] > 5
    noise = torch.rand(N, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    bad = evaluate(noise, (-1.0, 1.0), EvalRequest(dataset="mnist", n=N, classifier=str(classifier_dir),
                                                   feature_cache=tmp_path))
    assert bad["fake"]["fid"] > 50 * base["fid"] and bad["fake"]["ddm"] > base["ddm"] + 3.0
    assert abs(fake["fid"] - base["fid"]) < 0.02 * bad["fake"]["fid"]  # close to the baseline on noise's scale
    noisy_kid = bad["fake"]["kid"]
    for values in (fake, base):  # KID ≈ 0: within its spread over subsets
        assert abs(values["kid"]) < values["kid_std"] + 0.01 * noisy_kid and values["kid_subset_size"] == N // 2
    assert noisy_kid > 3 * bad["fake"]["kid_std"] and noisy_kid > 10 * fake["kid_std"]
    assert bad["fake"]["is"] < 0.5 * fake["is"] and bad["baseline_train"] == base  # the baseline is cached
    far = real["baseline_noise"]  # the noise baseline: [0, 1] noise, as bad as the noise samples above
    assert far["fid"] > 50 * base["fid"] and far["ddm"] > base["ddm"] + 3.0 and far["kid"] > 10 * fake["kid_std"]
    assert far["is"] < 0.5 * fake["is"] and far["n_fake"] == N and "modes" not in far  # modes: not asked for
    assert "ddm_std" not in far and bad["baseline_noise"] == far  # one value, no spread; the same for any samples
    cached = sorted(p.name for p in tmp_path.iterdir())
    assert len(cached) == 2 and all("_n500_seed0_logits_" in name for name in cached)
    assert real["n"] == N and real["classifier"]["sha256"] == json.loads(
        (classifier_dir / "classifier.json").read_text())["sha256"]


def test_toy_points_use_the_identity_embedding_and_raw_modes():
    good = load_dataset("ring8", "test", n=600, seed=7).images
    collapsed = good[:1].expand(600, 2) + 0.01 * torch.randn(600, 2, generator=torch.Generator().manual_seed(0))
    req = dict(dataset="ring8", n=600, metrics=("ddm", "fid", "kid", "is", "nn", "modes"), embedding="logits")
    ok = evaluate(good, None, EvalRequest(**req))
    bad = evaluate(collapsed, None, EvalRequest(**req))
    assert ok["embedding"] == "identity" and ok["classifier"] is None
    assert any("'identity'" in note for note in ok["notes"]) and sum("skipped" in note for note in ok["notes"]) == 2
    assert ok["fake"]["modes"]["modes_hit"] == 8 and bad["fake"]["modes"]["modes_hit"] == 1
    assert ok["baseline_train"]["modes"]["modes_hit"] == 8 and ok["fake"]["modes"]["high_quality_share"] > 0.97
    assert ok["fake"]["fid"] < 0.05 < bad["fake"]["fid"] and ok["fake"]["ddm"] < bad["fake"]["ddm"] - 0.5
    assert abs(ok["fake"]["ddm"] - ok["baseline_train"]["ddm"]) < 0.05
    assert "is" not in ok["fake"] and "nn" not in ok["fake"]
    noise = ok["baseline_noise"]  # uniform over the ring's bounding box: worse than real points, no mode hit
    assert noise["ddm"] > ok["fake"]["ddm"] + 0.2 and noise["fid"] > 10 * ok["fake"]["fid"]
    assert noise["kid"] > ok["fake"]["kid"] + 0.3 and noise["modes"]["modes_hit"] == 0 and noise["n_fake"] == 600
    assert bad["baseline_noise"] == noise  # the same noise whatever the samples


def test_cli_evaluate_end_to_end(classifier_dir, held_out, tmp_path):
    env = {"GANFORGE_DATA": str(cache_with_real_mnist(tmp_path))}
    fake = tmp_path / "X.npz"
    np.savez(fake, samples=held_out.numpy(), pixel_range=np.array([-1.0, 1.0]))
    out = tmp_path / "out" / "out.json"
    out.parent.mkdir()
    result = ganforge("evaluate", "--fake", str(fake), "--real", "mnist:test", "--classifier", str(classifier_dir),
                      "--n", str(N), "--metrics", "ddm,fid,kid,is,nn,modes", "--nn-train", "2000", "--json",
                      str(out), env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data == json.loads(result.stdout)
    assert set(data["fake"]) >= {"ddm", "ddm_relative", "fid", "kid", "is", "nn", "modes"}
    assert set(data["baseline_train"]) >= {"ddm", "fid", "kid", "is", "modes"} and "is" in data["real_test"]
    assert set(data["baseline_noise"]) >= {"ddm", "fid", "kid", "is", "modes"} and "nn" not in data["baseline_noise"]
    assert len(data["real_test"]["modes"]["histogram"]) == 10  # the real class histogram the report draws
    assert data["real"] == "mnist:test" and data["n"] == N and data["embedding"] == "logits"
    assert abs(data["fake"]["ddm"] - data["baseline_train"]["ddm"]) < 0.05 * data["baseline_train"]["ddm"]
    assert data["fake"]["nn"]["pixel"]["share_exact_copies"] == 0.0 and data["fake"]["nn"]["train_size"] == 2000
    assert (out.parent / "nn_grid.png").stat().st_size > 1000
    assert len(list((tmp_path / "cache" / "features").glob("mnist_*.npz"))) == 3  # test, train, train_all: logits


def test_cli_errors_are_one_line_with_exit_2(held_out, tmp_path):
    env = {"GANFORGE_DATA": str(cache_with_real_mnist(tmp_path))}
    fake = tmp_path / "X.npz"
    np.savez(fake, samples=held_out[:20].numpy(), pixel_range=np.array([-1.0, 1.0]))
    missing = ganforge("evaluate", "--fake", str(fake), "--real", "mnist", "--n", "20", env=env)
    one_line_error(missing, "no domain classifier", "`ganforge classifier train --dataset mnist`")
    unknown = ganforge("evaluate", "--fake", str(fake), "--real", "mnist", "--n", "20", "--metrics", "fid,bleu",
                       env=env)
    one_line_error(unknown, "bleu", "ddm, is, fid, kid, parzen, nn, modes")


def test_too_few_samples_for_n_is_refused(held_out):
    with pytest.raises(ConfigError, match="only 20 generated samples for n=50; pass --n 20"):
        evaluate(held_out[:20], (-1.0, 1.0), EvalRequest(dataset="mnist", n=50, metrics=("ddm",), embedding="identity"))


def test_cli_classifier_train_prints_test_accuracy(tmp_path):
    env = {"GANFORGE_DATA": str(cache_with_real_mnist(tmp_path))}
    result = ganforge("classifier", "train", "--dataset", "mnist", "--out", str(tmp_path / "c"), "--width", "0.125",
                      "--max-steps", "100", "--lr", "0.05", "--train-size", "3000", "--test-size", "1000", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("test accuracy ") and "step 100/100" in result.stderr
    meta = json.loads((tmp_path / "c" / "classifier.json").read_text())
    assert meta["test_size"] == 1000 and meta["train_size"] == 3000 and meta["steps"] == 100
    assert 0.5 < meta["test_accuracy"] <= 1.0  # chance is 0.1


def test_all_checkpoints_gives_ddm_over_training(classifier_dir, tmp_path):
    env = {"GANFORGE_DATA": str(cache_with_real_mnist(tmp_path))}
    run = tmp_path / "run"
    trained = ganforge("train", "--model", "gan", "--dataset", "mnist", "--steps", "6", "--set", "model.width=4",
                       "--set", "train.batch_size=16", "--set", "train.checkpoint_every=2", "--set",
                       "train.keep_last=1", "--set", "train.keep_every=4", "--out", str(run), env=env)
    assert trained.returncode == 0, trained.stderr
    out = tmp_path / "over.json"
    result = ganforge("evaluate", "--run", str(run), "--all-checkpoints", "--classifier", str(classifier_dir),
                      "--n", "100", "--metrics", "ddm,fid", "--json", str(out), env=env)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((run / "ddm_over_training.csv").open()))
    assert [int(r["step"]) for r in rows] == [4, 6]  # keep_every=4 kept step 4 beside the last one
    assert json.loads(out.read_text())["rows"][1]["ddm"] == pytest.approx(float(rows[1]["ddm"]))
    assert rows[0]["ddm_train"] == rows[1]["ddm_train"] and float(rows[0]["fid"]) > 0
    single = ganforge("evaluate", "--run", str(run), "--step", "4", "--classifier", str(classifier_dir),
                      "--n", "100", "--metrics", "ddm", env=env)
    assert json.loads(single.stdout)["fake"]["ddm"] == pytest.approx(float(rows[0]["ddm"]), rel=1e-9)
    assert (run / "ddm_over_training.png").stat().st_size > 1000
    one_line_error(ganforge("evaluate", "--run", str(run), "--all-checkpoints", "--step", "4", env=env), "--step")


def test_val_split_is_held_out_of_the_training_baseline(classifier_dir, held_out, tmp_path):
    env = {"GANFORGE_DATA": str(cache_with_real_mnist(tmp_path))}
    fake = tmp_path / "X.npz"
    np.savez(fake, samples=held_out.numpy(), pixel_range=np.array([-1.0, 1.0]))
    result = ganforge("evaluate", "--fake", str(fake), "--real", "mnist:val", "--val-size", "2000", "--classifier",
                      str(classifier_dir), "--n", str(N), "--metrics", "ddm", "--no-cache", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["real"] == "mnist:val" and data["n_test"] == N
    val = load_dataset("mnist", "val", val_size=2000).images
    rest = load_dataset("mnist", "train", val_size=2000).images
    with one_thread():
        net, _ = load_classifier(str(classifier_dir))
        feats = {k: embed(net, v, pixel_range=(-1.0, 1.0)) for k, v in
                 (("val", val[subset_indices(2000, N, 0)]), ("fake", held_out),
                  ("train", rest[subset_indices(len(rest), N + 1000, 0)[:N]]))}
    assert data["fake"]["ddm"] == pytest.approx(ddm(feats["val"], feats["fake"]), rel=1e-6)
    assert data["baseline_train"]["ddm"] == pytest.approx(ddm(feats["val"], feats["train"]), rel=1e-6)
