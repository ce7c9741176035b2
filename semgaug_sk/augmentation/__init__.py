"""Window augmenters that follow imbalanced-learn's sampler contract.

- :class:`SASGAugmenter`: semantic-guided diffusion augmentation (SASG-DA: SRG, GMSS, SASS).
- :class:`ClassicAugmenter`: jitter, scaling, magnitude warp and time warp, for baselines.
- :class:`ComposedAugmenter`: classic transforms applied to another sampler's windows
  (e.g. classic ∘ SASS).
- The parts of SASG-DA: :class:`DiffusionGenerator` (conditions to windows),
  the condition samplers :class:`GMSS` and :class:`SASS`, and the skorch pieces
  :class:`DiffusionNet` and :class:`EMACallback`.
- :class:`PopulationPrior`: the encoder and the generator pretrained on many subjects,
  adapted to a target by ``SemanticEncoder(prior=)`` and ``SASGAugmenter(prior=)``.

Both return the real windows first and unchanged, followed by synthetic ones.
"""

from __future__ import annotations

import importlib

from .base import BaseWindowSampler, n_synthetic_per_class

_LAZY = {
    "SASGAugmenter": "semgaug_sk.augmentation.sasg",
    "ClassicAugmenter": "semgaug_sk.augmentation.classic",
    "ComposedAugmenter": "semgaug_sk.augmentation.compose",
    "DiffusionGenerator": "semgaug_sk.augmentation.generator",
    "PopulationPrior": "semgaug_sk.augmentation.prior",
    "GMSS": "semgaug_sk.augmentation.condition_sampling",
    "SASS": "semgaug_sk.augmentation.condition_sampling",
    "DiffusionNet": "semgaug_sk.augmentation.nets",
    "EMACallback": "semgaug_sk.augmentation.nets",
}

__all__ = [
    "BaseWindowSampler",
    "ClassicAugmenter",
    "ComposedAugmenter",
    "DiffusionGenerator",
    "DiffusionNet",
    "EMACallback",
    "GMSS",
    "PopulationPrior",
    "SASGAugmenter",
    "SASS",
    "n_synthetic_per_class",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'semgaug_sk.augmentation' has no attribute {name!r}")
