"""Is the spatio-temporal network under-trained at its default budget? Epochs, inner split.

``benchmarks/ablate_training_length.py`` found that repeating the real windows three times
(three times the optimiser steps, nothing new) gives
:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier` what classic augmentation gives
it on DB1 and UCI. If so, the network is under-trained at its default ``max_epochs=60`` on
a few hundred windows, and a longer budget helps it without any augmentation. This script
measures the dose on the same inner split (the test repetitions are never loaded),
changing only ``max_epochs`` (the cosine schedule spans it): 60 (the default), 120 and 240,
on the real windows only.

**The rule, fixed before the first unit ran.** Per data set, take the paired difference
``epochs_240 − epochs_60`` (mean over subjects of the per-subject mean over seeds) and the
mean over subjects of its sd over seeds. STC is *under-trained at its default* when that
difference exceeds its seed sd on at least 2 of the 3 data sets and ``epochs_120 −
epochs_60`` is positive on at least 2. The default does not change on this result alone:
a longer or windows-seen budget changes every network figure of the benchmarks, so it is
chosen with the standard preset rerun beside it, and its cost (fit time grows with the
epochs) is reported with it.

Usage::

    python benchmarks/ablate_network_budget.py --datasets db1 myo uci --subjects 4 \\
        --seeds 0 1 2 --out results/ablate_network_budget
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import inner_split, inner_split_note  # noqa: E402
from inner_units import add_unit_arguments, paired, paired_cell, run_units  # noqa: E402
from protocols import read_jsonl  # noqa: E402

from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402

EPOCHS = (60, 120, 240)
ARMS = tuple(f"epochs_{e}" for e in EPOCHS)
JSONL = "ablate_network_budget.jsonl"
#: Constructor overrides (empty: the library's defaults); the tests shrink them.
SIZES: dict = {
    "stc": {"min_steps": None}
}  # STC as measured: before its 4000-step floor (min_steps) became the default
#: The network, in the records' layout of ``ablate_training_length`` (``accuracy[network]``).
NETWORK = "stc"


def run_unit(dataset, subject, seed, cut="auto", epochs=EPOCHS):
    """Inner-split accuracy of STC on the real windows at each budget."""
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    accuracy, seconds = {}, {}
    for n_epochs in epochs:
        start = time.perf_counter()
        params = {**SIZES["stc"], "max_epochs": n_epochs}
        net = SpatioTemporalClassifier(random_state=seed, **params).fit(fit.X, fit.y)
        accuracy[f"epochs_{n_epochs}"] = float(net.score(held_out.X, held_out.y))
        seconds[f"epochs_{n_epochs}"] = round(time.perf_counter() - start, 1)
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": len(fit.X),
        "n_held_out_windows": len(held_out.X),
        "accuracy": {NETWORK: accuracy},
        "fit_seconds": seconds,
        "inner_split": cut,
    }


def verdict(units):
    """The rule of the module docstring: ``(under_trained, lines)``."""
    datasets = sorted({u["dataset"] for u in units})
    beyond, positive, lines = 0, 0, []
    for dataset in datasets:
        means, seed_sd = paired(units, dataset, NETWORK, "epochs_240", "epochs_60")
        half, _ = paired(units, dataset, NETWORK, "epochs_120", "epochs_60")
        gain, gain_half = float(np.mean(means)), float(np.mean(half))
        beyond += gain > seed_sd
        positive += gain_half > 0
        lines.append(
            f"- {dataset}: epochs_240 − epochs_60 = {gain:+.2f} (seed sd {seed_sd:.2f}); "
            f"epochs_120 − epochs_60 = {gain_half:+.2f}"
        )
    under = beyond >= 2 and positive >= 2
    lines.append(
        f"- 240 beyond its seed sd on {beyond} of {len(datasets)} data set(s), 120 above 60 on "
        f"{positive}: **STC {'is' if under else 'is not'} under-trained at its default by the "
        "rule.**"
    )
    return under, lines


def write_report(out_dir):
    units = read_jsonl(out_dir / JSONL)
    lines = [
        "# STC's training budget (inner split)",
        "",
        "`python benchmarks/ablate_network_budget.py` (the rule is in its docstring, fixed before "
        f"the first unit ran; {platform.machine()}, torch {torch.__version__}). Accuracy (%) on "
        "the held-out part at 60 epochs (the default), and paired differences in points: mean ± "
        "sd over subjects of the per-subject mean over seeds, with the mean seed sd in brackets; "
        "fit time per unit, mean." + inner_split_note(units),
        "",
        "| data set | subjects × seeds | 60 epochs (%) | 120 − 60 | 240 − 60 | fit s (60 / 120 / 240) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        base = np.mean([100 * u["accuracy"][NETWORK]["epochs_60"] for u in mine])
        cells = []
        for arm in ("epochs_120", "epochs_240"):
            cells.append(paired_cell(mine, dataset, NETWORK, arm, "epochs_60"))
        seconds = " / ".join(f"{np.mean([u['fit_seconds'][a] for u in mine]):.0f}" for a in ARMS)
        lines.append(
            f"| {dataset} | {len({u['subject'] for u in mine})} × "
            f"{len({u['seed'] for u in mine})} | {base:.1f} | {' | '.join(cells)} | {seconds} |"
        )
    if units:
        lines += ["", "## The rule", "", *verdict(units)[1], ""]
    (out_dir / "ablate_network_budget.md").write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_unit_arguments(parser, out="results/ablate_network_budget", subjects=4)
    return run_units(parser.parse_args(argv), "ablate_network_budget", run_unit, write_report)


if __name__ == "__main__":
    sys.exit(main())
