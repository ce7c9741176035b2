"""The patch-folding ablation: the decision rule, the report, and one unit on the simulator."""

import argparse
import functools

import pytest

from semgaug_sk.augmentation import DiffusionGenerator
from semgaug_sk.classifiers import SpatioTemporalClassifier


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_patch")


def _record(fid=1.0, rms=1.0, std=1.0, band=1.0, gain=0.0, patch=1):
    return {
        "train_worst_fid": fid,
        "train_median_rms_ratio": rms,
        "train_median_std_ratio": std,
        "train_classes_within_10pct": band,
        "classes_within_10pct": band,
        "inner_gain": gain,
        "patch_size": patch,
        "fit_s": 10.0 if patch > 1 else 20.0,
        "sample_windows_per_s": 400.0 if patch > 1 else 100.0,
    }


def _units(folded, datasets=("a", "b")):
    return [
        {
            "dataset": d,
            "subject": s,
            "seed": seed,
            "shape": [8, 200],
            "variants": {"folded": _record(patch=4, **folded(d, seed)), "unfolded": _record()},
        }
        for d in datasets
        for s in ("S1", "S2")
        for seed in (0, 1)
    ]


def test_folding_stays_when_it_costs_nothing(bench, tmp_path):
    units = _units(lambda d, seed: {"fid": 1.02, "band": 1.0})
    keep, reasons = bench.choose(units)
    assert keep and not reasons
    bench.write_report(units, tmp_path / "r.md")
    report = (tmp_path / "r.md").read_text()
    assert "Chosen: **folding at max_length=64 passes the rule" in report
    assert "nan" not in report
    assert "| a | 2.00x faster | 4.00x | 1.02 |" in report


def test_folding_goes_when_the_worst_class_fid_grows_or_classes_leave_the_band(bench, tmp_path):
    fid = _units(lambda d, seed: {"fid": 1.3 if d == "b" else 1.0})
    keep, reasons = bench.choose(fid)
    assert not keep and reasons == ["b worst-class FID ratio 1.30 > 1.1"]
    band = _units(lambda d, seed: {"band": 0.7 + 0.01 * seed})
    keep, reasons = bench.choose(band)
    assert not keep and any("classes in band" in r for r in reasons)
    rms = _units(lambda d, seed: {"rms": 0.8 + 0.01 * seed})
    assert any("train_median_rms_ratio" in r for r in bench.choose(rms)[1])
    bench.write_report(band, tmp_path / "r.md")
    assert "max_length=64 fails the rule; the default stays None" in (tmp_path / "r.md").read_text()


def test_the_folded_max_length_is_recorded_and_one_log_holds_one_value(bench, tmp_path):
    units = [dict(u, max_length=100) for u in _units(lambda d, seed: {})]
    bench.write_report(units, tmp_path / "r.md")
    assert "`folded` (`max_length=100`)" in (tmp_path / "r.md").read_text()
    assert bench.folded_max_length(_units(lambda d, seed: {})) == 64  # units before the key
    bench.check_units(argparse.Namespace(max_length=100), units, "log")
    with pytest.raises(SystemExit, match=r"max_length=\[100\], not 64.*another --out"):
        bench.check_units(argparse.Namespace(max_length=64), units, "log")


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, monkeypatch, simulator_inner_split):
    monkeypatch.setattr(
        bench, "inner_split", lambda dataset, subject, windows=None: simulator_inner_split
    )
    monkeypatch.setattr(
        bench,
        "DiffusionGenerator",
        functools.partial(
            DiffusionGenerator, n_steps=2, base_channels=8, channel_mults=(1,), n_sampling_steps=2
        ),
    )
    monkeypatch.setattr(
        bench,
        "SpatioTemporalClassifier",
        functools.partial(SpatioTemporalClassifier, min_steps=None, max_epochs=1, n_temporal=4),
    )
    unit = bench.run_unit("myo", "S1", 0, max_length=8)  # inner_split is patched: no data read
    folded, unfolded = unit["variants"]["folded"], unit["variants"]["unfolded"]
    assert folded["patch_size"] == 2 and unfolded["patch_size"] == 1  # 3 channels, width 8
    assert unit["max_length"] == 8
    assert unit["shape"] == list(simulator_inner_split[0].X.shape[1:])
    assert 0 <= folded["train_classes_within_10pct"] <= 1 and folded["fit_s"] >= 0
