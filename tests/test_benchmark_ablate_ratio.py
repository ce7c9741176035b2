"""The ratio ablation: stratified subsets of one pool, paired gains, one unit end to end."""

import json
import sys

import numpy as np
import pytest

from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import select_windows
from semgaug_sk.windows import sliding_windows


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_ratio")


def test_subset_takes_ratio_times_each_class_or_all_there_are(bench):
    y_real = np.array([0] * 10 + [1] * 4)
    y_pool = np.array([0] * 20 + [1] * 3)  # class 1 fell short of 2 x 4
    rows = bench._subset(y_real, y_pool, 0.5, seed=0)
    assert np.bincount(y_pool[rows]).tolist() == [5, 2]
    rows = bench._subset(y_real, y_pool, 2.0, seed=0)
    assert np.bincount(y_pool[rows]).tolist() == [20, 3]
    np.testing.assert_array_equal(rows, bench._subset(y_real, y_pool, 2.0, seed=0))
    assert len(np.unique(bench._subset(y_real, y_pool, 1.0, seed=1))) == 10 + 3


def test_smote_pool_returns_the_new_rows_only(bench):
    rng = np.random.default_rng(0)
    F, y = rng.normal(size=(30, 4)), np.repeat([0, 1, 2], 10)
    F_new, y_new = bench._smote_pool(F, y, 2.0, seed=0)
    assert np.bincount(y_new).tolist() == [20, 20, 20]
    assert not (F_new[:, None, :] == F[None]).all(-1).any()  # no real row among them


def test_gains_are_paired_per_subject_then_averaged_over_seeds(bench):
    def unit(subject, seed, none, aug):
        return {
            "dataset": "d",
            "subject": subject,
            "seed": seed,
            "accuracy": {"lda": {"none": none, "x": aug}},
        }

    units = [unit("a", 0, 0.5, 0.6), unit("a", 1, 0.4, 0.6), unit("b", 0, 0.7, 0.6)]
    per_subject, seed_sd = bench.gains(units, "d", "lda", "x")
    np.testing.assert_allclose(per_subject, [15.0, -10.0])
    # subject b ran one seed: it has no seed sd, rather than one of 0
    assert seed_sd == pytest.approx(np.std([10, 20], ddof=1))
    assert np.isnan(bench.gains(units[2:], "d", "lda", "x")[1])


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, monkeypatch, tmp_path):
    windows = sliding_windows(
        make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=4, fs=500.0, random_state=0),
        window_ms=200,
        step_ms=100,
    )
    split = (
        select_windows(windows, windows.repetition == 1),
        select_windows(windows, windows.repetition == 2),
    )
    cuts = []
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": cuts.append(cut) or split
    )
    monkeypatch.setattr(
        bench,
        "SIZES",
        {
            "sasg": dict(
                n_steps=4,
                base_channels=8,
                channel_mults=(1,),
                n_sampling_steps=2,
                confidence_threshold=0.0,
            ),
            "encoder": dict(max_epochs=2, n_filters=8, n_blocks=1, embedding_dim=8),
            "stc": dict(max_epochs=2, n_temporal=4, min_steps=None),
        },
    )
    unit = bench.run_unit("sim", "S1", 0, {"prediction": "v"}, cut="time")
    assert unit["sasg_params"] == {"prediction": "v"}
    assert cuts == ["time"] and unit["inner_split"] == "time"
    assert set(unit["feature_shift"]) == set(bench.METHODS)
    assert set(unit["feature_shift"]["sass"]) == {"mav", "wl", "zc", "ssc"}
    keys = {"none"} | {f"{m}@{r:g}" for m in bench.METHODS for r in bench.RATIOS}
    for model in bench.MODELS:
        assert set(unit["accuracy"][model]) == keys
        assert all(0.0 <= a <= 1.0 for a in unit["accuracy"][model].values())
    assert unit["n_fit_windows"] == len(split[0].X)
    (tmp_path / bench.JSONL).write_text(json.dumps(unit) + "\n")
    bench.write_report(tmp_path)
    report = (tmp_path / "ablate_ratio.md").read_text()
    assert "## sim" in report and "### STC" in report and "nan" not in report
    assert "(n/a)" in report  # one seed: its seed sd is unknown, not 0
    assert 'overrides: {"prediction": "v"}' in report
    assert "feature shift" in report and "| sass |" in report
    assert "Inner split: time" in report


def test_sasg_overrides_are_parsed_as_literals_and_checked(bench):
    params = bench.parse_sasg_params(["prediction=v", "n_sampling_steps=10", "eta=0.5"])
    assert params == {"prediction": "v", "n_sampling_steps": 10, "eta": 0.5}
    assert bench.parse_sasg_params(None) == {}
    with pytest.raises(SystemExit, match="no parameter"):
        bench.parse_sasg_params(["predicton=v"])
    with pytest.raises(SystemExit, match="KEY=VALUE"):
        bench.parse_sasg_params(["prediction"])


def test_a_run_with_overrides_refuses_a_folder_of_default_units(bench, tmp_path):
    unit = {"dataset": "d", "subject": "a", "seed": 0, "sasg_params": {}}
    (tmp_path / bench.JSONL).write_text(json.dumps(unit) + "\n")
    with pytest.raises(SystemExit, match="own --out"):
        bench.main(["--datasets", "d", "--sasg", "prediction=v", "--out", str(tmp_path)])


def test_main_runs_the_missing_units_with_the_overrides_on_the_shared_driver(
    bench, tmp_path, monkeypatch
):
    calls = []

    def fake_unit(dataset, subject, seed, sasg_params=None, cut="auto"):
        calls.append((dataset, subject, seed, sasg_params, cut))
        return {"dataset": dataset, "subject": subject, "seed": seed, "sasg_params": sasg_params}

    monkeypatch.setattr(bench, "run_unit", fake_unit)
    monkeypatch.setattr(
        bench, "write_report", lambda out: (out / "ablate_ratio.md").write_text("r")
    )
    # the units' list, not the shared data (absent on some machines)
    monkeypatch.setattr(sys.modules["inner_units"], "subject_names", lambda dataset: ["S1", "S2"])
    argv = ["--datasets", "db1", "--subjects", "1", "--seeds", "0", "1", "--n-jobs", "1"]
    argv += ["--sasg", "eta=0.5", "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    assert calls == [("db1", "S1", 0, {"eta": 0.5}, "auto"), ("db1", "S1", 1, {"eta": 0.5}, "auto")]
    assert bench.main(argv) == 0 and len(calls) == 2  # logged units are not run again
    logged = [json.loads(line) for line in (tmp_path / bench.JSONL).read_text().splitlines()]
    assert [u["seed"] for u in logged] == [0, 1] and all("code" in u for u in logged)


def test_a_run_of_another_inner_split_refuses_the_folder(bench, tmp_path):
    unit = {"dataset": "d", "subject": "a", "seed": 0, "sasg_params": {}}  # from before: auto
    (tmp_path / bench.JSONL).write_text(json.dumps(unit) + "\n")
    with pytest.raises(SystemExit, match="holds units of --inner-split auto"):
        bench.main(["--datasets", "d", "--inner-split", "time", "--out", str(tmp_path)])


def _ratio_units(bench, lda, stc, datasets=("d1", "d2")):
    """Units whose SASS gains (points) at each ratio are ``lda[r]`` / ``stc[r]``, two seeds
    one point apart (seed sd 0.71)."""
    units = []
    for dataset in datasets:
        for seed, jitter in ((0, -0.5), (1, 0.5)):
            acc = {"lda": {"none": 0.5}, "stc": {"none": 0.5}}
            for r in bench.RATIOS:
                acc["lda"][f"sass@{r:g}"] = 0.5 + (lda[r] + jitter) / 100
                acc["stc"][f"sass@{r:g}"] = 0.5 + (stc[r] + jitter) / 100
            units.append({"dataset": dataset, "subject": "a", "seed": seed, "accuracy": acc})
    return units


def test_choose_ratio_follows_the_rule(bench):
    lda = {0.25: 1.0, 0.5: 0.5, 1.0: 0.0, 2.0: -1.0}
    stc = {0.25: 0.0, 0.5: 1.0, 1.0: 1.0, 2.0: 1.0}
    choice, rows = bench.choose_ratio(_ratio_units(bench, lda, stc))
    assert choice == 0.5  # 0.25 is best for LDA but costs STC more than the seed sd
    why = {row["ratio"]: row["why"] for row in rows}
    assert why[0.25] and "STC" in why[0.25][0] and not why[0.5]
    # a smaller ratio that costs LDA is never chosen: the default stays
    lda = {0.25: -2.0, 0.5: -2.0, 1.0: -2.0, 2.0: 0.0}
    stc = {0.25: 3.0, 0.5: 3.0, 1.0: 3.0, 2.0: 1.0}
    choice, rows = bench.choose_ratio(_ratio_units(bench, lda, stc))
    assert choice == 2.0 and not any(row["admissible"] for row in rows[:-1])
