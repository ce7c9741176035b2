"""Synthetic windows on the recording's amplitude grid, or continuous? One change, on an inner split.

Real sEMG is digitised (Myo: 8-bit codes; NinaPro DB1: steps of 2.5 / 1024; UCI: 1e-5),
so quiet channels hold runs of equal samples. Synthetic windows from a diffusion model or
from jitter are continuous and have none, which shifts zero-threshold counts such as
``ssc`` by 2-3 within-class sd. The samplers' ``quantize="auto"`` rounds synthetic windows
onto the grid of the real ones. This script measures that one change.

Per (subject, seed), one pool of each sampler is drawn with ``quantize=None`` at ratio 2
(:class:`~semgaug_sk.augmentation.SASGAugmenter` and
:class:`~semgaug_sk.augmentation.ClassicAugmenter`, both at their other defaults); the
quantised pool is that same pool rounded onto the grid detected on the real windows
(:func:`~semgaug_sk.augmentation.quantization.detect_quantization`), exactly what
``quantize="auto"`` does, so the two differ by the rounding only. Ratio 0.5 takes a
class-stratified subset of the pool (``ablate_ratio._subset``). The protocol is the inner
split of ``ablate_generator.inner_split``: the test repetitions are never loaded.
Downstream: LDA on hudgins features and
:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier`.

Usage::

    python benchmarks/ablate_quantize.py --datasets db1 myo --subjects 3 --seeds 0 1 2
    python benchmarks/ablate_quantize.py --rerender

Units go to ``results/ablate_quantize.jsonl`` as they finish (a rerun skips them); the
table ``results/ablate_quantize.md`` is rewritten from all of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import ablation_main, inner_split  # noqa: E402
from ablate_ratio import _subset  # noqa: E402
from augmentation import _sd  # noqa: E402
from protocols import subject_names  # noqa: E402

from semgaug_sk.augmentation import ClassicAugmenter, SASGAugmenter  # noqa: E402
from semgaug_sk.augmentation.quantization import detect_quantization, quantize  # noqa: E402
from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402
from semgaug_sk.features import EMGFeatures  # noqa: E402
from semgaug_sk.metrics import feature_shift  # noqa: E402
from semgaug_sk.utils.provenance import record_provenance  # noqa: E402

JSONL = "ablate_quantize.jsonl"
METHODS = ("sass", "classic")
RATIOS = (0.5, 2.0)
MODELS = ("lda", "stc")
SHIFT_FEATURES = ("mav", "wl", "ssc")
#: Constructor overrides (empty: the library's defaults, as measured); the tests shrink them.
SIZES: dict = {
    "sasg": {},
    "stc": {"min_steps": None},
}  # STC as measured: before its 4000-step floor (min_steps) became the default


def run_unit(dataset, subject, seed, models=MODELS, cut="auto"):
    """Inner-split accuracy with none, and each pool continuous and on the grid."""
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    n = len(fit.X)
    grid = detect_quantization(fit.X)
    if grid is None:
        raise SystemExit(f"{dataset} {subject}: the training windows lie on no grid")
    feats = EMGFeatures("hudgins", fs=fit.fs).fit(fit.X)
    F_fit, F_held = feats.transform(fit.X), feats.transform(held_out.X)

    def score(model, X, y):
        if model == "lda":
            F = np.concatenate([F_fit, feats.transform(X[n:])]) if len(X) > n else F_fit
            return float(LinearDiscriminantAnalysis().fit(F, y).score(F_held, held_out.y))
        record_provenance(X, n)  # real rows first, as the library's samplers return them
        net = SpatioTemporalClassifier(random_state=seed, **SIZES["stc"]).fit(X, y)
        return float(net.score(held_out.X, held_out.y))

    samplers = {
        "sass": SASGAugmenter(ratio=2.0, quantize=None, random_state=seed, **SIZES["sasg"]),
        "classic": ClassicAugmenter(ratio=2.0, quantize=None, random_state=seed),
    }
    accuracy = {m: {"none": score(m, fit.X, fit.y)} for m in models}
    shift = {}
    for method, sampler in samplers.items():
        X_res, y_res = sampler.fit_resample(fit.X, fit.y)
        pool_y = y_res[n:]
        pools = {"raw": X_res[n:], "grid": quantize(X_res[n:], *grid)}
        for variant, pool in pools.items():
            key = f"{method}_{variant}"
            per_feature = feature_shift(fit.X, pool, fit.y, pool_y, fs=fit.fs)["per_feature"]
            shift[key] = {f: per_feature[f] for f in SHIFT_FEATURES if f in per_feature}
            for ratio in RATIOS:
                rows = _subset(fit.y, pool_y, ratio, seed)
                X = np.concatenate([fit.X, pool[rows]])
                y = np.concatenate([fit.y, pool_y[rows]])
                for model in models:
                    accuracy[model][f"{key}@{ratio:g}"] = score(model, X, y)
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "grid": [float(grid[0]), float(grid[1])],
        "n_fit_windows": n,
        "accuracy": accuracy,
        "feature_shift": shift,
    }


def _per_subject(units, model, difference):
    """``[[100 * difference(accuracy) per seed] per subject]``; ``[[]]`` when not measured."""
    try:
        return [
            [100 * difference(u["accuracy"][model]) for u in units if u["subject"] == s]
            for s in sorted({u["subject"] for u in units})
        ]
    except KeyError:  # not measured (e.g. a unit of a partial run)
        return [[]]


def _shifts(units, key, feature):
    """The recorded shifts of ``feature`` in pool ``key`` (units that recorded it)."""
    return [u["feature_shift"][key][feature] for u in units if feature in u["feature_shift"][key]]


def _cell(values_per_subject):
    if not all(values_per_subject):
        return "n/a"
    means = np.array([np.mean(v) for v in values_per_subject])
    seed_sd = np.mean([_sd(v) for v in values_per_subject])
    return f"{means.mean():+.1f} ± {_sd(means):.1f} ({seed_sd:.1f})"


def write_report(units, path):
    lines = [
        "# Synthetic windows on the amplitude grid (`quantize`), one change, inner split",
        "",
        "`python benchmarks/ablate_quantize.py`: each pool is drawn once with `quantize=None` "
        "(ratio 2; ratio 0.5 is a stratified subset) and then rounded onto the grid of the "
        'real windows, as `quantize="auto"` does. Gains in points over none, mean ± sd over '
        "subjects of the per-subject mean over seeds (mean seed sd in brackets). The test "
        "repetitions are never loaded.",
        "",
    ]
    for source in sorted({u["source"] for u in units if "source" in u}):
        lines += [f"Units measured by: {source}.", ""]
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        subjects = sorted({u["subject"] for u in mine})
        models = [m for m in MODELS if all(m in u["accuracy"] for u in mine)]
        lines += [
            f"## {dataset} ({len(subjects)} subjects, {len(mine)} units)",
            "",
            "| pool | ratio | "
            + " | ".join(
                f"{m.upper()} gain, continuous | {m.upper()} gain, on grid | "
                f"{m.upper()} grid − continuous"
                for m in models
            )
            + " |",
            "|---|---|" + "---:|---:|---:|" * len(models),
        ]
        for method in METHODS:
            for ratio in RATIOS:
                cells = []
                for model in models:
                    raw, grd = f"{method}_raw@{ratio:g}", f"{method}_grid@{ratio:g}"
                    cells += [
                        _cell(_per_subject(mine, model, lambda a, k=raw: a[k] - a["none"])),
                        _cell(_per_subject(mine, model, lambda a, k=grd: a[k] - a["none"])),
                        _cell(_per_subject(mine, model, lambda a, r=raw, g=grd: a[g] - a[r])),
                    ]
                lines.append(f"| {method} | {ratio:g} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "Feature shift of the pools (sd, mean over units): "
            + "; ".join(
                f"{key} "
                + " / ".join(
                    f"{f} {np.mean(values):+.2f}"
                    for f in SHIFT_FEATURES
                    if (values := _shifts(mine, key, f))
                )
                for key in (f"{m}_{v}" for m in METHODS for v in ("raw", "grid"))
            )
            + ".",
            "",
        ]
    Path(path).write_text("\n".join(lines))


def main(argv=None):
    ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="ablate_quantize",
        run=lambda args, dataset, subject, seed: run_unit(
            dataset, subject, seed, tuple(args.models), cut=args.inner_split
        ),
        write=write_report,
        subject_names=subject_names,
        datasets=("db1", "myo"),
        add_arguments=lambda parser: parser.add_argument(
            "--models", nargs="+", default=list(MODELS), choices=MODELS
        ),
        inner_splits=True,
    )


if __name__ == "__main__":
    main()
