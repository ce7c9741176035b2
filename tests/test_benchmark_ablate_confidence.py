"""The confidence-threshold ablation: one unit end to end on the simulator, and its rule."""

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_confidence")


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, tiny_sampler_unit, report_of_two_seeds):
    unit = tiny_sampler_unit(bench, max_rounds=1)
    assert unit["shortfall"]["threshold_0"] == 0  # no filter, nothing missing
    assert unit["shortfall"]["threshold_0.8"] >= unit["shortfall"]["threshold_0.5"]
    report = report_of_two_seeds(bench, unit)
    assert "Windows missing after the filter" in report and "Choice: **" in report


def test_rule_needs_a_gain_beyond_the_seed_sd(bench, rule_units):
    clear, noisy = rule_units(
        lambda gain: {
            "none": 0.5,
            "threshold_0.5": 0.5,
            "threshold_0": 0.5 + gain / 100,
            "threshold_0.8": 0.49,
        }
    )
    assert bench.choose_threshold(clear)[0] == "threshold_0"
    assert bench.choose_threshold(noisy)[0] == "threshold_0.5"
