"""Tests of semgaug_sk.metrics on small hand-computed cases and bad inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import scipy.sparse
import scipy.spatial.distance
import sklearn
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from semgaug_sk import metrics
from semgaug_sk.metrics import (
    avg_knn_distance,
    classification_accuracy_score,
    evaluate_synthetic,
    frechet_distance,
    lof_score,
    precision_recall_density_coverage,
    rarity_score,
)

RNG = np.random.default_rng(0)
GRID = np.array([[x, y] for x in range(5) for y in range(5)], dtype=float)


def _two_blobs(rng, n, shift=6.0, dim=2):
    X = np.r_[rng.normal(0, 1, (n, dim)), rng.normal(shift, 1, (n, dim))]
    return X, np.repeat([0, 1], n)


# -- Fréchet distance -------------------------------------------------------------------------
def test_frechet_identical_sets_is_zero():
    X = RNG.normal(size=(50, 4))
    assert frechet_distance(X, X) == pytest.approx(0.0, abs=1e-9)


def test_frechet_one_dimensional_closed_form():
    # means 0 and 4, unbiased variances 2 and 8: 16 + (sqrt(2) - sqrt(8))^2 = 18
    assert frechet_distance([[-1.0], [1.0]], [[2.0], [6.0]]) == pytest.approx(18.0)


def test_frechet_diagonal_gaussians_closed_form():
    real = np.array(
        [[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]]
    )  # mean 0, cov diag(2/3, 8/3)
    synthetic = real * [3.0, 1.0] + [1.0, 2.0]  # mean (1, 2), cov diag(6, 8/3)
    expected = 1.0 + 4.0 + (np.sqrt(2 / 3) - np.sqrt(6.0)) ** 2
    assert frechet_distance(real, synthetic) == pytest.approx(expected, rel=1e-12)
    assert frechet_distance(synthetic, real) == pytest.approx(expected, rel=1e-12)


def test_frechet_matches_sqrtm_on_full_rank_non_commuting_covariances():
    a = RNG.normal(size=(200, 3)) @ RNG.normal(size=(3, 3))
    b = RNG.normal(size=(150, 3)) @ RNG.normal(size=(3, 3)) + 1.0
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = a.mean(0) - b.mean(0)
    reference = diff @ diff + np.trace(c1 + c2 - 2 * scipy.linalg.sqrtm(c1 @ c2).real)
    assert frechet_distance(a, b) == pytest.approx(reference, rel=1e-8)


def test_frechet_singular_covariances_translation_is_exact():
    # 6 samples in 20-D: both covariances have rank 5. A pure translation leaves
    # only the mean term, which an eps * I offset route would perturb.
    real = RNG.normal(size=(6, 20))
    shift = np.linspace(-1, 1, 20)
    assert frechet_distance(real, real + shift) == pytest.approx(shift @ shift, rel=1e-9)


# -- CAS ------------------------------------------------------------------------------------
def test_cas_separable_classes_is_one_and_labels_keep_their_type():
    X_syn, y = _two_blobs(RNG, 30)
    X_test, y_test = _two_blobs(RNG, 15)
    names = np.array(["fist", "open"])
    assert classification_accuracy_score(X_syn, names[y], X_test, names[y_test]) == 1.0


def test_cas_shuffled_synthetic_labels_score_low():
    X_syn, y = _two_blobs(RNG, 40)
    X_test, y_test = _two_blobs(RNG, 40)
    y_wrong = 1 - y  # the generator swapped the classes
    assert classification_accuracy_score(X_syn, y_wrong, X_test, y_test) == 0.0


def test_cas_clones_the_estimator_and_accepts_windows_when_it_does():
    windows = RNG.normal(size=(40, 2, 5)) + np.repeat([0.0, 5.0], 20)[:, None, None]
    y = np.repeat([0, 1], 20)
    flat_lda = make_pipeline(
        FunctionTransformer(lambda X: X.reshape(len(X), -1)), LinearDiscriminantAnalysis()
    )
    assert classification_accuracy_score(windows, y, windows[::2], y[::2], flat_lda) == 1.0
    assert not hasattr(flat_lda[-1], "classes_")  # the passed estimator stays unfitted


def test_cas_errors():
    X, y = _two_blobs(RNG, 10)
    with pytest.raises(ValueError, match="default CAS classifier takes 2-D"):
        classification_accuracy_score(X.reshape(20, 1, 2), y, X.reshape(20, 1, 2), y)
    with pytest.raises(ValueError, match="different per-sample shapes"):
        classification_accuracy_score(X, y, X[:, :1], y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        classification_accuracy_score(X, np.zeros(20), X, y)
    with pytest.raises(ValueError, match="y_syn has 19 labels"):
        classification_accuracy_score(X, y[:-1], X, y)
    with pytest.warns(UserWarning, match=r"classes \[2\] absent from y_syn"):
        score = classification_accuracy_score(X, y, X, np.where(y == 1, 2, 0))
    assert score == pytest.approx(0.5)


# -- AvgKNN ---------------------------------------------------------------------------------
def test_avg_knn_on_a_grid():
    # (2, 2) is a grid point: distances 0, 1, 1, 1, 1 -> 0.8.
    # (0.5, 0.5) is a cell centre: four corners at sqrt(0.5).
    per = avg_knn_distance(GRID, [[2.0, 2.0], [0.5, 0.5]], k=5, per_sample=True)
    assert per[0] == pytest.approx(0.8)
    assert avg_knn_distance(GRID, [[0.5, 0.5]], k=4) == pytest.approx(np.sqrt(0.5))
    assert avg_knn_distance(GRID, [[2.0, 2.0], [0.5, 0.5]], k=5) == pytest.approx(per.mean())
    assert avg_knn_distance(GRID, [[2.0, 2.0]], k=1) == 0.0


# -- LOF ------------------------------------------------------------------------------------
def test_lof_counts_repeated_real_samples_once_with_a_warning():
    # a window repeated n_neighbors times has infinite density: synthetic samples near it
    # got LOF values of 1e7-1e10, silently
    rng = np.random.default_rng(0)
    real, syn = rng.normal(size=(200, 4)), rng.normal(size=(100, 4))
    repeated = np.concatenate([real, np.repeat(real[:1], 20, axis=0)])
    with pytest.warns(UserWarning, match="20 of the 220 real samples repeat another exactly"):
        value = lof_score(repeated, syn)
    assert value == pytest.approx(lof_score(real, syn))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lof_score(real, syn)  # no repeats: no warning
    # fewer distinct samples than neighbours: n_neighbors shrinks, and says so
    few = np.concatenate([real[:5]] * 10)
    with pytest.warns(UserWarning, match="n_neighbors is lowered to 4 for the 5 distinct"):
        assert np.isfinite(lof_score(few, syn))
    with pytest.warns(UserWarning, match="repeat another exactly"):
        assert np.isnan(lof_score(np.repeat(real[:1], 30, axis=0), syn))


def test_lof_inliers_near_one_and_far_outlier_large():
    real = RNG.normal(size=(300, 2))
    inliers = RNG.normal(scale=0.7, size=(50, 2))
    assert 0.8 < lof_score(real, inliers) < 1.3
    per = lof_score(real, np.r_[inliers[:1], [[15.0, 15.0]]], per_sample=True)
    assert per.shape == (2,)
    assert per[1] > 5.0 > per[0]


def test_lof_does_not_depend_on_the_units():
    # scikit-learn adds 1e-10 to reachability distances: samples in small units (a
    # variance in V^2) read as inliers (an outlier at 13 fell to 1.1 at scale 1e-12)
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 2))
    probe = np.array([[10.0, 10.0], [0.1, -0.2]])
    ref = lof_score(real, probe, per_sample=True)
    assert ref[0] > 5
    for scale in (1e-300, 1e-12, 1e-8, 1e6, 1e160):
        np.testing.assert_allclose(
            lof_score(real * scale, probe * scale, per_sample=True), ref, rtol=1e-6
        )


# -- rarity ---------------------------------------------------------------------------------
def test_rarity_one_dimensional_by_hand():
    real = np.array([[0.0], [1.0], [2.0], [10.0]])
    # k=2 radii: 0 -> 2, 1 -> 1, 2 -> 2, 10 -> 9.
    # 0.5 lies in the balls of 0, 1 and 2 -> smallest radius 1.
    # -1.5 lies only in the ball of 0 -> 2.  15 lies in the ball of 10 -> 9.  25 in none.
    scores, outside = rarity_score(real, [[0.5], [-1.5], [15.0], [25.0]], k=2, return_outside=True)
    np.testing.assert_array_equal(scores[:3], [1.0, 2.0, 9.0])
    assert np.isnan(scores[3])
    np.testing.assert_array_equal(outside, [False, False, False, True])
    # a duplicated real point has a radius-0 ball (its twin is its nearest neighbour),
    # which contains nothing: 0.1 is only inside the ball of 3 (radius 3)
    assert rarity_score([[0.0], [0.0], [3.0]], [[0.1]], k=1)[0] == 3.0


def test_rarity_chunked_matches_brute_force():
    real = RNG.normal(size=(120, 3))
    synthetic = RNG.normal(scale=1.5, size=(90, 3))
    k = 4
    d_rr = np.linalg.norm(real[:, None] - real[None], axis=-1)
    radii = np.sort(d_rr, axis=1)[:, k]  # column 0 is the point itself
    d_sr = np.linalg.norm(synthetic[:, None] - real[None], axis=-1)
    inside = d_sr < radii
    expected = np.where(inside.any(1), np.where(inside, radii, np.inf).min(1), np.nan)
    with sklearn.config_context(working_memory=0.01):  # forces many small blocks
        got = rarity_score(real, synthetic, k=k)
    np.testing.assert_allclose(got, expected, rtol=1e-10, equal_nan=True)
    assert np.isnan(got).any() and (~np.isnan(got)).any()


# -- PRDC -----------------------------------------------------------------------------------
def test_prdc_identical_and_disjoint_sets():
    X = RNG.normal(size=(60, 3))
    same = precision_recall_density_coverage(X, X, k=5)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    assert same["density"] == 1.0  # Naeem et al.: exactly 1 for copies of the real set
    far = precision_recall_density_coverage(X, X + 100.0, k=5)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_by_hand_on_a_line():
    real = np.arange(10.0)[:, None]  # k=1 radii: all 1 (open balls)
    synthetic = np.array([[0.5], [5.5], [100.0], [101.5]])  # radii 5, 5, 1.5, 1.5
    res = precision_recall_density_coverage(real, synthetic, k=1)
    assert res["precision"] == 0.5  # 0.5 and 5.5 are within 1 of a real point
    assert res["density"] == 1.0  # each of them lies in 2 real balls: 4 / (1 * 4)
    assert res["recall"] == 1.0  # the balls of 0.5 and 5.5 (radius 5) cover 0..9
    assert res["coverage"] == 0.4  # reals 0, 1, 5, 6 have a synthetic point closer than 1


# -- evaluate_synthetic ------------------------------------------------------------------------
def test_evaluate_synthetic_collects_all_metrics():
    real, y_real = _two_blobs(RNG, 30)
    syn, y_syn = _two_blobs(RNG, 30)
    X_test, y_test = _two_blobs(RNG, 10)
    labels = np.array(["a", "b"])
    res = evaluate_synthetic(
        real,
        syn,
        y_real=labels[y_real],
        y_syn=labels[y_syn],
        X_test=X_test,
        y_test=labels[y_test],
        k=3,
        per_class=True,
    )
    assert res["fid"] == pytest.approx(frechet_distance(real, syn))
    assert res["avg_knn"] == pytest.approx(avg_knn_distance(real, syn, k=3))
    assert res["lof"] == pytest.approx(lof_score(real, syn, n_neighbors=20))
    scores = rarity_score(real, syn, k=3)
    assert res["rarity"] == pytest.approx(np.nanmean(scores))
    assert res["rarity_outside"] == pytest.approx(np.isnan(scores).mean())
    assert res["cas"] == 1.0
    assert set(res["per_class"]) == {"a", "b"}
    assert res["per_class"]["a"]["fid"] == pytest.approx(frechet_distance(real[:30], syn[:30]))


def test_evaluate_synthetic_small_class_is_nan_with_warning_and_lof_neighbours_shrink():
    real, y_real = _two_blobs(RNG, 8)
    syn = real + 0.1
    y_syn = y_real.copy()
    y_syn[9:] = 0  # class 1 keeps a single synthetic sample
    with pytest.warns(UserWarning, match="class 1 has 8 real and 1 synthetic"):
        res = evaluate_synthetic(real, syn, y_real=y_real, y_syn=y_syn, k=3, per_class=True)
    assert np.isnan(res["per_class"][1]["fid"])
    assert np.isfinite(res["per_class"][0]["lof"])  # 8 real samples: LOF uses 7 neighbours
    assert "cas" not in res


def test_evaluate_synthetic_per_class_takes_object_labels():
    # labels straight from a DataFrame column are an object array of str: its classes
    # are plain str, which have no .tolist()
    real, y_real = _two_blobs(RNG, 12)
    syn = real + 0.1
    named = np.array(["fist", "open"], dtype=object)[y_real]
    with pytest.warns(UserWarning, match="class 'open' has 12 real and 2 synthetic"):
        res = evaluate_synthetic(
            real,
            syn,
            y_real=named,
            y_syn=np.where(np.arange(24) < 22, "fist", "open").astype(object),
            k=3,
            per_class=True,
        )
    assert set(res["per_class"]) == {"fist", "open"}
    assert np.isnan(res["per_class"]["open"]["fid"]) and np.isfinite(
        res["per_class"]["fist"]["fid"]
    )
    as_str = evaluate_synthetic(
        real, syn, y_real=named.astype(str), y_syn=named.astype(str), k=3, per_class=True
    )
    as_obj = evaluate_synthetic(real, syn, y_real=named, y_syn=named, k=3, per_class=True)
    assert as_obj["per_class"] == as_str["per_class"]


def test_evaluate_synthetic_argument_errors():
    X = RNG.normal(size=(20, 2))
    y = np.repeat([0, 1], 10)
    with pytest.raises(ValueError, match="both X_test and y_test"):
        evaluate_synthetic(X, X, y_syn=y, X_test=X)
    with pytest.raises(ValueError, match="pass y_syn"):
        evaluate_synthetic(X, X, X_test=X, y_test=y)
    with pytest.raises(ValueError, match="needs both y_real and y_syn"):
        evaluate_synthetic(X, X, y_real=y, per_class=True)
    with pytest.raises(ValueError, match="lof_neighbors must be an integer"):
        evaluate_synthetic(X, X, lof_neighbors=0)


# -- bad inputs shared by every metric ----------------------------------------------------------
METRICS = [
    frechet_distance,
    avg_knn_distance,
    lof_score,
    rarity_score,
    precision_recall_density_coverage,
    evaluate_synthetic,
]
GOOD = RNG.normal(size=(30, 3))


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize(
    ("real", "synthetic", "error", "match"),
    [
        (GOOD[:, 0], GOOD, ValueError, r"2-D array.*reshape\(-1, 1\)"),
        (GOOD.reshape(30, 3, 1), GOOD, ValueError, "Embed 3-D windows first"),
        (np.where(GOOD == GOOD[0, 0], np.nan, GOOD), GOOD, ValueError, "1 NaN or infinite"),
        (GOOD, np.full((30, 3), np.inf), ValueError, "synthetic contains 90 NaN"),
        (GOOD, GOOD[:, :2], ValueError, "different dimensions"),
        (GOOD.astype(str), GOOD, ValueError, "non-numeric"),
        (scipy.sparse.csr_matrix(GOOD), GOOD, TypeError, "sparse"),
        (GOOD[:1], GOOD, ValueError, "real has 1 sample"),
        (np.empty((30, 0)), GOOD, ValueError, "0 features"),
    ],
)
def test_bad_inputs(metric, real, synthetic, error, match):
    with pytest.raises(error, match=match):
        metric(real, synthetic)


@pytest.mark.parametrize("bad_k", [0, -1, 2.5, True, "5"])
@pytest.mark.parametrize(
    "metric", [avg_knn_distance, rarity_score, precision_recall_density_coverage]
)
def test_bad_k(metric, bad_k):
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        metric(GOOD, GOOD, k=bad_k)


def test_too_few_samples_for_k_names_the_fix():
    with pytest.raises(ValueError, match=r"real has 5 sample\(s\); at least 6 .*lower k"):
        rarity_score(GOOD[:5], GOOD, k=5)
    with pytest.raises(ValueError, match=r"synthetic has 3 sample\(s\); at least 6"):
        precision_recall_density_coverage(GOOD, GOOD[:3], k=5)
    with pytest.raises(ValueError, match=r"real has 20 sample\(s\); at least 21"):
        lof_score(GOOD[:20], GOOD, n_neighbors=20)
    with pytest.raises(ValueError, match=r"at least 2 are needed to estimate a covariance"):
        frechet_distance(GOOD, GOOD[:1])


_BAD_CALLS = {
    "frechet_distance": lambda: metrics.frechet_distance(np.full((5, 2), np.nan), np.ones((5, 2))),
    "classification_accuracy_score": lambda: metrics.classification_accuracy_score(
        np.ones((4, 2)), [0, 0, 0, 0], np.ones((4, 2)), [0, 1, 0, 1]
    ),
    "avg_knn_distance": lambda: metrics.avg_knn_distance(np.ones((5, 2)), np.ones((5, 3))),
    "lof_score": lambda: metrics.lof_score(np.ones((3, 2)), np.ones((5, 2)), n_neighbors=0),
    "rarity_score": lambda: metrics.rarity_score(np.ones((3, 2)), np.ones((5, 2)), k=5),
    "precision_recall_density_coverage": lambda: metrics.precision_recall_density_coverage(
        np.ones(5), np.ones((5, 2))
    ),
    "evaluate_synthetic": lambda: metrics.evaluate_synthetic(
        np.ones((10, 2)), np.ones((10, 2)), X_test=np.ones((3, 2))
    ),
    "fidelity_report": lambda: metrics.fidelity_report(
        np.ones((4, 2, 8)), np.ones((4, 2, 8)), [0, 0, 1, 1], [2, 2, 2, 2]
    ),
    "feature_shift": lambda: metrics.feature_shift(
        np.ones((4, 2, 8)), np.ones((4, 3, 8)), [0, 0, 1, 1], [0, 0, 1, 1]
    ),
}


@pytest.mark.parametrize("name", sorted(_BAD_CALLS))
def test_every_metric_error_names_its_function(name):
    assert set(_BAD_CALLS) == set(metrics.__all__)
    with pytest.raises((ValueError, TypeError)) as info:
        _BAD_CALLS[name]()
    assert str(info.value).startswith(f"{name}: "), str(info.value)
    assert not str(info.value).startswith(f"{name}: {name}:")


# -- fidelity_report ------------------------------------------------------------------------
def _windows(seed, n=30, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3, 40)) * scale
    return X, np.repeat(["a", "b"], n // 2)


def test_fidelity_report_identity_is_perfect():
    X, y = _windows(0)
    rep = metrics.fidelity_report(X, X, y, y)
    assert set(rep["per_class"]) == {"a", "b"}
    for row in rep["per_class"].values():
        assert row["rms_ratio"] == pytest.approx(1.0)
        assert row["std_ratio"] == pytest.approx(1.0)
        assert row["log_psd_distance"] == pytest.approx(0.0, abs=1e-9)


def test_fidelity_report_sees_amplitude_smoothness_and_spectrum():
    X, y = _windows(1)
    smooth = scipy.signal.lfilter(np.ones(8) / 8, [1.0], X, axis=-1)  # low-passed copies
    rep = metrics.fidelity_report(X, smooth, y, y)
    assert rep["worst"]["std_ratio"] < 0.6
    assert rep["worst"]["log_psd_distance"] > 3.0  # dB
    halved = metrics.fidelity_report(X, 0.5 * X, y, y)
    assert halved["worst"]["rms_ratio"] == pytest.approx(0.5)
    assert halved["worst"]["log_psd_distance"] == pytest.approx(20 * np.log10(2), rel=1e-6)
    # the worst ratio is the one farthest from 1 on a log scale, in either direction
    loud = np.where((y == "b")[:, None, None], 3.0 * X, 0.8 * X)
    assert metrics.fidelity_report(X, loud, y, y)["worst"]["rms_ratio"] == pytest.approx(3.0)


def test_fidelity_report_embeds_with_the_encoder():
    X, y = _windows(2, n=40)
    flatten = FunctionTransformer(lambda W: W.reshape(len(W), -1)[:, :6])
    rep = metrics.fidelity_report(X, X, y, y, encoder=flatten, k=3)
    assert rep["per_class"]["a"]["fid"] == pytest.approx(0.0, abs=1e-6)
    assert rep["per_class"]["a"]["coverage"] == 1.0
    # coverage reads the real windows' balls: 3 synthetic windows are enough, 3 real are not
    few = metrics.fidelity_report(X, X[:3], y, y[:3], encoder=flatten, k=5)
    assert list(few["per_class"]) == ["a"] and 0 < few["per_class"]["a"]["coverage"] < 1
    with pytest.warns(UserWarning, match=r"synthetic windows have classes \['b'\]"):
        few_real = metrics.fidelity_report(X[:3], X, y[:3], y, encoder=flatten, k=5)
    assert np.isnan(few_real["per_class"]["a"]["coverage"])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda X, y: metrics.fidelity_report(X, X[:, :2], y, y), "same channels and length"),
        (lambda X, y: metrics.fidelity_report(X, X, y, y[:-1]), "one label per sample"),
        (lambda X, y: metrics.fidelity_report(X, X, y, np.full(len(y), "z")), "share no class"),
        # 0 and '0' are different labels (np.intersect1d would cast them alike)
        (
            lambda X, y: metrics.fidelity_report(X, X, _codes(y).astype(str), _codes(y)),
            "no class can match",
        ),
        (lambda X, y: metrics.fidelity_report(X[:, 0], X, y, y), "3-D|ndim|dimensional"),
        (lambda X, y: metrics.fidelity_report(X, X, y, y, encoder=object()), "transform"),
    ],
)
def test_fidelity_report_errors(call, match):
    X, y = _windows(3)
    with pytest.raises((ValueError, TypeError), match=match) as info:
        call(X, y)
    assert str(info.value).startswith("fidelity_report: ")


def test_fidelity_report_rejects_nan():
    X, y = _windows(4)
    X[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="fidelity_report: .*(NaN|nan)"):
        metrics.fidelity_report(X, X, y, y)


def test_fidelity_report_a_silent_band_costs_a_finite_amount():
    X, y = _windows(5)
    rep = metrics.fidelity_report(X, np.zeros_like(X), y, y)
    assert rep["worst"]["log_psd_distance"] == pytest.approx(100.0, rel=0.2)
    assert rep["worst"]["rms_ratio"] == 0.0
    # a silent real class too (its floor used to vanish: thousands of dB)
    rep = metrics.fidelity_report(np.zeros_like(X), X, y, y)
    assert rep["worst"]["log_psd_distance"] == pytest.approx(100.0, rel=0.2)
    assert rep["worst"]["rms_ratio"] == np.inf  # signal where the real class is silent
    silent = metrics.fidelity_report(np.zeros_like(X), np.zeros_like(X), y, y)
    assert silent["worst"]["log_psd_distance"] == 0.0
    assert np.isnan(silent["worst"]["rms_ratio"])
    # one silent real class among sound ones is what worst shows, not a perfect 1.0
    one_silent = X.copy()
    one_silent[y == y[0]] = 0
    assert metrics.fidelity_report(one_silent, X, y, y)["worst"]["std_ratio"] == np.inf


def _codes(y):
    return np.unique(y, return_inverse=True)[1].ravel()


# -- feature_shift --------------------------------------------------------------------------
def test_feature_shift_is_zero_for_identical_sets_and_keyed_by_class():
    X, y = _windows(0)
    shift = metrics.feature_shift(X, X, y, y)
    assert set(shift["per_feature"]) == {"mav", "wl", "zc", "ssc"}
    assert set(shift["per_class"]) == {"a", "b"}
    assert all(v == pytest.approx(0.0, abs=1e-9) for v in shift["abs_per_feature"].values())


def test_feature_shift_sees_amplitude_and_smoothness():
    X, y = _windows(1, n=60)
    louder = metrics.feature_shift(X, 1.5 * X, y, y)["per_feature"]
    assert louder["mav"] > 2 and louder["wl"] > 2
    assert louder["zc"] == pytest.approx(0.0) and louder["ssc"] == pytest.approx(0.0)
    kernel = np.ones(5) / 5
    smooth = np.apply_along_axis(np.convolve, -1, X, kernel, mode="same")
    smoother = metrics.feature_shift(X, smooth, y, y)["per_feature"]
    assert smoother["wl"] < -2 and smoother["zc"] < -2 and smoother["ssc"] < -2


@pytest.mark.parametrize("scale", [1e-7, 1e-4, 1e3])
def test_feature_shift_is_the_same_in_any_unit(scale):
    # a variance in V^2 at rest (~1e-12) must not be judged constant (it was, below 1e-6 V)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2, 50)) * rng.uniform(0.5, 2, (60, 1, 1))
    y = np.repeat([0, 1], 30)
    S = 1.3 * X + 0.1 * rng.normal(size=X.shape)
    feats = ("rms", "var", "ssi", "mav")
    ref = metrics.feature_shift(X, S, y, y, features=feats)["per_feature"]
    scaled = metrics.feature_shift(X * scale, S * scale, y, y, features=feats)["per_feature"]
    assert scaled == pytest.approx(ref, rel=1e-6)


def test_feature_shift_leaves_out_columns_constant_in_the_real_windows():
    X, y = _windows(2)
    rectified = np.abs(X)  # zc is 0 on every window
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shift = metrics.feature_shift(rectified, 1.1 * rectified, y, y)
    assert np.isnan(shift["per_feature"]["zc"])
    assert shift["per_feature"]["mav"] > 0
    assert np.isfinite(list(shift["per_class"].values())).all()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda X, y: metrics.feature_shift(X, X[:, :2], y, y), "same channels and length"),
        (lambda X, y: metrics.feature_shift(X, X, y, y[:-1]), "one label per sample"),
        (lambda X, y: metrics.feature_shift(X, X, y, np.full(len(y), "z")), "share no class"),
        (
            lambda X, y: metrics.feature_shift(X, X, _codes(y).astype(str), _codes(y)),
            "no class can match",
        ),
        (lambda X, y: metrics.feature_shift(X[:, 0], X, y, y), "3-D|ndim|dimensional"),
        (lambda X, y: metrics.feature_shift(np.full_like(X, np.nan), X, y, y), "NaN|nan"),
    ],
)
def test_feature_shift_errors(call, match):
    X, y = _windows(3)
    with pytest.raises(ValueError, match=match) as info:
        call(X, y)
    assert str(info.value).startswith("feature_shift: ")


def test_knn_metrics_do_not_depend_on_where_the_embeddings_sit():
    # scikit-learn's fast distances (|a|^2 + |b|^2 - 2ab) lost the balls far from the
    # origin: precision 0.0 instead of 0.8 at an offset of 1e8 in 64 dimensions
    rng = np.random.default_rng(0)
    real, syn = rng.normal(size=(200, 64)), rng.normal(size=(200, 64))
    ref = metrics.precision_recall_density_coverage(real, syn, k=5)
    far = metrics.precision_recall_density_coverage(real + 1e8, syn + 1e8, k=5)
    for key in ref:
        assert far[key] == pytest.approx(ref[key], abs=0.02), key
    np.testing.assert_allclose(
        metrics.rarity_score(real + 1e8, syn + 1e8, k=5),
        metrics.rarity_score(real, syn, k=5),
        rtol=1e-6,
    )


def test_fid_of_a_set_with_itself_is_zero_when_variances_span_many_decades():
    # the square roots of round-off in C_r^1/2 C_s C_r^1/2 biased it (0.018 here)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10)) * np.logspace(-6, 3, 10)
    assert metrics.frechet_distance(X, X) < 1e-6
    Y = rng.normal(size=(200, 10)) * np.logspace(-6, 3, 10)
    from scipy.linalg import sqrtm

    cov_x, cov_y = np.cov(X, rowvar=False), np.cov(Y, rowvar=False)
    diff = X.mean(0) - Y.mean(0)
    ref = diff @ diff + np.trace(cov_x + cov_y - 2 * np.real(sqrtm(cov_x @ cov_y)))
    assert metrics.frechet_distance(X, Y) == pytest.approx(ref, rel=1e-6)


def test_fidelity_report_names_missing_classes_and_sizes():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2, 16)), np.repeat(["a", "b", "c"], 10)
    with pytest.warns(UserWarning, match=r"no window of the real classes \['c'\]"):
        rep = metrics.fidelity_report(X, X[:20], y, y[:20])
    assert rep["missing_classes"] == ["c"] and set(rep["per_class"]) == {"a", "b"}
    assert rep["per_class"]["a"]["n_real"] == 10 and rep["per_class"]["a"]["n_synthetic"] == 10
    assert "n_real" not in rep["worst"]
    y_syn = np.repeat(["a", "b", "d"], 10)
    with pytest.warns(UserWarning, match=r"synthetic windows have classes \['d'\] that the real"):
        rep = metrics.fidelity_report(X, X, y, y_syn)
    assert set(rep["per_class"]) == {"a", "b"}


def test_labels_of_different_kinds_are_named_and_object_ints_are_ints():
    rng = np.random.default_rng(0)
    emb, y = rng.normal(size=(40, 3)), np.repeat([0, 1], 20)
    with pytest.raises(ValueError, match="no class can match"):
        metrics.evaluate_synthetic(emb, emb, y_real=y, y_syn=y.astype(str), per_class=True)
    with pytest.raises(ValueError, match="no class can match"):
        metrics.classification_accuracy_score(emb, y, emb, y.astype(str))
    as_object = y.astype(object)
    assert metrics.classification_accuracy_score(emb, as_object, emb, as_object) == (
        metrics.classification_accuracy_score(emb, y, emb, y)
    )


def test_metric_warnings_point_at_the_caller():
    import warnings

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(40, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics.classification_accuracy_score(emb, np.repeat([0, 1], 20), emb, np.arange(40) % 3)
    assert caught and caught[0].filename == __file__


# -- review 2026-12-05 -------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [3, 16, 64])
def test_ball_edges_are_not_decided_by_round_off(dim):
    # copies sit exactly on the edges of other real balls: the radii and the distances
    # tested against them must come from the same arithmetic
    X = np.random.default_rng(dim).normal(size=(200, dim))
    d = scipy.spatial.distance.cdist(X, X)
    radii = np.sort(d, axis=1)[:, 5]
    inside = d < radii[:, None]
    expected = np.where(inside, radii[:, None], np.inf).min(axis=0)
    with sklearn.config_context(working_memory=0.05):  # several blocks
        assert precision_recall_density_coverage(X, X, k=5)["density"] == 1.0
        # rarity_score centres the sets, so the values may differ by round-off; a wrong
        # containment decision would pick another ball's radius
        np.testing.assert_allclose(rarity_score(X, X, k=5), expected, rtol=1e-9)


def test_prdc_on_an_integer_lattice_matches_exact_distances():
    rng = np.random.default_rng(4)
    real = rng.integers(0, 4, size=(150, 4)).astype(float)
    syn = rng.integers(0, 4, size=(150, 4)).astype(float)
    sq = lambda a, b: ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)  # noqa: E731 (exact ints)
    k = 5
    r_real = np.sqrt(np.sort(sq(real, real), axis=1)[:, k])
    r_syn = np.sqrt(np.sort(sq(syn, syn), axis=1)[:, k])
    d_sr, d_rs = np.sqrt(sq(syn, real)), np.sqrt(sq(real, syn))
    expected = {
        "precision": np.mean((d_sr < r_real[None, :]).any(axis=1)),
        "recall": np.mean((d_rs < r_syn[None, :]).any(axis=1)),
        "density": (d_sr < r_real[None, :]).sum() / (k * len(syn)),
        "coverage": np.mean(d_rs.min(axis=1) < r_real),
    }
    got = precision_recall_density_coverage(real, syn, k=k)
    assert got == pytest.approx(expected, abs=1e-12)


def test_fidelity_report_sees_channels_whose_amplitudes_are_swapped():
    rng = np.random.default_rng(0)
    amp = np.array([1.0, 3.0])[None, :, None]
    real = amp * rng.normal(size=(50, 2, 128))
    swapped = amp[:, ::-1] * rng.normal(size=(50, 2, 128))
    y = np.zeros(50, int)
    row = metrics.fidelity_report(real, swapped, y, y)["per_class"][0]
    assert row["rms_ratio"] == pytest.approx(1.0, abs=0.05)  # pooled: blind to the swap
    assert row["channel_rms_ratio"] == pytest.approx(1 / 3, rel=0.05)  # per channel: not
    same = metrics.fidelity_report(real, real, y, y)
    assert same["worst"]["channel_rms_ratio"] == 1.0


def test_fidelity_report_checks_what_the_encoder_returns():
    X = RNG.normal(size=(20, 2, 16))
    y = np.repeat([0, 1], 10)

    class Short:
        def transform(self, X):
            return np.zeros((5, 3))

    class Broken:
        def transform(self, X):
            return np.full((len(X), 3), np.nan)

    with pytest.raises(ValueError, match="one embedding row per window"):
        metrics.fidelity_report(X, X, y, y, encoder=Short())
    with pytest.raises(ValueError, match="encoder is broken"):
        metrics.fidelity_report(X, X, y, y, encoder=Broken())


def test_feature_shift_ignores_the_global_pandas_output_and_takes_a_threshold():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2, 50))
    y = np.repeat([0, 1], 20)
    Xs = 1.5 * rng.normal(size=(40, 2, 50))
    plain = metrics.feature_shift(X, Xs, y, y)
    with sklearn.config_context(transform_output="pandas"):
        assert metrics.feature_shift(X, Xs, y, y) == plain
    # a threshold above the noise makes the counts of both sets zero: no shift to see
    high = metrics.feature_shift(X, Xs, y, y, threshold=100.0)
    assert np.isnan(high["per_feature"]["zc"]) and np.isnan(high["per_feature"]["ssc"])
    assert high["per_feature"]["mav"] == pytest.approx(plain["per_feature"]["mav"])


def test_mixed_label_types_are_named():
    X = RNG.normal(size=(30, 3))
    mixed = np.array([0, "a"] * 15, dtype=object)
    with pytest.raises(ValueError, match="mixes label types"):
        evaluate_synthetic(X, X, y_real=mixed, y_syn=mixed, per_class=True)


def test_frechet_distance_names_an_overflowing_covariance():
    a = RNG.normal(size=(20, 3))
    with pytest.raises(ValueError, match="overflows float64"):
        frechet_distance(a * 1e200, a)


def test_coverage_of_a_class_collapsed_onto_few_windows_is_low_not_nan():
    class FirstFour:  # a fixed "encoder"
        def transform(self, X):
            return X.reshape(len(X), -1)[:, :4]

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2, 8)), np.repeat([0, 1], 20)
    # class 1 collapsed onto 3 copies of one window: fewer than k + 1 synthetic windows
    S = np.r_[X[:20] + 0.01, np.repeat(X[20:21], 3, axis=0)]
    y_syn = np.r_[np.zeros(20, int), np.ones(3, int)]
    rep = metrics.fidelity_report(X, S, y, y_syn, encoder=FirstFour(), k=5)
    assert rep["per_class"][0]["coverage"] == 1.0
    assert 0 < rep["per_class"][1]["coverage"] < 0.5
    assert rep["worst"]["coverage"] == rep["per_class"][1]["coverage"]
    # with enough windows it is the coverage of precision_recall_density_coverage
    a, b = rng.normal(size=(60, 4)), rng.normal(size=(50, 4))
    assert metrics._coverage(a, b, 5) == pytest.approx(
        metrics.precision_recall_density_coverage(a, b, k=5)["coverage"]
    )


def test_feature_shift_names_the_classes_it_leaves_out():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 2, 50)), np.repeat([0, 1], 10)
    y_syn = np.r_[np.zeros(5, int), np.full(5, 9)]
    with pytest.warns(UserWarning) as caught:
        shift = metrics.feature_shift(X, 2 * X[:10], y, y_syn)
    messages = " ".join(str(w.message) for w in caught)
    assert "no window of the real classes [1]" in messages and "classes [9]" in messages
    assert shift["missing_classes"] == [1] and set(shift["per_class"]) == {0}


def test_feature_shift_leaves_the_warning_filters_alone_and_warns_nothing(
    library_leaves_warning_filters,
):
    rng = np.random.default_rng(0)
    real = np.abs(rng.normal(size=(20, 2, 16)))  # rectified: zc is constant, by design here
    y = np.repeat([0, 1], 10)
    with warnings.catch_warnings(record=True) as seen, library_leaves_warning_filters():
        warnings.simplefilter("always")
        shift = metrics.feature_shift(real, real * 1.5, y, y, features=("mav", "zc"))
    assert not seen
    assert shift["per_feature"]["mav"] > 0 and np.isnan(shift["per_feature"]["zc"])
