"""PPGN-h speed (seed thesis, KTH 2018; Nguyen et al. 2017): generator steps per second of the six PPGN-disc
variants, and MALA-approx chain-steps per second, batched chains against chains run one at a time.

Prints one JSON object.

1. Training: per preset ``ppgn-<variant>`` at ``--width`` (default 0.125, the reduced experiment's), a
   generator step outside the warm-up schedule (5 critic steps + 1 generator step; steps 101.. of the
   schedule) timed in ``--rounds`` interleaved rounds of ``--steps`` steps (median reported), and a warm-up
   step (step 0: 100 critic steps + 1 generator step) timed ``--warmup-rounds`` times. Data are synthetic
   MNIST-shaped tensors and E is untrained (step cost depends on neither). ``--gp-methods auto,autograd``
   times each variant with both gradient-penalty methods, interleaved, and reports the speed-up of each
   method over the last one named.
2. MALA: ``--chains`` chains advanced together (one batched ``mala_step`` per step) against the same number
   of chains run one after another, ``--mala-steps`` steps each, interleaved in ``--rounds`` rounds, at each
   of ``--mala-widths``. The ratio of chain-steps per second is the batching speed-up (the issue asks for at
   least 5x). The final G(h_T) render is left out of both.
3. G passes: forward hooks on G and E count the calls of ``variants.ppgn.sample_mala`` (the real entry
   point): one G pass and one E pass per MALA step for all chains, plus one G pass for G(h_T).

    OMP_NUM_THREADS=1 python benchmarks/ppgn.py [--width 0.125] [--rounds 5] [--mala-widths 0.125,1]
        [--gp-methods auto,autograd] [--variants vanilla,fc1-full]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from ganforge.experiments.ppgn_disc import VARIANTS  # noqa: E402
from ganforge.nets import MNISTClassifier, PPGNGenerator  # noqa: E402
from ganforge.nets.classifier_files import frozen  # noqa: E402
from ganforge.samplers.mala import MALASettings, mala_step  # noqa: E402
from ganforge.train.runtime import cpu_has_native_bf16  # noqa: E402
from ganforge.variants.ppgn import sample_mala  # noqa: E402
from machine import describe  # noqa: E402
from train_step import ganforge_steps, synchronize, synthetic_session  # noqa: E402


def bench_training(variants: list[str], width: float, rounds: int, steps: int, warmup_rounds: int,
                   gp_methods: list[str]) -> dict:
    """Seconds per generator step of every variant (and ``model.gp_method``), outside and inside the warm-up
    schedule; all sessions interleaved in each round."""
    keys = [(v, m) for v in variants for m in gp_methods]
    sessions = {k: synthetic_session(f"ppgn-{k[0]}", ["model.encoder=random", f"model.width={width:g}",
                                                      f"model.gp_method={k[1]}"]) for k in keys}
    for session in sessions.values():  # warm-up of the allocator and kernels
        ganforge_steps(session, 1)
    normal: dict[tuple, list[float]] = {k: [] for k in keys}
    for _ in range(rounds):
        for k, session in sessions.items():
            normal[k].append(ganforge_steps(session, steps))
    warm = {k: [ganforge_steps(s, 1, start=-1) for _ in range(warmup_rounds)] for k, s in sessions.items()}  # step 0
    out: dict = {}
    for (v, m), session in sessions.items():
        median = statistics.median(normal[v, m])
        row = {"critics": list(session.cfg.model.critics), "steps_per_s": 1.0 / median, "s_per_step": median,
               "s_per_step_all": [round(x, 4) for x in normal[v, m]], "warmup_step_s": min(warm[v, m]),
               "warmup_step_s_all": [round(x, 3) for x in warm[v, m]], "precision": session.precision}
        out[v if len(gp_methods) == 1 else f"{v}/gp_method={m}"] = row
        print(json.dumps({f"{v}/{m}": row}), file=sys.stderr, flush=True)
    if len(gp_methods) > 1:  # speed-up of each method over the last one named (e.g. auto,autograd)
        base = gp_methods[-1]
        out["speedup_over_" + base] = {f"{v}/gp_method={m}": statistics.median(normal[v, base]) /
                                       statistics.median(normal[v, m]) for v, m in keys if m != base}
    return out


def mala_nets(width: float, device: torch.device) -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {"generator": PPGNGenerator(width=width).eval().to(device),
            "encoder": frozen(MNISTClassifier(width=width)).to(device)}


def mala_callables(nets: dict[str, torch.nn.Module]):
    """G and the encoder callable (R(h) = E_fc1(x), logits) exactly as ``variants.ppgn.sample_mala`` builds them."""
    E = nets["encoder"]

    def encoder(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        acts = E.activations(x, ["fc1", E.logits_layer])
        return acts["fc1"], acts[E.logits_layer]

    return nets["generator"], encoder


def chain_seconds(nets: dict, h0: torch.Tensor, classes: torch.Tensor, steps: int, batched: bool) -> float:
    """Wall seconds of ``steps`` MALA steps of every chain, all chains in one batch or one chain at a time."""
    G, encoder = mala_callables(nets)
    settings = MALASettings()
    groups = [(h0, classes)] if batched else [(h0[i:i + 1], classes[i:i + 1]) for i in range(len(h0))]
    start = time.perf_counter()
    for h, c in groups:
        for _ in range(steps):
            h, _ = mala_step(h, c, G, encoder, settings)
    synchronize(h0.device)
    return time.perf_counter() - start


def bench_mala(width: float, chains: int, steps: int, rounds: int) -> dict:
    """Chain-steps per second, batched and one chain at a time (interleaved rounds, medians)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # where training runs (device auto)
    nets = mala_nets(width, device)
    h0 = torch.randn(chains, 64, generator=torch.Generator().manual_seed(1)).to(device)
    classes = (torch.arange(chains) % nets["encoder"].num_classes).to(device)
    chain_seconds(nets, h0, classes, 1, True)
    chain_seconds(nets, h0[:2], classes[:2], 1, False)
    times: dict[str, list[float]] = {"batched": [], "one_at_a_time": []}
    for _ in range(rounds):
        for mode in times:
            times[mode].append(chain_seconds(nets, h0, classes, steps, mode == "batched"))
    rate = {mode: chains * steps / statistics.median(v) for mode, v in times.items()}
    ratio = rate["batched"] / rate["one_at_a_time"]
    out = {"chains": chains, "steps_per_round": steps, "batched_chain_steps_per_s": rate["batched"],
           "one_at_a_time_chain_steps_per_s": rate["one_at_a_time"], "batching_speedup": ratio,
           "meets_5x": ratio >= 5.0, **{f"{m}_s_all": [round(x, 3) for x in v] for m, v in times.items()},
           **g_passes(nets, chains)}
    print(json.dumps({f"mala_width_{width:g}": out}), file=sys.stderr, flush=True)
    return out


def g_passes(nets: dict, chains: int, steps: int = 5) -> dict:
    """G and E forward calls, and images through G, per MALA step of ``sample_mala`` (hooks on G and E.conv1)."""
    calls = {"g": [], "e": []}
    hooks = [nets["generator"].register_forward_hook(lambda m, i, o: calls["g"].append(len(i[0]))),
             nets["encoder"].conv1.register_forward_hook(lambda m, i, o: calls["e"].append(len(i[0])))]
    try:
        classes = (torch.arange(chains) % nets["encoder"].num_classes).to(next(nets["generator"].parameters()).device)
        sample_mala(nets, classes, MALASettings(steps=steps), generator=torch.Generator().manual_seed(0))
    finally:
        for hook in hooks:
            hook.remove()
    final = 1  # G(h_T) for the returned images
    return {"g_forward_calls_per_mala_step": (len(calls["g"]) - final) / steps,
            "g_images_per_chain_step": (sum(calls["g"]) - chains * final) / (chains * steps),
            "e_forward_calls_per_mala_step": len(calls["e"]) / steps,
            "g_forward_calls_total": len(calls["g"]), "mala_steps_counted": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--width", type=float, default=0.125, help="width of the trained variants")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="timed generator steps per round")
    parser.add_argument("--warmup-rounds", type=int, default=2, help="timed warm-up steps (100 critic steps each)")
    parser.add_argument("--gp-methods", default="auto",
                        help="comma list of model.gp_method values timed side by side (auto,autograd: the speed-up "
                             "of the explicit penalty over autograd's double backward)")
    parser.add_argument("--chains", type=int, default=100)
    parser.add_argument("--mala-steps", type=int, default=4, help="MALA steps per chain and round")
    parser.add_argument("--mala-widths", default="0.125,1", help="widths of G and E for the MALA timing ('' skips it)")
    args = parser.parse_args()
    torch.manual_seed(0)
    result = {"machine": {**describe(), "native_bf16": cpu_has_native_bf16()},
              "width": args.width, "rounds": args.rounds, "steps_per_round": args.steps}
    result["generator_steps"] = bench_training(args.variants.split(","), args.width, args.rounds, args.steps,
                                               args.warmup_rounds, args.gp_methods.split(","))
    result["mala"] = {f"width_{float(w):g}": bench_mala(float(w), args.chains, args.mala_steps, args.rounds)
                      for w in args.mala_widths.split(",") if w}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
