"""What ``class_weight="balanced"`` does for the downstream networks on an imbalanced training set.

The low-data protocol of ``protocols.subject_split`` (DB1 repetitions {1, 2} → the other
repetitions; Myo's first ``training0`` cycle → ``Test0``), made imbalanced on purpose: per
(subject, seed), a seeded half of the classes keeps only ``KEEP`` of its training windows
(a seeded subset), the others keep all of theirs, and the test windows are left whole. A
:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier` at its defaults is trained with
``class_weight=None`` (the default) and with ``"balanced"``, from the same seed.

Reported per dataset, mean ± sd over subjects of the per-subject mean over seeds: test
accuracy, balanced accuracy (mean recall over classes) and the mean recall of the reduced
classes, and the paired difference ``balanced − None``. This measures an option; it chooses
no default (``class_weight`` stays None), so the test repetitions may be read.

Usage::

    python benchmarks/bench_class_weight.py --datasets db1 myo --subjects 5 --seeds 0 1 \\
        --out results/bench_class_weight
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, recall_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import ablation_main  # noqa: E402
from ablate_time_warp import _per_subject, _sd  # noqa: E402
from protocols import code_version, subject_names, subject_split  # noqa: E402

from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402
from semgaug_sk.model_selection import select_windows  # noqa: E402

#: Fraction of its training windows a reduced class keeps.
KEEP = 0.2
VARIANTS = {"none": None, "balanced": "balanced"}
#: Constructor overrides of the network (empty: the library's defaults); the tests shrink it.
STC_PARAMS: dict = {
    "min_steps": None
}  # STC as measured: before its 4000-step floor (min_steps) became the default


def imbalance(train, seed, keep=KEEP):
    """``(train, reduced)``: ``train`` with a seeded half of its classes cut to ``keep`` of
    their windows (at least one each, a seeded subset), and the reduced classes."""
    rng = np.random.default_rng([seed, 7])
    classes = np.unique(train.y)
    reduced = np.sort(rng.choice(classes, size=len(classes) // 2, replace=False))
    mask = np.ones(len(train.y), dtype=bool)
    for c in reduced:
        rows = np.flatnonzero(train.y == c)
        n_keep = max(1, int(round(keep * len(rows))))
        mask[rows] = False
        mask[np.sort(rng.choice(rows, size=n_keep, replace=False))] = True
    return select_windows(train, mask), reduced


def run_unit(dataset, subject, seed):
    """Test accuracy, balanced accuracy and the reduced classes' recall per variant."""
    torch.set_num_threads(1)
    train, test = subject_split(dataset, subject, regime="low_data")
    train, reduced = imbalance(train, seed)
    unit = {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_train": len(train.y),
        "n_test": len(test.y),
        "reduced_classes": reduced.tolist(),
        "keep": KEEP,
        "accuracy": {},
        "balanced_accuracy": {},
        "reduced_recall": {},
        "code": code_version(),
    }
    for name, class_weight in VARIANTS.items():
        net = SpatioTemporalClassifier(class_weight=class_weight, random_state=seed, **STC_PARAMS)
        predicted = net.fit(train.X, train.y).predict(test.X)
        unit["accuracy"][name] = float(np.mean(predicted == test.y))
        unit["balanced_accuracy"][name] = float(balanced_accuracy_score(test.y, predicted))
        recalls = recall_score(test.y, predicted, labels=reduced, average=None, zero_division=0)
        unit["reduced_recall"][name] = float(np.mean(recalls))
    return unit


def _cell(units, dataset, value, sign=""):
    means, seed_sd = _per_subject(units, dataset, value)
    return f"{means.mean():{sign}.1f} ± {_sd(means):.1f} ({seed_sd:.1f})"


def write_report(units, path):
    metrics = (
        ("accuracy", "accuracy"),
        ("balanced_accuracy", "balanced accuracy"),
        ("reduced_recall", "recall of the reduced classes"),
    )
    lines = [
        "# `class_weight` on an imbalanced training set (SpatioTemporalClassifier)",
        "",
        "`python benchmarks/bench_class_weight.py`: the low-data protocol with a seeded half of "
        f"the classes cut to {KEEP:g} of their training windows (test windows whole); "
        "SpatioTemporalClassifier at its defaults with `class_weight=None` and `'balanced'`, "
        "same seed. In %, mean ± sd over subjects of the per-subject mean over seeds (mean seed "
        "sd in brackets); the last column is the paired difference balanced − None.",
        "",
        "| dataset | subjects × seeds | metric | None | balanced | balanced − None |",
        "|---|---|---|---:|---:|---:|",
    ]
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        size = f"{len({u['subject'] for u in mine})} × {len({u['seed'] for u in mine})}"
        for key, label in metrics:
            cells = [_cell(mine, dataset, lambda u, k=key, v=v: 100 * u[k][v]) for v in VARIANTS]
            gain = _cell(
                mine, dataset, lambda u, k=key: 100 * (u[k]["balanced"] - u[k]["none"]), sign="+"
            )
            lines.append(f"| {dataset} | {size} | {label} | {cells[0]} | {cells[1]} | {gain} |")
    Path(path).write_text("\n".join(lines) + "\n")


def main(argv=None):
    return ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="bench_class_weight",
        run=lambda args, dataset, subject, seed: run_unit(dataset, subject, seed),
        write=write_report,
        subject_names=subject_names,
        datasets=("db1", "myo"),
    )


if __name__ == "__main__":
    main()
