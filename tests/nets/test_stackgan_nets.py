"""Stacked GAN nets (Huang et al. 2017, reference code xunhuang1995/SGAN): the reference shapes at width 1,
the reference initialisation N(0, 0.02) and the batch-normed noise paths that make G_0's output depend on z_0."""

from __future__ import annotations

import torch

from ganforge.nets.stackgan import (
    INIT_STD,
    StackGANFeatureDiscriminator,
    StackGANFeatureGenerator,
    StackGANImageDiscriminator,
    StackGANImageGenerator,
    StackGANNoiseHead,
)


def test_g0_output_varies_with_its_noise_at_initialisation():
    """At the preset's width, over z_0 at a fixed condition against over conditions: 0.22-0.25 at seeds 0-3
    with batch-normed noise embedding and N(0, 0.02) weights; 0.015-0.017 without them (ganforge before)."""
    torch.manual_seed(0)
    G0 = StackGANImageGenerator(feature_dim=64, noise_dim=4, width=0.25)
    h = torch.relu(torch.randn(8, 64) * 2).repeat_interleave(8, 0)  # 8 conditions, each with 8 noises
    with torch.no_grad():
        x = G0(torch.cat([h, torch.rand(64, 4)], 1)).reshape(8, 8, -1)
    ratio = float(x.var(1).mean() / x.mean(1).var(0).mean())
    assert 0.1 < ratio < 1.0, ratio


def test_nets_start_from_the_reference_initialisation():
    nets = [StackGANFeatureGenerator(), StackGANImageGenerator(), StackGANFeatureDiscriminator(),
            StackGANImageDiscriminator(), StackGANNoiseHead()]
    for net in nets:
        for module in net.modules():
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                assert 0.9 * INIT_STD < float(module.weight.detach().std()) < 1.1 * INIT_STD, module
                assert module.bias is None or not module.bias.any()
    G0 = nets[1]
    assert isinstance(G0.embed[1], torch.nn.BatchNorm1d)
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in nets[0].modules()) == 2


def test_nets_at_width_1_follow_the_reference_shapes():
    G1, G0, D0 = StackGANFeatureGenerator(), StackGANImageGenerator(), StackGANImageDiscriminator()
    sizes = []
    for name in ("bn0", "deconv1", "deconv2", "deconv3", "deconv4"):
        getattr(G0, name).register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[1:])))
    with torch.no_grad():
        h1 = G1(torch.rand(2, 60))
        x = G0(torch.cat([h1, torch.rand(2, 50)], 1))
        features, scores = D0.features_and_score(x)
    assert h1.shape == (2, 64) and (h1 >= 0).all() and x.shape == (2, 1, 28, 28) and x.abs().max() <= 1
    assert sizes == [(128, 4, 4), (128, 8, 8), (64, 12, 12), (64, 24, 24), (1, 28, 28)]
    assert features.shape == (2, 256) and scores.shape == (2,)
    assert [m.out_features for m in G1.net if isinstance(m, torch.nn.Linear)] == [512, 512, 64]
