"""Folding long windows into patches (``max_length``): one change, long windows, inner split.

A device sampling at 1-2 kHz gives 200-400 samples per 200 ms window, and the diffusion
U-Net's cost grows with the positions its convolutions visit. ``DiffusionGenerator``
can fold a window longer than ``max_length`` into patches of ``ceil(n_times /
max_length)`` samples stacked as channels, and unfold the output. The
shared data are sampled slowly (DB1 at 100 Hz, Myo at 200 Hz), so at the protocol's
windows (20 and 52 samples) nothing is folded. This script makes long windows from the
same recordings instead: 1 s windows, 100 samples on DB1 (folded by 2) and 200 on Myo
(folded by 4).

Per unit (dataset, subject, seed), on the inner split of the low-data training set
(``ablate_generator.inner_split``: DB1 repetition 1 fits and 2 is held out; Myo's one
cycle is split in time; the test repetitions are never loaded), a class-conditioned
:class:`~semgaug_sk.augmentation.DiffusionGenerator` at the library's defaults is fitted
twice from the same seed: ``folded`` (``max_length=64``, the default this script was
written against, commit a775bc1) and ``unfolded`` (``max_length=None``, the network
before folding existed). Both generate twice the fitting windows per class
from the same noise seed. Measured: fit and generation time, the fidelity report against
the fitting and the held-out windows (as ``ablate_generator``), and the inner gain of a
spatio-temporal network trained on fitting + synthetic windows over the fitting windows
alone, judged on the held-out part.

Decision rule, written before the run: ``folded`` stays the default if, paired over
units, no data set's mean change in median RMS ratio, median std ratio or classes in the
10% band (against the fitting windows) is worse than minus its seed sd, and its worst-class
FID ratio is at most 1.1; otherwise ``max_length`` defaults to None.

Usage::

    python benchmarks/ablate_patch.py --datasets myo db1 --subjects 3 --seeds 0 1 2
    python benchmarks/ablate_patch.py --rerender
    python benchmarks/ablate_patch.py --datasets myo --max-length 100 \\
        --out results/ablate_patch_fold2

``--max-length`` sets the folded variant's ``max_length`` (default 64). At 100 it folds
Myo's 200 samples by 2 instead of 4 and leaves DB1's 100 unfolded; one ``--out`` folder
holds units of one ``--max-length``.

Units go to ``results/ablate_patch.jsonl`` as they finish (a rerun skips them); the table
``results/ablate_patch.md`` is rewritten from all of them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import _fidelity, ablation_main, inner_split  # noqa: E402
from augmentation import _sd  # noqa: E402
from protocols import subject_names  # noqa: E402

from semgaug_sk.augmentation import DiffusionGenerator  # noqa: E402
from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402

#: 1 s windows: 100 samples on DB1 (100 Hz), 200 on Myo (200 Hz).
LONG_WINDOWS = {
    "db1": {"window_ms": 1000.0, "step_ms": 100.0},
    "myo": {"window_ms": 1000.0, "step_ms": 50.0},
}
#: The folded variant's ``max_length`` unless ``--max-length`` says otherwise.
DEFAULT_MAX_LENGTH = 64
REFERENCE = "unfolded"
#: Paired against the reference: ``(key, higher is better)``.
PAIRED = (
    ("train_median_rms_ratio", None),
    ("train_median_std_ratio", None),
    ("train_classes_within_10pct", True),
    ("classes_within_10pct", True),
    ("inner_gain", True),
)


def variants(max_length):
    """``{variant: DiffusionGenerator params}``: folded at ``max_length`` and unfolded."""
    return {"folded": {"max_length": max_length}, "unfolded": {"max_length": None}}


def folded_max_length(units):
    """The folded variant's ``max_length`` in ``units`` (64 for units that predate the key)."""
    return next((u.get("max_length", DEFAULT_MAX_LENGTH) for u in units), DEFAULT_MAX_LENGTH)


def check_units(args, units, log):
    """Refuse to mix folded ``max_length`` values in one log."""
    found = {u.get("max_length", DEFAULT_MAX_LENGTH) for u in units}
    if found - {args.max_length}:
        raise SystemExit(
            f"{log} holds units folded at max_length={sorted(found)}, not {args.max_length}; "
            "pass another --out for another --max-length."
        )


def run_unit(dataset, subject, seed, max_length=DEFAULT_MAX_LENGTH):
    """Both variants on one subject's inner split of 1 s windows."""
    torch.manual_seed(seed)
    fit, held_out = inner_split(dataset, subject, windows=LONG_WINDOWS[dataset])
    codes = np.unique(fit.y, return_inverse=True)[1]
    syn_codes = np.repeat(np.arange(codes.max() + 1), 2 * np.bincount(codes))
    y_syn = np.unique(fit.y)[syn_codes]
    judge = SpatioTemporalClassifier(random_state=1000 + seed, min_steps=None).fit(fit.X, fit.y)
    real_only = judge.score(held_out.X, held_out.y)
    unit = {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "shape": list(fit.X.shape[1:]),
        "n_fit_windows": len(fit.X),
        "n_held_out_windows": len(held_out.X),
        "max_length": max_length,
        "variants": {},
    }
    for variant, params in variants(max_length).items():
        start = time.perf_counter()
        gen = DiffusionGenerator(random_state=seed, **params).fit(fit.X, codes)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        X_syn = gen.sample(syn_codes, random_state=seed)
        sample_s = time.perf_counter() - start
        record = _fidelity(held_out.X, held_out.y, X_syn, y_syn, judge, "")
        record.update(_fidelity(fit.X, fit.y, X_syn, y_syn, judge, "train_"))
        augmented = SpatioTemporalClassifier(random_state=1000 + seed, min_steps=None).fit(
            np.concatenate([fit.X, X_syn]), np.concatenate([fit.y, y_syn])
        )
        record["inner_gain"] = float(augmented.score(held_out.X, held_out.y) - real_only)
        record["patch_size"] = gen.patch_size_
        record["n_unet_levels"] = gen.n_unet_levels_
        record["fit_s"] = round(fit_s, 1)
        record["sample_windows_per_s"] = round(len(X_syn) / sample_s, 1)
        unit["variants"][variant] = record
    return unit


def paired(units, dataset, key):
    """``(mean over subjects of the mean paired change, mean seed sd)`` of folded - unfolded."""
    mine = [u for u in units if u["dataset"] == dataset]
    means, sds = [], []
    for subject in sorted({u["subject"] for u in mine}):
        diffs = [
            u["variants"]["folded"][key] - u["variants"][REFERENCE][key]
            for u in mine
            if u["subject"] == subject
        ]
        means.append(np.mean(diffs))
        sds.append(_sd(diffs))
    return float(np.mean(means)), float(np.mean(sds))


def fid_ratio(units, dataset, prefix="train_"):
    """Mean over units of folded / unfolded worst-class FID."""
    key = f"{prefix}worst_fid"
    ratios = [
        u["variants"]["folded"][key] / u["variants"][REFERENCE][key]
        for u in units
        if u["dataset"] == dataset and u["variants"][REFERENCE][key] > 0
    ]
    return float(np.mean(ratios)) if ratios else float("nan")


def choose(units):
    """The module docstring's rule: ``(keep_folding, reasons)``."""
    reasons = []
    for dataset in sorted({u["dataset"] for u in units}):
        for key in ("train_median_rms_ratio", "train_median_std_ratio"):
            # closer to 1 is better: the change in distance from 1
            mine = [u for u in units if u["dataset"] == dataset]
            diffs = {}
            for u in mine:
                change = abs(u["variants"]["folded"][key] - 1) - abs(
                    u["variants"][REFERENCE][key] - 1
                )
                diffs.setdefault(u["subject"], []).append(-change)
            gain = float(np.mean([np.mean(d) for d in diffs.values()]))
            sd = float(np.mean([_sd(d) for d in diffs.values()]))
            if gain < -sd:
                reasons.append(f"{dataset} {key}: closer to 1 by {gain:+.3f} < -{sd:.3f}")
        gain, sd = paired(units, dataset, "train_classes_within_10pct")
        if gain < -sd:
            reasons.append(f"{dataset} classes in band {gain:+.2f} < -{sd:.2f}")
        ratio = fid_ratio(units, dataset)
        if ratio > 1.1:
            reasons.append(f"{dataset} worst-class FID ratio {ratio:.2f} > 1.1")
    return not reasons, reasons


def write_report(units, path):
    max_length = folded_max_length(units)
    lines = [
        "# Folding long windows into patches (`max_length`)",
        "",
        "`python benchmarks/ablate_patch.py`: class-conditioned DiffusionGenerator at the "
        "library's defaults on 1 s windows (DB1 100 samples, Myo 200), inner split of the "
        f"low-data training set, `folded` (`max_length={max_length}`) against `unfolded` "
        "(`max_length=None`), same seed. Read the times as ratios within a unit, not as "
        "levels: the 2-core machine's speed drifts between runs.",
        "",
        "| dataset | subject | seed | shape | patch | fit s (folded / unfolded) | "
        "generate windows/s | train worst FID | median RMS ratio | median std ratio | "
        "classes in band (train) | inner gain (points) |",
        "|---|---|---:|---|---:|---|---|---|---|---|---|---|",
    ]
    for u in units:
        f, r = u["variants"]["folded"], u["variants"][REFERENCE]
        lines.append(
            f"| {u['dataset']} | {u['subject']} | {u['seed']} | {u['shape']} | "
            f"{f['patch_size']} | {f['fit_s']} / {r['fit_s']} | "
            f"{f['sample_windows_per_s']} / {r['sample_windows_per_s']} | "
            f"{f['train_worst_fid']:.3f} / {r['train_worst_fid']:.3f} | "
            f"{f['train_median_rms_ratio']:.3f} / {r['train_median_rms_ratio']:.3f} | "
            f"{f['train_median_std_ratio']:.3f} / {r['train_median_std_ratio']:.3f} | "
            f"{f['train_classes_within_10pct']:.2f} / {r['train_classes_within_10pct']:.2f} | "
            f"{100 * f['inner_gain']:+.1f} / {100 * r['inner_gain']:+.1f} |"
        )
    lines += [
        "",
        "Paired, folded - unfolded (mean over subjects of the mean over seeds; ± the mean "
        "seed sd):",
        "",
        "| dataset | fit time ratio | generate speed ratio | train worst-FID ratio | "
        + " | ".join(key for key, _ in PAIRED)
        + " |",
        "|---|---:|---:|---:|" + "---:|" * len(PAIRED),
    ]
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        fit_ratio = np.mean(
            [u["variants"][REFERENCE]["fit_s"] / u["variants"]["folded"]["fit_s"] for u in mine]
        )
        gen_ratio = np.mean(
            [
                u["variants"]["folded"]["sample_windows_per_s"]
                / u["variants"][REFERENCE]["sample_windows_per_s"]
                for u in mine
            ]
        )
        cells = []
        for key, _ in PAIRED:
            gain, sd = paired(units, dataset, key)
            scale = 100 if key == "inner_gain" else 1
            cells.append(f"{scale * gain:+.3f} ± {scale * sd:.3f}")
        lines.append(
            f"| {dataset} | {fit_ratio:.2f}x faster | {gen_ratio:.2f}x | "
            f"{fid_ratio(units, dataset):.2f} | " + " | ".join(cells) + " |"
        )
    keep, reasons = choose(units)
    lines += ["", "Decision rule (module docstring):", ""]
    lines += [f"- {reason}" for reason in reasons] or ["- no criterion fails"]
    lines += [
        "",
        "Chosen: **"
        + (
            f"folding at max_length={max_length} passes the rule"
            if keep
            else f"folding at max_length={max_length} fails the rule; the default stays None"
        )
        + "**",
    ]
    Path(path).write_text("\n".join(lines) + "\n")


def main(argv=None):
    ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="ablate_patch",
        run=lambda args, dataset, subject, seed: run_unit(dataset, subject, seed, args.max_length),
        write=write_report,
        add_arguments=lambda parser: parser.add_argument(
            "--max-length", type=int, default=DEFAULT_MAX_LENGTH, help="the folded variant's"
        ),
        check_units=check_units,
        subject_names=subject_names,
        datasets=("myo", "db1"),
    )


if __name__ == "__main__":
    main()
