"""``train.lr_decay_start``: every optimizer's rate falls linearly to 0 at ``train.steps``, the rates the
optimizers step with follow the schedule and the schedule is logged (a resume after kill -9 continues it bit
for bit: ``test_trainer.py``'s resume test)."""

from __future__ import annotations

import json

import pytest
from torch.optim.optimizer import register_optimizer_step_pre_hook

import ganforge
from ganforge.config import resolve
from ganforge.errors import ConfigError
from ganforge.train.schedule import lr_scale

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TINY = {"model": {"hidden": 16}, "train": {"batch_size": 32, "log_every": 1, "precision": "fp32"}}


@pytest.mark.parametrize("step,start,steps,expected", [
    (0, 4, 8, 1.0), (3, 4, 8, 1.0), (4, 4, 8, 1.0), (5, 4, 8, 0.75), (7, 4, 8, 0.25),
    (0, 0, 4, 1.0), (3, 0, 4, 0.25), (2, None, 4, 1.0), (5, 8, 8, 1.0), (5, 20, 8, 1.0)])
def test_scale_is_linear_from_start_to_zero_at_the_end(step, start, steps, expected):
    assert lr_scale(step, start, steps) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_negative_start_is_refused_with_the_key():
    with pytest.raises(ConfigError, match=r"'train.lr_decay_start': must be >= 0 or null .*got -3"):
        resolve(preset="wgan-gp-ring8", sets=["train.lr_decay_start=-3"])


def _rates_seen(run_kwargs: dict) -> list[float]:
    """The learning rate of the first group of every optimizer step taken, in order."""
    seen: list[float] = []
    handle = register_optimizer_step_pre_hook(lambda opt, args, kwargs: seen.append(opt.param_groups[0]["lr"]))
    try:
        ganforge.train(**run_kwargs)
    finally:
        handle.remove()
    return seen


def test_optimizers_step_at_the_scheduled_rates_and_the_scale_is_logged(tmp_path):
    # gan-ring8: one D step per G step (each generator step takes two optimizer steps), G and D at one rate.
    model = resolve(preset="gan-ring8").model
    assert model.d_steps == 1 and model.optim_g.lr == model.optim_d.lr
    seen = _rates_seen(dict(preset="gan-ring8", out=tmp_path / "r", steps=6, sets=["train.lr_decay_start=2"],
                            **TINY))
    expected = [model.optim_g.lr * s for s in (1, 1, 1, 0.75, 0.5, 0.25) for _ in range(2)]
    assert seen == pytest.approx(expected, rel=1e-9)
    logged = [json.loads(line) for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    assert [row["lr_scale"] for row in logged if "lr_scale" in row] == pytest.approx([1, 1, 1, 0.75, 0.5, 0.25])


def test_without_the_option_rates_stay_and_nothing_is_logged(tmp_path):
    seen = _rates_seen(dict(preset="gan-ring8", out=tmp_path / "r", steps=3, **TINY))
    assert seen == pytest.approx([resolve(preset="gan-ring8").model.optim_g.lr] * 6, rel=1e-12)
    assert "lr_scale" not in (tmp_path / "r" / "log.jsonl").read_text()
