"""Prediction latency: how long one window takes from raw samples to a label, on the CPU.

An online interface or a prosthesis classifies one window at every step (every 20-100 ms),
so what matters there is the time of ``predict`` on a single window, not throughput. For
each classifier at its defaults, this script fits it briefly on random windows of the
requested geometry (the latency depends on the architecture and the window's shape, not on
what was learned), then times:

- ``predict`` on one window: the median and 95th percentile of ``--repeats`` calls, after
  warm-up calls, each on another window;
- ``predict`` on a batch of ``--batch`` windows: windows/s (median of 3 calls).

Models: ``lda`` (``EMGFeatures(features="hudgins")`` then LDA, a Pipeline), ``stc``
(:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier`), ``tdct``
(:class:`~semgaug_sk.classifiers.ConvTransformerClassifier`) and ``fin``
(:class:`~semgaug_sk.imitation.FINClassifier`). Geometries are ``CHANNELSxSAMPLES``: the
defaults are DB1's 200 ms at 100 Hz (10x20), Myo's 260 ms at 200 Hz (8x52) and 200 ms of raw
EMG at 1 kHz (8x200). Torch and the BLAS run ``--threads`` threads (default 1: one core, as
an embedded CPU or a loaded laptop gives).

Usage::

    python benchmarks/bench_latency.py                      # about 3 minutes on 2 cores
    python benchmarks/bench_latency.py --threads 2 --name bench_latency_2threads
    python benchmarks/bench_latency.py --devices cpu cuda --name bench_latency_cuda  # with a GPU

Results go to ``results/<name>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from semgaug_sk import __version__  # noqa: E402
from semgaug_sk.classifiers import (  # noqa: E402
    ConvTransformerClassifier,
    SpatioTemporalClassifier,
)
from semgaug_sk.features import EMGFeatures  # noqa: E402
from semgaug_sk.imitation import FeatureImitator, FINClassifier  # noqa: E402
from semgaug_sk.utils.torch_utils import resolve_device  # noqa: E402

RESULTS = ROOT / "results"
MODELS = ("lda", "stc", "tdct", "fin")
GEOMETRIES = ("10x20", "8x52", "8x200")
N_CLASSES = 6
N_FIT = 240
WARM_UP = 5


def make_model(name, seed=0, device="cpu"):
    """Model ``name`` at its defaults, but for a one-epoch fit (latency needs no training),
    its networks on ``device`` (LDA always runs on the CPU)."""
    if name == "lda":
        return make_pipeline(EMGFeatures(features="hudgins"), LinearDiscriminantAnalysis())
    common = dict(max_epochs=1, random_state=seed, device=device)
    if name == "stc":
        return SpatioTemporalClassifier(min_steps=None, **common)
    if name == "tdct":
        return ConvTransformerClassifier(**common)
    if name == "fin":
        imitator = FeatureImitator(max_sequences=256, **common)
        return FINClassifier(imitator=imitator, fine_tune=False, **common)
    raise ValueError(f"unknown model {name!r}; choose among {MODELS}")


def positive_int(text):
    """A count of at least 1, or a usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def parse_geometry(text):
    """``"8x52"`` -> ``(8, 52)``."""
    try:
        channels, samples = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"geometry {text!r} is not CHANNELSxSAMPLES, e.g. 8x52"
        ) from None
    if channels < 1 or samples < 4:
        raise argparse.ArgumentTypeError(f"geometry {text!r} needs >= 1 channel and >= 4 samples")
    return channels, samples


def time_model(name, geometry, repeats, batch, seed=0, device="cpu"):
    """Single-window latencies (ms) and batch throughput (windows/s) of one fitted model.

    ``predict`` returns labels as a numpy array, so each timed call includes the copy
    back from ``device``: no separate synchronisation is needed.
    """
    channels, samples = geometry
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_FIT, channels, samples)).astype(np.float32)
    y = np.arange(N_FIT) % N_CLASSES
    model = make_model(name, seed, device)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one-epoch fits on noise: warnings are expected
        model.fit(X, y)
    fit_seconds = time.perf_counter() - start
    windows = rng.standard_normal((WARM_UP + repeats, channels, samples)).astype(np.float32)
    single = []
    for i in range(WARM_UP + repeats):
        start = time.perf_counter()
        model.predict(windows[i : i + 1])
        single.append(time.perf_counter() - start)
    single = np.array(single[WARM_UP:]) * 1e3
    big = rng.standard_normal((batch, channels, samples)).astype(np.float32)
    model.predict(big)  # warm-up at the batch's shape
    batch_seconds = []
    for _ in range(3):
        start = time.perf_counter()
        model.predict(big)
        batch_seconds.append(time.perf_counter() - start)
    return {
        "model": name,
        "device": "cpu" if name == "lda" else device,
        "geometry": f"{channels}x{samples}",
        "median_ms": round(float(np.median(single)), 3),
        "p95_ms": round(float(np.percentile(single, 95)), 3),
        "batch_windows_per_s": round(batch / float(np.median(batch_seconds)), 1),
        "fit_seconds": round(fit_seconds, 2),
    }


def write_report(rows, args, path):
    """The Markdown table of ``rows`` under the run's settings."""
    lines = [
        "# Prediction latency of one window",
        "",
        "`" + " ".join(["python benchmarks/bench_latency.py", *args.argv]) + "`",
        f"(semgaug_sk {__version__}, torch {torch.__version__}, {platform.machine()}, "
        f"{args.threads} thread(s)). `predict` on one window: median and "
        f"95th percentile of {args.repeats} calls after {WARM_UP} warm-up calls; on a batch of "
        f"{args.batch} windows: windows/s (median of 3). Models at their defaults, fitted for one "
        "epoch on random windows (latency does not depend on what was learned).",
        "",
        "| model | device | window (channels x samples) | one window, median (ms) "
        "| one window, p95 (ms) | batch (windows/s) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['device']} | {row['geometry']} | {row['median_ms']:.2f} | "
            f"{row['p95_ms']:.2f} | {row['batch_windows_per_s']:,.0f} |"
        )
    by_key = {(r["model"], r["geometry"], r["device"]): r for r in rows}
    ratios = [
        f"{model} at {geometry}: one window {cpu['median_ms'] / by_key[model, geometry, dev]['median_ms']:.2f}x, "
        f"batch {by_key[model, geometry, dev]['batch_windows_per_s'] / cpu['batch_windows_per_s']:.2f}x"
        for (model, geometry, device), cpu in by_key.items()
        if device == "cpu"
        for dev in args.devices
        if dev != "cpu" and (model, geometry, dev) in by_key
    ]
    if ratios:
        lines += [
            "",
            "Speed-up on the accelerator over the CPU, in this run: " + "; ".join(ratios) + ".",
        ]
    path.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--geometries", nargs="+", type=parse_geometry, default=None)
    parser.add_argument(
        "--repeats", type=positive_int, default=200, help="timed single-window calls"
    )
    parser.add_argument(
        "--batch", type=positive_int, default=1024, help="windows of the batch call"
    )
    parser.add_argument("--threads", type=positive_int, default=1, help="torch and BLAS threads")
    parser.add_argument(
        "--devices", nargs="+", default=["cpu"], help="torch devices to time, e.g. cpu cuda"
    )
    parser.add_argument("--name", default="bench_latency")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    for device in args.devices:
        try:
            resolve_device(device)
        except (RuntimeError, ValueError) as exc:
            parser.error(str(exc))  # before any timing, not after the CPU rows
    geometries = args.geometries or [parse_geometry(g) for g in GEOMETRIES]
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    threads_before = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        with threadpool_limits(args.threads):
            for geometry in geometries:
                for device in args.devices:
                    for name in args.models:
                        if name == "lda" and device != "cpu":
                            continue  # the Pipeline has no device
                        rows.append(time_model(name, geometry, args.repeats, args.batch, 0, device))
                        print(json.dumps(rows[-1]), flush=True)
    finally:
        torch.set_num_threads(threads_before)
    record = {
        "command": " ".join(["python benchmarks/bench_latency.py", *args.argv]),
        "semgaug_sk": __version__,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "threads": args.threads,
        "devices": args.devices,
        "repeats": args.repeats,
        "batch": args.batch,
        "rows": rows,
    }
    (args.out / f"{args.name}.json").write_text(json.dumps(record, indent=1) + "\n")
    write_report(rows, args, args.out / f"{args.name}.md")
    print((args.out / f"{args.name}.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
