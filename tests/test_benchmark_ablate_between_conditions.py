"""The between-real-embeddings condition sampler of ablate_between_conditions."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("ablate_between_conditions")


def test_between_real_draws_on_segments_of_each_class_and_is_seeded(bench):
    from sklearn.base import clone

    rng = np.random.default_rng(0)
    emb = np.concatenate([rng.normal(size=(10, 3)), rng.normal(size=(10, 3)) + 50])
    y = np.repeat(["a", "b"], 10)
    sampler = clone(bench.BetweenReal()).fit(emb, y)
    z, labels = sampler.sample({"a": 5, "b": 7}, 0)
    assert labels.tolist() == ["a"] * 5 + ["b"] * 7
    # every point lies in its class's bounding box (a convex combination of two of its rows)
    for label, rows in (("a", slice(0, 10)), ("b", slice(10, 20))):
        mine = z[labels == label]
        assert np.all(mine >= emb[rows].min(axis=0)) and np.all(mine <= emb[rows].max(axis=0))
    assert np.array_equal(sampler.sample(4, 1)[0], sampler.sample(4, 1)[0])
    assert sampler.sample({"a": 0}, 0)[0].shape == (0, 3)


def test_sasg_generates_from_it(bench):
    from semgaug_sk.augmentation import SASGAugmenter

    X = np.random.default_rng(0).normal(size=(24, 2, 32)).astype(np.float32)
    y = np.repeat([0, 1], 12)
    aug = SASGAugmenter(
        n_steps=2,
        base_channels=8,
        channel_mults=(1,),
        n_sampling_steps=2,
        batch_size=8,
        ratio=1.0,
        sampling=bench.BetweenReal(),
        random_state=0,
    )
    X_res, y_res = aug.fit_resample(X, y)
    assert X_res.shape == (48, 2, 32) and np.array_equal(X_res[:24], X)
