"""Does early stopping on overlapping neighbours cost the guide? Validation split ablation.

The library's early-stopped networks (``SemanticEncoder``, the guide and filter of SASG,
and the LSTM-FIN models) hold out a random stratified 15 % of their training windows and
keep the weights of the best validation epoch. Windows cut with a step shorter than their
length overlap their neighbours (DB1 200/100 ms, Myo and UCI 260/100 ms), so almost every
validation window shares half its samples with a training window: the validation loss
follows the training loss, and the epoch it picks is optimistic. Two reviews flagged it.

One change, on the inner split of the low-data training windows
(``ablate_generator.inner_split``; the test repetitions are never loaded):

- ``shuffle``: the library's split (a random stratified 15 %);
- ``blocked``: the same 15 % per class, as one run of consecutive windows at a random
  place in the class's windows (in their order, which is time order for windows cut by
  ``sliding_windows``), and the 2 windows on either side of the run dropped from training,
  so that the validation windows overlap no training window (2 covers the overlap of
  every geometry above). Windows given in a shuffled order make it a random split again.

``SemanticEncoder`` at the library's defaults is fitted on the first part of the inner
split with each split and scored on the second. LSTM-FIN is not measured (minutes per fit).

Rule, fixed before any unit was run (the one of ``ablate_encoder.py``): ``blocked``
replaces ``shuffle`` if its mean paired accuracy gain (mean over data sets of the
per-data-set means over subjects) exceeds the mean seed sd of those paired differences
and no data set loses more than its seed sd. Otherwise the library keeps ``shuffle``.

Usage::

    python benchmarks/ablate_validation.py --datasets db1 myo uci --subjects 5 --seeds 0 1 2
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_encoder import score_encoders, variant_rows  # noqa: E402
from ablate_generator import ablation_main, inner_split  # noqa: E402
from ablate_time_warp import choose_by_accuracy, rule_table  # noqa: E402
from protocols import subject_names  # noqa: E402

from semgaug_sk.base import BaseWindowNet  # noqa: E402
from semgaug_sk.encoders import SemanticEncoder  # noqa: E402

VARIANTS = ("shuffle", "blocked")
REFERENCE = "shuffle"
#: Windows dropped from training on either side of a validation run.
GAP = 2
#: Constructor overrides (empty: the library's defaults); the tests shrink them.
SIZES: dict = {}


def blocked_split(y, fraction, seed, gap=GAP):
    """Train and validation rows: per class, one run of consecutive rows held out.

    Parameters
    ----------
    y : ndarray of int of shape (n,)
        Class codes, in the windows' order.
    fraction : float
        Share of each class held out (rounded up).
    seed : int
        Where each class's run starts.
    gap : int
        Rows of the class dropped from training on either side of its run.

    Returns
    -------
    train, valid : ndarray of int
        Sorted row indices; None for ``valid`` when a class is too small.

    Examples
    --------
    >>> train, valid = blocked_split(np.zeros(20, dtype=int), 0.15, seed=0, gap=1)
    >>> len(valid), len(train), bool(np.all(np.diff(valid) == 1))
    (3, 15, True)
    """
    rng = np.random.default_rng(seed)
    valid = np.zeros(len(y), dtype=bool)
    dropped = np.zeros(len(y), dtype=bool)
    for code in np.unique(y):
        rows = np.flatnonzero(y == code)
        k = int(np.ceil(fraction * len(rows)))
        if len(rows) - k - 2 * gap < 1:
            return np.arange(len(y)), None
        start = int(rng.integers(0, len(rows) - k + 1))
        valid[rows[start : start + k]] = True
        dropped[rows[max(0, start - gap) : start]] = True
        dropped[rows[start + k : start + k + gap]] = True
    return np.flatnonzero(~valid & ~dropped), np.flatnonzero(valid)


@contextlib.contextmanager
def validation_split(kind):
    """Within the block, the library's networks hold out validation windows as ``kind``."""
    if kind == "shuffle":
        yield
        return
    plain = BaseWindowNet._plain_split

    def blocked(self, y=None, *, seed, n, given=None):
        fraction = float(self.validation_fraction)
        if y is None or fraction == 0:
            return plain(self, y, seed=seed, n=n, given=given)
        train, valid = blocked_split(np.asarray(y), fraction, seed)
        if valid is None:
            return plain(self, y, seed=seed, n=n, given=given)
        return train, valid

    BaseWindowNet._plain_split = blocked
    try:
        yield
    finally:
        BaseWindowNet._plain_split = plain


def run_unit(dataset, subject, seed, cut="auto"):
    """Held-out inner-split accuracy of the encoder under each validation split."""
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    results = {"accuracy": {}, "fit_seconds": {}, "epochs": {}}
    for kind in VARIANTS:
        with validation_split(kind):
            scored = score_encoders(
                {kind: SemanticEncoder(random_state=seed, **SIZES)}, fit, held_out
            )
        for key in results:
            results[key].update(scored[key])
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": len(fit.X),
        "n_held_out_windows": len(held_out.X),
        **results,
    }


def write_report(units, path):
    datasets = sorted({u["dataset"] for u in units})
    lines = [
        "# Early stopping on a blocked validation split (inner split)",
        "",
        "`python benchmarks/ablate_validation.py`: `SemanticEncoder` at the library's "
        "defaults, one change: which of its training windows it validates on (`shuffle`, the "
        f"library's random stratified split, or `blocked`, one run of consecutive windows per "
        f"class with {GAP} windows dropped on either side). Trained on the first part of the "
        "inner split of the low-data training windows and scored on the second (the test "
        "repetitions are never loaded). Accuracy in %, mean ± sd over subjects of the "
        "per-subject mean over seeds (mean seed sd in brackets); gains are paired, in points.",
        "",
        "| dataset | subjects × seeds | validation | accuracy | gain vs shuffle | epochs | fit s |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for dataset in datasets:
        lines += variant_rows(units, dataset, VARIANTS, REFERENCE)
    choice, rows = choose_by_accuracy(units, VARIANTS, REFERENCE)
    lines += [
        "",
        "## The pre-registered rule",
        "",
        "`blocked` replaces `shuffle` if its mean paired gain (over data sets) exceeds the mean "
        "seed sd of those differences and no data set loses more than its seed sd.",
        "",
        *rule_table(rows),
        "",
        f"Choice: **{choice}**.",
        "",
    ]
    Path(path).write_text("\n".join(lines))


def main(argv=None):
    ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="ablate_validation",
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
