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
