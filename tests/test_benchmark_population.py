"""benchmarks/population.py: the pooled set's per-subject rescaling and the paired report."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from semgaug_sk.classifiers import SpatioTemporalClassifier
from semgaug_sk.preprocessing import channel_rms


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("population")


def test_pooled_windows_take_the_targets_scale_and_only_its_classes(bench):
    rng = np.random.default_rng(0)
    target = SimpleNamespace(X=rng.normal(size=(6, 2, 8)) * [[3.0], [0.5]], y=np.repeat([0, 1], 3))
    Xp = np.concatenate([rng.normal(size=(6, 2, 8)) * 10, rng.normal(size=(6, 2, 8)) * 0.1])
    yp = np.tile([0, 1, 2], 4)
    gp = np.repeat(["a", "b"], 6)
    X, y = bench.training_set("pooled", target, (Xp, yp, gp), None, 0, 1)
    np.testing.assert_array_equal(X[:6], target.X)  # the target's windows first, unchanged
    assert set(y[6:].tolist()) == {0, 1} and len(y) == 6 + 8  # class 2 is not the target's
    for g in ("a", "b"):  # every pool subject is brought to the target's channel RMS
        rows = np.flatnonzero(gp == g)
        rescaled = Xp[rows] / channel_rms(Xp[rows])[:, None] * channel_rms(target.X)[:, None]
        kept = rescaled[np.isin(yp[rows], [0, 1])]
        assert any(np.allclose(kept, X[6 + i : 6 + i + len(kept)]) for i in (0, len(kept)))


def test_matched_pool_adds_sass_many_rescaled_windows_per_class(bench):
    rng = np.random.default_rng(0)
    target = SimpleNamespace(X=rng.normal(size=(8, 2, 8)) * [[3.0], [0.5]], y=np.repeat([0, 1], 4))
    Xp = rng.normal(size=(30, 2, 8))
    yp, gp = np.tile([0, 1, 2], 10), np.repeat(["a", "b"], 15)
    pool = (Xp, yp, gp)
    X, y = bench.training_set("pooled_matched", target, pool, None, 0, 1)
    np.testing.assert_array_equal(X[:8], target.X)  # the target's windows first, unchanged
    # as many as SASS adds (ratio 0.5 of 4 windows per class), of the target's classes only
    assert bench.MATCHED_RATIO == 0.5 and np.bincount(y[8:]).tolist() == [2, 2]
    X_all, _ = bench.training_set("pooled", target, pool, None, 0, 1)
    for window in X[8:]:  # drawn from the rescaled pool, never made up
        assert np.isclose(X_all[8:], window).all(axis=(1, 2)).any()
    again, _ = bench.training_set("pooled_matched", target, pool, None, 0, 1)
    other, _ = bench.training_set("pooled_matched", target, pool, None, 1, 1)
    np.testing.assert_array_equal(again, X)  # seeded
    assert not np.array_equal(other, X)


def test_report_pairs_gains_over_targets(bench, tmp_path):
    units = []
    for subject, base in (("S1", 0.5), ("S2", 0.7)):
        for seed in (0, 1):
            for method, gain, model in (
                ("none", 0.0, "stc"),
                ("scratch", 0.02, "net"),  # the semantic encoder joins every model's table
                ("tl", 0.1, "net"),
                ("tl_sass_prior", 0.15, "net"),
            ):
                if method == "tl_sass_prior":  # its gain moves with the seed: 15 then 17 points
                    gain += 0.02 * seed
                units.append(
                    dict(
                        dataset="db1",
                        regime="low_data",
                        subject=subject,
                        method=method,
                        model=model,
                        seed=seed,
                        accuracy=base + gain,
                    )
                )
    (tmp_path / "population.jsonl").write_text("\n".join(json.dumps(u) for u in units))
    bench.write_report(tmp_path)
    md = (tmp_path / "population.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| tl_sass_prior"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[:3] == ["tl_sass_prior", "2", "76.0 ± 14.1"]
    # paired over targets (sd 0: both gain alike), and the sd over seeds in brackets
    assert cells[3:] == ["+16.0 ± 0.0 (1.4)", "+14.0 ± 0.0 (1.4)", "+6.0 ± 0.0 (1.4)"]
    scratch = next(line for line in md.splitlines() if line.startswith("| scratch"))
    cells = [c.strip() for c in scratch.split("|")[1:-1]][3:]
    assert cells == ["+2.0 ± 0.0 (0.0)", "", "-8.0 ± 0.0 (0.0)"]
    # one seed: no seed sd to show
    (tmp_path / "population.jsonl").write_text(
        "\n".join(json.dumps(u) for u in units if u["seed"] == 0)
    )
    bench.write_report(tmp_path)
    md = (tmp_path / "population.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| tl_sass_prior"))
    assert [c.strip() for c in row.split("|")[1:-1]][3] == "+15.0 ± 0.0"


def test_models_of_one_method_and_seed_share_one_training_set(bench, monkeypatch):
    calls = []

    def fake_training_set(method, train, pool, prior, seed, adapt_steps):
        calls.append((method, seed))
        return train.X, train.y

    class Majority:
        def fit(self, X, y):
            self.label_ = np.bincount(y).argmax()
            return self

        def predict(self, X):
            return np.full(len(X), self.label_)

    monkeypatch.setattr(bench, "training_set", fake_training_set)
    monkeypatch.setattr(bench, "MODELS", {"a": lambda seed: Majority(), "b": lambda s: Majority()})
    split = SimpleNamespace(X=np.zeros((4, 2, 8)), y=np.array([0, 0, 0, 1]))
    cache = {}
    for model in ("a", "b"):
        unit = bench.run_unit("classic", model, split, split, None, None, 0, 1, cache)
        assert unit["accuracy"] == 0.75
    bench.run_unit("classic", "a", split, split, None, None, 1, 1, cache)
    assert calls == [("classic", 0), ("classic", 1)]  # one fit per (method, seed)
    # a tl method trains the prior's network on its set's windows: the same sampler fit
    monkeypatch.setattr(bench, "SemanticEncoder", lambda prior, random_state: Majority())
    bench.run_unit("pooled_matched", "a", split, split, None, None, 0, 1, cache)
    bench.run_unit("tl_pooled_matched", "net", split, split, None, None, 0, 1, cache)
    assert calls[2:] == [("pooled_matched", 0)]


def test_priors_are_pretrained_once_and_then_read_from_the_cache(bench, monkeypatch, tmp_path):
    from semgaug_sk import SemanticEncoder
    from semgaug_sk.augmentation import DiffusionGenerator, PopulationPrior
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.windows import sliding_windows

    people = sliding_windows(
        make_semg_gestures(n_subjects=2, n_classes=2, n_channels=2, random_state=0),
        window_ms=200,
        step_ms=200,
    )
    built = []

    def tiny_prior(X, y, groups, seed, prior_steps):
        built.append(seed)
        return PopulationPrior(
            encoder=SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=1),
            generator=DiffusionGenerator(n_steps=1, base_channels=4, channel_mults=(1,)),
            random_state=seed,
        ).fit(X, y, groups=groups)

    monkeypatch.setattr(bench, "build_prior", tiny_prior)
    pool = (people.X, people.y, people.subject)

    def pretrain():
        return bench.build_prior(*pool, seed=0, prior_steps=1)

    cache = tmp_path / "myo.sgw"
    args = SimpleNamespace(dataset="myo", prior_cache=cache, prior_steps=1)
    first = bench.cached_prior(args, "Female0", pretrain)
    assert cache.exists() and built == [0]
    second = bench.cached_prior(args, "Female1", pretrain)
    assert built == [0]  # read from the file, not pretrained again
    np.testing.assert_array_equal(second.classes_, first.classes_)
    # DB1's prior depends on the target (leave-one-subject-out): one file per target
    db1 = SimpleNamespace(dataset="db1", prior_cache=tmp_path / "db1.sgw", prior_steps=1)
    bench.cached_prior(db1, "S1", pretrain)
    assert built == [0, 0] and (tmp_path / "db1_S1.sgw").exists()
    bench.cached_prior(db1, "S2", pretrain)
    assert built == [0, 0, 0]  # another target: its own prior
    bench.cached_prior(db1, "S1", pretrain)
    assert built == [0, 0, 0]  # read back
    # a cache trained with other settings is refused, not silently reused
    other = SimpleNamespace(dataset="myo", prior_cache=cache, prior_steps=2)
    with pytest.raises(SystemExit, match=r"trained with other settings.*generator__n_steps"):
        bench.cached_prior(other, "Female0", pretrain)


def test_uci_pool_holds_other_people_only_and_is_bounded_per_subject(bench, shared_data):
    shared_data("uci_emg_gestures")
    X, y, groups = bench.pool_windows("uci", "01", 60, 0)
    assert 1 not in set(groups.tolist())  # leave-one-subject-out: never the target
    assert len(set(groups.tolist())) == len(bench.subject_names("uci")) - 1
    for g in np.unique(groups):  # stratified by class, at most --pool-windows per subject
        assert (groups == g).sum() <= 60
    train, _ = bench.target_split("uci", "01", "one_rep")
    assert X.shape[1:] == train.X.shape[1:]  # the target's geometry: the prior can adapt to it
    assert set(np.unique(train.y)) <= set(np.unique(y))


def test_pool_of_an_unknown_dataset_is_refused(bench):
    with pytest.raises(ValueError, match="db1, myo and uci"):
        bench.pool_windows("emg2000", "S1", 10, 0)


def _unit(subject, method, seed, accuracy, **extra):
    return dict(
        dataset="db1",
        regime="low_data",
        subject=subject,
        method=method,
        model="lda",
        seed=seed,
        accuracy=accuracy,
        **extra,
    )


def test_gains_pair_the_seeds_both_methods_ran_and_say_when_targets_are_missing(bench, tmp_path):
    # none ran seed 0 of S1 only; classic ran seeds 0-2 of S1 and seed 0 of S2: comparing
    # means over each arm's own seeds gave +10 where the same-seed gain is 0
    units = [_unit("S1", "none", 0, 0.70)]
    units += [_unit("S1", "classic", s, a) for s, a in ((0, 0.70), (1, 0.85), (2, 0.85))]
    units += [_unit("S2", "classic", 0, 0.80, code="def5678")]
    (tmp_path / "population.jsonl").write_text("\n".join(json.dumps(u) for u in units))
    bench.write_report(tmp_path)
    md = (tmp_path / "population.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| classic"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[1] == "2" and cells[3] == "+0.0 ± 0.0 [1 targets]"
    assert "Units from 2 versions of the code: `unrecorded` (4 units), `def5678` (1 units)" in md
    assert "with seed 0, for every seed" in md  # the limit of the seed sd, stated


def test_a_run_with_other_settings_is_refused_before_it_skips_old_units(bench, tmp_path):
    log = tmp_path / "population.jsonl"
    settings = {"pool_windows": 600, "prior_steps": 1500, "adapt_steps": 75, "ratio": 0.5}
    old = _unit("S1", "none", 0, 0.7, encoder={}, settings={**settings, "encoder": {}})
    legacy = _unit("S1", "classic", 0, 0.7, encoder={})  # logged before settings were
    log.write_text(json.dumps(old) + "\n" + json.dumps(legacy))
    units = bench.read_jsonl(log)
    bench.check_settings(units, {**settings, "encoder": {}}, log)  # the same: accepted
    with pytest.raises(SystemExit, match=r"prior_steps=1500 \(now 300\).*own --out"):
        bench.check_settings(units, {**settings, "prior_steps": 300, "encoder": {}}, log)
    pooling = {"pooling": "mean_log_energy"}
    with pytest.raises(SystemExit, match="encoder="):
        bench.check_settings(units[1:], {**settings, "encoder": pooling}, log)
    args = bench.argparse.Namespace(pool_windows=600, prior_steps=1500, adapt_steps=75)
    assert bench.run_settings(args) == {**settings, "encoder": bench.ENCODER}


def test_stc_floor_model_is_the_library_default(bench):
    """``--models stc_floor`` trains STC as users get it; ``stc`` keeps the tables' budget."""
    assert (
        bench.MODELS["stc_floor"](3).get_params()
        == SpatioTemporalClassifier(random_state=3).get_params()
    )
    assert bench.MODELS["stc"](3).min_steps is None
