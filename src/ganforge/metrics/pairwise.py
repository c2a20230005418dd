"""Blocked log-sum-exp of negative pairwise costs, never holding the full |Q| × |K| matrix.

For queries q_i and keys k_j this computes, for each scale c,

    L_c(q_i) = log Σ_j exp(-c · C(q_i, k_j)),   C = ||q - k||_2 ("euclidean") or ||q - k||² ("squared"),

the kernel sum behind DDM (Basart 2017, eq. 3.4) and the Gaussian Parzen window (Breuleux et al. 2011;
Goodfellow et al. 2014, appendix). Memory is two tiles of rows × cols float64 numbers (4 MiB by default)
plus the augmented float64 features, (|Q| + |K|) × (D + 2) numbers, whatever |Q| × |K| is.

How (the speed facts in SPEC.md, re-measured in ``benchmarks/metrics.py``):
1. Both sets are centred on the queries' mean (distances do not change; the expansion below loses less).
   The expansion's rounding is ~eps·(||q - centre||² + ||k - centre||²), so the centre must lie among
   the points whose small distances matter. The queries are the held-out real data in both callers
   (DDM's T, Parzen's test points); the keys are generated samples, which may lie anywhere: centred on
   the keys' mean, 20 samples of 200 at 1e11 moved the centre so far that every distance between ordinary
   points rounded to 0, and DDM came out 0.59 instead of 10.3 (a better score than real data's).
2. Squared distances of a tile come from ONE float64 matrix product of augmented features,
   [q, ||q||², 1] · [-2k, 1, ||k||²]ᵀ = ||q||² + ||k||² - 2 q·k, clamped at 0. Float64 keeps the T == G
   diagonal (true distance 0) accurate: the squared distance of identical points comes out as
   ~eps·||q||² ≈ 1e-16·||q||² instead of 0, so the euclidean cost is at most ~1e-8·||q|| (the square root
   amplifies the rounding); a float32 expansion gives ~3e-4·||q|| and loses 5e-7 (unit-scale features)
   to 3e-4 (logit-like features) relative DDM when T == G, against 2e-11 to 3e-9 here.
3. A running log-sum-exp per row: the running minimum cost m is shared by all scales (c > 0 preserves
   order), sums are rescaled by exp(-c (m_old - m_new)) when m drops, and exp(-c (C - m)) <= 1 never
   overflows. All scales reuse the same distance tile (the Parzen bandwidth search relies on this).
4. ``exp_dtype``: the element-wise work after the product (clamp, square root, the shift by m, exp and
   the row sums) runs in float64 (the default) or, with ``torch.float32``, on a float32 copy of the
   float64 squared distances. The copy rounds each squared distance to 24 bits (relative 6e-8; the
   cancellation of step 2 stays in float64), so the costs keep ~6e-8 relative accuracy, the exps and
   the 1024-term tile sums ~1e-7; the running sums, m and the result stay float64. DDM uses float32
   (10k × 10k, 10-d, on the AMX Xeon: 0.173 s against 0.210 s with one thread, 1.7x beside a busy
   process, 0.096 s against 0.104 s with two; relative error 1e-9 to 5e-9 against float64 with T == G
   on unit-scale and logit-like features); Parzen keeps float64.
Device: the tiles are computed where the queries are (a GPU for CUDA tensors, whose default tile is
``CUDA_BLOCK``); the keys must be on the same device.
Results differ across block sizes only by float64 rounding (~1e-15 relative) with float64, and by
float32 tile sums (~1e-8 relative) with float32.

Threads: torch's intra-op setting is used as it is. Every tile op is an OpenMP region, and when another
process competes for the cores the spinning threads make it several times slower (10k × 10k DDM, in an
earlier session on another CPU: 0.3 s on two quiet cores, 0.5 s with one thread, 4-20 s with two threads
next to a busy process; see ``benchmarks/metrics.py``). On a shared machine call
``torch.set_num_threads(1)`` first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ganforge.errors import ConfigError
from ganforge.metrics.validation import check_positive_int

COSTS = ("euclidean", "squared")
DEFAULT_BLOCK_ROWS = 256  # 256 × 1024 float64 = 2 MiB tiles, half per core: measured fastest of 64-1024 rows.
DEFAULT_BLOCK_COLS = 1024
# On a GPU a tile is one kernel launch per element-wise op: large tiles (4096 × 16384 float64 = 512 MiB, plus
# the float32 costs) keep 50k × 50k at 52 tiles; not measured on a GPU yet (benchmarks/gpu.sh does).
CUDA_BLOCK = (4096, 16384)
CHUNK_ROWS = 2048  # rows centred at a time when building the augmented features
BlockSize = int | tuple[int, int] | None


def neg_cost_logsumexp(
    queries: torch.Tensor,
    keys: torch.Tensor,
    *,
    cost: str = "squared",
    scales: Sequence[float] | torch.Tensor = (1.0,),
    block_size: BlockSize = None,
    exp_dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """log Σ_j exp(-c · C(q_i, k_j)) for every query row i and every scale c.

    Args:
        queries: (Nq, D) float32 or float64 tensor.
        keys: (Nk, D) float32 or float64 tensor (arithmetic is float64 either way).
        cost: "euclidean" (||q - k||_2) or "squared" (||q - k||²).
        scales: K positive factors c applied to the cost.
        block_size: tile shape; see :func:`tile_shape`.
        exp_dtype: torch.float64 (default) or torch.float32 for the element-wise work on each tile (step 4
            of the module docstring); the product and the running sums are float64 either way.

    Returns:
        (Nq, K) float64 tensor of log-sum-exps.
    """
    if cost not in COSTS:
        raise ConfigError(f"unknown pairwise cost {cost!r}; choose one of: {', '.join(COSTS)}")
    scale_t = torch.as_tensor(scales, dtype=torch.float64)
    if scale_t.ndim != 1 or scale_t.numel() == 0 or not bool(((scale_t > 0) & torch.isfinite(scale_t)).all()):
        raise ConfigError(f"scales must be a non-empty list of positive finite numbers, got {scales!r}")
    if exp_dtype not in (torch.float64, torch.float32):
        raise ConfigError(f"exp_dtype must be torch.float64 or torch.float32, got {exp_dtype}")
    if keys.device != queries.device:
        raise ConfigError(f"queries are on {queries.device} but keys on {keys.device}; put both on one device")
    dev = queries.device
    rows, cols = tile_shape(CUDA_BLOCK if block_size is None and dev.type == "cuda" else block_size)
    q_aug, k_aug_t = _augment(queries, keys)
    scale_t = scale_t.to(dev)
    size = min(rows, len(q_aug)) * min(cols, k_aug_t.shape[1])
    product = torch.empty(size, dtype=torch.float64, device=dev)
    cost_buffer = product if exp_dtype == torch.float64 else torch.empty(size, dtype=exp_dtype, device=dev)
    spare = torch.empty(size, dtype=exp_dtype, device=dev) if len(scale_t) > 1 else None
    tiles = _Tiles(product, cost_buffer, spare)  # float64 costs are computed in the product's buffer
    out = torch.empty(len(q_aug), len(scale_t), dtype=torch.float64, device=dev)
    for i in range(0, len(q_aug), rows):
        out[i : i + rows] = _row_block(q_aug[i : i + rows], k_aug_t, cost, scale_t, cols, tiles)
    return out


@dataclass
class _Tiles:
    """Flat scratch buffers reused by every tile: the float64 product, the costs in ``exp_dtype`` (the same
    buffer's dtype may differ; with float64 the copy is skipped) and, for several scales, a spare."""

    product: torch.Tensor
    cost: torch.Tensor
    spare: torch.Tensor | None


def tile_shape(block_size: BlockSize) -> tuple[int, int]:
    """(query rows, key columns) per tile from a metric's ``block_size`` argument.

    Args:
        block_size: None for the default (256, 1024); an int sets the query rows (key columns stay 1024);
            a pair (rows, cols) sets both. Memory is rows × cols float64 numbers, twice.

    Returns:
        (rows, cols), both positive ints.
    """
    if block_size is None:
        return DEFAULT_BLOCK_ROWS, DEFAULT_BLOCK_COLS
    if isinstance(block_size, (tuple, list)):
        if len(block_size) != 2:
            raise ConfigError(f"block_size must be an int or a pair (rows, cols), got {block_size!r}")
        rows, cols = block_size
        return check_positive_int(rows, "block_size rows"), check_positive_int(cols, "block_size cols")
    return check_positive_int(block_size, "block_size"), DEFAULT_BLOCK_COLS


def _augment(queries: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre both sets on the queries' mean and build [q, ||q||², 1] (Nq, D+2) and [-2k, 1, ||k||²]ᵀ (D+2, Nk).

    Filled in row chunks, so beyond the two outputs memory holds no (N, D) temporary (float32 input is
    converted to float64 chunk by chunk, exactly).
    """
    d = queries.shape[1]
    center = sum(queries[i : i + CHUNK_ROWS].sum(0, dtype=torch.float64) for i in range(0, len(queries), CHUNK_ROWS))
    center = center / len(queries)  # the real data's (module docstring, step 1): far-off keys cost no accuracy
    q_aug = torch.empty(len(queries), d + 2, dtype=torch.float64, device=queries.device)
    q_aug[:, d] = _centre_into(queries, center, q_aug[:, :d])
    q_aug[:, d + 1] = 1.0
    k_aug_t = torch.empty(d + 2, len(keys), dtype=torch.float64, device=keys.device)
    k_aug_t[d + 1] = _centre_into(keys, center, k_aug_t[:d].t())  # (Nk, D) view of the transposed block
    k_aug_t[d] = 1.0
    k_aug_t[:d].mul_(-2.0)
    return q_aug, k_aug_t


def _centre_into(x: torch.Tensor, center: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Write x - center into the (N, D) float64 view ``out`` in row chunks; return the (N,) squared row norms."""
    norms = torch.empty(len(x), dtype=torch.float64, device=x.device)
    for i in range(0, len(x), CHUNK_ROWS):
        chunk = torch.sub(x[i : i + CHUNK_ROWS], center, out=out[i : i + CHUNK_ROWS])
        norms[i : i + CHUNK_ROWS] = chunk.square().sum(1)
    return norms


def _row_block(q_aug: torch.Tensor, k_aug_t: torch.Tensor, cost: str, scales: torch.Tensor, cols: int,
               tiles: _Tiles) -> torch.Tensor:
    """Running log-sum-exp of one block of query rows over all key tiles; returns (rows, K) float64."""
    r = len(q_aug)
    m = torch.full((r,), float("inf"), dtype=torch.float64, device=q_aug.device)  # running minimum cost per row
    s = torch.zeros(r, len(scales), dtype=torch.float64, device=q_aug.device)  # Σ exp(-c (C - m)) per row and scale
    low = tiles.cost.dtype != torch.float64
    for j in range(0, k_aug_t.shape[1], cols):
        kb = k_aug_t[:, j : j + cols]
        n = r * kb.shape[1]
        d2 = torch.mm(q_aug, kb, out=tiles.product[:n].view(r, kb.shape[1]))  # squared distances
        c = tiles.cost[:n].view_as(d2).copy_(d2) if low else d2
        c.clamp_(min=0.0)
        if cost == "euclidean":
            c.sqrt_()
        m_new = torch.minimum(m, c.amin(1).double())  # exact: a float32 minimum is a float64 value
        s.mul_(torch.exp(-(m - m_new)[:, None] * scales))  # rescale old sums (0 · 0 on the first tile)
        torch.sub(m_new.to(c.dtype)[:, None], c, out=c)  # -(C - m) <= 0, in place
        _accumulate(c, None if tiles.spare is None else tiles.spare[:n].view_as(c), scales, s)
        m = m_new
    return -m[:, None] * scales + torch.log(s)


def _accumulate(neg_gap: torch.Tensor, spare: torch.Tensor | None, scales: torch.Tensor, s: torch.Tensor) -> None:
    """s[:, k] += Σ_j exp(c_k · neg_gap[:, j]) (row sums in neg_gap's dtype); ``spare`` (same shape) is
    scratch space when K > 1."""
    if len(scales) == 1:
        if scales[0] != 1.0:
            neg_gap.mul_(float(scales[0]))
        s[:, 0] += neg_gap.exp_().sum(1)
        return
    for k in range(len(scales)):
        torch.mul(neg_gap, float(scales[k]), out=spare)
        s[:, k] += spare.exp_().sum(1)
