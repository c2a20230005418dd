"""Rescore each variant's saved MALA samples (OUT/samples/<variant>-mala.npz) of a ppgn-disc run made before
commits fdd7c08 and 8a7a65a, against the same test features (the cached domain classifier's logits):
- "ddm_fixed": DDM of the raw samples with the fixed pairwise centring (fdd7c08);
- "*_clamped": DDM, FID and class accuracy of the samples clamped to [-1, 1], as images (8a7a65a);
- "*_run": what the run wrote; "pixel_min"/"pixel_max": the raw samples' range.

    python rescore.py OUT --seed 1 > rescore.json   (OUT: the experiment's --out folder)
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from ganforge.experiments.real_features import Embedder
from ganforge.metrics import ddm, fid

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--n-test", type=int, default=10000)
args = parser.parse_args()
embed = Embedder.load("mnist", None, "logits")
_, test, _ = embed.real("test", args.n_test, args.seed)
summary = json.loads((Path(args.out) / "ppgn_disc.json").read_text())
rows = {}
for variant, result in summary["variants"].items():
    z = np.load(Path(args.out) / "samples" / f"{variant}-mala.npz")
    x = torch.from_numpy(z["samples"])
    f = embed(x, tuple(float(v) for v in z["pixel_range"]), "logits")
    fc = embed(x.clamp(-1, 1), (-1.0, 1.0), "logits")
    hit = (fc.argmax(1) == torch.from_numpy(z["classes"])).double().mean()
    rows[variant] = {"ddm_clamped": ddm(test, fc), "fid_clamped": fid(test, fc), "class_acc_clamped": float(hit),
                     "class_acc_run": result["class_accuracy"],
                     "pixel_min": float(x.min()), "pixel_max": float(x.max()), "ddm_run": result["ddm"],
                     "ddm_fixed": ddm(test, f), "fid_run": result["fid"], "fid_recomputed": fid(test, f)}
json.dump(rows, sys.stdout, indent=1)
print()
