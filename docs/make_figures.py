"""Regenerate the figures of the documentation (``docs/_static/figures/*.png``).

The figures are committed, small PNGs, so that building the documentation needs
neither torch training nor minutes of CPU. Every figure is drawn from the
simulator and the library's own functions with fixed seeds; rerun this script
after changing them::

    python docs/make_figures.py                 # all figures
    python docs/make_figures.py windows gmss_sass   # some of them

It takes a few seconds and never opens a window (Agg back-end).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from semgaug_sk.datasets import make_semg_gestures  # noqa: E402
from semgaug_sk.features import extract_features  # noqa: E402
from semgaug_sk.model_selection import repetition_split  # noqa: E402
from semgaug_sk.windows import sliding_windows  # noqa: E402

OUT = Path(__file__).resolve().parent / "_static" / "figures"
DPI = 100
CLASS_COLOURS = plt.get_cmap("tab10").colors


def _save(fig, name, out):
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    print(f"{path} ({path.stat().st_size / 1024:.0f} kB)")


def _segments(values):
    """(start, stop, value) of each run of constant value."""
    change = np.flatnonzero(np.diff(values)) + 1
    starts = np.r_[0, change]
    stops = np.r_[change, len(values)]
    return [(int(a), int(b), values[a]) for a, b in zip(starts, stops, strict=True)]


def fig_windows(out):
    """A recording with its windows, and a zoom on a prediction horizon."""
    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=8, fs=1000.0, random_state=0)
    fs = rec.fs
    t = np.arange(len(rec.label)) / fs
    w = sliding_windows(rec, window_ms=200, step_ms=100)
    fig, (ax, az) = plt.subplots(2, 1, figsize=(9, 5.2), gridspec_kw=dict(height_ratios=[1.25, 1]))

    channels = (0, 2, 5)
    spread = 2.5 * np.percentile(np.abs(rec.emg[:, channels]), 99)
    for k, ch in enumerate(channels):
        ax.plot(t, rec.emg[:, ch] - k * spread, lw=0.3, color="0.25", rasterized=True)
    for a, b, lab in _segments(rec.label):
        if lab == 0:
            continue
        ax.axvspan(t[a], t[b - 1], color=CLASS_COLOURS[lab], alpha=0.15, lw=0)
        ax.text(
            (t[a] + t[b - 1]) / 2,
            0.9 * spread,
            f"g{lab} r{rec.repetition[a]}",
            ha="center",
            fontsize=7,
        )
    base = -(len(channels) - 0.3) * spread
    row = np.arange(len(w.start)) % 2
    for s, y, r in zip(w.start, w.y, row, strict=True):
        ax.plot(
            [s / fs, (s + w.window_samples) / fs],
            [base - 0.25 * spread * r] * 2,
            color=CLASS_COLOURS[y],
            lw=2.5,
            solid_capstyle="butt",
        )
    ax.set_yticks([-k * spread for k in range(len(channels))] + [base - 0.12 * spread])
    ax.set_yticklabels([f"ch{c}" for c in channels] + ["windows"], fontsize=7)
    ax.set_xlim(t[0], t[-1])
    ax.set_ylim(base - 0.6 * spread, 1.3 * spread)
    ax.set_xlabel("time (s)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(
        "200 ms windows, 100 ms step: none crosses a change of gesture or repetition; "
        "rest is not windowed",
        fontsize=9,
    )

    # Zoom: the onset of the first gesture, windows labelled 100 ms ahead.
    wh = sliding_windows(rec, window_ms=200, step_ms=50, horizon_ms=100)
    onset = next(a for a, _, lab in _segments(rec.label) if lab != 0)
    lo, hi = onset - int(0.6 * fs), onset + int(0.5 * fs)
    sel = (wh.start >= lo) & (wh.start + wh.window_samples <= hi)
    zt = np.arange(lo, hi) / fs
    az.plot(zt, rec.emg[lo:hi, channels[0]], lw=0.5, color="0.25")
    az.axvspan(onset / fs, hi / fs, color=CLASS_COLOURS[rec.label[onset]], alpha=0.15, lw=0)
    az.axvline(onset / fs, color="k", lw=0.8, ls=":")
    amp = np.abs(rec.emg[lo:hi, channels[0]]).max()
    for i, (s, y, cur) in enumerate(
        zip(wh.start[sel], wh.y[sel], wh.current_label[sel], strict=True)
    ):
        level = -1.3 * amp - 0.35 * amp * i
        end = s + wh.window_samples
        az.plot([s / fs, end / fs], [level, level], color=CLASS_COLOURS[y], lw=3)
        az.annotate(
            "",
            xy=((end + wh.horizon_samples) / fs, level),
            xytext=(end / fs, level),
            arrowprops=dict(arrowstyle="->", lw=0.7, color="0.3"),
        )
        if cur != y:
            az.text(
                s / fs - 0.01, level, "rest window, label g1", fontsize=6, ha="right", va="center"
            )
    az.set_xlim(lo / fs - 0.25, hi / fs)
    az.set_yticks([])
    az.set_xlabel("time (s)", fontsize=8)
    az.tick_params(labelsize=7)
    az.set_title(
        "horizon_ms=100: each window (bar) takes the label 100 ms after its end (arrow); "
        "dotted: gesture onset",
        fontsize=9,
    )
    fig.tight_layout()
    _save(fig, "windows", out)


def fig_features(out):
    """Class activation patterns of the simulator against the MAV of the windows."""
    rec = make_semg_gestures(n_classes=6, n_repetitions=6, random_state=0)
    w = sliding_windows(rec, window_ms=200, step_ms=100)
    train, _ = repetition_split(w, [1, 2, 3])
    mav = extract_features(train.X, "mav")[:, :, 0]  # (n_windows, n_channels)
    classes = np.unique(train.y)
    mean_mav = np.stack([mav[train.y == c].mean(axis=0) for c in classes])
    patterns = rec.class_patterns

    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for ax, data, title in (
        (axes[0], patterns, "simulated activation pattern"),
        (axes[1], mean_mav, "mean MAV of the training windows"),
    ):
        shown = data / data.max(axis=1, keepdims=True)
        im = ax.imshow(shown, cmap="viridis", aspect="auto", vmin=0, vmax=1)
        ax.set_xticks(range(data.shape[1]))
        ax.set_xticklabels([f"ch{c}" for c in range(data.shape[1])], fontsize=7)
        ax.set_yticks(range(len(classes)))
        ax.set_yticklabels([f"gesture {c}" for c in classes], fontsize=7)
        ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.8, label="relative to the row maximum")
    _save(fig, "features", out)


def _embedding_2d():
    """2-D stand-in for an encoder embedding: PCA of standardised log Hudgins features."""
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rec = make_semg_gestures(n_classes=3, n_repetitions=4, random_state=3)
    w = sliding_windows(rec, window_ms=200, step_ms=50)
    train, _ = repetition_split(w, [1, 2])
    F = np.log(extract_features(train.X, ("mav", "wl")).reshape(len(train.y), -1))
    Z = make_pipeline(StandardScaler(), PCA(n_components=2, random_state=0)).fit_transform(F)
    codes = np.unique(train.y, return_inverse=True)[1].ravel()
    return Z, codes


def fig_gmss_sass(out):
    """GMSS samples and SASS conditions in a 2-D embedding, with the library's functions."""
    from semgaug_sk.augmentation.conditions import (
        fit_class_gaussians,
        gaussian_factors,
        sample_gmss,
        sass_sample,
    )

    Z, codes = _embedding_2d()
    n_classes = codes.max() + 1
    means, covs, _ = fit_class_gaussians(Z, codes, n_classes)
    factors = gaussian_factors(covs)
    rng = np.random.default_rng(0)
    n_new = 12

    fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharex=True, sharey=True)
    for ax in axes:
        for c in range(n_classes):
            ax.scatter(*Z[codes == c].T, s=10, color=CLASS_COLOURS[c + 1], alpha=0.5, lw=0)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("embedding dimension 1", fontsize=8)
    axes[0].set_ylabel("embedding dimension 2", fontsize=8)

    gmss = sample_gmss(means, factors, np.repeat(np.arange(n_classes), n_new), rng)
    for c in range(n_classes):
        pts = gmss[c * n_new : (c + 1) * n_new]
        axes[0].scatter(
            *pts.T, s=30, marker="^", color=CLASS_COLOURS[c + 1], edgecolors="k", lw=0.5
        )
    axes[0].set_title("GMSS: draws from each class Gaussian", fontsize=9)

    for c in range(n_classes):
        real = Z[codes == c]
        cond, start = sass_sample(
            real, means[c], factors[c], n_new, rng, k=5, oversample=4.0, epsilon=0.5, n_steps=20
        )
        axes[1].scatter(*start.T, s=14, marker="o", facecolors="none", edgecolors="0.3", lw=0.6)
        axes[1].scatter(
            *cond.T, s=60, marker="*", color=CLASS_COLOURS[c + 1], edgecolors="k", lw=0.5
        )
        for a, b in zip(start, cond, strict=True):
            axes[1].annotate(
                "", xy=b, xytext=a, arrowprops=dict(arrowstyle="->", lw=0.6, color="0.2")
            )
    axes[1].set_title(
        "SASS: rarest in-support candidates (o), refined (*) in their ε-ball", fontsize=9
    )
    handles = [
        plt.Line2D([], [], ls="", marker="o", color="0.5", alpha=0.5, label="real windows"),
        plt.Line2D([], [], ls="", marker="^", color="0.5", mec="k", label="GMSS"),
        plt.Line2D([], [], ls="", marker="o", mfc="none", mec="0.3", label="SASS start"),
        plt.Line2D([], [], ls="", marker="*", color="0.5", mec="k", ms=9, label="SASS condition"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    _save(fig, "gmss_sass", out)


def fig_sasg_overview(out):
    """Block diagram of SASGAugmenter."""
    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 3.6)
    ax.axis("off")

    def box(x, y, text, colour):
        ax.add_patch(
            FancyBboxPatch(
                (x - 0.85, y - 0.42),
                1.7,
                0.84,
                boxstyle="round,pad=0.04",
                fc=colour,
                ec="0.3",
                lw=0.8,
            )
        )
        ax.text(x, y, text, ha="center", va="center", fontsize=7.2)
        return x, y

    def arrow(a, b, dashed=False, dx=0.88, dy=0.0):
        ax.annotate(
            "",
            xy=(b[0] - dx, b[1] + dy),
            xytext=(a[0] + dx, a[1] - dy),
            arrowprops=dict(arrowstyle="->", lw=0.9, ls="--" if dashed else "-", color="0.2"),
        )

    train_c, gen_c = "#dbe9f6", "#fde7d3"
    ax.text(0.05, 3.35, "fit", fontsize=9, weight="bold")
    ax.text(0.05, 1.45, "generate", fontsize=9, weight="bold")
    a = box(1.0, 2.7, "real training\nwindows", train_c)
    b = box(3.0, 2.7, "SemanticEncoder\n(CNN classifier)", train_c)
    c = box(5.0, 2.7, "embeddings z\n(SRG condition)", train_c)
    d = box(7.0, 2.7, "condition tokens\n(dropped to null\nwith p=0.1)", train_c)
    e = box(9.0, 2.7, "1-D U-Net, cross-\nattention; x0 MSE\n+ Fourier loss", train_c)
    for p, q in ((a, b), (b, c), (c, d), (d, e)):
        arrow(p, q)
    f = box(1.0, 0.8, "class Gaussians\n(GMSS)", gen_c)
    g = box(3.0, 0.8, "SASS: rarest,\nsparsity + diversity\nsteps in ε-ball", gen_c)
    h = box(5.0, 0.8, "DPM-Solver++(2M)\n(10 steps, EMA\nweights)", gen_c)
    i = box(7.0, 0.8, "confidence filter\np(intended class)\n≥ 0.5", gen_c)
    j = box(9.0, 0.8, "synthetic windows\n(2 per real one)", gen_c)
    for p, q in ((f, g), (g, h), (h, i), (i, j)):
        arrow(p, q, dashed=True)
    ax.annotate(
        "",
        xy=(1.3, 1.24),
        xytext=(4.6, 2.26),
        arrowprops=dict(arrowstyle="->", lw=0.9, ls="--", color="0.2"),
    )
    ax.annotate(
        "",
        xy=(5.2, 1.24),
        xytext=(8.8, 2.26),
        arrowprops=dict(arrowstyle="->", lw=0.9, ls="--", color="0.2"),
    )
    ax.annotate(
        "",
        xy=(6.8, 1.24),
        xytext=(3.2, 2.26),
        arrowprops=dict(arrowstyle="->", lw=0.9, ls="--", color="0.2"),
    )
    label = dict(fontsize=6.5, color="0.3", ha="center", va="center")
    label["bbox"] = dict(fc="white", ec="none", pad=1.0)
    ax.text(2.95, 1.75, "fit per class", **label)
    ax.text(7.54, 1.90, "trained denoiser", **label)
    ax.text(5.0, 1.75, "encoder", **label)
    _save(fig, "sasg_overview", out)


FIGURES = {
    "windows": fig_windows,
    "features": fig_features,
    "gmss_sass": fig_gmss_sass,
    "sasg_overview": fig_sasg_overview,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", help=f"figures to draw (default all: {', '.join(FIGURES)})"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; choose among {', '.join(FIGURES)}")
    for name in args.names or FIGURES:
        FIGURES[name](args.out)


if __name__ == "__main__":
    main()
