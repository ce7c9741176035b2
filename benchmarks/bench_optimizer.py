"""Fused against per-tensor Adam/AdamW: training throughput of the library's networks.

Every skorch net of the library trains with torch's fused Adam/AdamW where the
device has it (:func:`semgaug_sk.utils.torch_utils.fused_adam_kwargs`). This
script measures what that buys, side by side in one process: for each network
it alternates fits with the fused and with the per-tensor optimizer
(``--repeats`` times each, one torch thread) and reports the median
throughput of each and their ratio.

Networks, on one subject's low-data training set (DB1 S1 repetitions {1, 2};
Myo Male0 cycle 0 of ``training0``; the simulator when ``--dataset sim``):

- the SASG diffusion model (label-conditioned, default size), optimizer steps/s;
- the SemanticEncoder (default size), epochs/s;
- the FeatureImitator (default per-feature LSTMs), epochs/s.

Usage::

    python benchmarks/bench_optimizer.py                      # DB1 and Myo, about 6 minutes
    python benchmarks/bench_optimizer.py --datasets sim --repeats 1

Results go to ``results/bench_optimizer.md`` and ``.json``.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from semgaug_sk.augmentation import SASGAugmenter  # noqa: E402
from semgaug_sk.datasets import load_myo_armband, load_ninapro, make_semg_gestures  # noqa: E402
from semgaug_sk.encoders import SemanticEncoder  # noqa: E402
from semgaug_sk.imitation import FeatureImitator  # noqa: E402
from semgaug_sk.model_selection import select_windows  # noqa: E402
from semgaug_sk.utils import torch_utils  # noqa: E402
from semgaug_sk.windows import sliding_windows  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "results"


def training_windows(dataset):
    if dataset == "db1":
        rec = load_ninapro(SHARED / "ninapro_db1_e1", subjects=[1], fs=100.0)
        w = sliding_windows(rec, window_ms=200.0, step_ms=100.0)
        return "NinaPro DB1 S1, reps {1,2}", select_windows(w, np.isin(w.repetition, [1, 2]))
    if dataset == "myo":
        rec = load_myo_armband(
            SHARED / "myo_armband_cote_allard",
            subjects=["Male0"],
            dataset="evaluation",
            sessions=("training0",),
        )
        w = sliding_windows(rec, window_ms=260.0, step_ms=100.0, rest_label=None)
        return "Myo Male0, training0 cycle 0", select_windows(w, w.repetition == 0)
    rec = make_semg_gestures(random_state=0)
    w = sliding_windows(rec, window_ms=200.0, step_ms=100.0)
    return "simulator, reps {1,2}", select_windows(w, np.isin(w.repetition, [1, 2]))


def networks(n_steps, n_epochs):
    """``{name: (make_estimator, fit, units_done, unit)}``."""
    return {
        "SASG diffusion": (
            lambda: SASGAugmenter(condition="label", n_steps=n_steps, random_state=0),
            lambda est, X, y: est.fit(X, y),
            lambda est: est.n_train_steps_,
            "steps/s",
        ),
        "SemanticEncoder": (
            lambda: SemanticEncoder(max_epochs=n_epochs, validation_fraction=0, random_state=0),
            lambda est, X, y: est.fit(X, y),
            lambda est: len(est.net_.history),
            "epochs/s",
        ),
        "FeatureImitator": (
            lambda: FeatureImitator(max_epochs=max(1, n_epochs // 10), random_state=0),
            lambda est, X, y: est.fit(X),
            lambda est: est.n_epochs_,
            "epochs/s",
        ),
    }


def measure(make, fit, done, X, y, fused):
    devices = torch_utils._FUSED_ADAM_DEVICES
    if not fused:  # the library's only switch: no device type has fused kernels
        torch_utils._FUSED_ADAM_DEVICES = frozenset()
    try:
        est = make()
        t0 = time.perf_counter()
        fit(est, X, y)
        return done(est) / (time.perf_counter() - t0)
    finally:
        torch_utils._FUSED_ADAM_DEVICES = devices


def run(datasets, repeats, n_steps, n_epochs):
    torch.set_num_threads(1)
    rows = []
    for dataset in datasets:
        desc, train = training_windows(dataset)
        for name, (make, fit, done, unit) in networks(n_steps, n_epochs).items():
            speeds = {True: [], False: []}
            for _ in range(repeats):
                for fused in (False, True):  # alternate, so drifts in machine load hit both
                    speeds[fused].append(measure(make, fit, done, train.X, train.y, fused))
            per_tensor, fused = np.median(speeds[False]), np.median(speeds[True])
            rows.append(
                dict(
                    dataset=desc,
                    network=name,
                    unit=unit,
                    per_tensor=float(per_tensor),
                    fused=float(fused),
                    ratio=float(fused / per_tensor),
                    windows=int(len(train.X)),
                )
            )
            print(f"{desc} | {name}: {per_tensor:.2f} -> {fused:.2f} {unit}", flush=True)
    return rows


def write(rows, repeats, wall):
    lines = [
        "# Fused against per-tensor Adam/AdamW",
        "",
        f"{platform.machine()}, Python {platform.python_version()}, torch {torch.__version__}, one torch thread; "
        f"`benchmarks/bench_optimizer.py`, median of {repeats} alternating fits each, "
        f"{wall / 60:.1f} min in all.",
        "",
        "| data | network | per-tensor | fused | fused / per-tensor |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} ({r['windows']} windows) | {r['network']} | "
            f"{r['per_tensor']:.2f} {r['unit']} | {r['fused']:.2f} {r['unit']} | "
            f"{r['ratio']:.2f} |"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_optimizer.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "bench_optimizer.json").write_text(json.dumps(rows, indent=1))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--datasets", nargs="+", choices=("db1", "myo", "sim"), default=["db1", "myo"]
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-steps", type=int, default=150, help="diffusion steps per fit")
    parser.add_argument("--n-epochs", type=int, default=20, help="encoder epochs per fit")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    rows = run(args.datasets, args.repeats, args.n_steps, args.n_epochs)
    print(write(rows, args.repeats, time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
