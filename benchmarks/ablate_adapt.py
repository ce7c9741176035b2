"""How far should SASS adapt the population prior's generator? ``adapt_steps`` on an inner split.

``SASGAugmenter(prior=...)`` fine-tunes the prior's encoder on the target's windows,
conditions the prior's generator on the target's embeddings and fine-tunes the generator
for ``adapt_steps`` steps (75 by default, a budget set without a measurement). Fewer steps
keep more of the population's variation between people and repetitions in the synthetic
windows, and more of other people's quirks; more steps bring the generator towards one
trained on the target alone. ``benchmarks/population.py`` found SASS from the adapted
prior within the spread of no augmentation on DB1, Myo and UCI. This script measures, one
change at a time, whether another adaptation length is the better default.

For each target subject the prior is pretrained on other people only, exactly as in
``benchmarks/population.py`` (the same pool, seed and budget; ``--prior-cache-dir`` shares
its files: ``<dir>/<dataset>_prior[_<subject>].sgw``). The target's low-data training
windows are split by repetition (``ablate_generator.inner_split``: DB1 and UCI by
repetition, Myo's single cycle in time). Each variant's sampler is fitted on the first
part, and three models are trained on real + SASS windows and scored on the second part:
LDA (hudgins), STC, and the transfer-learning network (``SemanticEncoder(prior=)``, the
prior's encoder fine-tuned). ``none`` trains them on the real windows alone. The test
repetitions are never loaded.

Variants (``SASGAugmenter(prior=prior, adapt_steps=..., random_state=seed)``):

- ``adapt_10``;
- ``adapt_75``: the library's default (the reference);
- ``adapt_300``;
- ``adapt_1``, added after the three above had run (``--variants adapt_1``, merged into
  their units with the ``merge`` command): the nearest the API comes to adapting by conditioning
  alone, which the population issue asks to measure beside fine-tuning. One step of the
  prior's batch is two or three optimizer steps on these sets.

Rule, fixed before any unit was run: a variant replaces the reference if its mean paired
accuracy gain over it (mean over the (data set, model) cells of the per-cell mean over
subjects) exceeds the mean seed sd of those paired differences and no cell loses more
than its seed sd (``ablate_time_warp.rule_row``). Of the admissible variants the one with
the largest mean gain wins; with none, the default stays.

Usage::

    python benchmarks/ablate_adapt.py --datasets db1 myo uci --subjects 5 --seeds 0 1 2 \\
        --prior-cache-dir /tmp/priors
    python benchmarks/ablate_adapt.py --datasets myo --subjects 5 --only Male1 Male2  # a part
    python benchmarks/ablate_adapt.py --rerender
    python benchmarks/ablate_adapt.py --variants adapt_1 --out results/ablate_adapt_1 ...
    python benchmarks/ablate_adapt.py merge results/ablate_adapt results/ablate_adapt_1

Units go to ``results/ablate_adapt.jsonl`` as they finish (a rerun skips them); the
report ``results/ablate_adapt.md`` is rewritten from all of them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_generator import ablation_main, inner_split, inner_split_note  # noqa: E402
from ablate_time_warp import choose_by_accuracy, model_gains, none_cells, rule_table  # noqa: E402
from population import RATIO, build_prior, cached_prior, pool_windows  # noqa: E402
from protocols import read_jsonl, subject_names  # noqa: E402

from semgaug_sk.augmentation import SASGAugmenter  # noqa: E402
from semgaug_sk.classifiers import SpatioTemporalClassifier  # noqa: E402
from semgaug_sk.encoders import SemanticEncoder  # noqa: E402
from semgaug_sk.features import EMGFeatures  # noqa: E402
from semgaug_sk.metrics import fidelity_report  # noqa: E402
from semgaug_sk.utils.provenance import record_provenance  # noqa: E402

VARIANTS = {"adapt_1": 1, "adapt_10": 10, "adapt_75": 75, "adapt_300": 300}
REFERENCE = "adapt_75"
MODELS = ("lda", "stc", "tl")
#: Constructor overrides (empty: the library's defaults, as measured); the tests shrink them.
SIZES: dict = {
    "sasg": {},
    "stc": {"min_steps": None},
    "tl": {},
    "pool_windows": 600,
    "prior_steps": 1500,
}
#: One prior per target (DB1, UCI) or per data set (Myo: its pool is every target's).
_PRIORS: dict = {}


def prior_for(dataset, subject, cache_dir=None):
    """The population run's prior for ``subject`` (other people only), pretrained once."""
    key = (dataset,) if dataset == "myo" else (dataset, subject)
    if key not in _PRIORS:
        cache = None if cache_dir is None else Path(cache_dir) / f"{dataset}_prior.sgw"
        args = SimpleNamespace(dataset=dataset, prior_cache=cache, prior_steps=SIZES["prior_steps"])

        def pretrain():
            pool = pool_windows(dataset, subject, SIZES["pool_windows"], 0)
            return build_prior(*pool, seed=0, prior_steps=SIZES["prior_steps"])

        _PRIORS[key] = cached_prior(args, subject, pretrain)
    return _PRIORS[key]


def adapted_sampler(steps, prior, seed):
    """The library's sampler from ``prior``, adapted for ``steps`` generator steps."""
    return SASGAugmenter(  # 0.5: the library default when results/ablate_adapt was made
        prior=prior, adapt_steps=steps, ratio=RATIO, random_state=seed, **SIZES["sasg"]
    )


def run_unit(dataset, subject, seed, variants=None, cache_dir=None, cut="auto", make_sampler=None):
    """Inner-split accuracy of LDA, STC and TL on real windows alone and with each variant.

    ``variants`` maps a name to a spec that ``make_sampler(spec, prior, seed)`` turns into
    an unfitted sampler (default :func:`adapted_sampler`: the spec is ``adapt_steps``).
    """
    variants = VARIANTS if variants is None else variants
    make_sampler = adapted_sampler if make_sampler is None else make_sampler
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    prior = prior_for(dataset, subject, cache_dir)
    n = len(fit.X)
    feats = EMGFeatures("hudgins", fs=fit.fs).fit(fit.X)
    F_held = feats.transform(held_out.X)

    def score(model, X, y):
        if model == "lda":
            lda = LinearDiscriminantAnalysis().fit(feats.transform(X), y)
            return float(lda.score(F_held, held_out.y))
        record_provenance(X, n)  # real rows first, as the sampler returns them
        if model == "stc":
            net = SpatioTemporalClassifier(random_state=seed, **SIZES["stc"])
        else:
            net = SemanticEncoder(prior=prior, random_state=seed, **SIZES["tl"])
        return float(net.fit(X, y).score(held_out.X, held_out.y))

    accuracy = {m: {"none": score(m, fit.X, fit.y)} for m in MODELS}
    rms, std, acceptance, shortfall, seconds = {}, {}, {}, {}, {}
    for name, spec in variants.items():
        aug = make_sampler(spec, prior, seed)
        start = time.perf_counter()
        X_aug, y_aug = aug.fit_resample(fit.X, fit.y)
        seconds[name] = round(time.perf_counter() - start, 1)
        rms[name] = std[name] = float("nan")  # when the filter passed no window
        if len(y_aug) > n:
            report = fidelity_report(fit.X, X_aug[n:], fit.y, y_aug[n:])["per_class"].values()
            rms[name] = float(np.median([c["rms_ratio"] for c in report]))
            std[name] = float(np.median([c["std_ratio"] for c in report]))
        acceptance[name] = float(np.nanmean(list(aug.last_acceptance_.values())))
        shortfall[name] = int(sum(aug.last_shortfall_.values()))
        for m in MODELS:
            accuracy[m][name] = score(m, X_aug, y_aug)
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": n,
        "n_held_out_windows": len(held_out.X),
        "accuracy": accuracy,
        "rms_ratio": rms,
        "std_ratio": std,
        "acceptance": acceptance,
        "shortfall": shortfall,
        "fit_seconds": seconds,
    }


def choose_adapt_steps(units, variants=None):
    """The variant the pre-registered rule picks, with the table behind it.

    One cell per (data set, model): the per-cell mean over subjects of the paired gain over
    :data:`REFERENCE` and its mean seed sd.

    Returns
    -------
    choice : str
        A variant name, or :data:`REFERENCE`.
    rows : list of dict
        Per variant, as :func:`ablate_time_warp.rule_row` gives them.
    """
    names = VARIANTS if variants is None else variants
    return choose_by_accuracy(units, names, REFERENCE, models=MODELS)


def write_report(units, path):
    render_report(
        units,
        path,
        title="SASS from the population prior: how long to adapt its generator (inner split)",
        what="`python benchmarks/ablate_adapt.py`: `SASGAugmenter(prior=..., adapt_steps=...)`",
        all_variants=VARIANTS,
        reference=REFERENCE,
    )


def render_report(units, path, *, title, what, all_variants, reference):
    """The report of :func:`run_unit`'s units: a table per data set and the rule's choice."""
    variants = [v for v in all_variants if all(v in u["fit_seconds"] for u in units)]
    lines = [
        f"# {title}",
        "",
        f"{what} fitted "
        "on the first part of the inner split of the target's low-data training windows; LDA "
        "(hudgins), STC and TL (the prior's encoder fine-tuned) trained on real + SASS windows "
        "and scored on the second part (the test repetitions are never loaded); the prior saw "
        "other people only. Accuracy in %; gains in points over the real windows alone "
        "(`none`), mean ± sd over subjects of the per-subject mean over seeds (mean seed sd in "
        "brackets). RMS / std: median over classes of synthetic over real."
        + inner_split_note(units),
        "",
        "| dataset | subjects × seeds | SASS | RMS | std | acceptance | fit s | LDA | STC | TL |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        size = f"{len({u['subject'] for u in mine})} × {len({u['seed'] for u in mine})}"
        accuracies = none_cells(mine, dataset, MODELS)
        lines.append(f"| {dataset} | {size} | none (accuracy) | | | | | {' | '.join(accuracies)} |")
        for name in variants:
            rms, std, acceptance, seconds = (
                np.mean([u[key][name] for u in mine])
                for key in ("rms_ratio", "std_ratio", "acceptance", "fit_seconds")
            )
            gains = model_gains(mine, dataset, name, MODELS)
            lines.append(
                f"| {dataset} | {size} | {name} | {rms:.3f} | {std:.3f} | {acceptance:.2f} | "
                f"{seconds:.0f} | {' | '.join(gains)} |"
            )
    if reference not in variants:  # a part run for a later merge: no rule to apply
        Path(path).write_text("\n".join(lines + [""]))
        return
    choice, rows = choose_by_accuracy(units, variants, reference, models=MODELS)
    lines += [
        "",
        "## The pre-registered rule",
        "",
        f"A variant replaces `{reference}` if its mean paired gain over it (over the (data set, "
        "model) cells) exceeds the mean seed sd of those differences and no cell loses more "
        "than its seed sd.",
        "",
        *rule_table(rows),
        "",
        f"Choice: **{choice}**.",
        "",
    ]
    Path(path).write_text("\n".join(lines))


def merge_units(units, extra):
    """``units`` with the variants of ``extra`` (units of the same keys) added to each.

    The real-windows-alone accuracies of both must agree to the last digit (the runs are
    deterministic on CPU): otherwise the variants were not measured on the same footing.
    """
    by_key = {(u["dataset"], u["subject"], u["seed"]): u for u in extra}
    merged = []
    for unit in units:
        other = by_key.get((unit["dataset"], unit["subject"], unit["seed"]))
        if other is None:
            raise ValueError(
                f"merge: no unit for {unit['dataset']} {unit['subject']} "
                f"seed {unit['seed']} in the other run; run it first."
            )
        splits = {u.get("inner_split", "auto") for u in (unit, other)}
        if len(splits) > 1:
            raise ValueError(
                f"merge: {unit['dataset']} {unit['subject']} seed {unit['seed']} ran on inner "
                f"splits {sorted(splits)}; merge runs of one --inner-split."
            )
        unit = json.loads(json.dumps(unit))
        for model in MODELS:
            if unit["accuracy"][model]["none"] != other["accuracy"][model]["none"]:
                raise ValueError(
                    f"merge: {unit['dataset']} {unit['subject']} seed {unit['seed']}: {model} on "
                    "real windows alone differs between the runs; they cannot be merged."
                )
        for key, value in other.items():
            if isinstance(value, dict):
                for inner, v in value.items():
                    if isinstance(v, dict):
                        unit[key][inner].update(v)
                    else:
                        unit[key][inner] = v
        merged.append(unit)
    return merged


def _merge_main(argv):
    parser = argparse.ArgumentParser(description="add another run's variants to a run's units")
    parser.add_argument("into", type=Path, help="--out folder of the run to extend")
    parser.add_argument("other", type=Path, help="--out folder of the run with more variants")
    args = parser.parse_args(argv)
    log = args.into / "ablate_adapt.jsonl"
    units = merge_units(read_jsonl(log), read_jsonl(args.other / "ablate_adapt.jsonl"))
    log.write_text("".join(json.dumps(u) + "\n" for u in units))
    write_report(units, args.into / "ablate_adapt.md")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["merge"]:
        return _merge_main(argv[1:])
    adapt_cli(
        argv,
        name="ablate_adapt",
        description=__doc__.split("\n")[0],
        variants=VARIANTS,
        default_variants=["adapt_10", "adapt_75", "adapt_300"],
        make_sampler=adapted_sampler,
        write=write_report,
    )


def adapt_cli(argv, *, name, description, variants, default_variants, make_sampler, write):
    """The command line of an ablation of :func:`run_unit`'s units (``--variants``,
    ``--prior-cache-dir`` and the shared ``--datasets --subjects --seeds --out``)."""

    def add_arguments(parser):
        parser.add_argument(
            "--prior-cache-dir",
            type=Path,
            default=None,
            help="read each prior from here, or pretrain it and save it here",
        )
        parser.add_argument(
            "--variants",
            nargs="+",
            default=list(default_variants),
            choices=list(variants),
            help=f"the variants of each unit (default: {' '.join(default_variants)})",
        )

    ablation_main(
        argv,
        description=description,
        name=name,
        run=lambda args, dataset, subject, seed: run_unit(
            dataset,
            subject,
            seed,
            variants={v: variants[v] for v in args.variants},
            cache_dir=args.prior_cache_dir,
            cut=args.inner_split,
            make_sampler=make_sampler,
        ),
        write=write,
        subject_names=subject_names,
        datasets=("db1", "myo", "uci"),
        add_arguments=add_arguments,
        inner_splits=True,
    )


if __name__ == "__main__":
    main()
