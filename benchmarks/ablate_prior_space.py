"""Does adapting the prior in its own data space help? One change at a time, paired.

``SASGAugmenter(prior=...)`` divides the target's windows by a per-channel scale before
its networks read them, as the prior's subjects were divided by their channel RMS.
Three arms of ``benchmarks/population.py`` on the same targets, seeds and cached prior:

- ``refit``: the encoder reads the target at its channel RMS; the generator refits its
  normalisation on the target's raw windows (the library before 28272e8);
- ``prior_space``: the generator is fine-tuned in the prior's data space at the target's
  channel RMS (``DiffusionGenerator.fit(init_gain=)``, 28272e8);
- ``class_mix``: both networks read the target at its channel RMS corrected for the mix
  of classes it recorded (``PopulationPrior.target_scale``, the library since then).

Each arm is the library with the later changes undone, so consecutive arms differ in one
thing; ``compare.md`` pairs ``refit`` with ``prior_space`` and ``compare_class_mix.md``
``prior_space`` with ``class_mix`` (``benchmarks/compare_population.py``). The methods
are the ones the changes touch (``sass_prior``, ``tl_sass_prior``) and their references
(``none``, ``tl``). A prior cached before ``class_power_`` existed has no class powers,
so ``class_mix`` needs a prior pretrained since (``--prior-cache`` of its own).

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

from semgaug_sk.augmentation import DiffusionGenerator, PopulationPrior  # noqa: E402
from semgaug_sk.preprocessing import channel_rms  # noqa: E402

ARMS = ("class_mix", "prior_space", "refit")
METHODS = ("none", "tl", "sass_prior", "tl_sass_prior")


@contextlib.contextmanager
def _patched(owner, name, replacement):
    original = getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, original)


def rms_scale():
    """``prior_space``: the target at its channel RMS, whatever classes it recorded."""
    return _patched(PopulationPrior, "target_scale", lambda self, X, y=None: channel_rms(X))


def refitted_normalisation():
    """``refit``: the generator fine-tuned with ``init_gain=None`` (and the RMS scale)."""
    fit = DiffusionGenerator.fit

    def without_gain(self, X, conditions, *, init=None, init_gain=None):
        return fit(self, X, conditions, init=init)

    stack = contextlib.ExitStack()
    stack.enter_context(rms_scale())
    stack.enter_context(_patched(DiffusionGenerator, "fit", without_gain))
    return stack


ARM_CONTEXTS = {
    "class_mix": contextlib.nullcontext,
    "prior_space": rms_scale,
    "refit": refitted_normalisation,
}


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
        with ARM_CONTEXTS[arm]():
            population.main(arm_argv(args, arm))
    # each change against the path before it: the earlier arm is the baseline
    for order, name in ((("refit", "prior_space"), "compare.md"),
                        (("prior_space", "class_mix"), "compare_class_mix.md")):  # fmt: skip
        logs = [args.out / arm / "population.jsonl" for arm in order]
        if all(log.is_file() for log in logs):
            compare_population.main(
                [*map(str, logs), "--labels", *order, "--out", str(args.out / name)]
            )


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
