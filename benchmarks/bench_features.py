"""Throughput of the classical EMG features against a one-pass memory yardstick.

Measures windows per second of :func:`semgaug_sk.features.extract_features` for
each feature alone and for the feature groups (``td``, ``hudgins``, ``fin``,
``all``) on seeded random float32 windows (default 100,000 windows of 8 channels
x 200 samples), and the ratio of each time to the yardstick
``np.square(X).sum(-1)`` (one read of the data, one full-size temporary, one
reduction) timed in the same run. A stricter yardstick is reported beside it:
``np.einsum("ijk,ijk->ij", X, X)`` reads the data once with no temporary, i.e. it
runs at memory speed; the first yardstick also pays for allocating (page-faulting)
a temporary as large as ``X``.

Timing method: every measured call (yardstick included) is run once per round,
round-robin, for ``--repeats`` rounds after one untimed warm-up round, so each
call sees the same machine load; the reported time is the **minimum** over the
rounds (the least disturbed run, the usual choice on a shared machine), and the
median is stored in the JSON as well. Ratios use the minima.

The target is the whole ``td`` group within 10x the yardstick.

Usage::

    .venv/bin/python benchmarks/bench_features.py              # 100k windows
    .venv/bin/python benchmarks/bench_features.py --n-windows 20000 --repeats 3

It writes ``results/bench_features.md`` and ``results/bench_features.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from semgaug_sk.features import FEATURE_GROUPS, FEATURE_NAMES, extract_features  # noqa: E402

TARGET_RATIO = 10.0
GROUPS = ("td", "hudgins", "fin", "all")


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-windows", type=int, default=100_000, help="windows (default 100000)")
    parser.add_argument("--n-channels", type=int, default=8, help="channels per window (default 8)")
    parser.add_argument("--n-times", type=int, default=200, help="samples per window (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="windows per chunk passed to extract_features (default: automatic)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random windows")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "results",
        help="folder for bench_features.md/.json (default: results/)",
    )
    args = parser.parse_args(argv)
    for name in ("n_windows", "n_channels", "n_times", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.n_times < 3:
        parser.error("--n-times must be >= 3 (ssc and hjorth_complexity need 3 samples)")
    return args


def _load_average():
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # not available on this platform
        return None


def _timed(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def run(args):
    load_start = _load_average()
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.n_windows, args.n_channels, args.n_times), dtype=np.float32)

    calls = {
        "yardstick": lambda: np.square(X).sum(-1),
        "read_once": lambda: np.einsum("ijk,ijk->ij", X, X),
    }
    for name in FEATURE_NAMES:
        calls[name] = lambda name=name: extract_features(X, name, chunk_size=args.chunk_size)
    for group in GROUPS:
        calls[f"group:{group}"] = lambda group=group: extract_features(
            X, group, chunk_size=args.chunk_size
        )

    times = {key: [] for key in calls}
    for round_ in range(args.repeats + 1):  # round 0 is the untimed warm-up
        for key, func in calls.items():
            elapsed = _timed(func)
            if round_ > 0:
                times[key].append(elapsed)
        print(f"round {round_}/{args.repeats} done", file=sys.stderr, flush=True)

    best = {key: min(ts) for key, ts in times.items()}
    yard = best["yardstick"]
    rows = []
    for key in calls:
        rows.append(
            {
                "name": key,
                "n_features": 1
                if key in FEATURE_NAMES
                else (len(FEATURE_GROUPS[key[6:]]) if key.startswith("group:") else 0),
                "seconds_min": best[key],
                "seconds_median": statistics.median(times[key]),
                "windows_per_s": args.n_windows / best[key],
                "ratio_to_yardstick": best[key] / yard,
                "ratio_to_read_once": best[key] / best["read_once"],
            }
        )
    td_ratio = best["group:td"] / yard
    return {
        "config": {
            "n_windows": args.n_windows,
            "n_channels": args.n_channels,
            "n_times": args.n_times,
            "dtype": "float32",
            "repeats": args.repeats,
            "chunk_size": args.chunk_size,
            "seed": args.seed,
            "timing": "min over round-robin rounds after one warm-up round",
        },
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_start": load_start,
            "load_average_end": _load_average(),
        },
        "td_group": list(FEATURE_GROUPS["td"]),
        "td_ratio_to_yardstick": td_ratio,
        "td_ratio_to_read_once": best["group:td"] / best["read_once"],
        "target_ratio": TARGET_RATIO,
        "target_met": bool(td_ratio <= TARGET_RATIO),
        "rows": rows,
    }


def to_markdown(result):
    cfg = result["config"]
    lines = [
        "# Feature extraction throughput",
        "",
        f"{cfg['n_windows']:,} windows x {cfg['n_channels']} channels x {cfg['n_times']} samples, "
        f"float32, seed {cfg['seed']}; time = {cfg['timing']} ({cfg['repeats']} rounds); "
        f"chunk_size = {cfg['chunk_size'] or 'auto'}.",
        "Yardstick: `np.square(X).sum(-1)`; stricter read-once yardstick: "
        "`np.einsum('ijk,ijk->ij', X, X)` (no temporary). "
        f"Machine: {result['machine']['platform']}, {result['machine']['cpu_count']} CPUs, "
        f"numpy {result['machine']['numpy']}, 1-min load average "
        f"{result['machine']['load_average_start']} at start, "
        f"{result['machine']['load_average_end']} at end (other processes share the CPUs).",
        "",
        f"**td group ({', '.join(result['td_group'])}): "
        f"{result['td_ratio_to_yardstick']:.2f}x the yardstick** "
        f"(target <= {result['target_ratio']:.0f}x: {'met' if result['target_met'] else 'NOT met'}); "
        f"{result['td_ratio_to_read_once']:.2f}x the read-once yardstick.",
        "",
        "| call | features | windows/s | time min (s) | time median (s) | x yardstick "
        "| x read-once |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['name']} | {row['n_features']} | {row['windows_per_s']:,.0f} | "
            f"{row['seconds_min']:.4f} | {row['seconds_median']:.4f} | "
            f"{row['ratio_to_yardstick']:.2f} | {row['ratio_to_read_once']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = _parse_args(argv)
    result = run(args)
    markdown = to_markdown(result)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "bench_features.md").write_text(markdown)
    (args.out_dir / "bench_features.json").write_text(json.dumps(result, indent=2) + "\n")
    print(markdown)
    return result


if __name__ == "__main__":
    main()
