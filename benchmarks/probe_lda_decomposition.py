"""Why does augmentation cost LDA on NinaPro DB1? Its class means against its covariance.

On DB1, every generative augmenter costs LDA on hudgins features points that the
networks do not lose (``results/standard/augmentation_db1.md``: SASS -1.9, classic at
ratio 2 -2.7 on the inner split). LDA learns only two things from its training set: the
class means and one pooled within-class covariance. This probe splits the loss between
them. Per (subject, seed), on the clean inner split (``--inner-split time`` by default:
the first half in time of each gesture of the first training repetition fits, the second
half is held out; no test repetition is read), it augments the fitting windows with

- ``sasg``: the library's ``SASGAugmenter`` (ratio 2, its defaults);
- ``sasg_level``: the same generator and generation seed with ``calibration="level"``;
- ``classic``: ``ClassicAugmenter`` (ratio 2, its defaults);

and scores on the held-out half four LDAs on hudgins features (fitted on the real
fitting windows), all with ``solver="lsqr"`` so that their parts can be swapped:

- ``real``: means and covariance from the real windows (no augmentation);
- ``augmented``: both from the real + synthetic windows (what a user gets);
- ``aug_means``: the augmented class means with the real covariance;
- ``aug_cov``: the real class means with the augmented covariance.

If ``aug_means`` loses what ``augmented`` loses, the synthetic windows' feature means are
off; if ``aug_cov`` does, their spread around them is. The class priors are the real
windows' in every model (a sampler that keeps the class balance leaves them as they are).
The unit also records the hudgins feature shift of the synthetic windows
(:func:`semgaug_sk.metrics.feature_shift`). A probe: it reports and changes no default.

Usage::

    python benchmarks/probe_lda_decomposition.py --datasets db1 --subjects 5 --seeds 0 1 2 \\
        --out results/probe_lda_decomposition
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import (  # noqa: E402
    INNER_SPLITS,
    ablation_main,
    check_one_inner_split,
    inner_split,
    inner_split_note,
)
from ablate_time_warp import _per_subject  # noqa: E402
from protocols import code_version, subject_names  # noqa: E402

from semgaug_sk.augmentation import ClassicAugmenter, SASGAugmenter  # noqa: E402
from semgaug_sk.features import EMGFeatures  # noqa: E402
from semgaug_sk.metrics import feature_shift  # noqa: E402

SOURCES = ("sasg", "sasg_level", "classic")
MODELS = ("augmented", "aug_means", "aug_cov")
SHIFT_FEATURES = ("mav", "wl", "ssc")
RATIO = 2.0
#: Constructor overrides (empty: the library's defaults); the tests shrink them.
SIZES: dict = {"sasg": {}}


def lda_parts(F, y):
    """``(classes, means, covariance)`` of an lsqr LDA fitted on ``(F, y)``."""
    model = LinearDiscriminantAnalysis(solver="lsqr").fit(F, y)
    return model.classes_, model.means_, model.covariance_


def lda_accuracy(means, covariance, log_priors, classes, F_test, y_test):
    """Accuracy of the linear discriminant with these class means, covariance and priors."""
    coef = np.linalg.lstsq(covariance, means.T, rcond=None)[0].T
    intercept = -0.5 * np.einsum("cf,cf->c", means, coef) + log_priors
    predicted = classes[np.argmax(F_test @ coef.T + intercept, axis=1)]
    return float(np.mean(predicted == y_test))


def decomposed_accuracies(F_real, y_real, F_syn, y_syn, F_test, y_test):
    """The four LDAs' accuracies: ``real``, ``augmented``, ``aug_means`` and ``aug_cov``."""
    classes, real_means, real_cov = lda_parts(F_real, y_real)
    aug_classes, aug_means, aug_cov = lda_parts(
        np.concatenate([F_real, F_syn]), np.concatenate([y_real, y_syn])
    )
    if not np.array_equal(classes, aug_classes):
        raise ValueError("the synthetic windows bring a class the real ones lack")
    counts = np.array([np.sum(y_real == c) for c in classes], dtype=float)
    log_priors = np.log(counts / counts.sum())
    parts = {
        "real": (real_means, real_cov),
        "augmented": (aug_means, aug_cov),
        "aug_means": (aug_means, real_cov),
        "aug_cov": (real_means, aug_cov),
    }
    return {
        name: lda_accuracy(means, cov, log_priors, classes, F_test, y_test)
        for name, (means, cov) in parts.items()
    }


def synthetic_sets(fit, seed):
    """``({source: (X_syn, y_syn)}, sasg_fit_seconds)`` for :data:`SOURCES`.

    Both SASG sources draw the ratio's windows per class from one generator and one
    generation seed; only ``calibration`` differs.
    """
    start = time.perf_counter()
    aug = SASGAugmenter(ratio=RATIO, random_state=seed, **SIZES["sasg"])
    aug.fit_resample(fit.X, fit.y)
    seconds = time.perf_counter() - start
    wanted = dict(aug.sampling_strategy_)
    sets = {}
    for source, calibration in (("sasg", None), ("sasg_level", "level")):
        aug.set_params(calibration=calibration)
        aug._generation_rng = np.random.default_rng([seed, 1])
        sets[source] = aug.generate(wanted)
    X_all, y_all = ClassicAugmenter(ratio=RATIO, random_state=seed).fit_resample(fit.X, fit.y)
    sets["classic"] = (X_all[len(fit.X) :], y_all[len(fit.y) :])
    return sets, seconds


def run_unit(dataset, subject, seed, cut="time"):
    """One (subject, seed): the four LDAs per source, and the synthetic feature shift."""
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    features = EMGFeatures("hudgins", fs=fit.fs).fit(fit.X)
    F_fit, F_held = features.transform(fit.X), features.transform(held_out.X)
    sets, seconds = synthetic_sets(fit, seed)
    accuracy, shift = {}, {}
    for source, (X_syn, y_syn) in sets.items():
        if not len(X_syn):  # a filter that let nothing through: nothing to decompose
            accuracy[source], shift[source] = None, {}
            continue
        accuracy[source] = decomposed_accuracies(
            F_fit, fit.y, features.transform(X_syn), y_syn, F_held, held_out.y
        )
        per_feature = feature_shift(fit.X, X_syn, fit.y, y_syn, fs=fit.fs)["per_feature"]
        shift[source] = {k: per_feature[k] for k in SHIFT_FEATURES if k in per_feature}
    default_lda = LinearDiscriminantAnalysis().fit(F_fit, fit.y)  # the ablations' (svd)
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "inner_split": cut,
        "n_fit_windows": len(fit.X),
        "n_held_out_windows": len(held_out.X),
        "accuracy": accuracy,
        "svd_real_accuracy": float(default_lda.score(F_held, held_out.y)),
        "feature_shift": shift,
        "sasg_fit_seconds": round(seconds, 1),
        "code": code_version(),
    }


def write_report(units, path):
    """The Markdown report: per source, the paired loss of each LDA against ``real``."""
    lines = [
        "# Why augmentation costs LDA: class means against covariance (probe)",
        "",
        "`python benchmarks/probe_lda_decomposition.py`: per unit, LDA on hudgins features "
        "(lsqr) scored on the held-out part, with its class means and pooled covariance taken "
        "from the real windows or from real + synthetic (ratio 2). Paired difference against "
        "`real` (both parts from the real windows), in points: mean ± sd over subjects of the "
        "per-subject mean over seeds, mean seed sd in brackets. Feature shift: the synthetic "
        "windows' standardised mean shift from the real ones within a class, in sd."
        + inner_split_note(units),
        "",
    ]
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        real, _ = _per_subject(mine, dataset, lambda u: 100 * u["svd_real_accuracy"])
        lines += [
            f"## {dataset}",
            "",
            f"{len({u['subject'] for u in mine})} subjects × "
            f"{len({u['seed'] for u in mine})} seeds; LDA (svd) on the real windows alone: "
            f"{real.mean():.1f} ± {real.std(ddof=1) if len(real) > 1 else 0:.1f} %.",
            "",
            "| source | augmented − real | aug_means − real | aug_cov − real | "
            + " | ".join(f"shift {f}" for f in SHIFT_FEATURES)
            + " |",
            "|---|---:|---:|---:|" + "---:|" * len(SHIFT_FEATURES),
        ]
        for source in SOURCES:
            done = [u for u in mine if u["accuracy"][source] is not None]
            cells = []
            for model in MODELS:
                means, seed_sd = _per_subject(
                    done,
                    dataset,
                    lambda u, s=source, m=model: (
                        100 * (u["accuracy"][s][m] - u["accuracy"][s]["real"])
                    ),
                )
                sd = means.std(ddof=1) if len(means) > 1 else 0.0
                cells.append(f"{means.mean():+.1f} ± {sd:.1f} ({seed_sd:.1f})")
            shifts = [
                np.nanmean([u["feature_shift"][source].get(f, np.nan) for u in done])
                for f in SHIFT_FEATURES
            ]
            lines.append(
                f"| {source} | "
                + " | ".join(cells)
                + " | "
                + " | ".join("n/a" if np.isnan(x) else f"{x:+.2f}" for x in shifts)
                + " |"
            )
        lines.append("")
    Path(path).write_text("\n".join(lines))


def main(argv=None):
    def add_arguments(parser):
        parser.add_argument("--inner-split", choices=INNER_SPLITS, default="time")

    return ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="probe_lda_decomposition",
        run=lambda args, dataset, subject, seed: run_unit(
            dataset, subject, seed, cut=args.inner_split
        ),
        write=write_report,
        subject_names=subject_names,
        datasets=("db1",),
        add_arguments=add_arguments,
        check_units=lambda args, units, log: check_one_inner_split(
            units, args.inner_split, "probe_lda_decomposition", log
        ),
    )


if __name__ == "__main__":
    main()
