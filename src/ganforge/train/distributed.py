"""Data-parallel training over ``torch.distributed`` processes started by torchrun.

Under ``torchrun --nproc-per-node K -m ganforge train ...`` (or ``ganforge train --nproc K``) each
process trains the same nets on its own shard of every global batch (``train.batch_size // K``
samples, disjoint slices of the same epoch permutation, see :class:`BatchStream`), with gloo on the
CPU and NCCL on GPUs (``cuda:LOCAL_RANK``). Rank 0 alone writes logs, samples, checkpoints and the
summary. One process under torchrun (``--nproc-per-node 1``) joins a process group too, so one GPU runs the
NCCL path; it computes what a plain run does (``ganforge train --nproc 1`` is a plain run, no torchrun).

Gradients are averaged at the optimizer, not by a ``DistributedDataParallel`` wrapper: a pre-step
hook on every optimizer all-reduces the grads of its parameters (one flattened buffer per dtype,
SUM then ÷K, a missing grad counts as zeros unless it is missing on every rank) just before
``optimizer.step()``. That is DDP's arithmetic, but variants stay untouched: WGAN-GP's penalty
needs a double backward and reads the critic's weights outside ``forward``, which DDP does not
support. Parameters and buffers are broadcast from rank 0 at the start, and the nets' buffers
(BatchNorm statistics) before every step, as DDP's ``broadcast_buffers=True`` does.

Randomness: every rank builds the same init (and gets rank 0's by broadcast); rank 0 keeps the
single-process noise stream and rank r > 0 reseeds from ``(seed, r)`` so ranks draw different z.
Checkpoints hold every rank's RNG state (gathered to rank 0 as ``rank<r>.rng`` extra tensors), so
a resume with the same K is bit-identical to an uninterrupted run; a rank that finds no saved state
(K changed) reseeds from ``(seed, rank, step)``: deterministic, not bit-identical. Losses logged by
rank 0 are the means over ranks; stop requests (signals, time limit, NaN) are agreed on by an
all-reduce every step, so all ranks stop after the same step.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import safetensors.torch
import torch
import torch.distributed as dist
from safetensors.torch import load as tensors_from_bytes  # safetensors' parser: no pickle, no torch.load
from torch import nn

from ganforge.config import Config
from ganforge.errors import CheckpointError, ConfigError
from ganforge.train.rng import capture_rng_state, restore_rng_state
from ganforge.train.runtime import select_device

__all__ = ["Workers", "average_gradients_hook", "launch_torchrun", "launched_by_torchrun", "per_rank_batch",
           "start_workers"]

STOP_REASONS = ("SIGINT", "SIGTERM", "time limit", "stop")


def launched_by_torchrun() -> bool:
    """True when torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) is set: this process is one of its
    workers, one or more (a single worker still joins a process group, so one GPU runs the NCCL path)."""
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


def per_rank_batch(batch_size: int, world: int) -> int:
    """Samples per process for a global ``batch_size`` split over ``world`` processes."""
    if batch_size % world:
        raise ConfigError(f"train.batch_size {batch_size} (the global batch) does not split over {world} "
                          f"processes; choose a multiple of {world}")
    return batch_size // world


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """A seed for rank ``rank`` of a run seeded ``seed`` at ``step`` (numpy's SeedSequence)."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1, np.uint64)[0] >> 1)


def average_gradients_hook(optimizer: torch.optim.Optimizer, world: int):
    """Make ``optimizer.step()`` first replace every grad by its mean over the ``world`` processes.

    Returns:
        The hook's handle (``.remove()`` detaches it).
    """
    def hook(opt: torch.optim.Optimizer, args, kwargs) -> None:
        average_gradients([p for group in opt.param_groups for p in group["params"]], world)

    return optimizer.register_step_pre_hook(hook)


@torch.no_grad()
def average_gradients(params: list[torch.Tensor], world: int) -> None:
    """All-reduce the grads of ``params`` (same list on every rank) into their mean, one collective
    per dtype; a grad that is None on every rank stays None, elsewhere None counts as zeros."""
    for group in _by_dtype(params):
        flags = torch.tensor([float(p.grad is not None) for p in group], dtype=group[0].dtype, device=group[0].device)
        grads = [p.grad.reshape(-1) if p.grad is not None else torch.zeros_like(p).reshape(-1) for p in group]
        flat = torch.cat([*grads, flags])
        dist.all_reduce(flat)
        flat.div_(world)
        means = flat[:-len(group)].split([p.numel() for p in group])
        for p, mean, present in zip(group, means, flat[-len(group):].tolist(), strict=True):
            if present > 0 and p.grad is None:
                p.grad = mean.view(p.shape).clone()
            elif present > 0:
                p.grad.copy_(mean.view(p.shape))


@torch.no_grad()
def broadcast_tensors(tensors: Iterable[torch.Tensor], src: int = 0) -> None:
    """Overwrite ``tensors`` (same list on every rank) with rank ``src``'s values, one collective per dtype."""
    for group in _by_dtype(list(tensors)):
        flat = torch.cat([t.reshape(-1) for t in group])
        dist.broadcast(flat, src)
        for t, part in zip(group, flat.split([t.numel() for t in group]), strict=True):
            t.copy_(part.view(t.shape))


def _by_dtype(tensors: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    groups: dict[tuple, list[torch.Tensor]] = {}
    for t in tensors:
        groups.setdefault((t.dtype, t.device), []).append(t)
    return list(groups.values())


@dataclasses.dataclass
class Workers:
    """This process's place among the training processes; outside a process group (``in_group`` false: no
    torchrun) every collective is skipped. A torchrun of one process runs them (sums over one rank: the
    same numbers as without).

    Attributes:
        rank, world: torchrun's RANK and WORLD_SIZE.
        device: where collectives run (``cuda:LOCAL_RANK`` with NCCL, the CPU with gloo).
        owns_group: whether :meth:`close` destroys the process group (it was created here).
        in_group: whether this process belongs to a torch.distributed process group.
    """

    rank: int = 0
    world: int = 1
    device: torch.device = dataclasses.field(default_factory=lambda: torch.device("cpu"))
    owns_group: bool = False
    in_group: bool = False
    _hooks: list = dataclasses.field(default_factory=list)

    @property
    def is_main(self) -> bool:
        """Whether this process writes (rank 0)."""
        return self.rank == 0

    @property
    def backend(self) -> str | None:
        """The process group's backend (``nccl`` on CUDA, ``gloo`` on the CPU); None without one (no torchrun)."""
        return dist.get_backend() if self.in_group else None

    def step_config(self, cfg: Config) -> Config:
        """``cfg`` with ``train.batch_size`` set to this process's share, for ``StepContext``."""
        if self.world == 1:
            return cfg
        train = dataclasses.replace(cfg.train, batch_size=per_rank_batch(cfg.train.batch_size, self.world))
        return dataclasses.replace(cfg, train=train)

    def attach(self, session, extra_tensors: dict[str, torch.Tensor], restored: bool) -> None:
        """Start identical on every rank: rank 0's weights and buffers, gradient averaging on every
        optimizer, and this rank's RNG (its saved state, else a seed from (seed, rank, step))."""
        if not self.in_group:
            return
        modules = session.modules().values()
        broadcast_tensors([t for m in modules for t in [*m.parameters(), *m.buffers()]])
        self._hooks = [average_gradients_hook(opt, self.world) for opt in session.optimizers.values()]
        if self.rank == 0:
            return
        blob = extra_tensors.get(f"rank{self.rank}.rng")
        if blob is None:
            torch.manual_seed(rank_seed(session.cfg.train.seed, self.rank, session.step if restored else 0))
            return
        tensors = tensors_from_bytes(bytes(blob.cpu().numpy()))
        restore_rng_state(tensors, json.loads(bytes(tensors.pop("json").numpy())))

    def sync_buffers(self, nets: dict[str, nn.Module]) -> None:
        """Rank 0's buffers (BatchNorm running statistics) into every rank, before a step."""
        buffers = [b for net in nets.values() for b in net.buffers()]
        if self.in_group and buffers:
            broadcast_tensors(buffers)

    def agree(self, values: dict[str, float], stop: str | None) -> tuple[dict[str, float], str | None]:
        """The mean of each value over ranks and the stop reason if any rank asked to stop."""
        if not self.in_group:
            return values, stop
        keys = list(values)
        reason = stop if stop in STOP_REASONS or stop is None else "stop"
        flags = [float(reason == r) for r in STOP_REASONS]
        total = torch.tensor([values[k] for k in keys] + flags, dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        summed = total.cpu().tolist()
        agreed = next((r for r, n in zip(STOP_REASONS, summed[len(keys):], strict=True) if n > 0), None)
        return {k: v / self.world for k, v in zip(keys, summed, strict=False)}, agreed

    def check_same_checkpoint(self, latest) -> None:
        """Raise on every rank unless all ranks see the same latest checkpoint of the run folder."""
        if not self.in_group:
            return
        step = -1 if latest is None else int(latest.name)
        seen = torch.tensor([step, -step], dtype=torch.int64, device=self.device)
        dist.all_reduce(seen, op=dist.ReduceOp.MAX)
        if int(seen[0]) != -int(seen[1]):
            raise CheckpointError(f"the processes see different latest checkpoints in the run folder (steps "
                                  f"{-int(seen[1])} to {int(seen[0])}, -1 = none); put --out on a filesystem "
                                  "that every node shares")

    def gather_rng_states(self) -> dict[str, torch.Tensor]:
        """Every rank's RNG state for rank 0's checkpoint (``rank<r>.rng``: safetensors bytes, uint8)."""
        if not self.in_group:
            return {}
        tensors, meta = capture_rng_state()
        tensors["json"] = torch.frombuffer(bytearray(json.dumps(meta).encode()), dtype=torch.uint8)
        blobs = self._all_gather_bytes(safetensors.torch.save(tensors))
        return {f"rank{r}.rng": torch.frombuffer(bytearray(b), dtype=torch.uint8)
                for r, b in enumerate(blobs) if r > 0} if self.is_main else {}

    def _all_gather_bytes(self, payload: bytes) -> list[bytes]:
        data = torch.frombuffer(bytearray(payload), dtype=torch.uint8).to(self.device)
        sizes = [torch.zeros(1, dtype=torch.int64, device=self.device) for _ in range(self.world)]
        dist.all_gather(sizes, torch.tensor([len(payload)], dtype=torch.int64, device=self.device))
        longest = max(int(s) for s in sizes)
        padded = torch.zeros(longest, dtype=torch.uint8, device=self.device)
        padded[:len(payload)] = data
        out = [torch.empty_like(padded) for _ in range(self.world)]
        dist.all_gather(out, padded)
        return [bytes(o[:int(s)].cpu().numpy()) for o, s in zip(out, sizes, strict=True)]

    def close(self) -> None:
        """Detach the gradient hooks and, if this object created it, destroy the process group."""
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def start_workers(cfg: Config) -> Workers:
    """Join torchrun's process group (gloo on CPU, NCCL on CUDA), or a single-process ``Workers``."""
    if not launched_by_torchrun():
        return Workers()
    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    per_rank_batch(cfg.train.batch_size, world)
    device = select_device(cfg.train.device)
    if device.type == "cuda":
        if device.index is not None:
            raise ConfigError(f"train.device {cfg.train.device!r} pins one GPU, but under torchrun process "
                              "LOCAL_RANK uses cuda:LOCAL_RANK; set train.device=auto or cuda")
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Workers(rank=rank, world=world, device=device, owns_group=owns, in_group=True)


def _without_nproc(argv: list[str]) -> list[str]:
    """``argv`` without ``--nproc K`` / ``--nproc=K`` (or an argparse abbreviation of it)."""
    out, skip = [], False
    for arg in argv:
        name = arg.split("=", 1)[0]
        if skip:
            skip = False
        elif len(name) >= 3 and "--nproc".startswith(name):
            skip = "=" not in arg
        else:
            out.append(arg)
    return out


def launch_torchrun(nproc: int, argv: list[str]) -> int:
    """Run ``python -m torch.distributed.run --standalone --nproc-per-node nproc -m ganforge <argv>``
    (``argv`` without ``--nproc``) and return its exit status. SIGINT and SIGTERM go to the workers
    (torchrun's children, else torchrun), which finish the step, checkpoint and exit 0, as one process does.
    When a worker fails with a ganforge error, its one line is shown, torchrun's report of the failed child
    is dropped, and the status is 2, as for one process."""
    if launched_by_torchrun():
        raise ConfigError("--nproc launches torchrun itself; drop --nproc when running under torchrun")
    if nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, got {nproc}")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "ganforge", *_without_nproc(argv)]
    # Ctrl-C reaches this process only; workers' stderr passes through here (see _relay_stderr)
    proc = subprocess.Popen(cmd, start_new_session=True, stderr=subprocess.PIPE, text=True, bufsize=1)

    def forward(signum: int, frame) -> None:
        workers = _children(proc.pid)
        for pid in workers:
            os.kill(pid, signum)
        if not workers:
            proc.send_signal(signum)

    old = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        failed = _relay_stderr(proc.stderr)
        status = proc.wait()
        return 2 if failed and status != 0 else status
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _relay_stderr(stream) -> bool:
    """Copy torchrun's stderr line by line until the first ``ganforge: error:`` line, which is copied and
    ends the copying (what follows is torchrun's traceback of the failed child and other ranks' copies of
    the same error). Returns whether such a line was seen."""
    failed = False
    for line in stream:
        if not failed:
            sys.stderr.write(line)
            sys.stderr.flush()
            failed = line.startswith("ganforge: error:")
    return failed


def _children(pid: int) -> list[int]:
    """Child process ids of ``pid`` (Linux /proc; [] elsewhere)."""
    try:
        return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    except OSError:
        return []
