"""How strict should SASS's confidence filter be? ``confidence_threshold``, one change, inner split.

SASG-DA keeps a generated window only when the guiding encoder gives its intended class at
least ``confidence_threshold`` (0.5 by default; 0 turns the filter off). The default was never
measured downstream. Per (subject, seed) one :class:`~semgaug_sk.augmentation.SASGAugmenter`
with the library's defaults (ratio 2) is fitted on the first part of the inner split
(``ablate_generator.inner_split``; the test repetitions are never loaded); only the threshold
changes (``ablate_sass_selection.run_unit``: same generator, encoder, generation seed and
windows per class). Variants: ``threshold_0.5`` (the default), ``threshold_0`` (no filter) and
``threshold_0.8``. LDA on hudgins features and
:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier` are scored on the second part.

Rule, fixed before any unit ran: a threshold replaces 0.5 if its mean paired gain over the
default (mean over data sets of the per-data-set means, LDA and STC) exceeds the mean seed sd
of those paired differences and no data set and model loses more than its seed sd; of several,
the highest mean gain wins. Otherwise the default stays.

Usage::

    python benchmarks/ablate_confidence.py --datasets db1 myo --subjects 3 --seeds 0 1 2 \\
        --out results/ablate_confidence
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_sass_selection import one_change_ablation, one_change_intro  # noqa: E402

VARIANTS = {
    "threshold_0.5": lambda: {"confidence_threshold": 0.5},
    "threshold_0": lambda: {"confidence_threshold": 0.0},
    "threshold_0.8": lambda: {"confidence_threshold": 0.8},
}
REFERENCE = "threshold_0.5"
RATIO = 2.0
MODELS = ("lda", "stc")

TITLE = "# SASS's confidence filter (`confidence_threshold`), one change, inner split"
INTRO = one_change_intro("ablate_confidence", "its confidence threshold", through_filter=False)


def shortfall_lines(units):
    """The report's line on the windows the filter left missing, per threshold."""
    shortfall = {name: sum(u["shortfall"].get(name, 0) for u in units) for name in VARIANTS}
    return [
        "",
        "Windows missing after the filter's rounds, summed over units: "
        + ", ".join(f"{k} {v}" for k, v in shortfall.items())
        + ".",
    ]


#: ``choose_threshold(units)`` gives ``(choice, rows)``: the pre-registered rule against
#: ``threshold_0.5``.
choose_threshold, write_report, main = one_change_ablation(
    name="ablate_confidence",
    description=__doc__.split("\n")[0],
    variants=VARIANTS,
    reference=REFERENCE,
    title=TITLE,
    intro=INTRO,
    candidate="A threshold",
    extra_lines=shortfall_lines,
    ratio=RATIO,
)


if __name__ == "__main__":
    main()
