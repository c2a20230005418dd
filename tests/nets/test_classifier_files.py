"""The one loader of frozen classifiers: a model's ClassifierExpectation against a classifier folder."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.nets import MNISTClassifier
from ganforge.nets.classifier_files import ClassifierExpectation, load_frozen_classifier
from ganforge.nets.layers import InputRange
from ganforge.train.classifier import save_classifier

EXPECT = ClassifierExpectation(what="test encoder", dataset="mnist", input_shape=(1, 28, 28), num_classes=10,
                               pixel_range=(-1.0, 1.0), architectures=("mnist-classifier",), width=0.0625)


def saved(folder, *, in_channels: int = 1, **meta_changes) -> MNISTClassifier:
    torch.manual_seed(0)
    net = MNISTClassifier(width=0.0625, in_channels=in_channels)
    meta = {"architecture": "mnist-classifier", "dataset": "mnist", "pixel_range": [-1.0, 1.0],
            "build": {"width": 0.0625, "num_classes": 10, "in_channels": in_channels}, **meta_changes}
    save_classifier(net, meta, folder)
    return net


def test_a_fitting_classifier_is_loaded_frozen_and_random_is_an_untrained_frozen_net(tmp_path):
    net = saved(tmp_path / "clf")
    loaded = load_frozen_classifier(str(tmp_path / "clf"), EXPECT)
    assert isinstance(loaded, MNISTClassifier) and not loaded.training
    assert not any(p.requires_grad for p in loaded.parameters())
    assert all(torch.equal(a, b) for a, b in zip(loaded.parameters(), net.parameters(), strict=True))
    fresh = load_frozen_classifier("random", EXPECT)
    assert isinstance(fresh, MNISTClassifier) and fresh.width == 0.0625 and not fresh.training
    assert not any(p.requires_grad for p in fresh.parameters())


def test_another_pixel_range_is_refused_or_adapted_as_the_model_states(tmp_path):
    saved(tmp_path / "clf")
    with pytest.raises(ConfigError, match=r"trained on pixels in \[-1, 1\] .* set data.pixel_range=-1,1$"):
        load_frozen_classifier(str(tmp_path / "clf"), dataclasses.replace(EXPECT, pixel_range=(0.0, 1.0)))
    adapted = load_frozen_classifier(str(tmp_path / "clf"), dataclasses.replace(EXPECT, pixel_range=(0.0, 1.0),
                                                                                 adapt_range=True))
    assert isinstance(adapted, InputRange) and adapted.trained_range == (-1.0, 1.0) and not adapted.training


@pytest.mark.parametrize("change,meta,match", [
    ({}, {"architecture": "resnet-classifier"}, "has architecture 'resnet-classifier', not 'mnist-classifier'"),
    ({"architectures": ()}, {"architecture": "conv9"}, "has architecture 'conv9', not a registered net"),
    ({"input_shape": (3, 28, 28)}, {}, r"takes inputs of shape \[1, 28, 28\], the data are \[3, 28, 28\]"),
    ({"num_classes": 5}, {}, "trained on 'mnist' with 10 classes, not 'mnist' with 5"),
    ({"dataset": "fashion-mnist"}, {}, "trained on 'mnist' with 10 classes, not 'fashion-mnist'"),
    ({"width": 0.125, "width_setting": "model.encoder_width"}, {},
     "has width 0.0625 but model.encoder_width is 0.125; .* or set model.encoder_width=0.0625$"),
    ({}, {"pixel_range": [1.0, -1.0]}, "no valid pixel_range in its classifier.json"),
])
def test_each_mismatch_is_one_line_naming_the_fix(tmp_path, change, meta, match):
    saved(tmp_path / "clf", **meta)
    with pytest.raises(ConfigError, match=match) as info:
        load_frozen_classifier(str(tmp_path / "clf"), dataclasses.replace(EXPECT, **change))
    message = str(info.value)
    assert "\n" not in message and "`ganforge classifier train --dataset" in message
    assert message.startswith(f"{EXPECT.what} in {tmp_path / 'clf'}")


def test_missing_classifier_names_the_command_and_the_alternative(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "cache"))
    expect = dataclasses.replace(EXPECT, alternative=" or set model.classifier=joint")
    with pytest.raises(ConfigError, match=r"^no test encoder in .*; train one with `ganforge classifier train "
                                          r"--dataset mnist --width 0.0625` or set model.classifier=joint$"):
        load_frozen_classifier("default", expect)
    with pytest.raises(ConfigError, match=f"--width 0.0625 --out {tmp_path / 'nowhere'}`"):
        load_frozen_classifier(str(tmp_path / "nowhere"), EXPECT)
