"""Tests of persistence: weights-only files (``semgaug_sk.persistence``), pickle and joblib.

Weights-only files must rebuild each fitted estimator exactly (same parameters,
same fitted attributes, identical ``predict_proba``/``transform``/``generate``),
hold only tensors and plain data (so ``torch.load(..., weights_only=True)`` reads
them), and fail clearly on a missing, truncated, foreign, pickled or newer file.
Every fitted estimator of the package also round-trips through pickle and joblib.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pickle
import tempfile
import warnings
from collections import OrderedDict

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import NotFittedError
from skorch.history import History

from semgaug_sk.augmentation import (
    GMSS,
    SASS,
    ClassicAugmenter,
    ComposedAugmenter,
    DiffusionGenerator,
    PopulationPrior,
    SASGAugmenter,
)
from semgaug_sk.classifiers import ConvTransformerClassifier, SpatioTemporalClassifier
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.features import EMGFeatures
from semgaug_sk.persistence import (
    WEIGHTED_ESTIMATORS,
    WEIGHTS_FORMAT_VERSION,
    fitted_attributes,
    load_weights,
    save_weights,
)
from semgaug_sk.preprocessing import WindowStandardizer
from semgaug_sk.windows import sliding_windows

ENCODER = dict(embedding_dim=8, n_filters=8, n_blocks=1, max_epochs=4, patience=2)
SASG = dict(
    n_steps=10,
    base_channels=8,
    channel_mults=(1, 2),
    n_cond_tokens=2,
    cond_token_dim=16,
    n_sampling_steps=3,
    max_rounds=2,
    confidence_threshold=0.0,
    random_state=0,
)
_SAMPLERS = {"GMSS": GMSS, "SASS": SASS}
HAS_IMITATION = importlib.util.find_spec("semgaug_sk.imitation") is not None


@pytest.fixture(scope="module")
def data():
    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=4, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    names = np.array(["fist", "open", "pinch"])
    return w.X, names[w.y - 1]


@pytest.fixture(scope="module")
def encoder(data):
    return SemanticEncoder(**ENCODER, random_state=0).fit(*data)


@pytest.fixture(scope="module")
def sasg(data):
    return SASGAugmenter(SemanticEncoder(**ENCODER), **SASG).fit(*data)


def _copy(est):
    """An independent copy of a fitted estimator (so tests do not share generator state)."""
    return pickle.loads(pickle.dumps(est))


def _walk(obj):
    """Every leaf of a loaded payload."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield key
            yield from _walk(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            yield from _walk(value)
    else:
        yield obj


# -- weights-only round trips -------------------------------------------------------------------
def test_encoder_round_trip(tmp_path, data, encoder):
    X, y = data
    path = tmp_path / "encoder.pt"
    save_weights(encoder, path)
    loaded = load_weights(path)
    assert type(loaded) is SemanticEncoder and loaded is not encoder
    assert loaded.get_params() == encoder.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), encoder.predict_proba(X))
    np.testing.assert_array_equal(loaded.transform(X), encoder.transform(X))
    assert loaded.classes_.tolist() == ["fist", "open", "pinch"]
    assert loaded.classes_.dtype == encoder.classes_.dtype
    assert loaded.predict(X[:3]).dtype.kind == "U"
    np.testing.assert_array_equal(loaded.scaler_.mean_, encoder.scaler_.mean_)
    assert (loaded.n_epochs_, loaded.embedding_dim_) == (encoder.n_epochs_, encoder.embedding_dim_)
    assert isinstance(loaded.net_.history, History)
    assert loaded.net_.history[:, "train_loss"] == encoder.net_.history[:, "train_loss"]
    # a loaded model is an ordinary estimator: it clones and pickles
    assert clone(loaded).get_params() == encoder.get_params()
    np.testing.assert_array_equal(_copy(loaded).transform(X[:5]), encoder.transform(X[:5]))


@pytest.mark.parametrize(
    "labels",
    [np.array([3, 7, 11]), np.array(["rest", "fist", "open"], dtype=object)],
    ids=["int", "object"],
)
def test_labels_round_trip_unchanged(tmp_path, data, labels):
    X, y = data
    y_new = labels[np.searchsorted(["fist", "open", "pinch"], y)]
    enc = SemanticEncoder(**dict(ENCODER, max_epochs=1), random_state=0).fit(X, y_new)
    save_weights(enc, tmp_path / "enc.pt")
    loaded = load_weights(tmp_path / "enc.pt")
    assert loaded.classes_.dtype == enc.classes_.dtype
    assert loaded.classes_.tolist() == enc.classes_.tolist()
    assert [type(c) for c in loaded.classes_] == [type(c) for c in enc.classes_]
    np.testing.assert_array_equal(loaded.predict(X), enc.predict(X))


def test_sasg_round_trip_generates_the_same_windows(tmp_path, data, sasg):
    save_weights(sasg, tmp_path / "sasg.pt")
    loaded = load_weights(tmp_path / "sasg.pt", estimator_type=SASGAugmenter)
    original = _copy(sasg)
    params = loaded.get_params(deep=False)
    assert params["encoder"].get_params() == original.encoder.get_params()
    assert {k: v for k, v in params.items() if k != "encoder"} == {
        k: v for k, v in original.get_params(deep=False).items() if k != "encoder"
    }
    for name in (
        "train_embeddings_",
        "cond_mean_",
        "cond_scale_",
        "_train_codes",
    ):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(original, name), err_msg=name)
    assert type(loaded.sampler_) is type(original.sampler_)
    for name in ("means_", "covariances_", "factors_", "embeddings_", "codes_"):
        a, b = getattr(loaded.sampler_, name), getattr(original.sampler_, name)
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert loaded.sampling_strategy_ == original.sampling_strategy_
    assert isinstance(loaded.sampling_strategy_, OrderedDict)
    assert loaded.dtype_ == original.dtype_
    ema, ema_ref = loaded.diffusion_.ema_module_, original.diffusion_.ema_module_
    for (name, p), (_, q) in zip(
        ema.state_dict().items(), ema_ref.state_dict().items(), strict=True
    ):
        assert torch.equal(p, q), name
    # SASS (the fitted sampling), then GMSS on the same model: identical windows and labels
    for sampling in ("sass", "gmss"):
        X_a, y_a = loaded.set_params(sampling=sampling).generate(3)
        X_b, y_b = original.set_params(sampling=sampling).generate(3)
        np.testing.assert_array_equal(X_a, X_b)
        np.testing.assert_array_equal(y_a, y_b)
        np.testing.assert_array_equal(loaded.last_conditions_, original.last_conditions_)
    assert np.isfinite(X_a).all() and X_a.shape == (9, *data[0].shape[1:])
    X, y = data
    np.testing.assert_array_equal(loaded.encoder_.transform(X), original.encoder_.transform(X))


def test_sasg_label_condition_and_untrained_generator(tmp_path, data):
    X, y = data
    label = SASGAugmenter(condition="label", **SASG).fit(X, y)
    save_weights(label, tmp_path / "label.pt")
    loaded = load_weights(tmp_path / "label.pt")
    assert loaded.encoder_ is None and loaded.train_embeddings_ is None
    np.testing.assert_array_equal(loaded.generate(2)[0], _copy(label).generate(2)[0])

    # ratio=0: fit_resample trains no generator; the loaded sampler says so too
    none = SASGAugmenter(ratio=0.0, **SASG)
    none.fit_resample(X, y)
    save_weights(none, tmp_path / "none.pt")
    loaded = load_weights(tmp_path / "none.pt")
    assert loaded.generator_fitted_ is False and not hasattr(loaded, "diffusion_")
    with pytest.raises(NotFittedError, match="no generator was trained"):
        loaded.generate(1)


def test_prefitted_encoder_stays_shared(tmp_path, data, encoder):
    X, y = data
    aug = SASGAugmenter(encoder, refit_encoder=False, **SASG).fit(X, y)
    save_weights(aug, tmp_path / "aug.pt")
    loaded = load_weights(tmp_path / "aug.pt")
    assert loaded.encoder_ is loaded.encoder
    np.testing.assert_array_equal(loaded.encoder.transform(X), encoder.transform(X))
    np.testing.assert_array_equal(loaded.generate(2)[0], _copy(aug).generate(2)[0])


def test_plain_estimators_round_trip(tmp_path, data):
    X, y = data
    features = EMGFeatures("hudgins").fit(X)
    scaler = WindowStandardizer().fit(X)
    classic = ClassicAugmenter(random_state=0).fit(X, y)
    for est in (features, scaler, classic):
        path = tmp_path / f"{type(est).__name__}.pt"
        save_weights(est, path)
        loaded = load_weights(path)
        assert type(loaded) is type(est) and loaded.get_params() == est.get_params()
        assert sorted(fitted_attributes(loaded)) == sorted(fitted_attributes(est))
    np.testing.assert_array_equal(
        load_weights(tmp_path / "EMGFeatures.pt").transform(X), features.transform(X)
    )
    np.testing.assert_array_equal(
        load_weights(tmp_path / "WindowStandardizer.pt").transform(X), scaler.transform(X)
    )
    loaded = load_weights(tmp_path / "ClassicAugmenter.pt")
    X_a, y_a = loaded.generate(2)
    X_b, y_b = _copy(classic).generate(2)  # the random generator state is restored too
    np.testing.assert_array_equal(X_a, X_b)
    np.testing.assert_array_equal(y_a, y_b)


def test_file_holds_only_tensors_and_plain_data(tmp_path, sasg):
    path = tmp_path / "sasg.pt"
    save_weights(sasg, path)
    payload = torch.load(path, weights_only=True)  # the safe loader accepts it as is
    assert payload["format_version"] == WEIGHTS_FORMAT_VERSION
    assert payload["estimator"] == "SASGAugmenter"
    plain = (str, int, float, bool, type(None), torch.Tensor)
    assert all(isinstance(leaf, plain) for leaf in _walk(payload))
    json.dumps(payload["params"])  # the constructor parameters are JSON-safe
    assert payload["params"]["accelerator"] is None


def test_file_objects_and_device(tmp_path, data, encoder):
    X, _ = data
    buffer = io.BytesIO()
    save_weights(encoder, buffer)
    buffer.seek(0)
    loaded = load_weights(buffer, device="cpu")
    assert loaded.device == "cpu" and loaded.net_.device == "cpu"
    np.testing.assert_array_equal(loaded.transform(X[:4]), encoder.transform(X[:4]))
    if not torch.cuda.is_available():
        save_weights(encoder, tmp_path / "enc.pt")
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            load_weights(tmp_path / "enc.pt", device="cuda")


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


def test_custom_module_must_be_passed_again(tmp_path, data):
    X, y = data
    enc = SemanticEncoder(_WithEmbed(), max_epochs=2, random_state=0).fit(X, y)
    save_weights(enc, tmp_path / "custom.pt")
    with pytest.raises(ValueError, match=r"cannot hold: module \(a .*_WithEmbed\)"):
        load_weights(tmp_path / "custom.pt")
    with pytest.raises(ValueError, match="not parameters of the stored estimator"):
        load_weights(tmp_path / "custom.pt", params={"modul": _WithEmbed()})
    loaded = load_weights(tmp_path / "custom.pt", params={"module": _WithEmbed()})
    np.testing.assert_array_equal(loaded.predict_proba(X), enc.predict_proba(X))
    with pytest.raises(ValueError, match="do not fit"):
        load_weights(tmp_path / "custom.pt", params={"module": _WithEmbed(embedding_dim=6)})


# -- clear errors -------------------------------------------------------------------------------
def test_missing_and_truncated_files(tmp_path, encoder):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_weights(tmp_path / "absent.pt")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_weights(tmp_path)
    path = tmp_path / "enc.pt"
    save_weights(encoder, path)
    content = path.read_bytes()
    for name, damaged in [("half", content[: len(content) // 2]), ("empty", b"")]:
        bad = tmp_path / f"{name}.pt"
        bad.write_bytes(damaged)
        with pytest.raises(ValueError, match="corrupt"):
            load_weights(bad)
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        save_weights(encoder, tmp_path / "no" / "such" / "folder.pt")


def test_pickle_files_are_refused(tmp_path, encoder):
    path = tmp_path / "encoder.joblib"
    joblib.dump(encoder, path)
    with pytest.raises(ValueError, match="probably a pickle or joblib file"):
        load_weights(path)
    with open(tmp_path / "encoder.pkl", "wb") as fh:
        pickle.dump(encoder, fh)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="not a weights-only file"):
            load_weights(tmp_path / "encoder.pkl")
        with open(tmp_path / "encoder.pkl", "rb") as fh:  # a file object too
            fh.read(0)
            with pytest.raises(ValueError, match="not a weights-only file"):
                load_weights(fh)
    assert not seen  # refused before torch.load, which warns about a pickle's protocol


def test_foreign_and_newer_files(tmp_path, encoder):
    torch.save(encoder.net_.module_.state_dict(), tmp_path / "state_dict.pt")
    with pytest.raises(ValueError, match="not a semgaug_sk weights file"):
        load_weights(tmp_path / "state_dict.pt")

    save_weights(encoder, tmp_path / "enc.pt")
    payload = torch.load(tmp_path / "enc.pt", weights_only=True)
    with pytest.raises(TypeError, match="holds a SemanticEncoder, not a SASGAugmenter"):
        load_weights(tmp_path / "enc.pt", estimator_type=SASGAugmenter)

    newer = dict(payload, format_version=WEIGHTS_FORMAT_VERSION + 1)
    torch.save(newer, tmp_path / "newer.pt")
    with pytest.raises(ValueError, match=r"format version 2 .* Upgrade semgaug_sk"):
        load_weights(tmp_path / "newer.pt")

    torch.save(dict(payload, estimator="os.system"), tmp_path / "unknown.pt")
    with pytest.raises(ValueError, match="'os.system', which is not one of the classes"):
        load_weights(tmp_path / "unknown.pt")

    state = dict(payload["state"], classes_={"__semgaug__": "pickle", "items": []})
    torch.save(dict(payload, state=state), tmp_path / "altered.pt")
    with pytest.raises(ValueError, match="malformed"):
        load_weights(tmp_path / "altered.pt")


def test_what_cannot_be_saved(tmp_path, data):
    X, y = data
    with pytest.raises(NotFittedError):
        save_weights(SemanticEncoder(), tmp_path / "unfitted.pt")
    lda = LinearDiscriminantAnalysis().fit(X.reshape(len(X), -1), y)
    with pytest.raises(TypeError, match="weights-only files cannot hold"):
        save_weights(lda, tmp_path / "lda.pt")
    scaler = WindowStandardizer().fit(X)
    scaler.extra_ = lambda: None  # a fitted attribute that is code
    with pytest.raises(TypeError, match=r"WindowStandardizer\.extra_ is a .*function"):
        save_weights(scaler, tmp_path / "scaler.pt")
    assert not list(tmp_path.iterdir())  # nothing half-written is left behind


@pytest.mark.skipif(not HAS_IMITATION, reason="semgaug_sk.imitation is not available yet")
@pytest.mark.parametrize("name", ["FeatureImitator", "FINClassifier"])
def test_imitation_estimators_follow_the_protocol(tmp_path, data, name):
    """Weights-only files for the LSTM-FIN estimators: a round trip once they implement the
    protocol (``_get_weights_state``/``_set_weights_state``), a clear error until then."""
    X, y = data
    est = _fit_imitation(name, X, y)
    path = tmp_path / f"{name}.pt"
    if not hasattr(type(est), "_get_weights_state"):
        with pytest.raises(TypeError, match="weights-only files? cannot hold"):
            save_weights(est, path)
        return
    save_weights(est, path)
    loaded = load_weights(path)
    method = "transform" if name == "FeatureImitator" else "predict_proba"
    np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(est, method)(X))


def test_registry_names_importable_classes():
    for name, module in WEIGHTED_ESTIMATORS.items():
        if module == "semgaug_sk.imitation" and not HAS_IMITATION:
            continue
        assert getattr(importlib.import_module(module), name).__name__ == name


# -- pickle and joblib round trips of every fitted estimator -------------------------------------
def _tiny(cls, **params):
    """``cls(**params)`` keeping only the parameters ``cls`` has (its API may still grow)."""
    known = cls().get_params(deep=False)
    return cls(**{k: v for k, v in params.items() if k in known})


def _fit_imitation(name, X, y):
    imitation = pytest.importorskip("semgaug_sk.imitation")
    tiny = dict(
        hidden_size=4, num_layers=1, max_epochs=1, fine_tune_epochs=1, batch_size=64, random_state=0
    )
    imitator = _tiny(imitation.FeatureImitator, **tiny)
    if name == "FeatureImitator":
        return imitator.fit(X)
    return _tiny(imitation.FINClassifier, imitator=imitator, head_channels=(4, 4, 4), **tiny).fit(
        X, y
    )


def _fitted(name, data, encoder, sasg):
    X, y = data
    if name == "EMGFeatures":
        return EMGFeatures().fit(X), "transform"
    if name == "WindowStandardizer":
        return WindowStandardizer().fit(X), "transform"
    if name == "ClassicAugmenter":
        return ClassicAugmenter(random_state=0).fit(X, y), "generate"
    if name == "ComposedAugmenter":
        inner = ClassicAugmenter(["scaling"]), ClassicAugmenter(["jitter"])
        return ComposedAugmenter(*inner, random_state=0).fit(X, y), "generate"
    if name == "SemanticEncoder":
        return encoder, "predict_proba"
    if name == "SASGAugmenter":
        return sasg, "generate"
    if name == "DiffusionGenerator":
        return sasg.generator_, "sample"
    if name in ("GMSS", "SASS"):
        sampler = _SAMPLERS[name]().fit(sasg.train_embeddings_, sasg.classes_[sasg._train_codes])
        return sampler, "sample"
    if name == "SpatioTemporalClassifier":
        return SpatioTemporalClassifier(
            min_steps=None, n_temporal=4, max_epochs=2, random_state=0
        ).fit(X, y), "predict_proba"
    if name == "ConvTransformerClassifier":
        return ConvTransformerClassifier(
            d_model=8, n_heads=2, n_layers=1, max_epochs=2, random_state=0
        ).fit(X, y), "predict_proba"
    if not HAS_IMITATION:
        pytest.skip("semgaug_sk.imitation is not available yet")
    return _fit_imitation(name, X, y), (
        "transform" if name == "FeatureImitator" else "predict_proba"
    )


def _output(est, method, X):
    if method == "generate":
        return est.generate(2)[0]
    if method == "sample" and isinstance(est, DiffusionGenerator):
        cond = np.zeros((2, est.cond_dim_), np.float32)
        return est.sample(cond, random_state=0)
    if method == "sample":
        return est.sample(2, np.random.default_rng(0))[0]
    return getattr(est, method)(X)


@pytest.mark.parametrize("backend", ["pickle", "joblib"])
@pytest.mark.parametrize("name", sorted(WEIGHTED_ESTIMATORS))
def test_pickle_and_joblib_round_trip(tmp_path, data, encoder, sasg, name, backend):
    X, _ = data
    est, method = _fitted(name, data, encoder, sasg)
    state = pickle.dumps(est)  # a frozen copy: generate() advances the sampler's generator
    if backend == "pickle":
        loaded = pickle.loads(state)
    else:
        joblib.dump(pickle.loads(state), tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
    assert type(loaded) is type(est)
    np.testing.assert_array_equal(
        _output(loaded, method, X), _output(pickle.loads(state), method, X)
    )


@pytest.mark.parametrize("name", sorted(WEIGHTED_ESTIMATORS))
def test_copies_of_a_model_hash_alike_for_a_pipelines_memory_cache(data, encoder, sasg, name):
    # torch pickles a storage under its address, so two copies alive at once (or one
    # copy in two processes) gave joblib.hash two values and the cache always missed
    est, _ = _fitted(name, data, encoder, sasg)
    state = pickle.dumps(est)
    first, second = pickle.loads(state), pickle.loads(state)
    assert joblib.hash(first) == joblib.hash(second)
    assert pickle.dumps(first) == pickle.dumps(second)


@pytest.mark.parametrize("name", sorted(WEIGHTED_ESTIMATORS))
def test_weights_files_load_as_copies_that_hash_alike(tmp_path, data, encoder, sasg, name):
    # a loaded numpy Generator was seeded from OS entropy before its state was set, so its
    # SeedSequence, and joblib.hash, differed at every load of the same file
    est, _ = _fitted(name, data, encoder, sasg)
    save_weights(est, tmp_path / "model.sgw")
    first, second = load_weights(tmp_path / "model.sgw"), load_weights(tmp_path / "model.sgw")
    assert joblib.hash(first) == joblib.hash(second)


def test_a_model_seeded_by_a_random_state_instance_loads_as_copies_that_hash_alike(data, tmp_path):
    X, y = data
    est = SemanticEncoder(**ENCODER, random_state=np.random.RandomState(0)).fit(X, y)
    save_weights(est, tmp_path / "encoder.sgw")
    first, second = load_weights(tmp_path / "encoder.sgw"), load_weights(tmp_path / "encoder.sgw")
    assert joblib.hash(first) == joblib.hash(second)


def test_a_loaded_model_hashes_alike_in_another_process(tmp_path, encoder):
    import subprocess
    import sys

    joblib.dump(encoder, tmp_path / "encoder.joblib")
    script = (
        f"import joblib, sys; print(joblib.hash(joblib.load({str(tmp_path / 'encoder.joblib')!r})))"
    )
    hashes = {
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert hashes == {joblib.hash(joblib.load(tmp_path / "encoder.joblib"))}


def test_stable_pickles_load_with_skorchs_unpickler_on_another_device(encoder):
    from skorch.utils import _TorchLoadUnpickler

    from semgaug_sk.utils.portable_nets import stable_torch_dumps

    weights = {"w": torch.arange(4.0).view(2, 2)[:, 1], "module": torch.nn.Linear(2, 1)}
    unpickler = _TorchLoadUnpickler(
        io.BytesIO(stable_torch_dumps(weights)),
        map_location="cpu",
        torch_load_kwargs={"weights_only": True},
    )
    loaded = unpickler.load()
    torch.testing.assert_close(loaded["w"], torch.tensor([1.0, 3.0]))
    assert loaded["w"].storage_offset() == 1  # a view keeps its place in its storage
    torch.testing.assert_close(loaded["module"].weight, weights["module"].weight)


@pytest.mark.parametrize(
    ("value", "phrase"), [(object(), "is an object,"), ([], "is a list,"), (1.5, "is a float,")]
)
def test_save_weights_rejects_non_estimators_in_plain_english(tmp_path, value, phrase):
    with pytest.raises(TypeError, match=f"save_weights: estimator {phrase}.*joblib.dump"):
        save_weights(value, tmp_path / "w.pt")


# -- the parts of SASG-DA -------------------------------------------------------------------------
TINY_SASG = dict(
    n_steps=2,
    base_channels=8,
    channel_mults=(1,),
    n_cond_tokens=2,
    cond_token_dim=8,
    n_sampling_steps=2,
    max_rounds=1,
    confidence_threshold=0.0,
    random_state=0,
)
TINY_ENCODER = dict(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=1)


def test_sasg_with_a_sass_instance_round_trips_without_params(tmp_path, data):
    X, y = data
    aug = SASGAugmenter(
        SemanticEncoder(**TINY_ENCODER), sampling=SASS(epsilon=0.3, n_steps=2), **TINY_SASG
    ).fit(X, y)
    save_weights(aug, tmp_path / "sass.pt")
    loaded = load_weights(tmp_path / "sass.pt", estimator_type=SASGAugmenter)  # no params=
    assert type(loaded.sampling) is SASS
    assert loaded.sampling.get_params() == SASS(epsilon=0.3, n_steps=2).get_params()
    assert type(loaded.sampler_) is SASS and type(loaded.generator_) is DiffusionGenerator
    assert loaded.generator_ is not aug.generator_
    original = _copy(aug)
    X_a, y_a = loaded.generate(3)
    X_b, y_b = original.generate(3)
    np.testing.assert_array_equal(X_a, X_b)
    np.testing.assert_array_equal(y_a, y_b)
    assert loaded.last_shortfall_ == original.last_shortfall_
    # GridSearchCV-style parameter access reaches the restored sampler
    assert loaded.get_params()["sampling__epsilon"] == 0.3


def test_diffusion_generator_round_trips_on_its_own(tmp_path, data):
    X, y = data
    codes = np.unique(y, return_inverse=True)[1].ravel()
    params = {k: v for k, v in TINY_SASG.items() if k not in ("max_rounds", "confidence_threshold")}
    for cond in (codes, np.random.default_rng(0).normal(size=(len(X), 3)).astype("float32")):
        gen = DiffusionGenerator(**params).fit(X, cond)
        save_weights(gen, tmp_path / "gen.pt")
        loaded = load_weights(tmp_path / "gen.pt", estimator_type=DiffusionGenerator)
        assert loaded.get_params() == gen.get_params()
        assert (loaded.n_classes_, loaded.cond_dim_) == (gen.n_classes_, gen.cond_dim_)
        assert list(loaded.net_.history) == list(gen.net_.history)
        np.testing.assert_array_equal(
            loaded.sample(cond[:4], random_state=1), gen.sample(cond[:4], random_state=1)
        )


@pytest.mark.filterwarnings("ignore::skorch.exceptions.DeviceWarning")
def test_cuda_saved_sasg_unpickles_with_one_warning(data, monkeypatch):
    """A SASGAugmenter fitted on CUDA (its generator and encoder too) warns once on a CPU machine.

    Simulated on CPU: the sampler and its parts are marked as CUDA models before
    pickling, and CUDA is reported absent while loading.
    """
    X, y = data
    aug = SASGAugmenter(SemanticEncoder(**TINY_ENCODER), **TINY_SASG).fit(X, y)
    expected, _ = _copy(aug).generate(2)
    for est in (aug, aug.generator_, aug.diffusion_, aug.encoder_, aug.encoder_.net_):
        est.device = "cuda"
    state = pickle.dumps(aug)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning) as record:
        loaded = pickle.loads(state)
    ours = [str(w.message) for w in record if "was saved with device=" in str(w.message)]
    assert len(ours) == 1, ours
    assert ours[0].startswith("SASGAugmenter (and its ") and "device is set to 'cpu'" in ours[0]
    assert loaded.device == loaded.generator_.device == loaded.encoder_.device == "cpu"
    np.testing.assert_array_equal(loaded.generate(2)[0], expected)
    # a part unpickled on its own still warns, naming itself
    with pytest.warns(UserWarning, match=r"^DiffusionGenerator was saved with device='cuda'"):
        pickle.loads(pickle.dumps(aug.generator_))  # still marked as fitted on CUDA


def _models_inside(obj, seen=None):
    """``obj`` and every estimator and skorch net inside it, each once."""
    from sklearn.base import BaseEstimator
    from skorch import NeuralNet

    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, list | tuple):
        for item in obj:
            yield from _models_inside(item, seen)
    elif isinstance(obj, BaseEstimator | NeuralNet):
        yield obj
        for value in vars(obj).values():
            yield from _models_inside(value, seen)


def _mark_device(obj, device):
    """Mark every part of ``obj`` that runs on the CPU as fitted on ``device``."""
    for model in _models_inside(obj):
        if getattr(model, "device", None) == "cpu":
            model.device = device


def _fit_for_device(name, data):
    X, y = data
    if name == "SASGAugmenter":
        return SASGAugmenter(SemanticEncoder(**ENCODER), **SASG).fit(X, y)
    if name == "PopulationPrior":
        generator = {k: v for k, v in SASG.items() if k in ("n_steps", "base_channels")}
        return PopulationPrior(
            encoder=SemanticEncoder(**ENCODER), generator=DiffusionGenerator(**generator)
        ).fit(X, y, groups=np.arange(len(y)) % 2)
    if name == "SpatioTemporalClassifier":
        return SpatioTemporalClassifier(max_epochs=2, min_steps=None, random_state=0).fit(X, y)
    return _fit_imitation(name, X, y)


def _device_output(est, X):
    if isinstance(est, SASGAugmenter):
        return est.generate(2)[0]
    if isinstance(est, PopulationPrior):
        return est.generator_.sample(
            np.zeros((2, est.generator_.cond_dim_), "float32"), random_state=0
        )
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    return est.transform(X)


@pytest.mark.parametrize(
    "name",
    [
        "SASGAugmenter",
        "PopulationPrior",
        "SpatioTemporalClassifier",
        "FeatureImitator",
        "FINClassifier",
    ],
)
def test_mps_saved_model_unpickles_on_a_machine_without_mps(data, monkeypatch, name):
    """A model fitted on Apple silicon (``device="mps"``) unpickles on the CPU elsewhere.

    skorch maps only CUDA to the CPU; before the library's nets did the same for MPS,
    loading failed with "Storage device not recognized: mps". Simulated on CPU: every
    estimator and net inside the model is marked as an MPS one before pickling, and MPS
    is reported absent while loading.
    """
    if name in ("FeatureImitator", "FINClassifier") and not HAS_IMITATION:
        pytest.skip("semgaug_sk.imitation is not available yet")
    est = _fit_for_device(name, data)
    expected = _device_output(_copy(est), data[0])
    _mark_device(est, "mps")
    state = pickle.dumps(est)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        loaded = pickle.loads(state)
    ours = [str(w.message) for w in record if "saved with device=" in str(w.message)]
    assert len(ours) == 1, ours
    assert name in ours[0] and "MPS is not available here" in ours[0]
    devices = [str(m.device) for m in _models_inside(loaded) if hasattr(m, "device")]
    assert len(devices) > 1 and set(devices) == {"cpu"}, devices
    np.testing.assert_array_equal(_device_output(loaded, data[0]), expected)


def _explode():
    raise RuntimeError("this part cannot be restored")


class _Unloadable:
    def __reduce__(self):
        return (_explode, ())


def test_a_failed_load_does_not_swallow_the_next_loads_warning(monkeypatch):
    """joblib's pure-Python unpickler keeps a half-built owner alive in the traceback; its
    record of parts must not collect the warning of a later, unrelated load."""
    from semgaug_sk.utils import torch_utils

    broken = SpatioTemporalClassifier(device="cpu")
    broken.extra_ = _Unloadable()
    buf = io.BytesIO()
    joblib.dump(broken, buf)
    saved_on_mps = io.BytesIO()
    joblib.dump(SpatioTemporalClassifier(device="mps"), saved_on_mps)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="cannot be restored") as failed:
        buf.seek(0)
        joblib.load(buf)
    saved_on_mps.seek(0)
    with pytest.warns(UserWarning, match=r"^SpatioTemporalClassifier was saved with device='mps'"):
        assert joblib.load(saved_on_mps).device == "cpu"
    assert failed.value is not None and torch_utils._open_owners() == []


def test_copying_a_model_leaves_the_originals_device_alone(monkeypatch):
    # copy.copy hands __setstate__ the original's own __dict__
    import copy

    est = SpatioTemporalClassifier(device="mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="MPS is not available here"):
        copied = copy.copy(est)
    assert copied.device == "cpu" and est.device == "mps"


def test_a_bare_net_saved_on_mps_unpickles_with_skorchs_device_warning(monkeypatch):
    from skorch.exceptions import DeviceWarning

    from semgaug_sk.utils.portable_nets import PortableNetRegressor

    net = PortableNetRegressor(torch.nn.Linear(3, 1), device="cpu").initialize()
    net.device = "mps"
    state = pickle.dumps(net)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.warns(DeviceWarning, match=r"requested device \(mps\) is not available"):
        loaded = pickle.loads(state)
    assert loaded.device == "cpu"
    x = torch.ones(2, 3)
    torch.testing.assert_close(loaded.module_(x), net.module_(x))


@pytest.mark.parametrize(
    ("device", "available"),
    [("cpu", True), ("auto", True), (None, True), ("mps", False), ("cuda:1", False)],
)
def test_device_available(monkeypatch, device, available):
    from semgaug_sk.utils.torch_utils import device_available

    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device_available(device) is available


def _imitator_from_before(est, tmp_path, param, module_kwarg):
    """Save ``est``, remove ``param`` and its network's ``module_kwarg`` from the file, as a
    version before them wrote it, and load it again."""
    from semgaug_sk.imitation import FeatureImitator

    path = tmp_path / "old.sgw"
    save_weights(est, path)
    payload = torch.load(path, weights_only=True)
    del payload["params"][param]
    del payload["state"]["module_kwargs_"][module_kwarg]
    torch.save(payload, path)
    return load_weights(path, estimator_type=FeatureImitator)


@pytest.mark.skipif(not HAS_IMITATION, reason="semgaug_sk.imitation is not available yet")
def test_an_imitator_file_from_before_entropy_density_loads_with_its_channels(tmp_path, data):
    """Files written before ``entropy_density`` existed rebuild the ent network's original inputs."""
    from semgaug_sk.imitation import FeatureImitator

    X, _ = data
    est = FeatureImitator(
        entropy_density=False, hidden_size=4, num_layers=1, max_epochs=1, random_state=0
    ).fit(X)
    loaded = _imitator_from_before(est, tmp_path, "entropy_density", "entropy_density")
    assert loaded.entropy_density is False
    assert "softmax_entropy" not in loaded.net_.module_.channels
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))


@pytest.mark.skipif(not HAS_IMITATION, reason="semgaug_sk.imitation is not available yet")
def test_an_imitator_file_from_before_max_lstm_steps_reads_one_sample_a_step(tmp_path, data):
    """Files written before ``max_lstm_steps`` load with None: their LSTMs read one sample a step."""
    from semgaug_sk.imitation import FeatureImitator

    X, _ = data
    est = FeatureImitator(  # what an older version fitted: one sample per step
        hidden_size=4, num_layers=1, max_epochs=1, max_lstm_steps=None, random_state=0
    ).fit(X)
    loaded = _imitator_from_before(est, tmp_path, "max_lstm_steps", "samples_per_step")
    assert loaded.max_lstm_steps is None
    assert loaded.net_.module_.samples_per_step == 1
    assert loaded.module_kwargs_["samples_per_step"] == 1
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))


# --------------------------------------------------------------------------------------
# Files of other versions, damaged files, concurrent saves
# --------------------------------------------------------------------------------------
def _as_older_version_wrote_it(path, *removed, **extra_params):
    """Rewrite a weights file without the parameters ``removed`` (and with ``extra_params``)."""
    payload = torch.load(path, weights_only=True)
    for name in removed:
        del payload["params"][name]
    payload["params"].update(extra_params)
    # fitted state that versions before 2026-12-05 did not write
    for name in ("_settings_at_fit", "trained_settings_"):
        payload["state"].pop(name, None)
    torch.save(payload, path)


def test_a_classic_file_from_the_first_format_keeps_what_its_model_did(tmp_path):
    X = np.random.default_rng(0).normal(size=(12, 2, 40)).astype(np.float32)
    y = np.repeat([0, 1], 6)
    # what the first weights files implied for the parameters added since
    old = ClassicAugmenter(
        time_warp_interpolation="linear", quantize=None, generate_batch_size=10**9, random_state=0
    ).fit(X, y)
    path = tmp_path / "old.sgw"
    save_weights(ClassicAugmenter(random_state=0).fit(X, y), path)
    _as_older_version_wrote_it(path, "time_warp_interpolation", "quantize", "generate_batch_size")
    loaded = load_weights(path, estimator_type=ClassicAugmenter)
    assert loaded.time_warp_interpolation == "linear" and loaded.quantize is None
    np.testing.assert_array_equal(loaded.generate(5)[0], old.generate(5)[0])
    # a parameter the file predates can still be set on purpose
    newer = load_weights(path, params={"time_warp_interpolation": "lanczos"})
    assert newer.time_warp_interpolation == "lanczos"
    with pytest.raises(ValueError, match=r"params=\['nope'\] are not parameters"):
        load_weights(path, params={"nope": 1})


def test_a_file_with_parameters_this_version_lacks_names_both_versions(tmp_path):
    X = np.random.default_rng(0).normal(size=(12, 2, 40)).astype(np.float32)
    path = tmp_path / "future.sgw"
    save_weights(ClassicAugmenter(random_state=0).fit(X, np.repeat([0, 1], 6)), path)
    payload = torch.load(path, weights_only=True)
    payload["semgaug_sk_version"] = "9.9"
    payload["params"]["sass_k"] = 5  # e.g. removed since, or added by a newer release
    torch.save(payload, path)
    with pytest.raises(
        ValueError,
        match=r"written by semgaug_sk 9\.9 with ClassicAugmenter "
        r"parameters \['sass_k'\] that this semgaug_sk .* does not have",
    ):
        load_weights(path)


def test_damaged_bytes_inside_a_weights_file_are_refused(tmp_path):
    X = np.random.default_rng(0).normal(size=(30, 2, 16)).astype(np.float32)
    enc = SemanticEncoder(embedding_dim=4, n_filters=8, max_epochs=1, random_state=0)
    path = tmp_path / "enc.pt"
    save_weights(enc.fit(X, np.repeat(["a", "b"], 15)), path)
    raw = bytearray(path.read_bytes())
    import zipfile

    with zipfile.ZipFile(path) as archive:  # flip bytes in the middle of the largest tensor
        tensors = [i for i in archive.infolist() if "/data/" in i.filename]
        info = max(tensors, key=lambda i: i.file_size)
    local = raw[info.header_offset : info.header_offset + 30]  # the local header's lengths
    name_length, extra_length = (
        int.from_bytes(local[26:28], "little"),
        int.from_bytes(local[28:30], "little"),
    )
    start = info.header_offset + 30 + name_length + extra_length
    for i in range(start + 8, start + 24):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"is corrupt: the stored bytes of .* do not match"):
        load_weights(path)
    with open(path, "rb") as handle, pytest.raises(ValueError, match="is corrupt"):
        load_weights(handle)


def _central_record(raw, suffix):
    """Offset of the central-directory record of the member whose name ends in ``suffix``."""
    pos = raw.find(b"PK\x01\x02")
    while raw[pos : pos + 4] == b"PK\x01\x02":
        n, m, k = (int.from_bytes(raw[pos + i : pos + i + 2], "little") for i in (28, 30, 32))
        if bytes(raw[pos + 46 : pos + 46 + n]).endswith(suffix):
            return pos
        pos += 46 + n + m + k
    raise AssertionError(f"no member ending in {suffix!r}")


def test_damaged_directory_fields_the_checksums_miss_are_refused(tmp_path):
    from semgaug_sk.preprocessing import WindowStandardizer

    X = np.random.default_rng(0).normal(size=(20, 2, 32)).astype(np.float32)
    path = tmp_path / "ws.sgw"
    save_weights(WindowStandardizer().fit(X), path)
    good = bytearray(path.read_bytes())
    # a tensor's record flagged as a folder: torch skipped it and left its memory as it was
    raw = bytearray(good)
    raw[_central_record(raw, b"/data/0") + 38] |= 0x10
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"is corrupt: its zip directory marks .* as a folder"):
        load_weights(path)
    # a damaged byte in a member's name, or in the version needed to extract
    for offset, value in ((46, 0xFF), (6, 0xFF)):
        raw = bytearray(good)
        raw[_central_record(raw, b"/data/0") + offset] = value
        path.write_bytes(bytes(raw))
        with pytest.raises(ValueError, match=r"load_weights: .* is corrupt"):
            load_weights(path)


def test_a_file_without_fitted_state_or_with_a_refused_parameter_is_malformed(tmp_path):
    X = np.random.default_rng(0).normal(size=(12, 2, 40)).astype(np.float32)
    path = tmp_path / "c.sgw"
    save_weights(ClassicAugmenter(random_state=0).fit(X, np.repeat([0, 1], 6)), path)
    payload = torch.load(path, weights_only=True)
    torch.save({**payload, "state": None}, path)
    with pytest.raises(ValueError, match=r"is malformed \(no fitted state"):
        load_weights(path)
    payload["params"]["ratio"] = -1.0  # not a value save_weights could have written
    torch.save(payload, path)
    with pytest.raises(ValueError, match=r"stores a parameter value this estimator refuses"):
        load_weights(path)
    # a refused value the caller passed is the caller's: scikit-learn's own error
    from sklearn.utils._param_validation import InvalidParameterError

    payload["params"]["ratio"] = 2.0
    torch.save(payload, path)
    with pytest.raises(InvalidParameterError, match="ratio"):
        load_weights(path, params={"ratio": -1.0})


def test_threads_saving_to_one_path_never_collide_and_a_folder_is_named(tmp_path):
    import threading

    X = np.random.default_rng(0).normal(size=(12, 2, 40)).astype(np.float32)
    est = ClassicAugmenter(random_state=0).fit(X, np.repeat([0, 1], 6))
    path, errors = tmp_path / "race.sgw", []

    def save_many():
        for _ in range(10):
            try:
                save_weights(est, path)
            except Exception as exc:  # noqa: BLE001 (any failure is the finding)
                errors.append(exc)

    threads = [threading.Thread(target=save_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(p.name for p in tmp_path.iterdir()) == ["race.sgw"]
    load_weights(path, estimator_type=ClassicAugmenter)
    path.chmod(0o640)
    save_weights(est, path)  # an overwrite keeps the file's mode
    assert path.stat().st_mode & 0o777 == 0o640
    with pytest.raises(IsADirectoryError, match="is a folder; name a file inside it"):
        save_weights(est, tmp_path)


@pytest.mark.parametrize(
    "name, value, named",
    [
        ("predict_proba", "x", "replace SemanticEncoder.predict_proba"),
        ("lr", 1.0, "replace the parameter 'lr'"),
        ("not an identifier", 1, "invalid attribute name"),
    ],
)
def test_fitted_state_cannot_replace_methods_or_parameters(tmp_path, name, value, named):
    X = np.random.default_rng(0).normal(size=(30, 2, 16)).astype(np.float32)
    enc = SemanticEncoder(embedding_dim=4, n_filters=8, max_epochs=1, random_state=0)
    path = tmp_path / "enc.pt"
    save_weights(enc.fit(X, np.repeat(["a", "b"], 15)), path)
    payload = torch.load(path, weights_only=True)
    payload["state"][name] = value  # an altered file
    torch.save(payload, path)
    with pytest.raises(ValueError, match=f"is malformed .*{named}"):
        load_weights(path)


def test_an_altered_payload_is_reported_as_malformed_not_a_bare_type_error(tmp_path):
    from semgaug_sk.preprocessing import WindowStandardizer

    path = tmp_path / "scaler.pt"
    save_weights(WindowStandardizer().fit(np.random.default_rng(0).random((4, 2, 5))), path)
    payload = torch.load(path, weights_only=True)
    for key, value in (("params", 5), ("state", 7)):
        torch.save({**payload, key: value}, tmp_path / "altered.pt")
        with pytest.raises(ValueError, match=r"altered\.pt' is malformed .*Save the estimator"):
            load_weights(tmp_path / "altered.pt")


def test_a_bad_params_value_is_scikit_learns_error_not_a_malformed_file(encoder, tmp_path):
    from sklearn.utils._param_validation import InvalidParameterError

    save_weights(encoder, tmp_path / "enc.pt")
    with pytest.raises(InvalidParameterError, match="batch_size"):
        load_weights(tmp_path / "enc.pt", params={"batch_size": -1})


# -- review fixes -------------------------------------------------------------------------------
def _small_windows():
    X = np.random.default_rng(0).normal(size=(24, 3, 16)).astype(np.float32)
    return X, np.repeat(["a", "b"], 12)


def test_a_frozen_prefitted_encoder_round_trips(tmp_path):
    from sklearn.frozen import FrozenEstimator

    X, y = _small_windows()
    tiny = dict(n_steps=2, base_channels=8, channel_mults=(1,), random_state=0)
    enc = SemanticEncoder(max_epochs=1, n_filters=8, n_blocks=1, random_state=0).fit(X, y)
    aug = SASGAugmenter(encoder=FrozenEstimator(enc), refit_encoder=False, **tiny).fit(X, y)
    buffer = io.BytesIO()
    save_weights(aug, buffer)  # used to refuse the FrozenEstimator that the error advises
    loaded = load_weights(io.BytesIO(buffer.getvalue()))
    assert type(loaded.encoder_) is FrozenEstimator and loaded.encoder_ is loaded.encoder
    assert type(loaded.encoder_.estimator) is SemanticEncoder
    np.testing.assert_array_equal(loaded.encoder_.transform(X), enc.transform(X))
    np.testing.assert_array_equal(
        loaded.generate(3, random_state=1)[0], aug.generate(3, random_state=1)[0]
    )
    assert clone(loaded).encoder is loaded.encoder  # clone keeps it fitted, as before saving
    # a frozen encoder's custom module is passed again under scikit-learn's nested name
    custom = SemanticEncoder(
        _WithEmbed(n_channels=3, n_times=16, n_classes=2), max_epochs=1, random_state=0
    ).fit(X, y)
    aug = SASGAugmenter(encoder=FrozenEstimator(custom), refit_encoder=False, **tiny).fit(X, y)
    save_weights(aug, tmp_path / "custom.pt")
    with pytest.raises(ValueError, match=r"params=\{'encoder__estimator__module': \.\.\.\}"):
        load_weights(tmp_path / "custom.pt")
    with pytest.raises(ValueError, match=r"encoder__estimator__<name>"):
        load_weights(tmp_path / "custom.pt", params={"encoder__module": _WithEmbed()})
    module = _WithEmbed(n_channels=3, n_times=16, n_classes=2)
    loaded = load_weights(tmp_path / "custom.pt", params={"encoder__estimator__module": module})
    np.testing.assert_array_equal(loaded.encoder_.predict_proba(X), custom.predict_proba(X))
    with pytest.raises(TypeError, match=r"Save the estimator it wraps \(frozen\.estimator\)"):
        save_weights(FrozenEstimator(enc), tmp_path / "frozen.pt")


def _damage_first_tensor(raw, stop):
    """Flip a byte of the first tensor record of the archive that ends at ``stop``."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(bytes(raw[:stop]))) as archive:
        info = next(i for i in archive.infolist() if "/data/" in i.filename)
    local = raw[info.header_offset : info.header_offset + 30]
    name_length = int.from_bytes(local[26:28], "little")
    extra_length = int.from_bytes(local[28:30], "little")
    raw[info.header_offset + 30 + name_length + extra_length] ^= 0xFF


def test_archives_one_after_another_in_a_file_object_load_and_are_checked():
    X = np.arange(24.0).reshape(3, 2, 4)
    first, second = WindowStandardizer().fit(X), WindowStandardizer().fit(X * 2)
    buffer = io.BytesIO()
    save_weights(first, buffer)
    end = buffer.tell()
    save_weights(second, buffer)
    raw = bytearray(buffer.getvalue())
    _damage_first_tensor(raw, end)
    # the check used to read the last archive's checksums: the first loaded with wrong weights
    with pytest.raises(ValueError, match=r"is corrupt: the stored bytes of .* do not match"):
        load_weights(io.BytesIO(bytes(raw)))
    damaged = io.BytesIO(bytes(raw))
    damaged.seek(end)  # the second archive is whole
    assert load_weights(damaged).mean_.tolist() == second.mean_.tolist()
    # each load leaves the file object at the next archive, whatever its layout
    save_weights(EMGFeatures("mav").fit(X), buffer)
    buffer.seek(0)
    assert load_weights(buffer).mean_.tolist() == first.mean_.tolist()
    assert load_weights(buffer).mean_.tolist() == second.mean_.tolist()
    assert type(load_weights(buffer)) is EMGFeatures and buffer.tell() == len(buffer.getvalue())


class _Stream(io.RawIOBase):
    """A read-only stream that cannot seek (a pipe, a socket)."""

    def __init__(self, data):
        super().__init__()
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._data.readinto(buffer)


def test_a_stream_that_cannot_seek_is_named_not_called_corrupt(tmp_path):
    buffer = io.BytesIO()
    save_weights(WindowStandardizer().fit(np.ones((3, 2, 4))), buffer)
    # used to be reported as "corrupt, truncated, or not written by save_weights"
    with pytest.raises(io.UnsupportedOperation, match=r"cannot seek.*io\.BytesIO\(f\.read\(\)\)"):
        load_weights(io.BufferedReader(_Stream(buffer.getvalue())))
    stream = io.BufferedReader(_Stream(buffer.getvalue()))
    assert load_weights(io.BytesIO(stream.read())).mean_.shape == (2,)


def test_a_link_into_a_missing_folder_is_named(tmp_path):
    import os

    link = tmp_path / "model.pt"
    os.symlink(tmp_path / "absent" / "model.pt", link)
    scaler = WindowStandardizer().fit(np.ones((3, 2, 4)))
    # the check used the link's folder, which exists: torch's RuntimeError came instead
    with pytest.raises(FileNotFoundError, match=r"absent' does not exist \(.* is a link into it"):
        save_weights(scaler, link)
    (tmp_path / "absent").mkdir()
    save_weights(scaler, link)  # the file the link names is written, the link kept
    assert link.is_symlink() and load_weights(link).mean_.shape == (2,)


def test_parameters_changed_after_fit_are_saved_at_their_fitted_values(tmp_path):
    # the network was rebuilt at load from the changed parameters: a transformer with
    # other heads loaded silently with other predictions, a conv net failed to load
    from semgaug_sk.augmentation import DiffusionGenerator
    from semgaug_sk.classifiers import ConvTransformerClassifier, SpatioTemporalClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3, 32)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    for est, change in (
        (ConvTransformerClassifier(d_model=8, n_heads=2, n_layers=1, max_epochs=1), "n_heads"),
        (SpatioTemporalClassifier(min_steps=None, n_temporal=4, max_epochs=1), "n_temporal"),
    ):
        est.set_params(random_state=0).fit(X, y)
        expected = est.predict_proba(X)
        est.set_params(**{change: 4 if change == "n_heads" else 6}, verbose=0)
        with pytest.warns(UserWarning, match=f"fitted with, {change}="):
            save_weights(est, tmp_path / "m.pt")
        back = load_weights(tmp_path / "m.pt")
        np.testing.assert_allclose(back.predict_proba(X), expected, rtol=1e-5, atol=1e-6)
        assert back.get_params()[change] == est._params_at_fit[change]
    gen = DiffusionGenerator(n_steps=2, base_channels=8, channel_mults=(1,), random_state=0)
    gen.fit(X, y).set_params(base_channels=16)
    with pytest.warns(UserWarning, match="base_channels=8 \\(now 16\\)"):
        save_weights(gen, tmp_path / "g.pt")
    assert load_weights(tmp_path / "g.pt").sample(np.array([0, 1])).shape == (2, 3, 32)
    # a serving parameter is recorded as it is now, without a warning
    est.set_params(device="cpu", verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.set_params(n_temporal=4)
        save_weights(est, tmp_path / "m.pt")


def test_a_loaded_model_keeps_the_fitted_parameters_and_sampling_settings_stay_free(tmp_path):
    from semgaug_sk.augmentation import DiffusionGenerator
    from semgaug_sk.classifiers import ConvTransformerClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3, 32)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    clf = ConvTransformerClassifier(d_model=8, n_heads=2, n_layers=1, max_epochs=1)
    clf.set_params(random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    save_weights(clf, tmp_path / "a.pt")
    loaded = load_weights(tmp_path / "a.pt").set_params(n_heads=4)
    # a loaded model had no record of its fitted parameters: saved again, it rebuilt 4 heads
    with pytest.warns(UserWarning, match="n_heads=2 \\(now 4\\)") as record:
        save_weights(loaded, tmp_path / "b.pt")
    assert record[0].filename == __file__  # the user's line, not the library's
    np.testing.assert_allclose(
        load_weights(tmp_path / "b.pt").predict_proba(X), expected, rtol=1e-5, atol=1e-6
    )
    # what only samples, trains or serves is saved as it is now, without a warning
    gen = DiffusionGenerator(n_steps=1, base_channels=8, channel_mults=(1,), n_sampling_steps=4)
    gen.set_params(random_state=0).fit(X, y)
    gen.set_params(n_sampling_steps=2, guidance_scale=2.0, batch_size=8, channel_mults=[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_weights(gen, tmp_path / "g.pt")
    back = load_weights(tmp_path / "g.pt")
    assert (back.n_sampling_steps, back.guidance_scale, back.batch_size) == (2, 2.0, 8)


def test_a_list_parameter_changed_in_place_after_fit_is_a_change(tmp_path):
    from semgaug_sk.imitation import FeatureImitator, FINClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2, 32)).astype(np.float32)
    y = np.repeat([0, 1], 15)
    imitator = FeatureImitator(features=("rms",), hidden_size=4, num_layers=1, max_epochs=1)
    clf = FINClassifier(imitator, head_channels=[4, 4, 4], max_epochs=1, fine_tune=False)
    clf.set_params(random_state=0).fit(X, y)
    clf.head_channels[0] = 8  # the same list object: an identity check saw no change
    with pytest.warns(UserWarning, match=r"head_channels=\[4, 4, 4\] \(now \[8, 4, 4\]\)"):
        save_weights(clf, tmp_path / "f.pt")
    assert load_weights(tmp_path / "f.pt").head_channels == [4, 4, 4]


def test_a_stored_parameter_of_a_self_checking_transformer_is_checked_at_load(tmp_path):
    from semgaug_sk.features import EMGFeatures
    from semgaug_sk.preprocessing import WindowStandardizer

    X = np.random.default_rng(0).normal(size=(10, 2, 16))
    for est, key, bad in (
        (WindowStandardizer().fit(X), "eps", "bogus"),
        (EMGFeatures().fit(X), "threshold", -5.0),
    ):
        path = tmp_path / f"{type(est).__name__}.sgw"
        save_weights(est, path)
        payload = torch.load(path, weights_only=True)
        payload["params"][key] = bad
        torch.save(payload, path)
        with pytest.raises(ValueError, match=rf"is malformed .*{type(est).__name__}: {key}"):
            load_weights(path)
        save_weights(est, path)
        with pytest.raises(ValueError, match=rf"load_weights: params \['{key}'\]: .*{key}"):
            load_weights(path, params={key: bad})


def test_a_numpy_npz_is_named_as_data_not_as_a_corrupt_weights_file(tmp_path):
    # both are zip archives: the message said "corrupt, truncated", and "save it again"

    path = tmp_path / "windows.npz"
    np.savez(path, X=np.zeros((2, 3, 4)), y=np.array([0, 1]))
    for source in (path, io.BytesIO(path.read_bytes())):
        with pytest.raises(ValueError, match=r"NumPy \.npz of arrays \(X, y\): data") as info:
            load_weights(source)
        assert "corrupt" not in str(info.value)


def test_a_truncated_weights_file_is_named_damaged_not_a_pickle(tmp_path):
    # b"PK" was explained as "probably a pickle or joblib file ... can run code"
    path = tmp_path / "cut.sgw"
    path.write_bytes(b"PK")
    with pytest.raises(ValueError, match="corrupt or truncated: a damaged zip archive") as info:
        load_weights(path)
    assert "pickle or joblib" not in str(info.value)


def test_set_output_and_metadata_requests_survive_a_weights_file():
    # clone and pickling keep both; a weights file dropped them, so a loaded transformer
    # silently gave arrays and a loaded network forgot its score request
    import sklearn

    X = np.random.default_rng(0).standard_normal((30, 3, 32)).astype(np.float32)
    y = np.repeat([0, 1, 2], 10)
    features = EMGFeatures().set_output(transform="pandas").fit(X)
    buffer = io.BytesIO()
    save_weights(features, buffer)
    buffer.seek(0)
    loaded = load_weights(buffer)
    assert type(loaded.transform(X)).__name__ == "DataFrame"
    with sklearn.config_context(enable_metadata_routing=True):
        net = SpatioTemporalClassifier(max_epochs=1, n_temporal=4, min_steps=None)
        net.set_score_request(sample_weight=True).fit(X, y)
    buffer = io.BytesIO()
    save_weights(net, buffer)
    buffer.seek(0)
    loaded = load_weights(buffer)
    assert not sklearn.get_config()["enable_metadata_routing"]  # left as it was
    with sklearn.config_context(enable_metadata_routing=True):
        routing = loaded.get_metadata_routing()
    assert routing.score.requests == {"sample_weight": True}
    # an estimator without either setting stores no config
    buffer = io.BytesIO()
    save_weights(EMGFeatures().fit(X), buffer)
    buffer.seek(0)
    assert "config" not in torch.load(buffer, weights_only=True)


@pytest.mark.parametrize(
    "config", [{"output": {"transform": "bogus"}}, ["output"]], ids=["container", "not-a-dict"]
)
def test_a_weights_file_with_a_malformed_config_is_refused_at_load(config):
    X = np.random.default_rng(0).standard_normal((10, 2, 32)).astype(np.float32)
    buffer = io.BytesIO()
    save_weights(EMGFeatures().set_output(transform="pandas").fit(X), buffer)
    buffer.seek(0)
    payload = torch.load(buffer, weights_only=True)
    payload["config"] = config
    edited = io.BytesIO()
    torch.save(payload, edited)
    edited.seek(0)
    with pytest.raises(ValueError, match=r"load_weights: .*malformed.*config"):
        load_weights(edited)


def test_bytes_paths_and_file_objects_in_the_wrong_mode(tmp_path, encoder):
    path = tmp_path / "enc.pt"
    save_weights(encoder, os.fsencode(path))  # a bytes path is a path, as in open()
    assert type(load_weights(os.fsencode(path))) is type(encoder)
    other = tmp_path / "other.pt"
    with open(path) as text, pytest.raises(TypeError, match=r"load_weights: .*text mode.*'rb'"):
        load_weights(text)
    with open(other, "w") as text, pytest.raises(TypeError, match=r"save_weights: .*'wb'"):
        save_weights(encoder, text)
    with open(path, "rb") as read_only:
        with pytest.raises(io.UnsupportedOperation, match=r"cannot be written to; .*'wb'"):
            save_weights(encoder, read_only)
    with open(other, "wb") as write_only:
        with pytest.raises(io.UnsupportedOperation, match=r"cannot be read from; .*'rb'"):
            load_weights(write_only)
    with tempfile.NamedTemporaryFile("w", dir=tmp_path) as wrapped:  # .file is the text stream
        with pytest.raises(TypeError, match=r"save_weights: .*text mode"):
            save_weights(encoder, wrapped)
    closed = open(path, "rb")
    closed.close()
    with pytest.raises(ValueError, match=r"load_weights: the file object is closed"):
        load_weights(closed)
    assert type(load_weights(path)) is type(encoder)  # nothing was overwritten
