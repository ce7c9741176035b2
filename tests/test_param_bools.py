"""A bool given for a numeric parameter is refused by name.

scikit-learn's ``Interval`` constraints count ``True`` as 1 and ``False`` as 0, so
``max_sequences=True`` trained on one sequence and ``quantize=True`` rounded to a grid
of 1.0, silently. Parameters that also accept bools (``verbose``) still do.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils._param_validation import Interval, InvalidParameterError

from semgaug_sk import (
    ClassicAugmenter,
    ConvTransformerClassifier,
    FeatureImitator,
    FINClassifier,
    SASGAugmenter,
    SemanticEncoder,
    SpatioTemporalClassifier,
)
from semgaug_sk.augmentation.compose import ComposedAugmenter
from semgaug_sk.augmentation.condition_sampling import GMSS, SASS
from semgaug_sk.augmentation.generator import DiffusionGenerator
from semgaug_sk.augmentation.prior import PopulationPrior
from semgaug_sk.utils.validation import refuse_bool_numbers

ESTIMATORS = [
    ClassicAugmenter,
    ComposedAugmenter,
    ConvTransformerClassifier,
    DiffusionGenerator,
    FeatureImitator,
    FINClassifier,
    GMSS,
    PopulationPrior,
    SASGAugmenter,
    SASS,
    SemanticEncoder,
    SpatioTemporalClassifier,
]


def _make(cls):
    return cls(ClassicAugmenter()) if cls is ComposedAugmenter else cls()


def _numeric_params(cls):
    params = _make(cls).get_params(deep=False)
    return [
        name
        for name, constraints in cls._parameter_constraints.items()
        if name in params
        and isinstance(constraints, list)
        and "boolean" not in constraints
        and any(isinstance(c, Interval) for c in constraints)
    ]


CASES = [(cls, name) for cls in ESTIMATORS for name in _numeric_params(cls)]


@pytest.mark.parametrize("value", [True, False, np.True_])
@pytest.mark.parametrize(("cls", "name"), CASES, ids=[f"{c.__name__}.{n}" for c, n in CASES])
def test_a_bool_for_a_numeric_parameter_is_refused_by_name(cls, name, value):
    est = _make(cls).set_params(**{name: value})
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of {cls.__name__}"):
        est._validate_params()


def test_every_library_estimator_checks_and_bool_parameters_still_take_bools():
    assert len(CASES) > 100
    for cls in ESTIMATORS:
        est = _make(cls)
        est._validate_params()  # the defaults pass
        refuse_bool_numbers(est)
    SemanticEncoder(verbose=True)._validate_params()
    FeatureImitator(bidirectional=False, entropy_density=True)._validate_params()


def test_fit_refuses_a_bool_count_before_training():
    X = np.random.default_rng(0).normal(size=(20, 2, 20)).astype(np.float32)
    with pytest.raises(InvalidParameterError, match="'max_sequences' parameter .* not a bool"):
        FeatureImitator(max_sequences=True).fit(X)
    y = np.repeat([0, 1], 10)
    with pytest.raises(InvalidParameterError, match="'quantize' parameter of ClassicAugmenter"):
        ClassicAugmenter(quantize=True).fit_resample(X, y)
