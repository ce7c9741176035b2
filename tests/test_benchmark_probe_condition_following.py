"""The condition-following probe: its measures, and one unit on the simulator."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("probe_condition_following")


def test_following_reads_windows_that_ignore_or_follow_their_conditions(bench):
    rng = np.random.default_rng(0)
    c, y = rng.normal(size=(60, 4)), np.repeat([0, 1, 2], 20)
    noise = rng.normal(scale=0.1, size=c.shape)
    half = bench.following(c, 0.5 * c + noise, 0.5 * c - noise, y)
    assert half["slope"] == pytest.approx(0.5, abs=0.05) and half["chance"] == 0.05
    ignored = bench.following(c, noise, -noise, y)  # windows that ignore their conditions
    assert abs(ignored["slope"]) < 0.05 and ignored["retrieval"] < 0.3
    assert ignored["noise_ratio"] == pytest.approx(half["noise_ratio"])  # 2 * 0.01 / 1, about


def test_one_unit_end_to_end_on_the_simulator(bench, monkeypatch, simulator_inner_split, tmp_path):
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": simulator_inner_split
    )
    sizes = dict(n_steps=4, batch_size=16, n_sampling_steps=2, base_channels=8)
    monkeypatch.setattr(bench, "SIZES", {"sasg": sizes})
    unit = bench.run_unit("sim", "S1", 0)
    assert set(unit["following"]) == set(bench.SETS)
    for measures in unit["following"].values():
        assert set(measures) == set(bench.MEASURES) and 0 <= measures["retrieval"] <= 1
    assert bench.run_unit("sim", "S1", 0)["following"] == unit["following"]  # seeded
    assert unit["cond_noise"] is None  # the library's default
    noisy = bench.run_unit("sim", "S1", 0, cond_noise=0.5)
    assert noisy["cond_noise"] == 0.5 and noisy["following"] != unit["following"]
    other = dict(unit, seed=1)
    bench.write_report([unit, other], tmp_path / "report.md")
    assert "| sim | 1 × 2 | between |" in (tmp_path / "report.md").read_text()
