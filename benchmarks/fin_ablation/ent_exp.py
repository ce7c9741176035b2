"""Imitator ablation on Myo: input channels of the ent network, hidden size, learning rate.

Trains ``FeatureImitator(features, random_state=0, **params)`` on three Myo evaluation
subjects (260 ms windows, 50 ms step) and prints its R² on (up to) 3,000 windows of a held-out
subject (Male1, the selection subject; ``benchmarks/bench_fin_speed.py`` reports on Male2).

    python benchmarks/fin_ablation/ent_exp.py ent cur,prob,dens,dens_only
    python benchmarks/fin_ablation/ent_exp.py rms,var,ssi,ent cur '{"hidden_size": 16}'
    SEED=1 python benchmarks/fin_ablation/ent_exp.py rms,var,ssi,ent cur   # another seed (default 0)

Variants replace the channels of the ent network (``cur``: the library's).
Logs of the runs behind the defaults: ``results/fin_ablation/``.
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

import semgaug_sk.nn.fin as fin
from semgaug_sk.datasets import load_myo_armband
from semgaug_sk.imitation import FeatureImitator
from semgaug_sk.windows import sliding_windows

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
ORIGINAL = fin.feature_channels


def myo(subjects):
    # training0 only: Test0/Test1 are the benchmarks' test sessions (runs before 2026-12-05
    # read every session, so the choice in results/fin_ablation/ saw them, unlabelled)
    rec = load_myo_armband(
        SHARED / "myo_armband_cote_allard",
        subjects=list(subjects),
        dataset="evaluation",
        sessions=("training0",),
    )
    # rest_label=0: the logged runs dropped label 0 (Neutral), as sliding_windows did
    # before Myo recordings carried rest_label=None
    return sliding_windows(rec, window_ms=260, step_ms=50, rest_label=0).X


def ent_channels(channels):
    def choose(degree, centered, entropy_density=False):
        return channels if degree == fin.ENT_DEGREE else ORIGINAL(degree, centered)

    return choose


VARIANTS = {
    "cur": None,
    "legacy": ent_channels(("softmax", "centered_shape")),
    "dens": ent_channels(("softmax", "softmax_entropy", "centered_shape")),
    "dens_only": ent_channels(("softmax_entropy",)),
}


def main():
    torch.set_num_threads(1)
    features = tuple(sys.argv[1].split(","))
    params = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    X = myo(("Female0", "Female1", "Male0"))
    X_test = myo(["Male1"])
    rng = np.random.default_rng(1)
    X_test = X_test[np.sort(rng.choice(len(X_test), min(3000, len(X_test)), False))]
    seed = int(os.environ.get("SEED", 0))
    for name in sys.argv[2].split(","):
        fin.feature_channels = VARIANTS[name] or ORIGINAL
        t0 = time.process_time()
        est = FeatureImitator(features, random_state=seed, **params).fit(X)
        r2 = {k: round(v, 4) for k, v in est.r2_per_feature(X_test).items()}
        cpu = time.process_time() - t0
        print(name, params, f"seed {seed} cpu {cpu:.1f}s epochs {est.n_epochs_}", r2, flush=True)
    fin.feature_channels = ORIGINAL


if __name__ == "__main__":
    main()
