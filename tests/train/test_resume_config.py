"""What counts as another config on resume and in compare's reuse: hyperparameters do, a preset's prose and the
log sinks do not."""

from __future__ import annotations

from ganforge.train.resume_config import config_difference


def test_hyperparameters_differ_but_description_steps_and_log_sinks_do_not():
    saved = {"description": "old words", "model": {"name": "lapgan", "optim_g": {"lr": 2e-4}},
             "train": {"steps": 4000, "log_to": ["jsonl"], "batch_size": 64}}
    now = {"description": "new measured words", "model": {"name": "lapgan", "optim_g": {"lr": 1e-4}},
           "train": {"steps": 2000, "log_to": ["jsonl", "mlflow"], "batch_size": 64}}
    assert config_difference(saved, now) == ["model.optim_g.lr"]
    now["model"]["optim_g"]["lr"] = 2e-4
    assert config_difference(saved, now) == []
    now["train"]["batch_size"] = 32
    assert config_difference(saved, now) == ["train.batch_size"]
