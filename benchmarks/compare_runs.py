"""Two runs of the augmentation benchmark against each other, paired on (subject, seed).

A change to the library (a new default, a new solver) is judged by rerunning the
benchmark on the same subjects and seeds and pairing each unit with its counterpart in the
earlier run. For every downstream model and augmentation method this reports the change of
accuracy (candidate − baseline) and the change of the method's gain over no augmentation,
as the mean ± sd over subjects of the per-subject mean over the common seeds. Methods that
the change does not touch (no augmentation, classic, SMOTE) should not move: their rows
show how much the rest of the pipeline drifted between the two runs.

Usage::

    python benchmarks/compare_runs.py results/standard/augmentation_db1.units.jsonl \\
        results/standard_dpmpp/augmentation_db1.units.jsonl \\
        --labels "DDIM 25" "DPM-Solver++ 10" --out results/standard_dpmpp/compare_db1.md
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocols import read_jsonl  # noqa: E402


def _units(path):
    """``{(subject, seed): record}`` of a units file and its preset.

    An error names a missing or empty file and a file mixing presets; of a repeated
    (subject, seed), the last unit counts, as in ``augmentation.py --resume``.
    """
    units = read_jsonl(path)
    if not units:
        raise FileNotFoundError(
            f"{path}: no units; give the augmentation_<dataset>.units.jsonl that "
            "benchmarks/augmentation.py writes into its --out folder."
        )
    presets = sorted({str(u.get("preset")) for u in units})
    if len(presets) > 1:
        raise ValueError(f"{path} mixes presets {presets}; compare one preset at a time.")
    records = {}
    for u in units:
        records[(u["record"]["subject"], u["record"]["seed"])] = u["record"]
    return records, presets[0]


def _mean_sd(values):
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def paired_changes(baseline, candidate):
    """Per model and method, the paired change from ``baseline`` to ``candidate``.

    Parameters
    ----------
    baseline, candidate : dict
        ``{(subject, seed): record}`` with ``record["accuracy"][model][method]``.

    Returns
    -------
    rows : list of dict
        One per (model, method) present in both: ``accuracy`` and ``gain`` as
        ``(mean, sd)`` in points over subjects, ``n_subjects`` and ``n_pairs``.

    Examples
    --------
    >>> a = {("S1", 0): {"accuracy": {"lda": {"none": 0.5, "sass": 0.52}}}}
    >>> b = {("S1", 0): {"accuracy": {"lda": {"none": 0.5, "sass": 0.55}}}}
    >>> [(r["method"], r["gain"]) for r in paired_changes(a, b)]
    [('none', (0.0, 0.0)), ('sass', (3.0000000000000027, 0.0))]
    """
    common = sorted(set(baseline) & set(candidate))
    if not common:
        raise ValueError(
            "The two runs share no (subject, seed) unit; rerun the candidate with the "
            "baseline's --subject-names and --seeds."
        )
    per_subject = defaultdict(lambda: defaultdict(list))
    for key in common:
        old, new = baseline[key]["accuracy"], candidate[key]["accuracy"]
        for model in old.keys() & new.keys():
            for method in old[model].keys() & new[model].keys():
                d_acc = 100 * (new[model][method] - old[model][method])
                d_gain = np.nan  # no gain without the model's un-augmented accuracy in both
                if "none" in old[model] and "none" in new[model]:
                    d_gain = d_acc - 100 * (new[model]["none"] - old[model]["none"])
                per_subject[model, method][key[0]].append((d_acc, d_gain))
    rows = []
    for (model, method), subjects in per_subject.items():
        means = np.array([np.mean(v, axis=0) for v in subjects.values()])
        rows.append(
            {
                "model": model,
                "method": method,
                "accuracy": _mean_sd(means[:, 0]),
                "gain": _mean_sd(means[:, 1]),
                "n_subjects": len(subjects),
                "n_pairs": sum(len(v) for v in subjects.values()),
            }
        )
    order = {m: i for i, m in enumerate(("none", "classic", "smote"))}
    rows.sort(key=lambda r: (r["model"], order.get(r["method"], 9), r["method"]))
    return rows


def contrast(records, model, method, reference):
    """Mean ± sd over subjects of ``method − reference`` accuracy (points) within one run.

    Examples
    --------
    >>> runs = {("S1", 0): {"accuracy": {"lda": {"classic": 0.5, "sass": 0.49}}}}
    >>> round(contrast(runs, "lda", "sass", "classic")[0], 6)
    -1.0
    """
    per_subject = defaultdict(list)
    for (subject, _), record in records.items():
        acc = record["accuracy"].get(model, {})
        if method in acc and reference in acc:
            per_subject[subject].append(100 * (acc[method] - acc[reference]))
    if not per_subject:
        return float("nan"), float("nan")
    return _mean_sd([np.mean(v) for v in per_subject.values()])


def _fmt(mean_sd):
    """``+m ± s`` in points, or an em dash where nothing was measured."""
    if not np.isfinite(mean_sd[0]):
        return "—"
    return f"{mean_sd[0]:+.1f} ± {mean_sd[1]:.1f}"


def report(baseline_path, candidate_path, labels=("baseline", "candidate"), focus="sasg_sass"):
    """The comparison as markdown."""
    (baseline, preset), (candidate, other) = _units(baseline_path), _units(candidate_path)
    if preset != other:
        raise ValueError(
            f"The runs used different presets ({preset!r} and {other!r}); compare runs of "
            "one preset."
        )
    common = set(baseline) & set(candidate)
    rows = paired_changes(baseline, candidate)
    subjects = sorted({s for s, _ in common})
    seeds = sorted({seed for _, seed in common})
    lines = [
        f"# {labels[1]} against {labels[0]}, paired on (subject, seed)",
        "",
        f"Baseline `{baseline_path}`, candidate `{candidate_path}`: {len(common)} common units, "
        f"subjects {', '.join(map(str, subjects))}, seeds {seeds}. Points: mean ± sd over "
        "subjects of the per-subject mean over seeds. Δ gain is the change of the method's "
        "gain over no augmentation. Methods the change does not touch show the drift of the "
        "rest of the pipeline between the runs.",
        "",
        "| model | method | Δ accuracy | Δ gain | subjects | pairs |",
        "|---|---|---|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['method']} | {_fmt(r['accuracy'])} | {_fmt(r['gain'])} | "
            f"{r['n_subjects']} | {r['n_pairs']} |"
        )
    models = sorted({r["model"] for r in rows})
    lines += [
        "",
        f"## {focus} against classic and no augmentation, within each run (same units)",
        "",
        f"| model | {labels[0]}: − none | {labels[1]}: − none | {labels[0]}: − classic | "
        f"{labels[1]}: − classic |",
        "|---|---|---|---|---|",
    ]
    shared_old = {k: baseline[k] for k in common}
    shared_new = {k: candidate[k] for k in common}
    for model in models:
        cells = [
            _fmt(contrast(run, model, focus, ref))
            for ref in ("none", "classic")
            for run in (shared_old, shared_new)
        ]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", help="units.jsonl of the earlier run")
    parser.add_argument("candidate", help="units.jsonl of the run with the change")
    parser.add_argument("--labels", nargs=2, default=("baseline", "candidate"))
    parser.add_argument("--focus", default="sasg_sass", help="method contrasted per run")
    parser.add_argument("--out", default=None, help="markdown file (default: print)")
    args = parser.parse_args(argv)
    text = report(args.baseline, args.candidate, tuple(args.labels), args.focus)
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text)


if __name__ == "__main__":
    main()
