"""Samples → features: embeddings, batch-size independence, pixel-range conversion, sample files, the cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.errors import ConfigError
from ganforge.metrics.features import embed, feature_cache_path, load_samples, real_features
from ganforge.nets import MNISTClassifier, ResNetClassifier

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # torch on one thread for the whole module


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return MNISTClassifier(width=0.25).eval()


@pytest.fixture(scope="module")
def images():
    return torch.rand(37, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1


@pytest.mark.parametrize("embedding,dim", [("logits", 10), ("prelogits", 64), ("hypercolumns", 16 + 32 + 64 + 64)])
def test_embedding_dims_and_batch_size_independence(net, images, embedding, dim):
    whole = embed(net, images, embedding=embedding, batch_size=500)
    assert whole.shape == (37, dim) and whole.dtype == torch.float32
    for batch in (1, 5, 36):
        torch.testing.assert_close(embed(net, images, embedding=embedding, batch_size=batch), whole,
                                   rtol=1e-5, atol=1e-5)


def test_embeddings_read_the_documented_layers(net, images):
    acts = net.activations(images, ["conv1", "conv2", "conv3", "fc1", "fc2"])
    torch.testing.assert_close(embed(net, images), acts["fc2"])
    torch.testing.assert_close(embed(net, images, embedding="prelogits"), acts["fc1"])
    expected = torch.cat([acts["conv1"].mean((2, 3)), acts["conv2"].mean((2, 3)), acts["conv3"].mean((2, 3)),
                          acts["fc1"]], 1)
    torch.testing.assert_close(embed(net, images, embedding="hypercolumns"), expected)
    resnet = ResNetClassifier(blocks=1).eval()
    assert embed(resnet, torch.zeros(2, 3, 32, 32), embedding="hypercolumns").shape == (2, 16 + 16 + 32 + 64)


def test_images_are_converted_to_the_classifier_pixel_range(net, images):
    zero_one = (images + 1) / 2
    torch.testing.assert_close(embed(net, zero_one, pixel_range=(0.0, 1.0)), embed(net, images), rtol=1e-5,
                               atol=1e-5)
    wrong = embed(net, zero_one)  # read as [-1, 1]: a different image
    assert (wrong - embed(net, images)).abs().max() > 1e-3
    identity = embed(None, images, embedding="identity", pixel_range=(-1.0, 1.0))
    torch.testing.assert_close(identity, zero_one.reshape(37, -1))
    with pytest.raises(ConfigError, match="input"):
        embed(net, torch.zeros(2, 3, 32, 32))
    with pytest.raises(ConfigError, match="embedding"):
        embed(net, images, embedding="pixels")


def test_load_samples_from_npz_npy_and_folders(tmp_path):
    x = np.random.default_rng(0).random((6, 1, 28, 28)).astype(np.float32)
    np.savez(tmp_path / "s.npz", samples=x, pixel_range=np.array([0.0, 1.0]))
    got, rng = load_samples(tmp_path / "s.npz")
    assert rng == (0.0, 1.0) and torch.equal(got, torch.from_numpy(x))
    np.savez(tmp_path / "i.npz", images=x[:, 0] * 2 - 1)
    got, rng = load_samples(tmp_path / "i.npz", pixel_range=(-1.0, 1.0))
    assert got.shape == (6, 1, 28, 28) and rng == (-1.0, 1.0)
    with pytest.raises(ConfigError, match="--pixel-range"):
        load_samples(tmp_path / "i.npz")
    np.save(tmp_path / "u.npy", np.full((2, 3, 8, 8), 255, dtype=np.uint8))
    got, rng = load_samples(tmp_path / "u.npy")
    assert rng == (0.0, 1.0) and float(got.min()) == 1.0 and got.shape == (2, 3, 8, 8)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((28, 28), 51 * i, dtype=np.uint8)).save(folder / f"{i}.png")
    got, rng = load_samples(folder)
    assert got.shape == (3, 1, 28, 28) and rng == (0.0, 1.0)
    np.testing.assert_allclose(got[:, 0, 0, 0].numpy(), [0.0, 0.2, 0.4], atol=1e-6)
    np.savez(tmp_path / "bad.npz", other=x)
    with pytest.raises(ConfigError, match="'samples'"):
        load_samples(tmp_path / "bad.npz")


def test_real_features_are_cached_under_their_key(net, images, tmp_path):
    path = feature_cache_path(tmp_path, dataset="mnist", split="test", n=37, seed=0, embedding="logits",
                              classifier_sha="ab" * 32)
    assert path.name == "mnist_test_n37_seed0_logits_abababababababab.npz"
    first = real_features(net, images, (-1.0, 1.0), cache_file=path, embedding="logits")
    assert path.is_file()
    other = MNISTClassifier(width=0.25).eval()  # different weights: a cache hit must not recompute
    torch.testing.assert_close(real_features(other, images, (-1.0, 1.0), cache_file=path, embedding="logits"), first)
    path.write_bytes(b"damaged")
    recomputed = real_features(other, images, (-1.0, 1.0), cache_file=path, embedding="logits")
    assert (recomputed - first).abs().max() > 1e-4
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["features"], recomputed.numpy())
