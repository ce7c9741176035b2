"""How fast may the classic warps change inside a window? ``n_knots``, one change, inner split.

:class:`~semgaug_sk.augmentation.ClassicAugmenter` draws its magnitude and time warps as
cubic splines through ``n_knots + 2`` evenly spaced random knots per window (Um et al.
2017 use 4 interior knots, on windows of seconds). On windows of 20 samples a knot falls
every 4 samples, so the gain curve changes within 40 ms: on a smooth envelope (NinaPro
DB1) that adds waveform length. ``ablate_lda`` measured it: the magnitude-warp pool sits
+0.65 within-class sd above the real windows in ``wl`` and moves LDA's class means by 3.4
Mahalanobis units, which is what costs LDA its points under classic augmentation.

This script changes ``n_knots`` alone (it shapes both warps), at the library's other
defaults and ratio 2, with the machinery of ``ablate_time_warp`` (same seed for every
variant, LDA on hudgins features and the spatio-temporal network, inner split; the test
repetitions are never loaded).

Decision rule, written before the run: a variant replaces the default (4) if it has the
highest mean paired gain over ``knots_4`` across the (dataset, model) cells and no cell's
paired difference is below minus that cell's mean seed sd; otherwise the default stays.

Usage::

    python benchmarks/ablate_warp_knots.py --datasets db1 myo uci --subjects 3 --seeds 0 1 2
    python benchmarks/ablate_warp_knots.py --rerender

Units go to ``results/ablate_warp_knots.jsonl`` as they finish (a rerun skips them); the
table ``results/ablate_warp_knots.md`` is rewritten from all of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ablate_time_warp  # noqa: E402
from ablate_generator import ablation_main  # noqa: E402
from augmentation import _sd  # noqa: E402
from protocols import subject_names  # noqa: E402

JSONL = "ablate_warp_knots.jsonl"
REFERENCE = "knots_4"
VARIANTS = {f"knots_{k}": {"n_knots": k} for k in (4, 2, 1, 0)}
MODELS = ("lda", "stc")
TITLE = "# Classic warps: interior spline knots per window (`n_knots`)"
INTRO = (
    "`python benchmarks/ablate_warp_knots.py`: ClassicAugmenter at its defaults (ratio 2, "
    "all four transforms), one change: `n_knots` (both warps)."
)


def run_unit(dataset, subject, seed, cut="auto"):
    """Inner-split accuracy with none and with classic under each ``n_knots``."""
    return ablate_time_warp.run_unit(dataset, subject, seed, variants=VARIANTS, cut=cut)


def paired(units, variant, model):
    """``(mean paired gain over the reference, mean seed sd)`` per dataset, in points."""
    out = {}
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        means, sds = [], []
        for subject in sorted({u["subject"] for u in mine}):
            acc = [u["accuracy"][model] for u in mine if u["subject"] == subject]
            diffs = [100 * (a[variant] - a[REFERENCE]) for a in acc]
            means.append(np.mean(diffs))
            sds.append(_sd(diffs))
        out[dataset] = (float(np.mean(means)), float(np.mean(sds)))
    return out


def choose(units):
    """The decision rule of the module docstring: ``(variant, reasons per variant)``."""
    best, best_gain, reasons = REFERENCE, 0.0, {}
    for variant in VARIANTS:
        if variant == REFERENCE:
            continue
        cells = [cell for model in MODELS for cell in paired(units, variant, model).values()]
        failing = [f"{gain:+.1f} < -{sd:.1f}" for gain, sd in cells if gain < -sd]
        gain = float(np.mean([g for g, _ in cells]))
        reasons[variant] = f"mean paired gain {gain:+.2f}" + (
            f"; cells below minus their seed sd: {', '.join(failing)}" if failing else ""
        )
        if not failing and gain > best_gain:
            best, best_gain = variant, gain
    return best, reasons


def write_report(units, path):
    ablate_time_warp.write_report(
        units, path, variants=VARIANTS, reference=REFERENCE, title=TITLE, intro=INTRO
    )
    best, reasons = choose(units)
    lines = ["", "Decision rule (module docstring):", ""]
    lines += [f"- {variant}: {reason}" for variant, reason in reasons.items()]
    lines += ["", f"Chosen: **{best}**" + (" (the default stays)" if best == REFERENCE else "")]
    with Path(path).open("a") as fh:
        fh.write("\n".join(lines) + "\n")


def main(argv=None):
    ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="ablate_warp_knots",
        run=lambda args, dataset, subject, seed: run_unit(
            dataset, subject, seed, cut=args.inner_split
        ),
        write=write_report,
        subject_names=subject_names,
        datasets=("db1", "myo", "uci"),
        inner_splits=True,
    )


if __name__ == "__main__":
    main()
