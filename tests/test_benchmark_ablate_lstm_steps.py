"""The LSTM-step ablation and the 2 kHz FINClassifier benchmark: tiny end-to-end runs."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def ablation(load_benchmark):
    return load_benchmark("ablate_lstm_steps")


def test_ablation_units_and_the_rule(ablation, monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2, 130)).astype(np.float32)
    monkeypatch.setattr(ablation, "load_geometry", lambda name, smoke=False: (X, X[:20]))
    ablation.main(
        ["--geometries", "sim_2khz", "--seeds", "0", "1", "--smoke", "--out", str(tmp_path)]
    )
    units = [json.loads(line) for line in (tmp_path / "units.jsonl").read_text().splitlines()]
    assert {(u["arm"], u["seed"], u["samples_per_step"]) for u in units} == {
        ("per_sample", 0, 1), ("per_sample", 1, 1), ("max_64", 0, 3), ("max_64", 1, 3),
    }  # fmt: skip
    assert all(set(u["r2"]) == {"rms", "var", "ssi", "ent"} for u in units)
    summary = (tmp_path / "summary.md").read_text()
    assert "| sim_2khz | max_64 | 3 | 2 |" in summary and "the rule" in summary
    # --resume skips what is done
    ablation.main(
        ["--geometries", "sim_2khz", "--seeds", "0", "--smoke", "--resume", "--out", str(tmp_path)]
    )
    assert len((tmp_path / "units.jsonl").read_text().splitlines()) == 4


def _unit(geometry, arm, seed, r2, cpu):
    return dict(geometry=geometry, arm=arm, seed=seed, samples_per_step=1, fit_cpu_s=cpu, n_epochs=3,
                r2=dict(rms=r2, var=r2, ssi=r2, ent=r2))  # fmt: skip


def test_the_rule_needs_every_geometry_and_every_feature(ablation):
    units = []
    for geometry in ablation.GEOMETRIES:
        for seed, (base, new) in enumerate([(0.990, 0.9895), (0.992, 0.991), (0.991, 0.990)]):
            units += [_unit(geometry, "per_sample", seed, base, 300.0)]
            units += [_unit(geometry, "max_64", seed, new, 60.0)]
    assert "**Rule: default max_lstm_steps=64**" in ablation.summarise(units)
    assert "5.0x faster" in ablation.summarise(units)
    worse = [
        dict(u, r2=dict(u["r2"], ent=0.95))
        if u["arm"] == "max_64" and u["geometry"] == "db1_2s"
        else u
        for u in units
    ]
    text = ablation.summarise(worse)
    assert "db1_2s: max_64 fails" in text and "**Rule: default None**" in text
    assert "Rule:" not in ablation.summarise(units[:6])  # one geometry: no verdict yet


@pytest.mark.slow
def test_fin_high_rate_benchmark_smoke(load_benchmark, tmp_path):
    bench = load_benchmark("bench_fin_high_rate")
    assert bench.main(["--smoke", "--seeds", "0", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench_fin_high_rate.json").read_text())
    assert [r["samples_per_step"] for r in report["rows"]] == [7, 1]
    assert all(0 <= r["accuracy"] <= 100 for r in report["rows"])
    assert (
        "| max_lstm_steps=64 (default) | 7 | 0 |"
        in (tmp_path / "bench_fin_high_rate.md").read_text()
    )
