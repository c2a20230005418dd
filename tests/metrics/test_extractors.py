"""``--features``: a user's TorchScript file or ``pkg.module:function`` extractor in place of the classifier.

FID and KID with an extractor equal the metric functions on that extractor's own features (two-sided
tolerances); the real-split cache is keyed by the extractor's hash; bad extractors are one ConfigError line.
A tiny MNIST (random pixels) in a private data cache stands in for the real one: no classifier, no download.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

import ganforge
from ganforge.data.cache import save_npz_atomic
from ganforge.errors import ConfigError
from ganforge.metrics import fid, kid
from ganforge.metrics.eval_request import build_request
from ganforge.metrics.extractors import load_extractor, module_sha256
from ganforge.metrics.features import load_real
from helpers.data_files import random_images
from helpers.eval_fixtures import ONE_THREAD_ENV

N = 30  # samples per set; the extractor's D = 4 < N, as FID needs
pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Tiny(nn.Module):
    """(B, 1, 28, 28) → (B, 4, 1): one conv, global average pool (the trailing dim is flattened away)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 5, stride=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x * 2 - 1)).mean((2, 3)).unsqueeze(-1)


def tiny(seed: int = 0) -> Tiny:
    torch.manual_seed(seed)
    return Tiny()


def save_script(path, seed: int = 0):
    torch.jit.save(torch.jit.script(tiny(seed)), str(path))
    return path


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A data cache with a 40 + 30 image MNIST of random pixels, as $GANFORGE_DATA; yields the cache folder."""
    cache = tmp_path / "cache"
    save_npz_atomic(cache / "mnist" / "mnist.npz", {
        "train_images": random_images(40, 1), "train_labels": np.arange(40, dtype=np.uint8) % 10,
        "test_images": random_images(30, 2), "test_labels": np.arange(30, dtype=np.uint8) % 10})
    monkeypatch.setenv("GANFORGE_DATA", str(cache))
    return cache


@pytest.fixture
def fake():
    return torch.rand(N, 1, 28, 28, generator=torch.Generator().manual_seed(3))  # in [0, 1]


def by_hand(module: nn.Module, fake: torch.Tensor) -> dict:
    """FID and KID from the extractor's features of the same sets, computed outside the suite."""
    test, _, rng, _ = load_real("mnist", "test", N, 0)
    train = load_real("mnist", "train", N + 1000, 0)[0][:N]
    with torch.no_grad():
        phi = {k: module((x - rng[0]) / (rng[1] - rng[0])).reshape(len(x), -1) for k, x in
               (("test", test), ("train", train))} | {"fake": module(fake).reshape(N, -1)}
    out = {}
    for role, which in (("fake", "fake"), ("baseline_train", "train")):
        out[role] = {"fid": fid(phi["test"], phi[which]),
                     "kid": kid(phi["test"], phi[which], subsets=100, subset_size=N // 2, seed=0)[0]}
    return out


def assert_matches(result: dict, expected: dict) -> None:
    for role, values in expected.items():
        for name, value in values.items():
            assert result[role][name] == pytest.approx(value, rel=1e-5, abs=1e-9), (role, name)


def test_torchscript_extractor_gives_the_fid_and_kid_of_its_features(tiny_mnist, fake, tmp_path):
    path = save_script(tmp_path / "phi.pt")
    result = ganforge.evaluate(fake, real="mnist:test", metrics=("fid", "kid"), n=N, pixel_range=(0.0, 1.0),
                               features=path)
    assert_matches(result, by_hand(torch.jit.load(str(path)), fake))
    assert result["fake"]["fid"] > 0 and result["embedding"] == "features" and result["classifier"] is None
    assert result["features"] == {"spec": str(path), "kind": "torchscript",
                                  "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def test_samples_in_another_range_reach_the_extractor_in_0_1(tiny_mnist, fake, tmp_path):
    path = save_script(tmp_path / "phi.pt")
    ours = ganforge.evaluate(fake, real="mnist:test", metrics=("fid",), n=N, pixel_range=(0.0, 1.0), features=path)
    tanh = ganforge.evaluate(fake * 2 - 1, real="mnist:test", metrics=("fid",), n=N, pixel_range=(-1.0, 1.0),
                             features=path)
    assert tanh["fake"]["fid"] == pytest.approx(ours["fake"]["fid"], rel=1e-5)


def test_module_function_extractor_and_an_nn_module_work_alike(tiny_mnist, fake, tmp_path, monkeypatch):
    (tmp_path / "user_phi_mod.py").write_text(textwrap.dedent("""
        import torch
        from torch import nn

        def build():
            torch.manual_seed(0)
            return nn.Sequential(nn.Conv2d(1, 4, 5, stride=3), nn.Tanh(), nn.AdaptiveAvgPool2d(1))  # (B, 4, 1, 1)

        def not_a_module():
            return 3
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    build = importlib.import_module("user_phi_mod").build
    expected = by_hand(build(), fake)
    for spec in ("user_phi_mod:build", build()):
        result = ganforge.evaluate(fake, real="mnist:test", metrics=("fid", "kid"), n=N, pixel_range=(0.0, 1.0),
                                   features=spec)
        assert_matches(result, expected)
        assert result["features"]["kind"] == "module"
    with pytest.raises(ConfigError, match="returned int, not an nn.Module"):
        load_extractor("user_phi_mod:not_a_module")
    with pytest.raises(ConfigError, match="has no nope"):
        load_extractor("user_phi_mod:nope")


def test_the_real_feature_cache_is_keyed_by_the_extractor(tiny_mnist, fake, tmp_path):
    one, other = save_script(tmp_path / "one.pt", 0), save_script(tmp_path / "other.pt", 1)
    folder = tiny_mnist / "features"

    def run(path):
        return ganforge.evaluate(fake, real="mnist:test", metrics=("fid",), n=N, pixel_range=(0.0, 1.0),
                                 features=path)["fake"]["fid"]

    first = run(one)
    files = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}
    sha = hashlib.sha256(one.read_bytes()).hexdigest()[:16]
    assert len(files) == 2 and all(name.endswith(f"_features_{sha}.npz") for name in files)  # test and train
    assert run(one) == first  # a hit: the same files, neither rewritten nor added
    assert {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()} == files
    assert run(other) != first
    assert len(list(folder.iterdir())) == 4  # new weights, new entries beside the old ones


def test_module_hash_follows_weights_and_spec():
    a, b = tiny(0), tiny(0)
    assert module_sha256(a, "m:f") == module_sha256(b, "m:f") != module_sha256(b, "m:g")
    with torch.no_grad():
        b.conv.bias[0] += 1e-3
    assert module_sha256(a, "m:f") != module_sha256(b, "m:f")


class Scalar(nn.Module):
    def forward(self, x):
        return x.mean()


class PerImage(nn.Module):
    def forward(self, x):
        return x.mean((1, 2, 3))


class Broken(nn.Module):
    def forward(self, x):
        return x.reshape(len(x), -1) * float("nan")


@pytest.mark.parametrize("module, needle", [(Scalar(), r"returned shape \(\) for 5 images"),
                                            (PerImage(), r"returned shape \(5,\) for 5 images"),
                                            (Broken(), "NaN or Inf features for image 0")])
def test_bad_outputs_are_one_line(module, needle):
    with pytest.raises(ConfigError, match=needle) as info:
        load_extractor(module).embed(torch.rand(5, 1, 28, 28), pixel_range=(0.0, 1.0))
    assert "\n" not in str(info.value)


def test_bad_specs_are_one_line(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    torch.save({"w": torch.ones(2)}, tmp_path / "state.pt")  # a state dict, not TorchScript
    cases = {str(tmp_path / "missing.pt"): "missing.pt does not exist",
             str(tmp_path / "junk.pt"): "not a TorchScript", str(tmp_path / "state.pt"): "not a TorchScript",
             "no_such_pkg_xyz.mod:build": "cannot import no_such_pkg_xyz", str(tmp_path): "is not a file"}
    for spec, needle in cases.items():
        with pytest.raises(ConfigError, match=needle) as info:
            load_extractor(spec)
        assert "\n" not in str(info.value)


def test_features_conflict_with_embedding_an_unused_classifier_and_toy_points(tiny_mnist, tmp_path):
    path = save_script(tmp_path / "phi.pt")
    with pytest.raises(ConfigError, match="drop --embedding prelogits"):
        build_request("mnist:test", metrics=("fid",), n=N, embedding="prelogits", features=path)
    with pytest.raises(ConfigError, match="serves only is and modes"):
        build_request("mnist:test", metrics=("fid", "kid"), n=N, classifier="somewhere", features=path)
    with pytest.raises(ConfigError, match="2-D points"):
        ganforge.evaluate(torch.rand(20, 2), real="ring8:test", metrics=("fid",), features=path)


def ganforge_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganforge", "evaluate", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **ONE_THREAD_ENV, **env})


def test_cli_features_equal_the_api_self_check_and_a_missing_file_is_one_line(tiny_mnist, fake, tmp_path):
    path, samples = save_script(tmp_path / "phi.pt"), tmp_path / "fake.npy"
    np.save(samples, fake.numpy())
    common = ["--fake", str(samples), "--pixel-range=0,1", "--real", "mnist:test", "--metrics", "fid,kid",
              "--n", str(N)]
    env = {"GANFORGE_DATA": str(tiny_mnist)}
    done = ganforge_cli(*common, "--features", str(path), env=env)
    assert done.returncode == 0, done.stderr
    api = ganforge.evaluate(fake, real="mnist:test", metrics=("fid", "kid"), n=N, pixel_range=(0.0, 1.0),
                            features=path)
    assert json.loads(done.stdout) == json.loads(json.dumps(api))
    check = ganforge_cli("--self-check", "--real", "mnist:test", "--n", str(N), "--features", str(path), env=env)
    assert check.returncode == 0 and json.loads(check.stdout)["embedding"] == "features", check.stderr
    assert json.loads(check.stdout)["feature_dim"] == 4
    missing = ganforge_cli(*common, "--features", str(tmp_path / "nope.pt"), env=env)
    lines = missing.stderr.strip().splitlines()
    assert missing.returncode == 2 and len(lines) == 1 and "Traceback" not in missing.stderr, missing.stderr
    assert "nope.pt does not exist" in lines[0] and "--features" in lines[0]
