"""The shrinkage-target ablation: one unit end to end on the simulator, and its rule."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_shrinkage")


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
    tiny = dict(n_steps=3, base_channels=4, channel_mults=(1,), n_sampling_steps=2)
    sizes = {
        "sasg": dict(tiny, confidence_threshold=0.0, encoder=encoder),
        "stc": dict(max_epochs=2, n_temporal=4),
    }
    monkeypatch.setattr(selection, "SIZES", sizes)
    unit = selection.run_unit("sim", "S1", 0, variants=bench.VARIANTS, ratio=bench.RATIO)
    assert unit["ratio"] == 2.0 and unit["code"]
    for model in ("lda", "stc"):
        assert set(unit["accuracy"][model]) == {"none", *bench.VARIANTS}
    for name in bench.VARIANTS:
        median, above = unit["condition_spread"][name]
        assert median > 0 and 0 <= above <= 1
    other = json.loads(json.dumps(unit))
    other["seed"] = 1
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "## Spread of the generated conditions" in report and "Choice: **" in report


def test_rule_compares_the_diagonal_target_with_the_default(bench):
    def unit(dataset, subject, seed, gain):
        acc = {"none": 0.5, "sass": 0.5, "sass_diagonal": 0.5 + gain / 100, "gmss": 0.4}
        return {
            "dataset": dataset,
            "subject": subject,
            "seed": seed,
            "accuracy": {"lda": dict(acc), "stc": dict(acc)},
        }

    units = [
        unit(d, s, seed, 2 + seed) for d in ("a", "b") for s in ("s1", "s2") for seed in (0, 1)
    ]
    assert bench.choose_target(units)[0] == "sass_diagonal"
    units = [unit("a", s, seed, [-1, 2][seed]) for s in ("s1", "s2") for seed in (0, 1)]
    assert bench.choose_target(units)[0] == "sass"


def test_diagonal_target_keeps_each_dimension_s_spread():
    from semgaug_sk.augmentation import GMSS

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(30, 16))
    emb[:, 0] = 0.0  # constant
    emb[:, 1] *= 1e-3  # far quieter than the rest
    y = np.repeat([0, 1, 2], 10)
    scale = np.where(emb.std(axis=0) > 1e-8, emb.std(axis=0), 1.0)
    spread = {}
    for target in ("identity", "diagonal"):
        z, _ = GMSS(shrinkage_target=target).fit(emb, y).sample(500, np.random.default_rng(1))
        spread[target] = np.abs((z - emb.mean(axis=0)) / scale).max(axis=0)
    assert spread["identity"][1] > 100  # the quiet dimension gets the others' spread
    assert spread["diagonal"][1] < 10 and spread["diagonal"][0] < 1e-2
