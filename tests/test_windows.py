"""Windowing, splits and the shared input validation."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import DataConversionWarning
from sklearn.utils import Bunch

from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import (
    repetition_folds,
    repetition_split,
    select_windows,
    subject_split,
)
from semgaug_sk.utils.validation import check_windows, check_windows_labels
from semgaug_sk.windows import ms_to_samples, sliding_windows


def _recording(lengths, labels, reps, fs=100.0, n_channels=3, seed=0):
    rng = np.random.default_rng(seed)
    n = int(np.sum(lengths))
    return Bunch(
        emg=rng.standard_normal((n, n_channels)).astype(np.float32),
        fs=fs,
        label=np.repeat(labels, lengths),
        repetition=np.repeat(reps, lengths),
        subject=np.ones(n, dtype=int),
    )


def test_ms_to_samples_rounds_half_up():
    assert ms_to_samples(200, 100) == 20
    assert ms_to_samples(25, 100) == 3
    assert ms_to_samples(24, 100) == 2
    assert ms_to_samples(0, 100, minimum=0) == 0
    with pytest.raises(ValueError, match="at least 1"):
        ms_to_samples(4, 100)


def test_windows_match_the_stream_and_counts():
    rec = _recording([30, 50, 20, 45], [0, 1, 0, 2], [0, 1, 0, 1])
    w = sliding_windows(rec, window_ms=200, step_ms=100)
    # segment of 50 samples: starts 30, 40, 50, 60 (window 20, step 10); segment of 45: 100..120
    assert w.start.tolist() == [30, 40, 50, 60, 100, 110, 120]
    assert w.y.tolist() == [1, 1, 1, 1, 2, 2, 2]
    assert w.X.dtype == np.float32 and w.X.shape == (7, 3, 20)
    for i, s in enumerate(w.start):
        np.testing.assert_array_equal(w.X[i], rec.emg[s : s + 20].T)
    assert (w.window_samples, w.step_samples, w.horizon_samples) == (20, 10, 0)


def test_include_rest_and_no_rest_class():
    rec = _recording([30, 50], [0, 1], [0, 1])
    assert set(sliding_windows(rec, include_rest=True).y.tolist()) == {0, 1}
    assert set(sliding_windows(rec).y.tolist()) == {1}
    assert set(sliding_windows(rec, rest_label=None).y.tolist()) == {0, 1}


def test_the_default_rest_label_follows_the_recording():
    rec = _recording([30, 50], [0, 1], [0, 1])
    rec.rest_label = None  # a recording that says it has no rest class (the Myo loader)
    assert set(sliding_windows(rec).y.tolist()) == {0, 1}
    rec.rest_label = 1
    assert set(sliding_windows(rec).y.tolist()) == {0}
    assert set(sliding_windows(rec, rest_label=0).y.tolist()) == {1}  # an explicit value wins
    sim = make_semg_gestures(random_state=0)
    assert sim.rest_label == 0 and 0 not in set(sliding_windows(sim).y.tolist())


def test_boolean_labels_are_not_dropped_by_the_numeric_rest_default():
    emg = np.random.default_rng(0).normal(size=(100, 2))
    labels = np.repeat([False, True], 50)
    with pytest.warns(UserWarning, match=r"labels are booleans.*rest_label=False"):
        kept = sliding_windows(emg, fs=100, window_ms=100, step_ms=100, label=labels)
    assert kept.y.tolist() == [False] * 5 + [True] * 5  # False == 0 no longer drops them
    dropped = sliding_windows(
        emg, fs=100, window_ms=100, step_ms=100, label=labels, rest_label=False
    )
    assert dropped.y.tolist() == [True] * 5


def test_labels_of_mixed_types_warn_without_crashing():
    emg = np.random.default_rng(0).normal(size=(100, 2))
    labels = np.array([None] * 50 + ["a"] * 50, dtype=object)
    with pytest.warns(UserWarning, match=r"not among the string labels \[None, 'a'\]"):
        w = sliding_windows(emg, fs=100, window_ms=100, step_ms=100, label=labels)
    assert len(w.y) == 10  # a classifier then names the mixed labels (check_windows_labels)
    with pytest.raises(ValueError, match=r"labels of types \['NoneType', 'str'\]"):
        check_windows_labels(w.X, w.y)


def test_splits_refuse_nan_and_mixed_type_groups():
    w = Bunch(X=np.zeros((6, 1, 4)), y=np.arange(6) % 2)
    w.repetition = np.array([1.0, 1.0, 2.0, 2.0, np.nan, 3.0])
    with pytest.raises(ValueError, match=r"1 window\(s\) have a NaN repetition.*select_windows"):
        repetition_split(w, [1.0])
    w.repetition = np.array([1, 1, "2", "2", 3, 3], dtype=object)
    with pytest.raises(ValueError, match=r"repetition values mix types \['int', 'str'\]"):
        repetition_split(w, [1])
    w.subject = np.array([1, 1, 2, 2, 3, 3])
    with pytest.raises(ValueError, match=r"test subjects \['y', 'x'\] not found"):
        subject_split(w, [1], ["y", "x"])  # named in the order given


@pytest.mark.parametrize("shape", [(5,), (6, 1), (7,)])
def test_splits_name_a_group_array_of_the_wrong_shape(shape):
    w = Bunch(X=np.zeros((6, 1, 4)), y=np.arange(6) % 2)
    w.repetition = np.arange(int(np.prod(shape))).reshape(shape) % 3 + 1
    w.subject = w.repetition.copy()
    with pytest.raises(ValueError, match=r"'repetition' array has shape .* one repetition per"):
        repetition_split(w, [1])
    with pytest.raises(ValueError, match=r"'subject' array has shape .* one subject per window"):
        subject_split(w, [1])


def test_string_labels_round_trip():
    rec = _recording([40, 40], ["fist", "open"], [1, 1])
    w = sliding_windows(rec, rest_label=None)
    assert w.y.dtype.kind == "U" and set(w.y.tolist()) == {"fist", "open"}


def test_horizon_labels_the_future_and_never_crosses_streams():
    rec = _recording([40, 40], [0, 1], [0, 1])
    rec.subject = np.repeat([1, 2], 40)
    w = sliding_windows(rec, window_ms=100, step_ms=50, horizon_ms=100, include_rest=True)
    target = w.start + w.window_samples - 1 + w.horizon_samples
    np.testing.assert_array_equal(w.y, rec.label[target])
    np.testing.assert_array_equal(w.current_label, rec.label[w.start])
    # the future never leaves the subject's stream: subject 1 windows all have futures in subject 1
    assert (rec.subject[target] == w.subject).all()
    assert w.start.max() + 10 - 1 + 10 < 80


def test_horizon_can_label_rest_windows_with_the_coming_gesture():
    rec = _recording([40, 40], [0, 1], [0, 1])
    w = sliding_windows(rec, window_ms=100, step_ms=50, horizon_ms=150)
    assert ((w.current_label == 0) & (w.y == 1)).any()
    assert (w.y == 1).all()


def test_horizon_never_carries_one_repetition_into_another():
    # gesture 1 rep 1, a rest gap of 15 samples, gesture 1 rep 2: a 200 ms horizon
    # (20 samples) jumps the gap, so some windows of rep 1 see rep 2's future
    rec = _recording([40, 15, 40], [1, 0, 1], [1, 0, 2])
    w = sliding_windows(rec, window_ms=100, step_ms=10, horizon_ms=200, include_rest=True)
    own = rec.repetition[w.start]
    assert not ((own != w.repetition) & (own != 0) & (w.repetition != 0)).any()
    # those windows are dropped, while gesture-to-rest and rest-to-gesture ones stay
    assert ((own == 1) & (w.repetition == 0)).any() and ((own == 0) & (w.repetition == 2)).any()
    train, test = repetition_split(w, [1], [2])
    assert set(rec.repetition[test.start].tolist()) <= {0, 2}
    assert set(rec.repetition[train.start].tolist()) <= {0, 1}


def test_a_horizon_that_rounds_to_no_sample_is_refused():
    rec = _recording([40, 40], [0, 1], [0, 1])
    with pytest.raises(ValueError, match=r"horizon_ms=4 ms is 0 sample\(s\) at fs=100.0 Hz"):
        sliding_windows(rec, window_ms=100, step_ms=50, horizon_ms=4)
    assert sliding_windows(rec, window_ms=100, step_ms=50, horizon_ms=0).horizon_samples == 0


def test_a_label_too_short_for_a_window_is_named_in_a_warning():
    rec = _recording([100, 30, 15, 30], [1, 0, 2, 0], [1, 0, 1, 0])
    with pytest.warns(
        UserWarning, match=r"1 label\(s\) of the stream have no window.*2 \(15 samples = 150 ms\)"
    ):
        w = sliding_windows(rec, window_ms=200, step_ms=100)
    assert set(w.y.tolist()) == {1}
    with warnings.catch_warnings():  # rest dropped on purpose, everything else windowed
        warnings.simplefilter("error")
        sliding_windows(rec, window_ms=100, step_ms=50)


def test_a_string_rest_label_for_numeric_labels_warns_an_absent_one_does_not():
    rec = _recording([20, 20, 20], np.array([0, 1, 2]), [0, 1, 1])
    with pytest.warns(UserWarning, match=r"rest_label='0' is not among the labels"):
        w = sliding_windows(rec, window_ms=100, step_ms=50, rest_label="0")
    assert len(set(w.y.tolist())) == 3
    gestures = _recording([20, 20], np.array(["fist", "pinch"]), [1, 1])
    with warnings.catch_warnings():  # a gesture-only clip has no rest, whatever its label type
        warnings.simplefilter("error")
        sliding_windows(gestures, window_ms=100, step_ms=50, rest_label="rest")


def test_bare_stream_and_unlabelled():
    emg = np.zeros((100, 2))
    w = sliding_windows(emg, fs=100, window_ms=200, step_ms=100)
    assert w.y is None and w.X.shape == (9, 2, 20)
    with pytest.raises(ValueError, match="needs per-sample labels"):
        sliding_windows(emg, fs=100, horizon_ms=50)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(fs=None), "sampling rate is unknown"),
        (dict(fs=100, window_ms=5000), "longer than the longest segment"),
        (dict(fs=100, step_ms=1), "at least 1"),
        (dict(fs=100, label=np.zeros(5)), "one value per sample"),
        (dict(fs=-1), "positive"),
        (dict(fs=100, label=np.zeros(100)), "No window is left"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sliding_windows(np.zeros((100, 2)), **kwargs)


def test_bad_streams():
    with pytest.raises(ValueError, match="1-D"):
        sliding_windows(np.zeros(100), fs=100)
    with pytest.raises(ValueError, match="NaN"):
        sliding_windows(np.full((100, 2), np.nan), fs=100)
    with pytest.raises(ValueError, match="contradicts"):
        sliding_windows(_recording([50], [1], [1]), fs=200)
    with pytest.raises(ValueError, match="no 'emg'"):
        sliding_windows({"fs": 100})
    with pytest.raises(ValueError, match="empty"):
        sliding_windows(np.zeros((0, 2)), fs=100)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 60), min_size=1, max_size=12),
    win=st.integers(1, 25),
    step=st.integers(1, 15),
    horizon=st.integers(0, 20),
    data=st.data(),
)
def test_windowing_laws(lengths, win, step, horizon, data):
    labels = data.draw(st.lists(st.integers(0, 3), min_size=len(lengths), max_size=len(lengths)))
    reps = data.draw(st.lists(st.integers(0, 2), min_size=len(lengths), max_size=len(lengths)))
    rec = _recording(lengths, labels, reps, fs=1000.0)
    n = rec.emg.shape[0]
    seg = np.cumsum(
        np.r_[True, (np.diff(rec.label) != 0) | (np.diff(rec.repetition) != 0)]
    )  # segment id per sample
    seg_len = np.bincount(seg)
    try:
        w = sliding_windows(rec, window_ms=win, step_ms=step, horizon_ms=horizon, include_rest=True)
    except ValueError as err:
        assert win > seg_len.max() or "No window" in str(err)
        return
    # no window spans a segment change; labels constant inside the window
    assert (seg[w.start] == seg[w.start + win - 1]).all()
    target = w.start + win - 1 + horizon
    assert (target < n).all()
    np.testing.assert_array_equal(w.y, rec.label[target])
    # counts: without a horizon, every segment gives floor((L - win) / step) + 1 windows
    if horizon == 0:
        expected = np.maximum(0, (seg_len[1:] - win) // step + 1).sum()
        assert len(w.X) == expected
    # starts are on the step grid of their segment
    seg_start = np.searchsorted(seg, seg[w.start])
    assert ((w.start - seg_start) % step == 0).all()


def test_repetition_and_subject_splits_are_disjoint():
    w = Bunch(
        X=np.zeros((6, 1, 2)),
        y=np.arange(6),
        repetition=np.array([1, 2, 3, 1, 2, 3]),
        subject=np.array([1, 1, 1, 2, 2, 2]),
        fs=100.0,
    )
    train, test = repetition_split(w, [1, 2])
    assert set(train.repetition.tolist()) == {1, 2} and set(test.repetition.tolist()) == {3}
    assert train.fs == 100.0
    train, test = subject_split(w, [1], [2])
    assert test.y.tolist() == [3, 4, 5]
    with pytest.raises(ValueError, match="overlap"):
        repetition_split(w, [1, 2], [2, 3])
    with pytest.raises(ValueError, match="not found"):
        repetition_split(w, [7])
    with pytest.raises(ValueError, match="empty"):
        repetition_split(w, [1, 2, 3])
    assert len(select_windows(w, [0, 2]).X) == 2


def test_repetition_split_never_tests_on_samples_it_trains_on_with_a_horizon():
    # with horizon_ms a window inside a training gesture whose future sample is rest takes
    # repetition 0, and with include_rest=True it used to land in the default test set
    rec = make_semg_gestures(n_classes=3, n_repetitions=3, n_channels=2, fs=500.0, random_state=0)
    w = sliding_windows(rec, window_ms=64, step_ms=32, horizon_ms=50, include_rest=True)
    with pytest.warns(UserWarning, match=r"\d+ test window\(s\) share samples.*left out"):
        train, test = repetition_split(w, [1, 2])
    span = w.window_samples
    shared = (test.start[:, None] < train.start[None, :] + span) & (
        train.start[None, :] < test.start[:, None] + span
    )
    assert not shared.any() and len(test.X) > 0
    # without a horizon windows never span a repetition change: nothing to leave out
    plain = sliding_windows(rec, window_ms=64, step_ms=32, include_rest=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # rest (repetition 0) lies in the test set only: that warning is the class one
        warnings.filterwarnings("ignore", message=".*that no training window has")
        _, test = repetition_split(plain, [1, 2])
    assert len(test.X) == int(np.isin(plain.repetition, [0, 3]).sum())
    # window sets cut separately and concatenated restart their starts at 0: no overlap
    n = len(plain.X)
    both = Bunch(
        **{
            k: np.concatenate([v, v]) if isinstance(v, np.ndarray) and len(v) == n else v
            for k, v in plain.items()
        }
    )
    train, test = repetition_split(both, [1, 2], [3])
    assert len(test.X) == 2 * int((plain.repetition == 3).sum())
    # subjects held as Python objects (a pandas string column) are streams too
    w.subject = np.array(["s1"] * len(w.X), dtype=object)
    with pytest.warns(UserWarning, match="share samples"):
        repetition_split(w, [1, 2])


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((4, 8)), "must be 3-D"),
        (np.zeros(4), "must be 3-D"),
        (np.zeros((0, 2, 8)), "at least 1 needed"),
        (np.full((2, 2, 8), np.nan), "NaN"),
        (np.zeros((2, 2, 8), dtype=complex), "complex"),
        (np.array([[["a"]]]), "non-numeric"),
    ],
)
def test_check_windows_errors(X, match):
    with pytest.raises(ValueError, match=match):
        check_windows(X)


def test_check_windows_labels_errors():
    X = np.zeros((4, 2, 8))
    with pytest.raises(ValueError, match="mismatched lengths"):
        check_windows_labels(X, [0, 1])
    with pytest.raises(ValueError, match="at least 2 needed"):
        check_windows_labels(X, [0, 0, 0, 0], min_classes=2)
    with pytest.raises(ValueError, match="continuous"):
        check_windows_labels(X, [0.5, 1.2, 0.1, 3.3])
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        Xc, yc = check_windows_labels(X.astype(np.int16), np.array([["a"], ["b"], ["a"], ["b"]]))
    assert Xc.dtype == np.float32 and yc.tolist() == ["a", "b", "a", "b"]
    # integers wider than float32's mantissa go to float64, so no value is rounded
    assert check_windows_labels(X.astype(np.int64), [0, 1, 0, 1])[0].dtype == np.float64


def test_string_labels_with_the_numeric_rest_default_warn_and_a_transposed_stream_is_named():
    rng = np.random.default_rng(0)
    labels = np.repeat(["rest", "fist", "rest", "open"], 250)
    with pytest.warns(UserWarning, match=r"rest_label=0 is not among the string labels"):
        kept = sliding_windows(rng.normal(size=(1000, 2)), fs=1000, window_ms=50, label=labels)
    assert "rest" in set(kept.y.tolist())  # what the warning is about
    dropped = sliding_windows(
        rng.normal(size=(1000, 2)), fs=1000, window_ms=50, label=labels, rest_label="rest"
    )
    assert set(dropped.y.tolist()) == {"fist", "open"}
    with pytest.raises(ValueError, match=r"looks transposed.*pass emg\.T"):
        sliding_windows(rng.normal(size=(3, 1000)), fs=1000, window_ms=50)


def test_a_split_whose_test_classes_were_never_trained_on_warns():
    from sklearn.utils import Bunch

    from semgaug_sk.model_selection import repetition_split, subject_split

    w = Bunch(
        X=np.zeros((6, 1, 4)),
        y=np.array(["fist", "fist", "open", "open", "pinch", "pinch"]),
        repetition=np.array([1, 2, 1, 2, 2, 2]),  # "pinch" was recorded in repetition 2 only
        subject=np.array(["a", "b", "a", "b", "b", "b"]),
    )
    with pytest.warns(UserWarning, match=r"class\(es\) \['pinch'\] that no training window"):
        repetition_split(w, [1])
    with pytest.warns(UserWarning, match="no training window"):
        subject_split(w, ["a"])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repetition_split(w, [2])  # every test class is in training


def test_select_windows_subsets_the_users_own_per_window_arrays_too():
    w = Bunch(
        X=np.zeros((4, 1, 2)),
        y=np.array([1, 2, 1, 2]),
        weight=np.array([0.1, 0.2, 0.3, 0.4]),  # the user's, one per window
        trial=np.array(["a", "b", "c", "d"]),
        durations_s=np.array([1.0, 2.0, 3.0, 4.0]),  # the loaders' per-file metadata
        channel_names=("ch0",),
        fs=100.0,
    )
    subset = select_windows(w, w.y == 1)
    assert subset.weight.tolist() == [0.1, 0.3] and subset.trial.tolist() == ["a", "c"]
    assert subset.durations_s.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert subset.channel_names == ("ch0",) and subset.fs == 100.0
    train, _ = repetition_split(Bunch(**w, repetition=np.array([1, 1, 2, 2])), [1])
    assert train.weight.tolist() == [0.1, 0.2]


def test_a_transposed_stream_with_labels_is_named_as_transposed():
    emg = np.random.default_rng(0).normal(size=(5000, 3))
    labels = np.repeat([1, 2], 2500)
    with pytest.raises(
        ValueError, match=r"label must have one value per sample \(3\).*pass emg\.T"
    ):
        sliding_windows(emg.T, fs=1000, window_ms=100, step_ms=50, label=labels)


def test_the_rest_label_of_a_recording_read_back_with_np_load_is_followed(tmp_path):
    rec = _recording([30, 50], [0, 1], [0, 1])
    np.savez(tmp_path / "none.npz", **{k: v for k, v in rec.items()}, rest_label=None)
    np.savez(tmp_path / "one.npz", **{k: v for k, v in rec.items()}, rest_label=1)
    with np.load(tmp_path / "none.npz") as stored:  # rest_label=None is an object array
        assert set(sliding_windows(stored).y.tolist()) == {0, 1}
    with np.load(tmp_path / "one.npz") as stored:  # a 0-d integer array
        assert set(sliding_windows(stored).y.tolist()) == {0}


def test_repetition_split_warns_when_repetitions_restart_in_each_session():
    # Myo-like: the same gestures, cycles 0 and 1 in each of three sessions
    n = 24
    w = Bunch(
        X=np.zeros((n, 2, 4), dtype=np.float32),
        y=np.tile([0, 1], n // 2),
        repetition=np.tile(np.repeat([0, 1], 2), n // 4),
        session=np.repeat([0, 1, 2], n // 3),
        subject=np.zeros(n, dtype=int),
    )
    match = r"come from up to 3 sessions \(label 1 repetition 0\).*windows\.session == 0"
    with pytest.warns(UserWarning, match=match) as record:
        repetition_split(w, [0])
    assert record[0].filename == __file__  # points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repetition_split(select_windows(w, w.session == 0), [0])
        # NinaPro-like: each session (exercise) has its own movements
        distinct = Bunch(**{**w, "y": w.y + 10 * w.session})
        repetition_split(distinct, [0])
        # NinaPro-like with rest trained: rest (label 0, repetition 0) is in every session
        session = np.repeat([0, 1], 6)
        rest = Bunch(
            X=np.zeros((12, 2, 4), dtype=np.float32),
            y=np.where(np.tile([0, 0, 1, 1, 1, 1], 2) == 0, 0, 1 + 10 * session),
            repetition=np.tile([0, 0, 1, 1, 2, 2], 2),
            session=session,
            subject=np.zeros(12, dtype=int),
        )
        repetition_split(rest, [0, 1], [2])
    # Myo-like windows whose label 0 is a gesture (rest_label=None): it counts too
    gesture_zero = Bunch(**{**w, "rest_label": None})
    with pytest.warns(UserWarning, match=r"2 \(label, repetition\) pair\(s\)"):
        repetition_split(gesture_zero, [0])
    with pytest.warns(UserWarning, match=r"1 \(label, repetition\) pair\(s\)"):
        repetition_split(Bunch(**{**w, "rest_label": 0}), [0])


def test_sliding_windows_carry_the_rest_label_they_used():
    from semgaug_sk.datasets import make_semg_gestures

    rec = make_semg_gestures(n_subjects=1, n_classes=2, n_repetitions=2, random_state=0)
    assert sliding_windows(rec, window_ms=200, step_ms=100).rest_label == 0
    assert sliding_windows(rec, window_ms=200, step_ms=100, rest_label=None).rest_label is None


def test_rest_left_untrained_by_a_repetition_split_gets_advice_that_works():
    rec = make_semg_gestures(n_classes=3, n_repetitions=3, n_channels=2, random_state=0)
    w = sliding_windows(rec, window_ms=200, step_ms=100, include_rest=True)
    with pytest.warns(UserWarning, match=r"class\(es\) \[0\].*only in repetition 0.*add 0 to"):
        repetition_split(w, [1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train, _ = repetition_split(w, [0, 1, 2])
    assert 0 in set(train.y.tolist())


def test_windows_dropped_for_crossing_repetitions_are_counted_in_the_messages():
    # repetitions 1 and 2 back to back, one label: every future crosses into the next one
    rec = _recording([30, 30], [1, 1], [1, 2])
    with pytest.raises(
        ValueError,
        match=r"No window is left.*\d+ window\(s\) were dropped because "
        r"this horizon_ms reaches from one repetition into another",
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sliding_windows(rec, window_ms=100, step_ms=100, horizon_ms=250)


def test_window_sets_carry_the_names_and_subject_split_takes_them():
    rec = _recording([30, 30, 30, 30], [1, 2, 1, 2], [1, 1, 1, 1])
    rec.subject = np.repeat([0, 1], 60)
    rec.subject_names = ("Female0", "Male0")
    w = sliding_windows(rec, window_ms=100, step_ms=100)
    assert w.subject_names == ("Female0", "Male0")
    train, test = subject_split(w, ["Male0"])
    assert set(train.subject.tolist()) == {1} and set(test.subject.tolist()) == {0}
    assert train.subject_names == ("Female0", "Male0")  # metadata survives the split
    with pytest.raises(ValueError, match=r"subject\(s\) \['Male9'\] are not in this window set"):
        subject_split(w, "Male9")


def test_a_short_label_is_named_among_labels_of_mixed_kinds():
    labels = np.array([1] * 100 + ["a"] * 15 + [1] * 50, dtype=object)
    with pytest.warns(
        UserWarning, match=r"1 label\(s\) of the stream have no window.*'a' \(15 samples"
    ):
        sliding_windows(np.zeros((165, 2)), fs=100, window_ms=200, label=labels, rest_label=None)


@pytest.mark.parametrize("fs", [0, -100, float("nan"), None, "1000"])
def test_ms_to_samples_names_a_bad_sampling_rate(fs):
    with pytest.raises(ValueError, match=r"ms_to_samples: fs must be .*positive number of Hz"):
        ms_to_samples(200, fs)


def test_missing_labels_in_an_object_array_are_named():
    # a pandas label column with gaps is an object array; NaN != NaN made every gap a segment
    emg = np.zeros((11, 1))
    for labels in ([1] * 6 + [np.nan] * 5, ["a"] * 6 + [np.nan] * 5):
        with pytest.raises(
            ValueError, match=r"label has 5 missing value\(s\) \(NaN\), the first at sample 6"
        ):
            sliding_windows(
                emg, fs=1000, window_ms=2, step_ms=2, label=np.array(labels, dtype=object)
            )


def test_object_labels_that_python_deems_equal_do_not_crash_the_label_warning():
    # True == 1 in Python: the check for labels without a window used to fail inside zip()
    emg = np.zeros((13, 1))
    label = np.array(["a"] * 8 + [True] * 2 + [1] * 3, dtype=object)
    with pytest.warns(UserWarning, match=r"have no window"):
        w = sliding_windows(emg, fs=1000, window_ms=4, step_ms=4, label=label, rest_label=None)
    assert len(w.y) == 3


def test_split_arguments_nested_or_zero_dimensional():
    rec = make_semg_gestures(n_classes=2, n_repetitions=3, n_channels=2, random_state=0)
    w = sliding_windows(rec, window_ms=200, step_ms=200)
    with pytest.raises(TypeError, match=r"must be a value or a list of values"):
        repetition_split(w, [[1, 2], [3]])
    with pytest.raises(TypeError, match=r"must be a value or a list of values"):
        repetition_split(w, [[1, 2], [3, 4]])
    a, _ = repetition_split(w, np.array(1))  # a 0-d array is one value
    b, _ = repetition_split(w, 1)
    np.testing.assert_array_equal(a.X, b.X)


def test_subject_split_takes_one_subject_id_when_the_set_has_names():
    rec = _recording([30, 30, 30, 30], [1, 2, 1, 2], [1, 1, 1, 1])
    rec.subject = np.repeat([0, 1], 60)
    rec.subject_names = ("Female0", "Male0")
    w = sliding_windows(rec, window_ms=100, step_ms=100)
    # a scalar id used to fail with "'int' object is not iterable" when names were present
    for one in (0, np.int64(0), np.array(0)):
        train, test = subject_split(w, one)
        assert set(train.subject.tolist()) == {0} and set(test.subject.tolist()) == {1}
    train, _ = subject_split(w, "Female0")
    assert set(train.subject.tolist()) == {0}


def test_wanted_values_of_mixed_types_are_compared_one_by_one():
    w = Bunch(X=np.zeros((4, 1, 2)), y=np.ones(4), repetition=np.array([1, 1, 2, 2]))
    # [1, "2"] used to become ["1", "2"], and both were reported missing although 1 is there
    with pytest.raises(ValueError, match=r"train repetitions \['2'\] not found.*\[1, 2\]"):
        repetition_split(w, [1, "2"])
    train, test = repetition_split(w, [1, np.int64(1)])
    assert train.repetition.tolist() == [1, 1] and test.repetition.tolist() == [2, 2]
    named = Bunch(X=np.zeros((4, 1, 2)), subject=np.array(["a", "a", "b", "b"]))
    with pytest.raises(ValueError, match=r"train subjects \[1\] not found"):
        subject_split(named, ["a", 1])


def _shared_per_fold(windows, folds):
    """Held-out windows per fold that share samples with the fold's training windows."""
    length, counts = windows.window_samples, []
    for train, test in folds:
        starts = np.sort(windows.start[train])
        lo = np.searchsorted(starts, windows.start[test] - length, side="right")
        hi = np.searchsorted(starts, windows.start[test] + length, side="left")
        counts.append(int(np.sum(hi > lo)))
    return counts


def test_repetition_folds_leave_out_held_out_windows_that_share_training_samples():
    from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut

    rec = make_semg_gestures(
        n_subjects=1, n_classes=3, n_repetitions=4, n_channels=2, fs=200.0, random_state=0
    )
    plain = sliding_windows(rec, window_ms=200, step_ms=50, include_rest=True)
    train, _ = repetition_split(plain, [0, 1, 2])
    # without a horizon: exactly LeaveOneGroupOut's folds
    expected = list(LeaveOneGroupOut().split(train.X, train.y, groups=train.repetition))
    got = repetition_folds(train)
    assert len(got) == len(expected) == 3
    for (a, b), (c, d) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    # with a horizon, rest windows end inside gestures: LeaveOneGroupOut leaks samples
    ahead = sliding_windows(rec, window_ms=200, step_ms=50, include_rest=True, horizon_ms=100)
    with pytest.warns(UserWarning, match="share samples with training windows"):
        train, _ = repetition_split(ahead, [0, 1, 2])
    leaky = list(LeaveOneGroupOut().split(train.X, train.y, groups=train.repetition))
    assert sum(_shared_per_fold(train, leaky)) > 0
    with pytest.warns(UserWarning, match=r"repetition_folds: \d+ held-out window"):
        folds = repetition_folds(train)
    assert _shared_per_fold(train, folds) == [0, 0, 0]
    for (tr, te), (tr_leaky, te_leaky) in zip(folds, leaky, strict=True):
        np.testing.assert_array_equal(tr, tr_leaky)  # the training parts are untouched
        assert set(te) <= set(te_leaky) and len(te) > 0
    # a search takes them as cv=, on the window set's own rows
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline

    from semgaug_sk.features import EMGFeatures

    search = GridSearchCV(
        make_pipeline(EMGFeatures(), LinearDiscriminantAnalysis()),
        {"lineardiscriminantanalysis__solver": ["svd", "lsqr"]},
        cv=folds,
    ).fit(train.X, train.y)
    assert search.n_splits_ == 3


def test_repetition_folds_refuse_a_set_without_repetitions_or_of_the_wrong_shape():
    w = Bunch(X=np.zeros((6, 1, 4)), y=np.arange(6) % 2)
    with pytest.raises(ValueError, match="no per-window 'repetition' array"):
        repetition_folds(w)
    w.repetition = np.arange(5)
    with pytest.raises(ValueError, match=r"has shape \(5,\), but it holds 6 windows"):
        repetition_folds(w)
    with pytest.raises(TypeError, match="must be a window set"):
        repetition_folds(np.zeros((6, 1, 4)))
    w.repetition = np.ones(6, dtype=int)  # sklearn's LeaveOneGroupOut message before
    with pytest.raises(ValueError, match=r"repetition_folds: the windows hold 1 repetition"):
        repetition_folds(w)


def test_names_of_ids_the_call_replaced_do_not_travel_with_the_windows():
    rec = make_semg_gestures(n_subjects=2, n_classes=2, n_repetitions=1, random_state=0)
    rec["subject_names"] = ("Female0", "Male1")
    rec["label_names"] = ("rest", "fist", "open")
    kept = sliding_windows(rec, window_ms=200, step_ms=200)
    assert kept.subject_names == ("Female0", "Male1") and kept.label_names[1] == "fist"
    swapped = sliding_windows(rec, window_ms=200, step_ms=200, subject=1 - rec["subject"])
    assert "subject_names" not in swapped and swapped.label_names == rec["label_names"]
    # a split by name then refuses the name instead of picking the other person
    with pytest.raises(ValueError, match="subject"):
        subject_split(swapped, ["Male1"])
    relabelled = sliding_windows(rec, window_ms=200, step_ms=200, label=rec["label"] * 10)
    assert "label_names" not in relabelled and relabelled.subject_names == ("Female0", "Male1")


def test_a_label_list_mixing_types_and_a_tuple_rest_label_round_trip():
    emg = np.random.default_rng(0).normal(size=(500, 2))
    w = sliding_windows(emg, fs=1000, window_ms=50, step_ms=50, label=[1] * 250 + ["a"] * 250)
    # numpy alone would make the int 1 the string '1'
    assert w.y.dtype == object and [type(v) for v in (w.y[0], w.y[-1])] == [int, str]
    # ... and a numeric rest label still matches the numbers of such a list
    w = sliding_windows(emg, fs=1000, window_ms=50, step_ms=50, label=[0] * 250 + ["a"] * 250)
    assert w.y.tolist() == ["a"] * 5
    # a tuple is one rest label, compared with each label, not broadcast against them
    labels = np.empty(500, dtype=object)
    labels[:] = [("g", 0)] * 250 + [("g", 1)] * 250
    w = sliding_windows(emg, fs=1000, window_ms=50, step_ms=50, label=labels, rest_label=("g", 0))
    assert w.y.tolist() == [("g", 1)] * 5


def test_repetition_folds_take_an_int_as_group_k_fold_and_refuse_what_cannot_split():
    from sklearn.model_selection import GroupKFold

    w = Bunch(X=np.zeros((8, 1, 2)), y=np.arange(8) % 2, repetition=np.repeat([1, 2, 3, 4], 2))
    expected = list(GroupKFold(2).split(w.X, w.y, groups=w.repetition))
    for (a, b), (c, d) in zip(repetition_folds(w, cv=2), expected, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    for cv in (1, 5):
        with pytest.raises(ValueError, match=rf"repetition_folds: cv={cv} folds, but .* 4 rep"):
            repetition_folds(w, cv=cv)
    for cv in ("3", True, 2.0):
        with pytest.raises(TypeError, match=r"repetition_folds: cv must be None, an int"):
            repetition_folds(w, cv=cv)
