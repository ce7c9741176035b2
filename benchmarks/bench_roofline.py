"""How close is SASG's diffusion training to the machine's arithmetic limit? FLOPs against time.

Issue 13 asks for a ``SASGAugmenter.fit_resample`` 4x faster than the old path at the same
quality. Kernel-level changes (fused optimizers, folded attention, thread settings,
``torch.compile``, bf16) gave at most 1.35x a step, and every cheaper network or budget
cost fidelity in the ablations (``results/README.md``, "SASG-DA cost"). This script asks
whether any software trick could still give the rest: it counts the floating-point
operations of one default training step with :class:`torch.utils.flop_counter.FlopCounterMode`
(the denoiser a default ``DiffusionGenerator`` builds, the library's diffusion loss,
forward and backward), times the same steps with the library's fused AdamW, and, in the
same process and thread setting, measures two references of what the CPU can reach:

- ``sgemm``: a large float32 matrix product (2048 x 2048), the best case for these cores;
- ``conv``: the network's most common convolution alone (width ``base_channels * 2``,
  kernel 3, at the geometry's first downsampled length), forward and backward.

From these it reports the achieved GFLOP/s, its fraction of sgemm's, and the floor of
the default budget (``n_steps`` steps) at sgemm's rate: no implementation of this network
and budget trains faster than that on this machine.

Usage::

    python benchmarks/bench_roofline.py                      # DB1 and Myo geometries
    python benchmarks/bench_roofline.py --shape 10x20 --threads 1 --name bench_roofline_1thread

Writes ``results/bench_roofline.md`` and ``.json`` (``--name`` chooses another name).
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
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from semgaug_sk.augmentation import DiffusionGenerator  # noqa: E402
from semgaug_sk.augmentation.diffusion import cosine_alpha_bar, diffusion_loss  # noqa: E402
from semgaug_sk.utils.torch_utils import fused_adam_kwargs  # noqa: E402

RESULTS = ROOT / "results"
#: The protocol's window geometries (channels x samples) of the shared data sets.
GEOMETRIES = {"db1": (10, 20), "myo": (8, 52)}
#: Dimension of the default SemanticEncoder's embedding, the generator's condition vectors.
COND_DIM = 32
#: Constructor overrides (empty: the library's defaults); the tests shrink them.
SIZES: dict = {}


def default_denoiser(n_channels, n_times, seed=0):
    """The denoiser and settings of a default ``DiffusionGenerator`` for this geometry.

    A one-step fit on random windows builds it exactly as a real fit does (architecture,
    conditioner, width); the weights do not matter for speed.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, n_channels, n_times)).astype(np.float32)
    cond = rng.normal(size=(64, COND_DIM)).astype(np.float32)
    gen = DiffusionGenerator(**{**SIZES, "n_steps": 1, "random_state": seed}).fit(X, cond)
    return gen.net_.module_, gen


def training_step(denoiser, gen, batch):
    """One function that runs a default training step (loss, backward, AdamW) on ``batch``."""
    fused = {k.removeprefix("optimizer__"): v for k, v in fused_adam_kwargs("cpu").items()}
    optimizer = torch.optim.AdamW(
        denoiser.parameters(), lr=gen.lr, weight_decay=gen.weight_decay, **fused
    )
    alpha_bar = cosine_alpha_bar(gen.n_timesteps)
    x0, cond = batch

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss, _ = diffusion_loss(
            denoiser,
            x0,
            cond,
            alpha_bar,
            prediction=gen.prediction,
            cond_drop_prob=gen.cond_drop_prob,
            fourier_weight=gen.fourier_weight,
        )
        loss.backward()
        optimizer.step()

    return step


def count_flops(fn, by_kind=False):
    """Floating-point operations of one call of ``fn`` (matrix products and convolutions).

    With ``by_kind``, ``(total, convolution_flops)``: the convolutions' share, forward
    and backward, of the total.
    """
    with FlopCounterMode(display=False) as counter:
        fn()
    if not by_kind:
        return counter.get_total_flops()
    ops = counter.get_flop_counts().get("Global", {})
    conv = sum(n for op, n in ops.items() if "convolution" in str(op))
    return counter.get_total_flops(), conv


def seconds_per_call(fn, repeats, warmup=3):
    """Median wall seconds of ``fn`` over ``repeats`` timed calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def sgemm_reference(size=2048):
    """``(flops, call)`` of a float32 ``size x size`` matrix product."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2.0 * size**3, lambda: a @ b


def conv_reference(batch, width, length):
    """``(flops, call)`` of one kernel-3 convolution of ``width`` channels, forward and backward."""
    x = torch.randn(batch, width, length, requires_grad=True)
    w = torch.randn(width, width, 3, requires_grad=True)
    flops = count_flops(lambda: F.conv1d(x, w, padding=1).sum().backward())

    def call():
        F.conv1d(x, w, padding=1).sum().backward()

    return flops, call


def measure(name, n_channels, n_times, repeats):
    """One geometry's record: FLOPs, step time, achieved and reference GFLOP/s, floor."""
    torch.manual_seed(0)
    denoiser, gen = default_denoiser(n_channels, n_times)
    batch_size = gen.batch_size
    batch = (torch.randn(batch_size, n_channels, n_times), torch.randn(batch_size, COND_DIM))
    step = training_step(denoiser, gen, batch)
    step_flops, step_conv_flops = count_flops(step, by_kind=True)
    step_s = seconds_per_call(step, repeats)
    gemm_flops, gemm = sgemm_reference()
    gemm_s = seconds_per_call(gemm, max(3, repeats // 4))
    width = gen.base_channels * (gen.channel_mults[1] if len(gen.channel_mults) > 1 else 1)
    conv_flops, conv = conv_reference(batch_size, width, max(1, n_times // 2))
    conv_s = seconds_per_call(conv, repeats)
    achieved, peak = step_flops / step_s / 1e9, gemm_flops / gemm_s / 1e9
    conv_rate = conv_flops / conv_s / 1e9
    # the step's products alone, each kind at its reference rate: what would remain if
    # normalisation, activations, the optimizer and dispatch cost nothing
    products_s = step_conv_flops / (conv_rate * 1e9) + (step_flops - step_conv_flops) / (peak * 1e9)
    n_steps = DiffusionGenerator(**SIZES).n_steps  # the default budget, not the probe's 1
    return {
        "geometry": name,
        "window": [n_channels, n_times],
        "batch_size": batch_size,
        "n_steps": n_steps,
        "parameters": sum(p.numel() for p in denoiser.parameters()),
        "gflop_per_step": step_flops / 1e9,
        "conv_share_of_flops": step_conv_flops / step_flops,
        "ms_per_step": 1e3 * step_s,
        "achieved_gflops": achieved,
        "sgemm_gflops": peak,
        "conv_gflops": conv_rate,
        "fraction_of_sgemm": achieved / peak,
        "products_ms_per_step": 1e3 * products_s,
        "budget_s": n_steps * step_s,
        "budget_products_only_s": n_steps * products_s,
        "budget_floor_at_sgemm_s": n_steps * step_flops / (peak * 1e9),
    }


def write_results(records, args, argv):
    RESULTS.mkdir(exist_ok=True)
    meta = {
        "command": "python benchmarks/bench_roofline.py " + " ".join(argv),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "load_1min": round(os.getloadavg()[0], 2),
    }
    (RESULTS / f"{args.name}.json").write_text(json.dumps({**meta, "records": records}, indent=1))
    lines = [
        "# SASG diffusion training against the CPU's arithmetic limit",
        "",
        f"Written by `{meta['command']}` on {meta['date']} (torch {meta['torch']}, "
        f"{meta['threads']} thread(s), {meta['cpu_count']} cores, {meta['machine']}, "
        f"1-minute load {meta['load_1min']} at the end). FLOPs of one default training step "
        "(forward and backward of the denoiser a default `DiffusionGenerator` builds, with "
        "the library's diffusion loss) counted by torch's FlopCounterMode; times are medians "
        "over repeated steps; `sgemm` (a 2048 x 2048 float32 product) and `conv` (the "
        "network's common convolution alone, forward and backward) were measured in the "
        "same process. The floor is the default budget's FLOPs at sgemm's rate.",
        "",
        "| geometry | window | batch | parameters | GFLOP / step (conv share) | ms / step "
        "| achieved GFLOP/s | conv GFLOP/s | sgemm GFLOP/s | fraction of sgemm "
        "| products alone (ms / step) | budget: steps, s | products alone (s) "
        "| floor at sgemm (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in records:
        lines.append(
            f"| {r['geometry']} | {r['window'][0]} x {r['window'][1]} | {r['batch_size']} "
            f"| {r['parameters']:,} | {r['gflop_per_step']:.2f} "
            f"({r['conv_share_of_flops']:.0%}) | {r['ms_per_step']:.1f} "
            f"| {r['achieved_gflops']:.1f} | {r['conv_gflops']:.1f} | {r['sgemm_gflops']:.1f} "
            f"| {r['fraction_of_sgemm']:.2f} | {r['products_ms_per_step']:.1f} "
            f"| {r['n_steps']}, {r['budget_s']:.1f} | {r['budget_products_only_s']:.1f} "
            f"| {r['budget_floor_at_sgemm_s']:.1f} |"
        )
    lines += [
        "",
        "`products alone` is the step's convolution FLOPs at the measured convolution rate "
        "plus its other products at sgemm's: the time left if normalisation, activations, "
        "attention's softmax, the loss, the optimizer and dispatch cost nothing. It bounds "
        "what faster kernels, fusion or compilation could give without changing the network "
        "or the budget; only fewer FLOPs (a smaller network, a shorter budget, shorter "
        "windows) go below it, and those change what is learned.",
        "",
    ]
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines))
    return RESULTS / f"{args.name}.md"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--shape",
        nargs="+",
        default=list(GEOMETRIES),
        help="geometries: db1, myo, or CHANNELSxSAMPLES such as 64x200 (default: db1 myo)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--repeats", type=int, default=20, help="timed steps (default 20)")
    parser.add_argument("--name", default="bench_roofline", help="results file name")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    records = []
    for shape in args.shape:
        if shape in GEOMETRIES:
            n_channels, n_times = GEOMETRIES[shape]
        else:
            try:
                n_channels, n_times = (int(v) for v in shape.lower().split("x"))
            except ValueError:
                parser.error(f"--shape {shape!r}: use db1, myo or CHANNELSxSAMPLES (e.g. 64x200)")
        records.append(measure(shape, n_channels, n_times, args.repeats))
        print(json.dumps(records[-1]), flush=True)
    print(f"wrote {write_results(records, args, argv)}")


if __name__ == "__main__":
    main()
