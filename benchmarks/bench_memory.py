"""Peak memory of generation and feature extraction: bounded by the batch, not the data.

Each measurement runs in a fresh Python process, which reads its peak resident
set size (``ru_maxrss``) just before and just after one call. The increase,
minus the bytes of the arrays the call returns, is what the call needed on top
of its result ("overhead"). If memory is bounded by the batch size, the
overhead stays flat as the number of windows grows tenfold, and moves with
``generate_batch_size`` / ``chunk_size`` instead.

Measured:

- ``SASGAugmenter.generate`` (GMSS and SASS) and
  ``fit_resample`` on the simulator (8 channels x 52 samples, a small model
  trained for a few steps: the memory of generation does not depend on how
  well the model is trained, and 2 DDIM steps keep 100k windows quick);
- ``ClassicAugmenter.fit_resample`` on the same windows, in blocks of 4096
  and in one block (how it worked before it had ``generate_batch_size``);
- ``extract_features`` (all 18 features) on 1M windows of 10 x 20 samples
  (NinaPro DB1's shape), chunked.

``--fit-compare-tree OTHER`` measures fitting instead: ``SemanticEncoder``,
``DiffusionGenerator``, ``SASGAugmenter`` and ``PopulationPrior`` on ``--fit-n``
windows (one epoch, two diffusion steps: what a fit copies, not how long it trains),
this tree against another checkout, alternating.

Usage::

    python benchmarks/bench_memory.py                # about 5 minutes on 2 cores
    python benchmarks/bench_memory.py --n 20000      # a quick look
    git worktree add /tmp/old <commit>
    python benchmarks/bench_memory.py --fit-compare-tree /tmp/old   # about 10 minutes

Results go to ``results/bench_memory.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocols import tree_commit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
#: Confidence threshold of the filtered SASS row (the library's default is 0.5).
FILTER_THRESHOLD = 0.5
#: The fits that ``--fit-compare-tree`` measures.
FIT_ESTIMATORS = ("SemanticEncoder", "DiffusionGenerator", "SASGAugmenter", "PopulationPrior")

# Runs in the child process: measure one call, print a JSON line.
CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
torch.set_num_threads(1)
cfg = json.loads(sys.argv[1])

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

if cfg["kind"] == "features":
    from semgaug_sk.features import extract_features
    rng = np.random.default_rng(0)
    X = np.empty((cfg["n"], 10, 20), dtype=np.float32)  # filled in pieces: no float64 copy
    for start in range(0, cfg["n"], 50_000):
        piece = X[start : start + 50_000]
        piece[:] = rng.gamma(2.0, 1.0, size=piece.shape)
    extract_features(X[:1000], "all", fs=100.0)  # warm-up
    before = peak_mb(); t0 = time.perf_counter()
    out = extract_features(X, "all", fs=100.0, chunk_size=cfg["chunk"])
    result_bytes = out.nbytes
elif cfg["kind"] == "classic":
    from semgaug_sk.augmentation import ClassicAugmenter
    data = np.load(cfg["data"])
    X, y = data["X"], data["y"]
    aug = ClassicAugmenter(ratio=cfg["ratio"], generate_batch_size=cfg["batch"], random_state=0)
    aug.fit_resample(X[:50], y[:50])  # warm-up
    before = peak_mb(); t0 = time.perf_counter()
    X_res, y_res = aug.fit_resample(X, y)
    result_bytes = X_res.nbytes + y_res.nbytes
elif cfg["kind"] == "fit":
    from semgaug_sk.augmentation import DiffusionGenerator, PopulationPrior, SASGAugmenter
    from semgaug_sk.encoders import SemanticEncoder
    rng = np.random.default_rng(0)
    X = np.empty((cfg["n"], 8, 52), dtype=np.float32)  # filled in pieces: no float64 copy
    for start in range(0, cfg["n"], 10_000):
        piece = X[start : start + 10_000]
        piece[:] = rng.normal(size=piece.shape)
    y = np.arange(cfg["n"]) % 5
    groups = np.arange(cfg["n"]) % 4
    # one epoch / two steps: the memory of a fit is its data's copies, not its length
    fits = {
        "SemanticEncoder": lambda X, y, g: SemanticEncoder(max_epochs=1, random_state=0).fit(X, y),
        "DiffusionGenerator": lambda X, y, g: DiffusionGenerator(n_steps=2, random_state=0).fit(X, y),
        "SASGAugmenter": lambda X, y, g: SASGAugmenter(
            SemanticEncoder(max_epochs=1), n_steps=2, random_state=0).fit(X, y),
        "PopulationPrior": lambda X, y, g: PopulationPrior(
            encoder=SemanticEncoder(max_epochs=1), generator=DiffusionGenerator(n_steps=2),
            random_state=0).fit(X, y, groups=g),
    }
    fit = fits[cfg["estimator"]]
    fit(X[:400], y[:400], groups[:400])  # warm-up (imports, first calls)
    before = peak_mb(); t0 = time.perf_counter()
    fit(X, y, groups)
    result_bytes = 0
    cfg["acceptance"] = None
    data_mb = X.nbytes / 2**20
else:
    from semgaug_sk.persistence import load_weights
    aug = load_weights(cfg["model"])
    aug.set_params(sampling=cfg["sampling"], generate_batch_size=cfg["batch"],
                   confidence_threshold=cfg.get("threshold", 0.0))
    if cfg["kind"] == "generate":
        aug.generate(1)  # warm-up (imports, first calls); far below one batch
        before = peak_mb(); t0 = time.perf_counter()
        X_syn, y_syn = aug.generate(cfg["n_per_class"])
        result_bytes = X_syn.nbytes + y_syn.nbytes
        cfg["acceptance"] = float(np.nanmean(list(aug.last_acceptance_.values()) or [1.0]))
    else:
        data = np.load(cfg["data"])
        X, y = data["X"], data["y"]
        aug.set_params(ratio=cfg["ratio"], n_steps=cfg["n_steps"])
        before = peak_mb(); t0 = time.perf_counter()
        X_res, y_res = aug.fit_resample(X, y)
        result_bytes = X_res.nbytes + y_res.nbytes
wall = time.perf_counter() - t0
after = peak_mb()
print(json.dumps(dict(wall_s=wall, peak_increase_mb=after - before,
                      result_mb=result_bytes / 2**20, acceptance=cfg.get("acceptance"),
                      data_mb=globals().get("data_mb"))))
"""


def _child_code(tree=None):
    """The child's code, importing ``semgaug_sk`` from ``tree`` (a checkout) when given."""
    if tree is None:
        return CHILD
    # an editable install's finder would win over sys.path: drop it for the other tree
    return (
        "import sys\n"
        "sys.meta_path = [m for m in sys.meta_path if 'editable' not in repr(m).lower()]\n"
        f"sys.path.insert(0, {str(Path(tree).resolve())!r})\n" + CHILD
    )


def run_child(cfg, tree=None):
    proc = subprocess.run(
        [sys.executable, "-c", _child_code(tree), json.dumps(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child failed for {cfg}:\n{proc.stderr[-3000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["overhead_mb"] = row["peak_increase_mb"] - row["result_mb"]
    return {**cfg, **row}


def fit_model(folder, n_steps):
    """A small semantic SASG model on simulator windows, saved weights-only."""
    import numpy as np

    from semgaug_sk.augmentation import SASS, SASGAugmenter
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.encoders import SemanticEncoder
    from semgaug_sk.persistence import save_weights
    from semgaug_sk.windows import sliding_windows

    rec = make_semg_gestures(n_classes=5, n_repetitions=2, n_channels=8, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=260, step_ms=100)
    aug = SASGAugmenter(
        SemanticEncoder(embedding_dim=16, n_filters=8, max_epochs=3),
        n_steps=n_steps,
        base_channels=8,
        channel_mults=(1,),
        n_sampling_steps=2,
        sampling=SASS(n_steps=5),
        # No confidence filter: a model trained for a few steps convinces the encoder
        # rarely, and top-up rounds would multiply the work without changing the
        # per-batch memory (the filter runs on each batch as it is denoised).
        confidence_threshold=0.0,
        random_state=0,
    ).fit(w.X, w.y)
    save_weights(aug, folder / "model.pt")
    np.savez(folder / "data.npz", X=w.X, y=w.y)
    return len(aug.classes_), len(w.y), w.X.shape[1:]


def markdown(report):
    lines = [
        "# Peak memory: bounded by the batch size",
        "",
        f"{report['machine']}; generated by `benchmarks/bench_memory.py` in "
        f"{report['total_s'] / 60:.1f} min. Each row is one fresh process; *peak increase* is the "
        "growth of its peak RSS during the call, *overhead* that minus the returned arrays. A "
        "small call can stay below the peak the process had already reached (imports, warm-up, "
        "building the input), so its overhead reads as zero or negative: only the large rows "
        "measure it.",
        "",
        f"SASG model: simulator, {report['n_classes']} classes, {report['n_train']} training "
        f"windows of {report['window_shape'][0]} x {report['window_shape'][1]} samples, float32.",
        "",
        "| call | sampling | windows | batch / chunk | result (MB) | peak increase (MB) | "
        "overhead (MB) | wall (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        if r["kind"] == "features":
            call, sampling, n, batch = "extract_features(all)", "", r["n"], r["chunk"]
        elif r["kind"] == "classic":
            call, sampling, n, batch = "ClassicAugmenter.fit_resample", "", r["n_total"], r["batch"]
        else:
            call, sampling, batch = r["kind"], r["sampling"], r["batch"]
            n = r.get("n_total")
            if r.get("threshold"):
                sampling += f", filtered at {r['threshold']:g} (acceptance {r['acceptance']:.2f})"
        lines.append(
            f"| {call} | {sampling} | {n:,} | {batch} | {r['result_mb']:.0f} | "
            f"{r['peak_increase_mb']:.0f} | {r['overhead_mb']:.0f} | {r['wall_s']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="synthetic windows (largest run)")
    parser.add_argument("--n-features", type=int, default=1_000_000, help="windows for features")
    parser.add_argument("--n-steps", type=int, default=30, help="diffusion steps of the model")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument(
        "--compare-tree",
        default=None,
        help="only the filtered SASS row, side by side with another checkout (e.g. a git "
        "worktree of an older commit), alternating; writes bench_memory_filter.md",
    )
    parser.add_argument("--filter-n", type=int, nargs="+", default=[10_000, 40_000])
    parser.add_argument("--filter-threshold", type=float, default=0.3)
    parser.add_argument(
        "--fit-compare-tree",
        default=None,
        help="only the fits (encoder, generator, SASG, population prior) on --fit-n windows, "
        "side by side with another checkout, alternating; writes bench_memory_fit.md",
    )
    parser.add_argument("--fit-n", type=int, default=200_000, help="windows of 8 x 52 per fit")
    parser.add_argument("--fit-estimators", nargs="+", default=list(FIT_ESTIMATORS))
    args = parser.parse_args(argv)
    if args.fit_compare_tree is not None:
        return compare_fits(args)
    if args.compare_tree is not None:
        return compare_filter(args)
    t_start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_classes, n_train, shape = fit_model(tmp, args.n_steps)
        model, data = str(tmp / "model.pt"), str(tmp / "data.npz")
        plan = []
        for sampling, batch, n, threshold in (
            ("gmss", 512, args.n // 10, 0.0),
            ("gmss", 512, args.n, 0.0),
            ("sass", 512, args.n // 10, 0.0),
            ("sass", 512, args.n, 0.0),
            ("sass", 4096, args.n, 0.0),
            # the confidence filter's top-up rounds ask for up to 10x the missing windows
            ("sass", 512, args.n // 10, FILTER_THRESHOLD),
        ):
            per_class = max(1, n // n_classes)
            plan.append(
                dict(
                    kind="generate",
                    sampling=sampling,
                    batch=batch,
                    n_per_class=per_class,
                    threshold=threshold,
                )
            )
            plan[-1]["n_total"] = per_class * n_classes
        ratio = max(1, round(args.n / n_train))
        plan.append(
            dict(
                kind="fit_resample",
                sampling="sass",
                batch=512,
                ratio=float(ratio),
                n_steps=args.n_steps,
                data=data,
                n_total=n_train * (ratio + 1),
            )
        )
        # ClassicAugmenter.fit_resample: blocks of 4096, and one block for all (the old way)
        for batch in (4096, n_train * (ratio + 1)):
            plan.append(
                dict(
                    kind="classic",
                    sampling="",
                    batch=batch,
                    ratio=float(ratio),
                    data=data,
                    n_total=n_train * (ratio + 1),
                )
            )
        for n, chunk in ((args.n_features // 10, 10_000), (args.n_features, 10_000)):
            plan.append(dict(kind="features", n=n, chunk=chunk))
        for cfg in plan:
            cfg.setdefault("model", model)
            row = run_child(cfg)
            print(
                f"{row['kind']:>13} {row.get('sampling', ''):>5} "
                f"n={row.get('n_total', row.get('n')):>9,} batch={row.get('batch', row.get('chunk'))}: "
                f"result {row['result_mb']:7.0f} MB, peak +{row['peak_increase_mb']:7.0f} MB, "
                f"overhead {row['overhead_mb']:6.0f} MB, {row['wall_s']:.1f} s",
                flush=True,
            )
            row.pop("model", None)
            row.pop("data", None)
            rows.append(row)
    report = dict(
        machine=f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
        n_classes=n_classes,
        n_train=n_train,
        window_shape=list(shape),
        rows=rows,
        total_s=time.perf_counter() - t_start,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_memory.json").write_text(json.dumps(report, indent=2))
    (out / "bench_memory.md").write_text(markdown(report))
    print(f"wrote {out / 'bench_memory.md'}")


def compare_filter(args):
    """The confidence filter's memory, this tree against ``--compare-tree``, side by side."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_classes, _, _ = fit_model(tmp, args.n_steps)
        for n in args.filter_n:
            for name, tree in (("other", args.compare_tree), ("this", None)):
                cfg = dict(
                    kind="generate",
                    sampling="sass",
                    batch=512,
                    n_per_class=max(1, n // n_classes),
                    threshold=args.filter_threshold,
                    model=str(tmp / "model.pt"),
                )
                row = run_child(cfg, tree)
                row.pop("model")
                rows.append({"tree": name, "n": n, **row})
                print(json.dumps(rows[-1]), flush=True)
    lines = [
        "# Peak memory of the SASS confidence filter: this tree against another, side by side",
        "",
        f"`python benchmarks/bench_memory.py --compare-tree {args.compare_tree} --filter-n "
        f"{' '.join(map(str, args.filter_n))} --filter-threshold {args.filter_threshold:g}`; "
        "one fresh process per row, in the order listed; overhead = peak-RSS increase minus "
        "the returned arrays.",
        "",
        "| tree | windows asked | acceptance | result (MB) | overhead (MB) | wall (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['tree']} | {r['n']:,} | {r['acceptance']:.2f} | {r['result_mb']:.1f} | "
            f"{r['overhead_mb']:.0f} | {r['wall_s']:.0f} |"
        )
    return _write_report(args.out, "bench_memory_filter", lines, rows)


def _write_report(out, stem, lines, rows):
    """``out/stem.md`` (the lines) and ``out/stem.json`` (the rows); returns the rows."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    (out / f"{stem}.json").write_text(json.dumps(rows, indent=2))
    return rows


def compare_fits(args):
    """Peak memory of the fits, this tree against ``--fit-compare-tree``, side by side."""
    rows = []
    for estimator in args.fit_estimators:
        for name, tree in (("other", args.fit_compare_tree), ("this", None)):
            row = run_child(dict(kind="fit", estimator=estimator, n=args.fit_n), tree)
            rows.append({"tree": name, **row})
            print(json.dumps(rows[-1]), flush=True)
    lines = [
        "# Peak memory of fitting: this tree against another, side by side",
        "",
        f"`python benchmarks/bench_memory.py --fit-compare-tree {args.fit_compare_tree} "
        f"--fit-n {args.fit_n}`; one fresh process per row, in the order listed. Each fit "
        "runs one encoder epoch and two diffusion steps on float32 windows of 8 x 52 samples "
        "(5 classes, 4 subjects), after a warm-up fit on 400 of them; *peak increase* is the "
        "growth of the process's peak RSS during the fit, also as a multiple of the data's "
        f"bytes. Other tree: commit {tree_commit(args.fit_compare_tree)}.",
        "",
        "| fit | tree | windows | data (MB) | peak increase (MB) | × data | wall (s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['estimator']}.fit | {r['tree']} | {r['n']:,} | {r['data_mb']:.0f} | "
            f"{r['peak_increase_mb']:.0f} | {r['peak_increase_mb'] / r['data_mb']:.1f} | "
            f"{r['wall_s']:.0f} |"
        )
    return _write_report(args.out, "bench_memory_fit", lines, rows)


if __name__ == "__main__":
    main()
