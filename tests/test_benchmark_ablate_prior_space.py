"""The prior-space ablation: arms of population.py that differ in one thing each."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_prior_space")


def test_each_arm_undoes_the_later_changes_and_restores_the_library(bench):
    from semgaug_sk.augmentation import DiffusionGenerator, PopulationPrior

    fit, scale = DiffusionGenerator.fit, PopulationPrior.target_scale
    X = np.abs(np.random.default_rng(0).normal(size=(4, 2, 8))) * [[1.0], [9.0]]
    prior = PopulationPrior()
    prior.classes_, prior.class_power_ = np.array([0, 1]), np.array([[0.25, 0.25], [1.0, 1.0]])
    prior.generator_, prior.n_channels_ = DiffusionGenerator(), 2  # as fitted, for target_scale
    y = np.zeros(4, int)
    with bench.ARM_CONTEXTS["class_mix"]():
        np.testing.assert_allclose(prior.target_scale(X, y), 2 * np.sqrt(np.mean(X**2, (0, 2))))
    for arm in ("prior_space", "refit"):
        with bench.ARM_CONTEXTS[arm]():  # the target at its plain channel RMS
            np.testing.assert_allclose(prior.target_scale(X, y), np.sqrt(np.mean(X**2, (0, 2))))
            assert (DiffusionGenerator.fit is fit) == (arm == "prior_space")
    assert DiffusionGenerator.fit is fit and PopulationPrior.target_scale is scale


def test_the_refit_arm_drops_only_the_gain(bench, monkeypatch):
    from semgaug_sk.augmentation import DiffusionGenerator

    seen = []
    monkeypatch.setattr(
        DiffusionGenerator,
        "fit",
        lambda self, X, c, *, init=None, init_gain=None: seen.append((init, init_gain)),
    )
    with bench.refitted_normalisation():
        DiffusionGenerator().fit(None, None, init="prior", init_gain=np.ones(2))
    assert seen == [("prior", None)]


def test_the_arms_run_the_same_command_into_their_own_folders(bench, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(bench.population, "main", lambda argv: calls.append(argv))
    bench.main(["--subjects", "Female0", "--seeds", "0", "--out", str(tmp_path)])
    assert len(calls) == 3
    for argv, arm in zip(calls, bench.ARMS, strict=True):
        differ = [(a, b) for a, b in zip(calls[0], argv, strict=True) if a != b]
        assert differ == (
            [] if arm == "class_mix" else [(str(tmp_path / "class_mix"), str(tmp_path / arm))]
        )
    assert calls[0][calls[0].index("--methods") + 1 :][:4] == list(bench.METHODS)
