"""The LDA decomposition probe: its swapped discriminants, and one unit on the simulator."""

import numpy as np
import pytest
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("probe_lda_decomposition")


def _gaussian_classes(rng, n, means, scale=1.0):
    X = np.concatenate([rng.normal(m, scale, size=(n, 2)) for m in means])
    return X, np.repeat(np.arange(len(means)), n)


def test_the_discriminant_of_real_parts_is_sklearns(bench):
    rng = np.random.default_rng(0)
    F, y = _gaussian_classes(rng, 60, [(0, 0), (1.5, 0), (0, 1.5)])
    F_test, y_test = _gaussian_classes(rng, 60, [(0, 0), (1.5, 0), (0, 1.5)])
    acc = bench.decomposed_accuracies(F, y, F[:0], y[:0], F_test, y_test)
    sklearn_acc = LinearDiscriminantAnalysis(solver="lsqr").fit(F, y).score(F_test, y_test)
    assert acc["real"] == pytest.approx(sklearn_acc)
    # without synthetic windows every swap is the real model
    assert acc["augmented"] == acc["aug_means"] == acc["aug_cov"] == acc["real"]


def test_shifted_means_and_a_distorted_spread_land_in_their_own_part(bench):
    rng = np.random.default_rng(1)
    centres = [(0, 0), (2, 0), (0, 2)]
    F, y = _gaussian_classes(rng, 50, centres)
    F_test, y_test = _gaussian_classes(rng, 300, centres)
    # two synthetic classes at each other's means (wrong means), with the right spread
    pulled, y_pulled = _gaussian_classes(rng, 400, [(0, 0), (0, 2), (2, 0)])
    acc = bench.decomposed_accuracies(F, y, pulled, y_pulled, F_test, y_test)
    assert acc["aug_means"] < acc["real"] - 0.05
    assert abs(acc["aug_cov"] - acc["real"]) < 0.03
    # synthetic classes at the right means with a tilted spread: it turns the boundaries
    tilted = [[3.0, 2.7], [2.7, 3.0]]
    stretched = np.concatenate([rng.multivariate_normal(c, tilted, size=400) for c in centres])
    acc = bench.decomposed_accuracies(F, y, stretched, y_pulled, F_test, y_test)
    assert acc["aug_cov"] < acc["real"] - 0.05
    assert abs(acc["aug_means"] - acc["real"]) < 0.03


def test_a_class_only_the_synthetic_windows_bring_is_refused(bench):
    rng = np.random.default_rng(2)
    F, y = _gaussian_classes(rng, 20, [(0, 0), (2, 0)])
    with pytest.raises(ValueError, match="a class the real ones lack"):
        bench.decomposed_accuracies(F, y, F[:3], np.full(3, 7), F, y)


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, monkeypatch, simulator_inner_split, tmp_path):
    from semgaug_sk import SemanticEncoder

    monkeypatch.setattr(bench, "inner_split", lambda d, s, cut="time": simulator_inner_split)
    encoder = SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2)
    tiny = dict(n_steps=3, base_channels=4, channel_mults=(1,), n_sampling_steps=2)
    tiny["confidence_threshold"] = 0.0  # a 2-epoch guide would reject every window
    monkeypatch.setattr(bench, "SIZES", {"sasg": dict(tiny, encoder=encoder)})
    unit = bench.run_unit("sim", "S1", 0)
    assert set(unit["accuracy"]) == set(bench.SOURCES)
    for parts in unit["accuracy"].values():
        assert set(parts) == {"real", *bench.MODELS}
        assert all(0 <= a <= 1 for a in parts.values())
    # one real model for every source
    assert len({parts["real"] for parts in unit["accuracy"].values()}) == 1
    other = dict(unit, seed=1)
    bench.write_report([unit, other], tmp_path / "r.md")
    report = (tmp_path / "r.md").read_text()
    assert "| sasg_level |" in report and "Inner split: time" in report
