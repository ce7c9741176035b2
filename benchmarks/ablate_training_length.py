"""Is a network's gain from augmentation new windows, or more optimiser steps? Inner split.

The library's raw-window networks (:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier`,
:class:`~semgaug_sk.classifiers.ConvTransformerClassifier`) train for a fixed number of
epochs (60). A set that augmentation triples (ratio 2) therefore gets three times the
optimiser steps of the real windows alone, and every gain over "none" in the benchmarks
mixes the new windows with the longer training (a review of the benchmarks, 2026-12-06).
This script separates them on the inner split of ``benchmarks/ablate_ratio.py`` (the
networks are fitted on the first part of the low-data training windows and scored on the
second; the test repetitions are never loaded), changing nothing in the library.

Per (subject, seed), each network is trained at its defaults on:

- ``none``: the real windows;
- ``repeat``: the real windows three times over (the optimiser steps of a ratio-2 set, with
  no new information);
- ``classic``: the real windows and ``ClassicAugmenter(ratio=2)``'s windows (the library's
  defaults, seeded like the network).

The real rows are recorded as the library's samplers record them (the networks use no
validation split by default, so it changes nothing here).

**The rule, fixed before the first unit ran.** Per data set and network, take the paired
difference (mean over subjects of the per-subject mean over seeds) and the mean over
subjects of its sd over seeds.

1. *Training length explains part of the gain over none* for a network when ``repeat −
   none`` exceeds its seed sd on at least 2 of the 3 data sets.
2. *Classic's windows add beyond the training length* for a network when ``classic −
   repeat`` exceeds its seed sd on at least 2 of the 3 data sets.

Nothing in the library changes on this result alone. If (1) holds for a network, the
benchmarks' gains over none overstate what augmentation adds for it: ``repeat`` becomes the
control beside ``none`` in ``benchmarks/augmentation.py``, and a budget counted in windows
seen (as SASG's generator counts its own) is the next ablation for the networks' defaults.

Usage::

    python benchmarks/ablate_training_length.py --datasets db1 myo uci --subjects 4 \\
        --seeds 0 1 2 --out results/ablate_training_length
    python benchmarks/ablate_training_length.py --rerender --out results/ablate_training_length

Units go to ``<out>/ablate_training_length.jsonl`` as they finish (a rerun skips them); the
report ``<out>/ablate_training_length.md`` is rewritten from all of them.
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

from semgaug_sk.augmentation import ClassicAugmenter  # noqa: E402
from semgaug_sk.classifiers import (  # noqa: E402
    ConvTransformerClassifier,
    SpatioTemporalClassifier,
)
from semgaug_sk.utils.provenance import record_provenance  # noqa: E402

NETWORKS = {"stc": SpatioTemporalClassifier, "tdct": ConvTransformerClassifier}
ARMS = ("none", "repeat", "classic")
RATIO = 2
JSONL = "ablate_training_length.jsonl"
#: Constructor overrides per network (empty: the library's defaults); the tests shrink them.
SIZES: dict = {
    "stc": {"min_steps": None},
    "tdct": {},
}  # STC as measured: before its 4000-step floor (min_steps) became the default


def training_sets(fit, seed):
    """``{arm: (X, y)}``: the real windows first in every arm."""
    X_classic, y_classic = ClassicAugmenter(ratio=RATIO, random_state=seed).fit_resample(
        fit.X, fit.y
    )
    copies = RATIO + 1
    return {
        "none": (fit.X, fit.y),
        "repeat": (np.concatenate([fit.X] * copies), np.concatenate([fit.y] * copies)),
        "classic": (X_classic, y_classic),
    }


def run_unit(dataset, subject, seed, cut="auto"):
    """Inner-split accuracy of each network on each arm."""
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    t0 = time.perf_counter()
    sets = training_sets(fit, seed)
    accuracy, seconds = {}, {}
    for name, cls in NETWORKS.items():
        accuracy[name] = {}
        for arm, (X, y) in sets.items():
            start = time.perf_counter()
            record_provenance(X, len(fit.X))  # real rows first, as the samplers return
            net = cls(random_state=seed, **SIZES[name]).fit(X, y)
            accuracy[name][arm] = float(net.score(held_out.X, held_out.y))
            seconds[f"{name}/{arm}"] = round(time.perf_counter() - start, 1)
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": len(fit.X),
        "n_held_out_windows": len(held_out.X),
        "n_training_windows": {arm: len(X) for arm, (X, _) in sets.items()},
        "accuracy": accuracy,
        "fit_seconds": seconds,
        "unit_seconds": round(time.perf_counter() - t0, 1),
        "inner_split": cut,
    }


def verdict(units):
    """The two findings of the module docstring, per network: ``(findings, lines)``."""
    datasets = sorted({u["dataset"] for u in units})
    findings, lines = {}, []
    for network in NETWORKS:
        wins = {"repeat − none": 0, "classic − repeat": 0}
        for dataset in datasets:
            for label, (a, b) in (
                ("repeat − none", ("repeat", "none")),
                ("classic − repeat", ("classic", "repeat")),
            ):
                means, seed_sd = paired(units, dataset, network, a, b)
                gain = float(np.mean(means))
                wins[label] += gain > seed_sd
                lines.append(
                    f"- {dataset}, {network}: {label} = {gain:+.2f} (seed sd {seed_sd:.2f})"
                )
        length = wins["repeat − none"] >= 2
        adds = wins["classic − repeat"] >= 2
        findings[network] = {"training_length": length, "classic_adds": adds}
        lines.append(
            f"- **{network.upper()}**: repeat − none beyond its seed sd on "
            f"{wins['repeat − none']} of {len(datasets)} data set(s), so training length "
            f"{'explains' if length else 'does not explain'} part of the gain over none by the "
            f"rule; classic − repeat beyond its seed sd on {wins['classic − repeat']}, so "
            f"classic's windows {'add' if adds else 'do not add'} beyond the training length."
        )
    return findings, lines


def write_report(out_dir):
    units = read_jsonl(out_dir / JSONL)
    lines = [
        "# New windows or more steps? (inner split)",
        "",
        "`python benchmarks/ablate_training_length.py` (the rule is in its docstring, fixed "
        f"before the first unit ran; {platform.machine()}, torch {torch.__version__}). "
        "Accuracy (%) on the held-out part, and paired differences in points: mean ± sd over "
        "subjects of the per-subject mean over seeds, with the mean seed sd in brackets."
        + inner_split_note(units),
        "",
    ]
    pairs = (("repeat", "none"), ("classic", "none"), ("classic", "repeat"))
    for network in NETWORKS:
        lines += [
            f"## {network.upper()}",
            "",
            "| data set | subjects × seeds | none (%) | "
            + " | ".join(f"{a} − {b}" for a, b in pairs)
            + " |",
            "|---|---|---:|" + "---:|" * len(pairs),
        ]
        for dataset in sorted({u["dataset"] for u in units}):
            mine = [u for u in units if u["dataset"] == dataset]
            subjects = sorted({u["subject"] for u in mine})
            seeds = sorted({u["seed"] for u in mine})
            none = np.mean([100 * u["accuracy"][network]["none"] for u in mine])
            cells = []
            for a, b in pairs:
                cells.append(paired_cell(mine, dataset, network, a, b))
            lines.append(
                f"| {dataset} | {len(subjects)} × {len(seeds)} | {none:.1f} | "
                + " | ".join(cells)
                + " |"
            )
        lines.append("")
    if units:
        lines += ["## The rule", "", *verdict(units)[1], ""]
    (out_dir / "ablate_training_length.md").write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_unit_arguments(parser, out="results/ablate_training_length", subjects=4)
    return run_units(parser.parse_args(argv), "ablate_training_length", run_unit, write_report)


if __name__ == "__main__":
    sys.exit(main())
