"""The quantisation ablation: one unit end to end on quantised simulator windows."""

import numpy as np
import pytest

from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import select_windows
from semgaug_sk.windows import sliding_windows


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_quantize")


def _split(step):
    windows = sliding_windows(
        make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0),
        window_ms=200,
        step_ms=100,
    )
    if step:  # digitise, as a device does
        windows.X[...] = np.round(windows.X / step) * step
    return (
        select_windows(windows, windows.repetition == 1),
        select_windows(windows, windows.repetition == 2),
    )


@pytest.mark.slow
def test_one_unit_end_to_end_and_the_report(bench, monkeypatch, tmp_path):
    split = _split(step=0.05)
    monkeypatch.setattr(bench, "inner_split", lambda dataset, subject, cut="auto": split)
    sasg = dict(n_steps=4, base_channels=8, channel_mults=(1,), n_sampling_steps=2)
    sasg["confidence_threshold"] = 0.0
    monkeypatch.setattr(
        bench, "SIZES", {"sasg": sasg, "stc": dict(max_epochs=2, n_temporal=4, min_steps=None)}
    )
    unit = bench.run_unit("sim", "S1", 0)
    assert unit["grid"][1] == pytest.approx(0.05, rel=1e-4)
    keys = {"none"} | {
        f"{m}_{v}@{r:g}" for m in bench.METHODS for v in ("raw", "grid") for r in bench.RATIOS
    }
    for model in bench.MODELS:
        assert set(unit["accuracy"][model]) == keys
    # continuous windows have no equal neighbours; rounding brings the ssc count down
    shifts = unit["feature_shift"]
    assert shifts["classic_grid"]["ssc"] < shifts["classic_raw"]["ssc"]
    lda_only = {**unit, "seed": 1, "accuracy": {"lda": unit["accuracy"]["lda"]}}
    bench.write_report([unit, lda_only], tmp_path / "r.md")
    report = (tmp_path / "r.md").read_text()
    assert "## sim (1 subjects, 2 units)" in report and "| sass | 0.5 |" in report
    assert "STC" not in report.split("## sim")[1].split("\n")[2]  # STC not in every unit
    assert "nan" not in report


def test_data_without_a_grid_is_refused(bench, monkeypatch):
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, cut="auto": _split(step=None)
    )
    with pytest.raises(SystemExit, match="no grid"):
        bench.run_unit("sim", "S1", 0, models=("lda",))
