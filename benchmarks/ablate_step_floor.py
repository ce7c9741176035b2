"""A floor on the network's optimiser steps (``min_steps``), one change, inner split.

``benchmarks/ablate_network_budget.py`` found :class:`~semgaug_sk.classifiers.SpatioTemporalClassifier`
under-trained at its default 60 epochs on a few hundred windows (240 epochs gained beyond
the seed sd on DB1 and UCI), and ``benchmarks/ablate_training_length.py`` that repeating the
real windows (more steps, nothing new) gives it part of what augmentation gives. A budget in
epochs cannot serve both a set of 150 windows and one of 15,000. ``min_steps`` puts a floor
under it in optimiser steps (the epochs rise until the training windows give at least that
many; larger sets keep their 60 epochs), as SASG's generator counts its own budget in
windows seen. This script changes only ``min_steps`` on the same inner split as the two
above (the test repetitions are never loaded): ``None`` (the default), 1000, 2000 and
4000 steps, each on the real windows (``none``) and on the real windows plus
``ClassicAugmenter(ratio=2)``'s (``classic``, whose gain over ``none`` at one floor is then
free of the training length once both sets sit under the floor).

**The rule, fixed before the first unit ran** (``none`` arms only: the network's default).
Per data set and floor ``F``, take the paired difference ``none@F − none`` (mean over
subjects of the per-subject mean over seeds) and the mean over subjects of its sd over
seeds.

1. ``F`` is *admissible* when no data set's difference falls below minus its seed sd.
2. Its *score* is the mean of the differences over the data sets.
3. The best admissible floor is *adopted* when its score is positive and its difference
   exceeds its seed sd on at least 2 of the 3 data sets; among the floors meeting these
   conditions whose score lies within 0.2 points of the best, the smallest (cheapest)
   wins. Otherwise the default stays ``None``.

A floor the rule adopts becomes the network's default only with the standard preset rerun beside
it, since every network figure of the benchmarks changes with it; its cost (fit time
grows with the steps) is reported here. The ``classic`` arms are reported, not ruled on.

``--network tdct`` runs the same ablation for
:class:`~semgaug_sk.classifiers.ConvTransformerClassifier` (its own ``--out``; one network
per log), under the same rule. TDCT's steps cost 5-15x STC's on these sets, so its run may
drop the ``classic`` arms (``--methods none``) and floors (``--floors``): the rule reads
only the ``none`` arms, over the floors every unit ran.

Usage::

    python benchmarks/ablate_step_floor.py --datasets db1 myo uci --subjects 4 \\
        --seeds 0 1 2 --out results/ablate_step_floor
    python benchmarks/ablate_step_floor.py --network tdct --floors 1000 2000 --methods none \\
        --subjects 3 --out results/ablate_step_floor_tdct
    python benchmarks/ablate_step_floor.py --rerender --out results/ablate_step_floor

Units go to ``<out>/ablate_step_floor.jsonl`` as they finish (a rerun skips them); the
report ``<out>/ablate_step_floor.md`` is rewritten from all of them.
"""

from __future__ import annotations

import argparse
import functools
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

FLOORS = (None, 1000, 2000, 4000)
RATIO = 2
NETWORKS = {"stc": SpatioTemporalClassifier, "tdct": ConvTransformerClassifier}
NAMES = {"stc": "STC", "tdct": "TDCT"}
METHODS = ("none", "classic")
JSONL = "ablate_step_floor.jsonl"
#: Constructor overrides (empty: the library's defaults); the tests shrink them.
SIZES: dict = {"stc": {}, "tdct": {}}
#: How close to the best score a cheaper adopted floor may be (points).
TIE = 0.2


def arm(method, floor):
    """``"none"`` / ``"classic"`` at the default, ``"none@1000"`` at a floor."""
    return method if floor is None else f"{method}@{floor}"


def run_unit(dataset, subject, seed, cut="auto", floors=FLOORS, network="stc", methods=METHODS):
    """Inner-split accuracy of ``network`` at each floor, on the real windows and with classic."""
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    t0 = time.perf_counter()
    sets = {"none": (fit.X, fit.y)}
    if "classic" in methods:
        sets["classic"] = ClassicAugmenter(ratio=RATIO, random_state=seed).fit_resample(
            fit.X, fit.y
        )
    accuracy, seconds, epochs = {}, {}, {}
    for floor in floors:
        for method, (X, y) in sets.items():
            name = arm(method, floor)
            start = time.perf_counter()
            record_provenance(X, len(fit.X))  # real rows first, as the samplers return
            params = {**SIZES[network], "min_steps": floor}
            net = NETWORKS[network](random_state=seed, **params).fit(X, y)
            accuracy[name] = float(net.score(held_out.X, held_out.y))
            seconds[name] = round(time.perf_counter() - start, 1)
            epochs[name] = int(net.epoch_budget_)
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": len(fit.X),
        "n_held_out_windows": len(held_out.X),
        "accuracy": {network: accuracy},
        "epochs": epochs,
        "fit_seconds": seconds,
        "unit_seconds": round(time.perf_counter() - t0, 1),
        "inner_split": cut,
    }


def network_of(units):
    """The one network a log's units trained (``"stc"`` for an empty log)."""
    networks = {name for u in units for name in u["accuracy"]}
    if len(networks) > 1:
        raise ValueError(
            f"ablate_step_floor: the units hold several networks {sorted(networks)}; "
            "give each network its own --out"
        )
    return networks.pop() if networks else "stc"


def _floors(units, every=True):
    """The floors every unit ran (``every=False``: any unit), smallest first."""
    network = network_of(units)
    sets = [set(u["accuracy"][network]) for u in units]
    ran = set.intersection(*sets) if every else set.union(*sets)
    return sorted(int(a.split("@")[1]) for a in ran if a.startswith("none@"))


def verdict(units):
    """The rule of the module docstring: ``(adopted floor or None, lines)``.

    A data set without a seed sd (one seed per subject: a run still going) leaves the rule
    undecided, since neither of its seed-sd conditions can be judged.
    """
    network = network_of(units)
    datasets = sorted({u["dataset"] for u in units})
    scored, lines, undecided = [], [], set()
    if not _floors(units):
        return None, ["- **The rule cannot decide: no floor was run by every unit.**"]
    for floor in _floors(units):
        gains, beyond, below = [], 0, 0
        for dataset in datasets:
            means, seed_sd = paired(units, dataset, network, arm("none", floor), "none")
            gain = float(np.mean(means))
            gains.append(gain)
            if np.isnan(seed_sd):
                undecided.add(dataset)
            beyond += gain > seed_sd
            below += gain < -seed_sd
        score = float(np.mean(gains))
        admissible = below == 0
        qualifies = admissible and score > 0 and beyond >= 2
        scored.append((floor, score, admissible, qualifies))
        status = (
            "admissible, meets the adoption conditions"
            if qualifies
            else "admissible"
            if admissible
            else "not admissible"
        )
        lines.append(
            f"- {floor} steps: score {score:+.2f} ("
            + ", ".join(f"{g:+.2f}" for g in gains)
            + f"); beyond its seed sd on {beyond} of {len(datasets)}, below minus it on "
            f"{below}: {status}"
        )
    if undecided:
        lines.append(
            f"- **The rule cannot decide yet: no seed sd (one seed per subject) on "
            f"{', '.join(sorted(undecided))}.**"
        )
        return None, lines
    choice = None
    admissible = [s for s in scored if s[2]]
    if admissible:
        best = max(score for _, score, _, _ in admissible)
        if any(qualifies for _, score, _, qualifies in admissible if score == best):
            choice = min(f for f, score, _, ok in scored if ok and score >= best - TIE)
    lines.append(
        f"- **By the rule, {NAMES[network]}'s floor: {choice if choice is not None else 'None (unchanged)'}.**"
    )
    return choice, lines


def _mixed_arms_note(units, network, floors):
    """Report lines naming the floors and classic arms that only some units ran."""
    if not units:
        return []
    partial = [f for f in _floors(units, every=False) if f not in floors]
    with_classic = sum("classic" in u["accuracy"][network] for u in units)
    lines = []
    if partial:
        lines.append(
            f"**Floors run by some units only, left out below: {', '.join(map(str, partial))}.**"
        )
    if 0 < with_classic < len(units):
        lines.append(
            f"**Classic arms in {with_classic} of {len(units)} units only: not reported.**"
        )
    return [*lines, ""] if lines else []


def write_report(out_dir):
    units = read_jsonl(out_dir / JSONL)
    network = network_of(units)
    floors = _floors(units) if units else list(FLOORS[1:])
    with_classic = bool(units) and all("classic" in u["accuracy"][network] for u in units)
    lines = [
        f"# A floor on {NAMES[network]}'s optimiser steps (`min_steps`, inner split)",
        "",
        "`python benchmarks/ablate_step_floor.py"
        + ("" if network == "stc" else f" --network {network}")
        + "` (the rule is in its docstring, fixed before the "
        f"first unit ran; {platform.machine()}, torch {torch.__version__}). Accuracy (%) on the "
        "held-out part with no floor (60 epochs), and paired differences in points: "
        "mean ± sd over subjects of the per-subject mean over seeds, with the mean seed sd in "
        "brackets." + inner_split_note(units),
        "",
        *_mixed_arms_note(units, network, floors),
        "## The floor on the real windows (`none@F − none`)",
        "",
        "| data set | subjects × seeds | windows | none (%) | "
        + " | ".join(f"{f} − no floor" for f in floors)
        + " | epochs (no floor / "
        + " / ".join(map(str, floors))
        + ") |",
        "|---|---|---:|---:|" + "---:|" * len(floors) + "---|",
    ]
    datasets = sorted({u["dataset"] for u in units})
    for dataset in datasets:
        mine = [u for u in units if u["dataset"] == dataset]
        none = np.mean([100 * u["accuracy"][network]["none"] for u in mine])
        cells = [paired_cell(mine, dataset, network, arm("none", f), "none") for f in floors]
        epochs = " / ".join(
            f"{np.mean([u['epochs'][arm('none', f)] for u in mine]):.0f}" for f in (None, *floors)
        )
        lines.append(
            f"| {dataset} | {len({u['subject'] for u in mine})} × {len({u['seed'] for u in mine})}"
            f" | {np.mean([u['n_fit_windows'] for u in mine]):.0f} | {none:.1f} | "
            + " | ".join(cells)
            + f" | {epochs} |"
        )
    if with_classic:
        lines += [
            "",
            "## Classic augmentation's gain at each floor (`classic@F − none@F`)",
            "",
            "Once both sets sit under the floor they train the same number of steps, so the gain "
            "is the classic windows' alone (not ruled on).",
            "",
            "| data set | no floor | " + " | ".join(f"{f} steps" for f in floors) + " |",
            "|---|---:|" + "---:|" * len(floors),
        ]
        for dataset in datasets:
            mine = [u for u in units if u["dataset"] == dataset]
            cells = [
                paired_cell(mine, dataset, network, arm("classic", f), arm("none", f))
                for f in (None, *floors)
            ]
            lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    elif units:
        lines += ["", "The run trained no classic arms (`--methods none`)."]
    if units:
        methods = ("none", "classic") if with_classic else ("none",)
        lines += [
            "",
            f"Fit time (s per fit, mean; {' / '.join(methods)}): "
            + "; ".join(
                f"{'no floor' if f is None else f}: "
                + " / ".join(
                    f"{np.mean([u['fit_seconds'][arm(m, f)] for u in units]):.1f}" for m in methods
                )
                for f in (None, *floors)
            ),
            "",
            "## The rule",
            "",
            *verdict(units)[1],
            "",
        ]
    (out_dir / "ablate_step_floor.md").write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_unit_arguments(parser, out="results/ablate_step_floor", subjects=4)
    parser.add_argument("--network", choices=sorted(NETWORKS), default="stc")
    parser.add_argument(
        "--floors", type=int, nargs="+", default=list(FLOORS[1:]), help="min_steps floors"
    )
    parser.add_argument(
        "--methods", nargs="+", choices=METHODS, default=list(METHODS), help="training sets"
    )
    args = parser.parse_args(argv)
    if "none" not in args.methods:
        parser.error("--methods must include none: the rule reads the none arms")
    existing = read_jsonl(Path(args.out) / JSONL)
    try:
        ran = network_of(existing)
    except ValueError as exc:
        parser.error(str(exc))
    if existing and not args.rerender:  # a rerender reads what the log holds
        if ran != args.network:
            parser.error(
                f"{args.out} holds units of --network {ran}; give --network {args.network} "
                "its own --out"
            )
        wanted = {arm(m, f) for m in args.methods for f in (None, *args.floors)}
        arms = {frozenset(u["accuracy"][ran]) for u in existing}
        if arms != {frozenset(wanted)}:
            held = sorted(sorted(a, key=str) for a in arms)
            parser.error(
                f"{args.out} holds units of other arms ({held}) than --floors "
                f"{' '.join(map(str, args.floors))} --methods {' '.join(args.methods)} would "
                "run; units already done would not be rerun with them. Pass the log's "
                "--floors/--methods, or give this run its own --out"
            )
    unit = functools.partial(
        run_unit, floors=(None, *args.floors), network=args.network, methods=args.methods
    )
    return run_units(args, "ablate_step_floor", unit, write_report)


if __name__ == "__main__":
    sys.exit(main())
