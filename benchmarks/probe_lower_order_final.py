"""Probe: does DPM-Solver++(2M)'s second-order last step overshoot on real windows?

With an exact denoiser of narrow Gaussian data, 10 steps of DPM-Solver++(2M) leave samples
too wide (``dpmpp_2m_sample``'s docstring), because the last step, to ``t = 0``, is long in
log-SNR. diffusers takes that step at first order below 15 steps (``lower_order_final``).
This probe fits one default :class:`~semgaug_sk.augmentation.DiffusionGenerator` per unit
on the fitting half of the inner split (``ablate_generator.inner_split``; the test
repetitions are never loaded), samples the same noise both ways, and compares the
fidelity of each class (median over classes of the RMS and within-window std ratios,
the share of classes with both in 0.9-1.1, the log-PSD distance) against the generator's
training windows and against the held-out half. One seed: a probe, not an ablation.

Usage::

    python benchmarks/probe_lower_order_final.py --units db1:S1 myo:Female0 db1:S2 \\
        myo:Male0 db1:S3 myo:Female1 --out results/probe_lower_order_final
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import (  # noqa: E402
    add_inner_split_argument,
    check_one_inner_split,
    inner_split,
    inner_split_note,
)
from protocols import code_version, read_jsonl  # noqa: E402

import semgaug_sk.augmentation.generator as generator_module  # noqa: E402
from semgaug_sk import metrics  # noqa: E402
from semgaug_sk.augmentation import DiffusionGenerator  # noqa: E402
from semgaug_sk.augmentation.diffusion import dpmpp_2m_sample  # noqa: E402

VARIANTS = {"library": False, "lower_order_final": True}


def class_fidelity(real, y_real, synthetic, y_syn):
    """Median RMS / std ratios, classes in the 10% band and median log-PSD distance."""
    rows = metrics.fidelity_report(real, synthetic, y_real, y_syn)["per_class"].values()
    ratios = [(r["rms_ratio"], r["std_ratio"]) for r in rows]
    return {
        "rms_ratio": float(np.median([a for a, _ in ratios])),
        "std_ratio": float(np.median([b for _, b in ratios])),
        "classes_within_10pct": float(
            np.mean([0.9 <= a <= 1.1 and 0.9 <= b <= 1.1 for a, b in ratios])
        ),
        "log_psd_distance": float(np.median([r["log_psd_distance"] for r in rows])),
    }


def run_unit(dataset, subject, seed=0, cut="auto"):
    start = time.perf_counter()
    fit, held_out = inner_split(dataset, subject, cut=cut)
    codes = np.unique(fit.y, return_inverse=True)[1].ravel()
    gen = DiffusionGenerator(random_state=seed).fit(fit.X, codes)
    syn_codes = np.repeat(np.arange(codes.max() + 1), 2 * np.bincount(codes))
    y_syn = np.unique(fit.y)[syn_codes]
    unit = {"dataset": dataset, "subject": subject, "seed": seed}
    try:
        for name, lower in VARIANTS.items():
            generator_module.dpmpp_2m_sample = functools.partial(
                dpmpp_2m_sample, lower_order_final=lower
            )
            X_syn = gen.sample(syn_codes, random_state=seed)  # the same noise both ways
            unit[name] = {
                "train": class_fidelity(fit.X, fit.y, X_syn, y_syn),
                "held_out": class_fidelity(held_out.X, held_out.y, X_syn, y_syn),
            }
    finally:
        generator_module.dpmpp_2m_sample = dpmpp_2m_sample
    unit["seconds"] = round(time.perf_counter() - start, 1)
    unit["code"] = code_version()
    return unit


def write_report(units, path):
    lines = [
        "# Probe: DPM-Solver++(2M)'s last step, second order (library) or first order",
        "",
        "`python benchmarks/probe_lower_order_final.py`: one default generator per unit on the "
        "fitting half of the inner split, 10 steps, the same noise both ways; medians over "
        "classes. `train`: against the generator's training windows; `held out`: against the "
        "other half. One seed." + inner_split_note(units),
        "",
        "| unit | against | variant | RMS ratio | std ratio | classes in 10% band | log-PSD dB |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for u in units:
        for where, key in (("train", "train"), ("held out", "held_out")):
            for name in VARIANTS:
                r = u[name][key]
                lines.append(
                    f"| {u['dataset']} {u['subject']} | {where} | {name} | {r['rms_ratio']:.3f} | "
                    f"{r['std_ratio']:.3f} | {r['classes_within_10pct']:.2f} | "
                    f"{r['log_psd_distance']:.1f} |"
                )
    diffs = {
        key: np.array(
            [u["lower_order_final"]["train"][key] - u["library"]["train"][key] for u in units]
        )
        for key in ("rms_ratio", "std_ratio", "classes_within_10pct")
    }
    lines += [
        "",
        "Paired change from the first-order last step (against the training windows, mean ± sd "
        f"over {len(units)} units): "
        + ", ".join(f"{k} {v.mean():+.3f} ± {v.std(ddof=1):.3f}" for k, v in diffs.items())
        + ".",
        "",
    ]
    Path(path).write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", nargs="+", default=["db1:S1", "myo:Female0"])
    parser.add_argument("--out", default="results/probe_lower_order_final")
    parser.add_argument("--rerender", action="store_true")
    add_inner_split_argument(parser)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "probe_lower_order_final.jsonl"
    units = read_jsonl(log)
    done = {(u["dataset"], u["subject"]) for u in units}
    if not args.rerender:
        check_one_inner_split(units, args.inner_split, "probe_lower_order_final", log)
        for dataset, subject in (unit.split(":") for unit in args.units):
            if (dataset, subject) in done:
                continue
            unit = run_unit(dataset, subject, cut=args.inner_split)
            unit["inner_split"] = args.inner_split
            units.append(unit)
            with log.open("a") as fh:
                fh.write(json.dumps(unit) + "\n")
            print(json.dumps(unit), flush=True)
    if units:
        write_report(units, out / "probe_lower_order_final.md")
    return units


if __name__ == "__main__":
    main()
