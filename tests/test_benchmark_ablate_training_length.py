"""The training-length ablation: the arms' sets, paired differences, the rule."""

import json

import numpy as np
import pytest

from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import select_windows
from semgaug_sk.windows import sliding_windows


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_training_length")


@pytest.fixture(scope="module")
def split():
    windows = sliding_windows(
        make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=4, fs=500.0, random_state=0),
        window_ms=200,
        step_ms=100,
    )
    return (
        select_windows(windows, windows.repetition == 1),
        select_windows(windows, windows.repetition == 2),
    )


def test_every_arm_starts_with_the_real_windows_and_repeat_matches_classics_steps(bench, split):
    fit = split[0]
    sets = bench.training_sets(fit, seed=0)
    n = len(fit.X)
    for X, y in sets.values():
        np.testing.assert_array_equal(X[:n], fit.X)
        np.testing.assert_array_equal(y[:n], fit.y)
    assert len(sets["repeat"][0]) == len(sets["classic"][0]) == 3 * n
    # repeat holds nothing new: every row is a real window of its own label
    np.testing.assert_array_equal(sets["repeat"][0][2 * n :], fit.X)
    assert not np.array_equal(sets["classic"][0][n:], sets["repeat"][0][n:])


def _unit(subject, seed, offsets, dataset="d"):
    """A unit whose arms score ``none`` + the given offsets (points), for both networks."""
    acc = {"none": 0.5, **{k: 0.5 + v / 100 for k, v in offsets.items()}}
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "accuracy": {"stc": dict(acc), "tdct": dict(acc)},
    }


def test_the_rule_reads_each_difference_against_its_seed_sd_on_two_data_sets(bench):
    units = []
    for dataset, (repeat, classic) in {"a": (3.0, 3.1), "b": (2.0, 5.0), "c": (0.0, 4.0)}.items():
        for subject in ("s1", "s2"):
            for seed, wobble in ((0, 0.2), (1, -0.2)):  # seed sd about 0.28
                units.append(
                    _unit(subject, seed, {"repeat": repeat + wobble, "classic": classic}, dataset)
                )
    findings, lines = bench.verdict(units)
    # repeat - none beyond 0.28 on a and b; classic - repeat beyond it on b and c
    assert findings["stc"] == {"training_length": True, "classic_adds": True}
    assert "on 2 of 3 data set(s), so training length explains" in lines[-1]
    for u in units:
        if u["dataset"] == "b":
            u["accuracy"]["stc"]["repeat"] = 0.5
    findings, _ = bench.verdict(units)
    assert findings["stc"]["training_length"] is False and findings["tdct"]["training_length"]


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, split, monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "inner_split", lambda dataset, subject, cut="auto": split)
    monkeypatch.setattr(
        bench,
        "SIZES",
        {
            "stc": dict(max_epochs=2, n_temporal=4, min_steps=None),
            "tdct": dict(max_epochs=2, d_model=16),
        },
    )
    unit = bench.run_unit("sim", "S1", 0)
    n = len(split[0].X)
    assert unit["n_training_windows"] == {"none": n, "repeat": 3 * n, "classic": 3 * n}
    for network in bench.NETWORKS:
        assert set(unit["accuracy"][network]) == set(bench.ARMS)
        assert all(0.0 <= a <= 1.0 for a in unit["accuracy"][network].values())
    (tmp_path / bench.JSONL).write_text(json.dumps(unit) + "\n")
    bench.write_report(tmp_path)
    report = (tmp_path / "ablate_training_length.md").read_text()
    assert "## STC" in report and "## TDCT" in report and "| sim | 1 × 1 |" in report
    assert "## The rule" in report
