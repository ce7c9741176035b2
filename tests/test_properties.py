"""Property-based laws (hypothesis) of the public entry points.

What is already covered elsewhere and not repeated here:

- ``tests/test_features.py`` ("Laws"): the same laws on the pure kernels
  (``F.rms``, ``F.var``, ...) one feature at a time, on 2-D arrays.
- ``tests/test_windows.py::test_windowing_laws``: windowing with ``fs=1000`` (so
  ms = samples, no rounding), label/repetition segments only (one subject).
- ``tests/test_classic.py::test_properties_real_first_seen_labels_finite``:
  ClassicAugmenter's real-first, seen-labels and finiteness laws for ``ratio`` in
  {0.5, 1, 2} and string labels.

Added here:

- the feature laws through :func:`extract_features` and :class:`EMGFeatures` on
  3-D windows, several features requested at once (so they share the cached
  intermediates of one block) and random ``chunk_size`` (so a law holds whatever
  the chunking), read back through the channel-major column layout;
- windowing at sampling rates where ms -> samples rounding matters, with
  subject boundaries, rest filtering, and the horizon rules;
- the sampler contract for ClassicAugmenter with arbitrary ratios (halves
  included), integer/string/object labels and per-class counts, and the same
  contract for SASGAugmenter with tiny models.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib.stride_tricks import sliding_window_view
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils import Bunch

from semgaug_sk.augmentation import ClassicAugmenter, SASGAugmenter
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.features import EMGFeatures, extract_features
from semgaug_sk.windows import sliding_windows


def _half_up(x):
    """The documented rounding of both ms -> samples and ratio x count: halves up."""
    return int(np.floor(x + 0.5))


# ======================================================================================
# Features, through extract_features / EMGFeatures
# ======================================================================================
# Magnitudes in [1e-3, 1e3] or exactly 0 (and |a|, |c| <= 1e2): squares and sums of
# squares stay far from overflow and from subnormals, so float64 rounding stays
# relative (~1e-16 per operation) and rtol=1e-12 leaves a wide margin. Huge or
# subnormal inputs make the laws fail for reasons of floating point, not of the code.
_finite = st.one_of(st.just(0.0), st.floats(1e-3, 1e3), st.floats(-1e3, -1e-3))
_windows3d = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=3, max_dims=3, min_side=3, max_side=12),
    elements=_finite,
)
_FEATURES = ("rms", "var", "ssi", "ent", "zc", "ssc")
_FEATURE_SETTINGS = settings(max_examples=40, deadline=None)


def _columns(Z, n_channels):
    """``{feature: (n_windows, n_channels)}`` from EMGFeatures' channel-major columns."""
    Z = Z.reshape(Z.shape[0], n_channels, len(_FEATURES))
    return {name: Z[..., j] for j, name in enumerate(_FEATURES)}


@_FEATURE_SETTINGS
@given(
    X=_windows3d,
    a=st.one_of(st.floats(1e-2, 1e2), st.floats(-1e2, -1e-2)),
    c=st.floats(-1e2, 1e2),
    chunk_size=st.one_of(st.none(), st.integers(1, 5)),
)
def test_feature_laws_through_the_transformer(X, a, c, chunk_size):
    n_windows, n_channels, n_times = X.shape
    est = EMGFeatures(_FEATURES, chunk_size=chunk_size)
    f = _columns(est.fit_transform(X), n_channels)
    f_scaled = _columns(est.transform(a * X), n_channels)
    f_shifted = _columns(est.transform(X + c), n_channels)
    f_flipped = _columns(est.transform(-X), n_channels)

    # rms(a x) = |a| rms(x)
    assert_allclose(f_scaled["rms"], abs(a) * f["rms"], rtol=1e-12, atol=0)
    # var(x + c) = var(x), up to the rounding of x + c (absolute, of order (|x| + |c|)^2 eps)
    scale = (np.abs(X).max() + abs(c)) ** 2
    assert_allclose(f_shifted["var"], f["var"], rtol=0, atol=1e-12 * scale)
    # zc and ssc are counts of sign patterns, unchanged by x -> -x (exactly)
    assert_array_equal(f_flipped["zc"], f["zc"])
    assert_array_equal(f_flipped["ssc"], f["ssc"])
    # ssi = n rms^2
    assert_allclose(f["ssi"], n_times * f["rms"] ** 2, rtol=1e-12, atol=0)
    # 0 <= ent <= log(n)
    assert np.all(f["ent"] >= 0) and np.all(f["ent"] <= np.log(n_times))


@_FEATURE_SETTINGS
@given(X=_windows3d, chunk_size=st.one_of(st.none(), st.integers(1, 5)))
def test_feature_layout_matches_extract_features_and_single_features(X, chunk_size):
    """Each column equals that feature computed alone: sharing intermediates changes nothing."""
    est = EMGFeatures(_FEATURES, chunk_size=chunk_size).fit(X)
    Z = est.transform(X)
    F3 = extract_features(X, _FEATURES, chunk_size=chunk_size)
    assert_array_equal(Z, F3.reshape(len(X), -1))
    names = est.get_feature_names_out()
    for c in range(X.shape[1]):
        for j, name in enumerate(_FEATURES):
            col = c * len(_FEATURES) + j
            assert names[col] == f"ch{c}_{name}"
            assert_array_equal(Z[:, col], extract_features(X, name)[:, c, 0])


# ======================================================================================
# Windowing
# ======================================================================================
@st.composite
def _recordings(draw):
    """A stream of constant runs of (label, repetition, subject[, session]) at any rate.

    Adjacent runs may carry equal values, so segments (maximal constant runs) are
    recomputed from the per-sample arrays rather than taken from the draw. Half of
    the recordings also have a ``session`` array, which, like ``subject``, ends both
    a segment and the continuous stream.
    """
    n_runs = draw(st.integers(1, 10))
    lengths = draw(st.lists(st.integers(1, 60), min_size=n_runs, max_size=n_runs))
    runs = st.lists(st.integers(0, 2), min_size=n_runs, max_size=n_runs)
    label, rep, subj = draw(runs), draw(runs), draw(runs)
    fs = draw(st.sampled_from([100.0, 200.0, 256.0, 1000.0, 1111.0]))
    n = int(np.sum(lengths))
    emg = np.arange(n * 2, dtype=np.float32).reshape(n, 2)  # every sample distinct
    rec = Bunch(
        emg=emg,
        fs=fs,
        label=np.repeat(label, lengths),
        repetition=np.repeat(rep, lengths),
        subject=np.repeat(subj, lengths),
    )
    if draw(st.booleans()):
        rec.session = np.repeat(draw(runs), lengths)
    return rec


def _segment_keys(rec):
    return [k for k in ("label", "repetition", "subject", "session") if k in rec]


def _stream_ids(rec):
    return _segment_ids(*(rec[k] for k in ("subject", "session") if k in rec))


def _segment_ids(*arrays):
    change = np.zeros(arrays[0].shape[0], dtype=bool)
    for a in arrays:
        change[1:] |= a[1:] != a[:-1]
    return np.cumsum(change)


def _ms(fs, max_samples):
    """A duration in ms of about ``u`` samples at ``fs``, ``u`` often exactly on a half.

    Halves (2.5 samples, ...) are where the documented rounding (to nearest, halves
    up) matters; the test applies that rule to the ms value itself, so any float
    representation error in ``u * 1000 / fs`` is accounted for. Under half a sample
    (an error) is drawn rarely, to keep most examples on the main path.
    """
    u = st.one_of(  # floats twice: weights the draw towards the main path
        st.floats(0.6, max_samples),
        st.integers(1, int(max_samples)).map(lambda k: k + 0.5),
        st.floats(0.6, max_samples),
        st.floats(0.1, 0.5),
    )
    return u.map(lambda u: u * 1000.0 / fs)


@st.composite
def _windowing(draw, with_horizon=False):
    rec = draw(_recordings())
    window_ms = draw(_ms(rec.fs, 25))
    step_ms = draw(_ms(rec.fs, 12))
    horizon_ms = draw(_ms(rec.fs, 40)) if with_horizon else 0.0
    return rec, window_ms, step_ms, horizon_ms


@settings(max_examples=150, deadline=None)
@given(case=_windowing(), include_rest=st.booleans())
def test_window_counts_and_boundaries(case, include_rest):
    rec, window_ms, step_ms, _ = case
    fs, n = rec.fs, rec.emg.shape[0]
    win = _half_up(window_ms * fs / 1000.0)
    step = _half_up(step_ms * fs / 1000.0)
    seg = _segment_ids(*(rec[k] for k in _segment_keys(rec)))
    seg_len = np.bincount(seg)
    seg_label = rec.label[np.searchsorted(seg, np.arange(seg_len.size))]
    if win >= 1 and step >= 1:
        counts = np.where(seg_len >= win, (seg_len - win) // step + 1, 0)
    else:
        counts = np.zeros_like(seg_len)
    if not include_rest:
        counts = np.where(seg_label != 0, counts, 0)
    if win < 1 or step < 1 or win > seg_len.max() or np.sum(counts) == 0:
        with pytest.raises(ValueError):
            sliding_windows(rec, window_ms=window_ms, step_ms=step_ms, include_rest=include_rest)
        return
    w = sliding_windows(rec, window_ms=window_ms, step_ms=step_ms, include_rest=include_rest)
    assert (w.window_samples, w.step_samples) == (win, step)
    # one window per step that fits in each constant segment, and nothing else
    assert_array_equal(np.bincount(seg[w.start], minlength=seg_len.size), counts)
    # no window spans a change of label, repetition, subject (or session)
    idx = w.start[:, None] + np.arange(win)
    for key in _segment_keys(rec):
        inside = rec[key][idx]
        assert (inside == inside[:, :1]).all(), key
    assert_array_equal(w.y, rec.label[w.start])
    assert_array_equal(w.repetition, rec.repetition[w.start])
    assert_array_equal(w.subject, rec.subject[w.start])
    if "session" in rec:
        assert_array_equal(w.session, rec.session[w.start])
    # the windows are the stream's samples, channels first
    assert_array_equal(w.X, sliding_window_view(rec.emg, win, axis=0)[w.start])
    assert (w.start + win <= n).all()
    if not include_rest:
        assert (w.y != 0).all()


@settings(max_examples=150, deadline=None)
@given(case=_windowing(with_horizon=True))
def test_horizon_labels_the_future_inside_the_stream(case):
    """With a horizon H, each window is labelled by the sample H after its end.

    The window itself stays inside one segment (constant label/repetition/subject/
    session). The future sample is allowed to be in another label (or repetition)
    segment: that is the point of predicting ahead, a rest window can announce the
    coming gesture (see test_windows.py and the ``horizon_ms`` docstring). It is never
    in another continuous stream (another subject or session), nor in another
    repetition than the window's own (rest aside), nor past the end of the recording. Exactly the windows of the horizon-free set whose future satisfies
    this are kept.
    """
    rec, window_ms, step_ms, horizon_ms = case
    fs, n = rec.fs, rec.emg.shape[0]
    win = _half_up(window_ms * fs / 1000.0)
    horizon = _half_up(horizon_ms * fs / 1000.0)
    kwargs = dict(window_ms=window_ms, step_ms=step_ms, include_rest=True)
    try:
        base = sliding_windows(rec, **kwargs)
    except ValueError:
        return  # window/step under one sample or longer than every segment: covered above
    target = base.start + win - 1 + horizon
    ok = target < n
    stream = _stream_ids(rec)
    ok[ok] &= stream[target[ok]] == stream[base.start[ok]]
    # nor in another repetition than the window's own, rest (repetition 0) aside
    own, future = rec.repetition[base.start], rec.repetition[np.minimum(target, n - 1)]
    ok &= ~((own != future) & (own != 0) & (future != 0))
    if horizon == 0 and horizon_ms > 0:
        with pytest.raises(ValueError, match=r"horizon_ms=.* is 0 sample\(s\)"):
            sliding_windows(rec, horizon_ms=horizon_ms, **kwargs)
        return
    if horizon == 0 or not ok.any():
        if horizon > 0:
            with pytest.raises(ValueError, match="No window is left"):
                sliding_windows(rec, horizon_ms=horizon_ms, **kwargs)
        return
    w = sliding_windows(rec, horizon_ms=horizon_ms, **kwargs)
    assert w.horizon_samples == horizon
    assert_array_equal(w.start, base.start[ok])
    target = w.start + win - 1 + horizon
    assert_array_equal(w.y, rec.label[target])
    assert_array_equal(w.current_label, rec.label[w.start])
    assert_array_equal(w.repetition, rec.repetition[target])
    # the window and its horizon stay inside one stream; the window inside one segment
    seg = _segment_ids(*(rec[k] for k in _segment_keys(rec)))
    assert (seg[w.start] == seg[w.start + win - 1]).all()
    assert (rec.subject[w.start] == rec.subject[target]).all()
    assert (np.diff(stream[w.start[:, None] + np.arange(win + horizon)], axis=1) == 0).all()


# ======================================================================================
# Samplers
# ======================================================================================
_LABEL_KINDS = {
    "str": np.array(["fist", "open", "a-much-longer-gesture-name"]),
    "int": np.array([-3, 0, 7]),
    "object": np.array(["pinch", "wave", "rest"], dtype=object),
}


@st.composite
def _labelled_windows(draw, max_classes=3, min_per_class=1, max_per_class=6, max_times=12):
    n_classes = draw(st.integers(1, max_classes))
    sizes = draw(
        st.lists(st.integers(min_per_class, max_per_class), min_size=n_classes, max_size=n_classes)
    )
    kind = draw(st.sampled_from(sorted(_LABEL_KINDS)))
    names = _LABEL_KINDS[kind][:n_classes]
    order = draw(st.permutations(range(sum(sizes))))  # classes interleaved, any order
    y = np.repeat(names, sizes)[list(order)]
    shape = (len(y), draw(st.integers(1, 3)), draw(st.integers(2, max_times)))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    gain = 1.0 + np.searchsorted(np.sort(names), y)  # classes differ in amplitude
    X = rng.normal(size=shape) * gain[:, None, None]
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return X.astype(dtype), y


def _check_contract(X, y, X_res, y_res, ratio):
    n = len(X)
    # the real windows come back unchanged and first
    assert X_res.dtype == X.dtype and X_res.shape[1:] == X.shape[1:]
    assert_array_equal(X_res[:n], X)
    assert_array_equal(y_res[:n], y)
    assert all(type(a) is type(b) for a, b in zip(y_res[:n].tolist(), y.tolist(), strict=True))
    if y.dtype.kind == "U":
        assert y_res.dtype.kind == "U"  # strings stay strings
    # synthetic labels are seen classes, in the count ratio x real count (halves up)
    syn = y_res[n:].tolist()
    assert set(syn) <= set(y.tolist())
    classes, counts = np.unique(y, return_counts=True)
    for c, k in zip(classes.tolist(), counts.tolist(), strict=True):
        assert syn.count(c) == _half_up(ratio * k), c
    assert np.isfinite(X_res).all()


_RATIOS = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0])


@settings(max_examples=40, deadline=None)
@given(data=_labelled_windows(), ratio=_RATIOS, seed=st.integers(0, 2**16))
def test_classic_sampler_contract(data, ratio, seed):
    X, y = data
    X_in, y_in = X.copy(), y.copy()
    X_res, y_res = ClassicAugmenter(ratio=ratio, random_state=seed).fit_resample(X, y)
    _check_contract(X, y, X_res, y_res, ratio)
    assert_array_equal(X, X_in)  # inputs untouched
    assert_array_equal(y, y_in)
    # generate(k): k windows of each seen class, in class order
    X_gen, y_gen = ClassicAugmenter(random_state=seed).fit(X, y).generate(2)
    assert X_gen.shape == (2 * len(np.unique(y)), *X.shape[1:]) and np.isfinite(X_gen).all()
    assert y_gen.tolist() == np.repeat(np.unique(y), 2).tolist()


_ENCODER = SemanticEncoder(
    embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2, patience=1, validation_fraction=0
)
_TINY_SASG = dict(
    n_steps=2,
    base_channels=8,
    channel_mults=(1,),
    n_cond_tokens=1,
    cond_token_dim=8,
    n_sampling_steps=2,
    max_rounds=1,
    # the contract's count law assumes every generation is kept; the confidence
    # filter (which may return fewer, with a warning) is tested in test_sasg.py
    confidence_threshold=0.0,
)


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    data=_labelled_windows(min_per_class=2, max_per_class=5, max_times=10),
    ratio=st.sampled_from([0.5, 1.0, 1.5]),
    mode=st.sampled_from([("semantic", "sass"), ("semantic", "gmss"), ("label", "sass")]),
    seed=st.integers(0, 2**16),
)
def test_sasg_sampler_contract(data, ratio, mode, seed):
    X, y = data
    condition, sampling = mode
    if condition == "semantic" and len(np.unique(y)) < 2:
        condition = "label"  # a semantic encoder is a classifier: it needs two classes
    aug = SASGAugmenter(
        _ENCODER,
        condition=condition,
        sampling=sampling,
        ratio=ratio,
        random_state=seed,
        **_TINY_SASG,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. the encoder's tiny-data notes
        X_res, y_res = aug.fit_resample(X, y)
    _check_contract(X, y, X_res, y_res, ratio)
