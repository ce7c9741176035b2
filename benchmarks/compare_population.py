"""Two runs of the population benchmark against each other, paired on (target, seed).

A change to the library is judged by rerunning ``benchmarks/population.py`` on the same
targets, seeds and cached priors, and pairing each unit with its counterpart in the
earlier run. For every regime, downstream model and method present in both runs this
reports the candidate's accuracy, the paired change of accuracy (candidate − baseline) and
the paired change of the method's gain over its reference, each as the mean ± sd over
targets of the per-target mean over the common seeds. The reference is ``none`` for the
downstream models trained per method; for the population network (``net``), which has no
``none``, it is ``scratch`` (the network trained on the target alone) for ``tl``, and
``tl`` for the methods that fine-tune the prior on an augmented set (``tl_*``), the
comparison issue 14 asks for.

Usage::

    python benchmarks/compare_population.py results/population_uci/population.jsonl \\
        results/population_uci_input_scale/population.jsonl \\
        --labels "before" "after" --out results/population_uci_input_scale/compare_uci.md
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_runs import _mean_sd  # noqa: E402
from protocols import read_jsonl  # noqa: E402


def _accuracies(path):
    """``{(dataset, regime, model, method, subject, seed): accuracy}`` of a results file.

    Of a repeated unit the last counts, as in ``population.py``'s report.
    """
    units = read_jsonl(path)
    if not units:
        raise FileNotFoundError(
            f"{path}: not found or empty (no units); give the population.jsonl that "
            "benchmarks/population.py writes into its --out folder."
        )
    table = {}
    for u in units:
        key = (u["dataset"], u["regime"], u["model"], u["method"], str(u["subject"]), u["seed"])
        table[key] = float(u["accuracy"])
    return table


def reference_of(method):
    """The arm a method's gain is measured against (None for the references themselves).

    Examples
    --------
    >>> [reference_of(m) for m in ("none", "classic", "scratch", "tl", "tl_sass_prior")]
    [None, 'none', 'none', 'scratch', 'tl']
    """
    if method == "none":
        return None
    if method == "tl":
        return "scratch"
    return "tl" if method.startswith("tl_") else "none"


def paired_changes(baseline, candidate):
    """Per (dataset, regime, model, method), the paired change from baseline to candidate.

    Parameters
    ----------
    baseline, candidate : dict
        ``{(dataset, regime, model, method, subject, seed): accuracy}``.

    Returns
    -------
    rows : list of dict
        ``accuracy`` (candidate), ``change`` and ``gain_change`` (change of the gain over
        ``reference``, :func:`reference_of`; None for a reference itself or without the
        reference in both runs) as ``(mean, sd)`` in points over targets, with
        ``n_targets``, ``n_pairs`` and ``n_gain_targets`` (the targets whose every pair
        has the reference in both runs: those the gain's mean is over).

    Examples
    --------
    >>> a = {("d", "r", "m", "none", "1", 0): 0.5, ("d", "r", "m", "x", "1", 0): 0.6}
    >>> b = {("d", "r", "m", "none", "1", 0): 0.5, ("d", "r", "m", "x", "1", 0): 0.7}
    >>> [(r["method"], round(r["gain_change"][0], 6)) for r in paired_changes(a, b)[1:]]
    [('x', 10.0)]
    """
    common = sorted(set(baseline) & set(candidate))
    if not common:
        raise ValueError(
            "the two runs share no (dataset, regime, model, method, target, seed) unit; compare "
            "runs of the same targets and seeds."
        )
    per_target = defaultdict(lambda: defaultdict(list))
    for key in common:
        dataset, regime, model, method, subject, seed = key
        reference = reference_of(method)
        ref = (dataset, regime, model, reference, subject, seed)
        gain = None
        if reference is not None and ref in baseline and ref in candidate:
            gain = (candidate[key] - candidate[ref]) - (baseline[key] - baseline[ref])
        per_target[(dataset, regime, model, method)][subject].append(
            (candidate[key], candidate[key] - baseline[key], gain)
        )
    rows = []
    for (dataset, regime, model, method), targets in per_target.items():
        means = {
            column: [
                100 * np.mean([unit[i] for unit in units])
                for units in targets.values()
                if all(unit[i] is not None for unit in units)
            ]
            for i, column in enumerate(("accuracy", "change", "gain_change"))
        }
        rows.append(
            dict(
                dataset=dataset,
                regime=regime,
                model=model,
                method=method,
                reference=reference_of(method),
                n_targets=len(targets),
                n_gain_targets=len(means["gain_change"]),
                n_pairs=sum(len(units) for units in targets.values()),
                accuracy=_mean_sd(means["accuracy"]),
                change=_mean_sd(means["change"]),
                gain_change=_mean_sd(means["gain_change"]) if means["gain_change"] else None,
            )
        )
    return rows


def render(rows, labels, sources):
    """The comparison as a markdown report."""
    fmt = "{:+.1f} ± {:.1f}".format
    lines = [
        f"# Population benchmark: {labels[1]} against {labels[0]}",
        "",
        f"Written by `python benchmarks/compare_population.py {sources[0]} {sources[1]}`. Units "
        "are paired on (target, seed); every figure is the mean ± sd over targets of the "
        "per-target mean over the common seeds, in points.",
        "",
    ]
    groups = defaultdict(list)
    for row in rows:
        groups[(row["dataset"], row["regime"], row["model"])].append(row)
    for (dataset, regime, model), members in groups.items():
        lines += [
            f"## {dataset}, {regime}, downstream {model}",
            "",
            f"| method | targets | pairs | accuracy % ({labels[1]}) | change of accuracy | "
            "change of the gain over its reference |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for row in members:
            accuracy = "{:.1f} ± {:.1f}".format(*row["accuracy"])
            gain = ""
            if row["gain_change"] is not None:
                gain = f"{fmt(*row['gain_change'])} (over {row['reference']}"
                if row["n_gain_targets"] < row["n_targets"]:
                    gain += f"; {row['n_gain_targets']} targets"
                gain += ")"
            lines.append(
                f"| {row['method']} | {row['n_targets']} | {row['n_pairs']} | {accuracy} | "
                f"{fmt(*row['change'])} | {gain} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", help="population.jsonl of the earlier run")
    parser.add_argument("candidate", help="population.jsonl of the run with the change")
    parser.add_argument("--labels", nargs=2, default=("baseline", "candidate"))
    parser.add_argument(
        "--methods", nargs="+", default=None, help="only these methods (default: all shared)"
    )
    parser.add_argument("--out", default=None, help="markdown file (default: print)")
    args = parser.parse_args(argv)
    rows = paired_changes(_accuracies(args.baseline), _accuracies(args.candidate))
    if args.methods:
        rows = [r for r in rows if r["method"] in args.methods]
    order = {"none": 0, "classic": 1, "pooled": 2}
    rows.sort(
        key=lambda r: (
            r["dataset"],
            r["regime"],
            r["model"],
            order.get(r["method"], 9),
            r["method"],
        )
    )
    text = render(rows, args.labels, (args.baseline, args.candidate))
    if args.out:
        Path(args.out).write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
