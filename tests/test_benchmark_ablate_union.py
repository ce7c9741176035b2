"""The union ablation: halves of the classic and SASS pools, paired gains, the rule."""

import json

import numpy as np
import pytest

from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import select_windows
from semgaug_sk.windows import sliding_windows


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_union")


def test_halves_take_one_per_real_window_of_each_class_from_each_pool(bench):
    y_real = np.array([0] * 6 + [1] * 4)
    y_a = np.repeat([0, 1], [12, 8])
    y_b = np.repeat([0, 1], [12, 5])  # the filter left class 1 short
    rows_a, rows_b = bench._halves(y_real, y_a, y_b, seed=0)
    assert np.bincount(y_a[rows_a]).tolist() == [6, 4]
    assert np.bincount(y_b[rows_b]).tolist() == [6, 4]
    # different streams for the two pools, the same ones again for the same seed
    again = bench._halves(y_real, y_a, y_b, seed=0)
    np.testing.assert_array_equal(again[0], rows_a)
    np.testing.assert_array_equal(again[1], rows_b)


def _unit(subject, seed, stc, lda, dataset="d"):
    """A unit whose pools score ``none`` + the given offsets (in points)."""
    acc = {}
    for model, offsets in (("stc", stc), ("lda", lda)):
        base = 0.5
        acc[model] = {"none": base, **{k: base + v / 100 for k, v in offsets.items()}}
    return {"dataset": dataset, "subject": subject, "seed": seed, "accuracy": acc}


def test_the_rule_needs_stc_beyond_its_seed_sd_on_two_data_sets_and_no_lda_loss(bench):
    def pools(union, lda_union=0.0):
        return (
            {"classic@2": 1.0, "sass@2": 0.0, "union@1+1": union, "union@2+2": union},
            {"classic@2": 0.0, "sass@2": 0.0, "union@1+1": lda_union, "union@2+2": 0.0},
        )

    units = []
    for dataset in ("a", "b", "c"):
        for subject in ("s1", "s2"):
            for seed, wobble in ((0, 0.2), (1, -0.2)):  # seed sd about 0.28
                stc, lda = pools(3.0 + wobble if dataset != "c" else 1.0 + wobble)
                units.append(_unit(subject, seed, stc, lda, dataset))
    adds, lines = bench.verdict(units)
    assert adds and "on 2 of 3 data set(s)" in lines[-1]
    # one LDA loss beyond its seed sd vetoes it
    for u in units:
        if u["dataset"] == "a":
            u["accuracy"]["lda"]["union@1+1"] = 0.5 - (0.02 if u["seed"] == 0 else 0.021)
    adds, lines = bench.verdict(units)
    assert not adds and "do not add" in lines[-1]


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
    monkeypatch.setattr(bench, "inner_split", lambda dataset, subject, cut="auto": split)
    monkeypatch.setattr(
        bench.ablate_ratio,
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
    monkeypatch.setattr(bench, "SIZES", {"stc": dict(max_epochs=2, n_temporal=4, min_steps=None)})
    unit = bench.run_unit("sim", "S1", 0)
    n = len(split[0].X)
    assert unit["n_synthetic"] == {
        "classic@2": 2 * n,
        "sass@2": 2 * n,
        "union@1+1": 2 * n,
        "union@2+2": 4 * n,
    }
    for model in bench.MODELS:
        assert set(unit["accuracy"][model]) == {"none", *bench.POOLS}
        assert all(0.0 <= a <= 1.0 for a in unit["accuracy"][model].values())
    (tmp_path / bench.JSONL).write_text(json.dumps(unit) + "\n")
    bench.write_report(tmp_path)
    report = (tmp_path / "ablate_union.md").read_text()
    assert "## STC" in report and "| sim | 1 × 1 |" in report and "## The rule" in report
