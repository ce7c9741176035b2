"""Does SASS's rarity selection cost amplitude? ``SASS(oversample=...)`` on an inner split.

SASS draws ``oversample`` x more GMSS candidates than it needs, keeps the rarest (k-NN
rarity against the class's real embeddings), then refines them. A probe on NinaPro DB1 S3
(one fitted SASGAugmenter, 150 windows per class, confidence filter off) found the
synthetic windows' RMS at 0.73 of the real windows' with the default ``oversample=4``,
0.89 with 2 and 0.92 with 1 (no selection) or with GMSS, while ``n_steps=0`` (no
refinement) left it at 0.76: the selection of rare candidates, not the refinement, makes
the windows weaker. This script measures what that does downstream, one change at a
time, on training data only.

Per (subject, seed) one :class:`~semgaug_sk.augmentation.SASGAugmenter` with the library's
defaults is fitted on the first part of the inner split (``ablate_generator.inner_split``:
DB1 and UCI by repetition, Myo's single cycle in time). Its generator and encoder are then
reused for every variant: only the condition sampler changes (``sampling`` is refitted
without retraining the generator), and each variant draws the default ratio's windows per
class from the same generation seed, through the confidence filter. Variants: ``SASS(oversample=4)``
(the default), 2 and 1, and ``gmss``. The models (LDA on hudgins features,
:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier`) are scored on the second part;
the test repetitions are never loaded.

Rule, fixed before any unit was read: ``oversample`` moves from 4 to the variant with the
best mean paired gain over the default (mean over data sets of the per-data-set means,
LDA and STC), if that mean exceeds the mean seed sd of the paired differences and no data
set and model loses more than its seed sd. Otherwise the default stays.

Usage::

    python benchmarks/ablate_sass_selection.py --datasets db1 myo --subjects 3 --seeds 0 1 2
    python benchmarks/ablate_sass_selection.py --rerender
    python benchmarks/ablate_sass_selection.py --ratio 2 --inner-split time \\
        --out results/time_split/ablate_sass_selection  # today's default ratio, clean split

Units go to ``results/ablate_sass_selection.jsonl`` as they finish (a rerun skips them);
the report ``results/ablate_sass_selection.md`` is rewritten from all of them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import ablation_main, inner_split  # noqa: E402
from ablate_time_warp import (  # noqa: E402
    SHIFT_FEATURES,
    choose_by_accuracy,
    inner_scorers,
    rule_table,
)
from ablate_time_warp import write_report as write_variant_table  # noqa: E402
from protocols import code_version, subject_names  # noqa: E402

from semgaug_sk.augmentation import SASS, SASGAugmenter  # noqa: E402
from semgaug_sk.metrics import feature_shift, fidelity_report  # noqa: E402

#: Condition samplers, one change away from the default ``SASS()``.
VARIANTS = {
    "oversample_4": lambda: SASS(),
    "oversample_2": lambda: SASS(oversample=2.0),
    "oversample_1": lambda: SASS(oversample=1.0),
    "gmss": lambda: "gmss",
}
REFERENCE = "oversample_4"
MODELS = ("lda", "stc")
#: Constructor overrides (empty: the library's defaults, as measured); the tests shrink them.
SIZES: dict = {
    "sasg": {},
    "stc": {"min_steps": None},
}  # STC as measured: before its 4000-step floor (min_steps) became the default


def condition_spread(aug):
    """Per class and embedding dimension: sd of the last generation's conditions over that of
    the class's real embeddings. Returns ``(median, fraction above 1.5)`` over classes and
    dimensions that vary in the real class."""
    real, real_labels = aug.train_embeddings_, aug.classes_[aug._train_codes]
    conds, labels = aug.last_conditions_, aug.last_condition_labels_
    if conds is None:
        return None, None
    ratios = []
    for c in np.unique(labels):
        sd_real = real[real_labels == c].std(axis=0)
        sd_syn = conds[labels == c].std(axis=0)
        varying = sd_real > 1e-12 * max(sd_real.max(), 1e-300)
        if (labels == c).sum() > 1:
            ratios.append(sd_syn[varying] / sd_real[varying])
    ratios = np.concatenate(ratios) if ratios else np.empty(0)
    if not len(ratios):
        return None, None
    return float(np.median(ratios)), float(np.mean(ratios > 1.5))


def pool_fidelity(fit, X_syn, y_syn, shift_features=SHIFT_FEATURES):
    """Fidelity of a synthetic pool against the fitting windows ``fit``: ``rms_ratio`` and
    ``std_ratio`` (median over classes), ``classes_within_10pct`` (fraction of classes whose
    RMS and std ratios both lie in 0.9-1.1) and ``feature_shift`` (of ``shift_features``).
    An empty pool (a strict filter let nothing through) gives NaN and ``{}``."""
    if not len(X_syn):
        nan = float("nan")
        return {
            "rms_ratio": nan,
            "std_ratio": nan,
            "classes_within_10pct": nan,
            "feature_shift": {},
        }
    per_class = fidelity_report(fit.X, X_syn, fit.y, y_syn)["per_class"].values()
    rms = [c["rms_ratio"] for c in per_class]
    std = [c["std_ratio"] for c in per_class]
    shift = feature_shift(fit.X, X_syn, fit.y, y_syn, fs=fit.fs)["per_feature"]
    return {
        "rms_ratio": float(np.median(rms)),
        "std_ratio": float(np.median(std)),
        "classes_within_10pct": float(
            np.mean([0.9 <= r <= 1.1 and 0.9 <= s <= 1.1 for r, s in zip(rms, std, strict=True)])
        ),
        "feature_shift": {k: shift[k] for k in shift_features if k in shift},
    }


def run_unit(dataset, subject, seed, variants=None, ratio=0.5, cut="auto"):
    """Inner-split accuracy of LDA and STC on real windows alone and with each variant.

    ``ratio``: the SASGAugmenter's (0.5: the library default when
    results/ablate_sass_selection was made). ``cut``: how ``inner_split`` cuts.
    """
    variants = VARIANTS if variants is None else variants
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    n = len(fit.X)
    lda, stc = inner_scorers(fit, held_out, seed, SIZES["stc"])

    start = time.perf_counter()
    aug = SASGAugmenter(ratio=ratio, random_state=seed, **SIZES["sasg"])
    aug.fit_resample(fit.X, fit.y)
    fit_seconds = time.perf_counter() - start
    wanted = dict(aug.sampling_strategy_)  # the ratio's windows per class

    accuracy = {"lda": {"none": lda(fit.X, fit.y)}, "stc": {"none": stc(fit.X, fit.y)}}
    rms_ratio, std_ratio, shift, shortfall, seconds, spread = {}, {}, {}, {}, {}, {}
    within_10pct = {}  # fraction of classes whose RMS and std ratios both lie in 0.9-1.1
    defaults = aug.get_params()
    for name, make in variants.items():
        start = time.perf_counter()
        # a variant is a condition sampler, or a dict of SASGAugmenter generation settings
        change = make()
        change = change if isinstance(change, dict) else {"sampling": change}
        aug.set_params(
            **{**{k: defaults[k] for k in ("sampling", "confidence_threshold")}, **change}
        )
        # every variant draws from the same generation seed (paired draws)
        aug._generation_rng = np.random.default_rng([seed, 1])
        X_syn, y_syn = aug.generate(wanted)
        seconds[name] = round(time.perf_counter() - start, 2)
        shortfall[name] = int(sum(aug.last_shortfall_.values()))
        spread[name] = condition_spread(aug)
        fidelity = pool_fidelity(fit, X_syn, y_syn)
        rms_ratio[name], std_ratio[name] = fidelity["rms_ratio"], fidelity["std_ratio"]
        within_10pct[name] = fidelity["classes_within_10pct"]
        shift[name] = fidelity["feature_shift"]
        X_aug, y_aug = np.concatenate([fit.X, X_syn]), np.concatenate([fit.y, y_syn])
        accuracy["lda"][name] = lda(X_aug, y_aug)
        accuracy["stc"][name] = stc(X_aug, y_aug)
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": n,
        "n_held_out_windows": len(held_out.X),
        "accuracy": accuracy,
        "rms_ratio": rms_ratio,
        "std_ratio": std_ratio,
        "classes_within_10pct": within_10pct,
        "feature_shift": shift,
        "shortfall": shortfall,
        "condition_spread": spread,
        "ratio": ratio,
        "inner_split": cut,
        "code": code_version(),
        "fit_seconds": round(fit_seconds, 1),
        "sampler_seconds": seconds,
    }


def choose_oversample(units, variants=None):
    """The variant the pre-registered rule picks, with the table behind it.

    Returns
    -------
    choice : str
        A variant name, or :data:`REFERENCE`.
    rows : list of dict
        Per variant: ``mean`` paired gain over the reference (points), ``seed_sd`` (mean
        seed sd of the paired differences), ``worst`` (data set, model, mean, seed sd) and
        whether it is admissible.
    """
    names = VARIANTS if variants is None else variants
    return choose_by_accuracy(units, names, REFERENCE, models=MODELS)


TITLE = "# SASS's rarity selection: `SASS(oversample=...)` on an inner split"
INTRO = (
    "`python benchmarks/ablate_sass_selection.py`: one SASGAugmenter with the library's "
    "defaults per unit; only its condition sampler changes (same generator, encoder, seed and "
    "windows per class, through the confidence filter). RMS ratio: median over classes of "
    "synthetic over real RMS."
)


def write_report(units, path):
    write_variant_table(
        units, path, variants=list(VARIANTS), reference=REFERENCE, title=TITLE, intro=INTRO
    )
    choice, rows = choose_oversample(units)
    lines = [
        "",
        "## The pre-registered rule",
        "",
        "A variant replaces the default (`oversample_4`) if its mean paired gain over the "
        "default (over data sets, LDA and STC) exceeds the mean seed sd of those differences, "
        "and no data set and model loses more than its seed sd.",
        "",
        *rule_table(rows),
    ]
    std = {
        name: np.mean([u["std_ratio"][name] for u in units if name in u["std_ratio"]])
        for name in VARIANTS
    }
    ratios = sorted({u.get("ratio", 0.5) for u in units})
    lines += [
        "",
        f"Choice: **{choice}**.",
        "",
        f"SASGAugmenter ratio of these units: {', '.join(f'{r:g}' for r in ratios)}.",
        "",
        "Within-window std ratio (median over classes, mean over units): "
        + ", ".join(f"{k} {v:.3f}" for k, v in std.items())
        + ".",
        "",
    ]
    with open(path, "a") as fh:
        fh.write("\n".join(lines))


def rule_lines(rows, choice, candidate, reference):
    """The report's section on a pre-registered rule of the one-change sampler ablations."""
    return [
        "",
        "## The pre-registered rule",
        "",
        f"{candidate} replaces the default (`{reference}`) if its mean paired gain over the "
        "default (over data sets, LDA and STC) exceeds the mean seed sd of those differences, "
        "and no data set and model loses more than its seed sd.",
        "",
        *rule_table(rows),
        "",
        f"Choice: **{choice}**.",
        "",
    ]


def one_change_intro(name, changes, ratio=2.0, through_filter=True):
    """The opening sentence of a one-change sampler ablation's report.

    ``changes`` names what the variants change (e.g. ``"its condition sampler"``);
    ``through_filter``: the variants' windows pass SASS's confidence filter.
    """
    filtered = ", through the confidence filter" if through_filter else ""
    return (
        f"`python benchmarks/{name}.py`: one SASGAugmenter with the library's defaults "
        f"(ratio {ratio:g}) per unit; only {changes} changes (same generator, encoder, seed "
        f"and windows per class{filtered}). RMS ratio: median over classes of synthetic over "
        "real RMS."
    )


def one_change_ablation(
    *,
    name,
    description,
    variants,
    reference,
    title,
    intro,
    candidate,
    extra_lines=None,
    ratio=2.0,
    rule_variants=None,
):
    """``(choose, write_report, main)`` of a one-change sampler ablation on :func:`run_unit`.

    ``choose(units)`` applies the pre-registered rule to every variant (or to those in
    ``rule_variants``) against ``reference``; ``write_report(units, path)`` writes the
    variant table, then ``extra_lines(units)`` (a list of Markdown lines) and the rule's
    section, naming the candidate ``candidate``; ``main(argv)`` is the script's command line.
    """

    def choose(units):
        names = list(variants) if rule_variants is None else list(rule_variants)
        return choose_by_accuracy(units, names, reference, models=MODELS)

    def write_report(units, path):
        write_one_change_report(
            units,
            path,
            variants=variants,
            reference=reference,
            title=title,
            intro=intro,
            candidate=candidate,
            choose=choose,
            extra_lines=extra_lines,
        )

    def main(argv=None):
        return sampler_ablation_main(
            argv,
            name=name,
            description=description,
            variants=variants,
            ratio=ratio,
            write=write_report,
        )

    return choose, write_report, main


def write_one_change_report(
    units, path, *, variants, reference, title, intro, candidate, choose, extra_lines=None
):
    """A one-change ablation's report: the variant table, then ``extra_lines(units)`` (a
    list of Markdown lines) and the section on the rule that ``choose(units)`` applies."""
    write_variant_table(
        units, path, variants=list(variants), reference=reference, title=title, intro=intro
    )
    choice, rows = choose(units)
    lines = [
        *(extra_lines(units) if extra_lines is not None else []),
        *rule_lines(rows, choice, candidate, reference),
    ]
    with open(path, "a") as fh:
        fh.write("\n".join(lines))


def inner_split_main(argv, *, name, description, run_unit, write):
    """The command line of a DB1 + Myo ablation whose ``run_unit(dataset, subject, seed,
    cut=...)`` takes the ``--inner-split`` cut."""
    return ablation_main(
        argv,
        description=description,
        name=name,
        run=lambda args, dataset, subject, seed: run_unit(
            dataset, subject, seed, cut=args.inner_split
        ),
        write=write,
        subject_names=subject_names,
        datasets=("db1", "myo"),
        inner_splits=True,
    )


def sampler_ablation_main(argv, *, name, description, variants, ratio, write):
    """The command line of an ablation that reuses :func:`run_unit` with its own variants."""

    return ablation_main(
        argv,
        description=description,
        name=name,
        run=lambda args, dataset, subject, seed: run_unit(
            dataset, subject, seed, variants=variants, ratio=ratio, cut=args.inner_split
        ),
        write=write,
        subject_names=subject_names,
        datasets=("db1", "myo"),
        inner_splits=True,
    )


def _add_ratio_argument(parser):
    parser.add_argument(
        "--ratio",
        type=float,
        default=0.5,
        help="the SASGAugmenter's ratio (0.5: the library default when the first run was made)",
    )


def _check_one_ratio(args, units, log):
    ratios = {u.get("ratio", 0.5) for u in units}
    if ratios - {args.ratio}:
        raise SystemExit(
            f"{log} holds units at ratio {sorted(ratios)}, not {args.ratio}; use another --out."
        )


def main(argv=None):
    ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="ablate_sass_selection",
        run=lambda args, dataset, subject, seed: run_unit(
            dataset, subject, seed, ratio=args.ratio, cut=args.inner_split
        ),
        write=write_report,
        subject_names=subject_names,
        datasets=("db1", "myo"),
        add_arguments=_add_ratio_argument,
        check_units=_check_one_ratio,
        inner_splits=True,
    )


if __name__ == "__main__":
    main()
