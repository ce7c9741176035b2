"""Run the augmentation grid search on a dask cluster (and check it changes nothing).

The estimators are ordinary scikit-learn estimators, so joblib's dask back-end
distributes a :class:`~sklearn.model_selection.GridSearchCV` over them with no
change to the model code. This script

1. starts a :class:`dask.distributed.LocalCluster` with two worker *processes*
   of one thread each (replace it by ``Client("tcp://scheduler:8786")`` to use a
   real cluster whose workers have torch and semgaug_sk installed);
2. runs the search of ``plot_pipeline_gridsearch.py`` (augmenter -> Hudgins
   features -> LDA, leave-one-repetition-out over training repetitions 1-3) inside
   ``joblib.parallel_backend("dask")``, scattering the training windows to the
   workers once;
3. prints the best parameters and the accuracy on the held-out repetitions 4-6;
4. runs the same search with joblib's default back-end and checks that the best
   parameters and every ``cv_results_`` score are identical: each fit gets a
   clone of the pipeline with its own ``random_state``, so where it runs does not
   matter.

Needs ``pip install "semgaug_sk[dist]"`` (dask[distributed]). Run it with
``python examples/plot_distributed_search.py``.

Ray offers the same through its joblib back-end (not a dependency of this
library, and not run here)::

    import ray
    from ray.util.joblib import register_ray

    ray.init(address="auto")          # or ray.init() for a local Ray instance
    register_ray()
    with joblib.parallel_backend("ray"):
        search.fit(train.X, train.y, groups=train.repetition)
"""

from __future__ import annotations

import argparse
import time

import joblib
import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut

from semgaug_sk import ClassicAugmenter, EMGFeatures
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import repetition_split
from semgaug_sk.windows import sliding_windows

TRAIN_REPETITIONS = [1, 2, 3]
PARAM_GRID = {
    "aug__ratio": [0.0, 1.0, 2.0],
    "aug__methods": [("jitter", "scaling"), ("jitter", "scaling", "magnitude_warp", "time_warp")],
    "aug__jitter_sigma": [0.05, 0.2],
}


def make_search():
    pipeline = Pipeline(
        [
            ("aug", ClassicAugmenter(random_state=0)),
            ("feat", EMGFeatures("hudgins")),
            ("clf", LinearDiscriminantAnalysis()),
        ]
    )
    return GridSearchCV(pipeline, PARAM_GRID, cv=LeaveOneGroupOut(), n_jobs=-1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-workers", type=int, default=2, help="dask worker processes")
    args = parser.parse_args(argv)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SystemExit(
            'This example needs dask.distributed: pip install "semgaug_sk[dist]"'
        ) from None

    rec = make_semg_gestures(n_subjects=1, n_classes=6, n_repetitions=6, random_state=1)
    windows = sliding_windows(rec, window_ms=200, step_ms=100)
    train, test = repetition_split(windows, TRAIN_REPETITIONS)
    print(f"{len(train.y)} training windows, {len(test.y)} test windows")

    with (
        LocalCluster(
            n_workers=args.n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        print(f"dask cluster: {len(client.scheduler_info()['workers'])} workers")
        distributed = make_search()
        start = time.perf_counter()
        with joblib.parallel_backend("dask", scatter=[train.X, train.y]):
            distributed.fit(train.X, train.y, groups=train.repetition)
        dask_time = time.perf_counter() - start

    local = make_search()
    start = time.perf_counter()
    local.fit(train.X, train.y, groups=train.repetition)
    local_time = time.perf_counter() - start

    print(f"best parameters (dask): {distributed.best_params_}")
    print(f"inner-CV accuracy: {100 * distributed.best_score_:.1f} %")
    print(f"test accuracy on repetitions 4-6: {100 * distributed.score(test.X, test.y):.1f} %")
    same_params = distributed.best_params_ == local.best_params_
    same_scores = np.array_equal(
        distributed.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    print(
        f"dask {dask_time:.1f} s, default back-end {local_time:.1f} s; same best parameters: "
        f"{same_params}; identical cv_results_ scores: {same_scores}"
    )
    if not (same_params and same_scores):
        raise SystemExit("the dask and default back-ends disagree")


if __name__ == "__main__":
    main()
