"""How far from its own scale is a target that recorded only some of the gestures?

A population prior divides each subject's windows by that subject's channel RMS over all
its gestures, and a target's windows are divided the same way before the prior's
networks read them. A target that recorded only some gestures has another RMS: quiet
gestures alone give a smaller one. ``PopulationPrior.target_scale`` corrects the RMS
for the target's mix of classes with the population's per-class powers
(:func:`semgaug_sk.augmentation.prior.class_power`).

For each target subject this takes the pool of other people's windows that
``benchmarks/population.py`` pretrains on (same loader, same 600 windows per subject),
computes the class powers from it, and then, for random halves of the target's gestures
(its low-data training windows), compares two scales with the target's channel RMS over
all its gestures, the scale pretraining would have given it: the plain channel RMS of the
half, and ``target_scale``. Reported: the median over channels and draws of
``|scale / reference - 1|``, per target. No network is trained.

Usage::

    python benchmarks/probe_target_scale.py --datasets db1 myo --draws 20 \\
        --out results/probe_target_scale.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import population  # noqa: E402
from protocols import code_version, subject_names  # noqa: E402

from semgaug_sk.augmentation.prior import class_power, target_scale  # noqa: E402
from semgaug_sk.preprocessing import channel_rms  # noqa: E402


def scale_errors(pool, train, draws, rng):
    """Median ``|scale / reference - 1|`` of the plain RMS and of ``target_scale``."""
    X_pool, y_pool, groups = pool
    classes = np.unique(y_pool)
    normalised = np.empty(X_pool.shape, dtype=np.float64)
    for subject in np.unique(groups):
        rows = groups == subject
        normalised[rows] = X_pool[rows] / channel_rms(X_pool[rows])[:, None]
    power = class_power(normalised, y_pool, groups, classes)
    reference = channel_rms(train.X)
    own = np.unique(train.y)
    plain, corrected = [], []
    for _ in range(draws):
        half = rng.choice(own, max(1, len(own) // 2), replace=False)
        keep = np.isin(train.y, half)
        X, y = train.X[keep], train.y[keep]
        plain.append(np.abs(channel_rms(X) / reference - 1))
        corrected.append(np.abs(target_scale(X, y, classes, power) / reference - 1))
    return float(np.median(plain)), float(np.median(corrected))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["db1", "myo"])
    parser.add_argument("--targets", type=int, default=5)
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/probe_target_scale.md"))
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    lines = [
        "# A target with half of the gestures: its scale against its all-gesture RMS",
        "",
        f"`python benchmarks/probe_target_scale.py --datasets {' '.join(args.datasets)} "
        f"--draws {args.draws}` (code {code_version()}). Median over channels and "
        f"{args.draws} random halves of the gestures of `|scale / all-gesture RMS - 1|`; the "
        "target's windows are its low-data training windows, the class powers come from "
        "the population pool of `benchmarks/population.py`.",
        "",
        "| data set | target | channel RMS of the half | `target_scale` |",
        "|---|---|---:|---:|",
    ]
    records = []
    for dataset in args.datasets:
        pool = None
        for subject in subject_names(dataset)[: args.targets]:
            train, _ = population.target_split(dataset, subject, "low_data")
            if pool is None or dataset != "myo":  # Myo's pool is every target's
                pool = population.pool_windows(dataset, subject, 600, 0)
            plain, corrected = scale_errors(pool, train, args.draws, rng)
            records.append(dict(dataset=dataset, subject=subject, plain=plain, corrected=corrected))
            lines.append(f"| {dataset} | {subject} | {100 * plain:.1f}% | {100 * corrected:.1f}% |")
            print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
