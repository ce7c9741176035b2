"""The channel-scale ablation: one unit end to end on the simulator, the report and its rule."""

import json

import numpy as np
import pytest

from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import select_windows
from semgaug_sk.windows import sliding_windows


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_channel_scale")


@pytest.fixture(scope="module")
def unit(bench):
    windows = sliding_windows(
        make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0),
        window_ms=200,
        step_ms=100,
    )
    split = (
        select_windows(windows, windows.repetition == 1),
        select_windows(windows, windows.repetition == 2),
    )
    patch = pytest.MonkeyPatch()
    patch.setattr(bench, "inner_split", lambda dataset, subject, cut="auto": split)
    patch.setattr(
        bench,
        "MODEL_PARAMS",
        {
            "stc": dict(max_epochs=2, n_temporal=4, min_steps=None),
            "tdct": dict(max_epochs=1, d_model=8, n_heads=2, n_layers=1),
        },
    )
    try:
        yield bench.run_unit("sim", "S1", 0)
    finally:
        patch.undo()


def test_one_unit_measures_every_cell(bench, unit):
    for model in bench.MODELS:
        assert list(unit["accuracy"][model]) == bench.CELLS
        assert all(0.0 <= a <= 1.0 for a in unit["accuracy"][model].values())
    gains = np.array(unit["channel_gains"])
    assert gains.shape == (3,) and np.all((gains >= 0.1) & (gains <= 10.0))


def test_channel_gains_are_fixed_by_the_seed(bench):
    np.testing.assert_array_equal(bench.channel_gains(4, 0), bench.channel_gains(4, 0))
    assert not np.array_equal(bench.channel_gains(4, 0), bench.channel_gains(4, 1))


def _units_with(unit, x1_gains, gains_gains):
    """Two seeds of ``unit`` whose channel − global gains are the given points."""
    units = []
    for seed, (x1, under_gains) in enumerate(zip(x1_gains, gains_gains, strict=True)):
        u = json.loads(json.dumps(unit))
        u["seed"] = seed
        for model in u["accuracy"]:
            acc = u["accuracy"][model]
            acc["global x1"], acc["channel x1"] = 0.5, 0.5 + x1 / 100
            acc["global gains"], acc["channel gains"] = 0.3, 0.3 + under_gains / 100
        units.append(u)
    return units


def test_the_rule_and_the_report(bench, unit, tmp_path):
    # equal at x1 within the seed spread, far better under gains: adopted
    adopted = _units_with(unit, [-1.0, 1.0], [40.0, 50.0])
    assert bench.choose(adopted)["choice"] == "channel"
    # a loss at x1 beyond the seed sd: not adopted, however robust
    rejected = _units_with(unit, [-10.0, -11.0], [40.0, 50.0])
    rule = bench.choose(rejected)
    assert rule["choice"] == "global" and len(rule["losers"]) == 2
    # no robustness gain: nothing to adopt it for
    assert bench.choose(_units_with(unit, [0.0, 0.0], [0.0, 0.0]))["choice"] == "global"

    bench.write_report(rejected, tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "| sim | 1 × 2 | stc |" in report and "| sim | 1 × 2 | tdct |" in report
    assert "x1 losses beyond the seed sd: sim stc" in report
    assert 'Decision: `input_scaling="global"`' in report
