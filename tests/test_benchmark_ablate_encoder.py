"""The encoder ablation: one unit end to end on the simulator, and its rule."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_encoder")


def test_one_unit_end_to_end_on_the_simulator(bench, monkeypatch, tmp_path, simulator_inner_split):
    split = simulator_inner_split
    cuts = []
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": cuts.append(cut) or split
    )
    sizes = {
        "encoder": dict(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2),
        "stc": dict(max_epochs=2, n_temporal=4, min_steps=None),
    }
    monkeypatch.setattr(bench, "SIZES", sizes)
    unit = bench.run_unit("sim", "S1", 0, cut="time")
    assert cuts == ["time"] and unit["inner_split"] == "time"
    assert set(unit["accuracy"]) == set(bench.VARIANTS)
    assert all(0.0 <= a <= 1.0 for a in unit["accuracy"].values())
    assert set(unit["bar"]) == {"lda", "stc"}
    assert unit["n_held_out_windows"] == len(split[1].X)
    # the same seed gives the same record (timings aside)
    again = bench.run_unit("sim", "S1", 0, cut="time")
    assert again["accuracy"] == unit["accuracy"] and again["bar"] == unit["bar"]

    other = json.loads(json.dumps(unit))
    other["seed"] = 1
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "| sim | 1 × 2 | encoder emg_all |" in report
    assert "| sim | 1 × 2 | STC |" in report and "Choice: **" in report
    assert "Inner split: time" in report


def _unit(dataset, subject, seed, gains):
    acc = {"default": 0.5}
    acc.update({name: 0.5 + g / 100 for name, g in gains.items()})
    return {"dataset": dataset, "subject": subject, "seed": seed, "accuracy": acc}


def test_rule_needs_a_gain_beyond_the_seed_sd_and_no_loss_beyond_it(bench):
    variants = {"default": {}, "log_energy": {}, "emg_all": {}}
    # log_energy: +2 or +3 points (seed sd 0.7): admissible; emg_all: +6 on one data
    # set, -3 on the other (seed sd 0): a loser, not admissible despite the larger mean
    units = [
        _unit(d, s, seed, {"log_energy": 2 + seed, "emg_all": 6 if d == "a" else -3})
        for d in ("a", "b")
        for s in ("s1", "s2")
        for seed in (0, 1)
    ]
    choice, rows = bench.choose_encoder(units, variants)
    assert choice == "log_energy"
    by_name = {r["variant"]: r for r in rows}
    assert by_name["log_energy"]["mean"] == pytest.approx(2.5)
    assert by_name["emg_all"]["admissible"] is False and by_name["emg_all"]["losers"]
    # a gain inside the seed spread keeps the default
    units = [
        _unit("a", s, seed, {"log_energy": [-1, 2][seed], "emg_all": 0})
        for s in ("s1", "s2")
        for seed in (0, 1)
    ]
    assert bench.choose_encoder(units, variants)[0] == "default"
