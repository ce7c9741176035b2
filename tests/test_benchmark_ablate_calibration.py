"""The calibration ablation: one unit end to end on the simulator, and its rule."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_calibration")


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(
    bench, load_benchmark, monkeypatch, tmp_path, simulator_inner_split
):
    from semgaug_sk import SemanticEncoder

    selection = load_benchmark("ablate_sass_selection")
    monkeypatch.setattr(selection, "inner_split", lambda dataset, subject: simulator_inner_split)
    encoder = SemanticEncoder(
        embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2, random_state=0
    )
    # the filter off: a 2-epoch guide would reject every window of a 3-step generator
    tiny = dict(
        n_steps=3, base_channels=4, channel_mults=(1,), n_sampling_steps=2, confidence_threshold=0.0
    )
    monkeypatch.setattr(
        selection,
        "SIZES",
        {"sasg": dict(tiny, encoder=encoder), "stc": dict(max_epochs=2, n_temporal=4)},
    )
    unit = selection.run_unit("sim", "S1", 0, variants=bench.VARIANTS, ratio=bench.RATIO)
    for model in ("lda", "stc"):
        assert set(unit["accuracy"][model]) == {"none", *bench.VARIANTS}
    # a 3-step generator is far too smooth; the calibration brings the std ratio to ~1
    std = unit["std_ratio"]
    assert abs(std["std"] - 1) < abs(std["off"] - 1)
    assert abs(std["spectrum"] - 1) < abs(std["off"] - 1)
    assert 0 <= unit["classes_within_10pct"]["std"] <= 1
    other = json.loads(json.dumps(unit))
    other["seed"] = 1
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "## Fidelity of the synthetic windows" in report and "Choice: **" in report


def test_rule_needs_a_gain_beyond_the_seed_sd(bench):
    def unit(dataset, subject, seed, gain):
        acc = {"none": 0.5, "off": 0.5, "std": 0.5 + gain / 100, "spectrum": 0.49}
        return {
            "dataset": dataset,
            "subject": subject,
            "seed": seed,
            "accuracy": {"lda": dict(acc), "stc": dict(acc)},
        }

    units = [
        unit(d, s, seed, 2 + seed) for d in ("a", "b") for s in ("s1", "s2") for seed in (0, 1)
    ]
    assert bench.choose_calibration(units)[0] == "std"
    units = [unit("a", s, seed, [-1, 2][seed]) for s in ("s1", "s2") for seed in (0, 1)]
    assert bench.choose_calibration(units)[0] == "off"
