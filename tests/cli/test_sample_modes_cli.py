"""``ganforge sample --mode NAME``: dispatch on the modes a model declares (``VariantSpec.sample_modes``), the
older flags as aliases giving the same files, one line naming the run's modes for an unknown one, and a model
registered here, in this file only, with a sampling mode of its own (nothing in ``src/`` edited)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ganforge.cli import main as cli_main
from ganforge.config import MODEL_CONFIGS
from ganforge.errors import ConfigError
from ganforge.variants import VARIANTS
from ganforge.variants.gan import SPEC as GAN
from ganforge.variants.gan import GANConfig
from ganforge.variants.sample_modes import NOISE, SampleMode
from helpers.cli_checks import in_process_one_line_error as one_line_error

TOY = ["train", "--preset", "wgan-gp-ring8", "--set", "model.hidden=8", "--set", "train.batch_size=16", "--steps", "1"]
TINY_STACKGAN = ["train", "--model", "stackgan", "--dataset", "mnist", "--set", "model.encoder=random", "--set",
                 "model.encoder_width=0.0625", "--set", "model.width=0.0625", "--set", "model.noise_0=4", "--set",
                 "model.noise_1=4", "--set", "train.batch_size=4", "--steps", "1"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample_modes")
    assert cli_main([*TOY, "--out", str(root / "toy")]) == 0
    idx = _idx(root)
    assert cli_main([*TINY_STACKGAN, "--set", f"data.path={idx}", "--out", str(root / "stackgan")]) == 0
    modnet = ["train", "--model", "modnet", "--dataset", "mnist", "--set", f"data.path={idx}", "--set",
              "model.classifier=joint", "--set", "model.width=2", "--set", "model.d_width=2", "--set",
              "train.batch_size=4", "--steps", "1", "--out", str(root / "modnet")]
    assert cli_main(modnet) == 0
    return root


def _idx(root):
    from helpers.data_files import write_idx_mnist

    return write_idx_mnist(root / "idx")


def test_an_unknown_mode_is_one_line_naming_the_runs_modes(runs, capsys):
    one_line_error(capsys, ["sample", "--run", str(runs / "stackgan"), "--mode", "nope"], "unknown sampling mode "
                   "'nope'", "'stackgan' run has the modes noise, class")
    one_line_error(capsys, ["sample", "--run", str(runs / "toy"), "--mode", "levels", "--levels", "x.png"],
                   "--mode levels needs a lapgan run", "its modes: noise")


@pytest.mark.parametrize("model, by_name, alias", [
    ("toy", ["--mode", "noise"], []),
    ("stackgan", ["--mode", "class", "--class", "3"], ["--class", "3"]),
])
def test_a_mode_by_name_writes_what_its_alias_writes(runs, tmp_path, model, by_name, alias):
    common = ["sample", "--run", str(runs / model), "--n", "5", "--seed", "2"]
    assert cli_main([*common, *by_name, "--npz", str(tmp_path / "a.npz")]) == 0
    assert cli_main([*common, *alias, "--npz", str(tmp_path / "b.npz")]) == 0
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)


def test_modnet_modify_mode_writes_every_other_label_of_the_first_test_images(runs, tmp_path):
    from PIL import Image

    from ganforge.train.run import open_run
    from ganforge.variants.modnet_sampling import all_targets, other_labels

    grid, npz = tmp_path / "g.png", tmp_path / "m.npz"
    assert cli_main(["sample", "--run", str(runs / "modnet"), "--mode", "modify", "--n", "3", "--grid", str(grid),
                     "--npz", str(npz)]) == 0
    assert Image.open(grid).size == (10 * 30 + 2, 3 * 30 + 2)  # a test image and its 9 versions, a row each
    got, run = np.load(npz), open_run(runs / "modnet")
    test = run.split("test")
    x_mod, source, target = all_targets(run, test.images[:3], test.labels[:3])
    assert np.array_equal(got["samples"], x_mod.numpy()) and np.array_equal(got["source"], source.numpy())
    assert np.array_equal(got["labels"], other_labels(test.labels[:3], 10).reshape(-1).numpy())


# ---------------------------------------------------------------- a new model with a sampler of its own


@dataclasses.dataclass
class MeanGANConfig(GANConfig):
    name: str = "mean-gan"


def draw_mean(run, args) -> int:
    """The mode of the throwaway model: the mean of --n samples, written as a 1-sample --npz."""
    if args.center_scale <= 0:
        raise ConfigError(f"--center-scale must be positive, got {args.center_scale}")
    samples = run.generate(args.n, ema=args.ema, generator=torch.Generator().manual_seed(args.seed))
    run.write_npz(args.npz, samples=samples.mean(0, keepdim=True) * args.center_scale)
    print(f"mean: {args.npz}")
    return 0


MEAN = SampleMode("mean", "the mean of --n samples (mean-gan)", draw_mean,
                  ((("--center-scale",), {"type": float, "default": 1.0, "help": "mean-gan: scale the mean"}),))


@pytest.fixture
def mean_gan(monkeypatch):
    """``mean-gan``: the GAN recipe under another name with a ``mean`` mode, registered for this test only."""
    spec = dataclasses.replace(GAN, name="mean-gan", config_class=MeanGANConfig, sample_modes=(NOISE, MEAN))
    monkeypatch.setitem(VARIANTS._entries, "mean-gan", spec)
    monkeypatch.setitem(MODEL_CONFIGS._entries, "mean-gan", MeanGANConfig)


def test_a_new_model_with_its_own_sampling_mode_edits_no_file_of_the_package(mean_gan, tmp_path, capsys):
    run = tmp_path / "mean-gan"
    assert cli_main(["train", "--model", "mean-gan", "--dataset", "ring8", "--set", "model.hidden=8", "--set",
                     "train.batch_size=16", "--steps", "1", "--out", str(run)]) == 0
    assert cli_main(["sample", "--run", str(run), "--mode", "mean", "--n", "7", "--center-scale", "2",
                     "--npz", str(tmp_path / "m.npz")]) == 0
    assert cli_main(["sample", "--run", str(run), "--n", "7", "--npz", str(tmp_path / "s.npz")]) == 0
    mean, samples = np.load(tmp_path / "m.npz")["samples"], np.load(tmp_path / "s.npz")["samples"]
    np.testing.assert_allclose(mean, 2 * samples.mean(0, keepdims=True), rtol=1e-6)
    one_line_error(capsys, ["sample", "--run", str(run), "--mode", "mean", "--center-scale", "0",
                            "--npz", str(tmp_path / "x.npz")], "--center-scale must be positive")
    one_line_error(capsys, ["sample", "--run", str(run), "--mode", "mala"], "needs a ppgn run", "noise, mean")
