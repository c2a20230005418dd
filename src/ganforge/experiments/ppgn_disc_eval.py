"""Evaluation half of ``ganforge experiment ppgn-disc`` (seed thesis, KTH 2018; Nguyen et al. 2017, Eq. 11):
a trained PPGN run's Wasserstein-estimate curves and its MALA-approx class-conditional samples, scored
with the domain classifier of the evaluation suite (a network other than the run's encoder E).

1. Curves: ``w_<layer>`` = E[D_i(real)] - E[D_i(fake)] of every critic, read from the run's ``log.jsonl``
   (only the steps where that critic trained and the step was logged; ``random`` trains one critic a step).
2. Samples: ``per_class`` MALA-approx chains per class (h_0 ~ N(0, I), the run's G and E), run batched,
   ``chain_batch`` chains per call.
3. Scores against the test set's domain-classifier logits φ: DDM (Basart 2017, eq. 3.4) and FID of φ(G),
   and class accuracy, the share of samples that the domain classifier labels as the class their chain
   asked for. DDM shifts with log |G|, so the caller also scores as many real training images (baseline).
   MALA optimises the samples against E, so class accuracy by a second, independently trained classifier
   is the honest check (``second_accuracy``); and since class accuracy alone can be fooled (grey blobs
   that both classifiers call a "3"), within-class diversity: the mean pairwise L2 distance of φ between
   samples asked for one class, averaged over classes, divided by the same for as many real test images
   of each class (``diversity_ratio``; 1 = as varied as real digits).
4. Reconstructions: G(E(x)) of test images, the share that the domain classifier labels as x's class
   (``recon_accuracy``) and their mean squared error (``recon_mse``). ``recon_fid``: FID of G(E(x)) for the
   training images of the baseline (as many as the MALA samples, the same seed), the score MALA's samples
   would get if every chain ended on a real image's code: how good G is on its own (a reference, not a
   bound: MALA's chains can find codes that G renders better than real ones).
5. A yardstick: DDM and FID of as many samples of another run (e.g. the 10-minute demo's), scored alike.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.data.cache import save_npz_atomic
from ganforge.experiments.class_samples import real_per_class
from ganforge.experiments.outputs import Panel, write_panels
from ganforge.experiments.real_features import Embedder
from ganforge.metrics import ddm, fid
from ganforge.metrics.diversity import diversity_ratio as metric_diversity_ratio
from ganforge.metrics.evaluate import samples_from_run
from ganforge.metrics.features import load_real
from ganforge.samplers.mala import MALASettings
from ganforge.train.grids import save_grid
from ganforge.train.logs import read_log
from ganforge.train.run import open_run
from ganforge.variants.ppgn import sample_mala

CRITIC_NAMES = {"image": "D (image)", "fc1": "D1 (fc1)"}


def w_curves(run_dir: Path, critics: list[str]) -> dict[str, tuple[list[int], list[float]]]:
    """Per critic layer: (logged steps, ``w_<layer>`` values) from ``RUN/log.jsonl``, in step order."""
    curves: dict[str, tuple[list[int], list[float]]] = {layer: ([], []) for layer in critics}
    for record in read_log(run_dir / "log.jsonl").records:  # a torn last line is dropped
        for layer in critics:
            if f"w_{layer}" in record:
                curves[layer][0].append(int(record["step"]))
                curves[layer][1].append(float(record[f"w_{layer}"]))
    return curves


def ratio_curves(run_dir: Path, critics: list[str]) -> dict[str, tuple[list[int], list[float], list[float]]]:
    """Per critic layer: (logged steps, ``grad_adv_<layer>`` / ``grad_img``, the same at λ_i = 1).

    The first ratio is the weighted adversarial term's gradient norm on G over the image term's as the run
    trained (1: balanced); the second divides out λ_i, showing what the thesis's λ = 1 would have given
    (far above 1: the image term drowned)."""
    curves: dict[str, tuple[list[int], list[float], list[float]]] = {layer: ([], [], []) for layer in critics}
    for record in read_log(run_dir / "log.jsonl").records:
        for layer in critics:
            if record.get(f"grad_adv_{layer}") is not None and record.get("grad_img"):
                ratio = float(record[f"grad_adv_{layer}"]) / float(record["grad_img"])
                curves[layer][0].append(int(record["step"]))
                curves[layer][1].append(ratio)
                curves[layer][2].append(ratio / float(record[f"lambda_{layer}"]))
    return curves


def mala_class_samples(run_dir: Path, per_class: int, settings: MALASettings, *, seed: int,
                       chain_batch: int = 200) -> dict[str, Any]:
    """``per_class`` MALA-approx samples of every class from the run's latest checkpoint.

    Returns:
        "images" (K·per_class, 1, 28, 28) CPU float32 clamped to the run's pixel range (the chains' G(h_T) as
        images; E's accuracy and the prior gap use G(h_T) itself), "classes" (K·per_class,)
        int64 with chain c·per_class + j asking for class c, "pixel_range", "encoder_accuracy" (share that
        the run's own E labels as asked) and "seconds" (wall time of the chains).
    """
    run = open_run(run_dir)
    num_classes = run.nets["encoder"].num_classes
    classes = torch.arange(num_classes).repeat_interleave(per_class)  # (K·per_class,)
    rng = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    chains = [sample_mala(run.nets, classes[i:i + chain_batch], settings, generator=rng)
              for i in range(0, len(classes), chain_batch)]
    raw, codes = torch.cat([r.images.cpu() for r in chains]), torch.cat([r.codes.detach().cpu() for r in chains])
    seconds = time.perf_counter() - start
    with torch.no_grad():
        encoder = run.nets["encoder"]
        device = next(encoder.parameters()).device
        acts = [encoder.activations(raw[i:i + 500].to(device), ["fc1", encoder.logits_layer])
                for i in range(0, len(raw), 500)]  # one pass over the chains' G(h_T): E's class and R(h)'s code
        own = torch.cat([a[encoder.logits_layer].argmax(1).cpu() for a in acts])
        rebuilt = torch.cat([a["fc1"].float().cpu() for a in acts])
    return {"images": run.in_range(raw), "classes": classes, "pixel_range": tuple(run.data_shape.pixel_range),
            "encoder_accuracy": float((own == classes).double().mean()), "seconds": seconds,
            "prior_gap": prior_gap(codes, rebuilt)}


def prior_gap(codes: torch.Tensor, rebuilt: torch.Tensor) -> float:
    """Mean over chains of ||R(h) - h|| / ||h||, R(h) = E_fc1(G(h)) (codes and rebuilt (B, 64)): how far
    the codes are from a fixed point of the prior term ε1 (R(h) - h) of Eq. 11. A chain still moving has
    a large gap; real codes h = E_fc1(x) give the run's floor (``real_prior_gap``)."""
    return float(((rebuilt - codes).norm(dim=1) / codes.norm(dim=1).clamp_min(1e-8)).mean())


def score_samples(embed: Embedder, test_features: torch.Tensor, images: torch.Tensor, classes: torch.Tensor,
                  pixel_range: tuple[float, float], *, second: Embedder | None = None,
                  seed: int = 0) -> dict[str, Any]:
    """DDM and FID of ``images`` (N, C, H, W) against the test features (logits), class accuracy and diversity.

    Returns:
        "ddm", "fid", "class_accuracy" (share whose argmax logit equals ``classes`` (N,)),
        "per_class_accuracy" (one share per class, in class order), "second_accuracy" (by ``second``; None
        without it) and :func:`diversity_ratio`'s "diversity", "diversity_real", "diversity_ratio".
    """
    logits = embed(images, pixel_range, "logits")  # (N, K)
    hit = (logits.argmax(1) == classes).double()
    per_class = [float(hit[classes == c].mean()) for c in classes.unique().tolist()]
    other = None
    if second is not None:
        other = float((second(images, pixel_range, "logits").argmax(1) == classes).double().mean())
    return {"ddm": ddm(test_features, logits), "fid": fid(test_features, logits),
            "class_accuracy": float(hit.mean()), "per_class_accuracy": per_class, "second_accuracy": other,
            **diversity_ratio(embed, logits, classes, seed=seed)}


def diversity_ratio(embed: Embedder, features: torch.Tensor, classes: torch.Tensor, *, seed: int) -> dict[str, float]:
    """Within-class spread of sample features (N, D) against real test images, as many per class
    (:func:`ganforge.metrics.diversity.diversity_ratio`)."""
    images, labels, pixel_range = real_per_class(embed.dataset, classes, seed)
    return metric_diversity_ratio(features, classes, embed(images, pixel_range), labels)


@torch.no_grad()
def reconstruction_scores(run_dir: Path, embed: Embedder, n: int, *, seed: int,
                          grid: Path | None = None) -> dict[str, float]:
    """G(E(x)) for ``n`` test images x, clamped to the pixel range: share the domain classifier labels as x's
    class, and the MSE; with ``grid``, a PNG of the first 10 images x (top row) above their reconstructions
    G(E(x)) (bottom row)."""
    run = open_run(run_dir)
    E = run.nets["encoder"]
    device = next(E.parameters()).device
    images, labels, pixel_range, _ = load_real(embed.dataset, "test", n, seed)
    codes, raw = reconstruct(run, images)
    rebuilt = torch.cat([E.activations(raw[i:i + 500].to(device), ["fc1"])["fc1"].float().cpu()
                         for i in range(0, len(raw), 500)])  # R(E(x)) from G's own output, as MALA's prior sees it
    recon = run.in_range(raw)
    hit = embed(recon, pixel_range, "logits").argmax(1) == labels
    if grid is not None:
        save_grid(torch.cat([images[:10], recon[:10]]), grid, nrow=min(10, len(images)), pixel_range=pixel_range)
    return {"recon_accuracy": float(hit.double().mean()), "recon_mse": float((recon - images).square().mean()),
            "real_prior_gap": prior_gap(codes, rebuilt)}


def recon_fid(run_dir: Path, embed: Embedder, test_features: torch.Tensor, n: int, *, seed: int) -> float:
    """FID of G(E(x)) (clamped to the pixel range) for the ``n`` training images that ``embed.real("train", n,
    seed)`` scores, against ``test_features`` (N, K): what MALA's samples would score if the chains found real
    codes (a reference for G's quality, not a bound)."""
    run = open_run(run_dir)
    images, _, pixel_range, _ = load_real(embed.dataset, "train", n, seed)
    _, raw = reconstruct(run, images)
    return fid(test_features, embed(run.in_range(raw), pixel_range, "logits"))


def reconstruct(run: Any, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(E_fc1(x) (B, 64), G(E_fc1(x)) (B, C, H, W) unclamped), float32 on the CPU, for ``images`` (B, C, H, W)
    through a PPGN run's E and G in chunks of 500."""
    E, G = run.nets["encoder"], run.nets["generator"]
    device = next(G.parameters()).device
    with torch.no_grad():
        codes = torch.cat([E.activations(images[i:i + 500].to(device), ["fc1"])["fc1"].float().cpu()
                           for i in range(0, len(images), 500)])
        raw = torch.cat([G(codes[i:i + 500].to(device)).float().cpu() for i in range(0, len(codes), 500)])
    return codes, raw


def write_samples(samples: dict[str, Any], per_class: int, columns: int, folder: Path, variant: str) -> dict[str, str]:
    """The class grid (one row per class, the first ``columns`` chains of each) and an ``.npz`` of all samples."""
    images, classes = samples["images"], samples["classes"]
    keep = torch.cat([torch.arange(columns) + c * per_class for c in range(int(classes.max()) + 1)])
    grid = save_grid(images[keep], folder / f"{variant}-mala-class-grid.png", nrow=columns,
                     pixel_range=samples["pixel_range"])
    npz = folder / f"{variant}-mala.npz"
    save_npz_atomic(npz, {"samples": images.numpy(), "classes": classes.numpy(),
                          "pixel_range": np.array(samples["pixel_range"], dtype=np.float64)})
    return {"mala_class_grid": str(grid), "mala_samples": str(npz)}


def plot_curves(results: dict[str, dict], path: Path) -> Path:
    """One panel per variant, one line per critic: the Wasserstein estimate over generator steps (Fig. 4), from
    each variant's result's ``curves``."""
    panels = [Panel(variant, "generator step", "Wasserstein estimate",
                    series={CRITIC_NAMES.get(layer, f"D_{layer}"): (c["step"], c["w"], None)
                            for layer, c in result["curves"].items()})
              for variant, result in results.items()]
    return write_panels(panels, path, "PPGN-disc: E[D(real)] - E[D(fake)] of every critic over training", columns=3)


def plot_ratios(results: dict[str, dict], path: Path) -> Path:
    """One panel per variant (its result's ``ratio_curves``): per critic ||∇_G λ_i adv_i|| / ||∇_G λ_img L_img||
    as trained, and at λ_i = 1."""
    panels = []
    for variant, result in results.items():
        per_critic = result.get("ratio_curves", {})
        series = {}
        for layer, c in per_critic.items():
            name = CRITIC_NAMES.get(layer, f"D_{layer}")
            series[f"{name} as trained"] = (c["step"], c["ratio"], None)
            series[f"{name} at λ = 1"] = (c["step"], c["ratio_at_lambda_1"], None)
        if any(c["step"] for c in per_critic.values()):
            panels.append(Panel(variant, "generator step", "adversarial / image gradient on G", series=series,
                                hline=("balanced", 1.0), logy=True))
    return write_panels(panels, path, "PPGN-disc: gradient of each adversarial term on G over the image term's",
                        columns=3)


def reference_scores(run: str, embed: Embedder, test_features: torch.Tensor, n: int, seed: int) -> dict[str, Any]:
    """DDM and FID of ``n`` samples of another run's generator against the same test features: a yardstick
    at the same sample count (FID is biased upwards at small n, so only equal-n figures compare)."""
    images, pixel_range, _ = samples_from_run(run, n, seed=seed)
    features = embed(images, pixel_range, "logits")
    return {"run": str(run), "n": n, "ddm": ddm(test_features, features),
            "fid": fid(test_features, features)}


def final_lambdas(run_dir: Path, critics: list[str]) -> dict[str, float | None]:
    """The last logged ``lambda_<layer>`` of each critic (the weights the run ended with)."""
    last: dict[str, float | None] = {layer: None for layer in critics}
    for record in read_log(run_dir / "log.jsonl").records:
        last.update({layer: float(record[f"lambda_{layer}"]) for layer in critics if f"lambda_{layer}" in record})
    return last


def csv_rows(results: dict[str, dict]) -> list[dict[str, Any]]:
    """One row per variant: variant, critics, steps, train_seconds, ddm, fid, class accuracies, diversity,
    reconstruction scores, w_<layer> and lambda_<layer>..."""
    layers = list(dict.fromkeys(layer for r in results.values() for layer in r["critics"]))
    keys = ("ddm", "fid", "class_accuracy", "second_accuracy", "diversity_ratio", "recon_accuracy", "recon_mse",
            "recon_fid", "prior_gap", "real_prior_gap")
    return [{"variant": name, "critics": "+".join(r["critics"]), "steps": r["steps"],
             "train_seconds": r["train_seconds"], **{k: r.get(k) for k in keys},
             **{f"w_{layer}": r["final_w"].get(layer) for layer in layers},
             **{f"lambda_{layer}": r.get("lambdas", {}).get(layer) for layer in layers}}
            for name, r in results.items()]
