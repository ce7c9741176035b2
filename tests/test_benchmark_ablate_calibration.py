"""The calibration ablation: one unit end to end on the simulator, and its rule."""

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_calibration")


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, tiny_sampler_unit, report_of_two_seeds):
    # the filter off: a 2-epoch guide would reject every window of a 3-step generator
    unit = tiny_sampler_unit(bench, confidence_threshold=0.0)
    # a 3-step generator is far too smooth; the calibration brings the std ratio to ~1
    std = unit["std_ratio"]
    assert abs(std["std"] - 1) < abs(std["off"] - 1)
    assert abs(std["spectrum"] - 1) < abs(std["off"] - 1)
    assert 0 <= unit["classes_within_10pct"]["std"] <= 1
    report = report_of_two_seeds(bench, unit)
    assert "## Fidelity of the synthetic windows" in report and "Choice: **" in report


def test_rule_needs_a_gain_beyond_the_seed_sd(bench, rule_units):
    clear, noisy = rule_units(
        lambda gain: {"none": 0.5, "off": 0.5, "std": 0.5 + gain / 100, "spectrum": 0.49}
    )
    assert bench.choose_calibration(clear)[0] == "std"
    assert bench.choose_calibration(noisy)[0] == "off"


def test_the_inner_split_option_reaches_every_unit(bench, load_benchmark, monkeypatch, tmp_path):
    selection = load_benchmark("ablate_sass_selection")
    seen = []

    def fake_unit(dataset, subject, seed, variants=None, ratio=0.5, cut="auto"):
        seen.append(cut)
        return {"dataset": dataset, "subject": subject, "seed": seed, "inner_split": cut}

    monkeypatch.setattr(selection, "run_unit", fake_unit)
    monkeypatch.setattr(selection, "subject_names", lambda dataset: ["S1"])
    argv = ["--datasets", "db1", "--subjects", "1", "--seeds", "0", "--out", str(tmp_path)]
    selection.sampler_ablation_main(
        [*argv, "--inner-split", "time"],
        name="x",
        description="x",
        variants={},
        ratio=2.0,
        write=lambda units, path: None,
    )
    assert seen == ["time"]


def test_one_folder_holds_one_inner_split_and_the_report_names_it(
    bench, load_benchmark, monkeypatch, tmp_path
):
    import json

    selection = load_benchmark("ablate_sass_selection")
    (tmp_path / "x.jsonl").write_text(
        json.dumps({"dataset": "db1", "subject": "S1", "seed": 0, "inner_split": "time"}) + "\n"
    )
    argv = ["--datasets", "db1", "--subjects", "1", "--seeds", "0", "--out", str(tmp_path)]
    kwargs = dict(name="x", description="x", variants={}, ratio=2.0, write=lambda u, p: None)
    with pytest.raises(SystemExit, match="holds units of --inner-split time"):
        selection.sampler_ablation_main(argv, **kwargs)  # auto into a folder of time units
    selection.sampler_ablation_main([*argv, "--rerender"], **kwargs)  # a rerender is fine
    _, write, _ = selection.one_change_ablation(
        name="x",
        description="x",
        variants=bench.VARIANTS,
        reference=bench.REFERENCE,
        title="# t",
        intro="Intro.",
        candidate="c",
    )
    names = ["none", *bench.VARIANTS]
    unit = {
        "dataset": "db1",
        "subject": "S1",
        "seed": 0,
        "accuracy": {m: dict.fromkeys(names, 0.5) for m in ("lda", "stc")},
        "rms_ratio": dict.fromkeys(names, 1.0),
        "feature_shift": {v: {} for v in names},
    }
    for split, expected in (("time", True), ("auto", False)):
        write(
            [{**unit, "inner_split": split}, {**unit, "seed": 1, "inner_split": split}],
            tmp_path / "r.md",
        )
        text = (tmp_path / "r.md").read_text()
        assert (
            "Intro. Inner split: time (see `--inner-split`). The first half" in text
        ) == expected
