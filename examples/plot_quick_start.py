"""Quick start: does classic augmentation help LDA when only two repetitions are known?

The whole workflow on simulated data, in a few seconds:

1. simulate a recording of several subjects performing six gestures six times
   (:func:`semgaug_sk.datasets.make_semg_gestures`);
2. cut it into 200 ms windows with a 100 ms step
   (:func:`semgaug_sk.windows.sliding_windows`);
3. for each subject, train on repetitions 1-2 and test on 3-6
   (:func:`semgaug_sk.model_selection.repetition_split`), so no window of a test
   repetition is ever seen in training;
4. compare ``Pipeline([EMGFeatures("hudgins"), LDA])`` without augmentation and
   with :class:`semgaug_sk.ClassicAugmenter` in front of it (an imbalanced-learn
   pipeline, which applies the sampler when fitting only). The augmenter is
   random, so it runs with two seeds, averaged within each subject;
5. print per-subject accuracies, the mean ± sd over subjects and the paired gain
   over no augmentation.

Run it with ``python examples/plot_quick_start.py``. ``--save-dir DIR`` also
saves two figures there (real against synthetic windows, and the gains); nothing
is ever shown on screen.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from semgaug_sk import ClassicAugmenter, EMGFeatures
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import repetition_split, select_windows
from semgaug_sk.windows import sliding_windows

TRAIN_REPETITIONS = [1, 2]

#: Augmenters compared with no augmentation (None). Each gets a seed at fit time.
METHODS = {
    "none": None,
    "classic: jitter+scaling": dict(methods=("jitter", "scaling")),
    "classic: all four": dict(methods=("jitter", "scaling", "magnitude_warp", "time_warp")),
}


def make_pipeline(augmenter_params, seed):
    """LDA on Hudgins features, with a ClassicAugmenter in front when params are given."""
    steps = [("feat", EMGFeatures("hudgins")), ("clf", LinearDiscriminantAnalysis())]
    if augmenter_params is not None:
        steps.insert(0, ("aug", ClassicAugmenter(**augmenter_params, random_state=seed)))
    return Pipeline(steps)


def evaluate(windows, seeds):
    """Accuracy per method and subject (seeds averaged within a subject)."""
    subjects = np.unique(windows.subject)
    acc = {name: np.zeros(len(subjects)) for name in METHODS}
    for i, subject in enumerate(subjects):
        own = select_windows(windows, windows.subject == subject)
        train, test = repetition_split(own, TRAIN_REPETITIONS)
        for name, params in METHODS.items():
            # Deterministic without an augmenter: one fit is enough.
            run_seeds = seeds if params is not None else seeds[:1]
            scores = [
                make_pipeline(params, seed).fit(train.X, train.y).score(test.X, test.y)
                for seed in run_seeds
            ]
            acc[name][i] = np.mean(scores)
    return subjects, acc


def print_table(subjects, acc):
    """Accuracy (%) per subject, mean ± sd over subjects and paired gain over 'none'."""
    header = f"{'method':<24s}" + "".join(f"{f'S{s}':>7s}" for s in subjects)
    header += f"{'mean ± sd':>15s}{'gain ± sd':>15s}"
    print(header)
    print("-" * len(header))
    for name, values in acc.items():
        gain = 100 * (values - acc["none"])
        row = f"{name:<24s}" + "".join(f"{100 * v:7.1f}" for v in values)
        row += f"{100 * values.mean():8.1f} ± {100 * values.std(ddof=1):4.1f}"
        row += f"{gain.mean():+8.1f} ± {gain.std(ddof=1):4.1f}" if name != "none" else ""
        print(row)


def save_figures(windows, acc, seed, save_dir):
    """Real vs synthetic windows of the first subject, and the gains, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")  # never open a window
    import matplotlib.pyplot as plt

    from semgaug_sk.plotting import plot_gain_bars, plot_real_vs_synthetic

    save_dir.mkdir(parents=True, exist_ok=True)
    first = select_windows(windows, windows.subject == windows.subject.min())
    train, _ = repetition_split(first, TRAIN_REPETITIONS)
    aug = ClassicAugmenter(random_state=seed).fit(train.X, train.y)
    X_syn, y_syn = aug.generate(3)
    fig = plot_real_vs_synthetic(
        train.X, train.y, X_syn, y_syn, fs=windows.fs, path=save_dir / "real_vs_synthetic.png"
    )
    plt.close(fig)
    gains = {
        name: {"LDA (hudgins)": 100 * (v - acc["none"]).mean()}
        for name, v in acc.items()
        if name != "none"
    }
    errors = {
        name: {"LDA (hudgins)": 100 * (v - acc["none"]).std(ddof=1)}
        for name, v in acc.items()
        if name != "none"
    }
    fig = plot_gain_bars(
        gains, errors, title="Gain over no augmentation", path=save_dir / "gains.png"
    )
    plt.close(fig)
    print(f"figures saved in {save_dir}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-subjects", type=int, default=4, help="simulated subjects (>= 2)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="augmenter seeds")
    parser.add_argument("--save-dir", type=Path, default=None, help="save figures here")
    args = parser.parse_args(argv)
    if args.n_subjects < 2:
        parser.error("--n-subjects must be at least 2 to report a standard deviation")

    start = time.perf_counter()
    rec = make_semg_gestures(
        n_subjects=args.n_subjects, n_classes=6, n_repetitions=6, random_state=0
    )
    windows = sliding_windows(rec, window_ms=200, step_ms=100)
    print(
        f"{len(windows.y)} windows of {windows.X.shape[1]} channels x {windows.X.shape[2]} samples "
        f"({windows.fs:g} Hz), {len(np.unique(windows.y))} gestures, "
        f"{args.n_subjects} subjects; train on repetitions {TRAIN_REPETITIONS}, test on the others"
    )
    subjects, acc = evaluate(windows, args.seeds)
    print(f"\nAccuracy (%) on held-out repetitions, LDA on Hudgins features, seeds {args.seeds}\n")
    print_table(subjects, acc)
    print(f"\ndone in {time.perf_counter() - start:.1f} s")
    if args.save_dir is not None:
        save_figures(windows, acc, args.seeds[0], args.save_dir)


if __name__ == "__main__":
    main()
