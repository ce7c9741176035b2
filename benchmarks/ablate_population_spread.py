"""Do other people's repetitions widen SASS's conditions usefully? One change, on an inner split.

A new user's one or two repetitions show how a gesture varies *within* a repetition, not
how its class mean moves from one repetition to the next, and that move is what the test
repetitions bring (``benchmarks/ablate_mean_matching.py``: the class means drift). Other
people's recordings show it. This script borrows it, in the spirit of distribution
calibration for few-shot learning (Yang, Liu and Xu, ICLR 2021: few-shot class statistics
calibrated with those of data-rich classes, then sampled).

For each target subject the population prior is pretrained on other people only, exactly
as in ``benchmarks/population.py`` (``--prior-cache-dir`` shares the files of
``benchmarks/ablate_adapt.py``). ``SASGAugmenter(prior=prior, random_state=seed)`` is fitted
at the library's defaults on the first part of the target's inner split. Every window of
the pool is then embedded with that sampler's own fine-tuned encoder (each pool subject
divided by its per-channel RMS, as the prior saw it), and per class the population's
*between-repetition* covariance is estimated: the deviations of each (person, repetition)
class mean from that person's class mean, with Ledoit-Wolf shrinkage
(:class:`sklearn.covariance.LedoitWolf`). A condition drawn from the target's class
Gaussian plus that covariance is what a new repetition's windows would look like if the
target's repetitions moved as other people's do (the law of total covariance).

Sets of synthetic windows, drawn from the one fitted sampler with the same
``generate(random_state=seed)`` so that they differ only in their conditions:

- ``sass``: the library's default conditions (the reference of the rule);
- ``gmss``: the target's class Gaussians, no rarity selection or refinement, and no
  confidence filter (the library filters SASS's windows only): two changes from ``sass``;
- ``gmss_spread``: the target's class Gaussians widened by the population's
  between-repetition covariance (one change from ``gmss``);
- ``sass_spread``: SASS whose candidates come from the widened Gaussians (its rarity
  selection keeps them inside the target's support, so it may undo the widening).

Reach tells whether wider conditions make wider windows: per class, the mean squared
distance of a set's windows to the fitting windows' class mean, in Hudgins features
standardised on the fitting windows, over that of the fitting windows themselves. The
held-out windows' reach is what a new repetition shows.

LDA (hudgins), STC and TL (the prior's encoder fine-tuned) are trained on real +
synthetic windows and scored on the second part of the split; ``none`` trains them on
the real windows alone. The test repetitions are never loaded.

Rule, fixed before any unit ran: a variant replaces the library's ``sass`` if its mean
paired gain over ``sass`` (over the (data set, model) cells) exceeds the mean seed sd and
no cell loses more than its seed sd (``ablate_time_warp.rule_row``).

Usage::

    python benchmarks/ablate_population_spread.py --datasets myo --subjects 5 \\
        --seeds 0 1 2 --prior-cache-dir priors --out results/ablate_population_spread
    python benchmarks/ablate_population_spread.py --rerender --out results/ablate_population_spread
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_adapt import prior_for  # noqa: E402
from ablate_generator import ablation_main, inner_split, inner_split_note  # noqa: E402
from ablate_time_warp import choose_by_accuracy, model_gains, none_cells, rule_table  # noqa: E402
from population import pool_windows  # noqa: E402
from protocols import subject_names  # noqa: E402

from semgaug_sk.augmentation import GMSS, SASS, SASGAugmenter  # noqa: E402
from semgaug_sk.augmentation.conditions import gaussian_factors  # noqa: E402
from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402
from semgaug_sk.encoders import SemanticEncoder  # noqa: E402
from semgaug_sk.features import EMGFeatures  # noqa: E402
from semgaug_sk.metrics import fidelity_report  # noqa: E402
from semgaug_sk.preprocessing import channel_rms  # noqa: E402
from semgaug_sk.utils.provenance import record_provenance  # noqa: E402

VARIANTS = ("sass", "gmss", "gmss_spread", "sass_spread")
REFERENCE = "sass"
MODELS = ("lda", "stc", "tl")
#: Constructor overrides (empty: the library's defaults); the tests shrink them.
SIZES: dict = {
    "sasg": {},
    "stc": {"min_steps": None},
    "tl": {},
}  # STC as measured: before its 4000-step floor (min_steps) became the default
#: At most this many windows of each (person, class, repetition) enter its mean.
WINDOWS_PER_REPETITION = 30


def between_repetition_covariances(embeddings, y, people, repetitions):
    """Per class, the covariance of repetition class means around each person's class mean.

    Parameters
    ----------
    embeddings : ndarray of shape (n_windows, n_dims)
    y, people, repetitions : ndarray of shape (n_windows,)

    Returns
    -------
    covariances : dict
        ``{class: ndarray (n_dims, n_dims)}``, Ledoit-Wolf shrunk, for each class that
        some person shows in at least two repetitions.
    n_deviations : dict
        ``{class: int}``, the (person, repetition) means behind each.
    """
    # each column as text on its own (np.stack would coerce them to one common type first)
    keys = np.stack([np.asarray(a).astype(str) for a in (y, people, repetitions)], axis=1)
    groups, codes = np.unique(keys, axis=0, return_inverse=True)
    codes = codes.ravel()
    counts = np.bincount(codes, minlength=len(groups))
    sums = np.zeros((len(groups), embeddings.shape[1]))
    np.add.at(sums, codes, embeddings)
    means = sums / counts[:, None]
    covariances, n_deviations = {}, {}
    for label in np.unique(y):
        deviations = []
        for person in np.unique(people):
            mine = (groups[:, 0] == str(label)) & (groups[:, 1] == str(person))
            if mine.sum() < 2:
                continue
            m = means[mine]
            # unbiased: the person's mean is estimated from the same repetitions
            deviations.append((m - m.mean(axis=0)) * np.sqrt(len(m) / (len(m) - 1)))
        if deviations:
            deviations = np.concatenate(deviations)
            covariances[label] = LedoitWolf(assume_centered=True).fit(deviations).covariance_
            n_deviations[label] = len(deviations)
    return covariances, n_deviations


class _Widened:
    """Class Gaussians widened by ``extra_covariances`` (``{class: (d, d)}``) after fit;
    a class the population never showed in two repetitions is not widened."""

    def fit(self, embeddings, y):
        super().fit(embeddings, y)
        none = np.zeros(self.covariances_.shape[1:])
        extra = np.stack([self.extra_covariances.get(c, none) for c in self.classes_.tolist()])
        self.covariances_ = self.covariances_ + extra
        self.factors_ = gaussian_factors(self.covariances_)
        return self


class WidenedGMSS(_Widened, GMSS):
    def __init__(self, extra_covariances=None, covariance="oas", shrinkage_target="identity"):
        super().__init__(covariance=covariance, shrinkage_target=shrinkage_target)
        self.extra_covariances = extra_covariances


class WidenedSASS(_Widened, SASS):
    def __init__(
        self,
        extra_covariances=None,
        oversample=4.0,
        k=5,
        epsilon=0.5,
        n_steps=20,
        diversity=1.0,
        covariance="oas",
        shrinkage_target="identity",
    ):
        super().__init__(
            oversample=oversample,
            k=k,
            epsilon=epsilon,
            n_steps=n_steps,
            diversity=diversity,
            covariance=covariance,
            shrinkage_target=shrinkage_target,
        )
        self.extra_covariances = extra_covariances


def at_most_per_group(keys, n, rng):
    """Mask keeping at most ``n`` rows of each group of identical ``keys`` rows, at random.

    Examples
    --------
    >>> keys = np.array([["a"], ["a"], ["a"], ["b"]])
    >>> int(at_most_per_group(keys, 2, np.random.default_rng(0)).sum())
    3
    """
    _, codes = np.unique(keys, axis=0, return_inverse=True)
    order = rng.permutation(len(keys))
    rank = np.empty(len(keys), dtype=np.int64)  # each row's rank within its group, at random
    shuffled = codes.ravel()[order]
    by_code = np.argsort(shuffled, kind="stable")
    starts = np.searchsorted(shuffled[by_code], shuffled[by_code])
    rank[order[by_code]] = np.arange(len(keys)) - starts
    return rank < n


def population_spread(aug, dataset, subject):
    """The pool's between-repetition covariance in ``aug``'s embedding space, and its size."""
    X, y, people, reps = pool_windows(dataset, subject, 10**9, 0, with_repetitions=True)
    keys = np.stack([np.asarray(a).astype(str) for a in (y, people, reps)], axis=1)
    keep = at_most_per_group(keys, WINDOWS_PER_REPETITION, np.random.default_rng(0))
    X, y, people, reps = X[keep], y[keep], people[keep], reps[keep]
    scale = aug.encoder_.subject_scale_  # the encoder divides every window by it
    Xs = np.empty(X.shape, dtype=np.float32)
    for person in np.unique(people):
        rows = people == person
        Xs[rows] = X[rows] / channel_rms(X[rows])[:, None] * scale[:, None]
    return between_repetition_covariances(aug.encoder_.transform(Xs), y, people, reps)


def reach(F_fit, y_fit, F_other, y_other):
    """Median over classes of the mean squared distance of ``F_other`` to the fitting
    windows' class mean, over that of the fitting windows themselves (1: as spread as
    the fitting windows; above: wider, or off their mean)."""
    ratios = []
    for c in np.unique(y_other):
        mine = F_fit[y_fit == c]
        centre = mine.mean(axis=0)
        own = np.mean(np.sum((mine - centre) ** 2, axis=1))
        ratios.append(np.mean(np.sum((F_other[y_other == c] - centre) ** 2, axis=1)) / own)
    return float(np.median(ratios))


def run_unit(dataset, subject, seed, cache_dir=None, cut="auto"):
    """Inner-split accuracy of LDA, STC and TL on real windows alone and with each set."""
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    prior = prior_for(dataset, subject, cache_dir)
    n = len(fit.X)
    feats = EMGFeatures("hudgins", fs=fit.fs).fit(fit.X)
    F_held = feats.transform(held_out.X)
    scaler = StandardScaler().fit(feats.transform(fit.X))
    F_fit_scaled = scaler.transform(feats.transform(fit.X))

    def score(model, X, y):
        if model == "lda":
            lda = LinearDiscriminantAnalysis().fit(feats.transform(X), y)
            return float(lda.score(F_held, held_out.y))
        record_provenance(X, n)  # real rows first
        if model == "stc":
            net = SpatioTemporalClassifier(random_state=seed, **SIZES["stc"])
        else:
            net = SemanticEncoder(prior=prior, random_state=seed, **SIZES["tl"])
        return float(net.fit(X, y).score(held_out.X, held_out.y))

    start = time.perf_counter()
    aug = SASGAugmenter(prior=prior, random_state=seed, **SIZES["sasg"]).fit(fit.X, fit.y)
    fit_seconds = time.perf_counter() - start
    spread, n_deviations = population_spread(aug, dataset, subject)
    own = aug.sampler_.covariances_
    # how much wider: trace of the extra covariance over the target's own, per class
    widening = [
        float(np.trace(spread.get(c, 0 * own[i])) / np.trace(own[i]))
        for i, c in enumerate(aug.classes_.tolist())
    ]
    samplers = {
        "sass": SASS(),
        "gmss": GMSS(),
        "gmss_spread": WidenedGMSS(spread),
        "sass_spread": WidenedSASS(spread),
    }
    accuracy = {m: {"none": score(m, fit.X, fit.y)} for m in MODELS}
    rms, std, acceptance, seconds = {}, {}, {}, {}
    spread_reach = {"held_out": reach(F_fit_scaled, fit.y, scaler.transform(F_held), held_out.y)}
    for name, sampler in samplers.items():
        aug.set_params(sampling=sampler)
        start = time.perf_counter()
        X_syn, y_syn = aug.generate(aug.sampling_strategy_, random_state=seed)
        seconds[name] = round(time.perf_counter() - start, 1)
        # when the filter passed no window
        rms[name] = std[name] = spread_reach[name] = float("nan")
        if len(y_syn):
            report = fidelity_report(fit.X, X_syn, fit.y, y_syn)["per_class"].values()
            rms[name] = float(np.median([c["rms_ratio"] for c in report]))
            std[name] = float(np.median([c["std_ratio"] for c in report]))
            F_syn = scaler.transform(feats.transform(X_syn))
            spread_reach[name] = reach(F_fit_scaled, fit.y, F_syn, y_syn)
        rates = list(aug.last_acceptance_.values())  # empty without a confidence filter
        acceptance[name] = float(np.nanmean(rates)) if rates else float("nan")
        X_aug = np.concatenate([fit.X, X_syn])
        y_aug = np.concatenate([fit.y, y_syn])
        for m in MODELS:
            accuracy[m][name] = score(m, X_aug, y_aug)
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": n,
        "n_held_out_windows": len(held_out.X),
        "accuracy": accuracy,
        "rms_ratio": rms,
        "std_ratio": std,
        "acceptance": acceptance,
        "reach": spread_reach,
        "generate_seconds": seconds,
        "fit_seconds": round(fit_seconds, 1),
        "widening_median": float(np.median(widening)),
        "widening_range": [float(min(widening)), float(max(widening))],
        "n_deviations_min": int(min(n_deviations.get(c, 0) for c in aug.classes_.tolist())),
    }


def choose_conditions(units):
    """The set the pre-registered rule picks over :data:`REFERENCE`, with its table."""
    return choose_by_accuracy(units, VARIANTS, REFERENCE, models=MODELS)


def write_report(units, path):
    lines = [
        "# Widening SASS's conditions by other people's repetitions (inner split)",
        "",
        "`python benchmarks/ablate_population_spread.py`: one `SASGAugmenter(prior=...)` at the "
        "library's defaults fitted on the first part of the inner split; its conditions drawn "
        "four ways from the same generation seed; LDA (hudgins), STC and TL (the prior's "
        "encoder fine-tuned) trained on real + synthetic windows and scored on the second part "
        "(the test repetitions are never loaded). Widening: median over classes of the trace of "
        "the population's between-repetition covariance over the target's own class "
        "covariance. Reach: median over classes of the mean squared distance of the windows "
        "to the fitting windows' class mean, in standardised Hudgins features, over that of "
        "the fitting windows themselves (the held-out windows' reach is what a new repetition "
        "shows; on UCI it is dominated by `ssc`, because synthetic windows break the runs of "
        "equal samples of UCI's held signal, so read it on DB1 and Myo). Accuracy in %; gains "
        "in points over the real windows alone (`none`), mean ± sd over subjects of the per-subject mean over seeds (mean seed sd in brackets). "
        "RMS / std: median over classes of synthetic over real." + inner_split_note(units),
        "",
        "| dataset | subjects × seeds | conditions | widening | reach | RMS | std | acceptance | "
        "LDA | STC | TL |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        size = f"{len({u['subject'] for u in mine})} × {len({u['seed'] for u in mine})}"
        widening = np.mean([u["widening_median"] for u in mine])
        held_reach = np.mean([u["reach"]["held_out"] for u in mine])
        accuracies = none_cells(mine, dataset, MODELS)
        lines.append(
            f"| {dataset} | {size} | none (accuracy; reach: the held-out windows) | "
            f"{widening:.2f} | {held_reach:.2f} | | | | {' | '.join(accuracies)} |"
        )
        for name in VARIANTS:
            reach_, rms, std, acceptance = (
                np.mean([u[key][name] for u in mine])
                for key in ("reach", "rms_ratio", "std_ratio", "acceptance")
            )
            gains = model_gains(mine, dataset, name, MODELS)
            lines.append(
                f"| {dataset} | {size} | {name} | | {reach_:.2f} | {rms:.3f} | {std:.3f} | "
                f"{acceptance:.2f} | {' | '.join(gains)} |"
            )
        lines.append(
            f"| {dataset} | {size} | gmss_spread − gmss (the one change) | | | | | | "
            f"{' | '.join(model_gains(mine, dataset, 'gmss_spread', MODELS, 'gmss'))} |"
        )
    choice, rows = choose_conditions(units)
    lines += [
        "",
        "## The pre-registered rule",
        "",
        f"A set replaces `{REFERENCE}` if its mean paired gain over it (over the (data set, "
        "model) cells) exceeds the mean seed sd of those differences and no cell loses more "
        "than its seed sd.",
        "",
        *rule_table(rows),
        "",
        f"Choice: **{choice}**.",
        "",
    ]
    Path(path).write_text("\n".join(lines))


def main(argv=None):
    ablation_main(
        sys.argv[1:] if argv is None else list(argv),
        description=__doc__.split("\n")[0],
        name="ablate_population_spread",
        run=lambda args, dataset, subject, seed: run_unit(
            dataset, subject, seed, cache_dir=args.prior_cache_dir, cut=args.inner_split
        ),
        write=write_report,
        subject_names=subject_names,
        datasets=("db1", "myo", "uci"),
        add_arguments=lambda parser: parser.add_argument(
            "--prior-cache-dir",
            type=Path,
            default=None,
            help="read each prior from here, or pretrain it and save it there",
        ),
        inner_splits=True,
    )


if __name__ == "__main__":
    main()
