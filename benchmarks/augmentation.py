"""Does augmentation help on held-out repetitions? The SASG-DA benchmark on real sEMG.

Protocols (``benchmarks/protocols.py``, after ``../shared/DESIGN.md``):

- **Low-data regime** (``--regime low_data``, the default), per subject. DB1: train
  repetitions {1, 2}, test {3..10}. Myo (evaluation set): train on cycle 0 of
  ``training0``, test on ``Test0``. UCI: train on the first series, test on the second.
  The simulator (``--preset smoke``) trains on repetitions {1, 2}, tests on the others.
- **The SASG-DA paper's regime** (``--regime standard``): DB1 train {1,3,4,6,8,9,10},
  test {2,5,7}; Myo train on every cycle of ``training0``, test on ``Test0`` and ``Test1``.
- **Methods:** none; repeat, the real windows three times over (the size and optimiser
  steps of a ratio-2 set with nothing new in it: the control for training length, since
  ``stc`` and ``tdct`` train a fixed number of epochs); ClassicAugmenter, SMOTE (on hudgins features for LDA, on
  flattened windows for the raw-window models), SASG label-conditioned, SASG
  semantic + GMSS, SASG semantic + SASS, and classic ∘ SASS (the classic transforms
  applied to the SASS windows, as :class:`~semgaug_sk.augmentation.ComposedAugmenter`).
  The semantic methods share one fitted diffusion model.
- **Downstream models** (a preset's ``models``): LDA on hudgins features; ``cnn``, the
  guide's architecture (``SemanticEncoder``, early-stopped); ``stc`` and ``tdct``, the
  downstream networks of :mod:`semgaug_sk.classifiers` (fixed budgets, distinct from the
  guide); FINClassifier (its imitator pre-trained once per subject and seed on the real
  training windows). Every augmented set is passed as one array whose real rows are
  recorded (:mod:`semgaug_sk.utils.provenance`), so a network that early-stops validates
  on real windows only, never on synthetic ones or on copies of its validation windows.
- **Quality of the synthetic windows:** FID, CAS, rarity and coverage in the
  embedding space of an *evaluation* encoder trained on the real training
  windows with its own seed and size, never the encoder that guided SASG.
- Every stochastic step is repeated for each seed; accuracies are averaged over
  seeds per subject, then reported as mean ± sd over subjects. Beside them, the
  ``seed sd``: the mean over subjects (those run with at least 2 seeds) of the sd
  over seeds of the accuracy; and for SASS's differences, the same for the
  same-seed difference, which is the bar a difference must clear. Nothing is
  selected on test windows.

Usage::

    python benchmarks/augmentation.py --preset smoke        # simulator, seconds (used by the tests)
    python benchmarks/augmentation.py --preset quick        # DB1 + Myo, 5 subjects, 2 seeds
    python benchmarks/augmentation.py --preset standard     # the reference run (see PRESETS)
    python benchmarks/augmentation.py --preset standard --datasets db1 --subject-names S1 S2
    python benchmarks/augmentation.py --preset standard --datasets db1 \\
        --subject-names S3 S4 S7 --merge                     # a second part, merged
    python benchmarks/augmentation.py --preset standard --regime standard   # paper's regime
    python benchmarks/augmentation.py --preset standard --datasets db1 --resume  # continue
    python benchmarks/augmentation.py --preset standard --methods none repeat classic smote \\
        --models lda stc tdct --out results/standard_repeat  # the control, no diffusion fit
    python benchmarks/augmentation.py --preset standard --methods none repeat classic smote \\
        --models lda stc --network-param stc:min_steps=4000 --out results/standard_floor
    python benchmarks/augmentation.py --rerender            # rewrite the reports from the JSON

Results go to ``results/augmentation_<dataset>[_<regime>].md`` and ``.json`` plus PNG
figures in ``results/figures/``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from imblearn.over_sampling import SMOTE
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
import protocols  # noqa: E402

from semgaug_sk import metrics  # noqa: E402
from semgaug_sk.augmentation import SASS, ClassicAugmenter, SASGAugmenter  # noqa: E402
from semgaug_sk.classifiers import ConvTransformerClassifier, SpatioTemporalClassifier  # noqa: E402
from semgaug_sk.datasets import make_semg_gestures  # noqa: E402
from semgaug_sk.encoders import SemanticEncoder  # noqa: E402
from semgaug_sk.features import EMGFeatures  # noqa: E402
from semgaug_sk.imitation import FeatureImitator, FINClassifier  # noqa: E402
from semgaug_sk.model_selection import select_windows  # noqa: E402
from semgaug_sk.plotting import plot_embedding_map, plot_gain_bars, plot_real_vs_synthetic  # noqa: E402
from semgaug_sk.utils.provenance import record_provenance  # noqa: E402
from semgaug_sk.windows import sliding_windows  # noqa: E402


def _models(cfg):
    return tuple(cfg.get("models", ("lda", "cnn", "fin")))


def _methods(cfg):
    """The augmentation methods a run compares (all of :data:`METHODS` by default)."""
    return tuple(cfg.get("methods", METHODS))


#: The methods that need the fitted SASG sampler.
SEMANTIC_METHODS = ("sasg_label", "sasg_gmss", "sasg_sass", "classic_sass")


METHODS = (
    "none",
    "repeat",
    "classic",
    "smote",
    "sasg_label",
    "sasg_gmss",
    "sasg_sass",
    "classic_sass",
)
#: Every downstream model the benchmark knows; a preset's ``models`` picks some of them.
MODELS = ("lda", "cnn", "stc", "tdct", "fin")

PRESETS = {
    "smoke": dict(
        datasets=("sim",),
        n_subjects=2,
        seeds=(0, 1),
        sasg=dict(
            n_steps=40,
            batch_size=64,
            base_channels=8,
            channel_mults=(1,),
            n_cond_tokens=1,
            cond_token_dim=16,
            n_sampling_steps=4,
            max_rounds=1,
            # a 40-step model's windows rarely convince the encoder: no filter in the smoke run
            confidence_threshold=0.0,
        ),
        sass=dict(n_steps=3),  # parameters of the SASS condition sampler
        encoder=dict(max_epochs=4, n_filters=8, n_blocks=1, embedding_dim=8, patience=2),
        cnn=dict(max_epochs=4, n_filters=8, n_blocks=1, embedding_dim=8, patience=2),
        stc=dict(max_epochs=3, n_temporal=4, min_steps=None),
        imitator=dict(hidden_size=8, num_layers=1, max_epochs=2),
        fin=dict(max_epochs=2, fine_tune_epochs=1),
        models=("lda", "cnn", "stc", "fin"),
    ),
    "quick": dict(
        datasets=("db1", "myo"),
        n_subjects=5,
        seeds=(0, 1),
        # Budgeted to finish within 30 min on 2 idle CPU cores: 20 units (subject x seed) of
        # 17 models each, two units at a time, one torch thread each. With the library's default
        # sizes a unit took 300-330 s (about 55 min in all). The generator keeps its default
        # size: a half-width U-Net (base_channels=16) was cheaper but much worse (FID of
        # label-conditioned windows against the real *training* windows, DB1 S1: 2.7 against
        # 0.5; no test data involved). Instead: 300 diffusion steps (the default is 3000; FID
        # 0.52 / 1.05 on DB1 / Myo against 0.45 / 0.93 after 500 steps) and 10 DDIM steps
        # (2x faster generation, same FID), 32-filter CNNs for 20 epochs, the shared-trunk
        # imitator (4x faster than four per-feature LSTMs; held-out R² about 0.93 against
        # 0.98-1.0, see benchmarks/bench_fin.py) and a half-width FIN head trained for 20 epochs
        # on the frozen imitator (joint fine-tuning runs in the full preset).
        # (batches of 64 at lr 1e-3, the generator's defaults when this preset was measured)
        sasg=dict(n_steps=300, n_sampling_steps=10, batch_size=64, lr=1e-3),
        encoder=dict(max_epochs=30, n_filters=32),
        cnn=dict(max_epochs=20, n_filters=32),
        imitator=dict(max_epochs=4, architecture="shared"),
        fin=dict(max_epochs=20, head_channels=(32, 16, 16), fine_tune=False),
        models=("lda", "cnn", "fin"),
    ),
    "full": dict(
        datasets=("db1", "myo"),
        n_subjects=None,
        seeds=(0, 1, 2),
        sasg=dict(),
        encoder=dict(max_epochs=100),
        cnn=dict(max_epochs=100),
        imitator=dict(max_epochs=30),
        fin=dict(max_epochs=60, fine_tune_epochs=30),
        models=("lda", "cnn", "stc", "tdct", "fin"),
    ),
    # The reference run (issue 12): SASG at its default training budget, 5 subjects x 3 seeds
    # on DB1, Myo and UCI, LDA, the two downstream networks (library defaults, fixed budgets)
    # and FINClassifier. Run it in parts (--datasets, --subject-names) and --merge them;
    # --regime standard gives the SASG-DA paper's regime.
    "standard": dict(
        datasets=("db1", "myo", "uci"),
        n_subjects=5,
        seeds=(0, 1, 2),
        sasg=dict(),
        encoder=dict(),
        cnn=dict(),
        stc=dict(),
        tdct=dict(),
        imitator=dict(),
        fin=dict(),
        models=("lda", "stc", "tdct", "fin"),
    ),
}

SIM_WINDOWS = dict(window_ms=200.0, step_ms=100.0)


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------
def subject_splits(dataset, n_subjects=None, regime="low_data", subject_names=None):
    """Yield ``(subject_name, train_windows, test_windows)`` (``benchmarks/protocols.py``)."""
    if dataset == "sim":
        rec = make_semg_gestures(n_subjects=n_subjects or 2, fs=250.0, random_state=0)
        w = sliding_windows(rec, **SIM_WINDOWS)
        for s in np.unique(w.subject)[:n_subjects]:
            mine = w.subject == s
            yield (
                f"sim{s}",
                select_windows(w, mine & np.isin(w.repetition, [1, 2])),
                select_windows(w, mine & (w.repetition >= 3)),
            )
        return
    names = subject_names or protocols.subject_names(dataset)[:n_subjects]
    for name in names:
        yield (name, *protocols.subject_split(dataset, name, regime))


# ------------------------------------------------------------------------------------------
# methods
# ------------------------------------------------------------------------------------------
def smote_counts(y, ratio=2.0):
    classes, counts = np.unique(y, return_counts=True)
    return {c: int(round((1 + ratio) * n)) for c, n in zip(classes, counts, strict=True)}


def smote_windows(X, y, seed):
    """SMOTE on flattened windows (for the raw-window models); real windows first, unchanged.

    Returns ``(X_res, y_res, parents)``, with :func:`smote_parents` of the synthetic rows.
    """
    k = max(1, min(5, np.unique(y, return_counts=True)[1].min() - 1))
    sm = SMOTE(sampling_strategy=smote_counts(y), k_neighbors=k, random_state=seed)
    Xr, yr = sm.fit_resample(X.reshape(len(X), -1), y)
    Xr = Xr.reshape((-1,) + X.shape[1:]).astype(X.dtype)
    return Xr, yr, smote_parents(X, y, Xr, yr, k)


def smote_parents(X, y, X_res, y_res, k, tolerance=1e-4):
    """The two real windows each SMOTE row interpolates, ``(n_synthetic, 2)``; -1 if unsure.

    SMOTE draws ``x_i + lam * (x_j - x_i)`` with ``j`` among the ``k`` nearest windows of
    ``i`` in its class. imbalanced-learn does not return ``(i, j)``, so each synthetic
    row is matched to the neighbour pair whose segment it lies on (a residual below
    ``tolerance`` of the pair's length); the record then lets a network leave out the
    interpolants of its validation windows, as it does classic's copies.
    """
    from sklearn.neighbors import NearestNeighbors

    n = len(X)
    flat, flat_res = X.reshape(n, -1).astype(np.float64), X_res[n:].reshape(len(X_res) - n, -1)
    parents = np.full((len(flat_res), 2), -1, dtype=np.int64)
    for c in np.unique(y_res[n:]):
        members, rows = np.flatnonzero(y == c), np.flatnonzero(y_res[n:] == c)
        if len(members) < 2 or not len(rows):
            continue
        n_nb = min(len(members), k + 3)  # a few beyond k: neighbour ties may order differently
        nns = NearestNeighbors(n_neighbors=n_nb).fit(flat[members])
        nbrs = nns.kneighbors(flat[members], return_distance=False)[:, 1:]
        i = np.repeat(np.arange(len(members)), nbrs.shape[1])
        j = nbrs.ravel()
        start, step = flat[members][i], flat[members][j] - flat[members][i]
        S = flat_res[rows].astype(np.float64)
        length2 = np.maximum(np.einsum("pd,pd->p", step, step), 1e-300)
        along = (S @ step.T - np.einsum("pd,pd->p", start, step)) / length2
        lam = np.clip(along, 0.0, 1.0)
        offset2 = (S * S).sum(1)[:, None] - 2 * S @ start.T + (start * start).sum(1)
        residual2 = offset2 - 2 * lam * (along * length2) + lam**2 * length2
        best = np.argmin(residual2 / length2, axis=1)
        sure = residual2[np.arange(len(rows)), best] / length2[best] < tolerance**2
        parents[rows[sure]] = np.stack([members[i[best]], members[j[best]]], axis=1)[sure]
    return parents


def augmented_sets(train, seed, cfg, timings, device, sass_filter=None):
    """Return ``{method: (X, y)}`` for the raw-window models of the run's methods
    (:func:`_methods`), the fitted semantic augmenter and SASS's conditions (None and {}
    without a semantic method)."""
    X, y = train.X, train.y
    methods = _methods(cfg)
    sets = {"none": (X, y)}

    if "repeat" in methods:
        t0 = time.perf_counter()
        sets["repeat"] = repeated_windows(X, y)
        timings["repeat"] = time.perf_counter() - t0

    if "classic" in methods:
        t0 = time.perf_counter()
        sets["classic"] = ClassicAugmenter(ratio=2.0, random_state=seed).fit_resample(X, y)
        timings["classic"] = time.perf_counter() - t0

    if "smote" in methods:
        t0 = time.perf_counter()
        X_sm, y_sm, parents = smote_windows(X, y, seed)
        # real rows first, and each interpolant's two real windows: networks validate on
        # real windows only and leave out the interpolants of those, as for classic's copies
        record_provenance(X_sm, len(X), parents)
        sets["smote"] = (X_sm, y_sm)
        timings["smote"] = time.perf_counter() - t0

    if not set(methods) & set(SEMANTIC_METHODS):
        return sets, None, {}
    sets, semantic, conditions = _semantic_sets(
        sets, train, seed, cfg, timings, device, sass_filter
    )
    kept = {m: v for m, v in sets.items() if m in methods}
    for method in set(timings) - set(kept):
        del timings[method]
    return kept, semantic, conditions


def _semantic_sets(sets, train, seed, cfg, timings, device, sass_filter):
    """:func:`augmented_sets`' SASG methods: every one is fitted and drawn (they share one
    diffusion fit, and classic ∘ SASS transforms SASS's windows)."""
    X, y = train.X, train.y

    common = dict(ratio=2.0, random_state=seed, device=device, **cfg["sasg"])
    enc = SemanticEncoder(random_state=seed, device=device, **cfg["encoder"])
    t0 = time.perf_counter()
    sets["sasg_label"] = SASGAugmenter(condition="label", **common).fit_resample(X, y)
    # (fit_resample records which rows are real; the concatenations below do it by hand)
    timings["sasg_label"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    semantic = SASGAugmenter(encoder=enc, condition="semantic", sampling="gmss", **common).fit(X, y)
    fit_time = time.perf_counter() - t0
    counts = semantic.sampling_strategy_
    conditions = {}
    samplers = (("sasg_gmss", "gmss", "gmss"), ("sasg_sass", "sass", SASS(**cfg.get("sass", {}))))
    for method, name, sampling in samplers:
        t0 = time.perf_counter()
        semantic.set_params(sampling=sampling)
        Xs, ys = semantic.generate(counts)
        sets[method] = _with_real_first(X, y, Xs, ys)
        timings[method] = fit_time + time.perf_counter() - t0
        conditions[name] = (semantic.last_conditions_, semantic.last_condition_labels_)
    # classic ∘ SASS: the classic transforms applied to the SASS windows (as ComposedAugmenter)
    t0 = time.perf_counter()
    transforms = ClassicAugmenter(random_state=seed).fit(X, y)
    sets["classic_sass"] = _with_real_first(X, y, transforms.augment(Xs, ys), ys)
    timings["classic_sass"] = timings["sasg_sass"] + time.perf_counter() - t0
    if sass_filter is not None:  # what the confidence filter kept, and what it left missing
        sass_filter["acceptance"] = {
            str(c): _finite_float(v) for c, v in semantic.last_acceptance_.items()
        }
        sass_filter["shortfall"] = {str(c): int(n) for c, n in semantic.last_shortfall_.items()}
        sass_filter["n_synthetic"] = int(len(ys))
        sass_filter["n_requested"] = int(sum(counts.values()))
    return sets, semantic, conditions


def repeated_windows(X, y, copies=3):
    """The real windows ``copies`` times over, the first copy recorded as the real rows.

    The control for training length: as many windows (and, at a fixed number of epochs, as
    many optimiser steps) as a ratio-2 set, with nothing new. Each repeat names its real
    window as its source, so a network that early-stops leaves the copies of its
    validation windows out of training, as it does classic's.

    Examples
    --------
    >>> X, y = np.arange(4.0).reshape(2, 1, 2), np.array([0, 1])
    >>> X_rep, y_rep = repeated_windows(X, y)
    >>> X_rep.shape, y_rep.tolist()
    ((6, 1, 2), [0, 1, 0, 1, 0, 1])
    """
    X_rep = np.concatenate([X] * copies)
    record_provenance(X_rep, len(X), np.tile(np.arange(len(X)), copies - 1))
    return X_rep, np.concatenate([y] * copies)


def _with_real_first(X, y, X_syn, y_syn):
    """Real then synthetic windows, recorded as such for the networks' validation split."""
    X_all = np.concatenate([X, X_syn])
    record_provenance(X_all, len(X))
    return X_all, np.concatenate([y, y_syn])


# ------------------------------------------------------------------------------------------
# downstream models
# ------------------------------------------------------------------------------------------
def lda_accuracy(train_sets, test, fs, seed):
    """LDA on hudgins features; SMOTE here works on the features themselves."""
    feats = EMGFeatures("hudgins", fs=fs).fit(train_sets["none"][0])
    F_test = feats.transform(test.X)
    out = {}
    for method, (X, y) in train_sets.items():
        if method == "smote":
            F_real = feats.transform(train_sets["none"][0])
            y_real = train_sets["none"][1]
            k = max(1, min(5, np.unique(y_real, return_counts=True)[1].min() - 1))
            F, y = SMOTE(
                sampling_strategy=smote_counts(y_real), k_neighbors=k, random_state=seed
            ).fit_resample(F_real, y_real)
        else:
            F = feats.transform(X)
        clf = make_pipeline(LinearDiscriminantAnalysis()).fit(F, y)
        out[method] = float(np.mean(clf.predict(F_test) == test.y))
    return out


def cnn_accuracy(train_sets, test, seed, cfg, device):
    out = {}
    for method, (X, y) in train_sets.items():
        cnn = SemanticEncoder(random_state=seed, device=device, **cfg["cnn"]).fit(X, y)
        out[method] = float(np.mean(cnn.predict(test.X) == test.y))
    return out


def network_accuracy(cls, train_sets, test, seed, cfg, device):
    """A downstream network of :mod:`semgaug_sk.classifiers` per method (fixed budget)."""
    out = {}
    for method, (X, y) in train_sets.items():
        net = cls(random_state=seed, device=device, **cfg).fit(X, y)
        out[method] = float(np.mean(net.predict(test.X) == test.y))
    return out


def fin_accuracy(train_sets, test, seed, cfg, device):
    X_real = train_sets["none"][0]
    imitator = FeatureImitator(random_state=seed, device=device, **cfg["imitator"]).fit(X_real)
    out = {}
    for method, (X, y) in train_sets.items():
        clf = FINClassifier(imitator=imitator, random_state=seed, device=device, **cfg["fin"])
        clf.fit(X, y)
        out[method] = float(np.mean(clf.predict(test.X) == test.y))
    return out


def quality(train, test, train_sets, seed, cfg, device):
    """FID, CAS, rarity and coverage of each synthetic set, in an evaluation encoder's space
    (``{}`` without one: none and repeat add no synthetic window)."""
    if not set(train_sets) - {"none", "repeat"}:
        return {}
    eval_cfg = dict(cfg["encoder"])
    eval_cfg["embedding_dim"] = max(8, eval_cfg.get("embedding_dim", 32) // 2)
    evaluator = SemanticEncoder(random_state=10_000 + seed, device=device, **eval_cfg)
    evaluator.fit(train.X, train.y)
    E_real, E_test = evaluator.transform(train.X), evaluator.transform(test.X)
    n_real = len(train.X)
    out = {}
    for method, (X, y) in train_sets.items():
        if method in ("none", "repeat"):  # no synthetic windows
            continue
        if len(X) - n_real <= 5:  # the metrics need k + 1 = 6 synthetic windows
            out[method] = {"n_synthetic": int(len(X) - n_real)}
            continue
        E_syn = evaluator.transform(X[n_real:])
        res = metrics.evaluate_synthetic(
            E_real, E_syn, y_real=train.y, y_syn=y[n_real:], X_test=E_test, y_test=test.y
        )
        out[method] = {k: _finite_float(v) for k, v in res.items() if np.isscalar(v)}
        out[method]["n_synthetic"] = int(len(X) - n_real)
    return out


def _finite_float(v):
    v = float(v)
    return v if np.isfinite(v) else None


# ------------------------------------------------------------------------------------------
# reporting
# ------------------------------------------------------------------------------------------
def _sd(values):
    """Sample standard deviation (ddof=1); 0 for a single value."""
    values = np.asarray(values, dtype=float)
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _units_by_code(records):
    """``{commit: ["subject/seed", ...]}`` in order of first appearance (``None``: not recorded)."""
    units = {}
    for r in records:
        units.setdefault(r.get("code"), []).append(f"{r['subject']}/{r['seed']}")
    return units


def _count_codes(records):
    """``[(commit, number of units)]`` in order of first appearance (``None``: not recorded)."""
    return [(code, len(units)) for code, units in _units_by_code(records).items()]


def _record_methods(records):
    """The methods every record holds, in METHODS order (earlier runs had fewer methods)."""
    return [
        m
        for m in METHODS
        if all(m in accuracy for r in records for accuracy in r["accuracy"].values())
    ]


def _record_models(records):
    """The downstream models every record holds, in MODELS order."""
    return [m for m in MODELS if all(m in r["accuracy"] for r in records)]


def _mean_seed_sd(per_subject_values):
    """Mean over subjects of the sd over seeds, of subjects run with at least 2 seeds.

    A subject with one seed says nothing about the spread between seeds (its sd is not 0),
    so it is left out; NaN when no subject has 2 seeds.
    """
    sds = [_sd(values) for values in per_subject_values if len(values) > 1]
    return float(np.mean(sds)) if sds else float("nan")


def _single_seed_note(records):
    """``"; S3 has one seed"`` for the subjects left out of the seed sd, else ``""``."""
    seeds = {}
    for r in records:
        seeds.setdefault(r["subject"], set()).add(r["seed"])
    single = sorted(s for s, values in seeds.items() if len(values) < 2)
    if not single:
        return ""
    return f"; {', '.join(single)} {'has' if len(single) == 1 else 'have'} one seed"


def summarise(records):
    """Per method × model: mean ± sd over subjects (of the seed-mean), and the mean sd over seeds."""
    methods = _record_methods(records)
    subjects = sorted({r["subject"] for r in records})
    table = {}
    for method in methods:
        for model in _record_models(records):
            per_subject, per_seed = [], []
            for s in subjects:
                accs = [r["accuracy"][model][method] for r in records if r["subject"] == s]
                per_subject.append(np.mean(accs))
                per_seed.append(accs)
            table[(method, model)] = (
                100 * np.mean(per_subject),
                100 * _sd(per_subject),
                100 * _mean_seed_sd(per_seed),
                [100 * a for a in per_subject],
            )
    return table


def paired_seed_sd(records, model, method, other):
    """Seed sd (points) of the same-seed difference ``method − other``: the bar a gain must clear.

    Examples
    --------
    >>> records = [
    ...     {"subject": "S1", "seed": k, "accuracy": {"lda": {"a": a, "b": b}}}
    ...     for k, (a, b) in enumerate([(0.5, 0.4), (0.6, 0.5)])
    ... ]
    >>> paired_seed_sd(records, "lda", "a", "b")
    0.0
    """
    differences = {}
    for r in records:
        accuracy = r["accuracy"][model]
        differences.setdefault(r["subject"], []).append(accuracy[method] - accuracy[other])
    return 100 * _mean_seed_sd(list(differences.values()))


def _seed_sd_text(value):
    return "—" if not np.isfinite(value) else f"{value:.1f}"


def _code_versions_note(records):
    """A warning paragraph when the units ran on more than one version of the code."""
    versions = _units_by_code(records)
    if len(versions) < 2:
        return []
    listed = "; ".join(f"`{v or 'unrecorded'}`: {', '.join(u)}" for v, u in versions.items())
    return [
        f"**The units ran on {len(versions)} versions of the code** (subject/seed): {listed}. "
        "Library defaults may differ between them; compare within one version.",
        "",
    ]


def write_report(
    dataset,
    preset,
    records,
    wall,
    datasets,
    out_dir,
    settings=None,
    runs=None,
    from_units_log=False,
    notes=None,
):
    """Write ``augmentation_<dataset>.md``/``.json`` and the gain figure; return the Markdown.

    ``notes`` are paragraphs appended to the report (and kept in its JSON, so that
    :func:`rerender` writes them again), e.g. where a joined report's parts came from.

    ``wall`` is the run's wall time (None when rendered from a units log) and ``datasets``
    the data sets its pool covered. ``runs`` lists the invocations behind the records,
    each ``{"wall_seconds", "run_datasets", "units"}`` (``units``: the (subject, seed)
    pairs it computed, absent in reports from before it was recorded); ``wall`` is then
    the total of those with a wall time.
    """
    runs = runs or [{"wall_seconds": wall, "run_datasets": list(datasets)}]
    methods = _record_methods(records)
    table = summarise(records)
    models = _record_models(records)
    subjects = sorted({r["subject"] for r in records})
    seeds = sorted({r["seed"] for r in records})
    lines = [
        f"# Augmentation benchmark: {dataset} ({preset} preset)",
        "",
        f"{len(subjects)} subjects ({', '.join(subjects)}), seeds {seeds}. Accuracy (%) on held-out "
        "repetitions: mean ± sd over subjects of the per-subject mean over seeds; `seed sd` is the mean "
        "over subjects of the sd over seeds (subjects run with at least 2 seeds only"
        + _single_seed_note(records)
        + "). Gain is in points over no augmentation: the mean ± sd of "
        "the paired per-subject differences. Every sd is the sample sd (ddof=1).",
        "",
        *_code_versions_note(records),
        "| method | " + " | ".join(f"{m.upper()} acc | {m.upper()} gain" for m in models) + " |",
        "|---|" + "---|---|" * len(models),
    ]
    for method in methods:
        cells = []
        for model in models:
            mean, sd, seed_sd, per = table[(method, model)]
            base = np.array(table[("none", model)][3])
            gain = np.array(per) - base
            cells.append(f"{mean:.1f} ± {sd:.1f} (seed sd {_seed_sd_text(seed_sd)})")
            cells.append("—" if method == "none" else f"{gain.mean():+.1f} ± {_sd(gain):.1f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")

    lines += _sass_lines(records, table, methods, models)
    lines += _training_length_lines(records, table, methods, models)

    lines += _quality_lines(records, methods)

    lines += ["", "## Wall time per method (s, mean per subject and seed; fit + generation)", ""]
    lines += ["| method | seconds |", "|---|---|"]
    for method in methods[1:]:
        lines.append(f"| {method} | {np.mean([r['time'][method] for r in records]):.1f} |")
    unit_minutes = sum(r["unit_seconds"] for r in records) / 60
    cfg = settings
    if cfg is None:
        cfg = {
            k: v for k, v in PRESETS[preset].items() if k not in ("datasets", "n_subjects", "seeds")
        }
    lines += [
        "",
        *(
            [
                "The semantic GMSS and SASS rows share one diffusion fit; each row's time includes it."
            ]
            if "sasg_gmss" in methods
            else []
        ),
        _wall_text(wall, runs, records, unit_minutes) + f"this dataset's {len(records)} units took "
        f"{unit_minutes:.1f} worker-minutes.",
        "",
        "Units by commit: "
        + ", ".join(f"{code or 'unknown'} ({n})" for code, n in _count_codes(records))
        + ".",
        "",
        f"Preset `{preset}` settings: `{json.dumps(cfg)}`.",
    ]
    for note in notes or ():
        lines += ["", note]
    md = "\n".join(lines) + "\n"
    (out_dir / f"augmentation_{dataset}.md").write_text(md)
    (out_dir / f"augmentation_{dataset}.json").write_text(
        json.dumps(
            {
                "dataset": dataset,
                "preset": preset,
                "wall_seconds": wall,
                "from_units_log": from_units_log,
                "run_datasets": list(datasets),
                "runs": runs,
                "settings": cfg,
                **({"notes": list(notes)} if notes else {}),
                "records": records,
                "summary": {
                    f"{meth}/{model}": {"mean": v[0], "sd": v[1], "seed_sd": _finite_float(v[2])}
                    for (meth, model), v in table.items()
                },
            },
            indent=1,
        )
    )
    gains = {
        meth: {model: table[(meth, model)][0] - table[("none", model)][0] for model in models}
        for meth in methods[1:]
    }
    errs = {
        meth: {
            model: float(
                _sd(np.array(table[(meth, model)][3]) - np.array(table[("none", model)][3]))
            )
            for model in models
        }
        for meth in methods[1:]
    }
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)  # a report rendered from a units log alone
    plot_gain_bars(
        gains,
        errs,
        title=f"{dataset}: gain over no augmentation (± sd over subjects)",
        path=fig_dir / f"augmentation_gain_{dataset}.png",
    )
    return md


def _quality_lines(records, methods):
    """The report's section on the synthetic windows' quality (none without a method that
    makes synthetic windows)."""
    synthetic = [m for m in methods if m not in ("none", "repeat")]
    if not synthetic:
        return []
    keys = ("fid", "cas", "rarity", "rarity_outside", "coverage", "avg_knn")
    present = [k for k in keys if any(k in q for r in records for q in r["quality"].values())]
    lines = [
        "",
        "## Synthetic-data quality (evaluation encoder, mean over subjects and seeds)",
        "",
        "| method | " + " | ".join(present) + " |",
        "|---|" + "---|" * len(present),
    ]
    for method in synthetic:
        vals = []
        for k in present:
            xs = [r["quality"][method].get(k) for r in records if method in r["quality"]]
            xs = [x for x in xs if x is not None]
            vals.append(f"{np.mean(xs):.3g}" if xs else "n/a")
        lines.append(f"| {method} | " + " | ".join(vals) + " |")
    return lines


def _sass_lines(records, table, methods, models):
    """The report's section on SASS against the other methods (none without SASS)."""
    if not {"sasg_sass", "sasg_gmss", "classic", "smote"} <= set(methods):
        return []
    lines = [
        "",
        "## SASS against the alternatives (points: mean ± sd of per-subject differences)",
        "",
        "The best of classic/SMOTE is chosen per model, in hindsight, by its mean test accuracy: "
        "the strictest baseline. `SASS seed sd` is the spread between seeds of SASS's accuracy; "
        "`seed sd of SASS − none` that of the same-seed difference, the bar for a gain: a "
        "difference inside it is no finding.",
        "",
        "| model | SASS − none | SASS − best of classic/SMOTE | SASS − GMSS | SASS seed sd | "
        "seed sd of SASS − none |" + (" SASS − repeat |" if "repeat" in methods else ""),
        "|---|---|---|---|---|---|" + ("---|" if "repeat" in methods else ""),
    ]
    for model in models:
        per = {meth: np.array(table[(meth, model)][3]) for meth in methods}
        best = max(("classic", "smote"), key=lambda meth: table[(meth, model)][0])
        cells = [
            f"{(per['sasg_sass'] - per[other]).mean():+.1f} ± {_sd(per['sasg_sass'] - per[other]):.1f}"
            for other in ("none", best, "sasg_gmss")
        ]
        cells[1] += f" ({best})"
        seed_sd = _seed_sd_text(table[("sasg_sass", model)][2])
        paired = _seed_sd_text(paired_seed_sd(records, model, "sasg_sass", "none"))
        row = f"| {model} | " + " | ".join(cells) + f" | {seed_sd} | {paired} |"
        if "repeat" in methods:
            gain = per["sasg_sass"] - per["repeat"]
            row += f" {gain.mean():+.1f} ± {_sd(gain):.1f} |"
        lines.append(row)
    return lines


def _training_length_lines(records, table, methods, models):
    """The report's section on each method against ``repeat`` (none without it)."""
    if "repeat" not in methods:
        return []
    lines = [
        "",
        "## Against the training-length control (points: mean ± sd of per-subject differences)",
        "",
        "`repeat` trains on the real windows three times over: a ratio-2 set's size and, for "
        "a network trained a fixed number of epochs, its optimiser steps, with nothing new "
        "(under a floor in steps, `min_steps`, both sets of a small subject train about the "
        "floor: see the settings below). A method's gain over `repeat` is what its windows add "
        "beyond training length; in brackets the seed sd of the same-seed difference, the bar "
        "for a finding.",
        "",
        "| method | " + " | ".join(m.upper() for m in models) + " |",
        "|---|" + "---|" * len(models),
    ]
    for method in (m for m in methods if m not in ("none", "repeat")):
        cells = []
        for model in models:
            diff = np.array(table[(method, model)][3]) - np.array(table[("repeat", model)][3])
            seed_sd = _seed_sd_text(paired_seed_sd(records, model, method, "repeat"))
            cells.append(f"{diff.mean():+.1f} ± {_sd(diff):.1f} ({seed_sd})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def figures(dataset, train, sets, semantic, conditions, fs, fig_dir):
    n = len(train.X)
    Xs, ys = sets["sasg_sass"][0][n:], sets["sasg_sass"][1][n:]
    if len(Xs):  # a filter that kept no window leaves nothing to draw, not a failed run
        plot_real_vs_synthetic(
            train.X, train.y, Xs, ys, fs=fs, path=fig_dir / f"real_vs_synthetic_{dataset}.png"
        )
    E_real = semantic.encoder_.transform(train.X)
    parts = [(E_real, train.y, "real")]
    for sampling, (C, yc) in conditions.items():
        parts.append((C, yc, sampling.upper()))
    plot_embedding_map(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([np.asarray(p[1]) for p in parts]),
        np.concatenate([np.full(len(p[0]), p[2]) for p in parts]),
        path=fig_dir / f"embedding_map_{dataset}.png",
        title=f"{dataset}: guiding-encoder embeddings and sampled conditions",
    )


# ------------------------------------------------------------------------------------------
def run_unit(dataset, subject, train, test, seed, cfg, device, fig_dir=None, fig_name=None):
    """One subject and seed: every method × model, the quality metrics and the timings.

    With ``fig_dir``, the example figures are written there under ``fig_name`` (by default
    the dataset's name; ``db1_standard`` for the paper's regime, so that they do not
    overwrite the low-data ones).
    """
    import torch

    torch.set_num_threads(1)  # one thread per worker process: the workers share the cores
    t0 = time.perf_counter()
    timings, sass_filter = {}, {}
    sets, semantic, conditions = augmented_sets(train, seed, cfg, timings, device, sass_filter)
    compute = {
        "lda": lambda: lda_accuracy(sets, test, train.fs, seed),
        "cnn": lambda: cnn_accuracy(sets, test, seed, cfg, device),
        "stc": lambda: network_accuracy(
            SpatioTemporalClassifier, sets, test, seed, cfg.get("stc", {}), device
        ),
        "tdct": lambda: network_accuracy(
            ConvTransformerClassifier, sets, test, seed, cfg.get("tdct", {}), device
        ),
        "fin": lambda: fin_accuracy(sets, test, seed, cfg, device),
    }
    acc = {model: compute[model]() for model in _models(cfg)}
    qual = quality(train, test, sets, seed, cfg, device)
    if fig_dir is not None and "sasg_sass" in sets:
        figures(fig_name or dataset, train, sets, semantic, conditions, train.fs, fig_dir)
    record = dict(
        subject=subject,
        seed=int(seed),
        n_train=int(len(train.X)),
        n_test=int(len(test.X)),
        accuracy=acc,
        quality=qual,
        time=timings,
        sass_filter=sass_filter,
        unit_seconds=time.perf_counter() - t0,
    )
    print(
        f"[{dataset}] {subject} seed {seed}: "
        + ", ".join(f"{m}: " + "/".join(f"{100 * acc[mod][m]:.0f}" for mod in acc) for m in sets)
        + f"  ({record['unit_seconds']:.0f} s)",
        flush=True,
    )
    return record


def run(
    preset="quick",
    datasets=None,
    n_subjects=None,
    seeds=None,
    out_dir="results",
    device="cpu",
    n_jobs=2,
    regime="low_data",
    subject_names=None,
    merge=False,
    models=None,
    resume=False,
    methods=None,
    network_params=None,
):
    """Run the benchmark; return ``{report name: markdown report}``.

    ``methods`` (default all of :data:`METHODS`) restricts the augmentation methods, e.g.
    to none, repeat, classic and smote, which need no diffusion fit.

    ``network_params`` (``{"stc": {"min_steps": 2000}}``) changes the downstream networks'
    parameters from the library's defaults (a candidate default, measured beside the
    benchmark's records); its units are logged and resumed apart from the others.

    Reports are named by the dataset (``augmentation_db1.md``), with the regime appended
    outside the low-data regime (``augmentation_db1_standard.md``). With ``merge=True``
    the records of an earlier run in the same files (same preset) are kept, and those of
    this run added or replaced by (subject, seed): parts run separately (other
    ``datasets`` or ``subject_names``) then make one report.

    Each (subject, seed) unit is appended to ``augmentation_<name>.units.jsonl`` as soon as
    it finishes, with the preset, the models and the commit that ran it. With
    ``resume=True`` the units already there for the same preset and models are not run
    again but read back (an interrupted run continues where it stopped; the report lists
    the commits its units come from).

    Subjects x seeds x datasets are independent units, run in one pool of
    ``n_jobs`` joblib worker processes with one torch thread each (on small
    models two single-threaded workers beat one two-threaded process by a wide
    margin). The largest units start first, so that no worker idles at the end
    while another finishes a long one.
    """
    from joblib import Parallel, delayed

    cfg = PRESETS[preset]
    if models:
        cfg = dict(cfg, models=tuple(models))
    if methods:
        unknown = sorted(set(methods) - set(METHODS))
        if unknown or "none" not in methods or len(set(methods)) < 2:
            raise ValueError(
                f"methods must name some of {list(METHODS)}, none among them (the reference of "
                f"every gain) and at least one other; got {list(methods)}."
            )
        cfg = dict(cfg, methods=tuple(m for m in METHODS if m in methods))
    networks = network_settings(network_params, cfg, _models(cfg))
    # the report names every tracked value off its legacy default, given or the library's
    shown = _off_legacy(networks)
    for params in (shown, network_params or {}):
        cfg = dict(cfg, **{m: {**cfg.get(m, {}), **p} for m, p in params.items()})
    datasets = datasets or cfg["datasets"]
    n_subjects = n_subjects or cfg["n_subjects"]
    seeds = seeds or cfg["seeds"]
    out_dir = Path(out_dir)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    units = []

    def report_name(dataset):
        return dataset if regime == "low_data" else f"{dataset}_{regime}"

    code = protocols.code_version()
    stamp = dict(preset=preset, models=list(_models(cfg)))
    if "methods" in cfg:  # the units of a run restricted to some methods are its own
        stamp["methods"] = list(cfg["methods"])
    if network_params:  # so are those of networks off their defaults
        stamp["network_params"] = json.loads(json.dumps(network_params))
    stamp["networks"] = networks  # and those run with other values of a changed default
    unit_logs = {d: out_dir / f"augmentation_{report_name(d)}.units.jsonl" for d in datasets}
    records = {
        d: (_resumed(unit_logs[d], stamp, _methods(cfg)) if resume else {}) for d in datasets
    }
    if resume:
        for d in datasets:
            stale = len(_resumed(unit_logs[d], stamp)) - len(records[d])
            if stale:
                print(
                    f"--resume: {stale} {d} unit(s) in {unit_logs[d]} lack some of the methods "
                    f"{list(_methods(cfg))} (logged by older code) and run again"
                )
    for dataset in datasets:
        splits = subject_splits(dataset, n_subjects, regime, subject_names)
        for k, (subject, train, test) in enumerate(splits):
            for seed in seeds:
                if (subject, int(seed)) in records[dataset]:
                    continue
                figs = fig_dir if (k == 0 and seed == seeds[0]) else None
                units.append((dataset, subject, train, test, seed, figs))
    units.sort(key=lambda unit: -unit[2].X.size)
    # max_nbytes=None: workers get private, writable copies (no read-only memmaps);
    # unordered results: each unit is logged as soon as it finishes
    finished = Parallel(n_jobs=n_jobs, max_nbytes=None, return_as="generator_unordered")(
        delayed(_dataset_and_record)(
            dataset, subject, train, test, seed, cfg, device, figs, report_name(dataset)
        )
        for dataset, subject, train, test, seed, figs in units
    )
    for dataset, record in finished:
        record["code"] = code
        records[dataset][(record["subject"], record["seed"])] = record
        with unit_logs[dataset].open("a") as fh:
            fh.write(json.dumps(dict(stamp, record=record)) + "\n")
    wall = time.perf_counter() - t_start
    reports = {}
    for dataset in datasets:
        name = report_name(dataset)
        done = list(records[dataset].values())
        ran_here = sorted(
            [subject, int(seed)] for d, subject, _, _, seed, _ in units if d == dataset
        )
        workers = n_jobs if n_jobs > 0 else os.cpu_count()  # joblib: -1 is every core
        runs = [
            {
                "wall_seconds": wall,
                "run_datasets": list(datasets),
                "units": ran_here,
                "n_jobs": workers,
            }
        ]
        settings = {k: v for k, v in cfg.items() if k not in ("datasets", "n_subjects", "seeds")}
        if merge:
            done, runs = _merged(
                out_dir / f"augmentation_{name}.json", preset, done, runs[0], settings
            )
        done.sort(key=lambda r: (r["subject"], r["seed"]))
        total = _total_wall(runs)
        reports[name] = write_report(
            name, preset, done, total, datasets, out_dir, settings, runs=runs
        )
        print(reports[name])
    return reports


def _wall_text(wall, runs, records, unit_minutes):
    """The report's sentence on wall time, for one run or the parts of a merged report.

    Units that no listed invocation computed (read back by ``--resume`` from an
    interrupted one) ran in time that is not recorded, so the total is then a lower
    bound, and is said to be.
    """
    machine = f"on {os.cpu_count()} CPU cores ({platform.machine()})"
    known = [r for r in runs if r["wall_seconds"] is not None]
    if not known:
        return "Rendered from the units log of an unfinished run (no wall time); "
    untimed = len(runs) - len(known)
    gaps = []
    if all("units" in r for r in runs):
        covered = {tuple(u) for r in runs for u in r["units"]}
        resumed = sum((r["subject"], r["seed"]) not in covered for r in records)
    else:  # from before invocations listed their units: judge by what the workers could do
        resumed = 0
        # runs that predate the record ran with the default 2 workers
        workers = max(r.get("n_jobs", 2) for r in runs)
        if unit_minutes > wall / 60 * workers * 1.05:
            gaps.append(
                f"the units took more worker-minutes than {workers} workers give in that "
                "time: some ran in an earlier invocation whose time was not recorded, before "
                "--resume and --merge listed their parts"
            )
    if untimed:
        gaps.append(f"{untimed} part(s) rendered from a units log, without a wall time")
    if resumed:
        gaps.append(
            f"{resumed} unit(s) read back by --resume from an interrupted invocation, whose "
            "time is not recorded"
        )
    if len(runs) == 1:
        text = (
            f"Total wall time of the run ({' + '.join(runs[0]['run_datasets'])}, one pool of "
            f"worker processes): {wall / 60:.1f} min {machine}"
        )
    else:
        parts = "; ".join(
            f"{' + '.join(r['run_datasets'])}, "
            + ("no wall time" if r["wall_seconds"] is None else f"{r['wall_seconds'] / 60:.1f} min")
            for r in runs
        )
        text = (
            f"Total wall time of the {len(runs)} runs merged here (each one pool of worker "
            f"processes: {parts}): {wall / 60:.1f} min {machine}"
        )
    if gaps:
        text += f", a lower bound ({'; '.join(gaps)})"
    return text + "; "


def _dataset_and_record(dataset, *args):
    return dataset, run_unit(dataset, *args)


def _resumed(path, stamp, methods=None):
    """``{(subject, seed): record}`` of the units logged in ``path`` under ``stamp``.

    With ``methods``, a unit logged before one of them existed (a full run's units from
    before ``repeat``) is not read back, so that ``--resume`` runs it again instead of
    leaving that method out of the whole report.
    """
    return {
        (u["record"]["subject"], u["record"]["seed"]): u["record"]
        for u in protocols.read_jsonl(path)
        if u["preset"] == stamp["preset"]
        and u["models"] == stamp["models"]
        and u.get("methods") == stamp.get("methods")
        and _networks_of(u) == _networks_of(stamp)
        and (methods is None or _holds_methods(u["record"], methods))
    }


def _holds_methods(record, methods):
    return all(m in accuracy for accuracy in record["accuracy"].values() for m in methods)


def _merged(path, preset, records, run, settings=None):
    """Earlier records of ``path`` (same preset) updated with ``records`` by (subject, seed).

    Parts run with other settings (``--models``, or a changed preset) are refused: a
    model only some parts ran would vanish from the merged tables, and the report
    records one set of settings.

    Returns ``(records, runs)``: the merged records, and the invocations behind them,
    the earlier report's followed by ``run`` (``{"wall_seconds", "run_datasets",
    "units"}``), so the merged report counts the wall time of every part. An earlier
    invocation whose units were all replaced by this run's no longer counts.
    """
    if not path.is_file():
        return records, [run]
    saved = json.loads(path.read_text())
    if saved.get("preset") != preset:
        raise ValueError(
            f"--merge: {path} holds the {saved.get('preset')!r} preset, not {preset!r}; "
            "merge only parts of the same preset (or move the file away)."
        )
    theirs, ours = saved.get("settings"), json.loads(json.dumps(settings))
    if settings is not None and theirs is not None and theirs != ours:
        differ = sorted(k for k in {*theirs, *ours} if theirs.get(k) != ours.get(k))
        raise ValueError(
            f"--merge: {path} was run with other settings ({', '.join(differ)} differ: "
            f"{ {k: theirs.get(k) for k in differ} } there, { {k: ours.get(k) for k in differ} } "
            "now); merge only parts run with the same options (or move the file away)."
        )
    models_there = {m for r in saved["records"] for m in r.get("accuracy", {})}
    models_here = {m for r in records for m in r.get("accuracy", {})}
    if saved["records"] and records and models_there != models_here:
        raise ValueError(
            f"--merge: {path} holds the models {sorted(models_there)} and this run "
            f"{sorted(models_here)}; merge only parts run with the same --models."
        )
    merged = {(r["subject"], r["seed"]): r for r in saved["records"]}
    # what this run computed (not what --resume read back, which earlier parts computed)
    replaced = (
        {tuple(u) for u in run["units"]}
        if "units" in run
        else {(r["subject"], r["seed"]) for r in records}
    )
    merged.update({(r["subject"], r["seed"]): r for r in records})
    earlier = saved.get("runs") or [  # reports from before parts were recorded
        {"wall_seconds": saved["wall_seconds"], "run_datasets": saved.get("run_datasets", [])}
    ]
    kept = []
    for part in earlier:
        if "units" not in part:  # unknown units: it counts until every earlier one is replaced
            if not {(r["subject"], r["seed"]) for r in saved["records"]} <= replaced:
                kept.append(part)
            continue
        left = [u for u in part["units"] if tuple(u) not in replaced]
        if left or not part["units"]:
            kept.append(dict(part, units=left))
    return list(merged.values()), [*kept, run]


def _total_wall(runs):
    """The summed wall time of the ``runs`` that have one (None if none has)."""
    walls = [r["wall_seconds"] for r in runs if r["wall_seconds"] is not None]
    return float(sum(walls)) if walls else None


def rerender(datasets, out_dir="results"):
    """Rewrite the Markdown reports and gain figures from saved JSON records (no training).

    Use it after changing how results are summarised: the numbers come from the
    ``records`` of ``<out_dir>/augmentation_<dataset>.json``. A run interrupted before it
    wrote that file is rendered from its units log (``augmentation_<dataset>.units.jsonl``:
    the units of the preset and models of the last unit logged), without a wall time; so
    is one whose JSON was itself rendered from the log, which may have grown since.
    """
    out_dir = Path(out_dir)
    reports = {}
    for dataset in datasets:
        path = out_dir / f"augmentation_{dataset}.json"
        saved = json.loads(path.read_text()) if path.is_file() else None
        if saved is None or _rendered_from_log(saved):
            reports[dataset] = _render_units_log(dataset, out_dir, path)
            continue
        reports[dataset] = write_report(
            dataset,
            saved["preset"],
            saved["records"],
            saved["wall_seconds"],
            saved.get("run_datasets", [dataset]),
            out_dir,
            settings=saved.get("settings"),
            runs=saved.get("runs"),
            notes=saved.get("notes"),
        )
    return reports


def _rendered_from_log(saved):
    """Whether a saved report was itself rendered from a units log (marked so, or from
    before the mark: without a wall time)."""
    return saved.get("from_units_log", saved["wall_seconds"] is None)


def report_settings(stamp):
    """The settings a report names for units logged under ``stamp``: the preset's, the
    models, the methods (when restricted) and the network parameters off their legacy
    defaults or given by ``--network-param``."""
    settings = {
        k: v
        for k, v in PRESETS[stamp["preset"]].items()
        if k not in ("datasets", "n_subjects", "seeds")
    }
    settings["models"] = stamp["models"]
    if stamp.get("methods") is not None:
        settings["methods"] = stamp["methods"]
    for params in (_off_legacy(_networks_of(stamp)), stamp.get("network_params") or {}):
        for model, values in params.items():
            settings[model] = {**settings.get(model, {}), **values}
    return settings


def _render_units_log(dataset, out_dir, json_path):
    log = out_dir / f"augmentation_{dataset}.units.jsonl"
    logged = protocols.read_jsonl(log)
    if not logged:
        raise FileNotFoundError(
            f"{json_path} does not exist and {log} holds no unit; run the benchmark first "
            "(without --rerender)."
        )
    stamp = {key: logged[-1].get(key) for key in ("preset", "models", "methods", "network_params")}
    stamp["networks"] = _networks_of(logged[-1])
    records = sorted(_resumed(log, stamp).values(), key=lambda r: (r["subject"], r["seed"]))
    settings = report_settings(stamp)
    return write_report(
        dataset, stamp["preset"], records, None, [dataset], out_dir, settings, from_units_log=True
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    parser.add_argument("--datasets", nargs="+", choices=("db1", "myo", "uci", "sim"), default=None)
    parser.add_argument("--subjects", type=int, default=None, help="first N subjects per dataset")
    parser.add_argument(
        "--subject-names", nargs="+", default=None, help="these subjects (e.g. S1 S2, Male0)"
    )
    parser.add_argument("--regime", choices=protocols.REGIMES, default="low_data")
    parser.add_argument(
        "--merge", action="store_true", help="add to the records already in --out (same preset)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip the units already logged in --out (same preset and models) and read them back",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument(
        "--models", nargs="+", choices=MODELS, default=None, help="downstream models (preset's)"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=None,
        help="augmentation methods (all by default; include none)",
    )
    parser.add_argument(
        "--network-param",
        action="append",
        metavar="MODEL:KEY=VALUE",
        help="change a downstream network's parameter from the library's default, e.g. "
        "stc:min_steps=2000 (repeatable; its units are kept apart from the defaults')",
    )
    parser.add_argument("--out", default="results")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--rerender",
        action="store_true",
        help="only rewrite the reports from the saved JSON records in --out (no training)",
    )
    args = parser.parse_args(argv)
    if args.rerender:
        datasets = args.datasets or PRESETS[args.preset]["datasets"]
        if args.regime != "low_data":  # the paper regime's reports carry its name
            datasets = [f"{d}_{args.regime}" for d in datasets]
        for md in rerender(datasets, args.out).values():
            print(md)
        return 0
    run(
        args.preset,
        args.datasets,
        args.subjects,
        args.seeds,
        args.out,
        args.device,
        args.n_jobs,
        regime=args.regime,
        subject_names=args.subject_names,
        merge=args.merge,
        models=args.models,
        resume=args.resume,
        methods=args.methods,
        network_params=parse_network_params(args.network_param),
    )
    return 0


#: The downstream networks a ``--network-param`` may change.
NETWORK_CLASSES = {"stc": SpatioTemporalClassifier, "tdct": ConvTransformerClassifier}

#: Network parameters whose library default changed: every unit records the value it ran
#: with (``networks``), and these are the values of the units logged before that record
#: existed, so that ``--resume`` never mixes units run at two defaults. STC's
#: ``min_steps`` was None until the step-floor rule's 4000 became its default.
LEGACY_NETWORK_DEFAULTS = {"stc": {"min_steps": None}, "tdct": {"min_steps": None}}


def network_settings(network_params=None, preset=None, models=None):
    """``{model: {parameter: value}}``: the tracked parameters of
    :data:`LEGACY_NETWORK_DEFAULTS` of the run's ``models`` (all when None) at the
    library's current defaults or the ``preset``'s values (its ``cfg``), updated with
    ``network_params`` (``--network-param``)."""
    networks = {
        model: {
            key: (preset or {}).get(model, {}).get(key, NETWORK_CLASSES[model]().get_params()[key])
            for key in legacy
        }
        for model, legacy in LEGACY_NETWORK_DEFAULTS.items()
        if models is None or model in models
    }
    return _with_params(networks, network_params)


def _networks_of(unit):
    """The tracked network parameters a logged unit (or a run's stamp) ran with."""
    if "networks" in unit:
        return unit["networks"]
    models = unit.get("models")
    networks = {
        model: dict(legacy)
        for model, legacy in LEGACY_NETWORK_DEFAULTS.items()
        if models is None or model in models
    }
    return _with_params(networks, unit.get("network_params"))


def _with_params(networks, network_params):
    """``networks`` updated with ``network_params``, as plain JSON values."""
    for model, params in (network_params or {}).items():
        networks[model] = {**networks.get(model, {}), **params}
    return json.loads(json.dumps(networks))


def _off_legacy(networks):
    """The values of ``networks`` that differ from :data:`LEGACY_NETWORK_DEFAULTS`."""
    shown = {}
    for model, params in networks.items():
        legacy = LEGACY_NETWORK_DEFAULTS.get(model, {})
        changed = {k: v for k, v in params.items() if k not in legacy or legacy[k] != v}
        if changed:
            shown[model] = changed
    return shown


def parse_network_params(items):
    """``["stc:min_steps=2000"]`` -> ``{"stc": {"min_steps": 2000}}`` (values as Python
    literals, names checked against the network's parameters)."""
    params = {}
    for item in items or ():
        model, _, setting = item.partition(":")
        key, equals, value = setting.partition("=")
        if model not in NETWORK_CLASSES or not equals:
            raise SystemExit(
                f"--network-param {item!r}: write MODEL:KEY=VALUE with MODEL one of "
                f"{sorted(NETWORK_CLASSES)}, e.g. stc:min_steps=2000"
            )
        if key not in NETWORK_CLASSES[model]().get_params():
            raise SystemExit(
                f"--network-param {item!r}: {NETWORK_CLASSES[model].__name__} has no parameter "
                f"{key!r}"
            )
        try:
            params.setdefault(model, {})[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params.setdefault(model, {})[key] = value  # a bare string
    return params or None


if __name__ == "__main__":
    sys.exit(main())
