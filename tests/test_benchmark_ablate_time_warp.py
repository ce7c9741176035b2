"""The time-warp ablation: one unit end to end on the simulator, the report's paired table."""

import json

import numpy as np
import pytest

from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import select_windows
from semgaug_sk.windows import sliding_windows


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_time_warp")


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, monkeypatch, tmp_path):
    # a low rate next to the signal's band, as raw Myo windows at 200 Hz
    windows = sliding_windows(
        make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=4, fs=200.0, random_state=0),
        window_ms=260,
        step_ms=100,
    )
    split = (
        select_windows(windows, windows.repetition == 1),
        select_windows(windows, windows.repetition == 2),
    )
    monkeypatch.setattr(bench, "inner_split", lambda dataset, subject, cut="auto": split)
    monkeypatch.setattr(bench, "STC_PARAMS", dict(max_epochs=2, n_temporal=4, min_steps=None))
    unit = bench.run_unit("sim", "S1", 0)
    for model in ("lda", "stc"):
        assert set(unit["accuracy"][model]) == {"none", "linear", "lanczos"}
        assert all(0.0 <= a <= 1.0 for a in unit["accuracy"][model].values())
    assert set(unit["feature_shift"]["lanczos"]) == set(bench.SHIFT_FEATURES)
    # the linear read loses amplitude that the band-limited one keeps
    assert unit["rms_ratio"]["linear"] < unit["rms_ratio"]["lanczos"] <= 1.1
    assert unit["n_fit_windows"] == len(split[0].X)

    other = json.loads(json.dumps(unit))
    other["seed"] = 1
    other["accuracy"]["lda"]["lanczos"] = other["accuracy"]["lda"]["linear"] + 0.02
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "| sim | 1 × 2 | linear |" in report and "| sim | 1 × 2 | lanczos |" in report
    assert "Paired lanczos − linear" in report and "nan" not in report


def test_main_skips_done_units_and_rerenders(bench, monkeypatch, tmp_path):
    calls = []

    def fake_unit(dataset, subject, seed, cut="auto"):
        calls.append((dataset, subject, seed))
        acc = {"none": 0.5, "linear": 0.5, "lanczos": 0.6}
        return {
            "dataset": dataset,
            "subject": subject,
            "seed": seed,
            "accuracy": {"lda": dict(acc), "stc": dict(acc)},
            "rms_ratio": {"linear": 0.8, "lanczos": 0.97},
            "feature_shift": {
                k: dict.fromkeys(bench.SHIFT_FEATURES, 0.1) for k in ("linear", "lanczos")
            },
        }

    monkeypatch.setattr(bench, "run_unit", fake_unit)
    monkeypatch.setattr(bench, "subject_names", lambda dataset: ["a", "b"])
    argv = ["--datasets", "d", "--subjects", "2", "--seeds", "0", "1", "--out", str(tmp_path)]
    bench.main(argv)
    assert len(calls) == 4
    bench.main(argv)  # every unit is in the log: nothing reruns
    assert len(calls) == 4
    report = (tmp_path / "ablate_time_warp.md").read_text()
    assert "| d | 2 × 2 | lanczos | 0.970 |" in report
    assert "| d | +10.0 ± 0.0 (0.0) | +10.0 ± 0.0 (0.0) |" in report
    bench.main(["--rerender", "--out", str(tmp_path)])
    assert len(calls) == 4
    np.testing.assert_equal(len((tmp_path / bench.JSONL).read_text().splitlines()), 4)
    # --only runs a part of the first N subjects (to split a run over processes)
    calls.clear()
    part = tmp_path / "part"
    bench.main(["--datasets", "d", "--subjects", "2", "--only", "b", "--out", str(part)])
    assert sorted(set(c[1] for c in calls)) == ["b"] and len(calls) == 3
