"""semgaug_sk: scikit-learn compatible sEMG features, LSTM-FIN feature imitation and
semantic-guided diffusion augmentation (SASG-DA).

Public names are imported lazily, so ``import semgaug_sk`` (and the ``semgaug``
command's ``--help``) stays fast and does not import torch until a torch-backed
estimator is used.

Examples
--------
>>> from semgaug_sk import EMGFeatures
>>> EMGFeatures(features="hudgins").features
'hudgins'
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "EMGFeatures": "semgaug_sk.features",
    "FeatureImitator": "semgaug_sk.imitation",
    "FINClassifier": "semgaug_sk.imitation",
    "SemanticEncoder": "semgaug_sk.encoders",
    "SpatioTemporalClassifier": "semgaug_sk.classifiers",
    "ConvTransformerClassifier": "semgaug_sk.classifiers",
    "SASGAugmenter": "semgaug_sk.augmentation",
    "ClassicAugmenter": "semgaug_sk.augmentation",
    "WindowStandardizer": "semgaug_sk.preprocessing",
    "save_weights": "semgaug_sk.persistence",
    "load_weights": "semgaug_sk.persistence",
    "metrics": "semgaug_sk.metrics",
    "datasets": "semgaug_sk.datasets",
    "windows": "semgaug_sk.windows",
    "model_selection": "semgaug_sk.model_selection",
    "preprocessing": "semgaug_sk.preprocessing",
    "persistence": "semgaug_sk.persistence",
    "plotting": "semgaug_sk.plotting",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if _LAZY[name].endswith(name) else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'semgaug_sk' has no attribute {name!r}")


def __dir__():
    return __all__
