"""The adaptation-length ablation: one unit end to end on the simulator, and its rule."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_adapt")


@pytest.fixture
def tiny(bench, monkeypatch, shrink_adapt_unit):
    """The simulator's inner split as the target, two other simulated people as the pool."""
    monkeypatch.setattr(bench, "VARIANTS", {"adapt_75": 2, "adapt_300": 4})
    return shrink_adapt_unit(bench)


def test_one_unit_end_to_end_on_the_simulator(bench, tiny, tmp_path, simulator_inner_split):
    unit = bench.run_unit("sim", "S1", 0, cache_dir=tmp_path)
    assert set(unit["accuracy"]) == set(bench.MODELS)
    for accuracy in unit["accuracy"].values():
        assert set(accuracy) == {"none", "adapt_75", "adapt_300"}
        assert all(0.0 <= a <= 1.0 for a in accuracy.values())
    assert unit["rms_ratio"]["adapt_75"] > 0 and unit["n_fit_windows"] == len(
        simulator_inner_split[0].X
    )
    # the prior is pretrained once per target and saved where population.py would read it
    assert (tmp_path / "sim_prior_S1.sgw").exists() and tiny == [("sim", "S1")]
    # the same seed gives the same record (timings aside), from the cached prior file too
    bench._PRIORS.clear()
    again = bench.run_unit("sim", "S1", 0, cache_dir=tmp_path)
    assert again["accuracy"] == unit["accuracy"] and tiny == [("sim", "S1")]

    other = json.loads(json.dumps(unit))
    other["seed"] = 1
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "| sim | 1 × 2 | adapt_300 |" in report and "| sim | 1 × 2 | none (accuracy) |" in report
    assert "Choice: **" in report


def _unit(dataset, subject, seed, gains):
    accuracy = {}
    for model in ("lda", "stc", "tl"):
        accuracy[model] = {"none": 0.4, "adapt_75": 0.5}
        accuracy[model].update({name: 0.5 + g / 100 for name, g in gains.items()})
    stats = {k: dict.fromkeys(accuracy["lda"], 1.0) for k in ("rms_ratio", "std_ratio")}
    stats.update({k: dict.fromkeys(accuracy["lda"], 1.0) for k in ("acceptance", "fit_seconds")})
    return {"dataset": dataset, "subject": subject, "seed": seed, "accuracy": accuracy, **stats}


def test_rule_needs_a_gain_beyond_the_seed_sd_and_no_loss_beyond_it(bench):
    variants = ["adapt_10", "adapt_75", "adapt_300"]
    # adapt_10: +2 or +3 points (seed sd 0.7): admissible; adapt_300: +6 on one data set,
    # -3 on the other (seed sd 0): a loser, not admissible despite the larger mean
    units = [
        _unit(d, s, seed, {"adapt_10": 2 + seed, "adapt_300": 6 if d == "a" else -3})
        for d in ("a", "b")
        for s in ("s1", "s2")
        for seed in (0, 1)
    ]
    choice, rows = bench.choose_adapt_steps(units, variants)
    assert choice == "adapt_10"
    by_name = {r["variant"]: r for r in rows}
    assert not by_name["adapt_300"]["admissible"] and len(by_name["adapt_300"]["losers"]) == 3
    # a gain inside the seed spread keeps the default
    units = [
        _unit("a", s, seed, {"adapt_10": [-1, 2][seed], "adapt_300": 0})
        for s in ("s1", "s2")
        for seed in (0, 1)
    ]
    assert bench.choose_adapt_steps(units, variants)[0] == "adapt_75"


def test_merge_adds_a_later_variant_and_refuses_runs_that_disagree(bench, tmp_path):
    first = [_unit("a", "s1", 0, {"adapt_10": 1})]
    later = [_unit("a", "s1", 0, {"adapt_1": 2})]
    for unit in later:  # a later run holds only its own variant
        for values in unit.values():
            if isinstance(values, dict):
                for inner in (values, *values.values()):
                    if isinstance(inner, dict):
                        inner.pop("adapt_75", None)
    bench.write_report(later, tmp_path / "part.md")  # a part run: its table, no rule
    assert "| a | 1 × 1 | adapt_1 |" in (tmp_path / "part.md").read_text()
    merged = bench.merge_units(first, later)
    assert set(merged[0]["accuracy"]["stc"]) == {"none", "adapt_75", "adapt_10", "adapt_1"}
    assert (
        merged[0]["accuracy"]["stc"]["adapt_1"] == 0.52
        and "adapt_1" not in first[0]["accuracy"]["stc"]
    )
    later[0]["accuracy"]["lda"]["none"] = 0.41  # not the same footing
    with pytest.raises(ValueError, match="lda on real windows alone differs"):
        bench.merge_units(first, later)
    with pytest.raises(ValueError, match="no unit for a s2 seed 0"):
        bench.merge_units([_unit("a", "s2", 0, {})], later)
