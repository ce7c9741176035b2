"""FINClassifier, new against previous defaults, on more seeds (bench_fin_speed's setting).

DB1 S2, repetitions {1, 3, 4, 6, 8, 9, 10} (20 ms step) against {2, 5, 7}; reporting
only, nothing is chosen here.

    python benchmarks/fin_ablation/fin_seeds.py 1 2

Log: ``results/fin_ablation/classifier_seeds.jsonl``.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench_fin_speed as bench  # noqa: E402

from semgaug_sk.datasets import load_ninapro  # noqa: E402
from semgaug_sk.imitation import FeatureImitator, FINClassifier  # noqa: E402
from semgaug_sk.windows import sliding_windows  # noqa: E402


def main():
    torch.set_num_threads(1)
    rec = load_ninapro(bench.SHARED / "ninapro_db1_e1", subjects=[2], fs=100.0)
    w = sliding_windows(rec, window_ms=200, step_ms=20)
    train = np.isin(w.repetition, bench.DB1_TRAIN_REPS)
    test = np.isin(w.repetition, bench.DB1_TEST_REPS)
    for seed in (int(s) for s in sys.argv[1:] or ("1", "2")):
        for name in ("new", "previous"):
            imitator_params, params, _ = bench.PATHS[name]
            imitator = FeatureImitator(**imitator_params) if imitator_params else None
            t0 = time.process_time()
            clf = FINClassifier(imitator, random_state=seed, **params).fit(w.X[train], w.y[train])
            cpu = round(time.process_time() - t0, 1)
            acc = round(100 * clf.score(w.X[test], w.y[test]), 2)
            print(json.dumps(dict(path=name, seed=seed, cpu=cpu, accuracy=acc)), flush=True)


if __name__ == "__main__":
    main()
