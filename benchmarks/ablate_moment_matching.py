"""Class-mean *and covariance* matching of the SASS pool by kernel herding, inner split.

The follow-up to ``ablate_mean_matching`` (``results/time_split/ablate_mean_matching``,
code 8c00ec8). There, herding the SASS pool towards the real class means in Hudgins
features halved the class-mean offset (DB1 3.40 -> 2.02, Myo 1.65 -> 0.57 Mahalanobis
units) and moved no model (paired gains -0.5 to +0.0 points, all inside the seed sd), and
LDA on DB1 still lost 2.6 points to none. The same units showed DB1's kept windows 30-43%
more spread about their class means than the real windows (whitened Hudgins; Myo 1.0), so
the pooled covariance that LDA fits widens. This variant herds each class's mean and
second moments about the real class mean
(:func:`~semgaug_sk.augmentation.selection.herd_class_means` with ``match="covariance"``),
over 4 x the windows kept, in Hudgins features.

The protocol is ``ablate_mean_matching``'s (its :func:`run_unit`, same seeds, so the same
generator and pool per unit): one SASGAugmenter at the library's defaults (ratio 2) per
(subject, seed) on the first half in time of each gesture of the first training
repetition, one seeded pool of 4 x its windows per class, and the ratio's windows per class
kept from the front (``first``, the reference) or by herding. LDA on Hudgins features and
:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier` are scored on the second half; the
test repetitions are never read.

Rule, fixed before any unit ran (as in ``ablate_mean_matching``): SASGAugmenter gets
covariance matching if its mean paired gain over ``first`` (mean over data sets of the
per-data-set means, LDA and STC) exceeds the mean seed sd of those paired differences and
no data set and model loses more than its seed sd. Otherwise the library keeps its output.

Usage::

    python benchmarks/ablate_moment_matching.py --datasets db1 myo --subjects 3 --seeds 0 1 2 \\
        --inner-split time --out results/time_split/ablate_moment_matching
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ablate_mean_matching as mean_matching  # noqa: E402
from ablate_generator import ablation_main  # noqa: E402
from ablate_sass_selection import write_one_change_report  # noqa: E402
from ablate_time_warp import choose_by_accuracy  # noqa: E402
from protocols import subject_names  # noqa: E402

VARIANTS = {"first": (1, None), "herd_covariance_x4": (4, "hudgins", "covariance")}
REFERENCE = "first"

TITLE = "# Class-mean and covariance matching of the SASS pool (kernel herding), inner split"
INTRO = mean_matching.INTRO.replace("ablate_mean_matching", "ablate_moment_matching")


def run_unit(dataset, subject, seed, cut="auto"):
    """``ablate_mean_matching.run_unit`` with this script's variants."""
    return mean_matching.run_unit(dataset, subject, seed, variants=VARIANTS, cut=cut)


def choose_moment_matching(units):
    """``(choice, rows)``: the pre-registered rule for ``herd_covariance_x4`` against ``first``."""
    return choose_by_accuracy(units, list(VARIANTS), REFERENCE, models=mean_matching.MODELS)


def write_report(units, path):
    write_one_change_report(
        units,
        path,
        variants=VARIANTS,
        reference=REFERENCE,
        title=TITLE,
        intro=INTRO,
        candidate="Covariance matching",
        choose=choose_moment_matching,
        extra_lines=lambda units: mean_matching.diagnostics_lines(units, VARIANTS),
    )


def main(argv=None):
    return ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="ablate_moment_matching",
        run=lambda args, dataset, subject, seed: run_unit(
            dataset, subject, seed, cut=args.inner_split
        ),
        write=write_report,
        subject_names=subject_names,
        datasets=("db1", "myo"),
        inner_splits=True,
    )


if __name__ == "__main__":
    main()
