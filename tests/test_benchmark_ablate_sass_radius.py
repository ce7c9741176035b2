"""The SASS-radius ablation: one unit end to end on the simulator, and its rule."""

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_sass_radius")


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, tiny_sampler_unit, report_of_two_seeds):
    # the filter off: a 2-epoch guide would reject every window of a 3-step generator
    unit = tiny_sampler_unit(bench, confidence_threshold=0.0)
    spread = {name: unit["condition_spread"][name][0] for name in bench.VARIANTS}
    assert spread["epsilon_1"] > spread["epsilon_0.25"]  # a wider ball spreads them more
    report = report_of_two_seeds(bench, unit)
    assert "## Spread of the generated conditions" in report and "Choice: **" in report


def test_rule_needs_a_gain_beyond_the_seed_sd(bench, rule_units):
    clear, noisy = rule_units(
        lambda gain: {
            "none": 0.5,
            "sass": 0.5,
            "unrefined": 0.49,
            "epsilon_0.25": 0.5,
            "epsilon_1": 0.5 + gain / 100,
        }
    )
    assert bench.choose_radius(clear)[0] == "epsilon_1"
    assert bench.choose_radius(noisy)[0] == "sass"
