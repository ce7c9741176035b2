"""Joining parts of the augmentation benchmark that ran other methods on the same units."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("join_runs")


def _record(subject, seed, accuracy, code="abc", n_train=10):
    return {
        "subject": subject,
        "seed": seed,
        "n_train": n_train,
        "n_test": 20,
        "accuracy": accuracy,
        "quality": {m: {"fid": 0.1} for m in accuracy["lda"] if m not in ("none", "repeat")},
        "time": {m: 1.0 for m in accuracy["lda"] if m != "none"},
        "unit_seconds": 5.0,
        "code": code,
    }


def _write(path, records, methods, network_params=None):
    with open(path, "w") as fh:
        for r in records:
            unit = {"preset": "smoke", "models": ["lda", "stc"], "methods": methods}
            if network_params:
                unit["network_params"] = network_params
            fh.write(json.dumps(dict(unit, record=r)) + "\n")


def _parts(tmp_path, sass_none=0.5, network_params=None):
    first, second = [], []
    for subject, base in (("S1", 0.5), ("S2", 0.6), ("S3", 0.7)):
        for seed in (0, 1):
            none = {"lda": base, "stc": base + 0.05}
            first.append(
                _record(
                    subject,
                    seed,
                    {
                        m: {"none": v, "repeat": v, "classic": v + 0.02, "smote": v + 0.01}
                        for m, v in none.items()
                    },
                    code="aaa",
                )
            )
            if subject == "S3" and seed == 1:
                continue  # the second part lacks one unit
            second.append(
                _record(
                    subject,
                    seed,
                    {
                        m: {
                            "none": v if subject != "S2" else v + (sass_none - 0.5),
                            "sasg_gmss": v + 0.03,
                            "sasg_sass": v + 0.04,
                        }
                        for m, v in none.items()
                    },
                    code="bbb",
                )
            )
    _write(tmp_path / "a.jsonl", first, ["none", "repeat", "classic", "smote"], network_params)
    _write(tmp_path / "b.jsonl", second, ["none", "sasg_gmss", "sasg_sass"], network_params)
    return tmp_path / "a.jsonl", tmp_path / "b.jsonl"


def test_parts_join_into_one_report_with_the_sass_sections(bench, tmp_path):
    a, b = _parts(tmp_path, network_params={"stc": {"min_steps": 4000}})
    assert bench.main([str(a), str(b), "--dataset", "sim", "--out", str(tmp_path / "j")]) == 0
    md = (tmp_path / "j" / "augmentation_sim.md").read_text()
    assert "## SASS against the alternatives" in md and "SASS − repeat" in md
    # SASS +4, classic +2 (the better of classic/SMOTE), repeat +0, on every unit
    assert "| lda | +4.0 ± 0.0 | +2.0 ± 0.0 (classic) | +1.0 ± 0.0 |" in md
    assert "left out (not in every part): [('S3', 1)]" in md
    assert "agree within 0" in md and "aaa+bbb (5)" in md
    units = [json.loads(line) for line in open(tmp_path / "j" / "augmentation_sim.units.jsonl")]
    assert len(units) == 5 and units[0]["networks"]["stc"] == {"min_steps": 4000}
    assert units[0]["methods"] == ["none", "repeat", "classic", "smote", "sasg_gmss", "sasg_sass"]
    saved = json.loads((tmp_path / "j" / "augmentation_sim.json").read_text())
    assert saved["settings"]["stc"]["min_steps"] == 4000


def test_parts_whose_reference_differs_are_refused(bench, tmp_path):
    a, b = _parts(tmp_path, sass_none=0.52)
    out = str(tmp_path / "j")
    with pytest.raises(ValueError, match=r"S2.*none.*do not share their reference"):
        bench.main([str(a), str(b), "--dataset", "sim", "--out", out])
    assert (
        bench.main([str(a), str(b), "--dataset", "sim", "--out", out, "--tolerance", "0.03"]) == 0
    )
    assert "agree within 0.02" in (tmp_path / "j" / "augmentation_sim.md").read_text()


def test_parts_of_other_settings_or_splits_are_refused(bench, tmp_path):
    a, b = _parts(tmp_path)
    (tmp_path / "x").mkdir()
    _, other = _parts(tmp_path / "x", network_params={"stc": {"min_steps": 4000}})
    with pytest.raises(SystemExit, match="same network settings"):
        bench.main([str(a), str(other), "--dataset", "sim", "--out", str(tmp_path / "j")])
    parts = [bench._part(a)[1], bench._part(b)[1]]
    parts[1][("S1", 0)]["n_train"] = 11
    with pytest.raises(ValueError, match="n_train is 10 in one part and 11"):
        bench.join_records(parts)
    with pytest.raises(FileNotFoundError, match="no units"):
        bench._part(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="share no"):
        bench.join_records([{("S1", 0): {}}, {("S2", 0): {}}])


def test_the_sass_filter_report_the_timing_and_the_provenance_survive(
    bench, tmp_path, load_benchmark
):
    parts = []
    for name, methods in (("first", ["none", "classic"]), ("second", ["none", "sasg_sass"])):
        folder = tmp_path / name
        folder.mkdir()
        records = [
            dict(
                _record("S1", seed, {m: {k: 0.5 for k in methods} for m in ("lda", "stc")}),
                sass_filter={"n_synthetic": 7} if name == "second" else {},
            )
            for seed in (0, 1)
        ]
        log = folder / "augmentation_sim.units.jsonl"
        _write(log, records, methods)
        runs = [{"wall_seconds": 60.0, "run_datasets": ["sim"], "units": [["S1", 0], ["S1", 1]]}]
        (folder / "augmentation_sim.json").write_text(json.dumps({"runs": runs, "records": []}))
        parts.append(str(log))
    with pytest.raises(SystemExit, match="would overwrite it"):
        bench.main([*parts, "--dataset", "sim", "--out", str(tmp_path / "first")])
    out = tmp_path / "joined"
    bench.main([*parts, "--dataset", "sim", "--out", str(out)])
    units = [json.loads(line) for line in open(out / "augmentation_sim.units.jsonl")]
    assert all(u["record"]["sass_filter"] == {"n_synthetic": 7} for u in units)
    md = (out / "augmentation_sim.md").read_text()
    assert "2.0 min" in md and "unfinished" not in md and "Joined by" in md
    # rendered again from its JSON, the report keeps where it came from
    augmentation = load_benchmark("augmentation")
    again = augmentation.rerender(["sim"], out)["sim"]
    assert "Joined by" in again and "2.0 min" in again
