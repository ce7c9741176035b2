"""Raise sites that no other test triggered, and messages that now name their fix.

Each case reaches the raise site through the public API (or the ``semgaug`` command) with
a tiny bad input, and checks the exception type and a regex on the message that names the
problem and the fix. Data are a few random windows and fake data files of a few hundred
bytes written to ``tmp_path``; the only networks trained are one-epoch ones of 4 filters,
so the file runs in seconds.
"""

from __future__ import annotations

import sys
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.io as sio
import torch
from _assertions import raises
from sklearn.base import BaseEstimator
from sklearn.utils import Bunch

from semgaug_sk import EMGFeatures, FeatureImitator, FINClassifier, SASGAugmenter, SemanticEncoder
from semgaug_sk import features as F
from semgaug_sk import metrics as M
from semgaug_sk.augmentation import ClassicAugmenter
from semgaug_sk.cli import main
from semgaug_sk.datasets import load_myo_armband, load_ninapro, load_uci_gestures
from semgaug_sk.model_selection import repetition_split
from semgaug_sk.persistence import load_weights, save_weights
from semgaug_sk.plotting import plot_gain_bars
from semgaug_sk.preprocessing import bandpass, highpass
from semgaug_sk.windows import sliding_windows

RNG = np.random.default_rng(0)
X = RNG.standard_normal((12, 2, 32)).astype(np.float32)
Y = np.repeat(np.array([0, 1, 2]), 4)
TINY_IMI = dict(hidden_size=4, num_layers=1, max_epochs=1, validation_fraction=0)
TINY_FIN = dict(head_channels=(4, 4, 4), max_epochs=1, fine_tune_epochs=1, validation_fraction=0)
TINY_SASG = dict(n_steps=2, base_channels=8, channel_mults=(1,), n_cond_tokens=1, random_state=0)


# ==========================================================================================
# 1. Loaders: subject filters, and fake NinaPro, UCI and Myo files
# ==========================================================================================
def write_mat(path, n=300, **variables):
    """A tiny NinaPro-like .mat file; ``variables`` replace or add to the good ones."""
    label = np.repeat([0, 1, 0], n // 3)[:, None]
    good = dict(emg=RNG.random((n, 2)), restimulus=label, rerepetition=label)
    sio.savemat(path, {**good, **variables})
    return path


def write_uci(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


UCI_NAME = "1_raw_data_13-12_22.03.16.txt"


def test_subjects_filter_refuses_non_integers_and_an_empty_list(tmp_path):
    f = write_mat(tmp_path / "S1_A1_E1.mat")
    raises(
        lambda: load_ninapro(f, subjects=[1, "2"], fs=100),
        TypeError,
        r"subjects must contain integers; got '2' in \[1, '2'\]",
        "load_ninapro:",
    )
    raises(
        lambda: load_uci_gestures(tmp_path, subjects=[]),
        ValueError,
        r"subjects is empty; pass None to load all, or at least one value",
        "load_uci_gestures:",
    )


NINAPRO_FILES = [
    (
        "no-subject",
        "recording.mat",
        {},
        r"has no 'subject' key and its name does not start with S<number>; rename it like "
        r"S1_A1_E1\.mat",
    ),
    (
        "label-not-a-column",
        "S1_A1_E1.mat",
        dict(restimulus=np.zeros((300, 2))),
        r"'restimulus' in .* must be one number per sample; got shape \(300, 2\).*Store it as "
        r"a column of numbers",
    ),
    (
        "label-too-short",
        "S1_A1_E1.mat",
        dict(restimulus=np.zeros((299, 1))),
        r"mismatched lengths in .*'emg' has 300 samples but 'restimulus' has 299.*download it "
        r"again",
    ),
    (
        "label-not-integer",
        "S1_A1_E1.mat",
        dict(restimulus=np.full((300, 1), 0.5)),
        r"'restimulus' in .* holds non-integer or NaN values; .*download it again, or store "
        r"whole numbers",
    ),
    (
        "rate-zero",
        "S1_A1_E1.mat",
        dict(frequency=0.0),
        r"states a sampling rate frequency=0\.0; it must be > 0\. Fix or delete 'frequency' in "
        r"the file, then pass fs= \(DB1: 100 Hz",
    ),
    (
        "rate-nan",
        "S1_A1_E1.mat",
        dict(frequency=np.nan),
        r"states a sampling rate frequency=nan; it must be > 0\. Fix or delete 'frequency'",
    ),
]


@pytest.mark.parametrize(
    "name, variables, match", [c[1:] for c in NINAPRO_FILES], ids=[c[0] for c in NINAPRO_FILES]
)
def test_bad_ninapro_files(tmp_path, name, variables, match):
    f = write_mat(tmp_path / name, **variables)
    raises(lambda: load_ninapro(f, fs=100), ValueError, match, "load_ninapro:")


UCI_FILES = [
    (
        "one-row",
        "time\tchannel1\tclass\n1\t0.1\t0\n",
        r"has 1 row\(s\) of 3 column\(s\); expected at least 2 rows of 3 columns .*truncated: "
        r"download it again",
    ),
    (
        "columns-unlike-header",
        "time\tchannel1\tclass\n1\t0.1\t0.2\t0\n2\t0.1\t0.2\t0\n",
        r"has 2 row\(s\) of 4 column\(s\); expected at least 2 rows of 3 columns",
    ),
    (
        "time-backwards",
        "time\tchannel1\tclass\n1\t0.1\t0\n5\t0.1\t0\n3\t0.1\t0\n",
        r"the time column of .* goes backwards at row 3; the file is corrupt\. Download it again",
    ),
    (
        "class-not-integer",
        "time\tchannel1\tclass\n1\t0.1\t0.5\n20\t0.1\t0.5\n",
        r"the class column of .* holds non-integer or negative values; the classes are whole "
        r"numbers >= 0 .*Download it again",
    ),
    (
        "class-negative",
        "time\tchannel1\tclass\n1\t0.1\t-1\n20\t0.1\t-1\n",
        r"the class column of .* holds non-integer or negative values; .*Download it again",
    ),
]


@pytest.mark.parametrize("text, match", [c[1:] for c in UCI_FILES], ids=[c[0] for c in UCI_FILES])
def test_bad_uci_files(tmp_path, text, match):
    write_uci(tmp_path / "01" / UCI_NAME, text)
    raises(lambda: load_uci_gestures(tmp_path), ValueError, match, "load_uci_gestures:")


@pytest.fixture
def myo_root(tmp_path):
    """A Myo armband folder of one subject and one session of silent 16-sample files."""
    session = tmp_path / "EvaluationDataset" / "Male0" / "training0"
    session.mkdir(parents=True)
    for i in range(28):
        np.zeros(16, dtype="<i2").tofile(session / f"classe_{i}.dat")
    return tmp_path


MYO = [
    (
        "subjects-not-names",
        dict(subjects=3),
        TypeError,
        r"subjects must be a string or a list of strings; got 3",
    ),
    (
        "subjects-empty",
        dict(subjects=[]),
        ValueError,
        r"subjects is empty; pass None to load all, or at least one name",
    ),
    (
        "sessions-empty",
        dict(sessions=()),
        ValueError,
        r"sessions is empty; pass None to load all, or at least one name",
    ),
    (
        "subject-of-the-other-dataset",
        dict(subjects="pretraining/Male0"),
        ValueError,
        r"subject 'pretraining/Male0' names dataset 'pretraining', which is not loaded with "
        r"dataset='evaluation'\. Pass dataset='pretraining' or dataset='both', or drop the "
        r"'pretraining/' prefix",
    ),
    (
        "subject-of-an-unknown-dataset",
        dict(subjects="train/Male0"),
        ValueError,
        r"names dataset 'train', .*Qualify it with 'evaluation/' or 'pretraining/', or drop "
        r"the 'train/' prefix",
    ),
]


@pytest.mark.parametrize("kwargs, exc, match", [c[1:] for c in MYO], ids=[c[0] for c in MYO])
def test_bad_myo_arguments(myo_root, kwargs, exc, match):
    raises(lambda: load_myo_armband(myo_root, **kwargs), exc, match, "load_myo_armband:")


def test_myo_file_outside_the_8_bit_range_names_the_fix(myo_root):
    np.full(16, 300, dtype="<i2").tofile(
        myo_root / "EvaluationDataset" / "Male0" / "training0" / "classe_3.dat"
    )
    raises(
        lambda: load_myo_armband(myo_root),
        ValueError,
        r"classe_3\.dat has values outside the Myo's 8-bit range -128\.\.127 \(300\.\.300\); it is "
        r"not a Myo armband \.dat file\. Pass the Myo dataset's root folder, or download",
        "load_myo_armband:",
    )


# ==========================================================================================
# 2. Metrics and splits
# ==========================================================================================
REAL = RNG.standard_normal((20, 3))
SYN = RNG.standard_normal((20, 3))
Y20 = np.repeat([0, 1], 10)


class NaNEncoder:
    """An encoder whose transform diverged: NaN embeddings for finite windows."""

    def transform(self, X):
        return np.full((len(X), 2), np.nan)


def test_metrics_refuse_empty_rows_missing_labels_and_a_broken_encoder():
    raises(
        lambda: M.frechet_distance(np.zeros((5, 0)), SYN),
        ValueError,
        r"real has 0 features per sample \(shape \(5, 0\)\); pass non-empty rows",
    )
    raises(
        lambda: M.evaluate_synthetic(REAL, SYN, X_test=REAL, y_test=Y20),
        ValueError,
        r"CAS trains on the synthetic labels: pass y_syn with X_test/y_test",
    )
    windows = RNG.standard_normal((8, 2, 16))
    labels = np.repeat([0, 1], 4)
    raises(
        lambda: M.fidelity_report(windows, windows, labels, labels, encoder=NaNEncoder()),
        ValueError,
        r"encoder\.transform returned NaN or infinite embeddings for real windows that are "
        r"finite; .*Refit or replace it",
    )


def test_cas_with_one_synthetic_class_names_the_fix():
    raises(
        lambda: M.classification_accuracy_score(SYN, np.zeros(20), REAL, Y20),
        ValueError,
        r"y_syn has 1 class; CAS needs synthetic samples of at least 2 classes\. Generate "
        r"samples of every class in y_test",
    )


def test_repetition_split_refuses_an_empty_list():
    windows = Bunch(X=np.zeros((4, 1, 2)), y=np.ones(4), repetition=np.array([1, 2, 3, 4]))
    raises(
        lambda: repetition_split(windows, []),
        ValueError,
        r"train repetitions is empty; name at least one",
        "repetition_split:",
    )


# ==========================================================================================
# 3. Filters, windows and labels
# ==========================================================================================
STREAM = RNG.standard_normal((400, 2))


class SparseLike:
    """Anything with ``toarray``: a scipy.sparse matrix, without importing scipy.sparse."""

    def toarray(self):
        return STREAM


FILTERS = [
    (
        "cutoff-text",
        lambda: highpass(STREAM, fs=1000.0, cutoff="20"),
        ValueError,
        r"highpass: cutoff must be a frequency in Hz; got '20'",
    ),
    (
        "sparse",
        lambda: highpass(SparseLike(), fs=1000.0),
        TypeError,
        r"highpass: sparse input is not supported; pass a dense array \(x\.toarray\(\)\)",
    ),
    (
        "scalar",
        lambda: highpass(np.float64(1.0), fs=1000.0),
        ValueError,
        r"highpass: the signal is a scalar; pass an array with a time axis",
    ),
    (
        "complex",
        lambda: highpass(STREAM.astype(complex), fs=1000.0),
        ValueError,
        r"highpass: the signal must be real numbers; got dtype complex128\. Convert it with "
        r"np\.asarray\(x, dtype=float\) \(take np\.abs or \.real",
    ),
    (
        "low-above-high",
        lambda: bandpass(STREAM, fs=1000.0, low=300.0, high=100.0),
        ValueError,
        r"bandpass: low=300 Hz must be below high=100 Hz; pass low < high \(swap them",
    ),
]


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in FILTERS], ids=[c[0] for c in FILTERS])
def test_bad_filter_input(call, exc, match):
    raises(call, exc, match)


def test_nan_per_sample_labels_name_the_fix():
    label = np.repeat([0.0, 1.0], 200)
    label[3] = np.nan
    raises(
        lambda: sliding_windows(STREAM, fs=200, label=label),
        ValueError,
        r"label contains NaN or infinite values; per-sample labels must be finite\. Give every "
        r"sample a value \(e\.g\. the rest label\) first",
        "sliding_windows:",
    )


def test_complex_labels_name_the_fix():
    raises(
        lambda: ClassicAugmenter(random_state=0).fit_resample(X, Y.astype(complex)),
        ValueError,
        r"y has a complex dtype; labels must be integers or strings\. Take the real part: "
        r"y\.real, or y\.real\.astype\(int\)",
        "ClassicAugmenter",
    )


# ==========================================================================================
# 4. Feature names and thresholds
# ==========================================================================================
FEATURES = [
    (
        "feature-not-a-string",
        lambda: F.resolve_features(["rms", 3]),
        TypeError,
        r"features must contain feature or group names \(strings\); got 3 of type int",
    ),
    (
        "threshold-not-a-number",
        lambda: F.zc(X, threshold="0.1"),
        TypeError,
        r"zc: threshold must be a real number >= 0; got '0\.1'",
    ),
    (
        "threshold-key-unknown",
        lambda: F.zc(X, threshold={"rms": 0.1}),
        ValueError,
        r"zc: threshold has keys \['rms'\]; per-feature thresholds apply to zc, ssc, wamp only",
    ),
    (
        "threshold-value-not-a-number",
        lambda: EMGFeatures(features="zc", threshold={"zc": "a"}).fit_transform(X),
        TypeError,
        r"threshold\['zc'\] must be a real number >= 0; got 'a'",
    ),
    (
        "scalar",
        lambda: F.rms(np.float64(1.0)),
        ValueError,
        r"rms: x is a scalar; pass an array whose last axis is time",
    ),
]


@pytest.mark.parametrize(
    "call, exc, match", [c[1:] for c in FEATURES], ids=[c[0] for c in FEATURES]
)
def test_bad_feature_arguments(call, exc, match):
    raises(call, exc, match)


# ==========================================================================================
# 5. Estimators: imitator, encoder, generator settings and checkpoints
# ==========================================================================================
def test_an_imitator_fitted_on_other_windows_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imitator = FeatureImitator(**TINY_IMI, random_state=0).fit(X)
    longer = RNG.standard_normal((12, 2, 48)).astype(np.float32)
    raises(
        lambda: FINClassifier(imitator, **TINY_FIN).fit(longer, Y),
        ValueError,
        r"the given imitator was fitted on windows of 32 sample\(s\) but X has 48\. Cut windows "
        r"of the length the imitator was fitted on, pass an unfitted imitator, or set "
        r"refit_imitator=True",
        "FINClassifier",
    )


def test_an_all_zero_x_names_the_fix():
    raises(
        lambda: FeatureImitator(**TINY_IMI).fit(np.zeros_like(X)),
        ValueError,
        r"X is identically zero; the imitator needs windows with signal\. Pass the recorded "
        r"windows",
        "FeatureImitator",
    )


def test_a_collapsed_embedding_names_the_semantic_encoder():
    raises(
        lambda: SemanticEncoder(embedding_dim=2, max_epochs=1).fit(X, Y),
        ValueError,
        r"^SemanticEncoder: embedding_dim must be at least 3; got 2\.",
    )


class WrongShapeEncoder(BaseEstimator):
    """A prefitted encoder whose transform returns one number per window."""

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return np.full((len(X), 3), 1 / 3)

    def transform(self, X):
        return np.zeros(len(X))


def test_an_encoder_returning_the_wrong_shape_is_refused():
    encoder = WrongShapeEncoder()
    encoder.classes_ = np.array([0, 1, 2])
    raises(
        lambda: SASGAugmenter(encoder, refit_encoder=False, **TINY_SASG).fit_resample(X, Y),
        ValueError,
        r"encoder\.transform must return \(n_windows, embedding_dim\); got shape \(12,\)",
        "SASGAugmenter",
    )


def test_a_checkpoint_dir_that_cannot_be_created_is_refused(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    raises(
        lambda: SASGAugmenter(checkpoint_dir=blocker / "ckpt", **TINY_SASG).fit_resample(X, Y),
        ValueError,
        r"cannot create the checkpoint folder .*a_file.*\. Pass a writable checkpoint_dir, or "
        r"checkpoint_dir=None",
        "SASGAugmenter",
    )


def test_checkpoint_dir_with_an_accelerator_is_refused(tmp_path):
    accelerator = SimpleNamespace(
        prepare=lambda *a: a, unwrap_model=lambda m: m, reduce=lambda t: t
    )
    raises(
        lambda: SASGAugmenter(
            checkpoint_dir=tmp_path, accelerator=accelerator, **TINY_SASG
        ).fit_resample(X, Y),
        ValueError,
        r"checkpoint_dir is not supported with an accelerator; use accelerator\.save_state in "
        r"your training script, or set checkpoint_dir=None",
        "SASGAugmenter",
    )


# ==========================================================================================
# 6. Weights files
# ==========================================================================================
@pytest.fixture
def weights(tmp_path):
    path = tmp_path / "features.pt"
    save_weights(EMGFeatures().fit(X), path)
    return path


def test_an_invalid_format_version_is_refused(weights):
    payload = torch.load(weights, weights_only=True)
    torch.save({**payload, "format_version": 0}, weights)
    raises(
        lambda: load_weights(weights),
        ValueError,
        r"has an invalid format_version 0; the file was edited or damaged\. Save the estimator "
        r"again with save_weights",
        "load_weights:",
    )


def test_a_stored_class_that_cannot_be_imported_is_named(weights, monkeypatch):
    # an installation without the module: import_module raises ImportError for None entries
    monkeypatch.setitem(sys.modules, "semgaug_sk.features", None)
    raises(
        lambda: load_weights(weights),
        ValueError,
        r"holds an EMGFeatures, but semgaug_sk\.features cannot be imported in this "
        r"installation .*Install a semgaug_sk version that has it",
        "load_weights:",
    )


# ==========================================================================================
# 7. Plots
# ==========================================================================================
def test_plot_gain_bars_refuses_infinite_gains_and_negative_error_bars():
    pytest.importorskip("matplotlib")
    raises(
        lambda: plot_gain_bars({"classic": {"LDA": np.inf}}),
        ValueError,
        r"gains\['classic'\]\['LDA'\] is infinite, which no bar can show; check how it was "
        r"computed \(use NaN for a missing bar\)",
        "plot_gain_bars:",
    )
    raises(
        lambda: plot_gain_bars({"classic": {"LDA": 0.5}}, {"classic": {"LDA": -0.1}}),
        ValueError,
        r"errors\['classic'\]\['LDA'\] is -0\.1; an error bar is a spread .*not negative\. "
        r"Pass its size \(abs\(value\)\)",
        "plot_gain_bars:",
    )


# ==========================================================================================
# 8. The command line: one line on stderr, status 2
# ==========================================================================================
def run_cli(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith("semgaug: error: "), err
    assert "Traceback" not in out + err
    return lines[0]


def test_cli_refuses_subjects_for_one_recording(tmp_path, capsys):
    rec = tmp_path / "rec.npz"
    np.savez(rec, emg=STREAM, label=np.zeros(400), fs=200.0)
    line = run_cli(["features", rec, "-o", tmp_path / "o.csv", "--subjects", "1"], capsys)
    assert "--subjects selects the files of a NinaPro folder" in line
    assert "is one recording; drop --subjects" in line


def test_cli_refuses_fs_for_the_myo_armband(myo_root, tmp_path, capsys):
    line = run_cli(["features", myo_root, "-o", tmp_path / "o.csv", "--fs", "200"], capsys)
    assert "the Myo armband records at 200 Hz, which the loader states; drop --fs" in line


def test_cli_refuses_a_rest_label_of_several_values(tmp_path, capsys):
    rec = tmp_path / "rec.npz"
    np.savez(rec, emg=STREAM, label=np.zeros(400), fs=200.0, rest_label=np.array([0, 1]))
    line = run_cli(["features", rec, "-o", tmp_path / "o.csv"], capsys)
    assert "'rest_label' must hold one label; got shape (2,). Save one value" in line
