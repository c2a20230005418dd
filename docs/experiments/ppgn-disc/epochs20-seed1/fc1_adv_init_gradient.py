"""fc1-adv at initialisation: the adversarial term's gradient on G, with G's output in pixels (ganforge's
default) and in the reference code's standardised units (``model.output_units=standardised``).

The term is -D1(E_fc1(G(h))) with h the fc1 codes of 32 MNIST training images, E the reduced experiment's
encoder (width 0.125, from the data cache), G and D1 freshly initialised for seeds 0..9.

    python docs/experiments/ppgn-disc/epochs20-seed1/fc1_adv_init_gradient.py [ENCODER_DIR]
"""

import sys

import torch

from ganforge.data import data_cache_dir, load_dataset
from ganforge.nets.ppgn import PPGNCodeCritic, PPGNGenerator
from ganforge.train.classifier import load_classifier
from ganforge.variants.ppgn_nets import output_map

torch.set_num_threads(1)
folder = sys.argv[1] if len(sys.argv) > 1 else data_cache_dir() / "classifiers" / "mnist-ppgn-encoder-w0.125"
E, _ = load_classifier(folder)
E.eval().requires_grad_(False)
h = E.activations(load_dataset("mnist", split="train").images[:32], ["fc1"])["fc1"]
for units in ("pixels", "standardised"):
    scale, shift = output_map(units, "mnist", (-1.0, 1.0))
    zero = 0
    for seed in range(10):
        torch.manual_seed(seed)
        G = PPGNGenerator(width=0.125, output_scale=scale, output_shift=shift)
        D = PPGNCodeCritic(width=0.125)
        x = G(h)
        acts = E.activations(x, ["conv1", "fc1"])
        grads = torch.autograd.grad(-D(acts["fc1"]).mean(), list(G.parameters()))
        norm = float(torch.sqrt(sum(g.square().sum() for g in grads)))
        zero += norm == 0
        print(f"{units:>12} seed {seed}: G(h) mean {x.mean():+.3f}, E conv1 active share "
              f"{(acts['conv1'] > 0).float().mean():.4f}, |grad on G| {norm:.3g}")
    print(f"{units:>12}: exactly zero gradient for {zero} of 10 initialisations")
