"""Bad-input battery: every public entry point against every kind of bad input.

Each case states the entry point, the bad input, the exception type and a regex on the
message that names both the problem and the fix. Every case also checks that the
message comes from the library, not from numpy, torch or scikit-learn internals: it
names the estimator or function that raised it (``who``), or, for the metrics, whose
messages carry no prefix, a phrase of ours. scikit-learn's own parameter and
fitted-state checks (``InvalidParameterError``, ``NotFittedError``) are accepted where
their message names the estimator and the fix, as every scikit-learn user expects.

The command line is checked the same way: a one-line ``semgaug: error: ...`` on stderr,
exit status 2, and no traceback.

Models are tiny (one epoch, a few filters, two diffusion steps) and data are small random
arrays or the simulator with tiny settings, so the whole file runs in seconds.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import joblib
import numpy as np
import pytest
import scipy.io as sio
import torch
from _assertions import raises
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from semgaug_sk import (
    ClassicAugmenter,
    EMGFeatures,
    FeatureImitator,
    FINClassifier,
    SASGAugmenter,
    SemanticEncoder,
    SpatioTemporalClassifier,
)
from semgaug_sk import metrics as M
from semgaug_sk.augmentation import SASS, ComposedAugmenter
from semgaug_sk.cli import main
from semgaug_sk.datasets import (
    load_myo_armband,
    load_ninapro,
    load_uci_gestures,
    make_semg_gestures,
)
from semgaug_sk.model_selection import repetition_split, select_windows, subject_split
from semgaug_sk.persistence import load_weights, save_weights
from semgaug_sk.preprocessing import WindowStandardizer, bandpass, notch
from semgaug_sk.windows import sliding_windows

# -- tiny models and data ------------------------------------------------------------------
TINY_ENC = dict(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=1, validation_fraction=0)
TINY_IMI = dict(hidden_size=4, num_layers=1, max_epochs=1, validation_fraction=0)
TINY_FIN = dict(head_channels=(4, 4, 4), max_epochs=1, fine_tune_epochs=1, validation_fraction=0)
TINY_SASG = dict(
    n_steps=2,
    base_channels=8,
    channel_mults=(1,),
    n_cond_tokens=1,
    cond_token_dim=8,
    n_sampling_steps=2,
    sampling=SASS(n_steps=1),
    max_rounds=1,
    confidence_threshold=0.0,
    random_state=0,
)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((12, 2, 32)).astype(np.float32)
Y = np.repeat(np.array(["fist", "open", "pinch"]), 4)


def enc(**kw):
    return SemanticEncoder(**{**TINY_ENC, **kw})


def imi(**kw):
    return FeatureImitator(**{**TINY_IMI, **kw})


def fin(**kw):
    return FINClassifier(imi(), **{**TINY_FIN, **kw})


def sasg(**kw):
    return SASGAugmenter(enc(), **{**TINY_SASG, **kw})


def classic(**kw):
    return ClassicAugmenter(**{"random_state": 0, **kw})


def with_value(a, index, value):
    a = np.array(a, dtype=np.result_type(a, type(value)))
    a[index] = value
    return a


@pytest.fixture(scope="module")
def fitted():
    """Tiny fitted estimators, built on first use and shared by the module."""
    makers = {
        "SemanticEncoder": lambda: enc().fit(X, Y),
        "FeatureImitator": lambda: imi().fit(X),
        "FINClassifier": lambda: fin().fit(X, Y),
        "SASGAugmenter": lambda: sasg().fit(X, Y),
        "SASGAugmenter(label)": lambda: sasg(condition="label").fit(X, Y),
        "ClassicAugmenter": lambda: classic().fit(X, Y),
        "WindowStandardizer": lambda: WindowStandardizer().fit(X),
        "EMGFeatures": lambda: EMGFeatures().fit(X),
    }
    cache = {}

    def get(name):
        if name not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cache[name] = makers[name]()
        return cache[name]

    return get


# ==========================================================================================
# 1. Bad windows X at fit, for every estimator that takes windows
# ==========================================================================================
FIT = {
    "EMGFeatures": lambda X, y: EMGFeatures().fit_transform(X),
    "WindowStandardizer": lambda X, y: WindowStandardizer().fit(X),
    "FeatureImitator": lambda X, y: imi().fit(X),
    "FINClassifier": lambda X, y: fin().fit(X, y),
    "SemanticEncoder": lambda X, y: enc().fit(X, y),
    "SASGAugmenter": lambda X, y: sasg().fit_resample(X, y),
    "SASGAugmenter(label)": lambda X, y: sasg(condition="label").fit_resample(X, y),
    "ClassicAugmenter": lambda X, y: classic().fit_resample(X, y),
}
#: Entry points that read 2-D input as one-channel windows (scikit-learn transformers).
ACCEPT_2D = {"EMGFeatures", "WindowStandardizer"}

RAGGED = [[[0.0, 1.0, 2.0]], [[0.0, 1.0]]]
BAD_X = {
    # name: (X, y, exception, regex naming the problem and the fix)
    "nan": (with_value(X, (0, 0, 0), np.nan), Y, ValueError, r"1 NaN or infinite .*Drop the"),
    "inf": (with_value(X, (3, 1, 5), np.inf), Y, ValueError, r"1 NaN or infinite .*Drop the"),
    "empty": (X[:0], Y[:0], ValueError, r"0 window\(s\); at least 1 needed\. Pass a non-empty"),
    "4-d": (X[..., None], Y, ValueError, r"must be 3-D .*got 4-D .*X\[np\.newaxis\]"),
    "1-d": (X[0, 0], Y, ValueError, r"1-D array .*(X\[np\.newaxis\]|Reshape your data)"),
    "2-d": (X[:, 0], Y, ValueError, r"must be 3-D .*got 2-D .*sliding_windows"),
    "strings": (X.astype(str), Y, ValueError, r"non-numeric \(<U\d+\) dtype.*np\.asarray\(X"),
    "complex": (X.astype(complex), Y, ValueError, r"(?i)complex.*(np\.abs|\.real)"),
    "ragged": (RAGGED, Y[:2], ValueError, r"X is ragged.*np\.stack"),
    "none": (None, Y, ValueError, r"X is None; pass a window set"),
}


def _fit_x_cases():
    for bad, (Xb, yb, exc, match) in BAD_X.items():
        for name, fit in FIT.items():
            if bad == "2-d" and name in ACCEPT_2D:
                continue  # read as one-channel windows, by design
            who = name.split("(")[0]
            yield pytest.param(fit, Xb, yb, exc, match, who, id=f"{name}-{bad}")
    # object arrays of non-numbers
    Xo = np.full(X.shape, "a", dtype=object)
    for name, fit in FIT.items():
        exc, match = ValueError, r"non-numeric \(object\) dtype.*np\.asarray\(X"
        if name in ACCEPT_2D:  # the scikit-learn transformers: TypeError, as check_estimator wants
            exc, match = TypeError, r"object dtype holding non-numeric values.*np\.asarray"
        yield pytest.param(fit, Xo, Y, exc, match, name.split("(")[0], id=f"{name}-object")
    # windows of 1 sample: too short for the difference-based networks
    short = X[:, :, :1]
    match = r"1 sample\(s\); at least 2 needed\. Use a longer window_ms"
    for name in ("FeatureImitator", "FINClassifier"):
        yield pytest.param(FIT[name], short, Y, ValueError, match, name, id=f"{name}-1-sample")
    yield pytest.param(
        FIT["SemanticEncoder"],
        short,
        Y,
        ValueError,
        match,
        "SemanticEncoder",
        id="SemanticEncoder-1-sample",
    )
    # the sampler names itself and the way out (condition='label' would not help: the
    # diffusion generator needs 2 samples too, and said so as DiffusionGenerator)
    match = (
        r"SASGAugmenter: X windows have 1 sample\(s\), and the diffusion generator needs at least 2"
    )
    yield pytest.param(
        FIT["SASGAugmenter"],
        short,
        Y,
        ValueError,
        match,
        "SASGAugmenter",
        id="SASGAugmenter-1-sample",
    )


@pytest.mark.parametrize("fit, Xb, yb, exc, match, who", list(_fit_x_cases()))
def test_bad_windows_at_fit(fit, Xb, yb, exc, match, who):
    raises(lambda: fit(Xb, yb), exc, match, f"{who}:")


# ==========================================================================================
# 2. Bad labels y, for every estimator that takes labels
# ==========================================================================================
LABELLED = (
    "FINClassifier",
    "SemanticEncoder",
    "SASGAugmenter",
    "SASGAugmenter(label)",
    "ClassicAugmenter",
)
MIXED = np.array([1, "a"] * 6, dtype=object)
TUPLES = np.empty(12, dtype=object)
TUPLES[:] = [("fist", i % 2) for i in range(12)]
BAD_Y = {
    "short": (Y[:-1], r"mismatched lengths: 12 windows but 11 labels\. Pass one label per"),
    "none": (None, r"y is required: pass one label per window"),
    "2-d": (np.c_[Y, Y], r"y must be 1-D with one label per window; got shape \(12, 2\)"),
    "nan": (with_value(np.arange(12.0) % 3, 0, np.nan), r"NaN or infinite labels; drop those"),
    "complex": ((np.arange(12) % 3).astype(complex), r"complex dtype; labels must be integers"),
    "continuous": (np.linspace(0, 1, 12), r"looks continuous .*y\.astype\(int\)"),
    "codes": (
        np.array([1.0, 2.0, 3.5] * 4),
        r"such as 3\.5\).*y\.astype\(str\) \(astype\(int\) would merge 3\.5 into 3\)",
    ),
    "dates": (
        np.array(["2020-01-01", "2020-01-02"] * 6, dtype="datetime64[D]"),
        r"y holds datetime64\[D\] values \(dates or durations\).*y\.astype\(str\)",
    ),
    "mixed-types": (
        MIXED,
        r"labels of types \['int', 'str'\].*all integers, all bools or all strings",
    ),
    "tuples": (TUPLES, r"y holds tuple labels; a label must be one scalar .* Join compound"),
    "bytes": (np.array([b"fist", b"open"] * 6), r"y holds bytes labels.*label\.decode\(\)"),
    "bytes-objects": (
        np.array([b"fist", b"open"] * 6, dtype=object),
        r"y holds bytes labels.*label\.decode\(\)",
    ),
}
if hasattr(getattr(np, "dtypes", None), "StringDType"):  # numpy >= 2
    BAD_Y["string-dtype"] = (
        np.array(["fist", "open"] * 6, dtype=np.dtypes.StringDType()),
        r"StringDType.*y\.astype\(object\)",
    )


@pytest.mark.parametrize("name", LABELLED)
@pytest.mark.parametrize("bad", list(BAD_Y))
def test_bad_labels_at_fit(name, bad):
    yb, match = BAD_Y[bad]
    raises(lambda: FIT[name](X, yb), ValueError, match, name.split("(")[0] + ":")


def test_column_vector_labels_warn_like_scikit_learn_and_are_raveled():
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(
        DataConversionWarning,
        match=r"A column-vector y was passed .* by ClassicAugmenter.*y\.ravel\(\)",
    ):
        X_col, y_col = FIT["ClassicAugmenter"](X, Y[:, None])
    X_1d, y_1d = FIT["ClassicAugmenter"](X, Y)
    np.testing.assert_array_equal(y_col, y_1d)
    np.testing.assert_array_equal(X_col, X_1d)


@pytest.mark.parametrize(
    "name, match",
    [
        ("FINClassifier", r"y has 1 class\(es\); at least 2 needed\. Include windows of more"),
        ("SemanticEncoder", r"y has 1 class\(es\); at least 2 needed\. Include windows of more"),
        ("SASGAugmenter", r"needs at least 2 classes.*use condition='label'"),
    ],
)
def test_single_class_for_classifiers(name, match):
    raises(lambda: FIT[name](X, np.full(len(X), "fist")), ValueError, match, name)


@pytest.mark.parametrize("name", ["ClassicAugmenter", "SASGAugmenter(label)"])
def test_single_class_is_fine_for_label_free_samplers(name):
    X_res, y_res = FIT[name](X, np.full(len(X), "fist"))
    ratio = 2.0  # both samplers' default
    assert len(X_res) == len(X) + round(ratio * len(X)) and set(y_res) == {"fist"}


# ==========================================================================================
# 3. Classes smaller than k-NN / covariance estimates need: a warning, or our error
# ==========================================================================================
def test_sass_and_gmss_with_singleton_classes_warn_and_still_generate():
    y = np.array(["fist"] * 10 + ["open", "pinch"])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        X_res, y_res = sasg(ratio=2.0).fit_resample(X, y)
    messages = " | ".join(str(w.message) for w in record)
    # one warning names every single-window class
    assert "SASS: class(es) ['open', 'pinch'] have 1 window, too few for SASS" in messages
    assert "SASS: classes ['open', 'pinch'] have a single window" in messages
    assert len(X_res) == 3 * len(X) and set(y_res[len(X) :]) <= set(y)


def test_encoder_with_classes_too_small_to_hold_out_warns():
    y = np.array(["fist"] * 11 + ["open"])
    with pytest.warns(UserWarning, match=r"SemanticEncoder: validation_fraction=0.5 cannot hold"):
        enc(validation_fraction=0.5).fit(X, y)


def test_per_class_metrics_of_a_class_smaller_than_k_warn_nan():
    real = RNG.standard_normal((30, 3))
    y = np.r_[np.zeros(27, int), np.ones(3, int)]
    with pytest.warns(UserWarning, match=r"class 1 has 3 real .*k=5 needs at least 6"):
        res = M.evaluate_synthetic(real, real, y_real=y, y_syn=y, per_class=True)
    assert np.isnan(res["per_class"][1]["fid"])


# ==========================================================================================
# 4. Unfitted estimators used for transform / predict / generate
# ==========================================================================================
UNFITTED = [
    ("SemanticEncoder", lambda: enc(), ("predict", "predict_proba", "transform")),
    ("FeatureImitator", lambda: imi(), ("transform", "score", "r2_per_feature")),
    ("FINClassifier", lambda: fin(), ("predict", "predict_proba", "feature_maps")),
    ("WindowStandardizer", WindowStandardizer, ("transform", "inverse_transform")),
    ("SASGAugmenter", lambda: sasg(), ("generate", "sample_conditions")),
    ("ClassicAugmenter", lambda: classic(), ("generate",)),
]


@pytest.mark.parametrize(
    "name, make, method",
    [
        pytest.param(name, make, m, id=f"{name}.{m}")
        for name, make, methods in UNFITTED
        for m in methods
    ],
)
def test_unfitted_estimator(name, make, method):
    args = (3,) if method in ("generate", "sample_conditions") else (X,)
    raises(
        lambda: getattr(make(), method)(*args), NotFittedError, r"not fitted yet\. Call 'fit'", name
    )


@pytest.mark.parametrize("name, make", [("FeatureImitator", imi), ("EMGFeatures", EMGFeatures)])
def test_unfitted_feature_names(name, make):
    raises(lambda: make().get_feature_names_out(), NotFittedError, r"not fitted yet", name)


def test_emg_features_is_stateless_and_transforms_unfitted():
    assert EMGFeatures().transform(X).shape == (len(X), 2 * 4)


def test_integer_labels_in_an_object_array_are_integer_labels():
    # a pandas column of ints after dropping None is object dtype; scikit-learn calls it
    # "unknown", and the estimators used to refuse it as "not all integers"
    codes = np.unique(Y, return_inverse=True)[1].ravel()
    y_obj = np.array([int(c) for c in codes], dtype=object)
    X_res, y_res = classic().fit_resample(X, y_obj)
    assert y_res.dtype.kind == "i" and (y_res[: len(X)] == y_obj).all()
    for mixed in ([1, "a"], ["a", 1]):  # scikit-learn's type_of_target raises on the second
        raises(
            lambda mixed=mixed: classic().fit_resample(
                X, np.array(mixed * (len(X) // 2), dtype=object)
            ),
            ValueError,
            r"labels of types \['int', 'str'\] that cannot be sorted",
            "Classic",
        )


def test_bool_labels_in_an_object_array_are_bool_labels():
    # a pandas bool column after dropping None is object dtype too; it was refused as
    # labels "that cannot be sorted", with the advice y.astype(str), which changes them
    y_bool = np.arange(len(X)) % 2 == 0
    y_obj = np.array(y_bool.tolist(), dtype=object)
    X_res, y_res = classic().fit_resample(X, y_obj)
    assert y_res.dtype == bool and (y_res[: len(X)] == y_bool).all()
    clf = SpatioTemporalClassifier(max_epochs=1, min_steps=None, n_temporal=2, random_state=0)
    assert clf.fit(X, y_obj).classes_.tolist() == [False, True]
    raises(
        lambda: classic().fit_resample(X, np.array([True, 1.5] * (len(X) // 2), dtype=object)),
        ValueError,
        r"labels of types \['bool', 'float'\].*y.astype\(int\)",
        "Classic",
    )


def test_sampler_fitted_with_nothing_to_generate():
    aug = classic(ratio=0.0)
    aug.fit_resample(X, Y)
    raises(
        lambda: aug.generate(2), NotFittedError, r"no generator was trained.*Call fit", "Classic"
    )


def test_augment_after_a_fit_with_nothing_to_generate_does_not_use_the_earlier_fit():
    # fitted on envelopes (clipping at 0), then refitted with ratio=0 on raw windows: augment
    # used to clip the new windows with the earlier fit's settings, silently
    aug = classic().fit(np.abs(X), Y)
    aug.set_params(ratio=0.0).fit_resample(X, Y)
    raises(
        lambda: aug.augment(X, Y),
        NotFittedError,
        r"nothing to generate.*Call fit\(X, y\) before augment\(\)",
        "Classic",
    )


# ==========================================================================================
# 5. Fitted estimators given bad windows at transform / predict
# ==========================================================================================
PREDICT = {
    "SemanticEncoder": ("predict", "transform"),
    "FeatureImitator": ("transform", "score"),
    "FINClassifier": ("predict", "feature_maps"),
    "WindowStandardizer": ("transform",),
    "EMGFeatures": ("transform",),
}
BAD_AT_PREDICT = {
    "nan": (with_value(X, (1, 1, 1), np.nan), r"NaN or infinite value\(s\)\. Drop the"),
    "empty": (X[:0], r"0 window\(s\); at least 1 needed"),
    "complex": (X.astype(complex), r"(?i)complex.*(np\.abs|\.real)"),
    "channels": (X[:, :1], r"(fitted on|expecting) .*(refit|[Uu]se the (same )?channels)"),
}


@pytest.mark.parametrize(
    "name, method, bad",
    [
        pytest.param(name, m, bad, id=f"{name}.{m}-{bad}")
        for name, methods in PREDICT.items()
        for m in methods
        for bad in BAD_AT_PREDICT
    ],
)
def test_bad_windows_at_predict(fitted, name, method, bad):
    Xb, match = BAD_AT_PREDICT[bad]
    raises(lambda: getattr(fitted(name), method)(Xb), ValueError, match, name)


@pytest.mark.parametrize(
    "name, method",
    [
        ("SemanticEncoder", "predict"),
        ("FeatureImitator", "transform"),
        ("FINClassifier", "predict_proba"),
        ("EMGFeatures", "transform"),
    ],
)
def test_window_length_differs_from_fit(fitted, name, method):
    match = r"(fitted on|at fit).*(refit|window length)"
    raises(lambda: getattr(fitted(name), method)(X[:, :, :16]), ValueError, match, name)


# ==========================================================================================
# 6. Unseen labels and bad counts at generate
# ==========================================================================================
SAMPLERS = ("SASGAugmenter", "SASGAugmenter(label)", "ClassicAugmenter")
BAD_COUNTS = {
    "unseen-class": ({"wave": 2}, r"classes \['wave'\] were not seen at fit; choose among"),
    "negative": (-1, r"must be a non-negative integer; got -1"),
    "negative-in-dict": ({"fist": -2}, r"count for class 'fist' must be a non-negative integer"),
    "float": (2.5, r"must be a non-negative integer; got 2\.5"),
    "string": ("3", r"must be a non-negative integer; got '3'"),
    "list": ([1, 2], r"n_per_class must be an int \(windows per class\) or a dict"),
    "none": (None, r"n_per_class must be an int .*; got None \(NoneType\)"),
}


@pytest.mark.parametrize("name", SAMPLERS)
@pytest.mark.parametrize("bad", list(BAD_COUNTS))
def test_bad_counts_at_generate(fitted, name, bad):
    counts, match = BAD_COUNTS[bad]
    who = name.split("(")[0] + ".generate:"
    raises(lambda: fitted(name).generate(counts), ValueError, match, who)


def test_sample_conditions_unseen_class_and_label_condition(fitted):
    match = r"classes \['wave'\] were not seen at fit; choose among"
    raises(
        lambda: fitted("SASGAugmenter").sample_conditions({"wave": 2}), ValueError, match, "SASG"
    )
    match = r"condition='label' has no semantic conditions"
    raises(lambda: fitted("SASGAugmenter(label)").sample_conditions(2), ValueError, match, "SASG")


# ==========================================================================================
# 7. Invalid and contradictory parameters
# ==========================================================================================
PARAMS = [
    # (id, call, exception, regex, who)
    (
        "ratio-negative",
        lambda: classic(ratio=-1).fit_resample(X, Y),
        InvalidParameterError,
        r"'ratio' parameter of ClassicAugmenter must be a float in the range \[0\.0, inf\)",
        "ClassicAugmenter",
    ),
    (
        "ratio-negative-sasg",
        lambda: sasg(ratio=-0.5).fit(X, Y),
        InvalidParameterError,
        r"'ratio' parameter of SASGAugmenter must be",
        "SASGAugmenter",
    ),
    (
        "ratio-with-sampling_strategy",
        lambda: classic(ratio=1.0, sampling_strategy="auto").fit_resample(X, Y),
        ValueError,
        r"ratio=1\.0 and sampling_strategy='auto' were both given.*sampling_strategy=None",
        "ClassicAugmenter:",
    ),
    (
        "ratio-with-sampling_strategy-sasg",
        lambda: sasg(ratio=0.0, sampling_strategy={"fist": 8}).fit(X, Y),
        ValueError,
        r"both given, but sampling_strategy overrides ratio\. Pass one of them",
        "SASGAugmenter:",
    ),
    (
        "ratio-with-sampling_strategy-sasg-names-its-own-default",
        lambda: sasg(ratio=0.5, sampling_strategy="auto").fit(X, Y),
        ValueError,
        r"ratio=0\.5 and sampling_strategy='auto'.*leave ratio at its default \(2\.0\)",
        "SASGAugmenter:",
    ),
    (
        "sampling_strategy-float-multiclass",
        lambda: classic(sampling_strategy=0.5).fit_resample(X, Y),
        ValueError,
        r"sampling_strategy=0\.5 does not fit the classes .*float only .*binary.*Pass None",
        "ClassicAugmenter:",
    ),
    (
        "sampling_strategy-unseen-class",
        lambda: classic(sampling_strategy={"wave": 9}).fit_resample(X, Y),
        ValueError,
        r"does not fit the classes \['fist', 'open', 'pinch'\].*not present.*Pass None",
        "ClassicAugmenter:",
    ),
    (
        "sampling_strategy-below-real-count",
        lambda: classic(sampling_strategy={"fist": 1}).fit_resample(X, Y),
        ValueError,
        r"does not fit the classes.*totals at least the real counts",
        "ClassicAugmenter:",
    ),
    (
        "sampling_strategy-bad-callable",
        lambda: classic(sampling_strategy=lambda y: 3).fit_resample(X, Y),
        ValueError,
        r"does not fit the classes.*a dict \{class: total",
        "ClassicAugmenter:",
    ),
    (
        "refit_encoder-False-without-encoder",
        lambda: SASGAugmenter(refit_encoder=False, **TINY_SASG).fit(X, Y),
        ValueError,
        r"refit_encoder=False needs a fitted encoder; pass encoder=SemanticEncoder\(\.\.\.\)",
        "SASGAugmenter:",
    ),
    (
        "refit_encoder-False-unfitted-encoder",
        lambda: SASGAugmenter(enc(), refit_encoder=False, **TINY_SASG).fit(X, Y),
        NotFittedError,
        r"refit_encoder=False but the encoder SemanticEncoder is not fitted\. Fit it first.*"
        r"FrozenEstimator\(fitted_encoder\)",
        "SASGAugmenter:",
    ),
    (
        "nonnegative-log-on-raw-semg",
        lambda: sasg(nonnegative="log").fit(X, Y),
        ValueError,
        r"nonnegative='log' needs non-negative windows.*Use nonnegative='none' or 'clip'",
        "SASGAugmenter:",
    ),
    (
        "channel_mults-empty",
        lambda: sasg(channel_mults=()).fit(X, Y),
        ValueError,
        r"channel_mults must be a non-empty tuple of positive integers; got \(\)",
        "SASGAugmenter:",
    ),
    (
        "condition-unknown",
        lambda: sasg(condition="class").fit(X, Y),
        InvalidParameterError,
        r"'condition' parameter of SASGAugmenter must be a str among",
        "SASGAugmenter",
    ),
    (
        "n_steps-zero",
        lambda: sasg(n_steps=0).fit(X, Y),
        InvalidParameterError,
        r"'n_steps' parameter of SASGAugmenter must be an int in the range \[1, inf\)",
        "SASGAugmenter",
    ),
    (
        "device-unknown",
        lambda: sasg(device="tpu").fit(X, Y),
        ValueError,
        r"device='tpu' is not a valid torch device; use 'cpu', 'cuda', 'cuda:N' or 'auto'",
        "device='tpu'",
    ),
    (
        "device-meta",
        lambda: sasg(device="meta").fit(X, Y),
        ValueError,
        r"device='meta' holds no data, so nothing can be trained .*use 'cpu'",
        "device='meta'",
    ),
    (
        "classic-unknown-method",
        lambda: classic(methods=["mixup"]).fit(X, Y),
        ValueError,
        r"unknown method\(s\) \['mixup'\]; valid methods are 'time_warp'",
        "ClassicAugmenter:",
    ),
    (
        "classic-methods_per_window-too-large",
        lambda: classic(methods=["jitter"], methods_per_window=2).fit(X, Y),
        ValueError,
        r"methods_per_window=2 exceeds the 1 method\(s\) given; lower it or add methods",
        "ClassicAugmenter:",
    ),
    (
        "encoder-embedding_dim-zero",
        lambda: enc(embedding_dim=0).fit(X, Y),
        InvalidParameterError,
        r"'embedding_dim' parameter of SemanticEncoder must be an int in the range \[1, inf\)",
        "SemanticEncoder",
    ),
    (
        "encoder-module-not-a-module",
        lambda: enc(module=int).fit(X, Y),
        TypeError,
        r"module must be None, an nn\.Module instance or an nn\.Module subclass",
        "SemanticEncoder:",
    ),
    (
        "imitator-unknown-feature",
        lambda: imi(features=["rmss"]).fit(X),
        ValueError,
        r"Unknown feature 'rmss'\. Valid feature names: rms",
        "FeatureImitator:",
    ),
    (
        "imitator-all-zero-windows",
        lambda: imi().fit(np.zeros_like(X)),
        ValueError,
        r"X is identically zero; the imitator needs windows with signal",
        "FeatureImitator:",
    ),
    (
        "fin-imitator-not-an-imitator",
        lambda: FINClassifier(imitator="lstm").fit(X, Y),
        TypeError,
        r"imitator must be a FeatureImitator .* or None; got str",
        "FINClassifier:",
    ),
    (
        "features-unknown",
        lambda: EMGFeatures("rmss").fit_transform(X),
        ValueError,
        r"Unknown feature 'rmss'\. Valid feature names: .*valid groups: fin, hudgins",
        "EMGFeatures:",
    ),
    (
        "features-threshold-negative",
        lambda: EMGFeatures(threshold=-1).fit_transform(X),
        ValueError,
        r"threshold must be a finite number >= 0; got -1.*use 0 to count every crossing",
        "EMGFeatures:",
    ),
    (
        "features-fs-negative",
        lambda: EMGFeatures("mnf", fs=-1).fit_transform(X),
        ValueError,
        r"fs must be a positive sampling rate in Hz; got -1.*Pass fs=None",
        "EMGFeatures:",
    ),
    (
        "standardizer-per-unknown",
        lambda: WindowStandardizer(per="window").fit(X),
        ValueError,
        r"per must be 'channel' or 'global'; got 'window'",
        "WindowStandardizer:",
    ),
    (
        "standardizer-eps-negative",
        lambda: WindowStandardizer(eps=-1).fit(X),
        ValueError,
        r"eps must be a number in \[0, 1\).*; got -1",
        "WindowStandardizer:",
    ),
]


@pytest.mark.parametrize(
    "call, exc, match, who", [p[1:] for p in PARAMS], ids=[p[0] for p in PARAMS]
)
def test_bad_parameters(call, exc, match, who):
    raises(call, exc, match, who)


def test_encoder_knowing_other_classes(fitted):
    aug = SASGAugmenter(fitted("SemanticEncoder"), refit_encoder=False, **TINY_SASG)
    match = r"encoder does not know the classes \['wave'\].*set refit_encoder=True"
    raises(
        lambda: aug.fit(X, np.where(Y == "fist", "wave", Y)), ValueError, match, "SASGAugmenter:"
    )


def test_encoder_given_as_a_class():
    aug = SASGAugmenter(SemanticEncoder, **TINY_SASG)
    raises(
        lambda: aug.fit(X, Y), TypeError, r"encoder .*class.*SemanticEncoder\(", "SASGAugmenter:"
    )


@pytest.mark.parametrize("kernel_size", [2, 4])
def test_encoder_even_kernel_size(kernel_size):
    call = lambda: enc(kernel_size=kernel_size).fit(X, Y)  # noqa: E731
    raises(call, ValueError, r"kernel_size must be odd.*Use 3, 5 or 7", "SemanticEncoder:")


@pytest.mark.parametrize("head_channels", [(), (8, 8), (0, 8, 8), ("a", "b", "c")])
def test_fin_head_channels(head_channels):
    call = lambda: fin(head_channels=head_channels).fit(X, Y)  # noqa: E731
    match = r"head_channels must hold 3 positive integers"
    raises(call, ValueError, match, "FINClassifier:")


# ==========================================================================================
# 8. Windowing, the simulator and the filters
# ==========================================================================================
REC = make_semg_gestures(n_classes=2, n_repetitions=2, n_channels=2, fs=200.0, random_state=0)
STREAM = REC.emg
WINDOWING = [
    (
        "window-longer-than-segment",
        lambda: sliding_windows(REC, window_ms=5000),
        r"window_ms=5000 \(1000 samples at 200 Hz\) is longer than the longest segment.*shorter",
    ),
    (
        "window-zero-samples",
        lambda: sliding_windows(REC, window_ms=2),
        r"window_ms=2 ms is 0 sample\(s\) at fs=200\.0 Hz; .*Use window_ms >= 2\.5 ms",
    ),
    (
        "window-not-a-number",
        lambda: sliding_windows(REC, window_ms="200"),
        r"window_ms must be a finite, non-negative number of ms; got '200'",
    ),
    ("step-negative", lambda: sliding_windows(REC, step_ms=-1), r"step_ms must be a finite, non"),
    (
        "no-fs",
        lambda: sliding_windows(STREAM),
        r"sampling rate is unknown: pass fs= \(Hz\) or a recording Bunch",
    ),
    ("fs-string", lambda: sliding_windows(STREAM, fs="abc"), r"fs must be one positive number"),
    ("fs-negative", lambda: sliding_windows(STREAM, fs=-1), r"fs must be a positive number"),
    (
        "fs-contradicts-recording",
        lambda: sliding_windows(REC, fs=100),
        r"fs=100\.0 contradicts the recording's fs=200\.0; leave fs=None",
    ),
    (
        "nan-in-stream",
        lambda: sliding_windows(with_value(STREAM, (5, 0), np.nan), fs=200),
        r"emg contains NaN or infinite values in 1 sample\(s\) .*Interpolate or cut",
    ),
    ("empty-stream", lambda: sliding_windows(STREAM[:0], fs=200), r"emg is empty .*non-empty"),
    ("1-d-stream", lambda: sliding_windows(STREAM[:, 0], fs=200), r"emg is 1-D .*emg\[:, np\."),
    (
        "3-d-stream",
        lambda: sliding_windows(STREAM[None], fs=200),
        r"emg must be 2-D .*already cut .*need no sliding_windows",
    ),
    (
        "complex-stream",
        lambda: sliding_windows(STREAM.astype(complex), fs=200),
        r"emg has dtype complex128; it must be real numbers\. Convert",
    ),
    ("none", lambda: sliding_windows(None, fs=200), r"rec_or_emg is None; pass a recording"),
    (
        "label-length",
        lambda: sliding_windows(STREAM, fs=200, label=REC.label[:-1]),
        r"label must have one value per sample \(\d+\); got shape .*as long as emg",
    ),
    (
        "label-nan",
        lambda: sliding_windows(STREAM, fs=200, label=with_value(REC.label, 3, np.nan)),
        r"label contains NaN or infinite values",
    ),
    (
        "only-rest",
        lambda: sliding_windows(STREAM, fs=200, label=np.zeros(len(STREAM), int)),
        r"No window is left: every window was rest \(pass include_rest=True",
    ),
    (
        "horizon-without-labels",
        lambda: sliding_windows(STREAM, fs=200, horizon_ms=50),
        r"horizon_ms > 0 needs per-sample labels; pass label=",
    ),
]


@pytest.mark.parametrize("call, match", [w[1:] for w in WINDOWING], ids=[w[0] for w in WINDOWING])
def test_bad_windowing(call, match):
    raises(call, ValueError, match, "sliding_windows:")


SIMULATOR_AND_FILTERS = [
    (
        "simulator-no-classes",
        lambda: make_semg_gestures(n_classes=0),
        r"n_classes must be an integer >= 1; got 0",
        "make_semg_gestures:",
    ),
    (
        "simulator-band-above-nyquist",
        lambda: make_semg_gestures(band=(500, 600)),
        r"band=\(500, 600\) does not fit below 0\.9 x Nyquist.*raise fs",
        "make_semg_gestures:",
    ),
    (
        "simulator-band-inverted",
        lambda: make_semg_gestures(band=(300, 100)),
        r"band=\(300, 100\) must be \(low_hz, high_hz\) with 0 < low_hz < high_hz",
        "make_semg_gestures:",
    ),
    (
        "simulator-bad-random_state",
        lambda: make_semg_gestures(random_state="seed"),
        r"random_state must be None, an int or a numpy RandomState; got 'seed'\. Pass e\.g\.",
        "make_semg_gestures:",
    ),
    (
        "bandpass-above-nyquist",
        lambda: bandpass(STREAM, fs=200),
        r"high=450 Hz must lie strictly between 0 and the Nyquist frequency 100 Hz.*pass a high",
        "bandpass:",
    ),
    (
        "bandpass-low-above-high",
        lambda: bandpass(STREAM, fs=1000, low=300, high=100),
        r"low=300 Hz must be below high=100 Hz",
        "bandpass:",
    ),
    (
        "bandpass-no-fs",
        lambda: bandpass(STREAM),
        r"fs is required for an array input; pass the sampling rate",
        "bandpass:",
    ),
    (
        "bandpass-nan",
        lambda: bandpass(with_value(STREAM, (0, 0), np.nan), fs=1000),
        r"1 NaN or infinite value\(s\); filters would spread them.*Interpolate",
        "bandpass:",
    ),
    (
        "bandpass-too-short",
        lambda: bandpass(STREAM[:5], fs=1000),
        r"5 sample\(s\) along axis 0; this filter needs more than \d+.*lower order",
        "bandpass:",
    ),
    (
        "notch-complex",
        lambda: notch(STREAM.astype(complex), fs=200),
        r"the signal must be real numbers; got dtype complex128",
        "notch:",
    ),
    (
        "notch-quality-zero",
        lambda: notch(STREAM, fs=200, quality=0),
        r"quality must be a positive number; got 0",
        "notch:",
    ),
]


@pytest.mark.parametrize(
    "call, match, who",
    [c[1:] for c in SIMULATOR_AND_FILTERS],
    ids=[c[0] for c in SIMULATOR_AND_FILTERS],
)
def test_bad_simulator_and_filter_arguments(call, match, who):
    raises(call, ValueError, match, who)


# ==========================================================================================
# 9. Loaders: truncated, non-MAT and missing files, folders without data
# ==========================================================================================
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_files")
    good = root / "S1_A1_E1.mat"
    label = np.repeat([0, 1, 0], 100)
    sio.savemat(good, dict(emg=RNG.random((300, 2)), restimulus=label, rerepetition=label))
    data = good.read_bytes()
    for name, content in [
        ("trunc", data[: len(data) // 2]),
        ("header", data[:128]),
        ("text", b"this is not a MATLAB file"),
        ("zero", b""),
    ]:
        (root / name).mkdir()
        (root / name / "S1_A1_E1.mat").write_bytes(content)
    (root / "copies").mkdir()
    for name in ("S1_A1_E1.mat", "S1_A1_E1 (1).mat"):
        (root / "copies" / name).write_bytes(data)
    (root / "empty").mkdir()
    (root / "other").mkdir()
    (root / "other" / "calibration.mat").write_bytes(data)
    (root / "other" / "notes.txt").write_text("no NinaPro here")
    myo = root / "myo" / "EvaluationDataset" / "Male0" / "training0"
    myo.mkdir(parents=True)
    for i in range(28):
        (myo / f"classe_{i}.dat").write_bytes(np.zeros(80, "<i2").tobytes())
    (myo / "classe_3.dat").write_bytes(b"\x00" * 6)
    uci = root / "uci" / "01"
    uci.mkdir(parents=True)
    (uci / "1_raw_data_13-12_22.03.16.txt").write_text(
        "time\tchannel1\tchannel2\tclass\n1\t0.1\t0.2\t0\n2\t0.1"
    )
    copies = root / "uci_copies" / "01"
    copies.mkdir(parents=True)
    for name in ("1_raw_data_13-12_22.03.16.txt", "1_raw_data_13-12_22.03.16 (1).txt"):
        (copies / name).write_text("time\tchannel1\tclass\n1\t0.1\t0\n2\t0.2\t0\n")
    return root


LOADERS = [
    (
        "ninapro-truncated",
        lambda r: load_ninapro(r / "trunc" / "S1_A1_E1.mat", fs=100),
        ValueError,
        r"cannot read .*S1_A1_E1\.mat.*corrupt, truncated",
    ),
    (
        "ninapro-header-only",
        lambda r: load_ninapro(r / "header" / "S1_A1_E1.mat", fs=100),
        ValueError,
        r"cannot read .*S1_A1_E1\.mat.*\(or holds none\).*[Dd]ownload it again",
    ),
    (
        "ninapro-duplicate-copy",
        lambda r: load_ninapro(r / "copies", fs=100),
        ValueError,
        r"S1_A1_E1\.mat and .*S1_A1_E1 \(1\)\.mat hold the same recording of subject 1; remove",
    ),
    (
        "ninapro-truncated-in-folder",
        lambda r: load_ninapro(r / "trunc", fs=100),
        ValueError,
        r"cannot read .*trunc.*corrupt, truncated.*[Dd]ownload it again",
    ),
    (
        "ninapro-not-a-mat-file",
        lambda r: load_ninapro(r / "text" / "S1_A1_E1.mat", fs=100),
        ValueError,
        r"cannot read .* as a MATLAB file .*not a \.mat file",
    ),
    (
        "ninapro-zero-bytes",
        lambda r: load_ninapro(r / "zero" / "S1_A1_E1.mat", fs=100),
        ValueError,
        r"corrupt, truncated or not a \.mat file",
    ),
    (
        "ninapro-txt-file",
        lambda r: load_ninapro(r / "other" / "notes.txt", fs=100),
        ValueError,
        r"cannot read .*notes\.txt as a MATLAB file",
    ),
    (
        "ninapro-empty-folder",
        lambda r: load_ninapro(r / "empty", fs=100),
        FileNotFoundError,
        r"no NinaPro files \(named S<subject>.*no \.mat files at all\)\. Point path at",
    ),
    (
        "ninapro-folder-without-ninapro-files",
        lambda r: load_ninapro(r / "other", fs=100),
        FileNotFoundError,
        r"no NinaPro files .*\(found: calibration\.mat\)\. Point path at the folder",
    ),
    (
        "ninapro-missing-path",
        lambda r: load_ninapro(r / "nope.mat", fs=100),
        FileNotFoundError,
        r"nope\.mat does not exist\. Check the path",
    ),
    (
        "ninapro-path-not-a-path",
        lambda r: load_ninapro(3),
        TypeError,
        r"path must be a str or path-like object .*got 3 \(int\)",
    ),
    (
        "ninapro-path-none",
        lambda r: load_ninapro(None),
        ValueError,
        r"path is None; pass the data file or folder",
    ),
    (
        "ninapro-no-fs",
        lambda r: load_ninapro(r / "S1_A1_E1.mat"),
        ValueError,
        r"does not state its sampling rate .*Pass fs= for your database \(DB1: 100 Hz",
    ),
    (
        "ninapro-fs-negative",
        lambda r: load_ninapro(r / "S1_A1_E1.mat", fs=-1),
        ValueError,
        r"fs must be a positive number of Hz; got -1\.0",
    ),
    (
        "ninapro-absent-subject",
        lambda r: load_ninapro(r, subjects=[7], fs=100),
        ValueError,
        r"subject\(s\) \[7\] not found in .*; available subjects: \[1\] \(by file name\)",
    ),
    (
        "myo-missing",
        lambda r: load_myo_armband(r / "nope"),
        FileNotFoundError,
        r"nope does not exist\. Check the path",
    ),
    (
        "myo-empty-folder",
        lambda r: load_myo_armband(r / "empty"),
        FileNotFoundError,
        r"EvaluationDataset does not exist\. Pass the dataset's root folder",
    ),
    (
        "myo-unknown-dataset",
        lambda r: load_myo_armband(r / "myo", dataset="train"),
        ValueError,
        r"dataset must be 'evaluation', 'pretraining' or 'both'; got 'train'",
    ),
    (
        "myo-truncated-file",
        lambda r: load_myo_armband(r / "myo"),
        ValueError,
        r"classe_3\.dat holds 3 int16 value\(s\), not a positive multiple of 8 .*Download",
    ),
    (
        "uci-empty-folder",
        lambda r: load_uci_gestures(r / "empty"),
        FileNotFoundError,
        r"no UCI gestures files in .*Expected numbered subject folders",
    ),
    (
        "uci-not-a-uci-file",
        lambda r: load_uci_gestures(r / "S1_A1_E1.mat"),
        ValueError,
        r"is not a UCI gestures file",
    ),
    (
        "uci-duplicate-series",
        lambda r: load_uci_gestures(r / "uci_copies"),
        ValueError,
        r"subject 1 has several files of the same series .*Remove the duplicate copies",
    ),
    (
        "uci-truncated-file",
        lambda r: load_uci_gestures(r / "uci"),
        ValueError,
        r"cannot parse .* as tab-separated numbers .*corrupt or truncated\. Download it again",
    ),
]


LOADER_NAMES = {"ninapro": "load_ninapro:", "myo": "load_myo_armband:", "uci": "load_uci_gestures:"}


@pytest.mark.parametrize(
    "call, exc, match, who",
    [(*c[1:], LOADER_NAMES[c[0].split("-")[0]]) for c in LOADERS],
    ids=[c[0] for c in LOADERS],
)
def test_bad_files_for_loaders(files, call, exc, match, who):
    raises(lambda: call(files), exc, match, who)


# ==========================================================================================
# 10. Metrics, splits and persistence
# ==========================================================================================
REAL = RNG.standard_normal((20, 3))
SYN = RNG.standard_normal((20, 3))
Y20 = np.repeat([0, 1], 10)
METRICS = [
    (
        "nan",
        lambda: M.frechet_distance(with_value(REAL, (0, 0), np.nan), SYN),
        r"real contains 1 NaN or infinite value\(s\); drop those rows first",
    ),
    (
        "empty",
        lambda: M.avg_knn_distance(REAL[:0], SYN),
        r"real has 0 sample\(s\); at least 5 are needed for k=5.*lower k",
    ),
    (
        "windows-not-embeddings",
        lambda: M.rarity_score(REAL[..., None], SYN),
        r"real must be a 2-D array .*got a 3-D .*Embed 3-D windows first",
    ),
    (
        "1-d",
        lambda: M.lof_score(REAL[:, 0], SYN),
        r"real must be a 2-D array .*got a 1-D .*reshape\(-1, 1\)",
    ),
    (
        "complex",
        lambda: M.frechet_distance(REAL.astype(complex), SYN),
        r"real has a non-numeric or complex dtype \(complex128\); pass real-valued",
    ),
    (
        "object",
        lambda: M.frechet_distance(REAL.astype(str).astype(object), SYN),
        r"real has a non-numeric or complex dtype \(object\)",
    ),
    (
        "dimensions-differ",
        lambda: M.precision_recall_density_coverage(REAL, SYN[:, :2]),
        r"different dimensions \(3 vs 2 features\); embed both with the same encoder",
    ),
    (
        "fewer-samples-than-k-needs",
        lambda: M.rarity_score(REAL[:3], SYN, k=5),
        r"real has 3 sample\(s\); at least 6 are needed for k=5.*lower k",
    ),
    (
        "one-sample-for-a-covariance",
        lambda: M.frechet_distance(REAL[:1], SYN),
        r"real has 1 sample\(s\); at least 2 are needed to estimate a covariance",
    ),
    ("k-zero", lambda: M.avg_knn_distance(REAL, SYN, k=0), r"k must be an integer >= 1; got 0"),
    (
        "lof-neighbours-too-many",
        lambda: M.lof_score(REAL, SYN, n_neighbors=50),
        r"real has 20 sample\(s\); at least 51 are needed for n_neighbors=50",
    ),
    (
        "cas-one-class",
        lambda: M.classification_accuracy_score(SYN, np.zeros(20), REAL, Y20),
        r"y_syn has 1 class; CAS needs synthetic samples of at least 2 classes",
    ),
    (
        "cas-mismatched-lengths",
        lambda: M.classification_accuracy_score(SYN, Y20[:-1], REAL, Y20),
        r"y_syn has 19 labels but X_syn has 20 samples; pass one label per sample",
    ),
    (
        "cas-nan-labels",
        lambda: M.classification_accuracy_score(SYN, with_value(Y20, 0, np.nan), REAL, Y20),
        r"y_syn contains complex, NaN or infinite labels.*Drop those samples",
    ),
    (
        "cas-continuous-labels",
        lambda: M.classification_accuracy_score(SYN, np.linspace(0, 1, 20), REAL, Y20),
        r"y_syn looks continuous .*y_syn\.astype\(int\)",
    ),
    (
        "cas-windows-with-default-classifier",
        lambda: M.classification_accuracy_score(SYN[..., None], Y20, REAL[..., None], Y20),
        r"default CAS classifier takes 2-D features.*Embed the windows first",
    ),
    (
        "evaluate-per_class-without-labels",
        lambda: M.evaluate_synthetic(REAL, SYN, per_class=True),
        r"per_class=True needs both y_real and y_syn",
    ),
    (
        "evaluate-X_test-without-y_test",
        lambda: M.evaluate_synthetic(REAL, SYN, X_test=REAL),
        r"Pass both X_test and y_test for CAS, or neither",
    ),
]


@pytest.mark.parametrize("call, match", [m[1:] for m in METRICS], ids=[m[0] for m in METRICS])
def test_bad_metric_inputs(call, match):
    # The metrics' messages carry no prefix: they start with the argument at fault (real,
    # y_syn, ...), and each regex above includes the fix, a phrase of ours.
    raises(call, ValueError, match, None)


def test_cas_estimator_that_is_not_a_classifier():
    call = lambda: M.classification_accuracy_score(SYN, Y20, REAL, Y20, estimator="lda")  # noqa: E731
    raises(
        call,
        TypeError,
        r"estimator must be a scikit-learn classifier \(with fit and predict\)",
        "classification_accuracy_score:",
    )


def test_cas_warns_for_test_classes_absent_from_synthetic():
    with pytest.warns(UserWarning, match=r"y_test contains classes \[5\] absent from y_syn"):
        M.classification_accuracy_score(SYN, Y20, REAL, np.where(Y20 == 1, 5, Y20))


WINDOWS = sliding_windows(REC, window_ms=100, step_ms=50)
SPLITS = [
    (
        "overlap",
        lambda: repetition_split(WINDOWS, [1], [1, 2]),
        ValueError,
        r"train and test repetitions overlap \(\[1\]\); an honest split keeps them disjoint",
        "repetition_split:",
    ),
    (
        "absent-repetition",
        lambda: repetition_split(WINDOWS, [9]),
        ValueError,
        r"train repetitions \[9\] not found in the windows; available: \[1, 2\]",
        "repetition_split:",
    ),
    (
        "empty-test-set",
        lambda: repetition_split(WINDOWS, [1, 2]),
        ValueError,
        r"leaves an empty train or test set; choose other repetitions",
        "repetition_split:",
    ),
    (
        "none",
        lambda: repetition_split(WINDOWS, None),
        TypeError,
        r"train repetitions must be a value or a list of values \(e\.g\. \[1, 2\]\); got None",
        "repetition_split:",
    ),
    (
        "not-a-window-set",
        lambda: subject_split(WINDOWS.X, [1]),
        TypeError,
        r"windows must be a window set \(a Bunch with X .*got ndarray",
        "subject_split:",
    ),
    (
        "mask-length",
        lambda: select_windows(WINDOWS, np.ones(3, bool)),
        ValueError,
        r"boolean mask has shape \(3,\) but the window set has \d+ windows; pass one True/False",
        "select_windows:",
    ),
    (
        "mask-float",
        lambda: select_windows(WINDOWS, np.ones(len(WINDOWS.X))),
        ValueError,
        r"mask must be a boolean mask or an integer index array; got dtype float64",
        "select_windows:",
    ),
    (
        "index-out-of-range",
        lambda: select_windows(WINDOWS, [10**6]),
        ValueError,
        r"window indices must lie in \[-\d+, \d+\] for a window set of \d+ windows",
        "select_windows:",
    ),
]


@pytest.mark.parametrize(
    "call, exc, match, who", [s[1:] for s in SPLITS], ids=[s[0] for s in SPLITS]
)
def test_bad_splits(call, exc, match, who):
    raises(call, exc, match, who)


def test_select_windows_with_an_empty_index_selects_nothing():
    assert len(select_windows(WINDOWS, []).X) == 0


def test_select_windows_indexes_per_window_lists_like_arrays():
    from sklearn.utils import Bunch

    w = Bunch(X=np.zeros((3, 1, 2)), y=[1, 2, 1], repetition=[1, 1, 2])
    part = select_windows(w, np.array([True, False, True]))
    assert part.y.tolist() == [1, 1] and part.repetition.tolist() == [1, 2]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    save_weights(WindowStandardizer().fit(X), root / "scaler.pt")
    (root / "junk.pt").write_bytes(b"junk")
    whole = (root / "scaler.pt").read_bytes()
    (root / "half.pt").write_bytes(whole[: len(whole) // 2])
    torch.save({"w": torch.zeros(2)}, root / "state_dict.pt")
    joblib.dump(WindowStandardizer().fit(X), root / "joblib.pt")
    return root


PERSISTENCE = [
    (
        "load-missing",
        lambda r: load_weights(r / "nope.pt"),
        FileNotFoundError,
        r"nope\.pt' does not exist\. Check the path",
    ),
    (
        "load-folder",
        lambda r: load_weights(r),
        IsADirectoryError,
        r"is a folder; pass the file written by save_weights",
    ),
    (
        "load-not-a-weights-file",
        lambda r: load_weights(r / "junk.pt"),
        ValueError,
        r"junk\.pt' is not a weights file \(it is neither a zip archive.*Pass a file written",
    ),
    (
        "load-corrupt",
        lambda r: load_weights(r / "half.pt"),
        ValueError,
        r"half\.pt' is corrupt, truncated, or not written by save_weights.*Save the estimator",
    ),
    (
        "load-state_dict",
        lambda r: load_weights(r / "state_dict.pt"),
        ValueError,
        r"is a torch file but not a semgaug_sk weights file.*save_weights",
    ),
    (
        "load-joblib",
        lambda r: load_weights(r / "joblib.pt"),
        ValueError,
        r"not a weights-only file.*probably a pickle or joblib file",
    ),
    (
        "load-path-none",
        lambda r: load_weights(None),
        TypeError,
        r"path must be a str, a path-like object or a binary file object; got None",
    ),
    (
        "load-wrong-type",
        lambda r: load_weights(r / "scaler.pt", estimator_type=SemanticEncoder),
        TypeError,
        r"holds a WindowStandardizer, not a SemanticEncoder\. Load the file as a",
    ),
    (
        "load-estimator_type-not-a-class",
        lambda r: load_weights(r / "scaler.pt", estimator_type="SemanticEncoder"),
        TypeError,
        r"estimator_type must be a class or a tuple of classes .*got 'SemanticEncoder'",
    ),
    (
        "load-params-not-a-dict",
        lambda r: load_weights(r / "scaler.pt", params=3),
        TypeError,
        r"params must be a dict \{parameter name: value\}; got 3",
    ),
    (
        "load-params-unknown",
        lambda r: load_weights(r / "scaler.pt", params={"nope": 1}),
        ValueError,
        r"params=\['nope'\] are not parameters of the stored estimator; its parameters are",
    ),
    (
        "save-unfitted",
        lambda r: save_weights(WindowStandardizer(), r / "x.pt"),
        NotFittedError,
        r"WindowStandardizer instance is not fitted yet",
    ),
    (
        "save-foreign-estimator",
        lambda r: save_weights(object(), r / "x.pt"),
        TypeError,
        r"weights-only files cannot hold; they hold the estimators of semgaug_sk",
    ),
    (
        "save-missing-folder",
        lambda r: save_weights(WindowStandardizer().fit(X), r / "nope" / "x.pt"),
        FileNotFoundError,
        r"the folder .*nope' does not exist; create it first",
    ),
    (
        "save-path-not-a-path",
        lambda r: save_weights(WindowStandardizer().fit(X), 3),
        TypeError,
        r"path must be a str, a path-like object or a binary file object; got 3 \(int\)",
    ),
]


@pytest.mark.parametrize(
    "call, exc, match, who",
    [
        (
            *p[1:],
            "WindowStandardizer" if p[2] is NotFittedError else p[0].split("-")[0] + "_weights:",
        )
        for p in PERSISTENCE
    ],
    ids=[p[0] for p in PERSISTENCE],
)
def test_bad_persistence(weights, call, exc, match, who):
    raises(lambda: call(weights), exc, match, who)


# ==========================================================================================
# 11. The command line: one line on stderr, status 2, no traceback
# ==========================================================================================
@pytest.fixture(scope="module")
def cli_files(files, tmp_path_factory):
    t = tmp_path_factory.mktemp("cli")
    X40 = RNG.standard_normal((6, 2, 40))
    np.savez(t / "w.npz", X=X40, y=np.array([0, 1] * 3))
    np.savez(t / "wrep.npz", X=X40, y=np.array([0, 1] * 3), repetition=np.array([1, 1, 1, 2, 2, 2]))
    np.savez(t / "nolabels.npz", X=X40)
    np.savez(t / "ylen.npz", X=X40, y=np.array([0, 1]))
    np.savez(t / "nan.npz", X=np.full((3, 1, 10), np.nan), y=np.array([0, 1, 0]))
    np.savez(t / "fs2.npz", emg=np.zeros((100, 2)), label=np.ones(100), fs=np.array([1.0, 2.0]))
    np.savez(t / "short.npz", emg=np.zeros((10, 2)), label=np.ones(10), fs=100.0)
    np.savez(t / "nofs.npz", emg=np.zeros((100, 2)), label=np.ones(100))
    (t / "trunc.npz").write_bytes((t / "w.npz").read_bytes()[:200])
    (t / "text.npz").write_bytes(b"not a zip file")
    (t / "in.csv").write_text("1,2\n")
    (t / "folder.npz").mkdir()
    return {"t": t, "ninapro": files}


CLI = [
    # (id, argv with {t} (this folder) and {n} (the loader files), text in the message)
    ("missing-input", ["features", "{t}/nope.npz", "-o", "{t}/o.csv"], "does not exist"),
    ("truncated-npz", ["features", "{t}/trunc.npz", "-o", "{t}/o.csv"], "corrupt, truncated"),
    ("text-as-npz", ["features", "{t}/text.npz", "-o", "{t}/o.csv"], "cannot read"),
    ("unknown-input-type", ["features", "{t}/in.csv", "-o", "{t}/o.csv"], "must be a NinaPro"),
    ("bad-output-extension", ["features", "{t}/w.npz", "-o", "{t}/o.txt"], "must end in .csv"),
    ("output-is-a-folder", ["features", "{t}/w.npz", "-o", "{t}/folder.npz"], "is a folder"),
    ("y-length-in-npz", ["features", "{t}/ylen.npz", "-o", "{t}/o.csv"], "store one y per"),
    ("fs-array-in-npz", ["features", "{t}/fs2.npz", "-o", "{t}/o.csv"], "one sampling rate"),
    ("no-fs", ["features", "{t}/nofs.npz", "-o", "{t}/o.csv"], "sampling rate is unknown"),
    ("window-too-long", ["features", "{t}/short.npz", "-o", "{t}/o.csv"], "longest segment"),
    ("nan-windows", ["features", "{t}/nan.npz", "-o", "{t}/o.csv"], "NaN or infinite"),
    ("unknown-feature", ["features", "{t}/w.npz", "-o", "{t}/o.csv", "--features", "rmss"], "rmss"),
    ("window-ms-zero", ["features", "{t}/w.npz", "-o", "{t}/o.csv", "--window-ms", "0"], "> 0"),
    ("window-ms-text", ["features", "{t}/w.npz", "-o", "{t}/o.csv", "--window-ms", "ab"], "'ab'"),
    ("fs-negative", ["features", "{t}/nofs.npz", "-o", "{t}/o.csv", "--fs", "-5"], "--fs"),
    ("threshold-nan", ["features", "{t}/w.npz", "-o", "{t}/o.csv", "--threshold", "nan"], ">= 0"),
    ("truncated-mat", ["features", "{n}/trunc/S1_A1_E1.mat", "-o", "{t}/o.csv"], "truncated"),
    ("no-ninapro-files", ["features", "{n}/other", "-o", "{t}/o.csv", "--fs", "100"], "NinaPro"),
    ("mat-without-fs", ["features", "{n}/S1_A1_E1.mat", "-o", "{t}/o.csv"], "pass --fs in Hz"),
    ("no-labels", ["augment", "{t}/nolabels.npz", "-o", "{t}/s.npz"], "needs labels"),
    ("augment-bad-output", ["augment", "{t}/w.npz", "-o", "{t}/s.csv"], "must end in .npz"),
    ("augment-y-length", ["augment", "{t}/ylen.npz", "-o", "{t}/s.npz"], "store one y per"),
    (
        "augment-ratio-negative",
        ["augment", "{t}/w.npz", "-o", "{t}/s.npz", "--ratio", "-1"],
        "--ratio",
    ),
    ("augment-steps-zero", ["augment", "{t}/w.npz", "-o", "{t}/s.npz", "--steps", "0"], ">= 1"),
    (
        "augment-seed-negative",
        ["augment", "{t}/w.npz", "-o", "{t}/s.npz", "--seed", "-1"],
        "--seed",
    ),
    (
        "augment-bad-condition",
        ["augment", "{t}/w.npz", "-o", "{t}/s.npz", "--condition", "x"],
        "invalid choice",
    ),
    (
        "augment-device",
        ["augment", "{t}/w.npz", "-o", "{t}/s.npz", "--device", "tpu"],
        "not a valid torch device",
    ),
    (
        "augment-no-repetition",
        ["augment", "{t}/wrep.npz", "-o", "{t}/s.npz", "--repetitions", "5"],
        "no window has a repetition in [5]",
    ),
    (
        "augment-repetitions-not-stored",
        ["augment", "{t}/w.npz", "-o", "{t}/s.npz", "--repetitions", "1"],
        "--repetitions needs the repetition of each window",
    ),
    ("demo-steps-zero", ["demo", "--steps", "0"], "--steps"),
    ("demo-missing-ninapro", ["demo", "--ninapro", "{t}/nope", "--steps", "1"], "does not exist"),
    ("demo-empty-ninapro", ["demo", "--ninapro", "{n}/empty", "--steps", "1"], "no NinaPro files"),
    ("unknown-command", ["bogus"], "invalid choice"),
    ("no-command", [], "required: COMMAND"),
    ("missing-output", ["features", "{t}/w.npz"], "-o/--output"),
]


@pytest.mark.parametrize("argv, message", [c[1:] for c in CLI], ids=[c[0] for c in CLI])
def test_cli_user_mistakes(cli_files, argv, message):
    argv = [a.format(t=cli_files["t"], n=cli_files["ninapro"]) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            status = exc.code
    err, out = err.getvalue(), out.getvalue()
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("semgaug: error: ") and message in lines[0], err
    assert "Traceback" not in err + out


def test_the_accelerator_class_instead_of_an_instance_is_named():
    # it has prepare/unwrap_model/reduce too, so it passed validation and failed deep in torch
    accelerate = pytest.importorskip("accelerate")
    from semgaug_sk.augmentation import DiffusionGenerator

    for est, args in (
        (SemanticEncoder(accelerator=accelerate.Accelerator, max_epochs=1), (X, Y)),
        (DiffusionGenerator(accelerator=accelerate.Accelerator, n_steps=1), (X, np.arange(12) % 3)),
    ):
        raises(
            lambda est=est, args=args: est.fit(*args),
            TypeError,
            r"accelerator is the class Accelerator, not an instance; pass accelerator=Accelerator\(\)",
            type(est).__name__,
        )


def test_an_unseeded_fit_across_several_processes_is_refused():
    from semgaug_sk.augmentation import DiffusionGenerator

    class TwoProcesses:  # what a multi-process Accelerator reports; nothing else is reached
        num_processes = 2

        def prepare(self, *args):
            raise AssertionError("reached training")

        unwrap_model = reduce = prepare

    for est, args in (
        (SemanticEncoder(accelerator=TwoProcesses(), max_epochs=1), (X, Y)),
        (DiffusionGenerator(accelerator=TwoProcesses(), n_steps=1), (X, np.arange(12) % 3)),
        (SASGAugmenter(accelerator=TwoProcesses(), n_steps=1), (X, Y)),
    ):
        raises(
            lambda est=est, args=args: est.fit(*args),
            ValueError,
            r"random_state=None under an accelerator with 2 processes.*same integer random_state",
            type(est).__name__,
        )


def test_a_diverged_generator_raises_instead_of_returning_nan_windows():
    rng = np.random.default_rng(0)
    Xd, yd = rng.normal(size=(12, 2, 16)).astype(np.float32), np.array([0, 1, 2] * 4)
    sampler = SASGAugmenter(
        condition="label",
        n_steps=4,
        batch_size=4,
        base_channels=8,
        channel_mults=(1,),
        n_sampling_steps=2,
        random_state=0,
        ratio=1.0,
        lr=1e3,  # diverges
    )
    raises(
        lambda: sampler.fit_resample(Xd, yd),
        FloatingPointError,
        r"NaN or infinite, so the model behind them diverged in training.*lower lr",
        "SASGAugmenter",
    )


@pytest.mark.parametrize(
    "settings, match",
    [
        (dict(sampler="dpmpp_2m", eta=1.0), r"eta"),
        (dict(channel_mults=(0,)), r"channel_mults must be a non-empty tuple of positive"),
        (dict(nonnegative="log"), r"nonnegative='log' needs non-negative windows"),
    ],
)
def test_sasg_settings_are_checked_at_ratio_zero_too(settings, match):
    # a grid's ratio=0 point trains nothing, and must still refuse what ratio > 0 refuses
    raises(
        lambda: SASGAugmenter(ratio=0, **settings).fit_resample(X, Y),
        ValueError,
        match,
        "SASGAugmenter",
    )


def test_a_read_only_mapping_is_a_valid_sampling_strategy():
    from types import MappingProxyType

    X_res, y_res = ClassicAugmenter(
        sampling_strategy=MappingProxyType({0: 8}),
        random_state=0,  # 4 windows -> 8
    ).fit_resample(X, np.arange(12) % 3)
    assert y_res[12:].tolist() == [0] * 4


@pytest.mark.parametrize(
    "change, exc, match",
    [
        (dict(generate_batch_size=0), InvalidParameterError, r"generate_batch_size"),
        (dict(jitter_scale="bogus"), InvalidParameterError, r"jitter_scale"),
        (dict(methods_per_window=9), ValueError, r"methods_per_window=9 exceeds"),
        (dict(methods=["jitter"]), ValueError, r"methods changed since fit.*fit again"),
    ],
)
def test_classic_settings_changed_after_fit_are_checked_at_generation(change, exc, match):
    aug = ClassicAugmenter(random_state=0).fit(X, Y)
    aug.set_params(**change)
    with pytest.raises(exc, match=match):
        aug.generate({Y[0]: 2})
    with pytest.raises(exc, match=match):
        aug.augment(X[:2], Y[:2])


def test_windows_that_lose_digits_in_conversion_warn():
    big = 2**53 + 1 + 2 * np.arange(24, dtype=np.int64).reshape(2, 3, 4)  # odd: not in float64
    with pytest.warns(UserWarning, match=r"int64 has \d+ value\(s\) that float64 cannot hold"):
        ClassicAugmenter(random_state=0).fit_resample(big, [0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ClassicAugmenter(random_state=0).fit_resample(np.arange(24).reshape(2, 3, 4), [0, 1])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only refusal")
def test_a_device_set_after_fit_is_the_one_used_at_predict():
    enc = SemanticEncoder(**TINY_ENC, random_state=0).fit(X, Y)
    expected = enc.predict_proba(X)
    enc.set_params(device="cuda")  # was silently ignored: prediction stayed on the CPU
    with pytest.raises(
        RuntimeError, match=r"device='cuda' was requested but CUDA is not available"
    ):
        enc.predict_proba(X)
    np.testing.assert_array_equal(enc.set_params(device="cpu").predict_proba(X), expected)


def _tiny_generator(**kw):
    from semgaug_sk.augmentation import DiffusionGenerator

    settings = dict(n_steps=2, base_channels=8, channel_mults=(1,), n_sampling_steps=2)
    return DiffusionGenerator(random_state=0, **{**settings, **kw})


@pytest.mark.parametrize(
    "make, match",
    [
        # finite in float64, inf in float32, where the network computes: every loss NaN
        (lambda X, y: (X, np.r_[[[1e39, 0.0]], np.zeros((len(X) - 1, 2))]), "float32's range"),
        (lambda X, y: (X, np.zeros((len(X), 0))), "length 0, which conditions on nothing"),
        (lambda X, y: (X, np.array(5)), r"must have shape \(n_windows,\)"),
        # one position of one window leaves GroupNorm nothing to normalise at sample time
        (lambda X, y: (X[:, :, :1], y), r"1 sample\(s\); at least 2 needed"),
    ],
)
def test_diffusion_generator_fit_refuses_conditions_and_windows_it_cannot_use(make, match):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 2, 16)).astype(np.float32), np.repeat([0, 1, 2], 4)
    with pytest.raises(ValueError, match=match):
        _tiny_generator().fit(*make(X, y))


def test_diffusion_generator_sample_refuses_what_it_cannot_honour():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 2, 16)).astype(np.float32), np.repeat([0, 1, 2], 4)
    with pytest.raises(ValueError, match="'max_length' parameter of DiffusionGenerator .* bool"):
        _tiny_generator(max_length=True).fit(X, y)
    gen = _tiny_generator().fit(X, y)
    with pytest.raises(ValueError, match="got the scalar 0"):
        gen.sample(0)
    with pytest.raises(ValueError, match="out must be a float array"):
        gen.sample(np.array([0, 1]), out=np.zeros((2, 2, 16), dtype=int))
    vectors = _tiny_generator().fit(X, rng.normal(size=(12, 3)))
    with pytest.raises(ValueError, match="beyond float32's range"):
        vectors.sample(np.full((2, 3), 1e39))
    # a level of 2 positions at least, so a batch of one window samples
    short = _tiny_generator(channel_mults=(1, 1, 1), min_length=1).fit(X[:, :, :4], y)
    assert short.n_unet_levels_ == 1 and short.sample(np.array([0])).shape == (1, 2, 4)


def test_missing_labels_in_object_arrays_and_unusable_seeds_are_named():
    from semgaug_sk.plotting import plot_real_vs_synthetic
    from semgaug_sk.utils.validation import (
        check_random_state_seed,
        check_windows,
        check_windows_labels,
    )

    y = np.array([np.nan, 1.0], dtype=object)  # a pandas column with a gap
    with pytest.raises(ValueError, match=r"1 missing \(NaN\) label"):
        check_windows_labels(np.zeros((2, 1, 2)), y)
    for seed in (-1, 2**70, True):
        with pytest.raises(ValueError, match="random_state"):
            check_random_state_seed(seed)
    X = np.random.default_rng(0).normal(size=(8, 1, 16))
    labels = np.array([0.0, 1.0] * 4)
    labels[0] = np.nan
    with pytest.raises(ValueError, match="y_real holds NaN labels"):
        plot_real_vs_synthetic(X, labels, X, np.zeros(8))
    with warnings.catch_warnings():  # a finite set near float32's limit is fine, and quiet
        warnings.simplefilter("error")
        check_windows(np.full((4, 1, 4), 3e38, np.float32))


@pytest.mark.parametrize("make", [enc, imi])
def test_bad_windows_get_the_library_s_message_with_early_stopping_on_too(make):
    # the dropped-record check before validation took len(None) and len(5)
    net = make(validation_fraction=0.2)
    y = None if make is imi else Y
    raises(lambda: net.fit(None, y), ValueError, r"X is None; pass a window set", None)
    with pytest.raises(ValueError):
        net.fit(5, y)


def test_generation_settings_set_after_fit_are_refused_in_the_samplers_name(fitted):
    # the generator's check named DiffusionGenerator, an object the user never configured
    import copy

    aug = copy.copy(fitted("SASGAugmenter"))  # the module's fitted one keeps its parameters
    aug.set_params(sampler="dpmpp_2m", eta=0.5)
    message = raises(lambda: aug.generate(2), ValueError, r"eta=0\.5 adds DDIM noise", None)
    assert message.startswith("SASGAugmenter: ") and "sampler='ddim'" in message


def test_unseen_numpy_string_classes_are_named_as_plain_values(fitted):
    counts = {np.str_("wave"): 2}
    message = raises(
        lambda: fitted("ClassicAugmenter").generate(counts), ValueError, "not seen at fit", None
    )
    assert "['wave']" in message and "np.str_" not in message


def test_pandas_na_in_labels_and_groups_is_a_missing_label_not_a_type_error():
    pd = pytest.importorskip("pandas")
    from semgaug_sk.augmentation import PopulationPrior
    from semgaug_sk.utils.validation import missing_values

    X = np.random.default_rng(0).normal(size=(6, 2, 40)).astype("float32")
    gap = pd.Series(["a", "b", None, "a", "b", "a"], dtype="string")  # holds pd.NA
    for y in (gap, np.array(["a", "b", pd.NA, "a", "b", "a"], dtype=object)):
        with pytest.raises(ValueError, match=r"1 missing \(NaN\) label"):
            ClassicAugmenter(random_state=0).fit_resample(X, y)
    with pytest.raises(ValueError, match="NaN subject"):
        PopulationPrior().fit(X, np.array([0, 1] * 3), groups=gap.replace("a", "S1"))
    values = np.array([pd.NA, pd.NaT, np.nan, None, "x", 1], dtype=object)
    assert missing_values(values).tolist() == [True, True, True, False, False, False]
    assert missing_values(np.array(pd.NA, dtype=object)).tolist() is True  # 0-d
    labels = np.empty(2, dtype=object)
    labels[:] = [np.zeros(2), np.ones(2)]  # arrays as labels: refused by name, later
    assert missing_values(labels).tolist() == [False, False]


@pytest.mark.parametrize(
    "y", [[0.0, 1.0, np.nan, 1.0], np.array(["a", "b", np.nan, "b"], dtype=object)]
)
def test_condition_samplers_refuse_missing_labels_instead_of_making_them_a_class(y):
    from semgaug_sk.augmentation import GMSS

    emb = np.random.default_rng(0).normal(size=(4, 3))
    for sampler in (GMSS(), SASS(n_steps=1)):
        with pytest.raises(ValueError, match=rf"{type(sampler).__name__}: y contains .*NaN"):
            sampler.fit(emb, y)


def test_score_gives_the_label_messages_of_fit():
    # sklearn's "inconsistent numbers of samples" and a TypeError from sorting before
    X = np.random.default_rng(0).normal(size=(12, 2, 16)).astype("float32")
    y = np.array(["a", "b"] * 6, dtype=object)
    from semgaug_sk import SpatioTemporalClassifier

    clf = SpatioTemporalClassifier(min_steps=None, n_temporal=2, max_epochs=1, random_state=0).fit(
        X, y
    )
    with pytest.raises(ValueError, match="mismatched lengths: 12 windows but 11 labels"):
        clf.score(X, y[:11])
    gap = y.copy()
    gap[3] = np.nan
    with pytest.raises(ValueError, match=r"1 missing \(NaN\) label"):
        clf.score(X, gap)
    assert 0.0 <= clf.score(X, y) <= 1.0


def test_score_checks_sample_weight_with_the_fix():
    X = np.random.default_rng(0).normal(size=(12, 2, 16)).astype("float32")
    y = np.array([0, 1] * 6)
    from semgaug_sk import SpatioTemporalClassifier

    clf = SpatioTemporalClassifier(min_steps=None, n_temporal=2, max_epochs=1, random_state=0).fit(
        X, y
    )
    cases = [
        (np.ones(3), r"sample_weight has shape \(3,\) for 12 windows; pass one weight per window"),
        (np.ones((12, 1)), r"sample_weight has shape \(12, 1\) for 12 windows"),
        (np.array(["a"] * 12), r"sample_weight must hold numbers, one per window"),
        (np.r_[np.nan, np.ones(11)], r"sample_weight holds NaN, inf or negative values"),
        (-np.ones(12), r"sample_weight holds NaN, inf or negative values"),
    ]
    for weights, match in cases:
        with pytest.raises(ValueError, match="^SpatioTemporalClassifier: " + match):
            clf.score(X, y, sample_weight=weights)
    weights = np.r_[np.zeros(6), np.ones(6)]
    assert clf.score(X, y, sample_weight=weights) == clf.score(X[6:], y[6:])


def test_torch_tensors_that_require_grad_and_ragged_labels_are_named():
    X = np.random.default_rng(0).normal(size=(12, 2, 16))
    y = np.array([0, 1] * 6)
    with pytest.raises(TypeError, match=r"^EMGFeatures: X is a torch tensor that requires grad.*"):
        EMGFeatures().fit_transform(torch.tensor(X, requires_grad=True))
    with pytest.raises(TypeError, match=r"^ClassicAugmenter: y is .* requires grad.*y\.detach"):
        ClassicAugmenter().fit_resample(X, torch.tensor(y.astype(float), requires_grad=True))
    ragged = [[0], [0, 1]] + [0] * 10
    with pytest.raises(ValueError, match=r"^ClassicAugmenter: y must hold one label per window"):
        ClassicAugmenter().fit_resample(X, ragged)


def test_get_feature_names_out_refuses_wrong_input_features_for_windows():
    from semgaug_sk.preprocessing import WindowStandardizer

    X = np.random.default_rng(0).normal(size=(12, 2, 16))
    for est in (WindowStandardizer().fit(X), EMGFeatures().fit(X)):
        who = type(est).__name__
        with pytest.raises(ValueError, match=rf"^{who}.get_feature_names_out: input_features "):
            est.get_feature_names_out(["a"])
        assert len(est.get_feature_names_out(None)) > 0
    # a chain on windows passes a window's value names on: each step takes them
    from sklearn.pipeline import make_pipeline

    chain = make_pipeline(WindowStandardizer(), WindowStandardizer(), EMGFeatures()).fit(X)
    np.testing.assert_array_equal(
        chain.get_feature_names_out(), EMGFeatures().fit(X).get_feature_names_out()
    )


def test_classic_overflow_advice_on_float64_windows_is_not_to_pass_float64():
    X = np.random.default_rng(0).standard_normal((12, 2, 32)) * 1e200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's own overflow warnings
        with pytest.raises(FloatingPointError, match="overflowed float64") as info:
            ClassicAugmenter(random_state=0).fit_resample(X, np.repeat([0, 1, 2], 4))
    assert "pass it as float64" not in str(info.value)


def test_windows_that_overflow_a_fitted_network_are_named_not_predicted_as_the_first_class():
    from semgaug_sk import SpatioTemporalClassifier

    X = np.random.default_rng(0).normal(size=(12, 2, 16)).astype("float32")
    y = np.repeat(["a", "b"], 6)
    clf = SpatioTemporalClassifier(min_steps=None, n_temporal=2, max_epochs=1, random_state=0).fit(
        X, y
    )
    huge = X * 1e20
    for method in (clf.predict_proba, clf.predict, clf.transform):
        with pytest.raises(FloatingPointError, match=r"NaN or infinite for \d+ of 12.*same units"):
            method(huge)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_windows_that_overflow_a_feature_imitator_are_named_not_returned_as_inf():
    from semgaug_sk.imitation import FeatureImitator

    X = np.random.default_rng(0).normal(size=(12, 2, 16)).astype("float32")
    imitator = FeatureImitator(hidden_size=8, max_epochs=1, random_state=0).fit(X)
    with pytest.raises(FloatingPointError, match=r"NaN or infinite for \d+ of 12.*same units"):
        imitator.transform(X * 1e20)
    assert np.isfinite(imitator.transform(X)).all()


def test_features_that_overflow_float32_are_named_with_the_fix():
    # ssi sums squares: float32 windows of amplitude 1e19 gave inf in silence
    from semgaug_sk.features import EMGFeatures

    X = (np.random.default_rng(0).normal(size=(4, 2, 64)) * 1e19).astype(np.float32)
    est = EMGFeatures(features=("kurt", "ssi"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's own overflow warning
        for call in (est.fit_transform, est.fit(X[:1] / 1e19).transform):
            with pytest.raises(FloatingPointError, match=r"\['ssi'\] overflowed float32.*float64"):
                call(X)  # kurt, in units of each window's peak, is not named
    F = EMGFeatures(features=("kurt", "ssi"), dtype="float64").fit_transform(X)
    assert np.isfinite(F).all()
    assert np.isfinite(EMGFeatures(features=("kurt", "skew")).fit_transform(X)).all()


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: SASGAugmenter(encoder=SemanticEncoder(**{**TINY_ENC, "lr": -1.0}), **TINY_SASG),
            "'lr' parameter of SemanticEncoder",
        ),
        (
            lambda: SASGAugmenter(
                encoder=SemanticEncoder(**{**TINY_ENC, "validation_fraction": 2.0}), **TINY_SASG
            ),
            "'validation_fraction' parameter of SemanticEncoder",
        ),
        (
            lambda: FINClassifier(FeatureImitator(**{**TINY_IMI, "hidden_size": 0}), **TINY_FIN),
            "'hidden_size' parameter of FeatureImitator",
        ),
        (
            lambda: ComposedAugmenter(ClassicAugmenter(), ClassicAugmenter(jitter_sigma=-1.0)),
            "'jitter_sigma' parameter of ClassicAugmenter",
        ),
    ],
    ids=["sasg-encoder-lr", "sasg-encoder-validation", "fin-imitator", "composed-part"],
)
def test_an_estimator_passed_in_checks_its_parameters_when_fitted_inside(make, match):
    # the meta-estimators skipped nested validation: a grid point such as
    # sasgaugmenter__encoder__lr=-1 failed deep inside torch or skorch instead
    X = np.random.default_rng(0).standard_normal((36, 3, 32)).astype(np.float32)
    y = np.repeat(["fist", "open", "rest"], 12)
    with pytest.raises(InvalidParameterError, match=match):
        make().fit(X, y)


@pytest.mark.parametrize("make", [lambda: EMGFeatures("hudgins"), lambda: ClassicAugmenter()])
def test_a_bfloat16_tensor_gets_the_librarys_message(make):
    """numpy cannot read bfloat16; the error says so and how to convert, not torch's ScalarType."""
    X = torch.zeros(6, 2, 16, dtype=torch.bfloat16)
    y = np.repeat([0, 1], 3)
    with pytest.raises(TypeError, match=r"torch tensor of dtype torch.bfloat16.*\.float\(\)"):
        est = make()
        est.fit_resample(X, y) if hasattr(est, "fit_resample") else est.fit(X)


def test_a_sparse_tensor_is_named_with_the_fix():
    # the library's words: torch's own advice differs by release (2.6 names Tensor.dense())
    for X in (torch.zeros(6, 2, 16).to_sparse(), torch.zeros(6, 2, 16).to_sparse_csr()):
        with pytest.raises(TypeError, match=r"^ClassicAugmenter: X is a sparse torch tensor .*"):
            ClassicAugmenter().fit_resample(X, np.repeat([0, 1], 3))
        with pytest.raises(TypeError, match=r"X\.detach\(\)\.to_dense\(\)\.cpu\(\)"):
            ClassicAugmenter().fit_resample(X, np.repeat([0, 1], 3))
