"""Synthetic windows on the real windows' amplitude grid."""

import numpy as np
import pytest

from semgaug_sk.augmentation import ClassicAugmenter, ComposedAugmenter
from semgaug_sk.augmentation.quantization import detect_quantization, quantize

RNG = np.random.default_rng(0)


def _codes(shape, low=-128, high=128):
    return RNG.integers(low, high, size=shape)


def test_detects_integer_codes_and_a_rounded_fractional_step():
    codes = _codes((30, 8, 52)).astype(np.float32)
    assert detect_quantization(codes) == (0.0, 1.0)  # 0 is a level: the grid is anchored there
    assert detect_quantization(codes + 0.5) == (-127.5, 1.0)  # it is not: the lowest value
    # values stored with four decimals: round(k * 2.5 / 1024, 4), as NinaPro DB1 envelopes
    stored = np.round(_codes((40, 10, 20), 0, 1000) * 2.5 / 1024, 4).astype(np.float32)
    offset, step = detect_quantization(stored)
    assert offset == 0.0 and step == pytest.approx(2.5 / 1024, rel=1e-5)
    # a 16-bit converter in volts, with levels missing from the sample
    volts = (_codes((20, 4, 400), -(2**15), 2**15) * 1e-5).astype(np.float32)
    assert detect_quantization(volts)[1] == pytest.approx(1e-5, rel=1e-5)


def test_detects_the_grid_when_the_lowest_value_is_an_outlier():
    # 16-bit codes with Gaussian tails: the lowest code is far from every other one, and
    # the refinement used to start (and stop) there
    codes = np.round(np.random.default_rng(1).normal(scale=30, size=(55, 4, 50)))
    codes[0, 0, 0] = codes.min() - 100
    assert detect_quantization(codes) == (0.0, 1.0)
    assert detect_quantization(codes * 2.5 / 1024)[1] == pytest.approx(2.5 / 1024, rel=1e-9)
    wide = np.round(np.random.default_rng(2).normal(scale=3000, size=(55, 4, 50)))
    assert detect_quantization(wide.astype(np.int16)) == (0.0, 1.0)


def test_a_value_off_the_grid_neither_hides_nor_skews_it():
    codes = np.random.default_rng(3).integers(-128, 128, size=(20, 8, 52)).astype(np.float64)
    # the grid used to be counted from the lowest value: one off it (-200.5) hid the grid,
    # one high off it (300.5) skewed the step, one near a level (127.4) made a false gap
    for outlier in (-200.5, 300.5, 127.4, 3.3):
        X = codes.copy()
        X.flat[0] = outlier
        assert detect_quantization(X) == (0.0, 1.0)
    half = codes + 0.5
    half.flat[0] = -300.25  # the offset is the lowest value on the grid
    assert detect_quantization(half) == (float(half.ravel()[1:].min()), 1.0)
    stored = np.round(np.abs(codes) * 2.5 / 1024, 4)
    stored.flat[0] = -1.0
    offset, step = detect_quantization(stored)
    assert offset == 0.0 and step == pytest.approx(2.5 / 1024, rel=1e-5)


@pytest.mark.parametrize(
    "values",
    [
        RNG.normal(size=(50, 8, 52)),  # continuous
        np.full((4, 2, 10), 3.0),  # constant
        np.array([0.0, np.nan, 1.0]),  # not finite
        np.array([0.0, 1.0, 2.0, 2.5, 3.3, 4.1, 5.7, 6.2]),  # no common step
    ],
    ids=["continuous", "constant", "nan", "irregular"],
)
def test_no_grid_where_there_is_none(values):
    assert detect_quantization(values) is None


def test_quantize_moves_values_by_at_most_half_a_step_and_keeps_grid_values():
    X = RNG.normal(size=(5, 3, 40)).astype(np.float32)
    out = quantize(X, 0.25, 0.5)
    assert out.dtype == X.dtype and not np.shares_memory(out, X)
    assert np.abs(out - X).max() <= 0.25 + 1e-6
    np.testing.assert_allclose((out - 0.25) / 0.5, np.round((out - 0.25) / 0.5), atol=1e-5)
    np.testing.assert_array_equal(quantize(out, 0.25, 0.5), out)
    same = X.copy()
    assert quantize(same, 0.25, 0.5, out=same) is same
    np.testing.assert_array_equal(same, out)


def _quantised_windows():
    y = np.repeat([0, 1, 2], 20)
    X = (_codes((60, 4, 50), -20, 20) * (1 + y[:, None, None])).astype(np.float32)
    return X, y


def test_samplers_put_synthetic_windows_on_the_grid_and_leave_real_ones():
    X, y = _quantised_windows()
    aug = ClassicAugmenter(random_state=0)
    X_res, y_res = aug.fit_resample(X, y)
    assert aug.quantization_ == (0.0, 1.0)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    syn = X_res[len(X) :]
    np.testing.assert_array_equal(syn, np.round(syn))
    assert (np.diff(syn, axis=2) == 0).any()  # equal neighbours, as in the real windows
    X_gen, _ = aug.generate(3)
    np.testing.assert_array_equal(X_gen, np.round(X_gen))
    # None keeps the continuous values; a number is a step through 0
    continuous = ClassicAugmenter(quantize=None, random_state=0).fit_resample(X, y)[0]
    assert not np.array_equal(continuous[len(X) :], np.round(continuous[len(X) :]))
    halves = ClassicAugmenter(quantize=0.5, random_state=0).fit_resample(X, y)[0][len(X) :]
    np.testing.assert_array_equal(halves * 2, np.round(halves * 2))


def test_auto_leaves_continuous_data_alone_and_envelopes_nonnegative():
    X = RNG.normal(size=(30, 3, 40)).astype(np.float32)
    y = np.repeat([0, 1], 15)
    aug = ClassicAugmenter(random_state=0)
    X_res, _ = aug.fit_resample(X, y)
    assert aug.quantization_ is None
    np.testing.assert_array_equal(
        X_res, ClassicAugmenter(quantize=None, random_state=0).fit_resample(X, y)[0]
    )
    # an envelope whose smallest stored value is one level above 0
    envelope = np.round((_codes((30, 3, 40), 1, 50)) * 2.5 / 1024, 4).astype(np.float32)
    env_res, _ = ClassicAugmenter(random_state=0).fit_resample(envelope, y)
    assert env_res.min() >= 0
    # the grid runs through 0, so it clips nothing itself: without the envelope clip,
    # jitter's negative values stay negative (on the grid)
    free_aug = ClassicAugmenter(nonnegative=False, random_state=0)
    free = free_aug.fit_resample(envelope, y)[0]
    assert free_aug.quantization_[0] == 0.0
    levels = free[len(envelope) :] / free_aug.quantization_[1]
    assert levels.min() < 0
    # every value is a level: the value the envelope stores for it, or the exact one
    np.testing.assert_allclose(levels, np.round(levels), atol=0.05)  # the on-grid tolerance
    stored = set(np.unique(envelope).tolist())
    exact = np.isclose(levels, np.round(levels), atol=1e-3)
    assert all(v in stored for v in free[len(envelope) :][~exact].tolist())


@pytest.mark.parametrize("offset, step", [(0.0, 0.0), (0.0, -1.0), (np.nan, 1.0), (0.0, np.inf)])
def test_quantize_refuses_a_grid_that_is_not_one(offset, step):
    with pytest.raises(ValueError, match="finite step > 0"):
        quantize(np.zeros(3), offset, step)


def test_quantize_rejects_a_bad_setting():
    X, y = _quantised_windows()
    with pytest.raises(ValueError, match="quantize"):
        ClassicAugmenter(quantize=-1.0).fit_resample(X, y)
    with pytest.raises(ValueError, match="quantize"):
        ClassicAugmenter(quantize="always").fit_resample(X, y)


@pytest.mark.slow
def test_sasg_windows_go_on_the_grid_too():
    from semgaug_sk.augmentation import SASGAugmenter
    from semgaug_sk.encoders import SemanticEncoder

    X, y = _quantised_windows()
    encoder = SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2)
    small = dict(n_steps=4, base_channels=8, channel_mults=(1,), n_sampling_steps=2)
    params = dict(encoder=encoder, confidence_threshold=0.0, random_state=0, **small)
    aug = SASGAugmenter(**params)
    X_res, _ = aug.fit_resample(X, y)
    assert aug.quantization_ == (0.0, 1.0)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(X_res[len(X) :], np.round(X_res[len(X) :]))
    continuous = SASGAugmenter(quantize=None, **params).fit_resample(X, y)[0][len(X) :]
    assert not np.array_equal(continuous, np.round(continuous))
    np.testing.assert_allclose(X_res[len(X) :], continuous, atol=0.5)  # same windows, rounded


def test_the_confidence_filter_judges_the_windows_on_the_grid():
    # a judge that accepts only windows on the grid: the filter must see the windows the
    # sampler returns (rounded), not the generator's continuous output
    from semgaug_sk.augmentation import SASGAugmenter
    from semgaug_sk.encoders import SemanticEncoder

    class OnGridJudge:
        def predict_proba(self, X):
            on_grid = np.all(X == np.round(X), axis=(1, 2)).astype(float)
            return np.repeat(on_grid[:, None], 3, axis=1)

    X, y = _quantised_windows()
    encoder = SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2)
    small = dict(n_steps=4, base_channels=8, channel_mults=(1,), n_sampling_steps=2)
    aug = SASGAugmenter(encoder=encoder, random_state=0, max_rounds=1, **small).fit(X, y)
    aug.encoder_ = OnGridJudge()
    X_gen, y_gen = aug.generate(4)
    assert len(X_gen) == 12 and all(n == 0 for n in aug.last_shortfall_.values())
    assert all(rate == 1.0 for rate in aug.last_acceptance_.values())
    np.testing.assert_array_equal(X_gen, np.round(X_gen))


def test_the_grid_survives_weights_only_persistence_and_pickling(tmp_path):
    import pickle

    from semgaug_sk.persistence import load_weights, save_weights

    X, y = _quantised_windows()
    aug = ClassicAugmenter(random_state=0).fit(X, y)
    save_weights(aug, tmp_path / "aug.sgw")
    assert load_weights(tmp_path / "aug.sgw").quantization_ == aug.quantization_
    assert pickle.loads(pickle.dumps(aug)).quantization_ == aug.quantization_


def test_classic_over_another_samplers_windows_ends_on_the_grid():
    from semgaug_sk.augmentation import ComposedAugmenter

    X, y = _quantised_windows()
    aug = ComposedAugmenter(
        ClassicAugmenter(["scaling"], quantize=None), ClassicAugmenter(["jitter"]), random_state=0
    )
    X_res, _ = aug.fit_resample(X, y)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(X_res[len(X) :], np.round(X_res[len(X) :]))


def test_a_grid_that_misses_zero_keeps_non_negative_windows_non_negative():
    # levels 0.017 + 0.01 k: rounding a clipped 0 gives -0.003, below 0; it goes up to 0.007
    rng = np.random.default_rng(0)
    X = (0.017 + 0.01 * rng.integers(0, 40, (40, 2, 30))).astype(np.float64)
    y = np.repeat([0, 1], 20)
    aug = ClassicAugmenter(scaling_sigma=1.0, random_state=0)
    X_res, _ = aug.fit_resample(X, y)
    assert aug.nonnegative_ and aug.quantization_[1] == pytest.approx(0.01)
    syn = X_res[len(X) :]
    assert syn.min() >= 0 and syn.min() == pytest.approx(0.007)
    k = (syn - aug.quantization_[0]) / aug.quantization_[1]
    np.testing.assert_allclose(k, np.round(k), atol=1e-6)  # still on the grid


def test_a_handful_of_values_is_not_taken_for_a_grid():
    rng = np.random.default_rng(0)
    # 3 random normals fit some grid by chance about 1 time in 10
    assert all(detect_quantization(rng.normal(size=(1, 1, 3))) is None for _ in range(50))
    assert detect_quantization(np.arange(8.0).reshape(1, 1, 8)) == (0.0, 1.0)


def test_synthetic_values_are_the_values_the_recordings_store():
    # DB1 stores round(k * 2.5 / 1024, 4): its levels lie near, not on, k * 2.5 / 1024
    import tempfile
    from pathlib import Path

    from semgaug_sk.augmentation import ClassicAugmenter
    from semgaug_sk.persistence import load_weights, save_weights

    rng = np.random.default_rng(0)
    codes = np.abs(rng.normal(0, 40, size=(30, 4, 20))).astype(int)
    X = np.round(codes * 2.5 / 1024, 4).astype(np.float32)
    y = np.repeat([0, 1, 2], 10)
    aug = ClassicAugmenter(random_state=0).fit(X, y)
    X_syn, _ = aug.generate({0: 40, 1: 40})
    real = set(np.unique(X).tolist())
    k_held, _ = aug.quantization_levels_
    held = np.isin(np.rint(X_syn / aug.quantization_[1]), k_held)  # levels the real data hold
    assert held.mean() > 0.9
    assert set(np.unique(X_syn[held]).tolist()) <= real  # no value tells synthetic from real
    path = Path(tempfile.mkdtemp()) / "classic.pt"
    save_weights(aug, path)
    np.testing.assert_array_equal(
        load_weights(path).quantization_levels_[1], aug.quantization_levels_[1]
    )


def test_a_grid_the_dtype_cannot_hold_is_refused_not_turned_into_nan():
    # quantize created NaN/inf after the samplers' finiteness check, and returned them
    import warnings

    from semgaug_sk.augmentation import ClassicAugmenter
    from semgaug_sk.augmentation.quantization import quantize

    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2, 20)).astype(np.float32)
    y = np.array([0, 0, 0, 1, 1, 1])
    with pytest.raises(ValueError, match="cannot be held in float32 .* Pass float64 windows"):
        ClassicAugmenter(quantize=1e-300, random_state=0).fit_resample(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning either
        with pytest.raises(FloatingPointError, match="overflow float32: .* a coarser step"):
            ClassicAugmenter(quantize=0.01, random_state=0).fit_resample(X * 1e37, y)
    np.testing.assert_array_equal(  # float64 holds both
        quantize(X.astype(np.float64) * 1e37, 0.0, 0.01),
        np.rint(X.astype(np.float64) * 1e37 / 0.01) * 0.01,
    )
    assert np.isnan(quantize(np.array([np.nan, 1.0]), 0.0, 0.5)[0])  # NaN in: not ours to name


def test_integer_windows_stay_on_the_integers_where_too_few_values_show_the_grid():
    # 6 windows of full-scale int16 codes: their values are too sparse over 65,536 levels
    # for detect_quantization, but the dtype itself says they are integers
    X = np.round(np.random.default_rng(0).normal(size=(6, 2, 30)) * 1e4).astype(np.int16)
    y = np.repeat(["fist", "open"], 3)
    assert detect_quantization(X.astype(np.float32)) is None
    for fit in ("fit", "fit_resample"):
        aug = ClassicAugmenter(random_state=0)
        out = getattr(aug, fit)(X, y)
        assert aug.quantization_ == (0.0, 1.0), fit
    X_res, _ = out
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(X_res, np.round(X_res))
    # so do both parts of a composition, which are fitted on the float copy
    composed = ComposedAugmenter(
        sampler=ClassicAugmenter(), transforms=ClassicAugmenter(), random_state=0
    )
    X_res, _ = composed.fit_resample(X, y)
    assert composed.sampler_.quantization_ == composed.transforms_.quantization_ == (0.0, 1.0)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(X_res, np.round(X_res))
    # the same values as floats carry no such sign: left continuous
    aug = ClassicAugmenter(random_state=0).fit(X.astype(np.float32), y)
    assert aug.quantization_ is None
    # a grid the codes do show (every 4th code) is kept over the integers
    coarse = (4 * np.random.default_rng(1).integers(-200, 200, size=(30, 2, 30))).astype(np.int16)
    assert ClassicAugmenter(random_state=0).fit(coarse, np.repeat([0, 1], 15)).quantization_ == (
        0.0,
        4.0,
    )
