"""``ganforge experiment ppgn-disc`` (seed thesis, KTH 2018) on real MNIST with tiny nets: its files, that its
numbers are the runs' logged values and independent recomputations, run reuse, and its one-line errors."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from ganforge.cli import build_parser
from ganforge.cli import main as cli_main
from ganforge.cli.ppgn_disc_cmd import settings_from_args
from ganforge.experiments.ppgn_disc import epochs_to_steps, steps_to_epochs
from ganforge.experiments.ppgn_disc_eval import score_samples
from ganforge.experiments.real_features import Embedder
from ganforge.metrics import ddm, fid
from ganforge.metrics.features import convert_range, load_real
from ganforge.train.classifier import load_classifier
from helpers.eval_fixtures import ONE_THREAD_ENV, one_thread, private_mnist_cache, tiny_classifier

VARIANTS = ["fc1-full", "random"]
TINY = ["--width", "0.0625", "--steps", "3", "--encoder-epochs", "0.02", "--per-class", "3", "--grid-columns", "2",
        "--mala-steps", "2", "--n-test", "300"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A private data cache (real MNIST linked in), a tiny domain classifier, and one CLI run of two variants."""
    root = tmp_path_factory.mktemp("ppgn_disc")
    with private_mnist_cache(root) as cache:
        tiny_classifier(root / "clf", steps=150)
        args = ["experiment", "ppgn-disc", "--variants", ",".join(VARIANTS), *TINY, "--classifier", str(root / "clf"),
                "--second-classifier", str(root / "clf"), "--out", str(root / "out")]
        proc = subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True, timeout=300,
                              env={**os.environ, **ONE_THREAD_ENV, "GANFORGE_DATA": str(cache)})
        assert proc.returncode == 0, proc.stderr
        yield {"root": root, "cache": cache, "out": root / "out", "clf": str(root / "clf"), "args": args,
               "stdout": proc.stdout}


def rows(out: Path) -> list[dict]:
    return list(csv.DictReader((out / "ppgn_disc.csv").open()))


def last_logged(run: Path, key: str) -> float:
    values = [r[key] for r in map(json.loads, (run / "log.jsonl").read_text().splitlines()) if key in r]
    return values[-1]


def test_cli_writes_one_row_per_variant_and_its_files(env):
    out, summary = env["out"], json.loads((env["out"] / "ppgn_disc.json").read_text())
    table = rows(out)
    assert [r["variant"] for r in table] == VARIANTS
    assert [r["critics"] for r in table] == ["fc1", "image+fc1"] and table[0]["w_image"] == ""
    assert list(summary["variants"]) == VARIANTS and summary["reduced"] is True
    assert json.loads(env["stdout"])["settings"]["steps"] == 3
    assert Image.open(out / "ppgn_disc.png").size[0] > 600  # one panel per variant
    for variant, row in zip(VARIANTS, table, strict=True):
        run = out / "runs" / variant
        trainer = json.loads((run / "summary.json").read_text())
        assert int(row["steps"]) == trainer["steps"] == 3
        assert float(row["train_seconds"]) == pytest.approx(trainer["wall_s"], rel=1e-12)
        assert (out / "samples" / f"{variant}.png").read_bytes() == (run / "samples" / "00000003.png").read_bytes()
        grid = Image.open(out / "samples" / f"{variant}-mala-class-grid.png")
        assert grid.size == (2 * 30 + 2, 10 * 30 + 2)  # 10 class rows × 2 columns of 28-px tiles, 2-px padding
    encoder = Path(summary["encoder"]["dir"])
    assert encoder == env["cache"] / "classifiers" / "mnist-ppgn-encoder-w0.0625"
    assert (encoder / "classifier.json").is_file() and summary["encoder"]["seed"] == 1
    assert summary["encoder"]["sha256"] != summary["classifier"]["sha256"]  # scored by another network than E


def test_w_columns_are_the_last_logged_estimates(env):
    for row in rows(env["out"]):
        run = env["out"] / "runs" / row["variant"]
        for layer in row["critics"].split("+"):
            assert float(row[f"w_{layer}"]) == pytest.approx(last_logged(run, f"w_{layer}"), rel=1e-12, abs=1e-15)
    curves = json.loads((env["out"] / "ppgn_disc.json").read_text())["variants"]["random"]["curves"]
    assert sorted(curves["image"]["step"] + curves["fc1"]["step"]) == [1, 2, 3]  # random trains one critic a step


def test_scores_equal_independent_computations_on_the_saved_samples(env, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    net, _ = load_classifier(env["clf"])
    _, test_f, _ = Embedder.load("mnist", env["clf"]).real("test", 300, 0)
    summary = json.loads((env["out"] / "ppgn_disc.json").read_text())
    for row in rows(env["out"]):
        data = np.load(env["out"] / "samples" / f"{row['variant']}-mala.npz")
        x, classes = torch.from_numpy(data["samples"]), torch.from_numpy(data["classes"])
        assert x.shape == (30, 1, 28, 28) and classes.tolist() == [c for c in range(10) for _ in range(3)]
        assert tuple(data["pixel_range"]) == (-1.0, 1.0) and -1.0 <= float(x.min()) and float(x.max()) <= 1.0
        with torch.no_grad():
            logits = net(convert_range(x, tuple(data["pixel_range"]), net.pixel_range))
        hit = (logits.argmax(1) == classes).double()
        assert float(row["class_accuracy"]) == pytest.approx(float(hit.mean()), abs=1e-12)
        per_class = summary["variants"][row["variant"]]["per_class_accuracy"]
        assert per_class == pytest.approx([float(hit[classes == c].mean()) for c in range(10)], abs=1e-12)
        assert float(row["ddm"]) == pytest.approx(ddm(test_f, logits), rel=1e-5)
        assert float(row["fid"]) == pytest.approx(fid(test_f, logits), rel=1e-4)


def test_reference_run_is_scored_like_the_variants(env, monkeypatch):
    """--reference-run's yardstick: n samples of that run's generator, DDM and FID against the same test
    features, equal to a recomputation from the generator's samples; and it shows in the text table."""
    from ganforge.cli.ppgn_disc_cmd import results_table
    from ganforge.experiments.ppgn_disc_eval import reference_scores
    from ganforge.metrics.evaluate import samples_from_run

    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    embed = Embedder.load("mnist", env["clf"])
    _, test_f, _ = embed.real("test", 300, 0)
    run = env["out"] / "runs" / "random"
    ref = reference_scores(str(run), embed, test_f, 30, seed=2)
    images, pixel_range, _ = samples_from_run(run, 30, seed=2)
    net, _ = load_classifier(env["clf"])
    with torch.no_grad():
        logits = net(convert_range(images, pixel_range, net.pixel_range))
    assert images.shape == (30, 1, 28, 28) and ref["n"] == 30 and ref["run"] == str(run)
    assert ref["fid"] == pytest.approx(fid(test_f, logits), rel=1e-4)
    assert ref["ddm"] == pytest.approx(ddm(test_f, logits), rel=1e-5)
    summary = json.loads((env["out"] / "ppgn_disc.json").read_text())
    summary["baseline_train"]["reference"] = ref
    assert f"{ref['fid']:.3f}" in results_table(summary).splitlines()[-1]


def test_prior_gap_by_hand_and_in_the_table(env):
    """prior_gap = mean ||R(h) - h|| / ||h||: by hand on two codes; in the CSV for every variant, with the real
    codes' gap beside it (non-negative, finite)."""
    from ganforge.experiments.ppgn_disc_eval import prior_gap

    codes, rebuilt = torch.tensor([[3.0, 4.0], [1.0, 0.0]]), torch.tensor([[3.0, 4.0], [1.0, 1.0]])
    assert prior_gap(codes, rebuilt) == pytest.approx((0.0 + 1.0) / 2, rel=1e-12)
    for row in rows(env["out"]):
        assert 0.0 <= float(row["prior_gap"]) < math.inf and 0.0 <= float(row["real_prior_gap"]) < math.inf


def test_class_accuracy_on_labelled_real_images(env, monkeypatch):
    """On real test images the score is the classifier's accuracy; shuffled labels score lower."""
    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    embed = Embedder.load("mnist", env["clf"])
    images, test_f, pixel_range = embed.real("test", 300, 0)
    _, labels, _, _ = load_real("mnist", "test", 300, 0)
    with torch.no_grad():
        expected = float((embed.net(images).argmax(1) == labels).double().mean())
    scores = score_samples(embed, test_f, images, labels, pixel_range)
    assert scores["class_accuracy"] == pytest.approx(expected, abs=1e-12) and scores["class_accuracy"] > 0.5
    assert scores["ddm"] == pytest.approx(ddm(test_f, test_f), rel=1e-6)
    wrong = score_samples(embed, test_f, images, labels.roll(1), pixel_range)["class_accuracy"]
    assert wrong < scores["class_accuracy"] - 0.3


def test_diversity_and_second_classifier_on_real_and_collapsed_sets(env, monkeypatch):
    """Real test images are about as varied as real test images (ratio near 1); one image repeated per class
    has no spread (ratio 0); the same classifier as second gives the same accuracy."""
    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    embed = Embedder.load("mnist", env["clf"])
    images, test_f, pixel_range = embed.real("test", 300, 0)
    _, labels, _, _ = load_real("mnist", "test", 300, 0)
    scores = score_samples(embed, test_f, images, labels, pixel_range, second=embed, seed=1)
    assert scores["second_accuracy"] == pytest.approx(scores["class_accuracy"], abs=1e-12)
    assert 0.8 < scores["diversity_ratio"] < 1.25
    first = torch.stack([images[labels == c][0] for c in labels.tolist()])  # each class's first image, repeated
    collapsed = score_samples(embed, test_f, first, labels, pixel_range, seed=1)
    assert collapsed["diversity_ratio"] == pytest.approx(0.0, abs=1e-6) and collapsed["second_accuracy"] is None


def test_recon_fid_is_the_fid_of_reconstructed_training_images(env, monkeypatch):
    """recon_fid (how good G is on its own) equals FID of clamp(G(E(x))) recomputed for the baseline's
    30 training images (seed 0), scored by the domain classifier; a 3-step G is far from those images."""
    from ganforge.train.run import open_run

    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    net, _ = load_classifier(env["clf"])
    _, test_f, _ = Embedder.load("mnist", env["clf"]).real("test", 300, 0)
    images, _, pixel_range, _ = load_real("mnist", "train", 30, 0)
    summary = json.loads((env["out"] / "ppgn_disc.json").read_text())
    for row in rows(env["out"]):
        nets = open_run(env["out"] / "runs" / row["variant"]).nets
        with torch.no_grad():
            recon = nets["generator"](nets["encoder"].activations(images, ["fc1"])["fc1"]).clamp(-1, 1)
            logits = net(convert_range(recon, pixel_range, net.pixel_range))
        assert float(row["recon_fid"]) == pytest.approx(fid(test_f, logits), rel=1e-4)
        assert float(row["recon_fid"]) > 2 * summary["baseline_train"]["fid"]


def test_recon_fid_of_an_identity_autoencoder_is_the_training_baseline(env, monkeypatch):
    """With G(E(x)) = x, recon_fid is the FID of the baseline's own training images (same n, same seed),
    and another seed's images score differently."""
    from types import SimpleNamespace

    from ganforge.experiments import ppgn_disc_eval as ev

    class Identity(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, h):
            return h.view(-1, 1, 28, 28)

        def activations(self, x, layers):
            return {"fc1": x.flatten(1)}

    fake = SimpleNamespace(nets={"encoder": Identity(), "generator": Identity()}, in_range=lambda x: x.clamp(-1, 1))
    monkeypatch.setattr(ev, "open_run", lambda run_dir: fake)
    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    embed = Embedder.load("mnist", env["clf"])
    _, test_f, _ = embed.real("test", 300, 0)
    _, train_f, _ = embed.real("train", 30, 4)
    assert ev.recon_fid(Path("unused"), embed, test_f, 30, seed=4) == pytest.approx(fid(test_f, train_f), rel=1e-6)
    assert ev.recon_fid(Path("unused"), embed, test_f, 30, seed=5) != pytest.approx(fid(test_f, train_f), rel=1e-3)


def test_new_columns_reconstructions_and_gradient_curves(env, monkeypatch):
    """The CSV carries the second accuracy, diversity, reconstruction scores and final λs; the reconstruction
    MSE equals G(E(x)) recomputed from the run; the gradient-ratio plot is written."""
    from ganforge.train.run import open_run

    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    summary = json.loads((env["out"] / "ppgn_disc.json").read_text())
    images, labels, _, _ = load_real("mnist", "test", 1000, 0)
    for row in rows(env["out"]):
        result = summary["variants"][row["variant"]]
        assert float(row["second_accuracy"]) == pytest.approx(float(row["class_accuracy"]), abs=1e-12)
        assert 0 <= float(row["diversity_ratio"]) and 0 <= float(row["recon_accuracy"]) <= 1
        nets = open_run(env["out"] / "runs" / row["variant"]).nets
        with torch.no_grad():
            recon = nets["generator"](nets["encoder"].activations(images, ["fc1"])["fc1"])
        assert float(row["recon_mse"]) == pytest.approx(float((recon - images).square().mean()), rel=1e-5)
        ratio = result["ratio_curves"]["fc1"]
        assert len(ratio["step"]) == len(ratio["ratio"]) >= 1 and all(v > 0 for v in ratio["ratio"])
        lambdas = [r["lambda_fc1"] for r in map(json.loads, (env["out"] / "runs" / row["variant"] / "log.jsonl")
                                              .read_text().splitlines()) if "grad_adv_fc1" in r]
        assert ratio["ratio_at_lambda_1"] == pytest.approx([v / lam for v, lam in zip(ratio["ratio"], lambdas,
                                                                                       strict=True)], rel=1e-12)
        assert float(row["lambda_fc1"]) == pytest.approx(last_logged(env["out"] / "runs" / row["variant"],
                                                                     "lambda_fc1"), rel=1e-12)
    assert Image.open(env["out"] / "ppgn_disc_gradients.png").size[0] > 600
    for row in rows(env["out"]):  # 10 test images above their 10 reconstructions
        assert Image.open(env["out"] / "samples" / f"{row['variant']}-reconstructions.png").size == (10 * 30 + 2,
                                                                                                    2 * 30 + 2)


TIMINGS = {"train_seconds", "steps_per_second", "mala_seconds", "score_seconds"}


def test_jobs_train_the_variants_side_by_side_to_the_same_numbers(env, tmp_path):
    """--jobs 2 trains and scores the two variants in two worker processes (one thread each here, as the
    sequential run had): every number but the timings equals the sequential run's, and the settings record
    leaves the scheduling out, so either run is reused by the other."""
    out = tmp_path / "jobs"
    proc = subprocess.run([sys.executable, "-m", "ganforge", *with_option(env["args"], "--out", str(out)), "--jobs",
                           "2"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **ONE_THREAD_ENV, "GANFORGE_DATA": str(env["cache"])})
    assert proc.returncode == 0, proc.stderr
    assert "running 2 jobs 2 at a time, 1 thread(s) each" in proc.stderr
    assert all(f"[{v}] MALA" in proc.stderr for v in VARIANTS)  # the workers' log lines reach stderr
    side, alone = rows(out), rows(env["out"])
    assert [r["variant"] for r in side] == VARIANTS
    for a, b in zip(side, alone, strict=True):
        assert {k: v for k, v in a.items() if k not in TIMINGS} == {k: v for k, v in b.items() if k not in TIMINGS}
    summary, before = (json.loads((d / "ppgn_disc.json").read_text()) for d in (out, env["out"]))
    assert (summary["jobs"], summary["threads_per_job"], before["jobs"]) == (2, 1, 1)
    assert summary["settings"] == before["settings"] and "jobs" not in summary["settings"]


def test_sigterm_to_the_experiment_stops_its_workers_with_their_checkpoints(env, tmp_path):
    """SIGTERM to the experiment's process alone (not its group) reaches the --jobs workers: each trainer saves a
    checkpoint and stops, the experiment exits 130, and no worker is left holding a run folder."""
    import signal
    import time

    from ganforge.train.run_lock import claim_run_folder

    out = tmp_path / "stopped"
    args = with_option(with_option(env["args"], "--out", str(out)), "--steps", "20000")
    proc = subprocess.Popen([sys.executable, "-m", "ganforge", *args, "--jobs", "2"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, **ONE_THREAD_ENV, "GANFORGE_DATA": str(env["cache"])})
    logs = [out / "runs" / v / "log.jsonl" for v in VARIANTS]
    deadline = time.monotonic() + 120
    while not all(log.is_file() and log.stat().st_size > 0 for log in logs) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    for variant in VARIANTS:
        run = out / "runs" / variant
        summary = json.loads((run / "summary.json").read_text())
        assert summary["stopped_by"] == "SIGTERM" and 0 < summary["steps"] < 20000, summary
        assert (run / "checkpoints" / f"{summary['steps']:08d}" / "state.json").is_file()
        with claim_run_folder(run):  # free: the worker that wrote it has exited
            pass


def with_option(args: list[str], flag: str, value: str) -> list[str]:
    i = args.index(flag)
    return [*args[:i + 1], value, *args[i + 2:]]


def test_finished_runs_are_reused_and_a_changed_config_is_refused(env, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    out = shutil.copytree(env["out"], tmp_path / "out")
    checkpoint = out / "runs" / "random" / "checkpoints" / "00000003" / "state.json"
    before = checkpoint.stat().st_mtime_ns
    args = with_option(with_option(env["args"], "--variants", "random"), "--out", str(out))
    with one_thread():
        assert cli_main(args) == 0
    assert "reusing the finished run" in capsys.readouterr().err
    assert checkpoint.stat().st_mtime_ns == before and [r["variant"] for r in rows(out)] == ["random"]
    assert cli_main(with_option(args, "--steps", "4")) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ganforge: error:")]
    assert len(errors) == 1 and "holds a finished run of another config (train.steps)" in errors[0], errors
    assert cli_main([*args, "--set", "model.gp_weight=5"]) == 2
    assert "another config (model.gp_weight)" in capsys.readouterr().err


def test_a_run_made_before_a_config_key_existed_is_reused(env, monkeypatch, capsys, tmp_path):
    """A finished run saved without a key ganforge added since (here model.gp_method) reads it at its default,
    as a resume does, and is reused, not refused as another config."""
    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    out = shutil.copytree(env["out"], tmp_path / "out")
    run = out / "runs" / "random"
    state_file = run / "checkpoints" / "00000003" / "state.json"
    state = json.loads(state_file.read_text())
    del state["meta"]["config"]["model"]["gp_method"]
    state_file.write_text(json.dumps(state))
    saved = yaml.safe_load((run / "config.yaml").read_text())
    del saved["model"]["gp_method"]
    (run / "config.yaml").write_text(yaml.safe_dump(saved))
    args = with_option(with_option(env["args"], "--variants", "random"), "--out", str(out))
    with one_thread():
        assert cli_main(args) == 0
    assert "reusing the finished run" in capsys.readouterr().err


def test_an_interrupted_run_resumes_and_an_interrupt_stops_the_experiment(env, monkeypatch, capsys, tmp_path):
    """A run the trainer left on a signal (summary stopped_by SIGINT) is resumed, not reused as finished; a
    signal during training stops the experiment (exit 130) instead of scoring a truncated run."""
    import ganforge.experiments.ppgn_disc as pd

    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    out = shutil.copytree(env["out"], tmp_path / "out")
    summary_file = out / "runs" / "random" / "summary.json"
    summary_file.write_text(json.dumps({**json.loads(summary_file.read_text()), "stopped_by": "SIGINT"}))
    args = with_option(with_option(env["args"], "--variants", "random"), "--out", str(out))
    with one_thread():
        assert cli_main(args) == 0
    assert "resuming" in capsys.readouterr().err and json.loads(summary_file.read_text())["stopped_by"] is None
    shutil.rmtree(out / "runs" / "random")
    monkeypatch.setattr(pd, "train", lambda *a, **k: {"steps": 2, "wall_s": 1.0, "stopped_by": "SIGTERM"})
    assert cli_main(args) == 130
    assert "run the same `ganforge experiment ppgn-disc` command again to resume" in capsys.readouterr().err


def test_seeds_are_run_apart_and_reported_as_mean_and_std(env, monkeypatch, capsys, tmp_path):
    """--seeds 2 reuses a seed run made apart (seed 0, copied in), trains seed 1 and reports mean ± std (ddof 1)
    of every measure over the two seeds' own CSV rows; the Wasserstein start/end means come from the curves."""
    monkeypatch.setenv("GANFORGE_DATA", str(env["cache"]))
    out = tmp_path / "seeds"
    shutil.copytree(env["out"], out / "seed-0")
    args = with_option(with_option(env["args"], "--variants", "random"), "--out", str(out))
    with one_thread():
        assert cli_main([*args, "--seeds", "2"]) == 0
    assert "reusing the finished run" in capsys.readouterr().err
    table = rows(out.parent / "seeds" / "seed-1")
    assert [r["variant"] for r in table] == ["random"]
    per_seed = [float(rows(out / f"seed-{s}")[-1]["class_accuracy"]) for s in (0, 1)]
    (row,) = list(csv.DictReader((out / "ppgn_disc_seeds.csv").open()))
    assert row["variant"] == "random" and int(row["seeds"]) == 2
    assert float(row["class_accuracy_mean"]) == pytest.approx(np.mean(per_seed), abs=1e-12)
    assert float(row["class_accuracy_std"]) == pytest.approx(np.std(per_seed, ddof=1), abs=1e-12)
    summary = json.loads((out / "ppgn_disc_seeds.json").read_text())
    curves = json.loads((out / "seed-1" / "ppgn_disc.json").read_text())["variants"]["random"]["curves"]
    layer, curve = next((layer, c["w"]) for layer, c in curves.items() if c["w"])  # random trains one a step
    assert summary["variants"]["random"]["per_seed"]["1"][f"w_last_{layer}"] == pytest.approx(curve[-1], abs=1e-12)
    assert summary["seeds"] == [0, 1]
    table_md = (out / "ppgn_disc_seeds.md").read_text().splitlines()
    accuracy = f"{np.mean(per_seed):.3f} ± {np.std(per_seed, ddof=1):.3f}"
    assert table_md[2].startswith("| random | ") and accuracy in table_md[2]
    import ganforge.experiments.ppgn_disc_seeds as seeds_module

    before, original = (out / "ppgn_disc_seeds.csv").read_bytes(), seeds_module.ppgn_disc
    monkeypatch.setattr(seeds_module, "ppgn_disc", lambda *a, **k: pytest.fail("a finished seed ran again"))
    assert cli_main([*args, "--seeds", "2"]) == 0  # both seeds finished with these settings: reused as they are
    assert capsys.readouterr().err.count("reusing the finished experiment") == 2
    assert (out / "ppgn_disc_seeds.csv").read_bytes() == before
    monkeypatch.setattr(seeds_module, "ppgn_disc", original)
    assert cli_main([*args, "--seeds", "1", "--seed", "0", "--out", str(tmp_path / "one")]) == 0  # plain run


@pytest.mark.parametrize("extra,needles", [
    (["--variants", "vanilla,fc2"], ["unknown 'fc2'", "choose from vanilla,fc1-adv,fc1-full"]),
    (["--per-class", "4"], ["--grid-columns 10 exceeds --per-class 4"]),
    (["--jobs", "0"], ["--jobs must be >= 1"]),
])
def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys, extra, needles):
    out = tmp_path / "never"
    assert cli_main(["experiment", "ppgn-disc", *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(n in err for n in needles), err
    assert not out.exists()  # refused before anything is trained or written


def test_epochs_follow_the_thesis_relation():
    assert epochs_to_steps(15, warmup=True) == 4979  # the thesis: 15 epochs = 4,979 generator steps
    assert epochs_to_steps(1, warmup=False) == 375 and epochs_to_steps(3, warmup=False) == 1125
    assert steps_to_epochs(4979, warmup=True) == pytest.approx(15.0, abs=1e-12)
    parse = lambda *a: settings_from_args(build_parser().parse_args(["experiment", "ppgn-disc", *a]))  # noqa: E731
    assert parse("--epochs", "15", "--warmup").steps == 4979 and parse().steps == 3750
    assert parse("--minutes-per-variant", "2").steps == 4979 and parse("--steps", "7").steps == 7
    assert parse().jobs is None and parse("--jobs", "3").jobs == 3  # None: one job per torch thread


def test_markdown_table_gives_mean_and_std_and_the_baselines_fid_and_ddm():
    """ppgn_disc_seeds.md: one row per variant with every column as mean ± std at its digits, then the
    training images and the reference run (when every seed scored one) with FID and DDM only."""
    from ganforge.experiments.ppgn_disc_seeds import COLUMNS, baselines, markdown_table

    def seed(fid_train, fid_ref):
        return {"baseline_train": {"n": 200, "fid": fid_train, "ddm": 6.0,
                                   "reference": {"run": "R", "n": 200, "fid": fid_ref, "ddm": 7.0}}}

    base = baselines({0: seed(3.0, 18.0), 1: seed(5.0, 21.0)})
    assert base["training images"]["fid_mean"] == pytest.approx(4.0, abs=1e-12)
    assert base["training images"]["fid_std"] == pytest.approx(np.std([3.0, 5.0], ddof=1), abs=1e-12)
    reference = base["reference run R"]
    assert reference["fid_mean"] == pytest.approx(19.5, abs=1e-12) and reference["seeds"] == 2
    row = {"seeds": 2, **{f"{key}_{part}": value for _, key, _ in COLUMNS
                          for part, value in (("mean", 0.5), ("std", 0.25))}}
    lines = markdown_table({"vanilla": row}, base, {"vanilla": "image"}).splitlines()
    assert len(lines) == 5 and lines[0].startswith("| variant | critics | class acc. (domain) |")
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells[:4] == ["vanilla", "image", "0.500 ± 0.250", "0.500 ± 0.250"]
    assert cells[2 + [k for _, k, _ in COLUMNS].index("fid")] == "0.5 ± 0.2"  # FID at one decimal
    train_cells = [c.strip() for c in lines[3].strip("|").split("|")]
    assert train_cells[0] == "training images (n 200)" and train_cells.count("") == len(COLUMNS) - 1
    assert "4.0 ± 1.4" in train_cells and "6.00 ± 0.00" in train_cells
    assert lines[4].startswith("| reference run R (n 200) |") and "19.5 ± 2.1" in lines[4]
    without = baselines({0: seed(3.0, 18.0), 1: {"baseline_train": {"n": 200, "fid": 5.0, "ddm": 6.0}}})
    assert list(without) == ["training images"]  # a reference scored by one seed only is left out
