"""bench_sass_scaling: SASS's drawing time with and without max_reference."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_sass_scaling")


def test_the_report_times_both_ways_up_to_the_uncapped_limit(bench, monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    argv = ["--per-class", "30", "60", "--dim", "4", "--uncapped-up-to", "30", "--name", "s"]
    bench.main(argv)
    rows = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert [r["per_class"] for r in rows] == [30, 60]
    assert "uncapped_s" in rows[0] and "uncapped_s" not in rows[1]
    assert "| 60 |" in (tmp_path / "s.md").read_text()


def test_the_embeddings_have_the_asked_size(bench):
    X, y = bench.embeddings(10, 3, 5)
    assert X.shape == (30, 5) and sorted(set(y.tolist())) == [0, 1, 2]
