"""Window augmenters that follow imbalanced-learn's sampler contract.

- :class:`SASGAugmenter`: semantic-guided diffusion augmentation (SASG-DA: SRG, GMSS, SASS).
- :class:`ClassicAugmenter`: jitter, scaling, magnitude warp and time warp, for baselines.

Both return the real windows first and unchanged, followed by synthetic ones.
"""

from __future__ import annotations

import importlib

from .base import BaseWindowSampler, n_synthetic_per_class

_LAZY = {
    "SASGAugmenter": "semgaug_sk.augmentation.sasg",
    "ClassicAugmenter": "semgaug_sk.augmentation.classic",
}

__all__ = ["BaseWindowSampler", "ClassicAugmenter", "SASGAugmenter", "n_synthetic_per_class"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'semgaug_sk.augmentation' has no attribute {name!r}")
