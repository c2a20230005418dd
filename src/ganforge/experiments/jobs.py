"""Independent pieces of an experiment (its variants) run side by side on one machine's cores.

A 2-core CPU trains one small net per core faster than it trains two nets one after another with both
threads on each: at the reduced PPGN-disc size a generator step is too small to keep two threads busy.
``run_jobs`` starts ``jobs`` worker processes (``spawn``: a fresh interpreter, no forked torch state), gives
each ``torch.get_num_threads() // jobs`` threads, and returns the results in the order of the keys. The first
failure cancels the jobs not yet started, waits for the running ones (a trainer stopped by Ctrl-C saves its
checkpoint first) and is raised as is, so a :class:`~ganforge.errors.ConfigError` still reaches the CLI as one
line. Workers log to stderr (one line per message, flushed), not through the caller's ``log``.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Hashable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any

import torch


def threads_per_job(jobs: int) -> int:
    """Torch threads each of ``jobs`` workers gets: this process's threads shared out, at least 1."""
    return max(1, torch.get_num_threads() // max(1, jobs))


def stderr_log(line: str) -> None:
    """The workers' ``log``: one flushed line on stderr."""
    print(line, file=sys.stderr, flush=True)


def _set_threads(threads: int) -> None:
    torch.set_num_threads(threads)


def run_jobs(fn: Callable[..., Any], calls: dict[Hashable, tuple], jobs: int,
             log: Callable[[str], None] = stderr_log) -> dict[Hashable, Any]:
    """``{key: fn(*args)}`` for every ``key: args`` of ``calls``, ``jobs`` at a time in worker processes.

    Args:
        fn: a module-level function (workers import it by name); its arguments and result must pickle.
        calls: key → positional arguments, started in this order.
        jobs: worker processes (capped at ``len(calls)``); with 1 the calls run here, one after another.
    """
    jobs = min(jobs, len(calls))
    if jobs <= 1:
        return {key: fn(*args) for key, args in calls.items()}
    threads = threads_per_job(jobs)
    log(f"running {len(calls)} jobs {jobs} at a time, {threads} thread(s) each")
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_set_threads,
                               initargs=(threads,))
    try:
        futures = {key: pool.submit(fn, *args) for key, args in calls.items()}
        done, _ = wait(futures.values(), return_when=FIRST_EXCEPTION)  # all done, or one failed
        for future in done:
            if future.exception() is not None:
                raise future.exception()
        results = {key: future.result() for key, future in futures.items()}
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return results
