"""Tests of SemanticEncoder (skorch-backed window classifier + embedding transformer).

scikit-learn's ``check_estimator`` does not apply: it feeds 2-D feature matrices,
while the encoder takes 3-D windows ``(n_windows, n_channels, n_times)`` and rejects
2-D input on purpose. The relevant checks are done by hand: shapes, label round
trip, determinism, clone/pickle, train-only standardisation, custom modules, and
each bad input.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.windows import sliding_windows

TINY = dict(embedding_dim=8, n_filters=8, n_blocks=1, max_epochs=8, patience=3)


@pytest.fixture(scope="module")
def data():
    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=4, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    names = np.array(["fist", "open", "pinch"])
    return w.X, names[w.y - 1]


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return SemanticEncoder(**TINY, random_state=0).fit(X, y)


def test_shapes_and_label_round_trip(data, fitted):
    X, y = data
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert fitted.classes_.tolist() == ["fist", "open", "pinch"]
    pred = fitted.predict(X)
    assert pred.dtype.kind == "U" and set(pred) <= set(y)
    emb = fitted.transform(X)
    assert emb.shape == (len(X), 8) and emb.dtype == np.float32
    assert fitted.embedding_dim_ == 8
    assert fitted.n_channels_ == X.shape[1] and fitted.n_times_ == X.shape[2]
    assert 1 <= fitted.n_epochs_ <= TINY["max_epochs"]


def test_learns_the_simulated_gestures(data):
    X, y = data
    # Three gestures with distinct activation patterns: well above chance (1/3). TINY's
    # 8 epochs of 109 windows are too few steps to tell (0.31-0.61 over seeds 0-5), so
    # this fit trains 40 (0.79-0.92 over seeds 0-2, torch 2.6 and 2.13).
    trained = SemanticEncoder(**dict(TINY, max_epochs=40, patience=40), random_state=0).fit(X, y)
    assert trained.score(X, y) > 0.7


def test_standardisation_uses_training_windows(data, fitted):
    X, _ = data
    np.testing.assert_allclose(fitted.scaler_.mean_, X.astype(np.float64).mean(axis=(0, 2)))
    np.testing.assert_allclose(fitted.scaler_.scale_, X.astype(np.float64).std(axis=(0, 2)))


def test_determinism(data, fitted):
    X, y = data
    again = SemanticEncoder(**TINY, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.transform(X), fitted.transform(X))
    other = SemanticEncoder(**TINY, random_state=1).fit(X, y)
    assert not np.array_equal(other.transform(X), fitted.transform(X))


def test_clone_and_pickle(data, fitted):
    X, _ = data
    params = clone(fitted).get_params()
    assert params == SemanticEncoder(**TINY, random_state=0).get_params()
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.transform(X), fitted.transform(X))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_fit_transform(data):
    X, y = data
    emb = SemanticEncoder(**TINY, random_state=0).fit_transform(X, y)
    assert emb.shape == (len(X), 8)
    with pytest.raises(ValueError, match="y is required"):
        SemanticEncoder(**TINY).fit_transform(X)


class _WithEmbed(torch.nn.Module):
    def __init__(self, n_channels=4, n_times=20, n_classes=3, embedding_dim=5):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(n_channels * n_times, embedding_dim)
        )
        self.head = torch.nn.Linear(embedding_dim, n_classes)

    def embed(self, x):
        return torch.tanh(self.body(x))

    def forward(self, x):
        return self.head(self.embed(x))


class _NoEmbed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(80, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3)
        )

    def forward(self, x):
        return self.net(x)


def test_custom_module_instance_and_class(data):
    X, y = data
    module = _WithEmbed()
    before = [p.detach().clone() for p in module.parameters()]
    enc = SemanticEncoder(module, max_epochs=2, random_state=0).fit(X, y)
    assert enc.transform(X).shape == (len(X), 5)
    # The instance passed in is left untouched (deep-copied, re-initialised).
    for p, q in zip(module.parameters(), before, strict=True):
        assert torch.equal(p, q)
    by_class = SemanticEncoder(_WithEmbed, embedding_dim=7, max_epochs=2, random_state=0).fit(X, y)
    assert by_class.transform(X).shape == (len(X), 7)


def test_custom_module_without_embed_uses_last_linear_input(data):
    X, y = data
    enc = SemanticEncoder(_NoEmbed(), max_epochs=2, random_state=0).fit(X, y)
    emb = enc.transform(X)
    assert emb.shape == (len(X), 6)
    assert (emb >= 0).all()  # the ReLU output feeding the last Linear


def test_module_without_linear_is_rejected(data):
    X, y = data

    class Conv(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(4, 3, 20)

        def forward(self, x):
            return self.conv(x)[..., 0]

    with pytest.raises(TypeError, match="embed"):
        SemanticEncoder(Conv(), max_epochs=1, validation_fraction=0).fit(X, y)


def test_tiny_class_skips_validation_with_warning(data):
    X, y = data
    keep = np.concatenate([np.flatnonzero(y != "pinch"), np.flatnonzero(y == "pinch")[:1]])
    with pytest.warns(UserWarning, match="without early stopping"):
        enc = SemanticEncoder(**TINY, random_state=0).fit(X[keep], y[keep])
    assert enc.n_epochs_ == TINY["max_epochs"]


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda X, y: (X[:, 0, :], y), "3-D"),
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y), "NaN"),
        (lambda X, y: (X, np.full(len(y), "fist")), "at least 2"),
        (lambda X, y: (X, y[:-1]), "mismatched lengths"),
    ],
    ids=["2d", "nan", "one-class", "lengths"],
)
def test_bad_input(data, bad, match):
    X, y = bad(*data)
    with pytest.raises(ValueError, match=match):
        SemanticEncoder(**TINY).fit(X, y)


def test_bad_params(data):
    X, y = data
    with pytest.raises(InvalidParameterError, match="embedding_dim"):
        SemanticEncoder(embedding_dim=0).fit(X, y)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        if torch.cuda.is_available():
            pytest.skip("CUDA is available here")
        SemanticEncoder(device="cuda").fit(X, y)


def test_unfitted_and_wrong_shape(data, fitted):
    X, _ = data
    for method in ("predict", "predict_proba", "transform"):
        with pytest.raises(NotFittedError):
            getattr(SemanticEncoder(), method)(X)
    with pytest.raises(ValueError, match="fitted on"):
        fitted.transform(X[:, :2])


def test_emg_biases_of_the_default_network():
    from semgaug_sk.nn.encoder import ConvEncoder

    torch.manual_seed(0)
    x = torch.randn(5, 4, 20)
    # window_gain: a gain common to all electrodes moves only the log-RMS input
    net = ConvEncoder(4, 3, embedding_dim=6, window_gain=True).eval()
    pooled = {}
    hook = net.project.register_forward_pre_hook(lambda m, i: pooled.setdefault(len(pooled), i[0]))
    net.embed(x), net.embed(7.0 * x)
    hook.remove()
    torch.testing.assert_close(pooled[0][:, :-1], pooled[1][:, :-1], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(pooled[1][:, -1] - pooled[0][:, -1], torch.full((5,), np.log(7.0)))
    # mean_log_energy pools each map by its log-energy: the same shapes as mean_max
    a = ConvEncoder(4, 3, embedding_dim=6)
    b = ConvEncoder(4, 3, embedding_dim=6, pooling="mean_log_energy")
    assert {k: v.shape for k, v in a.state_dict().items()} == {
        k: v.shape for k, v in b.state_dict().items()
    }
    b.load_state_dict(a.state_dict())
    assert not torch.allclose(a.eval().embed(x), b.eval().embed(x))
    # gain_jitter: random per-channel gains while training, the identity in evaluation
    jit = ConvEncoder(4, 3, embedding_dim=6, gain_jitter=0.3, dropout=0.0)
    jit.load_state_dict(a.state_dict())
    torch.testing.assert_close(jit.eval().embed(x), a.eval().embed(x))
    assert not torch.allclose(jit.train().embed(x), jit.train().embed(x))
    with pytest.raises(ValueError, match="pooling must be one of"):
        ConvEncoder(4, 3, pooling="max")


def test_emg_bias_parameters_reach_the_network(data):
    X, y = data
    enc = SemanticEncoder(
        **TINY, pooling="mean_log_energy", window_gain=True, gain_jitter=0.1, random_state=0
    ).fit(X, y)
    net = enc.net_.module_
    assert net.pooling == "mean_log_energy" and net.gain is not None
    assert net.jitter.sigma == 0.1
    assert enc.score(X, y) > 0.6
    for bad in (dict(pooling="max"), dict(gain_jitter=-0.1), dict(window_gain="yes")):
        with pytest.raises(InvalidParameterError, match=next(iter(bad))):
            SemanticEncoder(**bad).fit(X, y)


def test_encoders_pickled_before_the_emg_options_existed_still_work(data):
    X, y = data
    enc = SemanticEncoder(**TINY, pooling="mean_max", random_state=0).fit(X, y)
    expected = enc.predict_proba(X)
    # strip what an older version did not have, then round-trip through pickle
    old = pickle.loads(pickle.dumps(enc))
    for name in ("pooling", "window_gain", "gain_jitter"):
        delattr(old, name)
    module = old.net_.module_
    del module.pooling, module.gain
    del module._modules["jitter"]
    restored = pickle.loads(pickle.dumps(old))
    assert restored.get_params()["pooling"] == "mean_max"
    assert restored.get_params()["window_gain"] is False
    np.testing.assert_allclose(restored.predict_proba(X), expected, rtol=1e-6)
    clone(restored)  # get_params works: GridSearchCV can clone it


def test_fit_transform_refuses_fit_parameters_it_would_ignore():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 2, 16)).astype("float32"), np.arange(20) % 2
    with pytest.raises(TypeError, match="sample_weight"):
        SemanticEncoder(embedding_dim=4, n_filters=4, max_epochs=1).fit_transform(
            X, y, sample_weight=np.ones(20)
        )


def test_predictions_do_not_depend_on_the_data_units_even_tiny_ones():
    # the flat-channel test is relative to the loudest channel: at 1e-8 the absolute
    # threshold of WindowStandardizer used to leave every channel unscaled (near-zero input)
    rec = make_semg_gestures(n_classes=3, n_repetitions=3, n_channels=4, fs=500.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=100)
    X = w.X.copy()
    X[:, 3] = 0.0  # a dead channel stays as it is (scale 1) at every scale
    kw = dict(TINY, max_epochs=3, random_state=0)
    base = SemanticEncoder(**kw).fit(X, w.y).predict_proba(X)
    for scale in (1e-12, 1e-8, 1e6):
        enc = SemanticEncoder(**kw).fit(X * scale, w.y)
        np.testing.assert_allclose(enc.predict_proba(X * scale), base, atol=1e-5)
        assert enc.scaler_.scale_[3] == 1.0


def test_module_instances_are_redrawn_attention_included_and_bare_parameters_named():
    import torch
    from torch import nn

    from semgaug_sk.nn.encoder import reset_parameters

    class WithAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.position = nn.Parameter(torch.zeros(3))  # no module re-draws it
            self.attention = nn.MultiheadAttention(4, 2)

    net = WithAttention()
    before = net.attention.in_proj_weight.detach().clone()
    with pytest.warns(UserWarning, match=r"\['position'\] belong to no sub-module with reset"):
        reset_parameters(net)
    assert not torch.equal(before, net.attention.in_proj_weight)  # _reset_parameters ran
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reset_parameters(nn.Sequential(nn.Conv1d(2, 2, 3), nn.LayerNorm(2)))


# -- review 2026-12-05 -------------------------------------------------------------------------
def test_window_gain_keeps_a_gain_a_gain_on_envelopes():
    rng = np.random.default_rng(0)
    X = (np.abs(rng.normal(size=(40, 4, 20))) + 1.0).astype(np.float32)  # mean >> 0
    y = np.arange(40) % 2
    X[y == 1, 0] *= 2
    enc = SemanticEncoder(
        window_gain=True,
        max_epochs=1,
        n_filters=8,
        embedding_dim=4,
        validation_fraction=0,
        random_state=0,
    ).fit(X, y)
    gain = enc.net_.module_.gain
    with torch.no_grad():
        z1, r1 = gain(torch.from_numpy(enc._net_input(X)))
        z2, r2 = gain(torch.from_numpy(enc._net_input(2 * X)))
    assert float((z2 - z1).abs().max()) < 1e-4  # the shape is gain-free
    assert float((r2 - r1).mean()) == pytest.approx(np.log(2), abs=1e-4)  # the gain is one input
    plain = SemanticEncoder(max_epochs=1, n_filters=8, validation_fraction=0, random_state=0)
    assert np.any(plain.fit(X, y).scaler_.mean_ != 0)  # without the option: centred as before


@pytest.mark.parametrize("scale", [1e160, 1e-300])
def test_extreme_float64_amplitudes_give_the_same_encoder(scale):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 3, 10))
    y = np.arange(16) % 2
    X[y == 1, 0] *= 3
    params = dict(max_epochs=2, batch_size=8, n_filters=8, embedding_dim=4, validation_fraction=0)
    ref = SemanticEncoder(**params, random_state=0).fit(X, y).predict_proba(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = SemanticEncoder(**params, random_state=0).fit(X * scale, y).predict_proba(X * scale)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_custom_module_mistakes_are_named():
    X = np.random.default_rng(0).normal(size=(20, 3, 10)).astype(np.float32)
    y = np.arange(20) % 2

    class NoArgs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(30, 2)

        def forward(self, x):
            return self.lin(x.flatten(1))

    class TupleOut(NoArgs):
        def __init__(self, **kwargs):
            super().__init__()

        def forward(self, x):
            return self.lin(x.flatten(1)), x

    with pytest.raises(TypeError, match="does not accept.*pass an instance"):
        SemanticEncoder(NoArgs, max_epochs=1).fit(X, y)
    with pytest.raises(TypeError, match="returned a tuple"):
        SemanticEncoder(TupleOut, max_epochs=1, validation_fraction=0).fit(X, y)
    from semgaug_sk.nn.encoder import ConvEncoder

    with pytest.raises(TypeError, match="library's own network, which module=None builds"):
        SemanticEncoder(ConvEncoder, max_epochs=1).fit(X, y)


class _FlatNet(nn.Module):
    """A user's network: flattened windows -> 4 hidden units -> n_classes logits."""

    def __init__(self, n_classes, n_inputs=48):
        super().__init__()
        self.hidden, self.out = nn.Linear(n_inputs, 4), nn.Linear(4, n_classes)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x.flatten(1))))


@pytest.mark.parametrize(
    "module, match",
    [
        (_FlatNet(5), r"output of shape \(2, 5\); it must give logits of shape .* \(2, 3\)"),
        (_FlatNet(2), r"output of shape \(2, 2\)"),
        (_FlatNet(3, n_inputs=32), r"cannot take windows of 3 channels x 16 samples"),
    ],
)
def test_a_users_module_must_fit_the_windows_and_the_classes(module, match):
    # too many outputs used to train and then give probabilities of classes that do not exist
    X = np.random.default_rng(0).normal(size=(24, 3, 16)).astype(np.float32)
    y = np.repeat(["a", "b", "c"], 8)
    with pytest.raises(ValueError, match=match):
        SemanticEncoder(module=module, max_epochs=1, validation_fraction=0).fit(X, y)
    fitted = SemanticEncoder(module=_FlatNet(3), max_epochs=1, validation_fraction=0).fit(X, y)
    assert fitted.predict_proba(X).shape == (24, 3)


def test_a_validation_fraction_that_leaves_too_few_training_windows_says_so():
    X = np.random.default_rng(0).normal(size=(24, 3, 16)).astype(np.float32)
    y = np.repeat(["a", "b", "c"], 8)
    enc = SemanticEncoder(n_filters=4, embedding_dim=4, max_epochs=1, validation_fraction=0.95)
    with pytest.warns(UserWarning, match=r"leaves 1 training window\(s\) for 3 classes") as caught:
        enc.fit(X, y)
    assert caught[0].filename == __file__  # attributed to the caller's line


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_mps_without_mps_is_named():
    from semgaug_sk.utils.torch_utils import resolve_device

    with pytest.raises(RuntimeError, match=r"no MPS \(Apple GPU\) support"):
        resolve_device("mps")


@pytest.mark.parametrize("kind", ["xpu", "hpu"])
def test_a_device_type_this_torch_lacks_is_named_before_training(kind):
    from semgaug_sk.utils.torch_utils import resolve_device

    backend = getattr(torch, kind, None)
    if backend is not None and callable(getattr(backend, "is_available", None)):
        if backend.is_available():
            pytest.skip(f"this machine has {kind}")
    with pytest.raises(RuntimeError, match=rf"has no '{kind}' device\. Use device='cpu'"):
        resolve_device(kind)


def test_conv_encoder_refuses_a_collapsed_embedding_and_an_even_kernel():
    from semgaug_sk.nn.encoder import ConvEncoder

    # a layer-normalised embedding of 1 value is constant: the encoder learned nothing
    for dim in (1, 2):
        with pytest.raises(ValueError, match="embedding_dim must be at least 3"):
            ConvEncoder(n_channels=2, n_classes=3, embedding_dim=dim)
    with pytest.raises(ValueError, match="embedding_dim must be at least 3"):
        SemanticEncoder(embedding_dim=1, max_epochs=1).fit(
            np.zeros((8, 2, 16), np.float32), np.repeat([0, 1], 4)
        )
    # an even kernel used to fail inside the residual add with torch's shape error
    with pytest.raises(ValueError, match="kernel_size must be a positive odd integer; got 4"):
        ConvEncoder(n_channels=2, n_classes=3, kernel_size=4)
    assert ConvEncoder(n_channels=2, n_classes=3, embedding_dim=3)(torch.zeros(1, 2, 9)).shape == (
        1,
        3,
    )
