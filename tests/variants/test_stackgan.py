"""Stacked GAN (Huang et al. 2017): every loss term by hand, the frozen encoder stack, independent then joint
conditioning and its gradient routing, the entropy term, class-conditional sampling, config and encoder
refusals (its bit-for-bit resume: test_resume.py)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.nn import functional as F

from ganforge import config as C
from ganforge.errors import ConfigError
from ganforge.nets import MNISTClassifier
from ganforge.train.batches import BatchStream
from ganforge.train.classifier import save_classifier
from ganforge.train.session import Session, build_nets
from ganforge.variants import DataShape, stackgan
from ganforge.variants.stackgan_nets import encode_bottom, encode_top
from helpers.sessions import changed, snapshot, step

MNIST = DataShape((1, 28, 28), 10, (-1.0, 1.0))
TINY = ["model.name=stackgan", "model.encoder=random", "model.encoder_width=0.0625", "model.width=0.0625",
        "model.noise_0=4", "model.noise_1=3", "train.batch_size=4", "train.channels_last=false"]
TRAINED = {"generator_1", "generator_0", "critic_1", "critic_0", "q_1", "q_0"}


def tiny_session(*sets: str) -> Session:
    cfg = C.resolve(sets=[*TINY, *sets])
    spec, nets = build_nets(cfg, MNIST, torch.device("cpu"))
    images = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * 2 - 1
    stream = BatchStream(images, torch.arange(32) % 10, batch_size=cfg.train.batch_size, seed=0)
    return Session(cfg, spec, torch.device("cpu"), "fp32", nets, spec.build_optimizers(cfg, nets), MNIST, stream)


def batches(session: Session, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The first ``count`` batches the session's stream yields (a fresh stream of the same order)."""
    stream = BatchStream(session.stream.images, session.stream.labels, batch_size=4, seed=0)
    return [stream.next() for _ in range(count)]


def fc1_by_hand(E: MNISTClassifier, x: torch.Tensor) -> torch.Tensor:
    """E_0 = the classifier up to fc1, written out with the functional ops."""
    a = F.relu(F.conv2d(x, E.conv1.weight, E.conv1.bias))
    a = F.max_pool2d(F.relu(F.conv2d(a, E.conv2.weight, E.conv2.bias)), 2)
    a = F.max_pool2d(F.relu(F.conv2d(a, E.conv3.weight, E.conv3.bias)), 2)
    return F.relu(a.flatten(1) @ E.fc1.weight.T + E.fc1.bias)


def minus_log_sigmoid(s: torch.Tensor) -> torch.Tensor:
    return -torch.log(torch.sigmoid(s)).mean()


def minus_log_one_minus_sigmoid(s: torch.Tensor) -> torch.Tensor:
    return -torch.log(1 - torch.sigmoid(s)).mean()


def level_terms(nets, level: int, h_hat: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(L^adv = -log D_i(h^_i), L^ent = mean (Q_i(h^_i) - z_i)^2) by hand."""
    D, Q = nets[f"critic_{level}"], nets[f"q_{level}"]
    return minus_log_sigmoid(D(h_hat)), ((Q(D.body(h_hat)) - z) ** 2).mean()


@pytest.mark.parametrize("phase", ["independent", "joint"])
def test_every_loss_term_equals_a_hand_computation(phase):
    session = tiny_session("model.adv_weights=0.5,1.5", "model.cond_weights=2,0.3", "model.ent_weights=7,11",
                           "model.optim_g.lr=0", "model.optim_d.lr=0", f"model.phase={phase}")  # lr 0: nets stay
    torch.manual_seed(11)
    logs = step(session, 0)
    (x, y), = batches(session, 1)
    torch.manual_seed(11)  # the step draws z_1, z_0 for the D step, then fresh ones for the G step
    z1d, z0d, z1g, z0g = (torch.rand(4, n) for n in (3, 4, 3, 4))
    nets, joint = session.nets, phase == "joint"
    E, G1, G0, D1, D0 = (nets[k] for k in ("encoder", "generator_1", "generator_0", "critic_1", "critic_0"))
    y1 = F.one_hot(y, 10).float()
    with torch.no_grad():
        h1 = fc1_by_hand(E, x)
        h1d = G1(torch.cat([y1, z1d], 1))
        xd = G0(torch.cat([h1d if joint else h1, z0d], 1))
        expected = {"loss_d_1": 0.5 * (minus_log_sigmoid(D1(h1)) + minus_log_one_minus_sigmoid(D1(h1d))),
                    "loss_d_0": 0.5 * (minus_log_sigmoid(D0(x)) + minus_log_one_minus_sigmoid(D0(xd))),
                    "q_1": level_terms(nets, 1, h1d, z1d)[1], "q_0": level_terms(nets, 0, xd, z0d)[1]}
        h1g = G1(torch.cat([y1, z1g], 1))
        condition = h1g if joint else h1
        xg = G0(torch.cat([condition, z0g], 1))
        expected["adv_1"], expected["ent_1"] = level_terms(nets, 1, h1g, z1g)
        expected["adv_0"], expected["ent_0"] = level_terms(nets, 0, xg, z0g)
        logits = h1g @ E.fc2.weight.T + E.fc2.bias  # E_1 = fc2 after the fc1 split
        expected["cond_1"] = -(logits - logits.exp().sum(1, keepdim=True).log())[torch.arange(4), y].mean()
        expected["cond_0"] = ((fc1_by_hand(E, xg) - condition) ** 2).mean()
    expected["loss_d"] = (0.5 * expected["loss_d_0"] + 1.5 * expected["loss_d_1"] + 7 * expected["q_0"]
                          + 11 * expected["q_1"])
    expected["loss_g"] = sum(w * expected[k] for w, k in ((0.5, "adv_0"), (1.5, "adv_1"), (2, "cond_0"),
                                                          (0.3, "cond_1"), (7, "ent_0"), (11, "ent_1")))
    for key, value in expected.items():
        torch.testing.assert_close(torch.tensor(logs[key]), value, rtol=1e-5, atol=1e-6, msg=key)
    assert logs["joint"] == float(joint)


def test_encoder_stays_frozen_and_every_other_net_trains():
    session = tiny_session()
    E = session.nets["encoder"]
    before = snapshot(session)
    for index in range(2):
        step(session, index)
    assert changed(before, session) == TRAINED
    assert all(not p.requires_grad and p.grad is None for p in E.parameters())
    owned = {name: {id(p) for group in opt.param_groups for p in group["params"]}
             for name, opt in session.optimizers.items()}
    nets = lambda *names: {id(p) for n in names for p in session.nets[n].parameters()}  # noqa: E731
    assert owned == {"generator": nets("generator_1", "generator_0"),
                     "critic": nets("critic_1", "critic_0", "q_1", "q_0")}


def test_g0_takes_real_features_in_independent_steps_then_g1_output_in_joint_steps():
    session = tiny_session("model.phase=joint", "model.independent_steps=1")
    seen: dict[str, list[torch.Tensor]] = {"g0_condition": [], "g1_output": []}
    d = session.nets["generator_1"].sample_shape[0]
    session.nets["generator_0"].register_forward_pre_hook(lambda m, a: seen["g0_condition"].append(a[0][:, :d]))
    session.nets["generator_1"].register_forward_hook(lambda m, a, out: seen["g1_output"].append(out))
    (x0, _), _ = batches(session, 2)
    logs = [step(session, 0), step(session, 1)]
    assert [log["joint"] for log in logs] == [0.0, 1.0]
    real_h1 = encode_bottom(session.nets["encoder"], x0, "fc1")
    for condition in seen["g0_condition"][:2]:  # step 0: the D pass and the G pass use the real E_0(x)
        assert torch.equal(condition, real_h1)
    for condition, g1_out in zip(seen["g0_condition"][2:], seen["g1_output"][2:], strict=True):
        torch.testing.assert_close(condition, g1_out, rtol=0, atol=0)  # step 1: G_1's output h^_1
    assert stackgan.is_joint(session.cfg.model, 5)
    assert not any(stackgan.is_joint(tiny_session("model.phase=independent").cfg.model, s) for s in (0, 9))


def g1_gradients(session: Session, *, joint: bool, weight: float) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """loss_g and G_1's gradients with the level-1 weights at 0 (only G_0's losses can reach G_1)."""
    nets, m = session.nets, dataclasses.replace(session.cfg.model, joint_weight=weight)
    (x, y), = batches(session, 1)
    for net in nets.values():
        net.zero_grad(set_to_none=True)
    torch.manual_seed(0)
    terms = stackgan.generator_terms(nets, m, y, stackgan.stack_forward(nets, m, encode_bottom(nets["encoder"], x,
                                                                                               "fc1"), y, joint=joint))
    terms["loss_g"].backward()
    return terms["loss_g"].detach(), [torch.zeros_like(p) if p.grad is None else p.grad.clone()
                                      for p in nets["generator_1"].parameters()]


def test_joint_steps_send_g0_losses_into_g1_scaled_by_joint_weight():
    session = tiny_session("model.adv_weights=1,0", "model.cond_weights=1,0", "model.ent_weights=1,0")
    loss_ind, independent = g1_gradients(session, joint=False, weight=1.0)
    _, detached = g1_gradients(session, joint=True, weight=0.0)
    loss_full, full = g1_gradients(session, joint=True, weight=1.0)
    loss_quarter, quarter = g1_gradients(session, joint=True, weight=0.25)
    assert all(not g.any() for g in independent + detached)
    assert any(g.any() for g in full)
    assert torch.equal(loss_full, loss_quarter) and not torch.equal(loss_full, loss_ind)
    for a, b in zip(quarter, full, strict=True):
        torch.testing.assert_close(a, 0.25 * b, rtol=1e-5, atol=1e-8)


def test_entropy_term_falls_as_q_learns_to_recover_the_noise():
    """G fixed (lr 0), adversarial weights 0: D_i's body and Q_i learn only L^ent. From N(0, 0.02) weights,
    Q_0 and Q_1 recover much of their two noise units within 150 steps (at seed 0 the discriminator step's
    L^ent falls from 0.082 to 0.015-0.025 (Q_0) and ~0.028 (Q_1) by steps 120-150)."""
    session = tiny_session("model.optim_g.lr=0", "model.optim_d.lr=0.01", "model.adv_weights=0,0",
                           "model.noise_0=2", "model.noise_1=2", "train.batch_size=16")
    torch.manual_seed(0)
    logs = [step(session, index) for index in range(150)]
    for level in ("0", "1"):
        first = sum(log[f"q_{level}"] for log in logs[:10]) / 10
        assert 0.06 < first < 0.11  # untrained Q: ~Var(U(0, 1)) = 1/12
        last = sum(log[f"ent_{level}"] for log in logs[-10:]) / 10  # the generator step's L^ent, learned Q_i
        assert last < 0.6 * first, (level, first, last)
        assert sum(log[f"ent_rel_{level}"] for log in logs[-10:]) / 10 < 0.6


def test_relative_entropy_is_twelve_times_the_entropy_term_and_one_for_an_untrained_q():
    """ent_rel_i = ent_i / Var(U(0, 1)): an untrained Q_i (ẑ ≈ ½) recovers nothing, so ent_rel_i ≈ 1."""
    session = tiny_session("model.noise_0=40", "model.noise_1=40", "train.batch_size=16", "model.optim_g.lr=0",
                           "model.optim_d.lr=0")
    torch.manual_seed(0)
    logs = step(session, 0)
    for level in ("0", "1"):
        assert logs[f"ent_rel_{level}"] == pytest.approx(12 * logs[f"ent_{level}"], rel=1e-6)
        assert 0.85 < logs[f"ent_rel_{level}"] < 1.15, logs  # 640 draws of (½ - z)², z ~ U(0, 1): 1 ± 0.05


def test_entropy_gradient_reaches_g0_noise_embedding():
    session = tiny_session("model.adv_weights=0,0", "model.cond_weights=0,0", "model.ent_weights=1,0",
                           "train.batch_size=8")
    nets, m = session.nets, session.cfg.model
    (x, y), = batches(session, 1)
    torch.manual_seed(0)
    s = stackgan.stack_forward(nets, m, encode_bottom(nets["encoder"], x, "fc1"), y, joint=False)
    terms = stackgan.generator_terms(nets, m, y, s)
    embedding = nets["generator_0"].embed[0].weight
    grad, = torch.autograd.grad(terms["ent_0"], [embedding])
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_sampling_runs_batch_norm_in_eval_mode_so_samples_do_not_depend_on_the_batch():
    session = tiny_session()
    nets, cfg = session.nets, session.cfg
    for index in range(2):
        step(session, index)  # running statistics move away from their initial values
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        stackgan.sample_classes(nets, cfg, [3])  # training mode: batch norm needs two or more
    for net in nets.values():
        net.eval()
    G1, G0 = nets["generator_1"], nets["generator_0"]
    inputs_1, inputs_0 = torch.rand(5, G1.z_dim), torch.rand(5, G0.z_dim)
    with torch.no_grad():
        assert stackgan.sample_classes(nets, cfg, [3]).shape == (1, 1, 28, 28)
        torch.testing.assert_close(G1(inputs_1[:1]), G1(inputs_1)[:1], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(G0(inputs_0[:1]), G0(inputs_0)[:1], rtol=1e-5, atol=1e-6)


def settle_batch_norm(session: Session, passes: int = 60) -> None:
    """Training-mode passes of G_1 and G_0 (no update) so that their running statistics reach the batch
    statistics; at initialisation (mean 0, variance 1) eval-mode outputs of N(0, 0.02) nets are ~1e-9."""
    (x, y), = batches(session, 1)
    h1 = encode_bottom(session.nets["encoder"], x, "fc1")
    with torch.no_grad():
        for _ in range(passes):
            stackgan.stack_forward(session.nets, session.cfg.model, h1, y, joint=True)


def test_class_conditional_top_down_samples():
    session = tiny_session()
    nets, cfg = session.nets, session.cfg
    settle_batch_norm(session)
    for net in nets.values():
        net.eval()
    draw = lambda classes, seed=0: stackgan.sample_classes(nets, cfg, classes, torch.Generator().manual_seed(seed))  # noqa: E731
    with torch.no_grad():
        threes, sevens = draw([3, 3, 3]), draw([7, 7, 7])
        assert threes.shape == (3, 1, 28, 28) and torch.equal(threes, draw([3, 3, 3]))
        assert not torch.isclose(threes, sevens).all(dim=(1, 2, 3)).any()  # same noise, another class
        gen = torch.Generator().manual_seed(0)
        z1, z0 = torch.rand(3, 3, generator=gen), torch.rand(3, 4, generator=gen)
        h1 = nets["generator_1"](torch.cat([F.one_hot(torch.tensor([3, 3, 3]), 10).float(), z1], 1))
        torch.testing.assert_close(threes, nets["generator_0"](torch.cat([h1, z0], 1)), rtol=0, atol=0)
        torch.testing.assert_close(stackgan.generate(nets, cfg, 12, torch.Generator().manual_seed(5)),
                                   draw(torch.arange(12) % 10, seed=5), rtol=0, atol=0)
    with pytest.raises(ConfigError, match=r"classes must be in 0\.\.9"):
        draw([10])
    with pytest.raises(ConfigError, match="no single latent"):
        stackgan.generate(nets, cfg, 2, z=torch.zeros(2, 7))


@pytest.mark.parametrize("split,dim", [("fc1", 64), ("pool3", 16)])
def test_encoder_stack_composes_to_the_classifier(split, dim):
    session = tiny_session(f"model.split={split}")
    E, x = session.nets["encoder"], torch.rand(3, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        h1 = encode_bottom(E, x, split)
        torch.testing.assert_close(encode_top(E, h1, split), E(x), rtol=0, atol=0)  # E_1(E_0(x)) = logits
    assert h1.shape == (3, dim) and session.nets["generator_1"].sample_shape == (dim,)
    assert session.nets["critic_1"].input_shape == (dim,)


def test_width_1_sizes_the_level_1_nets_alone():
    """model.width_1 widens G_1 and D_1 (and Q_1 on D_1's features); G_0, D_0 keep model.width."""
    base, wide = tiny_session().nets, tiny_session("model.width_1=0.25").nets
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    for name in ("generator_1", "critic_1", "q_1"):
        assert count(wide[name]) > count(base[name]), name
    for name in ("generator_0", "critic_0", "q_0"):
        assert count(wide[name]) == count(base[name]), name
    assert wide["generator_1"].net[0].out_features == 128  # round(512 * 0.25), the reference's 512 at width 1


@pytest.mark.parametrize("sets,match", [
    (["model.adv_weights=1,1,1"], "adv_weights needs two weights"),
    (["model.ent_weights=1,-1"], "ent_weights needs two weights >= 0"),
    (["model.phase=independent", "model.independent_steps=5"], "set model.phase=joint"),
    (["model.split=conv2"], "model.split"),
    (["model.noise_0=0"], "noise_0, noise_1 >= 1"),
    (["model.width_1=0"], "model.width_1 must be > 0"),
])
def test_config_refusals(sets, match):
    with pytest.raises(ConfigError, match=match):
        C.resolve(sets=[*TINY, *sets])


def test_encoder_folder_is_loaded_checked_and_frozen(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "cache"))
    cfg = lambda *s: C.resolve(sets=[*TINY, *s])  # noqa: E731
    fix = r"no Stacked GAN encoder .* train one with `ganforge classifier train --dataset mnist --width 0.0625`$"
    with pytest.raises(ConfigError, match=fix):
        build_nets(cfg("model.encoder=default"), MNIST, torch.device("cpu"))
    net = MNISTClassifier(width=0.0625)
    meta = {"architecture": "mnist-classifier", "build": {"width": 0.0625, "num_classes": 10, "in_channels": 1},
            "dataset": "mnist", "pixel_range": [-1.0, 1.0]}
    save_classifier(net, meta, tmp_path / "enc")
    _, nets = build_nets(cfg(f"model.encoder={tmp_path / 'enc'}"), MNIST, torch.device("cpu"))
    assert all(torch.equal(a, b) for a, b in zip(nets["encoder"].parameters(), net.parameters(), strict=True))
    assert not any(p.requires_grad for p in nets["encoder"].parameters())
    with pytest.raises(ConfigError, match="has width 0.0625 but model.encoder_width is 0.125"):
        build_nets(cfg(f"model.encoder={tmp_path / 'enc'}", "model.encoder_width=0.125"), MNIST, torch.device("cpu"))


