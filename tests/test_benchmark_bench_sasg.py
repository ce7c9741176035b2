"""bench_sasg's side-by-side report: generation speed with the defaults and as plain GMSS."""

import json
from types import SimpleNamespace

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_sasg")


def _fit(path, seed, fit_s, sass, gmss):
    return {
        "path": path,
        "seed": seed,
        "fit_resample_s": fit_s,
        "diffusion_s": fit_s / 2,
        "train_steps_per_s": 20.0,
        "train_windows_per_s": 5000.0,
        "sass_generation_windows_per_s": sass,
        "generation_windows_per_s": gmss,
        "torch_threads": 2,
        "load_1min": [1.0, 2.0],
        "defaults": {"n_steps": 750 if path == "new" else 3000},
        "quality": {
            "fid": 0.7,
            "class_fid_mean": 3.5,
            "rms_ratio_mean": 0.8,
            "std_ratio_mean": 0.75,
            "log_psd_distance_mean": 10.0,
        },
    }


def test_compare_report_gives_both_generation_speeds(bench, monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    fits = [
        _fit("old", 0, 100.0, 500.0, 800.0),
        _fit("new", 0, 50.0, 1000.0, 2400.0),
        _fit("new", 1, 50.0, 1000.0, 2400.0),
        _fit("old", 1, 100.0, 500.0, 800.0),
    ]
    args = SimpleNamespace(name="speed_test", compare=str(tmp_path / "no-such-checkout"))
    bench.write_compare(args, ["--compare", "old"], "simulated", fits)
    report = (tmp_path / "speed_test.md").read_text()
    assert "| generate windows/s, defaults (SASS, filter) | 500 ± 0 | 1e+03 ± 0 | 2.00 |" in report
    assert "| generate windows/s, plain GMSS | 800 ± 0 | 2.4e+03 ± 0 | 3.00 |" in report
    assert "| new | 1 | 50.0 | 25.0 | 20.0 | 5000.0 | 1000.0 | 2400.0 | 0.700 |" in report
    assert report.rstrip().endswith(
        "`fit_resample` is 2.0x faster; `generate` runs at 1000 windows/s with the defaults "
        "(2.0x) and 2400 windows/s as plain GMSS (3.0x)."
    )
    assert "- old tree: `" in report and "commit unknown" in report
    summary = json.loads((tmp_path / "speed_test.json").read_text())["summary"]
    assert summary["sass_generation_windows_per_s"]["ratio"] == pytest.approx(2.0)
