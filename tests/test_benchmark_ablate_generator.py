"""The generator ablation: its baselines, and one unit end to end on simulator windows."""

import json

import numpy as np
import pytest

from semgaug_sk.augmentation import DiffusionGenerator
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import select_windows
from semgaug_sk.windows import sliding_windows


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_generator")


def test_baselines_pinned_and_library(bench):
    pinned = bench.baseline_params("pinned")
    assert pinned == bench.BASELINE
    assert bench.baseline_params("pinned", 7)["n_steps"] == 7
    # the library baseline overrides nothing, so a variant changes today's defaults
    assert bench.baseline_params("library") == {}
    assert bench.baseline_params("library", 7) == {"n_steps": 7}
    assert DiffusionGenerator(**bench.baseline_params("library")).get_params() == (
        DiffusionGenerator().get_params()
    )


def _split():
    windows = sliding_windows(
        make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0),
        window_ms=200,
        step_ms=100,
    )
    return (
        select_windows(windows, windows.repetition == 1),
        select_windows(windows, windows.repetition == 2),
    )


@pytest.mark.slow
def test_sampling_variants_reuse_the_baseline_generator(bench, monkeypatch, tmp_path):
    fit, held_out = _split()
    monkeypatch.setattr(bench, "inner_split", lambda dataset, subject, cut: (fit, held_out))
    monkeypatch.setattr(bench, "subject_names", lambda dataset: ["S1"])
    base = {"n_steps": 3, "base_channels": 8, "channel_mults": (1,)}
    monkeypatch.setattr(bench, "baseline_params", lambda baseline, n_steps=None: dict(base))
    fits = []
    original_fit = DiffusionGenerator.fit

    def counting_fit(self, X, conditions, **kwargs):
        fits.append(self.get_params()["n_sampling_steps"])
        return original_fit(self, X, conditions, **kwargs)

    monkeypatch.setattr(DiffusionGenerator, "fit", counting_fit)
    variants = ["default", "ddim_5", "ddim_10"]
    argv = ["--datasets", "sim", "--seeds", "0", "--variants", *variants]
    bench.main([*argv, "--baseline", "library", "--out", str(tmp_path)])
    # one generator trained for the seed; the sampling variants resample it
    assert len(fits) == 1
    units = bench.read_jsonl(tmp_path / "ablate_generator.jsonl")
    assert [u["variant"] for u in units] == variants
    assert {u["baseline"] for u in units} == {"library"}
    assert all(np.isfinite(u["worst_fid"]) and "code" in u for u in units)
    report = (tmp_path / "ablate_generator.md").read_text()
    assert "`--baseline library`" in report
    assert "| ddim_5 | 1 |" in report


def _unit(dataset, variant, seed, band=0.5, rms=0.95, std=0.95, fid=10.0):
    return {
        "dataset": dataset,
        "subject": "S1",
        "seed": seed,
        "variant": variant,
        "baseline": "library",
        "train_classes_within_10pct": band,
        "train_median_rms_ratio": rms,
        "train_median_std_ratio": std,
        "train_worst_fid": fid,
    }


def test_sampling_rule_takes_the_fewest_passes_that_lose_no_fidelity(bench):
    units = []
    for dataset in ("db1", "myo"):
        for seed in (0, 1):
            units.append(_unit(dataset, "default", seed))
            units.append(_unit(dataset, "ddim_10", seed, band=0.3, std=0.9))  # smoother
            units.append(_unit(dataset, "dpmpp_5", seed, fid=12.0))  # FID x1.2
            units.append(_unit(dataset, "dpmpp_10", seed, band=0.6))
            units.append(_unit(dataset, "dpmpp_25", seed, band=0.7))
    choice, rows = bench.choose_sampling(units)
    assert choice == "dpmpp_10"  # admissible, and fewer passes than dpmpp_25
    why = {row["variant"]: row["why"] for row in rows}
    assert any("classes in band" in w for w in why["ddim_10"])
    assert any("FID" in w for w in why["dpmpp_5"])
    assert any("not measured" in w for w in why["ddim_50"])
    # one data set losing fidelity makes a candidate inadmissible everywhere
    units = [u for u in units if not (u["dataset"] == "myo" and u["variant"] == "dpmpp_10")]
    units += [_unit("myo", "dpmpp_10", seed, rms=0.9) for seed in (0, 1)]
    assert bench.choose_sampling(units)[0] == "dpmpp_25"
    # nothing admissible: the default stays; pinned-baseline units are not read
    assert bench.choose_sampling([{**u, "baseline": "pinned"} for u in units])[0] == "default"


def test_width_rule_takes_the_narrowest_width_that_loses_no_fidelity(bench, tmp_path):
    units = []
    for dataset in ("db1", "myo"):
        for seed in (0, 1):
            units.append(_unit(dataset, "default", seed))
            units.append(_unit(dataset, "width_16", seed, std=0.93))  # smoother by 0.02
            units.append(_unit(dataset, "width_24", seed, band=0.55))
    choice, rows = bench.choose_width(units)
    assert choice == "width_24"
    costs = {row["variant"]: row["cost"] for row in rows}
    assert costs == {"width_16": 16, "width_24": 24}
    why = {row["variant"]: row["why"] for row in rows}
    assert any("std_ratio" in w for w in why["width_16"])
    # both admissible: the narrower wins
    units = [u for u in units if u["variant"] != "width_16"]
    units += [_unit(d, "width_16", s) for d in ("db1", "myo") for s in (0, 1)]
    assert bench.choose_width(units)[0] == "width_16"
    # the report shows the width choice, and no sampling section when none was measured
    for u in units:
        u.update(code="abc", n_steps=750)
    with (tmp_path / "ablate_generator.jsonl").open("w") as fh:
        fh.writelines(json.dumps(u) + "\n" for u in units)
    bench.main(["--rerender", "--out", str(tmp_path)])
    report = (tmp_path / "ablate_generator.md").read_text()
    assert "## Width: the pre-registered choice" in report
    assert "Choice: **width_16**." in report
    assert "## Sampling" not in report


@pytest.mark.realdata
def test_the_myo_inner_split_holds_out_no_window_sharing_samples_with_the_fit(bench, shared_data):
    shared_data("myo_armband_cote_allard")
    fit, held_out = bench.inner_split("myo", "Female0")
    assert set(held_out.y.tolist()) == set(fit.y.tolist())  # every gesture on both sides
    width = fit.window_samples
    for block in np.unique(held_out.block):
        fit_starts = fit.start[fit.block == block]
        for start in held_out.start[held_out.block == block]:
            assert np.all((fit_starts + width <= start) | (start + width <= fit_starts))
    train, _ = bench.subject_split("myo", "Female0", "low_data")
    assert len(fit.y) + len(held_out.y) < len(train.y)  # the overlapping windows were dropped


@pytest.mark.realdata
def test_the_time_cut_of_db1_stays_inside_its_first_repetition_and_is_purged(bench, shared_data):
    shared_data("ninapro_db1_e1")
    fit, held_out = bench.inner_split("db1", "S1", cut="time")
    # repetition 2 is a test repetition of the paper's regime: never read
    assert set(fit.repetition.tolist()) == set(held_out.repetition.tolist()) == {1}
    assert set(held_out.y.tolist()) == set(fit.y.tolist())
    width = fit.window_samples
    for c in np.unique(fit.y):  # each gesture: the held-out part comes after the fit, no overlap
        assert fit.start[fit.y == c].max() + width <= held_out.start[held_out.y == c].min()
    auto_fit, auto_held_out = bench.inner_split("db1", "S1")
    assert set(auto_held_out.repetition.tolist()) == {2}  # the committed runs' split
    assert len(fit.y) + len(held_out.y) < len(auto_fit.y)
    with pytest.raises(ValueError, match="cut must be one of"):
        bench.inner_split("db1", "S1", cut="repetition")


def test_split_in_time_purges_windows_that_share_samples(bench):
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.windows import sliding_windows

    windows = sliding_windows(
        make_semg_gestures(n_classes=2, n_repetitions=1, n_channels=2, fs=200.0, random_state=0),
        window_ms=100,
        step_ms=25,
    )
    fit, held_out = bench.split_in_time(windows)
    for c in (1, 2):
        assert (
            fit.start[fit.y == c].max() + fit.window_samples
            <= held_out.start[held_out.y == c].min()
        )
        assert (fit.y == c).sum() == (windows.y == c).sum() // 2
    assert len(fit.y) + len(held_out.y) < len(windows.y)
    from semgaug_sk.model_selection import select_windows

    keep = (windows.y == 1) | (np.arange(len(windows.y)) == np.flatnonzero(windows.y == 2)[0])
    with pytest.warns(UserWarning, match=r"class\(es\) \[2\] have too few windows"):
        bench.split_in_time(select_windows(windows, keep))


def test_every_unit_records_the_commit_that_measured_it(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "code_version", lambda: "abc1234")
    units = bench.run_pending(
        tmp_path / "log.jsonl",
        [],
        [("db1", "S1", 0), ("db1", "S1", 1)],
        lambda dataset, subject, seed: {"dataset": dataset, "subject": subject, "seed": seed},
        lambda units: None,
    )
    assert [u["code"] for u in units] == ["abc1234", "abc1234"]
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert logged == units


def test_code_version_marks_a_working_tree_that_differs_from_the_commit(
    load_benchmark, monkeypatch
):
    import subprocess

    protocols = load_benchmark("protocols")
    calls = []

    def fake_git(args, **kwargs):
        calls.append(args)
        out = {"rev-parse": "abc1234\n", "status": status}[args[1]]
        return subprocess.CompletedProcess(args, 0, stdout=out, stderr="")

    monkeypatch.setattr(protocols.subprocess, "run", fake_git)
    status = ""
    assert protocols._read_code_version() == "abc1234"
    status = " M semgaug_sk/augmentation/sasg.py\n"
    assert protocols._read_code_version() == "abc1234+uncommitted"
    # a benchmark script not yet committed is uncommitted code too (a unit of
    # ablate_validation was stamped with the commit before its script existed)
    status = "?? benchmarks/new_ablation.py\n"
    assert protocols._read_code_version() == "abc1234+uncommitted"
    assert "--untracked-files=all" in calls[-1]
    # only the library and the benchmarks count: results written during a run do not
    assert calls[-1][-2:] == [":/semgaug_sk", ":/benchmarks"]
    # a run stamps the code it imported, not what was committed while it ran
    assert len(calls) == 6
    assert protocols.code_version() == protocols._CODE_AT_IMPORT
    assert len(calls) == 6


def test_the_inner_split_option_reaches_every_unit_and_one_folder_holds_one_split(
    bench, monkeypatch, tmp_path
):
    cuts = []

    def fake_split(dataset, subject, cut="auto"):
        cuts.append(cut)
        return "fit", "held_out"

    monkeypatch.setattr(bench, "inner_split", fake_split)
    monkeypatch.setattr(bench, "subject_names", lambda dataset: ["S1"])
    monkeypatch.setattr(bench, "run_unit", lambda *args: {"worst_fid": 1.0})
    monkeypatch.setattr(bench, "write_report", lambda out: None)
    monkeypatch.setattr(bench, "code_version", lambda: "abc1234")
    argv = ["--datasets", "db1", "--seeds", "0", "--variants", "default", "--out", str(tmp_path)]
    bench.main([*argv, "--inner-split", "time"])
    (unit,) = [json.loads(line) for line in (tmp_path / "ablate_generator.jsonl").open()]
    assert cuts == ["time"] and unit["inner_split"] == "time"
    with pytest.raises(SystemExit, match="holds units of --inner-split time"):
        bench.main(argv)  # the default split into a folder of time units
    assert "Inner split: time" in bench.inner_split_note([unit])
    assert bench.inner_split_note([{}]) == ""  # the committed reports stay as they were
    # --baseline and --n-steps too: a rerun with another value used to skip the units
    # (same dataset, subject, variant, seed) and pair variants with the other value's default
    time_split = [*argv, "--inner-split", "time"]
    with pytest.raises(SystemExit, match='holds units of --baseline "pinned".*"library"'):
        bench.main([*time_split, "--baseline", "library"])
    with pytest.raises(SystemExit, match="holds units of --n-steps 3000, .* asks for 20"):
        bench.main([*time_split, "--n-steps", "20"])
    bench.check_one_setting([{}], "n_steps", 20, "--n-steps", "x", "log")  # unrecorded: accepted


def test_ablation_main_offers_the_inner_split_and_keeps_one_per_folder(bench, tmp_path):
    seen = []

    def run(args, dataset, subject, seed):
        seen.append(args.inner_split)
        return {"dataset": dataset, "subject": subject, "seed": seed, "inner_split": "time"}

    kwargs = dict(
        description="x",
        name="x",
        run=lambda args, dataset, subject, seed: {
            k: v for k, v in run(args, dataset, subject, seed).items() if k != "inner_split"
        },
        write=lambda units, path: path.write_text("# Report\n\nIntro.\n"),
        subject_names=lambda dataset: ["S1"],
        datasets=("db1",),
        inner_splits=True,
    )
    argv = ["--seeds", "0", "--out", str(tmp_path)]
    bench.ablation_main([*argv, "--inner-split", "time"], **kwargs)
    assert seen == ["time"]
    # the unit records its split though run() did not, and a report that does not name
    # the split gets the note
    (unit,) = bench.read_jsonl(tmp_path / "x.jsonl")
    assert unit["inner_split"] == "time"
    assert (
        (tmp_path / "x.md")
        .read_text()
        .endswith(
            "Inner split: time (see `--inner-split`)."
            " The first half in time of each gesture of the first training repetition fits and the "
            "second half is held out (purged where windows overlap), whatever the text above says of "
            "repetitions.\n"
        )
    )
    with pytest.raises(SystemExit, match="holds units of --inner-split time"):
        bench.ablation_main(argv, **kwargs)
    bench.ablation_main([*argv, "--rerender"], **kwargs)  # a rerender is fine


#: Every script on ``ablation_main(inner_splits=True)``, and the module whose ``inner_split``
#: its units call (None: its own).
INNER_SPLIT_SCRIPTS = [
    *(
        (name, None)
        for name in (
            "ablate_adapt",
            "ablate_encoder",
            "ablate_guide",
            "ablate_input_scale",
            "ablate_lda",
            "ablate_quantize",
            "ablate_repetition_shift",
            "ablate_sass_selection",
            "ablate_time_warp",
            "ablate_transfer",
            "ablate_validation",
        )
    ),
    ("ablate_warp_knots", "ablate_time_warp"),
    *(
        (name, "ablate_sass_selection")
        for name in (
            "ablate_calibration",
            "ablate_calibration_level",
            "ablate_confidence",
            "ablate_sass_diversity",
            "ablate_sass_radius",
            "ablate_shrinkage",
        )
    ),
]


@pytest.mark.parametrize("name, owner", INNER_SPLIT_SCRIPTS)
def test_every_ablation_passes_its_inner_split_on(
    load_benchmark, monkeypatch, tmp_path, name, owner
):
    import sys

    script = load_benchmark(name)
    target = script if owner is None else sys.modules[owner]

    class Reached(Exception):
        pass

    seen = []

    def fake_split(dataset, subject, cut="auto"):
        seen.append(cut)
        raise Reached

    monkeypatch.setattr(target, "inner_split", fake_split)
    for module in {script, target}:
        monkeypatch.setattr(module, "subject_names", lambda dataset: ["S1"], raising=False)
    for split in ("time", "auto"):
        argv = ["--datasets", "db1", "--subjects", "1", "--seeds", "0", "--inner-split", split]
        with pytest.raises(Reached):
            script.main([*argv, "--out", str(tmp_path / split)])
    assert seen == ["time", "auto"]
