"""The missing-modes experiment of the DDM paper (Basart 2017; SPEC.md "Measures"): does a measure notice
that a "generator" knows only a few training images?

For each n in {10, 20, 100, 1000, 10000} and each of 5 repeats, n distinct training images are drawn and
replicated (then shuffled) to the size of the training set, as a generator that memorised n images would
produce. Each such set is scored against the test set by DDM (eq. 3.4, domain-classifier logits, |G| = the
training-set size) and by the inception-style score (10 splits). Expected: the score saturates by
n ≈ 1000 (it only asks for confident, class-balanced predictions), DDM keeps improving as n grows (it asks
every test image to have a generated neighbour). The reference row is the whole training set.

Because the DDM inner mean is over |G|, replicating each of n images |R|/n times gives exactly the DDM of
the n distinct images; the replication matters for the score's splits and keeps |G| equal across rows.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

from ganforge.errors import ConfigError
from ganforge.experiments.outputs import Panel, write_outputs, write_panels
from ganforge.experiments.real_features import Embedder
from ganforge.metrics import ddm, inception_score

N_VALUES = (10, 20, 100, 1000, 10000)
REPEATS = 5
SATURATION_N = 1000


def replicated_indices(total: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``total`` indices drawing only on n distinct ones (each used ⌊total/n⌋ or ⌈total/n⌉ times), shuffled."""
    distinct = rng.choice(total, size=n, replace=False)
    return rng.permutation(np.resize(distinct, total))  # np.resize repeats the n cyclically up to total


def missing_modes(dataset: str = "mnist", out_dir: str | Path = "missing-modes", *, n_values=N_VALUES,
                  repeats: int = REPEATS, n_test: int = 10000, train_size: int | None = None, seed: int = 0,
                  classifier: str | None = None, log=print) -> dict:
    """Run the experiment and write ``missing_modes.csv``, ``missing_modes.png`` and ``missing_modes.json``.

    Args:
        dataset: an image dataset with a trained domain classifier (``ganforge classifier train``).
        out_dir: folder for the three files.
        n_values: distinct training images per "generator" (each <= the training-set size).
        repeats: independent draws per n.
        n_test: test images T (a seeded subset).
        train_size: training images R used (default all); the replicated sets have this size.
        seed: seeds the subsets and the draws.
        classifier: classifier folder (default: the dataset's cached one).

    Returns:
        The JSON summary: per-n means and standard deviations, the training-set reference and the checks
        ``ddm_keeps_improving`` and ``score_saturation`` (mean score at n=1000 over that at the largest n).
    """
    embed = Embedder.load(dataset, classifier)
    _, test_f, _ = embed.real("test", n_test, seed)
    _, train_f, _ = embed.real("train", train_size or 10**9, seed)
    total = len(train_f)
    if repeats < 1 or not n_values or any(not 1 <= n <= total for n in n_values):
        raise ConfigError(f"--n-values must lie in 1..{total} and --repeats be >= 1; got {list(n_values)}, {repeats}")
    rows = []
    for n in sorted(n_values):
        for r in range(repeats):
            idx = replicated_indices(total, n, np.random.default_rng([seed, n, r]))
            feats = train_f[torch.from_numpy(idx)]
            score, score_std = inception_score(feats, splits=10)
            rows.append({"n": n, "repeat": r, "ddm": ddm(test_f, feats), "score": score, "score_std": score_std})
            log(f"n={n} repeat={r}: DDM {rows[-1]['ddm']:.4f} score {score:.3f}")
    reference = {"ddm": ddm(test_f, train_f), "score": inception_score(train_f, splits=10)[0], "size": total}
    summary = _summary(rows, reference, dataset, embed, n_test)
    return write_outputs(summary, rows, out_dir, "missing_modes", _plot)


def _summary(rows: list[dict], reference: dict, dataset: str, embed: Embedder, n_test: int) -> dict:
    per_n = {}
    for n in sorted({r["n"] for r in rows}):
        ddms = np.array([r["ddm"] for r in rows if r["n"] == n])
        scores = np.array([r["score"] for r in rows if r["n"] == n])
        per_n[str(n)] = {"ddm_mean": float(ddms.mean()), "ddm_std": float(ddms.std()),
                         "score_mean": float(scores.mean()), "score_std": float(scores.std())}
    means = [v["ddm_mean"] for v in per_n.values()]
    largest = per_n[str(max(int(k) for k in per_n))]
    saturation = per_n.get(str(SATURATION_N), {}).get("score_mean")
    return {"experiment": "missing-modes", "dataset": dataset, "embedding": embed.embedding,
            "classifier": {"dir": embed.meta["dir"], "test_accuracy": embed.meta.get("test_accuracy")},
            "n_test": n_test, "replicated_size": reference["size"], "per_n": per_n, "reference_train": reference,
            "ddm_keeps_improving": bool(all(b < a for a, b in pairwise(means))),
            "score_saturation": None if saturation is None else saturation / largest["score_mean"]}


def _plot(summary: dict, path: Path) -> Path:
    ns = [float(n) for n in summary["per_n"]]
    per = list(summary["per_n"].values())
    ref = summary["reference_train"]
    panels = [Panel("DDM(test, G) (lower is better)", "distinct training images n", "DDM (nats)", logx=True,
                    series={"replicated n": (ns, [p["ddm_mean"] for p in per], [p["ddm_std"] for p in per])},
                    hline=("whole training set", ref["ddm"])),
              Panel("DDM excess over the training set", "distinct training images n", "DDM - DDM(test, train)",
                    logx=True, logy=True, series={"replicated n": (ns, [p["ddm_mean"] - ref["ddm"] for p in per],
                                                                   None)}),
              Panel("inception-style score (higher is better)", "distinct training images n", "score", logx=True,
                    series={"replicated n": (ns, [p["score_mean"] for p in per], [p["score_std"] for p in per])},
                    hline=("whole training set", ref["score"]))]
    title = f"missing modes on {summary['dataset']}: DDM keeps improving, the score saturates"
    return write_panels(panels, path, title)
