"""The amplitude (``level``) calibration ablation: one unit end to end, and its rule."""

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_calibration_level")


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, tiny_sampler_unit, report_of_two_seeds):
    unit = tiny_sampler_unit(bench, confidence_threshold=0.0)
    # a 3-step generator is far too smooth and quiet; level brings its RMS nearer to 1
    # (its gains are clipped at 4, so not all the way, nor always nearer than std's)
    rms = unit["rms_ratio"]
    assert abs(rms["level"] - 1) < abs(rms["off"] - 1)
    report = report_of_two_seeds(bench, unit)
    assert "| sim | level |" in report  # the fidelity table covers this script's variants
    assert "Paired level − std" in report
    assert "| level |" in report.split("## The pre-registered rule")[1]
    assert "| std |" not in report.split("## The pre-registered rule")[1]  # not a candidate


def test_rule_judges_level_alone(bench, rule_units):
    clear, noisy = rule_units(
        lambda gain: {"none": 0.5, "off": 0.5, "std": 0.6, "level": 0.5 + gain / 100}
    )
    assert bench.choose_level(clear)[0] == "level"
    assert bench.choose_level(noisy)[0] == "off"
    # std's large gain does not count: it is not a candidate here
    flat, _ = rule_units(lambda gain: {"none": 0.5, "off": 0.5, "std": 0.6, "level": 0.5})
    assert bench.choose_level(flat)[0] == "off"


def test_report_states_the_confirmations_single_cell(bench, rule_units, tmp_path):
    clear, noisy = rule_units(
        lambda gain: {"none": 0.5, "off": 0.5, "std": 0.5, "level": 0.5 + gain / 100}
    )
    for units in (clear, noisy):
        for u in units:
            u["dataset"] = "db1"
    mean, seed_sd, beyond = bench.confirmation_cell(clear)
    assert beyond and mean == pytest.approx(2.5) and seed_sd == pytest.approx(0.5774, abs=1e-3)
    assert bench.confirmation_cell(noisy)[2] is False
    assert bench.confirmation_cell([{**clear[0], "dataset": "myo"}]) is None
    text = "\n".join(bench.confirmation_lines(noisy))
    assert "**not beyond its seed sd**" in text and "+0.5 points against a seed sd of 2.1" in text
