"""How far should SASS move its conditions? ``SASS(epsilon=...)`` and ``n_steps=0``, on an inner split.

SASS keeps the rarest in-support GMSS candidates and then refines them by gradient
steps on a sparsity and diversity potential, each projected back into a ball of radius
``epsilon * h`` around its start (``h``: the class's median k-th neighbour distance).
Tests show that the refinement moves the conditions and that their final positions
depend on ``n_steps`` and ``diversity``; whether the movement helps a downstream model
had not been measured. This script measures it, one change at a time, on training data
only.

Per (subject, seed) one :class:`~semgaug_sk.augmentation.SASGAugmenter` with the
library's defaults (ratio 2) is fitted on the first part of the inner split
(``ablate_generator.inner_split``; the test repetitions are never loaded). Only the
condition sampler changes (``ablate_sass_selection.run_unit``: same generator, encoder,
generation seed and windows per class, through the confidence filter). Variants: the
default ``SASS()`` (``epsilon=0.5``, 20 steps), ``SASS(n_steps=0)`` (the selected
candidates, unrefined), ``SASS(epsilon=0.25)`` and ``SASS(epsilon=1.0)``. LDA on hudgins
features and :class:`~semgaug_sk.classifiers.SpatioTemporalClassifier` are scored on the
second part. Each unit also records the spread of the generated conditions per class and
dimension over the real embeddings'.

Rule, fixed before any unit ran: the default moves to the variant with the best mean
paired gain over ``sass`` (mean over data sets of the per-data-set means, LDA and STC), if
that mean exceeds the mean seed sd of those paired differences and no data set and model
loses more than its seed sd. Otherwise the default stays.

Usage::

    python benchmarks/ablate_sass_radius.py --datasets db1 myo --subjects 3 --seeds 0 1 2 \\
        --out results/ablate_sass_radius
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_sass_selection import one_change_ablation, one_change_intro  # noqa: E402
from ablate_shrinkage import spread_lines  # noqa: E402

from semgaug_sk.augmentation import SASS  # noqa: E402

VARIANTS = {
    "sass": lambda: SASS(),
    "unrefined": lambda: SASS(n_steps=0),
    "epsilon_0.25": lambda: SASS(epsilon=0.25),
    "epsilon_1": lambda: SASS(epsilon=1.0),
}
REFERENCE = "sass"
RATIO = 2.0

TITLE = "# How far SASS moves its conditions (`epsilon`, `n_steps=0`), one change, inner split"
INTRO = one_change_intro("ablate_sass_radius", "its condition sampler")

#: ``choose_radius(units)`` gives ``(choice, rows)``: the pre-registered rule against ``sass``.
choose_radius, write_report, main = one_change_ablation(
    name="ablate_sass_radius",
    description=__doc__.split("\n")[0],
    variants=VARIANTS,
    reference=REFERENCE,
    title=TITLE,
    intro=INTRO,
    candidate="The best variant",
    extra_lines=lambda units: spread_lines(units, VARIANTS),
    ratio=RATIO,
)

if __name__ == "__main__":
    main()
