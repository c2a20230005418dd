"""PPGN-h (Nguyen et al. 2017; seed thesis, KTH 2018): exact nets, the generator loss by hand, critics on
encoder layers, the random critic choice and the encoder checks (its bit-for-bit resume: test_resume.py)."""

from __future__ import annotations

import functools

import pytest
import torch

from ganforge import config as C
from ganforge.errors import ConfigError
from ganforge.losses import penalties
from ganforge.nets import MNISTClassifier, PPGNCodeCritic, PPGNGenerator, PPGNImageCritic
from ganforge.samplers.mala import MALASettings
from ganforge.train.batches import BatchStream
from ganforge.train.classifier import save_classifier
from ganforge.train.session import build_nets
from ganforge.variants import base, ppgn
from helpers.ppgn import MNIST, TINY, encoder_by_hand, tiny_session
from helpers.sessions import changed, snapshot, step


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_nets_at_width_1_are_exactly_the_spec():
    conv = lambda c_in, c_out, k: c_in * c_out * k * k + c_out  # noqa: E731  (weights + biases)
    lin = lambda d_in, d_out: d_in * d_out + d_out  # noqa: E731
    G, D, D1, E = PPGNGenerator(), PPGNImageCritic(), PPGNCodeCritic(), MNISTClassifier()
    assert n_params(G) == (lin(64, 5 * 5 * 64) + conv(64, 512, 5) + conv(512, 256, 5) + conv(256, 256, 7)
                           + conv(256, 1, 10))
    assert n_params(G) == 7_437_889
    assert n_params(D) == conv(1, 256, 3) + 2 * conv(256, 256, 3) + conv(256, 512, 3) + lin(512, 1) == 2_363_393
    assert n_params(D1) == conv(1, 256, 2) + conv(256, 256, 2) + conv(256, 512, 2) + lin(512, 1) == 788_993
    assert n_params(E) == conv(1, 64, 7) + conv(64, 128, 7) + conv(128, 256, 7) + lin(256, 64) + lin(64, 10)
    outs = []
    hooks = [getattr(G, n).register_forward_hook(lambda m, i, o: outs.append(o))
             for n in ("deconv1", "deconv2", "deconv3", "deconv4")]
    with torch.no_grad():
        x = G(torch.rand(1, 64))
        sizes = [tuple(o.shape[1:]) for o in outs]
        assert sizes == [(512, 9, 9), (256, 13, 13), (256, 19, 19), (1, 28, 28)]  # 5 → 9 → 13 → 19 → 28
        assert x.shape == (1, 1, 28, 28) and torch.equal(x, outs[-1])  # no output activation after deconv4
        assert D(x).shape == (1,) and D1(E.activations(x, ["fc1"])["fc1"]).shape == (1,)
    for h in hooks:
        h.remove()


def test_generator_loss_equals_a_hand_computation():
    session = tiny_session("model.critics=conv2,fc1", "model.adv_weights=0.5,1.5", "model.img_weight=2",
                           "model.feat_weight=0.1", "model.optim_g.lr=0")  # lr 0: G after the step = G in it
    logs = step(session, 0)
    x, _ = BatchStream(session.stream.images, session.stream.labels, batch_size=4, seed=0).next()  # the one batch
    nets = session.nets
    with torch.no_grad():
        _, h = encoder_by_hand(nets["encoder"], x)
        x_hat = nets["generator"](h)
        a2_hat, h_hat = encoder_by_hand(nets["encoder"], x_hat)
        expected = {"loss_img": ((x_hat - x) ** 2).mean(), "loss_feat": ((h_hat - h) ** 2).mean(),
                    "adv_conv2": -nets["critic_conv2"](a2_hat).mean(), "adv_fc1": -nets["critic_fc1"](h_hat).mean()}
    expected["loss_g"] = (2 * expected["loss_img"] + 0.1 * expected["loss_feat"] + 0.5 * expected["adv_conv2"]
                          + 1.5 * expected["adv_fc1"])
    for key, value in expected.items():
        torch.testing.assert_close(torch.tensor(logs[key]), value, rtol=1e-5, atol=1e-6, msg=key)
    terms = ppgn.generator_terms(nets, session.cfg.model, x, h, ["conv2", "fc1"])
    terms["loss_g"].backward()  # gradients reach G through the frozen E, never E itself
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in nets["generator"].parameters())
    assert all(p.grad is None and not p.requires_grad for p in nets["encoder"].parameters())


def test_critics_on_conv2_and_fc1_have_their_own_optimizers_and_logs():
    session = tiny_session("model.critics=conv2,fc1", "model.adv_weights=1,1")
    assert set(session.nets) == {"encoder", "generator", "critic_conv2", "critic_fc1"}
    assert set(session.optimizers) == {"generator", "critic_conv2", "critic_fc1"}
    for name, opt in session.optimizers.items():
        params = [p for group in opt.param_groups for p in group["params"]]
        assert {id(p) for p in params} == {id(p) for p in session.nets[name].parameters()}
    assert session.nets["critic_conv2"].input_shape == (8, 16, 16)  # conv2 of E at width 1/16: 128/16 channels
    before = snapshot(session)
    logs = step(session, 0)
    for layer in ("conv2", "fc1"):
        assert {f"w_{layer}", f"gp_{layer}", f"loss_d_{layer}", f"adv_{layer}"} <= logs.keys()
    assert changed(before, session) == {"generator", "critic_conv2", "critic_fc1"}  # E stays frozen
    assert session.optimizers["critic_conv2"].state and session.optimizers["critic_fc1"].state


def test_random_critic_choice_is_reproducible_from_the_seed():
    picks = [ppgn.pick_critic(0, s, 2) for s in range(40)]
    assert picks == [ppgn.pick_critic(0, s, 2) for s in range(40)] and set(picks) == {0, 1}
    assert picks != [ppgn.pick_critic(1, s, 2) for s in range(40)]
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        session = tiny_session("model.critics=image,fc1", "model.adv_weights=1,1", "model.critic_choice=random")
        logs = []
        for index in range(25, 31):  # after warm-up: only the picked critic trains and enters the loss
            before = snapshot(session)
            logs.append(step(session, index))
            picked = ["image", "fc1"][int(logs[-1]["critic_pick"])]
            assert changed(before, session) == {"generator", f"critic_{picked}"}
            assert {k for k in logs[-1] if k.startswith(("w_", "adv_"))} == {f"w_{picked}", f"adv_{picked}"}
        runs.append((logs, snapshot(session)))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for k in runs[0][1] for a, b in zip(runs[0][1][k], runs[1][1][k], strict=True))


def test_every_critic_trains_in_warmup_steps(monkeypatch):
    short = functools.partial(base.critic_iterations, warmup_critic=3)  # 3 warm-up critic steps, not 100
    monkeypatch.setattr(ppgn, "critic_iterations", short)
    session = tiny_session("model.critics=image,fc1", "model.adv_weights=1,1", "model.critic_choice=random",
                           "model.warmup=true")
    before = snapshot(session)
    logs = step(session, 0)
    picked = ["image", "fc1"][int(logs["critic_pick"])]
    assert changed(before, session) == {"generator", "critic_image", "critic_fc1"}
    assert {"w_image", "w_fc1"} <= logs.keys() and {k for k in logs if k.startswith("adv_")} == {f"adv_{picked}"}
    assert session.stream.position == 3  # one batch per warm-up critic step, shared by both critics


def test_no_critic_and_zero_weight_critic():
    session = tiny_session("model.critics=[]", "model.adv_weights=[]")
    assert set(session.nets) == {"encoder", "generator"}
    logs = step(session, 0)
    assert set(logs) == {"loss_g", "loss_img", "loss_feat", "grad_img", "grad_feat"} and session.stream.position == 1
    logs = step(tiny_session("model.adv_weights=[0]"), 0)  # D1 trains and is logged but stays out of the loss
    assert "w_fc1" in logs and "adv_fc1" not in logs and "grad_adv_fc1" not in logs
    assert float(logs["lambda_fc1"]) == 0.0


def test_generate_draws_codes_from_the_fitted_gaussian():
    session = tiny_session()
    G = session.nets["generator"]
    codes = torch.rand(50, 64, generator=torch.Generator().manual_seed(0)) * 3
    G.observe_codes(codes[:20])
    G.observe_codes(codes[20:])
    mean, std = G.code_gaussian()
    torch.testing.assert_close(mean, codes.mean(0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(std, codes.std(0, unbiased=False), rtol=1e-4, atol=1e-6)
    z = torch.randn(3, 64)
    with torch.no_grad():
        torch.testing.assert_close(ppgn.generate(session.nets, session.cfg, 3, z=z), G((mean + std * z).clamp_min(0)))
    assert session.cfg.model.z_dim == 64


def test_mala_runs_g_once_per_step_for_all_chains():
    """sample_mala with the real G and E: one batched G pass per MALA step (R(h) and the class gradient share
    it; the reference code recomputes G(h)), plus G(h_T) for the returned images."""
    nets = {name: net.eval() for name, net in tiny_session().nets.items()}
    calls: dict[str, list[int]] = {"generator": [], "encoder": []}
    hooks = [nets["generator"].register_forward_hook(lambda m, i, o: calls["generator"].append(len(i[0]))),
             nets["encoder"].conv1.register_forward_hook(lambda m, i, o: calls["encoder"].append(len(i[0])))]
    classes = torch.tensor([0, 3, 3, 9, 1, 7])
    out = ppgn.sample_mala(nets, classes, MALASettings(steps=4), generator=torch.Generator().manual_seed(0))
    for h in hooks:
        h.remove()
    assert calls == {"generator": [6] * (4 + 1), "encoder": [6] * 4}
    with torch.no_grad():
        torch.testing.assert_close(out.images, nets["generator"](out.codes), rtol=0, atol=0)


def test_gp_methods_give_the_same_critic_step(monkeypatch):
    """model.gp_method: the explicit input gradient of every PPGN critic kind equals autograd's (same step)."""
    calls = []
    explicit = penalties.input_gradient
    monkeypatch.setattr(penalties, "input_gradient", lambda *a: calls.append(1) or explicit(*a))
    results, counts = {}, {}
    for method in ("autograd", "explicit"):
        torch.manual_seed(0)
        session = tiny_session("model.critics=image,conv2,fc1", "model.adv_weights=1,1,1",
                               f"model.gp_method={method}")
        results[method] = (step(session, 0), snapshot(session))
        counts[method], calls[:] = len(calls), []
    assert counts == {"autograd": 0, "explicit": 3}  # one critic step per critic, n_critic 1
    (logs_a, nets_a), (logs_e, nets_e) = results["autograd"], results["explicit"]
    for layer in ("image", "conv2", "fc1"):
        torch.testing.assert_close(logs_e[f"gp_{layer}"], logs_a[f"gp_{layer}"], rtol=1e-4, atol=1e-6)
        assert float(logs_a[f"gp_{layer}"]) > 0
    for name in nets_a:
        for a, e in zip(nets_a[name], nets_e[name], strict=True):
            torch.testing.assert_close(e, a, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("sets,match", [
    (["model.critics=fc3"], "unknown layer 'fc3'"),
    (["model.critics=fc1,fc1", "model.adv_weights=1,1"], "twice"),
    (["model.critics=image,fc1", "model.adv_weights=[1]"], "one weight per critic"),
    (["model.img_weight=0"], "adv_weights=auto balances each adversarial term against the image term"),
    (["model.critic_choice=random"], "at least two"),
    (["model.gp_method=double"], "gp_method"),
])
def test_config_refusals(sets, match):
    with pytest.raises(ConfigError, match=match):
        C.resolve(sets=[*TINY, *sets])


def test_encoder_folder_is_loaded_checked_and_frozen(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "cache"))
    cfg = lambda *s: C.resolve(sets=[*TINY, *s])  # noqa: E731
    fix = r"no PPGN encoder .* train one with `ganforge classifier train --dataset mnist --width 0.0625`$"
    with pytest.raises(ConfigError, match=fix):
        build_nets(cfg("model.encoder=default"), MNIST, torch.device("cpu"))
    net = MNISTClassifier(width=0.0625)
    meta = {"architecture": "mnist-classifier", "build": {"width": 0.0625, "num_classes": 10, "in_channels": 1},
            "dataset": "mnist", "pixel_range": [-1.0, 1.0]}
    save_classifier(net, meta, tmp_path / "enc")
    _, nets = build_nets(cfg(f"model.encoder={tmp_path / 'enc'}"), MNIST, torch.device("cpu"))
    assert all(torch.equal(a, b) for a, b in zip(nets["encoder"].parameters(), net.parameters(), strict=True))
    assert not any(p.requires_grad for p in nets["encoder"].parameters())
    refusals = [("model.width=0.125", "has width 0.0625 but model.width is 0.125"),
                ("data.pixel_range=0,1", "set data.pixel_range=-1,1"),
                ("data.name=fashion-mnist", "trained on 'mnist'")]
    for setting, match in refusals:
        with pytest.raises(ConfigError, match=match):
            build_nets(cfg(f"model.encoder={tmp_path / 'enc'}", setting), MNIST, torch.device("cpu"))
    (tmp_path / "enc" / "classifier.safetensors").write_bytes(b"broken")
    with pytest.raises(ConfigError, match=f"sha256 check; retrain with .*--out {tmp_path / 'enc'}"):
        build_nets(cfg(f"model.encoder={tmp_path / 'enc'}"), MNIST, torch.device("cpu"))




def test_standardised_output_units_map_the_last_layer_like_the_reference_data_transform():
    """``model.output_units=standardised``: G's last layer speaks the reference code's units, (x01 - 0.1307) /
    0.3081 for MNIST, so an untrained G starts at the mean pixel (-0.739 in [-1, 1]), not at mid-grey."""
    from ganforge.variants.ppgn_nets import output_map

    assert output_map("pixels", "mnist", (-1.0, 1.0)) == (1.0, 0.0)
    assert output_map("standardised", "mnist", (-1.0, 1.0)) == pytest.approx((0.6162, 2 * 0.1307 - 1), abs=1e-12)
    assert output_map("standardised", "mnist", (0.0, 1.0)) == pytest.approx((0.3081, 0.1307), abs=1e-12)
    with pytest.raises(ConfigError, match="knows the pixel mean and std of mnist, fashion-mnist, not 'cifar10'"):
        output_map("standardised", "cifar10", (-1.0, 1.0))
    torch.manual_seed(0)
    plain = tiny_session().nets["generator"]
    torch.manual_seed(0)
    std = tiny_session("model.output_units=standardised").nets["generator"]
    h = torch.relu(torch.randn(5, 64))
    y = plain(h)  # the same weights: the last layer's output in pixels
    torch.testing.assert_close(std(h), y * 0.6162 + (2 * 0.1307 - 1), rtol=1e-6, atol=1e-6)
    with torch.no_grad():
        start = float(std(torch.zeros(5, 64)).mean())
    assert start == pytest.approx(2 * 0.1307 - 1, abs=0.1)  # an untrained G starts near the mean pixel
