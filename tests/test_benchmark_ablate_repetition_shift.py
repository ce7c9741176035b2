"""The repetition-shift ablation: the shifts it measures, its samplers, one unit end to end."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_repetition_shift")


def test_shifts_are_deviations_between_repetitions_with_the_small_sample_correction(bench):
    # one subject, one class, three repetitions whose channel 0 has gain 1, 2 and 4
    rng = np.random.default_rng(0)
    base = rng.choice([-1.0, 1.0], size=(1, 2, 50))  # |x| = 1 everywhere: RMS 1
    X = np.concatenate([base * g for g in (1.0, 2.0, 4.0) for _ in range(2)])
    X[:, 1] = base[0, 1]  # channel 1 never moves
    y = np.zeros(6, dtype=int)
    shifts, labels = bench.repetition_shifts(
        X, y, np.array(["a"] * 6), np.array([1, 1, 2, 2, 3, 3])
    )
    log2 = np.log(2.0)
    expected = np.array([-log2, 0.0, log2]) * np.sqrt(3 / 2)
    np.testing.assert_allclose(shifts[:, 0], expected, atol=1e-9)
    np.testing.assert_allclose(shifts[:, 1], 0.0, atol=1e-9)
    assert labels.tolist() == [0, 0, 0]
    # a class seen in one repetition only gives no shift
    with pytest.raises(ValueError, match="two repetitions"):
        bench.repetition_shifts(X[:2], y[:2], np.array(["a", "a"]), np.array([1, 1]))


@pytest.mark.parametrize("variant", ["shift", "shift_class"])
def test_shift_samplers_keep_real_windows_and_only_change_channel_gains(bench, variant):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3, 20)).astype(np.float32)
    y = np.array([0, 0, 0, 1, 1, 1])
    pool = rng.normal(scale=0.3, size=(40, 3))
    shifts = (pool, np.repeat([0, 1], 20), np.cov(pool.T))
    X_res, y_res = bench.augmented(variant, X, y, shifts, seed=0)
    assert X_res.shape == (18, 3, 20) and X_res.dtype == X.dtype
    np.testing.assert_array_equal(X_res[:6], X)
    np.testing.assert_array_equal(np.bincount(y_res[6:]), [6, 6])
    # each synthetic window is a real window of its class with one positive gain per channel
    for window, label in zip(X_res[6:], y_res[6:], strict=True):
        ratios = [window / X[i] for i in np.flatnonzero(y == label)]
        assert any(np.allclose(r, r[:, :1], rtol=1e-4) and (r > 0).all() for r in ratios)
    again = bench.augmented(variant, X, y, shifts, seed=0)[0]
    np.testing.assert_array_equal(again, X_res)


def test_one_unit_end_to_end_on_the_simulator(
    bench, monkeypatch, tmp_path, simulator_inner_split, fake_pool_windows
):
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": simulator_inner_split
    )
    monkeypatch.setattr(bench, "pool_windows", fake_pool_windows)
    monkeypatch.setattr(bench, "_SHIFTS", {})
    monkeypatch.setattr(bench, "SIZES", {"stc": dict(max_epochs=2, n_temporal=4, min_steps=None)})
    unit = bench.run_unit("sim", "S1", 0)
    assert set(unit["accuracy"]) == set(bench.MODELS)
    for accuracy in unit["accuracy"].values():
        assert set(accuracy) == {"none", *bench.VARIANTS}
        assert all(0.0 <= a <= 1.0 for a in accuracy.values())
    assert unit["pool_shift_sd"] > 0 and unit["n_pool_shifts"] > 0
    # the pool is read once per target, and the same seed gives the same record
    again = bench.run_unit("sim", "S1", 0)
    assert again["accuracy"] == unit["accuracy"] and fake_pool_windows.calls == [("sim", "S1")]

    other = json.loads(json.dumps(unit))
    other["seed"] = 1
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert (
        "| sim | 1 × 2 | shift_class |" in report and "| sim | 1 × 2 | none (accuracy) |" in report
    )
    assert "Choice: **" in report
