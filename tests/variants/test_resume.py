"""A resumed run equals an uninterrupted one, bit for bit, for PPGN-h, the Stacked GAN and ModNet: 4 steps
straight equal 2 steps then ``--resume`` to 4 (real MNIST through the real CLI, in this process to save
imports), every checkpoint tensor and log record equal. AEGAN's and LAPGAN's resume tests, parametrized over
their own net families and pyramid levels on a tiny IDX MNIST, stay beside their other tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from ganforge.cli import main as cli_main
from helpers.run_files import checkpoint_tensors, log_without_speed

PPGN = ["--model", "ppgn", "--dataset", "mnist", "--set", "model.encoder=random", "--set", "model.width=0.0625",
        "--set", "model.critics=image,fc1", "--set", "model.adv_weights=1,0.5", "--set", "model.critic_choice=random",
        "--set", "model.warmup=false", "--set", "model.n_critic=2", "--set", "train.batch_size=4",
        "--set", "train.checkpoint_every=2", "--set", "train.sample_grid=4", "--set", "train.log_every=1"]
STACKGAN = ["--model", "stackgan", "--dataset", "mnist", "--set", "model.encoder=random", "--set",
            "model.encoder_width=0.0625", "--set", "model.width=0.0625", "--set", "model.noise_0=4", "--set",
            "model.noise_1=4", "--set", "model.independent_steps=2", "--set", "train.batch_size=4",
            "--set", "train.checkpoint_every=2", "--set", "train.sample_grid=10", "--set", "train.log_every=1"]
MODNET = ["--model", "modnet", "--dataset", "mnist", "--set", "model.width=2", "--set", "model.d_width=2",
          "--set", "model.bank_size=6", "--set", "model.l1_mode=running-mean", "--set", "model.g_steps=2",
          "--set", "train.batch_size=4", "--set", "train.checkpoint_every=2", "--set", "train.sample_grid=4",
          "--set", "train.log_every=1"]


def ppgn_checks(tensors: dict[str, torch.Tensor], log: list[dict]) -> None:
    assert float(tensors["modules:generator.code_count"]) == 4 * 4  # 4 generator steps of 4 codes
    assert all("critic_pick" in record for record in log)


def stackgan_checks(tensors: dict[str, torch.Tensor], log: list[dict]) -> None:
    assert [record["joint"] for record in log] == [0.0, 0.0, 1.0, 1.0]  # 2 independent steps, then joint ones


def modnet_checks(tensors: dict[str, torch.Tensor], log: list[dict]) -> None:
    assert int(tensors["modules:record.seen"]) == 4 * 2 * 4 and int(tensors["modules:record.l1_updates"]) == 8


# model: (its training settings, checkpoint keys that must be there, its own checks of the uninterrupted run)
CASES: dict[str, tuple[list[str], set[str], Callable[[dict, list], None]]] = {
    "ppgn": (PPGN, {"modules:critic_image.conv1.weight", "modules:critic_fc1.conv1.weight",
                    "modules:encoder.fc1.weight", "modules:generator.code_count"}, ppgn_checks),
    "stackgan": (STACKGAN, {"modules:generator_0.bn0.running_mean", "modules:q_1.fc.weight",
                            "modules:encoder.fc1.weight", "modules:critic_0.score.weight"}, stackgan_checks),
    "modnet": (MODNET, {"modules:record.images", "modules:record.l1_mean", "modules:generator.enc1.0.weight",
                        "modules:discriminator.head.weight"}, modnet_checks),
}


@pytest.mark.parametrize("model", list(CASES))
def test_resume_is_bit_for_bit(tmp_path, model):
    settings, expected_keys, model_checks = CASES[model]
    assert cli_main(["train", *settings, "--steps", "4", "--out", str(tmp_path / "a")]) == 0
    assert cli_main(["train", *settings, "--steps", "2", "--out", str(tmp_path / "b")]) == 0
    assert cli_main(["train", "--out", str(tmp_path / "b"), "--resume", "--steps", "4"]) == 0
    tensors = {run: checkpoint_tensors(tmp_path / run, 4) for run in ("a", "b")}
    assert tensors["a"].keys() == tensors["b"].keys()
    assert expected_keys <= tensors["a"].keys()
    for key in tensors["a"]:
        assert torch.equal(tensors["a"][key], tensors["b"][key]), key
    logs = [log_without_speed(tmp_path / run) for run in ("a", "b")]
    assert logs[0] == logs[1] and len(logs[0]) == 4
    model_checks(tensors["a"], logs[0])
