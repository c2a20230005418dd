"""CUDA: bf16 training steps, a bit-for-bit resume on one GPU, sampling, classifier features and the metrics
there, and a one-process NCCL run (issue 18, point 5).

Marked ``gpu``: ``make test`` leaves them out and ``benchmarks/gpu.sh`` runs them on a CUDA machine.
``GANFORGE_TEST_DEVICE=cpu python -m pytest -m gpu tests/test_cuda.py`` runs the same tests on the CPU (gloo
instead of NCCL, the precision the CPU's ``auto`` picks), which checks the tests themselves where no GPU is at
hand; on a GPU they compare against the CPU where a comparison means something (samples of the same weights
and noise, metrics of the same features).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge import api, metrics
from ganforge.cli import main as cli_main
from ganforge.train.runtime import resolve_precision
from helpers.data_files import write_idx_mnist
from helpers.run_files import checkpoint_tensors, log_without_speed

DEVICE = os.environ.get("GANFORGE_TEST_DEVICE", "cuda")
ON_GPU = torch.device(DEVICE).type == "cuda"
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(ON_GPU and not torch.cuda.is_available(),
                       reason="needs CUDA (GANFORGE_TEST_DEVICE=cpu runs these tests on the CPU)"),
]

# Tiny image models through the real CLI: DCGAN nets with batch norm (GAN), the exact WGAN-GP reference nets
# with the explicit gradient penalty (WGAN-GP), and the PPGN-h image and fc1 critics.
MODELS = {
    "gan": ["--model", "gan", "--set", "model.width=8"],
    "wgan-gp": ["--model", "wgan-gp", "--set", "model.net=wgan-gp-mnist", "--set", "model.width=8",
                "--set", "data.pixel_range=0,1"],
    "ppgn": ["--model", "ppgn", "--set", "model.encoder=random", "--set", "model.width=0.0625",
             "--set", "model.critics=image,fc1", "--set", "model.adv_weights=1,0.5", "--set", "model.warmup=false",
             "--set", "model.n_critic=2"],
}


@pytest.fixture(scope="module")
def idx_mnist(tmp_path_factory) -> Path:
    return write_idx_mnist(tmp_path_factory.mktemp("data") / "idx", train=32, test=16)


def train_args(model: str, data: Path, out: Path, steps: int) -> list[str]:
    return ["train", *MODELS[model], "--dataset", "mnist", "--set", f"data.path={data}",
            "--set", f"train.device={DEVICE}", "--set", "train.batch_size=8", "--set", "train.checkpoint_every=2",
            "--set", "train.sample_grid=4", "--set", "train.log_every=1", "--steps", str(steps), "--out", str(out)]


@pytest.fixture(scope="module")
def runs(idx_mnist, tmp_path_factory) -> dict[str, Path]:
    """Per model: a 4-step run straight through, trained on DEVICE."""
    root = tmp_path_factory.mktemp("runs")
    for model in MODELS:
        assert cli_main(train_args(model, idx_mnist, root / model, 4)) == 0
    return {model: root / model for model in MODELS}


@pytest.mark.parametrize("model", list(MODELS))
def test_training_steps_run_on_the_device_in_bf16(runs, model):
    summary = json.loads((runs[model] / "summary.json").read_text())
    device = torch.device(DEVICE)
    assert torch.device(summary["device"]).type == device.type
    assert summary["precision"] == ("bf16" if ON_GPU else resolve_precision("auto", device))
    assert summary["steps"] == 4 and all(np.isfinite(v) for v in summary["final"].values())
    early, late = checkpoint_tensors(runs[model], 2), checkpoint_tensors(runs[model], 4)
    assert all(torch.isfinite(t).all() for t in late.values() if t.is_floating_point())
    weights = [k for k in late if k.startswith("modules:") and k.endswith(".weight")]
    moved = {k for k in weights if not torch.equal(early[k], late[k])}
    assert {k for k in weights if "generator" in k} <= moved  # G trains (every layer)
    assert any("critic" in k for k in moved)  # and its critics


@pytest.mark.parametrize("model", list(MODELS))
def test_resume_is_bit_for_bit_on_the_device(runs, idx_mnist, tmp_path, model):
    assert cli_main(train_args(model, idx_mnist, tmp_path / "b", 2)) == 0
    assert cli_main(["train", "--out", str(tmp_path / "b"), "--resume", "--steps", "4"]) == 0
    parts = ("modules", "optimizers", "rng")
    a, b = checkpoint_tensors(runs[model], 4, parts), checkpoint_tensors(tmp_path / "b", 4, parts)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert log_without_speed(runs[model]) == log_without_speed(tmp_path / "b")


def test_sampling_on_the_device_is_repeatable_and_matches_the_cpu(runs):
    opened = api.open_run(runs["gan"])
    first, again = opened.sample(16, seed=3), opened.sample(16, seed=3)
    assert first.shape == (16, 1, 28, 28) and torch.equal(first, again)
    low, high = opened.pixel_range
    assert float(first.min()) >= low and float(first.max()) <= high
    run = opened.run
    z = torch.randn(16, run.cfg.model.z_dim, generator=torch.Generator().manual_seed(5))
    on_device = run.generate(z=z)
    cpu_nets = {name: copy.deepcopy(net).cpu() for name, net in run.nets_for_sampling(False).items()}
    on_cpu = run.spec.generate(cpu_nets, run.cfg, len(z), z=z)
    # TF32 convolutions on a GPU round to ~1e-3; the CPU itself must agree exactly
    torch.testing.assert_close(on_device, on_cpu, atol=1e-2 if ON_GPU else 0.0, rtol=0.0)


def test_metrics_take_device_tensors_and_agree_with_the_cpu():
    rng = torch.Generator().manual_seed(0)
    test, fake = torch.randn(3000, 10, generator=rng), torch.randn(2500, 10, generator=rng) * 1.1 + 0.2
    dev = {"test": test.to(DEVICE), "fake": fake.to(DEVICE)}
    assert metrics.ddm(dev["test"], dev["fake"]) == pytest.approx(metrics.ddm(test, fake), rel=1e-6)
    assert metrics.ddm(dev["test"], dev["test"]) == pytest.approx(metrics.ddm(test, test), rel=2e-5)
    assert metrics.ddm(dev["test"], fake) == pytest.approx(metrics.ddm(test, fake), rel=1e-6)  # mixed devices
    density = metrics.parzen_log_density(dev["fake"], dev["test"], [0.5, 1.0])
    assert density.device.type == torch.device(DEVICE).type
    torch.testing.assert_close(density.cpu(), metrics.parzen_log_density(fake, test, [0.5, 1.0]), rtol=1e-9, atol=0)
    sigmas, ll = metrics.parzen_sigma_scores(dev["fake"], dev["test"], [0.5, 1.0])
    np.testing.assert_allclose(ll, metrics.parzen_sigma_scores(fake, test, [0.5, 1.0])[1], rtol=1e-9)
    assert metrics.fid(dev["test"], dev["fake"]) == pytest.approx(metrics.fid(test, fake), rel=1e-9)
    assert metrics.kid(dev["test"], dev["fake"], seed=0) == metrics.kid(test, fake, seed=0)
    logits = torch.randn(500, 10, generator=rng)
    assert metrics.inception_score(logits.to(DEVICE)) == metrics.inception_score(logits)


@pytest.mark.parametrize("embedding", ["logits", "hypercolumns"])
def test_classifier_features_on_the_device_match_the_cpu(embedding):
    """The features FID, KID and DDM read: a domain classifier on the device against its CPU copy."""
    from ganforge.metrics.features import embed
    from ganforge.nets import MNISTClassifier

    torch.manual_seed(0)
    classifier = MNISTClassifier(width=0.25).eval()
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    on_cpu = embed(classifier, images, embedding=embedding, batch_size=16)
    on_device = embed(copy.deepcopy(classifier).to(DEVICE), images, embedding=embedding, batch_size=16)
    assert on_device.device.type == "cpu" and on_device.shape == on_cpu.shape
    torch.testing.assert_close(on_device, on_cpu, rtol=1e-2 if ON_GPU else 0.0, atol=1e-2 if ON_GPU else 0.0)


def test_one_process_torchrun_uses_nccl_and_equals_the_plain_run(runs, idx_mnist, tmp_path):
    """One process under torchrun on a GPU joins an NCCL process group of one (``--nproc 1`` alone trains without
    torchrun); its math is the plain run's, bit for bit."""
    args = train_args("wgan-gp", idx_mnist, tmp_path / "ddp", 4)
    if ON_GPU:  # under torchrun each process takes cuda:LOCAL_RANK; a pinned index is refused
        args[args.index(f"train.device={DEVICE}")] = "train.device=cuda"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=1"]
    result = subprocess.run([*torchrun, "-m", "ganforge", *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "ddp" / "summary.json").read_text())
    assert summary["backend"] == ("nccl" if ON_GPU else "gloo") and summary["processes"] == 1
    plain = json.loads((runs["wgan-gp"] / "summary.json").read_text())
    assert plain["backend"] is None and plain["processes"] == 1
    a, b = checkpoint_tensors(runs["wgan-gp"], 4), checkpoint_tensors(tmp_path / "ddp", 4)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
