"""The shrinkage-target ablation: one unit end to end on the simulator, and its rule."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_shrinkage")


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, tiny_sampler_unit, report_of_two_seeds):
    unit = tiny_sampler_unit(bench, confidence_threshold=0.0)
    assert unit["ratio"] == 2.0 and unit["code"]
    for name in bench.VARIANTS:
        median, above = unit["condition_spread"][name]
        assert median > 0 and 0 <= above <= 1
    report = report_of_two_seeds(bench, unit)
    assert "## Spread of the generated conditions" in report and "Choice: **" in report


def test_rule_compares_the_diagonal_target_with_the_default(bench, rule_units):
    clear, noisy = rule_units(
        lambda gain: {"none": 0.5, "sass": 0.5, "sass_diagonal": 0.5 + gain / 100, "gmss": 0.4}
    )
    assert bench.choose_target(clear)[0] == "sass_diagonal"
    assert bench.choose_target(noisy)[0] == "sass"


def test_diagonal_target_keeps_each_dimension_s_spread():
    from semgaug_sk.augmentation import GMSS

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(30, 16))
    emb[:, 0] = 0.0  # constant
    emb[:, 1] *= 1e-3  # far quieter than the rest
    y = np.repeat([0, 1, 2], 10)
    scale = np.where(emb.std(axis=0) > 1e-8, emb.std(axis=0), 1.0)
    spread = {}
    for target in ("identity", "diagonal"):
        z, _ = GMSS(shrinkage_target=target).fit(emb, y).sample(500, np.random.default_rng(1))
        spread[target] = np.abs((z - emb.mean(axis=0)) / scale).max(axis=0)
    assert spread["identity"][1] > 100  # the quiet dimension gets the others' spread
    assert spread["diagonal"][1] < 10 and spread["diagonal"][0] < 1e-2


@pytest.mark.parametrize("covariance", ["oas", "ledoit_wolf"])
def test_diagonal_target_keeps_the_variances_next_to_constant_dimensions(covariance):
    from semgaug_sk.augmentation.conditions import fit_class_gaussians

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(6, 8))
    emb[:, 4:] = 1.0  # constant within the class (a ReLU-like embedding, say)
    _, covs, _ = fit_class_gaussians(emb, np.zeros(6, int), 1, covariance, target="diagonal")
    # the zero columns pulled the shrinkage target below 1: variances came out ~28% small
    # (plus the ridge that the singular covariance gets: 1e-6 of the mean variance)
    np.testing.assert_allclose(np.diag(covs[0])[:4], emb[:, :4].var(axis=0), rtol=2e-6)
    assert np.all(np.diag(covs[0])[4:] < 1e-5)
    _, alone, _ = fit_class_gaussians(emb[:, :4], np.zeros(6, int), 1, covariance, "diagonal")
    np.testing.assert_allclose(covs[0][:4, :4], alone[0], rtol=2e-6, atol=1e-6)
