"""Tests of the zero-phase filters and WindowStandardizer."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import Bunch
from sklearn.utils.estimator_checks import check_estimator

from semgaug_sk.preprocessing import WindowStandardizer, bandpass, highpass, lowpass, notch

FS = 1000.0


def sine(freq, fs=FS, seconds=4.0, n_channels=None):
    t = np.arange(int(seconds * fs)) / fs
    x = np.sin(2 * np.pi * freq * t)
    return x if n_channels is None else np.repeat(x[:, None], n_channels, axis=1)


def gain_db(filtered, original):
    """Gain in dB measured away from the edges."""
    n = len(original)
    mid = slice(n // 4, 3 * n // 4)
    return 20 * np.log10(filtered[mid].std() / original[mid].std())


# --------------------------------------------------------------------------------------------
# filters
# --------------------------------------------------------------------------------------------
def test_bandpass_passes_band_and_attenuates_outside():
    for f in (60.0, 150.0, 300.0):
        x = sine(f)
        assert abs(gain_db(bandpass(x, FS), x)) < 0.5
    for f in (3.0, 490.0):
        x = sine(f)
        assert gain_db(bandpass(x, FS), x) < -20
    x = sine(900.0, fs=4000.0)
    assert gain_db(bandpass(x, 4000.0), x) < -20


def test_highpass_lowpass():
    slow, fast = sine(2.0), sine(200.0)
    assert gain_db(highpass(slow, FS), slow) < -20
    assert abs(gain_db(highpass(fast, FS), fast)) < 0.5
    assert gain_db(lowpass(fast, FS, cutoff=20.0), fast) < -20
    assert abs(gain_db(lowpass(slow, FS, cutoff=20.0), slow)) < 0.5


def test_notch_removes_powerline_only():
    hum, emg_band = sine(50.0), sine(120.0)
    assert gain_db(notch(hum, FS), hum) < -30
    assert abs(gain_db(notch(emg_band, FS), emg_band)) < 0.5
    hum60 = sine(60.0)
    assert gain_db(notch(hum60, FS, freq=60.0), hum60) < -30


def test_zero_phase_and_dtype_and_axis():
    x = sine(100.0, n_channels=3).astype(np.float32)
    y = bandpass(x, FS)
    assert y.dtype == np.float32 and y.shape == x.shape
    mid = slice(1000, 3000)
    assert np.corrcoef(x[mid, 0], y[mid, 0])[0, 1] > 0.999  # no phase lag
    np.testing.assert_allclose(bandpass(x.T, FS, axis=1), y.T, rtol=1e-5, atol=1e-6)
    ints = (sine(100.0) * 100).astype(np.int16)
    assert bandpass(ints, FS).dtype == np.float64
    # windows (n_windows, n_channels, n_times) are filtered along time, each on its own
    windows = np.stack([x[:1000].T, x[1000:2000].T])
    out = bandpass(windows, FS)
    np.testing.assert_allclose(out[1], bandpass(x[1000:2000], FS).T, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out, bandpass(windows, FS, axis=-1))
    with pytest.raises(ValueError, match=r"bandpass: axis must be an integer or None; got 0\.5"):
        bandpass(x, FS, axis=0.5)


@pytest.mark.parametrize("dtype, scale", [(np.int16, 16000), (np.int8, 60)])
def test_integer_input_is_filtered_as_float64(dtype, scale):
    # sosfiltfilt pads by odd extension in the input's dtype: 2*x[0] - x[k] wraps in int16
    info = np.iinfo(dtype)
    raw = np.random.default_rng(0).normal(size=(2000, 2)) * scale
    codes = np.clip(raw, info.min, info.max).astype(dtype)
    windows = codes.T.reshape(2, 2, 1000).transpose(1, 0, 2)  # (2 windows, 2 channels, 1000)
    tol = 1e-9
    for filt in (bandpass, highpass, lowpass, notch):
        for x in (codes, windows):
            np.testing.assert_allclose(
                filt(x, FS), filt(x.astype(np.float64), FS), rtol=tol, atol=tol * scale
            )


def test_recording_in_recording_out_piecewise():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((800, 2)), rng.standard_normal((600, 2)) + 5.0
    rec = Bunch(
        emg=np.vstack([a, b]).astype(np.float32),
        fs=FS,
        label=np.zeros(1400, dtype=int),
        repetition=np.zeros(1400, dtype=int),
        subject=np.r_[np.zeros(800, dtype=int), np.ones(600, dtype=int)],
        channel_names=("ch0", "ch1"),
    )
    out = bandpass(rec)
    assert isinstance(out, Bunch) and out is not rec
    assert out.channel_names == rec.channel_names and out.subject is rec.subject
    assert out.emg.dtype == np.float32
    assert not np.shares_memory(out.emg, rec.emg)
    # each subject is filtered on its own: no transient crosses the joint
    np.testing.assert_allclose(out.emg[:800], bandpass(a, FS), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.emg[800:], bandpass(b, FS), rtol=1e-4, atol=1e-5)
    # block also delimits pieces (separate files of one subject and session)
    rec2 = Bunch(emg=rec.emg, fs=FS, block=np.repeat([0, 1], [500, 900]))
    np.testing.assert_allclose(
        notch(rec2).emg[500:], notch(rec.emg[500:], FS), rtol=1e-4, atol=1e-5
    )
    assert bandpass(rec, fs=FS).fs == FS


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda x: bandpass(x, 200.0),
            r"high=450 Hz must lie strictly between 0 and the Nyquist frequency 100 Hz \(fs=200 Hz\)",
        ),
        (lambda x: bandpass(x, FS, low=0.0), "low=0 Hz"),
        (lambda x: bandpass(x, FS, low=300.0, high=200.0), "low=300 Hz must be below high=200"),
        (lambda x: bandpass(x, FS, order=0), "order must be an integer >= 1"),
        (lambda x: highpass(x, FS, cutoff=600.0), "Nyquist frequency 500 Hz"),
        (lambda x: lowpass(x, FS, cutoff=-1.0), "cutoff=-1 Hz"),
        (lambda x: notch(x, FS, freq=500.0), "freq=500 Hz"),
        (lambda x: notch(x, FS, quality=0), "quality must be a positive"),
        (lambda x: bandpass(x), "fs is required"),
        (lambda x: bandpass(x, 0.0), "fs must be a positive"),
        (lambda x: bandpass(x[:20], FS), "needs more than"),
        (lambda x: bandpass(x, FS, axis=2), "axis=2 is out of range"),
        (lambda x: bandpass(Bunch(emg=x, fs=FS), fs=500.0), "contradicts"),
        (lambda x: bandpass(Bunch(x=x), FS), "no 'emg'"),
        (lambda x: bandpass(Bunch(emg=x), None), "no 'fs'"),
        (lambda x: bandpass(x.astype(str), FS), "real numbers"),
        # 4-D: notch filtered along axis 0 (across windows) in silence, the others blamed length
        (lambda x: notch(x.T[None, :, :, None], FS), r"4 dimensions.*name the time axis"),
        (lambda x: bandpass(x.T[None, :, :, None], FS), r"4 dimensions.*name the time axis"),
    ],
)
def test_filter_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call(sine(100.0, n_channels=2))


def test_a_4d_signal_filters_along_the_axis_it_names():
    x = sine(100.0, n_channels=2).T[None, :, :, None]  # (1, channels, times, 1)
    out = notch(x, FS, axis=2)
    np.testing.assert_allclose(out[0, :, :, 0], notch(x[:, :, :, 0], FS)[0], rtol=1e-6)


def test_filters_accept_fs_read_back_by_np_load():
    x = np.random.default_rng(0).normal(size=(2, 400))
    fs = np.array(1000.0)  # what np.load gives for a stored number
    np.testing.assert_array_equal(bandpass(x, fs=fs, axis=1), bandpass(x, fs=1000.0, axis=1))


def test_filter_nan_and_short_piece_raise():
    x = sine(100.0, n_channels=2)
    x[10, 1] = np.nan
    with pytest.raises(ValueError, match="1 NaN"):
        notch(x, FS)
    rec = Bunch(emg=sine(100.0, n_channels=2), fs=FS, block=np.repeat([0, 1], [10, 3990]))
    with pytest.raises(ValueError, match="piece at samples 0:10 has 10"):
        bandpass(rec)


# --------------------------------------------------------------------------------------------
# WindowStandardizer
# --------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array-API check
@pytest.mark.parametrize(
    "est", [WindowStandardizer(), WindowStandardizer(per="global", with_mean=False)], ids=repr
)
def test_window_standardizer_check_estimator(est):
    # check_estimator feeds 2-D data, read as one-channel windows
    check_estimator(est)


def test_window_standardizer_fit_on_train_only():
    rng = np.random.default_rng(0)
    scales = np.array([1.0, 5.0, 0.1])
    train = rng.normal(2.0, 1.0, size=(40, 3, 50)) * scales[:, None]
    test = rng.normal(-7.0, 3.0, size=(30, 3, 50))
    scaler = WindowStandardizer().fit(train)
    np.testing.assert_allclose(scaler.mean_, train.mean(axis=(0, 2)))
    np.testing.assert_allclose(scaler.scale_, train.std(axis=(0, 2)))
    mean_before = scaler.mean_.copy()
    Zt = scaler.transform(test)
    np.testing.assert_array_equal(scaler.mean_, mean_before)  # transform never refits
    np.testing.assert_allclose(Zt, (test - mean_before[:, None]) / scaler.scale_[:, None])
    Z = scaler.transform(train)
    np.testing.assert_allclose(Z.mean(axis=(0, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=(0, 2)), 1.0)
    np.testing.assert_allclose(scaler.inverse_transform(Zt), test)
    assert not np.allclose(Zt.mean(axis=(0, 2)), 0.0)  # the test set keeps its own offset


def test_window_standardizer_options_and_dtype():
    rng = np.random.default_rng(1)
    X = (np.abs(rng.normal(size=(20, 2, 30))) * np.array([1.0, 4.0])[:, None]).astype(np.float32)
    g = WindowStandardizer(per="global", with_mean=False).fit(X)
    Z = g.transform(X)
    assert Z.dtype == np.float32 and (Z >= 0).all()
    assert g.mean_.shape == (2,) and g.scale_[0] == g.scale_[1]
    ratio = X[:, 1].mean() / X[:, 0].mean()
    np.testing.assert_allclose(Z[:, 1].mean() / Z[:, 0].mean(), ratio, rtol=1e-5)
    flat = np.ones((5, 2, 10))
    s = WindowStandardizer().fit(flat)
    np.testing.assert_array_equal(s.scale_, [1.0, 1.0])
    np.testing.assert_array_equal(s.transform(flat), 0.0)
    est = clone(WindowStandardizer(per="global"))
    assert est.get_params() == {"per": "global", "with_mean": True, "eps": 1e-8}
    fitted = pickle.loads(pickle.dumps(WindowStandardizer().fit(X)))
    np.testing.assert_array_equal(fitted.transform(X), WindowStandardizer().fit(X).transform(X))
    # 2-D input is one-channel windows and comes back 2-D
    W = rng.normal(size=(10, 25))
    s2 = WindowStandardizer().fit(W)
    assert s2.n_channels_ == 1 and s2.n_features_in_ == 25 and s2.transform(W).shape == (10, 25)


def test_window_standardizer_errors():
    X = np.zeros((4, 3, 10))
    with pytest.raises(NotFittedError):
        WindowStandardizer().transform(X)
    with pytest.raises(ValueError, match="per must be 'channel' or 'global'"):
        WindowStandardizer(per="window").fit(X)
    with pytest.raises(ValueError, match="eps must be"):
        WindowStandardizer(eps=-1).fit(X)
    with pytest.raises(ValueError, match=r"eps must be a number in \[0, 1\).*liveliest"):
        WindowStandardizer(eps=2).fit(X)  # relative: 1 or more would scale no channel
    scaler = WindowStandardizer().fit(X)
    with pytest.raises(ValueError, match="X has 2 channels, but WindowStandardizer is expecting 3"):
        scaler.transform(np.zeros((4, 2, 10)))
    with pytest.raises(ValueError, match="Reshape your data"):
        scaler.transform(np.zeros(10))
    with pytest.raises(ValueError, match="NaN"):
        WindowStandardizer().fit(np.full((2, 1, 5), np.nan))


def test_window_standardizer_composes_with_feature_names_and_set_output():
    # Pipeline.set_output and get_feature_names_out used to fail at this step
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from semgaug_sk.features import EMGFeatures

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3, 32)), np.arange(40) % 2
    pipe = make_pipeline(WindowStandardizer(), EMGFeatures("hudgins"), StandardScaler())
    pipe.set_output(transform="default")
    assert pipe.fit(X, y).get_feature_names_out()[:2].tolist() == ["ch0_mav", "ch0_wl"]
    std = pipe[0]
    assert std.get_feature_names_out()[:2].tolist() == ["ch0_t0", "ch0_t1"]
    assert make_pipeline(pipe, LogisticRegression()).fit(X, y).score(X, y) > 0
    # one-channel windows as 2-D columns keep their names
    flat = WindowStandardizer().fit(X[:, 0])
    assert flat.get_feature_names_out()[:2].tolist() == ["x0", "x1"]


def test_window_standardizer_round_trip_of_2d_windows_is_quiet():
    import warnings

    X = np.random.default_rng(0).normal(size=(20, 16))
    std = WindowStandardizer().fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(std.inverse_transform(std.transform(X)), X)


def test_filters_read_a_recording_saved_with_np_savez(tmp_path):
    x = sine(100.0, n_channels=2)
    np.savez(tmp_path / "rec.npz", emg=x, fs=FS)
    with np.load(tmp_path / "rec.npz") as rec:
        out = notch(rec)
    np.testing.assert_array_equal(out["emg"], notch(x, FS))


def test_window_standardizer_with_eps_zero_spares_flat_channels():
    X = np.random.default_rng(0).standard_normal((6, 3, 20))
    X[:, 1] = 0.5  # a flat channel: std exactly 0
    scaler = WindowStandardizer(eps=0).fit(X)
    assert scaler.scale_[1] == 1.0
    Z = scaler.transform(X)
    assert np.isfinite(Z).all() and np.allclose(Z[:, 1], 0.0)


@pytest.mark.parametrize("per", ["channel", "global"])
def test_window_standardizer_scales_the_same_in_any_unit(per):
    # eps is relative to the liveliest channel: quiet channels in volts (std 5e-9) are
    # scaled like the same channels in microvolts, not left as they are
    X = np.random.default_rng(0).standard_normal((6, 3, 20)) * np.array([1.0, 0.5, 2.0])[:, None]
    ref = WindowStandardizer(per=per).fit_transform(X)
    for scale in (5e-9, 1e-12, 1e6):
        np.testing.assert_allclose(
            WindowStandardizer(per=per).fit_transform(X * scale), ref, rtol=1e-9, atol=1e-12
        )
    # a channel at 1e-9 of the liveliest one is flat (scale 1), in any unit
    X[:, 0] *= 1e-9
    for scale in (1.0, 1e-6):
        assert WindowStandardizer().fit(X * scale).scale_[0] == 1.0


def test_a_column_shaped_session_still_cuts_and_a_wrong_length_one_is_refused():
    # MATLAB files give (n, 1) columns, which sliding_windows accepts; the filter must
    # restart at the joint for them too, not run across it
    sig = np.r_[np.zeros((1000, 1)), 100 * np.ones((1000, 1))]
    session = np.r_[np.zeros(1000), np.ones(1000)]
    flat = highpass(Bunch(emg=sig, fs=1000.0, session=session), cutoff=20).emg
    column = highpass(Bunch(emg=sig, fs=1000.0, session=session[:, None]), cutoff=20).emg
    np.testing.assert_array_equal(column, flat)
    assert np.abs(flat[:1000]).max() == 0  # nothing leaks back across the joint
    with pytest.raises(ValueError, match=r"session must have one value per sample \(2000\)"):
        highpass(Bunch(emg=sig, fs=1000.0, session=session[:1999]), cutoff=20)


@pytest.mark.parametrize("with_mean", ["no", 0, None])
def test_with_mean_must_be_a_bool(with_mean):
    X = np.random.default_rng(0).normal(size=(5, 2, 10))
    with pytest.raises(ValueError, match=r"with_mean must be True or False; got"):
        WindowStandardizer(with_mean=with_mean).fit(X)


def test_window_standardizer_refused_fit_keeps_the_old_statistics():
    """A fit refused by scikit-learn's column-name check leaves the fitted scaler as it was."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    good = pd.DataFrame(rng.normal(0, 1, size=(20, 8)), columns=[f"t{i}" for i in range(8)])
    mixed = pd.DataFrame(rng.normal(5, 3, size=(20, 8)), columns=[0, 1, 2, 3, "a", "b", "c", "d"])
    est = WindowStandardizer().fit(good)
    before = est.transform(good)
    with pytest.raises(TypeError, match="Feature names are only supported"):
        est.fit(mixed)
    np.testing.assert_array_equal(est.transform(good), before)


def test_filters_return_big_endian_input_in_the_machines_byte_order():
    x = np.random.default_rng(0).normal(size=(200, 2)).astype(">f4")
    out = bandpass(x, fs=1000.0, low=20.0, high=300.0)
    assert out.dtype == np.dtype("float32") and out.dtype.isnative
    np.testing.assert_array_equal(out, bandpass(x.astype("<f4"), fs=1000.0, low=20.0, high=300.0))
