"""The warp-knot ablation: the decision rule, the report, and one unit on the simulator."""

import pytest

from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import select_windows
from semgaug_sk.windows import sliding_windows


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_warp_knots")


def _unit(bench, dataset, subject, seed, gains):
    """A unit whose variant ``v`` scores ``0.5 + gains[v]`` for both models."""
    acc = {"none": 0.5, **{v: 0.5 + gains.get(v, 0.0) for v in bench.VARIANTS}}
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "accuracy": {"lda": dict(acc), "stc": dict(acc)},
        "rms_ratio": dict.fromkeys(bench.VARIANTS, 1.0),
        "feature_shift": {v: {"mav": 0.0, "wl": 0.1} for v in bench.VARIANTS},
    }


def test_the_rule_takes_the_best_variant_that_loses_nowhere(bench, tmp_path):
    units = [
        _unit(
            bench,
            d,
            s,
            seed,
            {"knots_1": 0.02 + 0.01 * seed, "knots_0": 0.05 if d == "a" else -0.05},
        )
        for d in ("a", "b")
        for s in ("S1", "S2")
        for seed in (0, 1)
    ]
    best, reasons = bench.choose(units)
    assert best == "knots_1"  # knots_0 gains more on "a" but loses on "b"
    assert "below minus their seed sd" in reasons["knots_0"]
    bench.write_report(units, tmp_path / "r.md")
    report = (tmp_path / "r.md").read_text()
    assert "Paired knots_1 − knots_4" in report and "Chosen: **knots_1**" in report
    assert "| a | 2 × 2 | knots_0 |" in report and "nan" not in report


def test_the_default_stays_when_nothing_gains(bench):
    units = [_unit(bench, "a", s, seed, {}) for s in ("S1", "S2") for seed in (0, 1)]
    assert bench.choose(units)[0] == bench.REFERENCE


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, monkeypatch):
    windows = sliding_windows(
        make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0),
        window_ms=200,
        step_ms=100,
    )
    split = (
        select_windows(windows, windows.repetition == 1),
        select_windows(windows, windows.repetition == 2),
    )
    monkeypatch.setattr(
        bench.ablate_time_warp, "inner_split", lambda dataset, subject, cut="auto": split
    )
    monkeypatch.setattr(
        bench.ablate_time_warp, "STC_PARAMS", dict(max_epochs=2, n_temporal=4, min_steps=None)
    )
    unit = bench.run_unit("sim", "S1", 0)
    for model in bench.MODELS:
        assert set(unit["accuracy"][model]) == {"none", *bench.VARIANTS}
    assert set(unit["rms_ratio"]) == set(bench.VARIANTS)
