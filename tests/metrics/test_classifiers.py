"""Domain classifiers: the PPGN encoder's exact shapes, named activations, training on real MNIST, save/load."""

from __future__ import annotations

import json
import math

import pytest
import safetensors.torch
import torch

from ganforge.errors import CheckpointError, ConfigError
from ganforge.nets import NETS, MNISTClassifier, ResNetClassifier
from ganforge.train.classifier import build_classifier, load_classifier, save_classifier, train_classifier
from helpers.eval_fixtures import require_mnist, tiny_classifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # torch on one thread for the whole module


def test_mnist_classifier_is_the_spec_encoder_at_width_1():
    net = MNISTClassifier()
    shapes = {name: tuple(p.shape) for name, p in net.named_parameters()}
    assert shapes == {
        "conv1.weight": (64, 1, 7, 7), "conv1.bias": (64,),
        "conv2.weight": (128, 64, 7, 7), "conv2.bias": (128,),
        "conv3.weight": (256, 128, 7, 7), "conv3.bias": (256,),
        "fc1.weight": (64, 256), "fc1.bias": (64,),
        "fc2.weight": (10, 64), "fc2.bias": (10,),
    }
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    acts = net.activations(x, net.layer_names)
    assert {k: tuple(v.shape) for k, v in acts.items()} == {
        "conv1": (2, 64, 22, 22), "conv2": (2, 128, 16, 16), "pool2": (2, 128, 8, 8), "conv3": (2, 256, 2, 2),
        "pool3": (2, 256), "fc1": (2, 64), "fc2": (2, 10),
    }
    torch.testing.assert_close(acts["fc2"], net(x), rtol=0, atol=0)
    pooled = torch.max_pool2d(torch.relu(net.conv3(torch.max_pool2d(acts["conv2"], 2))), 2).flatten(1)
    torch.testing.assert_close(acts["fc1"], torch.relu(net.fc1(pooled)))  # h = ReLU(fc1(...)), the PPGN code
    assert (acts["conv1"] >= 0).all() and (acts["fc1"] >= 0).all()  # post-ReLU
    assert (acts["fc2"] < 0).any()  # logits are not rectified


def test_width_scales_the_convs_but_keeps_h_64d_and_activations_stop_early():
    net = MNISTClassifier(width=0.5)
    assert net.conv1.out_channels == 32 and net.conv2.out_channels == 64 and net.conv3.out_channels == 128
    acts = net.activations(torch.zeros(3, 1, 28, 28), ["fc1", "conv1"])
    assert set(acts) == {"fc1", "conv1"} and acts["fc1"].shape == (3, 64)
    with pytest.raises(ConfigError, match="conv9"):
        net.activations(torch.zeros(1, 1, 28, 28), ["conv9"])
    with pytest.raises(ConfigError, match="width"):
        MNISTClassifier(width=0)


def test_resnet_classifier_shapes_and_registry():
    net = ResNetClassifier(blocks=1)
    acts = net.activations(torch.zeros(2, 3, 32, 32), net.layer_names)
    assert {k: tuple(v.shape) for k, v in acts.items()} == {
        "stem": (2, 16, 32, 32), "stage1": (2, 16, 32, 32), "stage2": (2, 32, 16, 16), "stage3": (2, 64, 8, 8),
        "pool": (2, 64), "fc": (2, 10),
    }
    deeper = sum(p.numel() for p in ResNetClassifier(blocks=2).parameters())
    assert deeper > sum(p.numel() for p in net.parameters())
    assert {"mnist-classifier", "resnet-classifier"} <= set(NETS.names())
    assert build_classifier((3, 32, 32), 10, 1.0)[0] == "resnet-classifier"
    assert build_classifier((1, 28, 28), 10, 1.0)[0] == "mnist-classifier"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("classifier")
    return folder, tiny_classifier(folder, steps=300)


def test_tiny_classifier_learns_real_mnist(trained):
    folder, meta = trained
    assert 0.80 < meta["test_accuracy"] <= 1.0, meta["test_accuracy"]  # chance is 0.1
    assert meta["test_size"] == 1000 and meta["train_size"] == 2000 and meta["steps"] == 300
    assert math.isclose(meta["epochs"], 300 / (2000 // 64))
    saved = json.loads((folder / "classifier.json").read_text())
    assert saved["architecture"] == "mnist-classifier" and saved["pixel_range"] == [-1.0, 1.0]
    assert saved["dataset"] == "mnist" and saved["build"]["width"] == 0.125 and len(saved["sha256"]) == 64


def test_max_minutes_stops_early_and_still_saves(tmp_path):
    require_mnist()
    meta = train_classifier("mnist", out_dir=tmp_path, width=0.125, epochs=100, train_size=640, test_size=100,
                            max_minutes=0.002)  # 0.12 s
    assert meta["planned_steps"] == 1000 and 1 <= meta["steps"] < 1000
    assert (tmp_path / "classifier.json").is_file() and 0.0 <= meta["test_accuracy"] <= 1.0


def test_save_load_round_trip_and_tamper_refused(trained, tmp_path):
    folder, meta = trained
    net, loaded_meta = load_classifier(folder)
    assert loaded_meta["sha256"] == meta["sha256"] and not net.training
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    copy = tmp_path / "copy"
    save_classifier(net, {k: loaded_meta[k] for k in ("architecture", "build", "dataset", "pixel_range")}, copy)
    again, _ = load_classifier(copy)
    torch.testing.assert_close(again(x), net(x), rtol=0, atol=0)
    weights = copy / "classifier.safetensors"
    state = safetensors.torch.load(weights.read_bytes())
    state["fc2.bias"] = state["fc2.bias"] + 1.0
    weights.write_bytes(safetensors.torch.save(state))
    with pytest.raises(CheckpointError, match="sha256") as info:
        load_classifier(copy)
    assert "\n" not in str(info.value) and f"ganforge classifier train --dataset mnist --out {copy}" in str(info.value)


def test_missing_classifier_names_the_train_command(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "cache"))
    with pytest.raises(CheckpointError) as info:
        load_classifier("mnist")
    message = str(info.value)
    assert "\n" not in message and message.endswith("`ganforge classifier train --dataset mnist`")
    with pytest.raises(CheckpointError, match="--out"):
        load_classifier(tmp_path / "nowhere")
