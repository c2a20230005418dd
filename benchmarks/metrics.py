"""Speed and memory of ganforge's metric math, with the baselines that motivated each design. Prints JSON.

    python benchmarks/metrics.py            # full sizes (several minutes on a 2-core machine)
    python benchmarks/metrics.py --quick    # small sizes, a smoke test of this script
    python benchmarks/metrics.py --only=ddm_10k,fid_512d   # some sections

Timings interleave each run with its baselines in one process after a warm-up and report the minimum
and median over rounds (the machine is shared and noisy). Peak memory is the peak RSS of the run minus the RSS
before it, in a fresh subprocess (VmHWM reset through /proc/self/clear_refs), measured after the inputs
exist and after a tiny warm-up call (library loading and thread pools are not counted).
- DDM (Basart 2017 eq. 3.4) 10k × 10k, 10-d: ganforge (float64 product, float32 element-wise work, running
  log-sum-exp; torch's threads and one thread) vs the same tiles all in float64 (ganforge before) vs a
  float32 matmul expansion (fast, inaccurate when T == G) vs blocked scipy cdist + logsumexp (float64
  reference).
- DDM 50k × 50k: time and peak RSS increase.
- DDM on CUDA (where a GPU is present), 10k and 50k: time, peak GPU memory, error against the CPU and scipy.
- Parzen 10k samples × 10k test points, 784-d (MNIST pixels), 10 bandwidths: one distance pass for all σ
  vs one pass per σ vs the direct-difference loop of Goodfellow et al.'s parzen_ll.py (extrapolated).
- KID with the default 100 subsets × 1000, 10-d and 2048-d (Inception size).
- FID trace term: symmetric eigenvalues (ganforge) vs non-symmetric eigenvalues of Σa Σb vs
  scipy.linalg.sqrtm, 512-d and 2048-d.
"""

from __future__ import annotations

import json
import math
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import scipy.linalg
import torch
from scipy.spatial.distance import cdist
from scipy.special import logsumexp

from ganforge.metrics import ddm, fid_from_stats, kid, parzen_log_likelihood, parzen_select_sigma
from ganforge.metrics.pairwise import neg_cost_logsumexp


def interleaved(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, dict[str, float]]:
    """Run every function once to warm up, then ``rounds`` times in turn; min and median seconds each."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {n: {"min_s": round(min(t), 4), "median_s": round(statistics.median(t), 4), "rounds": rounds}
            for n, t in times.items()}


def with_threads(n: int, fn: Callable[[], object]) -> object:
    """Run ``fn`` with ``n`` torch intra-op threads, then restore the setting."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        return fn()
    finally:
        torch.set_num_threads(old)


def ddm_float32_expansion(t: torch.Tensor, g: torch.Tensor, rows: int = 256, cols: int = 1024) -> float:
    """Baseline: DDM from float32 ||a||² + ||b||² - 2ab tiles with a running log-sum-exp."""
    t2, g2 = (t * t).sum(1), (g * g).sum(1)
    lse = torch.empty(len(t))
    for i in range(0, len(t), rows):
        m = torch.full((len(t[i : i + rows]),), -math.inf)
        s = torch.zeros_like(m)
        for j in range(0, len(g), cols):
            d = torch.addmm(g2[None, j : j + cols], t[i : i + rows], g[j : j + cols].T, alpha=-2.0)
            d = d.add_(t2[i : i + rows, None]).clamp_(min=0).sqrt_().neg_()
            m_new = torch.maximum(m, d.amax(1))
            s = s * torch.exp(m - m_new) + torch.exp(d - m_new[:, None]).sum(1)
            m = m_new
        lse[i : i + rows] = m + s.log()
    return math.log(len(g)) - float(lse.double().mean())


def ddm_float64_tiles(t: torch.Tensor, g: torch.Tensor) -> float:
    """Baseline: ganforge's DDM before its float32 element-wise work (every tile operation in float64)."""
    return math.log(len(g)) - float(neg_cost_logsumexp(t, g, cost="euclidean", exp_dtype=torch.float64).mean())


def ddm_scipy_blocked(t: np.ndarray, g: np.ndarray, rows: int = 1000) -> float:
    """Baseline and float64 reference: scipy cdist (direct differences) in row blocks, then logsumexp."""
    lse = [logsumexp(-cdist(t[i : i + rows], g), axis=1) for i in range(0, len(t), rows)]
    return math.log(len(g)) - float(np.concatenate(lse).mean())


def bench_ddm(n: int, rounds: int) -> dict[str, object]:
    gen = torch.Generator().manual_seed(0)
    t, g = torch.randn(n, 10, generator=gen), torch.randn(n, 10, generator=gen) + 0.3
    t64, g64 = t.double().numpy(), g.double().numpy()
    timing = interleaved({
        "ganforge": lambda: ddm(t, g),
        "ganforge_1_thread": lambda: with_threads(1, lambda: ddm(t, g)),
        "float64_tiles_1_thread": lambda: with_threads(1, lambda: ddm_float64_tiles(t, g)),
        "float32_expansion": lambda: ddm_float32_expansion(t, g),
        "scipy_cdist_blocked": lambda: ddm_scipy_blocked(t64, g64),
    }, rounds)
    errors = {}
    for name, x in (("randn", t), ("logit_like_3randn_plus_10", 3 * t + 10)):
        ref = ddm_scipy_blocked(x.double().numpy(), x.double().numpy())  # T == G: every diagonal distance is 0
        errors[name] = {"ganforge": abs(ddm(x, x) - ref) / ref,
                        "float64_tiles": abs(ddm_float64_tiles(x, x) - ref) / ref,
                        "float32_expansion": abs(ddm_float32_expansion(x, x) - ref) / ref}
    return {"size": f"{n}x{n}x10", "timing": timing, "relative_error_T_eq_G": errors}


def bench_ddm_cuda(sizes: tuple[int, ...], rounds: int) -> dict[str, object]:
    """DDM on the GPU (features already there; the float result waits for it): seconds, peak GPU memory beyond
    the inputs, and the relative error against scipy's float64 reference with T == G at the smallest size."""
    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device"}
    out: dict[str, object] = {"gpu": torch.cuda.get_device_name(0)}
    gen = torch.Generator().manual_seed(0)
    for n in sizes:
        t, g = (torch.randn(n, 10, generator=gen) + shift for shift in (0.0, 0.3))
        td, gd = t.cuda(), g.cuda()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        timing = interleaved({"ganforge_cuda": lambda td=td, gd=gd: ddm(td, gd)}, rounds)
        out[f"{n}x{n}x10"] = {"timing": timing, "peak_extra_gpu_mb": (torch.cuda.max_memory_allocated() - base) / 2**20,
                              "relative_to_cpu": abs(ddm(td, gd) - ddm(t, g)) / abs(ddm(t, g))}
    n = sizes[0]
    x = torch.randn(n, 10, generator=gen)
    ref = ddm_scipy_blocked(x.double().numpy(), x.double().numpy())
    out["relative_error_T_eq_G"] = abs(ddm(x.cuda(), x.cuda()) - ref) / ref
    return out


def parzen_goodfellow_loop(samples: np.ndarray, test: np.ndarray, sigma: float, batch: int = 10) -> float:
    """Baseline: parzen_ll.py's approach, direct float32 differences for batches of 10 test points."""
    out = []
    for i in range(0, len(test), batch):
        a = (test[i : i + batch, None, :] - samples[None, :, :]) / sigma
        e = -0.5 * (a * a).sum(2)
        norm = math.log(len(samples)) + samples.shape[1] * math.log(sigma * math.sqrt(2 * math.pi))
        out.append(logsumexp(e, axis=1) - norm)
    return float(np.concatenate(out).mean())


def bench_parzen(n: int, d: int, rounds: int) -> dict[str, object]:
    rng = np.random.default_rng(0)
    samples, val = rng.uniform(size=(n, d)).astype(np.float32), rng.uniform(size=(n, d)).astype(np.float32)
    grid = np.logspace(-1, 0, 10)
    timing = interleaved({"select_sigma_one_pass": lambda: parzen_select_sigma(samples, val, grid)}, rounds)
    timing.update(interleaved({"one_pass_per_sigma": lambda: [parzen_log_likelihood(samples, val, s) for s in grid]},
                              max(1, rounds // 3)))
    probe = min(n, 100)
    start = time.perf_counter()
    parzen_goodfellow_loop(samples, val[:probe], float(grid[0]))
    loop_s = (time.perf_counter() - start) * (n / probe) * len(grid)
    ours = timing["select_sigma_one_pass"]["median_s"]
    return {"size": f"{n} samples x {n} points x {d}-d, 10 sigmas", "timing": timing,
            "goodfellow_loop_extrapolated_s": round(loop_s, 1),
            "speedup_vs_per_sigma": round(timing["one_pass_per_sigma"]["median_s"] / ours, 1),
            "speedup_vs_goodfellow_loop": round(loop_s / ours, 1)}


def random_covariances(d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(2 * d, d)), rng.normal(size=(2 * d, d)) @ np.diag(rng.uniform(0.5, 2.0, d))
    return a.T @ a / (2 * d), b.T @ b / (2 * d)


def fid_eigvals_of_product(mu: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> float:
    """Baseline: the trace term from the non-symmetric eigenvalues of Σa Σb (torch.linalg.eigvals)."""
    lam = torch.linalg.eigvals(torch.from_numpy(s1) @ torch.from_numpy(s2)).real.clamp(min=0)
    return float(np.trace(s1) + np.trace(s2) - 2 * lam.sqrt().sum())


def fid_sqrtm(mu: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> float:
    """Baseline: pytorch-fid's trace term with scipy.linalg.sqrtm."""
    return float(np.trace(s1) + np.trace(s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2).real))


def bench_fid(d: int, rounds: int) -> dict[str, object]:
    s1, s2 = random_covariances(d, 0)
    mu = np.zeros(d)
    timing = interleaved({"ganforge_symmetric_eigvalsh": lambda: fid_from_stats(mu, s1, mu, s2),
                          "eigvals_of_product": lambda: fid_eigvals_of_product(mu, s1, s2),
                          "scipy_sqrtm": lambda: fid_sqrtm(mu, s1, s2)}, rounds)
    ours, ref = fid_from_stats(mu, s1, mu, s2), fid_sqrtm(mu, s1, s2)
    med = {k: v["median_s"] for k, v in timing.items()}
    return {"dim": d, "timing": timing, "relative_difference_vs_sqrtm": abs(ours - ref) / ref,
            "relative_difference_eigvals_vs_sqrtm": abs(fid_eigvals_of_product(mu, s1, s2) - ref) / ref,
            "speedup_vs_sqrtm": round(med["scipy_sqrtm"] / med["ganforge_symmetric_eigvalsh"], 2),
            "speedup_vs_eigvals_of_product": round(med["eigvals_of_product"] / med["ganforge_symmetric_eigvalsh"], 2)}


def bench_kid(n: int, d: int, rounds: int, subset_size: int) -> dict[str, object]:
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, d, generator=gen), torch.randn(n, d, generator=gen) + 0.05
    timing = interleaved({"kid_100_subsets": lambda: kid(a, b, subset_size=subset_size)}, rounds)
    return {"size": f"{n} vs {n}, {d}-d, 100 subsets x {subset_size}", "timing": timing}


# ---- fresh-subprocess peak memory ---------------------------------------------------------------------
def _child(job: str, n: int) -> dict[str, object]:
    """Runs in a fresh process: make inputs, warm up on a tiny problem, then time one run and its peak RSS."""
    gen = torch.Generator().manual_seed(0)
    if job == "ddm":
        x, y = torch.randn(n, 10, generator=gen), torch.randn(n, 10, generator=gen)
        run, warm = (lambda: ddm(x, y)), (lambda: ddm(x[:10], y[:10]))
    elif job == "parzen":
        x, y = torch.rand(n, 784, generator=gen), torch.rand(n, 784, generator=gen)
        run, warm = (lambda: parzen_select_sigma(x, y)), (lambda: parzen_select_sigma(x[:10], y[:10]))
    else:
        d = 2048 if job == "kid2048" else 10
        x, y = torch.randn(n, d, generator=gen), torch.randn(n, d, generator=gen)
        size = min(1000, n)
        run, warm = (lambda: kid(x, y, subset_size=size)), (lambda: kid(x, y, subsets=1, subset_size=size))
    warm()
    before = _rss_kb("VmRSS")
    _reset_peak_rss()
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    inputs_mb = (x.numel() + y.numel()) * x.element_size() / 2**20
    return {"seconds": round(seconds, 3), "peak_rss_increase_mb": round((_rss_kb("VmHWM") - before) / 1024, 1),
            "inputs_mb": round(inputs_mb, 1)}


def _rss_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process in kB; ru_maxrss when /proc is unavailable."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets VmHWM, so the peak below belongs to the measured run alone."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def in_fresh_process(job: str, n: int) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, "--child", job, str(n)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(quick: bool, only: set[str] | None = None) -> None:
    big, n, rounds = (5000, 1000, 2) if quick else (50_000, 10_000, 7)
    sections: dict[str, Callable[[], object]] = {
        "ddm_10k": lambda: bench_ddm(n, rounds),
        "ddm_50k": lambda: {"size": f"{big}x{big}x10", **in_fresh_process("ddm", big)},
        "ddm_cuda": lambda: bench_ddm_cuda((n, big), rounds),
        "parzen_10k": lambda: bench_parzen(n, 784, 3 if not quick else 1),
        "parzen_10k_memory": lambda: in_fresh_process("parzen", n),
        "kid_10d": lambda: bench_kid(n, 10, rounds, min(1000, n)),
        "kid_2048d_fresh_process": lambda: in_fresh_process("kid2048", n),
        "fid_512d": lambda: bench_fid(64 if quick else 512, rounds),
        "fid_2048d": lambda: bench_fid(128 if quick else 2048, 1 if quick else 3),
    }
    report: dict[str, object] = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for name, section in sections.items():
        if only and name not in only:
            continue
        report[name] = section()
        print(json.dumps({name: report[name]}), file=sys.stderr, flush=True)  # partial results survive a kill
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2], int(sys.argv[3]))))
    else:
        picked = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--only=")]
        main(quick="--quick" in sys.argv, only=set(",".join(picked).split(",")) if picked else None)
