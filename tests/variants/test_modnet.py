"""ModNet (Basart 2017): U-Net shapes and label injection, the delta modes, every loss term by hand (λ and the
running-mean L1), the frozen classifier, j/k step counts and the classifier checks
(its bit-for-bit resume: test_resume.py)."""

from __future__ import annotations

import pytest
import torch

from ganforge import config as C
from ganforge.errors import ConfigError
from ganforge.nets import MNISTClassifier, ModNetDiscriminator, ModNetUNet
from ganforge.nets.modnet import condition
from ganforge.train.batches import BatchStream
from ganforge.train.classifier import save_classifier
from ganforge.train.session import Session, build_nets
from ganforge.variants import DataShape, modnet
from helpers.sessions import step

MNIST = DataShape((1, 28, 28), 10, (-1.0, 1.0))
TINY = ["model.name=modnet", "model.width=2", "model.d_width=2", "model.bank_size=6", "train.batch_size=4",
        "train.channels_last=false"]


def tiny_session(*sets: str) -> Session:
    cfg = C.resolve(sets=[*TINY, *sets])
    spec, nets = build_nets(cfg, MNIST, torch.device("cpu"))
    gen = torch.Generator().manual_seed(3)
    images = torch.rand(32, 1, 28, 28, generator=gen) * 2 - 1
    stream = BatchStream(images, torch.randint(10, (32,), generator=gen), batch_size=4, seed=0)
    return Session(cfg, spec, torch.device("cpu"), "fp32", nets, spec.build_optimizers(cfg, nets), MNIST, stream)


def frozen_folder(tmp_path, **meta_changes) -> str:
    torch.manual_seed(5)
    meta = {"architecture": "mnist-classifier", "build": {"width": 0.0625, "num_classes": 10, "in_channels": 1},
            "dataset": "mnist", "pixel_range": [-1.0, 1.0], "input_shape": [1, 28, 28], **meta_changes}
    save_classifier(MNISTClassifier(width=0.0625), meta, tmp_path / "clf")
    return str(tmp_path / "clf")


def test_unet_shapes_and_label_injection_at_input_and_bottleneck():
    torch.manual_seed(0)
    G = ModNetUNet(image_shape=(1, 28, 28), num_classes=10, width=4).eval()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    xy = condition(x, torch.tensor([0, 4, 9]), 10)
    assert xy.shape == (3, 11, 28, 28) and torch.equal(xy[:, :1], x)
    assert torch.equal(xy[1, 1 + 4], torch.ones(28, 28)) and xy[1, 1:].sum() == 28 * 28
    seen = {}
    G.bottleneck.register_forward_hook(lambda mod, inp, out: seen.update(inp=inp[0]))
    with torch.no_grad():
        deltas = [G(condition(x, torch.full((3,), t), 10)) for t in range(10)]
    assert seen["inp"].shape == (3, 4 * 4 + 10, 7, 7)  # 4w features + K label planes at 7×7
    assert torch.equal(seen["inp"][:, 16:], torch.zeros(3, 10, 7, 7).index_fill_(1, torch.tensor([9]), 1.0))
    assert deltas[0].shape == (3, 1, 28, 28) and all(d.abs().max() < 1 for d in deltas)  # tanh
    assert all((deltas[0] - d).abs().max() > 1e-4 for d in deltas[1:])  # the target label changes δ
    colour = ModNetUNet(image_shape=(3, 32, 32), num_classes=10, width=2).eval()
    assert colour(condition(torch.zeros(2, 3, 32, 32), torch.tensor([1, 2]), 10)).shape == (2, 3, 32, 32)
    D = ModNetDiscriminator(image_shape=(3, 32, 32), num_classes=10, width=2)
    assert D(torch.zeros(2, 3, 32, 32)).shape == (2, 11)
    assert ModNetDiscriminator(num_classes=0, width=2)(x).shape == (3, 1)
    with pytest.raises(ConfigError, match="multiples of 4"):
        ModNetUNet(image_shape=(1, 30, 30))


@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (0.0, 1.0)])
def test_delta_clip_and_renormalize_ranges(bounds):
    low, high = bounds
    gen = torch.Generator().manual_seed(1)
    x = low + (high - low) * torch.rand(5, 1, 8, 8, generator=gen)
    delta = torch.tanh(3 * torch.randn(5, 1, 8, 8, generator=gen))
    clipped = modnet.apply_delta(x, delta, "clip", bounds)
    s = x + delta
    inside = (s >= low) & (s <= high)
    assert clipped.min() >= low and clipped.max() <= high and inside.any() and (~inside).any()
    assert torch.equal(clipped[inside], s[inside]) and (clipped[s > high] == high).all()
    assert (clipped[s < low] == low).all()
    renorm = modnet.apply_delta(x, delta, "renormalize", bounds)
    flat, sf = renorm.flatten(1), s.flatten(1)
    torch.testing.assert_close(flat.min(1).values, torch.full((5,), low), rtol=0, atol=1e-6)
    torch.testing.assert_close(flat.max(1).values, torch.full((5,), high), rtol=0, atol=1e-6)
    for row, orig in zip(flat, sf, strict=True):  # an increasing affine map of x + δ per image
        a = (high - low) / (orig.max() - orig.min())
        torch.testing.assert_close(row, low + a * (orig - orig.min()), rtol=1e-5, atol=1e-6)


def hand_terms(nets, x, y, x_mod, y_t, joint: bool):
    """L_D, L_G, both CE terms and L_1 written out in float64 with log σ and log-softmax."""
    D = nets["discriminator"]
    out_x, out_m = D(x).double(), D(x_mod).double()
    c_x = out_x[:, 1:] if joint else nets["classifier"](x).double()
    c_m = out_m[:, 1:] if joint else nets["classifier"](x_mod).double()
    ce = lambda logits, labels: -(logits - logits.exp().sum(1, keepdim=True).log())[torch.arange(len(labels)),  # noqa: E731
                                                                                       labels].mean()
    return {"loss_d": (-torch.log(torch.sigmoid(out_x[:, 0])) - torch.log(1 - torch.sigmoid(out_m[:, 0]))).mean(),
            "gan_g": -torch.log(torch.sigmoid(out_m[:, 0])).mean(), "ce_real": ce(c_x, y), "ce_fake": ce(c_m, y_t),
            "l1": (x.double() - x_mod.double()).abs().sum((1, 2, 3)).mean()}


@pytest.mark.parametrize("mode", ["joint", "frozen"])
def test_loss_terms_equal_a_hand_computation_with_lambda(mode, tmp_path):
    extra = [] if mode == "joint" else [f"model.classifier={frozen_folder(tmp_path)}"]
    session = tiny_session(*extra, "model.l1_weight=0.001", "model.optim_g.lr=0", "model.optim_d.lr=0")
    torch.manual_seed(11)
    logs = step(session)
    stream = BatchStream(session.stream.images, session.stream.labels, batch_size=4, seed=0)
    (xd, yd), (xg, yg) = stream.next(), stream.next()  # the D step's batch, then the G step's
    torch.manual_seed(11)
    yd_t, yg_t = modnet.draw_targets(yd, 10), modnet.draw_targets(yg, 10)
    assert (yd_t != yd).all() and (yg_t != yg).all()
    nets = session.nets
    with torch.no_grad():
        G = nets["generator"]
        d = hand_terms(nets, xd, yd, (xd + G(condition(xd, yd_t, 10))).clamp(-1, 1), yd_t, mode == "joint")
        g = hand_terms(nets, xg, yg, (xg + G(condition(xg, yg_t, 10))).clamp(-1, 1), yg_t, mode == "joint")
    expected = {"loss_d": d["loss_d"], "gan_g": g["gan_g"], "ce_target": g["ce_fake"], "l1": g["l1"],
                "l1_term": 1e-3 * g["l1"], "loss_g": g["gan_g"] + g["ce_fake"] + 1e-3 * g["l1"]}
    if mode == "joint":
        expected.update(ce_real=d["ce_real"], ce_fake=d["ce_fake"])
    else:
        assert "ce_real" not in logs and "ce_fake" not in logs  # a frozen C learns nothing: not computed
    for key, value in expected.items():
        torch.testing.assert_close(torch.tensor(logs[key], dtype=torch.float64), value, rtol=1e-5, atol=1e-6,
                                   msg=key)


@pytest.mark.parametrize("classifier", ["joint", "random"])
@pytest.mark.parametrize("classify_fakes", [True, False])
def test_learning_classifier_objective_by_hand(classifier, classify_fakes):
    """What the D step minimises with a learning C (D's joint head, or a separate C trained alongside G):
    L_D + CE(C(x), y), plus CE(C(x'), y_t) only with ``classify_fakes`` (the joint preset turns it off)."""
    session = tiny_session(f"model.classifier={classifier}", f"model.classify_fakes={str(classify_fakes).lower()}",
                           "model.classifier_width=0.0625")
    m, nets = session.cfg.model, session.nets
    gen = torch.Generator().manual_seed(2)
    x, y = torch.rand(4, 1, 28, 28, generator=gen) * 2 - 1, torch.tensor([0, 3, 5, 9])
    y_t = modnet.draw_targets(y, 10, gen)
    with torch.no_grad():
        x_mod = (x + nets["generator"](condition(x, y_t, 10))).clamp(-1, 1)
        terms = modnet.discriminator_terms(nets, m, x, y, x_mod, y_t)
        hand = hand_terms(nets, x, y, x_mod, y_t, classifier == "joint")
    expected = hand["loss_d"] + hand["ce_real"] + (hand["ce_fake"] if classify_fakes else 0.0)
    torch.testing.assert_close(terms["loss"].double(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(terms["ce_real"].double(), hand["ce_real"], rtol=1e-5, atol=1e-6)
    assert ("ce_fake" in terms) == classify_fakes
    logs = step(session)
    assert ("ce_fake" in logs) == classify_fakes and "ce_real" in logs and "ce_target" in logs


def test_joint_preset_trains_a_separate_classifier_on_real_images_only():
    cfg = C.resolve(preset="modnet-mnist-joint")
    assert (cfg.model.classifier, cfg.model.classify_fakes, cfg.model.l1_mode) == ("random", False, "running-mean")
    assert cfg.data.name == "mnist"


def test_running_mean_l1_normalisation_by_hand():
    session = tiny_session("model.l1_mode=running-mean", "model.l1_momentum=0.75", "model.optim_g.lr=0",
                           "model.optim_d.lr=0", "model.d_steps=1", "model.g_steps=2")
    torch.manual_seed(4)
    logs = step(session)
    stream = BatchStream(session.stream.images, session.stream.labels, batch_size=4, seed=0)
    _, (x1, y1), (x2, y2) = stream.next(), stream.next(), stream.next()
    torch.manual_seed(4)
    modnet.draw_targets(y1, 10)  # the D step's draw
    t1, t2 = modnet.draw_targets(y1, 10), modnet.draw_targets(y2, 10)
    G = session.nets["generator"]
    with torch.no_grad():
        l1 = [hand_terms(session.nets, x, y, (x + G(condition(x, t, 10))).clamp(-1, 1), t, True)["l1"]
              for x, y, t in ((x1, y1, t1), (x2, y2, t2))]
    mean = 0.75 * l1[0] + 0.25 * l1[1]  # m = L1 at the first G step, then β m + (1 - β) L1, before dividing
    torch.testing.assert_close(torch.tensor(logs["l1_term"], dtype=torch.float64), l1[1] / mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(session.nets["record"].l1_mean, mean, rtol=1e-6, atol=1e-6)
    assert int(session.nets["record"].l1_updates) == 2
    first = tiny_session("model.l1_mode=running-mean")
    assert step(first)["l1_term"] == pytest.approx(1.0, rel=1e-6)  # the first step divides L1 by itself


def test_frozen_classifier_stays_unchanged_and_in_eval_mode(tmp_path):
    session = tiny_session(f"model.classifier={frozen_folder(tmp_path)}")
    C_net = session.nets["classifier"]
    before = {k: [p.detach().clone() for p in v.parameters()] for k, v in session.nets.items()}
    assert set(session.optimizers) == {"generator", "discriminator"}
    for net in session.nets.values():
        net.train()  # what the trainer does after writing samples
    for index in range(2):
        step(session, index)
    assert not C_net.training and not any(p.requires_grad for p in C_net.parameters())
    for name, params in before.items():
        same = all(torch.equal(a, b) for a, b in zip(params, session.nets[name].parameters(), strict=True))
        assert same == (name in ("classifier", "record")), name
    assert session.nets["discriminator"].num_classes == 0  # no joint head beside a separate C


def test_random_separate_classifier_learns_with_its_own_optimizer():
    session = tiny_session("model.classifier=random", "model.classifier_width=0.0625")
    before = [p.detach().clone() for p in session.nets["classifier"].parameters()]
    logs = step(session)
    assert "classifier" in session.optimizers and {"ce_real", "ce_fake"} <= logs.keys()
    assert any(not torch.equal(a, b) for a, b in zip(before, session.nets["classifier"].parameters(), strict=True))


def test_j_discriminator_and_k_generator_steps_per_iteration():
    session = tiny_session("model.d_steps=2", "model.g_steps=3")
    step(session)
    adam_steps = {name: {float(s["step"]) for s in opt.state.values()} for name, opt in session.optimizers.items()}
    assert adam_steps == {"discriminator": {2.0}, "generator": {3.0}}
    assert session.stream.position == 5  # a fresh batch for each of the j + k steps
    assert int(session.nets["record"].seen) == 3 * 4  # each G step's batch enters the ring (of 6)
    labels = session.stream.labels[session.stream._order[8:20]]  # the three G batches, in order
    assert torch.equal(session.nets["record"].labels, labels[6:])  # image i of the 12 sits in slot i mod 6


def test_generate_modifies_bank_images_and_refuses_a_latent():
    session = tiny_session()
    with pytest.raises(ConfigError, match="seen no training images"):
        modnet.generate(session.nets, session.cfg, 3)
    step(session)
    for net in session.nets.values():
        net.eval()
    with torch.no_grad():
        a = modnet.generate(session.nets, session.cfg, 5, generator=torch.Generator().manual_seed(0))
        b = modnet.generate(session.nets, session.cfg, 5, generator=torch.Generator().manual_seed(0))
    assert a.shape == (5, 1, 28, 28) and torch.equal(a, b) and a.min() >= -1 and a.max() <= 1
    with pytest.raises(ConfigError, match="no latent z"):
        modnet.generate(session.nets, session.cfg, 2, z=torch.zeros(2, 4))
    with pytest.raises(ConfigError, match="no latent z"):
        _ = session.cfg.model.z_dim


@pytest.mark.parametrize("sets,match", [
    (["model.d_steps=0"], r"model.d_steps \(j\) and model.g_steps \(k\) must be >= 1"),
    (["model.l1_momentum=1"], "l1_momentum in"),
    (["model.delta_mode=shift"], "expected one of 'clip', 'renormalize'"),
    (["model.classifier="], "model.classifier is empty"),
])
def test_config_refusals(sets, match):
    with pytest.raises(ConfigError, match=match):
        C.resolve(sets=[*TINY, *sets])


def test_classifier_trained_on_another_pixel_range_sees_its_own_range(tmp_path):
    """A [-1, 1] classifier used by a ModNet on [0, 1] images gets 2x - 1: equal logits and frozen."""
    folder = frozen_folder(tmp_path)
    cfg = C.resolve(sets=[*TINY, f"model.classifier={folder}", "data.pixel_range=0,1"])
    _, nets = build_nets(cfg, DataShape((1, 28, 28), 10, (0.0, 1.0)), torch.device("cpu"))
    _, same = build_nets(C.resolve(sets=[*TINY, f"model.classifier={folder}"]), MNIST, torch.device("cpu"))
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(nets["classifier"](x), same["classifier"](2 * x - 1), rtol=1e-5, atol=1e-5)
        assert not torch.allclose(nets["classifier"](x), same["classifier"](x), atol=1e-3)
    assert tuple(nets["classifier"].pixel_range) == (0.0, 1.0) and not nets["classifier"].training
    assert not any(p.requires_grad for p in nets["classifier"].parameters())


def test_classifier_folder_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(tmp_path / "cache"))
    cfg = lambda *s: C.resolve(sets=[*TINY, *s])  # noqa: E731
    with pytest.raises(ConfigError, match=r"no ModNet classifier .* `ganforge classifier train --dataset mnist`"):
        build_nets(cfg("model.classifier=default"), MNIST, torch.device("cpu"))
    folder = frozen_folder(tmp_path)
    with pytest.raises(ConfigError, match="no valid pixel_range"):
        build_nets(cfg(f"model.classifier={frozen_folder(tmp_path / 'bad', pixel_range=[1.0, -1.0])}"), MNIST,
                   torch.device("cpu"))
    with pytest.raises(ConfigError, match="trained on 'mnist' with 10 classes, not 'fashion-mnist'"):
        build_nets(cfg(f"model.classifier={folder}", "data.name=fashion-mnist"), MNIST, torch.device("cpu"))
    (tmp_path / "clf" / "classifier.safetensors").write_bytes(b"broken")
    with pytest.raises(ConfigError, match="sha256 check"):
        build_nets(cfg(f"model.classifier={folder}"), MNIST, torch.device("cpu"))


