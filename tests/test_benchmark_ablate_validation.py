"""The validation-split ablation: the blocked split, one unit end to end, its report."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_validation")


def test_the_blocked_split_holds_out_one_run_per_class_away_from_training(bench):
    y = np.repeat([0, 1, 2], [20, 30, 40])
    train, valid = bench.blocked_split(y, 0.15, seed=3, gap=2)
    for code, n in zip((0, 1, 2), (20, 30, 40), strict=True):
        rows = np.flatnonzero(y[valid] == code)
        held = valid[rows]
        assert len(held) == int(np.ceil(0.15 * n)) and np.all(np.diff(held) == 1)  # one run
        near = np.arange(held[0] - 2, held[-1] + 3)
        near = near[(near >= 0) & (y[np.clip(near, 0, len(y) - 1)] == code)]
        assert not set(near.tolist()) & set(train.tolist())  # the neighbours are dropped
    assert not set(train.tolist()) & set(valid.tolist())
    assert len(train) == len(y) - len(valid) - sum(
        min(2, s) + min(2, e) for s, e in _margins(y, valid)
    )
    again = bench.blocked_split(y, 0.15, seed=3, gap=2)
    assert all(np.array_equal(a, b) for a, b in zip(again, (train, valid), strict=True))
    assert bench.blocked_split(np.repeat([0, 1], [3, 30]), 0.15, seed=0)[1] is None  # too small


def _margins(y, valid):
    """Per class, the rows of the class before and after its validation run."""
    out = []
    for code in np.unique(y):
        rows = np.flatnonzero(y == code)
        held = np.isin(rows, valid)
        first, last = np.flatnonzero(held)[[0, -1]]
        out.append((first, len(rows) - 1 - last))
    return out


def test_the_library_split_is_restored_after_the_blocked_arm(bench):
    from semgaug_sk.base import BaseWindowNet

    plain = BaseWindowNet._plain_split
    with bench.validation_split("blocked"):
        assert BaseWindowNet._plain_split is not plain
    assert BaseWindowNet._plain_split is plain


def test_one_unit_end_to_end_on_the_simulator(bench, monkeypatch, tmp_path, simulator_inner_split):
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": simulator_inner_split
    )
    monkeypatch.setattr(
        bench, "SIZES", dict(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=3)
    )
    unit = bench.run_unit("sim", "S1", 0)
    assert set(unit["accuracy"]) == {"shuffle", "blocked"}
    assert all(0.0 <= a <= 1.0 for a in unit["accuracy"].values())
    assert bench.run_unit("sim", "S1", 0)["accuracy"] == unit["accuracy"]  # seeded
    other = json.loads(json.dumps(unit))
    other["seed"] = 1
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "| sim | 1 × 2 | blocked |" in report and "Choice: **" in report
