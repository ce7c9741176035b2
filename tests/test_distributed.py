"""A grid search over an augmentation pipeline gives the same result on a dask cluster.

``GridSearchCV`` over ``[ClassicAugmenter, EMGFeatures, LDA]`` on simulated
windows, with leave-one-repetition-out CV, runs once under
``joblib.parallel_backend("dask")`` on a two-process ``LocalCluster`` and once
with joblib's default back-end. Every fit receives a clone carrying its own
``random_state``, and the estimators pickle, so where a fit runs must not change
anything: the best parameters and every ``cv_results_`` test score must be equal.
"""

from __future__ import annotations

import logging

import joblib
import numpy as np
import pytest

distributed = pytest.importorskip(
    "dask.distributed", reason="dask.distributed is not installed: pip install -e '.[dist]'"
)

from imblearn.pipeline import Pipeline  # noqa: E402
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # noqa: E402
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut  # noqa: E402

from semgaug_sk import ClassicAugmenter, EMGFeatures  # noqa: E402
from semgaug_sk.datasets import make_semg_gestures  # noqa: E402
from semgaug_sk.model_selection import repetition_split  # noqa: E402
from semgaug_sk.windows import sliding_windows  # noqa: E402

PARAM_GRID = {
    "aug__ratio": [0.0, 1.0, 2.0],
    "aug__methods": [("jitter", "scaling"), ("magnitude_warp", "time_warp")],
}


@pytest.fixture(scope="module")
def dask_client():
    """A two-process, one-thread-per-worker local cluster, closed after the module."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def windows():
    rec = make_semg_gestures(n_classes=4, n_repetitions=4, fs=500.0, random_state=0)
    train, _ = repetition_split(sliding_windows(rec, window_ms=200, step_ms=100), [1, 2, 3])
    return train


def _search(n_jobs):
    pipeline = Pipeline(
        [
            ("aug", ClassicAugmenter(random_state=0)),
            ("feat", EMGFeatures("hudgins")),
            ("clf", LinearDiscriminantAnalysis()),
        ]
    )
    return GridSearchCV(pipeline, PARAM_GRID, cv=LeaveOneGroupOut(), n_jobs=n_jobs)


def test_dask_search_equals_default_backend(dask_client, windows):
    on_dask = _search(n_jobs=-1)
    with distributed.get_task_stream(dask_client) as tasks:
        with joblib.parallel_backend("dask"):
            on_dask.fit(windows.X, windows.y, groups=windows.repetition)
    # the fits really ran on the cluster's workers
    workers = set(dask_client.scheduler_info()["workers"])
    assert tasks.data, "no task ran on the dask cluster"
    assert {t["worker"] for t in tasks.data} <= workers

    local = _search(n_jobs=1).fit(windows.X, windows.y, groups=windows.repetition)

    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    n_splits = len(np.unique(windows.repetition))
    for k in range(n_splits):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(on_dask.cv_results_[key], local.cv_results_[key])
    # augmentation changed the scores, so the comparison is not between constants
    assert np.unique(local.cv_results_["mean_test_score"]).size > 1


def test_dask_search_with_scattered_windows(dask_client, windows):
    """Scattering the windows to the workers once gives the same search result."""
    search = _search(n_jobs=-1)
    with joblib.parallel_backend("dask", scatter=[windows.X, windows.y]):
        search.fit(windows.X, windows.y, groups=windows.repetition)
    local = _search(n_jobs=1).fit(windows.X, windows.y, groups=windows.repetition)
    assert search.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )


def test_threaded_searches_give_the_results_of_processes_and_leave_the_callers_generator():
    # torch has one global generator per process: seeded fits in threads take turns with it
    import torch
    from joblib import parallel_backend
    from sklearn.model_selection import GridSearchCV

    from semgaug_sk.encoders import SemanticEncoder

    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 2, 16)).astype(np.float32)
    y = np.repeat([0, 1, 2], 16)
    X[y == 1, 0] += 1.0

    def search(backend, n_jobs):
        encoder = SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=3)
        grid = GridSearchCV(
            encoder.set_params(random_state=0),
            {"lr": [1e-3, 1e-2], "dropout": [0.0, 0.2]},
            cv=2,
            n_jobs=n_jobs,
        )
        with parallel_backend(backend):
            grid.fit(X, y)
        return grid.cv_results_["mean_test_score"]

    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    threaded = search("threading", 4)
    assert torch.equal(torch.random.get_rng_state(), before)
    np.testing.assert_array_equal(threaded, search("sequential", 1))
