"""The input-scale ablation: one unit end to end on the simulator, the report and its rule."""

import json

import pytest

from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import select_windows
from semgaug_sk.windows import sliding_windows


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_input_scale")


def test_one_unit_end_to_end_and_the_report(bench, monkeypatch, tmp_path):
    windows = sliding_windows(
        make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0),
        window_ms=200,
        step_ms=100,
    )
    split = (
        select_windows(windows, windows.repetition == 1),
        select_windows(windows, windows.repetition == 2),
    )
    monkeypatch.setattr(bench, "inner_split", lambda dataset, subject, cut="auto": split)
    monkeypatch.setattr(
        bench,
        "MODEL_PARAMS",
        {
            "stc": dict(max_epochs=2, n_temporal=4, min_steps=None),
            "tdct": dict(max_epochs=1, d_model=8, n_heads=2, n_layers=1),
        },
    )
    unit = bench.run_unit("sim", "S1", 0)
    for model, cells in bench.CELLS.items():
        assert set(unit["accuracy"][model]) == set(cells)
        assert all(0.0 <= a <= 1.0 for a in unit["accuracy"][model].values())
    # the library's path does not see the units: the same network in both
    stc = unit["accuracy"]["stc"]
    assert stc["scaled x1"] == stc["scaled x2^-10"]

    # two seeds whose scaled TDCT loses 40 and 50 points: whatever the tiny run scored
    # (it varies with torch's float kernels), a loss beyond the seed sd
    first, other = json.loads(json.dumps(unit)), json.loads(json.dumps(unit))
    other["seed"] = 1
    first["accuracy"]["tdct"]["scaled x1"] = first["accuracy"]["tdct"]["raw x1"] - 0.4
    other["accuracy"]["tdct"]["scaled x1"] = other["accuracy"]["tdct"]["raw x1"] - 0.5
    bench.write_report([first, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "| sim | 1 × 2 | stc |" in report and "| sim | 1 × 2 | tdct |" in report
    assert "losses beyond the seed sd: sim tdct" in report and "revisit the scaled path" in report


def test_raw_input_is_the_old_path(bench):
    import numpy as np

    from semgaug_sk.classifiers import SpatioTemporalClassifier

    X = np.random.default_rng(0).normal(size=(20, 2, 16)).astype("float32") * 7.0
    y = np.arange(20) % 2
    raw = bench.raw_input(SpatioTemporalClassifier)(
        max_epochs=1, min_steps=None, random_state=0
    ).fit(X, y)
    assert raw.input_rms_ == 1.0 and raw.get_params()["max_epochs"] == 1
    scaled = SpatioTemporalClassifier(min_steps=None, max_epochs=1, random_state=0).fit(X, y)
    assert scaled.input_rms_ == pytest.approx(7.0, rel=0.1)
