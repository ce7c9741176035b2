"""The step-floor ablation: STC at several min_steps floors, paired differences, the rule."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_step_floor")


def _units(gains, wobble=0.2):
    """Units whose none@F − none gain (points) is ``gains[dataset][F]``, two subjects, two
    seeds ``wobble`` apart either way (seed sd about 0.28 for 0.2)."""
    units = []
    for dataset, by_floor in gains.items():
        for subject in ("s1", "s2"):
            for seed, jitter in ((0, wobble), (1, -wobble)):
                acc = {"none": 0.5, "classic": 0.51}
                for floor, gain in by_floor.items():
                    acc[f"none@{floor}"] = 0.5 + (gain + jitter) / 100
                    acc[f"classic@{floor}"] = 0.5 + (gain + jitter) / 100
                units.append(
                    {"dataset": dataset, "subject": subject, "seed": seed, "accuracy": {"stc": acc}}
                )
    return units


def test_the_rule_adopts_the_cheapest_floor_near_the_best_score(bench):
    gains = {
        "a": {1000: 1.0, 2000: 1.5, 4000: 1.6},
        "b": {1000: 0.8, 2000: 1.2, 4000: 1.3},
        "c": {1000: 0.0, 2000: 0.1, 4000: 0.0},
    }
    choice, lines = bench.verdict(_units(gains))
    assert choice == 2000  # 4000 scores 0.03 higher: within the tie, 2000 is cheaper
    assert "floor: 2000" in lines[-1] and lines[0].startswith("- 1000 steps: score +0.60")


def test_a_floor_that_costs_one_data_set_beyond_its_seed_sd_is_not_admissible(bench):
    gains = {"a": {1000: 3.0}, "b": {1000: 3.0}, "c": {1000: -1.0}}
    choice, lines = bench.verdict(_units(gains))
    assert choice is None and "not admissible" in lines[0] and "None (unchanged)" in lines[-1]
    # a positive score beyond the seed sd on one data set only is not enough
    choice, _ = bench.verdict(_units({"a": {1000: 3.0}, "b": {1000: 0.1}, "c": {1000: 0.0}}))
    assert choice is None


def test_the_rule_waits_for_a_seed_sd_and_adopts_only_when_the_best_floor_qualifies(bench):
    # one seed in data set c: a floor that loses 3 points there must not be adopted
    units = _units({"a": {1000: 6.0}, "b": {1000: 6.0}, "c": {1000: -3.0}})
    units = [u for u in units if u["dataset"] != "c" or u["seed"] == 0]
    choice, lines = bench.verdict(units)
    assert (
        choice is None and "cannot decide yet: no seed sd (one seed per subject) on c." in lines[-1]
    )
    # the best score (1000) is beyond its seed sd on one data set only: nothing is adopted,
    # though 2000, lower, meets the conditions
    gains = {"a": {1000: 6.0, 2000: 1.0}, "b": {1000: 0.0, 2000: 1.0}, "c": {1000: 0.0, 2000: 1.0}}
    choice, lines = bench.verdict(_units(gains))
    assert choice is None and "None (unchanged)" in lines[-1]
    assert lines[0].endswith(": admissible") and "meets the adoption conditions" in lines[1]


def test_the_report_shows_the_floors_the_classic_gain_and_the_rule(bench, tmp_path):
    units = _units({"a": {1000: 1.0, 2000: 1.5}, "b": {1000: 0.8, 2000: 1.2}})
    for u in units:
        u.update(n_fit_windows=100, epochs={"none": 60, "none@1000": 500, "none@2000": 1000})
        u["fit_seconds"] = {a: 1.0 for a in u["accuracy"]["stc"]}
    (tmp_path / bench.JSONL).write_text("".join(json.dumps(u) + "\n" for u in units))
    bench.write_report(tmp_path)
    report = (tmp_path / "ablate_step_floor.md").read_text()
    assert "| a | 2 × 2 | 100 | 50.0 | +1.0 ± 0.0 (0.3) | +1.5 ± 0.0 (0.3) | 60 / 500 / 1000 |" in (
        report
    )
    assert "| a | +1.0 ± 0.0 (0.0) | +0.0 ± 0.0 (0.0) | +0.0 ± 0.0 (0.0) |" in report
    assert "## The rule" in report and "nan" not in report


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, monkeypatch, tmp_path, simulator_inner_split):
    split = simulator_inner_split
    monkeypatch.setattr(bench, "inner_split", lambda dataset, subject, cut="auto": split)
    monkeypatch.setattr(bench, "SIZES", {"stc": dict(n_temporal=4, max_epochs=2, min_steps=None)})
    unit = bench.run_unit("sim", "S1", 0, floors=(None, 30))
    assert set(unit["accuracy"]["stc"]) == {"none", "classic", "none@30", "classic@30"}
    assert unit["epochs"]["none"] == unit["epochs"]["classic"] == 2
    batches = -(-len(split[0].X) // 64)
    assert unit["epochs"]["none@30"] == max(2, -(-30 // batches))
    assert unit["epochs"]["classic@30"] <= unit["epochs"]["none@30"]  # three times the windows
    (tmp_path / bench.JSONL).write_text(json.dumps(unit) + "\n")
    bench.write_report(tmp_path)
    report = (tmp_path / "ablate_step_floor.md").read_text()
    assert "| sim | 1 × 1 |" in report and "## The rule" in report


@pytest.mark.slow
def test_a_tdct_unit_without_classic_arms_reports_and_rules(
    bench, monkeypatch, tmp_path, simulator_inner_split
):
    split = simulator_inner_split
    monkeypatch.setattr(bench, "inner_split", lambda dataset, subject, cut="auto": split)
    small = dict(max_epochs=2, d_model=8, n_heads=2, min_steps=None)
    monkeypatch.setattr(bench, "SIZES", {"stc": {}, "tdct": small})
    unit = bench.run_unit("sim", "S1", 0, floors=(None, 30), network="tdct", methods=("none",))
    assert set(unit["accuracy"]) == {"tdct"} and set(unit["accuracy"]["tdct"]) == {
        "none",
        "none@30",
    }
    assert unit["epochs"]["none@30"] == max(2, -(-30 // -(-len(split[0].X) // 64)))
    units = [unit, {**unit, "seed": 1}]
    (tmp_path / bench.JSONL).write_text("".join(json.dumps(u) + "\n" for u in units))
    bench.write_report(tmp_path)
    report = (tmp_path / "ablate_step_floor.md").read_text()
    assert report.startswith("# A floor on TDCT's optimiser steps")
    assert "--network tdct" in report and "no classic arms (`--methods none`)" in report
    assert "Classic augmentation's gain" not in report and "TDCT's floor:" in report


def test_one_log_holds_one_network(bench, tmp_path, capsys):
    units = _units({"a": {1000: 1.0}})
    assert bench.network_of(units) == "stc" and bench.network_of([]) == "stc"
    mixed = units + [{**units[0], "accuracy": {"tdct": units[0]["accuracy"]["stc"]}}]
    with pytest.raises(ValueError, match="several networks.*its own --out"):
        bench.network_of(mixed)
    (tmp_path / bench.JSONL).write_text(json.dumps(units[0]) + "\n")
    with pytest.raises(SystemExit):
        bench.main(["--network", "tdct", "--out", str(tmp_path)])
    assert "holds units of --network stc" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--methods", "classic", "--out", str(tmp_path)])
    assert "--methods must include none" in capsys.readouterr().err


def test_a_log_of_mixed_arms_is_reported_as_such_and_not_extended(bench, tmp_path, capsys):
    # one unit ran 1000 and 2000 with classic, another 4000 without: no common floor
    first = _units({"a": {1000: 1.0, 2000: 1.5}})[:1]
    second = {**first[0], "subject": "s9", "accuracy": {"stc": {"none": 0.5, "none@4000": 0.52}}}
    for u in (*first, second):
        arms = u["accuracy"]["stc"]
        u.update(n_fit_windows=100, epochs=dict.fromkeys(arms, 60))
        u["fit_seconds"] = dict.fromkeys(arms, 1.0)
    (tmp_path / bench.JSONL).write_text("".join(json.dumps(u) + "\n" for u in (*first, second)))
    bench.write_report(tmp_path)
    report = (tmp_path / "ablate_step_floor.md").read_text()
    assert "Floors run by some units only, left out below: 1000, 2000, 4000." in report
    assert "Classic arms in 1 of 2 units only: not reported." in report
    assert "The rule cannot decide: no floor was run by every unit." in report
    assert "None (unchanged)" not in report
    # adding floors or methods to a log would leave its done units without them: refused
    with pytest.raises(SystemExit):
        bench.main(["--floors", "1000", "--out", str(tmp_path)])
    assert "holds units of other arms" in capsys.readouterr().err
    # a rerender reads whatever the log holds, whatever --network says
    tdct = tmp_path / "tdct"
    tdct.mkdir()
    unit = {**first[0], "accuracy": {"tdct": first[0]["accuracy"]["stc"]}}
    (tdct / bench.JSONL).write_text(json.dumps(unit) + "\n")
    assert bench.main(["--rerender", "--out", str(tdct)]) == 0
    assert (tdct / "ablate_step_floor.md").read_text().startswith("# A floor on TDCT's")
    # several networks in one log: the parser's error, not a traceback
    (tdct / bench.JSONL).write_text(json.dumps(unit) + "\n" + json.dumps(first[0]) + "\n")
    with pytest.raises(SystemExit):
        bench.main(["--rerender", "--out", str(tdct)])
    assert "several networks" in capsys.readouterr().err
