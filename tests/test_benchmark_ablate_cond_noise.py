"""The conditioning-augmentation ablation: one unit end to end, its report and its rule."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_cond_noise")


@pytest.fixture
def tiny_unit(bench, monkeypatch, simulator_inner_split, tiny_sasg_sizes):
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": simulator_inner_split
    )
    monkeypatch.setattr(bench, "SIZES", tiny_sasg_sizes(confidence_threshold=0.0))
    return bench.run_unit("sim", "S1", 0, cut="time")


@pytest.mark.slow
def test_one_unit_trains_a_generator_per_variant_and_reports(bench, tiny_unit, report_of_two_seeds):
    unit = tiny_unit
    for model in ("lda", "stc"):
        assert set(unit["accuracy"][model]) == {"none", *bench.VARIANTS}
    assert unit["cond_noise"] == bench.VARIANTS and unit["inner_split"] == "time"
    for key in ("noise_spread", "recon_error", "class_mean_offset", "rms_ratio", "fit_seconds"):
        assert set(unit[key]) == set(bench.VARIANTS)
        assert all(np.isfinite(v) and v >= 0 for v in unit[key].values())
    # the same seed and different cond_noise: different generators, so different pools
    assert unit["rms_ratio"]["off"] != unit["rms_ratio"]["noise_1"]
    report = report_of_two_seeds(bench, unit)
    assert "| sim | time | noise_0.25 |" not in report  # the split is a note, not a column
    assert "| sim | noise_1 |" in report and "noise_spread" in report
    assert "Paired noise_1 − off" in report
    assert "Choice: **" in report.split("## The pre-registered rule")[1]


def test_rule_picks_a_variant_only_beyond_the_seed_spread(bench, rule_units):
    clear, noisy = rule_units(
        lambda gain: {"none": 0.5, "off": 0.5, "noise_0.25": 0.5, "noise_1": 0.5 + gain / 100}
    )
    assert bench.choose_cond_noise(clear)[0] == "noise_1"
    assert bench.choose_cond_noise(noisy)[0] == "off"


def test_class_mean_offset_is_zero_for_the_real_windows_and_grows_with_a_shift(bench):
    from semgaug_sk.features import EMGFeatures

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2, 32))
    y = np.repeat([0, 1, 2], 20)
    feats = EMGFeatures("hudgins", fs=100.0).fit(X)
    assert bench.class_mean_offset(X, y, X, y, feats) == pytest.approx(0.0, abs=1e-9)
    near = bench.class_mean_offset(X, y, 1.1 * X, y, feats)
    far = bench.class_mean_offset(X, y, 2.0 * X, y, feats)
    assert 0 < near < far
