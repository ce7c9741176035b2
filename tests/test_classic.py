"""Tests of the classic augmentations (functional.py) and ClassicAugmenter.

imbalanced-learn's ``check_estimator`` sampler checks do not apply here: they feed
2-D feature matrices ``(n_samples, n_features)``, while window samplers take 3-D
windows ``(n_windows, n_channels, n_times)`` (and reject 2-D input on purpose). The
checks that make sense for windows are run by hand below: the real data come back
first and unchanged, dtype float32/float64 is kept, labels round-trip, counts follow
``ratio``/``sampling_strategy``, clone/get_params/set_params/pickle, determinism,
NotFittedError, and each bad input.
"""

from __future__ import annotations

import pickle
import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold

from semgaug_sk.augmentation import ClassicAugmenter, n_synthetic_per_class
from semgaug_sk.augmentation.classic import CLASSIC_METHODS
from semgaug_sk.augmentation.functional import jitter, magnitude_warp, scaling, time_warp

RNG = np.random.default_rng(0)


def _windows(n_per_class=(6, 3), n_channels=3, n_times=40, amplitudes=None, seed=0):
    """Noise windows whose classes differ in amplitude; labels are strings."""
    rng = np.random.default_rng(seed)
    amplitudes = amplitudes or [1.0 + i for i in range(len(n_per_class))]
    X = np.concatenate(
        [
            a * rng.normal(size=(n, n_channels, n_times))
            for a, n in zip(amplitudes, n_per_class, strict=True)
        ]
    ).astype(np.float32)
    y = np.repeat([f"g{i}" for i in range(len(n_per_class))], n_per_class)
    return X, y


# -- functional ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "transform",
    [
        lambda X, r: jitter(X, 0.05, r),
        lambda X, r: scaling(X, 0.1, r),
        lambda X, r: magnitude_warp(X, 0.2, 4, r),
        lambda X, r: time_warp(X, 0.2, 4, r),
    ],
    ids=["jitter", "scaling", "magnitude_warp", "time_warp"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_functions_change_windows_keep_shape_dtype_and_input(transform, dtype):
    X = RNG.normal(size=(7, 3, 50)).astype(dtype)
    before = X.copy()
    out = transform(X, np.random.default_rng(1))
    assert out.shape == X.shape and out.dtype == dtype
    assert np.isfinite(out).all()
    assert np.array_equal(X, before)  # input untouched
    assert (np.abs(out - X).max(axis=(1, 2)) > 0).all()  # every window changed
    np.testing.assert_array_equal(out, transform(X, np.random.default_rng(1)))  # seeded


def test_jitter_is_relative_to_each_window_scale():
    quiet = 0.01 * RNG.normal(size=(200, 2, 100))
    loud = 10.0 * RNG.normal(size=(200, 2, 100))
    X = np.concatenate([quiet, loud])
    noise = jitter(X, 0.05, rng=0) - X
    ratio = noise.std(axis=2) / X.std(axis=2)
    np.testing.assert_allclose(ratio.mean(), 0.05, rtol=0.05)
    # the quiet class gets noise 1000x smaller than the loud one, not the same noise
    assert noise[:200].std() < 1e-3 < 0.1 < noise[200:].std()


def test_jitter_with_given_scale_and_its_errors():
    X = RNG.normal(size=(4, 2, 500))
    scale = np.array([[1.0, 0.0]] * 4)  # channel 1 gets no noise
    noise = jitter(X, 0.1, rng=0, scale=scale) - X
    assert noise[:, 1].max() == 0.0
    assert noise[:, 0].std() == pytest.approx(0.1, rel=0.1)
    with pytest.raises(ValueError, match="does not match windows"):
        jitter(X, 0.1, rng=0, scale=np.ones((3, 2)))
    with pytest.raises(ValueError, match="finite, non-negative"):
        jitter(X, 0.1, rng=0, scale=-np.ones((4, 2)))
    with pytest.raises(ValueError, match="scale must be 'window'"):
        jitter(X, 0.1, rng=0, scale="global")


def test_scaling_is_one_gain_per_window_and_channel():
    out = scaling(np.ones((50, 3, 20)), 0.1, rng=0)
    assert np.ptp(out, axis=2).max() == 0.0
    gains = out[:, :, 0]
    assert gains.std() == pytest.approx(0.1, rel=0.3)


def test_warps_with_sigma_zero_are_identities():
    X = RNG.normal(size=(5, 3, 30))
    assert np.array_equal(time_warp(X, 0.0, 4, rng=0), X)
    assert np.array_equal(magnitude_warp(X, 0.0, 4, rng=0), X)


def test_magnitude_warp_is_a_smooth_curve_around_one():
    curve = magnitude_warp(np.ones((20, 2, 200)), 0.2, 4, rng=0)
    assert np.abs(np.diff(curve, axis=2)).max() < 0.05  # smooth
    assert np.ptp(curve, axis=2).min() > 0  # not constant
    assert abs(curve.mean() - 1.0) < 0.1


def test_time_warp_is_monotone_keeps_end_points_and_shares_channels():
    t = 60
    ramp = np.broadcast_to(np.arange(t, dtype=float), (30, 2, t)).copy()
    # linear reading maps a ramp to the warped positions themselves
    out = time_warp(ramp, 0.5, 4, rng=0, interpolation="linear")
    assert (np.diff(out, axis=2) > 0).all()
    np.testing.assert_allclose(out[..., 0], 0.0)
    np.testing.assert_allclose(out[..., -1], t - 1)
    assert np.array_equal(out[:, 0], out[:, 1])  # one distortion for all channels
    assert np.abs(out - ramp).max() > 1.0  # and it does distort
    # the Lanczos read of a ramp (odd reflection at the edges) is those positions too,
    # within the kernel's small ripple, and uses the same random distortion
    lanczos = time_warp(ramp, 0.5, 4, rng=0)
    np.testing.assert_allclose(lanczos, out, atol=0.05)
    assert np.array_equal(lanczos[:, 0], lanczos[:, 1])
    assert time_warp(np.ones((2, 1, 1)), 0.2, 4, rng=0).shape == (2, 1, 1)
    for n_times in (2, 3):  # windows shorter than the kernel
        short = RNG.normal(size=(4, 2, n_times))
        assert np.isfinite(time_warp(short, 0.3, 4, rng=0)).all()


def test_time_warp_keeps_the_amplitude_of_signals_near_nyquist():
    """Raw sEMG at a low rate has power up to Nyquist; a linear read filters it out."""
    t, n = 52, 400
    rng = np.random.default_rng(0)
    freq = rng.uniform(0.2, 0.4, size=(n, 1, 1))  # cycles per sample (Nyquist: 0.5)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    X = np.sin(2 * np.pi * freq * np.arange(t) + phase) * np.ones((1, 3, 1))
    rms = np.sqrt(np.mean(X**2))
    lanczos = np.sqrt(np.mean(time_warp(X, 0.2, 4, rng=1) ** 2)) / rms
    linear = np.sqrt(np.mean(time_warp(X, 0.2, 4, rng=1, interpolation="linear") ** 2)) / rms
    assert linear < 0.85  # the loss this default fixes
    assert 0.95 < lanczos < 1.05


def test_time_warp_constant_windows_and_nonnegative_clip():
    const = np.full((5, 2, 30), 3.0)
    np.testing.assert_allclose(time_warp(const, 0.5, 4, rng=0), 3.0)
    # a sharp onset in an envelope makes the sinc kernel undershoot; the clip removes it
    onset = np.zeros((50, 1, 30))
    onset[..., 15:] = 1.0
    assert time_warp(onset, 0.5, 4, rng=0).min() < 0
    clipped = time_warp(onset, 0.5, 4, rng=0, nonnegative=True)
    assert clipped.min() == 0.0
    assert time_warp(onset, 0.5, 4, rng=0, interpolation="linear").min() == 0.0
    with pytest.raises(ValueError, match="interpolation must be one of"):
        time_warp(onset, 0.2, 4, rng=0, interpolation="cubic")


def test_functional_bad_arguments():
    X = RNG.normal(size=(2, 2, 10))
    with pytest.raises(ValueError, match="sigma must be a finite number >= 0"):
        jitter(X, -0.1, rng=0)
    with pytest.raises(ValueError, match="sigma must be a finite number >= 0"):
        scaling(X, np.nan, rng=0)
    with pytest.raises(ValueError, match="knots must be an integer >= 0"):
        magnitude_warp(X, 0.2, -1, rng=0)
    with pytest.raises(ValueError, match="must be 3-D"):
        time_warp(X[0], 0.2, 4, rng=0)


# -- sampler contract -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_resample_contract(dtype):
    X, y = _windows((6, 3))
    X = X.astype(dtype)
    X_res, y_res = ClassicAugmenter(ratio=1.5, random_state=0).fit_resample(X, y)
    n = len(X)
    assert X_res.dtype == dtype
    assert np.array_equal(X_res[:n], X) and np.array_equal(y_res[:n], y)
    assert y_res.dtype.kind == "U"  # string labels stay strings
    expected = dict(n_synthetic_per_class(y, 1.5))  # {g0: 9, g1: 5}
    assert Counter(y_res[n:].tolist()) == {str(c): k for c, k in expected.items()}
    assert len(X_res) == n + 14 and np.isfinite(X_res).all()


def test_float32_and_float64_copies_get_the_same_synthetic_windows():
    # numpy draws float32 and float64 normals by different algorithms; the noise and
    # scaling transforms draw in float32 and cast, so the dtype does not pick the stream
    X, y = _windows((6, 3))
    X = X.astype(np.float32)
    single = ClassicAugmenter(ratio=2, random_state=0).fit_resample(X, y)[0]
    double = ClassicAugmenter(ratio=2, random_state=0).fit_resample(X.astype(np.float64), y)[0]
    assert double.dtype == np.float64
    np.testing.assert_allclose(double, single, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("make", "kept_as"),
    [
        (lambda X: (X / 3).astype(">f8"), np.float64),  # big-endian, as h5py or MATLAB give
        (lambda X: (np.round(X * 1000) + 2**24 + 1).astype(np.int64), np.float64),
        (lambda X: (np.round(np.abs(X) * 1000) + 2**24 + 1).astype(np.uint32), np.float64),
        (lambda X: np.round(X * 1000).astype(np.int16), np.float32),  # float32 holds 16 bits
    ],
    ids=["big-endian float64", "int64", "uint32", "int16"],
)
@pytest.mark.filterwarnings("ignore:.*constant offset:UserWarning")  # integer codes on an offset
def test_real_windows_of_other_dtypes_come_back_with_their_values(make, kept_as):
    # these used to go to float32, which rounded the real windows a sampler returns unchanged
    X, y = _windows((6, 3))
    X = make(X)
    X_res, _ = ClassicAugmenter(random_state=0).fit_resample(X, y)
    assert X_res.dtype == kept_as
    np.testing.assert_array_equal(X_res[: len(X)], X)


def test_sampling_strategy_auto_balances_and_ratio_zero_returns_real_only():
    X, y = _windows((8, 3, 5))
    _, y_res = ClassicAugmenter(sampling_strategy="auto", random_state=0).fit_resample(X, y)
    assert set(Counter(y_res.tolist()).values()) == {8}
    X_res, y_res = ClassicAugmenter(ratio=0, random_state=0).fit_resample(X, y)
    assert np.array_equal(X_res, X) and np.array_equal(y_res, y)


def test_one_class_is_allowed():
    # Classic transforms need no other class, so a single gesture can be augmented.
    X, y = _windows((4,))
    X_res, y_res = ClassicAugmenter(random_state=0).fit_resample(X, y)
    assert len(X_res) == 12 and set(y_res.tolist()) == {"g0"}


def test_synthetic_windows_come_from_their_own_class():
    # classes with amplitudes 1 and 100: every synthetic window keeps its class's scale
    X, y = _windows((5, 5), amplitudes=[1.0, 100.0])
    X_res, y_res = ClassicAugmenter(random_state=0).fit_resample(X, y)
    rms = np.sqrt((X_res[10:] ** 2).mean(axis=(1, 2)))
    assert (rms[y_res[10:] == "g0"] < 3).all() and (rms[y_res[10:] == "g1"] > 30).all()


@pytest.mark.parametrize("method", CLASSIC_METHODS)
def test_each_method_alone_makes_new_windows(method):
    X, y = _windows((4, 4))
    aug = ClassicAugmenter(methods=method, random_state=0)
    X_res, _ = aug.fit_resample(X, y)
    assert aug.methods_ == (method,)
    synthetic = X_res[len(X) :]
    # no synthetic window is an exact copy of a real one
    diff = np.abs(synthetic[:, None] - X[None]).max(axis=(2, 3))
    assert (diff.min(axis=1) > 0).all()
    assert np.isfinite(synthetic).all()


def test_methods_are_applied_in_the_fixed_order_whatever_the_given_order():
    X, y = _windows((4, 4))
    a = ClassicAugmenter(methods=["jitter", "time_warp"], random_state=3).fit_resample(X, y)
    b = ClassicAugmenter(methods=("time_warp", "jitter"), random_state=3).fit_resample(X, y)
    assert np.array_equal(a[0], b[0])


def test_jitter_scale_per_window_and_per_class_keeps_quiet_classes_quiet():
    # one window per class, so the source of every synthetic window is known
    X, y = _windows((1, 1), n_times=400, amplitudes=[0.01, 10.0])
    for scale in ("window", "class"):
        aug = ClassicAugmenter(methods="jitter", jitter_scale=scale, ratio=20, random_state=0)
        X_res, y_res = aug.fit_resample(X, y)
        noise = X_res[2:] - X[np.where(y_res[2:] == "g0", 0, 1)]
        quiet, loud = noise[y_res[2:] == "g0"], noise[y_res[2:] == "g1"]
        assert quiet.std() == pytest.approx(0.05 * X[0].std(), rel=0.1)
        assert loud.std() == pytest.approx(0.05 * X[1].std(), rel=0.1)
    np.testing.assert_allclose(aug.class_std_, X.std(axis=2), rtol=1e-5)


def test_methods_per_window_applies_exactly_that_many():
    # A positive ramp, one window per class. Scaling alone keeps syn/src constant in
    # time; time warping alone keeps both end points but changes the ratio.
    t = 50
    X = np.broadcast_to(np.arange(1.0, t + 1), (2, 1, t)).copy()
    y = np.array([0, 1])
    aug = ClassicAugmenter(
        methods=("scaling", "time_warp"),
        methods_per_window=1,
        ratio=30,
        quantize=None,  # the integer ramp lies on a grid; keep the transforms' raw output
        random_state=0,
    )
    X_res, _ = aug.fit_resample(X, y)
    ratio = X_res[2:, 0] / X[0, 0]
    scaled_only = np.ptp(ratio, axis=1) < 1e-9
    warped_only = np.isclose(X_res[2:, 0, 0], 1.0) & np.isclose(X_res[2:, 0, -1], t)
    assert np.array_equal(scaled_only, ~warped_only)
    assert 0 < scaled_only.sum() < len(scaled_only)


def test_nonnegative_auto_clips_envelopes_only():
    X, y = _windows((5, 5))
    envelope = np.abs(X)
    strong = {"jitter_sigma": 2.0, "scaling_sigma": 2.0, "warp_sigma": 2.0, "random_state": 0}
    aug = ClassicAugmenter(**strong)
    X_res, _ = aug.fit_resample(envelope, y)
    assert aug.nonnegative_ and X_res.min() >= 0
    X_res, _ = ClassicAugmenter(**strong, nonnegative=False).fit_resample(envelope, y)
    assert X_res.min() < 0  # without clipping, strong jitter goes below 0
    aug = ClassicAugmenter(**strong).fit(X, y)
    assert not aug.nonnegative_


def test_generate_and_determinism():
    X, y = _windows((4, 4))
    aug = ClassicAugmenter(random_state=7).fit(X, y)
    X_a, y_a = aug.generate({"g1": 3})
    assert X_a.shape == (3, 3, 40) and y_a.tolist() == ["g1"] * 3
    X_b, _ = aug.generate({"g1": 3})
    assert not np.array_equal(X_a, X_b)  # the sampler's generator advances
    X_c, _ = ClassicAugmenter(random_state=7).fit(X, y).generate({"g1": 3})
    assert np.array_equal(X_a, X_c)  # refitting with the same seed restarts it
    r1 = ClassicAugmenter(random_state=1).fit_resample(X, y)[0]
    r2 = ClassicAugmenter(random_state=1).fit_resample(X, y)[0]
    r3 = ClassicAugmenter(random_state=2).fit_resample(X, y)[0]
    assert np.array_equal(r1, r2) and not np.array_equal(r1, r3)


def test_clone_get_set_params_and_pickle():
    aug = ClassicAugmenter(methods=("jitter",), ratio=1.0, n_knots=3, random_state=0)
    params = aug.get_params()
    assert params["methods"] == ("jitter",) and params["n_knots"] == 3
    twin = clone(aug)
    assert twin.get_params() == params and not hasattr(twin, "classes_")
    twin.set_params(ratio=3.0, methods=["scaling"])
    assert twin.ratio == 3.0 and twin.methods == ["scaling"]  # stored unchanged
    X, y = _windows((4, 4))
    aug.fit(X, y)
    restored = pickle.loads(pickle.dumps(aug))
    assert np.array_equal(restored.generate(2)[0], aug.generate(2)[0])


def test_pipeline_grid_search_over_ratio():
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.features import EMGFeatures
    from semgaug_sk.windows import sliding_windows

    rec = make_semg_gestures(n_classes=3, n_repetitions=4, n_channels=4, random_state=0)
    win = sliding_windows(rec, window_ms=200.0, step_ms=100.0)
    pipe = Pipeline(
        [
            ("aug", ClassicAugmenter(random_state=0)),
            ("feat", EMGFeatures("hudgins")),
            ("clf", LinearDiscriminantAnalysis()),
        ]
    )
    search = GridSearchCV(pipe, {"aug__ratio": [0.0, 1.0]}, cv=GroupKFold(n_splits=2))
    search.fit(win.X, win.y, groups=win.repetition)
    assert search.best_params_["aug__ratio"] in (0.0, 1.0)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_score_ > 1 / 3  # better than chance on 3 gestures
    fitted_aug = search.best_estimator_.named_steps["aug"]
    assert sum(fitted_aug.sampling_strategy_.values()) == round(
        search.best_params_["aug__ratio"] * len(win.X)
    )
    assert search.predict(win.X[:5]).shape == (5,)  # the sampler is skipped at predict


# -- bad inputs --------------------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors():
    X, y = _windows((4, 4))
    with pytest.raises(ValueError, match="must be 3-D"):
        ClassicAugmenter().fit_resample(X[:, 0], y)
    X_nan = X.copy()
    X_nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        ClassicAugmenter().fit_resample(X_nan, y)
    with pytest.raises(ValueError, match="mismatched lengths"):
        ClassicAugmenter().fit_resample(X, y[:-1])
    with pytest.raises(ValueError, match=r"unknown method\(s\) \['mixup'\]; valid methods are"):
        ClassicAugmenter(methods=("jitter", "mixup")).fit(X, y)
    with pytest.raises(ValueError, match="methods is empty"):
        ClassicAugmenter(methods=()).fit(X, y)
    with pytest.raises(ValueError, match="lists a method twice"):
        ClassicAugmenter(methods=("jitter", "jitter")).fit(X, y)
    with pytest.raises(ValueError, match="methods_per_window=3 exceeds the 2 method"):
        ClassicAugmenter(methods=("jitter", "scaling"), methods_per_window=3).fit(X, y)
    with pytest.raises(ValueError, match="'jitter_sigma' parameter"):
        ClassicAugmenter(jitter_sigma=-1).fit(X, y)
    with pytest.raises(ValueError, match="'jitter_scale' parameter"):
        ClassicAugmenter(jitter_scale="global").fit(X, y)
    with pytest.raises(ValueError, match="'n_knots' parameter"):
        ClassicAugmenter(n_knots=1.5).fit(X, y)
    with pytest.raises(NotFittedError):
        ClassicAugmenter().generate(3)


def test_integer_windows_are_cast_to_float():
    X, y = _windows((3, 3))
    X_res, _ = ClassicAugmenter(random_state=0).fit_resample((X * 100).astype(np.int16), y)
    assert X_res.dtype == np.float32


def test_synthetic_windows_of_integer_codes_stay_inside_the_codes_range():
    # 8-bit armband codes near full scale: gains above 1 used to leave 4% of the values
    # outside [-128, 127], which wrap round when a user casts the windows back to int8
    X, y = _windows((20, 20), n_times=64)
    codes = np.clip(np.round(X / np.abs(X).max() * 160), -128, 127).astype(np.int8)
    aug = ClassicAugmenter(ratio=3, random_state=0)
    X_res, _ = aug.fit_resample(codes, y)
    assert aug.integer_range_ == (-128, 127)
    np.testing.assert_array_equal(X_res[: len(codes)], codes)  # the real rows untouched
    synthetic = X_res[len(codes) :]
    assert synthetic.min() >= -128 and synthetic.max() <= 127
    assert np.array_equal(synthetic, np.rint(synthetic))
    assert np.array_equal(synthetic.astype(np.int8), synthetic)  # no wrap-around
    # float windows are not clipped, and files written before the range existed load
    assert ClassicAugmenter(random_state=0).fit(X.astype(np.float32), y).integer_range_ is None
    del aug.integer_range_
    assert len(aug.generate(5)[0]) == 10


# -- properties ---------------------------------------------------------------------------------------
@st.composite
def _window_sets(draw):
    n = draw(st.integers(1, 8))
    shape = (n, draw(st.integers(1, 3)), draw(st.integers(1, 12)))
    X = draw(
        hnp.arrays(
            np.float64, shape, elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)
        )
    )
    y = np.array(draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n)))
    return X, y


@settings(max_examples=30, deadline=None)
@given(data=_window_sets(), seed=st.integers(0, 2**16), ratio=st.sampled_from([0.5, 1.0, 2.0]))
def test_properties_real_first_seen_labels_finite(data, seed, ratio):
    X, y = data
    X_res, y_res = ClassicAugmenter(ratio=ratio, random_state=seed).fit_resample(X, y)
    n = len(X)
    assert np.array_equal(X_res[:n], X) and np.array_equal(y_res[:n], y)
    assert set(y_res[n:].tolist()) <= set(y.tolist())
    assert np.isfinite(X_res).all()
    assert X_res.shape[1:] == X.shape[1:]


@pytest.mark.parametrize("batch", [0, -3, 2.5])
def test_generate_batch_size_must_be_a_positive_integer(batch):
    X = np.random.default_rng(0).normal(size=(6, 2, 16)).astype(np.float32)
    y = np.array([0, 0, 0, 1, 1, 1])
    with pytest.raises(ValueError, match="generate_batch_size"):
        ClassicAugmenter(generate_batch_size=batch).fit_resample(X, y)


def test_time_warp_clips_even_when_it_has_nothing_to_warp():
    X = np.random.default_rng(0).normal(size=(5, 2, 30))
    for out in (time_warp(X, 0.0, nonnegative=True), time_warp(X[:, :, :1], 0.2, nonnegative=True)):
        assert out.min() == 0.0  # as jitter(X, 0.0, nonnegative=True) does


def test_jitter_takes_one_reference_std_per_channel():
    X = np.ones((4, 3, 50))
    out = jitter(X, 0.1, rng=0, scale=np.array([0.0, 1.0, 10.0]))
    spread = (out - X).std(axis=(0, 2))
    assert spread[0] == 0.0 and 0.05 < spread[1] < 0.15 and 0.5 < spread[2] < 1.5


def test_bad_methods_are_refused_even_when_nothing_is_generated():
    # a grid search's "no augmentation" point (ratio=0) must not hide the typo
    X, y = _windows((6, 3))
    for params in (dict(methods=["jitterr"]), dict(methods=["jitter"], methods_per_window=5)):
        for nothing in (dict(ratio=0.0), dict(sampling_strategy={"g0": 6, "g1": 3})):
            with pytest.raises(ValueError, match="unknown method|exceeds the 1 method"):
                ClassicAugmenter(**params, **nothing).fit_resample(X, y)


# -- review 2026-12-05 -------------------------------------------------------------------------
def _small_set(offset=0.0):
    rng = np.random.default_rng(0)
    return rng.normal(size=(12, 2, 40)).astype(np.float32) + offset, np.repeat(["fist", "open"], 6)


@pytest.mark.parametrize(
    ("fit_params", "change"),
    [({"nonnegative": "auto"}, {"nonnegative": False}), ({"quantize": "auto"}, {"quantize": None})],
)
def test_settings_decided_at_fit_refuse_a_change_after_fit(fit_params, change):
    X, y = _small_set()
    aug = ClassicAugmenter(["jitter"], random_state=0, **fit_params).fit(np.abs(X), y)
    aug.set_params(**change)
    with pytest.raises(ValueError, match=f"{next(iter(change))} changed since fit"):
        aug.generate(3)
    aug.set_params(**fit_params)  # back to the fitted value: generates again
    assert aug.generate(3)[0].shape == (6, 2, 40)


@pytest.mark.parametrize("amplitude", [1e-25, 2e19])
def test_jitter_on_float32_at_extreme_amplitudes(amplitude):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(20, 2, 200)) * amplitude).astype(np.float32)
    out = jitter(X, 0.05, rng=0)
    noise = (out.astype(np.float64) - X) / (0.05 * X.astype(np.float64).std(axis=2, keepdims=True))
    assert np.isfinite(out).all()
    assert noise.std() == pytest.approx(1.0, rel=0.05)  # neither lost nor overflowed


def test_only_scaling_methods_warn_about_a_dc_offset():
    X, y = _small_set(offset=2048.0)
    for methods in (["jitter"], ["time_warp"]):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ClassicAugmenter(methods, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match="offset"):
        ClassicAugmenter(["scaling"], random_state=0).fit(X, y)


def test_augment_refuses_to_return_overflowed_windows():
    X = np.full((4, 2, 20), 3e38, np.float32)
    X[:, :, ::2] *= -1
    aug = ClassicAugmenter(["scaling"], scaling_sigma=0.5, quantize=None, random_state=0)
    aug.fit(X, [0, 0, 1, 1])
    with pytest.raises(FloatingPointError, match=r"augment: \d+ augmented value\(s\) are NaN"):
        aug.augment(X, [0, 0, 1, 1])


def test_fractional_sampling_strategy_counts_are_refused():
    X = np.random.default_rng(0).normal(size=(10, 2, 20))
    y = np.array(["a"] * 6 + ["b"] * 4)
    with pytest.raises(ValueError, match=r"fractional number of windows of the classes \['b'\]"):
        ClassicAugmenter(sampling_strategy={"b": 8.9}, random_state=0).fit_resample(X, y)
    X_res, _ = ClassicAugmenter(sampling_strategy={"b": 8}, random_state=0).fit_resample(X, y)
    assert len(X_res) == 14
    with pytest.raises(ValueError, match="With one class there is nothing to balance"):
        ClassicAugmenter(sampling_strategy="auto", random_state=0).fit_resample(X, ["a"] * 10)


def test_a_refit_with_nothing_to_generate_drops_the_earlier_training():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 2, 20)), [0] * 5 + [1] * 5
    aug = ClassicAugmenter(random_state=0).fit(X, y)
    assert aug.class_std_.shape == (2, 2)
    aug.set_params(ratio=0).fit_resample(rng.normal(size=(9, 2, 20)), [0, 1, 2] * 3)
    assert aug.classes_.tolist() == [0, 1, 2]
    for stale in ("class_std_", "methods_", "nonnegative_", "_X_fit"):
        assert not hasattr(aug, stale), stale
    assert aug.set_params(ratio=1).fit(X, y).class_std_.shape == (2, 2)


def test_the_clip_bounds_of_64_bit_codes_do_not_round_out_of_range():
    # int64's highest code, 2**63 - 1, is 2**63 in float64: a cast back would wrap round
    from semgaug_sk.augmentation.base import _representable_bounds

    for dtype in (np.int64, np.uint64, np.int32, np.int16):
        codes = (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
        for floats in (np.float32, np.float64):
            lowest, highest = _representable_bounds(codes, np.dtype(floats))
            assert codes[0] <= int(lowest) and int(highest) <= codes[1]
            assert int(highest) > codes[1] * (1 - 1e-6)  # the top of the range, not below
    X, y = _windows((10, 10))
    codes = np.clip(X / np.abs(X).max() * 2.0**63 * 1.5, -(2.0**63), 2.0**63 - 2**11)
    X_res, _ = ClassicAugmenter(ratio=3, random_state=0).fit_resample(codes.astype(np.int64), y)
    assert X_res.dtype == np.float64 and X_res.max() < 2.0**63


def test_a_refit_forgets_the_sources_of_an_earlier_generation():
    """``last_sources_`` indexes the windows it was made from: a new fit drops it, as a fresh
    sampler has none."""
    from semgaug_sk.augmentation import ComposedAugmenter

    rng = np.random.default_rng(0)
    XA, yA = rng.normal(size=(30, 2, 16)).astype("float32"), np.repeat([0, 1, 2], 10)
    XB, yB = rng.normal(size=(6, 2, 16)).astype("float32"), np.repeat([0, 1], 3)
    for make in (
        lambda: ClassicAugmenter(random_state=0),
        lambda: ComposedAugmenter(
            ClassicAugmenter(["scaling"]), ClassicAugmenter(["jitter"]), random_state=0
        ),
    ):
        aug = make()
        aug.fit_resample(XA, yA)
        assert aug.last_sources_.max() >= len(XB)
        aug.fit(XB, yB)
        assert not hasattr(aug, "last_sources_") and not hasattr(
            make().fit(XB, yB), "last_sources_"
        )
        aug.fit_resample(XB, yB)
        assert aug.last_sources_.max() < len(XB)


def test_integer_codes_in_a_torch_tensor_are_clipped_like_numpy_codes():
    """A tensor of int16 codes is ADC codes too: synthetic windows stay in int16's range."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X = np.clip(rng.normal(0, 12000, size=(20, 2, 32)), -32768, 32767).astype(np.int16)
    y = np.repeat([0, 1], 10)
    aug = ClassicAugmenter(methods=("scaling",), scaling_sigma=0.5, random_state=0)
    X_np, _ = clone(aug).fit_resample(X, y)
    X_t, _ = aug.fit_resample(torch.from_numpy(X), y)
    assert aug.integer_range_ == (-32768, 32767)
    np.testing.assert_array_equal(X_t, X_np)
    assert X_t.max() <= 32767 and X_t.min() >= -32768
