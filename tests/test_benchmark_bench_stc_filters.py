"""bench_stc_filters: the spatial-first filter stage against the declared order, side by side."""

import functools
import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_stc_filters")


def test_the_step_part_times_both_paths_and_counts_their_activations(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "GEOMETRIES", [("small", 6, 30, 8)])
    bench.main(["--part", "step", "--repeats", "2", "--out", str(tmp_path)])
    (unit,) = [json.loads(line) for line in (tmp_path / "bench_stc_filters.jsonl").open()]
    assert unit["old_ms"] > 0 and unit["new_ms"] > 0
    # the declared order keeps the (batch, kernels, channels, time) intermediate
    assert unit["old_saved_mb"] > unit["new_saved_mb"] > 0
    assert "| small | 8 | 1 |" in (tmp_path / "bench_stc_filters.md").read_text()
    # the library's path is back in place afterwards
    assert bench.SpatioTemporalConvNet.filter_signals is bench.NEW_PATH


def test_the_fit_part_pairs_the_paths_per_subject_and_seed(
    bench, tmp_path, monkeypatch, simulator_inner_split
):
    fit, held_out = simulator_inner_split
    monkeypatch.setattr(bench, "subject_names", lambda dataset: ["S1"])
    monkeypatch.setattr(bench, "subject_split", lambda *args: (fit, held_out))
    monkeypatch.setattr(
        bench,
        "SpatioTemporalClassifier",
        functools.partial(
            bench.SpatioTemporalClassifier, min_steps=None, max_epochs=2, n_temporal=4
        ),
    )
    bench.main(["--part", "fit", "--datasets", "db1", "--seeds", "0", "1", "--out", str(tmp_path)])
    units = [json.loads(line) for line in (tmp_path / "bench_stc_filters.jsonl").open()]
    assert sorted((u["seed"], u["path"]) for u in units) == [
        (0, "new"),
        (0, "old"),
        (1, "new"),
        (1, "old"),
    ]
    # float rounding is all that differs: two epochs end with the same predictions
    for seed in (0, 1):
        new, old = (
            u["accuracy"] for u in sorted(units, key=lambda u: u["path"]) if u["seed"] == seed
        )
        assert old == pytest.approx(new, abs=0.05)
    report = (tmp_path / "bench_stc_filters.md").read_text()
    assert "| db1 | 1 × 2 |" in report
    # a rerun finds every unit done
    bench.main(["--part", "fit", "--datasets", "db1", "--seeds", "0", "1", "--out", str(tmp_path)])
    assert len((tmp_path / "bench_stc_filters.jsonl").read_text().splitlines()) == 4
