"""How the estimators meet the rest of a user's stack: pandas labels, numpy's global seed,
and arrays the caller keeps changing after ``fit``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import RandomOverSampler

from semgaug_sk.augmentation import ClassicAugmenter, ComposedAugmenter
from semgaug_sk.classifiers import SpatioTemporalClassifier
from semgaug_sk.utils.validation import check_random_state_seed

RNG = np.random.default_rng(0)
X = RNG.standard_normal((24, 3, 32)).astype(np.float32)
LABELS = np.repeat(np.array(["fist", "open", "rest"]), 8)


@pytest.mark.parametrize(
    "series",
    [
        pd.Series(LABELS, name="gesture"),
        pd.Series(np.repeat([3, 1, 2], 8), name="code"),
        pd.Series(LABELS, name="gesture", dtype="category"),
    ],
    ids=["strings", "ints", "categorical"],
)
@pytest.mark.parametrize(
    "make_sampler",
    [
        lambda: ClassicAugmenter(random_state=0),
        lambda: ComposedAugmenter(ClassicAugmenter(), ClassicAugmenter(), random_state=0),
    ],
    ids=["classic", "composed"],
)
def test_series_labels_come_back_as_a_series(series, make_sampler):
    # an imbalanced-learn sampler returns a Series for a Series; ours do the same
    series.index = np.arange(100, 100 + len(series))  # an index the output cannot keep
    X_res, y_res = make_sampler().fit_resample(X, series)
    reference = RandomOverSampler(sampling_strategy="all").fit_resample(
        X.reshape(len(X), -1), series
    )[1]
    assert isinstance(y_res, pd.Series) and isinstance(reference, pd.Series)
    assert y_res.name == series.name and y_res.dtype == series.dtype
    assert len(y_res) == len(X_res) == 3 * len(X)
    assert y_res.iloc[: len(series)].tolist() == series.tolist()  # real labels unchanged
    assert set(y_res.iloc[len(series) :]) <= set(series)
    assert y_res.index.tolist() == list(range(len(y_res)))  # a fresh index, as imblearn's


def test_numpy_arrays_and_lists_keep_numpy_labels():
    _, y_list = ClassicAugmenter(random_state=0).fit_resample(X, LABELS.tolist())
    _, y_array = ClassicAugmenter(random_state=0).fit_resample(X, LABELS)
    assert isinstance(y_list, np.ndarray) and isinstance(y_array, np.ndarray)
    assert y_list.tolist() == y_array.tolist()


def test_series_labels_train_a_network_after_resampling():
    y = pd.Series(LABELS, name="gesture")
    X_res, y_res = ClassicAugmenter(random_state=0).fit_resample(X, y)
    clf = SpatioTemporalClassifier(min_steps=None, max_epochs=1, random_state=0).fit(X_res, y_res)
    assert clf.classes_.tolist() == ["fist", "open", "rest"]
    assert set(clf.predict(X).tolist()) <= set(LABELS)


@pytest.fixture
def global_numpy_state():
    """Leave numpy's global RandomState as the test found it."""
    state = np.random.get_state()  # noqa: NPY002 (the legacy global state is what is tested)
    yield
    np.random.set_state(state)  # noqa: NPY002


def test_random_state_none_follows_numpys_global_seed(global_numpy_state):
    # scikit-learn's convention: random_state=None draws from numpy's global RandomState
    np.random.seed(7)  # noqa: NPY002
    first = check_random_state_seed(None), check_random_state_seed(None)
    np.random.seed(7)  # noqa: NPY002
    again = check_random_state_seed(None), check_random_state_seed(None)
    assert first == again and first[0] != first[1]
    assert all(0 <= s < 2**31 for s in first)

    outputs = []
    for _ in range(2):
        np.random.seed(11)  # noqa: NPY002
        outputs.append(ClassicAugmenter().fit_resample(X, LABELS)[0])
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.random.seed(12)  # noqa: NPY002
    assert not np.array_equal(outputs[0], ClassicAugmenter().fit_resample(X, LABELS)[0])


def test_classic_generation_ignores_later_changes_to_the_callers_windows():
    windows = X.copy()
    reference = ClassicAugmenter(random_state=0).fit(windows, LABELS).generate(4)
    augmenter = ClassicAugmenter(random_state=0).fit(windows, LABELS)
    windows *= 100.0  # the caller rescales its own array in place after fit
    after = augmenter.generate(4)
    np.testing.assert_array_equal(reference[0], after[0])
    assert reference[1].tolist() == after[1].tolist()


def test_a_series_like_object_that_is_not_pandas_keeps_numpy_labels():
    class Series(list):  # e.g. a polars Series: named Series, with a dtype, not pandas
        dtype = "Int64"
        name = "y"

    _, y_res = ClassicAugmenter(random_state=0).fit_resample(X, Series(LABELS.tolist()))
    assert isinstance(y_res, np.ndarray)


def test_a_child_forked_while_a_thread_trains_can_still_train():
    import multiprocessing
    import sys
    import threading

    from semgaug_sk.utils.torch_utils import torch_seed

    if sys.platform != "linux":
        pytest.skip("fork is the default start method on Linux only")
    holding, release = threading.Event(), threading.Event()

    def hold():
        with torch_seed(0):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(10)
    child = multiprocessing.get_context("fork").Process(target=_seeded_draw)
    child.start()
    child.join(20)
    release.set()
    thread.join()
    assert child.exitcode == 0  # it was left waiting for the parent's lock before


def _seeded_draw():
    from semgaug_sk.utils.torch_utils import torch_seed

    with torch_seed(1):
        pass


def test_a_seeded_cpu_block_does_not_touch_cuda(monkeypatch):
    # on a GPU machine, reading every device's RNG state opens a CUDA context on each
    # (and fails in a worker forked from a CUDA parent): a CPU fit must not do it
    import torch

    from semgaug_sk.utils.torch_utils import torch_seed

    def touched(*args, **kwargs):
        raise AssertionError("CUDA RNG state read or written by a CPU fit")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", touched)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", touched)
    with torch_seed(3):
        a = torch.rand(2)
    with torch_seed(3):
        assert torch.equal(torch.rand(2), a)


def test_nested_params_of_a_default_or_a_name_get_a_fix_not_an_attribute_error():
    # scikit-learn said "'str' object has no attribute 'set_params'"
    from imblearn.pipeline import Pipeline
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import ParameterGrid

    from semgaug_sk import EMGFeatures, SASGAugmenter
    from semgaug_sk.augmentation import SASS, ComposedAugmenter

    pipe = Pipeline(
        [("aug", SASGAugmenter()), ("f", EMGFeatures()), ("c", LinearDiscriminantAnalysis())]
    )
    with pytest.raises(
        ValueError, match=r"sampling__epsilon sets parameters of sampling, which is 'sass'"
    ):
        pipe.set_params(aug__sampling__epsilon=0.5)
    with pytest.raises(ValueError, match=r"encoder__max_epochs .* which is None"):
        SASGAugmenter().set_params(encoder__max_epochs=3)
    with pytest.raises(ValueError, match=r"sampler__n_steps .* which is None"):
        ComposedAugmenter().set_params(sampler__n_steps=3)
    # a misspelt name keeps scikit-learn's own error
    with pytest.raises(ValueError, match="Invalid parameter 'samplr'"):
        ComposedAugmenter().set_params(samplr__k=1)
    # an estimator set in the same call, as a grid does, is fine
    for candidate in ParameterGrid({"aug__sampling": [SASS()], "aug__sampling__epsilon": [0.3]}):
        assert pipe.set_params(**candidate).named_steps["aug"].sampling.epsilon == 0.3
