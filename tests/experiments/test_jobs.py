"""``experiments.jobs.run_jobs``: results in the keys' order, threads shared out, failures raised as they are."""

import operator

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.experiments.jobs import run_jobs, threads_per_job
from ganforge.nets.layers import scaled_width


def test_results_keep_the_order_of_the_keys_and_each_worker_gets_its_share_of_threads(monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)  # this process's threads, shared out by 2
    assert threads_per_job(2) == 2 and threads_per_job(3) == 1 and threads_per_job(8) == 1
    monkeypatch.undo()
    lines = []
    calls = {"c": (3, 4), "a": (10, 5), "b": (2, 2)}
    assert list(run_jobs(operator.mul, calls, 2, lines.append).items()) == [("c", 12), ("a", 50), ("b", 4)]
    assert lines == [f"running 3 jobs 2 at a time, {threads_per_job(2)} thread(s) each"]
    threads = run_jobs(torch.get_num_threads, {0: (), 1: ()}, 2, lines.append)  # asked inside each worker
    assert threads == {0: threads_per_job(2), 1: threads_per_job(2)}


def test_one_job_runs_here_and_a_worker_failure_is_raised_as_is():
    lines = []
    assert run_jobs(operator.add, {"x": (1, 2)}, 4, lines.append) == {"x": 3} and lines == []  # capped at 1
    with pytest.raises(ZeroDivisionError):
        run_jobs(operator.truediv, {"ok": (1, 2), "bad": (1, 0)}, 2, lines.append)
    with pytest.raises(ConfigError, match="PPGN width must be a positive number, got -1"):  # for the CLI's one line
        run_jobs(scaled_width, {"a": (256, 0.5, "PPGN"), "b": (256, -1, "PPGN")}, 2, lines.append)
