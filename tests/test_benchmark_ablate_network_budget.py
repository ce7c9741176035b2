"""The network-budget ablation: STC at several epoch budgets, paired differences, the rule."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_network_budget")


def _unit(subject, seed, e120, e240, dataset="d"):
    acc = {"epochs_60": 0.5, "epochs_120": 0.5 + e120 / 100, "epochs_240": 0.5 + e240 / 100}
    return {"dataset": dataset, "subject": subject, "seed": seed, "accuracy": {"stc": acc}}


def test_the_rule_needs_240_beyond_its_seed_sd_and_120_above_60_on_two_data_sets(bench):
    units = []
    for dataset, (e120, e240) in {"a": (0.5, 2.0), "b": (1.0, 3.0), "c": (-1.0, 0.0)}.items():
        for subject in ("s1", "s2"):
            for seed, wobble in ((0, 0.2), (1, -0.2)):  # seed sd about 0.28
                units.append(_unit(subject, seed, e120, e240 + wobble, dataset))
    under, lines = bench.verdict(units)
    assert under and "on 2 of 3 data set(s), 120 above 60 on 2" in lines[-1]
    for u in units:
        if u["dataset"] == "b":
            u["accuracy"]["stc"]["epochs_120"] = 0.49
    under, lines = bench.verdict(units)
    assert not under and "is not under-trained" in lines[-1]


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, monkeypatch, tmp_path, simulator_inner_split):
    split = simulator_inner_split
    monkeypatch.setattr(bench, "inner_split", lambda dataset, subject, cut="auto": split)
    monkeypatch.setattr(bench, "SIZES", {"stc": dict(n_temporal=4, min_steps=None)})
    unit = bench.run_unit("sim", "S1", 0, epochs=(1, 2, 3))
    assert set(unit["accuracy"]["stc"]) == {"epochs_1", "epochs_2", "epochs_3"}
    unit["accuracy"]["stc"] = dict(zip(bench.ARMS, unit["accuracy"]["stc"].values(), strict=True))
    unit["fit_seconds"] = dict(zip(bench.ARMS, unit["fit_seconds"].values(), strict=True))
    (tmp_path / bench.JSONL).write_text(json.dumps(unit) + "\n")
    bench.write_report(tmp_path)
    report = (tmp_path / "ablate_network_budget.md").read_text()
    assert "| sim | 1 × 1 |" in report and "## The rule" in report
