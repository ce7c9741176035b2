"""Downstream classifiers on raw windows: SpatioTemporalClassifier and ConvTransformerClassifier.

scikit-learn's ``check_estimator`` feeds 2-D tabular data, which these estimators reject on
purpose (they read 3-D windows ``(n, channels, times)``); the conventions it checks are tested
here on windows instead: clone, get/set_params, pickling, determinism, labels of any type,
errors for bad input and unfitted use.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from semgaug_sk import ConvTransformerClassifier, SpatioTemporalClassifier
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.model_selection import repetition_split
from semgaug_sk.nn.downstream import (
    ChannelGainJitter,
    ConvTransformerNet,
    SpatioTemporalConvNet,
    WindowGain,
    log_energy,
)
from semgaug_sk.persistence import load_weights, save_weights
from semgaug_sk.windows import sliding_windows

SMALL = {
    SpatioTemporalClassifier: dict(n_temporal=4, max_epochs=4, batch_size=16, min_steps=None),
    ConvTransformerClassifier: dict(d_model=8, n_heads=2, n_layers=1, max_epochs=3, batch_size=16),
}
CLASSES = list(SMALL)


@pytest.fixture(scope="module")
def data():
    rec = make_semg_gestures(n_classes=3, n_repetitions=3, n_channels=4, fs=200.0, random_state=1)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    train, test = repetition_split(w, train_repetitions=[1, 2])
    names = np.array(["fist", "open", "pinch"])
    return train.X, names[train.y - 1], test.X, names[test.y - 1]


@pytest.mark.parametrize("cls", CLASSES)
def test_fits_predicts_and_round_trips_string_labels(cls, data):
    X, y, X_test, y_test = data
    clf = cls(random_state=0, **SMALL[cls]).fit(X, y)
    assert clf.classes_.tolist() == ["fist", "open", "pinch"]
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert set(clf.predict(X_test)) <= set(clf.classes_)
    assert clf.n_epochs_ == SMALL[cls]["max_epochs"]  # a fixed budget: no early stopping
    emb = clf.transform(X_test)
    assert emb.ndim == 2 and len(emb) == len(X_test) and np.isfinite(emb).all()


def test_a_simple_gesture_set_is_learned(data):
    X, y, X_test, y_test = data
    clf = SpatioTemporalClassifier(
        min_steps=None, max_epochs=20, batch_size=16, random_state=0
    ).fit(X, y)
    assert clf.score(X_test, y_test) > 0.8


@pytest.mark.parametrize("cls", CLASSES)
def test_same_seed_same_model_and_params_stay_unchanged(cls, data):
    X, y, X_test, _ = data
    params = dict(random_state=3, **SMALL[cls])
    a = cls(**params).fit(X, y)
    b = cls(**params).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    assert a.get_params() == cls(**params).get_params()
    assert clone(a).get_params() == a.get_params()
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict_proba(X_test), a.predict_proba(X_test))


@pytest.mark.parametrize("cls", CLASSES)
def test_weights_only_round_trip(cls, data, tmp_path):
    X, y, X_test, _ = data
    clf = cls(random_state=0, **SMALL[cls]).fit(X, y)
    save_weights(clf, tmp_path / "clf.pt")
    loaded = load_weights(tmp_path / "clf.pt")
    assert type(loaded) is cls
    np.testing.assert_allclose(loaded.predict_proba(X_test), clf.predict_proba(X_test), atol=1e-6)


def test_grid_search_over_a_network_parameter(data):
    X, y, _, _ = data
    search = GridSearchCV(
        SpatioTemporalClassifier(random_state=0, **SMALL[SpatioTemporalClassifier]),
        {"n_segments": [1, 2]},
        cv=2,
    ).fit(X, y)
    assert search.best_params_["n_segments"] in (1, 2)


@pytest.mark.parametrize("cls", CLASSES)
def test_bad_input_is_named(cls, data):
    X, y, _, _ = data
    clf = cls(**SMALL[cls])
    with pytest.raises(NotFittedError):
        clf.predict(X)
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(bad, y)
    with pytest.raises(ValueError, match="3-D|ndim|dimension"):
        clf.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="2 classes|at least 2"):
        clf.fit(X, np.full(len(X), "fist"))
    with pytest.raises(ValueError, match="inconsistent|length|same number"):
        clf.fit(X, y[:-1])
    fitted = cls(random_state=0, **SMALL[cls]).fit(X, y)
    with pytest.raises(ValueError, match="fitted on"):
        fitted.predict(X[:, :2])


def test_heads_must_divide_the_token_width(data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match="n_heads=3 must divide d_model=8"):
        ConvTransformerClassifier(d_model=8, n_heads=3, max_epochs=1).fit(X, y)


def test_a_window_shorter_than_the_kernel_works():
    X = np.random.default_rng(0).normal(size=(24, 3, 5)).astype(np.float32)
    y = np.repeat([0, 1], 12)
    for cls in CLASSES:
        cls(random_state=0, kernel_size=9, **SMALL[cls]).fit(X, y).predict(X)


# -- the networks' EMG biases -------------------------------------------------------------
def test_window_gain_removes_a_common_gain_and_reports_it():
    x = torch.randn(5, 4, 30)
    z1, g1 = WindowGain()(x)
    z2, g2 = WindowGain()(7.0 * x)
    torch.testing.assert_close(z1, z2, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(g2 - g1, torch.full_like(g1, np.log(7.0)), atol=1e-4, rtol=0)


@pytest.mark.parametrize("net_cls", [SpatioTemporalConvNet, ConvTransformerNet])
def test_networks_in_eval_mode_barely_see_a_common_gain(net_cls):
    torch.manual_seed(0)
    net = net_cls(4, 30, 3).eval()
    x = torch.randn(6, 4, 30)
    # only the log-RMS input sees the gain: the rest of the embedding is unchanged
    e1, e2 = net.embed(x), net.embed(3.0 * x)
    torch.testing.assert_close(e1[:, :-1], e2[:, :-1], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize(
    ("n_channels", "n_times", "n_temporal", "n_spatial", "kernel_size"),
    [(1, 5, 3, 1, 9), (10, 20, 16, 2, 9), (8, 52, 4, 3, 7), (6, 4, 2, 2, 9), (3, 33, 5, 1, 1)],
)
def test_spatial_first_filters_equal_the_declared_convolutions(
    n_channels, n_times, n_temporal, n_spatial, kernel_size
):
    # filter_signals mixes the electrodes before the temporal kernels; the declared
    # order (temporal Conv2d, then the grouped spatial Conv2d) must give the same signals
    # and the same gradients for every weight
    torch.manual_seed(0)
    net = SpatioTemporalConvNet(
        n_channels,
        n_times,
        3,
        n_temporal=n_temporal,
        n_spatial=n_spatial,
        kernel_size=kernel_size,
    ).double()
    z = torch.randn(7, n_channels, n_times, dtype=torch.float64)
    direct = net.spatial(net.temporal(z.unsqueeze(1))).squeeze(2)
    fast = net.filter_signals(z)
    assert fast.shape == direct.shape == (7, n_temporal * n_spatial, n_times)
    torch.testing.assert_close(fast, direct, rtol=1e-12, atol=1e-12)
    weights = [net.temporal.weight, net.spatial.weight]
    probe = torch.randn_like(direct)
    g_direct = torch.autograd.grad((direct * probe).sum(), weights)
    g_fast = torch.autograd.grad((net.filter_signals(z) * probe).sum(), weights)
    for a, b in zip(g_fast, g_direct, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_channel_gain_jitter_trains_only():
    jitter = ChannelGainJitter(0.3)
    x = torch.ones(100, 2, 10)
    noisy = jitter.train()(x)
    assert not torch.equal(noisy, x)
    assert torch.allclose(noisy[..., :1].expand_as(noisy), noisy)  # one gain per window-channel
    assert torch.equal(jitter.eval()(x), x)
    assert torch.equal(ChannelGainJitter(0.0).train()(x), x)


def test_log_energy():
    h = torch.tensor([[[1.0, -1.0, 3.0, -3.0]]])
    torch.testing.assert_close(log_energy(h), torch.log(torch.tensor([[5.0]]) + 1e-6))


@pytest.mark.parametrize("name", ["SpatioTemporalClassifier", "ConvTransformerClassifier"])
def test_units_do_not_change_the_network(name):
    # WindowGain's floor (1e-6 on the mean square) made windows in volts (RMS 1e-5) a
    # constant divisor; the training RMS now scales the input first, so an exact change
    # of units (a power of two) trains bit-for-bit the same network
    import semgaug_sk.classifiers as classifiers

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(36, 3, 24)).astype("float32"), np.arange(36) % 3
    X[y == 1, 0] *= 3.0
    params = dict(max_epochs=3, min_steps=None, batch_size=12, random_state=0)
    if name == "ConvTransformerClassifier":
        params.update(d_model=8, n_heads=2, n_layers=1)
    ref = getattr(classifiers, name)(**params).fit(X, y)
    for factor in (2.0**-17, 2.0**12):  # about 7.6e-6 (volts) and 4096 (ADC codes)
        scaled = getattr(classifiers, name)(**params).fit(X * factor, y)
        assert scaled.input_rms_ == pytest.approx(ref.input_rms_ * factor, rel=1e-12)
        np.testing.assert_array_equal(scaled.predict_proba(X * factor), ref.predict_proba(X))
        np.testing.assert_array_equal(scaled.transform(X * factor), ref.transform(X))


def test_signal_rms_is_chunked_overflow_safe_and_one_for_silence():
    from semgaug_sk.classifiers import _RMS_CHUNK, _signal_rms

    rng = np.random.default_rng(1)
    X = rng.normal(size=(_RMS_CHUNK + 5, 2, 3))
    assert _signal_rms(X) == pytest.approx(np.sqrt(np.mean(X**2)), rel=1e-12)
    assert _signal_rms(X * 1e200) == pytest.approx(np.sqrt(np.mean(X**2)) * 1e200, rel=1e-12)
    assert _signal_rms(np.zeros((4, 2, 3), dtype=np.float32)) == 1.0


def test_a_network_saved_before_the_input_scale_reads_raw_windows():
    import pickle

    from semgaug_sk.classifiers import SpatioTemporalClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2, 16)).astype("float32") * 5.0, np.arange(30) % 3
    clf = SpatioTemporalClassifier(min_steps=None, max_epochs=1, random_state=0).fit(X, y)
    old = pickle.loads(pickle.dumps(clf))
    del old.input_rms_  # what a pickle from before the input scale holds
    expected = clf.net_.predict_proba(X)  # the raw windows, as the old networks read them
    np.testing.assert_allclose(old.predict_proba(X), expected, rtol=1e-5, atol=1e-6)


def test_long_windows_are_pooled_to_max_tokens():
    # one token per sample made attention memory grow with the square of the window:
    # 200 ms at 10 kHz (2,000 samples) needed over 24 GB
    from semgaug_sk.classifiers import ConvTransformerClassifier
    from semgaug_sk.nn.downstream import ConvTransformerNet

    assert ConvTransformerNet(4, 2000, 3).position.shape[1] == 250  # stride 8
    assert ConvTransformerNet(4, 2001, 3).position.shape[1] == 251  # stride 8, a short last part
    assert ConvTransformerNet(4, 52, 3).position.shape[1] == 52  # short: one per sample
    assert ConvTransformerNet(4, 2000, 3, max_tokens=None).position.shape[1] == 2000
    short = ConvTransformerNet(4, 52, 3)
    assert "pool" not in "".join(short.state_dict())  # earlier models load unchanged

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 2, 2001)).astype("float32"), np.arange(12) % 2
    params = dict(d_model=8, n_heads=2, n_layers=1, max_epochs=1, batch_size=4)
    clf = ConvTransformerClassifier(max_tokens=100, random_state=0, **params).fit(X, y)
    assert clf.net_.module_.position.shape[1] == 96  # stride 21: 95 full parts and 6 samples
    assert clf.predict_proba(X).shape == (12, 2)
    for bad in (0, 1):  # one token is no model of time
        with pytest.raises(ValueError, match="max_tokens"):
            ConvTransformerClassifier(max_tokens=bad).fit(X, y)


def test_a_transformer_pickled_before_max_tokens_keeps_one_token_per_sample():
    import pickle

    from semgaug_sk.classifiers import ConvTransformerClassifier

    clf = ConvTransformerClassifier(d_model=8, n_heads=2, n_layers=1)
    state = dict(clf.__getstate__())
    del state["max_tokens"]
    old = ConvTransformerClassifier.__new__(ConvTransformerClassifier)
    old.__setstate__(state)
    assert old.get_params()["max_tokens"] is None
    assert pickle.loads(pickle.dumps(clf)).max_tokens == 256


def test_a_transformer_saved_before_max_tokens_loads_with_one_token_per_sample(tmp_path):
    import torch

    from semgaug_sk.classifiers import ConvTransformerClassifier
    from semgaug_sk.persistence import load_weights, save_weights

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 2, 300)).astype("float32"), np.arange(8) % 2
    clf = ConvTransformerClassifier(
        d_model=8, n_heads=2, n_layers=1, max_epochs=1, max_tokens=None, random_state=0
    ).fit(X, y)
    save_weights(clf, tmp_path / "ctc.pt")
    payload = torch.load(tmp_path / "ctc.pt", weights_only=True)
    del payload["params"]["max_tokens"]  # what a file from before the parameter holds
    torch.save(payload, tmp_path / "old.pt")
    old = load_weights(tmp_path / "old.pt")
    assert old.max_tokens is None
    np.testing.assert_allclose(old.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_embeddings_have_feature_names_and_set_output_in_a_pipeline():
    from sklearn.pipeline import make_pipeline

    from semgaug_sk.classifiers import SpatioTemporalClassifier
    from semgaug_sk.encoders import SemanticEncoder

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(24, 2, 16)).astype("float32"), np.arange(24) % 2
    stc = SpatioTemporalClassifier(min_steps=None, max_epochs=1, n_temporal=4, random_state=0)
    with pytest.raises(NotFittedError):
        stc.get_feature_names_out()
    names = stc.fit(X, y).get_feature_names_out()
    assert len(names) == stc.transform(X).shape[1] and names[0] == "spatiotemporalclassifier0"
    enc = SemanticEncoder(embedding_dim=4, n_filters=4, max_epochs=1, random_state=0)
    assert enc.fit(X, y).get_feature_names_out().tolist() == [
        f"semanticencoder{i}" for i in range(4)
    ]
    pipe = make_pipeline(SemanticEncoder(embedding_dim=4, n_filters=4, max_epochs=1))
    # raised "set_output is not available" before the networks named their outputs
    assert pipe.set_output(transform="default") is pipe
    assert enc.__sklearn_tags__().transformer_tags.preserves_dtype == ["float32"]
    assert enc.transform(X.astype("float64")).dtype == np.float32


def test_score_takes_integer_labels_in_an_object_array_as_fit_does():
    from semgaug_sk.classifiers import SpatioTemporalClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 2, 16)).astype("float32")
    y = np.array([3, 7] * 12, dtype=object)  # a pandas column after dropping None
    clf = SpatioTemporalClassifier(min_steps=None, max_epochs=1, n_temporal=4, random_state=0).fit(
        X, y
    )
    assert clf.score(X, y) == clf.score(X, y.astype(np.int64))


def test_a_fitted_transformer_pickled_before_max_tokens_predicts():
    import pickle

    from semgaug_sk.classifiers import ConvTransformerClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 2, 20)).astype("float32"), np.arange(12) % 2
    clf = ConvTransformerClassifier(
        d_model=8, n_heads=2, n_layers=1, max_epochs=1, random_state=0
    ).fit(X, y)
    expected = clf.predict_proba(X)
    del clf.net_.module_._modules["pool"]  # what a network from before max_tokens holds
    old = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(old.predict_proba(X), expected)


def test_the_transformer_module_refuses_max_tokens_below_one():
    from semgaug_sk.nn.downstream import ConvTransformerNet

    with pytest.raises(ValueError, match="max_tokens must be None or an integer >= 1"):
        ConvTransformerNet(4, 100, 3, max_tokens=0)


def test_raw_emg_on_a_dc_offset_is_named_at_fit_and_envelopes_are_not(shared_data):
    import warnings

    from semgaug_sk.augmentation import ClassicAugmenter
    from semgaug_sk.datasets import make_semg_gestures
    from semgaug_sk.utils.validation import dc_offset_channels

    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=4, fs=1000, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=100)
    codes = np.round(w.X * 100 + 2048).astype(np.float32)  # unsigned 12-bit ADC codes
    assert dc_offset_channels(codes).tolist() == [0, 1, 2, 3]
    from imblearn.pipeline import make_pipeline as make_imblearn_pipeline

    for fit in (
        lambda: SpatioTemporalClassifier(min_steps=None, max_epochs=1).fit(codes, w.y),
        lambda: ClassicAugmenter().fit_resample(codes, w.y),
        lambda: ClassicAugmenter().fit(codes, w.y),
        # through imbalanced-learn's and scikit-learn's frames, still the user's line
        lambda: make_imblearn_pipeline(
            ClassicAugmenter(), SpatioTemporalClassifier(min_steps=None, max_epochs=1)
        ).fit(codes, w.y),
    ):
        with pytest.warns(UserWarning, match=r"constant offset .* X - X\.mean\(axis=2") as record:
            fit()
        assert any(r.filename == __file__ for r in record)  # points at the caller's line
    assert dc_offset_channels(w.X).tolist() == []  # centred raw EMG
    # an envelope's mean moves with the gesture: NinaPro DB1 is not flagged
    from semgaug_sk.datasets import load_ninapro

    db1 = sliding_windows(load_ninapro(shared_data("ninapro_db1_e1"), subjects=[1], fs=100))
    assert dc_offset_channels(db1.X).tolist() == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ClassicAugmenter(random_state=0).fit(db1.X[:200], db1.y[:200])


def _imbalanced(data):
    X, y, X_test, y_test = data
    keep = np.flatnonzero(y != "pinch")
    keep = np.concatenate([keep, np.flatnonzero(y == "pinch")[:3]])  # pinch: 3 windows
    return X[keep], y[keep]


def _criterion_weight(clf):
    return clf.net_.criterion_.weight.cpu().numpy()


@pytest.mark.parametrize("cls", CLASSES)
def test_balanced_class_weight_weighs_the_loss_and_survives_saving(cls, data, tmp_path):
    X, y = _imbalanced(data)
    clf = cls(class_weight="balanced", random_state=0, **SMALL[cls]).fit(X, y)
    counts = np.array([np.sum(y == c) for c in clf.classes_])
    np.testing.assert_allclose(clf.class_weight_, len(y) / (3 * counts))
    np.testing.assert_allclose(_criterion_weight(clf), clf.class_weight_, rtol=1e-6)
    plain = cls(random_state=0, **SMALL[cls]).fit(X, y)
    assert plain.class_weight_ is None
    assert type(plain.net_.criterion_) is torch.nn.CrossEntropyLoss  # the default path
    proba = clf.predict_proba(X)
    assert (proba >= 0).all() and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # the weight changes what is learned: the rare class gets more probability
    rare = list(clf.classes_).index("pinch")
    assert clf.predict_proba(X)[:, rare].mean() > plain.predict_proba(X)[:, rare].mean()
    save_weights(clf, tmp_path / "weighted.pt")
    loaded = load_weights(tmp_path / "weighted.pt")
    np.testing.assert_allclose(loaded.class_weight_, clf.class_weight_)
    np.testing.assert_allclose(_criterion_weight(loaded), clf.class_weight_, rtol=1e-6)
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    assert clone(clf).get_params()["class_weight"] == "balanced"
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(_criterion_weight(again), clf.class_weight_, rtol=1e-6)
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_the_weighted_loss_weighs_windows_not_the_smoothing():
    from semgaug_sk.nn.losses import ClassWeightedCrossEntropy

    torch.manual_seed(0)
    logits, y = torch.randn(6, 3), torch.tensor([0, 0, 1, 2, 2, 2])
    weight = torch.tensor([0.5, 4.0, 0.0])
    per_window = torch.nn.functional.cross_entropy(logits, y, reduction="none", label_smoothing=0.1)
    loss = ClassWeightedCrossEntropy(weight, label_smoothing=0.1)(logits, y)
    assert torch.isclose(loss, (per_window * weight[y]).mean())
    # a batch of zero-weight windows gives 0, not NaN
    zero = ClassWeightedCrossEntropy(weight)(logits[3:], y[3:])
    assert float(zero) == 0.0
    # the best prediction for a window is its own class's, whatever the weights
    free = torch.zeros(1, 3, requires_grad=True)
    heavy = ClassWeightedCrossEntropy(torch.tensor([0.3, 0.3, 30.0]), label_smoothing=0.1)
    optimizer = torch.optim.SGD([free], lr=1.0)
    for _ in range(300):
        optimizer.zero_grad()
        heavy(free, torch.tensor([0])).backward()
        optimizer.step()
    assert int(free.argmax()) == 0


@pytest.mark.parametrize(
    "labels, weights, expected",
    [
        (["fist", "open", "pinch"], {"pinch": 5.0}, [1.0, 1.0, 5.0]),
        ([1, 2, 10], {np.int64(10): 5.0, 1: 0.5}, [0.5, 1.0, 5.0]),
        (["1", "2", "10"], {"10": 5.0}, [1.0, 5.0, 1.0]),  # classes_ sort as strings: 1, 10, 2
    ],
)
def test_a_class_weight_dict_is_read_against_the_labels_as_given(data, labels, weights, expected):
    X, y = _imbalanced(data)
    y = np.array(labels, dtype=object if isinstance(labels[0], str) else None)[
        np.searchsorted(["fist", "open", "pinch"], y)
    ]
    clf = SpatioTemporalClassifier(
        class_weight=weights, random_state=0, **SMALL[SpatioTemporalClassifier]
    ).fit(X, y)
    np.testing.assert_allclose(clf.class_weight_, expected)
    np.testing.assert_allclose(_criterion_weight(clf), expected)


def test_a_class_weight_may_name_a_class_this_fold_lacks(data):
    """As in scikit-learn: a CV fold without a class still fits with the full weight dict."""
    X, y = _imbalanced(data)
    weights = {"fist": 1.0, "open": 2.0, "pinch": 3.0, "thumb": 4.0}
    clf = SpatioTemporalClassifier(
        class_weight=weights, random_state=0, **SMALL[SpatioTemporalClassifier]
    ).fit(X, y)
    np.testing.assert_allclose(clf.class_weight_, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(_criterion_weight(clf), [1.0, 2.0, 3.0])


def test_a_zero_class_weight_trains_a_finite_network(data):
    X, y = _imbalanced(data)
    clf = SpatioTemporalClassifier(
        class_weight={"pinch": 0.0}, random_state=0, **SMALL[SpatioTemporalClassifier]
    ).fit(X, y)
    assert np.isfinite(clf.net_.history[:, "train_loss"]).all()
    assert np.isfinite(clf.predict_proba(X)).all()


def test_class_weight_with_early_stopping_and_in_a_grid_search(data):
    X, y = _imbalanced(data)
    small = dict(SMALL[SpatioTemporalClassifier], max_epochs=3)
    clf = SpatioTemporalClassifier(
        class_weight="balanced", validation_fraction=0.2, random_state=0, **small
    ).fit(X, y)
    assert np.isfinite(clf.net_.history[:, "valid_loss"]).all()
    search = GridSearchCV(
        SpatioTemporalClassifier(random_state=0, **small),
        {"class_weight": [None, "balanced"]},
        cv=2,
    ).fit(X, y)
    assert search.best_params_["class_weight"] in (None, "balanced")


@pytest.mark.parametrize(
    "class_weight, message",
    [
        ({"thumb": 2.0}, r"names \['thumb'\].*labels as they appear in y"),
        ({"pinch": -1.0}, "finite, non-negative"),
        ({"pinch": float("nan")}, "finite, non-negative"),
        ({"pinch": "2"}, "finite, non-negative numbers"),
        ({"pinch": True}, "finite, non-negative numbers"),
        ({"fist": 0.0, "open": 0, "pinch": 0.0}, "some class a positive weight"),
    ],
)
def test_a_bad_class_weight_is_named(data, class_weight, message):
    X, y = _imbalanced(data)
    clf = SpatioTemporalClassifier(class_weight=class_weight, **SMALL[SpatioTemporalClassifier])
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_an_unknown_class_weight_string_is_refused_by_parameter_validation(data):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = _imbalanced(data)
    with pytest.raises(InvalidParameterError, match="class_weight"):
        SpatioTemporalClassifier(class_weight="even", **SMALL[SpatioTemporalClassifier]).fit(X, y)


@pytest.mark.parametrize("cls", CLASSES)
def test_a_network_pickled_before_class_weight_unpickles_unweighted(cls, data):
    X, y, _, _ = data
    clf = cls(random_state=0, **SMALL[cls]).fit(X, y)
    state = dict(clf.__getstate__())
    del state["class_weight"], state["class_weight_"]  # what an older pickle holds
    old = cls.__new__(cls)
    old.__setstate__(state)
    assert old.get_params()["class_weight"] is None
    np.testing.assert_allclose(old.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    assert clone(old).class_weight is None


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_a_batch_size_set_after_fit_is_named_at_predict(bad):
    X = np.random.default_rng(0).normal(size=(12, 2, 16)).astype("float32")
    y = np.repeat([0, 1], 6)
    clf = SpatioTemporalClassifier(min_steps=None, n_temporal=2, max_epochs=1, random_state=0).fit(
        X, y
    )
    clf.set_params(batch_size=bad)
    with pytest.raises(
        ValueError, match=r"SpatioTemporalClassifier: batch_size must be a positive"
    ):
        clf.predict(X)
    assert clf.set_params(batch_size=5).predict(X).shape == (12,)


@pytest.mark.parametrize("cls", CLASSES)
def test_min_steps_raises_the_epochs_of_a_small_set_to_its_floor(cls, data):
    X, y, X_test, _ = data
    batches = -(-len(X) // SMALL[cls]["batch_size"])  # optimiser steps per epoch
    floor = batches * SMALL[cls]["max_epochs"] + 1  # one step more than max_epochs gives
    clf = cls(random_state=0, **{**SMALL[cls], "min_steps": floor}).fit(X, y)
    assert clf.epoch_budget_ == clf.n_epochs_ == SMALL[cls]["max_epochs"] + 1
    assert dict(clf.net_.callbacks_)["lr_scheduler"].kwargs["T_max"] == clf.epoch_budget_
    optimizer_steps = sum(len(epoch["batches"]) for epoch in clf.net_.history)
    assert optimizer_steps == batches * clf.n_epochs_ >= floor
    # a floor that max_epochs already reaches changes nothing, bit for bit
    plain = cls(random_state=0, **SMALL[cls]).fit(X, y)
    reached = cls(random_state=0, **{**SMALL[cls], "min_steps": batches}).fit(X, y)
    assert plain.epoch_budget_ == reached.epoch_budget_ == SMALL[cls]["max_epochs"]
    np.testing.assert_array_equal(plain.predict_proba(X_test), reached.predict_proba(X_test))


def test_min_steps_gives_an_augmented_set_no_more_steps_than_the_real_one(data):
    X, y, _, _ = data
    small = dict(SMALL[SpatioTemporalClassifier], max_epochs=1)
    floor = 8 * -(-3 * len(X) // small["batch_size"])  # above both sets at one epoch
    steps = []
    for windows, labels in ((X, y), (np.concatenate([X] * 3), np.concatenate([y] * 3))):
        clf = SpatioTemporalClassifier(random_state=0, **{**small, "min_steps": floor}).fit(
            windows, labels
        )
        steps.append(-(-len(windows) // small["batch_size"]) * clf.epoch_budget_)
    assert floor <= min(steps) and max(steps) < floor + 3 * -(-len(X) // small["batch_size"])


@pytest.mark.parametrize("bad", [0, -5, 2.5, "many", True])
def test_a_bad_min_steps_is_named(data, bad):
    X, y, _, _ = data
    with pytest.raises((ValueError, TypeError), match="min_steps"):
        SpatioTemporalClassifier(**{**SMALL[SpatioTemporalClassifier], "min_steps": bad}).fit(X, y)


@pytest.mark.parametrize("cls", CLASSES)
def test_a_network_pickled_before_min_steps_keeps_its_budget(cls, data):
    X, y, _, _ = data
    clf = cls(random_state=0, **SMALL[cls]).fit(X, y)
    state = dict(clf.__getstate__())
    del state["min_steps"], state["epoch_budget_"]  # what an older pickle holds
    old = cls.__new__(cls)
    old.__setstate__(state)
    assert old.get_params()["min_steps"] is None and clone(old).min_steps is None
    np.testing.assert_allclose(old.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    assert old._epoch_budget(len(X)) == SMALL[cls]["max_epochs"]


def test_min_steps_set_after_fit_saves_as_it_is_now_like_max_epochs(data, tmp_path):
    X, y, _, _ = data
    clf = SpatioTemporalClassifier(
        random_state=0, **{**SMALL[SpatioTemporalClassifier], "min_steps": 20}
    )
    clf.fit(X, y).set_params(min_steps=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a training-only parameter: no "fitted with" warning
        save_weights(clf, tmp_path / "stc.sgw")
    assert load_weights(tmp_path / "stc.sgw").min_steps == 100


@pytest.mark.parametrize("cls", CLASSES)
def test_a_weights_file_written_before_min_steps_loads_with_epochs_alone(cls, data, tmp_path):
    # STC's default floor (4000) must not reach a model whose file predates min_steps
    X, y, _, _ = data
    clf = cls(random_state=0, **SMALL[cls]).fit(X, y)
    save_weights(clf, tmp_path / "new.sgw")
    payload = torch.load(tmp_path / "new.sgw", weights_only=True)
    del payload["params"]["min_steps"], payload["state"]["epoch_budget_"]
    torch.save(payload, tmp_path / "old.sgw")
    old = load_weights(tmp_path / "old.sgw")
    assert old.min_steps is None and clone(old).min_steps is None
    np.testing.assert_allclose(old.predict_proba(X), clf.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("cls", CLASSES)
def test_channel_scaling_removes_fixed_channel_gains(cls, data):
    # one RMS per channel: channels at gains that differ by powers of two (exact in float)
    # train bit-for-bit the network of the unscaled windows
    X, y, X_test, _ = data
    gains = np.array([2.0**-8, 1.0, 2.0**6, 2.0**10], dtype=np.float32)[:, None]
    params = dict(random_state=0, input_scaling="channel", **SMALL[cls])
    ref = cls(**params).fit(X, y)
    from semgaug_sk.preprocessing import channel_rms

    np.testing.assert_allclose(ref.input_rms_, channel_rms(X), rtol=1e-12)
    gained = cls(**params).fit(X * gains, y)
    np.testing.assert_allclose(gained.input_rms_, ref.input_rms_ * gains.ravel(), rtol=1e-12)
    np.testing.assert_array_equal(gained.predict_proba(X_test * gains), ref.predict_proba(X_test))
    # the global path reads the same gained windows differently (the loud channels lead)
    glob = cls(**{**params, "input_scaling": "global"}).fit(X * gains, y)
    assert np.ndim(glob.input_rms_) == 0
    assert not np.array_equal(glob.predict_proba(X_test * gains), ref.predict_proba(X_test))


def test_the_fitted_scale_decides_and_survives_saving(data, tmp_path):
    X, y, X_test, _ = data
    cls = SpatioTemporalClassifier
    clf = cls(random_state=0, input_scaling="channel", **SMALL[cls]).fit(X, y)
    expected = clf.predict_proba(X_test)
    # set after fit: the model keeps the path it was trained with until fitted again
    clf.set_params(input_scaling="global")
    np.testing.assert_array_equal(clf.predict_proba(X_test), expected)
    with pytest.warns(UserWarning, match="input_scaling='channel'"):
        save_weights(clf, tmp_path / "stc.sgw")
    loaded = load_weights(tmp_path / "stc.sgw")
    assert loaded.input_scaling == "channel" and loaded.input_rms_.shape == (X.shape[1],)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), expected)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X_test), expected)


@pytest.mark.parametrize("cls", CLASSES)
def test_a_network_saved_before_input_scaling_keeps_one_rms(cls, data, tmp_path):
    X, y, _, _ = data
    clf = cls(random_state=0, **SMALL[cls]).fit(X, y)
    state = dict(clf.__getstate__())
    del state["input_scaling"]  # what an older pickle holds
    old = cls.__new__(cls)
    old.__setstate__(state)
    assert old.input_scaling == "global" and clone(old).input_scaling == "global"
    save_weights(clf, tmp_path / "new.sgw")
    payload = torch.load(tmp_path / "new.sgw", weights_only=True)
    del payload["params"]["input_scaling"]
    torch.save(payload, tmp_path / "old.sgw")
    loaded = load_weights(tmp_path / "old.sgw")
    assert loaded.input_scaling == "global"
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("bad", ["per_channel", None, 1])
def test_a_bad_input_scaling_is_named(data, bad):
    X, y, _, _ = data
    with pytest.raises((ValueError, TypeError), match="input_scaling"):
        SpatioTemporalClassifier(**{**SMALL[SpatioTemporalClassifier], "input_scaling": bad}).fit(
            X, y
        )


def test_channel_scaling_leaves_a_silent_channel_silent(data):
    X, y, X_test, _ = data
    X, X_test = X.copy(), X_test.copy()
    X[:, 1] = 0.0
    X_test[:, 1] = 0.0
    cls = SpatioTemporalClassifier
    clf = cls(random_state=0, input_scaling="channel", **SMALL[cls]).fit(X, y)
    assert clf.input_rms_[1] == 1.0  # channel_rms's scale for a silent channel
    assert np.isfinite(clf.predict_proba(X_test)).all()
