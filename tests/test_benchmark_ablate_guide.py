"""The guide ablation: one unit end to end on the simulator, and its rule."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_guide")


@pytest.mark.slow
def test_one_unit_end_to_end_on_the_simulator(bench, monkeypatch, tmp_path, simulator_inner_split):
    split = simulator_inner_split
    monkeypatch.setattr(bench, "inner_split", lambda dataset, subject, cut="auto": split)
    sizes = {
        "sasg": dict(
            n_steps=3,
            base_channels=4,
            channel_mults=(1,),
            n_sampling_steps=2,
            confidence_threshold=0.0,
        ),
        "encoder": dict(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2),
        "stc": dict(max_epochs=2, n_temporal=4, min_steps=None),
    }
    monkeypatch.setattr(bench, "SIZES", sizes)
    encoders = ["default", "log_energy"]
    unit = bench.run_unit("sim", "S1", 0, encoders)
    for model in bench.MODELS:
        assert set(unit["accuracy"][model]) == {"none", *encoders}
    assert set(unit["guide_accuracy"]) == set(encoders)
    assert unit["shortfall"] == dict.fromkeys(encoders, 0)  # no filter
    assert all(v > 0 for v in unit["rms_ratio"].values())
    again = bench.run_unit("sim", "S1", 0, encoders)
    assert again["accuracy"] == unit["accuracy"] and again["rms_ratio"] == unit["rms_ratio"]

    other = json.loads(json.dumps(unit))
    other["seed"] = 1
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "| sim | 1 × 2 | log_energy |" in report
    assert "Adopt log_energy: **" in report


def _unit(dataset, subject, seed, gain):
    acc = {"none": 0.5, "default": 0.5, "log_energy": 0.5 + gain / 100}
    return {
        "dataset": dataset,
        "subject": subject,
        "seed": seed,
        "accuracy": {"lda": dict(acc), "stc": dict(acc)},
    }


def test_rule_adopts_unless_a_cell_loses_beyond_its_seed_sd(bench):
    # a small mean gain, every cell inside its seed sd: adopted
    units = [_unit("a", s, seed, [-1, 1.5][seed]) for s in ("s1", "s2") for seed in (0, 1)]
    adopt, cells = bench.choose_guide(units, "log_energy")
    assert adopt and cells[0][2] == pytest.approx(0.25)
    # a loss beyond the seed sd on one data set: not adopted, whatever the mean
    units += [_unit("b", s, seed, -2) for s in ("s1", "s2") for seed in (0, 1)]
    units += [_unit("c", s, seed, 9) for s in ("s1", "s2") for seed in (0, 1)]
    adopt, _ = bench.choose_guide(units, "log_energy")
    assert not adopt
