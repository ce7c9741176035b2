"""Does fine-tuning the prior's generator in the prior's data space help? One change, paired.

Since 28272e8, ``SASGAugmenter(prior=...)`` fine-tunes the generator on the target's
windows at their per-channel RMS, normalised with the prior's statistics
(``DiffusionGenerator.fit(init_gain=)``), the data space the prior was pretrained in.
Before, the generator refitted its normalisation on the target's raw windows. This runs
``benchmarks/population.py`` twice on the same targets, seeds and cached prior:

- ``prior_space``: the library as it is;
- ``refit``: the same code with the normalisation refitted on the target (the old path,
  restored by giving the fine-tuning no gain);

and pairs the two runs with ``benchmarks/compare_population.py`` (``compare.md``). The
methods are the ones the change touches (``sass_prior``, ``tl_sass_prior``) and their
references (``none``, ``tl``). The encoder, the prior and everything else are the same
in both arms.

Usage::

    python benchmarks/ablate_prior_space.py --dataset myo --regime one_rep \\
        --prior-cache /tmp/myo_prior.sgw --out results/ablate_prior_space
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare_population  # noqa: E402
import population  # noqa: E402

import semgaug_sk.augmentation.sasg as sasg  # noqa: E402

ARMS = ("prior_space", "refit")
METHODS = ("none", "tl", "sass_prior", "tl_sass_prior")


@contextlib.contextmanager
def refitted_normalisation():
    """The old path: ``SASGAugmenter`` fine-tunes its generator with ``init_gain=None``."""
    original = sasg.channel_rms
    sasg.channel_rms = lambda X: None  # the only use of channel_rms in sasg: the gain
    try:
        yield
    finally:
        sasg.channel_rms = original


def arm_argv(args, arm):
    """``population.py``'s command line for one arm."""
    argv = ["--dataset", args.dataset, "--regime", args.regime, "--seeds", *map(str, args.seeds)]
    argv += ["--methods", *METHODS, "--models", *args.models, "--out", str(args.out / arm)]
    if args.subjects:
        argv += ["--subjects", *args.subjects]
    else:
        argv += ["--targets", str(args.targets)]
    if args.prior_cache is not None:
        argv += ["--prior-cache", str(args.prior_cache)]
    return argv


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="myo", choices=["db1", "myo", "uci"])
    parser.add_argument("--regime", default="one_rep", choices=["low_data", "one_rep"])
    parser.add_argument("--targets", type=int, default=5)
    parser.add_argument("--subjects", nargs="+", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=["lda", "stc"])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--prior-cache", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("results/ablate_prior_space"))
    args = parser.parse_args(argv)
    for arm in args.arms:
        context = refitted_normalisation() if arm == "refit" else contextlib.nullcontext()
        with context:
            population.main(arm_argv(args, arm))
    # the old path is the baseline, the library's the candidate
    order = ("refit", "prior_space")
    logs = [args.out / arm / "population.jsonl" for arm in order]
    if all(log.is_file() for log in logs):
        compare_population.main(
            [*map(str, logs), "--labels", *order, "--out", str(args.out / "compare.md")]
        )


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
