"""Stochastic sampling against the smooth windows: DDIM's ``eta``, inner split.

The generator's windows are too smooth (within-window std 10-17% below the real
windows' on NinaPro DB1 and the Myo armband), and ``results/ablate_timestep_spacing``
showed that the deterministic solver's discretisation is not the cause: the trained
denoiser's x0 prediction at high noise is a posterior mean. Stochastic samplers re-inject
noise at every step and correct part of a denoiser's error (Karras et al. 2022); DDIM's
``eta`` spans deterministic (0) to DDPM's ancestral sampling (1). The library's default
is the deterministic second-order DPM-Solver++(2M), which takes no ``eta``, so the
variants change the sampler too; plain DDIM at ``eta=0`` separates the two changes:

- ``dpmpp`` (the default): ``sampler="dpmpp_2m"``, ``eta=0``;
- ``ddim``: ``sampler="ddim"``, ``eta=0``;
- ``ddim_eta_0.5`` and ``ddim_eta_1``: ``sampler="ddim"`` with ``eta`` 0.5 and 1.

All at the default 10 network passes. Per (subject, seed) one
:class:`~semgaug_sk.augmentation.SASGAugmenter` with the library's defaults (ratio 2) is
fitted on the first part of the inner split (``ablate_generator.inner_split``; the test
repetitions are never loaded), and ``ablate_sass_selection.run_unit`` draws the ratio's
windows per class for each variant from the same generator, encoder and generation seed,
through the confidence filter. LDA on hudgins features and
:class:`~semgaug_sk.classifiers.SpatioTemporalClassifier` are scored on the second part,
with the per-class fidelity.

Rule, fixed before any unit ran: the three-part rule of
``benchmarks/ablate_timestep_spacing.py`` against ``dpmpp`` (1. the admissible variant
with the best mean paired gain; 2. else a variant that loses nowhere beyond its seed sd
and raises the fraction of classes with RMS and std ratios within 0.9-1.1 by at least
0.10 on every data set; 3. else the default stays).

Usage::

    python benchmarks/ablate_eta.py --datasets db1 myo --subjects 3 --seeds 0 1 2 \\
        --out results/ablate_eta
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablate_sass_selection import one_change_intro  # noqa: E402
from ablate_timestep_spacing import three_part_rule  # noqa: E402

#: ``SASGAugmenter`` generation settings; each names both, since a variant's settings stay
#: on the sampler for the next one.
VARIANTS = {
    "dpmpp": lambda: {"sampler": "dpmpp_2m", "eta": 0.0},
    "ddim": lambda: {"sampler": "ddim", "eta": 0.0},
    "ddim_eta_0.5": lambda: {"sampler": "ddim", "eta": 0.5},
    "ddim_eta_1": lambda: {"sampler": "ddim", "eta": 1.0},
}
REFERENCE = "dpmpp"
RATIO = 2.0

TITLE = "# Stochastic sampling: DDIM's eta against the default solver, inner split"
INTRO = one_change_intro("ablate_eta", "the sampler and its `eta`")

#: ``choose_eta(units)`` gives ``(choice, rows, how)``: the pre-registered rule.
choose_eta, write_report, main = three_part_rule(
    name="ablate_eta",
    description=__doc__.split("\n")[0],
    variants=VARIANTS,
    reference=REFERENCE,
    title=TITLE,
    intro=INTRO,
    ratio=RATIO,
)


if __name__ == "__main__":
    main()
