"""Ad hoc probe: MALA-approx with the code h clipped to [0, inf) after every step, as Nguyen et al. 2017's
own sampler keeps h in [0, 30] (Evolving-AI-Lab/ppgn, sampler.py: "keep the code within a realistic range";
the thesis's reference code does not clip), against the thesis's unclipped chain, on the trained 20-epoch
seed-1 runs. Same 200 chains (20 per class, seed 1, 1,000 steps), same scoring as the experiment.

    python h_clip_probe.py OUT/runs vanilla none,clip0 > h_clip_probe.json   (OUT: the experiment's --out)
"""
import json
import sys
import time
from pathlib import Path

import ganforge.samplers.mala as mala
from ganforge.experiments import ppgn_disc_eval as ev
from ganforge.experiments.real_features import Embedder
from ganforge.samplers.mala import MALASettings

root, variants, modes = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3].split(",")
embed = Embedder.load("mnist", None, "logits")
second = Embedder.load("mnist", str(Path.home() / "second"), "logits")
_, test, _ = embed.real("test", 10000, 1)
plain_step = mala.mala_step
out = {}
for variant in variants:
    for mode in modes:
        def step(h, classes, g, e, s, rng=None, clip=(mode == "clip0")):
            h_next, x = plain_step(h, classes, g, e, s, rng=rng)
            return (h_next.clamp_min(0) if clip else h_next), x
        mala.mala_step = step  # run_mala looks it up at call time
        start = time.time()
        samples = ev.mala_class_samples(root / variant, 20, MALASettings(steps=1000), seed=1)
        scores = ev.score_samples(embed, test, samples["images"], samples["classes"], samples["pixel_range"],
                                  second=second, seed=1)
        out[f"{variant}/{mode}"] = {**{k: scores[k] for k in ("fid", "ddm", "class_accuracy", "second_accuracy",
                                                              "diversity_ratio")},
                                    "prior_gap": samples["prior_gap"], "seconds": time.time() - start}
mala.mala_step = plain_step
json.dump(out, sys.stdout, indent=1)
print()
