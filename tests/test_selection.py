"""Greedy kernel mean matching of a synthetic pool to the real class statistics."""

import numpy as np
import pytest

from semgaug_sk.augmentation.selection import match_class_means


def _offset(F, y, G, g, c):
    return np.linalg.norm(G[g == c].mean(0) - F[y == c].mean(0))


def test_herding_moves_the_kept_mean_onto_the_real_one_where_the_pool_allows():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(80, 3))
    y_real = np.repeat([0, 1], 40)
    real[y_real == 1] += 3.0
    pool = rng.normal(loc=0.6, size=(400, 3))
    y_pool = np.repeat([0, 1], 200)
    pool[y_pool == 1] += 3.0
    picked = match_class_means(pool, y_pool, real, y_real, {1: 50, 0: 30})
    assert picked.shape == (80,) and len(set(picked.tolist())) == 80  # no row twice
    assert (y_pool[picked[:50]] == 1).all() and (y_pool[picked[50:]] == 0).all()  # dict order
    for c in (0, 1):
        first = np.flatnonzero(y_pool == c)[: {0: 30, 1: 50}[c]]
        kept = picked[y_pool[picked] == c]
        assert _offset(real, y_real, pool[kept], y_pool[kept], c) < 0.1
        assert _offset(real, y_real, pool[first], y_pool[first], c) > 0.5


def test_a_target_outside_the_pool_is_approached_from_its_side():
    rng = np.random.default_rng(1)
    real = rng.normal(loc=5.0, size=(30, 2))
    pool = rng.normal(size=(100, 2))
    picked = match_class_means(pool, np.zeros(100), real, np.zeros(30), {0: 20})
    # the kept mean moved towards the target by more than a random half would
    assert pool[picked].mean(0).sum() > pool.mean(0).sum() + 1.0


def test_whitening_ignores_a_constant_feature_and_is_scale_free():
    rng = np.random.default_rng(2)
    real = np.c_[rng.normal(size=(40, 2)), np.ones(40)]
    pool = np.c_[rng.normal(loc=0.3, size=(120, 2)), np.ones(120)]
    y_r, y_p = np.zeros(40), np.zeros(120)
    picked = match_class_means(pool, y_p, real, y_r, {0: 40})
    scaled = match_class_means(pool * [10.0, 0.1, 7.0], y_p, real * [10.0, 0.1, 7.0], y_r, {0: 40})
    np.testing.assert_array_equal(picked, scaled)


def test_label_types_are_kept_and_an_empty_request_is_empty():
    rng = np.random.default_rng(3)
    real, pool = rng.normal(size=(20, 2)), rng.normal(size=(40, 2))
    y_real, y_pool = np.repeat(["open", "fist"], 10), np.repeat(["open", "fist"], 20)
    picked = match_class_means(pool, y_pool, real, y_real, {"fist": 5, "open": 0})
    assert (y_pool[picked] == "fist").all() and len(picked) == 5
    assert match_class_means(pool, y_pool, real, y_real, {}).shape == (0,)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: {**a, "candidates": a["candidates"][:, :1]}, "same feature extractor"),
        (lambda a: {**a, "candidates": a["candidates"][:, :, None]}, "must be 2-D"),
        (lambda a: {**a, "candidate_labels": a["candidate_labels"][:-1]}, "one label per row"),
        (lambda a: {**a, "reference_labels": a["reference_labels"][:, None]}, "1-D array"),
        (lambda a: {**a, "n_per_class": {0: -1}}, "non-negative int"),
        (lambda a: {**a, "n_per_class": {0: 2.0}}, "non-negative int"),
        (lambda a: {**a, "reference": np.ones((10, 2))}, "at least two different"),
        (lambda a: {**a, "reference": np.where(a["reference"] > 1, np.nan, a["reference"])}, "NaN"),
        (lambda a: {**a, "n_per_class": {0: 999}}, "draw a larger pool"),
        (lambda a: {**a, "n_per_class": {7: 1}}, "classes of the reference"),
    ],
)
def test_bad_input_names_the_problem_and_the_fix(change, message):
    rng = np.random.default_rng(4)
    args = dict(
        candidates=rng.normal(size=(30, 2)),
        candidate_labels=np.zeros(30),
        reference=rng.normal(size=(10, 2)),
        reference_labels=np.zeros(10),
        n_per_class={0: 5},
    )
    with pytest.raises(ValueError, match=message):
        match_class_means(**change(args))


def test_an_int_count_is_refused_with_the_expected_form():
    with pytest.raises(TypeError, match=r"dict \{class: candidates to choose\}"):
        match_class_means(np.zeros((2, 1)), [0, 0], np.zeros((2, 1)), [0, 0], 1)


def test_the_whitened_distance_is_the_standardised_ledoit_wolf_mahalanobis_distance():
    from sklearn.covariance import LedoitWolf

    from semgaug_sk.augmentation.selection import within_class_whitener

    rng = np.random.default_rng(6)
    F = rng.normal(size=(60, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0, 0, 2]])
    F *= [100.0, 1.0, 0.01]
    y = np.repeat([0, 1, 2], 20)
    keep, whiten = within_class_whitener(F, y)
    centred = np.concatenate([F[y == c] - F[y == c].mean(0) for c in range(3)])
    sd = centred.std(0)
    precision = LedoitWolf().fit(centred / sd).precision_
    a, b = F[0], F[1]
    expected = ((a - b) / sd) @ precision @ ((a - b) / sd)
    assert keep.all()
    assert np.sum(((a - b) @ whiten) ** 2) == pytest.approx(expected)


def test_features_constant_within_every_class_are_left_out():
    from semgaug_sk.augmentation.selection import within_class_whitener

    rng = np.random.default_rng(7)
    y = np.repeat([0, 1], 10)
    F = np.c_[rng.normal(size=(20, 2)), y * 5.0, np.ones(20)]  # class marker, constant
    keep, _ = within_class_whitener(F, y)
    assert keep.tolist() == [True, True, False, False]


def test_a_small_unit_feature_is_not_judged_constant_by_a_large_one():
    from semgaug_sk.augmentation.selection import within_class_whitener

    rng = np.random.default_rng(9)
    y = np.repeat([0, 1], 20)
    zc = rng.integers(30, 50, size=40).astype(float)  # a zero-crossing count
    var = 1e-10 + 3e-11 * rng.normal(size=40)  # a variance in V^2
    keep, _ = within_class_whitener(np.c_[zc, var], y)  # was [True, False]
    assert keep.tolist() == [True, True]


def test_the_moment_distance_equals_the_explicit_feature_map():
    from semgaug_sk.augmentation.selection import _greedy, _greedy_with_moments

    rng = np.random.default_rng(8)
    Z, mean = rng.normal(size=(40, 3)), rng.normal(size=3) * 0.1
    cov = np.cov(rng.normal(size=(30, 3)), rowvar=False)
    D = Z - mean
    phi = np.hstack([Z, (D[:, :, None] * D[:, None, :]).reshape(40, -1) / np.sqrt(3)])
    target = np.concatenate([mean, cov.ravel() / np.sqrt(3)])
    np.testing.assert_array_equal(_greedy_with_moments(Z, mean, cov, 15), _greedy(phi, target, 15))


def test_zero_windows_of_a_class_missing_from_the_reference_is_allowed():
    rng = np.random.default_rng(9)
    real, pool = rng.normal(size=(20, 2)), rng.normal(size=(40, 2))
    y_real, y_pool = np.repeat([0, 1], 10), np.repeat([0, 1, 2, 3], 10)
    for match in ("mean", "covariance"):
        picked = match_class_means(pool, y_pool, real, y_real, {2: 0, 0: 4, 1: 3}, match=match)
        assert (y_pool[picked[:4]] == 0).all() and (y_pool[picked[4:]] == 1).all()


def test_a_class_with_one_reference_window_is_matched_to_the_pooled_spread():
    rng = np.random.default_rng(10)
    real = rng.normal(size=(21, 2))
    y_real = np.r_[np.zeros(20), 1]
    pool = rng.normal(size=(60, 2))
    picked = match_class_means(
        pool, np.r_[np.zeros(30), np.ones(30)], real, y_real, {0: 5, 1: 5}, match="covariance"
    )
    assert len(picked) == 10


def test_covariance_matching_also_matches_the_spread():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(200, 2))
    pool = rng.normal(scale=2.0, size=(800, 2))  # right mean, twice the sd
    y_r, y_p = np.zeros(200), np.zeros(800)
    by_mean = match_class_means(pool, y_p, real, y_r, {0: 200})
    by_moments = match_class_means(pool, y_p, real, y_r, {0: 200}, match="covariance")
    sd_real = real.std(0).mean()
    assert abs(pool[by_moments].std(0).mean() / sd_real - 1) < 0.15
    # the mean alone does not match the spread: linear herding starts from the central ones
    assert abs(pool[by_mean].std(0).mean() / sd_real - 1) > 0.2
    assert np.abs(pool[by_moments].mean(0) - real.mean(0)).max() < 0.1


def test_an_unknown_match_is_refused():
    with pytest.raises(ValueError, match="'mean' or 'covariance'"):
        match_class_means(np.zeros((2, 1)), [0, 0], np.zeros((2, 1)), [0, 0], {0: 1}, match="x")
