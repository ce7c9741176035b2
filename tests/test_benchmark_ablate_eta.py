"""The eta ablation: one unit end to end on the simulator, and its rule."""

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_eta")


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, tiny_sampler_unit, report_of_two_seeds):
    # the filter off: a 2-epoch guide would reject every window of a 3-step generator
    unit = tiny_sampler_unit(bench, confidence_threshold=0.0)
    assert set(unit["std_ratio"]) == set(bench.VARIANTS)
    # every variant drew its own windows: the samplers differ
    assert len({round(unit["std_ratio"][v], 12) for v in bench.VARIANTS}) == len(bench.VARIANTS)
    report = report_of_two_seeds(bench, unit)
    assert "## Fidelity of the synthetic windows" in report
    assert "over `dpmpp`" in report and "the three-part rule picks **" in report


def test_every_variant_names_the_sampler_and_eta(bench):
    # a variant's settings stay on the sampler: each must set both
    assert all(set(make()) == {"sampler", "eta"} for make in bench.VARIANTS.values())
    assert bench.VARIANTS[bench.REFERENCE]() == {"sampler": "dpmpp_2m", "eta": 0.0}


def test_the_rule_is_the_three_part_rule_against_dpmpp(bench, rule_units):
    clear, noisy = rule_units(
        lambda gain: {
            "none": 0.5,
            "dpmpp": 0.5,
            "ddim": 0.5,
            "ddim_eta_0.5": 0.5 + gain / 100,
            "ddim_eta_1": 0.49,
        }
    )
    flat = {v: 0.2 for v in bench.VARIANTS}
    clear = [{**u, "classes_within_10pct": flat} for u in clear]
    noisy = [{**u, "classes_within_10pct": flat} for u in noisy]
    assert bench.choose_eta(clear)[::2] == ("ddim_eta_0.5", "accuracy")
    assert bench.choose_eta(noisy)[::2] == ("dpmpp", "default")
