"""Pairing two population-benchmark runs on (target, seed)."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("compare_population")


def _write(path, accuracies, dataset="uci", regime="low_data", model="stc"):
    with open(path, "w") as f:
        for (subject, method, seed), accuracy in accuracies.items():
            unit = dict(dataset=dataset, regime=regime, subject=subject, method=method)
            unit.update(model=model, seed=seed, accuracy=accuracy)
            f.write(json.dumps(unit) + "\n")


def test_changes_are_paired_per_target_and_gains_subtract_none(bench, tmp_path):
    old = {
        ("01", "none", 0): 0.80,
        ("01", "none", 1): 0.82,
        ("01", "sass_prior", 0): 0.81,
        ("01", "sass_prior", 1): 0.83,
        ("03", "none", 0): 0.90,
        ("03", "sass_prior", 0): 0.90,
        ("04", "none", 0): 0.70,  # not in the candidate: left out
    }
    new = {
        ("01", "none", 0): 0.84,
        ("01", "none", 1): 0.82,
        ("01", "sass_prior", 0): 0.86,
        ("01", "sass_prior", 1): 0.85,
        ("03", "none", 0): 0.88,
        ("03", "sass_prior", 0): 0.90,
    }
    _write(tmp_path / "old.jsonl", old)
    _write(tmp_path / "new.jsonl", new)
    rows = {
        r["method"]: r
        for r in bench.paired_changes(
            bench._accuracies(tmp_path / "old.jsonl"), bench._accuracies(tmp_path / "new.jsonl")
        )
    }
    none, sass = rows["none"], rows["sass_prior"]
    assert (none["n_targets"], none["n_pairs"], sass["n_pairs"]) == (2, 3, 3)
    # target 01: changes +4 and 0 (mean +2); target 03: -2 -> mean 0, sd 2.83 over targets
    assert none["change"][0] == pytest.approx(0.0) and none["change"][1] == pytest.approx(
        2.828, abs=1e-3
    )
    assert none["gain_change"] is None
    # gain changes: 01 seed 0: (2) - (1) = +1, seed 1: (3) - (1) = +2 -> +1.5; 03: (2) - (0) = +2
    assert sass["gain_change"][0] == pytest.approx(1.75)
    assert sass["accuracy"][0] == pytest.approx(100 * (0.855 + 0.90) / 2)


def test_the_report_is_written_and_runs_without_shared_units_are_refused(bench, tmp_path):
    _write(tmp_path / "a.jsonl", {("01", "none", 0): 0.5, ("01", "classic", 0): 0.6})
    _write(tmp_path / "b.jsonl", {("01", "none", 0): 0.5, ("01", "classic", 0): 0.7})
    out = tmp_path / "cmp.md"
    bench.main(
        [
            str(tmp_path / "a.jsonl"),
            str(tmp_path / "b.jsonl"),
            "--labels",
            "old",
            "new",
            "--methods",
            "classic",
            "--out",
            str(out),
        ]
    )
    text = out.read_text()
    assert (
        "## uci, low_data, downstream stc" in text
        and "| classic | 1 | 1 | 70.0 ± 0.0 | +10.0 ± 0.0 | +10.0 ± 0.0 (over none) |" in text
    )
    assert "| none |" not in text
    _write(tmp_path / "c.jsonl", {("09", "none", 0): 0.5})
    with pytest.raises(ValueError, match="share no"):
        bench.paired_changes(
            bench._accuracies(tmp_path / "a.jsonl"), bench._accuracies(tmp_path / "c.jsonl")
        )
    with pytest.raises(FileNotFoundError, match="no units"):
        bench._accuracies(tmp_path / "missing.jsonl")


def test_a_repeated_unit_counts_as_its_last_copy_as_the_report_reads_it(bench, tmp_path):
    path = tmp_path / "p.jsonl"
    with open(path, "w") as f:
        for accuracy in (0.5, 0.6):
            unit = dict(dataset="uci", regime="low_data", subject="01", method="none")
            unit.update(model="stc", seed=0, accuracy=accuracy)
            f.write(json.dumps(unit) + "\n")
    assert bench._accuracies(path) == {("uci", "low_data", "stc", "none", "01", 0): 0.6}


def test_the_population_network_is_measured_against_scratch_and_tl(bench, tmp_path):
    old = {("S1", "scratch", 0): 0.5, ("S1", "tl", 0): 0.6, ("S1", "tl_sass_prior", 0): 0.6}
    old.update({("S2", "scratch", 0): 0.5, ("S2", "tl_sass_prior", 0): 0.7})
    new = {("S1", "scratch", 0): 0.5, ("S1", "tl", 0): 0.7, ("S1", "tl_sass_prior", 0): 0.8}
    new.update({("S2", "scratch", 0): 0.5, ("S2", "tl_sass_prior", 0): 0.8})
    _write(tmp_path / "old.jsonl", old, dataset="db1", regime="one_rep", model="net")
    _write(tmp_path / "new.jsonl", new, dataset="db1", regime="one_rep", model="net")
    rows = {
        r["method"]: r
        for r in bench.paired_changes(
            bench._accuracies(tmp_path / "old.jsonl"), bench._accuracies(tmp_path / "new.jsonl")
        )
    }
    assert rows["scratch"]["gain_change"] is None  # no "none" for the network: a reference
    assert rows["tl"]["reference"] == "scratch"
    assert rows["tl"]["gain_change"][0] == pytest.approx(10.0)  # (20) - (10)
    tl_sass = rows["tl_sass_prior"]
    assert tl_sass["reference"] == "tl" and tl_sass["gain_change"][0] == pytest.approx(10.0)
    # S2 has no tl arm: in the accuracy, not in the gain, and the report says so
    assert (tl_sass["n_targets"], tl_sass["n_gain_targets"]) == (2, 1)
    text = bench.render(list(rows.values()), ("old", "new"), ("a", "b"))
    assert "+10.0 ± 0.0 (over tl; 1 targets) |" in text
