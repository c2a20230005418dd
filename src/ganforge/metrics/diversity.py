"""Within-class diversity: how varied the samples of one class are, against real images of that class.

A class-accuracy or class-coverage score can be fooled by one prototype per class (grey blobs that the
classifier calls a "3"); a collapsed class has no spread. For features φ (N, D) (the domain classifier's
embedding) and a class per row (the class a chain asked for, or the classifier's argmax for unconditional
samples), the spread of class c is the mean pairwise L2 distance between the rows of c,

    s_c = Σ_{i≠j, y_i=y_j=c} ||φ_i - φ_j||_2 / (n_c (n_c - 1)),

and the *diversity ratio* is (mean_c s_c of the samples) / (mean_c s_c of real images with their labels),
both means over the same classes: those holding at least two samples and two real images. 1: as varied as
real digits; 0: one image per class. Used by ``experiments.ppgn_disc_eval`` (MALA class samples) and
``experiments.compare_eval`` (unconditional samples, classes by argmax). Float64 arithmetic.
"""

from __future__ import annotations

import numpy as np
import torch


def class_spreads(features: torch.Tensor, classes: torch.Tensor) -> dict[int, float]:
    """Class → mean pairwise L2 distance between the features (N, D) of that class's rows (classes (N,));
    classes with fewer than two rows are left out."""
    spreads = {}
    for c in classes.unique().tolist():
        f = features[classes == c].double()
        if len(f) > 1:
            spreads[int(c)] = float(torch.cdist(f, f).sum() / (len(f) * (len(f) - 1)))
    return spreads


def within_class_spread(features: torch.Tensor, classes: torch.Tensor) -> float:
    """Mean over classes of the mean pairwise L2 distance between the features (N, D) of one class
    (classes with one sample are left out; nan when no class has two)."""
    spreads = list(class_spreads(features, classes).values())
    return float(np.mean(spreads)) if spreads else float("nan")


def diversity_ratio(features: torch.Tensor, classes: torch.Tensor, real_features: torch.Tensor,
                    real_classes: torch.Tensor) -> dict[str, float]:
    """Within-class spread of samples against real images, over the classes both have two rows of.

    Args:
        features: (N, D) features of the samples; classes: (N,) their classes.
        real_features: (M, D) features of real images; real_classes: (M,) their labels.

    Returns:
        "diversity" (the samples' mean class spread), "diversity_real" (the real images' over the same
        classes), "diversity_ratio" (their quotient) and "diversity_classes" (how many classes entered);
        nan for all three values when no class qualifies.
    """
    fake, real = class_spreads(features, classes), class_spreads(real_features, real_classes)
    shared = sorted(set(fake) & set(real))
    if not shared:
        nan = float("nan")
        return {"diversity": nan, "diversity_real": nan, "diversity_ratio": nan, "diversity_classes": 0}
    d_fake = float(np.mean([fake[c] for c in shared]))
    d_real = float(np.mean([real[c] for c in shared]))
    return {"diversity": d_fake, "diversity_real": d_real, "diversity_ratio": d_fake / d_real,
            "diversity_classes": len(shared)}
