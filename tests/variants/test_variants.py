"""Contract over every registered variant, and the pieces of the classic family's steps."""

from __future__ import annotations

import contextlib
import dataclasses
import math

import pytest
import torch

from ganforge.config import MODEL_CONFIGS
from ganforge.errors import ConfigError
from ganforge.nets import DCGANDiscriminator, DCGANGenerator, WGANGPMNISTCritic, WGANGPMNISTGenerator
from ganforge.train.session import Session
from ganforge.variants import VARIANTS, StepContext, register_variant
from ganforge.variants.base import critic_iterations, update
from ganforge.variants.scoring import critic_scores, fake_batches, has_batch_statistics
from helpers.sessions import IMAGE, TOY, UNIT, tiny_session, tiny_settings


def run_steps(session: Session, steps: int, start: int = 0) -> list[dict]:
    out = []
    for step in range(start, start + steps):
        ctx = StepContext(cfg=session.cfg, nets=session.nets, optimizers=session.optimizers,
                          next_batch=session.stream.next, step=step, device=session.device)
        out.append({k: float(v) for k, v in session.spec.train_step(ctx).items()})
    return out


@pytest.mark.parametrize("model", VARIANTS.names())
def test_every_variant_is_declared_once_with_tiny_settings(model):
    spec = VARIANTS.get(model)
    assert spec.name == model == spec.config_class.name and MODEL_CONFIGS.get(model) is spec.config_class
    assert tiny_settings(model)["model"]  # fails naming VariantSpec.tiny when a model declares none
    with pytest.raises(ValueError, match="already registered"):
        register_variant(spec)
    with pytest.raises(ValueError, match="write the model's name once"):
        dataclasses.replace(spec, name=f"{model}-renamed")


def test_every_module_with_a_spec_is_registered_without_a_list():
    """A model is found from its own file: each ganforge.variants module that defines SPEC is registered."""
    import importlib
    import pkgutil

    import ganforge.variants as package

    modules = [importlib.import_module(f"ganforge.variants.{m.name}") for m in pkgutil.iter_modules(package.__path__)]
    found = {module.SPEC.name for module in modules if hasattr(module, "SPEC")}
    assert found == set(VARIANTS.names())
    assert {"aegan", "gan", "lapgan", "modnet", "ppgn", "stackgan", "wgan", "wgan-gp"} <= found  # none lost


def test_update_clears_gradients_then_steps_every_optimizer():
    a, b = torch.nn.Parameter(torch.tensor(1.0)), torch.nn.Parameter(torch.tensor(2.0))
    a.grad = torch.tensor(100.0)  # a stale gradient is dropped, not accumulated
    opts = torch.optim.SGD([a], lr=0.5), torch.optim.SGD([b], lr=0.25)
    update(3 * a + 4 * b, *opts)
    assert (float(a.detach()), float(b.detach())) == (1.0 - 0.5 * 3, 2.0 - 0.25 * 4)
    assert float(a.grad) == 3.0 and float(b.grad) == 4.0


@pytest.mark.parametrize("data", [IMAGE, TOY], ids=["image", "toy"])
@pytest.mark.parametrize("model", VARIANTS.names())
def test_every_variant_takes_two_finite_steps_and_changes_weights(model, data):
    """Each registered model at its spec's tiny settings; a model that refuses 2-D points says so in one
    ConfigError line. Every net with trainable parameters (frozen encoders and buffer-only records have
    none) changes in two steps."""
    try:
        session = tiny_session(model, data, [])
    except ConfigError as refusal:
        if data is IMAGE:
            raise
        assert "\n" not in str(refusal)
        pytest.skip(str(refusal))
    trained = {k for k, v in session.nets.items() if any(p.requires_grad for p in v.parameters())}
    before = {k: [p.detach().clone() for p in v.parameters()] for k, v in session.nets.items()}
    logs = run_steps(session, 2)
    assert all(math.isfinite(v) for log in logs for v in log.values())
    assert "loss_g" in logs[0] and any(k.startswith("loss_d") for k in logs[0])  # ppgn: loss_d_<layer>
    for name, net in session.nets.items():
        if name not in trained:
            continue
        assert any(not torch.equal(a, b) for a, b in zip(before[name], net.parameters(), strict=True)), name
    samples = session.spec.generate(session.nets, session.cfg, 5)
    assert samples.shape == (5, *data.shape)


def test_warmup_critic_schedule():
    counts = [critic_iterations(s, 5, True) for s in (0, 24, 25, 26, 499, 500, 501, 1000)]
    assert counts == [100, 100, 5, 5, 5, 100, 5, 100]
    assert [critic_iterations(s, 5, False) for s in (0, 500)] == [5, 5]


def test_wgan_clips_every_critic_weight():
    session = tiny_session("wgan", IMAGE, ["model.warmup=false", "model.clip=0.005"])
    run_steps(session, 1)
    for p in session.nets["critic"].parameters():
        assert float(p.abs().max()) <= 0.005 + 1e-12


def test_wgan_warmup_uses_a_hundred_critic_batches():
    session = tiny_session("wgan", TOY, ["model.warmup=true"])
    run_steps(session, 1, start=0)
    assert session.stream.epoch * session.stream.batches_per_epoch + session.stream.position == 100


def test_joint_critic_pass_equals_separate_passes():
    torch.manual_seed(0)
    critic = WGANGPMNISTCritic(dim=4)
    assert not has_batch_statistics(critic)
    real, fake = torch.rand(6, 1, 28, 28), torch.rand(6, 1, 28, 28)
    r, f = critic_scores(critic, real, fake)
    torch.testing.assert_close(r, critic(real), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(f, critic(fake), rtol=1e-5, atol=1e-6)
    bn = DCGANDiscriminator(image_shape=(1, 28, 28), width=4, norm="batch")
    assert has_batch_statistics(bn)
    r, f = critic_scores(bn, real, fake)
    torch.testing.assert_close(f, bn(fake), rtol=1e-5, atol=1e-6)  # separate pass: own batch statistics


def test_batched_fakes_equal_separate_generator_passes():
    torch.manual_seed(1)
    g = WGANGPMNISTGenerator(z_dim=8, dim=4)
    torch.manual_seed(7)
    batched = fake_batches(g, 3, 5, 8, device=torch.device("cpu"), autocast=contextlib.nullcontext)
    torch.manual_seed(7)
    z = torch.randn(15, 8)
    with torch.no_grad():
        separate = [g(chunk) for chunk in z.chunk(3)]
    assert len(batched) == 3
    for a, b in zip(batched, separate, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    bn_gen = DCGANGenerator(z_dim=8, image_shape=(1, 28, 28), width=4)
    out = fake_batches(bn_gen, 3, 4, 8, device=torch.device("cpu"), autocast=contextlib.nullcontext)
    assert [tuple(o.shape) for o in out] == [(4, 1, 28, 28)] * 3


def test_minimax_and_non_saturating_generator_losses_differ():
    logs = {}
    for g_loss in ("minimax", "non-saturating"):
        torch.manual_seed(0)
        session = tiny_session("gan", TOY, [f"model.g_loss={g_loss}"])
        logs[g_loss] = run_steps(session, 1)[0]
    assert logs["minimax"]["loss_g"] < 0 < logs["non-saturating"]["loss_g"]
    assert logs["minimax"]["loss_d"] == pytest.approx(logs["non-saturating"]["loss_d"], rel=1e-6)


def test_wgan_gp_methods_give_the_same_step():
    results = []
    for method in ("autograd", "explicit"):
        torch.manual_seed(0)
        session = tiny_session("wgan-gp", UNIT, ["model.net=wgan-gp-mnist", f"model.gp_method={method}"])
        results.append(run_steps(session, 2))
    for a, b in zip(*results, strict=True):
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), key
