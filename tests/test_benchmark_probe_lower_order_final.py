"""The lower-order-final probe: one unit end to end on simulated windows, and its report."""

import functools
import json

import numpy as np


def test_one_unit_samples_the_same_noise_both_ways_and_restores_the_solver(
    load_benchmark, simulator_inner_split, monkeypatch, tmp_path
):
    bench = load_benchmark("probe_lower_order_final")
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": simulator_inner_split
    )
    tiny = dict(n_steps=3, base_channels=8, channel_mults=(1,), n_sampling_steps=4)
    monkeypatch.setattr(
        bench, "DiffusionGenerator", functools.partial(bench.DiffusionGenerator, **tiny)
    )
    monkeypatch.setattr(bench, "read_jsonl", lambda path: [])
    units = bench.main(["--units", "sim:A", "--out", str(tmp_path)])
    unit = units[0]
    assert bench.generator_module.dpmpp_2m_sample is bench.dpmpp_2m_sample  # restored
    for name in ("library", "lower_order_final"):
        for where in ("train", "held_out"):
            r = unit[name][where]
            assert r["rms_ratio"] > 0 and 0 <= r["classes_within_10pct"] <= 1
    # the two variants differ only in the last step, so they differ, but not by much
    assert unit["library"]["train"] != unit["lower_order_final"]["train"]
    report = (tmp_path / "probe_lower_order_final.md").read_text()
    assert "| sim A | train | library |" in report and "Paired change" in report
    logged = [json.loads(line) for line in (tmp_path / "probe_lower_order_final.jsonl").open()]
    assert logged[0]["subject"] == "A" and "code" in logged[0]
    assert np.isfinite(unit["seconds"])


def test_inner_split_is_passed_recorded_and_one_per_folder(load_benchmark, monkeypatch, tmp_path):
    import pytest

    bench = load_benchmark("probe_lower_order_final")
    cuts = []

    def fake_unit(dataset, subject, seed=0, cut="auto"):
        cuts.append(cut)
        return {"dataset": dataset, "subject": subject}

    monkeypatch.setattr(bench, "run_unit", fake_unit)
    monkeypatch.setattr(bench, "write_report", lambda units, path: None)
    units = bench.main(["--units", "sim:A", "--out", str(tmp_path), "--inner-split", "time"])
    assert cuts == ["time"] and units[0]["inner_split"] == "time"
    with pytest.raises(SystemExit, match="holds units of --inner-split time"):
        bench.main(["--units", "sim:B", "--out", str(tmp_path)])
