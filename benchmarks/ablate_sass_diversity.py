"""Does SASS's diversity potential help? ``SASS(diversity=...)``, one change, on an inner split.

SASS refines its rarest in-support GMSS candidates by gradient steps on a joint
potential: a sparsity term (away from dense real neighbourhoods), a diversity term
weighted by ``diversity`` (away from the other candidates of the same block) and a
quadratic anchor, inside a ball of radius ``epsilon * h``. Tests show that the final
positions depend on ``diversity``; whether that helps a downstream model had not been
measured. This script measures it, one change at a time, on training data only.

Per (subject, seed) one :class:`~semgaug_sk.augmentation.SASGAugmenter` with the
library's defaults (ratio 2) is fitted on the first part of the inner split
(``ablate_generator.inner_split``; the test repetitions are never loaded). Only the
condition sampler changes (``ablate_sass_selection.run_unit``: same generator, encoder,
generation seed and windows per class, through the confidence filter). Variants: the
default ``SASS()`` (``diversity=1``), ``SASS(diversity=0)`` (sparsity and anchor only)
and ``SASS(diversity=4)``. LDA on hudgins features and
:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier` are scored on the second part.
Each unit also records the spread of the generated conditions per class and dimension
over the real embeddings'.

Rule, fixed before any unit ran: the default moves to the variant with the best mean
paired gain over ``sass`` (mean over data sets of the per-data-set means, LDA and STC), if
that mean exceeds the mean seed sd of those paired differences and no data set and model
loses more than its seed sd. Otherwise the default stays.

Usage::

    python benchmarks/ablate_sass_diversity.py --datasets db1 myo --subjects 3 --seeds 0 1 2 \\
        --out results/ablate_sass_diversity
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
    "diversity_0": lambda: SASS(diversity=0.0),
    "diversity_4": lambda: SASS(diversity=4.0),
}
REFERENCE = "sass"
RATIO = 2.0

TITLE = "# SASS's diversity potential (`diversity`), one change, inner split"
INTRO = one_change_intro("ablate_sass_diversity", "its condition sampler")

#: ``choose_diversity(units)`` gives ``(choice, rows)``: the pre-registered rule against ``sass``.
choose_diversity, write_report, main = one_change_ablation(
    name="ablate_sass_diversity",
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
