"""Does the band-limited time warp change the classic baseline? One change, on an inner split.

:func:`~semgaug_sk.augmentation.functional.time_warp` used to read each window at its
warped positions by linear interpolation, which low-pass filters raw sEMG sampled at a low
rate (the classic pool of Myo windows lost about a fifth of its RMS). It now reads them
with a Lanczos kernel. This script measures what that one change does to
:class:`~semgaug_sk.augmentation.ClassicAugmenter` at its defaults (ratio 2, all four
transforms), ``time_warp_interpolation="linear"`` against ``"lanczos"``, with the same
seed, so the draws of source windows and of every other transform are the same.

The protocol is the inner split of ``ablate_generator.inner_split``: the training
windows of the low-data protocol split once more (DB1 and UCI by repetition, Myo's
single cycle in time); the augmenter sees the first part, the models are scored on the
second. The test repetitions are never loaded. Per unit it records the pool's RMS ratio
(synthetic over real), its hudgins feature shift (``metrics.feature_shift``), and the
accuracy of LDA on hudgins features and of
:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier` trained on real windows only
and on each augmented set.

Usage::

    python benchmarks/ablate_time_warp.py --datasets db1 myo uci --subjects 3 --seeds 0 1 2
    python benchmarks/ablate_time_warp.py --rerender

Units go to ``results/ablate_time_warp.jsonl`` as they finish (a rerun skips them); the
table ``results/ablate_time_warp.md`` is rewritten from all of them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import ablation_main, inner_split, inner_split_note  # noqa: E402
from augmentation import _sd  # noqa: E402
from protocols import subject_names  # noqa: E402

from semgaug_sk.augmentation import ClassicAugmenter  # noqa: E402
from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402
from semgaug_sk.features import EMGFeatures  # noqa: E402
from semgaug_sk.metrics import feature_shift  # noqa: E402
from semgaug_sk.utils.provenance import record_provenance  # noqa: E402

#: Named ClassicAugmenter settings (each one change away from the library's defaults).
VARIANTS = {
    "linear": {"time_warp_interpolation": "linear"},
    "lanczos": {"time_warp_interpolation": "lanczos"},
}
#: The variant the others are paired against.
REFERENCE = "linear"
INTERPOLATIONS = tuple(VARIANTS)
JSONL = "ablate_time_warp.jsonl"
SHIFT_FEATURES = ("mav", "wl", "zc", "ssc")
#: Constructor overrides of the network (empty: the library's defaults); the tests shrink it.
STC_PARAMS: dict = {
    "min_steps": None
}  # STC as measured: before its 4000-step floor (min_steps) became the default


def _rms(X):
    return float(np.sqrt(np.mean(np.square(X, dtype=np.float64))))


def inner_scorers(fit, held_out, seed, stc_params):
    """``(lda, stc)``: each trains on ``(X, y)`` and returns its accuracy on ``held_out``.

    LDA uses Hudgins features fitted on ``fit``; STC (``stc_params`` overrides) treats the
    first ``len(fit.X)`` rows as the real ones, as the library's samplers return them.
    """
    n = len(fit.X)
    feats = EMGFeatures("hudgins", fs=fit.fs).fit(fit.X)
    F_held = feats.transform(held_out.X)

    def lda(X, y):
        model = LinearDiscriminantAnalysis().fit(feats.transform(X), y)
        return float(model.score(F_held, held_out.y))

    def stc(X, y):
        record_provenance(X, n)  # real rows first, as the library's samplers return them
        net = SpatioTemporalClassifier(random_state=seed, **stc_params).fit(X, y)
        return float(net.score(held_out.X, held_out.y))

    return lda, stc


def none_cells(units, dataset, models):
    """Per model, the accuracy on real windows alone: mean over subjects (mean seed sd)."""
    cells = []
    for m in models:
        means, seed_sd = _per_subject(units, dataset, lambda u, m=m: 100 * u["accuracy"][m]["none"])
        cells.append(f"{means.mean():.1f} ({seed_sd:.1f})")
    return cells


def run_unit(dataset, subject, seed, variants=None, cut="auto"):
    """Inner-split accuracy of LDA and STC with none, and classic under each variant.

    ``variants`` maps a name to ClassicAugmenter parameters (default: :data:`VARIANTS`);
    every variant uses the same seed, so they draw the same source windows. ``cut``: how
    ``inner_split`` cuts.
    """
    variants = VARIANTS if variants is None else variants
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    n = len(fit.X)
    lda, stc = inner_scorers(fit, held_out, seed, STC_PARAMS)
    accuracy = {"lda": {"none": lda(fit.X, fit.y)}, "stc": {"none": stc(fit.X, fit.y)}}
    rms_ratio, shift, seconds = {}, {}, {}
    for name, params in variants.items():
        start = time.perf_counter()
        X_res, y_res = ClassicAugmenter(**params, random_state=seed).fit_resample(fit.X, fit.y)
        seconds[name] = round(time.perf_counter() - start, 2)
        rms_ratio[name] = _rms(X_res[n:]) / _rms(fit.X)
        per_feature = feature_shift(fit.X, X_res[n:], fit.y, y_res[n:], fs=fit.fs)["per_feature"]
        shift[name] = {k: per_feature[k] for k in SHIFT_FEATURES if k in per_feature}
        accuracy["lda"][name] = lda(X_res, y_res)
        accuracy["stc"][name] = stc(X_res, y_res)
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": n,
        "n_held_out_windows": len(held_out.X),
        "accuracy": accuracy,
        "rms_ratio": rms_ratio,
        "feature_shift": shift,
        "sampler_seconds": seconds,
        "inner_split": cut,
    }


def _per_subject(units, dataset, value):
    """Per-subject mean over seeds of ``value(unit)``, and the mean seed sd (NaN with one seed)."""
    mine = [u for u in units if u["dataset"] == dataset]
    means, sds = [], []
    for subject in sorted({u["subject"] for u in mine}):
        values = [value(u) for u in mine if u["subject"] == subject]
        means.append(np.mean(values))
        if len(values) > 1:  # one seed says nothing about the spread between seeds
            sds.append(_sd(values))
    return np.array(means), float(np.mean(sds)) if sds else float("nan")


def rule_row(name, cells):
    """A variant's row of the pre-registered "gain beyond the seed sd" rule.

    ``cells`` are tuples ending in ``(mean paired gain, seed sd)``, one per data set (and
    model). The variant is admissible when the mean gain over the cells exceeds their mean
    seed sd and no cell loses more than its own seed sd.
    """
    mean = float(np.mean([c[-2] for c in cells]))
    seed_sd = float(np.mean([c[-1] for c in cells]))
    losers = [c for c in cells if c[-2] < -c[-1]]
    return {
        "variant": name,
        "mean": mean,
        "seed_sd": seed_sd,
        "losers": losers,
        "admissible": mean > seed_sd and not losers,
    }


def rule_choice(rows, reference):
    """The admissible variant with the largest mean gain, or ``reference`` with none."""
    admissible = [r for r in rows if r["admissible"]]
    return max(admissible, key=lambda r: r["mean"])["variant"] if admissible else reference


def choose_by_accuracy(units, names, reference, models=None):
    """The rule over units holding ``accuracy[variant]``: one cell per data set.

    With ``models``, the units hold ``accuracy[model][variant]`` and there is one cell per
    (data set, model).

    Returns ``(choice, rows)`` as :func:`rule_choice` and :func:`rule_row` give them.
    """
    rows = []
    for name in (n for n in names if n != reference):
        cells = []
        for dataset in sorted({u["dataset"] for u in units}):
            for model in [None] if models is None else models:

                def gain(u, m=model, v=name):
                    accuracy = u["accuracy"] if m is None else u["accuracy"][m]
                    return 100 * (accuracy[v] - accuracy[reference])

                means, seed_sd = _per_subject(units, dataset, gain)
                where = (dataset,) if model is None else (dataset, model)
                cells.append((*where, float(means.mean()), seed_sd))
        rows.append(rule_row(name, cells))
    return rule_choice(rows, reference), rows


def model_gains(units, dataset, variant, models, reference="none"):
    """``_cell`` of each model's paired gain of ``variant`` over ``reference`` (points)."""
    return [
        _cell(
            units,
            dataset,
            lambda u, m=m: 100 * (u["accuracy"][m][variant] - u["accuracy"][m][reference]),
        )
        for m in models
    ]


def rule_table(rows):
    """The Markdown rows of the rule's table, header included."""
    lines = [
        "| variant | mean paired gain | mean seed sd | losses beyond the seed sd | admissible |",
        "|---|---:|---:|---|---|",
    ]
    for r in rows:
        losers = "; ".join(
            " ".join(map(str, c[:-2])) + f" {c[-2]:+.1f} (sd {c[-1]:.1f})" for c in r["losers"]
        )
        lines.append(
            f"| {r['variant']} | {r['mean']:+.2f} | {r['seed_sd']:.2f} | {losers or '—'} | "
            f"{'yes' if r['admissible'] else 'no'} |"
        )
    return lines


def _cell(units, dataset, value):
    means, seed_sd = _per_subject(units, dataset, value)
    return f"{means.mean():+.1f} ± {_sd(means):.1f} ({seed_sd:.1f})"


TITLE = "# Classic time warp: linear against band-limited (Lanczos) reading"
INTRO = (
    "`python benchmarks/ablate_time_warp.py`: ClassicAugmenter at its defaults (ratio 2, "
    "all four transforms), one change: `time_warp_interpolation`."
)


def write_report(units, path, variants=None, reference=None, title=TITLE, intro=INTRO):
    """Write the per-variant table and each variant's paired gain over ``reference``."""
    variants = list(VARIANTS if variants is None else variants)
    reference = REFERENCE if reference is None else reference
    datasets = sorted({u["dataset"] for u in units})
    lines = [
        title,
        "",
        intro + inner_split_note(units) + " Inner split of the "
        "low-data training windows (the test repetitions are never loaded). Gains in points, "
        "mean ± sd over subjects of the per-subject mean over seeds (mean seed sd in "
        "brackets). Feature shift: the synthetic windows' standardised mean shift from the "
        "real ones within a class (`metrics.feature_shift`), in sd; n/a where the feature is "
        "constant in the real windows (zc of a non-negative envelope).",
        "",
        "| dataset | subjects × seeds | variant | RMS ratio | "
        + " | ".join(f"shift {f}" for f in SHIFT_FEATURES)
        + " | LDA gain vs none | STC gain vs none |",
        "|---|---|---|---:|" + "---:|" * len(SHIFT_FEATURES) + "---:|---:|",
    ]
    for dataset in datasets:
        mine = [u for u in units if u["dataset"] == dataset]
        size = f"{len({u['subject'] for u in mine})} × {len({u['seed'] for u in mine})}"
        for interp in variants:
            rms = np.mean([u["rms_ratio"][interp] for u in mine])
            shifts = [
                np.mean([u["feature_shift"][interp].get(f, np.nan) for u in mine])
                for f in SHIFT_FEATURES
            ]
            gain = {
                m: _cell(
                    mine,
                    dataset,
                    lambda u, m=m, i=interp: 100 * (u["accuracy"][m][i] - u["accuracy"][m]["none"]),
                )
                for m in ("lda", "stc")
            }
            lines.append(
                f"| {dataset} | {size} | {interp} | {rms:.3f} | "
                + " | ".join("n/a" if np.isnan(s) else f"{s:+.2f}" for s in shifts)
                + f" | {gain['lda']} | {gain['stc']} |"
            )
    for name in variants:
        if name != reference:
            lines += paired_lines(units, name, reference)
    Path(path).write_text("\n".join(lines) + "\n")


def paired_lines(units, name, reference):
    """Markdown lines of the paired ``name - reference`` table, per data set, LDA and STC."""
    lines = [
        "",
        f"Paired {name} − {reference} (points; mean ± sd over subjects, mean seed sd in brackets):",
        "",
        "| dataset | LDA | STC |",
        "|---|---:|---:|",
    ]
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        cells = [
            _cell(
                mine,
                dataset,
                lambda u, m=m: 100 * (u["accuracy"][m][name] - u["accuracy"][m][reference]),
            )
            for m in ("lda", "stc")
        ]
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    return lines


def main(argv=None):
    ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="ablate_time_warp",
        run=lambda args, dataset, subject, seed: run_unit(
            dataset, subject, seed, cut=args.inner_split
        ),
        write=write_report,
        subject_names=subject_names,
        datasets=("db1", "myo", "uci"),
        inner_splits=True,
    )


if __name__ == "__main__":
    main()
