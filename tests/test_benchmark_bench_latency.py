"""The latency benchmark: every model times one window and a batch, and the report says so."""

import argparse
import json

import pytest
import torch


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_latency")


def test_every_model_is_timed_on_one_window_and_a_batch(bench, tmp_path):
    argv = ["--geometries", "3x16", "--repeats", "4", "--batch", "8", "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    record = json.loads((tmp_path / "bench_latency.json").read_text())
    assert record["threads"] == 1 and "torch" in record and "date" in record
    rows = record["rows"]
    assert [r["model"] for r in rows] == list(bench.MODELS)
    for row in rows:
        assert row["geometry"] == "3x16"
        assert 0 < row["median_ms"] <= row["p95_ms"] and row["batch_windows_per_s"] > 0
    report = (tmp_path / "bench_latency.md").read_text()
    assert "--geometries 3x16" in report and "1 thread(s)" in report
    assert report.count("| 3x16 |") == len(bench.MODELS)


def test_geometries_and_models_are_validated(bench):
    assert bench.parse_geometry("8X52") == (8, 52)
    for bad in ("8", "8x", "ax52", "0x52", "8x2"):
        with pytest.raises(argparse.ArgumentTypeError, match="geometry"):
            bench.parse_geometry(bad)
    with pytest.raises(ValueError, match="unknown model 'svm'"):
        bench.make_model("svm")
    assert bench.positive_int("3") == 3
    for bad in ("0", "-1", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench.positive_int(bad)
    with pytest.raises(SystemExit):
        bench.main(["--repeats", "0"])
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit):  # named before any CPU row is timed
            bench.main(["--devices", "cpu", "cuda"])
