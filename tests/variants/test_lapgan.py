"""LAPGAN (Denton et al. 2015): level shapes, every logged loss against a hand computation, level-alone
training, the class-conditional generators, coarse-to-fine sampling, bit-for-bit resume and config checks."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from ganforge import config as C
from ganforge.cli import main
from ganforge.data.transforms import gaussian_pyramid, pyramid_up
from ganforge.errors import ConfigError
from ganforge.train.session import build_nets
from ganforge.variants import DataShape, StepContext, lapgan
from helpers.data_files import write_idx_mnist
from helpers.run_files import checkpoint_tensors, log_without_speed

MNIST = DataShape((1, 28, 28), 10, (-1.0, 1.0))
CIFAR = DataShape((3, 32, 32), 10, (-1.0, 1.0))
CPU = torch.device("cpu")
TINY = ["model.name=lapgan", "model.width=4", "model.hidden_g=8", "model.hidden_d=6", "model.z_dim=3",
        "model.dropout=0", "train.batch_size=5", "train.channels_last=false"]


def tiny(data: DataShape, *sets: str):
    """A tiny LAPGAN config, its nets and optimizers."""
    cfg = C.resolve(sets=[*TINY, *sets])
    spec, nets = build_nets(cfg, data, CPU)
    return cfg, spec, nets, spec.build_optimizers(cfg, nets)


def context(cfg, nets, opts, x: torch.Tensor, labels: torch.Tensor) -> StepContext:
    return StepContext(cfg=cfg, nets=nets, optimizers=opts, next_batch=lambda: (x, labels), step=0, device=CPU)


@pytest.mark.parametrize("data,sides", [(MNIST, [28, 14, 7]), (CIFAR, [32, 16, 8])], ids=["28", "32"])
def test_level_shapes(data, sides):
    cfg, _, nets, opts = tiny(data)
    c = data.shape[0]
    G, D = nets["generator"], nets["critic"]
    assert [G.levels[k].sample_shape for k in range(3)] == [(c, s, s) for s in sides]
    assert [D.levels[k].input_shape for k in range(3)] == [(c, s, s) for s in sides]
    assert [G.levels[k].input_shape for k in range(2)] == [(1 + c, s, s) for s in sides[:2]]  # [z plane; l_k]
    assert G.levels[2].z_dim == 3
    assert set(opts) == {f"{n}_{k}" for n in ("generator", "critic") for k in range(3)}
    pyramid = gaussian_pyramid(torch.rand(2, *data.shape), 3)
    for k, side in enumerate(sides):
        h, low = lapgan.level_targets(pyramid, k, 1.0)
        assert tuple(h.shape) == (2, c, side, side) and (low is None) == (k == 2)
    levels = lapgan.sample_levels(nets, cfg, 4)
    assert [tuple(im.shape) for im in levels] == [(4, c, s, s) for s in sides]


def _nsat_d(real, fake):  # -log σ(D(real)) - log(1 - σ(D(fake))), written with log and sigmoid
    return -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean()


def hand_logs(cfg, before, after, x, y, noises) -> dict[str, torch.Tensor]:
    """Every logged value of one ``all`` step by hand: D_k on (G_k, D_k) before the step, then G_k's loss
    with G_k before and D_k after its update; ``noises`` are the (D, G) noise draws of each level in order."""
    I = gaussian_pyramid(x, 3, 1.0)  # noqa: E741 - the paper's I_k
    out = {}
    for k in range(3):
        G0, D0, D1 = before["generator"].levels[k], before["critic"].levels[k], after["critic"].levels[k]
        z_d, z_g = noises[k]
        if k == 2:
            real_in, fake_d, fake_g = I[2], G0(z_d, y), G0(z_g, y)
        else:
            low = pyramid_up(I[k + 1], 1.0)  # l_k = u(I_{k+1}); D sees l_k + h
            h = I[k] - low
            real_in = low + h
            fake_d = low + G0(torch.cat([z_d, low], 1), y)
            fake_g = low + G0(torch.cat([z_g, low], 1), y)
        r, f = D0(real_in, y), D0(fake_d, y)
        out[f"loss_d_{k}"] = _nsat_d(r, f)
        out[f"loss_g_{k}"] = -torch.log(torch.sigmoid(D1(fake_g, y))).mean()
        out[f"d_real_{k}"], out[f"d_fake_{k}"] = torch.sigmoid(r).mean(), torch.sigmoid(f).mean()
    out["loss_d"] = out["loss_d_0"] + out["loss_d_1"] + out["loss_d_2"]
    out["loss_g"] = out["loss_g_0"] + out["loss_g_1"] + out["loss_g_2"]
    return out


@pytest.mark.parametrize("conditional", [False, True], ids=["lapgan", "cc-lapgan"])
def test_logged_losses_equal_a_hand_computation(conditional):
    cfg, spec, nets, opts = tiny(MNIST, f"model.conditional={conditional}")
    before = copy.deepcopy(nets)
    x, labels = torch.rand(5, 1, 28, 28) * 2 - 1, torch.tensor([0, 3, 9, 3, 1])
    torch.manual_seed(5)
    logs = spec.train_step(context(cfg, nets, opts, x, labels))
    torch.manual_seed(5)
    shapes = [(5, 1, 28, 28), (5, 1, 14, 14), (5, 3)]  # a noise plane at levels 0 and 1, z_K at level 2
    noises = [(torch.rand(s) * 2 - 1, torch.rand(s) * 2 - 1) for s in shapes]
    y = F.one_hot(labels, 10).float() if conditional else None
    with torch.no_grad():
        expected = hand_logs(cfg, before, nets, x, y, noises)
    assert logs.keys() == expected.keys()
    for key, value in expected.items():
        assert not logs[key].requires_grad, key
        torch.testing.assert_close(logs[key], value, rtol=1e-5, atol=1e-6, msg=key)
    for k in range(3):  # every D_k moved, so the G terms above really used the updated D_k
        old, new = before["critic"].levels[k].parameters(), nets["critic"].levels[k].parameters()
        assert any(not torch.equal(a, b) for a, b in zip(old, new, strict=True)), k


def _params(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def test_a_level_trained_alone_touches_only_its_own_parameters():
    cfg, spec, nets, opts = tiny(MNIST, "model.level=1")
    assert set(opts) == {"generator_1", "critic_1"}
    snap = {(n, k): _params(nets[n].levels[k]) for n in ("generator", "critic") for k in range(3)}
    ctx = context(cfg, nets, opts, torch.rand(5, 1, 28, 28) * 2 - 1, torch.zeros(5, dtype=torch.long))
    for _ in range(2):
        logs = spec.train_step(ctx)
    assert set(logs) == {"loss_d", "loss_g", "loss_d_1", "loss_g_1", "d_real_1", "d_fake_1"}
    torch.testing.assert_close(logs["loss_d"], logs["loss_d_1"], rtol=0, atol=0)
    for (name, k), old in snap.items():
        new = list(nets[name].levels[k].parameters())
        moved = any(not torch.equal(a, b) for a, b in zip(old, new, strict=True))
        assert moved == (k == 1), (name, k)
        if k != 1:
            assert all(p.grad is None for p in new), (name, k)


def test_class_conditional_generators_depend_on_the_label():
    cfg, _, nets, _ = tiny(MNIST, "model.conditional=true")
    G = nets["generator"]
    a, b = F.one_hot(torch.full((3,), 2), 10).float(), F.one_hot(torch.full((3,), 7), 10).float()
    with torch.no_grad():
        assert not torch.allclose(G(2, torch.rand(3, 3), a), G(2, torch.rand(3, 3), b))
        for k, side in ((0, 28), (1, 14)):
            planes = torch.rand(3, 2, side, side)
            assert not torch.allclose(G(k, planes, a), G(k, planes, b)), k
        one = lapgan.generate(nets, cfg, 3, generator=torch.Generator().manual_seed(0), labels=torch.full((3,), 2))
        two = lapgan.generate(nets, cfg, 3, generator=torch.Generator().manual_seed(0), labels=torch.full((3,), 7))
    assert not torch.allclose(one, two)
    plain_cfg, _, plain, _ = tiny(MNIST)
    with pytest.raises(ValueError, match="unconditional"):
        plain["generator"](2, torch.rand(3, 3), a)
    with pytest.raises(ConfigError, match="model.conditional=true"):
        lapgan.generate(plain, plain_cfg, 3, labels=torch.full((3,), 2))


@pytest.mark.parametrize("conditional", [False, True], ids=["lapgan", "cc-lapgan"])
def test_coarse_to_fine_sampling_equals_the_manual_composition(conditional):
    cfg, _, nets, _ = tiny(CIFAR, f"model.conditional={conditional}", "model.blur_sigma=0.7")
    G = nets["generator"].eval()
    with torch.no_grad():
        levels = lapgan.sample_levels(nets, cfg, 4, generator=torch.Generator().manual_seed(3))
        final = lapgan.generate(nets, cfg, 4, generator=torch.Generator().manual_seed(3))
        g = torch.Generator().manual_seed(3)  # the documented draw order: labels, z_K, z_1, z_0
        y = F.one_hot(torch.randint(10, (4,), generator=g), 10).float() if conditional else None
        image = G.levels[2](torch.rand(4, 3, generator=g) * 2 - 1, y)  # I~_2 = G_2(z_2)
        manual = [image]
        for k, side in ((1, 16), (0, 32)):
            low = pyramid_up(image, 0.7)  # u(I~_{k+1})
            image = low + G.levels[k](torch.cat([torch.rand(4, 1, side, side, generator=g) * 2 - 1, low], 1), y)
            manual.insert(0, image)
    for got, want in zip(levels, manual, strict=True):
        assert torch.equal(got, want)
    assert torch.equal(final, levels[0])
    figure = lapgan.levels_figure(levels)  # rows: I~_2, I~_1, I~_0, each at 32×32
    assert figure.shape == (12, 3, 32, 32)
    assert torch.equal(figure[:4, :, ::4, ::4], levels[2]) and torch.equal(figure[8:], levels[0])


@pytest.mark.parametrize("d_steps,expected", [("[1]", [1, 1, 1]), ("[3]", [3, 3, 3]), ("[1,2,4]", [1, 2, 4])])
def test_d_steps_gives_k_critic_updates_per_generator_update_per_level(d_steps, expected):
    """Counted with optimizer hooks: level k's D takes k updates, each further one on a fresh batch, and its G
    one; the batches drawn are the step's one plus the extra D updates'."""
    cfg, spec, nets, opts = tiny(MNIST, f"model.d_steps={d_steps}")
    counts = {name: 0 for name in opts}
    for name, opt in opts.items():
        opt.register_step_post_hook(lambda *_, name=name: counts.__setitem__(name, counts[name] + 1))
    batches = []

    def next_batch():
        gen = torch.Generator().manual_seed(len(batches))
        batches.append(torch.rand(5, 1, 28, 28, generator=gen) * 2 - 1)
        return batches[-1], torch.arange(5) % 10

    ctx = StepContext(cfg=cfg, nets=nets, optimizers=opts, next_batch=next_batch, step=0, device=CPU)
    logs = spec.train_step(ctx)
    assert counts == {**{f"critic_{k}": n for k, n in enumerate(expected)}, **{f"generator_{k}": 1 for k in range(3)}}
    assert len(batches) == 1 + sum(n - 1 for n in expected)
    assert all(torch.isfinite(v) for v in logs.values())


def test_config_and_data_checks():
    for bad in ("[1,2]", "[0]"):
        with pytest.raises(ConfigError, match="model.d_steps"):
            C.resolve(sets=[*TINY, f"model.d_steps={bad}"])
    for bad, key in (("model.level=3", "model.level"), ("model.level=fine", "model.level"),
                     ("model.dropout=1", "model.dropout"), ("model.levels=0", "model.levels"),
                     ("model.blur_sigma=0", "model.blur_sigma")):
        with pytest.raises(ConfigError, match=key):
            C.resolve(sets=["model.name=lapgan", bad])
    cfg = C.resolve(sets=["model.name=lapgan", "model.levels=4"])
    with pytest.raises(ConfigError, match="divisible by 8"):
        lapgan.build_nets(cfg, MNIST)
    with pytest.raises(ConfigError, match="at least 9×9"):
        lapgan.build_nets(C.resolve(sets=["model.name=lapgan"]), DataShape((1, 16, 16), 10, (-1.0, 1.0)))
    with pytest.raises(ConfigError, match="needs images"):
        lapgan.build_nets(C.resolve(sets=["model.name=lapgan"]), DataShape((2,), 8, None))
    with pytest.raises(ConfigError, match="labelled dataset"):
        lapgan.build_nets(C.resolve(sets=["model.name=lapgan", "model.conditional=true"]),
                          DataShape((1, 28, 28), 0, (-1.0, 1.0)))


@pytest.mark.parametrize("level", ["all", "1"], ids=["all-levels-cc-ema", "level-1-alone"])
def test_resume_is_bit_for_bit(tmp_path, level, capsys):
    base = ["--model", "lapgan", "--dataset", "mnist", "--set", f"data.path={write_idx_mnist(tmp_path / 'idx')}",
            *(f"--set={s}" for s in TINY[1:6]), "--set", "model.dropout=0.5", "--set", "train.batch_size=4",
            "--set", f"model.level={level}", "--set", "train.checkpoint_every=2", "--set", "train.log_every=1",
            "--set", "train.sample_every=4", "--set", "train.sample_grid=4"]
    if level == "all":
        base += ["--set", "model.conditional=true", "--set", "train.ema=0.9"]
    assert main(["train", *base, "--steps", "4", "--out", str(tmp_path / "a")]) == 0
    assert main(["train", *base, "--steps", "2", "--out", str(tmp_path / "b")]) == 0
    assert main(["train", "--out", str(tmp_path / "b"), "--resume", "--steps", "4"]) == 0, capsys.readouterr().err
    ta, tb = checkpoint_tensors(tmp_path / "a", 4), checkpoint_tensors(tmp_path / "b", 4)
    assert ta.keys() == tb.keys()
    modules = {key.split(":")[1].split(".")[0] for key in ta if key.startswith("modules:")}
    assert modules == {"generator", "critic"} | ({"ema_generator"} if level == "all" else set())
    optimizers = {key.split(".")[1] for key in ta if key.startswith("optimizers:")}
    levels = range(3) if level == "all" else [1]
    assert optimizers == {f"{n}_{k}" for n in ("generator", "critic") for k in levels}
    for key in ta:
        assert torch.equal(ta[key], tb[key]), key
    assert log_without_speed(tmp_path / "a") == log_without_speed(tmp_path / "b")
