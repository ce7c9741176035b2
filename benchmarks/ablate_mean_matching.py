"""Class-mean (and covariance) matching of the SASS pool, one change, inner split.

``ablate_lda`` (``results/time_split/ablate_lda``) traced what SASS costs LDA on NinaPro
DB1 to the pool's class means: the mean Hudgins vector of a class's synthetic windows lies
about 3.4 Mahalanobis units from the fitting windows' class mean (the held-out half of the
same repetition lies 3.1 away), and moving the real windows' class means by that offset
alone costs LDA about 5 points. Matching the class level (``calibration="level"``) did not
move the offset, nor did conditioning augmentation (``ablate_cond_noise``: it grew). This
ablation tries the direct lever: draw a larger pool of SASS windows (through the confidence
filter) and keep, per class, the windows whose mean (and spread) follows the fitting
windows' class, chosen by greedy kernel mean matching
(:func:`semgaug_sk.augmentation.selection.match_class_means`) in a feature space whitened by
the fitting windows' pooled within-class covariance.

Per (subject, seed) one :class:`~semgaug_sk.augmentation.SASGAugmenter` with the library's
defaults (ratio 2) is fitted on the first half in time of each gesture of the first training
repetition (``--inner-split time``; the test repetitions are never read). It then draws one
pool of ``POOL`` x the ratio's windows per class from one seeded ``generate`` call, and the
pool is shuffled within each class (seeded): SASS orders each block's conditions from rarest
to least rare, so the front of an unshuffled pool would hold its rarest windows. A pool of
``POOL * k`` is the rarest quarter of ``4 * POOL * k`` GMSS candidates, as the library's
``k`` windows are the rarest quarter of ``4 * k``. Every variant keeps the ratio's number of
windows per class:

- ``first`` (the reference): the first windows of each class of the shuffled pool, a random
  subset, so the library's SASS output in distribution;
- ``match_mean_x2`` / ``_x4``: mean matching in Hudgins features (the classical set LDA also
  uses) over the first 2 or 4 x the windows kept;
- ``match_embedding_x2``: mean matching over 2 x the windows kept in the guiding encoder's
  embedding, the space SASS draws its conditions in (no classical features);
- ``match_covariance_x4``: mean and covariance matching in Hudgins features over 4 x the
  windows kept (``match="covariance"``).

LDA on hudgins features and :class:`~semgaug_sk.classifiers.SpatioTemporalClassifier` are
scored on the second half. Each unit also records the fidelity (median RMS and std ratios,
classes within 10%, feature shift) and, in Hudgins features whitened as the selection
whitens them (Ledoit-Wolf on features standardised by their within-class sd), the kept
windows' class-mean offset from the fitting windows (mean over classes) and their spread
(mean squared whitened distance to their own class mean, over the fitting windows'; 1 = as
varied as the real class). The held-out half's class-mean offset from the fitting windows
is recorded in the same units, as a reference: a later stretch of the same repetition lies
that far from the fitting windows' class means (they drift over time within a gesture). The
offsets of the matched variants are in-sample (they are matched to the means they are
measured against). ``ablate_cond_noise.class_mean_offset`` (Ledoit-Wolf on the raw
features, as ``ablate_lda`` reported it) is recorded too.

Rule, fixed before any unit ran: SASGAugmenter gets class-mean matching, as the variant with
the best mean paired gain over ``first`` (mean over data sets of the per-data-set means,
LDA and STC), if that mean exceeds the mean seed sd of those paired differences and no data
set and model loses more than its seed sd. Otherwise the library keeps its output as it is,
whatever the offsets show.

A first run took the front of each class's unshuffled pool
(``results/time_split/ablate_mean_matching_rarest_front``, code 8c00ec8, without the
covariance variant): no variant gained there either.

Usage::

    python benchmarks/ablate_mean_matching.py --datasets db1 myo --subjects 3 --seeds 0 1 2 \\
        --inner-split time --out results/time_split/ablate_mean_matching
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_cond_noise import class_mean_offset  # noqa: E402
from ablate_generator import inner_split  # noqa: E402
from ablate_sass_selection import (  # noqa: E402
    inner_split_main,
    pool_fidelity,
    write_one_change_report,
)
from ablate_time_warp import choose_by_accuracy, inner_scorers  # noqa: E402
from protocols import code_version  # noqa: E402

from semgaug_sk.augmentation import SASGAugmenter  # noqa: E402
from semgaug_sk.augmentation.selection import match_class_means, within_class_whitener  # noqa: E402
from semgaug_sk.features import EMGFeatures  # noqa: E402

#: Per variant: ``(pool factor, feature space)``, and optionally what herding matches
#: (``match_class_means(match=)``, default ``"mean"``); factor 1 without a space keeps the front.
VARIANTS = {
    "first": (1, None),
    "match_mean_x2": (2, "hudgins"),
    "match_mean_x4": (4, "hudgins"),
    "match_embedding_x2": (2, "embedding"),
    "match_covariance_x4": (4, "hudgins", "covariance"),
}
REFERENCE = "first"
MODELS = ("lda", "stc")
RATIO = 2.0
#: The pool drawn per unit, in multiples of the windows kept per class.
POOL = max(spec[0] for spec in VARIANTS.values())
#: Constructor overrides (empty: the library's defaults, as measured); the tests shrink them.
SIZES: dict = {
    "sasg": {},
    "stc": {"min_steps": None},
}  # STC as measured: before its 4000-step floor (min_steps) became the default

TITLE = "# Class-mean matching of the SASS pool (greedy kernel mean matching), inner split"
INTRO = (
    "`python benchmarks/ablate_mean_matching.py`: one SASGAugmenter with the library's "
    f"defaults (ratio {RATIO:g}) per unit and one seeded pool of {POOL} x its windows per "
    "class, through the confidence filter, shuffled within each class; only which windows "
    "of the pool are kept changes (same number per class). RMS ratio: median over classes of synthetic over real RMS."
)


def pool_blocks(y_pool, wanted, factor):
    """Per class: the rows of the first ``factor * wanted[c]`` windows of class ``c`` in
    ``y_pool`` (fewer where the pool fell short), and how many to keep of them."""
    blocks, keep = {}, {}
    for c, n in wanted.items():
        rows = np.flatnonzero(y_pool == c)[: factor * n]
        blocks[c], keep[c] = rows, min(n, len(rows))
    return blocks, keep


def select(spec, pool_features, y_pool, real_features, y_real, wanted):
    """Rows of the pool that a variant keeps, grouped by class in the order of ``wanted``.

    ``spec``: the variant's ``(pool factor, feature space[, match])``;
    ``pool_features`` / ``real_features``: ``{space: features}`` of the pool and of the
    fitting windows (only the variant's space is read).
    """
    factor, space, *match = spec
    blocks, keep = pool_blocks(y_pool, wanted, factor)
    if space is None:
        return np.concatenate([blocks[c][: keep[c]] for c in wanted])
    rows = np.concatenate([blocks[c] for c in wanted])
    chosen = match_class_means(
        pool_features[space][rows],
        y_pool[rows],
        real_features[space],
        y_real,
        keep,
        match=match[0] if match else "mean",
    )
    return rows[chosen]


def shuffled_within_class(y_pool, seed):
    """A seeded order of the pool's rows that shuffles each class's windows (and keeps
    each class's rows together, in the classes' first-appearance order)."""
    order = np.random.default_rng([seed, 2]).permutation(len(y_pool))
    _, first = np.unique(y_pool, return_index=True)
    rank = {c: r for r, c in enumerate(y_pool[np.sort(first)].tolist())}
    return order[np.argsort([rank[c] for c in y_pool[order].tolist()], kind="stable")]


def whitened_statistics(F_fit, y_fit, F_other, y_other):
    """``(offset, spread)`` of ``F_other`` against the fitting windows, in features whitened
    as :func:`~semgaug_sk.augmentation.selection.match_class_means` whitens them.

    ``offset``: mean over classes of the distance between the class means; ``spread``: mean
    over classes (with two or more windows in both) of the mean squared distance to the own
    class mean, over the fitting windows'.
    """
    keep, whiten = within_class_whitener(F_fit, y_fit)
    Z_fit, Z_other = F_fit[:, keep] @ whiten, F_other[:, keep] @ whiten
    offsets, spreads = [], []
    for c in np.unique(y_other):
        real, other = Z_fit[y_fit == c], Z_other[y_other == c]
        if not len(real):
            continue
        offsets.append(float(np.linalg.norm(other.mean(0) - real.mean(0))))
        real_spread = np.mean(np.sum((real - real.mean(0)) ** 2, axis=1))
        if len(other) > 1 and len(real) > 1 and real_spread > 0:
            other_spread = np.mean(np.sum((other - other.mean(0)) ** 2, axis=1))
            spreads.append(float(other_spread / real_spread))
    return float(np.mean(offsets)), float(np.mean(spreads)) if spreads else float("nan")


def run_unit(dataset, subject, seed, variants=None, cut="auto"):
    """Inner-split accuracy of LDA and STC on real windows alone and with each variant's pool."""
    variants = dict(VARIANTS if variants is None else variants)
    pool = max(spec[0] for spec in variants.values())
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    n = len(fit.X)
    lda, stc = inner_scorers(fit, held_out, seed, SIZES["stc"])
    hudgins = EMGFeatures("hudgins", fs=fit.fs).fit(fit.X)
    start = time.perf_counter()
    aug = SASGAugmenter(ratio=RATIO, random_state=seed, **SIZES["sasg"])
    aug.fit(fit.X, fit.y)
    fit_seconds = time.perf_counter() - start
    wanted = dict(aug.sampling_strategy_)
    start = time.perf_counter()
    X_pool, y_pool = aug.generate({c: pool * k for c, k in wanted.items()}, random_state=seed)
    pool_seconds = time.perf_counter() - start
    order = shuffled_within_class(y_pool, seed)
    X_pool, y_pool = X_pool[order], y_pool[order]
    pool_features = {
        "hudgins": hudgins.transform(X_pool),
        "embedding": aug.encoder_.transform(X_pool),
    }
    real_features = {"hudgins": hudgins.transform(fit.X), "embedding": aug.train_embeddings_}
    held_out_offset, held_out_spread = whitened_statistics(
        real_features["hudgins"], fit.y, hudgins.transform(held_out.X), held_out.y
    )
    unit = {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": n,
        "n_held_out_windows": len(held_out.X),
        "accuracy": {"lda": {"none": lda(fit.X, fit.y)}, "stc": {"none": stc(fit.X, fit.y)}},
        **{
            key: {}
            for key in (
                "rms_ratio",
                "std_ratio",
                "classes_within_10pct",
                "feature_shift",
                "n_kept",
                "class_mean_offset",
                "class_mean_offset_raw",
                "class_spread",
                "select_seconds",
            )
        },
        "held_out_offset": held_out_offset,
        "held_out_spread": held_out_spread,
        "pool_shortfall": int(sum(pool * k for k in wanted.values()) - len(X_pool)),
        "variants": {name: list(spec) for name, spec in variants.items()},
        "ratio": RATIO,
        "pool": pool,
        "inner_split": cut,
        "code": code_version(),
        "fit_seconds": round(fit_seconds, 1),
        "pool_seconds": round(pool_seconds, 1),
    }
    for name, spec in variants.items():
        start = time.perf_counter()
        rows = select(spec, pool_features, y_pool, real_features, fit.y, wanted)
        unit["select_seconds"][name] = round(time.perf_counter() - start, 4)
        X_syn, y_syn = X_pool[rows], y_pool[rows]
        unit["n_kept"][name] = len(rows)
        for key, value in pool_fidelity(fit, X_syn, y_syn).items():
            unit[key][name] = value
        offset, spread = whitened_statistics(
            real_features["hudgins"], fit.y, pool_features["hudgins"][rows], y_syn
        )
        unit["class_mean_offset"][name], unit["class_spread"][name] = offset, spread
        unit["class_mean_offset_raw"][name] = class_mean_offset(fit.X, fit.y, X_syn, y_syn, hudgins)
        X_aug, y_aug = np.concatenate([fit.X, X_syn]), np.concatenate([fit.y, y_syn])
        unit["accuracy"]["lda"][name] = lda(X_aug, y_aug)
        unit["accuracy"]["stc"][name] = stc(X_aug, y_aug)
    return unit


def choose_mean_matching(units):
    """``(choice, rows)``: the pre-registered rule over every variant against ``first``."""
    return choose_by_accuracy(units, list(VARIANTS), REFERENCE, models=MODELS)


def diagnostics_lines(units, variants=None):
    """Per data set and variant: the kept windows' class-mean offset, spread and fidelity,
    and the held-out half's offset and spread as a floor."""
    variants = VARIANTS if variants is None else variants
    lines = [
        "",
        "Kept windows (mean over units), in Hudgins features whitened as the selection "
        "whitens them (Ledoit-Wolf on features standardised by their within-class sd): "
        "class-mean offset, the distance between their and the fitting windows' class means, "
        "mean over classes (in-sample for the matched variants); spread, their mean squared "
        "distance to their own class mean over the fitting windows' (1 = as varied as the "
        "real class). Raw offset: the same distance with Ledoit-Wolf on the raw features, as "
        "`ablate_lda` reported it. The held-out row is the held-out half of the repetition, "
        "the floor a new stretch of real signal sets. Pool shortfall: windows of the pool the "
        "confidence filter left missing.",
        "",
        "| dataset | variant | class-mean offset | spread | raw offset | std ratio "
        "| classes in 10% | windows kept | pool shortfall |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        shortfall = np.mean([u["pool_shortfall"] for u in mine])
        for name in variants:

            def mean(key, mine=mine, name=name):
                return np.mean([u[key][name] for u in mine])

            lines.append(
                f"| {dataset} | {name} | {mean('class_mean_offset'):.2f} "
                f"| {mean('class_spread'):.2f} | {mean('class_mean_offset_raw'):.2f} "
                f"| {mean('std_ratio'):.3f} | {mean('classes_within_10pct'):.2f} "
                f"| {mean('n_kept'):.0f} | {shortfall:.1f} |"
            )
        lines.append(
            f"| {dataset} | held-out real half | "
            f"{np.mean([u['held_out_offset'] for u in mine]):.2f} | "
            f"{np.mean([u['held_out_spread'] for u in mine]):.2f} | | | | | |"
        )
    return lines


def write_report(units, path):
    write_one_change_report(
        units,
        path,
        variants=VARIANTS,
        reference=REFERENCE,
        title=TITLE,
        intro=INTRO,
        candidate="A matching variant",
        choose=choose_mean_matching,
        extra_lines=diagnostics_lines,
    )


def main(argv=None):
    return inner_split_main(
        argv,
        name="ablate_mean_matching",
        description=__doc__.split("\n")[0],
        run_unit=run_unit,
        write=write_report,
    )


if __name__ == "__main__":
    main()
