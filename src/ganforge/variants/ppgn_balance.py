"""The PPGN-h generator loss term by term: each term's gradient on G, and the thesis's rule for the
adversarial weights (seed thesis, KTH 2018: the λs are set "such that every partial loss has the same
order of magnitude when training commences"; Nguyen et al. 2017, Eq. 11 for the loss).

The thesis chose its numbers (λ_img 2, λ_h 0.1, λ_adv 1) for its data, MNIST standardised by mean 0.1307
and std 0.3081, and its own encoder. ganforge trains on pixels in [-1, 1] with its own encoder E, where the
MSE terms have another scale while a WGAN-GP critic's gradient stays near 1 in its input units, so the
thesis's λ_adv = 1 lets the critics drown the image term (measured: an adversarial gradient on G 2-16× the
image term's, after which G stops using h). ``model.adv_weights: auto`` applies the thesis's rule instead
of its numbers, in one of two ways (``model.adv_balance``):

- ``every_step`` (the default): at every generator step λ_i = ||∇_θG λ_img L_img|| / ||∇_θG adv_i||, from
  that step's own gradients (the adaptive weight of Esser et al. 2021, Eq. 7, per critic), so the rule
  "every partial loss has the same order of magnitude" holds throughout training, not only when it starts.
- ``start`` (the thesis's words taken literally): once, at the first generator step that uses critic i,

      λ_i = ||∇_θG λ_img L_img|| / ||∇_θG (-E_b[<u_b, E_i(G(h_b))>])||,   u_b = ∇D_i(f_b) / ||∇D_i(f_b)||,

  f_b = E_i(G(h_b)): the adversarial term's gradient on G as it would be if the critic met its penalty's
  target ||∇D_i|| = 1, in the critic's present direction (the untrained critic's own gradient gave
  λ ≈ 6,000 on a tiny net). λ_i = 1 where that gradient is exactly 0.

Why every step: with ``start`` on the reduced experiment (vanilla, width 0.125, no warm-up) the critic's
gradient at G's samples grew 30-50× past the unit norm within 100 steps, so the adversarial term drowned
the image term again (grad_adv/grad_img 30-50, reconstruction MSE still 0.7-1.1 at step 358, MALA class
accuracy 0.11 by the domain classifier); with ``every_step`` the same run reached MSE 0.57 by step 145 and
class accuracy 0.645.

The λs are buffers of G (``adv_weight``, ``adv_calibrated``), saved in every checkpoint, so a resumed run
uses the same values (``start``) or recomputes them exactly (``every_step``); in a distributed run the
norms are averaged over the processes first, so every process sets the same λ.

Every generator step takes each weighted term's gradient on G separately (``torch.autograd.grad``, one
backward per term) and sums them into G's ``.grad``. Logged per step: ``grad_img``, ``grad_feat``,
``grad_adv_<layer>`` (L2 norms of the weighted terms' gradients on G's parameters) and ``lambda_<layer>``,
so a drowned term shows in the curves.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


def term_weights(generator: nn.Module, m) -> dict[str, float]:
    """Loss term → weight: ``loss_img`` λ_img, ``loss_feat`` λ_h, ``adv_<layer>`` λ_i (G's λs with auto).

    Args:
        generator: G with its ``adv_weight`` buffer (one per critic of ``m.critics``).
        m: the variant's config (``img_weight``, ``feat_weight``, ``adv_weights``, ``critics``).
    """
    adv = generator.adv_weight.tolist() if m.adv_weights == "auto" else m.adv_weights
    return {"loss_img": m.img_weight, "loss_feat": m.feat_weight,
            **{f"adv_{layer}": float(w) for layer, w in zip(m.critics, adv, strict=True)}}


def log_name(term: str) -> str:
    """The logged gradient-norm key of a loss term (``loss_img`` → ``grad_img``, ``adv_fc1`` → ``grad_adv_fc1``)."""
    return {"loss_img": "grad_img", "loss_feat": "grad_feat"}.get(term, f"grad_{term}")


def term_gradients(terms: dict[str, torch.Tensor], params: list[nn.Parameter]) -> dict[str, list[torch.Tensor]]:
    """∇_θ of each scalar term in ``terms`` (one backward each, graph kept): name → one tensor per parameter."""
    grads = {}
    for name, term in terms.items():
        got = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
        grads[name] = [torch.zeros_like(p) if g is None else g for p, g in zip(params, got, strict=True)]
    return grads


def global_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """L2 norm over all parameters' gradients, in float64 (a 0-d tensor)."""
    return torch.sqrt(sum((g.double().square().sum() for g in grads), torch.zeros((), dtype=torch.float64)))


def unit_critic_terms(critics: dict[str, nn.Module], acts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``adv_<layer>`` → -E_b[<u_b, f_b>] with u_b the critic's input gradient at f_b = E_i(G(h_b)) scaled to
    norm 1 (detached): the adversarial term of a critic whose gradient has its penalty's target norm.

    Args:
        critics: layer → D_i; acts: layer → E_i(x^) (B, ...) with the graph to G.
    """
    out = {}
    for layer, f in acts.items():
        probe = f.detach().float().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(critics[layer](probe).sum(), probe)
        u = g / g.flatten(1).norm(dim=1).clamp_min(1e-30).view(-1, *([1] * (g.dim() - 1)))
        out[f"adv_{layer}"] = -(u * f.float()).flatten(1).sum(1).mean()
    return out


def mean_over_processes(values: torch.Tensor) -> torch.Tensor:
    """``values`` averaged over the processes of a distributed run (unchanged in a single process)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        values = values.clone()
        dist.all_reduce(values)
        values /= dist.get_world_size()
    return values


def calibrate(generator: nn.Module, m, critics: dict[str, nn.Module], acts: dict[str, torch.Tensor],
              reference: torch.Tensor) -> None:
    """Set λ_i (module docstring) for every used critic in ``acts`` that is not calibrated yet.

    Args:
        generator: G with the ``adv_weight`` / ``adv_calibrated`` buffers, in the order of ``m.critics``.
        critics, acts: the used critics and their features E_i(x^) (graph to G kept).
        reference: the weighted image term's gradient norm on G (0-d).
    """
    todo = [layer for layer in acts if not bool(generator.adv_calibrated[m.critics.index(layer)])]
    if not todo:
        return
    params = [p for p in generator.parameters() if p.requires_grad]
    unit = unit_critic_terms({k: critics[k] for k in todo}, {k: acts[k] for k in todo})
    norms = [global_norm(g) for g in term_gradients(unit, params).values()]
    stacked = mean_over_processes(torch.stack([reference.double(), *norms]))
    for layer, norm in zip(todo, stacked[1:], strict=True):
        i = m.critics.index(layer)
        generator.adv_weight[i] = stacked[0] / norm if norm > 0 else 1.0
        generator.adv_calibrated[i] = True


def rebalance(generator: nn.Module, m, norms: dict[str, torch.Tensor]) -> None:
    """``adv_balance: every_step``: λ_i = ||∇ λ_img L_img|| / ||∇ adv_i|| from this step's measured norms
    (averaged over processes), so every adversarial term's gradient on G equals the image term's at every step
    (the adaptive weight of Esser et al. 2021, Eq. 7, per critic); λ_i keeps its last value where ∇ adv_i = 0."""
    used = [name[4:] for name in norms if name.startswith("adv_")]
    if not used:
        return
    stacked = mean_over_processes(torch.stack([m.img_weight * norms["loss_img"], *(norms[f"adv_{c}"] for c in used)]))
    for layer, norm in zip(used, stacked[1:], strict=True):
        i = m.critics.index(layer)
        if norm > 0:
            generator.adv_weight[i] = stacked[0] / norm
        generator.adv_calibrated[i] = True


def accumulate(params: list[nn.Parameter], weights: dict[str, float], grads: dict[str, list[torch.Tensor]]) -> None:
    """G's ``.grad`` = Σ_terms weight · ∇ term, in the fixed order of ``grads``."""
    for k, p in enumerate(params):
        total = None
        for name, per_param in grads.items():
            g = weights[name] * per_param[k]
            total = g if total is None else total + g
        p.grad = total


def generator_update(generator: nn.Module, optimizer: torch.optim.Optimizer, m, terms: dict[str, torch.Tensor],
                     critics: dict[str, nn.Module], acts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One optimizer step of G on the weighted ``terms``, each term's gradient taken apart.

    With ``adv_weights: auto`` the λs of critics used for the first time are calibrated first.
    Returns the logs: ``loss_g`` (with the λs used), ``grad_*`` norms and ``lambda_<layer>``.
    """
    params = [p for p in generator.parameters() if p.requires_grad]
    weight = term_weights(generator, m)
    parts = {name: t for name, t in terms.items() if name != "loss_g" and weight[name] != 0}
    grads = term_gradients(parts, params)
    norms = {name: global_norm(g) for name, g in grads.items()}
    if m.adv_weights == "auto" and m.adv_balance == "start":
        calibrate(generator, m, critics, acts, m.img_weight * norms["loss_img"])
    elif m.adv_weights == "auto":
        rebalance(generator, m, norms)
    weight = term_weights(generator, m)
    optimizer.zero_grad(set_to_none=True)
    accumulate(params, weight, grads)
    optimizer.step()
    logs = {"loss_g": sum(weight[n] * t.detach() for n, t in terms.items() if n != "loss_g")}
    logs.update({log_name(n): (weight[n] * norm).float() for n, norm in norms.items()})
    logs.update({f"lambda_{layer}": torch.tensor(weight[f"adv_{layer}"]) for layer in m.critics})
    return logs
