"""Calibration of synthetic windows' within-window variation (pure functions and SASGAugmenter)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from semgaug_sk.augmentation import SASS, SASGAugmenter
from semgaug_sk.augmentation.calibration import (
    apply_gains,
    calibration_gains,
    class_power_spectra,
    class_statistics,
)
from semgaug_sk.augmentation.filtering import filter_by_confidence
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.persistence import load_weights, save_weights
from semgaug_sk.windows import sliding_windows

ENCODER = SemanticEncoder(embedding_dim=8, n_filters=8, n_blocks=1, max_epochs=6, patience=3)
TINY = dict(
    n_steps=20,
    base_channels=8,
    channel_mults=(1, 2),
    n_cond_tokens=2,
    cond_token_dim=16,
    n_sampling_steps=4,
    sampling=SASS(n_steps=3),
    max_rounds=2,
    confidence_threshold=0.0,
    quantize=None,
    random_state=0,
)


def within_window_variance(X, y, classes):
    """(n_classes, n_channels): mean over windows of the variance over time."""
    return np.stack([X[y == c].var(axis=-1).mean(axis=0) for c in classes])


# -- pure functions ---------------------------------------------------------------------------
def test_power_spectra_do_not_depend_on_the_batching():
    rng = np.random.default_rng(0)
    X, codes = rng.normal(size=(50, 3, 16)), rng.integers(0, 4, size=50)
    whole, counts = class_power_spectra([(X, codes)], 4)
    batched, _ = class_power_spectra(((X[i : i + 7], codes[i : i + 7]) for i in range(0, 50, 7)), 4)
    np.testing.assert_allclose(batched, whole)
    assert counts.tolist() == np.bincount(codes, minlength=4).tolist()
    # Parseval: the weighted non-DC bins give the mean within-window variance
    weights = np.r_[0, np.full(7, 2.0), 1.0] / 16**2
    np.testing.assert_allclose(
        (whole * weights).sum(-1), within_window_variance(X, codes, range(4)), rtol=1e-12
    )


def test_power_spectra_of_no_window_and_of_an_absent_class():
    with pytest.raises(ValueError, match="no window"):
        class_power_spectra([(np.empty((0, 1, 4)), np.empty(0, int))], 2)
    power, counts = class_power_spectra([(np.ones((2, 1, 4)), np.array([0, 0]))], 2)
    assert counts.tolist() == [2, 0] and np.isnan(power[1]).all()


@pytest.mark.parametrize("mode", ["std", "spectrum"])
def test_gains_restore_the_real_variance_and_keep_each_window_mean(mode):
    rng = np.random.default_rng(1)
    real = rng.normal(size=(400, 2, 32)) + 5.0
    codes = np.zeros(400, dtype=int)
    smooth = real.copy()
    smooth -= smooth.mean(-1, keepdims=True)
    smooth = smooth * np.array([0.5, 0.8])[:, None] + real.mean(-1, keepdims=True)
    gains = calibration_gains(
        class_power_spectra([(real, codes)], 1)[0],
        class_power_spectra([(smooth, codes)], 1)[0],
        32,
        mode=mode,
    )
    assert (gains[..., 0] == 1).all()  # the DC bin is never touched
    fixed = apply_gains(smooth, codes, gains)
    np.testing.assert_allclose(fixed.mean(-1), smooth.mean(-1), atol=1e-12)
    np.testing.assert_allclose(
        within_window_variance(fixed, codes, [0]),
        within_window_variance(real, codes, [0]),
        rtol=1e-10,
    )


def mean_level(X, y, classes):
    """(n_classes, n_channels): mean over windows of the absolute window mean."""
    return np.stack([np.abs(X[y == c].mean(axis=-1)).mean(axis=0) for c in classes])


def test_level_mode_restores_the_level_and_the_variance_without_inflating_the_level():
    rng = np.random.default_rng(5)
    real = np.abs(rng.normal(size=(300, 2, 20))) + rng.uniform(0.5, 2, size=(300, 2, 1))
    codes = np.zeros(300, dtype=int)
    means = real.mean(-1, keepdims=True)
    # too quiet and too smooth: means at 70% and deviations at 60%, 90% by channel
    quiet = 0.7 * means + np.array([0.6, 0.9])[:, None] * (real - means)
    real_stats = class_statistics([(real, codes)], 1)

    def level_gains(synthetic):
        stats = class_statistics([(synthetic, codes)], 1)
        return calibration_gains(
            real_stats.power,
            stats.power,
            20,
            mode="level",
            real_level=real_stats.level,
            synthetic_level=stats.level,
        )

    gains = level_gains(quiet)
    np.testing.assert_allclose(gains[0, :, 0], 1 / 0.7)
    fixed = apply_gains(quiet, codes, gains, nonnegative=True)
    np.testing.assert_allclose(fixed, real, rtol=1e-10)  # one gain each undoes both changes
    # the generator's window means also vary too little around their class's: the level
    # matches the real one, and the missing spread is not made up by a louder class
    squeezed = 0.7 * (means.mean(0) + 0.3 * (means - means.mean(0))) + (real - means)
    fixed = apply_gains(squeezed, codes, level_gains(squeezed), nonnegative=True)
    np.testing.assert_allclose(fixed.mean(axis=(0, 2)), real.mean(axis=(0, 2)), rtol=1e-10)


def test_level_mode_needs_the_levels_and_scales_one_sample_windows():
    power = np.ones((1, 1, 1))
    with pytest.raises(ValueError, match="needs real_level and synthetic_level"):
        calibration_gains(power, power, 1, mode="level")
    gains = calibration_gains(
        power, power, 1, mode="level", real_level=np.array([[3.0]]), synthetic_level=np.ones((1, 1))
    )
    assert gains.tolist() == [[[3.0]]]
    one_sample = np.full((2, 1, 1), 2, dtype=np.int16)  # a window of one sample is its mean
    out = apply_gains(one_sample, np.array([0, 0]), gains)
    assert out.dtype == np.int16 and out.ravel().tolist() == [6, 6]


def test_class_statistics_agree_with_the_power_spectra_and_do_not_depend_on_the_batching():
    rng = np.random.default_rng(6)
    X, codes = rng.normal(size=(50, 3, 9)) + 0.5, rng.integers(0, 3, size=50)
    whole = class_statistics([(X, codes)], 3)
    parts = class_statistics([(X[:17], codes[:17]), (X[17:], codes[17:])], 3)
    for a, b in zip(whole, parts, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_array_equal(whole.power, class_power_spectra([(X, codes)], 3)[0])
    expected = np.stack([np.abs(X[codes == c].mean(-1)).mean(0) for c in range(3)])
    np.testing.assert_allclose(whole.level, expected, rtol=1e-12)


def test_level_mode_keeps_the_calibrated_mean_when_a_nonnegative_window_would_dip():
    X = np.array([[[0.1, 2.0, 0.1, 2.0]]])
    gains = np.array([[[2.0, 3.0, 3.0]]])  # the mean doubles, the deviation triples
    out = apply_gains(X, np.array([0]), gains, nonnegative=True)
    assert out.min() == 0  # the deviation gain is cut just enough
    np.testing.assert_allclose(out.mean(-1), 2 * X.mean(-1), rtol=1e-12)


def test_spectrum_mode_matches_each_frequency_and_std_mode_only_the_total():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(300, 1, 16))
    codes = np.zeros(300, dtype=int)
    # the synthetic windows miss the high frequencies: a moving average
    smooth = (real + np.roll(real, 1, axis=-1)) / 2
    real_power = class_power_spectra([(real, codes)], 1)[0]
    std = apply_gains(
        smooth,
        codes,
        calibration_gains(real_power, class_power_spectra([(smooth, codes)], 1)[0], 16),
    )
    spec = apply_gains(
        smooth,
        codes,
        calibration_gains(
            real_power, class_power_spectra([(smooth, codes)], 1)[0], 16, mode="spectrum"
        ),
    )
    spec_power = class_power_spectra([(spec, codes)], 1)[0]
    np.testing.assert_allclose(spec_power[..., 1:7], real_power[..., 1:7], rtol=1e-9)
    std_power = class_power_spectra([(std, codes)], 1)[0]
    assert not np.allclose(std_power[..., 1:7], real_power[..., 1:7], rtol=0.1)


def test_gains_are_clipped_and_missing_classes_get_one():
    real = np.array([[[1.0, 100.0, 100.0]], [[1.0, 1.0, 1.0]], [[np.nan] * 3]])
    synthetic = np.array([[[1.0, 0.0, 0.0]], [[1.0, 1e6, 1e6]], [[1.0, 1.0, 1.0]]])
    gains = calibration_gains(real, synthetic, 4, mode="spectrum", max_gain=4.0)
    assert gains[0, 0, 1:].tolist() == [4.0, 4.0]
    assert gains[1, 0, 1:].tolist() == [0.25, 0.25]
    assert gains[2].tolist() == [[1.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match="mode must be one of"):
        calibration_gains(real, synthetic, 4, mode="rms")


def test_apply_gains_keeps_dtype_clips_a_nonnegative_signal_and_copies():
    X = np.array([[[0.1, 2.0, 0.1, 2.0]]], dtype=np.float32)
    gains = np.array([[[1.0, 3.0, 3.0]]])
    out = apply_gains(X, np.array([0]), gains, nonnegative=True)
    assert out.dtype == np.float32 and (out >= 0).all() and out.min() == 0
    assert X[0, 0, 0] == np.float32(0.1)  # the input is not modified
    one_sample = np.ones((2, 1, 1), dtype=np.float32)
    np.testing.assert_array_equal(
        apply_gains(one_sample, np.array([0, 0]), gains[..., :1]), one_sample
    )


def test_the_filter_judges_and_keeps_prepared_windows():
    seen = []

    def draw(request, round_):
        return np.repeat(list(request), list(request.values()))[:, None].astype(float)

    def generate(cond, round_):
        yield 0, len(cond), np.zeros((len(cond), 1, 4))

    def judge(windows, codes):
        seen.append(windows.copy())
        return np.ones(len(codes))

    res = filter_by_confidence(
        {0: 2, 1: 3},
        draw,
        generate,
        judge,
        np.empty((5, 1, 4)),
        prepare=lambda windows, codes: windows + codes[:, None, None],
    )
    assert (seen[0][:, 0, 0] == [0, 0, 1, 1, 1]).all()
    assert (res.X[:, 0, 0] == [0, 0, 1, 1, 1]).all()


# -- SASGAugmenter ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=4, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    return w.X, np.array(["fist", "open", "pinch"])[w.y - 1]


@pytest.fixture(scope="module")
def fitted(data):
    return SASGAugmenter(ENCODER, **TINY).fit(*data)


def draw(aug, n, calibration, seed=0):
    aug.set_params(calibration=calibration)
    aug._generation_rng = np.random.default_rng(seed)
    return aug.generate(n)


@pytest.mark.parametrize(
    "condition, sampling", [("semantic", SASS(n_steps=3)), ("semantic", "gmss"), ("label", "sass")]
)
@pytest.mark.parametrize("mode", ["std", "spectrum"])
def test_calibration_brings_the_within_window_std_to_the_real_one(data, condition, sampling, mode):
    X, y = data
    aug = SASGAugmenter(ENCODER, **{**TINY, "condition": condition, "sampling": sampling}).fit(X, y)
    X_off, y_off = draw(aug, 200, None)
    X_on, y_on = draw(aug, 200, mode)
    assert (y_on == y_off).all()
    real = within_window_variance(X, y, aug.classes_)
    before = np.abs(np.log(within_window_variance(X_off, y_off, aug.classes_) / real))
    after = np.abs(np.log(within_window_variance(X_on, y_on, aug.classes_) / real))
    assert after.mean() < before.mean() / 4 and after.max() < 0.5
    # the same windows, each keeping its mean: only its deviation from it is scaled
    np.testing.assert_allclose(X_on.mean(-1), X_off.mean(-1), rtol=1e-4, atol=1e-5)
    assert aug.calibration_gains_.shape == (3, 4, X.shape[-1] // 2 + 1)


def mean_square(X, y, classes):
    """(n_classes, n_channels): the squared RMS of each class and channel."""
    return np.stack([(X[y == c] ** 2).mean(axis=(0, 2)) for c in classes])


@pytest.mark.parametrize("nonnegative, quantize", [(False, None), (True, None), (True, 0.05)])
def test_level_calibration_brings_the_rms_to_the_real_one(data, nonnegative, quantize):
    X, y = data
    X = np.abs(X) if nonnegative else X
    if quantize is not None:  # real windows on a grid: the output is rounded onto it
        X = np.round(X / quantize) * quantize
    aug = SASGAugmenter(ENCODER, **{**TINY, "quantize": quantize}).fit(X, y)
    drawn = {mode: draw(aug, 200, mode) for mode in (None, "std", "level")}
    assert (drawn["level"][1] == drawn[None][1]).all()
    assert (drawn["level"][0].min() >= 0) == nonnegative
    if quantize is not None:
        assert np.allclose(drawn["level"][0] / quantize, np.round(drawn["level"][0] / quantize))

    def log_error(stat, mode):
        X_syn, y_syn = drawn[mode]
        return np.abs(np.log(stat(X_syn, y_syn, aug.classes_) / stat(X, y, aug.classes_)))

    before, after = log_error(mean_square, None), log_error(mean_square, "level")
    assert after.mean() < before.mean() / 4 and after.max() < 0.5
    if nonnegative:  # the means carry most of the power, and "std" cannot move them
        assert log_error(mean_level, "level").max() < 0.05
        assert after.mean() < log_error(mean_square, "std").mean() / 2
    gains = aug.calibration_gains_
    assert not np.allclose(gains[..., 0], 1)  # the window means move
    # one deviation gain per class and channel: "std"'s
    np.testing.assert_array_equal(gains[..., 1:], gains[..., 1:2].repeat(gains.shape[-1] - 1, -1))


def test_calibration_off_is_the_uncalibrated_stream_and_records_no_gains(fitted):
    first = draw(fitted, 10, None)[0]
    draw(fitted, 10, "std")
    again = draw(fitted, 10, None)[0]
    np.testing.assert_array_equal(first, again)
    assert fitted.calibration_gains_ is None


def test_gains_do_not_depend_on_when_they_are_made(data):
    X, y = data
    one = SASGAugmenter(ENCODER, **{**TINY, "calibration": "std"}).fit(X, y)
    one.generate(2)
    other = SASGAugmenter(ENCODER, **{**TINY, "calibration": "std"}).fit(X, y)
    other.generate(50)
    np.testing.assert_array_equal(one.calibration_gains_, other.calibration_gains_)
    X1, y1 = SASGAugmenter(ENCODER, **{**TINY, "calibration": "std"}).fit_resample(X, y)
    X2, y2 = SASGAugmenter(ENCODER, **{**TINY, "calibration": "std"}).fit_resample(X, y)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(X1[: len(X)], X)  # real windows first and unchanged


def test_gains_follow_the_generation_settings(fitted):
    draw(fitted, 5, "std")
    key, gains = fitted._calibration_power[0], fitted.calibration_gains_
    fitted.set_params(n_sampling_steps=2)
    try:
        draw(fitted, 5, "std")
        assert fitted._calibration_power[0] != key
        assert not np.array_equal(fitted.calibration_gains_, gains)
    finally:
        fitted.set_params(n_sampling_steps=TINY["n_sampling_steps"], calibration=None)


def test_calibration_keeps_a_nonnegative_signal_nonnegative(data):
    X, y = data
    X = np.abs(X)
    aug = SASGAugmenter(ENCODER, **{**TINY, "calibration": "spectrum"}).fit(X, y)
    assert aug._keeps_nonnegative()
    assert aug.generate(30)[0].min() >= 0


def test_calibration_is_validated_cloned_and_pickled(data, fitted):
    X, y = data
    with pytest.raises(InvalidParameterError, match="calibration"):
        SASGAugmenter(ENCODER, **{**TINY, "calibration": "rms"}).fit(X, y)
    assert clone(SASGAugmenter(calibration="spectrum")).calibration == "spectrum"
    X_a = draw(fitted, 8, "std")[0]
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(draw(loaded, 8, "std")[0], X_a)
    fitted.set_params(calibration=None)


@pytest.mark.parametrize("mode", ["spectrum", "level"])
def test_calibration_survives_a_weights_file(fitted, tmp_path, mode):
    X_a = draw(fitted, 8, mode)[0]
    save_weights(fitted, tmp_path / "sasg.pt")
    loaded = load_weights(tmp_path / "sasg.pt", estimator_type=SASGAugmenter)
    assert loaded.calibration == mode
    np.testing.assert_array_equal(loaded.real_level_, fitted.real_level_)
    np.testing.assert_array_equal(draw(loaded, 8, mode)[0], X_a)
    fitted.set_params(calibration=None)


def test_a_sampler_pickled_before_calibration_generates_as_before_or_asks_for_a_fit(fitted):
    state = dict(fitted.__getstate__())  # a copy: object.__getstate__ returns __dict__
    for name in ("calibration", "_calibration_power", "real_power_", "calibration_gains_"):
        state.pop(name, None)
    old = SASGAugmenter.__new__(SASGAugmenter)
    old.__setstate__(state)
    assert old.calibration is None
    np.testing.assert_array_equal(draw(old, 5, None)[0], draw(fitted, 5, None)[0])
    old.set_params(calibration="std")
    with pytest.raises(ValueError, match="fit it again, or set calibration=None"):
        old.generate(5)


def test_a_sampler_fitted_before_levels_asks_for_a_fit_only_for_level(fitted):
    X_std = draw(fitted, 5, "std")[0]
    state = dict(fitted.__getstate__())
    state.pop("real_level_")
    key, power, _, noise = state["_calibration_power"]
    state["_calibration_power"] = (key, power, noise)  # the cache of that version
    old = SASGAugmenter.__new__(SASGAugmenter)
    old.__setstate__(state)
    np.testing.assert_array_equal(draw(old, 5, "std")[0], X_std)  # the cache is remade
    with pytest.raises(ValueError, match=r"without calibration='level'.*\(real_level_\)"):
        draw(old, 5, "level")
    fitted.set_params(calibration=None)


def test_a_nonnegative_window_keeps_its_mean_when_the_gain_would_dip_below_zero():
    rng = np.random.default_rng(3)
    real = np.abs(rng.normal(size=(200, 2, 24)))
    codes = np.zeros(200, dtype=int)
    mean = real.mean(-1, keepdims=True)
    half, third = 0.5 * real + 0.5 * mean, 0.3 * real + 0.7 * mean
    # gains of about 3.3 on windows with half the deviation: some would dip below 0
    gains = calibration_gains(
        class_power_spectra([(real, codes)], 1)[0], class_power_spectra([(third, codes)], 1)[0], 24
    )
    out = apply_gains(half, codes, gains, nonnegative=True)
    assert out.min() >= 0
    np.testing.assert_allclose(out.mean(-1), half.mean(-1), rtol=1e-12)
    # windows that reach 0 get less than the full gain, the others all of it
    full = apply_gains(half, codes, gains)
    dipped = (full.min(-1) < 0)[..., None]
    np.testing.assert_allclose(np.where(dipped, 0, out), np.where(dipped, 0, full))
    assert dipped.any()


def test_the_grid_noise_is_not_counted_twice():
    rng = np.random.default_rng(4)
    t = np.linspace(0, 1, 32)
    clean = 1 + np.sin(2 * np.pi * rng.uniform(1, 3, size=(300, 1, 1)) * t)
    codes = np.zeros(300, dtype=int)
    step = 0.5

    def grid(x):
        return np.round(x / step) * step

    real = grid(clean)  # a perfect generator: the synthetic windows are the clean ones
    power = class_power_spectra([(clean, codes)], 1)[0]
    noise = class_power_spectra([(grid(clean), codes)], 1)[0] - power
    real_power = class_power_spectra([(real, codes)], 1)[0]
    levels = dict(  # the perfect generator's level is the real one
        real_level=class_statistics([(real, codes)], 1).level,
        synthetic_level=class_statistics([(clean, codes)], 1).level,
    )
    for mode in ("std", "spectrum", "level"):
        naive = grid(
            apply_gains(clean, codes, calibration_gains(real_power, power, 32, mode=mode, **levels))
        )
        gains = calibration_gains(real_power, power, 32, mode=mode, noise_power=noise, **levels)
        assert abs(gains[0, 0, 0] - 1) < 0.01
        fixed = grid(apply_gains(clean, codes, gains))
        target = within_window_variance(real, codes, [0])
        assert abs(within_window_variance(fixed, codes, [0]) / target - 1) < 0.02
        assert within_window_variance(naive, codes, [0]) / target > 1.03


def test_bad_gains_codes_and_integer_windows():
    gains = np.ones((2, 1, 3))
    with pytest.raises(ValueError, match="max_gain must be a number >= 1"):
        calibration_gains(gains, gains, 4, max_gain=0.5)
    with pytest.raises(ValueError, match=r"codes must give one class code in \[0, 2\)"):
        apply_gains(np.ones((2, 1, 4)), np.array([0, 2]), gains)
    with pytest.raises(ValueError, match="1 code"):
        apply_gains(np.ones((2, 1, 4)), np.array([0]), gains)
    X = np.array([[[1, 3, 1, 3]]], dtype=np.int16)
    out = apply_gains(X, np.array([0]), np.array([[[1.0, 1.0, 1.6]]]))
    assert out.dtype == np.int16 and out.tolist() == [[[0, 4, 0, 4]]]  # 2 -+ 1.6, rounded
    # a gain past the type's range saturates instead of wrapping around
    loud = np.array([[[200, 200]]], dtype=np.uint8)
    assert apply_gains(loud, np.array([0]), np.array([[[1.5, 1.0]]])).tolist() == [[[255, 255]]]
    assert apply_gains(loud[..., :1], np.array([0]), np.array([[[1.5]]])).tolist() == [[[255]]]


def test_level_gains_of_tiny_levels_do_not_underflow():
    power = np.ones((1, 1, 3))
    gains = calibration_gains(
        power,
        power,
        4,
        mode="level",
        real_level=np.array([[1e-170]]),
        synthetic_level=np.array([[2e-170]]),
    )
    assert gains[0, 0, 0] == pytest.approx(0.5)


def test_generating_nothing_clears_the_recorded_gains(fitted):
    draw(fitted, 5, "std")
    assert fitted.calibration_gains_ is not None
    fitted.generate(0)
    assert fitted.calibration_gains_ is None
    fitted.set_params(calibration=None)


class _OneLabel:
    """A custom condition sampler that answers every request with the label 'zzz'."""

    def fit(self, X, y):
        self.mean_ = X.mean(axis=0)
        return self

    def sample(self, n_per_class, random_state=None):
        n = sum(n_per_class.values())
        return np.tile(self.mean_, (n, 1)), np.array(["zzz"] * n)

    def get_params(self, deep=True):
        return {}


def test_a_sampler_returning_unknown_labels_is_named_when_calibrating(data):
    X, y = data
    aug = SASGAugmenter(ENCODER, **{**TINY, "sampling": _OneLabel(), "calibration": "std"})
    aug.fit(X, y)
    with pytest.raises(ValueError, match=r"returned label\(s\) \['zzz'\] that were not seen"):
        aug.generate(3)


def test_calibrated_generation_is_batched(data):
    import tracemalloc

    X, y = data
    aug = SASGAugmenter(ENCODER, **{**TINY, "sampling": "gmss", "generate_batch_size": 64}).fit(
        X, y
    )
    peaks = {}
    for calibration in (None, "std"):
        draw(aug, 5, calibration)  # the calibration draw, outside the measurement
        tracemalloc.start()
        draw(aug, 1500, calibration)
        peaks[calibration] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    output = 3 * 1500 * X.shape[1] * X.shape[2] * 4
    assert peaks["std"] < peaks[None] + output / 2


def test_sass_generate_called_directly_follows_the_current_setting(fitted):
    from semgaug_sk.augmentation.filtering import sass_generate

    draw(fitted, 4, "std")
    fitted.set_params(calibration=None)

    def direct(aug):
        sampler = aug._condition_sampler()
        rng = np.random.default_rng(0)
        noise = torch.Generator().manual_seed(0)
        return sass_generate(aug, sampler, {0: 3, 1: 3}, rng, noise)[0]

    plain = direct(fitted)
    assert fitted.calibration_gains_ is None
    fitted.set_params(calibration="std")
    assert not np.array_equal(direct(fitted), plain)
    fitted.set_params(calibration=None)
    np.testing.assert_array_equal(direct(fitted), plain)


def test_a_failed_generation_leaves_the_stream_where_it_was(fitted):
    state = dict(fitted.__getstate__())
    for name in ("real_power_", "calibration_gains_"):
        state.pop(name, None)
    old, fresh = SASGAugmenter.__new__(SASGAugmenter), SASGAugmenter.__new__(SASGAugmenter)
    old.__setstate__(dict(state))
    fresh.__setstate__(pickle.loads(pickle.dumps(state)))
    old.set_params(calibration="std")
    with pytest.raises(ValueError, match="fit it again"):
        old.generate(5)
    old.set_params(calibration=None)
    np.testing.assert_array_equal(old.generate(5)[0], fresh.generate(5)[0])


def test_the_calibration_draw_does_not_repeat_the_generations_warnings(data):
    import warnings

    X, y = data
    aug = SASGAugmenter(ENCODER, **{**TINY, "n_timesteps": 20, "calibration": "std"}).fit(X, y)
    aug.set_params(n_sampling_steps=25)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        aug.generate(2)
    steps = [w for w in caught if "n_sampling_steps" in str(w.message)]
    assert len(steps) == 1


def test_the_real_spectra_do_not_depend_on_the_chunking(data, monkeypatch):
    X, y = data
    whole = SASGAugmenter(ENCODER, **TINY).fit(X, y)
    monkeypatch.setattr(SASGAugmenter, "_POWER_CHUNK_VALUES", 3 * X.shape[1] * X.shape[2])
    chunked = SASGAugmenter(ENCODER, **TINY).fit(X, y)
    np.testing.assert_allclose(chunked.real_power_, whole.real_power_, rtol=1e-12)
    np.testing.assert_allclose(chunked.real_level_, whole.real_level_, rtol=1e-12)


def test_the_calibration_draw_leaves_the_process_warning_filters_alone(
    fitted, library_leaves_warning_filters
):
    aug = copy.deepcopy(fitted).set_params(calibration="std")
    with library_leaves_warning_filters():
        power = aug._synthetic_power()[0]  # the draw itself
        X_new, _ = aug.generate(4)  # and a calibrated generation
    assert power.shape[0] == len(fitted.classes_) and len(X_new) == 4 * len(fitted.classes_)


def test_a_setting_the_model_cannot_honour_is_named_once_per_call(fitted):
    # the calibration draw and the windows both sample: only the windows' draw warns
    import warnings

    aug = copy.deepcopy(fitted).set_params(
        calibration="std", sampling="gmss", n_sampling_steps=fitted.generator_.n_timesteps + 5
    )
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        aug.generate(3)
    assert sum("exceeds the" in str(w.message) for w in seen) == 1
