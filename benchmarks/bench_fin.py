"""LSTM-FIN benchmark: feature imitation on held-out subjects, and FIN classification.

Three measurements on ``../shared/data`` (NinaPro DB1 and the Myo armband dataset):

1. **Imitation on held-out subjects.** A :class:`~semgaug_sk.FeatureImitator`
   is fitted on windows of some subjects (DB1: the first subjects of the file
   list; Myo: subjects of the *pre-training* set, other people than the
   evaluation set) and its per-feature R² against the closed-form features,
   in their original units, is measured on windows of other subjects (the
   evaluation subjects of part 2). Both architectures (``per_feature``,
   ``shared``) are timed; the full preset adds the original global input
   scaling (``standardize="global"``).
2. **Classification, low-data protocol** (``../shared/DESIGN.md``), per
   evaluation subject: DB1 trains on repetitions {1, 2} and tests on {3..10};
   Myo trains on cycle 0 of ``training0`` and tests on ``Test0`` (and
   ``Test1`` in the full preset). Methods:

   - ``fin``: :class:`~semgaug_sk.FINClassifier` reusing the part-1
     ``per_feature`` imitator (pre-trained on other subjects, no labels), CNN
     head, then joint fine-tuning;
   - ``fin_frozen``: the same without fine-tuning;
   - ``cnn_closed``: the same CNN head, compression and training on the
     closed-form features (no imitator);
   - ``lda_fin``: LDA on the standardised closed-form fin features, and
     ``lda_fin_asinh``: LDA on the same asinh-compressed features the heads see.

   Early stopping uses a stratified split of the training windows only.
   Accuracies are averaged over seeds per subject, then reported as mean ± sd
   over subjects.
3. **Fit time** of the imitator on one DB1 subject's training repetitions
   ({1, 2}), with the preset's imitator configuration (the full preset uses the
   defaults).

Usage::

    python benchmarks/bench_fin.py --preset quick      # ~10 min on a 2-core CPU
    python benchmarks/bench_fin.py --preset full       # hours on a 2-core CPU
    python benchmarks/bench_fin.py --preset full --parts imitation --name bench_fin_r2
    python benchmarks/bench_fin.py --preset smoke --out /tmp/fin   # a minute: checks the script

Results go to ``results/<name>.md`` and ``results/<name>.json`` (``--name``,
default ``bench_fin``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from semgaug_sk.datasets import load_myo_armband, load_ninapro
from semgaug_sk.features import EMGFeatures, extract_features
from semgaug_sk.imitation import FeatureImitator, FINClassifier
from semgaug_sk.model_selection import select_windows
from semgaug_sk.nn import FeatureMapCNN
from semgaug_sk.utils.torch_utils import torch_seed
from semgaug_sk.windows import sliding_windows

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FEATURES = ("rms", "var", "ssi", "ent")
PARTS = ("imitation", "classification", "fit_time")
METHODS = ("fin", "fin_frozen", "cnn_closed", "lda_fin", "lda_fin_asinh")
WINDOWS = {
    "db1": dict(window_ms=200.0, step_ms=100.0),
    "myo": dict(window_ms=260.0, step_ms=100.0, rest_label=None),
}

PRESETS = {
    "smoke": dict(
        imitation_windows=100,
        imitation_test_windows=200,
        imitator=dict(hidden_size=8, num_layers=1, max_epochs=1),
        variants=(("per_feature", "window"), ("shared", "window")),
        db1_pretrain=(1,),
        myo_pretrain=("Female0",),
        n_eval=1,
        seeds=(0,),
        fin=dict(max_epochs=2, fine_tune_epochs=1),
        cnn_epochs=2,
        myo_test_sessions=("Test0",),
        fit_time_imitator=dict(hidden_size=8, num_layers=1, max_epochs=1),
    ),
    "quick": dict(
        imitation_windows=500,
        imitation_test_windows=2000,
        imitator=dict(max_epochs=15),
        variants=(("per_feature", "window"), ("shared", "window")),
        db1_pretrain=(1, 2, 3, 4),
        myo_pretrain=("Female0", "Female1", "Male0", "Male1"),
        n_eval=2,
        seeds=(0,),
        fin=dict(fine_tune_epochs=5),
        cnn_epochs=100,
        myo_test_sessions=("Test0",),
        fit_time_imitator=dict(max_epochs=10),
    ),
    "full": dict(
        imitation_windows=2000,
        imitation_test_windows=3000,
        imitator=dict(),
        variants=(("per_feature", "window"), ("shared", "window"), ("per_feature", "global")),
        db1_pretrain=(1, 2, 3, 4),
        myo_pretrain=("Female0", "Female1", "Male0", "Male1"),
        n_eval=10,
        seeds=(0, 1),
        fin=dict(fine_tune_epochs=30),
        cnn_epochs=100,
        myo_test_sessions=("Test0", "Test1"),
        fit_time_imitator=dict(),
    ),
}


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------
def db1_subjects():
    files = sorted((SHARED / "ninapro_db1_e1").glob("S*_A1_E1.mat"))
    return sorted(int(f.name.split("_")[0][1:]) for f in files)


def load_db1(subjects):
    rec = load_ninapro(SHARED / "ninapro_db1_e1", subjects=list(subjects), fs=100.0)
    return sliding_windows(rec, **WINDOWS["db1"])


def load_myo(subjects, dataset, sessions=None):
    rec = load_myo_armband(
        SHARED / "myo_armband_cote_allard",
        subjects=list(subjects),
        dataset=dataset,
        sessions=sessions,
    )
    w = sliding_windows(rec, **WINDOWS["myo"])
    w.session_names = rec.session_names
    return w


def myo_eval_subjects():
    root = SHARED / "myo_armband_cote_allard" / "EvaluationDataset"
    names = [p.name for p in root.iterdir() if p.is_dir()]
    return sorted(
        names, key=lambda s: (s.rstrip("0123456789"), int(s[len(s.rstrip("0123456789")) :]))
    )


def subsample(X, n, seed):
    if n is None or len(X) <= n:
        return X
    return X[np.random.default_rng(seed).permutation(len(X))[:n]]


# ------------------------------------------------------------------------------------------
# baselines
# ------------------------------------------------------------------------------------------
class ClosedFormCNN:
    """The FINClassifier head, compression and training, on closed-form features."""

    def __init__(
        self,
        seed,
        max_epochs=100,
        batch_size=64,
        lr=1e-3,
        weight_decay=1e-4,
        validation_fraction=0.15,
        patience=10,
        device="cpu",
    ):
        self.seed = seed
        self.kw = dict(max_epochs=max_epochs, batch_size=batch_size, lr=lr, device=device)
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience

    def _maps(self, X):
        F = extract_features(X, FEATURES).astype(np.float64)  # (n, ch, f)
        C = np.arcsinh(F / self.ref_)
        return np.ascontiguousarray(((C - self.mean_) / self.sd_).transpose(0, 2, 1), np.float32)

    def fit(self, X, y):
        self.le_ = LabelEncoder().fit(y)
        y_enc = self.le_.transform(y).astype(np.int64)
        F = extract_features(X, FEATURES).astype(np.float64).reshape(-1, len(FEATURES))
        self.ref_ = np.where(np.abs(F).mean(0) > 0, np.abs(F).mean(0), 1.0)
        C = np.arcsinh(F / self.ref_)
        self.mean_, self.sd_ = C.mean(0), np.where(C.std(0) > 0, C.std(0), 1.0)
        maps = self._maps(X)
        split = StratifiedShuffleSplit(
            1, test_size=int(np.ceil(self.validation_fraction * len(y))), random_state=self.seed
        )
        train, valid = next(split.split(maps, y_enc))
        with torch_seed(self.seed):
            self.net_ = NeuralNetClassifier(
                FeatureMapCNN,
                module__n_features=len(FEATURES),
                module__n_channels=X.shape[1],
                module__n_classes=len(self.le_.classes_),
                criterion=torch.nn.CrossEntropyLoss,
                optimizer=torch.optim.AdamW,
                optimizer__weight_decay=self.weight_decay,
                train_split=predefined_split(Dataset(maps[valid], y_enc[valid])),
                callbacks=[("es", EarlyStopping(patience=self.patience, load_best=True))],
                classes=np.arange(len(self.le_.classes_)),
                iterator_train__shuffle=True,
                verbose=0,
                **self.kw,
            )
            self.net_.fit(maps[train], y_enc[train])
        return self

    def score(self, X, y):
        pred = self.le_.classes_[self.net_.predict(self._maps(X))]
        return float(np.mean(pred == y))


class AsinhScaler(TransformerMixin, BaseEstimator):
    """``asinh(Z / ref)`` with ``ref`` the mean |value| of each column of the training data."""

    def fit(self, Z, y=None):
        ref = np.abs(Z).mean(axis=0)
        self.ref_ = np.where(ref > 0, ref, 1.0)
        return self

    def transform(self, Z):
        return np.arcsinh(Z / self.ref_)


def lda(asinh):
    steps = [EMGFeatures(FEATURES)] + ([AsinhScaler()] if asinh else [])
    return make_pipeline(*steps, StandardScaler(), LinearDiscriminantAnalysis())


# ------------------------------------------------------------------------------------------
# part 1: imitation on held-out subjects
# ------------------------------------------------------------------------------------------
def imitation_part(dataset, X_train, X_test, variants, cfg, device, log):
    rows, imitators = [], {}
    for architecture, standardize in variants:
        fin = FeatureImitator(
            architecture=architecture,
            standardize=standardize,
            device=device,
            random_state=0,
            **cfg["imitator"],
        )
        t0 = time.perf_counter()
        fin.fit(X_train)
        fit_s = time.perf_counter() - t0
        r2 = fin.r2_per_feature(X_test)
        n_params = sum(p.numel() for p in fin.net_.module_.parameters())
        row = dict(
            dataset=dataset,
            architecture=architecture,
            standardize=standardize,
            train_sequences=int(X_train.shape[0] * X_train.shape[1]),
            test_sequences=int(X_test.shape[0] * X_test.shape[1]),
            n_times=int(X_train.shape[2]),
            epochs=fin.n_epochs_,
            fit_s=fit_s,
            n_params=n_params,
            r2=r2,
        )
        rows.append(row)
        imitators[(architecture, standardize)] = fin
        log(
            f"  [{dataset}] imitator {architecture}/{standardize}: {fit_s:.0f} s, "
            f"{fin.n_epochs_} epochs, R² " + ", ".join(f"{k} {v:.4f}" for k, v in r2.items())
        )
    return rows, imitators


# ------------------------------------------------------------------------------------------
# part 2: classification
# ------------------------------------------------------------------------------------------
def classify_subject(train, test, imitator, seeds, cfg, device):
    res = {m: [] for m in METHODS}
    times = {m: [] for m in METHODS}
    for seed in seeds:
        for name, est in (
            ("fin", FINClassifier(imitator, device=device, random_state=seed, **cfg["fin"])),
            (
                "fin_frozen",
                FINClassifier(
                    imitator, fine_tune=False, device=device, random_state=seed, **cfg["fin"]
                ),
            ),
            ("cnn_closed", ClosedFormCNN(seed, max_epochs=cfg["cnn_epochs"], device=device)),
        ):
            t0 = time.perf_counter()
            est.fit(train.X, train.y)
            times[name].append(time.perf_counter() - t0)
            res[name].append(est.score(test.X, test.y))
    for name, asinh in (("lda_fin", False), ("lda_fin_asinh", True)):
        t0 = time.perf_counter()
        est = lda(asinh).fit(train.X, train.y)
        times[name].append(time.perf_counter() - t0)
        res[name].append(float(est.score(test.X, test.y)))
    return {m: float(np.mean(v)) for m, v in res.items()}, {
        m: float(np.mean(v)) for m, v in times.items()
    }


def classification_part(dataset, splits, imitator, cfg, device, log):
    rows = []
    for subject, train, test in splits:
        acc, fit_s = classify_subject(train, test, imitator, cfg["seeds"], cfg, device)
        rows.append(
            dict(
                dataset=dataset,
                subject=str(subject),
                n_train=len(train.y),
                n_test=len(test.y),
                accuracy=acc,
                fit_s=fit_s,
            )
        )
        log(f"  [{dataset}] {subject}: " + ", ".join(f"{m} {100 * a:.1f}" for m, a in acc.items()))
    return rows


def db1_splits(subjects):
    w = load_db1(subjects)
    for s in subjects:
        mine = w.subject == s
        yield (
            f"S{s}",
            select_windows(w, mine & np.isin(w.repetition, [1, 2])),
            select_windows(w, mine & (w.repetition >= 3)),
        )


def myo_splits(subjects, test_sessions):
    for s in subjects:
        w = load_myo([s], "evaluation", sessions=("training0",) + tuple(test_sessions))
        session = np.asarray(w.session_names)[w.session]
        yield (
            s,
            select_windows(w, (session == "training0") & (w.repetition == 0)),
            select_windows(w, np.isin(session, test_sessions)),
        )


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------
def _msd(values):
    values = np.asarray(values, dtype=float)
    return f"{100 * values.mean():.1f} ± {100 * values.std(ddof=1 if len(values) > 1 else 0):.1f}"


def _imitation_md(report):
    cfg = report["config"]
    lines = [
        "## 1. Feature imitation on held-out subjects",
        "",
        "R² of the imitated features against the closed-form ones, in their original units "
        "(`sklearn.metrics.r2_score` over all windows and channels of subjects never seen in "
        f"training). Imitators: defaults except {cfg['imitator']}; training windows subsampled "
        f"to {cfg['imitation_windows']}, test windows to {cfg['imitation_test_windows']} (every "
        "channel of a window is one sequence).",
        "",
        "| dataset | architecture | standardize | train seq. | test seq. | params | epochs | "
        "fit (s) | R² rms | R² var | R² ssi | R² ent |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["imitation"]:
        lines.append(
            f"| {r['dataset']} | {r['architecture']} | {r['standardize']} | {r['train_sequences']} "
            f"| {r['test_sequences']} | {r['n_params']} | {r['epochs']} | {r['fit_s']:.0f} | "
            + " | ".join(f"{r['r2'][f]:.4f}" for f in FEATURES)
            + " |"
        )
    lines += [""] + [
        f"- {ds}: trained on {report['pretrain_subjects'][ds]}, tested on "
        f"{report['eval_subjects'][ds]}."
        for ds in report["pretrain_subjects"]
    ]
    return lines


def _classification_md(report):
    cfg = report["config"]
    lines = [
        "## 2. Classification, low-data protocol",
        "",
        "Accuracy (%) on held-out repetitions, mean ± sd over subjects (each subject averaged over "
        f"seeds {list(cfg['seeds'])}). DB1: train reps {{1,2}}, test {{3..10}}; Myo: train "
        f"`training0` cycle 0, test {list(cfg['myo_test_sessions'])}. `fin` reuses the "
        "`per_feature` imitator of section 1 (pre-trained without labels on other subjects); "
        f"FINClassifier settings: defaults except {cfg['fin']}.",
        "",
        "| dataset | subjects | " + " | ".join(METHODS) + " |",
        "|---|---|" + "---|" * len(METHODS),
    ]
    by_ds = {}
    for r in report["classification"]:
        by_ds.setdefault(r["dataset"], []).append(r)
    for ds, rows in by_ds.items():
        lines.append(
            f"| {ds} | {len(rows)} | "
            + " | ".join(_msd([r["accuracy"][m] for r in rows]) for m in METHODS)
            + " |"
        )
    lines += [
        "",
        "Mean fit time per subject and seed (s):",
        "",
        "| dataset | " + " | ".join(METHODS) + " |",
        "|---|" + "---|" * len(METHODS),
    ]
    for ds, rows in by_ds.items():
        lines.append(
            f"| {ds} | "
            + " | ".join(f"{np.mean([r['fit_s'][m] for r in rows]):.1f}" for m in METHODS)
            + " |"
        )
    lines += [
        "",
        "Per subject (%):",
        "",
        "| dataset | subject | train windows | test windows | " + " | ".join(METHODS) + " |",
        "|---|---|---|---|" + "---|" * len(METHODS),
    ]
    for r in report["classification"]:
        lines.append(
            f"| {r['dataset']} | {r['subject']} | {r['n_train']} | {r['n_test']} | "
            + " | ".join(f"{100 * r['accuracy'][m]:.1f}" for m in METHODS)
            + " |"
        )
    return lines


def _fit_time_md(report):
    ft = report["fit_time"]
    return [
        "## 3. Imitator fit time on one DB1 subject",
        "",
        f"`FeatureImitator` (defaults except {ft['config']}) on {ft['subject']} repetitions "
        f"{{1, 2}}: {ft['n_windows']} windows x {ft['n_channels']} channels = "
        f"{ft['n_sequences']} sequences of {ft['n_times']} samples: **{ft['fit_s']:.0f} s** "
        f"({ft['epochs']} epochs, {ft['fit_s'] / max(ft['epochs'], 1):.1f} s/epoch).",
    ]


def markdown(report):
    lines = [
        "# LSTM-FIN benchmark",
        "",
        f"Preset `{report['preset']}`, parts {report['parts']}; {report['machine']}; torch "
        f"threads {report['torch_threads']}; total {report['total_s'] / 60:.1f} min. Generated by "
        "`benchmarks/bench_fin.py`.",
    ]
    if report["imitation"]:
        lines += [""] + _imitation_md(report)
    if report["classification"]:
        lines += [""] + _classification_md(report)
    if report.get("fit_time"):
        lines += [""] + _fit_time_md(report)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    parser.add_argument("--datasets", nargs="+", choices=("db1", "myo"), default=("db1", "myo"))
    parser.add_argument(
        "--subjects", type=int, default=None, help="evaluation subjects per dataset"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument(
        "--parts", nargs="+", choices=PARTS, default=PARTS, help="parts to run (default: all)"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=None,
        help="imitator variants of part 1 as ARCHITECTURE/STANDARDIZE, e.g. per_feature/window",
    )
    parser.add_argument("--out", default="results")
    parser.add_argument("--name", default="bench_fin", help="output file stem")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    cfg = dict(PRESETS[args.preset])
    if args.subjects is not None:
        cfg["n_eval"] = args.subjects
    if args.seeds is not None:
        cfg["seeds"] = tuple(args.seeds)
    if args.variants is not None:
        cfg["variants"] = tuple(tuple(v.split("/")) for v in args.variants)
        if ("per_feature", "window") not in cfg["variants"] and "classification" in args.parts:
            parser.error("the classification part needs the per_feature/window variant")
    if not SHARED.is_dir():
        sys.exit(f"bench_fin: {SHARED} is absent; this benchmark needs ../shared/data.")
    t_start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t_start:7.0f} s] {msg}", flush=True)

    report = dict(
        preset=args.preset,
        config={k: v for k, v in cfg.items()},
        machine=f"{platform.processor() or platform.machine()}, {args.device}",
        torch_threads=torch.get_num_threads(),
        imitation=[],
        classification=[],
        pretrain_subjects={},
        eval_subjects={},
        parts=list(args.parts),
    )
    for dataset in args.datasets:
        if not {"imitation", "classification"} & set(args.parts):
            break
        log(f"{dataset}: loading")
        if dataset == "db1":
            pre = [s for s in db1_subjects() if s in cfg["db1_pretrain"]]
            evals = [s for s in db1_subjects() if s not in pre][: cfg["n_eval"]]
            X_pre = load_db1(pre).X
            X_eval = load_db1(evals).X
            report["pretrain_subjects"]["db1"] = [f"S{s}" for s in pre]
            report["eval_subjects"]["db1"] = [f"S{s}" for s in evals]
        else:
            pre = list(cfg["myo_pretrain"])
            evals = myo_eval_subjects()[: cfg["n_eval"]]
            X_pre = load_myo(pre, "pretraining").X
            X_eval = load_myo(evals, "evaluation").X
            report["pretrain_subjects"]["myo"] = [f"pretraining/{s}" for s in pre]
            report["eval_subjects"]["myo"] = [f"evaluation/{s}" for s in evals]
        X_pre = subsample(X_pre, cfg["imitation_windows"], 0)
        X_eval = subsample(X_eval, cfg["imitation_test_windows"], 1)
        variants = cfg["variants"]
        if "imitation" not in args.parts:
            variants = (("per_feature", "window"),)
        rows, imitators = imitation_part(dataset, X_pre, X_eval, variants, cfg, args.device, log)
        if "imitation" in args.parts:
            report["imitation"] += rows
        if "classification" in args.parts:
            imitator = imitators[("per_feature", "window")]
            splits = (
                db1_splits(evals)
                if dataset == "db1"
                else myo_splits(evals, cfg["myo_test_sessions"])
            )
            report["classification"] += classification_part(
                dataset, splits, imitator, cfg, args.device, log
            )
    if "fit_time" in args.parts:
        subject = db1_subjects()[0]
        w = load_db1([subject])
        X = w.X[np.isin(w.repetition, [1, 2])]
        fin = FeatureImitator(device=args.device, random_state=0, **cfg["fit_time_imitator"])
        t0 = time.perf_counter()
        fin.fit(X)
        fit_s = time.perf_counter() - t0
        report["fit_time"] = dict(
            subject=f"S{subject}",
            config=cfg["fit_time_imitator"],
            n_windows=len(X),
            n_channels=X.shape[1],
            n_times=X.shape[2],
            n_sequences=int(X.shape[0] * X.shape[1]),
            fit_s=fit_s,
            epochs=fin.n_epochs_,
        )
        log(f"fit time on S{subject} reps {{1,2}}: {fit_s:.0f} s ({fin.n_epochs_} epochs)")
    report["total_s"] = time.perf_counter() - t_start
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(report, indent=2, default=str))
    (out / f"{args.name}.md").write_text(markdown(report))
    log(f"wrote {out / args.name}.md and .json")


if __name__ == "__main__":
    main()
