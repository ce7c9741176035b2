"""Probe: do synthetic windows started from noised real windows (SDEdit) cost LDA less?

``ablate_lda`` found that SASG costs LDA on hudgins features through the synthetic
pool's class means, which sit as far from the fitting windows' as a new repetition
does, in directions the test repetitions do not share. Generating each window from a
real window of its class, noised to a fraction ``strength`` of the diffusion schedule
and denoised under its SASS condition (SDEdit, Meng et al. 2022; the "strength" of
DA-Fusion, Trabucco et al. 2024), keeps a synthetic window near a real one and so the
pool's class means near the real ones, while the generator still varies the window.

This is a probe, run before any library option exists, to decide whether one is worth
building; it chooses no default. Per (subject, seed) one default
:class:`~semgaug_sk.augmentation.SASGAugmenter` (ratio 2) is fitted on the first half in
time of each gesture of the first training repetition (``inner_split(cut="time")``);
the SASS conditions for the ratio's windows are drawn once, each gets as start window the
fitting window of its class whose embedding is nearest, and every variant denoises the
same conditions from the same noise, without the confidence filter (so that the variants
differ in the start alone), on the amplitude grid as the default does:

- ``pure``: from pure noise (the default generation, unfiltered);
- ``s0.3`` / ``s0.5`` / ``s0.7``: from the start windows at that strength;
- ``starts``: the start windows themselves (strength 0: duplicated real windows).

LDA on hudgins features and STC are scored on the held-out second half. The subjects
(DB1 S13, S14; Myo Male6, Male7) are outside every set that later ablations use. The
committed units ran at ccc71bc, when ``strength`` kept the last ``round(s * n)`` of the
``n = 10`` sampling steps (s0.3, s0.5 and s0.7 started at timesteps 111, 222 and 333 of
500); since ef03740 a strength sets the start timestep itself
(``round(s * 499)``: 150, 250, 349) and every variant takes the 10 steps from there.
The probe was not rerun with the new spacing.

Usage::

    python benchmarks/probe_anchor_strength.py --datasets db1 --subjects S13 S14 \\
        --seeds 0 1 --out results/time_split/probe_anchor_strength
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_cond_noise import class_mean_offset  # noqa: E402
from ablate_generator import inner_split  # noqa: E402
from ablate_sass_selection import SIZES, pool_fidelity  # noqa: E402
from ablate_time_warp import inner_scorers  # noqa: E402
from protocols import code_version  # noqa: E402

from semgaug_sk.augmentation import SASGAugmenter  # noqa: E402

STRENGTHS = (0.3, 0.5, 0.7)
SHIFT_FEATURES = ("mav", "wl", "ssc")


def nearest_start_windows(aug, X, conds, codes):
    """Per condition, the fitting window of its class whose embedding is nearest."""
    emb = aug.train_embeddings_
    starts = np.empty(len(conds), dtype=np.int64)
    for code in np.unique(codes):
        own = np.flatnonzero(aug._train_codes == code)
        rows = np.flatnonzero(codes == code)
        d = ((conds[rows, None, :] - emb[None, own, :]) ** 2).sum(-1)
        starts[rows] = own[d.argmin(axis=1)]
    return X[starts]


def run_unit(dataset, subject, seed):
    from semgaug_sk.features import EMGFeatures

    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut="time")
    lda, stc = inner_scorers(fit, held_out, seed, SIZES["stc"])
    feats = EMGFeatures("hudgins", fs=fit.fs).fit(fit.X)
    start = time.perf_counter()
    aug = SASGAugmenter(ratio=2.0, random_state=seed, **SIZES["sasg"]).fit(fit.X, fit.y)
    fit_seconds = time.perf_counter() - start
    wanted = {c: 2 * int(np.sum(fit.y == c)) for c in aug.classes_}
    aug._generation_rng = np.random.default_rng([seed, 1])
    conds, labels = aug.sample_conditions(wanted)
    codes = aug._codes_of(labels)
    model_conds = aug._model_conditions(conds)
    starts = nearest_start_windows(aug, fit.X, conds, codes)
    pools = {"starts": starts}
    for name, strength in [("pure", 1.0), *((f"s{s}", s) for s in STRENGTHS)]:
        noise = torch.Generator().manual_seed(seed)
        start_windows = None if strength == 1.0 else starts
        out = np.empty_like(starts)
        for a, b, w in aug.generator_.sample_batches(
            model_conds,
            random_state=noise,
            start_windows=start_windows,
            strength=strength,
            show_progress=False,
        ):
            out[a:b] = w
        pools[name] = aug._to_grid(out)
    unit = {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": len(fit.X),
        "n_held_out_windows": len(held_out.X),
        "accuracy": {"lda": {"none": lda(fit.X, fit.y)}, "stc": {"none": stc(fit.X, fit.y)}},
        "rms_ratio": {},
        "std_ratio": {},
        "feature_shift": {},
        "class_mean_offset": {},
        "code": code_version(),
        "fit_seconds": round(fit_seconds, 1),
    }
    for name, X_syn in pools.items():
        fidelity = pool_fidelity(fit, X_syn, labels, shift_features=SHIFT_FEATURES)
        for key in ("rms_ratio", "std_ratio", "feature_shift"):
            unit[key][name] = fidelity[key]
        unit["class_mean_offset"][name] = class_mean_offset(fit.X, fit.y, X_syn, labels, feats)
        X_aug, y_aug = np.concatenate([fit.X, X_syn]), np.concatenate([fit.y, labels])
        unit["accuracy"]["lda"][name] = lda(X_aug, y_aug)
        unit["accuracy"]["stc"][name] = stc(X_aug, y_aug)
    return unit


def _paired(units, model, name, ref):
    """``mean ± sd`` over subjects of the per-subject mean gain of ``name`` over ``ref``."""
    subjects = sorted({u["subject"] for u in units})
    per = [
        np.mean(
            [
                100 * (u["accuracy"][model][name] - u["accuracy"][model][ref])
                for u in units
                if u["subject"] == s
            ]
        )
        for s in subjects
    ]
    sd = np.std(per, ddof=1) if len(per) > 1 else float("nan")
    return f"{np.mean(per):+.1f} ± {sd:.1f}"


def _mean(units, key, name):
    return np.mean([u[key][name] for u in units])


def summary(units):
    """Markdown: paired gains over none and over ``pure`` per data set, and fidelity."""
    lines = [
        "# Probe: synthetic windows from noised real windows (SDEdit strength), inner time split",
        "",
        (__doc__ or "").split("\n\n")[2].replace("\n", " "),
        "",
        (__doc__ or "").split("\n\n")[3],
        "",
        (__doc__ or "").split("\n\n")[4].replace("\n", " "),
        "",
        "Gains in points, mean ± sd over subjects of the per-subject mean over seeds. Class-mean "
        "offset: mean over classes of the Mahalanobis distance (Ledoit-Wolf pooled within-class "
        "covariance of the fitting windows) between the pool's and the fitting windows' class-mean "
        "hudgins vectors.",
        "",
    ]
    names = list(units[0]["rms_ratio"])
    for dataset in sorted({u["dataset"] for u in units}):
        own = [u for u in units if u["dataset"] == dataset]
        subjects = sorted({u["subject"] for u in own})
        lines += [
            f"## {dataset} ({len(subjects)} subjects, {len(own)} units)",
            "",
            "| pool | RMS ratio | std ratio | class-mean offset | shift mav | shift wl | shift ssc "
            "| LDA − none | STC − none | LDA − pure | STC − pure |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name in names:
            shift = {
                k: np.nanmean([u["feature_shift"][name].get(k, np.nan) for u in own])
                for k in SHIFT_FEATURES
            }
            lines.append(
                f"| {name} | {_mean(own, 'rms_ratio', name):.3f} | "
                f"{_mean(own, 'std_ratio', name):.3f} | "
                f"{_mean(own, 'class_mean_offset', name):.2f} | {shift['mav']:+.2f} | "
                f"{shift['wl']:+.2f} | {shift['ssc']:+.2f} | "
                + " | ".join(
                    _paired(own, model, name, ref)
                    for ref in ("none", "pure")
                    for model in ("lda", "stc")
                )
                + " |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["db1"])
    parser.add_argument("--subjects", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rerender", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "probe_anchor_strength.jsonl"
    if not args.rerender:
        for dataset in args.datasets:
            for subject in args.subjects:
                for seed in args.seeds:
                    unit = run_unit(dataset, subject, seed)
                    print(json.dumps(unit), flush=True)
                    with log.open("a") as f:
                        f.write(json.dumps(unit) + "\n")
    units = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    (args.out / "probe_anchor_strength.md").write_text(summary(units))


if __name__ == "__main__":
    main()
