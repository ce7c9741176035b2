"""LSTM-FIN on long windows: one sample per LSTM step against several (``max_lstm_steps``).

At 1-2 kHz a 200 ms window holds 200-400 samples, and ``FeatureImitator`` trained its
LSTMs one sample per step: the fit grows with the window length (about 5 min at 200
samples and 10 at 400 on one core, against about 1 at the Myo armband's 52).
``max_lstm_steps=64`` reads ``ceil(n_times / 64)`` consecutive samples per step
instead (:func:`semgaug_sk.nn.fin.pack_steps`). This script measures both, one thing
changed, on three long-window geometries that no benchmark tests on:

- ``myo_1s``: Myo armband, evaluation subjects Female0, Female1 and Male0, session
  ``training0`` (1,000 ms windows, 100 ms step: 200 samples at 200 Hz), scored on
  Male1's ``training0``;
- ``db1_2s``: NinaPro DB1 subjects 11-13 (2,000 ms windows, 200 ms step: 200 samples
  at 100 Hz), scored on subject 14;
- ``sim_2khz``: the built-in simulator at 2 kHz (200 ms windows, 50 ms step: 400
  samples), simulated subjects seeded 100-102, scored on one seeded 103.

The imitator learns closed-form features without labels, so nothing here reads a
label or a test session of any benchmark. Each unit fits ``FeatureImitator()`` with
its defaults except ``max_lstm_steps`` and ``random_state`` (one torch thread) and
scores ``r2_per_feature`` on at most 2,000 seeded windows of the held-out subject.

**Rule, fixed before any unit ran.** The default becomes ``max_lstm_steps=64`` if, on
every geometry and for every feature, its mean R² over the seeds is at least the mean
R² of ``None`` (one sample per step) minus ``max(0.002, sd of None's R² over the
seeds)``. Otherwise the default is ``None`` and 64 stays an option. Windows of at most
64 samples (DB1's 20, Myo's 52 at their benchmark geometry) are read one sample per
step either way, so no other benchmark changes. (Verdict: 64; see the results.)

**Second question, rule fixed before its units ran (after the first verdict):** should
the cap be lower, so that the benchmark geometries are packed too? Arm ``max_16``
(``max_lstm_steps=16``) against ``max_64`` on the three long geometries and two short
ones: ``myo_260ms`` (the same Myo subjects and sessions, 260 ms windows with a 50 ms
step: 52 samples) and ``db1_200ms`` (DB1 subjects 11-13 -> 14, 200 ms windows with a
20 ms step: 20 samples); and ``FINClassifier()`` accuracy on DB1 subject 10's inner
split (``--fin``: train repetitions {1, 3, 4, 6, 8}, score {9, 10}, 200 ms / 20 ms; no
test repetition of any benchmark is read). 16 becomes the default if, on all five
geometries and for every feature, its mean R² is at least max_64's minus
``max(0.002, sd of max_64's R²)``, and its mean FINClassifier accuracy is at least
max_64's minus max_64's seed sd. Otherwise 64 stays.

Usage::

    python benchmarks/ablate_lstm_steps.py --out results/ablate_lstm_steps
    python benchmarks/ablate_lstm_steps.py --geometries sim_2khz --seeds 0 1 2 --out ...
    python benchmarks/ablate_lstm_steps.py --smoke --out /tmp/als   # a minute: checks the script

Units append to ``<out>/units.jsonl`` as they finish (``--resume`` skips those done);
``<out>/summary.md`` is rewritten from all units after each one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from semgaug_sk.datasets import load_myo_armband, load_ninapro, make_semg_gestures
from semgaug_sk.imitation import FeatureImitator, FINClassifier
from semgaug_sk.windows import sliding_windows

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ARMS = {"per_sample": None, "max_64": 64, "max_16": 16}
GEOMETRIES = ("myo_1s", "db1_2s", "sim_2khz", "myo_260ms", "db1_200ms")
#: (arm, the arm it is measured against, the geometries its rule needs)
QUESTIONS = (("max_64", "per_sample", GEOMETRIES[:3]), ("max_16", "max_64", GEOMETRIES))
FIN_SUBJECT, FIN_TRAIN_REPS, FIN_SCORED_REPS = 10, (1, 3, 4, 6, 8), (9, 10)
MAX_SCORED = 2000


def _windows(rec, window_ms, step_ms):
    return sliding_windows(rec, window_ms=window_ms, step_ms=step_ms, include_rest=True).X


def load_geometry(name, smoke=False):
    """Training and held-out windows ``(X_train, X_test)`` of one geometry."""
    if name in ("myo_1s", "myo_260ms"):
        root = SHARED / "myo_armband_cote_allard"
        window, step = (1000.0, 100.0) if name == "myo_1s" else (260.0, 50.0)

        def cut(subjects):
            rec = load_myo_armband(root, subjects=subjects, sessions="training0")
            return _windows(rec, window, step)

        return cut(["Female0", "Female1", "Male0"]), cut(["Male1"])
    if name in ("db1_2s", "db1_200ms"):
        root = SHARED / "ninapro_db1_e1"
        window, step = (2000.0, 200.0) if name == "db1_2s" else (200.0, 20.0)
        return (
            _windows(load_ninapro(root, subjects=[11, 12, 13], fs=100.0), window, step),
            _windows(load_ninapro(root, subjects=[14], fs=100.0), window, step),
        )
    if name == "sim_2khz":
        reps = 2 if smoke else 6

        def simulate(seed):
            rec = make_semg_gestures(n_repetitions=reps, fs=2000.0, random_state=seed)
            return _windows(rec, 200.0, 50.0)

        return np.concatenate([simulate(s) for s in (100, 101, 102)]), simulate(103)
    raise ValueError(f"unknown geometry {name!r}; choose from {GEOMETRIES}")


def run_unit(geometry, arm, seed, X_train, X_test, smoke=False):
    """Fit one imitator and score it; returns the unit's record."""
    params = dict(max_lstm_steps=ARMS[arm], random_state=seed)
    if smoke:
        params.update(max_epochs=1, max_sequences=400)
    rng = np.random.default_rng(seed)
    scored = X_test
    if len(X_test) > MAX_SCORED:
        scored = X_test[np.sort(rng.choice(len(X_test), MAX_SCORED, replace=False))]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    imitator = FeatureImitator(**params).fit(X_train)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return dict(
        geometry=geometry,
        arm=arm,
        seed=seed,
        n_times=int(X_train.shape[2]),
        samples_per_step=int(imitator.module_kwargs_.get("samples_per_step", 1)),
        n_train_windows=int(len(X_train)),
        n_scored_windows=int(len(scored)),
        fit_cpu_s=round(cpu, 2),
        fit_wall_s=round(wall, 2),
        n_epochs=int(imitator.n_epochs_),
        r2={k: float(v) for k, v in imitator.r2_per_feature(scored).items()},
    )


def fin_split(smoke=False):
    """DB1 subject 10's inner split: ``(X, y, X_scored, y_scored)``, 200 ms / 20 ms windows."""
    rec = load_ninapro(SHARED / "ninapro_db1_e1", subjects=[FIN_SUBJECT], fs=100.0)
    w = sliding_windows(rec, window_ms=200.0, step_ms=20.0)
    train, scored = np.isin(w.repetition, FIN_TRAIN_REPS), np.isin(w.repetition, FIN_SCORED_REPS)
    if smoke:
        train &= np.arange(len(w.y)) % 20 == 0
        scored &= np.arange(len(w.y)) % 20 == 0
    return w.X[train], w.y[train], w.X[scored], w.y[scored]


def run_fin_unit(arm, seed, split, smoke=False):
    """Fit ``FINClassifier`` with the arm's imitator on the inner split; the unit's record."""
    X, y, X_scored, y_scored = split
    imitator = dict(max_lstm_steps=ARMS[arm])
    params = {}
    if smoke:
        imitator.update(max_epochs=1, max_sequences=200, hidden_size=4)
        params.update(max_epochs=2, fine_tune_epochs=1)
    clf = FINClassifier(FeatureImitator(**imitator), random_state=seed, **params)
    cpu0 = time.process_time()
    clf.fit(X, y)
    return dict(
        arm=arm,
        seed=seed,
        samples_per_step=int(clf.imitator_.module_kwargs_["samples_per_step"]),
        fit_cpu_s=round(time.process_time() - cpu0, 1),
        accuracy=round(100 * float(clf.score(X_scored, y_scored)), 2),
    )


def _fin_verdict(fin_units, arm, against):
    """``(passes, accuracy of arm, of against, seed sd of against)``, or None."""
    new = [u["accuracy"] for u in fin_units if u["arm"] == arm]
    base = [u["accuracy"] for u in fin_units if u["arm"] == against]
    if not new or not base:
        return None
    sd = float(np.std(base, ddof=1)) if len(base) > 1 else 0.0
    return bool(np.mean(new) >= np.mean(base) - sd), float(np.mean(new)), float(np.mean(base)), sd


def _verdict(units, geometry, arm, against):
    """``(passes, speed-up, seeds of against, seeds of arm)`` of one rule on one geometry."""
    base = [u for u in units if u["geometry"] == geometry and u["arm"] == against]
    new = [u for u in units if u["geometry"] == geometry and u["arm"] == arm]
    if not base or not new:
        return None
    ok = True
    for f in base[0]["r2"]:
        b = np.array([u["r2"][f] for u in base])
        n = np.array([u["r2"][f] for u in new])
        margin = max(0.002, b.std(ddof=1) if len(b) > 1 else 0.0)
        ok &= bool(n.mean() >= b.mean() - margin)
    speed = np.mean([u["fit_cpu_s"] for u in base]) / np.mean([u["fit_cpu_s"] for u in new])
    return ok, speed, len(base), len(new)


def summarise(units, fin_units=()):
    """Markdown: mean ± sd over seeds of R² and CPU time per geometry and arm, the
    FINClassifier accuracies of ``--fin``, and the rules."""
    lines = [
        "| geometry | arm | samples/step | seeds | fit CPU s | epochs | R² rms | R² var | R² ssi | R² ent |",
        "|---|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for geometry in GEOMETRIES:
        by_arm = {
            a: [u for u in units if u["geometry"] == geometry and u["arm"] == a] for a in ARMS
        }
        if not any(by_arm.values()):
            continue
        for arm, rows in by_arm.items():
            if not rows:
                continue
            feats = list(rows[0]["r2"])
            r2 = {f: np.array([u["r2"][f] for u in rows]) for f in feats}
            cpu = np.array([u["fit_cpu_s"] for u in rows])
            cells = " | ".join(
                f"{r2[f].mean():.4f} ± {r2[f].std(ddof=1) if len(rows) > 1 else 0:.4f}"
                for f in feats
            )
            lines.append(
                f"| {geometry} | {arm} | {rows[0]['samples_per_step']} | {len(rows)} | "
                f"{cpu.mean():.0f} ± {cpu.std(ddof=1) if len(rows) > 1 else 0:.0f} | "
                f"{np.mean([u['n_epochs'] for u in rows]):.1f} | {cells} |"
            )
    if fin_units:
        lines += [
            "",
            f"FINClassifier on DB1 S{FIN_SUBJECT}, repetitions {list(FIN_TRAIN_REPS)} -> "
            f"{list(FIN_SCORED_REPS)}:",
            "",
            "| arm | samples/step | seeds | fit CPU s | accuracy (%) |",
            "|---|---:|---:|---:|---|",
        ]
        for arm in ARMS:
            rows = [u for u in fin_units if u["arm"] == arm]
            if rows:
                acc = [u["accuracy"] for u in rows]
                lines.append(
                    f"| {arm} | {rows[0]['samples_per_step']} | {len(rows)} | "
                    f"{np.mean([u['fit_cpu_s'] for u in rows]):.0f} | {np.mean(acc):.2f} "
                    f"({', '.join(f'{a:.2f}' for a in acc)}) |"
                )
    lines.append("")
    for arm, against, needed in QUESTIONS:
        verdicts = [_verdict(units, g, arm, against) for g in needed]
        for geometry, verdict in zip(needed, verdicts, strict=True):
            if verdict is not None:
                ok, speed, nb, nn = verdict
                lines.append(
                    f"- {geometry}: {arm} {'passes' if ok else 'fails'} the rule against "
                    f"{against} ({nb} vs {nn} seeds), fit {speed:.1f}x faster in CPU time"
                )
        if against != "per_sample":  # the second question also needs the classifier
            fin = _fin_verdict(fin_units, arm, against)
            if fin is not None:
                lines.append(
                    f"- FINClassifier: {arm} {fin[1]:.2f}% against {fin[2]:.2f}% (seed sd "
                    f"{fin[3]:.2f}): {'passes' if fin[0] else 'fails'}"
                )
            verdicts.append(fin)
        if all(v is not None for v in verdicts):
            adopt = all(v[0] for v in verdicts)
            lines.append(f"- **Rule ({arm} against {against}): {'adopt' if adopt else 'keep'}**")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geometries", nargs="+", choices=GEOMETRIES, default=list(GEOMETRIES))
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("results/ablate_lstm_steps"))
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="tiny budget: checks the script")
    parser.add_argument(
        "--fin", action="store_true", help="FINClassifier on the DB1 inner split instead"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "units.jsonl"
    done = set()
    if args.resume and log.exists():
        done = {
            (u["geometry"], u["arm"], u["seed"])
            for u in map(json.loads, log.read_text().splitlines())
        }
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    fin_log = args.out / "fin_units.jsonl"

    def read(path):
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def record(unit, path):
        """Append a finished unit to its log and rewrite the summary from both logs."""
        unit.update(commit=commit, host=platform.node(), threads=torch.get_num_threads())
        with path.open("a") as fh:
            fh.write(json.dumps(unit) + "\n")
        print(json.dumps(unit), flush=True)
        (args.out / "summary.md").write_text(summarise(read(log), read(fin_log)))

    if args.fin:
        split = fin_split(args.smoke)
        done_fin = {(u["arm"], u["seed"]) for u in read(fin_log)} if args.resume else set()
        for seed in args.seeds:
            for arm in args.arms:
                if (arm, seed) in done_fin:
                    continue
                record(run_fin_unit(arm, seed, split, smoke=args.smoke), fin_log)
        return 0
    for geometry in args.geometries:
        X_train, X_test = load_geometry(geometry, smoke=args.smoke)
        if args.smoke:
            X_train, X_test = X_train[:100], X_test[:50]
        for seed in args.seeds:
            for arm in args.arms:
                if (geometry, arm, seed) in done:
                    continue
                record(run_unit(geometry, arm, seed, X_train, X_test, smoke=args.smoke), log)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
