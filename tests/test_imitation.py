"""Tests of FeatureImitator and FINClassifier (LSTM-FIN) and their torch modules.

scikit-learn's ``check_estimator`` does not apply: it feeds 2-D feature matrices,
while both estimators take 3-D windows ``(n_windows, n_channels, n_times)`` and
reject 2-D input on purpose. The relevant checks are done by hand: layout and
names, R² against the closed-form features, determinism, clone/pickle/joblib,
GridSearchCV with a repetition-aware CV, an imbalanced-learn Pipeline after an
augmenter, string labels, and each bad input.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
import torch
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut
from sklearn.utils._param_validation import InvalidParameterError

from semgaug_sk.augmentation.base import BaseWindowSampler
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.features import ConstantFeatureWarning, EMGFeatures, extract_features
from semgaug_sk.imitation import FEATURE_DEGREES, FeatureImitator, FINClassifier
from semgaug_sk.nn import FeatureImitatorNet, FeatureMapCNN, FINNetwork
from semgaug_sk.nn.fin import (
    ENT_DEGREE,
    from_normalized_target,
    pack_steps,
    samples_per_step_for,
    to_normalized_target,
    window_amplitude,
)
from semgaug_sk.windows import sliding_windows

TINY_IMITATOR = dict(hidden_size=8, num_layers=1, max_epochs=3, batch_size=128, patience=2)
TINY_CLF = dict(head_channels=(8, 8, 8), max_epochs=5, fine_tune_epochs=2, patience=2)


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Run this module's tiny models on one torch thread, then restore the setting.

    Tiny models gain nothing from intra-op threads, and under ``pytest -n 2`` two
    workers with two threads each oversubscribe a 2-core machine.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def data():
    """Simulated windows: 3 gestures x 4 repetitions, 3 channels, 40 samples."""
    rec = make_semg_gestures(n_classes=3, n_repetitions=4, n_channels=3, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=200, step_ms=100)
    names = np.array(["fist", "open", "pinch"])
    return w.X, names[w.y - 1], w.repetition


@pytest.fixture(scope="module")
def imitator(data):
    X, _, _ = data
    return FeatureImitator(**TINY_IMITATOR, random_state=0).fit(X)


@pytest.fixture(scope="module")
def classifier(data, imitator):
    X, y, _ = data
    return FINClassifier(imitator, **TINY_CLF, random_state=0).fit(X, y)


# -- torch modules --------------------------------------------------------------------------
def test_normalized_target_round_trip():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(50, 20)) * rng.lognormal(size=(50, 1)))
    a = window_amplitude(x, 1.0)
    deg = torch.tensor([1, 2, 2, ENT_DEGREE, 0])
    F = torch.from_numpy(rng.uniform(0.1, 2.5, size=(50, 5)))
    back = from_normalized_target(to_normalized_target(F, a, deg, 20), a, deg, 20)
    torch.testing.assert_close(back, F)


def test_feature_degrees_match_the_closed_form_features():
    """The amplitude laws used by standardize='window' hold for extract_features."""
    X = np.random.default_rng(1).normal(size=(20, 2, 30))
    c = 3.0
    for name, degree in FEATURE_DEGREES.items():
        if degree == ENT_DEGREE:
            continue
        np.testing.assert_allclose(
            extract_features(c * X, name), c**degree * extract_features(X, name), rtol=1e-6
        )
    # ent: log(n) - ent ~ a^2 var(x / a) / 2 for small amplitudes (the law's small-a limit)
    small = 1e-3 * X
    d = np.log(30) - extract_features(small, "ent")[..., 0]
    np.testing.assert_allclose(d, small.var(axis=-1) / 2, rtol=1e-2)


@pytest.mark.parametrize("n_channels", [1, 3, 10])
@pytest.mark.parametrize("n_shadow", [0, 2])
def test_feature_map_cnn_any_channel_count(n_channels, n_shadow):
    head = FeatureMapCNN(n_features=4, n_channels=n_channels, n_classes=5, n_shadow=n_shadow)
    head.eval()
    z = torch.randn(6, 4, n_channels)
    out = head(z)
    assert out.shape == (6, 5)
    torch.testing.assert_close(head(z), out)  # shadow copies are exact in eval mode


def test_shadow_noise_only_in_training():
    torch.manual_seed(0)
    head = FeatureMapCNN(4, 3, 2, dropout=0.0, n_shadow=3, shadow_noise=1.0)
    z = torch.randn(8, 4, 3)
    head.train()
    a, b = head(z), head(z)
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("architecture", ["per_feature", "shared"])
@pytest.mark.parametrize("mode", ["window", "global"])
def test_imitator_net_shapes(architecture, mode):
    net = FeatureImitatorNet(
        3,
        16,
        (1, 2, ENT_DEGREE),
        1.0,
        (0, 0, 0),
        (1, 1, 1),
        mode=mode,
        architecture=architecture,
        hidden_size=4,
        num_layers=1,
    )
    x = torch.randn(7, 16)
    assert net(x).shape == (7, 3)
    assert net.features(x).shape == (7, 3)
    expected_lstms = 3 if architecture == "per_feature" else 1
    assert len(net.nets) == expected_lstms


def test_fin_network_is_differentiable_end_to_end():
    net = _small_fin_network(ref=(1.0, 1.0), mean=(0.0, 0.0), sd=(1.0, 1.0)).train()
    net(torch.randn(5, 3, 10)).sum().backward()
    assert all(p.grad is not None for p in net.imitator.parameters())


def _small_fin_network(ref=(1.0, 2.0), mean=(0.5, -0.25), sd=(2.0, 3.0)):
    kw = dict(
        n_features=2,
        n_times=10,
        degrees=(1, 2),
        input_scale=1.0,
        target_mean=(0, 0),
        target_scale=(1, 1),
        hidden_size=4,
        num_layers=1,
    )
    torch.manual_seed(0)
    net = FINNetwork(
        kw,
        FeatureMapCNN,
        {},
        n_channels=3,
        n_classes=2,
        feature_ref=ref,
        feature_mean=mean,
        feature_sd=sd,
    )
    return net.eval()  # no dropout: outputs compare exactly


def test_fin_network_has_no_float64_state_and_loads_older_files():
    """MPS refuses float64 tensors, so ``.to("mps")`` must find none in the module's state.

    The float64 standardisation statistics are a plain CPU tensor narrowed to the
    features' dtype at each call; state dicts and pickles of earlier builds, which
    held them as float64 buffers, still load.
    """
    import pickle

    net = _small_fin_network()
    moved = [*net.parameters(), *net.buffers()]  # what Module.to moves
    assert not [t for t in moved if t.dtype == torch.float64]
    assert net.feature_stats.dtype == torch.float64
    state = net.state_dict()
    torch.testing.assert_close(state["_extra_state"], net.feature_stats)  # saved and loaded
    placeholder = _small_fin_network(ref=(1.0, 1.0), mean=(0.0, 0.0), sd=(1.0, 1.0))
    placeholder.load_state_dict(state)
    torch.testing.assert_close(placeholder.feature_stats, net.feature_stats)
    state.pop("_extra_state")
    X = torch.randn(4, 3, 10)
    expected = net(X)
    # an earlier build's state dict: the same weights plus three float64 buffers
    legacy = dict(state)
    for name, value in zip(("ref", "mean", "sd"), net.feature_stats, strict=True):
        legacy[f"feature_{name}"] = value.clone()
    fresh = _small_fin_network(ref=(1.0, 1.0), mean=(0.0, 0.0), sd=(1.0, 1.0))
    fresh.load_state_dict(legacy)  # strict: the legacy keys are accepted, nothing is missing
    torch.testing.assert_close(fresh(X), expected)
    # an earlier build's pickle: the statistics in _buffers, no feature_stats attribute
    old = _small_fin_network()
    for name, value in zip(("ref", "mean", "sd"), old.feature_stats, strict=True):
        old.register_buffer(f"feature_{name}", value.clone())
    del old.feature_stats
    restored = pickle.loads(pickle.dumps(old))
    assert "feature_ref" not in restored._buffers
    torch.testing.assert_close(restored.feature_stats, net.feature_stats)
    torch.testing.assert_close(restored(X), expected)


# -- FeatureImitator ----------------------------------------------------------------------
def test_transform_layout_and_names_match_emg_features(data, imitator):
    X, _, _ = data
    Z = imitator.transform(X)
    ref = EMGFeatures().fit(X)
    assert Z.shape == ref.transform(X).shape
    assert Z.dtype == np.float32
    np.testing.assert_array_equal(imitator.get_feature_names_out(), ref.get_feature_names_out())
    assert imitator.transform(X.astype(np.float64)).dtype == np.float64
    # input_features is checked as EMGFeatures checks it (it was ignored)
    n_in = imitator.n_features_in_
    np.testing.assert_array_equal(
        imitator.get_feature_names_out([f"x{i}" for i in range(n_in)]),
        ref.get_feature_names_out(),
    )
    for est in (imitator, ref):
        with pytest.raises(ValueError, match=f"length equal to number of features \\({n_in}\\)"):
            est.get_feature_names_out(["a"])
    # channel-major layout: column c * n_features + j is feature j of channel c
    F3 = imitator._imitate3d(X)
    np.testing.assert_allclose(Z[:, 1 * 4 + 2], F3[:, 1, 2])


def test_r2_is_against_closed_form_features_in_original_units(data, imitator):
    X, _, _ = data
    r2 = imitator.r2_per_feature(X)
    assert list(r2) == ["rms", "var", "ssi", "ent"]
    F = extract_features(X).astype(np.float64)
    F_hat = imitator.transform(X).reshape(F.shape).astype(np.float64)
    assert r2["ssi"] == pytest.approx(r2_score(F[..., 2].ravel(), F_hat[..., 2].ravel()))
    assert imitator.score(X) == pytest.approx(np.mean(list(r2.values())))
    # the reference is closed-form in float64 whatever the input dtype (as at fit): a
    # float32 ent keeps log(n) - ent to ~1e-7 only, which shows at small amplitudes
    small = X.astype(np.float32) * np.float32(1e-3)
    assert imitator.r2_per_feature(small)["ent"] == pytest.approx(
        imitator.r2_per_feature(small.astype(np.float64))["ent"], rel=1e-4
    )


@pytest.mark.parametrize(
    "standardize, features, bounds",
    [("global", ["rms", "ssi"], (0.95, 0.9)), ("window", ["ent"], (0.85,))],
)
def test_training_learns_the_features(data, standardize, features, bounds):
    """A short fit reproduces the simulator's features closely, far better than an untrained net.

    With ``standardize="window"`` an untrained net already gets rms/ssi nearly right
    (the amplitude law carries most of their variance), so the gain is measured on
    ``ent``, which the law does not explain.
    """
    X, _, _ = data
    common = dict(
        hidden_size=16,
        num_layers=1,
        batch_size=64,
        validation_fraction=0,
        standardize=standardize,
        random_state=0,
    )
    untrained = FeatureImitator(features, max_epochs=1, lr=1e-7, **common).fit(X)
    trained = FeatureImitator(features, max_epochs=40, **common).fit(X)
    r2, r2_untrained = trained.r2_per_feature(X), untrained.r2_per_feature(X)
    for name, bound in zip(features, bounds, strict=True):
        assert r2[name] > bound, r2
        assert r2[name] > r2_untrained[name] + 0.2, (r2, r2_untrained)


def test_determinism_under_random_state(data):
    X, _, _ = data
    a = FeatureImitator(**TINY_IMITATOR, random_state=3).fit(X).transform(X)
    b = FeatureImitator(**TINY_IMITATOR, random_state=3).fit(X).transform(X)
    c = FeatureImitator(**TINY_IMITATOR, random_state=4).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def _train_sizes(net):
    """Training sequences seen in each epoch, from skorch's batch log."""
    return [
        sum(b["train_batch_size"] for b in row["batches"] if "train_batch_size" in b)
        for row in net.history
    ]


def _valid_size(net):
    return sum(b["valid_batch_size"] for b in net.history[0]["batches"] if "valid_batch_size" in b)


def test_max_sequences_subsample_is_used_and_seeded(data):
    X, _, _ = data
    params = dict(TINY_IMITATOR, max_epochs=2, max_sequences=60, validation_fraction=0.25)
    a = FeatureImitator(**params, random_state=5).fit(X)
    assert a.n_train_sequences_ == 60
    assert _train_sizes(a.net_) == [60, 60]
    assert _valid_size(a.net_) == 20  # capped in proportion: 60 * 0.25 / 0.75
    b = FeatureImitator(**params, random_state=5).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = FeatureImitator(**params, random_state=6).fit(X)
    assert not np.array_equal(a.transform(X), c.transform(X))
    assert a.get_params()["max_sequences"] == 60  # stored unchanged


def test_max_sequences_none_or_large_uses_every_sequence(data):
    X, _, _ = data
    n_all = X.shape[0] * X.shape[1]
    params = dict(TINY_IMITATOR, max_epochs=1, validation_fraction=0)
    full = FeatureImitator(**params, max_sequences=None, random_state=0).fit(X)
    large = FeatureImitator(**params, max_sequences=10 * n_all, random_state=0).fit(X)
    assert full.n_train_sequences_ == large.n_train_sequences_ == n_all
    np.testing.assert_array_equal(full.transform(X), large.transform(X))


def test_fine_tune_max_windows_subsample_is_used_and_seeded(data, imitator):
    X, y, _ = data
    params = dict(TINY_CLF, fine_tune_epochs=1, fine_tune_max_windows=30)
    a = FINClassifier(imitator, **params, random_state=2).fit(X, y)
    assert a.n_fine_tune_windows_ == 30
    assert _train_sizes(a.net_) == [30]
    assert _valid_size(a.net_) == int(np.ceil(30 * 0.15 / 0.85))
    assert len(a.head_net_.history[0]["batches"]) > 1  # the head still trains on every window
    b = FINClassifier(imitator, **params, random_state=2).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    full = FINClassifier(imitator, **dict(params, fine_tune_max_windows=None), random_state=2)
    full.fit(X, y)
    assert full.n_fine_tune_windows_ > 30
    off = FINClassifier(imitator, **dict(params, fine_tune=False), random_state=2).fit(X, y)
    assert off.n_fine_tune_windows_ == 0


@pytest.mark.parametrize("value", [0, -3, 2.5, "all"])
def test_bad_subsample_parameters(data, value):
    X, y, _ = data
    with pytest.raises(InvalidParameterError, match="max_sequences"):
        FeatureImitator(max_sequences=value).fit(X)
    with pytest.raises(InvalidParameterError, match="fine_tune_max_windows"):
        FINClassifier(fine_tune_max_windows=value).fit(X, y)


@pytest.mark.parametrize("architecture", ["per_feature", "shared"])
@pytest.mark.parametrize("standardize", ["window", "global"])
def test_architectures_and_standardizations_fit(data, architecture, standardize):
    X, _, _ = data
    fin = FeatureImitator(
        ["rms", "ent"],
        architecture=architecture,
        standardize=standardize,
        hidden_size=4,
        num_layers=1,
        max_epochs=1,
        random_state=0,
    ).fit(X[:40])
    assert fin.transform(X[:5]).shape == (5, 3 * 2)
    assert np.isfinite(fin.score(X[:40]))
    n_params = sum(p.numel() for p in fin.net_.module_.parameters())
    assert n_params > 0


def test_per_feature_networks_train_as_if_alone():
    """Summed losses and per-network clipping: one feature's gradient never scales another's."""
    from types import SimpleNamespace

    from semgaug_sk.imitation import _FeatureSumMSE, _PerNetworkClipping

    torch.manual_seed(0)
    net = FeatureImitatorNet(2, 12, (1, 2), 1.0, (0, 0), (1, 1), hidden_size=4, num_layers=1)
    x = torch.randn(16, 12)
    target = torch.stack([torch.zeros(16), torch.full((16,), 1e4)], dim=1)  # huge error on f1
    _FeatureSumMSE()(net(x), target).backward()
    grads0 = [p.grad.clone() for p in net.nets[0].parameters()]
    # the gradient of network 0 is that of its own MSE, whatever network 1 does
    net.zero_grad()
    torch.mean((net(x)[:, 0] - target[:, 0]) ** 2).backward()
    for g, p in zip(grads0, net.nets[0].parameters(), strict=True):
        torch.testing.assert_close(g, p.grad)
    net.zero_grad()
    _FeatureSumMSE()(net(x), target).backward()
    norm0 = torch.nn.utils.get_total_norm([p.grad for p in net.nets[0].parameters()])
    _PerNetworkClipping(1.0).on_grad_computed(SimpleNamespace(module_=net), None)
    norms = [torch.nn.utils.get_total_norm([p.grad for p in sub.parameters()]) for sub in net.nets]
    assert norms[1] <= 1.0 + 1e-5  # the huge gradient is clipped...
    expected0 = min(float(norm0), 1.0)
    assert float(norms[0]) == pytest.approx(expected0, rel=1e-5)  # ...without shrinking net 0


def test_early_stopping_and_validation_fraction(data):
    X, _, _ = data
    no_valid = FeatureImitator(
        **{**TINY_IMITATOR, "max_epochs": 2}, validation_fraction=0, random_state=0
    ).fit(X)
    assert no_valid.n_epochs_ == 2
    assert "valid_loss" not in no_valid.net_.history[-1]
    with_valid = FeatureImitator(**TINY_IMITATOR, random_state=0).fit(X)
    assert "valid_loss" in with_valid.net_.history[-1]


def test_verbose_prints_the_training_log(data, capsys):
    X, _, _ = data
    FeatureImitator(**{**TINY_IMITATOR, "max_epochs": 1}, verbose=1, random_state=0).fit(X)
    assert "train_loss" in capsys.readouterr().out
    FeatureImitator(**{**TINY_IMITATOR, "max_epochs": 1}, random_state=0).fit(X)
    assert capsys.readouterr().out == ""


def test_imitator_pickle_and_joblib_round_trip(data, imitator):
    X, _, _ = data
    expected = imitator.transform(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(imitator)).transform(X), expected)
    buf = io.BytesIO()
    joblib.dump(imitator, buf)
    buf.seek(0)
    np.testing.assert_array_equal(joblib.load(buf).transform(X), expected)


def test_imitator_clone_and_params():
    est = FeatureImitator(["rms"], hidden_size=5, architecture="shared")
    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    assert cloned.set_params(hidden_size=7).hidden_size == 7


# -- FINClassifier -------------------------------------------------------------------------
def test_classifier_string_labels_round_trip(data, classifier):
    X, y, _ = data
    assert classifier.classes_.tolist() == ["fist", "open", "pinch"]
    pred = classifier.predict(X)
    assert set(pred.tolist()) <= {"fist", "open", "pinch"}
    proba = classifier.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(pred, classifier.classes_[proba.argmax(axis=1)])
    assert classifier.feature_maps(X[:4]).shape == (4, 4, 3)


def test_classifier_learns_the_gestures(data, imitator):
    X, y, rep = data
    train, test = rep <= 2, rep > 2
    clf = FINClassifier(imitator, max_epochs=60, fine_tune=False, random_state=0)
    clf.fit(X[train], y[train])
    assert clf.score(X[test], y[test]) > 0.7


def test_classifier_pickle_and_joblib_round_trip(data, classifier):
    X, _, _ = data
    expected = classifier.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(classifier)).predict_proba(X), expected)
    buf = io.BytesIO()
    joblib.dump(classifier, buf)
    buf.seek(0)
    np.testing.assert_array_equal(joblib.load(buf).predict_proba(X), expected)


def test_classifier_determinism(data, imitator):
    X, y, _ = data
    a = FINClassifier(imitator, **TINY_CLF, random_state=1).fit(X, y).predict_proba(X)
    b = FINClassifier(imitator, **TINY_CLF, random_state=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_default_imitator_is_fitted_and_seeded(data):
    X, y, _ = data
    clf = FINClassifier(**TINY_CLF, fine_tune=False, random_state=0)
    clf.set_params(max_epochs=1)
    # a tiny default imitator keeps this test fast
    clf.set_params(imitator=FeatureImitator(**TINY_IMITATOR))
    clf.fit(X, y)
    assert clf.imitator_.random_state == 0
    assert clf.imitator.random_state is None  # the user's object is untouched
    assert not hasattr(clf.imitator, "net_")


def test_prefit_imitator_is_reused_not_refit(data, imitator):
    X, y, _ = data
    before = {k: v.clone() for k, v in imitator.net_.module_.state_dict().items()}
    clf = FINClassifier(imitator, **TINY_CLF, validation_fraction=0, random_state=0).fit(X, y)
    reused = clf.imitator_.net_.module_.state_dict()
    for key, value in before.items():
        torch.testing.assert_close(reused[key], value)
        torch.testing.assert_close(imitator.net_.module_.state_dict()[key], value)
    assert clf.imitator_ is not imitator
    # fine-tuning changed the end-to-end network's copy of the imitator
    tuned = clf.net_.module_.imitator.state_dict()
    assert clf.fine_tuned_
    assert any(not torch.equal(tuned[k], before[k]) for k in before if k.startswith("nets"))
    # refit_imitator=True refits a clone (same parameters, same seed) on the new windows
    refit = FINClassifier(imitator, **TINY_CLF, refit_imitator=True).fit(X[::2], y[::2])
    refit_state = refit.imitator_.net_.module_.state_dict()
    assert any(not torch.equal(refit_state[k], before[k]) for k in before if k.startswith("nets"))


def test_no_fine_tune_keeps_the_imitator(data, imitator):
    X, y, _ = data
    clf = FINClassifier(imitator, **TINY_CLF, fine_tune=False, random_state=0).fit(X, y)
    assert not clf.fine_tuned_
    original = imitator.net_.module_.state_dict()
    for key, value in clf.net_.module_.imitator.state_dict().items():
        torch.testing.assert_close(value, original[key])


def test_shadow_copies_option(data, imitator):
    X, y, _ = data
    clf = FINClassifier(imitator, **TINY_CLF, n_shadow=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


def test_custom_head_callable(data, imitator):
    X, y, _ = data

    class LinearHead(torch.nn.Module):
        def __init__(self, n_features, n_channels, n_classes):
            super().__init__()
            self.lin = torch.nn.Linear(n_features * n_channels, n_classes)

        def forward(self, z):
            return self.lin(z.flatten(1))

    clf = FINClassifier(
        imitator, head=LinearHead, max_epochs=2, fine_tune_epochs=1, random_state=0
    ).fit(X, y)
    assert isinstance(clf.net_.module_.head, LinearHead)
    assert clf.predict(X).shape == (len(X),)


@pytest.mark.parametrize(
    "outputs, inputs, match",
    [
        (5, None, r"the head maps 2 inputs to an output of shape \(2, 5\)"),
        (None, 5, r"the head cannot take feature maps of shape .* = \(batch, 4, "),
    ],
)
def test_a_users_head_must_take_the_maps_and_give_one_logit_per_class(data, outputs, inputs, match):
    # too many logits trained, then predict failed with an IndexError inside base.py
    X, y, _ = data

    def head(n_features, n_channels, n_classes):
        size = n_features * n_channels if inputs is None else inputs
        return torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(size, n_classes if outputs is None else outputs)
        )

    imitator = FeatureImitator(hidden_size=4, max_epochs=1, random_state=0)
    clf = FINClassifier(imitator, head=head, max_epochs=1, fine_tune_epochs=1, random_state=0)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_the_fine_tuning_cap_keeps_a_samplers_real_windows_first(data, imitator, monkeypatch):
    # a random draw of an augmented set kept fewer real windows than "none" fine-tunes on
    from semgaug_sk.augmentation import ClassicAugmenter

    X, y, _ = data
    X_res, y_res = ClassicAugmenter(random_state=0).fit_resample(X, y)
    chosen = {}
    draw = FINClassifier._fine_tune_windows

    def spy(self, train, valid, y_enc, seed):
        chosen["from"], (chosen["train"], chosen["valid"]) = (
            train,
            draw(self, train, valid, y_enc, seed),
        )
        return chosen["train"], chosen["valid"]

    monkeypatch.setattr(FINClassifier, "_fine_tune_windows", spy)
    cap = len(X)  # more than the real training windows, far fewer than all
    params = dict(TINY_CLF, fine_tune_epochs=1, fine_tune_max_windows=cap)
    FINClassifier(imitator, **params, random_state=0).fit(X_res, y_res)
    real = chosen["from"][chosen["from"] < len(X)]
    assert np.isin(real, chosen["train"]).all()
    assert len(chosen["train"]) >= cap > len(real)  # synthetic windows fill the rest
    assert (chosen["valid"] < len(X)).all()
    # a set without a record (the content of an output is recognised, so one value
    # changes) is drawn at random, as before
    unrecorded = X_res.copy()
    unrecorded[0, 0, 0] += 1.0
    FINClassifier(imitator, **params, random_state=0).fit(unrecorded, y_res)
    assert not np.isin(chosen["from"][chosen["from"] < len(X)], chosen["train"]).all()


def test_clone_get_params_and_nested_params(imitator):
    clf = FINClassifier(FeatureImitator(hidden_size=8), lr_head=0.01)
    cloned = clone(clf)
    assert cloned.get_params()["imitator__hidden_size"] == 8
    assert cloned.lr_head == 0.01
    cloned.set_params(imitator__hidden_size=4)
    assert cloned.imitator.hidden_size == 4 and clf.imitator.hidden_size == 8
    # a fitted imitator survives clone only when frozen
    frozen = FrozenEstimator(imitator)
    assert hasattr(clone(FINClassifier(frozen)).imitator.estimator, "net_")
    assert not hasattr(clone(FINClassifier(imitator)).imitator, "net_")


def test_grid_search_with_repetition_cv_and_frozen_imitator(data, imitator):
    X, y, rep = data
    search = GridSearchCV(
        FINClassifier(FrozenEstimator(imitator), **TINY_CLF, fine_tune=False, random_state=0),
        {"head_dropout": [0.0, 0.5]},
        cv=LeaveOneGroupOut(),
    )
    search.fit(X, y, groups=rep)
    assert search.best_params_["head_dropout"] in (0.0, 0.5)
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert search.predict(X[:3]).shape == (3,)


class _DuplicateSampler(BaseWindowSampler):
    """Tiny sampler for the Pipeline test: noisy copies of random real windows."""

    def _fit(self, X, y):
        self._X, self._y = X, y
        self._rng = np.random.default_rng(self.random_state)
        return self

    def _generate(self, counts):
        idx = np.concatenate(
            [self._rng.choice(np.flatnonzero(self._y == c), n) for c, n in counts.items()]
        )
        noise = 0.01 * self._rng.standard_normal(self._X[idx].shape)
        return self._X[idx] + noise.astype(self._X.dtype), self._y[idx]


@pytest.mark.parametrize("sampler", ["duplicate", "classic"])
def test_pipeline_after_an_augmenter(data, imitator, sampler):
    X, y, _ = data
    if sampler == "classic":
        augmentation = pytest.importorskip("semgaug_sk.augmentation")
        aug = augmentation.ClassicAugmenter(ratio=1.0, random_state=0)
    else:
        aug = _DuplicateSampler(ratio=1.0, random_state=0)
    pipe = Pipeline([("aug", aug), ("fin", FINClassifier(imitator, **TINY_CLF, random_state=0))])
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (len(X),)
    assert set(pipe.predict(X).tolist()) <= set(y.tolist())


@pytest.mark.parametrize("n_shadow", [0, 1])
def test_two_channel_head_has_odd_kernels_and_no_padding_warning(data, n_shadow):
    """An even kernel with padding="same" makes torch warn (and copy the input): none here."""
    X, y, _ = data
    X2 = X[:, :2]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        clf = FINClassifier(
            FeatureImitator(**TINY_IMITATOR, random_state=0),
            **TINY_CLF,
            n_shadow=n_shadow,
            random_state=0,
        ).fit(X2, y)
        clf.predict_proba(X2)
    padding = [str(w.message) for w in record if "padding" in str(w.message)]
    assert not padding, padding
    convs = [m for m in clf.net_.module_.head.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(k % 2 == 1 for conv in convs for k in conv.kernel_size)


# -- bad inputs ----------------------------------------------------------------------------
def test_bad_input_2d(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="must be 3-D"):
        FeatureImitator(**TINY_IMITATOR).fit(X[:, 0, :])
    with pytest.raises(ValueError, match="must be 3-D"):
        FINClassifier(**TINY_CLF).fit(X[:, 0, :], y)


def test_bad_input_nan(data, imitator, classifier):
    X, y, _ = data
    Xn = X.copy()
    Xn[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FeatureImitator(**TINY_IMITATOR).fit(Xn)
    with pytest.raises(ValueError, match="NaN"):
        imitator.transform(Xn)
    with pytest.raises(ValueError, match="NaN"):
        classifier.predict(Xn)


def test_bad_input_unfitted(data):
    X, _, _ = data
    with pytest.raises(NotFittedError):
        FeatureImitator().transform(X)
    with pytest.raises(NotFittedError):
        FeatureImitator().get_feature_names_out()
    with pytest.raises(NotFittedError):
        FINClassifier().predict(X)


def test_bad_input_window_too_short(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="at least 2 needed"):
        FeatureImitator(**TINY_IMITATOR).fit(X[:, :, :1])
    with pytest.raises(ValueError, match="at least 2 needed"):
        FINClassifier(**TINY_CLF).fit(X[:, :, :1], y)


def test_bad_input_shape_differs_from_fit(data, imitator, classifier):
    X, _, _ = data
    with pytest.raises(ValueError, match="samples|sample\\(s\\)"):
        imitator.transform(X[:, :, :20])
    with pytest.raises(ValueError, match="channel"):
        imitator.transform(X[:, :2])
    with pytest.raises(ValueError, match="shape"):
        classifier.predict(X[:, :2])


def test_bad_input_prefit_imitator_of_another_length(data, imitator):
    X, y, _ = data
    with pytest.raises(ValueError, match="refit_imitator=True"):
        FINClassifier(imitator, **TINY_CLF).fit(X[:, :, :20], y)


def test_bad_input_labels(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="class"):
        FINClassifier(**TINY_CLF).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="mismatched lengths"):
        FINClassifier(**TINY_CLF).fit(X, y[:-1])


def test_bad_input_all_zero_windows():
    with pytest.raises(ValueError, match="identically zero"):
        FeatureImitator(**TINY_IMITATOR).fit(np.zeros((10, 2, 8), dtype=np.float32))


def test_bad_parameters(data):
    X, y, _ = data
    with pytest.raises(InvalidParameterError):
        FeatureImitator(architecture="tree").fit(X)
    with pytest.raises(InvalidParameterError):
        FeatureImitator(standardize="none").fit(X)
    with pytest.raises(ValueError, match="Unknown feature|unknown feature"):
        FeatureImitator(features="nope").fit(X)
    with pytest.raises(TypeError, match="FeatureImitator"):
        FINClassifier(imitator=EMGFeatures()).fit(X, y)
    with pytest.raises(InvalidParameterError):
        FINClassifier(head="rnn").fit(X, y)
    for bad in (0, -3, 2.5, "auto"):
        with pytest.raises(InvalidParameterError, match="max_lstm_steps"):
            FeatureImitator(max_lstm_steps=bad).fit(X)
    # True passes scikit-learn's integer check, and would read a window in one step
    with pytest.raises(InvalidParameterError, match="'max_lstm_steps' parameter .* not a bool"):
        FeatureImitator(max_lstm_steps=True).fit(X)
    for bad in (0, True, 2.5, "3"):
        with pytest.raises(ValueError, match="samples_per_step must be an integer >= 1"):
            FeatureImitatorNet(1, 20, (1,), 1.0, (0,), (1,), samples_per_step=bad)
    for bad in (0, -3, True, 1.5):
        with pytest.raises(ValueError, match="max_steps must be None or an integer >= 1"):
            samples_per_step_for(200, bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_requested_without_cuda_fails_clearly(data):
    X, y, _ = data
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        FeatureImitator(device="cuda").fit(X)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        FINClassifier(device="cuda").fit(X, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_then_load_on_cpu(data, tmp_path):
    """A model trained on CUDA gives the same outputs there and after loading on a CPU-only process."""
    X, y, _ = data
    clf = FINClassifier(
        FeatureImitator(**TINY_IMITATOR, device="cuda", random_state=0),
        **TINY_CLF,
        device="cuda",
        random_state=0,
    ).fit(X, y)
    expected = clf.predict_proba(X)
    path = tmp_path / "clf.joblib"
    joblib.dump(clf, path)
    np.save(tmp_path / "X.npy", X)
    code = textwrap.dedent(
        f"""
        import warnings, joblib, numpy as np
        warnings.simplefilter("ignore")
        clf = joblib.load({str(path)!r})
        np.save({str(tmp_path / "proba.npy")!r}, clf.predict_proba(np.load({str(tmp_path / "X.npy")!r})))
        """
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    np.testing.assert_allclose(np.load(tmp_path / "proba.npy"), expected, atol=1e-5)


# -- real data -----------------------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.slow
def test_imitator_on_held_out_ninapro_subject(shared_data):
    """A short fit on one DB1 subject imitates the features of another subject."""
    from semgaug_sk.datasets import load_ninapro

    path = shared_data("ninapro_db1_e1")
    rec = load_ninapro(path, subjects=[1, 2], fs=100.0)
    w = sliding_windows(rec, window_ms=200, step_ms=100)
    rng = np.random.default_rng(0)
    train = rng.permutation(np.flatnonzero((w.subject == 1) & np.isin(w.repetition, [1, 2])))
    test = rng.permutation(np.flatnonzero(w.subject == 2))[:500]
    fin = FeatureImitator(
        ["rms", "ssi"],
        hidden_size=16,
        num_layers=1,
        max_epochs=15,
        batch_size=256,
        random_state=0,
    ).fit(w.X[train[:400]])
    r2 = fin.r2_per_feature(w.X[test])
    assert r2["rms"] > 0.95 and r2["ssi"] > 0.9, r2


def test_centered_targets_and_channels_on_envelope_windows():
    """Shift-invariant features (var, ent) on non-negative, offset windows (as DB1 envelopes).

    With the centred amplitude ``a_c = max|x - mean x|`` the var target is the
    window's shape statistic ``mean(((x - mean x) / a_c)^2)`` (bounded, free of the
    offset), the round trip to the feature is exact, constant windows give 0, and
    the var/ent networks read only offset-free channels, so their output ignores
    the offset.
    """
    from semgaug_sk.nn.fin import feature_amplitudes

    rng = np.random.default_rng(0)
    ramps = np.abs(rng.normal(size=(40, 20))).cumsum(axis=-1) / 20
    x = rng.uniform(0.5, 3.0, size=(40, 1)) + 0.3 * ramps
    x[:5] = 0.0024  # constant windows at the sensor's quantisation floor
    names, deg = ("rms", "var", "ssi", "ent"), torch.tensor([1, 2, 2, ENT_DEGREE])
    centered = (False, True, False, True)
    F = torch.from_numpy(extract_features(x[:, None], names)[:, 0])
    a = feature_amplitudes(torch.from_numpy(x), 1.0, centered)
    T = to_normalized_target(F, a, deg, 20)
    torch.testing.assert_close(from_normalized_target(T, a, deg, 20), F)
    xc = torch.from_numpy(x - x.mean(axis=-1, keepdims=True))
    shape_var = (xc / xc.abs().amax(dim=-1, keepdim=True)).square().mean(dim=-1)
    torch.testing.assert_close(T[5:, 1], shape_var[5:])
    torch.testing.assert_close(T[:5, [1, 3]], torch.zeros(5, 2, dtype=T.dtype))
    assert (T[5:, 1] > 0).all() and (T[:, 1] <= 1).all() and (T[:, 3] >= 0).all()

    net = FeatureImitatorNet(
        4, 20, deg, 1.0, (0,) * 4, (1,) * 4, centered=centered, hidden_size=4, num_layers=1
    )
    assert [tuple(net.channels[i] for i in idx) for idx in net.net_channels] == [
        ("shape",),
        ("centered_shape",),
        ("shape",),
        ("softmax", "centered_shape"),
    ]
    x32 = torch.from_numpy(x[5:]).float()
    with torch.no_grad():
        torch.testing.assert_close(
            net(x32 + 2.0)[:, [1, 3]], net(x32)[:, [1, 3]], atol=1e-4, rtol=1e-4
        )


def test_entropy_density_channel_sums_to_ent_and_feeds_only_the_ent_network():
    """The ``ent`` network reads ``-p log p`` (p = softmax of the window), whose sum is ent.

    The fitted imitator sets the option; a network built without it (as one saved
    before the option existed is rebuilt) keeps the original channels.
    """
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(scale=20.0, size=(30, 40)))  # integer counts, as a Myo armband's
    names, deg, centered = ("rms", "var", "ent"), (1, 2, ENT_DEGREE), (False, True, True)
    net = FeatureImitatorNet(
        3, 40, deg, 1.0, (0,) * 3, (1,) * 3, centered=centered, entropy_density=True,
        hidden_size=4, num_layers=1,
    )  # fmt: skip
    groups = [tuple(net.channels[i] for i in idx) for idx in net.net_channels]
    assert groups == [
        ("shape",),
        ("centered_shape",),
        ("softmax", "softmax_entropy", "centered_shape"),
    ]
    inputs, _ = net.encode(torch.from_numpy(x))
    density = inputs[..., net.channels.index("softmax_entropy")].double()
    ent = extract_features(x[:, None], ("ent",))[:, 0, 0]
    np.testing.assert_allclose(density.sum(dim=-1).numpy(), ent, rtol=1e-5, atol=1e-5)
    legacy = FeatureImitatorNet(3, 40, deg, 1.0, (0,) * 3, (1,) * 3, centered=centered)
    assert "softmax_entropy" not in legacy.channels

    X = rng.normal(size=(40, 2, 20)).astype(np.float32)
    fitted = FeatureImitator(names, random_state=0, **TINY_IMITATOR).fit(X)
    assert fitted.module_kwargs_["entropy_density"] is True
    assert "softmax_entropy" in fitted.net_.module_.channels
    plain = FeatureImitator(names, standardize="global", random_state=0, **TINY_IMITATOR).fit(X)
    assert plain.net_.module_.channels == ("scaled",)
    earlier = FeatureImitator(names, entropy_density=False, random_state=0, **TINY_IMITATOR)
    assert "softmax_entropy" not in earlier.fit(X).net_.module_.channels


def test_short_windows_name_the_feature_that_needs_more_samples():
    X = np.random.default_rng(0).normal(size=(10, 2, 2)).astype("float32")
    with pytest.raises(
        ValueError, match="FeatureImitator: feature 'ssc' needs windows of at least 3"
    ):
        FeatureImitator(features="all", max_epochs=1).fit(X)


def test_ent_keeps_its_information_at_small_units(data):
    # ent = log(n) - deficit, with a deficit that shrinks with the square of the amplitude:
    # decoded in float32 it collapsed to log(n) for windows in volts, and the head's ent map
    # went constant; the features are decoded in float64
    X, y, _ = data
    volts = (X * 1e-4).astype(np.float32)
    imitator = FeatureImitator(**TINY_IMITATOR, random_state=0).fit(volts)
    ent = imitator.transform(volts.astype(np.float64))[:, 3::4]  # channel-major columns
    assert len(np.unique(ent)) > 0.9 * ent.size and np.ptp(ent) > 0
    clf = FINClassifier(imitator, **dict(TINY_CLF, fine_tune=False), random_state=0)
    clf.fit(volts, y)
    maps = clf.feature_maps(volts)
    assert maps.dtype == np.float32
    ent_map = maps[:, 3, :]
    assert len(np.unique(ent_map)) > 0.5 * ent_map.size
    # standardised with the training windows' statistics, as the head was trained: the
    # float32 copy of ent's mean (log(n) minus a tiny deficit) used to shift it by sds
    np.testing.assert_allclose(maps.mean(axis=(0, 2)), 0.0, atol=0.05)
    np.testing.assert_allclose(maps.std(axis=(0, 2)), 1.0, atol=0.05)


# -- review 2026-12-05 -------------------------------------------------------------------------
def test_fine_tune_subsample_is_stratified_and_keeps_every_class():
    from semgaug_sk.imitation import _stratified_subset

    labels = np.zeros(2000, int)
    labels[:12] = 1  # 0.6 % of the windows: a proportional share of 100 rounds to 0 or 1
    labels[12:1000] = 2
    indices = np.arange(2000) * 3  # any index values, not positions
    for seed in range(5):
        chosen = _stratified_subset(indices, labels, 100, seed)
        picked = labels[np.isin(indices, chosen)]
        assert set(picked.tolist()) == {0, 1, 2}
        assert 100 <= len(chosen) <= 101 and len(np.unique(chosen)) == len(chosen)
        assert abs(np.sum(picked == 0) - 50) <= 2  # stratified, not a lucky draw
        assert np.all(np.diff(chosen) > 0)  # sorted, original order
        np.testing.assert_array_equal(chosen, _stratified_subset(indices, labels, 100, seed))


def test_keep_or_drop_compares_the_criterion_with_itself(data, classifier):
    from semgaug_sk.imitation import _criterion_loss

    X, _, _ = data
    net = classifier.net_
    y_enc = np.searchsorted(classifier.classes_, classifier.predict(X))
    wrong = (y_enc + 1) % len(classifier.classes_)  # confidently wrong labels: large losses
    with torch.no_grad():
        logits = net.forward(X.astype(np.float32), training=False)
    for target in (y_enc, wrong):
        expected = torch.nn.functional.cross_entropy(logits, torch.as_tensor(target)).item()
        assert _criterion_loss(net, X.astype(np.float32), target) == pytest.approx(
            expected, rel=1e-6
        )


def test_a_prefit_imitator_runs_on_the_classifier_device(data):
    X, y, _ = data
    imitator = FeatureImitator(**TINY_IMITATOR, device="auto", random_state=0).fit(X)
    clf = FINClassifier(imitator, **TINY_CLF, device="cpu", fine_tune=False, random_state=0)
    clf.fit(X, y)
    assert clf.imitator_.device == "cpu" and imitator.device == "auto"  # the copy, not the given


def test_float32_windows_in_volts_warn_that_ent_is_rounding():
    # transform returns float32 for float32 windows, so ent is log(n) to the last bit
    X = (np.random.default_rng(0).normal(size=(60, 3, 25)) * 1e-7).astype(np.float32)
    imitator = FeatureImitator(hidden_size=2, max_epochs=1, max_sequences=50, random_state=0)
    with pytest.warns(UserWarning, match=r"FeatureImitator: 'ent' computed in float32") as w:
        imitator.fit(X)
    # picked by its text: a sampler's output of 60 rows in an earlier test of this process
    # may add provenance's warning about a dropped record
    (ent,) = [x for x in w if "'ent' computed in float32" in str(x.message)]
    assert ent.filename == __file__
    # its advice is one the imitator can follow (it has no dtype parameter)
    assert "pass float64 windows to transform" in str(ent.message)
    assert "dtype='float64'" not in str(ent.message)
    ent64, ent32 = imitator.transform(X.astype(np.float64))[:, -1], imitator.transform(X)[:, -1]
    assert ent64.dtype == np.float64 and len(np.unique(ent64)) > len(np.unique(ent32))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*'ent' computed in float32")
        imitator.fit(X.astype(np.float64))


def test_fin_on_float32_windows_in_volts_does_not_warn_of_float32_ent():
    # FIN reads the imitator's features in float64: a float32 transform's rounding is no
    # concern there, and the warning's advice would not apply
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(60, 3, 25)) * rng.uniform(0.5, 2, (60, 1, 1)) * 1e-7).astype(np.float32)
    y = np.repeat([0, 1], 30)
    clf = FINClassifier(
        FeatureImitator(hidden_size=2, max_epochs=1, max_sequences=50, random_state=0),
        **TINY_CLF,
        fine_tune=False,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    assert not [w for w in caught if "'ent' computed in float32" in str(w.message)]


def test_windows_in_adc_counts_warn_that_ent_is_saturated():
    # at an RMS of 1e4 each window's softmax is one-hot: ent is about 1e-58 to 1e-89
    # everywhere, and an R² against it divided by that spread (score about -1e160)
    X = np.round(np.random.default_rng(0).normal(size=(20, 2, 9)) * 1e4).astype(np.int16)
    imitator = FeatureImitator(hidden_size=2, max_epochs=1, max_sequences=50, random_state=0)
    with pytest.warns(
        UserWarning, match=r"FeatureImitator: 'ent' of these windows is typically"
    ) as w:
        imitator.fit(X)
    assert w[0].filename == __file__
    assert "X / X.std()" in str(w[0].message)
    # scaled to an RMS of about 1 as the warning says: ent is informative, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        FeatureImitator(hidden_size=2, max_epochs=1, max_sequences=50, random_state=0).fit(
            X / X.std()
        )


def test_global_mode_keeps_ent_at_small_units():
    # mode="global" un-z-scores ent itself: at volt scale its spread (~1e-8) lies below the
    # float32 rounding of its mean (log(n) ~ 2.8), which used to shift every prediction by
    # up to 1e-7, ten times the spread; the rounding error is added back in float64
    n_times = 16
    mean = math.log(n_times) - 3.3e-8
    net = FeatureImitatorNet(
        1, n_times, degrees=(0,), input_scale=1e-4, target_mean=(mean,),
        target_scale=(1e-8,), mode="global", hidden_size=4, num_layers=1,
    )  # fmt: skip
    x = torch.randn(6, n_times) * 1e-4
    with torch.no_grad():
        z = net(x).double()
        F = net.features(x)
    assert F.dtype == torch.float64
    torch.testing.assert_close(F, z * 1e-8 + mean, rtol=0, atol=1e-14)
    # rebuilt from its arguments, not saved: older state dicts load, strict
    assert "target_mean_residual" not in net.state_dict()
    again = FeatureImitatorNet(
        1, n_times, degrees=(0,), input_scale=1e-4, target_mean=(mean,),
        target_scale=(1e-8,), mode="global", hidden_size=4, num_layers=1,
    )  # fmt: skip
    again.load_state_dict(net.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(again.features(x), F, rtol=0, atol=0)
    # a pickle of an earlier build, without the residual, still decodes (in float64)
    old = pickle.loads(pickle.dumps(net))
    del old._buffers["target_mean_residual"]
    with torch.no_grad():
        assert old.features(x).dtype == torch.float64


# -- long windows: several samples per LSTM step ------------------------------------------
def test_pack_steps_reads_consecutive_samples_and_pads_the_end():
    x = torch.arange(2 * 7 * 2, dtype=torch.float32).reshape(2, 7, 2)  # (batch, times, channels)
    packed = pack_steps(x, 3)
    assert packed.shape == (2, 3, 6)
    # step s holds samples 3s..3s+2, every channel of a sample together, in time order
    torch.testing.assert_close(packed[0, 0], x[0, :3].reshape(-1))
    torch.testing.assert_close(packed[1, 1], x[1, 3:6].reshape(-1))
    torch.testing.assert_close(packed[0, 2], torch.cat([x[0, 6], torch.zeros(4)]))
    assert pack_steps(x, 1) is x
    assert [samples_per_step_for(t, 64) for t in (1, 20, 52, 64, 65, 200, 400)] == [
        1, 1, 1, 1, 2, 4, 7,
    ]  # fmt: skip
    assert samples_per_step_for(2000, None) == 1


def test_long_windows_are_read_several_samples_per_lstm_step():
    """Windows longer than max_lstm_steps are packed; short ones and None read one sample a step."""
    rec = make_semg_gestures(n_classes=2, n_repetitions=2, n_channels=2, fs=1000.0, random_state=0)
    X = sliding_windows(rec, window_ms=150, step_ms=50).X  # 150 samples
    fitted = FeatureImitator(("rms", "ent"), **TINY_IMITATOR, random_state=0).fit(X)
    assert fitted.module_kwargs_["samples_per_step"] == 10  # ceil(150 / 16): 15 steps
    nets = fitted.net_.module_.nets
    assert [n.lstm.input_size for n in nets] == [1 * 10, 3 * 10]  # shape; softmax, density, centred
    out = fitted.transform(X[:10])
    assert out.shape == (10, 4) and np.isfinite(out).all()
    np.testing.assert_array_equal(fitted.transform(X[:10]), out)

    per_sample = FeatureImitator(("rms",), max_lstm_steps=None, **TINY_IMITATOR, random_state=0)
    assert per_sample.fit(X).module_kwargs_["samples_per_step"] == 1
    coarse = FeatureImitator(("rms",), max_lstm_steps=10, **TINY_IMITATOR, random_state=0)
    assert coarse.fit(X).module_kwargs_["samples_per_step"] == 15
    short = FeatureImitator(("rms",), **TINY_IMITATOR, random_state=0).fit(X[:, :, :16])
    assert short.module_kwargs_["samples_per_step"] == 1


def test_packed_imitator_learns_long_windows_and_feeds_the_classifier():
    """At 200 samples a packed imitator imitates rms as well as one reading a sample a step.

    The size of the gap on real long windows is in results/ablate_lstm_steps/.
    """
    rec = make_semg_gestures(n_classes=3, n_repetitions=3, n_channels=2, fs=1000.0, random_state=1)
    w = sliding_windows(rec, window_ms=200, step_ms=50)
    fits = {
        steps: FeatureImitator(("rms",), hidden_size=8, max_lstm_steps=steps, random_state=0).fit(
            w.X
        )
        for steps in (16, None)
    }
    r2 = {steps: est.r2_per_feature(w.X)["rms"] for steps, est in fits.items()}
    fitted = fits[16]
    assert fitted.module_kwargs_["samples_per_step"] == 13
    assert r2[16] > 0.9 and r2[16] >= r2[None] - 0.01
    clf = FINClassifier(fitted, **TINY_CLF, random_state=0).fit(w.X, w.y)
    assert clf.net_.module_.imitator.samples_per_step == 13
    assert clf.score(w.X, w.y) > 1 / 3


def test_an_imitator_pickled_before_max_lstm_steps_reads_one_sample_a_step(data):
    """Older pickles: the estimator gets max_lstm_steps=None, the network one sample a step."""
    X, _, _ = data
    # what an older version fitted: one sample per step
    imitator = FeatureImitator(**TINY_IMITATOR, max_lstm_steps=None, random_state=0).fit(X)
    state = imitator.__getstate__()
    del state["max_lstm_steps"]
    older = FeatureImitator.__new__(FeatureImitator)
    older.__setstate__(state)
    assert older.get_params()["max_lstm_steps"] is None
    state["module_kwargs_"] = {
        k: v for k, v in state["module_kwargs_"].items() if k != "samples_per_step"
    }
    older.__setstate__(state)
    assert older.module_kwargs_["samples_per_step"] == 1
    module = pickle.loads(pickle.dumps(imitator.net_.module_))
    del module.samples_per_step  # as a network pickled before the option has none
    with torch.no_grad():
        seq = torch.from_numpy(X[:5].reshape(-1, X.shape[2]))
        torch.testing.assert_close(module.features(seq), imitator.net_.module_.features(seq))


def test_a_feature_constant_up_to_rounding_gets_no_r2():
    # mnf of 3-sample windows is always 1/3 (up to one float64 ulp): r2_score divided by
    # that rounding and reported about -8e15 for a perfect imitation
    X = np.random.default_rng(0).standard_normal((30, 2, 3)).astype(np.float32)
    imitator = FeatureImitator(
        features=["mnf", "rms"],
        max_epochs=1,
        max_sequences=100,
        validation_fraction=0,
        random_state=0,
    )
    with pytest.warns(ConstantFeatureWarning, match=r"1 feature\(s\) are constant .* 'mnf'"):
        imitator.fit(X)  # fit says so first, as EMGFeatures.fit does
    with pytest.warns(UserWarning, match=r"FeatureImitator: \['mnf'\] is constant"):
        r2 = imitator.r2_per_feature(X)
    assert math.isnan(r2["mnf"]) and np.isfinite(r2["rms"])
    with pytest.warns(UserWarning, match="score leaves it out"):
        assert imitator.score(X) == pytest.approx(r2["rms"])
    only_constant = FeatureImitator(
        features=["mnf"], max_epochs=1, max_sequences=100, validation_fraction=0, random_state=0
    )
    with pytest.warns(ConstantFeatureWarning):
        only_constant.fit(X)
    with pytest.warns(UserWarning, match="R² is undefined"):
        assert math.isnan(only_constant.score(X))


@pytest.mark.parametrize("standardize", ["window", "global"])
def test_fit_warns_about_a_feature_constant_over_every_sequence(standardize):
    # zc of a non-negative envelope is always 0: the imitator can learn nothing but that
    signed = np.random.default_rng(0).standard_normal((20, 2, 16)).astype(np.float32)
    params = dict(features=["rms", "zc"], max_epochs=1, max_sequences=64, random_state=0)
    params.update(validation_fraction=0, standardize=standardize)
    with pytest.warns(ConstantFeatureWarning, match=r"'zc' \(always 0\): zc counts sign"):
        FeatureImitator(**params).fit(np.abs(signed))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantFeatureWarning)
        FeatureImitator(**params).fit(signed)  # rms varies; a normalised target may not


def test_ent_of_microvolt_windows_in_volts_is_not_called_constant():
    # ent ~ log(n) - var/2 varies by ~1e-12 of its value here: small, but not rounding
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2, 64)) * rng.uniform(0.5, 2, (40, 2, 1)) * 1e-6
    params = dict(max_epochs=1, max_sequences=64, validation_fraction=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantFeatureWarning)
        imitator = FeatureImitator(**params).fit(X)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*is constant")
        assert np.isfinite(imitator.r2_per_feature(X)["ent"])


def test_a_constant_wamp_is_advised_without_a_threshold_the_imitator_lacks():
    X = np.random.default_rng(0).standard_normal((20, 2, 16)).astype(np.float32)
    params = dict(features=("wamp", "rms"), max_epochs=1, max_sequences=64, random_state=0)
    with pytest.warns(ConstantFeatureWarning, match="wamp at threshold 0.*drop wamp") as seen:
        FeatureImitator(**params, validation_fraction=0).fit(X)
    assert not any("threshold=" in str(w.message) for w in seen)
