"""The timestep-spacing ablation: one unit end to end on the simulator, and its rule."""

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_timestep_spacing")


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, tiny_sampler_unit, report_of_two_seeds):
    # the filter off: a 2-epoch guide would reject every window of a 3-step generator
    unit = tiny_sampler_unit(bench, confidence_threshold=0.0)
    assert set(unit["std_ratio"]) == set(bench.VARIANTS)
    assert all(0 <= unit["classes_within_10pct"][v] <= 1 for v in bench.VARIANTS)
    # only the spacing changed: the same windows per class from the same generator
    assert len(set(unit["shortfall"].values())) == 1
    report = report_of_two_seeds(bench, unit)
    assert "## Fidelity of the synthetic windows" in report
    assert "the three-part rule picks **" in report and "Rise of the fraction" in report


def _with_fidelity(units, within):
    """``units`` with ``classes_within_10pct`` from ``within(dataset) -> {variant: fraction}``."""
    return [{**u, "classes_within_10pct": within(u["dataset"])} for u in units]


def test_accuracy_decides_first(bench, rule_units):
    clear, noisy = rule_units(
        lambda gain: {"none": 0.5, "uniform": 0.5, "quadratic": 0.5 + gain / 100, "logsnr": 0.49}
    )
    flat = lambda dataset: {"uniform": 0.2, "quadratic": 0.2, "logsnr": 0.2}  # noqa: E731
    assert bench.choose_spacing(_with_fidelity(clear, flat))[::2] == ("quadratic", "accuracy")
    assert bench.choose_spacing(_with_fidelity(noisy, flat))[::2] == ("uniform", "default")


def test_fidelity_decides_an_accuracy_tie_only_without_losses_and_on_every_data_set(
    bench, rule_units
):
    # a tie: every variant scores as uniform, so none loses and none gains
    tie, _ = rule_units(lambda gain: {"none": 0.5, "uniform": 0.5, "quadratic": 0.5, "logsnr": 0.5})

    def better(rise_a, rise_b):
        return lambda d: {
            "uniform": 0.2,
            "quadratic": 0.2 + (rise_a if d == "a" else rise_b),
            "logsnr": 0.25,
        }

    assert bench.choose_spacing(_with_fidelity(tie, better(0.3, 0.2)))[::2] == (
        "quadratic",
        "fidelity",
    )
    # a rise on one data set only is not enough
    assert bench.choose_spacing(_with_fidelity(tie, better(0.3, 0.0)))[0] == "uniform"
    # a variant that loses beyond its seed sd is out, whatever its fidelity
    _, noisy = rule_units(
        lambda gain: {"none": 0.5, "uniform": 0.5, "quadratic": 0.5 - abs(gain) / 50, "logsnr": 0.5}
    )
    assert bench.choose_spacing(_with_fidelity(noisy, better(0.3, 0.3)))[0] == "uniform"
    # an exact rise of 0.10 counts, despite float rounding (0.3 - 0.2 < 0.1)
    exact = lambda d: {"uniform": 0.2, "quadratic": 0.3, "logsnr": 0.2}  # noqa: E731
    assert bench.choose_spacing(_with_fidelity(tie, exact))[::2] == ("quadratic", "fidelity")


def test_one_seed_allows_no_loss_in_the_fidelity_rule(bench):
    # every subject with one seed: the seed sd is unknown, so a loss is a loss
    units = [
        {
            "dataset": d,
            "subject": s,
            "seed": 0,
            "accuracy": {
                m: {"none": 0.5, "uniform": 0.5, "quadratic": 0.3, "logsnr": 0.5}
                for m in ("lda", "stc")
            },
            "classes_within_10pct": {"uniform": 0.2, "quadratic": 0.6, "logsnr": 0.2},
        }
        for d in ("a", "b")
        for s in ("s1", "s2")
    ]
    assert bench.choose_spacing(units)[::2] == ("uniform", "default")
