"""Tests of the dataset loaders (NinaPro, Myo armband, UCI gestures) and the sEMG simulator."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io as sio
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from semgaug_sk.datasets import (
    load_myo_armband,
    load_ninapro,
    load_uci_gestures,
    make_semg_gestures,
)

PER_SAMPLE = ("label", "repetition", "subject", "session", "block")


def check_recording(rec):
    """The recording contract shared by every loader."""
    assert rec.emg.dtype == np.float32 and rec.emg.ndim == 2
    assert isinstance(rec.fs, float) and rec.fs > 0
    for key in PER_SAMPLE:
        assert rec[key].shape == (rec.emg.shape[0],), key
        assert rec[key].dtype.kind == "i", key
    assert np.isfinite(rec.emg).all()
    assert len(rec.channel_names) == rec.emg.shape[1]


def runs(*arrays):
    """Start/stop of the runs where all the given per-sample arrays are constant."""
    change = np.zeros(len(arrays[0]) - 1, dtype=bool)
    for a in arrays:
        change |= a[1:] != a[:-1]
    edges = np.r_[0, np.flatnonzero(change) + 1, len(arrays[0])]
    return list(zip(edges[:-1], edges[1:], strict=True))


# --------------------------------------------------------------------------------------------
# NinaPro, real data (DB1 exercise 1)
# --------------------------------------------------------------------------------------------
@functools.cache
def _db1(folder, subjects):
    return load_ninapro(folder, subjects=subjects, fs=100)


@pytest.fixture
def db1(shared_data):
    return str(shared_data("ninapro_db1_e1"))


@pytest.mark.realdata
def test_db1_subject1_contract(db1):
    rec = _db1(db1, 1)
    check_recording(rec)
    assert rec.emg.shape[1] == 10
    assert rec.fs == 100.0
    assert set(np.unique(rec.label)) == set(range(13))
    for movement in range(1, 13):
        assert set(np.unique(rec.repetition[rec.label == movement])) == set(range(1, 11))
        # each repetition is one contiguous refined segment
        segments = [(a, b) for a, b in runs(rec.label, rec.repetition) if rec.label[a] == movement]
        assert len(segments) == 10
    assert (rec.repetition[rec.label == 0] == 0).all()
    assert set(np.unique(rec.subject)) == {1}
    assert set(np.unique(rec.session)) == {0} and rec.session_names == ("A1_E1",)
    assert set(np.unique(rec.exercise)) == {1}
    assert rec.label_source == "restimulus" and rec.repetition_source == "rerepetition"
    assert rec.emg.min() >= 0  # DB1 is a rectified envelope


@pytest.mark.realdata
def test_db1_two_subjects_concatenated_and_file_equals_folder(db1):
    both = _db1(db1, (1, 2))
    check_recording(both)
    assert set(np.unique(both.subject)) == {1, 2}
    one = _db1(db1, 1)
    n1 = len(one.emg)
    assert (both.subject[:n1] == 1).all() and (both.subject[n1:] == 2).all()
    np.testing.assert_array_equal(both.emg[:n1], one.emg)
    assert (both.block[:n1] == 0).all() and (both.block[n1:] == 1).all()
    single_file = load_ninapro(f"{db1}/S1_A1_E1.mat", fs=100)
    np.testing.assert_array_equal(single_file.emg, one.emg)
    np.testing.assert_array_equal(single_file.label, one.label)


@pytest.mark.realdata
def test_db1_errors_on_real_folder(db1):
    with pytest.raises(
        ValueError, match=r"subject\(s\) \[5\] not found.*available subjects: \[1, 2, 3, 4, 7"
    ):
        load_ninapro(db1, subjects=5, fs=100)
    with pytest.raises(ValueError, match="Pass fs=.*DB1: 100 Hz"):
        load_ninapro(f"{db1}/S1_A1_E1.mat")
    with pytest.raises(ValueError, match="are not in it"):
        load_ninapro(f"{db1}/S1_A1_E1.mat", subjects=2, fs=100)


# --------------------------------------------------------------------------------------------
# NinaPro, synthetic files
# --------------------------------------------------------------------------------------------
def write_mat(path, n=300, n_channels=4, refined=True, raw=True, **extra):
    rng = np.random.default_rng(0)
    label = np.repeat([0, 1, 0, 2, 0], [60, 60, 60, 60, 60])[:n]
    rep = np.where(label > 0, 1, 0)
    d = {"emg": rng.random((n, n_channels))}
    if raw:
        d.update(stimulus=label[:, None], repetition=rep[:, None])
    if refined:
        d.update(restimulus=np.roll(label, 5)[:, None], rerepetition=np.roll(rep, 5)[:, None])
    d.update(extra)
    sio.savemat(path, d)
    return path


def test_ninapro_refined_labels_preferred(tmp_path):
    write_mat(tmp_path / "S3_A1_E1.mat")
    rec = load_ninapro(tmp_path, fs=2000)
    check_recording(rec)
    m = sio.loadmat(tmp_path / "S3_A1_E1.mat")
    np.testing.assert_array_equal(rec.label, m["restimulus"].ravel())
    np.testing.assert_array_equal(rec.repetition, m["rerepetition"].ravel())
    assert rec.label_source == "restimulus" and rec.fs == 2000.0
    assert set(np.unique(rec.subject)) == {3}


def test_ninapro_falls_back_to_stimulus(tmp_path):
    write_mat(tmp_path / "S1_E1_A1.mat", refined=False)
    # every NinaPro database has the refined labels: without them the download is truncated
    with pytest.warns(UserWarning, match="no 'restimulus'/'rerepetition'.*truncated"):
        rec = load_ninapro(tmp_path / "S1_E1_A1.mat", fs=100)
    m = sio.loadmat(tmp_path / "S1_E1_A1.mat")
    np.testing.assert_array_equal(rec.label, m["stimulus"].ravel())
    assert rec.label_source == "stimulus" and rec.repetition_source == "repetition"


def test_ninapro_complete_refined_labels_are_used_beside_a_lone_raw_column(tmp_path):
    # a user-trimmed file: the preferred pair is whole, so a lone 'stimulus' is no cut
    f = write_mat(tmp_path / "S1_A1_E1.mat", raw=False, stimulus=np.zeros((300, 1)))
    rec = load_ninapro(f, fs=100)
    assert rec.label_source == "restimulus"


def test_ninapro_mixed_label_sources_warn(tmp_path):
    write_mat(tmp_path / "S1_A1_E1.mat")
    write_mat(tmp_path / "S2_A1_E1.mat", refined=False)
    with pytest.warns(UserWarning, match="refined labels"):
        rec = load_ninapro(tmp_path, fs=100)
    assert rec.label_source == ("restimulus", "stimulus")


def test_ninapro_fs_from_file_argument_and_contradiction(tmp_path):
    f = write_mat(tmp_path / "S1_A1_E1.mat", frequency=np.array([[200]]))
    assert load_ninapro(f).fs == 200.0
    assert load_ninapro(f, fs=200).fs == 200.0
    with pytest.raises(ValueError, match="fs=100.0 contradicts.*frequency=200"):
        load_ninapro(f, fs=100)
    g = write_mat(tmp_path / "S2_A1_E1.mat")
    with pytest.raises(ValueError, match="does not state its sampling rate.*DB1: 100 Hz"):
        load_ninapro(g)
    assert load_ninapro(g, fs=1000).fs == 1000.0
    with pytest.raises(ValueError, match="positive"):
        load_ninapro(g, fs=-5)
    with pytest.raises(ValueError, match="contradicts"):
        load_ninapro(tmp_path, fs=1000)  # S1 states 200 Hz
    write_mat(tmp_path / "S2_A1_E1.mat", frequency=np.array([[2000]]))
    with pytest.raises(ValueError, match="different sampling rates.*S1_A1_E1.mat: 200 Hz"):
        load_ninapro(tmp_path)


def test_ninapro_missing_keys(tmp_path):
    f = tmp_path / "S1_A1_E1.mat"
    sio.savemat(f, {"stimulus": np.zeros((10, 1)), "repetition": np.zeros((10, 1))})
    with pytest.raises(ValueError, match="no 'emg' variable") as exc:
        load_ninapro(f, fs=100)
    # a ValueError like every damaged file, still a KeyError for older code, printed plainly
    assert isinstance(exc.value, KeyError) and str(exc.value).startswith("load_ninapro: ")
    write_mat(f, refined=False, raw=False)
    with pytest.raises(KeyError, match=r"missing \['stimulus', 'repetition'\]"):
        load_ninapro(f, fs=100)


def test_ninapro_corrupt_truncated_and_non_mat_files(tmp_path):
    good = write_mat(tmp_path / "good.mat").read_bytes()
    cases = {
        "S1_A1_E1.mat": good[: len(good) // 2],  # truncated
        "S2_A1_E1.mat": good[:100],  # truncated inside the first variable
        "S3_A1_E1.mat": b"",  # empty
        "S4_A1_E1.mat": b"this is a text file, not a MAT file " * 10,  # non-MAT
    }
    for name, content in cases.items():
        f = tmp_path / name
        f.write_bytes(content)
        with pytest.raises(ValueError, match=f"cannot read .*{name}.*corrupt, truncated"):
            load_ninapro(f, fs=100)
    # a MATLAB v7.3 (HDF5) header
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM"
    f = tmp_path / "S5_A1_E1.mat"
    f.write_bytes(header + b"\0" * 512)
    with pytest.raises(ValueError, match="v7.3.*'-v7'"):
        load_ninapro(f, fs=100)
    # with HDF5 bytes after the header, which read as MAT-5 tags would run past the end
    body = b"\0" * 384 + b"\x89HDF\r\n\x1a\n" + np.random.default_rng(0).bytes(4096)
    f.write_bytes(header + body)
    with pytest.raises(ValueError, match="v7.3.*'-v7'"):
        load_ninapro(f, fs=100)


@pytest.mark.parametrize("compressed", [False, True])
def test_ninapro_files_cut_anywhere_are_refused_never_loaded_with_other_labels(
    tmp_path, compressed
):
    # scipy's loadmat stops quietly at the end of a file: a cut inside a skipped variable or
    # just before 'rerepetition' used to load, with the raw 'stimulus' as labels
    path = tmp_path / "S9_A1_E1.mat"
    rng = np.random.default_rng(0)
    label = np.repeat([0, 1, 0, 2, 0], 60)
    rep = np.where(label > 0, 1, 0)
    variables = dict(emg=rng.random((300, 4)), glove=rng.random((300, 22)))
    variables.update(stimulus=label[:, None], repetition=rep[:, None])
    variables.update(restimulus=label[:, None], rerepetition=rep[:, None])
    sio.savemat(path, variables, do_compression=compressed)
    good = path.read_bytes()
    full = load_ninapro(path, fs=100)
    assert full.label_source == "restimulus"
    cut = tmp_path / "S1_A1_E1.mat"
    for end in range(136, len(good), 97):
        cut.write_bytes(good[:end])
        with pytest.raises(ValueError, match="S1_A1_E1.mat.*(corrupt|truncated|incomplete)"):
            load_ninapro(cut, fs=100)


def test_ninapro_mismatched_lengths_nan_and_channel_counts(tmp_path):
    f = tmp_path / "S1_A1_E1.mat"
    sio.savemat(
        f,
        {
            "emg": np.ones((100, 2)),
            "restimulus": np.zeros((99, 1)),
            "rerepetition": np.zeros((100, 1)),
        },
    )
    with pytest.raises(ValueError, match="mismatched lengths.*'emg' has 100.*'restimulus' has 99"):
        load_ninapro(f, fs=100)
    emg = np.ones((100, 2))
    emg[3, 1] = np.nan
    sio.savemat(f, {"emg": emg, "stimulus": np.zeros((100, 1)), "repetition": np.zeros((100, 1))})
    with pytest.raises(ValueError, match="1 NaN"):
        load_ninapro(f, fs=100)
    sio.savemat(f, {"emg": np.ones((100, 0)), "stimulus": np.zeros((100, 1))})
    with pytest.raises(ValueError, match=r"must be a non-empty real.*got shape \(100, 0\)"):
        load_ninapro(f, fs=100)
    emg[3, 1] = 1e39  # finite in the file, infinite in the float32 the loader returns
    sio.savemat(f, {"emg": emg, "stimulus": np.zeros((100, 1)), "repetition": np.zeros((100, 1))})
    with pytest.raises(ValueError, match=r"reaches 1e\+39, beyond float32's range"):
        load_ninapro(f, fs=100)
    write_mat(tmp_path / "S1_A1_E1.mat", n_channels=4)
    write_mat(tmp_path / "S2_A1_E1.mat", n_channels=6)
    with pytest.raises(ValueError, match="different channel counts"):
        load_ninapro(tmp_path, fs=100)


def test_ninapro_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no NinaPro files.*no .mat files at all"):
        load_ninapro(tmp_path, fs=100)
    sio.savemat(tmp_path / "calibration.mat", {"x": np.ones(3)})
    with pytest.raises(FileNotFoundError, match="calibration.mat"):
        load_ninapro(tmp_path, fs=100)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_ninapro(tmp_path / "nope", fs=100)
    write_mat(tmp_path / "S1_A1_E1.mat")
    with pytest.raises(TypeError, match="iterable of ints"):
        load_ninapro(tmp_path, subjects="1", fs=100)
    (tmp_path / "copy").mkdir()
    write_mat(tmp_path / "copy" / "S1_A1_E1.mat")
    with pytest.raises(ValueError, match="remove the duplicate"):
        load_ninapro(tmp_path, fs=100)


def test_ninapro_exercises_kept_apart_and_subject_key(tmp_path):
    (tmp_path / "s1").mkdir()
    write_mat(tmp_path / "s1" / "S1_A1_E1.mat")
    write_mat(tmp_path / "s1" / "S1_A1_E2.mat", exercise=np.array([[2]]))
    write_mat(tmp_path / "S2_A1_E1.mat", subject=np.array([[2]]))
    with pytest.warns(
        UserWarning, match=r"exercises \[1, 2\] use the same movement numbers \(\[1, 2\]\)"
    ):
        rec = load_ninapro(tmp_path, fs=100)
    check_recording(rec)
    assert rec.session_names == ("A1_E1", "A1_E2")
    s1 = rec.subject == 1
    assert set(np.unique(rec.exercise[s1])) == {1, 2}
    assert set(np.unique(rec.session[s1])) == {0, 1}
    # labels of exercise 2 are kept as in the file (they restart at 1)
    assert set(np.unique(rec.label[rec.exercise == 2])) == {0, 1, 2}
    # consecutive files never form one run of constant (label, repetition, subject, session)
    for a, b in runs(rec.label, rec.repetition, rec.subject, rec.session):
        assert len(np.unique(rec.block[a:b])) == 1
    assert set(np.unique(rec.block)) == {0, 1, 2} and len(rec.source_files) == 3
    write_mat(tmp_path / "S7_A1_E1.mat", subject=np.array([[8]]))
    with pytest.warns(UserWarning, match="says subject 7 in its name but 8"):
        rec = load_ninapro(tmp_path / "S7_A1_E1.mat", fs=100)
    assert set(np.unique(rec.subject)) == {8}


def test_ninapro_subject_is_selected_by_the_key_it_reports(tmp_path, monkeypatch):
    # S7_A1_E1.mat holds subject 8 by its key: selecting 8 finds it, selecting 7 says why not
    write_mat(tmp_path / "S7_A1_E1.mat", subject=np.array([[8]]))
    write_mat(tmp_path / "S3_A1_E1.mat")
    with pytest.warns(UserWarning, match="says subject 7 in its name but 8") as record:
        rec = load_ninapro(tmp_path, subjects=[8], fs=100)
    assert set(np.unique(rec.subject)) == {8} and len(rec.source_files) == 1
    assert [w.filename for w in record] == [__file__]  # the user's line
    with pytest.warns(UserWarning, match="says subject 7"):
        rec = load_ninapro(tmp_path, subjects=[3, 8], fs=100)
    assert set(np.unique(rec.subject)) == {3, 8}
    with (
        pytest.warns(UserWarning),
        pytest.raises(ValueError, match=r"\[7\] not found.*S7_A1_E1\.mat \(key 8\)"),
    ):
        load_ninapro(tmp_path, subjects=[7], fs=100)
    with (
        pytest.warns(UserWarning),
        pytest.raises(ValueError, match="holds subject 8 only, so the requested"),
    ):
        load_ninapro(tmp_path / "S7_A1_E1.mat", subjects=[7], fs=100)
    # a subject nobody has: the other files' keys are looked up, not the files read
    import semgaug_sk.datasets.ninapro as ninapro

    reads = []
    monkeypatch.setattr(ninapro, "_read_file", lambda path, fs: reads.append(path))
    with pytest.raises(ValueError, match=r"\[99\] not found"):
        load_ninapro(tmp_path, subjects=[99], fs=100)
    assert reads == []


# --------------------------------------------------------------------------------------------
# Myo armband (Côté-Allard)
# --------------------------------------------------------------------------------------------
@functools.cache
def _myo(root, subjects, dataset="evaluation", drop_duplicates=True):
    return load_myo_armband(
        root, subjects=subjects, dataset=dataset, drop_duplicates=drop_duplicates
    )


@pytest.fixture
def myo(shared_data):
    return str(shared_data("myo_armband_cote_allard"))


@pytest.mark.realdata
def test_myo_male0_evaluation(myo):
    rec = _myo(myo, "Male0")
    check_recording(rec)
    assert rec.emg.shape[1] == 8 and rec.fs == 200.0
    assert rec.subject_names == ("Male0",) and set(np.unique(rec.subject)) == {0}
    assert rec.session_names == ("training0", "Test0", "Test1")
    assert set(np.unique(rec.label)) == set(range(7))
    assert rec.label_names[0] == "Neutral" and rec.label_names[5] == "Hand Close"
    for s in range(3):
        in_s = rec.session == s
        for g in range(7):
            assert set(np.unique(rec.repetition[in_s & (rec.label == g)])) == {0, 1, 2, 3}
    assert len(rec.source_files) == 3 * 28 == len(np.unique(rec.block))
    assert np.abs(rec.emg).max() <= 128 and np.array_equal(rec.emg, np.round(rec.emg))
    # SOURCE.md check: training0 classe_5 (hand close, cycle 0) std 9-29, classe_0 (neutral) 1-4
    first = (rec.session == 0) & (rec.repetition == 0)
    close = rec.emg[first & (rec.label == 5)].std(axis=0)
    neutral = rec.emg[first & (rec.label == 0)].std(axis=0)
    assert np.round(close).min() >= 9 and np.round(close).max() <= 29
    assert np.round(neutral).min() >= 1 and np.round(neutral).max() <= 4
    assert rec.subject_info["Male0"]["Sex"] == "M"


@pytest.mark.realdata
def test_myo_pretraining_duplicates_dropped(myo):
    rec = _myo(myo, None, "pretraining")
    assert not {"Female7", "Female8", "Female9"} & set(rec.subject_names)
    assert len(rec.subject_names) == 19 and rec.session_names == ("training0",)
    with pytest.raises(ValueError, match="byte-identical.*drop_duplicates=False"):
        load_myo_armband(myo, subjects="Female8", dataset="pretraining")
    # the reason: PreTraining Female8 is Evaluation Female0's Test0
    dup = _myo(myo, "Female8", "pretraining", False)
    eva = load_myo_armband(myo, subjects="Female0", sessions="test0")
    np.testing.assert_array_equal(dup.emg, eva.emg)


@pytest.mark.realdata
def test_myo_selection_and_errors(myo):
    rec = load_myo_armband(myo, subjects=["Male0"], dataset="both", sessions=("training0",))
    assert rec.subject_names == ("evaluation/Male0", "pretraining/Male0")
    assert rec.session_names == ("training0",)
    q = load_myo_armband(myo, subjects="pretraining/Male0", dataset="both")
    assert q.subject_names == ("pretraining/Male0",)
    with pytest.raises(
        ValueError, match="not found.*available subjects.*'Female0', 'Female1', 'Male0'"
    ):
        load_myo_armband(myo, subjects="Male99")
    with pytest.raises(ValueError, match="unknown session"):
        load_myo_armband(myo, subjects="Male0", sessions="Test7")
    with pytest.raises(ValueError, match="dataset must be"):
        load_myo_armband(myo, dataset="eval")
    with pytest.raises(ValueError, match="only has 'training0'"):
        load_myo_armband(myo, subjects="Male0", dataset="pretraining", sessions="Test0")
    with pytest.raises(ValueError, match="not loaded"):
        load_myo_armband(myo, subjects="pretraining/Male0")


def test_myo_synthetic_files(tmp_path):
    session = tmp_path / "EvaluationDataset" / "Male0" / "training0"
    session.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(28):
        rng.integers(-128, 128, size=(50 + i, 8)).astype("<i2").tofile(session / f"classe_{i}.dat")
    # a partial download: the evaluation dataset has three sessions per subject
    with pytest.warns(UserWarning, match=r"Male0 has no session folder\(s\) \['Test0', 'Test1'\]"):
        load_myo_armband(tmp_path)
    (tmp_path / "EvaluationDataset" / "Male1" / "Test0").mkdir(parents=True)
    with pytest.warns(
        UserWarning,
        match=r"Male1 has no session folder\(s\) \['training0'\]; the subject is skipped",
    ):
        load_myo_armband(tmp_path, sessions="training0")
    (tmp_path / "EvaluationDataset" / "Male1" / "Test0").rmdir()
    (tmp_path / "EvaluationDataset" / "Male1").rmdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = load_myo_armband(tmp_path, sessions="training0")
    check_recording(rec)
    assert rec.session_names == ("training0",) and rec.subject_info == {"Male0": {}}
    np.testing.assert_array_equal(np.bincount(rec.block), 50 + np.arange(28))
    starts = np.flatnonzero(np.r_[True, rec.block[1:] != rec.block[:-1]])
    np.testing.assert_array_equal(rec.label[starts], np.arange(28) % 7)
    np.testing.assert_array_equal(rec.repetition[starts], np.arange(28) // 7)
    (session / "classe_3.dat").write_bytes(np.zeros(16, dtype="<i2").tobytes() + b"\x00")
    with pytest.raises(ValueError, match="classe_3.dat has an odd number of bytes.*truncated"):
        load_myo_armband(tmp_path)  # np.fromfile would drop the dangling byte
    np.full(13, 0, dtype="<i2").tofile(session / "classe_3.dat")  # not a multiple of 8 channels
    with pytest.raises(ValueError, match="classe_3.dat.*truncated"):
        load_myo_armband(tmp_path)
    np.full(16, 300, dtype="<i2").tofile(session / "classe_3.dat")
    with pytest.raises(ValueError, match="8-bit range"):
        load_myo_armband(tmp_path)
    (session / "classe_3.dat").unlink()
    with pytest.raises(FileNotFoundError, match="classe_3.dat is missing"):
        load_myo_armband(tmp_path)
    with pytest.raises(FileNotFoundError, match="PreTrainingDataset does not exist"):
        load_myo_armband(tmp_path, dataset="pretraining")


# --------------------------------------------------------------------------------------------
# UCI EMG data for gestures
# --------------------------------------------------------------------------------------------
@functools.cache
def _uci(root, subjects):
    return load_uci_gestures(root, subjects=subjects)


@pytest.mark.realdata
def test_uci_one_subject(shared_data):
    root = shared_data("uci_emg_gestures")
    rec = _uci(str(root), 1)
    check_recording(rec)
    assert rec.emg.shape[1] == 8 and rec.fs == 200.0
    assert set(np.unique(rec.label)) <= set(range(7))
    for g in range(1, 7):
        assert set(np.unique(rec.repetition[rec.label == g])) == {1, 2, 3, 4}
    assert (rec.repetition[rec.label == 0] == 0).all()
    assert rec.session_names == ("series1", "series2")
    # resampled length = recorded duration x fs (+1 sample per file)
    expected = np.floor(rec.durations_s * rec.fs).sum() + len(rec.durations_s)
    assert len(rec.emg) == expected
    assert abs(len(rec.emg) - rec.durations_s.sum() * rec.fs) <= 2 * len(rec.durations_s)
    # values are Myo counts x 1e-5
    np.testing.assert_allclose(rec.emg * 1e5, np.round(rec.emg * 1e5), atol=1e-2)
    with pytest.raises(
        ValueError, match=r"subject\(s\) \[2\] not found.*available subjects: \[1, 3"
    ):
        load_uci_gestures(root, subjects=2)


def write_uci(path, times, values, classes):
    rows = ["time\t" + "\t".join(f"channel{c + 1}" for c in range(values.shape[1])) + "\tclass"]
    for t, v, c in zip(times, values, classes, strict=True):
        rows.append("\t".join([str(t), *(f"{x:g}" for x in v), str(c)]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")


def test_uci_zero_order_hold_and_repetitions(tmp_path):
    # irregular rows, values held between updates, class 3 twice and class 1 once per series
    times = np.array([0, 3, 7, 10, 12, 19, 20, 26, 30, 31, 40])
    classes = np.array([0, 3, 3, 0, 1, 1, 0, 3, 3, 0, 0])
    values = np.arange(len(times))[:, None] * np.ones((1, 2)) * 1e-5
    for series in (1, 2):
        write_uci(tmp_path / "05" / f"{series}_raw_data_10-00_01.01.16.txt", times, values, classes)
    rec = load_uci_gestures(tmp_path, fs=200.0)  # 5 ms grid: 0, 5, ..., 40
    check_recording(rec)
    grid = np.arange(0, 41, 5)
    held = np.searchsorted(times, grid, side="right") - 1  # last row at or before each grid time
    n = len(grid)
    assert len(rec.emg) == 2 * n
    np.testing.assert_allclose(rec.emg[:n, 0], values[held, 0], rtol=1e-6)
    np.testing.assert_array_equal(rec.label[:n], classes[held])
    assert set(np.unique(rec.label)) <= {0, 1, 3}  # a label never interpolates
    # class 3: runs 1, 2 in series 1 -> reps 1, 2; in series 2 -> 3, 4; class 1 (one run) -> 1, 3
    first, second = slice(0, n), slice(n, 2 * n)
    assert set(np.unique(rec.repetition[first][rec.label[first] == 3])) == {1, 2}
    assert set(np.unique(rec.repetition[second][rec.label[second] == 3])) == {3, 4}
    assert set(np.unique(rec.repetition[rec.label == 1])) == {1, 3}
    assert set(np.unique(rec.subject)) == {5} and set(np.unique(rec.session)) == {0, 1}
    one = load_uci_gestures(tmp_path / "05", fs=200.0)
    np.testing.assert_array_equal(one.emg, rec.emg)
    f = next((tmp_path / "05").glob("2_*"))
    single = load_uci_gestures(f, fs=200.0)
    assert single.session_names == ("series2",)
    np.testing.assert_array_equal(single.repetition, rec.repetition[second])


def test_uci_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no UCI gestures files"):
        load_uci_gestures(tmp_path)
    f = tmp_path / "01" / "1_raw_data_10-00_01.01.16.txt"
    write_uci(f, np.array([0, 5, 3]), np.zeros((3, 8)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="goes backwards at row 3"):
        load_uci_gestures(tmp_path)
    # a corrupt timestamp would have sized the resampling grid by its span (a MemoryError)
    write_uci(f, np.array([1, 2, 1e13]), np.zeros((3, 8)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match=r"jumps by 1e\+10 s between rows 3 and 4.*corrupt"):
        load_uci_gestures(tmp_path)
    f.write_text("time\tchannel1\tclass\n1\t0.1\t0\n2\tabc\t0\n")
    with pytest.raises(ValueError, match="cannot parse"):
        load_uci_gestures(tmp_path)
    f.write_text("hello\n1 2 3\n")
    with pytest.raises(ValueError, match="header"):
        load_uci_gestures(tmp_path)
    f.write_text("time\tchannel1\tclass\n1\t0.1\t0\n")
    with pytest.raises(ValueError, match="truncated"):
        load_uci_gestures(tmp_path)
    with pytest.raises(ValueError, match="positive"):
        load_uci_gestures(tmp_path, fs=0)
    g = tmp_path / "misc.txt"
    g.write_text("x")
    with pytest.raises(ValueError, match="not a UCI gestures file"):
        load_uci_gestures(g)


# --------------------------------------------------------------------------------------------
# simulator
# --------------------------------------------------------------------------------------------
def gesture_windows(rec, window_ms=200.0, step_ms=100.0):
    """Windows inside constant (label, repetition, subject) gesture runs (rest excluded)."""
    w = int(round(window_ms * rec.fs / 1000))
    step = int(round(step_ms * rec.fs / 1000))
    starts, y, reps = [], [], []
    for a, b in runs(rec.label, rec.repetition, rec.subject):
        if rec.label[a] != 0 and b - a >= w:
            s = np.arange(a, b - w + 1, step)
            starts.append(s)
            y.append(np.full(len(s), rec.label[a]))
            reps.append(np.full(len(s), rec.repetition[a]))
    starts = np.concatenate(starts)
    X = rec.emg[starts[:, None] + np.arange(w)].transpose(0, 2, 1)
    return X, np.concatenate(y), np.concatenate(reps)


def hudgins(X):
    d = np.diff(X, axis=-1)
    return np.concatenate(
        [
            np.abs(X).mean(-1),
            np.abs(d).sum(-1),
            (X[..., 1:] * X[..., :-1] < 0).sum(-1),
            (d[..., 1:] * d[..., :-1] < 0).sum(-1),
        ],
        axis=1,
    )


def test_simulator_determinism():
    a = make_semg_gestures(random_state=0)
    b = make_semg_gestures(random_state=0)
    c = make_semg_gestures(random_state=1)
    np.testing.assert_array_equal(a.emg, b.emg)
    np.testing.assert_array_equal(a.label, b.label)
    assert a.emg.shape != c.emg.shape or not np.array_equal(a.emg, c.emg)
    d = make_semg_gestures(random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(a.emg, d.emg)


def test_simulator_structure_and_default_size():
    rec = make_semg_gestures(random_state=3)
    check_recording(rec)
    assert rec.emg.shape[1] == 8 and rec.fs == 1000.0
    assert set(np.unique(rec.label)) == set(range(7))
    assert rec.label[0] == 0 and rec.label[-1] == 0
    assert (rec.repetition[rec.label == 0] == 0).all()
    gesture_runs = [(a, b) for a, b in runs(rec.label, rec.repetition) if rec.label[a] != 0]
    assert len(gesture_runs) == 6 * 6  # each (class, repetition) is exactly one segment
    assert {(rec.label[a], rec.repetition[a]) for a, _ in gesture_runs} == {
        (k, r) for k in range(1, 7) for r in range(1, 7)
    }
    X, _, _ = gesture_windows(rec)
    assert 200 <= len(X) <= 600
    # rest is much quieter than gestures
    assert rec.emg[rec.label == 0].std() < 0.3 * rec.emg[rec.label != 0].std()
    assert rec.class_patterns.shape == (6, 8)


def test_simulator_subjects_spectrum_and_powerline():
    rec = make_semg_gestures(
        n_subjects=2, n_classes=2, n_repetitions=2, n_channels=4, random_state=0
    )
    check_recording(rec)
    assert set(np.unique(rec.subject)) == {1, 2}
    np.testing.assert_array_equal(rec.block, rec.subject - 1)
    from scipy.signal import welch

    f, p = welch(rec.emg[rec.label != 0], fs=rec.fs, axis=0, nperseg=256)
    in_band = p[(f >= 20) & (f <= 450)].sum() / p.sum()
    assert in_band > 0.9
    hum = make_semg_gestures(
        n_classes=2, n_repetitions=2, powerline_amplitude=0.5, powerline_freq=60.0, random_state=0
    )
    f, p = welch(hum.emg[:, 0], fs=hum.fs, nperseg=1000)
    assert f[np.argmax(p)] == 60.0
    low = make_semg_gestures(n_classes=2, n_repetitions=2, fs=100.0, random_state=0)
    assert low.fs == 100.0 and np.isfinite(low.emg).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_classes=0), "n_classes must be an integer >= 1"),
        (dict(n_subjects=1.5), "n_subjects"),
        (dict(n_channels=0), "n_channels"),
        (dict(fs=0), "fs must be a finite number > 0"),
        (dict(fs=-100.0), "fs must be"),
        (dict(gesture_duration=0), "gesture_duration"),
        (dict(noise_level=-1), "noise_level must be a finite number >= 0"),
        (dict(crosstalk=0.5), r"crosstalk must be in \[0, 0.5\)"),
        (dict(duration_jitter=5), r"duration_jitter must be in \[0, 2\]; got 5"),
        (dict(fs=30.0), "does not fit below"),
        (dict(band=(500.0, 400.0)), "0 < low_hz < high_hz; give the lower edge first"),
        (dict(band=(300.0, 400.0), fs=500.0), "does not fit below"),
        (dict(band=5), "band must be a pair"),
        (dict(powerline_amplitude=1.0, powerline_freq=60.0, fs=100.0), "not below the Nyquist"),
    ],
)
def test_simulator_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_semg_gestures(**kwargs)


def test_simulator_difficulty():
    """LDA on Hudgins features, repetitions 1-3 -> 4-6: separable but not trivially (docstring figure)."""
    scores = []
    for seed in range(5):
        rec = make_semg_gestures(random_state=seed)
        X, y, reps = gesture_windows(rec)
        F = hudgins(X)
        train = np.isin(reps, [1, 2, 3])
        scores.append(
            LinearDiscriminantAnalysis().fit(F[train], y[train]).score(F[~train], y[~train])
        )
    assert 0.70 <= np.mean(scores) <= 0.95, scores
    assert min(scores) > 3 / 6  # every seed far above chance (1/6)


@pytest.mark.realdata
def test_loaders_cut_into_windows(myo):
    """The recordings feed sliding_windows: Neutral kept with rest_label=None, no window spans files."""
    from semgaug_sk.windows import sliding_windows

    rec = _myo(myo, "Male0")
    w = sliding_windows(rec, window_ms=260, step_ms=50, rest_label=None)
    assert set(np.unique(w.y)) == set(range(7))
    # the recording says it has no rest class, so the default keeps Neutral (gesture 0) too
    assert rec.rest_label is None
    default = sliding_windows(rec, window_ms=260, step_ms=50)
    np.testing.assert_array_equal(default.y, w.y)
    # a bare stream carries no such record: label 0 is dropped as rest, as documented
    bare = sliding_windows(rec.emg, fs=rec.fs, window_ms=260, step_ms=50, label=rec.label)
    assert 0 not in set(bare.y.tolist())
    assert (rec.block[w.start] == rec.block[w.start + w.window_samples - 1]).all()
    ahead = sliding_windows(rec, window_ms=260, step_ms=50, rest_label=None, horizon_ms=100)
    end = ahead.start + ahead.window_samples - 1 + ahead.horizon_samples
    assert (rec.block[ahead.start] == rec.block[end]).all()  # the future stays in the same file
    sim = sliding_windows(make_semg_gestures(random_state=0), window_ms=200, step_ms=100)
    assert 200 <= len(sim.X) <= 600


def test_ninapro_exercises_with_their_own_movement_numbers_load_without_a_warning(tmp_path):
    import warnings

    write_mat(tmp_path / "S1_A1_E1.mat")
    second = write_mat(tmp_path / "S1_A1_E2.mat", exercise=np.array([[2]]))
    m = sio.loadmat(second)
    for key in ("stimulus", "restimulus"):  # numbered on from exercise 1, as DB2-DB4 do
        m[key] = np.where(m[key] > 0, m[key] + 2, 0)
    sio.savemat(second, {k: v for k, v in m.items() if not k.startswith("__")})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = load_ninapro(tmp_path, fs=100)
    assert set(np.unique(rec.label).tolist()) == {0, 1, 2, 3, 4}


def test_simulator_refuses_a_recording_too_short_to_filter():
    with pytest.raises(ValueError, match="too few to filter.*gesture_duration"):
        make_semg_gestures(
            n_classes=1,
            n_repetitions=1,
            gesture_duration=0.005,
            rest_duration=0.005,
            random_state=0,
        )


@pytest.mark.realdata
def test_myo_subject_names_match_without_regard_to_case(shared_data):
    from semgaug_sk.datasets import load_myo_armband

    path = shared_data("myo_armband_cote_allard")
    lower = load_myo_armband(path, subjects="male0", sessions="training0")
    exact = load_myo_armband(path, subjects="Male0", sessions="training0")
    assert lower.subject_names == exact.subject_names == ("Male0",)
    np.testing.assert_array_equal(lower.emg, exact.emg)


@pytest.mark.realdata
def test_a_wrong_fs_for_files_that_do_not_state_it_is_flagged(db1):
    import warnings

    path = Path(db1) / "S1_A1_E1.mat"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # DB1's true rate: no warning
        load_ninapro(path, fs=100)
    with pytest.warns(
        UserWarning,
        match=r"at fs=2000 Hz the labelled movements last a median of 0\.\d+ s.*DB1: 100 Hz",
    ):
        load_ninapro(path, fs=2000)
    with pytest.warns(UserWarning, match="check fs"):
        load_ninapro(path, fs=2)


def test_movement_durations_are_runs_of_one_label():
    from semgaug_sk.datasets.ninapro import movement_durations

    label = np.array([0, 3, 3, 3, 1, 1, 0, 0, 2])
    assert movement_durations(label, fs=1.0).tolist() == [3.0, 2.0, 1.0]
    assert movement_durations(np.zeros(5, int), fs=1.0).tolist() == []


def test_uci_relative_paths_duplicate_folders_bom_and_fs_types(tmp_path, monkeypatch):
    times, classes = np.array([0, 5, 10, 15]), np.array([0, 1, 1, 0])
    f = tmp_path / "01" / "1_raw_data_10-00_01.01.16.txt"
    write_uci(f, times, np.zeros((4, 2)), classes)
    monkeypatch.chdir(tmp_path / "01")  # "." and a bare file name name no subject folder
    assert set(np.unique(load_uci_gestures(f.name).subject)) == {1}
    assert set(np.unique(load_uci_gestures(".").subject)) == {1}
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="path is an empty string"):
        load_uci_gestures("")
    for fs in (True, "200"):
        with pytest.raises(TypeError, match="fs must be a number in Hz"):
            load_uci_gestures(tmp_path, fs=fs)
    # a header saved with a byte-order mark (Excel, Notepad) is still the header
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    assert len(load_uci_gestures(tmp_path).emg) > 0
    # 1/ and 01/ both name subject 1: one would silently replace the other
    write_uci(tmp_path / "1" / "2_raw_data_10-00_01.01.16.txt", times, np.zeros((4, 2)), classes)
    with pytest.raises(ValueError, match=r"both name subject 1; keep one of them"):
        load_uci_gestures(tmp_path)


def test_ninapro_one_file_with_an_absent_subject_requested(db1):
    f = sorted(Path(db1).glob("S1_*.mat"))[0]
    with pytest.raises(
        ValueError, match=r"holds subject 1 only, so the requested subject\(s\) \[2\]"
    ):
        load_ninapro(f, subjects=[1, 2], fs=100)
    with pytest.raises(TypeError, match="fs must be a number in Hz"):
        load_ninapro(f, fs=True)
    assert set(np.unique(load_ninapro(f, subjects=1, fs=100).subject)) == {1}


def test_myo_skips_hidden_and_system_folders(myo, tmp_path):
    import shutil

    root = tmp_path / "myo"
    src = Path(myo) / "EvaluationDataset" / "Female0"
    shutil.copytree(src, root / "EvaluationDataset" / "Female0")
    (root / "EvaluationDataset" / "__MACOSX").mkdir()
    (root / "EvaluationDataset" / ".ipynb_checkpoints").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = load_myo_armband(root, dataset="evaluation")
    assert rec.subject_names == ("Female0",)
