"""The target-scale probe: a half of the gestures against the all-gesture RMS."""

import numpy as np
import pytest
from sklearn.utils import Bunch


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("probe_target_scale")


def test_the_corrected_scale_of_a_half_is_nearer_the_all_gesture_rms(bench):
    rng = np.random.default_rng(0)
    loudness = np.array([0.2, 0.5, 2.0, 4.0])

    def person(gain, n=30):
        y = np.repeat(np.arange(4), n)
        X = rng.normal(size=(len(y), 2, 16)) * loudness[y][:, None, None] * gain[:, None]
        return X, y

    parts = [person(rng.uniform(0.5, 2.0, 2)) for _ in range(3)]
    pool = (
        np.concatenate([X for X, _ in parts]),
        np.concatenate([y for _, y in parts]),
        np.repeat(["a", "b", "c"], 120),
    )
    X, y = person(np.array([3.0, 0.1]), n=100)
    plain, corrected = bench.scale_errors(pool, Bunch(X=X, y=y), 10, rng)
    assert plain > 0.2 and corrected < 0.1
