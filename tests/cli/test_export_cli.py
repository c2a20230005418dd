"""``ganforge export RUN OUT``: a folder with the generator's safetensors (EMA weights when the run has them),
config.json and a README.md model card, that ``ganforge sample --run OUT`` and ``ganforge.open_run(OUT)`` load
into samples equal to the original run's (nothing unpickled); a non-empty OUT or a RUN that is no run is one line
and exit status 2."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import ganforge
from ganforge.cli import main as cli_main
from helpers.cli_checks import in_process_one_line_error as one_line_error

TOY = ["train", "--preset", "wgan-gp-ring8", "--set", "model.hidden=8", "--steps", "2"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(run folder, export folder) of a plain and an EMA toy run."""
    root = tmp_path_factory.mktemp("export")
    for name, extra in (("plain", []), ("ema", ["--set", "train.ema=0.5"])):
        assert cli_main([*TOY, *extra, "--out", str(root / name)]) == 0
        assert cli_main(["export", str(root / name), str(root / f"{name}-export")]) == 0
    return root


def _npz(run, path, *extra) -> np.ndarray:
    assert cli_main(["sample", "--run", str(run), "--n", "32", "--seed", "3", "--npz", str(path), *extra]) == 0
    return np.load(path)["samples"]


@pytest.mark.parametrize("name", ["plain", "ema"])
def test_export_samples_equal_the_run(runs, name, monkeypatch):
    ema = ["--ema"] if name == "ema" else []
    original = _npz(runs / name, runs / f"{name}-a.npz", *ema)
    want = ganforge.open_run(runs / name).sample(16, seed=5, ema=bool(ema))

    def no_unpickling(*args, **kwargs):
        raise AssertionError("loading an export unpickled")

    monkeypatch.setattr(torch, "load", no_unpickling)
    monkeypatch.setattr("pickle.loads", no_unpickling)
    monkeypatch.setattr("pickle.load", no_unpickling)
    exported = _npz(runs / f"{name}-export", runs / f"{name}-b.npz")
    assert torch.equal(torch.from_numpy(exported), torch.from_numpy(original))
    assert torch.equal(ganforge.open_run(runs / f"{name}-export").sample(16, seed=5), want)


def test_export_holds_the_generator_config_and_card(runs):
    folder = runs / "ema-export"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "checkpoints", "config.json"]
    (step,) = (folder / "checkpoints").iterdir()
    weights = load_file(str(step / "modules.safetensors"))
    assert weights and all(key.startswith("generator.") for key in weights)
    assert not load_file(str(step / "optimizers.safetensors"))
    ema = load_file(str(runs / "ema" / "checkpoints" / step.name / "modules.safetensors"))
    assert all(torch.equal(value, ema["ema_" + key]) for key, value in weights.items())
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["name"] == "wgan-gp" and config["train"]["ema"] == 0
    card = (folder / "README.md").read_text()
    for needle in ("wgan-gp", "Gulrajani", "ring8", "Generator steps: 2", "Training time:", " s on cpu",
                   "EMA copies of generator", "None were measured", f"ganforge sample --run {folder.name}",
                   f"ganforge.open_run('{folder.name}')"):
        assert needle in card, needle
    assert "no EMA" in (runs / "plain-export" / "README.md").read_text()


def test_card_shows_the_measures_and_baselines(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs / "plain", run)
    metrics = {"generated": {"ddm": 0.5, "modes": 8}, "train": {"ddm": 0.125}, "n": 1000, "real": "ring8:test"}
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert cli_main(["export", str(run), str(tmp_path / "out")]) == 0
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| measure | generated | train |" in card and "| ddm | 0.5 | 0.125 |" in card
    assert "| modes | 8 |  |" in card and "- n: 1000" in card and "- real: ring8:test" in card
    assert "None were measured" not in card


def test_export_refusals(runs, tmp_path, capsys):
    one_line_error(capsys, ["export", str(runs / "plain"), str(runs / "plain-export")], "not empty")
    (tmp_path / "empty").mkdir()
    one_line_error(capsys, ["export", str(tmp_path / "empty"), str(tmp_path / "out")], "no complete checkpoint")
    one_line_error(capsys, ["export", str(tmp_path / "nope"), str(tmp_path / "out")], "not found")
    assert not (tmp_path / "out").exists()
    one_line_error(capsys, ["sample", "--run", str(runs / "ema-export"), "--ema", "--n", "2"], "drop --ema")


def test_export_into_an_empty_folder_and_of_an_export(runs, tmp_path):
    (tmp_path / "out").mkdir()
    assert cli_main(["export", str(runs / "ema-export"), str(tmp_path / "out")]) == 0
    again = ganforge.open_run(tmp_path / "out").sample(8, seed=1)
    assert torch.equal(again, ganforge.open_run(runs / "ema").sample(8, seed=1, ema=True))
