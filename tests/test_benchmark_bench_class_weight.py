"""The class-weight benchmark: the imbalance it makes, one unit end to end and its report."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_class_weight")


def test_imbalance_cuts_half_the_classes_and_keeps_the_rest(bench, simulator_inner_split):
    train, _ = simulator_inner_split
    cut, reduced = bench.imbalance(train, seed=0, keep=0.25)
    assert len(reduced) == len(np.unique(train.y)) // 2
    for c in np.unique(train.y):
        before, after = np.sum(train.y == c), np.sum(cut.y == c)
        if c in reduced:
            assert after == max(1, round(0.25 * before))
        else:
            assert after == before
    again, _ = bench.imbalance(train, seed=0, keep=0.25)
    np.testing.assert_array_equal(again.X, cut.X)  # seeded


def test_one_unit_scores_both_variants_and_reports(
    bench, monkeypatch, simulator_inner_split, tmp_path
):
    monkeypatch.setattr(
        bench, "subject_split", lambda dataset, subject, regime="low_data": simulator_inner_split
    )
    monkeypatch.setattr(bench, "STC_PARAMS", dict(max_epochs=2, n_temporal=4, min_steps=None))
    unit = bench.run_unit("sim", "S1", 0)
    for key in ("accuracy", "balanced_accuracy", "reduced_recall"):
        assert set(unit[key]) == {"none", "balanced"}
        assert all(0.0 <= v <= 1.0 for v in unit[key].values())
    other = dict(unit, seed=1)
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "| sim | 1 × 2 | balanced accuracy |" in report and "balanced − None" in report
