"""``ganforge experiment ppgn-disc --seeds N``: the PPGN-disc experiment (``ppgn_disc``) once per seed, in
``OUT/seed-<s>/``, then every measure as mean ± std over the seeds per variant (seed thesis, KTH 2018).

Each seed trains G and the critics from that seed (E, the domain classifier and the second classifier
are shared), samples its own MALA chains and is scored alike; finished runs are reused, so an interrupted
call resumes where it stopped and seeds may be run apart (``--seed s --out OUT/seed-<s>``) and gathered
here. For the thesis's claims the summary also carries, per critic, the Wasserstein estimate averaged
over the first and the last tenth of the logged steps (it should fall and level off) and the generator
steps per second (an fc1 critic should cost less than the image critic).

Written: ``OUT/ppgn_disc_seeds.csv`` (one row per variant: n seeds, then ``<measure>_mean`` and
``<measure>_std`` with the sample standard deviation, ddof 1), ``OUT/ppgn_disc_seeds.json`` (the same,
plus each seed's values, and the baselines: training images and, with ``--reference-run``, that run's
samples, scored alike per seed) and ``OUT/ppgn_disc_seeds.md`` (the README's table: one row per variant,
mean ± std, then the baselines' FID and DDM).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ganforge.data.cache import write_bytes_atomic
from ganforge.errors import ConfigError
from ganforge.experiments.outputs import mean_std, write_csv, write_json
from ganforge.experiments.ppgn_disc import DiscSettings, ppgn_disc, settings_record

COLUMNS = (("class acc. (domain)", "class_accuracy", 3), ("class acc. (second)", "second_accuracy", 3),
           ("diversity / real", "diversity_ratio", 2), ("recon. as source", "recon_accuracy", 3), ("FID", "fid", 1),
           ("FID of G(E(x))", "recon_fid", 1), ("DDM", "ddm", 2), ("prior gap", "prior_gap", 2),
           ("steps/s", "steps_per_second", 2))
MEASURES = ("class_accuracy", "second_accuracy", "encoder_accuracy", "diversity_ratio", "recon_accuracy",
            "recon_mse", "recon_fid", "prior_gap", "real_prior_gap", "ddm", "fid", "steps_per_second",
            "train_seconds")


def w_ends(curve: dict[str, list]) -> tuple[float | None, float | None]:
    """Mean Wasserstein estimate over the first and the last tenth of a critic's logged steps."""
    values = curve.get("w") or []
    if not values:
        return None, None
    k = max(1, len(values) // 10)
    return float(np.mean(values[:k])), float(np.mean(values[-k:]))


def seed_values(result: dict[str, Any]) -> dict[str, float | None]:
    """One seed's numbers for one variant: the measures and ``w_first_<layer>`` / ``w_last_<layer>``."""
    values = {m: result.get(m) for m in MEASURES}
    for layer, curve in result.get("curves", {}).items():
        values[f"w_first_{layer}"], values[f"w_last_{layer}"] = w_ends(curve)
    return values


def aggregate(per_seed: dict[int, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Variant → {"seeds": n, "<measure>_mean", "<measure>_std", "per_seed": {seed: values}}."""
    variants = list(next(iter(per_seed.values()))["variants"])
    table = {}
    for variant in variants:
        by_seed = {s: seed_values(summary["variants"][variant]) for s, summary in per_seed.items()}
        keys = list(dict.fromkeys(k for v in by_seed.values() for k in v))
        row: dict[str, Any] = {"seeds": len(by_seed)}
        for key in keys:
            row[f"{key}_mean"], row[f"{key}_std"] = mean_std([v.get(key) for v in by_seed.values()])
        table[variant] = {**row, "per_seed": by_seed}
    return table


def finished_seed(folder: Path, settings: DiscSettings) -> dict[str, Any] | None:
    """The summary of a seed finished with exactly these settings (run apart or before an interruption),
    else None: such a seed is neither trained nor sampled again."""
    path = folder / "ppgn_disc.json"
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return None
    same = summary.get("settings") == json.loads(json.dumps(settings_record(settings)))
    return summary if same and list(summary.get("variants", {})) == list(settings.variants) else None


def ppgn_disc_seeds(out_dir: str | Path, settings: DiscSettings, seeds: int, *,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run :func:`ppgn_disc` for seeds ``settings.seed`` … ``settings.seed + seeds - 1`` and aggregate them.

    Returns:
        The JSON summary: settings, seeds, per variant mean ± std of every measure and each seed's values.
    """
    if seeds < 2:
        raise ConfigError(f"--seeds {seeds}: aggregate at least 2 seeds (one seed is the plain experiment)")
    out = Path(out_dir)
    per_seed = {}
    for seed in range(settings.seed, settings.seed + seeds):
        folder, seed_settings = out / f"seed-{seed}", replace(settings, seed=seed)
        if (done := finished_seed(folder, seed_settings)) is not None:
            log(f"== seed {seed}: reusing the finished experiment in {folder}")
            per_seed[seed] = done
            continue
        log(f"== seed {seed} ({seed - settings.seed + 1} of {seeds}) into {folder}")
        per_seed[seed] = ppgn_disc(folder, seed_settings, log=log)
    table = aggregate(per_seed)
    rows = [{"variant": v, **{k: x for k, x in r.items() if k != "per_seed"}} for v, r in table.items()]
    keys = list(dict.fromkeys(k for row in rows for k in row))
    write_csv([{k: row.get(k) for k in keys} for row in rows], out / "ppgn_disc_seeds.csv")
    first = next(iter(per_seed.values()))
    critics = {v: "+".join(r["critics"]) for v, r in first["variants"].items()}
    summary = {"experiment": "ppgn-disc", "seeds": list(per_seed), "settings": first["settings"],
               "reduced": first["reduced"], "baseline_train": first["baseline_train"],
               "baselines": baselines(per_seed), "variants": table,
               "total_seconds": round(sum(s["total_seconds"] for s in per_seed.values()), 1),
               "files": {"csv": str(out / "ppgn_disc_seeds.csv"), "json": str(out / "ppgn_disc_seeds.json"),
                         "per_seed": {s: p["files"] for s, p in per_seed.items()}}}
    write_bytes_atomic(out / "ppgn_disc_seeds.md", markdown_table(table, summary["baselines"], critics).encode())
    summary["files"]["md"] = str(out / "ppgn_disc_seeds.md")
    write_json(summary, out / "ppgn_disc_seeds.json")
    return summary


def baselines(per_seed: dict[int, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Mean ± std over the seeds of FID and DDM of the training images and, when every seed scored one, the
    reference run's samples (each seed draws its own sample set of the same size)."""
    records = {"training images": [s["baseline_train"] for s in per_seed.values()]}
    references = [s["baseline_train"].get("reference") for s in per_seed.values()]
    if all(references):
        records[f"reference run {Path(references[0]['run']).name}"] = references
    table = {}
    for name, recs in records.items():
        row: dict[str, Any] = {"seeds": len(recs), "n": recs[0]["n"]}
        for key in ("fid", "ddm"):
            row[f"{key}_mean"], row[f"{key}_std"] = mean_std([r[key] for r in recs])
        table[name] = row
    return table


def markdown_table(table: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]], critics: dict[str, str]) -> str:
    """The variants' mean ± std (:data:`COLUMNS`), then one row per baseline with its FID and DDM only."""
    def cell(row: dict[str, Any], key: str, digits: int) -> str:
        mean, std = row.get(f"{key}_mean"), row.get(f"{key}_std")
        return "" if mean is None else f"{mean:.{digits}f} ± {std:.{digits}f}"

    head = ["variant", "critics", *(name for name, _, _ in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += [f"| {v} | {critics[v]} | " + " | ".join(cell(r, k, d) for _, k, d in COLUMNS) + " |"
              for v, r in table.items()]
    lines += [f"| {name} (n {r['n']}) | | " + " | ".join(cell(r, k, d) if k in ("fid", "ddm") else ""
                                                        for _, k, d in COLUMNS) + " |" for name, r in base.items()]
    return "\n".join(lines) + "\n"
