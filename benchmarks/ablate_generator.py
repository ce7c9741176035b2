"""Generator ablation on an inner split of the training repetitions: which defaults are faithful?

For each subject of the low-data protocol (``benchmarks/protocols.py``) the *training*
repetitions are split once more: the diffusion generator trains on the first training
repetition (DB1: repetition 1; Myo: cycle 0, first half of each gesture; UCI: repetition
1) and its windows are compared with the real windows of the other one. The test
repetitions are never loaded.

Each variant changes ONE setting of :class:`~semgaug_sk.augmentation.DiffusionGenerator`
away from ``BASELINE``, the defaults when the ablation started (label conditions, so that
the generator alone is measured), for every seed; ``fast`` combines three cheap changes.
The variant ``default`` is that baseline. It reports, from :func:`semgaug_sk.metrics.fidelity_report` against the
held-out training repetition:

- the RMS ratio and the within-window-std ratio (worst class, and the fraction of classes
  inside 0.9-1.1), the log-PSD distance (dB, worst class);
- FID and coverage in the space of an *evaluation* network
  (:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier`, fitted on the generator's
  own training repetition with a seed of its own: never the guide);
- ``inner_gain``: accuracy of that network on the held-out repetition when trained on
  real + synthetic (2:1) windows, minus real only.

Usage::

    python benchmarks/ablate_generator.py --datasets db1 myo --subjects 3 --seeds 0 1 2
    python benchmarks/ablate_generator.py --variants default fourier_0 eta_1 --n-steps 1500
    python benchmarks/ablate_generator.py --rerender

Units go to ``results/ablate_generator.jsonl`` as they finish (a rerun skips them); the
table ``results/ablate_generator.md`` is rewritten from all of them.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocols import code_version, read_jsonl, subject_names, subject_split  # noqa: E402

from semgaug_sk import metrics  # noqa: E402
from semgaug_sk.augmentation import DiffusionGenerator  # noqa: E402
from semgaug_sk.augmentation.generator_settings import GENERATION_PARAMS  # noqa: E402
from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402
from semgaug_sk.model_selection import select_windows  # noqa: E402

#: The reference recipe every variant changes: the DiffusionGenerator defaults when this
#: ablation started, pinned so that the stored units stay comparable when the defaults move.
BASELINE = {"n_steps": 3000, "batch_size": 64, "lr": 1e-3, "channel_mults": (1, 2, 2)}
BASELINE["n_sampling_steps"] = 25
BASELINE["sampler"] = "ddim"  # the solver of that time; the library default moved since

#: One change at a time away from the baseline (name -> DiffusionGenerator parameters).
VARIANTS = {
    "real": None,  # reference: the training repetition itself in place of synthetic windows
    "default": {},
    "steps_1000": {"n_steps": 1000},
    "steps_6000": {"n_steps": 6000},
    # the same windows seen as the default in 4x fewer, 4x larger batches (lr x2, sqrt scaling)
    "batch_256": {"n_steps": 750, "batch_size": 256, "lr": 2e-3},
    "mults_1": {"channel_mults": (1, 1, 1)},  # every level as wide as the first
    # Sets smaller than a batch of 256 (Myo and UCI inner splits: 168 and ~100 windows): each
    # step is one full pass. 750 full passes at lr 2e-3 (what batch_256 ran before the
    # generator counted its budget in windows seen) against the baseline's windows seen
    # (3000 x 64) in full passes: the defaults' behaviour since.
    "full_pass_750": {"n_steps": 750, "batch_size": "all", "lr": 2e-3},
    "full_pass_seen": {"windows_seen": 3000 * 64, "batch_size": "all", "lr": 2e-3},
    # two of the cheap changes together (batch_256, ddim_10), full width
    "batch_256_ddim_10": {
        "n_steps": 750,
        "batch_size": 256,
        "lr": 2e-3,
        "sampler": "ddim",
        "n_sampling_steps": 10,
    },
    # the three cheap changes together (batch_256, mults_1, ddim_10): a candidate default
    "fast": {
        "n_steps": 750,
        "batch_size": 256,
        "lr": 2e-3,
        "channel_mults": (1, 1, 1),
        "sampler": "ddim",
        "n_sampling_steps": 10,
    },
    "width_16": {"base_channels": 16},
    "width_24": {"base_channels": 24},
    "width_64": {"base_channels": 64},
    "ddim_5": {"sampler": "ddim", "n_sampling_steps": 5},
    "ddim_10": {"sampler": "ddim", "n_sampling_steps": 10},
    "ddim_50": {"sampler": "ddim", "n_sampling_steps": 50},
    "ddim_100": {"sampler": "ddim", "n_sampling_steps": 100},
    # DPM-Solver++(2M): second-order steps at one network pass each, as DDIM's
    "dpmpp_5": {"sampler": "dpmpp_2m", "n_sampling_steps": 5},
    "dpmpp_10": {"sampler": "dpmpp_2m", "n_sampling_steps": 10},
    "dpmpp_25": {"sampler": "dpmpp_2m", "n_sampling_steps": 25},
    "eta_0.5": {"sampler": "ddim", "eta": 0.5},
    "eta_1": {"sampler": "ddim", "eta": 1.0},
    "guidance_1.5": {"guidance_scale": 1.5},
    "fourier_0": {"fourier_weight": 0.0},
    "fourier_0.3": {"fourier_weight": 0.3},
    "cond_drop_0": {"cond_drop_prob": 0.0},
    "cond_drop_0.2": {"cond_drop_prob": 0.2},
    "nonneg_none": {"nonnegative": "none"},
    "nonneg_log": {"nonnegative": "log"},
    "pred_eps": {"prediction": "eps"},
    "pred_v": {"prediction": "v"},
}


#: How ``inner_split`` cuts: ``"auto"`` (DB1 and UCI by repetition, Myo in time) or
#: ``"time"`` (every data set in time, inside its first training repetition).
INNER_SPLITS = ("auto", "time")


def split_in_time(windows):
    """``(fit, held_out)``: each gesture's windows split in time, purged at the cut.

    The first half of each gesture's windows (by start) fits; the second half is held out
    without the windows that share samples with a fitting window of the same block (the
    windows overlap their neighbours).
    """
    first = np.zeros(len(windows.y), dtype=bool)
    purged = np.zeros(len(windows.y), dtype=bool)
    for c in np.unique(windows.y):
        rows = np.flatnonzero(windows.y == c)
        rows = rows[np.argsort(windows.start[rows], kind="stable")]
        fit, rest = rows[: len(rows) // 2], rows[len(rows) // 2 :]
        first[fit] = True
        # a held-out window starting before the end of a fitting window of its block
        for block in np.unique(windows.block[fit]):
            mine = fit[windows.block[fit] == block]
            end = windows.start[mine].max() + windows.window_samples
            purged[rest[(windows.block[rest] == block) & (windows.start[rest] < end)]] = True
    held_out = ~first & ~purged
    one_sided = sorted(set(windows.y[first].tolist()) ^ set(windows.y[held_out].tolist()))
    if one_sided:
        warnings.warn(
            f"split_in_time: class(es) {one_sided} have too few windows to appear on both "
            "sides of the cut (a class of one window is held out only; one of two overlapping "
            "windows fits only).",
            UserWarning,
            stacklevel=2,
        )
    return select_windows(windows, first), select_windows(windows, held_out)


def add_inner_split_argument(parser):
    """``--inner-split auto|time`` (see :func:`inner_split`)."""
    parser.add_argument(
        "--inner-split",
        choices=INNER_SPLITS,
        default="auto",
        help="'auto': DB1 and UCI by repetition, Myo in time (the committed runs); 'time': "
        "every data set in time inside its first training repetition (clean for the "
        "paper's regime too)",
    )


def check_one_inner_split(units, split, name, log):
    """Refuse to add units of inner split ``split`` to ``log`` when it holds another's.

    Units of another split would be taken as done and mixed into the report, so one
    ``--out`` folder holds one split; units from before the option count as ``"auto"``.
    """
    found = {u.get("inner_split", "auto") for u in units}
    if found - {split}:
        raise SystemExit(
            f"{name}: {log} holds units of --inner-split {', '.join(sorted(found))}, and this "
            f"run asks for {split}; pass another --out."
        )


def check_one_setting(units, field, value, flag, name, log):
    """Refuse to add units run with ``field == value`` to ``log`` when it holds others.

    A rerun takes the units it finds as done, and the paired tables pair on (subject,
    seed) alone, so one ``--out`` folder holds one value of each setting; units that did
    not record ``field`` are not compared.
    """
    found = {json.dumps(u[field]) for u in units if field in u} - {json.dumps(value)}
    if found:
        raise SystemExit(
            f"{name}: {log} holds units of {flag} {', '.join(sorted(found))}, and this run "
            f"asks for {json.dumps(value)}; pass another --out."
        )


def inner_split_note(units):
    """The report sentence naming a non-default inner split ("" for the committed "auto")."""
    splits = sorted({u.get("inner_split", "auto") for u in units})
    if splits == ["auto"]:
        return ""
    note = f" Inner split: {', '.join(splits)} (see `--inner-split`)."
    if splits == ["time"]:
        note += (
            " The first half in time of each gesture of the first training repetition fits and "
            "the second half is held out (purged where windows overlap), whatever the text above "
            "says of repetitions."
        )
    return note


def inner_split(dataset, subject, cut="auto", windows=None):
    """``(fit, held_out)``: the subject's low-data training windows split once more.

    ``cut="auto"`` (the split behind the committed ablations): DB1 and UCI by repetition,
    the first training repetition fits and the second is held out. Myo's low-data training
    set is one cycle, so each gesture's windows are split in time instead
    (:func:`split_in_time`). Runs before 2026-12-05 kept the held-out windows that share
    samples with a fitting window (14 of 168, 2 per gesture, on every Myo subject).

    ``cut="time"``: every data set is split in time inside its first training repetition,
    so the held-out part never reads repetition 2, which is a test repetition of the
    SASG-DA paper's regime on DB1 (train {1,3,4,6,8,9,10}, test {2,5,7}). A default chosen
    on this split is clean for both regimes.

    ``windows`` overrides the protocol's window geometry (see ``protocols.subject_split``).
    """
    if cut not in INNER_SPLITS:
        raise ValueError(f"inner_split: cut must be one of {INNER_SPLITS}; got {cut!r}.")
    train, _ = subject_split(dataset, subject, "low_data", windows=windows)
    if dataset == "myo":  # one cycle: split each gesture's windows in time
        return split_in_time(train)
    reps = np.unique(train.repetition)
    if cut == "time":
        return split_in_time(select_windows(train, train.repetition == reps[0]))
    return (
        select_windows(train, train.repetition == reps[0]),
        select_windows(train, train.repetition != reps[0]),
    )


def _fidelity(real, y_real, X_syn, y_syn, judge, prefix):
    report = metrics.fidelity_report(real, X_syn, y_real, y_syn, encoder=judge)
    rows = report["per_class"].values()
    within = [0.9 <= r["rms_ratio"] <= 1.1 and 0.9 <= r["std_ratio"] <= 1.1 for r in rows]
    out = {f"{prefix}worst_{k}": v for k, v in report["worst"].items()}
    out[f"{prefix}classes_within_10pct"] = float(np.mean(within))
    for key in ("rms_ratio", "std_ratio"):
        out[f"{prefix}median_{key}"] = float(np.median([r[key] for r in rows]))
    return out


def _resolve(params, n_windows):
    """Concrete generator parameters: ``batch_size="all"`` is one full pass per step, and
    ``windows_seen`` sets the steps that show the generator that many windows."""
    params = dict(params)
    if params.get("batch_size") == "all":
        params["batch_size"] = n_windows
    windows_seen = params.pop("windows_seen", None)
    if windows_seen is not None:
        params["n_steps"] = -(-windows_seen // params["batch_size"])
    return params


def baseline_params(baseline, n_steps=None):
    """The parameters every variant starts from.

    ``"pinned"``: :data:`BASELINE` (the defaults when the ablation started), with ``n_steps``
    if given. ``"library"``: the library's current :class:`DiffusionGenerator` defaults (no
    overrides), so that a variant measures a change to today's default.
    """
    if baseline == "library":
        return {} if n_steps is None else {"n_steps": n_steps}
    return {**BASELINE, "n_steps": BASELINE["n_steps"] if n_steps is None else n_steps}


def _generator(fit, codes, variant, seed, base, cache):
    """The variant's fitted generator; sampling-only variants reuse the default's fit."""
    params = _resolve({**base, **VARIANTS[variant]}, len(fit.X))
    if set(VARIANTS[variant]) <= set(GENERATION_PARAMS):
        if seed not in cache:
            cache[seed] = DiffusionGenerator(random_state=seed, **base).fit(fit.X, codes)
        # a shallow copy shares the trained net; its sampling parameters are its own
        return copy.copy(cache[seed]).set_params(**params)
    return DiffusionGenerator(random_state=seed, **params).fit(fit.X, codes)


def run_unit(fit, held_out, variant, seed, base, cache):
    """Fidelity of one generator against its training windows and the held-out repetition.

    ``variant="real"`` is the reference: the training repetition's own windows stand in for
    the synthetic ones, which shows how far two real repetitions are apart. ``cache`` keeps
    the default generator of each seed for the variants that change sampling only, and
    ``base`` is :func:`baseline_params`'s output.
    """
    judge = SpatioTemporalClassifier(random_state=1000 + seed, min_steps=None).fit(fit.X, fit.y)
    start = time.perf_counter()
    if variant == "real":
        X_syn, y_syn = fit.X, fit.y
    else:
        codes = np.unique(fit.y, return_inverse=True)[1]
        gen = _generator(fit, codes, variant, seed, base, cache)
        syn_codes = np.repeat(np.arange(codes.max() + 1), 2 * np.bincount(codes))
        X_syn = gen.sample(syn_codes, random_state=seed)
        y_syn = np.unique(fit.y)[syn_codes]
    fit_s = time.perf_counter() - start
    unit = _fidelity(held_out.X, held_out.y, X_syn, y_syn, judge, "")
    unit.update(_fidelity(fit.X, fit.y, X_syn, y_syn, judge, "train_"))
    if variant == "real":
        unit["inner_gain"] = 0.0
    else:
        real_only = judge.score(held_out.X, held_out.y)
        augmented = SpatioTemporalClassifier(random_state=1000 + seed, min_steps=None).fit(
            np.concatenate([fit.X, X_syn]), np.concatenate([fit.y, y_syn])
        )
        unit["inner_gain"] = float(augmented.score(held_out.X, held_out.y) - real_only)
    unit["fit_s"] = round(fit_s, 1)
    unit["n_fit_windows"] = len(fit.X)
    return unit


def run_pending(log, units, keys, run, on_unit):
    """Run ``run(dataset, subject, seed)`` for each key of ``keys`` that ``units`` lacks.

    Each result is appended to ``units`` and to the JSONL ``log`` as it finishes (so an
    interrupted run resumes where it stopped), and ``on_unit(units)`` follows it (e.g. to
    rewrite a report).
    """
    done = {(u["dataset"], u["subject"], u["seed"]) for u in units}
    code = code_version()
    for key in keys:
        if key in done:
            continue
        unit = run(*key)
        unit.setdefault("code", code)  # which commit measured it
        units.append(unit)
        with log.open("a") as fh:
            fh.write(json.dumps(unit) + "\n")
        print(json.dumps(unit), flush=True)
        on_unit(units)
    return units


def ablation_main(
    argv,
    *,
    description,
    name,
    run,
    write,
    subject_names,
    datasets,
    add_arguments=None,
    check_units=None,
    inner_splits=False,
):
    """The command line shared by the per-unit ablations (``--datasets --subjects --seeds``).

    ``run(args, dataset, subject, seed)`` measures one unit and ``write(units, path)``
    rewrites the report; units go to ``<out>/<name>.jsonl`` as they finish (a rerun skips
    them) and the report to ``<out>/<name>.md``. ``add_arguments(parser)`` adds
    script-specific options; ``check_units(args, units, log)`` may refuse, before a run
    (not a rerender), the units already in ``log``. With ``inner_splits``, the script takes
    ``--inner-split`` (``args.inner_split``, for ``run`` to pass to :func:`inner_split`) and
    one ``--out`` folder holds units of one split (:func:`check_one_inner_split`).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--datasets", nargs="+", default=list(datasets))
    parser.add_argument("--subjects", type=int, default=3, help="first N subjects per dataset")
    parser.add_argument(
        "--only", nargs="+", default=None, help="of those, only these (to split a run)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="results")
    parser.add_argument("--rerender", action="store_true", help="only rewrite the table")
    if add_arguments is not None:
        add_arguments(parser)
    if inner_splits:
        add_inner_split_argument(parser)
    args = parser.parse_args(argv)

    def write_named(units, path):
        write(units, path)
        note = inner_split_note(units)
        text = Path(path).read_text() if Path(path).is_file() else None
        if note and text is not None and "Inner split: " not in text:
            Path(path).write_text(text.rstrip("\n") + "\n\n" + note.strip() + "\n")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log, report = out / f"{name}.jsonl", out / f"{name}.md"
    units = read_jsonl(log)
    if inner_splits and not args.rerender:
        check_one_inner_split(units, args.inner_split, name, log)
    if check_units is not None and not args.rerender:
        check_units(args, units, log)
    if not args.rerender:
        keys = [
            (dataset, subject, seed)
            for dataset in args.datasets
            for subject in subject_names(dataset)[: args.subjects]
            for seed in args.seeds
            if args.only is None or subject in args.only
        ]

        def run_one(dataset, subject, seed):
            unit = run(args, dataset, subject, seed)
            if inner_splits:  # what check_one_inner_split reads back
                unit.setdefault("inner_split", args.inner_split)
            return unit

        run_pending(log, units, keys, run_one, lambda units: write_named(units, report))
    if units:
        write_named(units, report)
    return units


def write_report(out_dir):
    units, seen = [], set()
    for unit in read_jsonl(out_dir / "ablate_generator.jsonl"):  # the first of duplicated units
        key = (unit["dataset"], unit["subject"], unit["variant"], unit["seed"], unit["n_steps"])
        if key not in seen:
            seen.add(key)
            units.append(unit)
    keys = [
        "train_median_rms_ratio",
        "train_median_std_ratio",
        "train_worst_rms_ratio",
        "train_worst_std_ratio",
        "train_classes_within_10pct",
        "train_worst_log_psd_distance",
        "worst_rms_ratio",
        "worst_std_ratio",
        "classes_within_10pct",
        "worst_log_psd_distance",
        "worst_fid",
        "worst_coverage",
        "inner_gain",
        "fit_s",
    ]
    lines = [
        "# Generator ablation (inner split of the training repetitions)",
        "",
        "`python benchmarks/ablate_generator.py`: one setting changed at a time; the generator "
        "trains on one training repetition and is compared with the other (the test "
        "repetitions are never read). Mean over subjects and seeds. Worst = the class farthest from the real "
        "windows. `train_*`: against the generator's own training windows (fidelity); the others: "
        "against the held-out training repetition (generalisation). Row `real`: the training "
        "repetition itself in place of synthetic windows, i.e. how far two real repetitions are "
        "apart. Sampling-only variants (ddim, eta, guidance) resample the default's generator, so their fit_s is sampling time. inner_gain: accuracy gain (points) of an evaluation network trained on real + "
        "synthetic windows (2:1) over real only, on the held-out training repetition."
        + inner_split_note(units),
        "",
    ]
    if {u.get("baseline", "pinned") for u in units} == {"library"}:
        lines += [
            "Baseline (`--baseline library`): the library's DiffusionGenerator defaults at the "
            f"time of the run (commits {', '.join(sorted({u.get('code', '?') for u in units}))}); "
            "`default` is that generator and each variant changes one setting of it.",
            "",
        ]
    for dataset in sorted({u["dataset"] for u in units}):
        lines += [f"## {dataset}", "", "| variant | n | " + " | ".join(keys) + " |"]
        lines.append("|---|---:|" + "---:|" * len(keys))
        for variant in VARIANTS:
            mine = [u for u in units if u["dataset"] == dataset and u["variant"] == variant]
            if not mine:
                continue
            cells = []
            for k in keys:
                values = np.array([u.get(k, np.nan) for u in mine], dtype=float)
                scale = 100 if k == "inner_gain" else 1
                cells.append(f"{scale * np.nanmean(values):.3g}")
            lines.append(f"| {variant} | {len(mine)} | " + " | ".join(cells) + " |")
        lines.append("")
        lines += _paired_table(units, dataset)
        for variant, reference in PAIRED_AGAINST.items():
            if any(u["dataset"] == dataset and u["variant"] == variant for u in units):
                lines += _paired_table(units, dataset, reference, [variant])
        lines += _per_subject_table(units, dataset)
    lines += _rule_lines(units)
    (out_dir / "ablate_generator.md").write_text("\n".join(lines))


#: Sampling-only variants that may replace the default sampling (see :func:`choose_sampling`).
SAMPLING_CANDIDATES = ("ddim_10", "ddim_50", "ddim_100", "dpmpp_5", "dpmpp_10", "dpmpp_25")


def _network_passes(variant):
    params = {**DiffusionGenerator().get_params(), **VARIANTS[variant]}
    return params["n_sampling_steps"] * (2 if params["guidance_scale"] != 1.0 else 1)


def _choose_cheapest(units, candidates, cost):
    """The cheapest candidate that loses no fidelity against ``default`` (library baseline).

    Paired against ``default`` on the same (subject, seed) of the library baseline, a
    candidate is admissible if on every data set the mean change of the fraction of classes
    in the 10% band is >= 0, the mean changes of the median RMS and within-window-std ratios
    (against the generator's own training windows) are >= -0.01, and the mean worst-class
    FID ratio is <= 1.05. Among the admissible candidates the smallest ``cost(variant)``
    wins, ties broken by the larger gain in classes in band; with none admissible, the
    default stays.

    Returns
    -------
    choice : str
        A variant name, or ``"default"``.
    rows : list of dict
        Per candidate: ``cost``, ``admissible``, ``band`` (mean change over data sets) and
        the reasons it is not admissible.
    """
    units = [u for u in units if u.get("baseline") == "library"]
    datasets = sorted({u["dataset"] for u in units})
    rows = []
    for variant in candidates:
        reasons, band = ([] if datasets else ["no unit of the library baseline"]), []
        for dataset in datasets:
            reference = {
                (u["subject"], u["seed"]): u
                for u in units
                if (u["dataset"], u["variant"]) == (dataset, "default")
            }
            pairs = [
                (u, reference[u["subject"], u["seed"]])
                for u in units
                if (u["dataset"], u["variant"]) == (dataset, variant)
                and (u["subject"], u["seed"]) in reference
            ]
            if not pairs:
                reasons.append(f"{dataset}: not measured")
                continue

            def change(key, pairs=pairs):
                return float(np.mean([u[key] - b[key] for u, b in pairs]))

            band.append(change("train_classes_within_10pct"))
            if band[-1] < 0:
                reasons.append(f"{dataset}: classes in band {band[-1]:+.2f}")
            for key in ("train_median_rms_ratio", "train_median_std_ratio"):
                if change(key) < -0.01:
                    reasons.append(f"{dataset}: {key[6:]} {change(key):+.3f}")
            fid = float(np.mean([u["train_worst_fid"] / b["train_worst_fid"] for u, b in pairs]))
            if fid > 1.05:
                reasons.append(f"{dataset}: worst FID x{fid:.2f}")
        rows.append(
            {
                "variant": variant,
                "cost": cost(variant),
                "band": float(np.mean(band)) if band else float("nan"),
                "admissible": not reasons,
                "why": reasons,
            }
        )
    admissible = [row for row in rows if row["admissible"]]
    if not admissible:
        return "default", rows
    return min(admissible, key=lambda row: (row["cost"], -row["band"]))["variant"], rows


def choose_sampling(units):
    """The sampling the pre-registered rule picks among :data:`SAMPLING_CANDIDATES`.

    The rule (written before the units of ``--baseline library`` beyond Myo Female0 seed 0
    were read) is :func:`_choose_cheapest`'s, with the number of network passes per
    generated window as the cost (speed).

    Returns
    -------
    choice : str
        A variant name, or ``"default"``.
    rows : list of dict
        Per candidate: ``cost`` (network passes), ``admissible``, ``band`` and the reasons
        it is not admissible.
    """
    return _choose_cheapest(units, SAMPLING_CANDIDATES, _network_passes)


#: Narrower U-Nets that may replace the default width (see :func:`choose_width`).
WIDTH_CANDIDATES = ("width_16", "width_24")


def _base_channels(variant):
    return {**DiffusionGenerator().get_params(), **VARIANTS[variant]}["base_channels"]


def choose_width(units):
    """The U-Net width the pre-registered rule picks among :data:`WIDTH_CANDIDATES`.

    The rule (written before any width unit of ``--baseline library`` was run) is
    :func:`_choose_cheapest`'s, the sampling rule's, with ``base_channels`` as the cost:
    the narrowest width that loses no fidelity wins (a convolution's work grows with the
    square of the width).

    Returns
    -------
    choice : str
        A variant name, or ``"default"``.
    rows : list of dict
        Per candidate: ``cost`` (base channels), ``admissible``, ``band`` and the reasons
        it is not admissible.
    """
    return _choose_cheapest(units, WIDTH_CANDIDATES, _base_channels)


def _paragraphs(doc, n):
    """The first ``n`` paragraphs of a docstring, on one line each, joined by spaces."""
    return [" ".join(p.split()) for p in doc.split("\n\n")[:n]]


def _choice_lines(units, title, rule, candidates, cost_name):
    library = [u for u in units if u.get("baseline") == "library"]
    if not any(u["variant"] in candidates for u in library):
        return []
    choice, rows = rule(units)
    lines = [
        f"## {title}: the pre-registered choice",
        "",
        " ".join(_paragraphs(rule.__doc__, 2) + _paragraphs(_choose_cheapest.__doc__, 2)[1:]),
        "",
        f"| candidate | {cost_name} | Δ classes in band (mean over data sets) | admissible | why not |",
        "|---|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['variant']} | {row['cost']} | {row['band']:+.2f} | "
            f"{'yes' if row['admissible'] else 'no'} | {'; '.join(row['why'])} |"
        )
    return lines + ["", f"Choice: **{choice}**.", ""]


def _rule_lines(units):
    return _choice_lines(
        units, "Sampling", choose_sampling, SAMPLING_CANDIDATES, "network passes"
    ) + _choice_lines(units, "Width", choose_width, WIDTH_CANDIDATES, "base channels")


#: The paired table: each variant minus the baseline fitted on the same subject and seed.
PAIRED_KEYS = (
    "train_median_rms_ratio",
    "train_median_std_ratio",
    "train_classes_within_10pct",
    "worst_fid",
    "inner_gain",
)


#: Further paired comparisons (variant -> reference) besides each variant against ``default``.
PAIRED_AGAINST = {"full_pass_seen": "full_pass_750"}


def _paired_table(units, dataset, reference="default", variants=None):
    """Variants against ``reference`` on the same (subject, seed): mean ± sd of the differences.

    The train FID is a ratio (variant / reference), the rest are differences; a row covers
    only the (subject, seed) pairs where both exist, so rows of different subjects compare.
    """
    baseline = {
        (u["subject"], u["seed"]): u
        for u in units
        if u["dataset"] == dataset and u["variant"] == reference
    }
    head = " | ".join(f"Δ {k}" for k in PAIRED_KEYS)
    title = "the baseline" if reference == "default" else f"`{reference}`"
    lines = [
        f"### {dataset}, paired against {title} (same subject and seed; mean ± sd)",
        "",
        f"| variant | pairs | subjects | train_worst_fid ratio | {head} |",
        "|---|---:|---|---:|" + "---:|" * len(PAIRED_KEYS),
    ]
    for variant in variants or VARIANTS:
        if variant in ("real", reference):
            continue
        pairs = [
            (u, baseline[(u["subject"], u["seed"])])
            for u in units
            if u["dataset"] == dataset
            and u["variant"] == variant
            and (u["subject"], u["seed"]) in baseline
        ]
        if not pairs:
            continue

        def cell(values, scale=1.0):
            values = np.array(values, dtype=float) * scale
            values = values[np.isfinite(values)]
            if not len(values):
                return ""
            sd = f" ± {values.std(ddof=1):.2g}" if len(values) > 1 else ""
            return f"{values.mean():+.3g}{sd}"

        ratio = np.array([u["train_worst_fid"] / b["train_worst_fid"] for u, b in pairs])
        sd = f" ± {ratio.std(ddof=1):.2g}" if len(ratio) > 1 else ""
        cells = [f"{ratio.mean():.2f}{sd}"]
        for k in PAIRED_KEYS:
            scale = 100.0 if k == "inner_gain" else 1.0
            cells.append(cell([u.get(k, np.nan) - b.get(k, np.nan) for u, b in pairs], scale))
        subjects = ", ".join(sorted({u["subject"] for u, _ in pairs}))
        lines.append(f"| {variant} | {len(pairs)} | {subjects} | " + " | ".join(cells) + " |")
    return lines + [""]


#: The per-subject table: fidelity to the training windows and the inner gain.
PER_SUBJECT_KEYS = (
    "train_median_std_ratio",
    "train_worst_std_ratio",
    "train_classes_within_10pct",
    "train_worst_fid",
    "inner_gain",
)


def _per_subject_table(units, dataset):
    """Rows variant x subject, mean ± sd over seeds: differences within a subject are paired."""
    lines = [
        f"### {dataset}, per subject (mean ± sd over seeds)",
        "",
        "| variant | subject | seeds | " + " | ".join(PER_SUBJECT_KEYS) + " |",
        "|---|---|---:|" + "---:|" * len(PER_SUBJECT_KEYS),
    ]
    subjects = sorted({u["subject"] for u in units if u["dataset"] == dataset})
    for variant in VARIANTS:
        for subject in subjects:
            mine = [
                u
                for u in units
                if (u["dataset"], u["variant"], u["subject"]) == (dataset, variant, subject)
            ]
            if not mine:
                continue
            cells = []
            for k in PER_SUBJECT_KEYS:
                values = np.array([u.get(k, np.nan) for u in mine], dtype=float)
                values = values[np.isfinite(values)] * (100 if k == "inner_gain" else 1)
                sd = f" ± {values.std(ddof=1):.2g}" if len(values) > 1 else ""
                cells.append(f"{values.mean():.3g}{sd}" if len(values) else "")
            lines.append(f"| {variant} | {subject} | {len(mine)} | " + " | ".join(cells) + " |")
    return lines + [""]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["db1", "myo"])
    parser.add_argument("--subjects", type=int, default=3, help="the first N subjects")
    parser.add_argument("--subject-names", nargs="+", default=None, help="these subjects instead")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument(
        "--baseline",
        choices=["pinned", "library"],
        default="pinned",
        help="what variants change: the pinned BASELINE (the defaults when the ablation "
        "started) or the library's current defaults (use its own --out)",
    )
    parser.add_argument("--n-steps", type=int, default=None, help="training steps of 'default'")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--rerender", action="store_true")
    add_inner_split_argument(parser)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.rerender:
        torch.set_num_threads(1)
        log = args.out / "ablate_generator.jsonl"
        base = baseline_params(args.baseline, args.n_steps)
        n_steps = base.get("n_steps", DiffusionGenerator().n_steps)
        logged = read_jsonl(log)
        check_one_inner_split(logged, args.inner_split, "ablate_generator", log)
        check_one_setting(logged, "baseline", args.baseline, "--baseline", "ablate_generator", log)
        check_one_setting(logged, "n_steps", n_steps, "--n-steps", "ablate_generator", log)
        done = {(u["dataset"], u["subject"], u["variant"], u["seed"]) for u in logged}
        for dataset in args.datasets:
            names = args.subject_names or subject_names(dataset)[: args.subjects]
            for subject in names:
                fit, held_out = inner_split(dataset, subject, cut=args.inner_split)
                cache = {}
                # seed-major: an interrupted run leaves paired variants, not whole variants
                for seed in args.seeds:
                    for variant in args.variants:
                        if (dataset, subject, variant, seed) in done:
                            continue
                        unit = {"dataset": dataset, "subject": subject, "variant": variant}
                        unit.update(seed=seed, n_steps=n_steps, baseline=args.baseline)
                        unit["inner_split"] = args.inner_split
                        unit["code"] = code_version()
                        unit.update(run_unit(fit, held_out, variant, seed, base, cache))
                        with log.open("a") as fh:
                            fh.write(json.dumps(unit) + "\n")
                        print(json.dumps(unit), flush=True)
                write_report(args.out)
    write_report(args.out)


if __name__ == "__main__":
    main()
