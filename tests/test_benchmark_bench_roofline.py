"""bench_roofline: FLOPs of a default training step against its time and the CPU's references."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_roofline")


def test_the_report_counts_the_steps_flops_and_its_floor(bench, monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    monkeypatch.setattr(bench, "SIZES", {"base_channels": 8, "batch_size": 16})
    bench.main(["--shape", "3x16", "--threads", "1", "--repeats", "2", "--name", "roof"])
    record = json.loads((tmp_path / "roof.json").read_text())["records"][0]
    assert record["window"] == [3, 16] and record["batch_size"] == 16
    assert record["gflop_per_step"] > 0 and record["ms_per_step"] > 0
    # the floor is the budget's FLOPs at sgemm's rate, below the measured budget
    assert record["budget_floor_at_sgemm_s"] == pytest.approx(
        record["n_steps"] * record["gflop_per_step"] / record["sgemm_gflops"]
    )
    assert record["fraction_of_sgemm"] == pytest.approx(
        record["achieved_gflops"] / record["sgemm_gflops"]
    )
    assert "| 3x16 | 3 x 16 | 16 |" in (tmp_path / "roof.md").read_text()


def test_a_bad_shape_is_refused(bench):
    with pytest.raises(SystemExit):
        bench.main(["--shape", "ten-by-twenty"])


def test_the_flop_count_is_that_of_the_products(bench):
    import torch

    a = torch.randn(8, 4)
    assert bench.count_flops(lambda: a @ torch.randn(4, 5)) == 2 * 8 * 4 * 5
