"""Does a population prior help a new user? Leave-one-subject-out on the shared sEMG data.

For each target subject the prior (:class:`~semgaug_sk.augmentation.PopulationPrior`) is
pretrained on *other* people's windows only:

- DB1: the other subjects of the shared data (every repetition: they are other people);
- Myo: the pre-training set (duplicate recordings dropped by the loader); the targets
  are the evaluation-set subjects;
- UCI: the other subjects of the shared data (both series: they are other people).

Each pool subject contributes at most ``--pool-windows`` windows (stratified by class),
which bounds the pretraining cost. The target trains on the low-data regime of
DESIGN.md (``--regime low_data``) or on its first training repetition only
(``--regime one_rep``), and is tested on its held-out repetitions. On Myo the two regimes
are the same windows: cycle 0 of ``training0`` holds one repetition of each gesture.

Methods (training set of the downstream model):

- ``none``: the target's windows;
- ``classic``: + classic augmentation;
- ``pooled``: + the pool's windows, each subject rescaled to the target's per-channel RMS;
- ``pooled_matched``: + as many of those rescaled pool windows per class as SASS adds
  (``SASGAugmenter``'s default ``ratio``), drawn at random per seed: other people's real
  windows in SASS's place, where ``pooled`` outnumbers a DB1 target 18:1 (two
  repetitions) to 37:1 (one);
- ``scratch``: no augmentation; the network is ``SemanticEncoder`` trained from scratch on
  the target, whatever ``--models`` says: the control for ``tl`` (same network, no prior);
- ``tl``: no augmentation; the network is the prior's encoder fine-tuned on the target
  (``SemanticEncoder(prior=)``), whatever ``--models`` says;
- ``sass_subject``: + SASS windows of a generator trained on the target alone;
- ``sass_prior``: + SASS windows of the prior adapted to the target
  (``SASGAugmenter(prior=)``);
- ``tl_sass_prior``: the fine-tuned prior encoder trained on the ``sass_prior`` set;
- ``tl_pooled_matched``: the fine-tuned prior encoder trained on the ``pooled_matched`` set.

Downstream models: ``lda`` (Hudgins features) and ``stc``
(:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier`). Units go to
``results/population.jsonl`` as they finish (a rerun skips them); the report
``results/population.md`` gives mean ± sd over subjects of the per-subject mean over
seeds, and the paired gain over ``none``, over ``scratch`` (what the prior adds to the
same network) and over ``tl``, each with its seed sd (the sd over seeds of the same-seed
difference, averaged over subjects).

Usage::

    python benchmarks/population.py --dataset db1 --targets 5 --seeds 0 1 2
    python benchmarks/population.py --rerender
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocols import (  # noqa: E402
    SHARED,
    WINDOWS,
    code_version,
    read_jsonl,
    subject_names,
    subject_split,
)

from semgaug_sk.augmentation import (  # noqa: E402
    ClassicAugmenter,
    DiffusionGenerator,
    PopulationPrior,
    SASGAugmenter,
    n_synthetic_per_class,
)
from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402
from semgaug_sk.datasets import load_myo_armband, load_ninapro, load_uci_gestures  # noqa: E402
from semgaug_sk.encoders import SemanticEncoder  # noqa: E402
from semgaug_sk.features import EMGFeatures  # noqa: E402
from semgaug_sk.model_selection import select_windows  # noqa: E402
from semgaug_sk.nn.encoder import POOLINGS  # noqa: E402
from semgaug_sk.persistence import load_weights, save_weights  # noqa: E402
from semgaug_sk.preprocessing import channel_rms  # noqa: E402
from semgaug_sk.windows import sliding_windows  # noqa: E402

METHODS = (
    "none",
    "classic",
    "pooled",
    "pooled_matched",
    "scratch",
    "tl",
    "sass_subject",
    "sass_prior",
    "tl_sass_prior",
    "tl_pooled_matched",
)
#: SASS's windows per real window: 0.5, the library default when results/population* were
#: made (the default is the paper's 2 since), pinned so that their commands still reproduce.
RATIO = 0.5
#: How many windows ``pooled_matched`` adds per real window: as many as SASS does.
MATCHED_RATIO = RATIO
#: SemanticEncoder overrides for every encoder of the run (prior, scratch, SASS's guide):
#: empty is the library's defaults; ``--encoder-pooling`` sets the pooling.
ENCODER: dict = {}
MODELS = {
    "lda": lambda seed: make_pipeline(EMGFeatures("hudgins"), LinearDiscriminantAnalysis()),
    # STC as the population tables were measured: before its 4000-step floor (min_steps)
    # became the default
    "stc": lambda seed: SpatioTemporalClassifier(random_state=seed, min_steps=None),
    # STC at the library's default, the 4000-step floor
    "stc_floor": lambda seed: SpatioTemporalClassifier(random_state=seed),
}


def pool_windows(dataset, target, max_per_subject, seed, with_repetitions=False):
    """``(X, y, groups)`` of other people's windows, at most ``max_per_subject`` each.

    ``with_repetitions=True`` appends each window's repetition (cycle, on Myo).
    """
    rng = np.random.default_rng(seed)
    if dataset == "db1":
        names = [s for s in subject_names("db1") if s != target]
        rec = load_ninapro(
            SHARED / "ninapro_db1_e1", subjects=[int(s[1:]) for s in names], fs=100.0
        )
        w = sliding_windows(rec, **WINDOWS["db1"])
        keep = w.repetition > 0
    elif dataset == "myo":
        rec = load_myo_armband(SHARED / "myo_armband_cote_allard", dataset="pretraining")
        w = sliding_windows(rec, **WINDOWS["myo"])
        keep = np.ones(len(w.y), dtype=bool)
    elif dataset == "uci":
        names = [s for s in subject_names("uci") if s != target]
        rec = load_uci_gestures(SHARED / "uci_emg_gestures", subjects=[int(s) for s in names])
        w = sliding_windows(rec, **WINDOWS["uci"])
        keep = w.repetition > 0
    else:
        raise ValueError(f"population.py covers db1, myo and uci; got {dataset!r}")
    w = select_windows(w, keep)
    groups = np.asarray(w.subject)
    chosen = []
    for g in np.unique(groups):
        for c in np.unique(w.y):
            rows = np.flatnonzero((groups == g) & (w.y == c))
            n = min(len(rows), max(1, max_per_subject // len(np.unique(w.y))))
            chosen.append(rng.choice(rows, n, replace=False))
    rows = np.sort(np.concatenate(chosen))
    if with_repetitions:
        return w.X[rows], w.y[rows], groups[rows], np.asarray(w.repetition)[rows]
    return w.X[rows], w.y[rows], groups[rows]


def target_split(dataset, subject, regime):
    train, test = subject_split(dataset, subject, "low_data")
    if regime == "one_rep":
        first = np.unique(train.repetition)[0]
        train = select_windows(train, train.repetition == first)
    return train, test


def build_prior(X, y, groups, seed, prior_steps):
    return PopulationPrior(
        encoder=SemanticEncoder(**ENCODER) if ENCODER else None,
        generator=DiffusionGenerator(n_steps=prior_steps),
        random_state=seed,
    ).fit(X, y, groups=groups)


def check_cached_prior(prior, args, cache):
    """Refuse a cached prior trained with other run settings (``--prior-steps``, encoder)."""
    want = {"generator__n_steps": args.prior_steps}
    want.update({f"encoder__{k}": v for k, v in ENCODER.items()})
    got = prior.get_params(deep=True)
    differ = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    if differ:
        raise SystemExit(
            f"{cache} was trained with other settings (parameter: (cached, this run)): {differ}. "
            "Use another --prior-cache."
        )
    return prior


def cached_prior(args, subject, pretrain):
    """The prior for ``subject``: read from ``--prior-cache``, or ``pretrain()`` (and saved).

    Myo's prior is every target's: one file. Elsewhere the prior leaves the target out, so
    each target has its own file, named after the cache with the subject appended.
    ``pretrain`` is only called on a cache miss, so the pool need not be loaded before.
    """
    cache = args.prior_cache
    if cache is not None and args.dataset != "myo":
        cache = cache.with_name(f"{cache.stem}_{subject}{cache.suffix}")
    if cache is not None and cache.exists():
        print(f"prior for {subject}: loaded from {cache}")
        prior = load_weights(cache, estimator_type=PopulationPrior)
        return check_cached_prior(prior, args, cache)
    start = time.perf_counter()
    prior = pretrain()
    print(f"prior for {subject}: {time.perf_counter() - start:.0f} s")
    if cache is not None:  # written whole, then renamed: a parallel run never reads half a file
        partial = cache.with_name(cache.name + ".partial")
        save_weights(prior, partial)
        partial.replace(cache)
    return prior


def training_set(method, train, pool, prior, seed, adapt_steps):
    """The downstream training windows of ``method`` (real first)."""
    X, y = train.X, train.y
    if method in ("none", "scratch", "tl"):
        return X, y
    if method == "classic":
        return ClassicAugmenter(random_state=seed).fit_resample(X, y)
    if method in ("pooled", "pooled_matched"):
        Xp, yp, gp = pool
        scale = channel_rms(X)[:, None]
        parts = [Xp[gp == g] / channel_rms(Xp[gp == g])[:, None] * scale for g in np.unique(gp)]
        labels = [yp[gp == g] for g in np.unique(gp)]
        known = np.isin(np.concatenate(labels), np.unique(y))
        Xp, yp = np.concatenate(parts)[known].astype(X.dtype), np.concatenate(labels)[known]
        if method == "pooled_matched":
            rng = np.random.default_rng(seed)
            counts = n_synthetic_per_class(y, MATCHED_RATIO)
            rows = [
                rng.choice(np.flatnonzero(yp == c), min(n, np.sum(yp == c)), replace=False)
                for c, n in counts.items()
            ]
            rows = np.sort(np.concatenate(rows))
            Xp, yp = Xp[rows], yp[rows]
        return np.concatenate([X, Xp]), np.concatenate([y, yp])
    if method == "sass_subject":
        encoder = SemanticEncoder(**ENCODER) if ENCODER else None
        return SASGAugmenter(encoder=encoder, ratio=RATIO, random_state=seed).fit_resample(X, y)
    return SASGAugmenter(
        prior=prior, adapt_steps=adapt_steps, ratio=RATIO, random_state=seed
    ).fit_resample(X, y)


def run_unit(method, model, train, test, pool, prior, seed, adapt_steps, cache=None):
    """Accuracy of one (method, model, seed) unit.

    ``cache`` (a dict) keeps each method's training set by ``(method, seed)``: the sets are
    deterministic, so the models of one method and seed share one sampler fit.
    """
    start = time.perf_counter()
    cache = {} if cache is None else cache
    # tl_<set> trains on <set>'s training set: the same sampler fit
    base = method[3:] if method.startswith("tl_") else method
    key = (base, seed)
    if key not in cache:
        cache[key] = training_set(base, train, pool, prior, seed, adapt_steps)
    X, y = cache[key]
    if method.startswith("tl"):
        net = SemanticEncoder(prior=prior, random_state=seed)
    elif method == "scratch":
        net = SemanticEncoder(random_state=seed, **ENCODER)
    else:
        net = MODELS[model](seed)
    net.fit(X, y)
    return {
        "accuracy": float(np.mean(net.predict(test.X) == test.y)),
        "n_train": int(len(y)),
        "seconds": round(time.perf_counter() - start, 1),
    }


def _sd(values):
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def run_settings(args):
    """What a unit's result depends on besides its key and the code: the run's options."""
    return {
        "pool_windows": args.pool_windows,
        "prior_steps": args.prior_steps,
        "adapt_steps": args.adapt_steps,
        "ratio": RATIO,
        "encoder": dict(ENCODER),
    }


def check_settings(units, settings, log):
    """Refuse to add units to a log whose units ran with other settings.

    A rerun skips the units it finds, so one run with other options into the same
    ``--out`` would report old units as new. Units logged before settings were
    recorded carry only their encoder, which is compared.
    """
    for u in units:
        theirs = u.get("settings", {"encoder": u.get("encoder", {})})
        differ = sorted(k for k in theirs if theirs[k] != settings.get(k))
        if differ:
            listed = ", ".join(f"{k}={theirs[k]!r} (now {settings.get(k)!r})" for k in differ)
            raise SystemExit(
                f"{log} holds units run with other settings: {listed}. Write this run to its "
                "own --out, or rerun with the same options."
            )


def _code_versions(units):
    """A line naming the code versions the units ran on, when there are several."""
    counts = {}
    for u in units:
        counts[u.get("code") or "unrecorded"] = counts.get(u.get("code") or "unrecorded", 0) + 1
    if len(counts) < 2:
        return []
    listed = ", ".join(f"`{code}` ({n} units)" for code, n in counts.items())
    return [f"Units from {len(counts)} versions of the code: {listed}.", ""]


def _paired_gain(ours, theirs):
    """Per-target gain over the seeds both arms ran, and the same-seed sd (None: one seed)."""
    seeds = sorted(set(ours) & set(theirs))
    if not seeds:
        return None, None
    diffs = [ours[s] - theirs[s] for s in seeds]
    return float(np.mean(diffs)), (_sd(diffs) if len(seeds) > 1 else None)


def write_report(out_dir):
    units = read_jsonl(out_dir / "population.jsonl")
    lines = [
        "# Population prior (leave-one-subject-out)",
        "",
        "`python benchmarks/population.py`: the prior is pretrained on other people only; "
        "accuracy on the target's held-out repetitions, mean ± sd over targets of the "
        "per-target mean over seeds; gains are paired over targets, each target's gain the "
        "mean over the seeds both methods ran. The tl methods are "
        "the fine-tuned prior network itself, and scratch the same network trained without "
        "the prior, whatever the downstream model of the table: tl's gain vs scratch is what "
        "the prior adds. Gains read: mean ± sd over targets (in brackets, the mean over targets "
        "of the sd over seeds of the same-seed difference: a gain inside it is no gain); "
        "`[k targets]` marks a gain paired over fewer targets than the row has.",
        "",
        "The prior and the pool are drawn once per target, with seed 0, for every seed: the "
        "seed sd covers the adaptation, the SASS draw and the downstream model, not the "
        "prior's own training. On Myo one prior serves every target, so the sd over targets "
        "leaves it out too.",
        "",
        *_code_versions(units),
    ]
    # "net" units (scratch and the tl methods: the semantic encoder) join every table
    tables = sorted({(u["dataset"], u["regime"], u["model"]) for u in units if u["model"] != "net"})
    for dataset, regime, model in tables:
        mine = [
            u
            for u in units
            if (u["dataset"], u["regime"]) == (dataset, regime) and u["model"] in (model, "net")
        ]
        lines += [
            f"## {dataset}, {regime}, downstream {model}",
            "",
            "| method | targets | accuracy % | gain vs none | gain vs scratch | gain vs tl |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        per = {}  # method -> subject -> seed -> accuracy (%)
        for u in mine:
            per.setdefault(u["method"], {}).setdefault(u["subject"], {})[u["seed"]] = (
                100 * u["accuracy"]
            )
        for method in METHODS:
            if method not in per:
                continue
            acc = np.array([np.mean(list(v.values())) for v in per[method].values()])
            cells = [f"{acc.mean():.1f} ± {_sd(acc):.1f}"]
            for ref in ("none", "scratch", "tl"):
                common = sorted(set(per[method]) & set(per.get(ref, {})))
                if ref == method or not common:
                    cells.append("")
                    continue
                gains, seed_sds = [], []
                for subject in common:
                    # the same seeds of both arms; their sd: the spread one more seed would show
                    gain, seed_sd = _paired_gain(per[method][subject], per[ref][subject])
                    if gain is not None:
                        gains.append(gain)
                    if seed_sd is not None:
                        seed_sds.append(seed_sd)
                if not gains:
                    cells.append("")
                    continue
                gains = np.array(gains)
                spread = f" ({np.mean(seed_sds):.1f})" if seed_sds else ""  # one seed: unknown
                fewer = f" [{len(gains)} targets]" if len(gains) < len(acc) else ""
                cells.append(f"{gains.mean():+.1f} ± {_sd(gains):.1f}{spread}{fewer}")
            lines.append(f"| {method} | {len(acc)} | " + " | ".join(cells) + " |")
        lines.append("")
    (out_dir / "population.md").write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="db1", choices=["db1", "myo", "uci"])
    parser.add_argument("--regime", default="low_data", choices=["low_data", "one_rep"])
    parser.add_argument("--targets", type=int, default=5, help="first N subjects as targets")
    parser.add_argument(
        "--subjects", nargs="+", default=None, help="these targets instead of the first N"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--models", nargs="+", default=["lda", "stc"], choices=list(MODELS))
    parser.add_argument("--pool-windows", type=int, default=600, help="per pool subject")
    parser.add_argument(
        "--prior-steps", type=int, default=1500, help="prior generator steps (of 256 windows)"
    )
    parser.add_argument("--adapt-steps", type=int, default=75)
    parser.add_argument(
        "--prior-cache",
        type=Path,
        default=None,
        help="load the prior from this weights file, or pretrain it and save it there, so "
        "that parallel runs and both regimes pretrain it once; DB1 and UCI priors leave the "
        "target out, so each target gets its own file (the subject appended to the name)",
    )
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--rerender", action="store_true")
    parser.add_argument(
        "--encoder-pooling",
        default=None,
        choices=POOLINGS,
        help="SemanticEncoder pooling of every encoder of the run (default: the library's); "
        "write such a run to its own --out",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.encoder_pooling is not None:
        ENCODER["pooling"] = args.encoder_pooling
    if args.rerender:
        write_report(args.out)
        return
    log = args.out / "population.jsonl"
    code = code_version()
    settings = run_settings(args)
    logged = read_jsonl(log)
    check_settings(logged, settings, log)
    done = {
        (u["dataset"], u["regime"], u["subject"], u["method"], u["model"], u["seed"])
        for u in logged
    }
    targets = args.subjects or subject_names(args.dataset)[: args.targets]
    pool = prior = None
    for subject in targets:
        train, test = target_split(args.dataset, subject, args.regime)
        if args.dataset != "myo":  # Myo's pool (the pre-training set) is every target's
            pool = prior = None
        cache = {}
        for seed in args.seeds:
            for method in args.methods:
                models = ["net"] if method.startswith("tl") or method == "scratch" else args.models
                for model in models:
                    key = (args.dataset, args.regime, subject, method, model, seed)
                    if key in done:
                        continue
                    if pool is None and method not in ("none", "classic", "scratch"):
                        pool = pool_windows(args.dataset, subject, args.pool_windows, 0)
                    if prior is None and ("prior" in method or method.startswith("tl")):
                        prior = cached_prior(
                            args,
                            subject,
                            lambda pool=pool: build_prior(
                                *pool, seed=0, prior_steps=args.prior_steps
                            ),
                        )
                    names = ("dataset", "regime", "subject", "method", "model", "seed")
                    unit = dict(
                        zip(names, key, strict=True),
                        code=code,
                        encoder=dict(ENCODER),
                        settings=settings,
                    )
                    unit.update(
                        run_unit(
                            method, model, train, test, pool, prior, seed, args.adapt_steps, cache
                        )
                    )
                    with log.open("a") as fh:
                        fh.write(json.dumps(unit) + "\n")
                    print(json.dumps(unit), flush=True)
        write_report(args.out)
    write_report(args.out)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
