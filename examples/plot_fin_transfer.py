"""LSTM-FIN feature imitation and transfer to an unseen subject.

A :class:`semgaug_sk.FeatureImitator` learns the closed-form features rms, var,
ssi and ent from raw single-channel windows, without labels. Here:

1. the imitator is fitted on the windows of some subjects (the "population");
2. its R² against the closed-form features is measured, feature by feature, on
   a subject it has never seen (``r2_per_feature``), the transfer that lets the
   imitator be pre-trained once and reused;
3. on the unseen subject's low-data split (train on two repetitions, test on the
   others) a :class:`semgaug_sk.FINClassifier` reusing the pre-trained imitator
   (CNN head, then joint fine-tuning) is compared with LDA on the closed-form
   fin features. Nothing of the unseen subject is used before step 3's
   training repetitions.

By default it runs on the simulator (4 subjects: 3 for pre-training, 1 unseen;
1-2 minutes on a 2-core CPU). ``--dataset db1`` uses NinaPro DB1 from
``--data`` (``../shared/data/ninapro_db1_e1``): subjects 1-4 pre-train, subject
``--subject`` is the unseen one. ``--save-dir DIR`` saves a scatter plot of
imitated against closed-form features as ``DIR/fin_transfer.png``; nothing is
shown on screen.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from semgaug_sk import EMGFeatures, FeatureImitator, FINClassifier
from semgaug_sk.datasets import load_ninapro, make_semg_gestures
from semgaug_sk.model_selection import repetition_split, select_windows
from semgaug_sk.windows import sliding_windows

DEFAULT_DB1 = Path(__file__).resolve().parents[2] / "shared" / "data" / "ninapro_db1_e1"
FEATURES = ("rms", "var", "ssi", "ent")


def load_windows(args):
    """Windows of the population subjects and of the unseen subject."""
    if args.dataset == "sim":
        rec = make_semg_gestures(
            n_subjects=4, n_repetitions=4, n_channels=8, fs=200.0, random_state=args.seed
        )
        w = sliding_windows(rec, window_ms=200, step_ms=100)
        unseen = w.subject == w.subject.max()
    else:
        subjects = [1, 2, 3, 4, args.subject]
        rec = load_ninapro(args.data, subjects=subjects, fs=100.0)
        w = sliding_windows(rec, window_ms=200, step_ms=100)
        unseen = w.subject == args.subject
    return select_windows(w, ~unseen), select_windows(w, unseen)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=("sim", "db1"), default="sim")
    parser.add_argument("--data", default=str(DEFAULT_DB1), help="NinaPro DB1 folder")
    parser.add_argument("--subject", type=int, default=7, help="unseen DB1 subject")
    parser.add_argument("--epochs", type=int, default=15, help="imitator epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-dir", default=None)
    args = parser.parse_args(argv)

    population, unseen = load_windows(args)
    print(
        f"population: {len(population.X)} windows of {population.X.shape[1]} x "
        f"{population.X.shape[2]}; unseen subject: {len(unseen.X)} windows"
    )
    t0 = time.perf_counter()
    imitator = FeatureImitator(FEATURES, max_epochs=args.epochs, random_state=args.seed)
    imitator.fit(population.X)
    print(f"imitator fitted in {time.perf_counter() - t0:.0f} s ({imitator.n_epochs_} epochs)")

    r2 = imitator.r2_per_feature(unseen.X)
    print("R² on the unseen subject: " + ", ".join(f"{k} {v:.4f}" for k, v in r2.items()))

    train, test = repetition_split(unseen, train_repetitions=[1, 2])
    fin = FINClassifier(imitator, fine_tune_epochs=5, random_state=args.seed).fit(train.X, train.y)
    lda = make_pipeline(EMGFeatures(FEATURES), StandardScaler(), LinearDiscriminantAnalysis())
    lda.fit(train.X, train.y)
    print(f"\nunseen subject, train repetitions 1-2 ({len(train.y)} windows), test the others:")
    print(f"  FINClassifier (pre-trained imitator): {100 * fin.score(test.X, test.y):.1f}%")
    print(f"  LDA on closed-form fin features:      {100 * lda.score(test.X, test.y):.1f}%")

    if args.save_dir:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        true = EMGFeatures(FEATURES).fit_transform(unseen.X).reshape(len(unseen.X), -1, 4)
        imitated = imitator.transform(unseen.X).reshape(len(unseen.X), -1, 4)
        fig, axes = plt.subplots(1, 4, figsize=(12, 3))
        for j, (ax, name) in enumerate(zip(axes, FEATURES, strict=True)):
            ax.scatter(true[..., j].ravel(), imitated[..., j].ravel(), s=2, alpha=0.3)
            ax.set(title=f"{name}: R² {r2[name]:.3f}", xlabel="closed form", ylabel="imitated")
        fig.tight_layout()
        out = Path(args.save_dir)
        out.mkdir(parents=True, exist_ok=True)
        fig.savefig(out / "fin_transfer.png", dpi=100)
        print(f"saved {out / 'fin_transfer.png'}")


if __name__ == "__main__":
    main()
