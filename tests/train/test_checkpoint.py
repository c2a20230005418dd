"""Tests for ganforge.train.checkpoint: round trips, exact resume, atomicity, pruning, errors, no pickle."""

from __future__ import annotations

import json
import os
import pickle
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ganforge.errors import CheckpointError
from ganforge.train.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from ganforge.train.rng import generator_state, restore_rng_state, set_generator_state
from helpers.checkpoint_nets import OPTIMIZERS, make_nets, make_optimizers

TESTS = Path(__file__).parents[1]  # on the writer subprocess's PYTHONPATH, for `helpers`


def train(nets: dict, optimizers: dict, steps: int) -> None:
    """A few steps that draw from torch, numpy and python RNGs, so a resume must restore all three."""
    for _ in range(steps):
        z = torch.randn(16, 4) * (1.0 + random.random())
        x = nets["generator"](z) + torch.from_numpy(np.random.standard_normal((16, 3)).astype(np.float32))
        loss = nets["critic"](x).mean() + x.pow(2).mean()
        for optimizer in optimizers.values():
            optimizer.zero_grad()
        loss.backward()
        for optimizer in optimizers.values():
            optimizer.step()


def assert_same_state(a: object, b: object) -> None:
    """Recursive exact equality of state dicts: tensors bit-equal with the same dtype, tuples stay tuples."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same_state(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same_state(x, y)
    else:
        assert a == b


def save(run: Path, step: int, nets: dict, optimizers: dict, **kwargs) -> Path:
    kwargs.setdefault("meta", {"model": "gan", "step": step})
    return save_checkpoint(run, step, modules=nets, optimizers=optimizers, **kwargs)


# ---------------------------------------------------------------- round trips


def test_round_trip_modules_optimizers_rng_extra(tmp_path: Path) -> None:
    nets = make_nets()
    optimizers = make_optimizers(nets)
    train(nets, optimizers, 3)
    data_gen = torch.Generator().manual_seed(5)
    path = save(tmp_path, 3, nets, optimizers, extra_tensors={"data_order": generator_state(data_gen)},
                meta={"model": "gan", "config": {"lr": 0.01, "betas": [0.5, 0.9]}, "data": {"epoch": 1}})
    after_save = (torch.rand(4), np.random.rand(3), random.random(), torch.randperm(9, generator=data_gen))

    fresh = make_nets(seed=1)
    fresh_optimizers = make_optimizers(fresh)
    loaded = load_checkpoint(path, modules=fresh, optimizers=fresh_optimizers)
    for name in nets:
        assert_same_state(fresh[name].state_dict(), nets[name].state_dict())
        assert_same_state(fresh_optimizers[name].state_dict(), optimizers[name].state_dict())
    assert loaded.step == 3 and loaded.path == path
    assert loaded.meta == {"model": "gan", "config": {"lr": 0.01, "betas": [0.5, 0.9]}, "data": {"epoch": 1},
                           "step": 3}
    assert read_checkpoint_meta(path) == loaded.meta

    restore_rng_state(loaded.rng_tensors, loaded.rng_json)
    set_generator_state(data_gen, loaded.extra_tensors["data_order"])
    again = (torch.rand(4), np.random.rand(3), random.random(), torch.randperm(9, generator=data_gen))
    assert torch.equal(again[0], after_save[0]) and torch.equal(again[3], after_save[3])
    np.testing.assert_array_equal(again[1], after_save[1])
    assert again[2] == after_save[2]


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_resumed_training_is_bit_identical(tmp_path: Path, kind: str) -> None:
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    nets = make_nets()
    optimizers = make_optimizers(nets, kind)
    train(nets, optimizers, 3)
    path = save(tmp_path, 3, nets, optimizers)
    train(nets, optimizers, 4)  # the uninterrupted run

    resumed = make_nets(seed=1)
    resumed_optimizers = make_optimizers(resumed, kind)
    loaded = load_checkpoint(path, modules=resumed, optimizers=resumed_optimizers)
    restore_rng_state(loaded.rng_tensors, loaded.rng_json)
    train(resumed, resumed_optimizers, 4)
    for name in nets:
        assert_same_state(resumed[name].state_dict(), nets[name].state_dict())
        assert_same_state(resumed_optimizers[name].state_dict(), optimizers[name].state_dict())


def test_tied_weights_and_views_are_saved(tmp_path: Path) -> None:
    net = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    net[1].weight = net[0].weight
    path = save_checkpoint(tmp_path, 0, modules={"tied": net}, optimizers={}, meta={})
    other = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    load_checkpoint(path, modules={"tied": other}, optimizers={})
    assert torch.equal(other[0].weight, net[0].weight) and torch.equal(other[1].weight, net[0].weight)


# ---------------------------------------------------------------- atomicity and pruning

_KILLED_WRITER = """
import sys, time
from ganforge.train import checkpoint as ck
from helpers.checkpoint_nets import make_nets, make_optimizers

real_write = ck.write_durable

def write_then_hang(path, data):
    record = real_write(path, data)
    if path.name == sys.argv[2]:
        print("PAUSED", flush=True)
        time.sleep(120)
    return record

ck.write_durable = write_then_hang
nets = make_nets()
ck.save_checkpoint(sys.argv[1], 2, modules=nets, optimizers=make_optimizers(nets), meta={"model": "gan"})
"""


def _kill_when_paused(writer: subprocess.Popen) -> None:
    """Wait until the writer reports it hangs mid-save, then SIGKILL it (a 60 s watchdog guards the wait)."""
    watchdog = threading.Timer(60, writer.kill)
    watchdog.start()
    try:
        line = writer.stdout.readline()
        assert line.strip() == b"PAUSED", writer.stderr.read().decode()
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    finally:
        watchdog.cancel()
        writer.kill()  # no-op once it is dead; never leave it running on failure
        writer.wait()


def test_writer_killed_mid_save_leaves_previous_checkpoint(tmp_path: Path) -> None:
    nets = make_nets()
    optimizers = make_optimizers(nets)
    pauses = ["modules.safetensors", "state.json"]  # after the first file; after the last, before the rename
    firsts = {pause: save(tmp_path / pause, 1, nets, optimizers) for pause in pauses}
    paths = [str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    writers = {pause: subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(tmp_path / pause), pause],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
               for pause in pauses}  # both at once: the slow part is importing torch
    for writer in writers.values():
        _kill_when_paused(writer)
    for pause, writer in writers.items():
        run, first = tmp_path / pause, firsts[pause]
        scratch = run / "checkpoints" / f".tmp-00000002-{writer.pid}"
        assert (scratch / pause).is_file()  # the killed writer left a partial checkpoint behind
        assert latest_checkpoint(run) == first and list_checkpoints(run) == [first]
        load_checkpoint(first, modules=make_nets(seed=3), optimizers=make_optimizers(make_nets(seed=3)))
        third = save(run, 3, nets, optimizers)
        assert not scratch.exists() and list_checkpoints(run) == [first, third]


def test_incomplete_and_scratch_dirs_are_ignored(tmp_path: Path) -> None:
    nets = make_nets()
    first = save(tmp_path, 1, nets, {})
    root = tmp_path / "checkpoints"
    (root / "00000005").mkdir()  # no state.json
    truncated = root / "00000006"
    truncated.mkdir()
    for file in first.iterdir():
        (truncated / file.name).write_bytes(file.read_bytes())
    (truncated / "rng.safetensors").write_bytes(b"")  # shorter than state.json says
    scratch = root / ".tmp-00000009-1"
    scratch.mkdir()
    for file in first.iterdir():
        (scratch / file.name).write_bytes(file.read_bytes())
    assert list_checkpoints(tmp_path) == [first] and latest_checkpoint(tmp_path) == first
    assert latest_checkpoint(tmp_path / "nowhere") is None and list_checkpoints(tmp_path / "nowhere") == []


def test_keep_last_prunes_oldest_but_never_the_new_one(tmp_path: Path) -> None:
    nets = make_nets()
    for step in range(1, 6):
        save(tmp_path, step, nets, {}, keep_last=2)
    assert [int(p.name) for p in list_checkpoints(tmp_path)] == [4, 5]
    save(tmp_path, 3, nets, {}, keep_last=2)  # older than the kept ones: still kept
    assert [int(p.name) for p in list_checkpoints(tmp_path)] == [3, 4, 5]
    save(tmp_path, 6, nets, {}, keep_last=None)
    assert [int(p.name) for p in list_checkpoints(tmp_path)] == [3, 4, 5, 6]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["00000003", "00000004",
                                                                           "00000005", "00000006"]



def test_keep_every_keeps_multiples_beside_the_last_ones(tmp_path: Path) -> None:
    nets = make_nets()
    for step in range(1, 11):
        save(tmp_path, step, nets, {}, keep_last=2, keep_every=4)
    assert [int(p.name) for p in list_checkpoints(tmp_path)] == [4, 8, 9, 10]
    save(tmp_path, 11, nets, {}, keep_last=1, keep_every=0)  # off again: only the newest survives
    assert [int(p.name) for p in list_checkpoints(tmp_path)] == [11]


def test_resaving_a_step_replaces_it(tmp_path: Path) -> None:
    nets = make_nets()
    save(tmp_path, 4, nets, {}, meta={"model": "gan", "note": "first"})
    path = save(tmp_path, 4, nets, {}, meta={"model": "gan", "note": "second"})
    assert read_checkpoint_meta(path)["note"] == "second"
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["00000004"]


def test_failed_save_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="JSON"):
        save(tmp_path, 1, make_nets(), {}, meta={"model": object()})
    assert list((tmp_path / "checkpoints").iterdir()) == []


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("name", ["modules.safetensors", "optimizers.safetensors", "rng.safetensors"])
def test_flipped_byte_fails_sha256(tmp_path: Path, name: str) -> None:
    nets = make_nets()
    path = save(tmp_path, 1, nets, make_optimizers(nets))
    data = bytearray((path / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / name).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256") as info:
        load_checkpoint(path, modules=make_nets(), optimizers=make_optimizers(make_nets()))
    assert name in str(info.value) and "\n" not in str(info.value)


def test_corrupt_state_json(tmp_path: Path) -> None:
    path = save(tmp_path, 1, make_nets(), {})
    (path / "state.json").write_text('{"format": "ganforge.checkpoint", ')
    with pytest.raises(CheckpointError, match="corrupt"):
        read_checkpoint_meta(path)
    assert latest_checkpoint(tmp_path) is None


def test_missing_paths_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope", modules={}, optimizers={})
    save(tmp_path, 1, make_nets(), {})
    with pytest.raises(CheckpointError, match="run directory"):
        read_checkpoint_meta(tmp_path)
    (tmp_path / "checkpoints" / "00000001" / "rng.safetensors").unlink()
    with pytest.raises(CheckpointError, match="missing rng.safetensors"):
        load_checkpoint(tmp_path / "checkpoints" / "00000001", modules=make_nets(), optimizers={})


def test_checkpoint_of_other_modules(tmp_path: Path) -> None:
    nets = make_nets()
    path = save(tmp_path, 10, nets, make_optimizers(nets))
    other = {"generator": make_nets()["generator"], "discriminator": nn.Linear(3, 1)}
    expected = "no weights for 'discriminator'.*model 'gan'.*point --run"
    with pytest.raises(CheckpointError, match=expected) as info:
        load_checkpoint(path, modules=other, optimizers={})
    assert "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="nothing loads"):
        load_checkpoint(path, modules={"generator": make_nets()["generator"]}, optimizers={})


def test_shape_mismatch_loads_nothing(tmp_path: Path) -> None:
    nets = make_nets(width=8)
    path = save(tmp_path, 1, nets, make_optimizers(nets))
    wider = make_nets(width=16, seed=2)
    wider["generator"] = make_nets(seed=2)["generator"]  # fits; the critic does not
    before = {k: v.clone() for k, v in wider["generator"].state_dict().items()}
    before = type(wider["generator"].state_dict())(before)
    with pytest.raises(CheckpointError, match=r"critic\.0\.weight of shape \[8, 3\].*expects \[16, 3\]"):
        load_checkpoint(path, modules=wider, optimizers={}, strict=False)
    assert_same_state(wider["generator"].state_dict(), before)


def test_optimizer_mismatches(tmp_path: Path) -> None:
    nets = make_nets()
    path = save(tmp_path, 1, nets, make_optimizers(nets))
    with pytest.raises(CheckpointError, match="as Adam, not SGD"):
        load_checkpoint(path, modules=make_nets(), optimizers=make_optimizers(make_nets(), "sgd-nesterov"))
    wider = make_nets(width=16)
    with pytest.raises(CheckpointError, match="other shapes"):
        load_checkpoint(path, modules=nets, optimizers=make_optimizers(wider))


def test_non_strict_loads_a_subset(tmp_path: Path) -> None:
    nets = make_nets()
    path = save(tmp_path, 2, nets, make_optimizers(nets))
    generator = make_nets(seed=4)["generator"]
    loaded = load_checkpoint(path, modules={"generator": generator}, optimizers={}, strict=False)
    assert loaded.step == 2
    assert_same_state(generator.state_dict(), nets["generator"].state_dict())


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="step"):
        save_checkpoint(tmp_path, 2, modules={}, optimizers={}, meta={"step": 3})
    with pytest.raises(ValueError, match="without '.'"):
        save_checkpoint(tmp_path, 2, modules={"a.b": nn.Linear(1, 1)}, optimizers={}, meta={})
    with pytest.raises(ValueError, match="keep_last"):
        save_checkpoint(tmp_path, 2, modules={}, optimizers={}, meta={}, keep_last=-1)


# ---------------------------------------------------------------- no pickle


def test_no_pickle_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle/torch.save/torch.load must not be used")

    for module, name in [(pickle, "dump"), (pickle, "dumps"), (pickle, "load"), (pickle, "loads"),
                         (torch, "save"), (torch, "load")]:
        monkeypatch.setattr(module, name, forbidden)
    nets = make_nets()
    optimizers = make_optimizers(nets)
    train(nets, optimizers, 1)
    path = save(tmp_path, 1, nets, optimizers, extra_tensors={"x": torch.arange(3)})
    load_checkpoint(path, modules=make_nets(), optimizers=make_optimizers(make_nets()))

    assert sorted(p.name for p in path.iterdir()) == ["modules.safetensors", "optimizers.safetensors",
                                                     "rng.safetensors", "state.json"]
    state_text = (path / "state.json").read_bytes()
    assert not state_text.startswith(b"\x80") and isinstance(json.loads(state_text), dict)
    for name in ["modules.safetensors", "optimizers.safetensors", "rng.safetensors"]:
        data = (path / name).read_bytes()
        assert not data.startswith(b"PK")  # not torch.save's zip container
        header_len = int.from_bytes(data[:8], "little")  # safetensors: u64 length, JSON header, raw bytes
        header = json.loads(data[8:8 + header_len])
        ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
        assert 8 + header_len + max(ends, default=0) == len(data)
