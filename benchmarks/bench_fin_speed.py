"""LSTM-FIN speed: the practical defaults against earlier paths, side by side in one run.

Two measurements on ``../shared/data``, each fitting three paths on the same data in
the same process, one torch thread each:

- *new*: today's defaults;
- *previous*: the defaults before the second round of speed work (hidden size 32,
  learning rate 3e-3, no entropy-density channel and one sample per LSTM step for the
  imitator; a 100-epoch head for the classifier);
- *old*: the original path (one 3-layer BiLSTM per feature, every training
  sequence, 60 imitator epochs with patience 10, and fine-tuning on every training
  window for up to 30 epochs).

1. **Imitator, Myo.** ``FeatureImitator().fit`` on three Myo evaluation subjects
   (260 ms windows, 50 ms step); R² per feature on a held-out evaluation
   subject (``r2_per_feature``, on a seeded draw of its windows). The imitator's
   hidden size and learning rate were chosen by R² on another held-out subject
   (Male1); the subject reported here (Male2) played no part in that choice.
2. **Classifier, NinaPro DB1.** ``FINClassifier().fit`` on subject 2,
   repetitions {1, 3, 4, 6, 8, 9, 10}, 200 ms windows with a 20 ms step;
   accuracy on repetitions {2, 5, 7}. The head's epoch budget was chosen on an
   inner split of the training repetitions ({1, 3, 4, 6, 8} against {9, 10}).

The old path cannot finish on a CPU in reasonable time, so its two expensive
stages are stopped by a cap on CPU time (``--old-cap-s``, checked after every
training batch, so a stage may stop inside its first epoch): the imitator keeps
its best validation epoch so far (the current weights when no epoch ended), and
fine-tuning keeps its best epoch (or is
dropped, as in ``FINClassifier``, if it did not lower the validation loss). The
old classifier reuses the old imitator fitted on the same training windows
(what ``FINClassifier(imitator=None)`` would fit), and its head stage runs
uncapped. The cap and the epochs each stage reached are in the report. The new
and previous classifiers fit their own imitator inside ``fit``, as a user's would.

Usage::

    python benchmarks/bench_fin_speed.py                       # both parts
    python benchmarks/bench_fin_speed.py --parts imitator      # one part (updates its entry)
    python benchmarks/bench_fin_speed.py --smoke --out /tmp/fs  # a minute: checks the script

Writes ``results/bench_fin_speed.md`` and ``.json`` (``--out`` changes the folder).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback

from semgaug_sk.datasets import load_myo_armband, load_ninapro
from semgaug_sk.imitation import FeatureImitator, FINClassifier
from semgaug_sk.nn.heads import FINNetwork
from semgaug_sk.utils.training import TrainingInterrupted
from semgaug_sk.windows import sliding_windows

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MYO_TRAIN = ("Female0", "Female1", "Male0")
MYO_TEST = "Male2"
DB1_TRAIN_REPS = (1, 3, 4, 6, 8, 9, 10)
DB1_TEST_REPS = (2, 5, 7)

#: The defaults before the second round of speed work (FeatureImitator, then FINClassifier).
PREVIOUS_IMITATOR = dict(hidden_size=32, lr=3e-3, entropy_density=False, max_lstm_steps=None)
PREVIOUS_CLASSIFIER = dict(max_epochs=100)
#: The defaults before any speed work.
OLD_IMITATOR = dict(PREVIOUS_IMITATOR, num_layers=3, max_epochs=60, max_sequences=None, patience=10)
OLD_CLASSIFIER = dict(PREVIOUS_CLASSIFIER, fine_tune_epochs=30, fine_tune_max_windows=None)
#: name: (imitator parameters, classifier parameters, capped)
PATHS = {
    "new": ({}, {}, False),
    "previous": (PREVIOUS_IMITATOR, PREVIOUS_CLASSIFIER, False),
    "old": (OLD_IMITATOR, OLD_CLASSIFIER, True),
}


class _TimeCap(Callback):
    """Stop training (as Ctrl-C would) after the first training batch past ``seconds`` of CPU."""

    def __init__(self, seconds, only=None):
        self.seconds = seconds
        self.only = only

    def on_train_begin(self, net, **kwargs):
        self.start_ = time.process_time()
        self.active_ = self.only is None or isinstance(net.module_, self.only)

    def on_batch_end(self, net, training=False, **kwargs):
        if training and self.active_ and time.process_time() - self.start_ > self.seconds:
            raise KeyboardInterrupt


class CappedImitator(FeatureImitator):
    """The imitator with a wall-clock cap on training (benchmark only)."""

    cap_s = None

    def _training_callbacks(self, has_valid, *, extra=(), accelerator=None):
        cbs = super()._training_callbacks(has_valid, extra=extra, accelerator=accelerator)
        return cbs + [("time_cap", _TimeCap(self.cap_s))] if self.cap_s else cbs


class CappedFIN(FINClassifier):
    """The classifier with a wall-clock cap on fine-tuning only (benchmark only)."""

    cap_s = None

    def _training_callbacks(self, has_valid, *, extra=(), accelerator=None):
        cbs = super()._training_callbacks(has_valid, extra=extra, accelerator=accelerator)
        if not self.cap_s:
            return cbs
        return cbs + [("time_cap", _TimeCap(self.cap_s, only=FINNetwork))]


class Clock:
    """Wall time and this process's CPU time (one torch thread: the time on an idle core)."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self):
        return dict(
            wall_s=round(time.perf_counter() - self.wall, 1),
            cpu_s=round(time.process_time() - self.cpu, 1),
        )


def fit_capped(est, X, y=None):
    """Fit; a cap-triggered stop leaves the estimator fitted with what it learned."""
    clock = Clock()
    try:
        est.fit(X) if y is None else est.fit(X, y)
    except TrainingInterrupted as exc:
        est = exc.estimator
    return est, clock.read()


def myo_windows(subjects):
    rec = load_myo_armband(
        SHARED / "myo_armband_cote_allard", subjects=list(subjects), dataset="evaluation"
    )
    # rest_label=0: the logged runs dropped label 0 (Neutral), as sliding_windows did
    # before Myo recordings carried rest_label=None
    return sliding_windows(rec, window_ms=260, step_ms=50, rest_label=0).X


def imitator_part(args, log):
    X = myo_windows(MYO_TRAIN)
    X_test = myo_windows([MYO_TEST])
    rng = np.random.default_rng(1)
    X_test = X_test[np.sort(rng.choice(len(X_test), min(args.test_windows, len(X_test)), False))]
    if args.smoke:
        X = X[:300]
    rows = {}
    for name, (params, _, capped) in PATHS.items():
        if args.smoke:
            params = {**params, "max_epochs": 1, "hidden_size": 4}
        est = CappedImitator(random_state=0, **params)
        est.cap_s = args.old_cap_s if capped else None
        est, t = fit_capped(est, X)
        r2 = est.r2_per_feature(X_test)
        rows[name] = dict(
            params=params,
            fit=t,
            epochs=est.n_epochs_,
            train_sequences=est.n_train_sequences_,
            capped=bool(est.training_interrupted_),
            r2={k: round(v, 4) for k, v in r2.items()},
        )
        log(f"imitator {name}: {rows[name]}")
    return dict(
        train=f"Myo evaluation {list(MYO_TRAIN)}, 260 ms / 50 ms: {X.shape}",
        test=f"Myo evaluation {MYO_TEST}: {X_test.shape[0]} windows drawn with seed 1",
        rows=rows,
    )


def classifier_part(args, log):
    rec = load_ninapro(SHARED / "ninapro_db1_e1", subjects=[2], fs=100.0)
    w = sliding_windows(rec, window_ms=200, step_ms=20)
    train = np.isin(w.repetition, DB1_TRAIN_REPS)
    test = np.isin(w.repetition, DB1_TEST_REPS)
    X, y, X_test, y_test = w.X[train], w.y[train], w.X[test], w.y[test]
    if args.smoke:
        X, y = X[::40], y[::40]
    rows = {}
    smoke_imitator = dict(max_epochs=1, hidden_size=4) if args.smoke else {}
    smoke_classifier = dict(max_epochs=2, fine_tune_epochs=1) if args.smoke else {}
    for name, (imitator_params, params, capped) in PATHS.items():
        clock = Clock()
        params = dict(params, **smoke_classifier)
        imitator_params = dict(imitator_params, **smoke_imitator)
        imitator_s = None
        if not capped:
            imitator = FeatureImitator(**imitator_params) if imitator_params else None
            clf = CappedFIN(imitator, random_state=0, **params)
        else:
            imitator = CappedImitator(random_state=0, **imitator_params)
            imitator.cap_s = args.old_cap_s
            imitator, imitator_s = fit_capped(imitator, X)
            clf = CappedFIN(imitator, random_state=0, **params)
            clf.cap_s = args.old_cap_s
        clf, _ = fit_capped(clf, X, y)
        t = clock.read()
        acc = float(clf.score(X_test, y_test))
        rows[name] = dict(
            params=params,
            imitator_params=imitator_params,
            fit=t,
            imitator_fit=imitator_s,
            imitator_epochs=clf.imitator_.n_epochs_,
            imitator_capped=bool(clf.imitator_.training_interrupted_),
            head_epochs=len(clf.head_net_.history),
            fine_tune_epochs=len(clf.net_.history),
            fine_tune_windows=clf.n_fine_tune_windows_,
            fine_tuned=bool(clf.fine_tuned_),
            fine_tune_capped=bool(clf.training_interrupted_),
            accuracy=round(100 * acc, 2),
        )
        log(f"classifier {name}: {rows[name]}")
    # the new path at further seeds: the accuracy's seed spread, to read the paths against
    new_seeds = {}
    for seed in args.new_seeds:
        clock = Clock()
        clf, _ = fit_capped(CappedFIN(None, random_state=seed, **smoke_classifier), X, y)
        new_seeds[seed] = dict(
            fit=clock.read(), accuracy=round(100 * float(clf.score(X_test, y_test)), 2)
        )
        log(f"classifier new, seed {seed}: {new_seeds[seed]}")
    return dict(
        new_seeds=new_seeds,
        train=f"DB1 S2 reps {list(DB1_TRAIN_REPS)}, 200 ms / 20 ms: {X.shape}",
        test=f"DB1 S2 reps {list(DB1_TEST_REPS)}: {X_test.shape}",
        rows=rows,
    )


def markdown(report):
    lines = [
        "# LSTM-FIN speed: new defaults vs earlier paths",
        "",
        "Generated by `benchmarks/bench_fin_speed.py`; one torch thread. *fit CPU* is the "
        "process's CPU time (with one thread, the time the fit takes on an idle core); *fit "
        "wall* is inflated by whatever else ran on the machine (load averages below). "
        f"Previous path: {PREVIOUS_IMITATOR} for the imitator, {PREVIOUS_CLASSIFIER} for the "
        f"classifier. Old path: {OLD_IMITATOR} for the imitator, {OLD_CLASSIFIER} for the "
        "classifier, its imitator and fine-tuning each stopped by a cap on CPU time (best "
        "epoch so far kept).",
        "",
    ]
    for key in ("imitator", "classifier"):
        if key in report:
            run = report[key]["run"]
            lines.append(
                f"- {key}: `{run['command']}`; {run['machine']}; cap {run['old_cap_s']} s CPU; "
                f"load average at start {run['load_start']}, at end {run['load_end']}; "
                f"{run['total_min']} min."
            )
    lines.append("")
    if "imitator" in report:
        part = report["imitator"]
        lines += [
            "## 1. FeatureImitator on Myo (R² on a held-out subject)",
            "",
            f"Train: {part['train']}. Test: {part['test']}.",
            "",
            "| path | fit CPU (s) | fit wall (s) | epochs | capped | train seq. | R² rms | R² var "
            "| R² ssi | R² ent |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in part["rows"].items():
            r2 = r["r2"]
            lines.append(
                f"| {name} | {r['fit']['cpu_s']} | {r['fit']['wall_s']} | {r['epochs']} | "
                f"{r['capped']} | "
                f"{r['train_sequences']} | {r2.get('rms')} | {r2.get('var')} | "
                f"{r2.get('ssi')} | {r2.get('ent')} |"
            )
        lines.append("")
    if "classifier" in report:
        part = report["classifier"]
        lines += [
            "## 2. FINClassifier on NinaPro DB1 S2 (accuracy on held-out repetitions)",
            "",
            f"Train: {part['train']}. Test: {part['test']}.",
            "",
            "| path | fit CPU (s) | fit wall (s) | imitator epochs (capped) | head epochs | "
            "fine-tune windows | fine-tune epochs (capped) | fine-tune kept | accuracy (%) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in part["rows"].items():
            lines.append(
                f"| {name} | {r['fit']['cpu_s']} | {r['fit']['wall_s']} | {r['imitator_epochs']} "
                f"({r['imitator_capped']}) | "
                f"{r['head_epochs']} | {r['fine_tune_windows']} | {r['fine_tune_epochs']} "
                f"({r['fine_tune_capped']}) | {r['fine_tuned']} | {r['accuracy']} |"
            )
        seeds = part.get("new_seeds") or {}
        if seeds:
            accs = [part["rows"]["new"]["accuracy"]] + [v["accuracy"] for v in seeds.values()]
            lines += [
                "",
                f"The new path at seeds 0, {', '.join(str(k) for k in seeds)}: "
                f"{' / '.join(f'{a:.2f}' for a in accs)} (mean {np.mean(accs):.2f}, sd "
                f"{np.std(accs, ddof=1):.2f}).",
            ]
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["imitator", "classifier"])
    parser.add_argument("--old-cap-s", type=float, default=150.0, help="CPU seconds")
    parser.add_argument("--test-windows", type=int, default=3000)
    parser.add_argument(
        "--new-seeds",
        nargs="*",
        type=int,
        default=[1, 2],
        help="further seeds of the new classifier (seed 0 is in the table)",
    )
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "results"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "bench_fin_speed.json"
    for key, part in (("imitator", imitator_part), ("classifier", classifier_part)):
        if key not in args.parts:
            continue
        run = dict(
            command="python benchmarks/bench_fin_speed.py " + " ".join(argv or sys.argv[1:]),
            machine=f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
            load_start=" ".join(f"{v:.2f}" for v in os.getloadavg()),
            old_cap_s=args.old_cap_s,
        )
        t_part = time.perf_counter()
        result = part(args, log)
        run["load_end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
        run["total_min"] = round((time.perf_counter() - t_part) / 60, 1)
        result["run"] = run
        # each part updates its own entry, so the parts may run as separate processes
        report = json.loads(path.read_text()) if path.exists() else {}
        report[key] = result
        path.write_text(json.dumps(report, indent=2))
    (out / "bench_fin_speed.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
