"""The start-window (SDEdit) probe: one unit end to end on the simulator, and its report."""

import json

import numpy as np
import pytest


@pytest.mark.slow
def test_one_unit_denoises_the_same_conditions_from_each_start(
    load_benchmark, monkeypatch, simulator_inner_split, tmp_path, tiny_sasg_sizes
):
    bench = load_benchmark("probe_anchor_strength")
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": simulator_inner_split
    )
    sizes = tiny_sasg_sizes(n_sampling_steps=4)
    monkeypatch.setitem(bench.SIZES, "sasg", sizes["sasg"])
    monkeypatch.setitem(bench.SIZES, "stc", sizes["stc"])
    unit = bench.run_unit("sim", "S1", 0)
    names = {"starts", "pure", *(f"s{s}" for s in bench.STRENGTHS)}
    for model in ("lda", "stc"):
        assert set(unit["accuracy"][model]) == {"none", *names}
    assert set(unit["class_mean_offset"]) == names
    assert all(np.isfinite(v) for v in unit["rms_ratio"].values())
    assert all(v >= 0 and np.isfinite(v) for v in unit["class_mean_offset"].values())
    log = tmp_path / "probe_anchor_strength.jsonl"
    log.write_text(json.dumps(unit) + "\n" + json.dumps({**unit, "subject": "S2"}) + "\n")
    bench.main(["--subjects", "x", "--rerender", "--out", str(tmp_path)])
    report = (tmp_path / "probe_anchor_strength.md").read_text()
    assert "- ``pure``: from pure noise" in report  # the rows are defined
    assert "| s0.5 |" in report and "## sim (2 subjects, 2 units)" in report


def test_nearest_start_windows_stay_in_their_class(load_benchmark):
    bench = load_benchmark("probe_anchor_strength")

    class Fitted:
        train_embeddings_ = np.array([[0.0], [1.0], [10.0], [11.0]])
        _train_codes = np.array([0, 0, 1, 1])

    X = np.arange(4)[:, None, None] * np.ones((4, 1, 2))
    # a condition of class 0 near class 1's embeddings still starts from a class-0 window
    starts = bench.nearest_start_windows(Fitted(), X, np.array([[9.0], [0.2]]), np.array([0, 1]))
    assert starts[:, 0, 0].tolist() == [1.0, 2.0]
