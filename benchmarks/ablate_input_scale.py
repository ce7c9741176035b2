"""Do the downstream networks depend on the data's units? One change, on an inner split.

:class:`~semgaug_sk.nn.emg_layers.WindowGain` divides each window by
``sqrt(mean(x**2) + 1e-6)``. The floor is absolute, so for windows of RMS below about
1e-3 it dominates, and the division is by a constant rather than by the window's own
gain. UCI's recordings, as loaded, have an RMS of about 2e-4: there the networks'
"robustness to channel gain" was not active, and EMG in volts (RMS about 1e-5) made the
conv-transformer fall to chance in a review. The networks now divide the windows by the
training windows' RMS (``input_rms_``) before anything else, which makes the floor
relative to the data.

This script measures that one change, side by side with the same seeds:

- ``raw``: the network reads the windows as they are (the old path: ``input_rms_ = 1``);
- ``scaled``: the library's path;

each on the windows as loaded (``x1``) and in units 2**-10 (about 1e-3) as large
(``x2^-10``, e.g. millivolts stored as volts). The scaled path gives bit-identical
networks for both (tested in ``tests/test_classifiers.py``); the run shows it on data.
SpatioTemporalClassifier runs all four cells, ConvTransformerClassifier the two ``x1``
cells (it costs 5× more).

The protocol is the inner split of ``ablate_generator.inner_split``: the training windows
of the low-data protocol split once more (DB1 and UCI by repetition, Myo's single cycle
in time); the networks train on the first part and are scored on the second. The test
repetitions are never loaded.

The rule, written before the run: the scaled path is kept, as a correction of the units'
influence, unless at ``x1`` it loses to ``raw`` by more than the seed sd on some data set
and model.

Usage::

    python benchmarks/ablate_input_scale.py --datasets db1 myo uci --subjects 5 --seeds 0 1 2
    python benchmarks/ablate_input_scale.py --rerender

Units go to ``results/ablate_input_scale.jsonl`` as they finish (a rerun skips them); the
table ``results/ablate_input_scale.md`` is rewritten from all of them.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import ablation_main, inner_split  # noqa: E402
from ablate_time_warp import _cell, _per_subject, rule_row  # noqa: E402
from augmentation import _sd  # noqa: E402
from protocols import subject_names  # noqa: E402

from semgaug_sk.classifiers import (  # noqa: E402
    ConvTransformerClassifier,
    SpatioTemporalClassifier,
)

#: Units factor of the small-units cells (a power of two: an exact change of units).
SMALL_UNITS = 2.0**-10
#: Cells per model: (input path, units factor).
CELLS = {
    "stc": {
        "raw x1": ("raw", 1.0),
        "scaled x1": ("scaled", 1.0),
        "raw x2^-10": ("raw", SMALL_UNITS),
        "scaled x2^-10": ("scaled", SMALL_UNITS),
    },
    "tdct": {"raw x1": ("raw", 1.0), "scaled x1": ("scaled", 1.0)},
}
MODELS = {"stc": SpatioTemporalClassifier, "tdct": ConvTransformerClassifier}
#: Constructor overrides per model (empty: the library's defaults); the tests shrink them.
MODEL_PARAMS: dict = {
    "stc": {"min_steps": None},
    "tdct": {},
}  # STC as measured: before its 4000-step floor (min_steps) became the default


def raw_input(cls):
    """``cls`` reading the windows as they are (``input_rms_ = 1``): the old path."""

    def _fit_net_input(self, X, y=None):
        self.input_rms_ = 1.0
        return self._net_input(X)

    return type(f"Raw{cls.__name__}", (cls,), {"_fit_net_input": _fit_net_input})


def run_unit(dataset, subject, seed, cut="auto"):
    """Held-out accuracy and fit time of every model under every cell of :data:`CELLS`."""
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    accuracy, seconds = {}, {}
    for model, cells in CELLS.items():
        accuracy[model], seconds[model] = {}, {}
        for name, (path, factor) in cells.items():
            cls = MODELS[model] if path == "scaled" else raw_input(MODELS[model])
            start = time.perf_counter()
            net = cls(random_state=seed, **MODEL_PARAMS[model]).fit(fit.X * factor, fit.y)
            seconds[model][name] = round(time.perf_counter() - start, 2)
            accuracy[model][name] = float(net.score(held_out.X * factor, held_out.y))
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": len(fit.X),
        "n_held_out_windows": len(held_out.X),
        "accuracy": accuracy,
        "seconds": seconds,
    }


def _accuracy_cell(units, dataset, model, name):
    means, seed_sd = _per_subject(units, dataset, lambda u: 100 * u["accuracy"][model][name])
    return f"{means.mean():.1f} ± {_sd(means):.1f} ({seed_sd:.1f})"


def _scaled_gain(unit, model):
    """Points the scaled path gains over the raw one at the data's units, in one unit."""
    accuracy = unit["accuracy"][model]
    return 100 * (accuracy["scaled x1"] - accuracy["raw x1"])


def rule(units):
    """The rule's row for the scaled path at ``x1``, one cell per (data set, model)."""
    cells = []
    for dataset in sorted({u["dataset"] for u in units}):
        for model in CELLS:
            means, seed_sd = _per_subject(
                units,
                dataset,
                functools.partial(_scaled_gain, model=model),
            )
            cells.append((dataset, model, float(means.mean()), seed_sd))
    return rule_row("scaled x1", cells)


def write_report(units, path):
    datasets = sorted({u["dataset"] for u in units})
    lines = [
        "# Downstream networks and the data's units: raw input against input scaled by the "
        "training RMS",
        "",
        "`python benchmarks/ablate_input_scale.py`: SpatioTemporalClassifier (STC) and "
        "ConvTransformerClassifier (TDCT) at their defaults, trained on real windows only. "
        "One change: `raw` reads the windows as they are (the old path), `scaled` divides "
        "them by the training windows' RMS first (the library's path). `x2^-10`: the same "
        "windows in units 1024× smaller. Inner split of the low-data training windows (the "
        "test repetitions are never loaded). Accuracy (%), mean ± sd over subjects of the "
        "per-subject mean over seeds (mean seed sd in brackets).",
        "",
        "| dataset | subjects × seeds | model | "
        + " | ".join(CELLS["stc"])
        + " | scaled − raw (x1) | fit s (scaled x1) |",
        "|---|---|---|" + "---:|" * (len(CELLS["stc"]) + 2),
    ]
    for dataset in datasets:
        mine = [u for u in units if u["dataset"] == dataset]
        size = f"{len({u['subject'] for u in mine})} × {len({u['seed'] for u in mine})}"
        for model, cells in CELLS.items():
            accs = [
                _accuracy_cell(mine, dataset, model, name) if name in cells else "—"
                for name in CELLS["stc"]
            ]
            gain = _cell(
                mine,
                dataset,
                functools.partial(_scaled_gain, model=model),
            )
            seconds = sum(u["seconds"][model]["scaled x1"] for u in mine) / len(mine)
            lines.append(
                f"| {dataset} | {size} | {model} | "
                + " | ".join(accs)
                + f" | {gain} | {seconds:.1f} |"
            )
    row = rule(units)
    losses = "; ".join(f"{d} {m} {g:+.1f} (sd {sd:.1f})" for d, m, g, sd in row["losers"])
    lines += [
        "",
        "The rule, written before the run: keep the scaled path unless at x1 it loses to raw by "
        "more than the seed sd in some (data set, model) cell. Mean paired gain "
        f"{row['mean']:+.2f} points (mean seed sd {row['seed_sd']:.2f}); losses beyond the seed "
        f"sd: {losses or 'none'}. Decision: "
        f"{'revisit' if row['losers'] else 'keep'} the scaled path.",
    ]
    Path(path).write_text("\n".join(lines) + "\n")


def main(argv=None):
    return ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="ablate_input_scale",
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
