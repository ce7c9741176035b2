"""The prior-space ablation: two arms of population.py that differ in one thing."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_prior_space")


def test_the_refit_arm_fine_tunes_without_a_gain_and_restores_the_library(bench, monkeypatch):
    import semgaug_sk.augmentation.sasg as sasg

    X = np.ones((2, 3, 4))
    original = sasg.channel_rms
    with bench.refitted_normalisation():
        assert sasg.channel_rms(X) is None
    assert sasg.channel_rms is original
    np.testing.assert_array_equal(sasg.channel_rms(X), np.ones(3))


def test_both_arms_run_the_same_command_into_their_own_folders(bench, monkeypatch, tmp_path):
    calls = []

    def fake_population(argv):
        import semgaug_sk.augmentation.sasg as sasg

        calls.append((argv, sasg.channel_rms(np.ones((1, 2, 3)))))

    monkeypatch.setattr(bench.population, "main", fake_population)
    bench.main(["--subjects", "Female0", "--seeds", "0", "--out", str(tmp_path)])
    (space, gain_space), (refit, gain_refit) = calls
    assert gain_space is not None and gain_refit is None
    differ = [(a, b) for a, b in zip(space, refit, strict=True) if a != b]
    assert differ == [(str(tmp_path / "prior_space"), str(tmp_path / "refit"))]
    assert space[space.index("--methods") + 1 :][:4] == list(bench.METHODS)
