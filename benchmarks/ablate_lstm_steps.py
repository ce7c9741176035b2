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
step either way, so no other benchmark changes.

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
from semgaug_sk.imitation import FeatureImitator
from semgaug_sk.windows import sliding_windows

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ARMS = {"per_sample": None, "max_64": 64}
GEOMETRIES = ("myo_1s", "db1_2s", "sim_2khz")
MAX_SCORED = 2000


def _windows(rec, window_ms, step_ms):
    return sliding_windows(rec, window_ms=window_ms, step_ms=step_ms, include_rest=True).X


def load_geometry(name, smoke=False):
    """Training and held-out windows ``(X_train, X_test)`` of one geometry."""
    if name == "myo_1s":
        root = SHARED / "myo_armband_cote_allard"

        def cut(subjects):
            rec = load_myo_armband(root, subjects=subjects, sessions="training0")
            return _windows(rec, 1000.0, 100.0)

        return cut(["Female0", "Female1", "Male0"]), cut(["Male1"])
    if name == "db1_2s":
        root = SHARED / "ninapro_db1_e1"
        return (
            _windows(load_ninapro(root, subjects=[11, 12, 13], fs=100.0), 2000.0, 200.0),
            _windows(load_ninapro(root, subjects=[14], fs=100.0), 2000.0, 200.0),
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


def summarise(units):
    """Markdown: mean ± sd over seeds of R² and CPU time per geometry and arm, and the rule."""
    lines = [
        "| geometry | arm | samples/step | seeds | fit CPU s | epochs | R² rms | R² var | R² ssi | R² ent |",
        "|---|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    verdicts = []
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
        base, new = by_arm["per_sample"], by_arm["max_64"]
        if base and new:
            ok = True
            for f in base[0]["r2"]:
                b = np.array([u["r2"][f] for u in base])
                n = np.array([u["r2"][f] for u in new])
                margin = max(0.002, b.std(ddof=1) if len(b) > 1 else 0.0)
                ok &= bool(n.mean() >= b.mean() - margin)
            speed = np.mean([u["fit_cpu_s"] for u in base]) / np.mean([u["fit_cpu_s"] for u in new])
            verdicts.append((geometry, ok, speed, len(base), len(new)))
    lines.append("")
    for geometry, ok, speed, nb, nn in verdicts:
        lines.append(
            f"- {geometry}: max_64 {'passes' if ok else 'fails'} the rule "
            f"({nb} vs {nn} seeds), fit {speed:.1f}x faster in CPU time"
        )
    if verdicts and len(verdicts) == len(GEOMETRIES):
        adopt = all(ok for _, ok, *_ in verdicts)
        lines.append(f"- **Rule: default {'max_lstm_steps=64' if adopt else 'None'}**")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geometries", nargs="+", choices=GEOMETRIES, default=list(GEOMETRIES))
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("results/ablate_lstm_steps"))
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="tiny budget: checks the script")
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
    for geometry in args.geometries:
        X_train, X_test = load_geometry(geometry, smoke=args.smoke)
        if args.smoke:
            X_train, X_test = X_train[:100], X_test[:50]
        for seed in args.seeds:
            for arm in args.arms:
                if (geometry, arm, seed) in done:
                    continue
                unit = run_unit(geometry, arm, seed, X_train, X_test, smoke=args.smoke)
                unit.update(commit=commit, host=platform.node(), threads=torch.get_num_threads())
                with log.open("a") as fh:
                    fh.write(json.dumps(unit) + "\n")
                print(json.dumps(unit), flush=True)
                units = [json.loads(line) for line in log.read_text().splitlines()]
                (args.out / "summary.md").write_text(summarise(units))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
