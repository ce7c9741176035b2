"""CPU against CUDA, side by side in one run: where does a GPU pay off?

For NinaPro DB1 geometry (10 channels x 20 samples: 200 ms windows at 100 Hz, subject 3,
repetitions {1, 2}, 20 ms step; the simulator's windows of the same shape when the
shared data are absent) it times, on every device asked for and available:

- ``encoder``: :class:`~semgaug_sk.encoders.SemanticEncoder` training, windows/s;
- ``diffusion_fit``: :class:`~semgaug_sk.augmentation.DiffusionGenerator` training
  (label conditions, default network), optimizer steps/s;
- ``diffusion_generate``: DDIM generation with the default 25 steps, windows/s;
- ``imitator``: :class:`~semgaug_sk.imitation.FeatureImitator` training (default
  network), sequences/s;
- ``downstream``: :class:`~semgaug_sk.classifiers.SpatioTemporalClassifier` training,
  windows/s.

and writes ``results/bench_devices_<devices>.md`` and ``.json`` with the CUDA/CPU ratio
of every part. Each part runs a fixed amount of work (``--scale`` multiplies it), after
one warm-up call on the same device.

Usage::

    python benchmarks/bench_devices.py                    # cpu and, when present, cuda
    python benchmarks/bench_devices.py --scale 0.05       # seconds: a smoke check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from semgaug_sk.augmentation import DiffusionGenerator  # noqa: E402
from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402
from semgaug_sk.datasets import load_ninapro, make_semg_gestures  # noqa: E402
from semgaug_sk.encoders import SemanticEncoder  # noqa: E402
from semgaug_sk.imitation import FeatureImitator  # noqa: E402
from semgaug_sk.windows import sliding_windows  # noqa: E402

SHARED = Path(os.environ.get("SEMGAUG_SHARED_DATA", ROOT.parent / "shared" / "data"))


def db1_geometry_windows():
    """``(X, y, description)``: DB1 S3 reps {1, 2} at a 20 ms step, or simulated windows."""
    path = SHARED / "ninapro_db1_e1"
    if path.is_dir():
        rec = load_ninapro(path, subjects=[3], fs=100.0)
        w = sliding_windows(rec, window_ms=200.0, step_ms=20.0)
        keep = np.isin(w.repetition, [1, 2])
        return w.X[keep], w.y[keep], "NinaPro DB1 S3, reps {1,2}, 200 ms / 20 ms step"
    rec = make_semg_gestures(n_channels=10, fs=100.0, random_state=0)
    w = sliding_windows(rec, window_ms=200.0, step_ms=20.0)
    return w.X, w.y, "simulator (DB1 absent), 10 ch x 20 samples"


def _timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def run_parts(X, y, device, scale):
    """``{part: {"seconds", "rate", "unit"}}`` on ``device``."""
    codes = np.unique(y, return_inverse=True)[1]
    n_win = max(64, int(len(X) * min(1.0, scale)))
    rows = np.sort(np.random.default_rng(0).permutation(len(X))[:n_win])  # every class
    Xs, ys, cs = X[rows], y[rows], codes[rows]
    epochs = max(1, round(5 * scale))
    steps = max(5, round(300 * scale))
    n_gen = max(64, round(2000 * scale))
    results = {}

    def encoder():
        return SemanticEncoder(
            max_epochs=epochs, validation_fraction=0, device=device, random_state=0
        ).fit(Xs, ys)

    def diffusion_fit():
        return DiffusionGenerator(n_steps=steps, device=device, random_state=0).fit(Xs, cs)

    def imitator():
        return FeatureImitator(
            max_epochs=epochs, validation_fraction=0, device=device, random_state=0
        ).fit(Xs)

    def downstream():
        # epochs alone (no step floor), so that the work is epochs x windows
        return SpatioTemporalClassifier(
            max_epochs=epochs, min_steps=None, device=device, random_state=0
        ).fit(Xs, ys)

    for name, fn, work, unit in [
        ("encoder", encoder, epochs * n_win, "windows/s"),
        ("diffusion_fit", diffusion_fit, None, "steps/s"),
        ("imitator", imitator, epochs * n_win * X.shape[1], "sequences/s"),
        ("downstream", downstream, epochs * n_win, "windows/s"),
    ]:
        _timed(fn)  # warm-up: kernels, allocator, lazy imports
        seconds, fitted = _timed(fn)
        results[name] = {"seconds": seconds, "rate": (work or 0) / seconds, "unit": unit}
        if name == "diffusion_fit":
            work = fitted.n_train_steps_
            gen_codes = np.resize(cs, n_gen)
            fitted.sample(gen_codes[:64], random_state=0)  # warm-up
            gen_s, _ = _timed(lambda fitted=fitted, c=gen_codes: fitted.sample(c, random_state=0))
            results["diffusion_generate"] = {
                "seconds": gen_s,
                "rate": n_gen / gen_s,
                "unit": "windows/s",
            }
            results[name]["rate"] = work / seconds
    return results


def write_report(runs, description, out_dir, scale):
    devices = list(runs)
    name = "bench_devices_" + "_".join(d.split(":")[0] for d in devices)
    parts = list(next(iter(runs.values())))
    lines = [
        "# CPU against CUDA",
        "",
        f"`python benchmarks/bench_devices.py --scale {scale:g}` on {description}; "
        f"torch {torch.__version__}, {platform.machine()}, "
        f"{torch.get_num_threads()} CPU thread(s)"
        + (f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "")
        + ". One warm-up call, then one timed call per part and device.",
        "",
        "| part | " + " | ".join(devices) + (" | CUDA/CPU |" if "cuda" in devices else " |"),
        "|---|" + "---:|" * (len(devices) + ("cuda" in devices)),
    ]
    for part in parts:
        cells = [f"{runs[d][part]['rate']:,.0f} {runs[d][part]['unit']}" for d in devices]
        if "cuda" in devices:
            cells.append(f"{runs['cuda'][part]['rate'] / runs['cpu'][part]['rate']:.1f}x")
        lines.append(f"| {part} | " + " | ".join(cells) + " |")
    if "cuda" not in devices:
        lines += ["", "No CUDA device was available: CPU figures only."]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.md").write_text("\n".join(lines) + "\n")
    (out_dir / f"{name}.json").write_text(
        json.dumps({"description": description, "scale": scale, "runs": runs}, indent=1)
    )
    return out_dir / f"{name}.md"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every workload")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    devices = [d for d in args.devices if d == "cpu" or torch.cuda.is_available()]
    if len(devices) < len(args.devices):
        print("no CUDA device here: measuring the CPU only", flush=True)
    X, y, description = db1_geometry_windows()
    runs = {}
    for device in devices:
        runs[device] = run_parts(X, y, device, args.scale)
        print(device, json.dumps(runs[device]), flush=True)
    print(f"wrote {write_report(runs, description, args.out, args.scale)}")


if __name__ == "__main__":
    main()
