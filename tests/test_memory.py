"""Generation works in blocks of ``generate_batch_size``: memory does not grow with n.

The peak-memory figures themselves come from ``benchmarks/bench_memory.py`` (a
benchmark, not a timed test). These tests check the mechanism that bounds
them: no step of generation ever holds more than one batch of windows, and
SASS's pairwise refinement never sees more than one block of conditions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from semgaug_sk.augmentation import SASS, SASGAugmenter, conditions
from semgaug_sk.augmentation import generator as generator_module
from semgaug_sk.augmentation.base import n_synthetic_per_class
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.windows import sliding_windows

BATCH = 16


@pytest.fixture(scope="module")
def fitted():
    rec = make_semg_gestures(n_classes=2, n_repetitions=2, n_channels=2, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    aug = SASGAugmenter(
        SemanticEncoder(embedding_dim=4, n_filters=8, n_blocks=1, max_epochs=2),
        n_steps=4,
        base_channels=8,
        channel_mults=(1,),
        n_sampling_steps=2,
        sampling=SASS(n_steps=2),
        generate_batch_size=BATCH,
        confidence_threshold=0.0,
        random_state=0,
    )
    return aug.fit(w.X, w.y), w


def test_sass_refines_one_block_at_a_time(fitted, monkeypatch):
    aug, _ = fitted
    sizes = []
    refine = conditions.sass_refine

    def recording(starts, *args, **kwargs):
        sizes.append(len(starts))
        return refine(starts, *args, **kwargs)

    monkeypatch.setattr(conditions, "sass_refine", recording)
    X_syn, y_syn = aug.generate(5 * BATCH + 3)
    assert len(y_syn) == 2 * (5 * BATCH + 3)
    assert max(sizes) <= BATCH and sum(sizes) == len(y_syn)


def test_denoising_and_filtering_see_one_batch(fitted, monkeypatch):
    aug, _ = fitted
    sizes = []
    name = f"{aug.sampler}_sample"
    sample = getattr(generator_module, name)

    def recording(x0_fn, shape, *args, **kwargs):
        sizes.append(shape[0])
        return sample(x0_fn, shape, *args, **kwargs)

    monkeypatch.setattr(generator_module, name, recording)
    aug.set_params(confidence_threshold=0.3)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a shortfall of the tiny model
            aug.generate(3 * BATCH)
    finally:
        aug.set_params(confidence_threshold=0.0)
    assert sizes and max(sizes) <= BATCH


def test_fit_resample_writes_synthetic_windows_after_the_real_ones(fitted):
    aug, w = fitted
    X_res, y_res = aug.fit_resample(w.X, w.y)
    assert X_res.flags.owndata and X_res.dtype == w.X.dtype
    np.testing.assert_array_equal(X_res[: len(w.X)], w.X)
    np.testing.assert_array_equal(y_res[: len(w.y)], w.y)
    assert len(y_res) == len(w.y) + sum(n_synthetic_per_class(w.y, aug.ratio).values())
    assert np.isfinite(X_res).all()


def test_classic_transforms_one_batch_at_a_time(monkeypatch):
    from semgaug_sk.augmentation import ClassicAugmenter, functional

    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=2, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    sizes = []
    for name in ("jitter", "scaling", "magnitude_warp", "time_warp"):
        original = getattr(functional, name)

        def recording(X, *args, _original=original, **kwargs):
            sizes.append(len(X))
            return _original(X, *args, **kwargs)

        monkeypatch.setattr(functional, name, recording)
    aug = ClassicAugmenter(generate_batch_size=BATCH, random_state=0)
    X_res, y_res = aug.fit_resample(w.X, w.y)
    n_syn = 2 * len(w.y)
    assert len(y_res) == len(w.y) + n_syn and X_res.flags.owndata
    np.testing.assert_array_equal(X_res[: len(w.X)], w.X)
    assert np.isfinite(X_res).all() and X_res.dtype == w.X.dtype
    # four methods per block, each on at most one batch of windows
    assert max(sizes) <= BATCH and sum(sizes) == 4 * n_syn
    # synthetic windows keep the scale of their class (a block never mixes up classes)
    for c in np.unique(w.y):
        real = np.abs(w.X[w.y == c]).mean()
        syn = np.abs(X_res[len(w.X) :][y_res[len(w.X) :] == c]).mean()
        assert 0.5 * real < syn < 2.0 * real


def test_classic_batch_size_only_changes_the_transform_draws():
    """Labels (source draws) never depend on the batch; a batch >= the request is one pass."""
    from semgaug_sk.augmentation import ClassicAugmenter

    rec = make_semg_gestures(n_classes=2, n_repetitions=2, n_channels=2, fs=200.0, random_state=1)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    n = 2 * len(w.y)

    def resample(batch):
        return ClassicAugmenter(generate_batch_size=batch, random_state=3).fit_resample(w.X, w.y)

    one_pass, larger, blocks = resample(n), resample(10 * n), resample(7)
    np.testing.assert_array_equal(one_pass[0], larger[0])
    np.testing.assert_array_equal(one_pass[1], blocks[1])
    assert not np.array_equal(one_pass[0], blocks[0])  # the transform draws are per block


def test_a_composition_adds_no_full_size_copy_to_its_output():
    # classic ∘ classic: the inner sampler writes into the output and the transforms work
    # there in place, so the peak beyond the result stays at a few batches (it was about
    # twice the synthetic windows)
    import tracemalloc

    from semgaug_sk.augmentation import ClassicAugmenter, ComposedAugmenter

    X = np.random.default_rng(0).normal(size=(81, 8, 200)).astype(np.float32)
    y = np.repeat([0, 1, 2], 27)
    inner = ClassicAugmenter(["scaling"], generate_batch_size=64)
    outer = ClassicAugmenter(["jitter"], generate_batch_size=64)
    aug = ComposedAugmenter(inner, outer, ratio=100, random_state=0)
    tracemalloc.start()
    try:
        X_res, _ = aug.fit_resample(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    window_bytes = X[0].nbytes
    assert (peak - X_res.nbytes) / window_bytes < 16 * 64  # a few batches of 64 windows
    np.testing.assert_array_equal(X_res[: len(X)], X)


def _record_feature_blocks(monkeypatch):
    """The number of windows of each block the imitator computes its targets on."""
    from semgaug_sk import imitation

    sizes = []
    extract = imitation.extract_features

    def recording(windows, *args, **kwargs):
        sizes.append(len(windows))
        return extract(windows, *args, **kwargs)

    monkeypatch.setattr(imitation, "extract_features", recording)
    return sizes


def test_feature_imitator_fit_holds_one_block_of_float64_windows(monkeypatch):
    """Targets are computed a block of windows at a time, and only the sequences it trains
    on are gathered: the float64 copies never cover the data set."""
    from semgaug_sk import imitation
    from semgaug_sk.imitation import FeatureImitator

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3, 24)).astype(np.float32)
    monkeypatch.setattr(imitation, "_FIT_BLOCK", 64)
    sizes = _record_feature_blocks(monkeypatch)
    fitted = FeatureImitator(max_epochs=1, hidden_size=4, max_sequences=50, random_state=0).fit(X)
    assert sizes and max(sizes) <= 64 and sum(sizes) == len(X)
    assert fitted.n_train_sequences_ == 50


def test_feature_imitator_transform_prepares_one_chunk_of_windows_at_a_time(monkeypatch):
    """float64 windows become float32 sequences a chunk at a time, with the same output."""
    from semgaug_sk.imitation import FeatureImitator

    rng = np.random.default_rng(0)
    imitator = FeatureImitator(
        max_epochs=1, hidden_size=2, max_sequences=50, batch_size=16, random_state=0
    ).fit(rng.normal(size=(60, 3, 100)))
    X = rng.normal(size=(2001, 3, 100))  # float64: 4.8 MB
    whole = imitator.transform(X)
    monkeypatch.setattr(FeatureImitator, "_INPUT_CHUNK_BATCHES", 4)  # 64 sequences a chunk
    np.testing.assert_array_equal(imitator.transform(X), whole)
    peak, _ = _peak_beyond(lambda: imitator.transform(X), result_bytes=whole.nbytes)
    assert peak < X.nbytes / 10  # the float32 copy of all windows alone was half of X


# -- statistics and normalisation by blocks --------------------------------------------------
def _peak_beyond(fn, result_bytes=0):
    import tracemalloc

    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - result_bytes, out


@pytest.fixture
def few_blocks_bytes(monkeypatch):
    from semgaug_sk.utils import chunked

    monkeypatch.setattr(chunked, "BLOCK_VALUES", 2**12)
    return 8 * 2**12 * 8  # a few float64 blocks (the block and its temporaries), in bytes


def test_window_standardizer_holds_one_float64_block_not_the_data(few_blocks_bytes):
    """fit used a float64 copy of X and np.std another (4x the float32 data); transform a
    float64 result before the cast. Both now work a block of rows at a time."""
    from semgaug_sk.preprocessing import WindowStandardizer

    X = np.random.default_rng(0).normal(2.0, 3.0, size=(800, 4, 50)).astype(np.float32)
    fit_peak, scaler = _peak_beyond(lambda: WindowStandardizer().fit(X))
    assert fit_peak < few_blocks_bytes < X.nbytes / 2
    Xt = scaler.transform(X)
    transform_peak, _ = _peak_beyond(lambda: scaler.transform(X), Xt.nbytes)
    assert transform_peak < few_blocks_bytes
    expected = (X.astype(np.float64) - X.mean(axis=(0, 2), dtype=np.float64)[:, None]) / X.astype(
        np.float64
    ).std(axis=(0, 2))[:, None]
    np.testing.assert_allclose(Xt, expected.astype(np.float32), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("nonnegative", ["clip", "none", "log"])
def test_generator_normalisation_adds_only_its_float32_result(few_blocks_bytes, nonnegative):
    from semgaug_sk.augmentation.normalisation import fit_normalisation, normalise

    X = np.abs(np.random.default_rng(1).normal(1.0, 2.0, size=(800, 4, 50))).astype(np.float32)
    peak, (Xn, state) = _peak_beyond(lambda: fit_normalisation(X, nonnegative), X.nbytes)
    # the "log" mode holds its log1p map in float64 (2x X) while it fits
    allowed = (2 * X.nbytes if nonnegative == "log" else 0) + few_blocks_bytes
    assert Xn.dtype == np.float32 and peak < allowed
    again_peak, again = _peak_beyond(lambda: normalise(X, state), X.nbytes)
    assert again_peak < few_blocks_bytes
    np.testing.assert_allclose(again, Xn, atol=1e-5)


@pytest.mark.parametrize("per", ["channel", "global"])
@pytest.mark.parametrize("level", [1.0, 1e200, 1e-200])
def test_block_statistics_match_numpy(per, level):
    from semgaug_sk.utils.chunked import channel_mean_std

    X = np.random.default_rng(2).normal(0.5, 2.0, size=(37, 3, 11)) * level
    X[:, 1] *= 3.0
    axes = (0, 2) if per == "channel" else None
    Z = X / level  # numpy's own statistics, away from the float range's ends
    want_mean = np.broadcast_to(Z.mean(axis=axes) * level, (3,))
    want_std = np.broadcast_to(Z.std(axis=axes) * level, (3,))
    for block_values in (None, 50, 1):  # one block, several, one window per block
        mean, std = channel_mean_std(X, per, block_values=block_values)
        np.testing.assert_allclose(mean, want_mean, rtol=1e-12)
        np.testing.assert_allclose(std, want_std, rtol=1e-12)
        assert np.isfinite(std).all() and (std > 0).all()


def test_block_statistics_stay_finite_next_to_the_largest_float():
    from semgaug_sk.utils.chunked import channel_mean_std

    # peaks >= 2**1023.5 (~1.27e308) used to round to a scale of 2**1024 = inf: NaN
    X = np.full((4, 2, 5), 1.5e308)
    X[0, 0, 0] = 1e308
    mean, std = channel_mean_std(X)
    Z = X / 2.0**1023
    np.testing.assert_allclose(mean, Z.mean(axis=(0, 2)) * 2.0**1023, rtol=1e-12)
    np.testing.assert_allclose(std, Z.std(axis=(0, 2)) * 2.0**1023, rtol=1e-12)
    assert np.isfinite(mean).all() and std[1] == 0 and std[0] > 0


def test_one_block_statistics_are_numpys_bit_for_bit():
    """The data sets of the benchmarks fit in one block, where nothing changed."""
    from semgaug_sk.utils.chunked import channel_mean_std

    X = np.random.default_rng(3).normal(size=(500, 6, 40)).astype(np.float32)
    mean, std = channel_mean_std(X)
    X64 = X.astype(np.float64)
    np.testing.assert_array_equal(mean, X64.mean(axis=(0, 2)))
    np.testing.assert_array_equal(std, X64.std(axis=(0, 2)))


def test_normalise_checks_its_windows_as_the_scaler_did():
    from semgaug_sk.augmentation.normalisation import fit_normalisation, normalise

    X = np.abs(np.random.default_rng(4).normal(size=(20, 3, 16)))
    _, state = fit_normalisation(X)
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        normalise(bad, state)
    with pytest.raises(ValueError, match="3 channels"):
        normalise(X[:, :2], state)


def test_block_statistics_refuse_an_unknown_pooling_and_empty_windows():
    from semgaug_sk.utils.chunked import channel_mean_std

    with pytest.raises(ValueError, match="per must be 'channel' or 'global'"):
        channel_mean_std(np.ones((2, 1, 3)), "chanel")
    with pytest.raises(ValueError, match="no values"):
        channel_mean_std(np.ones((0, 1, 3)))
    for bad in (np.inf, -np.inf, np.nan):  # inf used to come back as a NaN statistic
        X = np.ones((2, 2, 3))
        X[1, 1, 2] = bad
        with pytest.raises(ValueError, match="NaN or inf"):
            channel_mean_std(X)


def test_r2_per_feature_is_computed_block_by_block(monkeypatch):
    """The float64 reference features come from one block of windows at a time."""
    import semgaug_sk.imitation as imitation
    from semgaug_sk.imitation import FeatureImitator

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2, 32)).astype(np.float32)
    imitator = FeatureImitator(
        features=("rms", "var"), hidden_size=4, num_layers=1, max_epochs=1, random_state=0
    ).fit(X)
    whole = imitator.r2_per_feature(X)
    seen = []
    real = imitation.extract_features

    def spy(block, names):
        seen.append(len(block))
        return real(block, names)

    monkeypatch.setattr(imitation, "row_blocks", lambda n, per_row: [slice(0, 25), slice(25, n)])
    monkeypatch.setattr(imitation, "extract_features", spy)
    assert imitator.r2_per_feature(X) == pytest.approx(whole, rel=1e-12)
    assert seen == [25, 35]


def test_a_fitted_network_carries_no_validation_windows():
    """skorch's predefined split kept its Dataset: every fitted network held (and pickled)
    its validation windows. The split is released after training, and refuses reuse."""
    import pickle

    from semgaug_sk.utils.training import ReleasedSplit

    rng = np.random.default_rng(5)
    X = rng.normal(size=(2000, 4, 50)).astype(np.float32)
    y = np.repeat([0, 1], 1000)
    enc = SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=1, random_state=0)
    enc.fit(X, y)
    assert isinstance(enc.net_.train_split, ReleasedSplit)
    assert len(pickle.dumps(enc)) < 0.05 * X.nbytes  # the model, not its 10-20% of windows
    with pytest.raises(RuntimeError, match="Call the estimator's fit again"):
        enc.net_.partial_fit(X[:64], y[:64])


def test_sass_radius_cache_is_not_fitted_state():
    """Sampling fills SASS's cache of class radii; a weights file does not depend on it."""
    from semgaug_sk.augmentation import SASS
    from semgaug_sk.persistence import fitted_attributes

    rng = np.random.default_rng(6)
    sass = SASS().fit(rng.normal(size=(40, 3)), np.repeat([0, 1], 20))
    before = set(fitted_attributes(sass))
    sass.sample(3, random_state=0)
    assert set(fitted_attributes(sass)) == before and "_knn_radii" in vars(sass)


def test_classic_fit_holds_its_copy_and_one_float64_block(few_blocks_bytes):
    # the class spreads came from a float64 copy of X and np.var's temporaries (5x X)
    from semgaug_sk.augmentation import ClassicAugmenter

    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 4, 50)).astype(np.float32)
    y = np.repeat(np.arange(4), 200)
    peak, aug = _peak_beyond(lambda: ClassicAugmenter(quantize=None, random_state=0).fit(X, y))
    per_window = 8 * X.shape[0] * X.shape[1]  # one float64 variance per window and channel
    assert peak < X.nbytes + per_window + few_blocks_bytes  # the kept copy _X_fit, no more
    expected = np.sqrt(
        np.stack([X[y == c].astype(np.float64).var(axis=2).mean(axis=0) for c in range(4)])
    )
    np.testing.assert_allclose(aug.class_std_, expected.astype(np.float32), rtol=1e-6)


def test_knn_radii_hold_one_block_of_distances_not_the_whole_matrix():
    # the k-NN ball metrics and SASS's rarity balls promise memory bounded by
    # scikit-learn's working_memory; a column view of each distance block kept every
    # block alive (the n x n matrix: 9 GB at 32,000 embeddings)
    import tracemalloc

    import sklearn

    from semgaug_sk.metrics import _knn_radii

    X = np.random.default_rng(0).normal(size=(3000, 4))
    with sklearn.config_context(working_memory=1):  # blocks of about 1 MB
        tracemalloc.start()
        radii = _knn_radii(X, 3)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 8 * 2**20 < 8 * len(X) ** 2  # the whole matrix would be 72 MB
    from scipy.spatial.distance import cdist

    np.testing.assert_array_equal(radii, np.sort(cdist(X, X), axis=1)[:, 3])


def test_sliding_windows_holds_the_windows_once():
    # the gathered windows came out in the view's strides and were copied again to be
    # C-ordered: twice the result at the peak (3 GB for 1.2 GB of windows)
    import tracemalloc

    n, channels = 40_000, 8
    emg = np.random.default_rng(0).normal(size=(n, channels)).astype(np.float32)
    tracemalloc.start()
    w = sliding_windows(emg, fs=1000.0, window_ms=100, step_ms=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert w.X.flags.c_contiguous and w.X.dtype == np.float32
    assert peak < 1.4 * w.X.nbytes  # plus a block and the per-window index arrays
    np.testing.assert_array_equal(w.X[123], emg[w.start[123] : w.start[123] + 100].T)


def test_feature_imitator_fit_blocks_shrink_for_large_windows(monkeypatch):
    """The float64 block is bounded in values, not only in windows (HD-sEMG windows)."""
    from semgaug_sk import imitation
    from semgaug_sk.imitation import FeatureImitator

    X = np.random.default_rng(0).normal(size=(40, 3, 24)).astype(np.float32)
    monkeypatch.setattr(imitation, "BLOCK_VALUES", 10 * 3 * 24)  # 10 windows' worth
    sizes = _record_feature_blocks(monkeypatch)
    FeatureImitator(max_epochs=1, hidden_size=4, max_sequences=20, random_state=0).fit(X)
    assert max(sizes) == 10 and sum(sizes) == len(X)


def test_zero_phase_filters_hold_a_block_not_copies_of_the_data():
    """sosfiltfilt on the whole array peaked at about 6.7x a float32 input; by blocks the
    extra memory is a block's, whatever the data size."""
    from scipy import signal

    from semgaug_sk.preprocessing import bandpass, notch

    rng = np.random.default_rng(0)
    small = rng.normal(size=(3000, 8, 200)).astype(np.float32)  # 18 MiB
    large = np.concatenate([small] * 4)
    sos = signal.butter(4, [20, 450], btype="band", fs=1000, output="sos")
    expected = signal.sosfiltfilt(sos, small[:50], axis=-1).astype(np.float32)
    for filt in (lambda X: bandpass(X, fs=1000), lambda X: notch(X, fs=1000)):
        extra_small, _ = _peak_beyond(lambda f=filt: f(small), result_bytes=small.nbytes)
        extra_large, _ = _peak_beyond(lambda f=filt: f(large), result_bytes=large.nbytes)
        assert extra_large < 1.3 * extra_small  # 4x the data, the same block
    np.testing.assert_array_equal(bandpass(small[:50], fs=1000), expected)


def test_fidelity_report_and_feature_shift_copy_no_window_set_whole():
    """Both cast the real and synthetic windows to float64 whole (3.2x / 2.1x the input);
    by blocks the extra memory beyond one class's windows stays about the same."""
    from semgaug_sk.metrics import feature_shift, fidelity_report

    rng = np.random.default_rng(0)
    real = rng.normal(size=(4000, 8, 200)).astype(np.float32)  # 24 MiB
    syn = (0.9 * rng.normal(size=(4000, 8, 200))).astype(np.float32)
    for n_classes in (4, 16):  # the same class size, 4x the data
        n = 250 * n_classes
        y = np.repeat(np.arange(n_classes), 250)
        fidelity, _ = _peak_beyond(lambda n=n, y=y: fidelity_report(real[:n], syn[:n], y, y))
        shift, _ = _peak_beyond(lambda n=n, y=y: feature_shift(real[:n], syn[:n], y, y))
        if n_classes == 4:
            fidelity_small, shift_small = fidelity, shift
    assert fidelity < 1.5 * fidelity_small
    assert shift < 2.0 * shift_small + real[:1000].nbytes  # the features themselves grow
