"""Conditions between real embeddings (SMOTE in the embedding) instead of SASS's: one change, inner split.

``benchmarks/probe_condition_following.py`` found that the default generator follows a
GMSS draw, where SASS's candidates come from, only 0.44 (DB1) and 0.27 (Myo) of the way,
but a point between two real embeddings of the class 0.83 and about 1. This script asks
whether such conditions make better training windows.

Per (subject, seed) one :class:`~semgaug_sk.augmentation.SASGAugmenter` with the
library's defaults (ratio 2) is fitted on the first part of the inner split
(``ablate_generator.inner_split``; the test repetitions are never loaded). Only the
condition sampler changes (``ablate_sass_selection.run_unit``: same generator, encoder,
generation seed and windows per class). Variants: the default ``SASS()``; ``GMSS()``; and
:class:`BetweenReal`, which draws each condition a uniform fraction of the way between
two real embeddings of its class chosen at random. The library filters SASS's windows
only, so ``between`` − ``gmss`` is the one change (the conditions) and ``between`` −
``sass`` adds the filter. LDA on hudgins features and
:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier` are scored on the second part.

Rule, fixed before any unit ran: the default moves to the variant with the best mean
paired gain over ``sass`` (mean over data sets and models), if that mean exceeds the mean
seed sd of those paired differences and no data set and model loses more than its seed
sd. Otherwise the default stays.

Usage::

    python benchmarks/ablate_between_conditions.py --datasets db1 myo --subjects 3 \\
        --seeds 0 1 2 --inner-split time --out results/time_split/ablate_between_conditions
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_sass_selection import one_change_ablation, one_change_intro  # noqa: E402

from semgaug_sk.augmentation import SASS  # noqa: E402


class BetweenReal(BaseEstimator):
    """Conditions between two real embeddings of a class (SMOTE in the embedding).

    Examples
    --------
    >>> emb = np.array([[0.0], [1.0], [10.0], [12.0]]); y = np.array([0, 0, 1, 1])
    >>> z, labels = BetweenReal().fit(emb, y).sample({1: 3}, 0)
    >>> bool(np.all((z >= 10) & (z <= 12))), labels.tolist()
    (True, [1, 1, 1])
    """

    def fit(self, embeddings, y):
        self.embeddings_ = np.asarray(embeddings, dtype=np.float64)
        self.labels_ = np.asarray(y)
        self.classes_ = np.unique(self.labels_)
        return self

    def sample(self, n_per_class, random_state=None):
        rng = np.random.default_rng(random_state)
        counts = (
            n_per_class
            if isinstance(n_per_class, Mapping)
            else dict.fromkeys(self.classes_.tolist(), n_per_class)
        )
        points, labels = [], []
        for label in self.classes_.tolist():
            n = int(counts.get(label, 0))
            if not n:
                continue
            mine = self.embeddings_[self.labels_ == label]
            first, second = rng.integers(len(mine), size=(2, n))
            fraction = rng.random((n, 1))
            points.append(mine[first] + fraction * (mine[second] - mine[first]))
            labels.append(np.full(n, label))
        if not points:
            return np.empty((0, self.embeddings_.shape[1])), self.classes_[:0]
        return np.concatenate(points), np.concatenate(labels)


VARIANTS = {
    "sass": lambda: SASS(),
    "gmss": lambda: "gmss",
    "between": lambda: BetweenReal(),
}
REFERENCE = "sass"
RATIO = 2.0
TITLE = "# Conditions between real embeddings (SMOTE in the embedding), one change, inner split"
INTRO = one_change_intro(
    "ablate_between_conditions",
    "its condition sampler (only SASS's windows pass the confidence filter)",
    through_filter=False,
)

#: ``choose_conditions(units)`` gives ``(choice, rows)``: the pre-registered rule against ``sass``.
choose_conditions, write_report, main = one_change_ablation(
    name="ablate_between_conditions",
    description=__doc__.split("\n")[0],
    variants=VARIANTS,
    reference=REFERENCE,
    title=TITLE,
    intro=INTRO,
    candidate="The best variant",
    ratio=RATIO,
)


if __name__ == "__main__":
    main()
