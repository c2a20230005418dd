"""Fashion-MNIST: fetch from a (fixture) Debian package, the installed-package route, real data."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.data import dataset_info, load_dataset
from ganforge.data.fashion_mnist import FASHION_DEB, FASHION_MNIST, IDX_FILES, FashionMnistSpec
from ganforge.errors import DataError
from helpers.data_checks import raises_one_line, require_real
from helpers.data_files import write_fashion_deb, write_idx_dir


def _spec(tmp_path: Path) -> tuple[FashionMnistSpec, Path, dict]:
    written = write_idx_dir(tmp_path / "idx")
    deb = tmp_path / "dataset-fashion-mnist_1_all.deb"
    source = dataclasses.replace(FASHION_DEB, sha256=write_fashion_deb(deb, tmp_path / "idx"))
    return dataclasses.replace(FASHION_MNIST, deb_source=source, system_dir=tmp_path / "absent"), deb, written


def test_fetch_from_deb_extracts_idx_and_converts(tmp_path: Path, isolated_cache: Path) -> None:
    spec, deb, written = _spec(tmp_path)
    assert spec.fetch_from_deb(deb) == isolated_cache / "fashion-mnist"
    for name in IDX_FILES:
        assert (isolated_cache / "fashion-mnist" / name).read_bytes() == (tmp_path / "idx" / name).read_bytes()
    test = load_dataset("fashion-mnist", "test", pixel_range=(0, 1))
    np.testing.assert_array_equal(torch.round(test.images[:, 0] * 255).to(torch.uint8).numpy(), written["test_images"])
    assert test.classes[0] == "T-shirt/top" and test.classes[9] == "Ankle boot"


def test_tampered_deb_fails_sha256(tmp_path: Path, isolated_cache: Path) -> None:
    spec, deb, _ = _spec(tmp_path)
    deb.write_bytes(deb.read_bytes()[:-1] + b"X")
    with pytest.raises(DataError) as excinfo:
        spec.fetch_from_deb(deb)
    raises_one_line(excinfo, "sha256 mismatch", spec.deb_source.sha256)
    assert not (isolated_cache / "fashion-mnist").exists()


def test_pinned_deb_sha256() -> None:
    assert FASHION_DEB.sha256 == "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0"


def test_installed_package_dir_is_used_without_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, _, written = _spec(tmp_path)
    spec = dataclasses.replace(spec, system_dir=tmp_path / "idx")
    monkeypatch.setattr("ganforge.data.fashion_mnist.apt_download", lambda *a: pytest.fail("downloaded"))
    spec.fetch(None)
    np.testing.assert_array_equal(load_dataset("fashion-mnist").labels.numpy(), written["train_labels"])


def _fake_apt_get(folder: Path, deb: Path, fail_first_download: bool) -> Path:
    """An `apt-get` stand-in on PATH that logs its calls and copies ``deb`` into the working dir."""
    log = folder / "calls.log"
    script = folder / "apt-get"
    first = f'[ -e "{folder}/updated" ] || exit 100' if fail_first_download else ""
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        f'if [ "$1" = update ]; then touch "{folder}/updated"; exit 0; fi\n'
        f"{first}\n"
        f'cp "{deb}" .\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


@pytest.mark.parametrize("fail_first, expected", [
    (False, ["download dataset-fashion-mnist"]),
    (True, ["download dataset-fashion-mnist", "update", "download dataset-fashion-mnist"]),
])
def test_apt_download_route_updates_only_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_first: bool, expected: list[str]
) -> None:
    spec, deb, written = _spec(tmp_path)
    (tmp_path / "bin").mkdir()
    log = _fake_apt_get(tmp_path / "bin", deb, fail_first)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    spec.fetch(None)
    assert log.read_text().splitlines() == expected
    np.testing.assert_array_equal(load_dataset("fashion-mnist", "test").labels.numpy(), written["test_labels"])


def test_not_present_names_the_command() -> None:
    with pytest.raises(DataError) as excinfo:
        load_dataset("fashion-mnist", "test")
    raises_one_line(excinfo, "run `ganforge data fetch fashion-mnist`")


# ---- real data: the Debian package's Fashion-MNIST in the default cache ----

@pytest.mark.real_data
def test_real_fashion_mnist() -> None:
    require_real("fashion-mnist")
    train, test = load_dataset("fashion-mnist", "train"), load_dataset("fashion-mnist", "test")
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert len(train.classes) == 10 and dataset_info("fashion-mnist")["classes"] == train.classes
    assert torch.bincount(train.labels, minlength=10).tolist() == [6000] * 10
    assert torch.bincount(test.labels, minlength=10).tolist() == [1000] * 10
    assert train.images.min().item() == -1.0 and train.images.max().item() == 1.0
    mean01 = (train.images.double().mean().item() + 1) / 2  # the well-known 0.2860
    assert 0.2859 < mean01 < 0.2861
