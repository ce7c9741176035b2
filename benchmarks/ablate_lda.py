"""Where does augmentation cost LDA its points? Class means against pooled covariance.

LDA on hudgins features loses 1-2 points on NinaPro DB1 when its training set is
augmented (``ablate_quantize``: SASS -1.0, classic -2.4 at ratio 2), while the
spatio-temporal network does not. LDA has two fitted parts, the class means and one
pooled within-class covariance, and synthetic feature rows change both. This script
separates them on the inner split (``ablate_generator.inner_split``, ``--inner-split``; the
test repetitions are never loaded). Per (subject, seed) and per pool (SASS and classic at
ratio 2, library defaults, SASS's generator again with ``calibration="level"``, and classic
with each of its transforms alone), LDA is fitted on:

``none``
    the real rows only;
``full``
    real and synthetic rows, as a user's Pipeline does;
``real_means``
    real and synthetic rows, each synthetic row moved by its class's offset between the
    real and the synthetic mean: LDA's class means are the real ones, its covariance
    takes the synthetic spread;
``real_cov``
    the real rows only, each moved by its class's offset between the augmented and the
    real mean: LDA's class means are the augmented ones, its covariance the real one;
``shrunk_none`` / ``shrunk_full``
    ``none`` and ``full`` with Ledoit-Wolf shrinkage (``solver="lsqr",
    shrinkage="auto"``).

If ``real_means`` keeps the loss of ``full`` and ``real_cov`` does not, the covariance is
to blame, and the reverse points at the means. Each unit also records how far the
synthetic class means lie from the real ones, in units of the real pooled within-class
covariance (Mahalanobis, Ledoit-Wolf estimate), next to how far the held-out repetition's
class means lie (the shift that the model has to survive anyway), and the spread ratio
``tr(S_real^-1 S_pool) / d`` (1 when the pool has the real within-class spread).

Usage::

    python benchmarks/ablate_lda.py --datasets db1 myo --subjects 3 --seeds 0 1 2
    python benchmarks/ablate_lda.py --datasets db1 --subjects 5 --inner-split time \\
        --out results/time_split/ablate_lda
    python benchmarks/ablate_lda.py --rerender

Units go to ``results/ablate_lda.jsonl`` as they finish (a rerun skips them); the table
``results/ablate_lda.md`` is rewritten from all of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import ablation_main, inner_split, inner_split_note  # noqa: E402
from ablate_quantize import _cell, _per_subject  # noqa: E402
from protocols import subject_names  # noqa: E402

from semgaug_sk.augmentation import ClassicAugmenter, SASGAugmenter  # noqa: E402
from semgaug_sk.features import EMGFeatures  # noqa: E402

JSONL = "ablate_lda.jsonl"
#: ``sass_level``: the ``sass`` pool's generator and generation stream, calibrated
#: (``calibration="level"``: its windows' level and within-window std matched to the real).
POOLS = ("sass", "sass_level", "classic")
#: Classic transforms one at a time, to tell which of them moves the class means.
CLASSIC_METHODS = ("jitter", "scaling", "magnitude_warp", "time_warp")
CONDITIONS = ("full", "real_means", "real_cov", "shrunk_full")
#: Constructor overrides (empty: the library's defaults, as measured); the tests shrink them.
SIZES: dict = {"sasg": {}}


def class_means(F, y, classes):
    """``(n_classes, n_features)`` mean of each class's rows."""
    return np.stack([F[y == c].mean(axis=0) for c in classes])


def within_class_covariance(F, y, classes):
    """Ledoit-Wolf estimate of the pooled within-class covariance of ``F``."""
    centred = F - class_means(F, y, classes)[np.searchsorted(classes, y)]
    return LedoitWolf(assume_centered=True).fit(centred).covariance_


def mean_offset_distance(S_real, M_real, M_other):
    """Mean over classes of the Mahalanobis distance between matching class means."""
    diff = M_other - M_real
    return float(np.mean(np.sqrt(np.einsum("ki,ki->k", diff, np.linalg.solve(S_real, diff.T).T))))


def spread_ratio(S_real, S_other):
    """``tr(S_real^-1 S_other) / d``: 1 when ``S_other`` has the real within-class spread."""
    return float(np.trace(np.linalg.solve(S_real, S_other)) / len(S_real))


def feature_offsets(F_real, y_real, F_other, y_other, names, classes):
    """Signed class-mean offset of each feature family, in real within-class sd.

    Mean over classes and channels of ``(mean_other - mean_real) / sd_real``, with
    ``sd_real`` the pooled within-class sd of the real rows; columns that are constant in
    the real rows are left out.
    """
    M_real = class_means(F_real, y_real, classes)
    sd = np.sqrt(np.diag(within_class_covariance(F_real, y_real, classes)))
    offset = (class_means(F_other, y_other, classes) - M_real) / np.where(sd > 0, sd, np.nan)
    varying = np.ptp(F_real, axis=0) > 0
    family = np.array([name.rsplit("_", 1)[-1] for name in names])
    return {
        f: float(np.nanmean(offset[:, (family == f) & varying]))
        for f in dict.fromkeys(family)
        if np.any((family == f) & varying)
    }


def lda_conditions(F_real, y_real, F_syn, y_syn, F_held, y_held):
    """Held-out accuracy of LDA under each condition of the module docstring."""
    classes = np.unique(y_real)
    M_real = class_means(F_real, y_real, classes)
    M_syn = class_means(F_syn, y_syn, classes)
    F_all, y_all = np.concatenate([F_real, F_syn]), np.concatenate([y_real, y_syn])
    M_all = class_means(F_all, y_all, classes)
    recentred = F_syn + (M_real - M_syn)[np.searchsorted(classes, y_syn)]
    moved = F_real + (M_all - M_real)[np.searchsorted(classes, y_real)]

    def score(F, y, **params):
        return float(LinearDiscriminantAnalysis(**params).fit(F, y).score(F_held, y_held))

    shrunk = {"solver": "lsqr", "shrinkage": "auto"}
    return {
        "full": score(F_all, y_all),
        "real_means": score(np.concatenate([F_real, recentred]), y_all),
        "real_cov": score(moved, y_real),
        "shrunk_full": score(F_all, y_all, **shrunk),
    }


def pools_of(fit, seed):
    """``{pool: (X_syn, y_syn)}``: every pool's synthetic windows for ``fit``."""
    n = len(fit.X)
    sass = SASGAugmenter(ratio=2.0, random_state=seed, **SIZES["sasg"])
    X_res, y_res = sass.fit_resample(fit.X, fit.y)
    pools = {"sass": (X_res[n:], y_res[n:])}
    # the same generator and generation stream, only calibrated: fit seeds the generation
    # stream with the seed it keeps for the calibration draw (_calibration_seed)
    sass.set_params(calibration="level")
    sass._generation_rng = np.random.default_rng(sass._calibration_seed)
    pools["sass_level"] = sass.generate(dict(sass.sampling_strategy_))
    samplers = {"classic": ClassicAugmenter(ratio=2.0, random_state=seed)}
    samplers.update(
        {
            f"classic:{method}": ClassicAugmenter(methods=(method,), ratio=2.0, random_state=seed)
            for method in CLASSIC_METHODS
        }
    )
    for pool, sampler in samplers.items():
        X_res, y_res = sampler.fit_resample(fit.X, fit.y)
        pools[pool] = (X_res[n:], y_res[n:])
    return pools


def run_unit(dataset, subject, seed, cut="auto"):
    """Inner-split LDA accuracy under each condition, and the pools' mean and spread shifts."""
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    n = len(fit.X)
    feats = EMGFeatures("hudgins", fs=fit.fs).fit(fit.X)
    F_fit, F_held = feats.transform(fit.X), feats.transform(held_out.X)
    classes = np.unique(fit.y)
    names = feats.get_feature_names_out()
    S_real = within_class_covariance(F_fit, fit.y, classes)
    M_real = class_means(F_fit, fit.y, classes)
    shrunk = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    accuracy = {
        "none": float(LinearDiscriminantAnalysis().fit(F_fit, fit.y).score(F_held, held_out.y)),
        "shrunk_none": float(shrunk.fit(F_fit, fit.y).score(F_held, held_out.y)),
    }
    shift = {
        "held_out": {
            "mean_distance": mean_offset_distance(
                S_real, M_real, class_means(F_held, held_out.y, classes)
            ),
            "spread_ratio": spread_ratio(
                S_real, within_class_covariance(F_held, held_out.y, classes)
            ),
            "feature_offset": feature_offsets(F_fit, fit.y, F_held, held_out.y, names, classes),
        }
    }
    for pool, (X_syn, y_syn) in pools_of(fit, seed).items():
        F_syn = feats.transform(X_syn)
        for condition, value in lda_conditions(
            F_fit, fit.y, F_syn, y_syn, F_held, held_out.y
        ).items():
            accuracy[f"{pool}_{condition}"] = value
        shift[pool] = {
            "n_rows": len(y_syn),
            "mean_distance": mean_offset_distance(
                S_real, M_real, class_means(F_syn, y_syn, classes)
            ),
            "spread_ratio": spread_ratio(S_real, within_class_covariance(F_syn, y_syn, classes)),
            "feature_offset": feature_offsets(F_fit, fit.y, F_syn, y_syn, names, classes),
        }
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": n,
        "inner_split": cut,
        "accuracy": {"lda": accuracy},
        "shift": shift,
    }


LEVEL_POOL_NOTE = (
    " `sass_level`: the `sass` pool's generator and generation stream with "
    '`calibration="level"` (its windows\' level and within-window std matched to the real '
    "ones; the confidence filter judges the calibrated windows, so its rows may differ in "
    "number)."
)


def write_report(units, path):
    lines = [
        "# Where augmentation costs LDA: class means or pooled covariance (inner split)",
        "",
        "`python benchmarks/ablate_lda.py`: LDA on hudgins features; pools at ratio 2 with "
        "the library's defaults. Gains in points over LDA on the real rows, mean ± sd over "
        "subjects of the per-subject mean over seeds (mean seed sd in brackets). "
        "`real_means`: synthetic rows re-centred on the real class means (the pool acts "
        "through the covariance only); `real_cov`: real rows moved to the augmented class "
        "means (the pool acts through the means only); `shrunk_*`: Ledoit-Wolf LDA; "
        "`classic:<transform>`: ClassicAugmenter with that transform alone."
        + (LEVEL_POOL_NOTE if any("sass_level" in u["shift"] for u in units) else "")
        + " The test "
        "repetitions are never loaded. Spread ratio: both covariances are Ledoit-Wolf "
        "estimates, and a pool has twice the rows of the fit set, so its estimate is shrunk "
        "less; compare pools with each other rather than with 1." + inner_split_note(units),
        "",
    ]
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        subjects = sorted({u["subject"] for u in mine})
        lines += [
            f"## {dataset} ({len(subjects)} subjects, {len(mine)} units)",
            "",
            "| pool | full | real_means | real_cov | shrunk_full − shrunk_none |",
            "|---|---:|---:|---:|---:|",
        ]
        pools = [
            p
            for p in (*POOLS, *(f"classic:{m}" for m in CLASSIC_METHODS))
            if all(p in u["shift"] for u in mine)
        ]
        for pool in pools:
            cells = [
                _cell(_per_subject(mine, "lda", lambda a, k=f"{pool}_{c}": a[k] - a["none"]))
                for c in ("full", "real_means", "real_cov")
            ]
            cells.append(
                _cell(
                    _per_subject(
                        mine, "lda", lambda a, k=f"{pool}_shrunk_full": a[k] - a["shrunk_none"]
                    )
                )
            )
            lines.append(f"| {pool} | " + " | ".join(cells) + " |")
        shrink = _cell(_per_subject(mine, "lda", lambda a: a["shrunk_none"] - a["none"]))
        lines += [
            "",
            f"Ledoit-Wolf LDA against plain LDA, no augmentation: {shrink}.",
            "",
            "| rows | class-mean offset from the fit repetition (Mahalanobis) | spread ratio "
            "| signed mean offset per feature (real within-class sd) |",
            "|---|---:|---:|---|",
        ]
        for key in ("held_out", *pools):
            distance = [u["shift"][key]["mean_distance"] for u in mine]
            ratio = [u["shift"][key]["spread_ratio"] for u in mine]
            name = "held-out real repetition" if key == "held_out" else f"{key} pool"
            offsets = [u["shift"][key]["feature_offset"] for u in mine]
            families = [f for f in offsets[0] if all(f in o for o in offsets)]
            per_feature = ", ".join(
                f"{f} {np.mean([o[f] for o in offsets]):+.2f}" for f in families
            )
            lines.append(
                f"| {name} | {np.mean(distance):.2f} ± {np.std(distance):.2f} "
                f"| {np.mean(ratio):.2f} ± {np.std(ratio):.2f} | {per_feature} |"
            )
        lines.append("")
    Path(path).write_text("\n".join(lines))


def main(argv=None):
    ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="ablate_lda",
        run=lambda args, dataset, subject, seed: run_unit(
            dataset, subject, seed, cut=args.inner_split
        ),
        write=write_report,
        subject_names=subject_names,
        datasets=("db1", "myo"),
        inner_splits=True,
    )


if __name__ == "__main__":
    main()
