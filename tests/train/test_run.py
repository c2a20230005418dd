"""``Run``: a trained run opened once for sampling. Its samples equal, bit for bit, those of the nets a training
session restores from the same checkpoint; the EMA rule; its data split; and a run folder is self-contained: a
PPGN-h, Stacked GAN or ModNet run samples after its frozen classifier's folder is gone (the weights are in the
checkpoint, the architecture in its record)."""

from __future__ import annotations

import shutil
from contextlib import contextmanager

import numpy as np
import pytest
import torch

from ganforge.cli import main as cli_main
from ganforge.data import load_dataset
from ganforge.errors import ConfigError
from ganforge.metrics.features import load_samples
from ganforge.nets import MNISTClassifier
from ganforge.train import checkpoint as ckpt
from ganforge.train.classifier import save_classifier
from ganforge.train.run import NO_EMA, open_run
from ganforge.train.session import build_session, read_config, restore
from helpers.data_files import write_idx_mnist

META = {"architecture": "mnist-classifier", "build": {"width": 0.0625, "num_classes": 10, "in_channels": 1},
        "dataset": "mnist", "pixel_range": [-1.0, 1.0], "input_shape": [1, 28, 28]}
FROZEN = {  # models that build on a frozen classifier: their tiny settings, the classifier named by {clf}
    "ppgn": ["model.encoder={clf}", "model.width=0.0625", "model.warmup=false", "model.n_critic=1"],
    "stackgan": ["model.encoder={clf}", "model.encoder_width=0.0625", "model.width=0.0625", "model.noise_0=4",
                 "model.noise_1=4"],
    "modnet": ["model.classifier={clf}", "model.width=2", "model.d_width=2"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """2-step ppgn, stackgan and modnet runs on a tiny IDX MNIST with a classifier folder, and a ring8 WGAN-GP
    run with EMA, in root/<name>."""
    root = tmp_path_factory.mktemp("run")
    data = write_idx_mnist(root / "idx")
    torch.manual_seed(0)
    save_classifier(MNISTClassifier(width=0.0625), META, root / "clf")
    for model, sets in FROZEN.items():
        argv = ["train", "--model", model, "--dataset", "mnist", "--set", f"data.path={data}", "--set",
                "train.batch_size=4", "--set", "train.sample_grid=4", "--steps", "2", "--out", str(root / model)]
        assert cli_main([*argv, *(a for s in sets for a in ("--set", s.format(clf=root / "clf")))]) == 0
    toy = ["train", "--preset", "wgan-gp-ring8", "--set", "model.hidden=8", "--set", "train.batch_size=16",
           "--set", "train.ema=0.9", "--steps", "2", "--out", str(root / "toy")]
    assert cli_main(toy) == 0
    return root


def session_samples(run_dir, n: int, seed: int, ema: bool) -> torch.Tensor:
    """Samples of the nets of the training session that resumes the run from its latest checkpoint (the whole
    checkpoint restored: nets, EMA copies, optimizers, RNG states)."""
    path = ckpt.latest_checkpoint(run_dir)
    session = build_session(read_config(path), checkpoint=path)
    restore(session, path)
    for net in session.modules().values():
        net.eval()
    nets = {**session.nets, **(session.ema if ema else {})}
    with torch.no_grad():
        return session.spec.generate(nets, session.cfg, n, generator=torch.Generator().manual_seed(seed)).cpu()


@contextmanager
def classifier_folder_moved(root):
    """The classifier folder out of reach (renamed) for the duration."""
    shutil.move(root / "clf", root / "clf-away")
    try:
        yield
    finally:
        shutil.move(root / "clf-away", root / "clf")


@pytest.mark.parametrize("model, ema", [("toy", False), ("toy", True), ("ppgn", False), ("stackgan", False),
                                        ("modnet", False)])
def test_run_samples_equal_the_training_sessions_bit_for_bit(runs, model, ema):
    expected = session_samples(runs / model, 6, 3, ema)
    run = open_run(runs / model)
    assert not hasattr(run, "optimizers") and run.step == 2
    assert torch.equal(run.generate(6, ema=ema, generator=torch.Generator().manual_seed(3)), expected)


@pytest.mark.parametrize("model", sorted(FROZEN))
def test_a_run_folder_samples_without_the_classifier_folder(runs, model, tmp_path):
    expected = session_samples(runs / model, 5, 1, False)
    with classifier_folder_moved(runs):
        run = open_run(runs / model)
        assert torch.equal(run.generate(5, generator=torch.Generator().manual_seed(1)), expected)
        out = tmp_path / "s.npz"
        assert cli_main(["sample", "--run", str(runs / model), "--n", "5", "--seed", "1", "--npz", str(out)]) == 0
        np.testing.assert_array_equal(np.load(out)["samples"], expected.numpy())
        with pytest.raises(ConfigError, match="no "):  # a training session still needs the folder
            session_samples(runs / model, 5, 1, False)


def test_samples_beyond_the_pixel_range_are_clamped_into_it(runs, tmp_path):
    """PPGN-h's G has no output activation: pushed outside [-1, 1], ``generate`` and ``.npz`` files still hold
    images in the run's range, the ones the PNG shows and ``ganforge evaluate --fake`` accepts."""
    run = open_run(runs / "ppgn")
    last = [m for m in run.nets["generator"].modules() if getattr(m, "bias", None) is not None][-1]
    with torch.no_grad():
        last.bias += 3.0
        raw = run.spec.generate(run.nets, run.cfg, 6, generator=torch.Generator().manual_seed(3)).cpu()
    assert raw.max() > 1.0  # the test's premise: G draws pixels outside the range
    samples = run.generate(6, generator=torch.Generator().manual_seed(3))
    assert torch.equal(samples, raw.clamp(-1.0, 1.0))
    run.write_npz(tmp_path / "s.npz", samples=raw, labels=torch.arange(6))
    stored, stored_range = load_samples(tmp_path / "s.npz")  # refused outside the stored range
    assert torch.equal(stored, raw.clamp(-1.0, 1.0)) and stored_range == (-1.0, 1.0)
    np.testing.assert_array_equal(np.load(tmp_path / "s.npz")["labels"], np.arange(6))  # other arrays as given


def test_a_checkpoint_without_the_record_reads_the_classifier_folder(runs, tmp_path):
    """Checkpoints written before the record (no ``frozen_classifiers`` in their meta) still open."""
    import json

    old = tmp_path / "ppgn"
    shutil.copytree(runs / "ppgn", old)
    (state_file,) = old.glob("checkpoints/*/state.json")
    state = json.loads(state_file.read_text())
    assert state["meta"].pop("frozen_classifiers")["PPGN encoder"]["architecture"] == "mnist-classifier"
    state_file.write_text(json.dumps(state))
    expected = session_samples(runs / "ppgn", 4, 0, False)
    assert torch.equal(open_run(old).generate(4, generator=torch.Generator().manual_seed(0)), expected)
    with classifier_folder_moved(runs), pytest.raises(ConfigError, match="no PPGN encoder"):
        open_run(old)


def test_one_ema_rule(runs):
    run = open_run(runs / "ppgn")
    with pytest.raises(ConfigError) as excinfo:
        run.nets_for_sampling(True)
    assert str(excinfo.value) == NO_EMA
    toy = open_run(runs / "toy")
    assert toy.nets_for_sampling(True)["generator"] is toy.ema["generator"]
    assert toy.nets_for_sampling(False)["generator"] is toy.nets["generator"]


def test_the_split_is_the_runs_dataset_in_its_pixel_range(runs):
    run = open_run(runs / "modnet")
    want = load_dataset("mnist", "test", path=str(runs / "idx"), pixel_range=(-1.0, 1.0))
    assert torch.equal(run.split("test").images, want.images) and run.pixel_range == (-1.0, 1.0)


@pytest.mark.parametrize("model", sorted(FROZEN))
def test_an_export_samples_without_the_classifier_folder(runs, model, tmp_path):
    """``ganforge export`` carries the frozen classifiers' records and weights: the export needs no folder."""
    expected = session_samples(runs / model, 5, 1, False)
    assert cli_main(["export", str(runs / model), str(tmp_path / "out")]) == 0
    with classifier_folder_moved(runs):
        run = open_run(tmp_path / "out")
        assert torch.equal(run.generate(5, generator=torch.Generator().manual_seed(1)), expected)


@pytest.mark.parametrize("device", ["cuda", "cuda:7"])
def test_a_run_trained_on_a_gpu_opens_on_a_machine_without_it(runs, tmp_path, device):
    """The saved train.device names a GPU this machine lacks: the run samples on the CPU, the same numbers;
    a training session (resume) still refuses it in one line."""
    import json

    if torch.cuda.device_count() > (7 if device == "cuda:7" else 0):
        pytest.skip(f"this machine has {device}")
    moved = tmp_path / "toy"
    shutil.copytree(runs / "toy", moved)
    (state_file,) = moved.glob("checkpoints/*/state.json")
    state = json.loads(state_file.read_text())
    state["meta"]["config"]["train"]["device"] = device
    state_file.write_text(json.dumps(state))
    expected = open_run(runs / "toy").generate(5, generator=torch.Generator().manual_seed(2))
    run = open_run(moved)
    assert all(p.device.type == "cpu" for net in run.nets.values() for p in net.parameters())
    assert torch.equal(run.generate(5, generator=torch.Generator().manual_seed(2)), expected)
    with pytest.raises(ConfigError, match=r"train.device .* (asked for CUDA|names GPU)"):
        build_session(read_config(state_file.parent))
