"""The base of the skorch-backed window estimators (``semgaug_sk.base``).

A downstream classifier on raw windows writes its parameters and ``_build_module``
only; everything else (checks, split, net, batching, interruption, tags, persistence,
unpickling) comes from the base. These tests build such a classifier and use it the
way a user would.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from skorch import NeuralNetRegressor

from semgaug_sk.base import BaseWindowNet, WindowClassifierMixin, forward_in_batches
from semgaug_sk.persistence import load_weights, save_weights

RNG = np.random.default_rng(0)
X = RNG.standard_normal((48, 2, 16)).astype(np.float32)
Y = np.repeat(np.array(["fist", "open", "rest"]), 16)
X[Y == "fist", 0] += 2.0


class _TinyNet(torch.nn.Module):
    def __init__(self, n_channels, n_times, n_classes, width):
        super().__init__()
        self.conv = torch.nn.Conv1d(n_channels, width, 3, padding=1)
        self.out = torch.nn.Linear(width, n_classes)

    def forward(self, x):
        return self.out(torch.relu(self.conv(x)).mean(dim=-1))


class TinyClassifier(WindowClassifierMixin, BaseWindowNet):
    """A downstream classifier written the way the base intends: parameters and a builder."""

    _noun = "classifier"

    def __init__(
        self,
        *,
        width=4,
        max_epochs=3,
        batch_size=8,
        lr=1e-2,
        weight_decay=0.0,
        validation_fraction=0.25,
        patience=5,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.width = width
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _build_module(self, n_channels, n_times, n_classes):
        return _TinyNet(n_channels, n_times, n_classes, self.width)


@pytest.fixture(scope="module")
def fitted():
    return TinyClassifier(random_state=0).fit(X, Y)


def test_a_subclass_with_only_a_builder_is_a_classifier(fitted):
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert set(fitted.predict(X)) <= set(Y) and fitted.predict(X).dtype == Y.dtype
    assert 0.0 <= fitted.score(X, Y) <= 1.0
    assert (fitted.n_channels_, fitted.n_times_, fitted.n_features_in_) == (2, 16, 32)
    assert fitted.training_interrupted_ is False and 1 <= fitted.n_epochs_ <= 3
    assert "valid_loss" in fitted.net_.history[-1]


def test_same_seed_same_model():
    a = TinyClassifier(random_state=3).fit(X, Y).predict_proba(X)
    b = TinyClassifier(random_state=3).fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_tags_clone_and_pickle(fitted):
    tags = fitted.__sklearn_tags__()
    assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array
    assert tags.target_tags.required and tags.estimator_type == "classifier"
    assert clone(fitted).get_params() == fitted.get_params()
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))


def test_weights_only_round_trip(fitted, tmp_path, monkeypatch):
    from semgaug_sk import persistence

    # the registry names the library's own classes; this test class is let in for the test
    monkeypatch.setitem(persistence.WEIGHTED_ESTIMATORS, "TinyClassifier", __name__)
    save_weights(fitted, tmp_path / "tiny.pt")
    loaded = load_weights(tmp_path / "tiny.pt")
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert len(loaded.net_.history) == len(fitted.net_.history)


def test_checks_at_fit_and_predict(fitted):
    with pytest.raises(ValueError, match=r"TinyClassifier: y has 1 class\(es\)"):
        TinyClassifier().fit(X, np.full(len(X), "fist"))
    with pytest.raises(ValueError, match=r"TinyClassifier: X must be 3-D"):
        TinyClassifier().fit(X[:, 0], Y)
    match = r"TinyClassifier: X has windows of shape \(1, 16\).*fitted on \(2, 16\).*or refit"
    with pytest.raises(ValueError, match=match):
        fitted.predict(X[:, :1])
    with pytest.raises(NotFittedError):
        TinyClassifier().predict_proba(X)


def test_a_class_too_small_to_hold_out_warns_and_trains_without_validation():
    y = np.array(["fist"] * 47 + ["open"])
    with pytest.warns(UserWarning, match=r"cannot hold out every class.*without early stopping"):
        clf = TinyClassifier(random_state=0).fit(X, y)
    assert clf.n_epochs_ == clf.max_epochs and "valid_loss" not in clf.net_.history[-1]


def test_a_failed_fit_leaves_the_estimator_as_it_was(fitted):
    clf = clone(fitted).fit(X, Y)
    before = clf.net_
    with pytest.raises(ValueError):
        clf.fit(X, Y[:-1])
    assert clf.net_ is before


def test_batched_inference_sees_one_batch_at_a_time():
    sizes = []

    def fn(batch):
        sizes.append(len(batch))
        return batch * 2

    module = torch.nn.Linear(1, 1).train()
    out = forward_in_batches(
        fn, np.ones((10, 3), np.float32), batch_size=4, device="cpu", module=module
    )
    # left in evaluation mode, as skorch's inference leaves it: restoring the training
    # mode switched dropout on under a prediction running in another thread
    assert sizes == [4, 4, 2] and out.shape == (10, 3) and not module.training


def test_predictions_from_several_threads_agree():
    from concurrent.futures import ThreadPoolExecutor

    from semgaug_sk.classifiers import SpatioTemporalClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3, 32)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    clf = SpatioTemporalClassifier(
        min_steps=None,
        n_temporal=4,
        dropout=0.5,
        gain_jitter=0.5,
        batch_size=4,
        max_epochs=1,
        random_state=0,
    ).fit(X, y)
    clf.net_.module_.train()  # as skorch leaves it after a training step
    expected = clf.predict_proba(X)
    clf.net_.module_.train()
    with ThreadPoolExecutor(3) as pool:  # 62 of 90 calls differed
        outputs = list(pool.map(lambda _: clf.predict_proba(X), range(90)))
    for out in outputs:
        np.testing.assert_array_equal(out, expected)


def test_a_model_saved_on_cuda_unpickles_on_cpu(fitted):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    state = dict(fitted.__getstate__(), device="cuda")
    est = TinyClassifier.__new__(TinyClassifier)
    with pytest.warns(UserWarning, match=r"saved with device='cuda'.*device is set to 'cpu'"):
        est.__setstate__(state)
    assert est.device == "cpu"


def test_accelerator_needs_a_classifier_net():
    class Regressor(BaseWindowNet):
        _net_class = NeuralNetRegressor

        def __init__(self, batch_size=4, max_epochs=1, weight_decay=0.0, verbose=0):
            self.batch_size = batch_size
            self.max_epochs = max_epochs
            self.weight_decay = weight_decay
            self.verbose = verbose

    with pytest.raises(TypeError, match="classifier nets only; pass accelerator=None"):
        Regressor()._make_net(torch.nn.Linear(1, 1), device=None, accelerator=object())


def test_warnings_free_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TinyClassifier(validation_fraction=0, random_state=0).fit(X, Y)


def test_read_only_input_is_predicted_without_a_torch_warning():
    import warnings

    import torch

    from semgaug_sk.base import forward_in_batches

    X = np.arange(10, dtype="float32").reshape(5, 2)
    X.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = forward_in_batches(torch.square, X, batch_size=2, device="cpu")
    np.testing.assert_array_equal(out, np.square(X))
