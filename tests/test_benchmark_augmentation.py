"""The augmentation benchmark's smallest preset runs end to end on the simulator."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("augmentation")


@pytest.mark.slow
def test_smoke_preset_fills_every_method_model_cell(bench, tmp_path):
    reports = bench.run("smoke", n_subjects=1, seeds=(0,), out_dir=tmp_path, n_jobs=1)
    md = reports["sim"]
    models = bench.PRESETS["smoke"]["models"]
    assert "stc" in models  # a downstream network distinct from the guide
    lines = md.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| method | LDA acc"))
    accuracy_table = lines[header + 2 : header + 2 + len(bench.METHODS)]
    rows = {line.split("|")[1].strip(): line for line in accuracy_table}
    for method in bench.METHODS:
        assert method in rows, f"no row for {method}"
        cells = [c.strip() for c in rows[method].split("|")[2:-1]]
        assert len(cells) == 2 * len(models)
        assert all(c for c in cells) and "nan" not in rows[method]

    result = json.loads((tmp_path / "augmentation_sim.json").read_text())
    (record,) = result["records"]
    assert set(record["accuracy"]) == set(models)
    for model in models:
        for method in bench.METHODS:
            acc = record["accuracy"][model][method]
            assert 0.0 <= acc <= 1.0
    assert set(record["quality"]) == set(bench.METHODS) - {"none", "repeat"}
    assert "SASS − repeat" in md  # the training-length control beside SASS
    assert set(record["time"]) == set(bench.METHODS) - {"none"}
    for name in ("augmentation_gain_sim.png", "real_vs_synthetic_sim.png", "embedding_map_sim.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 1000

    # the saved records alone re-create the same report, settings included
    assert result["settings"]["sasg"]["n_steps"] == bench.PRESETS["smoke"]["sasg"]["n_steps"]
    assert bench.rerender(["sim"], tmp_path)["sim"] == md
    with pytest.raises(FileNotFoundError, match="run the benchmark first"):
        bench.rerender(["db1"], tmp_path)

    # a second part merges with the first: one report over both
    both = bench.run("smoke", n_subjects=1, seeds=(1,), out_dir=tmp_path, n_jobs=1, merge=True)
    merged = json.loads((tmp_path / "augmentation_sim.json").read_text())
    assert sorted(r["seed"] for r in merged["records"]) == [0, 1]
    # its wall time is the sum of both parts', each listed
    parts = [run["wall_seconds"] for run in merged["runs"]]
    assert len(parts) == 2 and parts[0] == result["wall_seconds"]
    assert merged["wall_seconds"] == pytest.approx(sum(parts))
    assert "Total wall time of the 2 runs merged here" in both["sim"]
    assert bench.rerender(["sim"], tmp_path)["sim"] == both["sim"]
    assert [run["units"] for run in merged["runs"]] == [[["sim1", 0]], [["sim1", 1]]]
    with pytest.raises(ValueError, match="merge only parts of the same preset"):
        bench._merged(tmp_path / "augmentation_sim.json", "quick", [], {})

    # every unit was logged as it finished, with its preset, models and commit
    log = tmp_path / "augmentation_sim.units.jsonl"
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    logged_lines = log.read_text().splitlines()[1:]
    assert sorted(u["record"]["seed"] for u in logged) == [0, 1]
    assert {u["preset"] for u in logged} == {"smoke"}
    assert all(u["models"] == list(models) and "code" in u["record"] for u in logged)
    assert "Units by commit: " in (tmp_path / "augmentation_sim.md").read_text()

    # --resume runs no logged unit again and reads them back
    again = bench.run("smoke", n_subjects=1, seeds=(0, 1), out_dir=tmp_path, n_jobs=1, resume=True)
    assert len(log.read_text().splitlines()) == 2
    resumed = json.loads((tmp_path / "augmentation_sim.json").read_text())["records"]
    assert [r["accuracy"] for r in resumed] == [r["accuracy"] for r in merged["records"]]
    assert again["sim"].split("Total wall time")[0] == both["sim"].split("Total wall time")[0]
    # units of another preset or model set are not reused
    assert bench._resumed(log, dict(preset="quick", models=list(models))) == {}
    assert bench._resumed(log, dict(preset="smoke", models=["lda"])) == {}

    # an unfinished run (no JSON yet) renders from its units log, marked as such
    (tmp_path / "augmentation_sim.json").unlink()
    from_log = bench.rerender(["sim"], tmp_path)["sim"]
    assert "Rendered from the units log of an unfinished run" in from_log
    assert from_log.split("Rendered from")[0] == again["sim"].split("Total wall time")[0]
    # and the JSON it wrote does not hide units logged later
    first_only = [log.read_text().splitlines()[0]]
    log.write_text("\n".join(first_only) + "\n")
    (tmp_path / "augmentation_sim.json").unlink()
    bench.rerender(["sim"], tmp_path)
    log.write_text("\n".join(line for line in [*first_only, *logged_lines]) + "\n")
    assert "2 units took" in bench.rerender(["sim"], tmp_path)["sim"]


def _saved_report(path, records, wall, **extra):
    path.write_text(
        json.dumps({"preset": "standard", "records": records, "wall_seconds": wall, **extra})
    )


def test_merged_wall_times_count_every_part_once(bench, tmp_path):
    path = tmp_path / "augmentation_db1.json"
    old = [{"subject": s, "seed": 0} for s in ("S1", "S2")]
    new = {"wall_seconds": 60.0, "run_datasets": ["db1"], "units": [["S3", 0]]}
    # a report from before parts were recorded keeps counting while one of its units is left
    _saved_report(path, old, 600.0, run_datasets=["db1"])
    records, runs = bench._merged(path, "standard", [{"subject": "S3", "seed": 0}], new)
    assert len(records) == 3 and bench._total_wall(runs) == 660.0
    _, runs = bench._merged(path, "standard", old, dict(new, units=[["S1", 0], ["S2", 0]]))
    assert bench._total_wall(runs) == 60.0  # every earlier unit replaced: its time is gone
    # a listed part loses the units replaced since, and goes when none is left
    parts = [dict(new, units=[["S1", 0]]), dict(new, wall_seconds=30.0, units=[["S2", 0]])]
    _saved_report(path, old, 90.0, runs=parts)
    redo = dict(new, units=[["S1", 0]])
    _, runs = bench._merged(path, "standard", [{"subject": "S1", "seed": 0}], redo)
    assert [r["wall_seconds"] for r in runs] == [30.0, 60.0]
    # a part rendered from a units log has no wall time: the rest still counts, and says so
    log_part = {"wall_seconds": None, "run_datasets": ["db1"], "units": [["S1", 0], ["S2", 0]]}
    _saved_report(path, old, None, runs=[log_part], from_units_log=True)
    records, runs = bench._merged(path, "standard", [{"subject": "S3", "seed": 0}], new)
    assert bench._total_wall(runs) == 60.0
    text = bench._wall_text(60.0, runs, records, unit_minutes=3.0)
    assert "2 runs merged here" in text and "no wall time" in text
    assert "a lower bound (1 part(s) rendered from a units log" in text


def test_a_resumed_merge_keeps_the_parts_whose_units_it_only_read_back(bench, tmp_path):
    path = tmp_path / "augmentation_db1.json"
    first = {"wall_seconds": 1000.0, "run_datasets": ["db1"], "units": [["S1", 0], ["S2", 0]]}
    old = [{"subject": s, "seed": 0} for s in ("S1", "S2")]
    _saved_report(path, old, 1000.0, runs=[first])
    # --merge --resume: the units log hands back S1 and S2, this run computes S3 and S4
    now = {"wall_seconds": 900.0, "run_datasets": ["db1"], "units": [["S3", 0], ["S4", 0]]}
    records = [*old, *({"subject": s, "seed": 0} for s in ("S3", "S4"))]
    merged, runs = bench._merged(path, "standard", records, now)
    assert len(merged) == 4 and runs == [first, now] and bench._total_wall(runs) == 1900.0
    assert "lower bound" not in bench._wall_text(1900.0, runs, merged, unit_minutes=10.0)


def test_wall_text_names_units_read_back_by_resume(bench):
    records = [{"subject": "S1", "seed": 0}, {"subject": "S2", "seed": 0}]
    run = {"wall_seconds": 120.0, "run_datasets": ["db1"], "units": [["S2", 0]]}
    text = bench._wall_text(120.0, [run], records, unit_minutes=2.0)
    assert "2.0 min" in text and "1 unit(s) read back by --resume" in text
    assert "lower bound" not in bench._wall_text(120.0, [run], records[1:], unit_minutes=2.0)
    # a report from before units were listed: judged by what the cores could have done
    legacy = {"wall_seconds": 60.0, "run_datasets": ["db1"]}
    assert "more worker-minutes than" in bench._wall_text(60.0, [legacy], records, 1e6)
    assert "lower bound" not in bench._wall_text(60.0, [legacy], records, unit_minutes=1.0)


def test_only_a_json_rendered_from_a_log_is_rendered_from_the_log_again(bench):
    # a merge onto a log-rendered part has a total of the timed parts and is not from a log
    assert not bench._rendered_from_log({"wall_seconds": 60.0, "from_units_log": False})
    assert not bench._rendered_from_log({"wall_seconds": None, "from_units_log": False})
    assert bench._rendered_from_log({"wall_seconds": None, "from_units_log": True})
    assert bench._rendered_from_log({"wall_seconds": None})  # from before the mark
    assert not bench._rendered_from_log({"wall_seconds": 60.0})


def _records(bench, accuracies):
    """Records of ``{(subject, seed): {method: accuracy}}`` for the lda model."""
    return [
        {
            "subject": subject,
            "seed": seed,
            "accuracy": {"lda": {m: acc.get(m, 0.5) for m in bench.METHODS}},
        }
        for (subject, seed), acc in accuracies.items()
    ]


def test_seed_sd_leaves_out_subjects_run_with_one_seed(bench):
    records = _records(
        bench,
        {
            ("S1", 0): {"sasg_sass": 0.50},
            ("S1", 1): {"sasg_sass": 0.54},
            ("S2", 0): {"sasg_sass": 0.70},  # one seed: says nothing about seeds
        },
    )
    mean, sd, seed_sd, per_subject = bench.summarise(records)[("sasg_sass", "lda")]
    assert per_subject == pytest.approx([52.0, 70.0])
    assert seed_sd == pytest.approx(100 * np.std([0.50, 0.54], ddof=1))  # not halved by S2's 0
    single = _records(bench, {("S1", 0): {}, ("S2", 0): {}})
    assert np.isnan(bench.summarise(single)[("none", "lda")][2])
    assert bench._seed_sd_text(float("nan")) == "—"


def test_the_bar_for_a_gain_is_the_seed_sd_of_the_same_seed_difference(bench):
    # SASS moves with none from seed to seed: its accuracy spreads, its gain does not
    records = _records(
        bench,
        {
            ("S1", 0): {"none": 0.50, "sasg_sass": 0.52},
            ("S1", 1): {"none": 0.60, "sasg_sass": 0.62},
            ("S2", 0): {"none": 0.70, "sasg_sass": 0.71},
            ("S2", 1): {"none": 0.70, "sasg_sass": 0.73},
        },
    )
    assert bench.summarise(records)[("sasg_sass", "lda")][2] == pytest.approx(
        100 * np.mean([np.std([0.52, 0.62], ddof=1), np.std([0.71, 0.73], ddof=1)])
    )
    assert bench.paired_seed_sd(records, "lda", "sasg_sass", "none") == pytest.approx(
        100 * np.mean([0.0, np.std([0.01, 0.03], ddof=1)])
    )


def test_a_report_of_units_from_several_code_versions_says_so(bench):
    augmentation = bench
    records = [
        {"subject": "S1", "seed": 0, "code": "abc1234"},
        {"subject": "S1", "seed": 1, "code": "def5678"},
        {"subject": "S2", "seed": 0},
    ]
    note = augmentation._code_versions_note(records)
    assert "3 versions of the code" in note[0]
    assert "`abc1234`: S1/0" in note[0] and "`unrecorded`: S2/0" in note[0]
    assert augmentation._code_versions_note(records[:1]) == []


def test_smote_rows_are_traced_to_the_two_windows_they_interpolate(bench):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2, 8)).astype(np.float32)
    y = np.repeat([0, 1, 2], 10)
    X_res, y_res, parents = bench.smote_windows(X, y, 0)
    n = len(X)
    assert parents.shape == (len(X_res) - n, 2) and (parents >= 0).all()
    for row, (i, j) in zip(X_res[n:], parents, strict=True):
        assert y[i] == y[j]
        d = (X[j] - X[i]).ravel()
        lam = np.clip(np.dot((row - X[i]).ravel(), d) / np.dot(d, d), 0, 1)
        np.testing.assert_allclose(row, X[i] + lam * (X[j] - X[i]), atol=1e-5)


def test_merge_refuses_parts_run_with_other_models_or_settings(bench, tmp_path):
    path = tmp_path / "augmentation_db1.json"
    run = {"wall_seconds": 60.0, "run_datasets": ["db1"], "units": [["S2", 0]]}
    both = {"lda": {"none": 0.5}, "stc": {"none": 0.6}}  # model -> method -> accuracy
    settings = {"sasg": {"n_steps": 300}, "models": ["lda", "stc"]}
    _saved_report(path, [{"subject": "S1", "seed": 0, "accuracy": both}], 60.0, settings=settings)
    lda_only = [{"subject": "S2", "seed": 0, "accuracy": {"lda": {"none": 0.5}}}]
    # stc of S1 used to vanish from the merged tables (or the render crashed on it)
    with pytest.raises(ValueError, match=r"models \['lda', 'stc'\] and this run \['lda'\]"):
        bench._merged(path, "standard", lda_only, run)
    other = {"sasg": {"n_steps": 3000}, "models": ("lda", "stc")}
    with pytest.raises(ValueError, match=r"other settings \(sasg differ"):
        bench._merged(
            path, "standard", [{"subject": "S2", "seed": 0, "accuracy": both}], run, other
        )
    same = {"sasg": {"n_steps": 300}, "models": ("lda", "stc")}  # a tuple is saved as a list
    records, _ = bench._merged(
        path, "standard", [{"subject": "S2", "seed": 0, "accuracy": both}], run, same
    )
    assert len(records) == 2
    # the report's models are those every record holds
    assert bench._record_models([*records, *lda_only]) == ["lda"]


def test_repeat_is_the_real_windows_three_times_with_copies_traced_to_them(bench):
    from semgaug_sk.utils.provenance import provenance_of

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 2, 8)), np.array([0, 1, 2, 0, 1])
    X_rep, y_rep = bench.repeated_windows(X, y)
    np.testing.assert_array_equal(X_rep, np.concatenate([X, X, X]))
    np.testing.assert_array_equal(y_rep, np.tile(y, 3))
    record = provenance_of(X_rep)
    assert record.n_real == 5
    assert record.sources.tolist() == [0, 1, 2, 3, 4] * 2


def test_records_from_before_repeat_render_without_it(bench, tmp_path):
    # old runs lack the control: their tables keep their columns, nothing is invented
    record = {
        "subject": "S1",
        "seed": 0,
        "n_train": 10,
        "n_test": 10,
        "accuracy": {"lda": {m: 0.5 for m in bench.METHODS if m != "repeat"}},
        "quality": {},
        "time": {m: 1.0 for m in bench.METHODS if m != "repeat"},
        "unit_seconds": 1.0,
    }
    assert "repeat" not in bench._record_methods([record])
    with_repeat = json.loads(json.dumps(record))
    with_repeat["accuracy"]["lda"]["repeat"] = 0.5
    assert "repeat" not in bench._record_methods([record, with_repeat])
    assert "repeat" in bench._record_methods([with_repeat])


def test_resume_runs_again_the_units_logged_before_a_method_existed(bench, tmp_path):
    # a full run resumed over units from before `repeat` would drop repeat from the report
    old = {"subject": "S1", "seed": 0, "accuracy": {"lda": {m: 0.5 for m in ("none", "classic")}}}
    new = {"subject": "S2", "seed": 0, "accuracy": {"lda": {m: 0.5 for m in bench.METHODS}}}
    stamp = {"preset": "smoke", "models": ["lda"]}
    log = tmp_path / "augmentation_sim.units.jsonl"
    log.write_text("".join(json.dumps(dict(stamp, record=r)) + "\n" for r in (old, new)))
    assert set(bench._resumed(log, stamp)) == {("S1", 0), ("S2", 0)}  # rerender reads all
    assert set(bench._resumed(log, stamp, bench.METHODS)) == {("S2", 0)}
    assert set(bench._resumed(log, stamp, ("none", "classic"))) == {("S1", 0), ("S2", 0)}


@pytest.mark.slow
def test_a_run_restricted_to_some_methods_fits_no_sampler_and_reports_the_control(
    bench, tmp_path, monkeypatch
):
    def no_sampler(*args, **kwargs):
        raise AssertionError("no SASG method was asked for")

    monkeypatch.setattr(bench, "SASGAugmenter", no_sampler)
    methods = ["none", "repeat", "classic", "smote"]
    reports = bench.run(
        "smoke",
        n_subjects=1,
        seeds=(0, 1),
        out_dir=tmp_path,
        n_jobs=1,
        models=["lda", "stc"],
        methods=methods,
    )
    md = reports["sim"]
    assert "## SASS against the alternatives" not in md
    assert "## Against the training-length control" in md
    table = md.split("## Against the training-length control")[1].split("\n## ")[0]
    assert "| classic | " in table and "| smote | " in table and "| repeat | " not in table
    result = json.loads((tmp_path / "augmentation_sim.json").read_text())
    assert result["settings"]["methods"] == methods
    for record in result["records"]:
        assert set(record["accuracy"]["stc"]) == set(methods)
    # the units log keeps them apart from full runs, and renders them alone
    logged = [json.loads(line) for line in (tmp_path / "augmentation_sim.units.jsonl").open()]
    assert all(u["methods"] == methods for u in logged)
    assert (
        bench._resumed(
            tmp_path / "augmentation_sim.units.jsonl", {"preset": "smoke", "models": ["lda", "stc"]}
        )
        == {}
    )
    (tmp_path / "augmentation_sim.json").unlink()
    assert "## Against the training-length control" in bench.rerender(["sim"], tmp_path)["sim"]
    # no method makes synthetic windows but classic/smote: their quality is reported
    quality = md.split("## Synthetic-data quality")[1].split("\n## ")[0]
    assert "| method | fid |" in quality and "| smote | " in quality and "repeat" not in quality
    for methods in (["classic"], ["none"]):
        with pytest.raises(ValueError, match="none among them.*at least one other"):
            bench.run("smoke", out_dir=tmp_path, methods=methods)
    # none and repeat alone: no evaluation encoder, no quality section, a gain figure
    control = bench.run(
        "smoke",
        n_subjects=1,
        seeds=(0,),
        out_dir=tmp_path / "r",
        n_jobs=1,
        models=["lda"],
        methods=["none", "repeat"],
    )["sim"]
    assert "## Synthetic-data quality" not in control and "| repeat | " in control
    assert (tmp_path / "r" / "figures" / "augmentation_gain_sim.png").stat().st_size > 1000


def test_network_params_are_parsed_checked_and_keep_their_units_apart(bench, tmp_path):
    parsed = bench.parse_network_params(["stc:min_steps=2000", "tdct:max_epochs=90"])
    assert parsed == {"stc": {"min_steps": 2000}, "tdct": {"max_epochs": 90}}
    assert bench.parse_network_params(None) is None
    for bad, message in (
        (["lda:x=1"], "MODEL:KEY=VALUE"),
        (["stc:min_steps"], "MODEL:KEY=VALUE"),
        (["stc:min_step=2"], "has no parameter 'min_step'"),
    ):
        with pytest.raises(SystemExit, match=message):
            bench.parse_network_params(bad)
    record = {
        "subject": "S1",
        "seed": 0,
        "n_train": 10,
        "n_test": 10,
        "accuracy": {"stc": {m: 0.5 for m in bench.METHODS}},
        "quality": {},
        "time": {m: 1.0 for m in bench.METHODS},
        "unit_seconds": 1.0,
    }
    stamp = {"preset": "smoke", "models": ["stc"]}
    floor = dict(stamp, network_params={"stc": {"min_steps": 2000}})
    log = tmp_path / "augmentation_sim.units.jsonl"
    log.write_text(json.dumps(dict(floor, record=record)) + "\n")
    assert bench._resumed(log, stamp) == {}  # a default run does not read them back
    assert set(bench._resumed(log, floor)) == {("S1", 0)}
    md = bench._render_units_log("sim", tmp_path, tmp_path / "augmentation_sim.json")
    assert '"stc": {"max_epochs": 3, "n_temporal": 4, "min_steps": 2000}' in md


def test_units_logged_at_an_old_network_default_are_not_resumed_at_the_new_one(
    bench, tmp_path, monkeypatch
):
    # as if STC's min_steps had been 123 before the library's current default
    monkeypatch.setattr(bench, "LEGACY_NETWORK_DEFAULTS", {"stc": {"min_steps": 123}})
    current = bench.SpatioTemporalClassifier().min_steps
    assert bench.network_settings() == {"stc": {"min_steps": current}}
    assert bench.network_settings({"stc": {"min_steps": 7}, "tdct": {"max_epochs": 9}}) == {
        "stc": {"min_steps": 7},
        "tdct": {"max_epochs": 9},
    }
    # a preset's own value (the smoke preset's quick STC) counts before the library's
    assert bench.network_settings(None, bench.PRESETS["smoke"]) == {"stc": {"min_steps": None}}
    record = {"subject": "S1", "seed": 0, "accuracy": {"stc": {"none": 0.5}}}
    stamp = {"preset": "smoke", "models": ["stc"]}
    log = tmp_path / "augmentation_sim.units.jsonl"
    lines = [
        dict(stamp, record=record),  # logged before units recorded their networks: 123
        dict(stamp, network_params={"stc": {"min_steps": current}}, record=dict(record, seed=1)),
        dict(stamp, networks={"stc": {"min_steps": current}}, record=dict(record, seed=2)),
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    today = dict(stamp, networks=bench.network_settings())
    assert set(bench._resumed(log, today)) == {("S1", 1), ("S1", 2)}
    assert set(bench._resumed(log, dict(stamp, networks={"stc": {"min_steps": 123}}))) == {
        ("S1", 0)
    }
    # a run without STC tracks nothing: its old units still resume, its reports stay as they were
    assert bench.network_settings(None, None, ("lda", "cnn", "fin")) == {}
    quick = {"preset": "quick", "models": ["lda", "cnn", "fin"]}
    log.write_text(json.dumps(dict(quick, record=record)) + "\n")
    assert set(bench._resumed(log, dict(quick, networks={}))) == {("S1", 0)}
    # a report names the values off the old default, given or not
    assert bench._off_legacy({"stc": {"min_steps": 123}}) == {}
    assert bench._off_legacy({"stc": {"min_steps": 4000}}) == {"stc": {"min_steps": 4000}}
