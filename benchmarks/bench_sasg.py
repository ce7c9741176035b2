"""Speed of SASGAugmenter: training steps/s, generation windows/s, fit_resample wall time.

Measures, for one subject's low-data training set (DB1: repetitions {1, 2};
Myo: cycle 0 of ``training0``; ``sim``: the simulator's repetitions {1, 2}):

- the default preset's ``fit_resample`` wall time (semantic conditioning,
  SASS, ratio 2), split into encoder training, diffusion training and
  generation (SASS + sampler + confidence filter);
- diffusion training throughput (optimizer steps per second);
- generation throughput (windows per second of plain GMSS generation, i.e.
  the default sampler with ``n_sampling_steps`` steps, no filter);
- optionally (``--downstream``) a quick downstream check: LDA on hudgins
  features trained on real vs real + synthetic windows, tested on the
  held-out repetitions (DB1: {3..10}; Myo: ``Test0``; one seed, one subject,
  so it is a smoke check of the pipeline, not an accuracy result).

Usage::

    .venv/bin/python benchmarks/bench_sasg.py --dataset db1 --device cpu
    .venv/bin/python benchmarks/bench_sasg.py --dataset myo --device cuda --downstream
    .venv/bin/python benchmarks/bench_sasg.py --dataset sim --n-steps 200   # quick look

Old against new, side by side in one run (``--compare``)::

    git worktree add /tmp/sasg-old <old commit>
    .venv/bin/python benchmarks/bench_sasg.py --compare /tmp/sasg-old --subject 3 \\
        --step-ms 20 --seeds 0 1 --threads 1

runs ``SASGAugmenter(random_state=seed).fit_resample`` with each tree's
defaults in a fresh process per fit, alternating old and new (the order
swapped every seed), and records per fit the wall time, diffusion steps/s
and windows/s of training, and generation windows/s twice: with the defaults
(SASS's rarity selection, refinement and confidence filter) and as plain GMSS
draws (the network's sampling alone). Quality is then
computed here on the synthetic windows of every fit, against the real
training windows: the FID of an evaluation ``SemanticEncoder(random_state=123)``
fitted on the real windows, and :func:`semgaug_sk.metrics.fidelity_report`'s
per-class RMS and within-window-std ratios and log-PSD distance (averaged
over classes). It writes ``results/bench_sasg_speed.md`` and ``.json`` (``--name``
chooses another name, so that an earlier comparison is kept).

Each run is stored under the key ``<dataset>-<device>[-<tag>]`` in
``results/bench_sasg.json`` and the table ``results/bench_sasg.md`` is
rewritten from all stored runs, so CPU and CUDA figures sit side by side (the
CUDA/CPU speed ratio is printed when both exist).
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

ROOT = Path(__file__).resolve().parents[1]
# ``--tree PATH`` (set by ``--compare`` for its child processes) imports another checkout.
sys.path.insert(0, sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv else str(ROOT))

from semgaug_sk.augmentation import SASGAugmenter  # noqa: E402
from semgaug_sk.datasets import load_myo_armband, load_ninapro, make_semg_gestures  # noqa: E402
from semgaug_sk.windows import sliding_windows  # noqa: E402

SHARED = Path(os.environ.get("SEMGAUG_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "results"


def load_split(dataset, subject, step_ms):
    """Return ``(X_train, y_train, X_test, y_test, description)`` for one subject."""
    if dataset == "db1":
        rec = load_ninapro(SHARED / "ninapro_db1_e1", subjects=[int(subject)], fs=100.0)
        w = sliding_windows(rec, window_ms=200.0, step_ms=step_ms)
        train = np.isin(w.repetition, [1, 2])
        test = w.repetition >= 3
        desc = f"NinaPro DB1 S{subject}, 200 ms windows (20 samples), step {step_ms:g} ms, reps {{1,2}}"
    elif dataset == "myo":
        rec = load_myo_armband(
            SHARED / "myo_armband_cote_allard",
            subjects=[subject],
            dataset="evaluation",
            sessions=("training0", "Test0"),
        )
        w = sliding_windows(rec, window_ms=260.0, step_ms=step_ms, rest_label=None)
        session = np.asarray(rec.session_names)[w.session]
        train = (session == "training0") & (w.repetition == 0)
        test = session == "Test0"
        desc = f"Myo {subject}, 260 ms windows (52 samples), step {step_ms:g} ms, training0 cycle 0"
    elif dataset == "sim":
        rec = make_semg_gestures(n_classes=6, n_repetitions=6, n_channels=8, random_state=0)
        w = sliding_windows(rec, window_ms=200.0, step_ms=step_ms)
        train = np.isin(w.repetition, [1, 2])
        test = w.repetition >= 3
        desc = f"simulator, 8 channels, 200 ms windows, step {step_ms:g} ms, reps {{1,2}}"
    else:
        raise ValueError(f"unknown dataset {dataset!r}")
    return w.X[train], w.y[train], w.X[test], w.y[test], desc


def history_seconds(net):
    """Sum of skorch's per-epoch durations (training time without set-up)."""
    return float(sum(row["dur"] for row in net.history))


def downstream_lda(X_train, y_train, X_res, y_res, X_test, y_test):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline

    from semgaug_sk.features import EMGFeatures

    def acc(X, y):
        clf = make_pipeline(EMGFeatures("hudgins"), LinearDiscriminantAnalysis())
        return float(clf.fit(X, y).score(X_test, y_test))

    return {"lda_none": acc(X_train, y_train), "lda_sasg": acc(X_res, y_res)}


def run(args):
    import torch

    X, y, X_test, y_test, desc = load_split(args.dataset, args.subject, args.step_ms)
    params = dict(device=args.device, random_state=args.seed)
    if args.n_steps is not None:
        params["n_steps"] = args.n_steps
    print(f"{desc}: {X.shape[0]} training windows of shape {X.shape[1:]}, device={args.device}")

    aug = SASGAugmenter(**params)
    t0, cpu0 = time.perf_counter(), time.process_time()
    X_res, y_res = aug.fit_resample(X, y)
    total, cpu_total = time.perf_counter() - t0, time.process_time() - cpu0
    enc_s = history_seconds(aug.encoder_.net_)
    diff_s = history_seconds(aug.diffusion_)
    gen_s = total - enc_s - diff_s
    steps_per_s = aug.n_train_steps_ / diff_s
    n_syn = len(y_res) - len(y)
    print(
        f"fit_resample: {total:.1f} s wall, {cpu_total:.1f} s CPU (encoder {enc_s:.1f} s, {aug.encoder_.n_epochs_} epochs; "
        f"diffusion {diff_s:.1f} s, {aug.n_train_steps_} steps = {steps_per_s:.1f} steps/s; "
        f"SASS generation + filter {gen_s:.1f} s for {n_syn} windows)"
    )
    acceptance = {str(k): round(float(v), 3) for k, v in aug.last_acceptance_.items()}
    shortfall = {str(k): int(v) for k, v in aug.last_shortfall_.items()}
    print(f"SASS acceptance per class: {acceptance}; shortfall: {shortfall}")

    # Plain generation throughput (GMSS, no filter), after one warm-up call.
    aug.set_params(sampling="gmss")
    aug.generate(2)
    n_per_class = max(1, args.n_generate // len(aug.classes_))
    t0 = time.perf_counter()
    X_gen, _ = aug.generate(n_per_class)
    gen_time = time.perf_counter() - t0
    windows_per_s = len(X_gen) / gen_time
    print(f"generation: {len(X_gen)} windows in {gen_time:.2f} s = {windows_per_s:.0f} windows/s")

    record = {
        "dataset": args.dataset,
        "description": desc,
        "device": args.device,
        "device_name": torch.cuda.get_device_name(0)
        if args.device.startswith("cuda")
        else platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "n_train_windows": int(X.shape[0]),
        "window_shape": list(X.shape[1:]),
        "n_params": int(sum(p.numel() for p in aug.diffusion_.module_.parameters())),
        "unet_levels": int(aug.n_unet_levels_),
        "n_train_steps": int(aug.n_train_steps_),
        "fit_resample_s": round(total, 2),
        "fit_resample_cpu_s": round(cpu_total, 2),
        "encoder_s": round(enc_s, 2),
        "encoder_epochs": int(aug.encoder_.n_epochs_),
        "diffusion_s": round(diff_s, 2),
        "train_steps_per_s": round(steps_per_s, 2),
        "sass_generation_s": round(gen_s, 2),
        "n_synthetic": int(n_syn),
        "sass_acceptance": acceptance,
        "sass_shortfall": shortfall,
        "generation_windows_per_s": round(windows_per_s, 1),
        "n_sampling_steps": int(aug.n_sampling_steps),
        "params": {k: v for k, v in params.items() if k != "device"},
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    if args.downstream:
        aug.set_params(sampling="sass")
        record["downstream"] = downstream_lda(X, y, X_res, y_res, X_test, y_test)
        print(f"downstream (one subject, one seed): {record['downstream']}")
    return record


def write_results(key, record):
    RESULTS.mkdir(exist_ok=True)
    path_json = RESULTS / "bench_sasg.json"
    runs = json.loads(path_json.read_text()) if path_json.exists() else {}
    runs[key] = record
    path_json.write_text(json.dumps(runs, indent=2, sort_keys=True) + "\n")

    lines = [
        "# SASGAugmenter speed",
        "",
        "Written by `benchmarks/bench_sasg.py`. Default preset (semantic + SASS, ratio 2, "
        "3000 diffusion steps unless stated) on one subject's low-data training set. "
        "`CPU` is the process CPU time and `load avg` the machine's 1-minute load average at "
        "the end of the run: on a shared machine, wall time above CPU time / threads is "
        "time spent waiting for a core.",
        "",
        "| run | data | train windows | params | steps | fit_resample wall (s) | CPU (s) | "
        "encoder (s) | diffusion (s) | steps/s | SASS gen. (s) | gen. windows/s | threads | "
        "load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in sorted(runs.items()):
        lines.append(
            f"| {name} | {r['description']} | {r['n_train_windows']} | {r['n_params']:,} | "
            f"{r['n_train_steps']} | {r['fit_resample_s']} | {r.get('fit_resample_cpu_s', '')} | "
            f"{r['encoder_s']} | "
            f"{r['diffusion_s']} | {r['train_steps_per_s']} | {r['sass_generation_s']} | "
            f"{r['generation_windows_per_s']} | {r['torch_threads']} | {r['load_average_1min']:.1f} |"
        )
    ratios = []
    for name, r in sorted(runs.items()):
        if r["device"].startswith("cuda"):
            cpu = runs.get(name.replace(r["device"], "cpu", 1)) or next(
                (c for c in runs.values() if c["dataset"] == r["dataset"] and c["device"] == "cpu"),
                None,
            )
            if cpu is not None:
                ratios.append(
                    f"- {name}: training {r['train_steps_per_s'] / cpu['train_steps_per_s']:.1f}x, "
                    f"generation {r['generation_windows_per_s'] / cpu['generation_windows_per_s']:.1f}x, "
                    f"fit_resample {cpu['fit_resample_s'] / r['fit_resample_s']:.1f}x faster than CPU"
                )
    if ratios:
        lines += ["", "CUDA / CPU speed ratios:", "", *ratios]
    downstream = [(n, r["downstream"]) for n, r in sorted(runs.items()) if "downstream" in r]
    if downstream:
        lines += [
            "",
            "Quick downstream check (LDA on hudgins features, one subject, one seed):",
            "",
        ]
        lines += [
            f"- {n}: none {d['lda_none']:.3f}, with SASG {d['lda_sasg']:.3f}" for n, d in downstream
        ]
    (RESULTS / "bench_sasg.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {path_json} and {RESULTS / 'bench_sasg.md'} (key {key!r})")


def run_child(args):
    """One timed ``fit_resample`` + generation with the imported tree's defaults (a child)."""
    import torch

    X, y, _, _, _ = load_split(args.dataset, args.subject, args.step_ms)
    aug = SASGAugmenter(device=args.device, random_state=args.seed)
    t0, cpu0 = time.perf_counter(), time.process_time()
    X_res, y_res = aug.fit_resample(X, y)
    total, cpu_total = time.perf_counter() - t0, time.process_time() - cpu0
    diff_s = history_seconds(aug.diffusion_)
    batch = min(aug.batch_size, len(X))
    n_per_class = max(1, args.n_generate // len(aug.classes_))
    # the defaults first (SASS: rarity selection, refinement, confidence filter), then
    # plain GMSS draws (the network's sampling alone)
    aug.generate(2)
    t0 = time.perf_counter()
    X_sass, _ = aug.generate(n_per_class)
    sass_time = time.perf_counter() - t0
    aug.set_params(sampling="gmss")
    aug.generate(2)
    t0 = time.perf_counter()
    X_gen, _ = aug.generate(n_per_class)
    gen_time = time.perf_counter() - t0
    np.savez(args.out, X=X_res[len(X) :], y=y_res[len(y) :])
    params = aug.get_params(deep=False)
    record = {
        "seed": args.seed,
        "fit_resample_s": round(total, 2),
        "fit_resample_cpu_s": round(cpu_total, 2),
        "encoder_s": round(history_seconds(aug.encoder_.net_), 2),
        "diffusion_s": round(diff_s, 2),
        "n_train_steps": int(aug.n_train_steps_),
        "batch_size": int(batch),
        "train_steps_per_s": round(aug.n_train_steps_ / diff_s, 2),
        "train_windows_per_s": round(aug.n_train_steps_ * batch / diff_s, 1),
        "generation_windows_per_s": round(len(X_gen) / gen_time, 1),
        "sass_generation_windows_per_s": round(len(X_sass) / sass_time, 1),
        "n_synthetic": int(len(y_res) - len(y)),
        "n_params": int(sum(p.numel() for p in aug.diffusion_.module_.parameters())),
        "torch_threads": torch.get_num_threads(),
        "defaults": {
            k: params[k]
            for k in (
                "base_channels",
                "channel_mults",
                "n_steps",
                "batch_size",
                "lr",
                "n_sampling_steps",
            )
        }
        | {"generate_batch_size": params["generate_batch_size"]},
    }
    print("RESULT " + json.dumps(record))


def _quality(X, y, X_syn, y_syn, encoder, emb_real):
    from semgaug_sk.metrics import fidelity_report, frechet_distance

    report = fidelity_report(X, X_syn, y, y_syn, encoder=encoder)
    per_class = list(report["per_class"].values())

    def mean(key):
        return float(np.mean([c[key] for c in per_class]))

    return {
        "fid": float(frechet_distance(emb_real, encoder.transform(X_syn))),
        "class_fid_mean": mean("fid"),
        "rms_ratio_mean": mean("rms_ratio"),
        "std_ratio_mean": mean("std_ratio"),
        "log_psd_distance_mean": mean("log_psd_distance"),
    }


def run_compare(args, argv):
    """Old tree against this one, alternating child processes, then quality here."""
    import subprocess
    import tempfile

    from semgaug_sk import SemanticEncoder

    trees = {"old": str(Path(args.compare).resolve()), "new": str(ROOT)}
    fits = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, seed in enumerate(args.seeds):
            for name in ("old", "new") if i % 2 == 0 else ("new", "old"):
                out = Path(tmp) / f"{name}-{seed}.npz"
                cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--tree"]
                cmd += [trees[name], "--dataset", args.dataset, "--subject", str(args.subject)]
                cmd += ["--step-ms", str(args.step_ms), "--seed", str(seed), "--out", str(out)]
                cmd += ["--device", args.device, "--n-generate", str(args.n_generate)]
                if args.threads is not None:
                    cmd += ["--threads", str(args.threads)]
                load_before = os.getloadavg()[0]
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=trees[name])
                if proc.returncode:
                    raise RuntimeError(f"{name} seed {seed} failed:\n{proc.stderr[-3000:]}")
                line = [r for r in proc.stdout.splitlines() if r.startswith("RESULT ")][-1]
                rec = json.loads(line[len("RESULT ") :]) | {"path": name}
                rec["load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
                data = np.load(out, allow_pickle=False)
                rec["_syn"] = (data["X"], data["y"])
                fits.append(rec)
                print(
                    f"{name} seed {seed}: fit_resample {rec['fit_resample_s']} s, "
                    f"{rec['train_steps_per_s']} steps/s ({rec['train_windows_per_s']} windows/s), "
                    f"generate {rec['sass_generation_windows_per_s']} (SASS) / "
                    f"{rec['generation_windows_per_s']} (GMSS) windows/s, load {rec['load_1min']}",
                    flush=True,
                )
    X, y, _, _, desc = load_split(args.dataset, args.subject, args.step_ms)
    encoder = SemanticEncoder(random_state=123).fit(X, y)
    emb_real = encoder.transform(X)
    for rec in fits:
        rec["quality"] = _quality(X, y, *rec.pop("_syn"), encoder, emb_real)
        print(f"{rec['path']} seed {rec['seed']}: {rec['quality']}", flush=True)
    write_compare(args, argv, desc, fits)


def _summary(fits, path, key, sub=None):
    vals = [(f[sub] if sub else f)[key] for f in fits if f["path"] == path]
    return float(np.mean(vals)), float(np.std(vals)), vals


def write_compare(args, argv, desc, fits):
    import platform

    # here, not at the top: a child imports an older tree's semgaug_sk, which protocols
    # may not fit
    sys.path.insert(1, str(Path(__file__).resolve().parent))
    from protocols import tree_commit

    speed_keys = [
        ("fit_resample_s", "fit_resample wall (s)"),
        ("diffusion_s", "diffusion training (s)"),
        ("train_steps_per_s", "training steps/s"),
        ("train_windows_per_s", "training windows/s"),
        ("sass_generation_windows_per_s", "generate windows/s, defaults (SASS, filter)"),
        ("generation_windows_per_s", "generate windows/s, plain GMSS"),
    ]
    quality_keys = [
        ("fid", "FID (eval. encoder, all classes)"),
        ("class_fid_mean", "per-class FID, mean"),
        ("rms_ratio_mean", "RMS ratio syn/real, mean"),
        ("std_ratio_mean", "within-window std ratio, mean"),
        ("log_psd_distance_mean", "log-PSD distance (dB), mean"),
    ]
    command = "python benchmarks/bench_sasg.py " + " ".join(argv)
    old = next(f for f in fits if f["path"] == "old")["defaults"]
    new = next(f for f in fits if f["path"] == "new")["defaults"]
    lines = [
        "# SASGAugmenter speed: old against new, side by side",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        f"Data: {desc}. Each fit is `SASGAugmenter(random_state=seed).fit_resample` with its "
        f"tree's defaults, in a fresh process with {fits[0]['torch_threads']} torch thread(s), "
        "old and new alternating (order swapped every seed). Machine: "
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), shared with "
        "other jobs: the 1-minute load average before and after each fit is listed, so compare "
        "ratios, not absolute times.",
        "",
        f"- old tree: `{args.compare}`, commit {tree_commit(args.compare)}",
        f"- old defaults: {old}",
        f"- new defaults: {new}",
        "",
        "| fit | seed | fit_resample (s) | diffusion (s) | steps/s | training windows/s | "
        "generate windows/s, SASS | generate windows/s, GMSS | FID | per-class FID | RMS ratio "
        "| std ratio | log-PSD dB | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in fits:
        q = f["quality"]
        lines.append(
            f"| {f['path']} | {f['seed']} | {f['fit_resample_s']} | {f['diffusion_s']} | "
            f"{f['train_steps_per_s']} | {f['train_windows_per_s']} | "
            f"{f.get('sass_generation_windows_per_s', '—')} | "
            f"{f['generation_windows_per_s']} | {q['fid']:.3f} | {q['class_fid_mean']:.3f} | "
            f"{q['rms_ratio_mean']:.3f} | {q['std_ratio_mean']:.3f} | "
            f"{q['log_psd_distance_mean']:.2f} | {f['load_1min'][0]} → {f['load_1min'][1]} |"
        )
    lines += [
        "",
        "| measure | old (mean ± sd) | new (mean ± sd) | new / old |",
        "|---|---|---|---|",
    ]
    summary = {}
    for key, label in speed_keys + quality_keys:
        sub = "quality" if (key, label) in quality_keys else None
        mo, so, _ = _summary(fits, "old", key, sub)
        mn, sn, _ = _summary(fits, "new", key, sub)
        summary[key] = {"old": mo, "old_sd": so, "new": mn, "new_sd": sn, "ratio": mn / mo}
        lines.append(f"| {label} | {mo:.3g} ± {so:.2g} | {mn:.3g} ± {sn:.2g} | {mn / mo:.2f} |")
    speedup = summary["fit_resample_s"]["old"] / summary["fit_resample_s"]["new"]
    lines += [
        "",
        f"`fit_resample` is {speedup:.1f}x faster; `generate` runs at "
        f"{summary['sass_generation_windows_per_s']['new']:.0f} windows/s with the defaults "
        f"({summary['sass_generation_windows_per_s']['ratio']:.1f}x) and "
        f"{summary['generation_windows_per_s']['new']:.0f} windows/s as plain GMSS "
        f"({summary['generation_windows_per_s']['ratio']:.1f}x).",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    payload = {"command": command, "description": desc, "fits": fits, "summary": summary}
    (RESULTS / f"{args.name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (default: cpu)")
    parser.add_argument("--dataset", default="db1", choices=("db1", "myo", "sim"))
    parser.add_argument(
        "--subject", default=None, help="DB1 subject number or Myo folder (default: 1 / Male0)"
    )
    parser.add_argument("--step-ms", type=float, default=100.0, help="window step (default 100 ms)")
    parser.add_argument(
        "--n-steps", type=int, default=None, help="diffusion steps (default preset)"
    )
    parser.add_argument("--n-generate", type=int, default=2000, help="windows for generation speed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--downstream", action="store_true", help="also run the LDA check")
    parser.add_argument("--tag", default="", help="suffix of the results key")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (default: torch's choice, the number of cores)",
    )
    parser.add_argument(
        "--compare",
        default=None,
        metavar="OLD_TREE",
        help="checkout of the old code: time old against new, side by side",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="with --compare")
    parser.add_argument(
        "--name",
        default="bench_sasg_speed",
        help="with --compare: the report is results/NAME.md and .json",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    if args.subject is None:
        args.subject = {"db1": "1", "myo": "Male0", "sim": "0"}[args.dataset]
    if args.child:
        return run_child(args)
    if args.compare:
        return run_compare(args, sys.argv[1:] if argv is None else list(argv))
    record = run(args)
    key = f"{args.dataset}-{args.device}" + (f"-{args.tag}" if args.tag else "")
    write_results(key, record)


if __name__ == "__main__":
    main()
