"""The population-spread ablation: its covariance estimate, one unit on the simulator, its rule."""

import json
import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_population_spread")


def test_between_repetition_covariance_sees_only_moves_of_the_repetition_means(bench):
    rng = np.random.default_rng(0)
    people, reps, labels = np.meshgrid(np.arange(6), np.arange(4), np.arange(2), indexing="ij")
    people, reps, labels = (np.repeat(a.ravel(), 200) for a in (people, reps, labels))
    # each (person, class) has its own mean; each repetition moves it along dimension 0
    # (sd 2 for class 0, 0 for class 1); windows scatter isotropically (sd 1) around it
    offset = rng.normal(scale=10, size=(6, 2, 3))[people, labels]
    move = np.zeros((6, 4, 2, 3))
    move[:, :, 0, 0] = rng.normal(scale=2.0, size=(6, 4))
    emb = offset + move[people, reps, labels] + rng.normal(size=(len(people), 3))
    cov, n = bench.between_repetition_covariances(emb, labels, people, reps)
    assert n == {0: 24, 1: 24}
    # class 0: about 4 along dimension 0, nothing elsewhere beyond the means' noise (1/200)
    assert 2.0 < cov[0][0, 0] < 7.0 and abs(cov[0][1, 1]) < 0.3 and abs(cov[1][0, 0]) < 0.3
    # a person seen in one repetition only gives no deviation
    one = reps == 0
    assert (
        bench.between_repetition_covariances(emb[one], labels[one], people[one], reps[one])[0] == {}
    )


def test_between_repetition_covariance_is_unbiased_per_person(bench):
    """Exact repetition means of 3 people with 2, 3 and 4 repetitions: the trace (which
    Ledoit-Wolf keeps) weighs each person's ddof-1 variance by their repetitions."""
    rng = np.random.default_rng(1)
    means = rng.normal(size=(3, 4, 5))  # person, repetition, dimension
    n_reps = [2, 3, 4]
    rows = [(p, r) for p in range(3) for r in range(n_reps[p])]
    people = np.repeat([p for p, _ in rows], 3)  # 3 identical windows per repetition
    reps = np.repeat([r for _, r in rows], 3)
    cov, n = bench.between_repetition_covariances(
        means[people, reps], np.zeros(len(people)), people, reps
    )
    expected = sum(
        n_reps[p] * np.var(means[p, : n_reps[p]], axis=0, ddof=1).sum() for p in range(3)
    ) / sum(n_reps)
    assert n == {0.0: 9}
    assert np.trace(cov[0.0]) == pytest.approx(expected)


def test_at_most_per_group_caps_each_group_at_random(bench):
    keys = np.repeat(np.array([["a", "1"], ["a", "2"], ["b", "1"]]), [50, 10, 31], axis=0)
    masks = [bench.at_most_per_group(keys, 30, np.random.default_rng(s)) for s in (0, 1)]
    for mask in masks:
        assert [mask[:50].sum(), mask[50:60].sum(), mask[60:].sum()] == [30, 10, 30]
    assert not np.array_equal(masks[0], masks[1])  # which rows: at random
    assert not masks[0][:50][:30].all()  # not simply the first ones


def test_reach_is_one_for_the_fitting_windows_and_grows_off_their_mean(bench):
    rng = np.random.default_rng(0)
    F, y = rng.normal(size=(400, 3)), np.repeat([0, 1], 200)
    assert bench.reach(F, y, F, y) == pytest.approx(1.0)
    # shifted by 2 sd along one of 3 unit-variance dimensions: (3 + 4) / 3
    assert bench.reach(F, y, F + [2.0, 0, 0], y) == pytest.approx(7 / 3, rel=0.05)


def test_widened_samplers_add_the_covariance_and_clone(bench):
    from sklearn.base import clone

    from semgaug_sk.augmentation import GMSS, SASS

    rng = np.random.default_rng(0)
    emb, y = rng.normal(size=(40, 2)), np.repeat(["a", "b"], 20)
    extra = {"a": np.eye(2) * 9.0, "b": np.zeros((2, 2))}
    for plain, widened in ((GMSS(), bench.WidenedGMSS(extra)), (SASS(), bench.WidenedSASS(extra))):
        base, wide = plain.fit(emb, y), clone(widened).fit(emb, y)
        assert np.allclose(wide.covariances_[0], base.covariances_[0] + 9 * np.eye(2))
        assert np.allclose(wide.covariances_[1], base.covariances_[1])
    # GMSS draws from the widened Gaussian (SASS keeps its candidates near the real support)
    z, labels = bench.WidenedGMSS(extra).fit(emb, y).sample({"a": 400}, 0)
    assert z.std(axis=0).min() > 2.5 and set(labels) == {"a"}


@pytest.fixture
def tiny(bench, monkeypatch, simulator_inner_split, fake_pool_windows, tiny_prior):
    adapt = sys.modules[bench.prior_for.__module__]  # the copy the script imported

    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": simulator_inner_split
    )
    monkeypatch.setattr(bench, "pool_windows", fake_pool_windows)
    monkeypatch.setattr(adapt, "pool_windows", fake_pool_windows)
    monkeypatch.setattr(adapt, "build_prior", tiny_prior)
    monkeypatch.setattr(adapt, "_PRIORS", {})
    monkeypatch.setitem(adapt.SIZES, "pool_windows", 10)
    monkeypatch.setitem(adapt.SIZES, "prior_steps", 2)
    sizes = {
        "sasg": dict(adapt_steps=2, n_sampling_steps=2, batch_size=16, confidence_threshold=0.0),
        "stc": dict(max_epochs=2, n_temporal=4, min_steps=None),
        "tl": dict(max_epochs=2),
    }
    monkeypatch.setattr(bench, "SIZES", sizes)


def test_one_unit_end_to_end_on_the_simulator(bench, tiny, tmp_path):
    unit = bench.run_unit("sim", "S1", 0)
    assert set(unit["accuracy"]) == set(bench.MODELS)
    for accuracy in unit["accuracy"].values():
        assert set(accuracy) == {"none", *bench.VARIANTS}
        assert all(0.0 <= a <= 1.0 for a in accuracy.values())
    assert unit["widening_median"] > 0 and unit["n_deviations_min"] >= 2
    assert set(unit["reach"]) == {"held_out", *bench.VARIANTS}
    # the widened conditions make other windows (paired draws, so only the conditions differ)
    assert unit["reach"]["gmss_spread"] != unit["reach"]["gmss"]
    assert all(r > 0 for r in unit["reach"].values())
    # the widened conditions are drawn from the same generation seed: a rerun is identical
    assert bench.run_unit("sim", "S1", 0)["accuracy"] == unit["accuracy"]

    other = json.loads(json.dumps(unit))
    other["seed"] = 1
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "| sim | 1 × 2 | gmss_spread |" in report and "(the one change)" in report
    assert "Choice: **" in report
