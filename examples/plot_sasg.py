"""SASG-DA on simulated sEMG: one fitted model, conditions sampled with GMSS and with SASS.

:class:`semgaug_sk.SASGAugmenter` with semantic conditioning (SRG) learns a
conditional diffusion model whose condition is the embedding of a task-aware
encoder. New conditions can then be drawn in two ways from the *same* fitted
model, switching with ``set_params(sampling=...)`` (no refit):

- **GMSS**: from a Gaussian fitted to each class's real embeddings;
- **SASS**: the rarest of several GMSS candidates, pushed away from dense real
  neighbourhoods and from each other, then filtered by the encoder's confidence.

The script

1. simulates four gestures, two repetitions, eight channels at 200 Hz
   (:func:`semgaug_sk.datasets.make_semg_gestures`; a low rate keeps windows
   short, 40 samples for 200 ms, so the model trains fast on a CPU);
2. cuts 200 ms windows with a 100 ms step (:func:`semgaug_sk.windows.sliding_windows`);
3. fits a deliberately small ``SASGAugmenter`` (a 16-channel U-Net trained for
   ``--n-steps`` = 600 steps of 64 windows, a fifth of the default's windows: about a minute on a
   laptop CPU; enough to show the mechanics, too little to judge sample quality);
4. generates ``--n-per-class`` windows per class with GMSS, then with SASS;
5. prints synthetic-data metrics (:func:`semgaug_sk.metrics.evaluate_synthetic`)
   of the GMSS and SASS *conditions* against the real embeddings, and of the
   generated windows re-embedded by the encoder: SASS should show a higher
   rarity score and a larger distance to the real k-th neighbour (AvgKNN);
6. saves figures to ``--save-dir`` (default: a new temporary folder): real
   against synthetic windows for each method
   (:func:`semgaug_sk.plotting.plot_real_vs_synthetic`) and a PCA map of real
   embeddings with the GMSS and SASS conditions
   (:func:`semgaug_sk.plotting.plot_embedding_map`).

The metrics use the guiding encoder itself, which is fine to compare two
sampling methods of one model; a benchmark scores with a separate evaluation
encoder (see ``benchmarks/``).

Run it with ``python examples/plot_sasg.py`` (``--n-steps 3000`` for a better
model, a few minutes on a CPU).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from semgaug_sk import SASGAugmenter, SemanticEncoder
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.metrics import evaluate_synthetic
from semgaug_sk.windows import sliding_windows

#: Metrics printed for each method (keys of evaluate_synthetic's result).
METRICS = ("rarity", "rarity_outside", "avg_knn", "fid", "coverage")


def make_augmenter(n_steps, seed):
    """A small semantic SASGAugmenter: ~1 minute of training on a laptop CPU."""
    encoder = SemanticEncoder(
        embedding_dim=16, n_filters=32, n_blocks=2, max_epochs=60, patience=10
    )
    return SASGAugmenter(
        encoder,
        condition="semantic",
        sampling="gmss",
        n_steps=n_steps,
        batch_size=64,
        base_channels=16,
        channel_mults=(1, 2),
        cond_token_dim=32,
        n_sampling_steps=20,
        random_state=seed,
    )


def generate_both(aug, n_per_class):
    """GMSS then SASS windows (and their conditions) from the same fitted model."""
    out = {}
    for name, sampling in (("GMSS", "gmss"), ("SASS", "sass")):
        X_syn, y_syn = aug.set_params(sampling=sampling).generate(n_per_class)
        out[name] = dict(
            X=X_syn,
            y=y_syn,
            conditions=aug.last_conditions_.copy(),
            condition_labels=aug.last_condition_labels_.copy(),
            acceptance=dict(aug.last_acceptance_),
        )
    return out


def print_metrics(real_emb, y_real, generated, encoder):
    """Metrics of the conditions, and of the generated windows re-embedded by the encoder."""
    rows = []
    for name, g in generated.items():
        cond = evaluate_synthetic(
            real_emb, g["conditions"], y_real=y_real, y_syn=g["condition_labels"]
        )
        windows = evaluate_synthetic(
            real_emb, encoder.transform(g["X"]), y_real=y_real, y_syn=g["y"]
        )
        rows.append((f"{name} conditions", cond))
        rows.append((f"{name} windows", windows))
    header = f"{'':<18s}" + "".join(f"{m:>16s}" for m in METRICS)
    print(header)
    print("-" * len(header))
    for label, res in rows:
        print(f"{label:<18s}" + "".join(f"{res[m]:16.3f}" for m in METRICS))
    accept = ", ".join(f"{c}: {v:.2f}" for c, v in generated["SASS"]["acceptance"].items())
    print(f"\nSASS confidence filter, fraction of generated windows kept per class: {accept}")


def save_figures(train, real_emb, generated, save_dir):
    import matplotlib

    matplotlib.use("Agg")  # never open a window
    import matplotlib.pyplot as plt

    from semgaug_sk.plotting import plot_embedding_map, plot_real_vs_synthetic

    save_dir.mkdir(parents=True, exist_ok=True)
    for name, g in generated.items():
        fig = plot_real_vs_synthetic(
            train.X, train.y, g["X"], g["y"], fs=train.fs, path=save_dir / f"real_vs_{name}.png"
        )
        plt.close(fig)
    embeddings = np.concatenate([real_emb] + [g["conditions"] for g in generated.values()])
    labels = np.concatenate([train.y] + [g["condition_labels"] for g in generated.values()])
    kinds = np.concatenate(
        [np.full(len(real_emb), "real")]
        + [np.full(len(g["conditions"]), name) for name, g in generated.items()]
    )
    fig = plot_embedding_map(
        embeddings,
        labels,
        kinds,
        title="Real embeddings and sampled conditions (PCA of the real ones)",
        path=save_dir / "embedding_map.png",
    )
    plt.close(fig)
    print(f"figures saved in {save_dir}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-steps", type=int, default=600, help="diffusion training steps")
    parser.add_argument("--n-per-class", type=int, default=20, help="windows generated per class")
    parser.add_argument("--seed", type=int, default=0, help="random_state of the augmenter")
    parser.add_argument(
        "--save-dir",
        type=Path,
        default=None,
        help="save figures here (default: a temporary folder)",
    )
    args = parser.parse_args(argv)
    if args.n_steps < 1 or args.n_per_class < 6:
        parser.error("--n-steps must be >= 1 and --n-per-class >= 6 (the metrics use k=5)")

    start = time.perf_counter()
    rec = make_semg_gestures(n_classes=4, n_repetitions=2, n_channels=8, fs=200.0, random_state=0)
    train = sliding_windows(rec, window_ms=200, step_ms=100)
    print(
        f"{len(train.y)} training windows of {train.X.shape[1]} channels x {train.X.shape[2]} "
        f"samples ({train.fs:g} Hz), gestures {np.unique(train.y).tolist()}"
    )

    aug = make_augmenter(args.n_steps, args.seed).fit(train.X, train.y)
    fit_time = time.perf_counter() - start
    print(
        f"fitted in {fit_time:.0f} s: encoder {aug.encoder_.n_epochs_} epochs, diffusion "
        f"{aug.n_train_steps_} steps, U-Net with {aug.n_unet_levels_} level(s)"
    )
    generated = generate_both(aug, args.n_per_class)
    real_emb = aug.encoder_.transform(train.X)
    print(f"\nGMSS against SASS, {args.n_per_class} windows per class, embeddings of the encoder\n")
    print_metrics(real_emb, train.y, generated, aug.encoder_)
    print(f"\ndone in {time.perf_counter() - start:.1f} s")

    save_dir = args.save_dir or Path(tempfile.mkdtemp(prefix="semgaug_sasg_"))
    save_figures(train, real_emb, generated, save_dir)


if __name__ == "__main__":
    main()
