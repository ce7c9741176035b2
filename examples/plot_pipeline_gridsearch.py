"""Tune an augmenter honestly: GridSearchCV over the training repetitions only.

An augmenter has hyper-parameters (which transforms, how many synthetic windows
per real one, how strong). Choosing them on the test repetitions would make the
reported accuracy optimistic, so this example chooses them by cross-validation
*inside* the training repetitions and touches the test repetitions once:

- the model is an imbalanced-learn pipeline
  ``[("aug", ClassicAugmenter()), ("feat", EMGFeatures("hudgins")), ("clf", LDA)]``;
  inside cross-validation the augmenter is refitted on each training fold, so
  no validation window is ever augmented or learned from;
- per subject, :class:`sklearn.model_selection.GridSearchCV` runs over the
  augmenter's parameters with :class:`sklearn.model_selection.LeaveOneGroupOut`
  and ``groups=train.repetition``: each fold holds out one whole training
  repetition (training on repetitions 1-3 gives three folds);
- ``aug__ratio=0`` (no synthetic windows) is part of the grid, so the search may
  decide that augmentation does not help;
- the refitted best pipeline is scored once on the held-out repetitions 4-6.

The printout gives, per subject, the best parameters, the inner-CV accuracy and
the test accuracy, then the mean ± sd of the test accuracy over subjects.

:class:`semgaug_sk.SASGAugmenter` drops into the same ``"aug"`` slot. With
``--sasg`` the script runs the same search on one subject (simulated at 200 Hz,
so 40-sample windows) with a deliberately tiny diffusion model (seconds per fit
instead of minutes; far too small to judge SASG-DA by), over the
condition-sampling strategy::

    param_grid = {"aug__sampling": ["gmss", "sass"], "aug__ratio": [1.0]}

Run it with ``python examples/plot_pipeline_gridsearch.py`` (``--sasg`` adds the
SASG search; ``--save-dir DIR`` saves a figure of the inner-CV scores).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut

from semgaug_sk import ClassicAugmenter, EMGFeatures
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import repetition_split, select_windows
from semgaug_sk.windows import sliding_windows

TRAIN_REPETITIONS = [1, 2, 3]

#: The augmenter's grid. ``ratio=0`` means no synthetic window: the "no augmentation" option.
CLASSIC_GRID = {
    "aug__ratio": [0.0, 1.0, 2.0],
    "aug__methods": [("jitter", "scaling"), ("jitter", "scaling", "magnitude_warp", "time_warp")],
    "aug__jitter_sigma": [0.05, 0.2],
}


def classic_pipeline(seed=0):
    """Augmenter -> Hudgins features -> LDA, in an imbalanced-learn pipeline."""
    return Pipeline(
        [
            ("aug", ClassicAugmenter(random_state=seed)),
            ("feat", EMGFeatures("hudgins")),
            ("clf", LinearDiscriminantAnalysis()),
        ]
    )


def sasg_pipeline(seed=0):
    """The same pipeline with a tiny SASGAugmenter (a smoke-sized model, not a benchmark).

    The defaults (``SASGAugmenter()``: 750 training steps of 256 windows, a 32-channel U-Net, a
    full SemanticEncoder) take minutes per fit on a CPU. This model trains in
    seconds and is far too small to produce convincing windows, so the SASS
    confidence filter, which would reject most of them, is switched off
    (``confidence_threshold=0``).
    """
    from semgaug_sk import SASGAugmenter, SemanticEncoder
    from semgaug_sk.augmentation import SASS

    encoder = SemanticEncoder(
        embedding_dim=8, n_filters=16, n_blocks=2, max_epochs=15, patience=5, random_state=seed
    )
    augmenter = SASGAugmenter(
        encoder=encoder,
        n_steps=100,
        batch_size=64,
        base_channels=8,
        channel_mults=(1,),
        n_cond_tokens=2,
        cond_token_dim=16,
        n_sampling_steps=5,
        sampling=SASS(n_steps=5),
        max_rounds=1,
        confidence_threshold=0.0,
        random_state=seed,
    )
    return Pipeline(
        [
            ("aug", augmenter),
            ("feat", EMGFeatures("hudgins")),
            ("clf", LinearDiscriminantAnalysis()),
        ]
    )


def search_subject(pipeline, param_grid, train, test, n_jobs=None):
    """Grid search on the training repetitions (leave one repetition out), then test once."""
    search = GridSearchCV(pipeline, param_grid, cv=LeaveOneGroupOut(), n_jobs=n_jobs)
    search.fit(train.X, train.y, groups=train.repetition)
    return search, search.score(test.X, test.y)


def format_params(params):
    parts = []
    for key, value in sorted(params.items()):
        if isinstance(value, tuple):
            value = "+".join(value)
        parts.append(f"{key.removeprefix('aug__')}={value}")
    return ", ".join(parts)


def save_figure(searches, save_dir):
    """Inner-CV accuracy of every grid point, one line per subject."""
    import matplotlib

    matplotlib.use("Agg")  # never open a window
    import matplotlib.pyplot as plt

    save_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for subject, search in searches.items():
        scores = 100 * search.cv_results_["mean_test_score"]
        ax.plot(scores, marker="o", label=f"S{subject}")
    labels = [format_params(p) for p in next(iter(searches.values())).cv_results_["params"]]
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=6)
    ax.set_ylabel("inner-CV accuracy (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = save_dir / "gridsearch_cv_scores.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"figure saved to {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-subjects", type=int, default=3, help="simulated subjects (>= 2)")
    parser.add_argument("--n-jobs", type=int, default=None, help="parallel fits (joblib)")
    parser.add_argument("--sasg", action="store_true", help="also search a tiny SASGAugmenter")
    parser.add_argument("--save-dir", type=Path, default=None, help="save a figure here")
    args = parser.parse_args(argv)
    if args.n_subjects < 2:
        parser.error("--n-subjects must be at least 2 to report a standard deviation")

    start = time.perf_counter()
    rec = make_semg_gestures(
        n_subjects=args.n_subjects, n_classes=6, n_repetitions=6, random_state=1
    )
    windows = sliding_windows(rec, window_ms=200, step_ms=100)
    n_points = int(np.prod([len(v) for v in CLASSIC_GRID.values()]))
    print(
        f"{n_points} grid points x {len(TRAIN_REPETITIONS)} leave-one-repetition-out folds per "
        f"subject; train repetitions {TRAIN_REPETITIONS}, test on the others\n"
    )
    print(f"{'subject':<8s}{'inner CV':>9s}{'test':>8s}  best parameters")
    searches, test_scores = {}, []
    for subject in np.unique(windows.subject):
        own = select_windows(windows, windows.subject == subject)
        train, test = repetition_split(own, TRAIN_REPETITIONS)
        search, test_score = search_subject(
            classic_pipeline(), CLASSIC_GRID, train, test, n_jobs=args.n_jobs
        )
        searches[subject] = search
        test_scores.append(test_score)
        print(
            f"S{subject:<7d}{100 * search.best_score_:9.1f}{100 * test_score:8.1f}  "
            f"{format_params(search.best_params_)}"
        )
    test_scores = np.array(test_scores)
    print(
        f"\ntest accuracy over subjects: {100 * test_scores.mean():.1f} ± "
        f"{100 * test_scores.std(ddof=1):.1f} %  ({time.perf_counter() - start:.1f} s)"
    )

    if args.sasg:
        start = time.perf_counter()
        # One subject at 200 Hz (40-sample windows, as on a Myo armband) keeps the tiny model fast.
        rec = make_semg_gestures(n_classes=6, n_repetitions=6, fs=200.0, random_state=1)
        own = sliding_windows(rec, window_ms=200, step_ms=100)
        train, test = repetition_split(own, TRAIN_REPETITIONS)
        grid = {"aug__sampling": ["gmss", "sass"], "aug__ratio": [1.0]}
        search, test_score = search_subject(sasg_pipeline(), grid, train, test, n_jobs=args.n_jobs)
        print("\nSASGAugmenter (tiny model), one subject at 200 Hz:")
        for params, score in zip(
            search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
        ):
            print(f"  {format_params(params):<28s} inner CV {100 * score:5.1f}")
        print(
            f"  best: {format_params(search.best_params_)}, test {100 * test_score:.1f} %  "
            f"({time.perf_counter() - start:.1f} s)"
        )

    if args.save_dir is not None:
        save_figure(searches, args.save_dir)


if __name__ == "__main__":
    main()
