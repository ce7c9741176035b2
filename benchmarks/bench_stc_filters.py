"""SpatioTemporalClassifier's filter stage: spatial filter first against the declared order.

``SpatioTemporalConvNet.filter_signals`` mixes the electrodes with the spatial filters
first and then runs each mixture through its temporal kernel. The declared order
(temporal ``Conv2d`` over every electrode, then the grouped spatial ``Conv2d``) gives
the same signals but builds a ``(batch, n_temporal, n_channels, times)`` intermediate.
This script measures both, side by side in one run:

- ``--part step``: one training step of the whole network (forward, backward) per
  window geometry, alternating the two paths, the best of ``--repeats`` timings, and the
  memory one step keeps for its backward pass (the activations);
- ``--part fit``: ``SpatioTemporalClassifier(random_state=seed, min_steps=None).fit``
  (60 epochs, the default when the table was measured, before the 4000-step floor) on
  the low-data protocol of ``benchmarks/protocols.py``, old and new alternating per unit:
  fit time and held-out accuracy. The accuracies differ only through float rounding,
  which 60 epochs of training amplify, so they should agree within the seed spread.

Usage::

    python benchmarks/bench_stc_filters.py --part step
    python benchmarks/bench_stc_filters.py --part fit --datasets db1 myo --subjects 3 --seeds 0 1 2
    python benchmarks/bench_stc_filters.py --rerender

Results: ``results/bench_stc_filters.md`` (and ``.jsonl``, one line per unit, so an
interrupted fit part resumes where it stopped).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocols import DATASETS, code_version, read_jsonl, subject_names, subject_split  # noqa: E402

from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402
from semgaug_sk.nn.downstream import SpatioTemporalConvNet  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "results"
NEW_PATH = SpatioTemporalConvNet.filter_signals

#: (name, n_channels, n_times, batch): DB1 200 ms at 100 Hz, Myo 260 ms at 200 Hz,
#: 200 ms at 2 kHz with 12 electrodes, HD-EMG 128 electrodes at 2 kHz (1 s windows)
GEOMETRIES = [
    ("DB1 10 x 20", 10, 20, 64),
    ("Myo 8 x 52", 8, 52, 64),
    ("2 kHz 12 x 400", 12, 400, 64),
    ("HD-EMG 128 x 2000", 128, 2000, 16),
]


def declared_order(net, z):
    """The filter stage as declared: temporal Conv2d, then the grouped spatial Conv2d."""
    return net.spatial(net.temporal(z.unsqueeze(1))).squeeze(2)


def use_path(path):
    SpatioTemporalConvNet.filter_signals = NEW_PATH if path == "new" else declared_order


def one_step(net, x, y):
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()


def make_step_inputs(n_channels, n_times, batch):
    torch.manual_seed(0)
    net = SpatioTemporalConvNet(n_channels, n_times, 5).train()
    return net, torch.randn(batch, n_channels, n_times), torch.randint(0, 5, (batch,))


def saved_for_backward_mb(net, x, y):
    """Megabytes of tensors one training step keeps for its backward pass (its activations)."""
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    return round(sum(storages.values()) / 2**20, 1)


def run_steps(repeats, out):
    log = out / "bench_stc_filters.jsonl"
    for name, n_channels, n_times, batch in GEOMETRIES:
        net, x, y = make_step_inputs(n_channels, n_times, batch)
        times = {"old": [], "new": []}
        for path in ["old", "new"] * repeats:  # alternating: the machine drifts
            use_path(path)
            net.zero_grad()
            start = time.perf_counter()
            one_step(net, x, y)
            times[path].append(time.perf_counter() - start)
        unit = {
            "part": "step",
            "geometry": name,
            "batch": batch,
            "threads": torch.get_num_threads(),
        }
        for path in ("old", "new"):
            use_path(path)
            unit[f"{path}_ms"] = round(1e3 * min(times[path]), 2)
            unit[f"{path}_saved_mb"] = saved_for_backward_mb(net, x, y)
        unit["code"] = code_version()
        _append(log, unit)
    use_path("new")


def run_fits(datasets, n_subjects, seeds, out):
    log = out / "bench_stc_filters.jsonl"
    done = {
        (u["dataset"], u["subject"], u["seed"], u["path"])
        for u in read_jsonl(log)
        if u["part"] == "fit"
    }
    for dataset in datasets:
        for subject in subject_names(dataset)[:n_subjects]:
            train, test = subject_split(dataset, subject, "low_data")
            for seed in seeds:
                order = ["old", "new"] if seed % 2 == 0 else ["new", "old"]
                for path in order:
                    if (dataset, subject, seed, path) in done:
                        continue
                    use_path(path)
                    start = time.perf_counter()
                    clf = SpatioTemporalClassifier(random_state=seed, min_steps=None).fit(
                        train.X, train.y
                    )
                    fit_s = time.perf_counter() - start
                    _append(
                        log,
                        {
                            "part": "fit",
                            "dataset": dataset,
                            "subject": subject,
                            "seed": seed,
                            "path": path,
                            "fit_s": round(fit_s, 2),
                            "accuracy": float(np.mean(clf.predict(test.X) == test.y)),
                            "n_train": len(train.X),
                            "threads": torch.get_num_threads(),
                            "code": code_version(),
                        },
                    )
    use_path("new")


def _append(log, unit):
    with log.open("a") as fh:
        fh.write(json.dumps(unit) + "\n")
    print(json.dumps(unit), flush=True)


def write_report(out):
    units = read_jsonl(out / "bench_stc_filters.jsonl")
    lines = [
        "# SpatioTemporalClassifier: spatial filter first against the declared order",
        "",
        "Written by `python benchmarks/bench_stc_filters.py` "
        f"({platform.machine()}, torch {torch.__version__}). *old* computes the filter stage "
        "in the declared order (temporal Conv2d over every electrode, then the grouped spatial "
        "Conv2d); *new* is `SpatioTemporalConvNet.filter_signals` (electrodes mixed first). "
        "Both are measured side by side in one run.",
        "",
    ]
    steps = [u for u in units if u["part"] == "step"]
    if steps:
        lines += [
            "## One training step of the whole network (forward + backward)",
            "",
            "Best of the alternating timings; *saved* is the memory of the tensors one step keeps "
            "for its backward pass (the activations, which grow with batch, channels and time).",
            "",
            "| geometry | batch | threads | old (ms) | new (ms) | speed-up | old saved (MB) "
            "| new saved (MB) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        latest = {u["geometry"]: u for u in steps if "old_saved_mb" in u}  # the last run
        for u in latest.values():
            lines.append(
                f"| {u['geometry']} | {u['batch']} | {u['threads']} | {u['old_ms']} | "
                f"{u['new_ms']} | {u['old_ms'] / u['new_ms']:.1f}x | {u['old_saved_mb']} | "
                f"{u['new_saved_mb']} |"
            )
        lines.append("")
    fits = [u for u in units if u["part"] == "fit"]
    if fits:
        lines += [
            "## `SpatioTemporalClassifier(min_steps=None).fit` on the low-data protocol",
            "",
            "Accuracy (%) on the held-out repetitions and fit time per fit, mean ± sd over "
            "subjects of the per-subject mean over seeds; *new − old* is the paired difference "
            "(same subject and seed), with the mean seed sd of each path in brackets.",
            "",
            "| data set | subjects × seeds | old accuracy | new accuracy | new − old (points) "
            "| old fit (s) | new fit (s) | fit-time ratio |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for dataset in sorted({u["dataset"] for u in fits}):
            lines.append(_fit_row(dataset, [u for u in fits if u["dataset"] == dataset]))
        lines.append("")
    (out / "bench_stc_filters.md").write_text("\n".join(lines))


def _fit_row(dataset, fits):
    paired = {}
    for u in fits:
        paired.setdefault((u["subject"], u["seed"]), {})[u["path"]] = u
    paired = {k: v for k, v in paired.items() if len(v) == 2}
    subjects = sorted({s for s, _ in paired})
    seeds = sorted({s for _, s in paired})

    def per_subject(path, key, scale=1.0):
        return np.array(
            [
                np.mean([scale * v[path][key] for (s, _), v in paired.items() if s == subj])
                for subj in subjects
            ]
        )

    def seed_sd(path):
        sds = [
            np.std([100 * v[path]["accuracy"] for (s, _), v in paired.items() if s == subj], ddof=1)
            for subj in subjects
        ]
        return float(np.mean(sds)) if len(seeds) > 1 else float("nan")

    def fmt(a):
        return f"{a.mean():.1f} ± {a.std(ddof=1) if len(a) > 1 else float('nan'):.1f}"

    old, new = per_subject("old", "accuracy", 100), per_subject("new", "accuracy", 100)
    t_old, t_new = per_subject("old", "fit_s"), per_subject("new", "fit_s")
    return (
        f"| {dataset} | {len(subjects)} × {len(seeds)} | {fmt(old)} ({seed_sd('old'):.1f}) | "
        f"{fmt(new)} ({seed_sd('new'):.1f}) | {fmt(new - old)} | {fmt(t_old)} | {fmt(t_new)} | "
        f"{(t_old / t_new).mean():.2f} |"
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["step", "fit"], default="step")
    parser.add_argument("--datasets", nargs="+", default=["db1", "myo"], choices=DATASETS)
    parser.add_argument("--subjects", type=int, default=3, help="first N subjects per data set")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=5, help="timings per path (step part)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--rerender", action="store_true", help="only rewrite the report")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    if not args.rerender:
        if args.part == "step":
            run_steps(args.repeats, args.out)
        else:
            run_fits(args.datasets, args.subjects, args.seeds, args.out)
    write_report(args.out)


if __name__ == "__main__":
    main()
