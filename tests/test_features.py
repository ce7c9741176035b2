"""Tests of semgaug_sk.features: kernel values, closed-form references, laws, layout, bad input."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

from semgaug_sk import features as F
from semgaug_sk.features import (
    FEATURE_GROUPS,
    FEATURE_MIN_TIMES,
    FEATURE_NAMES,
    ConstantFeatureWarning,
    EMGFeatures,
    extract_features,
    resolve_features,
)

REPO = Path(__file__).resolve().parents[1]
HYPO = settings(max_examples=40, deadline=None)


# --------------------------------------------------------------------------------------
# Independent per-window references (plain numpy/scipy/python on one 1-D window)
# --------------------------------------------------------------------------------------
def _ref_zc(w, thr):
    return sum(1 for i in range(len(w) - 1) if w[i] * w[i + 1] < 0 and abs(w[i] - w[i + 1]) >= thr)


def _ref_ssc(w, thr):
    count = 0
    for i in range(1, len(w) - 1):
        p = (w[i] - w[i - 1]) * (w[i] - w[i + 1])
        if p > 0 and p >= thr:
            count += 1
    return count


def _ref_wamp(w, thr):
    return sum(1 for i in range(len(w) - 1) if abs(w[i] - w[i + 1]) > thr)


def _ref_mobility(w):
    return np.sqrt(np.var(np.diff(w)) / np.var(w))


def _ref_periodogram(w, fs):
    # scipy.signal.periodogram defaults: boxcar window, constant detrend, one-sided density
    return scipy.signal.periodogram(w, fs=fs)


def _ref_mnf(w, fs):
    f, p = _ref_periodogram(w, fs)
    return np.sum(f * p) / np.sum(p)


def _ref_mdf(w, fs):
    f, p = _ref_periodogram(w, fs)
    cum = np.cumsum(p)
    return f[np.searchsorted(cum, cum[-1] / 2)]


REFERENCES = {
    "rms": lambda w, **k: np.sqrt(np.mean(w**2)),
    "var": lambda w, **k: np.var(w),
    "ssi": lambda w, **k: np.sum(w**2),
    "ent": lambda w, **k: scipy.stats.entropy(scipy.special.softmax(w)),
    "mav": lambda w, **k: np.mean(np.abs(w)),
    "iav": lambda w, **k: np.sum(np.abs(w)),
    "wl": lambda w, **k: np.sum(np.abs(np.diff(w))),
    "zc": lambda w, thr, **k: _ref_zc(w, thr),
    "ssc": lambda w, thr, **k: _ref_ssc(w, thr**2),
    "wamp": lambda w, thr, **k: _ref_wamp(w, thr),
    "dasdv": lambda w, **k: np.sqrt(np.mean(np.diff(w) ** 2)),
    "log": lambda w, **k: np.exp(np.mean(np.log(np.maximum(np.abs(w), 1e-10)))),
    "mnf": lambda w, fs, **k: _ref_mnf(w, fs),
    "mdf": lambda w, fs, **k: _ref_mdf(w, fs),
    "hjorth_mobility": lambda w, **k: _ref_mobility(w),
    "hjorth_complexity": lambda w, **k: _ref_mobility(np.diff(w)) / _ref_mobility(w),
    "skew": lambda w, **k: scipy.stats.skew(w, bias=True),
    "kurt": lambda w, **k: scipy.stats.kurtosis(w, fisher=True, bias=True),
}


def _windows(n=6, ch=3, t=57, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=2.0, size=(n, ch, t)).astype(dtype)


def test_references_cover_every_feature():
    assert set(REFERENCES) == set(FEATURE_NAMES)


@pytest.mark.parametrize("name", FEATURE_NAMES)
@pytest.mark.parametrize("t", [57, 64])  # odd and even lengths (the Nyquist bin)
def test_values_match_independent_reference(name, t):
    X = _windows(t=t)
    X[0, 0] += 5.0  # an offset, to exercise mean removal
    thr = 0.7  # ssc gets thr**2: the dict form sets it in squared units
    fs = 250.0
    threshold = {"zc": thr, "ssc": thr**2, "wamp": thr}
    got = extract_features(X, name, threshold=threshold, fs=fs)[..., 0]
    expected = np.array([[REFERENCES[name](w, thr=thr, fs=fs) for w in windows] for windows in X])
    assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    # the 1-D kernel on one window agrees with the window-set function
    kernel = getattr(F, name)
    kwargs = {"threshold": threshold[name]} if name in F.THRESHOLD_FEATURES else {}
    kwargs.update({"fs": fs} if name in ("mnf", "mdf") else {})
    assert_allclose(kernel(X[2, 1], **kwargs), expected[2, 1], rtol=1e-9, atol=1e-12)
    assert_allclose(kernel(X, **kwargs), got, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["rms", "zc", "mdf", "kurt"])
def test_kernels_accept_any_leading_shape(name):
    X = _windows(n=4, ch=2, t=40).reshape(2, 2, 2, 40)
    kernel = getattr(F, name)
    out = kernel(X)
    assert out.shape == (2, 2, 2)
    assert_array_equal(out.reshape(4, 2), kernel(X.reshape(4, 2, 40)))
    assert kernel(X[0, 0, 0]).shape == ()


# --------------------------------------------------------------------------------------
# Hand-worked counts
# --------------------------------------------------------------------------------------
HAND = np.array([1.0, -2.0, -1.0, 0.0, 3.0, 2.5, -0.5])
# diffs d_i = x_{i+1} - x_i:      [-3, 1, 1, 3, -0.5, -3]
# products x_i * x_{i+1}:         [-2, 2, -0, 0, 7.5, -1.25]
# p_i = (x_i - x_{i-1})(x_i - x_{i+1}) for i = 1..5:
#   i=1: (-3)(-1) = 3 ; i=2: (1)(-1) = -1 ; i=3: (1)(-3) = -3 ; i=4: (3)(0.5) = 1.5 ;
#   i=5: (-0.5)(3) = -1.5


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        # sign changes at (1, -2) and (2.5, -0.5); (-1, 0) and (0, 3) touch 0: no strict change
        (0.0, 2),
        # the steps of those two crossings are |1 - -2| = 3 and |2.5 - -0.5| = 3: ">= 3" keeps both
        (3.0, 2),
        (3.01, 0),
    ],
)
def test_zc_hand_worked(threshold, expected):
    assert F.zc(HAND, threshold=threshold) == expected


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        # strict extrema: x_1 = -2 (p=3) and x_4 = 3 (p=1.5)
        (0.0, 2),
        # p >= 2: only p_1 = 3
        (2.0, 1),
        # p >= 3 still keeps p_1 = 3 (inclusive), p >= 3.5 keeps none
        (3.0, 1),
        (3.5, 0),
    ],
)
def test_ssc_hand_worked(threshold, expected):
    assert F.ssc(HAND, threshold=threshold) == expected


def test_ssc_flat_run_is_not_a_slope_change():
    # [0, 1, 1, 0]: p_1 = (1)(0) = 0 and p_2 = (0)(1) = 0 -> no strict extremum (Phinyomark's
    # "p >= 0" would count 2); a constant window has none either
    assert F.ssc([0.0, 1.0, 1.0, 0.0]) == 0
    assert F.ssc(np.full(10, 4.0)) == 0


def _ref_ssc_reference(w, thr):
    """LibEMG / Phinyomark et al.: every p_i >= threshold counts, ties included."""
    return sum(1 for i in range(1, len(w) - 1) if (w[i] - w[i - 1]) * (w[i] - w[i + 1]) >= thr)


def test_ssc_reference_convention_counts_ties():
    assert F.ssc([0.0, 1.0, 1.0, 0.0], convention="reference") == 2
    assert F.ssc(np.full(10, 4.0), convention="reference") == 8
    assert F.ssc(HAND, convention="reference") == _ref_ssc_reference(HAND, 0.0)


@pytest.mark.parametrize("threshold", [0.0, 0.5, 3.0])
def test_ssc_conventions_match_their_references_on_quantised_windows(threshold):
    # integer-valued windows, as armbands deliver: ties (p_i = 0) are common
    X = np.random.default_rng(3).integers(-3, 4, size=(40, 2, 30)).astype(np.float64)
    thresholds = {"ssc": threshold}
    strict = extract_features(X, "ssc", threshold=thresholds)[..., 0]
    reference = extract_features(X, "ssc", threshold=thresholds, ssc_convention="reference")[..., 0]
    flat = X.reshape(-1, X.shape[-1])
    assert_array_equal(strict.ravel(), [_ref_ssc(w, threshold) for w in flat])
    assert_array_equal(reference.ravel(), [_ref_ssc_reference(w, threshold) for w in flat])
    if threshold > 0:
        assert_array_equal(strict, reference)  # the conventions differ only at threshold 0
    else:
        assert (reference > strict).any() and (reference >= strict).all()


def test_emgfeatures_ssc_convention_is_a_parameter():
    X = np.random.default_rng(4).integers(-2, 3, size=(10, 3, 25)).astype(np.float32)
    strict = EMGFeatures("hudgins").fit_transform(X)
    reference = EMGFeatures("hudgins", ssc_convention="reference").fit_transform(X)
    ssc_cols = [
        i
        for i, n in enumerate(EMGFeatures("hudgins").fit(X).get_feature_names_out())
        if n.endswith("_ssc")
    ]
    other = np.setdiff1d(np.arange(X.shape[1] * 4), ssc_cols)
    assert_array_equal(strict[:, other], reference[:, other])
    assert (reference[:, ssc_cols] >= strict[:, ssc_cols]).all()
    assert clone(EMGFeatures(ssc_convention="reference")).ssc_convention == "reference"


@pytest.mark.parametrize("bad", ["libemg", None, 1])
def test_ssc_convention_errors_name_the_choices(bad):
    X = np.zeros((2, 1, 10))
    with pytest.raises(ValueError, match="ssc_convention must be 'strict'.*'reference'"):
        extract_features(X, "ssc", ssc_convention=bad)
    with pytest.raises(ValueError, match="EMGFeatures: ssc_convention must be"):
        EMGFeatures("ssc", ssc_convention=bad).fit(X)
    with pytest.raises(ValueError, match="ssc: ssc_convention must be"):
        F.ssc(X, convention=bad)


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        # |d| = [3, 1, 1, 3, 0.5, 3]: all 6 are > 0
        (0.0, 6),
        # > 0.75: all but 0.5
        (0.75, 5),
        # > 1 (strict): the three 3s
        (1.0, 3),
        # > 3 (strict): none
        (3.0, 0),
    ],
)
def test_wamp_hand_worked(threshold, expected):
    assert F.wamp(HAND, threshold=threshold) == expected


def test_wamp_threshold_zero_skips_flat_steps():
    # [1, 1, 2]: steps 0 and 1 -> one step > 0
    assert F.wamp([1.0, 1.0, 2.0]) == 1


def test_threshold_dict_sets_features_apart():
    X = HAND[np.newaxis, np.newaxis]
    got = extract_features(X, ("zc", "ssc", "wamp"), threshold={"ssc": 2.0})[0, 0]
    assert_array_equal(got, [2, 1, 6])
    got = extract_features(X, ("zc", "ssc", "wamp"), threshold=1.0)[0, 0]
    assert_array_equal(got, [2, 2, 3])


# --------------------------------------------------------------------------------------
# Closed-form ("published") reference values, within 1 %
# --------------------------------------------------------------------------------------
# Feature definitions: Phinyomark, Phukpattaranont & Limsakul, Expert Syst. Appl. 39:7420
# (2012); Hjorth, Electroencephalogr. Clin. Neurophysiol. 29:306 (1970). Closed forms for
# x(t) = A sin(2 pi f t / fs + phi) over an integer number k = f N / fs of cycles:
#   RMS = A / sqrt(2);  VAR = A^2 / 2;  MAV = 2A / pi (mean of |sin| is 2/pi);  IAV = N MAV;
#   WL = 4 A k (each cycle rises and falls by 2A);  ZC = SSC = 2 k (two zeros and two
#   extrema per cycle); DASDV = sqrt(2) A sin(pi f / fs) (the difference of a sampled sine
#   is a sine of amplitude 2A sin(w/2), w = 2 pi f / fs);  SKEW = 0;  KURT = E[sin^4] /
#   E[sin^2]^2 - 3 = (3/8) / (1/4) - 3 = -1.5;  LOG = A exp(mean log|sin|) = A / 2;
#   Hjorth mobility = 2 sin(w / 2) (~w), complexity = 1;  MNF = MDF = f.
# A square wave of amplitude A: RMS = MAV = LOG = A, VAR = A^2, SKEW = 0, KURT = -2,
# WL = 2A per transition. A ramp x_i = i: VAR = (N^2 - 1) / 12 (discrete uniform),
# KURT = -6 (N^2 + 1) / (5 (N^2 - 1)) (-> -1.2), DASDV = 1, WL = N - 1.
A, FS, FREQ, N, PHI = 2.0, 2000.0, 20.0, 2000, 0.3  # 100 samples per cycle, k = 20 cycles
K = FREQ * N / FS
W = 2 * np.pi * FREQ / FS
SINE = A * np.sin(W * np.arange(N) + PHI)  # phase 0.3: no sample is exactly 0

SINE_EXPECTED = {
    "rms": A / np.sqrt(2),
    "var": A**2 / 2,
    "ssi": N * A**2 / 2,
    "mav": 2 * A / np.pi,
    "iav": 2 * A * N / np.pi,
    "wl": 4 * A * K,
    "zc": 2 * K,
    "ssc": 2 * K,
    "dasdv": np.sqrt(2) * A * np.sin(W / 2),
    "kurt": -1.5,
    "log": A / 2,
    "hjorth_mobility": 2 * np.sin(W / 2),
    "hjorth_complexity": 1.0,
    "mnf": FREQ,
    "mdf": FREQ,
}


@pytest.mark.parametrize("name", sorted(SINE_EXPECTED))
def test_sinusoid_closed_form(name):
    got = extract_features(SINE[np.newaxis, np.newaxis], name, fs=FS)[0, 0, 0]
    assert got == pytest.approx(SINE_EXPECTED[name], rel=0.01)


def test_sinusoid_skew_is_zero_and_float32_agrees():
    assert abs(F.skew(SINE)) < 0.01
    got32 = extract_features(SINE.astype(np.float32)[None, None], tuple(SINE_EXPECTED), fs=FS)
    for j, name in enumerate(SINE_EXPECTED):
        assert got32[0, 0, j] == pytest.approx(SINE_EXPECTED[name], rel=0.01), name


def test_square_wave_closed_form():
    t = np.arange(2000)
    x = np.where((t // 10) % 2 == 0, A, -A)  # period 20 samples, 199 transitions
    got = dict(zip(FEATURE_NAMES, extract_features(x[None, None], "all")[0, 0], strict=True))
    for name, value in {"rms": A, "mav": A, "log": A, "var": A**2, "kurt": -2.0}.items():
        assert got[name] == pytest.approx(value, rel=0.01), name
    assert got["skew"] == pytest.approx(0.0, abs=0.01)
    assert got["zc"] == 199
    assert got["wl"] == pytest.approx(2 * A * 199, rel=0.01)


def test_ramp_closed_form():
    n = 50
    x = np.arange(n, dtype=float)
    got = dict(zip(FEATURE_NAMES, extract_features(x[None, None], "all")[0, 0], strict=True))
    assert got["var"] == pytest.approx((n**2 - 1) / 12, rel=1e-12)
    assert got["kurt"] == pytest.approx(-6 * (n**2 + 1) / (5 * (n**2 - 1)), rel=1e-9)
    assert got["skew"] == pytest.approx(0.0, abs=1e-9)
    assert got["dasdv"] == pytest.approx(1.0)
    assert got["wl"] == n - 1
    assert got["zc"] == 0 and got["ssc"] == 0
    # the derivative is constant: var(diff) = 0, so mobility is 0 and complexity 0/0 -> 0
    assert got["hjorth_mobility"] == 0 and got["hjorth_complexity"] == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_with_exact_zeros_does_not_depend_on_the_units(dtype):
    # quantised recordings (8-bit armbands) hold exact zeros; an absolute floor made the
    # feature of counts and of volts disagree (0.0053 against 0.168 after rescaling)
    x = np.array([[0.0, 1.0, 2.0, 4.0], [0.0, 0.0, 3.0, -5.0]], dtype=dtype)
    ref = F.log(x)
    assert ref.dtype == dtype and np.all(ref > 0)
    for scale in (2.0**-20, 2.0**-10, 2.0**10):
        assert_allclose(F.log(x * dtype(scale)) / dtype(scale), ref, rtol=1e-6)
    # also for subnormal peaks: the feature never exceeds the window's largest |x|
    tiny = np.finfo(dtype).tiny
    subnormal = np.array([[tiny / 16] + [tiny / 32] * 7], dtype=dtype)
    assert F.log(subnormal)[0] <= tiny / 16
    assert_allclose(F.log(subnormal * dtype(2.0**40)) / dtype(2.0**40), F.log(subnormal), rtol=0.1)
    # the floor is LOG_FLOOR times the window's largest |x|
    expected = np.exp(np.mean(np.log([4e-10, 1.0, 2.0, 4.0])))
    assert_allclose(F.log(x[:1].astype(np.float64)), [expected], rtol=1e-12)


def test_constant_and_degenerate_windows_are_defined():
    X = np.stack([np.full((2, 16), 3.0), np.zeros((2, 16))])
    got = dict(zip(FEATURE_NAMES, np.moveaxis(extract_features(X, "all"), -1, 0), strict=True))
    assert np.isfinite(extract_features(X, "all")).all()
    for name in ("var", "wl", "zc", "ssc", "wamp", "dasdv", "mnf", "mdf", "skew", "kurt"):
        assert_array_equal(got[name], 0.0, err_msg=name)
    for name in ("hjorth_mobility", "hjorth_complexity"):
        assert_array_equal(got[name], 0.0, err_msg=name)
    # softmax of a constant window is uniform: ENT = log(n)
    assert_allclose(got["ent"], np.log(16))
    # a window of zeros gives 0 (the floor is relative to its largest |x|)
    assert_array_equal(got["log"][1], 0.0)
    # one-sample windows: features that need 1 sample are defined
    one = extract_features(np.ones((3, 2, 1)), ("rms", "var", "ent", "skew", "kurt", "log"))
    assert_allclose(one[..., 0], 1.0)
    assert_array_equal(one[..., 1:5], 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_skew_and_kurt_of_any_constant_window_are_zero(dtype):
    # the float64 mean, summed with einsum, could leave a residue just above
    # moments_zero's bound (95 of 200 random levels at 200 samples gave skew +-1, kurt -2)
    levels = np.random.default_rng(0).uniform(-10, 10, 200)
    for n in (3, 100, 200, 1000, 4096, 5000):
        X = np.repeat(levels[:, None], n, axis=1).astype(dtype)
        assert_array_equal(F.skew(X), 0.0, err_msg=f"skew, n={n}")
        assert_array_equal(F.kurt(X), 0.0, err_msg=f"kurt, n={n}")
        got = extract_features(X[:, None, :], ("skew", "kurt"))
        assert_array_equal(got, 0.0, err_msg=f"extract_features, n={n}")


def test_emg_features_warns_when_ent_saturates_at_large_amplitudes():
    X = np.random.default_rng(0).normal(size=(40, 3, 50)) * 1e4  # raw ADC counts
    with pytest.warns(UserWarning, match=r"EMGFeatures: 'ent' of these windows is typically"):
        EMGFeatures().fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        EMGFeatures().fit(X / 1e4)  # RMS about 1
        EMGFeatures(["rms", "mav"]).fit(X)  # no ent, nothing to say
        EMGFeatures().fit(np.random.default_rng(1).normal(size=(40, 3, 50)) * 6)  # Myo-like


def test_thresholds_compare_in_the_windows_dtype_without_overflow():
    x = np.array([0, 1, 1, 1, 2, 2, 0.5, -1, 3])
    for dtype in (np.float32, np.float64):
        xd = x.astype(dtype)
        # a threshold float32 rounds to 0 is the strict 0 (flat runs never count)
        assert F.ssc(xd, threshold=1e-46) == F.ssc(x, threshold=0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "overflow encountered in cast"
            assert F.ssc(xd, threshold=1e300) == 0
            assert F.zc(xd, threshold=1e300) == 0
            assert F.wamp(xd, threshold=1e300) == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_spectral_features_of_constant_windows_are_zero_despite_fft_rounding(dtype):
    # rfft leaks rounding noise of a constant window's mean into every bin; that noise over
    # itself read as a frequency (0.0024 in float32 over 20 samples gave mnf 15 Hz at 100 Hz)
    rng = np.random.default_rng(0)
    levels = np.concatenate([[0.0024, 3.0, -7.5, 1e-6, 1e6], rng.uniform(-5, 5, 20)])
    for n in (2, 3, 20, 50, 97, 200):
        X = np.repeat(levels[:, None], n, axis=1).astype(dtype)
        assert_array_equal(F.mnf(X, fs=100.0), 0.0, err_msg=f"mnf, n={n}")
        assert_array_equal(F.mdf(X, fs=100.0), 0.0, err_msg=f"mdf, n={n}")
    # one step in an otherwise flat window is power, and keeps its frequency
    step = np.full(20, 0.0024, dtype=dtype)
    step[10:] += 0.001
    assert F.mnf(step, fs=100.0) > 0 and F.mdf(step, fs=100.0) > 0


@pytest.mark.parametrize(
    "name", ["skew", "kurt", "mnf", "mdf", "hjorth_mobility", "hjorth_complexity", "rms", "wl"]
)
def test_kernels_carry_nan_into_the_result(name):
    # the pure kernels do not validate: NaN must come out as NaN, not as a plausible 0 or -3
    x = np.array([[np.nan, 1.0, 2.0, 0.5, 1.5], [0.0, 1.0, 2.0, 0.5, 1.5]])
    out = getattr(F, name)(x)
    assert np.isnan(out[0]) and np.isfinite(out[1])


def test_kernels_accept_no_windows():
    for name in FEATURE_NAMES:
        out = getattr(F, name)(np.zeros((0, 10)))
        assert out.shape == (0,), name


def test_ent_is_stable_for_large_values():
    x = np.array([1e6, 1e6 - 1.0, -1e6])
    p = scipy.special.softmax(x)
    assert F.ent(x) == pytest.approx(scipy.stats.entropy(p), rel=1e-9)
    assert F.ent(np.array([1e30, 0.0, 0.0])) == 0.0


# --------------------------------------------------------------------------------------
# Laws (hypothesis)
# --------------------------------------------------------------------------------------
# |x| in [1e-6, 1e3] or 0: squares neither overflow nor lose precision as subnormals
finite = st.one_of(st.just(0.0), st.floats(1e-6, 1e3), st.floats(-1e3, -1e-6))
window_sets = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=3, max_side=40),
    elements=finite,
)


@HYPO
@given(X=window_sets, a=st.one_of(st.just(0.0), st.floats(1e-3, 100), st.floats(-100, -1e-3)))
def test_rms_is_absolutely_homogeneous(X, a):
    assert_allclose(F.rms(a * X), abs(a) * F.rms(X), rtol=1e-12, atol=1e-300)


@HYPO
@given(X=window_sets, c=st.floats(-1e3, 1e3, allow_nan=False))
def test_var_is_shift_invariant(X, c):
    scale = (np.abs(X).max() + abs(c)) ** 2
    assert_allclose(F.var(X + c), F.var(X), rtol=0, atol=1e-12 * scale + 1e-300)


@HYPO
@given(X=window_sets, threshold=st.sampled_from([0.0, 0.5, 10.0]))
def test_counts_unchanged_by_sign_flip(X, threshold):
    assert_array_equal(F.zc(-X, threshold), F.zc(X, threshold))
    assert_array_equal(F.ssc(-X, threshold), F.ssc(X, threshold))
    assert_array_equal(F.wamp(-X, threshold), F.wamp(X, threshold))


@HYPO
@given(X=window_sets)
def test_ssi_is_n_times_rms_squared(X):
    assert_allclose(F.ssi(X), X.shape[-1] * F.rms(X) ** 2, rtol=1e-12, atol=1e-300)


@HYPO
@given(
    X=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=30),
        elements=st.floats(-1e12, 1e12, allow_nan=False),
    )
)
def test_ent_is_bounded_by_log_n(X):
    h = F.ent(X)
    assert np.all(h >= 0)
    assert np.all(h <= np.log(X.shape[-1]))


@HYPO
@given(
    seed=st.integers(0, 2**32 - 1),
    n_times=st.integers(3, 300),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
    offset=st.sampled_from([0.0, 1.0]),
)
def test_float32_output_is_float32_and_close_to_float64(seed, n_times, scale, offset):
    rng = np.random.default_rng(seed)
    X32 = ((rng.normal(size=(4, 2, n_times)) + offset) * scale).astype(np.float32)
    F32 = extract_features(X32, "all", fs=100.0)
    F64 = extract_features(X32.astype(np.float64), "all", fs=100.0)
    assert F32.dtype == np.float32 and F64.dtype == np.float64
    for j, name in enumerate(FEATURE_NAMES):
        a, b = F32[..., j], F64[..., j]
        if name in ("zc", "ssc", "wamp"):
            assert_array_equal(a, b, err_msg=name)
        elif name == "mdf":  # a bin frequency: rounding may move it by at most one bin
            assert np.all(np.abs(a - b) <= 100.0 / n_times + 1e-6), name
        elif name in ("skew", "kurt", "ent"):
            assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg=name)
        else:
            assert_allclose(a, b, rtol=2e-4, atol=1e-5 * np.abs(b).max(), err_msg=name)


@pytest.mark.parametrize("offset, sd", [(1e4, 0.05), (1e4, 1.0), (2048.0, 1.0)])
def test_float32_on_a_large_offset_keeps_spectrum_and_moments(offset, sd):
    # raw ADC counts at rest: the mean's rounding must not leak into the FFT bins or skew
    rng = np.random.default_rng(0)
    X = (offset + sd * rng.normal(size=(100, 1, 200))).astype(np.float32)
    X64 = X.astype(np.float64)
    got = extract_features(X, ["mnf", "mdf", "skew", "kurt", "var"], fs=1000.0)
    f, P = scipy.signal.periodogram(X64, fs=1000.0, axis=-1)
    mdf = f[np.argmax(np.cumsum(P, -1) >= 0.5 * P.sum(-1, keepdims=True), axis=-1)]
    assert_allclose(got[..., 0], (P * f).sum(-1) / P.sum(-1), rtol=2e-6)
    assert_array_equal(got[..., 1], mdf.astype(np.float32))
    assert_allclose(got[..., 2], scipy.stats.skew(X64, axis=-1), atol=2e-6)
    assert_allclose(got[..., 3], scipy.stats.kurtosis(X64, axis=-1), atol=2e-5)
    assert_allclose(got[..., 4], X64.var(-1), rtol=2e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hjorth_complexity_of_a_ramp_with_inexact_steps_is_zero(dtype):
    # documented as 0 (a constant derivative); rounding used to give 1e7-1e16
    for ramp in (np.linspace(0, 1, 50) * 0.1 + 0.3, np.arange(50) * 0.1):
        assert F.hjorth_complexity(ramp.astype(dtype)) == 0


# --------------------------------------------------------------------------------------
# Names, groups, layout
# --------------------------------------------------------------------------------------
def test_feature_names_and_groups():
    assert FEATURE_NAMES == (
        "rms", "var", "ssi", "ent", "mav", "iav", "wl", "zc", "ssc", "wamp", "dasdv",
        "log", "mnf", "mdf", "hjorth_mobility", "hjorth_complexity", "skew", "kurt",
    )  # fmt: skip
    assert FEATURE_GROUPS["fin"] == ("rms", "var", "ssi", "ent")
    assert FEATURE_GROUPS["hudgins"] == ("mav", "wl", "zc", "ssc")
    assert FEATURE_GROUPS["all"] == FEATURE_NAMES
    assert set(FEATURE_GROUPS["td"]) <= set(FEATURE_NAMES)
    assert set(FEATURE_MIN_TIMES) == set(FEATURE_NAMES)
    for group, names in FEATURE_GROUPS.items():
        assert resolve_features(group) == names


def test_resolve_features_mixes_dedupes_and_keeps_order():
    assert resolve_features("zc") == ("zc",)
    assert resolve_features(["ssc", "hudgins", "RMS", "fin", "zc"]) == (
        "ssc", "mav", "wl", "zc", "rms", "var", "ssi", "ent",
    )  # fmt: skip
    assert resolve_features(iter(["wl", "wl"])) == ("wl",)


def test_resolve_features_errors():
    with pytest.raises(ValueError, match=r"Unknown feature 'rmss'.*rms.*hjorth_mobility.*hudgins"):
        resolve_features(["rmss"])
    with pytest.raises(ValueError, match="features is empty"):
        resolve_features([])
    with pytest.raises(TypeError, match="strings"):
        resolve_features(["rms", 3])
    with pytest.raises(TypeError, match="iterable of names"):
        resolve_features(7)


def test_extract_features_layout():
    X = _windows(n=5, ch=3, t=30)
    names = ("wl", "rms", "zc")
    out = extract_features(X, names)
    assert out.shape == (5, 3, 3)
    for j, name in enumerate(names):
        assert_array_equal(out[:, :, j], getattr(F, name)(X))


def test_transformer_is_channel_major():
    X = _windows(n=5, ch=3, t=30)
    est = EMGFeatures(features=["mav", "wl"]).fit(X)
    Z = est.transform(X)
    names = est.get_feature_names_out()
    assert names.tolist() == ["ch0_mav", "ch0_wl", "ch1_mav", "ch1_wl", "ch2_mav", "ch2_wl"]
    assert names.dtype == object
    assert Z.shape == (5, 6)
    for col, name in enumerate(names):
        ch, feature = name.split("_", 1)
        assert_array_equal(Z[:, col], getattr(F, feature)(X[:, int(ch[2:])]))
    assert est.feature_names_ == ("mav", "wl")
    assert (est.n_channels_, est.n_times_, est.n_features_in_) == (3, 30, 90)


@pytest.mark.filterwarnings("ignore::semgaug_sk.features.ConstantFeatureWarning")  # wamp at 0
def test_transformer_dtypes():
    X = _windows(n=4, ch=2, t=20)
    assert EMGFeatures().fit_transform(X.astype(np.float32)).dtype == np.float32
    assert EMGFeatures().fit_transform(X).dtype == np.float64
    Xi = np.round(X * 10).astype(np.int16)
    Zi = EMGFeatures(features="td").fit_transform(Xi)
    assert Zi.dtype == np.float64
    assert_allclose(Zi, EMGFeatures(features="td").fit_transform(Xi.astype(np.float64)))


def test_two_d_input_is_one_channel_windows():
    X2 = _windows(n=6, ch=1, t=25)[:, 0]
    est = EMGFeatures(features="hudgins").fit(X2)
    assert est.n_channels_ == 1 and est.n_features_in_ == 25
    assert_array_equal(est.transform(X2), est.transform(X2[:, np.newaxis, :]))
    assert est.get_feature_names_out().tolist() == ["ch0_mav", "ch0_wl", "ch0_zc", "ch0_ssc"]


def test_transform_without_fit_is_allowed():
    X = _windows(n=3, ch=2, t=12)
    assert_array_equal(
        EMGFeatures(features="fin").transform(X), extract_features(X, "fin").reshape(3, -1)
    )
    with pytest.raises(NotFittedError):
        EMGFeatures().get_feature_names_out()


def test_get_feature_names_out_checks_input_features():
    est = EMGFeatures().fit(_windows(n=3, ch=1, t=4)[:, 0])
    assert len(est.get_feature_names_out([f"t{i}" for i in range(4)])) == 4
    with pytest.raises(ValueError, match="input_features should have length equal"):
        est.get_feature_names_out(["a", "b"])


def _run_check_estimator(estimator=None):
    results = check_estimator(EMGFeatures() if estimator is None else estimator, on_fail=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    skipped = [r["check_name"] for r in results if r["status"] == "skipped"]
    return results, failed, skipped


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_check_estimator_passes():
    # The full default check list: 2-D input is read as one-channel windows (n, n_times).
    results, failed, skipped = _run_check_estimator()
    assert len(results) > 30
    assert failed == []
    # The only check that may skip is the array-API one, which needs SCIPY_ARRAY_API=1 set
    # before scipy is imported; test_check_estimator_array_api runs it in a subprocess.
    allowed = [] if os.environ.get("SCIPY_ARRAY_API") == "1" else ["check_array_api_input"]
    assert skipped == allowed[: len(skipped)] and set(skipped) <= set(allowed)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_check_estimator_passes_with_a_fixed_dtype(dtype):
    # its tags say which dtype it preserves: the one it was asked for
    assert EMGFeatures(dtype=dtype).__sklearn_tags__().transformer_tags.preserves_dtype == [dtype]
    _, failed, _ = _run_check_estimator(EMGFeatures(dtype=dtype))
    assert failed == []


def test_check_estimator_array_api_without_skips():
    code = textwrap.dedent(
        """
        from sklearn.utils.estimator_checks import check_estimator
        from semgaug_sk.features import EMGFeatures
        res = check_estimator(EMGFeatures(), on_fail=None)
        bad = [(r["check_name"], r["status"]) for r in res if r["status"] != "passed"]
        print(len(res), bad)
        assert not bad, bad
        """
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_clone_and_pickle():
    X = _windows(n=4, ch=2, t=32)
    est = EMGFeatures(features=["rms", "zc"], threshold={"zc": 0.1}, fs=100.0, chunk_size=2)
    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    est.fit(X)
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.transform(X), est.transform(X))
    assert restored.get_feature_names_out().tolist() == est.get_feature_names_out().tolist()


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64, None])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_equals_unchunked(chunk_size, dtype):
    X = _windows(n=23, ch=3, t=41, dtype=dtype)
    whole = extract_features(X, "all", chunk_size=len(X), fs=50.0)
    chunked = extract_features(X, "all", chunk_size=chunk_size, fs=50.0)
    assert_array_equal(chunked, whole)
    # a non-contiguous input (channels-last array transposed) gives the same values
    Xt = np.ascontiguousarray(np.moveaxis(X, 1, 2)).transpose(0, 2, 1)
    assert_array_equal(extract_features(Xt, "all", chunk_size=chunk_size, fs=50.0), whole)


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_inf_rejected(bad):
    X = _windows(n=3, ch=2, t=10)
    X[1, 1, 4] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        extract_features(X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        EMGFeatures().fit(X)


def test_wrong_ndim_rejected():
    with pytest.raises(ValueError, match="Reshape your data"):
        extract_features(np.ones(10))
    with pytest.raises(ValueError, match="Reshape your data"):
        EMGFeatures().fit(_windows(n=3, ch=1, t=5)[:, 0]).transform(np.ones(5))
    with pytest.raises(ValueError, match="must be 3-D"):
        extract_features(np.ones((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="must be 3-D"):
        EMGFeatures().fit(np.ones((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="must be 3-D"):  # the function wants windows
        extract_features(np.ones((4, 10)))


def test_empty_rejected():
    with pytest.raises(ValueError, match="0 window"):
        extract_features(np.ones((0, 2, 10)))
    with pytest.raises(ValueError, match="0 feature"):
        EMGFeatures().fit(np.ones((5, 0)))
    with pytest.raises(ValueError, match="0 channels"):
        extract_features(np.ones((3, 0, 10)))


def test_bad_dtypes_rejected():
    with pytest.raises(ValueError, match="Complex data not supported"):
        extract_features(np.ones((2, 1, 4), dtype=complex))
    with pytest.raises(ValueError, match="Complex data not supported"):
        EMGFeatures().fit(np.ones((2, 4), dtype=complex))
    X_obj = np.ones((2, 1, 4), dtype=object)
    assert extract_features(X_obj).dtype == np.float64  # numbers held as objects are fine
    X_obj[0, 0, 0] = {"a": 1}
    with pytest.raises(TypeError, match="non-numeric"):
        extract_features(X_obj)
    with pytest.raises(ValueError, match="non-numeric"):
        extract_features(np.array([[["a", "b"]]]))
    with pytest.raises(ValueError, match="real numbers"):
        F.rms(np.ones(3, dtype=complex))
    import scipy.sparse

    with pytest.raises(TypeError, match="sparse"):
        EMGFeatures().fit(scipy.sparse.csr_matrix(np.ones((3, 4))))


def test_channel_and_length_mismatch_at_transform():
    est = EMGFeatures().fit(_windows(n=3, ch=4, t=20))
    with pytest.raises(ValueError, match=r"2 channel\(s\), but EMGFeatures was fitted on 4"):
        est.transform(_windows(n=3, ch=2, t=20))
    with pytest.raises(ValueError, match="window length"):
        est.transform(_windows(n=3, ch=4, t=21))


@pytest.mark.parametrize("name", [n for n in FEATURE_NAMES if FEATURE_MIN_TIMES[n] > 1])
def test_window_too_short_for_feature(name):
    need = FEATURE_MIN_TIMES[name]
    X = np.ones((2, 1, need - 1))
    msg = f"feature '{name}' needs windows of at least {need} samples"
    with pytest.raises(ValueError, match=msg):
        extract_features(X, ["rms", name])
    with pytest.raises(ValueError, match=msg):
        EMGFeatures(features=name).fit(X)
    with pytest.raises(ValueError, match=msg):
        getattr(F, name)(X)
    assert extract_features(np.ones((2, 1, need)), name).shape == (2, 1, 1)


def test_min_times_values():
    assert FEATURE_MIN_TIMES["ssc"] == 3 and FEATURE_MIN_TIMES["hjorth_complexity"] == 3
    assert FEATURE_MIN_TIMES["wl"] == 2 and FEATURE_MIN_TIMES["rms"] == 1


@pytest.mark.parametrize(
    ("threshold", "error", "match"),
    [
        (-0.1, ValueError, "finite number >= 0"),
        (np.nan, ValueError, "finite number >= 0"),
        ("0.1", TypeError, "real number"),
        (None, TypeError, "real number"),
        (True, TypeError, "real number"),
        ({"zc": -1.0}, ValueError, r"threshold\['zc'\]"),
        ({"rms": 1.0}, ValueError, "apply to zc, ssc, wamp only"),
    ],
)
def test_bad_threshold(threshold, error, match):
    X = _windows(n=2, ch=1, t=8)
    with pytest.raises(error, match=match):
        extract_features(X, "zc", threshold=threshold)
    with pytest.raises(error, match=match):
        EMGFeatures(threshold=threshold).fit(X)
    if not isinstance(threshold, dict):
        with pytest.raises(error, match=match):
            F.wamp(X, threshold=threshold)


@pytest.mark.parametrize(
    ("fs", "error"),
    [(0, ValueError), (-100.0, ValueError), (np.inf, ValueError), ("1k", TypeError)],
)
def test_bad_fs(fs, error):
    X = _windows(n=2, ch=1, t=8)
    with pytest.raises(error, match="fs"):
        extract_features(X, "mnf", fs=fs)
    with pytest.raises(error, match="fs"):
        EMGFeatures(features="mdf", fs=fs).transform(X)


def test_fs_read_back_by_np_load_is_accepted(tmp_path):
    # np.load returns a stored number as a 0-d array; sliding_windows takes it, so must these
    X = _windows(n=2, ch=1, t=8)
    np.savez(tmp_path / "rec.npz", fs=1000.0)
    fs = np.load(tmp_path / "rec.npz")["fs"]
    assert fs.shape == ()
    assert_array_equal(extract_features(X, "mnf", fs=fs), extract_features(X, "mnf", fs=1000.0))
    assert_array_equal(
        EMGFeatures("mdf", fs=fs).fit_transform(X), EMGFeatures("mdf", fs=1000.0).fit_transform(X)
    )
    with pytest.raises(TypeError, match="fs"):  # more than one number is still refused
        extract_features(X, "mnf", fs=np.array([1000.0, 2000.0]))


def test_features_must_keep_their_column_order():
    # a set iterates in another order in another Python process: the columns of a pickled
    # pipeline came out permuted under the names of fit
    X = _windows(n=4, ch=1, t=8)
    with pytest.raises(TypeError, match="features must be ordered.*got a set"):
        EMGFeatures(features={"rms", "wl"}).fit(X)
    with pytest.raises(TypeError, match="features must be ordered"):  # any element type
        EMGFeatures(features={"rms", 3}).fit(X)
    assert EMGFeatures(features={"rms": 0, "wl": 1}.keys()).fit(X).feature_names_ == ("rms", "wl")
    est = EMGFeatures(features=("rms", "mav")).fit(X)
    est.set_params(features=("var", "ssi"))
    with pytest.raises(ValueError, match=r"fitted with \['rms', 'mav'\].*refit after set_params"):
        est.transform(X)
    assert est.fit(X).transform(X).shape == (4, 2)


def test_bad_chunk_size_and_features_param():
    X = _windows(n=2, ch=1, t=8)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1"):
        extract_features(X, chunk_size=0)
    with pytest.raises(ValueError, match="EMGFeatures: chunk_size"):
        EMGFeatures(chunk_size=2.5).fit(X)
    with pytest.raises(ValueError, match="EMGFeatures: Unknown feature 'foo'"):
        EMGFeatures(features=("rms", "foo")).fit(X)
    with pytest.raises(ValueError, match="features is empty"):
        EMGFeatures(features=()).transform(X)


@pytest.mark.parametrize("n_times", [4000, 5000])  # both summation paths (einsum, pairwise)
def test_long_windows_float32_accuracy(n_times):
    rng = np.random.default_rng(1)
    X32 = (rng.normal(size=(2, 2, n_times)) + 3.0).astype(np.float32)
    names = ("rms", "var", "ssi", "mav", "wl", "dasdv", "log", "skew", "kurt", "mnf")
    F32 = extract_features(X32, names)
    F64 = extract_features(X32.astype(np.float64), names)
    assert_allclose(F32, F64, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n_times", [256, 300, 70_000])  # the uint8, uint16 and int64 counters
def test_counts_of_long_windows(n_times):
    x = np.random.default_rng(2).normal(size=(2, n_times))
    d = np.diff(x, axis=-1)
    assert_array_equal(F.zc(x), np.sum(x[:, :-1] * x[:, 1:] < 0, axis=-1))
    assert_array_equal(F.wamp(x, 1.0), np.sum(np.abs(d) > 1.0, axis=-1))
    assert_array_equal(F.ssc(x), np.sum(d[:, :-1] * d[:, 1:] < 0, axis=-1))


# --------------------------------------------------------------------------------------
# A warning for feature columns that are constant on the windows seen at fit
# --------------------------------------------------------------------------------------
def test_zc_on_a_rectified_signal_warns_naming_the_feature_the_channels_and_the_cause():
    X = np.abs(_windows(n=20, ch=4, t=50))
    X[:, 3] -= 1.0  # channel 3 crosses zero: its zc column varies
    with pytest.warns(ConstantFeatureWarning) as record:
        Z = EMGFeatures("hudgins").fit_transform(X)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith("EMGFeatures: 3 feature column(s) are constant on the 20 windows")
    assert "'zc' on channels 0-2 (always 0)" in message
    assert "rectified or non-negative signal" in message and "drop zc" in message
    assert issubclass(ConstantFeatureWarning, UserWarning)
    assert (Z[:, [2, 6, 10]] == 0).all() and Z[:, 14].std() > 0


@pytest.mark.parametrize("method", ["fit", "fit_transform"])
def test_the_constant_feature_warning_points_at_the_callers_line(method):
    X = np.abs(_windows(n=10, ch=2, t=40))
    with pytest.warns(ConstantFeatureWarning) as record:
        getattr(EMGFeatures(["zc", "rms"]), method)(X)
    assert [w.filename for w in record] == [__file__]  # not scikit-learn's set_output wrapper


def test_pandas_output_without_fit_says_why_a_fit_is_needed():
    X = _windows(n=4, ch=2, t=40)
    np.testing.assert_array_equal(EMGFeatures().transform(X), EMGFeatures().fit_transform(X))
    with pytest.raises(NotFittedError, match=r"naming its output columns.*call fit"):
        EMGFeatures().set_output(transform="pandas").transform(X)
    frame = EMGFeatures().fit(X).set_output(transform="pandas").transform(X)
    assert frame.columns[:2].tolist() == ["ch0_rms", "ch0_var"]


def test_fit_warns_too_and_a_flat_channel_is_named():
    X = _windows(n=10, ch=3, t=40)
    X[:, 1] = 0.5  # a flat electrode
    with pytest.warns(ConstantFeatureWarning, match=r"channel 1 is flat in every window"):
        EMGFeatures("fin").fit(X)


def test_a_threshold_above_every_change_is_the_hint():
    X = _windows(n=10, ch=2, t=40)
    with pytest.warns(ConstantFeatureWarning, match=r"'ssc' on channels 0-1 .*threshold 1e\+06"):
        EMGFeatures(["mav", "ssc"], threshold=1e6).fit(X)


def test_informative_features_and_a_single_window_do_not_warn():
    X = _windows(n=20, ch=3, t=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EMGFeatures("hudgins").fit(X)
        EMGFeatures(("fin", "mav", "wl")).fit_transform(X)
        EMGFeatures("hudgins").fit(np.abs(X[:1]))  # one window: nothing to compare
        EMGFeatures("hudgins").fit(X).transform(np.abs(X))  # only the fit data count


def test_fit_transform_equals_fit_then_transform():
    X = _windows(n=8, ch=2, t=30)
    est = EMGFeatures("all", threshold=0.1, fs=100.0)
    assert_array_equal(est.fit_transform(X), clone(est).fit(X).transform(X))
    assert est.get_feature_names_out()[0] == "ch0_rms"


@pytest.mark.realdata
def test_hudgins_on_ninapro_db1_warns_about_zc(shared_data):
    from semgaug_sk.datasets import load_ninapro
    from semgaug_sk.windows import sliding_windows

    rec = load_ninapro(shared_data("ninapro_db1_e1") / "S1_A1_E1.mat", fs=100)
    windows = sliding_windows(rec, window_ms=200, step_ms=100)
    with pytest.warns(ConstantFeatureWarning, match=r"'zc' on channels 0-9 \(always 0\)"):
        EMGFeatures("hudgins", fs=rec.fs).fit(windows.X)


def test_ent_of_float32_windows_at_volt_scale_warns_and_float64_does_not():
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((40, 2, 100)) * 1e-5).astype(np.float32)  # volts
    with pytest.warns(UserWarning, match=r"'ent' computed in float32 .*pass dtype='float64'"):
        EMGFeatures(features="fin").fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EMGFeatures(features="fin").fit(X.astype(np.float64))
        EMGFeatures(features="fin").fit(X * np.float32(1e5))  # unit-scale float32 is fine
        EMGFeatures(features="hudgins").fit(X)
        EMGFeatures(features="fin", dtype="float64").fit(X)  # computed in float64


def test_dtype_computes_float32_windows_in_float64_chunk_by_chunk_without_copying_them(
    monkeypatch,
):
    from semgaug_sk import features as module

    rng = np.random.default_rng(0)
    X = (rng.standard_normal((50, 3, 64)) * 1e-5).astype(np.float32)
    reference = EMGFeatures("all", fs=1000.0).fit_transform(X.astype(np.float64))
    blocks = []
    original = module._Block

    def spy(x, *args, **kwargs):
        blocks.append((x.dtype, len(x)))
        return original(x, *args, **kwargs)

    monkeypatch.setattr(module, "_Block", spy)
    est = EMGFeatures("all", fs=1000.0, dtype="float64", chunk_size=16)
    F = est.fit_transform(X)
    assert F.dtype == np.float64 and est.dtype == "float64"  # stored unchanged
    np.testing.assert_array_equal(F, reference)
    # the chunks of the features (then fit's check of ent on a sample of windows)
    assert blocks[:4] == [(np.dtype(np.float64), n) for n in (16, 16, 16, 2)]
    # the other way: float64 windows give float32 features on request
    F32 = EMGFeatures("hudgins", dtype=np.float32).fit_transform(X.astype(np.float64))
    assert F32.dtype == np.float32
    # None follows the windows, as before
    assert EMGFeatures("hudgins").fit_transform(X).dtype == np.float32


@pytest.mark.parametrize("dtype", ["float16", "int64", "complex128", "f8x", 3])
def test_an_unsupported_feature_dtype_is_refused_with_the_choices(dtype):
    X = np.random.default_rng(0).standard_normal((4, 2, 32))
    with pytest.raises(ValueError, match=r"dtype must be None .* 'float32' or 'float64'"):
        EMGFeatures(dtype=dtype).fit(X)


def test_a_stream_passed_as_2d_windows_warns():
    from semgaug_sk.preprocessing import WindowStandardizer

    stream = np.random.default_rng(0).standard_normal((3000, 8))
    with pytest.warns(UserWarning, match=r"looks like a continuous stream.*sliding_windows"):
        EMGFeatures(features="hudgins").fit_transform(stream)
    with pytest.warns(UserWarning, match=r"WindowStandardizer: 2-D X of shape \(3000, 8\)"):
        WindowStandardizer().fit(stream)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EMGFeatures(features="hudgins").fit_transform(stream[:, np.newaxis, :])
        EMGFeatures(features="hudgins").fit_transform(stream[:20])  # few short windows


def test_failed_fit_leaves_the_fitted_transformer_as_it_was():
    """Features that overflow make fit raise after validation: the earlier fit still holds."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2, 32)).astype(np.float32)
    overflowing = (rng.normal(size=(20, 6, 50)) * 1e30).astype(np.float32)
    est = EMGFeatures().fit(X)
    before = (est.n_features_in_, est.n_channels_, est.n_times_, est.transform(X))
    with pytest.raises(FloatingPointError):
        est.fit(overflowing)
    after = (est.n_features_in_, est.n_channels_, est.n_times_, est.transform(X))
    assert after[:3] == before[:3]
    np.testing.assert_array_equal(after[3], before[3])


def test_big_endian_windows_give_the_native_result():
    """Byte order is storage, not data: '>f4' windows give the float32 features of '<f4'."""
    X = np.random.default_rng(0).normal(size=(10, 2, 40)).astype(np.float32)
    native = EMGFeatures("hudgins").fit_transform(X)
    swapped = EMGFeatures("hudgins").fit_transform(X.astype(">f4"))
    assert swapped.dtype == native.dtype == np.float32
    np.testing.assert_array_equal(swapped, native)


def test_a_fit_failed_by_a_warning_made_an_error_leaves_the_transformer_as_it_was():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4, 64)).astype(np.float32)
    est = EMGFeatures("hudgins").fit(X)
    before = (est.n_features_in_, est.n_channels_, est.n_times_)
    flat = np.zeros((6, 2, 32), dtype=np.float32)  # constant columns: a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning):
            est.fit(flat)
    assert (est.n_features_in_, est.n_channels_, est.n_times_) == before
    assert est.transform(X).shape == (20, 16)


@pytest.mark.parametrize("scale", [1e-20, 1e-12, 1e-5, 1.0, 1e20])
def test_skew_and_kurt_are_scale_free_in_float32_too(scale):
    # their third and fourth powers underflowed float32 below amplitudes of about 1e-10
    # (kurt -3, skew 0 on every window); they are computed in units of each window's peak
    from semgaug_sk.features import kurt, skew

    x = np.random.default_rng(0).standard_normal((3, 2, 200))
    for dtype, tol in ((np.float32, 5e-6), (np.float64, 1e-12)):
        xs = (x * scale).astype(dtype)
        assert_allclose(kurt(xs), scipy.stats.kurtosis(x, axis=-1), atol=tol)
        assert_allclose(skew(xs), scipy.stats.skew(x, axis=-1), atol=tol)
    constant = np.full((1, 1, 50), 3.3 * scale, dtype=np.float32)
    assert kurt(constant)[0, 0] == 0 and skew(constant)[0, 0] == 0
