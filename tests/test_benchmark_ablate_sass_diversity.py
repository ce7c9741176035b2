"""The SASS-diversity ablation: one unit end to end on the simulator, and its rule."""

import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_sass_diversity")


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
    spread = {name: unit["condition_spread"][name][0] for name in bench.VARIANTS}
    assert spread["diversity_4"] > spread["diversity_0"]  # more repulsion spreads them more
    other = json.loads(json.dumps(unit))
    other["seed"] = 1
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "## Spread of the generated conditions" in report and "Choice: **" in report


def test_rule_needs_a_gain_beyond_the_seed_sd(bench):
    def unit(dataset, subject, seed, gain):
        acc = {"none": 0.5, "sass": 0.5, "diversity_0": 0.49}
        acc["diversity_4"] = 0.5 + gain / 100
        return {
            "dataset": dataset,
            "subject": subject,
            "seed": seed,
            "accuracy": {"lda": dict(acc), "stc": dict(acc)},
        }

    units = [
        unit(d, s, seed, 2 + seed) for d in ("a", "b") for s in ("s1", "s2") for seed in (0, 1)
    ]
    assert bench.choose_diversity(units)[0] == "diversity_4"
    units = [unit("a", s, seed, [-1, 2][seed]) for s in ("s1", "s2") for seed in (0, 1)]
    assert bench.choose_diversity(units)[0] == "sass"
