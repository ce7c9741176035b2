"""FINClassifier ablation on an inner split of DB1 S2's training repetitions.

Trains on repetitions {1, 3, 4, 6, 8} and scores on {9, 10}; the test repetitions
{2, 5, 7} are never read. One imitator per seed (cached in the temporary folder) is
shared by every variant, so only the head and fine-tuning differ.

    python benchmarks/fin_ablation/head_exp.py '{"e40": {"max_epochs": 40}}' 0,1,2

Logs of the runs behind the defaults: ``results/fin_ablation/head_budget.jsonl``.
"""

import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from semgaug_sk.datasets import load_ninapro
from semgaug_sk.imitation import FeatureImitator, FINClassifier
from semgaug_sk.windows import sliding_windows

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def main():
    torch.set_num_threads(1)
    subject = int(os.environ.get("SUBJ", 2))
    rec = load_ninapro(SHARED / "ninapro_db1_e1", subjects=[subject], fs=100.0)
    w = sliding_windows(rec, window_ms=200, step_ms=20)
    inner_train = np.isin(w.repetition, (1, 3, 4, 6, 8))
    inner_valid = np.isin(w.repetition, (9, 10))
    X, y = w.X[inner_train], w.y[inner_train]
    X_valid, y_valid = w.X[inner_valid], w.y[inner_valid]
    variants = json.loads(sys.argv[1])
    for seed in (int(s) for s in sys.argv[2].split(",")):
        cache = Path(tempfile.gettempdir()) / f"fin_ablation_imitator_s{subject}_{seed}.pkl"
        if cache.exists():
            imitator = pickle.loads(cache.read_bytes())
        else:
            imitator = FeatureImitator(random_state=seed).fit(X)
            cache.write_bytes(pickle.dumps(imitator))
        for name, params in variants.items():
            t0 = time.process_time()
            clf = FINClassifier(imitator, random_state=seed, **params).fit(X, y)
            row = dict(
                variant=name,
                seed=seed,
                cpu=round(time.process_time() - t0, 1),
                acc=round(100 * clf.score(X_valid, y_valid), 2),
                head_epochs=len(clf.head_net_.history),
                ft=clf.fine_tuned_,
            )
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
