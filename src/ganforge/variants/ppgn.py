"""Noiseless Joint PPGN-h with WGAN-GP critics on encoder layers (Nguyen et al. 2017, "Plug & Play
Generative Networks", Sec. 3.3 and Eq. 11; the seed thesis, KTH 2018, and its reference code ``ppgn-disc``).

One generator step, with x real images (B, 1, 28, 28), h = E_fc1(x) (B, 64) and x^ = G(h):

    L_G = λ_img MSE(x^, x) + λ_h MSE(E_fc1(x^), h) + Σ_i λ_i (-E[D_i(E_i(x^))])

(λ_img 2, λ_h 0.1, λ_i 1 in the thesis; ``img_weight``, ``feat_weight``, ``adv_weights``). The thesis's λ_i = 1
was calibrated for its data scale (MNIST standardised by mean 0.1307, std 0.3081) and its encoder; ganforge's
pixels are in [-1, 1] and E is its own classifier, so ``adv_weights: auto`` (the default, and the presets')
applies the thesis's rule instead: each λ_i is set so that the adversarial term's gradient norm on G equals
the image term's, at every step (``adv_balance: every_step``, the default) or once at the start
(``start``, the rule taken literally), see ``variants.ppgn_balance``; explicit numbers still work. E is frozen, so
the feature and adversarial terms reach G through E. ``output_units`` (``pixels``, the default, or
``standardised``) says what G's last layer produces: pixels, or the reference code's standardised units mapped
to pixels by a fixed affine map (``ppgn_nets.output_map``). The units decide where an untrained G starts:
at mid-grey with ``pixels``, where the reduced run's E (width 0.125) has no active first-layer unit, so a loss
that reaches G only through E (fc1-adv's) gives G an exactly zero gradient; at the mean pixel with
``standardised``, as in the reference code. E_i is E up to layer i (``critics`` names the
layers: conv1, conv2, pool2, conv3, pool3, fc1, fc2, or ``image`` for the pixel critic D with E_i the
identity). Each critic D_i is a WGAN-GP critic (Gulrajani et al. 2017, Eq. 3) on real E_i(x) against fake
E_i(G(E(x))), gradient penalty λ 10 (``gp_method``: ``auto``, the default, writes the critics' input gradient
out, ``losses.explicit_gradient``; ``autograd``'s double backward gives the same values; a vanilla generator
step with its 5 critic steps runs 1.2× faster with the explicit one, an fc1-full one as fast:
``benchmarks/ppgn.py --gp-methods auto,autograd``), with its own Adam optimizer and logged Wasserstein
estimate ``w_<layer>`` = E[D_i(real)] - E[D_i(fake)]. Critic schedule: ``n_critic`` (5) critic steps per
generator step, and with ``warmup`` 100 for each of the first 25 generator steps and every 500th
(``variants.base.critic_iterations``). Each critic step takes a fresh batch; as in the reference code the
generator step reuses the last critic batch (it draws one when no critic is attached). Adam 1e-4
(0.5, 0.9), batch 32, 15 epochs (4,979 generator steps with this schedule) as in the thesis.

``critic_choice: random`` (the thesis's ``random`` variant, two critics D and D1): each generator step picks
one critic uniformly (p = 1/2) and uses only that critic and its term; only it trains, except in warm-up
steps, where every critic trains (the generator still uses only the picked one, as SPEC.md says; the
reference code also adds both terms there). The pick comes from a generator seeded with ``train.seed`` and
the step index, so a resumed run, and every process of a distributed one, picks the same critics.

Logged: ``loss_g``, ``loss_img``, ``loss_feat``, ``adv_<layer>`` (the unweighted -E[D_i]), ``lambda_<layer>``,
the gradient norms on G of the weighted terms ``grad_img``, ``grad_feat``, ``grad_adv_<layer>``, and per
trained critic ``loss_d_<layer>``, ``gp_<layer>``, ``w_<layer>``; ``critic_pick`` (index into ``critics``)
with ``random``. Unconditional samples (``generate``): G(h) with h = max(0, μ + σ z), z ~ N(0, I), μ and σ the
per-unit mean and standard deviation of every training code h the generator step saw (buffers of G;
h is post-ReLU, hence the clamp). Conditional samples: :func:`sample_mala` (MALA-approx, Eq. 11).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.config import Config, ModelConfig, OptimConfig
from ganforge.errors import ConfigError
from ganforge.losses import discriminator_loss, gradient_penalty, wasserstein_estimate
from ganforge.nets.ppgn import CODE_DIM
from ganforge.samplers.mala import MALAResult, MALASettings, chain_classes, run_mala
from ganforge.variants import ppgn_balance as balance
from ganforge.variants.base import (
    StepContext,
    VariantSpec,
    critic_iterations,
    make_optimizer,
    set_requires_grad,
    update,
)
from ganforge.variants.ppgn_nets import CRITIC_LAYERS, build_ppgn_nets, critic_net_name
from ganforge.variants.ppgn_sampling import MALA
from ganforge.variants.sample_modes import NOISE
from ganforge.variants.scoring import critic_scores


@dataclass
class PPGNConfig(ModelConfig):
    """PPGN-h hyperparameters (thesis defaults: the ``fc1`` variant with the full loss)."""

    name: str = "ppgn"
    width: float = 1.0  # multiplies every hidden width of G, the critics and E (1: the exact nets)
    encoder: str = "default"  # classifier folder; "default": the dataset's cached one; "random": tests only
    critics: list[str] = field(default_factory=lambda: ["fc1"])  # layers of E ("image": the pixel critic D)
    adv_weights: Literal["auto"] | list[float] = "auto"  # λ_i, one per critic; auto: the thesis's balancing rule
    adv_balance: Literal["every_step", "start"] = "every_step"  # with auto: λ re-set every step, or set once
    img_weight: float = 2.0  # λ_img
    feat_weight: float = 0.1  # λ_h
    critic_choice: Literal["all", "random"] = "all"
    output_units: Literal["pixels", "standardised"] = "pixels"  # G's last layer: pixels, or the reference's units
    n_critic: int = 5
    warmup: bool = True
    gp_weight: float = 10.0
    gp_method: Literal["auto", "autograd", "explicit"] = "auto"  # how the penalty's ∇D is computed
    optim_g: OptimConfig = OptimConfig.field(lr=1e-4, betas=(0.5, 0.9))
    optim_d: OptimConfig = OptimConfig.field(lr=1e-4, betas=(0.5, 0.9))

    @property
    def z_dim(self) -> int:
        """Size of the N(0, I) latent that ``generate`` maps to a code h (the 64-d fc1 code)."""
        return CODE_DIM

    def validate(self) -> None:
        unknown = [c for c in self.critics if c not in CRITIC_LAYERS]
        if unknown:
            raise ConfigError(f"model.critics: unknown layer {unknown[0]!r}; choose from {', '.join(CRITIC_LAYERS)}")
        if len(set(self.critics)) != len(self.critics):
            raise ConfigError(f"model.critics names a layer twice: {self.critics}; list each layer once")
        if self.adv_weights == "auto" and not self.img_weight > 0:
            raise ConfigError("model.adv_weights=auto balances each adversarial term against the image term, but "
                              "model.img_weight is 0; give the weights, e.g. model.adv_weights=[1]")
        if self.adv_weights != "auto" and len(self.adv_weights) != len(self.critics):
            raise ConfigError(f"model.adv_weights needs one weight per critic ({len(self.critics)}) or auto, got "
                              f"{len(self.adv_weights)}")
        if self.critic_choice == "random" and len(self.critics) < 2:
            raise ConfigError("model.critic_choice 'random' picks one of several critics; attach at least two "
                              "(--set model.critics=image,fc1) or use --set model.critic_choice=all")
        if not self.width > 0 or self.n_critic < 1 or not self.encoder:
            raise ConfigError("model.width must be > 0, model.n_critic >= 1 and model.encoder non-empty")
        explicit = [] if self.adv_weights == "auto" else list(self.adv_weights)
        if min([self.img_weight, self.feat_weight, self.gp_weight, *explicit]) < 0:
            raise ConfigError("model weights (img_weight, feat_weight, gp_weight, adv_weights) must be >= 0")


def build_optimizers(cfg: Config, nets: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
    """Adam for G (``optim_g``) and one Adam per critic (``optim_d``, separate moments); none for E."""
    m = cfg.model_as(PPGNConfig)
    opts = {"generator": make_optimizer(nets["generator"].parameters(), m.optim_g)}
    for layer in m.critics:
        name = critic_net_name(layer)
        opts[name] = make_optimizer(nets[name].parameters(), m.optim_d)
    return opts


def pick_critic(seed: int, step: int, count: int) -> int:
    """The critic index that ``critic_choice: random`` uses at ``step``: uniform over ``count``."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step + 17)
    return int(torch.randint(count, (1,), generator=gen))


def features(encoder: nn.Module, x: torch.Tensor, layers: list[str], *, code: bool = False) -> dict[str, torch.Tensor]:
    """E_i(x) for each critic layer i ("image": x itself), and fc1 with ``code``, in one pass of E."""
    wanted = {layer for layer in layers if layer != "image"} | ({"fc1"} if code else set())
    acts = encoder.activations(x, sorted(wanted)) if wanted else {}
    return {**acts, "image": x} if "image" in layers else acts


def critic_update(ctx: StepContext, layer: str, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
    """One WGAN-GP step of the critic on ``layer``: real E_i(x) (B, ...) against fake E_i(G(E(x)))."""
    name = critic_net_name(layer)
    D, opt = ctx.nets[name], ctx.optimizers[name]
    with ctx.autocast():
        real_s, fake_s = critic_scores(D, real, fake)
        gp, _ = gradient_penalty(D, real, fake, weight=ctx.cfg.model.gp_weight, method=ctx.cfg.model.gp_method)
    loss = discriminator_loss("wasserstein", real_s, fake_s) + gp
    update(loss, opt)
    return {f"loss_d_{layer}": loss.detach(), f"gp_{layer}": gp.detach(),
            f"w_{layer}": wasserstein_estimate(real_s.detach(), fake_s.detach())}


def critic_phase(ctx: StepContext, trained: list[str], count: int):
    """``count`` critic steps for every critic in ``trained``, each on a fresh batch.

    Returns:
        (last images x (B, 1, 28, 28) or None, their codes h (B, 64) or None, logs).
    """
    E, G = ctx.nets["encoder"], ctx.nets["generator"]
    set_requires_grad(True, *(ctx.nets[critic_net_name(layer)] for layer in trained))
    x = h = None
    logs: dict[str, torch.Tensor] = {}
    for _ in range(count):
        x, _ = ctx.next_batch()
        with torch.no_grad(), ctx.autocast():
            h = E.activations(x, ["fc1"])["fc1"]  # (B, 64)
            both = features(E, torch.cat([x, G(h).to(x.dtype)]), trained)  # real and fake in one pass of E
        for layer in trained:
            real, fake = both[layer].float().chunk(2)
            logs.update(critic_update(ctx, layer, real, fake))
    return x, h, logs


def generator_forward(nets: dict[str, nn.Module], m: PPGNConfig, x: torch.Tensor, h: torch.Tensor,
                      used: list[str]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(terms, features): ``loss_g`` and its parts, and E_i(x^) for the used critics (module docstring).

    Args:
        x: real images (B, 1, 28, 28); h: their codes E_fc1(x) (B, 64).
        used: the critic layers whose adversarial terms enter (zero-weight critics are left out).
    """
    G, E = nets["generator"], nets["encoder"]
    weight = balance.term_weights(G, m)
    used = [layer for layer in used if weight[f"adv_{layer}"] != 0]
    x_hat = G(h)  # (B, 1, 28, 28)
    acts = features(E, x_hat, used, code=True)  # E_i(x^) and E_fc1(x^)
    terms = {"loss_img": F.mse_loss(x_hat.float(), x.float()), "loss_feat": F.mse_loss(acts["fc1"].float(), h.float())}
    for layer in used:
        terms[f"adv_{layer}"] = -nets[critic_net_name(layer)](acts[layer]).float().mean()
    terms = {"loss_g": sum(weight[name] * term for name, term in terms.items()), **terms}
    return terms, {layer: acts[layer] for layer in used}


def generator_terms(nets: dict[str, nn.Module], m: PPGNConfig, x: torch.Tensor, h: torch.Tensor,
                    used: list[str]) -> dict[str, torch.Tensor]:
    """The generator loss ``loss_g`` and its parts (:func:`generator_forward` without the features)."""
    return generator_forward(nets, m, x, h, used)[0]


def train_step(ctx: StepContext) -> dict[str, torch.Tensor]:
    """Critic steps for the trained critics, then one generator step (module docstring)."""
    m = ctx.cfg.model_as(PPGNConfig)
    trained = used = list(m.critics)
    logs: dict[str, torch.Tensor] = {}
    if m.critic_choice == "random":
        pick = pick_critic(ctx.cfg.train.seed, ctx.step, len(m.critics))
        used = [m.critics[pick]]
        # warm-up steps (100 critic steps) train every critic: with n_critic 0 only they have critic steps
        trained = trained if critic_iterations(ctx.step, 0, m.warmup) > 0 else used
        logs["critic_pick"] = torch.tensor(float(pick))
    count = critic_iterations(ctx.step, m.n_critic, m.warmup) if trained else 0
    x, h, critic_logs = critic_phase(ctx, trained, count)
    if x is None:  # no critic attached: the generator step draws its own batch
        x, _ = ctx.next_batch()
        with torch.no_grad(), ctx.autocast():
            h = ctx.nets["encoder"].activations(x, ["fc1"])["fc1"]
    set_requires_grad(False, *(ctx.nets[critic_net_name(layer)] for layer in m.critics))
    with ctx.autocast():
        terms, acts = generator_forward(ctx.nets, m, x, h, used)
    critics = {layer: ctx.nets[critic_net_name(layer)] for layer in acts}
    update_logs = balance.generator_update(ctx.nets["generator"], ctx.optimizers["generator"], m, terms,
                                           critics, acts)
    ctx.nets["generator"].observe_codes(h)
    return {**logs, **critic_logs, **{k: v.detach() for k, v in terms.items()}, **update_logs}


def generate(nets: dict[str, nn.Module], cfg: Config, n: int, generator: torch.Generator | None = None,
             z: torch.Tensor | None = None) -> torch.Tensor:
    """Unconditional samples G(h), h = max(0, μ + σ z), z ~ N(0, I) (μ, σ: G's fit of training codes).

    Args:
        nets: needs ``generator``.
        cfg: the run's config.
        n: number of samples (ignored when ``z`` is given).
        generator: RNG for z.
        z: optional (n, 64) standard-normal latents.

    Returns:
        (n, 1, 28, 28) float32 images on G's device.
    """
    G = nets["generator"]
    device = next(G.parameters()).device
    if z is None:
        z = torch.randn(n, CODE_DIM, generator=generator)
    mean, std = (t.to(device) for t in G.code_gaussian())
    return G((mean + std * z.to(device)).clamp_min(0)).float()


def sample_mala(nets: dict[str, nn.Module], classes: int | torch.Tensor, settings: MALASettings, *, n: int = 1,
                generator: torch.Generator | None = None) -> MALAResult:
    """Class-conditional samples by MALA-approx (Eq. 11) from h_0 ~ N(0, I) with this run's G and E.

    Args:
        nets: needs ``generator`` and ``encoder`` (in eval mode).
        classes: one class for ``n`` chains, or a (B,) tensor with one class per chain.
        settings: ε1, ε2, ε3, steps, snapshots.
        n: chains when ``classes`` is one class.
        generator: CPU RNG for h_0 and the noise.

    Returns:
        :class:`~ganforge.samplers.mala.MALAResult` (codes (B, 64), images (B, 1, 28, 28), snapshots).
    """
    G, E = nets["generator"], nets["encoder"]
    device = next(G.parameters()).device
    count = n if torch.as_tensor(classes).dim() == 0 else len(classes)
    c = chain_classes(classes, count, device)
    if count < 1 or int(c.min()) < 0 or int(c.max()) >= E.num_classes:
        raise ConfigError(f"classes must be in 0..{E.num_classes - 1} with at least one chain, got "
                          f"{c.unique().tolist()} for {count} chain(s)")
    h0 = torch.randn(count, CODE_DIM, generator=generator).to(device)

    def encoder(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        acts = E.activations(x, ["fc1", E.logits_layer])
        return acts["fc1"], acts[E.logits_layer]  # R(h) = E_fc1(G(h)), logits of C = softmax(fc2)

    return run_mala(h0, c, G, encoder, settings, rng=generator)


SPEC = VariantSpec(
    description="Noiseless Joint PPGN-h (Nguyen 2017) with WGAN-GP critics on encoder layers (KTH 2018 thesis)",
    config_class=PPGNConfig,
    build_nets=build_ppgn_nets,
    build_optimizers=build_optimizers,
    train_step=train_step,
    generate=generate,
    tiny={"model": {"encoder": "random", "width": 0.0625, "warmup": False}},
    sample_modes=(NOISE, MALA),
)
