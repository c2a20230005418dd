"""Independent pieces of an experiment (its variants) run side by side on one machine's cores.

A 2-core CPU trains one small net per core faster than it trains two nets one after another with both
threads on each: at the reduced PPGN-disc size a generator step is too small to keep two threads busy.
``run_jobs`` starts ``jobs`` worker processes (``spawn``: a fresh interpreter, no forked torch state), gives
each ``torch.get_num_threads() // jobs`` threads, and returns the results in the order of the keys. The first
failure cancels the jobs not yet started, waits for the running ones (a trainer stopped by Ctrl-C saves its
checkpoint first) and is raised as is, so a :class:`~ganforge.errors.ConfigError` still reaches the CLI as one
line. Ctrl-C reaches the workers with the terminal's signal; a SIGTERM sent to this process alone is passed on
to them, and the jobs end as an interruption (``KeyboardInterrupt``, the CLI's exit 130), so no worker is left
writing a run behind a stopped experiment. Workers log to stderr (one line per message, flushed), not through
the caller's ``log``.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
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
    terminated = threading.Event()
    previous = _forward_sigterm(terminated)
    try:
        futures = {key: pool.submit(fn, *args) for key, args in calls.items()}
        done, _ = wait(futures.values(), return_when=FIRST_EXCEPTION)  # all done, or one failed
        for future in done:
            if future.exception() is not None:
                raise future.exception()
        results = {key: future.result() for key, future in futures.items()}
    except BaseException as error:
        pool.shutdown(wait=True, cancel_futures=True)
        if terminated.is_set() and not isinstance(error, KeyboardInterrupt):
            raise KeyboardInterrupt from error  # a worker killed outside its trainer: still an interruption
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    pool.shutdown()
    return results


def _forward_sigterm(terminated: threading.Event):
    """Pass SIGTERM on to the worker processes while the jobs run; the previous handler (None off the main
    thread, where no handler can be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def forward(signum, frame) -> None:
        terminated.set()
        for child in multiprocessing.active_children():
            child.terminate()

    return signal.signal(signal.SIGTERM, forward)
