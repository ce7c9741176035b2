"""Low-latency gesture prediction: how far ahead can FINClassifier predict?

LSTM-FIN's low-latency mode trains the classifier to predict the gesture that
will be performed a little later than the window it sees. Here:

1. a recording is cut into 200 ms windows (50 ms step) with
   ``sliding_windows(..., horizon_ms=h)``: each window is labelled with the
   gesture ``h`` ms after its last sample (and takes that sample's repetition),
   so windows of rest just before an onset carry the coming gesture; windows
   whose future is rest are dropped, as is any window whose future would cross
   the end of the stream (never mislabelled);
2. one :class:`semgaug_sk.FeatureImitator` is fitted once on the training
   windows (labels are not needed, so the horizon does not matter) and reused;
3. for each horizon ``h`` in 0, 50, 100, 200, 300 ms a
   :class:`semgaug_sk.FINClassifier` (CNN head + joint fine-tuning) and, for
   reference, LDA on the closed-form fin features are trained on repetitions
   1-4 of the simulator (1-7 of DB1) and tested on the other repetitions;
4. the accuracy is printed against the horizon, overall and on the
   *transition* windows (those whose future label differs from their own),
   where prediction ahead of time actually matters.

By default it runs on the simulator (about two minutes on a 2-core CPU);
``--dataset db1`` uses NinaPro DB1 subject ``--subject`` from ``--data``
(``../shared/data/ninapro_db1_e1``). ``--save-dir DIR`` saves the accuracy
curve as ``DIR/low_latency.png``; nothing is shown on screen.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from semgaug_sk import EMGFeatures, FeatureImitator, FINClassifier
from semgaug_sk.datasets import load_ninapro, make_semg_gestures
from semgaug_sk.model_selection import repetition_split
from semgaug_sk.windows import sliding_windows

HORIZONS_MS = (0, 50, 100, 200, 300)
#: Training repetitions (the others are for testing): 4 of the simulator's 6, 7 of DB1's 10.
TRAIN_REPETITIONS = {"sim": [1, 2, 3, 4], "db1": [1, 2, 3, 4, 5, 6, 7]}
DEFAULT_DB1 = Path(__file__).resolve().parents[2] / "shared" / "data" / "ninapro_db1_e1"


def load_recording(args):
    """The simulator (200 Hz, 8 channels) or one NinaPro DB1 subject (100 Hz, 10 channels)."""
    if args.dataset == "sim":
        return make_semg_gestures(
            n_classes=6, n_repetitions=6, n_channels=8, fs=200.0, random_state=args.seed
        )
    return load_ninapro(args.data, subjects=[args.subject], fs=100.0)


def evaluate(rec, horizons, train_repetitions, seed):
    """Accuracy (overall and on transition windows) of FIN and LDA for each horizon."""
    base = sliding_windows(rec, window_ms=200, step_ms=50)
    train0, _ = repetition_split(base, train_repetitions)
    # A moderate imitator keeps the example fast; the defaults are larger (see FeatureImitator).
    imitator = FeatureImitator(hidden_size=16, num_layers=2, max_epochs=15, random_state=seed).fit(
        train0.X
    )
    print(
        f"imitator: {imitator.n_epochs_} epochs on {len(train0.X)} windows of "
        f"{base.X.shape[1]} channels x {base.X.shape[2]} samples"
    )
    print(
        f"{'horizon':>7s} {'test':>6s} {'trans.':>6s} {'FIN %':>8s} {'LDA %':>8s} "
        f"{'FIN tr. %':>10s} {'LDA tr. %':>10s}"
    )
    rows = []
    for h in horizons:
        w = sliding_windows(rec, window_ms=200, step_ms=50, horizon_ms=h)
        train, test = repetition_split(w, train_repetitions)
        current = test.current_label if h > 0 else test.y
        transition = test.y != current
        fin = FINClassifier(imitator, max_epochs=60, fine_tune_epochs=5, random_state=seed).fit(
            train.X, train.y
        )
        lda = make_pipeline(EMGFeatures("fin"), StandardScaler(), LinearDiscriminantAnalysis())
        lda.fit(train.X, train.y)
        row = dict(horizon=h, n_test=len(test.y), n_transition=int(transition.sum()))
        for name, model in (("fin", fin), ("lda", lda)):
            pred = model.predict(test.X)
            row[name] = float(np.mean(pred == test.y))
            row[f"{name}_transition"] = (
                float(np.mean(pred[transition] == test.y[transition]))
                if transition.any()
                else np.nan
            )
        rows.append(row)
        print(
            f"{h:>7d} {row['n_test']:>6d} {row['n_transition']:>6d} {100 * row['fin']:8.1f} "
            f"{100 * row['lda']:8.1f} {100 * row['fin_transition']:10.1f} "
            f"{100 * row['lda_transition']:10.1f}",
            flush=True,
        )
    return rows


def save_figure(rows, save_dir, title):
    import matplotlib

    matplotlib.use("Agg")  # never open a window
    import matplotlib.pyplot as plt

    save_dir.mkdir(parents=True, exist_ok=True)
    h = [r["horizon"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key, style, label in (
        ("fin", "o-", "FINClassifier, all windows"),
        ("lda", "s-", "LDA (fin features), all windows"),
        ("fin_transition", "o--", "FINClassifier, transition windows"),
        ("lda_transition", "s--", "LDA, transition windows"),
    ):
        ax.plot(h, [100 * r[key] for r in rows], style, label=label)
    ax.set_xlabel("prediction horizon (ms)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = save_dir / "low_latency.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"figure saved to {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("sim", "db1"), default="sim")
    parser.add_argument("--data", type=Path, default=DEFAULT_DB1, help="NinaPro DB1 folder")
    parser.add_argument("--subject", type=int, default=1, help="DB1 subject")
    parser.add_argument("--horizons", type=int, nargs="+", default=list(HORIZONS_MS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-dir", type=Path, default=None, help="save the figure here")
    args = parser.parse_args(argv)
    if args.dataset == "db1" and not Path(args.data).is_dir():
        parser.error(f"{args.data} does not exist; pass --data /path/to/ninapro_db1_e1")

    start = time.perf_counter()
    rec = load_recording(args)
    train_reps = TRAIN_REPETITIONS[args.dataset]
    rows = evaluate(rec, args.horizons, train_reps, args.seed)
    print(
        "horizon in ms; 'trans.' = test windows whose label h ms ahead differs from their own; "
        f"train repetitions {train_reps}, test the others ({time.perf_counter() - start:.0f} s)"
    )
    if args.save_dir is not None:
        title = "simulator" if args.dataset == "sim" else f"NinaPro DB1 S{args.subject}"
        save_figure(rows, args.save_dir, f"Low-latency prediction, {title}")


if __name__ == "__main__":
    main()
