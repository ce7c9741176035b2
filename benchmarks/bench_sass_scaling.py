"""How SASS's drawing time grows with the windows of a class: ``max_reference`` against none.

Every block of SASS conditions ranks its ``oversample`` x candidates against the rarity
balls of the class's real embeddings and takes ``n_steps`` kernel passes over them, so
drawing ``ratio`` x as many conditions as a class has windows costs time quadratic in
its size when every window is a reference (``SASS(max_reference=None)``). The default
caps the reference at ``max_reference`` windows per class. This script times
``SASS.fit`` + ``sample`` on Gaussian-mixture embeddings (32 dimensions, the default
encoder's) for growing classes, both ways, side by side in one process.

Usage::

    python benchmarks/bench_sass_scaling.py                       # 1,000 to 16,000 a class
    python benchmarks/bench_sass_scaling.py --per-class 500 2000 --uncapped-up-to 2000

Writes ``results/bench_sass_scaling.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from semgaug_sk.augmentation import SASS  # noqa: E402

RESULTS = ROOT / "results"


def embeddings(n_per_class, n_classes, dim, seed=0):
    """Class clusters of ``n_per_class`` points, each a mixture of 8 sub-clusters (gestures
    held in several ways), like an encoder's embeddings of many repetitions."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for c in range(n_classes):
        centre = rng.normal(scale=3.0, size=dim)
        modes = centre + rng.normal(size=(8, dim))
        X.append(modes[rng.integers(0, 8, n_per_class)] + 0.3 * rng.normal(size=(n_per_class, dim)))
        y.append(np.full(n_per_class, c))
    return np.concatenate(X), np.concatenate(y)


def time_draw(sampler, X, y, ratio, block_size):
    """Seconds to fit ``sampler`` and draw ``ratio`` x each class's windows, in blocks."""
    start = time.perf_counter()
    sampler.fit(X, y)
    n = int(round(ratio * len(X) / len(np.unique(y))))
    sampler.sample(n, random_state=0, block_size=block_size)
    return time.perf_counter() - start


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, nargs="+", default=[1000, 2000, 4000, 8000, 16000])
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--ratio", type=float, default=2.0, help="conditions per real window")
    parser.add_argument("--block-size", type=int, default=512, help="SASGAugmenter's default")
    parser.add_argument(
        "--uncapped-up-to",
        type=int,
        default=8000,
        help="largest class timed with max_reference=None (it grows quadratically)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default="bench_sass_scaling")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cap = SASS().max_reference
    rows = []
    for n in args.per_class:
        X, y = embeddings(n, args.classes, args.dim)
        row = {"per_class": n, "capped_s": time_draw(SASS(), X, y, args.ratio, args.block_size)}
        if n <= args.uncapped_up_to:
            uncapped = SASS(max_reference=None)
            row["uncapped_s"] = time_draw(uncapped, X, y, args.ratio, args.block_size)
        rows.append(row)
        print(json.dumps(row), flush=True)
    meta = {
        "command": "python benchmarks/bench_sass_scaling.py " + " ".join(argv),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "max_reference": cap,
        "threads": args.threads,
        "load_1min": round(os.getloadavg()[0], 2),
        **{k: getattr(args, k) for k in ("classes", "dim", "ratio", "block_size")},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps({**meta, "rows": rows}, indent=1))
    lines = [
        "# SASS drawing time against class size",
        "",
        f"Written by `{meta['command']}` on {meta['date']} ({args.threads} torch thread(s), "
        f"1-minute load {meta['load_1min']} at the end). {args.classes} classes of "
        f"{args.dim}-dimensional Gaussian-mixture embeddings; each run fits SASS and draws "
        f"{args.ratio:g} x each class's windows in blocks of {args.block_size}. "
        f"`capped`: the default `max_reference={cap}`; `all`: `max_reference=None`.",
        "",
        "| windows a class | capped (s) | all (s) | all / capped |",
        "|---:|---:|---:|---:|",
    ]
    for r in rows:
        uncapped = r.get("uncapped_s")
        lines.append(
            f"| {r['per_class']:,} | {r['capped_s']:.2f} "
            + (
                f"| {uncapped:.2f} | {uncapped / r['capped_s']:.1f} |"
                if uncapped is not None
                else "| — | — |"
            )
        )
    lines.append("")
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines))
    print(f"wrote {RESULTS / f'{args.name}.md'}")


if __name__ == "__main__":
    main()
