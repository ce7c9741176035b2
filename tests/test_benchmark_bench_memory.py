"""The memory benchmark's side-by-side mode: the other tree's code is imported, a report is written."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_memory")


def test_the_child_imports_the_other_tree(bench, tmp_path):
    code = bench._child_code(tmp_path)
    assert "editable" in code and repr(str(tmp_path.resolve())) in code
    assert code.endswith(bench.CHILD) and bench._child_code(None) == bench.CHILD


def test_compare_tree_alternates_trees_and_writes_the_report(bench, monkeypatch, tmp_path):
    calls = []

    def fake_run_child(cfg, tree=None):
        calls.append((cfg["n_per_class"], tree))
        overhead = 100.0 if tree else 40.0
        return {
            **cfg,
            "result_mb": 3.0,
            "peak_increase_mb": 3.0 + overhead,
            "overhead_mb": overhead,
            "wall_s": 1.0,
            "acceptance": 0.2,
        }

    monkeypatch.setattr(bench, "fit_model", lambda folder, n_steps: (5, 80, (8, 52)))
    monkeypatch.setattr(bench, "run_child", fake_run_child)
    rows = bench.main(["--compare-tree", "old", "--filter-n", "100", "400", "--out", str(tmp_path)])
    assert calls == [(20, "old"), (20, None), (80, "old"), (80, None)]
    assert [r["tree"] for r in rows] == ["other", "this", "other", "this"]
    report = (tmp_path / "bench_memory_filter.md").read_text()
    assert "| other | 100 | 0.20 | 3.0 | 100 | 1 |" in report
    assert "| this | 400 | 0.20 | 3.0 | 40 | 1 |" in report
    assert len(json.loads((tmp_path / "bench_memory_filter.json").read_text())) == 4


def test_fit_compare_tree_alternates_trees_per_estimator(bench, monkeypatch, tmp_path):
    calls = []

    def fake_run_child(cfg, tree=None):
        calls.append((cfg["kind"], cfg["estimator"], cfg["n"], tree))
        peak = 800.0 if tree else 300.0
        return {
            **cfg,
            "result_mb": 0.0,
            "peak_increase_mb": peak,
            "overhead_mb": peak,
            "wall_s": 2.0,
            "acceptance": None,
            "data_mb": 100.0,
        }

    monkeypatch.setattr(bench, "run_child", fake_run_child)
    argv = [
        "--fit-compare-tree",
        "old",
        "--fit-n",
        "500",
        "--out",
        str(tmp_path),
        "--fit-estimators",
        "SemanticEncoder",
        "PopulationPrior",
    ]
    rows = bench.main(argv)
    assert calls == [
        ("fit", "SemanticEncoder", 500, "old"),
        ("fit", "SemanticEncoder", 500, None),
        ("fit", "PopulationPrior", 500, "old"),
        ("fit", "PopulationPrior", 500, None),
    ]
    assert [r["tree"] for r in rows] == ["other", "this", "other", "this"]
    report = (tmp_path / "bench_memory_fit.md").read_text()
    assert "| PopulationPrior.fit | other | 500 | 100 | 800 | 8.0 | 2 |" in report
    assert "| SemanticEncoder.fit | this | 500 | 100 | 300 | 3.0 | 2 |" in report


def test_the_fit_child_measures_a_real_fit(bench):
    """The child code's fit branch runs against this tree (tiny, so it is quick)."""
    row = bench.run_child(dict(kind="fit", estimator="SemanticEncoder", n=600))
    assert row["data_mb"] == pytest.approx(600 * 8 * 52 * 4 / 2**20)
    assert row["peak_increase_mb"] >= 0 and row["wall_s"] > 0
