"""Pairing two augmentation-benchmark runs on (subject, seed)."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("compare_runs")


def _write_units(path, accuracies, preset="standard"):
    with open(path, "w") as f:
        for (subject, seed), acc in accuracies.items():
            unit = {"preset": preset, "models": ["lda"], "record": {}}
            unit["record"] = {"subject": subject, "seed": seed, "accuracy": {"lda": acc}}
            f.write(json.dumps(unit) + "\n")


def test_changes_are_paired_per_subject_and_gains_subtract_none(bench, tmp_path):
    old = {
        ("S1", 0): {"none": 0.50, "classic": 0.52, "sasg_sass": 0.49},
        ("S1", 1): {"none": 0.50, "classic": 0.52, "sasg_sass": 0.51},
        ("S2", 0): {"none": 0.60, "classic": 0.61, "sasg_sass": 0.60},
        ("S3", 0): {"none": 0.70, "classic": 0.70, "sasg_sass": 0.70},  # not in the candidate
    }
    new = {
        ("S1", 0): {"none": 0.50, "classic": 0.52, "sasg_sass": 0.53},
        ("S1", 1): {"none": 0.51, "classic": 0.52, "sasg_sass": 0.53},
        ("S2", 0): {"none": 0.60, "classic": 0.61, "sasg_sass": 0.61},
    }
    _write_units(tmp_path / "old.jsonl", old)
    _write_units(tmp_path / "new.jsonl", new)
    rows = {
        r["method"]: r
        for r in bench.paired_changes(
            bench._units(tmp_path / "old.jsonl")[0], bench._units(tmp_path / "new.jsonl")[0]
        )
    }
    assert list(rows) == ["none", "classic", "sasg_sass"]
    sass = rows["sasg_sass"]
    assert (sass["n_subjects"], sass["n_pairs"]) == (2, 3)
    # S1: +4 and +2 points (mean +3); S2: +1 point
    assert sass["accuracy"][0] == pytest.approx(2.0)
    assert sass["accuracy"][1] == pytest.approx(2**0.5)
    # gains: S1 (+4 - 0, +2 - 1) -> +2.5; S2 +1
    assert sass["gain"][0] == pytest.approx(1.75)
    assert rows["none"]["gain"] == (0.0, 0.0)

    text = bench.report(tmp_path / "old.jsonl", tmp_path / "new.jsonl", ("A", "B"))
    assert "3 common units, subjects S1, S2, seeds [0, 1]" in text
    assert "| lda | sasg_sass | +2.0 ± 1.4 | +1.8 ± 1.1 | 2 | 3 |" in text
    # within each run on the common units, SASS - none: A (S1 0, S2 0), B (S1 +2.5, S2 +1);
    # SASS - classic: A (S1 -2, S2 -1), B (S1 +1, S2 0)
    assert "| lda | +0.0 ± 0.0 | +1.8 ± 1.1 | -1.5 ± 0.7 | +0.5 ± 0.7 |" in text


def test_runs_without_common_units_or_missing_files_say_what_to_do(bench, tmp_path):
    _write_units(tmp_path / "a.jsonl", {("S1", 0): {"none": 0.5}})
    _write_units(tmp_path / "b.jsonl", {("S2", 0): {"none": 0.5}})
    with pytest.raises(ValueError, match="share no .subject, seed. unit; rerun"):
        bench.report(tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    with pytest.raises(FileNotFoundError, match="no units; give the augmentation_"):
        bench.report(tmp_path / "a.jsonl", tmp_path / "missing.jsonl")


def test_missing_references_show_a_dash_and_presets_must_match(bench, tmp_path):
    # the candidate lacks "none" and "classic": no gain, no contrast, not a made-up number
    _write_units(tmp_path / "a.jsonl", {("S1", 0): {"none": 0.5, "sasg_sass": 0.52}})
    _write_units(tmp_path / "b.jsonl", {("S1", 0): {"sasg_sass": 0.55}})
    text = bench.report(tmp_path / "a.jsonl", tmp_path / "b.jsonl", ("A", "B"))
    assert "| lda | sasg_sass | +3.0 ± 0.0 | — | 1 | 1 |" in text
    assert "| lda | +2.0 ± 0.0 | — | — | — |" in text
    assert "nan" not in text
    _write_units(tmp_path / "quick.jsonl", {("S1", 0): {"none": 0.5}}, preset="quick")
    with pytest.raises(ValueError, match="different presets .'standard' and 'quick'."):
        bench.report(tmp_path / "a.jsonl", tmp_path / "quick.jsonl")
    with (tmp_path / "mixed.jsonl").open("w") as f:
        f.write((tmp_path / "a.jsonl").read_text() + (tmp_path / "quick.jsonl").read_text())
    with pytest.raises(ValueError, match="mixes presets"):
        bench.report(tmp_path / "mixed.jsonl", tmp_path / "a.jsonl")


def test_a_repeated_unit_counts_as_its_last_copy_as_resume_reads_it(
    bench, load_benchmark, tmp_path
):
    # a run repeated without --resume appends a second copy; --resume and the report keep
    # the last, and so must the comparison
    path = tmp_path / "u.jsonl"
    with open(path, "w") as f:
        for code, acc in (("old", 0.5), ("new", 0.6)):
            record = {"subject": "S1", "seed": 0, "code": code, "accuracy": {"lda": {"none": acc}}}
            f.write(json.dumps({"preset": "standard", "models": ["lda"], "record": record}) + "\n")
    records, _ = bench._units(path)
    assert records[("S1", 0)]["code"] == "new"
    augmentation = load_benchmark("augmentation")
    resumed = augmentation._resumed(path, {"preset": "standard", "models": ["lda"]})
    assert resumed[("S1", 0)]["code"] == "new"
