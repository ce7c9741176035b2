"""Probe: does a decaying learning rate let the diffusion generator train in half the steps?

Issue 13 asks for a ``fit_resample`` 4x faster at equal quality, and diffusion training is
most of it (``results/bench_roofline.md``). The generator trains at a constant learning
rate with EMA weights. A warm-up then cosine decay to zero often reaches a given loss in
fewer steps, so this probe fits, per unit and seed, five generators on the fitting half of
the inner split (``ablate_generator.inner_split``; the test repetitions are never loaded):

- ``library``: the defaults (750 steps of 256 windows, constant ``lr``);
- ``half``: 375 steps, constant ``lr`` (the control for the schedule);
- ``half_cosine``: 375 steps, 5% linear warm-up then cosine decay to 0;
- ``cosine``: 750 steps with that schedule;
- ``half_double_lr``: 375 steps, constant, twice the ``lr`` (is the half budget merely
  under-trained?).

Each is scored as the generator ablation scores its variants (``ablate_generator._fidelity``:
per-class FID of a judge network, RMS and std ratios, classes in the 10% band), against the
generator's training windows. The rule, written before any unit ran: a half-budget variant
could become a default only if its worst-class FID against the training windows is at most
1.05x the library's on average and it loses no class from the 10% band on average; the probe
only reports, and a default would still need the full ablation.

Usage::

    python benchmarks/probe_lr_schedule.py --units db1:S1 db1:S2 myo:Female0 myo:Male0 \\
        --seeds 0 1 --out results/probe_lr_schedule
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import LRScheduler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import (  # noqa: E402
    _fidelity,
    add_inner_split_argument,
    check_one_inner_split,
    inner_split,
    inner_split_note,
    run_pending,
)
from protocols import read_jsonl  # noqa: E402

import semgaug_sk.augmentation.nets as nets_module  # noqa: E402
from semgaug_sk.augmentation import DiffusionGenerator  # noqa: E402
from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402

#: name -> (n_steps as a fraction of the default, schedule, lr as a multiple of the default)
VARIANTS = {
    "library": (1.0, "constant", 1.0),
    "half": (0.5, "constant", 1.0),
    "half_cosine": (0.5, "cosine", 1.0),
    "cosine": (1.0, "cosine", 1.0),
    "half_double_lr": (0.5, "constant", 2.0),
}
WARMUP_FRACTION = 0.05


def cosine_factor(step, total, warmup_fraction=WARMUP_FRACTION):
    """The learning rate's factor at optimiser ``step`` of ``total``: linear warm-up, cosine to 0.

    >>> [round(cosine_factor(s, 100), 3) for s in (0, 4, 5, 52, 99)]
    [0.2, 1.0, 1.0, 0.5, 0.0]
    """
    warmup = max(1, int(round(total * warmup_fraction)))
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - 1 - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


@contextlib.contextmanager
def learning_rate_schedule(schedule):
    """Within the block, generators train with ``schedule`` ("constant" changes nothing)."""
    original = nets_module.make_diffusion_net

    def with_schedule(gen, denoiser, **kwargs):
        net = original(gen, denoiser, **kwargs)
        total = int(gen.n_train_steps_)
        policy = LRScheduler(
            policy=torch.optim.lr_scheduler.LambdaLR,
            lr_lambda=lambda step: cosine_factor(step, total),
            step_every="batch",
        )
        net.callbacks = [*net.callbacks, ("lr_schedule", policy)]
        return net

    if schedule == "cosine":
        nets_module.make_diffusion_net = with_schedule
    try:
        yield
    finally:
        nets_module.make_diffusion_net = original


def run_unit(dataset, subject, seed, cut="auto", n_steps=None):
    """Fidelity of the generators of one unit and seed against the training windows."""
    fit, _ = inner_split(dataset, subject, cut=cut)
    codes = np.unique(fit.y, return_inverse=True)[1].ravel()
    syn_codes = np.repeat(np.arange(codes.max() + 1), 2 * np.bincount(codes))
    y_syn = np.unique(fit.y)[syn_codes]
    judge = SpatioTemporalClassifier(random_state=1000 + seed, min_steps=None).fit(fit.X, fit.y)
    defaults = DiffusionGenerator()
    default_steps = defaults.n_steps if n_steps is None else n_steps
    unit = {"dataset": dataset, "subject": subject, "seed": seed}
    for name, (fraction, schedule, lr_factor) in VARIANTS.items():
        start = time.perf_counter()
        steps = max(1, int(round(default_steps * fraction)))
        lr = defaults.lr * lr_factor
        with learning_rate_schedule(schedule):
            gen = DiffusionGenerator(n_steps=steps, lr=lr, random_state=seed).fit(fit.X, codes)
        X_syn = gen.sample(syn_codes, random_state=seed)
        record = _fidelity(fit.X, fit.y, X_syn, y_syn, judge, "train_")
        record["final_loss"] = float(gen.net_.history[-1, "train_loss"])
        record["n_steps"] = steps
        record["fit_s"] = round(time.perf_counter() - start, 1)
        unit[name] = record
    return unit


def write_report(units, path):
    """The per-unit table and the paired changes against ``library``."""
    keys = ("train_worst_fid", "train_classes_within_10pct", "train_median_std_ratio")
    lines = [
        "# Probe: a decaying learning rate for the diffusion generator (issue 13)",
        "",
        "`python benchmarks/probe_lr_schedule.py`: five generators per unit and seed on the "
        "fitting half of the inner split, scored against their training windows (judge: STC "
        f"per seed). Cosine: {WARMUP_FRACTION:.0%} linear warm-up, then cosine decay to 0."
        + inner_split_note(units),
        "",
        "| unit | seed | variant | steps | fit s | final loss | worst-class FID | classes in "
        "10% band | median std ratio |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for u in units:
        for name in VARIANTS:
            r = u[name]
            lines.append(
                f"| {u['dataset']} {u['subject']} | {u['seed']} | {name} | {r['n_steps']} | "
                f"{r['fit_s']:.0f} | {r['final_loss']:.4f} | {r['train_worst_fid']:.3f} | "
                f"{r['train_classes_within_10pct']:.2f} | {r['train_median_std_ratio']:.3f} |"
            )
    lines += ["", "Paired against `library` (mean ± sd over units and seeds):", ""]
    for name in list(VARIANTS)[1:]:
        fid = np.array([u[name][keys[0]] / u["library"][keys[0]] for u in units])
        band = np.array([u[name][keys[1]] - u["library"][keys[1]] for u in units])
        std = np.array([u[name][keys[2]] - u["library"][keys[2]] for u in units])
        sd = (lambda a: a.std(ddof=1)) if len(units) > 1 else (lambda a: 0.0)
        admissible = fid.mean() <= 1.05 and band.mean() >= 0
        lines.append(
            f"- `{name}`: worst-class FID ratio {fid.mean():.2f} ± {sd(fid):.2f}, classes in band "
            f"{band.mean():+.2f} ± {sd(band):.2f}, median std ratio {std.mean():+.3f} ± "
            f"{sd(std):.3f}"
            + (f"; {'passes' if admissible else 'fails'} the rule" if "half" in name else "")
        )
    lines.append("")
    Path(path).write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", nargs="+", default=["db1:S1", "myo:Female0"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--n-steps", type=int, default=None, help="the library budget to halve")
    parser.add_argument("--out", default="results/probe_lr_schedule")
    parser.add_argument("--rerender", action="store_true")
    add_inner_split_argument(parser)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "probe_lr_schedule.jsonl"
    units = read_jsonl(log)
    report = out / "probe_lr_schedule.md"
    if not args.rerender:
        check_one_inner_split(units, args.inner_split, "probe_lr_schedule", log)

        def run(dataset, subject, seed):
            unit = run_unit(dataset, subject, seed, cut=args.inner_split, n_steps=args.n_steps)
            return {**unit, "inner_split": args.inner_split}

        keys = [
            (dataset, subject, seed)
            for seed in args.seeds
            for dataset, subject in (unit.split(":") for unit in args.units)
        ]
        run_pending(log, units, keys, run, lambda units: write_report(units, report))
    if units:
        write_report(units, report)
    return units


if __name__ == "__main__":
    main()
