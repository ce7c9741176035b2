"""Which encoder names the prior generator's conditions: the variant and one unit on the simulator."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_prior_conditions")


@pytest.fixture
def tiny(bench, shrink_adapt_unit):
    """ablate_adapt's unit, shrunk: the simulator as the target, two simulated people as pool."""
    return shrink_adapt_unit(bench.ablate_adapt)


def test_the_pretrained_variant_conditions_on_the_prior_s_own_encoder(
    bench, tiny, tmp_path, simulator_inner_split
):
    fit, _ = simulator_inner_split
    prior = bench.ablate_adapt.prior_for("sim", "S1", tmp_path)
    library = bench.make_sampler(("adapted", 2), prior, 0).fit(fit.X, fit.y)
    frozen = bench.make_sampler(("pretrained", 2), prior, 0).fit(fit.X, fit.y)
    scaled = (fit.X / frozen.encoder_.subject_scale_[:, None]).astype(np.float32)
    np.testing.assert_allclose(frozen.train_embeddings_, prior.encoder_.transform(scaled))
    # the fine-tuned encoder (the judge) is the library's, its embeddings are not used
    np.testing.assert_allclose(library.train_embeddings_, library.encoder_.transform(fit.X))
    assert not np.allclose(frozen.train_embeddings_, library.train_embeddings_)
    first = frozen.classes_[frozen._train_codes] == frozen.classes_[0]  # SASS fitted on them
    np.testing.assert_allclose(frozen.sampler_.means_[0], frozen.train_embeddings_[first].mean(0))
    assert (
        type(frozen).__name__ == "PretrainedConditionsSASG"
        and frozen.get_params()["prior"] is prior
    )


def test_one_unit_end_to_end_and_its_report(bench, tiny, tmp_path):
    import json

    unit = bench.ablate_adapt.run_unit(
        "sim", "S1", 0, variants=bench.VARIANTS, cache_dir=tmp_path, make_sampler=bench.make_sampler
    )
    for accuracy in unit["accuracy"].values():
        assert set(accuracy) == {"none", *bench.VARIANTS}
    assert all(unit["rms_ratio"][v] > 0 for v in bench.VARIANTS)
    other = json.loads(json.dumps(unit))
    other["seed"] = 1
    bench.write_report([unit, other], tmp_path / "report.md")
    report = (tmp_path / "report.md").read_text()
    assert "which encoder names the generator's conditions" in report
    assert "| sim | 1 × 2 | pretrained_75 |" in report and "Choice: **" in report
