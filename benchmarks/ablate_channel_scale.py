"""One RMS for all channels, or one per channel? One change, on an inner split.

The window networks divide every window by the training windows' RMS before anything
else (``input_rms_``), then by the window's own RMS. With one RMS for all channels
(``input_scaling="global"``, the library's path so far) the channels keep their relative
levels, which carry the gesture. But a channel recorded at a far higher gain than the
others (another amplifier setting, a noisy electrode, a different sensor in the same
array) then dominates every window's RMS, and a review found the spatio-temporal network
falling from 93% to 29% on the simulator when two of eight channels were 100× louder.
``input_scaling="channel"`` divides each channel by its own training RMS instead.

This script measures that one change, side by side with the same seeds, for
SpatioTemporalClassifier (STC) and ConvTransformerClassifier (TDCT) at their defaults:

- ``x1``: the windows as loaded;
- ``gains``: each channel multiplied by a fixed gain ``10**u``, ``u`` uniform in
  ``[-1, 1]`` (drawn once per unit from its seed; the same gains in the fitting and the
  held-out windows): recordings whose channels differ by up to 100× in gain.

The protocol is the inner split of ``ablate_generator.inner_split``: the training windows
of the low-data protocol split once more; the networks train on the first part and are
scored on the second. The test repetitions are never loaded.

The rule, written before the run (:func:`choose`): ``"channel"`` becomes the default when,
at ``x1``, (a) no (data set, model) cell loses to ``"global"`` by more than its seed sd,
(b) the mean paired gain over those cells is at least minus half their mean seed sd (the
robustness is worth a cost inside the noise, not beyond it), and (c) under ``gains`` its
mean paired gain is positive. Otherwise ``"global"`` stays, and ``"channel"`` remains an
option.

Usage::

    python benchmarks/ablate_channel_scale.py --datasets db1 myo uci --subjects 3 --seeds 0 1 2
    python benchmarks/ablate_channel_scale.py --rerender

Units go to ``results/ablate_channel_scale.jsonl`` as they finish (a rerun skips them);
the table ``results/ablate_channel_scale.md`` is rewritten from all of them.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import ablation_main, inner_split  # noqa: E402
from ablate_time_warp import _cell, _per_subject  # noqa: E402
from augmentation import _sd  # noqa: E402
from protocols import subject_names  # noqa: E402

from semgaug_sk.classifiers import (  # noqa: E402
    ConvTransformerClassifier,
    SpatioTemporalClassifier,
)

SCALINGS = ("global", "channel")
CONDITIONS = ("x1", "gains")
#: Cells per model: "<input_scaling> <condition>".
CELLS = [f"{s} {c}" for c in CONDITIONS for s in SCALINGS]
MODELS = {"stc": SpatioTemporalClassifier, "tdct": ConvTransformerClassifier}
#: Constructor overrides per model (empty: the library's defaults); the tests shrink them.
MODEL_PARAMS: dict = {"stc": {}, "tdct": {}}
#: Channel gains span 10**-GAIN_DECADES .. 10**GAIN_DECADES.
GAIN_DECADES = 1.0


def channel_gains(n_channels, seed):
    """The ``gains`` condition's fixed gain per channel, shape ``(n_channels, 1)``."""
    rng = np.random.default_rng([seed, 20261207])
    return (10.0 ** rng.uniform(-GAIN_DECADES, GAIN_DECADES, n_channels))[:, None]


def run_unit(dataset, subject, seed, cut="auto"):
    """Held-out accuracy and fit time of every model under every cell of :data:`CELLS`."""
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    gains = channel_gains(fit.X.shape[1], seed)
    accuracy, seconds = {}, {}
    for model, cls in MODELS.items():
        accuracy[model], seconds[model] = {}, {}
        for name in CELLS:
            scaling, condition = name.split()
            factor = gains if condition == "gains" else 1.0
            start = time.perf_counter()
            net = cls(random_state=seed, input_scaling=scaling, **MODEL_PARAMS[model])
            net.fit((fit.X * factor).astype(np.float32), fit.y)
            seconds[model][name] = round(time.perf_counter() - start, 2)
            accuracy[model][name] = float(
                net.score((held_out.X * factor).astype(np.float32), held_out.y)
            )
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": len(fit.X),
        "n_held_out_windows": len(held_out.X),
        "channel_gains": gains.ravel().round(4).tolist(),
        "accuracy": accuracy,
        "seconds": seconds,
    }


def _channel_gain(unit, model, condition):
    """Points ``"channel"`` gains over ``"global"`` under ``condition``, in one unit."""
    accuracy = unit["accuracy"][model]
    return 100 * (accuracy[f"channel {condition}"] - accuracy[f"global {condition}"])


def _cells(units, condition):
    """``(data set, model, mean paired gain, seed sd)`` for every (data set, model)."""
    cells = []
    for dataset in sorted({u["dataset"] for u in units}):
        for model in MODELS:
            value = functools.partial(_channel_gain, model=model, condition=condition)
            means, seed_sd = _per_subject(units, dataset, value)
            cells.append((dataset, model, float(means.mean()), seed_sd))
    return cells


def choose(units):
    """The rule of the module docstring: ``"channel"`` or ``"global"``, and its reasons."""
    x1, gains = _cells(units, "x1"), _cells(units, "gains")
    mean_x1 = float(np.mean([c[2] for c in x1]))
    seed_sd = float(np.mean([c[3] for c in x1]))
    mean_gains = float(np.mean([c[2] for c in gains]))
    losers = [c for c in x1 if c[2] < -c[3]]
    adopt = not losers and mean_x1 >= -0.5 * seed_sd and mean_gains > 0
    return {
        "choice": "channel" if adopt else "global",
        "mean_x1": mean_x1,
        "seed_sd_x1": seed_sd,
        "mean_gains": mean_gains,
        "losers": losers,
    }


def _accuracy_cell(units, dataset, model, name):
    means, seed_sd = _per_subject(units, dataset, lambda u: 100 * u["accuracy"][model][name])
    return f"{means.mean():.1f} ± {_sd(means):.1f} ({seed_sd:.1f})"


def write_report(units, path):
    datasets = sorted({u["dataset"] for u in units})
    lines = [
        "# Downstream networks: one input RMS for all channels, or one per channel",
        "",
        "`python benchmarks/ablate_channel_scale.py`: SpatioTemporalClassifier (STC) and "
        "ConvTransformerClassifier (TDCT) at their defaults, trained on real windows only. "
        "One change: `input_scaling`, `global` (one RMS for all channels) or `channel` (each "
        "channel's training RMS). `x1`: the windows as loaded; `gains`: each channel "
        f"multiplied by a fixed gain between 10^-{GAIN_DECADES:g} and 10^{GAIN_DECADES:g} "
        "(drawn from the unit's seed, the same in the fitting and held-out windows). Inner "
        "split of the low-data training windows (the test repetitions are never loaded). "
        "Accuracy (%), mean ± sd over subjects of the per-subject mean over seeds (mean seed "
        "sd in brackets); a gain is channel − global, paired by unit.",
        "",
        "| dataset | subjects × seeds | model | "
        + " | ".join(CELLS)
        + " | channel − global (x1) | channel − global (gains) | fit s (global x1) |",
        "|---|---|---|" + "---:|" * (len(CELLS) + 3),
    ]
    for dataset in datasets:
        mine = [u for u in units if u["dataset"] == dataset]
        size = f"{len({u['subject'] for u in mine})} × {len({u['seed'] for u in mine})}"
        for model in MODELS:
            accs = [_accuracy_cell(mine, dataset, model, name) for name in CELLS]
            gains = [
                _cell(mine, dataset, functools.partial(_channel_gain, model=model, condition=c))
                for c in CONDITIONS
            ]
            seconds = sum(u["seconds"][model]["global x1"] for u in mine) / len(mine)
            lines.append(
                f"| {dataset} | {size} | {model} | "
                + " | ".join(accs + gains)
                + f" | {seconds:.1f} |"
            )
    rule = choose(units)
    losses = "; ".join(f"{d} {m} {g:+.1f} (sd {sd:.1f})" for d, m, g, sd in rule["losers"])
    lines += [
        "",
        "The rule, written before the run: `channel` becomes the default when at x1 no "
        "(data set, model) cell loses by more than its seed sd, the mean x1 gain is at least "
        "minus half the mean seed sd, and the mean gain under `gains` is positive. Mean x1 "
        f"gain {rule['mean_x1']:+.2f} points (mean seed sd {rule['seed_sd_x1']:.2f}); mean "
        f"gain under gains {rule['mean_gains']:+.2f}; x1 losses beyond the seed sd: "
        f'{losses or "none"}. Decision: `input_scaling="{rule["choice"]}"`.',
    ]
    Path(path).write_text("\n".join(lines) + "\n")


def main(argv=None):
    return ablation_main(
        argv,
        description=__doc__.split("\n")[0],
        name="ablate_channel_scale",
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
