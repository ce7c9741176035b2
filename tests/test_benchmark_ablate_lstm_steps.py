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
    arms = ["--arms", "per_sample", "max_64"]
    ablation.main(
        ["--geometries", "sim_2khz", *arms, "--seeds", "0", "1", "--smoke", "--out", str(tmp_path)]
    )
    units = [json.loads(line) for line in (tmp_path / "units.jsonl").read_text().splitlines()]
    assert {(u["arm"], u["seed"], u["samples_per_step"]) for u in units} == {
        ("per_sample", 0, 1), ("per_sample", 1, 1), ("max_64", 0, 3), ("max_64", 1, 3),
    }  # fmt: skip
    assert all(set(u["r2"]) == {"rms", "var", "ssi", "ent"} for u in units)
    summary = (tmp_path / "summary.md").read_text()
    assert "| sim_2khz | max_64 | 3 | 2 |" in summary and "the rule against per_sample" in summary
    # --resume skips what is done
    ablation.main(
        ["--geometries", "sim_2khz", "--seeds", "0", "--smoke", "--resume", "--out", str(tmp_path)]
        + arms
    )
    assert len((tmp_path / "units.jsonl").read_text().splitlines()) == 4


def _unit(geometry, arm, seed, r2, cpu):
    return dict(geometry=geometry, arm=arm, seed=seed, samples_per_step=1, fit_cpu_s=cpu, n_epochs=3,
                r2=dict(rms=r2, var=r2, ssi=r2, ent=r2))  # fmt: skip


def _units(arm, against, geometries, pairs=((0.990, 0.9895), (0.992, 0.991), (0.991, 0.990))):
    units = []
    for geometry in geometries:
        for seed, (base, new) in enumerate(pairs):
            units += [
                _unit(geometry, against, seed, base, 300.0),
                _unit(geometry, arm, seed, new, 60.0),
            ]
    return units


def test_the_first_rule_needs_every_long_geometry_and_every_feature(ablation):
    units = _units("max_64", "per_sample", ablation.GEOMETRIES[:3])
    text = ablation.summarise(units)
    assert "**Rule (max_64 against per_sample): adopt**" in text and "5.0x faster" in text
    worse = [
        dict(u, r2=dict(u["r2"], ent=0.95))
        if u["arm"] == "max_64" and u["geometry"] == "db1_2s"
        else u
        for u in units
    ]
    text = ablation.summarise(worse)
    assert "db1_2s: max_64 fails" in text and "**Rule (max_64 against per_sample): keep**" in text
    assert "Rule (max_64" not in ablation.summarise(units[:6])  # one geometry: no verdict yet


def test_the_second_rule_also_needs_the_classifier(ablation):
    units = _units("max_16", "max_64", ablation.GEOMETRIES)
    assert "Rule (max_16" not in ablation.summarise(units)  # no classifier units yet
    fin = [dict(arm="max_64", seed=s, samples_per_step=1, fit_cpu_s=100.0, accuracy=a)
           for s, a in enumerate((70.0, 72.0, 71.0))]  # fmt: skip
    close = fin + [dict(u, arm="max_16", accuracy=u["accuracy"] - 0.5) for u in fin]
    text = ablation.summarise(units, close)
    assert "FINClassifier: max_16 70.50% against 71.00% (seed sd 1.00): passes" in text
    assert "**Rule (max_16 against max_64): adopt**" in text
    far = fin + [dict(u, arm="max_16", accuracy=u["accuracy"] - 1.5) for u in fin]
    assert "**Rule (max_16 against max_64): keep**" in ablation.summarise(units, far)


def test_the_classifier_units_run_and_resume(ablation, monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 2, 20)).astype(np.float32), np.repeat([0, 1, 2], 20)
    monkeypatch.setattr(ablation, "fin_split", lambda smoke=False: (X, y, X[:30], y[:30]))
    argv = [
        "--fin",
        "--arms",
        "max_64",
        "max_16",
        "--seeds",
        "0",
        "--smoke",
        "--out",
        str(tmp_path),
    ]
    ablation.main(argv)
    units = [json.loads(line) for line in (tmp_path / "fin_units.jsonl").read_text().splitlines()]
    assert [(u["arm"], u["samples_per_step"]) for u in units] == [("max_64", 1), ("max_16", 2)]
    ablation.main([*argv, "--resume"])
    assert len((tmp_path / "fin_units.jsonl").read_text().splitlines()) == 2
    assert "FINClassifier on DB1 S10" in (tmp_path / "summary.md").read_text()


@pytest.mark.slow
def test_fin_high_rate_benchmark_smoke(load_benchmark, tmp_path):
    bench = load_benchmark("bench_fin_high_rate")
    assert bench.main(["--smoke", "--seeds", "0", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench_fin_high_rate.json").read_text())
    assert [r["samples_per_step"] for r in report["rows"]] == [25, 1]
    assert all(0 <= r["accuracy"] <= 100 for r in report["rows"])
    assert (
        "| max_lstm_steps=16 (default) | 25 | 0 |"
        in (tmp_path / "bench_fin_high_rate.md").read_text()
    )
