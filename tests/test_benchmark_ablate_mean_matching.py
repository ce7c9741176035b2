"""The class-mean matching ablation: one unit end to end, its selection, report and rule."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_mean_matching")


@pytest.mark.slow
def test_one_unit_keeps_the_same_count_per_variant_and_reports(
    bench, monkeypatch, simulator_inner_split, tiny_sasg_sizes, report_of_two_seeds
):
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": simulator_inner_split
    )
    monkeypatch.setattr(bench, "SIZES", tiny_sasg_sizes(confidence_threshold=0.0))
    unit = bench.run_unit("sim", "S1", 0, cut="time")
    for model in ("lda", "stc"):
        assert set(unit["accuracy"][model]) == {"none", *bench.VARIANTS}
    assert len(set(unit["n_kept"].values())) == 1 and unit["pool_shortfall"] == 0
    for key in ("class_mean_offset", "class_spread", "rms_ratio"):
        assert set(unit[key]) == set(bench.VARIANTS)
        assert all(np.isfinite(v) and v >= 0 for v in unit[key].values())
    # matching in the features the offset is measured in brings the kept means closer
    assert unit["class_mean_offset"]["match_mean_x4"] < unit["class_mean_offset"]["first"]
    assert unit["held_out_offset"] > 0 and np.isfinite(unit["held_out_spread"])
    assert set(unit["class_mean_offset_raw"]) == set(bench.VARIANTS)
    report = report_of_two_seeds(bench, unit)
    assert "| sim | match_embedding_x2 |" in report and "class-mean offset" in report
    assert "Paired match_mean_x2 − first" in report
    assert "Choice: **" in report.split("## The pre-registered rule")[1]


def test_select_keeps_the_front_or_matches_within_the_variants_block(bench):
    rng = np.random.default_rng(0)
    y_pool = np.repeat([0, 1], 16)
    pool = {"hudgins": rng.normal(size=(32, 3)), "embedding": rng.normal(size=(32, 2))}
    y_real = np.repeat([0, 1], 5)
    real = {"hudgins": rng.normal(size=(10, 3)), "embedding": rng.normal(size=(10, 2))}
    wanted = {0: 4, 1: 4}
    first = bench.select(bench.VARIANTS["first"], pool, y_pool, real, y_real, wanted)
    np.testing.assert_array_equal(first, [0, 1, 2, 3, 16, 17, 18, 19])
    for spec in bench.VARIANTS.values():
        factor = spec[0]
        rows = bench.select(spec, pool, y_pool, real, y_real, wanted)
        assert len(rows) == 8 and len(set(rows.tolist())) == 8
        assert (np.sort(rows[:4]) < factor * 4).all()  # class 0's first factor x 4 windows
        assert ((rows[4:] >= 16) & (rows[4:] < 16 + factor * 4)).all()


def test_a_short_pool_keeps_what_it_has(bench):
    blocks, keep = bench.pool_blocks(np.array([0, 0, 0, 1]), {0: 2, 1: 2}, factor=2)
    assert blocks[0].tolist() == [0, 1, 2] and keep == {0: 2, 1: 1}


def test_rule_picks_a_variant_only_beyond_the_seed_spread(bench, rule_units):
    clear, noisy = rule_units(
        lambda gain: {
            "none": 0.5,
            "first": 0.5,
            "match_mean_x2": 0.5,
            "match_mean_x4": 0.5 + gain / 100,
            "match_embedding_x2": 0.5,
            "match_covariance_x4": 0.5,
        }
    )
    assert bench.choose_mean_matching(clear)[0] == "match_mean_x4"
    assert bench.choose_mean_matching(noisy)[0] == "first"


def test_the_pool_is_shuffled_within_each_class_and_kept_grouped(bench):
    y_pool = np.repeat(["b", "a", "c"], [5, 7, 3])
    order = bench.shuffled_within_class(y_pool, seed=0)
    assert sorted(order.tolist()) == list(range(15))
    np.testing.assert_array_equal(y_pool[order], y_pool)  # classes stay in their blocks
    assert order[:5].tolist() != list(range(5)) or order[5:12].tolist() != list(range(5, 12))
    np.testing.assert_array_equal(order, bench.shuffled_within_class(y_pool, seed=0))


def test_whitened_statistics_floor_and_direction(bench):
    rng = np.random.default_rng(0)
    F, y = rng.normal(size=(90, 4)), np.repeat([0, 1, 2], 30)
    assert bench.whitened_statistics(F, y, F, y) == pytest.approx((0.0, 1.0))
    offset, spread = bench.whitened_statistics(F, y, 0.5 * F + 1.0, y)
    assert offset > 1.0 and spread == pytest.approx(0.25)
