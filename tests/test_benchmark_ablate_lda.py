"""The LDA decomposition ablation: its pieces on known cases, and one unit end to end."""

import numpy as np
import pytest

from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import select_windows
from semgaug_sk.windows import sliding_windows


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_lda")


def _features(seed=0, n_per_class=40, n_features=6):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    F = rng.normal(size=(len(y), n_features)) + 1.5 * y[:, None]
    return F, y


def test_copies_of_the_real_rows_change_nothing(bench):
    F, y = _features()
    F_held, y_held = _features(seed=1)
    acc = bench.lda_conditions(F, y, F.copy(), y.copy(), F_held, y_held)
    none = bench.LinearDiscriminantAnalysis().fit(F, y).score(F_held, y_held)
    # same means and (up to a constant factor) the same pooled covariance
    assert acc["full"] == acc["real_means"] == acc["real_cov"] == pytest.approx(none)


def test_conditions_separate_means_from_covariance(bench):
    F, y = _features()
    F_held, y_held = _features(seed=1)
    # a pool whose class means all sit on class 0's mean: it can only hurt through the means
    F_syn = np.repeat(F[y == 0], 3, axis=0)
    y_syn = np.repeat(np.arange(3), 40)
    F_syn = F_syn - F_syn.mean(axis=0) + F[y == 0].mean(axis=0)
    acc = bench.lda_conditions(F, y, F_syn, y_syn, F_held, y_held)
    none = bench.LinearDiscriminantAnalysis().fit(F, y).score(F_held, y_held)
    assert acc["real_means"] >= none - 0.05  # re-centred: the damage is gone
    assert acc["real_cov"] < none - 0.1  # the means alone carry it
    assert acc["full"] < none - 0.1


def test_offsets_distances_and_spread_on_known_shifts(bench):
    F, y = _features(n_features=4)
    classes = np.unique(y)
    names = np.array(["ch0_mav", "ch0_wl", "ch1_mav", "ch1_wl"])
    sd = np.sqrt(np.diag(bench.within_class_covariance(F, y, classes)))
    shifted = F + np.array([2.0, 0.0, 2.0, 0.0]) * sd
    offsets = bench.feature_offsets(F, y, shifted, y, names, classes)
    assert offsets == pytest.approx({"mav": 2.0, "wl": 0.0}, abs=1e-9)
    S = bench.within_class_covariance(F, y, classes)
    M = bench.class_means(F, y, classes)
    assert bench.mean_offset_distance(S, M, M) == 0.0
    assert bench.spread_ratio(S, S) == pytest.approx(1.0)
    assert bench.spread_ratio(S, 4 * S) == pytest.approx(4.0)
    # a column constant in the real rows has no sd and is left out
    F_const = np.column_stack([F[:, :3], np.zeros(len(F))])
    assert "wl" in bench.feature_offsets(F_const, y, F_const + 1, y, names, classes)


@pytest.mark.slow
def test_one_unit_end_to_end_and_the_report(bench, monkeypatch, tmp_path):
    windows = sliding_windows(
        make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0),
        window_ms=200,
        step_ms=100,
    )
    split = (
        select_windows(windows, windows.repetition == 1),
        select_windows(windows, windows.repetition == 2),
    )
    monkeypatch.setattr(bench, "inner_split", lambda dataset, subject, cut="auto": split)
    sasg = dict(n_steps=4, base_channels=8, channel_mults=(1,), n_sampling_steps=2)
    monkeypatch.setattr(bench, "SIZES", {"sasg": {**sasg, "confidence_threshold": 0.0}})
    unit = bench.run_unit("sim", "S1", 0)
    expected = {"none", "shrunk_none"} | {
        f"{p}_{c}"
        for p in (*bench.POOLS, *(f"classic:{m}" for m in bench.CLASSIC_METHODS))
        for c in bench.CONDITIONS
    }
    assert set(unit["accuracy"]["lda"]) == expected
    assert all(0.0 <= a <= 1.0 for a in unit["accuracy"]["lda"].values())
    for key in ("held_out", *bench.POOLS, "classic:time_warp"):
        assert unit["shift"][key]["mean_distance"] >= 0
        assert unit["shift"][key]["spread_ratio"] > 0
        assert set(unit["shift"][key]["feature_offset"]) <= {"mav", "wl", "zc", "ssc"}
    bench.write_report([unit, {**unit, "seed": 1}], tmp_path / "r.md")
    report = (tmp_path / "r.md").read_text()
    assert "## sim (1 subjects, 2 units)" in report
    assert "| sass | " in report and "| classic pool | " in report
    assert "| classic:magnitude_warp | " in report and "| sass_level | " in report
    assert bench.LEVEL_POOL_NOTE in report
    assert "nan" not in report and "Inner split" not in report  # the committed split
    assert "Inner split: time" in bench.inner_split_note([{**unit, "inner_split": "time"}])


def test_the_level_pool_is_the_sass_pool_calibrated(bench, monkeypatch, simulator_inner_split):
    fit, _ = simulator_inner_split
    sasg = dict(n_steps=4, base_channels=8, channel_mults=(1,), n_sampling_steps=2)
    monkeypatch.setattr(bench, "SIZES", {"sasg": {**sasg, "confidence_threshold": 0.0}})
    pools = bench.pools_of(fit, 0)
    (X_sass, y_sass), (X_level, y_level) = pools["sass"], pools["sass_level"]
    assert (y_level == y_sass).all() and not np.allclose(X_level, X_sass)
    # the pairing: the reset stream, uncalibrated, regenerates the sass pool exactly
    from semgaug_sk.augmentation import SASGAugmenter

    aug = SASGAugmenter(ratio=2.0, random_state=0, **sasg, confidence_threshold=0.0)
    aug.fit_resample(fit.X, fit.y)
    aug._generation_rng = np.random.default_rng(aug._calibration_seed)
    X_again, y_again = aug.generate(dict(aug.sampling_strategy_))
    np.testing.assert_array_equal(X_again, X_sass)
    np.testing.assert_array_equal(y_again, y_sass)
    # and the level pool is what a user's level sampler returns
    level = SASGAugmenter(ratio=2.0, random_state=0, **sasg, confidence_threshold=0.0)
    X_res, y_res = level.set_params(calibration="level").fit_resample(fit.X, fit.y)
    np.testing.assert_array_equal(X_res[len(fit.X) :], X_level)
    np.testing.assert_array_equal(y_res[len(fit.X) :], y_level)
