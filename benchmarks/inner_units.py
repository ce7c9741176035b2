"""The shared driver of the inner-split ablations: one unit per (data set, subject, seed).

An ablation script supplies ``run_unit(dataset, subject, seed, cut)``, which returns one
JSON-serialisable record, and ``write_report(out_dir)``, which rewrites its Markdown
report from every record. :func:`run_units` runs the units not yet logged in
``<out>/<name>.jsonl`` in worker processes, appends each record (with the commit that
measured it) as it finishes, rewrites the report after each, and prints it at the end, so
an interrupted run resumes where it stopped.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_unit_arguments(parser, out="results/x", subjects=4)
>>> args = parser.parse_args(["--datasets", "db1", "--seeds", "0"])
>>> args.datasets, args.subjects, args.seeds, args.inner_split
(['db1'], 4, [0], 'auto')
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))  # imported alone, as by the tests
from ablate_generator import add_inner_split_argument, check_one_inner_split  # noqa: E402
from augmentation import _sd  # noqa: E402
from protocols import code_version, read_jsonl, subject_names  # noqa: E402

__all__ = ["add_unit_arguments", "paired", "paired_cell", "run_units"]


def paired(units, dataset, model, a, b):
    """Per-subject mean over seeds of ``acc[a] - acc[b]`` (points) of ``dataset``'s units,
    and the mean over subjects of its sd over seeds (subjects with one seed left out)."""
    by_subject = {}
    for u in units:
        if u["dataset"] == dataset:
            acc = u["accuracy"][model]
            by_subject.setdefault(u["subject"], []).append(100 * (acc[a] - acc[b]))
    means = np.array([np.mean(v) for v in by_subject.values()])
    sds = [_sd(v) for v in by_subject.values() if len(v) > 1]
    return means, float(np.mean(sds)) if sds else float("nan")


def paired_cell(units, dataset, model, a, b):
    """:func:`paired` as a report cell: ``mean ± sd over subjects (mean seed sd)``."""
    means, seed_sd = paired(units, dataset, model, a, b)
    sd = _sd(means) if len(means) > 1 else float("nan")
    return f"{means.mean():+.1f} ± {sd:.1f} ({seed_sd:.1f})"


def add_unit_arguments(parser, *, out, subjects):
    """The options every inner-split ablation takes (``--out`` defaults to ``out``)."""
    parser.add_argument("--datasets", nargs="+", default=["db1", "myo", "uci"])
    parser.add_argument(
        "--subjects", type=int, default=subjects, help="first N subjects per dataset"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--out", default=out)
    parser.add_argument("--rerender", action="store_true", help="only rewrite the report")
    add_inner_split_argument(parser)


def run_units(args, name, run_unit, write_report):
    """Run, log and report the units of ``args`` that ``<out>/<name>.jsonl`` lacks; return 0."""
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / f"{name}.jsonl"
    if not args.rerender:
        existing = read_jsonl(log)
        check_one_inner_split(existing, args.inner_split, name, log)
        done = {(u["dataset"], u["subject"], u["seed"]) for u in existing}
        todo = [
            (dataset, subject, seed)
            for seed in args.seeds
            for dataset in args.datasets
            for subject in subject_names(dataset)[: args.subjects]
            if (dataset, subject, seed) not in done
        ]
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        units = Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(
            delayed(run_unit)(*unit, args.inner_split) for unit in todo
        )
        code = code_version()
        for unit in units:
            unit.setdefault("code", code)  # which commit measured it
            with open(log, "a") as f:
                f.write(json.dumps(unit) + "\n")
            write_report(out_dir)
            print(f"{unit['dataset']} {unit['subject']} seed {unit['seed']} done", flush=True)
    write_report(out_dir)
    print((out_dir / f"{name}.md").read_text())
    return 0
