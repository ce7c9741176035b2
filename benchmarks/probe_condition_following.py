"""Does the generator follow its conditions? A probe of the semantic guide's reach into the windows.

Every condition-side lever measured so far (SASS's radius, diversity, rarity, mean
matching, the population's between-repetition spread) moved downstream accuracy by less
than the seed spread, and ``ablate_population_spread`` found that widening the conditions
by about 60% of their class covariance's trace made the windows only a little wider. This
probe asks the direct question: when the condition moves, does the window move with it?

For each (subject, seed), ``SASGAugmenter(random_state=seed)`` is fitted at the library's
defaults on the first part of the inner split (the test repetitions are never loaded).
Per class, five condition sets go through the fitted generator (its own
``generator_.sample``, no filter, no calibration), and the windows are embedded again with
the sampler's own encoder:

- ``real``: the training windows' own embeddings (``train_embeddings_``), which the
  generator was trained on;
- ``held_out``: the embeddings of the held-out part's real windows: conditions of real
  windows that the generator never saw (on the data's manifold, unlike Gaussian draws,
  which also spread into directions no window takes);
- ``gmss``: as many draws from the class Gaussians (:class:`GMSS`);
- ``gmss_x2``: the same draws, twice as far from the class mean;
- ``between``: as many points between two real embeddings of the class (two at random,
  a uniform fraction of the way from one to the other: SMOTE in the embedding), which
  stay nearer the data's manifold than Gaussian draws
  (``ablate_between_conditions.BetweenReal``).

Per class and set, with ``c`` the conditions and ``e`` the embeddings of their windows
(both centred on their class means):

- ``slope``: ``sum <e, c> / sum |c|^2``, how far a window moves along its condition's
  move (1: all the way; 0: not at all);
- ``retrieval``: the fraction of windows whose nearest condition of the class (in the
  embedding) is their own, against chance ``1 / n``;
- ``noise_ratio``: the spread between two windows of the same condition with different
  noise, over the spread of the conditions (how much of a window's variety the noise
  makes rather than the condition).

Medians over classes are reported per unit; the report gives mean ± sd over subjects of the
per-subject mean over seeds.

``--cond-noise`` sets the generator's conditioning augmentation (``cond_noise``), which
trains the generator on conditions blurred by Gaussian noise: does it make the generator
follow conditions it never saw?

Usage::

    python benchmarks/probe_condition_following.py --datasets db1 myo --subjects 3 \\
        --seeds 0 1 2 --out results/probe_condition_following
    python benchmarks/probe_condition_following.py --datasets db1 myo --subjects 3 \\
        --seeds 0 1 2 --cond-noise 0.25 --out results/probe_condition_following_noise_0.25
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_between_conditions import BetweenReal  # noqa: E402
from ablate_generator import ablation_main, inner_split  # noqa: E402
from protocols import subject_names  # noqa: E402

from semgaug_sk.augmentation import GMSS, SASGAugmenter  # noqa: E402

SETS = ("real", "held_out", "gmss", "gmss_x2", "between")
MEASURES = ("slope", "retrieval", "chance", "noise_ratio")
#: Constructor overrides (empty: the library's defaults); the tests shrink them.
SIZES: dict = {"sasg": {}}


def following(conditions, embeddings, again, labels):
    """Median over classes of ``slope``, ``retrieval``, ``chance`` and ``noise_ratio``.

    Parameters
    ----------
    conditions : ndarray of shape (n, d)
    embeddings, again : ndarray of shape (n, d)
        Embeddings of the windows made from ``conditions``, with two noise draws.
    labels : ndarray of shape (n,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> c = rng.normal(size=(40, 3)); y = np.repeat([0, 1], 20)
    >>> out = following(c, c, c, y)  # windows that land on their conditions
    >>> out["slope"], out["retrieval"], out["noise_ratio"]
    (1.0, 1.0, 0.0)
    """
    out = {m: [] for m in MEASURES}
    for label in np.unique(labels):
        rows = labels == label
        c = conditions[rows] - conditions[rows].mean(axis=0)
        e = embeddings[rows] - embeddings[rows].mean(axis=0)
        moved = float(np.sum(c * c))
        out["slope"].append(float(np.sum(e * c)) / moved)
        # distance of each window's embedding to every condition of its class
        gaps = np.linalg.norm(embeddings[rows][:, None] - conditions[rows][None], axis=2)
        out["retrieval"].append(float(np.mean(np.argmin(gaps, axis=1) == np.arange(len(c)))))
        out["chance"].append(1.0 / len(c))
        noise = float(np.sum((embeddings[rows] - again[rows]) ** 2)) / 2
        out["noise_ratio"].append(noise / moved)
    return {m: float(np.median(v)) for m, v in out.items()}


def run_unit(dataset, subject, seed, cut="auto", cond_noise=None):
    """One (subject, seed): the measures of each condition set; ``cond_noise`` is passed
    to the sampler (None: the library's default)."""
    torch.set_num_threads(1)
    fit, held_out = inner_split(dataset, subject, cut=cut)
    start = time.perf_counter()
    params = (
        dict(SIZES["sasg"]) if cond_noise is None else {**SIZES["sasg"], "cond_noise": cond_noise}
    )
    aug = SASGAugmenter(random_state=seed, **params).fit(fit.X, fit.y)
    fit_seconds = time.perf_counter() - start
    labels = aug.classes_[np.searchsorted(aug.classes_, fit.y)]
    real = aug.train_embeddings_
    rng = np.random.default_rng(seed)
    counts = {c: int(np.sum(labels == c)) for c in aug.classes_.tolist()}
    drawn, drawn_labels = GMSS().fit(real, labels).sample(counts, rng)
    means = {c: real[labels == c].mean(axis=0) for c in aug.classes_.tolist()}
    centre = np.stack([means[c] for c in drawn_labels.tolist()])
    sets = {
        "real": (real, labels),
        "held_out": (aug.encoder_.transform(held_out.X), held_out.y),
        "gmss": (drawn, drawn_labels),
        "gmss_x2": (centre + 2 * (drawn - centre), drawn_labels),
        # its own stream: the other sets stay the draws of the runs made before it existed
        "between": BetweenReal().fit(real, labels).sample(counts, np.random.default_rng([seed, 1])),
    }
    result = {}
    for name, (conditions, y) in sets.items():
        model = ((conditions - aug.cond_mean_) / aug.cond_scale_).astype(np.float32)
        windows = [aug.generator_.sample(model, random_state=s) for s in (seed, seed + 1000)]
        embedded = [aug.encoder_.transform(w) for w in windows]
        result[name] = following(conditions, *embedded, y)
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "n_fit_windows": len(fit.X),
        "cond_noise": aug.get_params()["cond_noise"],
        "following": result,
        "fit_seconds": round(fit_seconds, 1),
    }


def write_report(units, path):
    lines = [
        "# Does the generator follow its conditions? (inner split)",
        "",
        "`python benchmarks/probe_condition_following.py`: `SASGAugmenter` at the library's "
        "defaults fitted on the first part of the inner split; windows generated from five "
        "condition sets and embedded again with the sampler's own encoder. Slope: how far a "
        "window moves along its condition's move from the class mean (1: all the way). "
        "Retrieval: windows whose nearest condition of the class is their own (chance in "
        "brackets). Noise ratio: spread between two noise draws of one condition over the "
        "conditions' spread. Median over classes, then mean ± sd over subjects of the "
        "per-subject mean over seeds.",
        "",
        f"cond_noise: {sorted({u.get('cond_noise') for u in units}, key=str)}.",
        "",
        "| dataset | subjects × seeds | conditions | slope | retrieval (chance) | noise ratio |",
        "|---|---|---|---:|---:|---:|",
    ]
    for dataset in sorted({u["dataset"] for u in units}):
        mine = [u for u in units if u["dataset"] == dataset]
        subjects = sorted({u["subject"] for u in mine})
        size = f"{len(subjects)} × {len({u['seed'] for u in mine})}"
        for name in SETS:
            cells = {}
            for m in MEASURES:
                per = [
                    np.mean([u["following"][name][m] for u in mine if u["subject"] == s])
                    for s in subjects
                ]
                sd = np.std(per, ddof=1) if len(per) > 1 else 0.0
                cells[m] = (float(np.mean(per)), float(sd))
            lines.append(
                f"| {dataset} | {size} | {name} | {cells['slope'][0]:.2f} ± {cells['slope'][1]:.2f}"
                f" | {cells['retrieval'][0]:.2f} ± {cells['retrieval'][1]:.2f} "
                f"({cells['chance'][0]:.3f}) | {cells['noise_ratio'][0]:.2f} ± "
                f"{cells['noise_ratio'][1]:.2f} |"
            )
    Path(path).write_text("\n".join(lines + [""]))


def main(argv=None):
    ablation_main(
        sys.argv[1:] if argv is None else list(argv),
        description=__doc__.split("\n")[0],
        name="probe_condition_following",
        run=lambda args, dataset, subject, seed: run_unit(
            dataset, subject, seed, cut=args.inner_split, cond_noise=args.cond_noise
        ),
        write=write_report,
        subject_names=subject_names,
        datasets=("db1", "myo", "uci"),
        add_arguments=lambda parser: parser.add_argument(
            "--cond-noise",
            type=float,
            default=None,
            help="the generator's conditioning augmentation (default: the library's); "
            "write each value to its own --out",
        ),
        inner_splits=True,
    )


if __name__ == "__main__":
    main()
