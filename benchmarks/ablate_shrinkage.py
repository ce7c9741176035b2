"""What should the class Gaussians of GMSS/SASS shrink towards? One change, on an inner split.

GMSS and SASS draw conditions from one shrinkage Gaussian per class, fitted with
scikit-learn's OAS on the raw embeddings. OAS shrinks towards the mean variance
times the identity, so with the few windows a class has every dimension's
variance moves towards the average one, while the generator sees the conditions
divided by each dimension's own spread: a quiet dimension gets far more spread
than any real window showed it (a review, 2026-12-05). ``shrinkage_target="diagonal"``
runs OAS on the class's embeddings divided by their per-dimension sd and scales
back, so each dimension keeps its variance and only the correlations shrink.

Per (subject, seed) one :class:`~semgaug_sk.augmentation.SASGAugmenter` with the
library's defaults (ratio 2) is fitted on the first part of the inner split
(``ablate_generator.inner_split``; the test repetitions are never loaded); only the
condition sampler changes (``ablate_sass_selection.run_unit``: same generator,
encoder, generation seed and windows per class, through the confidence filter).
Variants: ``sass`` (the default), ``sass_diagonal``, and GMSS with either target.
LDA on hudgins features and :class:`~semgaug_sk.classifiers.SpatioTemporalClassifier`
are scored on the second part. Each unit also records the spread of the generated
conditions per class and dimension over the real embeddings' (median, and the
fraction of class-dimensions above 1.5).

Rule, fixed before any unit ran: ``shrinkage_target`` moves to ``"diagonal"`` if
``sass_diagonal``'s mean paired gain over ``sass`` (mean over data sets of the
per-data-set means, LDA and STC) exceeds the mean seed sd of those paired
differences and no data set and model loses more than its seed sd. Otherwise the
default stays. The GMSS rows are reported, not used by the rule.

Usage::

    python benchmarks/ablate_shrinkage.py --datasets db1 myo --subjects 3 --seeds 0 1 2 \\
        --out results/ablate_shrinkage
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_sass_selection import one_change_ablation, one_change_intro  # noqa: E402

from semgaug_sk.augmentation import GMSS, SASS  # noqa: E402

VARIANTS = {
    "sass": lambda: SASS(),
    "sass_diagonal": lambda: SASS(shrinkage_target="diagonal"),
    "gmss": lambda: GMSS(),
    "gmss_diagonal": lambda: GMSS(shrinkage_target="diagonal"),
}
REFERENCE = "sass"
CANDIDATE = "sass_diagonal"
RATIO = 2.0
MODELS = ("lda", "stc")

TITLE = "# Shrinkage target of the class Gaussians (`shrinkage_target`), one change, inner split"
INTRO = one_change_intro("ablate_shrinkage", "its condition sampler")


def spread_lines(units, variants):
    """The report's table of the generated conditions' spread, one row per variant."""
    rows = []
    for name in variants:
        values = [u["condition_spread"][name] for u in units if u["condition_spread"].get(name)]
        values = [v for v in values if v[0] is not None]
        if values:
            median, above = np.mean([v[0] for v in values]), np.mean([v[1] for v in values])
            rows.append(f"| {name} | {median:.2f} | {above:.2f} |")
    return [
        "",
        "## Spread of the generated conditions",
        "",
        "Per class and embedding dimension, sd of the conditions over that of the class's real "
        "embeddings; mean over units of the median and of the fraction above 1.5.",
        "",
        "| sampler | median sd ratio | fraction > 1.5 |",
        "|---|---|---|",
        *rows,
    ]


#: ``choose_target(units)`` gives ``(choice, rows)``: the pre-registered rule on
#: ``sass_diagonal`` against ``sass`` (the GMSS rows are reported, not used).
choose_target, write_report, main = one_change_ablation(
    name="ablate_shrinkage",
    description=__doc__.split("\n")[0],
    variants=VARIANTS,
    rule_variants=[REFERENCE, CANDIDATE],
    reference=REFERENCE,
    title=TITLE,
    intro=INTRO,
    candidate=f"`{CANDIDATE}`",
    extra_lines=lambda units: spread_lines(units, VARIANTS),
    ratio=RATIO,
)


if __name__ == "__main__":
    main()
