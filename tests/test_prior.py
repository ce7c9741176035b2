"""PopulationPrior: pretrain on many subjects, adapt to one inside SemanticEncoder / SASGAugmenter."""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
import sklearn
import torch
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from semgaug_sk.augmentation import DiffusionGenerator, PopulationPrior, SASGAugmenter
from semgaug_sk.augmentation.prior import load_prior_file
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.persistence import load_weights, save_weights
from semgaug_sk.preprocessing import channel_rms

N_CH, N_T = 3, 16


def _subject(rng, gain, classes, n_per_class=10):
    """Windows whose class sets which channel is active; ``gain`` is the subject's."""
    X, y = [], []
    for c in classes:
        w = rng.normal(size=(n_per_class, N_CH, N_T)) * 0.3
        w[:, int(c) % N_CH] *= 4.0
        X.append(w * gain[:, None])
        y += [c] * n_per_class
    return np.concatenate(X).astype("float32"), np.array(y)


def _small_prior(**kw):
    kw.setdefault("random_state", 0)
    return PopulationPrior(
        encoder=SemanticEncoder(embedding_dim=4, n_filters=8, n_blocks=1, max_epochs=3),
        generator=DiffusionGenerator(
            n_steps=4, base_channels=8, channel_mults=(1,), n_sampling_steps=2
        ),
        **kw,
    )


@pytest.fixture(scope="module")
def population():
    rng = np.random.default_rng(0)
    parts = [_subject(rng, rng.uniform(0.5, 3.0, N_CH), [0, 1, 2, 3]) for _ in range(3)]
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    groups = np.repeat(["S1", "S2", "S3"], [len(p[1]) for p in parts])
    return X, y, groups


@pytest.fixture(scope="module")
def prior(population):
    X, y, groups = population
    return _small_prior(fs=100.0).fit(X, y, groups=groups)


@pytest.fixture(scope="module")
def target():
    rng = np.random.default_rng(1)
    return _subject(rng, np.array([5.0, 0.2, 1.0]), [1, 2, 3], n_per_class=8)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.where(np.eye(4)[None, :2, :] > 0, np.nan, 1.0), "NaN or infinite"),
        (np.full((3, 2, 4), np.inf), "NaN or infinite"),
        (np.ones((2, 4)), "must be 3-D"),
    ],
)
def test_channel_rms_refuses_nan_inf_and_wrong_ndim(bad, match):
    # a NaN channel used to read as silent and get a scale of 1
    with pytest.raises(ValueError, match=f"channel_rms: .*{match}"):
        channel_rms(bad)


def test_channel_rms_does_not_overflow_near_the_float_range():
    X = np.full((2, 2, 4), 1e200)
    np.testing.assert_allclose(channel_rms(X), [1e200, 1e200])


def test_channel_rms_calls_a_channel_silent_relative_to_the_liveliest_one():
    # a recording in volts of a weak muscle: every channel far below an absolute 1e-8
    X = np.stack([np.full((2, 4), 3e-9), np.full((2, 4), 2e-9), np.zeros((2, 4))], axis=1)
    np.testing.assert_allclose(channel_rms(X), [3e-9, 2e-9, 1.0])
    X[:, 1] = 1e-20  # 1e-11 of the liveliest channel: silent
    np.testing.assert_allclose(channel_rms(X), [3e-9, 1.0, 1.0])
    np.testing.assert_allclose(channel_rms(np.zeros((2, 2, 4))), [1.0, 1.0])


def test_channel_rms_is_per_channel():
    X = np.stack([np.full((2, 4), 2.0), np.full((2, 4), -3.0)], axis=1)
    np.testing.assert_allclose(channel_rms(X), [2.0, 3.0])


def test_prior_learns_the_population(prior):
    assert prior.classes_.tolist() == [0, 1, 2, 3]
    assert prior.subjects_.tolist() == ["S1", "S2", "S3"]
    assert (prior.n_channels_, prior.n_times_) == (N_CH, N_T)
    assert prior.generator_.cond_dim_ == prior.embedding_dim_ == 4
    # The generator is trained on standardised embeddings of RMS-normalised windows.
    assert prior.condition_space(prior.cond_mean_[None]).tolist() == [[0.0] * 4]


def test_clone_shares_a_fitted_prior_and_copies_an_unfitted_one(prior):
    assert clone(prior) is prior
    aug = SASGAugmenter(prior=prior)
    assert clone(aug).prior is prior
    assert clone(Pipeline([("aug", aug)]))["aug"].prior is prior
    fresh = _small_prior()
    assert clone(fresh) is not fresh


def test_a_search_over_fitted_priors_compares_the_priors_themselves(prior, population):
    from sklearn.model_selection import GridSearchCV

    X, y, groups = population
    other = _small_prior(random_state=1).fit(X, y, groups=groups)
    search = GridSearchCV(
        SemanticEncoder(max_epochs=1, random_state=0), {"prior": [prior, other]}, cv=2
    ).fit(X, y)
    assert search.best_params_["prior"] in (prior, other)
    assert search.best_estimator_.prior is search.best_params_["prior"]


def test_refitting_a_fitted_prior_warns_that_clone_shares_it(population):
    from sklearn.model_selection import LeaveOneGroupOut, cross_validate

    X, y, groups = population
    prior = _small_prior().fit(X, y, groups=groups)
    with pytest.warns(
        UserWarning, match=r"already fitted, and clone shares .*PopulationPrior\(\*\*"
    ):
        prior.fit(X, y, groups=groups)
    # the way the warning names: an unfitted copy of its settings, and the folds fit copies
    unfitted = PopulationPrior(**prior.get_params(deep=False))
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(
            unfitted.set_fit_request(groups=True),
            X,
            y,
            params={"groups": groups},
            cv=LeaveOneGroupOut(),
            scoring=lambda est, X, y: float(len(est.subjects_)),
            return_estimator=True,
        )
    assert result["test_score"].tolist() == [2.0, 2.0, 2.0]
    assert all(est is not unfitted for est in result["estimator"])
    assert not hasattr(unfitted, "generator_")


def test_groups_outside_routing_are_explained(population):
    from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut

    X, y, subjects = population
    search = GridSearchCV(
        _small_prior(),
        {"random_state": [0]},
        cv=LeaveOneGroupOut(),
        scoring=lambda est, X, y: 0.0,
        error_score="raise",
    )
    with pytest.raises(ValueError, match=r"groups= reaches only the splitter .*set_fit_request"):
        search.fit(X, y, groups=subjects)


@pytest.mark.parametrize(
    "groups, match",
    [
        (None, "groups is required"),
        ("one", "at least 2"),
        ("short", "one subject per window"),
        ("nan", r"10 window\(s\) have a NaN subject.*keep = ~np\.isnan\(groups\)"),
        ("none", r"subject values mix types \['NoneType', 'int'\].*astype\(str\)"),
        ("mixed", r"subject values mix types \['int', 'str'\]"),
    ],
)
def test_prior_fit_errors(population, groups, match):
    X, y, real_groups = population
    numbers = np.unique(real_groups, return_inverse=True)[1].ravel()  # 0, 1, 2 per subject
    with_nan = numbers.astype(float)
    with_nan[:10] = np.nan
    with_none = numbers.astype(object)
    with_none[:10] = None
    mixed = numbers.astype(object)
    mixed[:10] = "S1"
    groups = {
        None: None,
        "one": np.zeros(len(y)),
        "short": real_groups[:-1],
        "nan": with_nan,
        "none": with_none,
        "mixed": mixed,
    }[groups]
    with pytest.raises(ValueError, match=match):
        _small_prior().fit(X, y, groups=groups)


def test_a_failed_refit_leaves_the_prior_as_it_was(population):
    # the encoder used to be replaced (knowing fewer classes) while the old generator stayed
    X, y, groups = population
    prior = _small_prior().fit(X, y, groups=groups)
    before = dict(vars(prior))
    prior.set_params(generator=DiffusionGenerator(n_steps=2, nonnegative="log"))
    keep = y != 3
    with pytest.raises(ValueError), pytest.warns(UserWarning, match="already fitted"):
        prior.fit(X[keep], y[keep], groups=groups[keep])  # raw windows cannot take a log
    assert prior.encoder_ is before["encoder_"] and prior.generator_ is before["generator_"]
    assert prior.cond_mean_ is before["cond_mean_"] and prior.classes_.tolist() == [0, 1, 2, 3]
    first = _small_prior().set_params(generator=DiffusionGenerator(n_steps=2, nonnegative="log"))
    with pytest.raises(ValueError):
        first.fit(X, y, groups=groups)
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(first))


def test_an_explicit_seed_of_the_parts_is_kept_even_zero(population):
    X, y, groups = population
    prior = _small_prior(random_state=5)
    prior.set_params(
        encoder=prior.encoder.set_params(random_state=0),
        generator=prior.generator.set_params(random_state=7),
    )
    prior.fit(X, y, groups=groups)
    assert prior.encoder_.random_state == 0 and prior.generator_.random_state == 7
    unset = _small_prior(random_state=5).fit(X, y, groups=groups)
    assert unset.encoder_.random_state not in (None, 0)  # a sub-seed of the prior's


def test_pandas_output_changes_nothing_in_the_prior(population, prior):
    # the encoder's embeddings came back as a DataFrame: the pandas std (ddof=1) and a
    # Series minus an array broke the fit
    import sklearn

    X, y, groups = population
    with sklearn.config_context(transform_output="pandas"):
        pandas = _small_prior(fs=100.0).fit(X, y, groups=groups)
    assert isinstance(pandas.cond_mean_, np.ndarray)
    np.testing.assert_allclose(pandas.cond_mean_, prior.cond_mean_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(pandas.cond_scale_, prior.cond_scale_, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "change, match",
    [
        ("channels", "2 channels but the population prior was trained on 3"),
        ("length", "12 samples but the population prior was trained on windows of 16"),
        ("fs", "sampled at 200 Hz but the population prior at 100 Hz"),
        ("class", r"classes \[9\] are not in the population prior"),
    ],
)
def test_each_mismatch_has_its_own_error(prior, target, change, match):
    X, y = target
    fs = None
    if change == "channels":
        X = X[:, :2]
    elif change == "length":
        X = X[:, :, :12]
    elif change == "fs":
        fs = 200.0
    else:
        y = y.copy()
        y[0] = 9
    with pytest.raises(ValueError, match=match):
        prior.check_target(X, y, fs=fs)
    with pytest.raises(ValueError, match=match):
        SASGAugmenter(prior=prior, fs=fs, adapt_steps=1).fit_resample(X, y)
    with pytest.raises(ValueError, match=match):  # also where nothing is trained
        SASGAugmenter(prior=prior, fs=fs, ratio=0).fit_resample(X, y)
    if change != "fs":
        with pytest.raises(ValueError, match=match):
            SemanticEncoder(prior=prior, max_epochs=1).fit(X, y)


def test_transfer_learning_starts_from_the_prior(prior, target):
    X, y = target
    # lr ~ 0: the fine-tuned network is the prior's, with the target's classifier rows.
    enc = SemanticEncoder(
        prior=prior,
        max_epochs=1,
        lr=1e-12,
        weight_decay=0.0,
        validation_fraction=0,
        random_state=0,
    ).fit(X, y)
    assert enc.classes_.tolist() == [1, 2, 3]
    theirs = prior.encoder_.net_.module_.state_dict()
    mine = enc.net_.module_.state_dict()
    for name, value in mine.items():
        expected = theirs[name][[1, 2, 3]] if name.startswith("head.2") else theirs[name]
        torch.testing.assert_close(value.cpu(), expected.cpu(), atol=1e-6, rtol=0)
    # The target is normalised by its own RMS (corrected for its 3 of the prior's 4
    # classes), then the prior's scaler.
    np.testing.assert_allclose(enc.subject_scale_, prior.target_scale(X, y))
    assert enc.predict(X[:3]).shape == (3,)
    assert SemanticEncoder().fit(X, y).subject_scale_ is None


def test_generator_fine_tunes_from_init(prior, target):
    X, _ = target
    cond = np.zeros((len(X), 4), dtype="float32")
    params = prior.generator_.get_params()
    tuned = DiffusionGenerator(**{**params, "n_steps": 1, "lr": 1e-12, "ema_decay": 0.0})
    tuned.fit(X, cond, init=prior.generator_)
    theirs = prior.generator_.net_.ema_module_.state_dict()
    for name, value in tuned.net_.module_.state_dict().items():
        torch.testing.assert_close(value, theirs[name], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="base_channels=4 where init has 8"):
        DiffusionGenerator(**{**params, "base_channels": 4}).fit(X, cond, init=prior.generator_)
    with pytest.raises(ValueError, match="condition vectors of size 3 where init has 4"):
        DiffusionGenerator(**params).fit(X, cond[:, :3], init=prior.generator_)
    resumable = DiffusionGenerator(**{**params, "checkpoint_dir": "ckpt"})
    with pytest.raises(ValueError, match="checkpoint_dir is set"):
        resumable.fit(X, cond, init=prior.generator_)
    assert not hasattr(resumable, "_init") and not hasattr(resumable, "net_")


def test_sasg_adapts_the_prior(prior, target):
    X, y = target
    aug = SASGAugmenter(prior=prior, adapt_steps=3, confidence_threshold=0.0, random_state=0)
    X_res, y_res = aug.fit_resample(X, y)
    np.testing.assert_array_equal(X_res[: len(X)], X)  # real windows first, unchanged
    assert len(X_res) == len(X) + round(SASGAugmenter().ratio * len(X)) and set(
        y_res[len(X) :]
    ) == {1, 2, 3}
    assert aug.generator_.n_train_steps_ >= 3
    assert aug.generator_.base_channels == 8  # the prior's architecture, not the default 32
    np.testing.assert_array_equal(aug.cond_mean_, prior.cond_mean_)
    assert aug.encoder_.prior is prior
    again = SASGAugmenter(prior=prior, adapt_steps=3, confidence_threshold=0.0, random_state=0)
    np.testing.assert_array_equal(again.fit_resample(X, y)[0], X_res)


def test_sasg_fine_tunes_a_prior_with_its_own_training_settings(prior, target):
    # the prior fixes the architecture; lr, batch_size, ... are the sampler's, so a grid
    # search over them searches the adaptation
    X, y = target
    settings = dict(lr=1e-5, batch_size=4, weight_decay=0.5, cond_drop_prob=0.3)
    aug = SASGAugmenter(prior=prior, adapt_steps=2, confidence_threshold=0.0, random_state=0)
    tuned = clone(aug).set_params(**settings).fit(X, y)
    assert {p: tuned.generator_.get_params()[p] for p in settings} == settings
    assert tuned.generator_.base_channels == 8 and tuned.generator_.channel_mults == (1,)
    plain = aug.fit(X, y)
    assert not np.array_equal(tuned.generate(2)[0], plain.generate(2)[0])
    # an architecture the prior lacks is refused, not silently replaced
    with pytest.raises(ValueError, match=r"sets base_channels=64 \(the prior's: 8\)"):
        clone(aug).set_params(base_channels=64).fit(X, y)
    with pytest.raises(ValueError, match=r"channel_mults=\(1, 2\) \(the prior's: \(1,\)\)"):
        clone(aug).set_params(channel_mults=(1, 2)).fit(X, y)
    clone(aug).set_params(channel_mults=[1]).fit(X, y)  # the prior's own value, as a list


def test_sasg_keeps_the_priors_cond_noise_unless_it_sets_its_own(prior, target):
    X, y = target
    noisy = copy.deepcopy(prior)  # as if pretrained with cond_noise=0.4
    noisy.generator_.set_params(cond_noise=0.4)
    aug = SASGAugmenter(prior=noisy, adapt_steps=1, confidence_threshold=0.0, random_state=0)
    assert clone(aug).fit(X, y).generator_.cond_noise == 0.4
    assert clone(aug).set_params(cond_noise=0.1).fit(X, y).generator_.cond_noise == 0.1
    assert clone(aug).set_params(cond_noise=0.0).fit(X, y).generator_.cond_noise == 0.0
    plain = SASGAugmenter(prior=prior, adapt_steps=1, confidence_threshold=0.0, random_state=0)
    assert plain.fit(X, y).generator_.cond_noise == 0.0


@pytest.mark.parametrize(
    "params, match",
    [
        ({"condition": "label"}, "condition='semantic'"),
        ({"checkpoint_dir": "ckpt"}, "checkpoint_dir=None"),
        # silently replaced by adapt_steps before: the CLI refused --steps with --prior
        ({"n_steps": 5000}, r"n_steps=5000 sets the training .* adapt_steps \(now 75\)"),
    ],
)
def test_sasg_prior_settings_errors(prior, target, params, match):
    with pytest.raises(ValueError, match=match):
        SASGAugmenter(prior=prior, **params).fit_resample(*target)


def test_a_one_gesture_target_of_a_prior_gets_a_fix_that_works_with_a_prior(prior, target):
    X, y = target
    with pytest.raises(ValueError, match="needs at least 2 of its gestures.*without the prior"):
        SASGAugmenter(prior=prior, adapt_steps=1).fit(X[y == 1], y[y == 1])


def test_semantic_encoder_refuses_a_prior_path_with_the_line_that_loads_it(prior, tmp_path):
    from semgaug_sk.encoders import SemanticEncoder
    from semgaug_sk.persistence import save_weights

    save_weights(prior, tmp_path / "p.sgw")
    for path in (str(tmp_path / "p.sgw"), tmp_path / "p.sgw"):
        with pytest.raises(TypeError, match=r"not a path .*estimator_type=PopulationPrior"):
            SemanticEncoder(prior=path, max_epochs=1).fit(*_target_like(prior))


def _target_like(prior):
    rng = np.random.default_rng(1)
    y = np.repeat(prior.classes_[:2], 5)
    return rng.normal(size=(len(y), N_CH, prior.n_times_)).astype(np.float32), y


class _TinyNet(torch.nn.Module):
    """A custom encoder network: a class, which a weights file cannot hold."""

    def __init__(self, n_channels, n_times, n_classes, embedding_dim):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(n_channels * n_times, embedding_dim)
        )
        self.head = torch.nn.Linear(embedding_dim, n_classes)

    def forward(self, x):
        return self.head(self.body(x))

    def embed(self, x):
        return self.body(x)


def test_a_prior_with_a_custom_encoder_module_loads_with_a_nested_param(population, tmp_path):
    from semgaug_sk.encoders import SemanticEncoder
    from semgaug_sk.persistence import load_weights, save_weights

    X, y, groups = population
    prior = PopulationPrior(
        encoder=SemanticEncoder(module=_TinyNet, embedding_dim=4, max_epochs=2),
        generator=DiffusionGenerator(n_steps=2, base_channels=8, channel_mults=(1,)),
        random_state=0,
    ).fit(X, y, groups=groups)
    save_weights(prior, tmp_path / "p.sgw")
    with pytest.raises(ValueError, match=r"params=\{'encoder__module': \.\.\.\}"):
        load_weights(tmp_path / "p.sgw")
    with pytest.raises(ValueError, match=r"\['encoder__modul'\] are not parameters"):
        load_weights(tmp_path / "p.sgw", params={"encoder__modul": _TinyNet})
    with pytest.raises(ValueError, match=r"\['fs__module'\] are not parameters"):
        load_weights(tmp_path / "p.sgw", params={"fs__module": _TinyNet})
    with pytest.raises(ValueError, match=r"encoder__module.*pass the object as prior="):
        SASGAugmenter(prior=tmp_path / "p.sgw").fit(X[:12], y[:12])
    loaded = load_weights(tmp_path / "p.sgw", params={"encoder__module": _TinyNet})
    assert loaded.encoder.module is _TinyNet and loaded.encoder_.module is _TinyNet
    np.testing.assert_allclose(loaded.encoder_.transform(X[:5]), prior.encoder_.transform(X[:5]))
    # a sampler adapted from it holds the prior twice: as its parameter, and inside its
    # fitted encoder_ (encoder=None); each message names the next path to pass
    aug = SASGAugmenter(prior=prior, adapt_steps=1, confidence_threshold=0.0, random_state=0)
    aug.fit(X[:12], y[:12])
    save_weights(aug, tmp_path / "a.sgw")
    with pytest.raises(ValueError, match=r"'prior__encoder__module'"):
        load_weights(tmp_path / "a.sgw")
    with pytest.raises(ValueError, match=r"'encoder__prior__encoder__module'"):
        load_weights(tmp_path / "a.sgw", params={"prior__encoder__module": _TinyNet})
    given = {"prior__encoder__module": _TinyNet, "encoder__prior__encoder__module": _TinyNet}
    with pytest.raises(ValueError, match=r"'encoder__module'"):  # encoder_ is the prior's clone
        load_weights(tmp_path / "a.sgw", params=given)
    given["encoder__module"] = _TinyNet
    again = load_weights(tmp_path / "a.sgw", params=given)
    np.testing.assert_array_equal(again.generate(2)[1], aug.generate(2)[1])


def test_unfitted_prior_is_refused(target):
    with pytest.raises(Exception, match=r"prior PopulationPrior is not fitted; pretrain it"):
        SASGAugmenter(prior=_small_prior()).fit_resample(*target)


def test_prior_weights_file_round_trip(prior, target, tmp_path):
    path = tmp_path / "population.sgw"
    save_weights(prior, path)
    loaded = load_weights(path, estimator_type=PopulationPrior)
    X, y = target
    np.testing.assert_allclose(
        loaded.encoder_.transform(X), prior.encoder_.transform(X), rtol=1e-5, atol=1e-6
    )
    aug = SASGAugmenter(prior=str(path), adapt_steps=2, confidence_threshold=0.0, random_state=0)
    X_res, _ = aug.fit_resample(X, y)
    assert len(X_res) == len(X) + round(SASGAugmenter().ratio * len(X))
    with pytest.raises(Exception, match="does not exist|No such file|not found"):
        SASGAugmenter(prior=str(tmp_path / "missing.sgw")).fit_resample(X, y)


def test_samplers_given_one_prior_file_share_one_loaded_prior(prior, target, tmp_path):
    # a server adapting user after user from a path held one prior copy per user
    path = tmp_path / "population.sgw"
    save_weights(prior, path)
    X, y = target
    fitted = []
    for seed in (0, 1):
        aug = SASGAugmenter(prior=str(path), adapt_steps=1, confidence_threshold=0.0)
        aug.set_params(random_state=seed).fit_resample(X, y)
        fitted.append(aug)
    assert fitted[0].encoder_.prior is fitted[1].encoder_.prior
    first = load_prior_file(path)
    assert load_prior_file(path) is first
    os.utime(path, ns=(0, 0))  # the file changed (its time): loaded anew
    assert load_prior_file(path) is not first
    # another prior of the same size moved in with the same times (cp -p, rsync -t)
    current = load_prior_file(path)
    other = tmp_path / "other.sgw"
    save_weights(prior, other)
    before = path.stat()
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(other, path)
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert load_prior_file(path) is not current


def test_adapted_estimators_save_and_load(prior, target, tmp_path):
    X, y = target
    enc = SemanticEncoder(prior=prior, max_epochs=2, random_state=0).fit(X, y)
    save_weights(enc, tmp_path / "enc.sgw")
    back = load_weights(tmp_path / "enc.sgw", estimator_type=SemanticEncoder)
    np.testing.assert_allclose(back.predict_proba(X), enc.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(back.subject_scale_, enc.subject_scale_)
    aug = SASGAugmenter(prior=prior, adapt_steps=2, confidence_threshold=0.0, random_state=0)
    aug.fit(X, y)
    save_weights(aug, tmp_path / "aug.sgw")
    again = load_weights(tmp_path / "aug.sgw", estimator_type=SASGAugmenter)
    assert len(again.generate(4)[0]) == 3 * 4  # 4 windows per class


def test_a_weights_file_from_before_prediction_loads_as_x0(tmp_path):
    """Files written before ``prediction`` existed hold x0 models, whatever the default becomes."""
    X = np.random.default_rng(0).normal(size=(12, 2, 16)).astype("float32")
    gen = DiffusionGenerator(prediction="v", n_steps=2, base_channels=8, channel_mults=(1,))
    gen.fit(X, np.arange(12) % 2)
    path = tmp_path / "old.sgw"
    save_weights(gen, path)
    payload = torch.load(path, weights_only=True)
    del payload["params"]["prediction"]  # as an older version wrote it
    payload["state"].pop("trained_settings_", None)  # recorded since 2026-12-05
    torch.save(payload, path)
    loaded = load_weights(path, estimator_type=DiffusionGenerator)
    assert loaded.prediction == "x0"
    as_x0 = gen.set_params(prediction="x0")  # the same weights, read as an x0 model
    del as_x0.trained_settings_  # on purpose here: sampling would refuse the misreading
    np.testing.assert_array_equal(
        loaded.sample(np.array([0, 1]), random_state=0),
        as_x0.sample(np.array([0, 1]), random_state=0),
    )


def test_prior_refuses_networks_it_cannot_adapt():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.utils._param_validation import InvalidParameterError

    X = np.random.default_rng(0).normal(size=(24, 2, 32)).astype(np.float32)
    y, groups = np.tile([0, 1], 12), np.repeat([1, 2], 12)
    with pytest.raises(InvalidParameterError, match="SemanticEncoder"):
        PopulationPrior(encoder=LinearDiscriminantAnalysis()).fit(X, y, groups=groups)


def test_an_unfitted_or_missing_prior_is_refused_at_a_ratio_zero_point_too(target, tmp_path):
    X, y = target
    for prior in (PopulationPrior(), tmp_path / "missing.sgw"):
        with pytest.raises((ValueError, FileNotFoundError, NotFittedError)):
            SASGAugmenter(prior=prior, ratio=0).fit_resample(X, y)
    with pytest.raises(ValueError, match="a prior needs condition='semantic'"):
        SASGAugmenter(prior=PopulationPrior(), ratio=0, condition="label").fit_resample(X, y)
    with pytest.raises(
        NotFittedError, match=r"SemanticEncoder: the prior .* is not fitted; pretrain"
    ):
        SemanticEncoder(prior=PopulationPrior(), max_epochs=1).fit(X, y)


def test_nan_subjects_in_an_object_array_are_named(population):
    X, y, groups = population
    groups = groups.astype(object)
    groups[:3] = np.nan  # gaps in a pandas column
    with pytest.raises(ValueError, match="3 window"):
        _small_prior().fit(X, y, groups=groups)


def test_the_generator_is_fine_tuned_in_the_data_space_the_prior_learned(prior, target):
    # it refitted the normalisation on the target's raw windows: a subject the prior saw
    # at mean -0.24, sd 1.44 was fine-tuned at 0 / 1, and a perfect prior generated
    # windows up to 40% too weak or 20% too strong before adaptation undid it
    from semgaug_sk.augmentation.normalisation import normalise

    X, y = target
    for gain in (1e-4, 1.0, 1e3):
        Xg = (X * gain).astype(np.float32)
        aug = SASGAugmenter(
            prior=prior, adapt_steps=1, ratio=0.5, confidence_threshold=0.0, random_state=0
        ).fit(Xg, y)
        in_prior_space = normalise(Xg / prior.target_scale(Xg, y)[:, None], prior.generator_)
        np.testing.assert_allclose(
            normalise(Xg, aug.generator_), in_prior_space, rtol=1e-4, atol=1e-4
        )
        assert aug.generator_.nonnegative_ == prior.generator_.nonnegative_
        X_syn, _ = aug.generate(4)
        assert X_syn.dtype == np.float32 and 0.1 < X_syn.std() / Xg.std() < 10


def test_rescaled_normalisation_is_the_normalisation_of_the_gained_windows():
    from semgaug_sk.augmentation.normalisation import (
        denormalise,
        fit_normalisation,
        normalise,
        rescaled_normalisation,
    )

    rng = np.random.default_rng(0)
    gain = np.array([1e-3, 1.0, 50.0])
    for X, mode in (
        (rng.normal(size=(6, 3, 8)), "none"),
        (np.abs(rng.normal(size=(6, 3, 8))), "clip"),
    ):
        Xn, state = fit_normalisation(X, mode)
        rescaled = rescaled_normalisation(state, gain)
        np.testing.assert_allclose(normalise(X * gain[:, None], rescaled), Xn, atol=1e-5)
        np.testing.assert_allclose(denormalise(Xn.astype(float), rescaled), X * gain[:, None],
                                   rtol=1e-5, atol=1e-8)  # fmt: skip
        assert state["window_scaler_"].mean_ is not rescaled["window_scaler_"].mean_
    with pytest.raises(ValueError, match="one positive, finite value per channel"):
        rescaled_normalisation(state, [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="init_gain is the gain of X relative to init"):
        DiffusionGenerator(n_steps=1).fit(X, np.zeros(6, int), init_gain=gain)


def test_a_target_of_another_signal_kind_is_refused_or_warned(population):
    X, y, groups = population
    envelope = _small_prior().fit(np.abs(X), y, groups=groups)
    assert envelope.generator_.nonnegative_ == "clip"
    signed = X[groups == "S1"]
    # a clip prior rectified a signed target's synthetic windows, silently
    with pytest.raises(ValueError, match="negative values .* pretrained on non-negative"):
        SASGAugmenter(prior=envelope, adapt_steps=1).fit(signed, y[groups == "S1"])
    raw = _small_prior().fit(X, y, groups=groups)
    with pytest.warns(UserWarning, match="non-negative .* pretrained on signed windows"):
        raw.check_target(np.abs(signed), y[groups == "S1"])


def test_an_envelope_target_of_a_signed_prior_is_warned_once_and_kept_non_negative(population):
    import warnings

    X, y, groups = population
    raw = _small_prior().fit(X, y, groups=groups)
    envelope = np.abs(X[groups == "S1"]) * 5
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")  # Python's own: once per text and line
        aug = SASGAugmenter(prior=raw, adapt_steps=1, ratio=0.5, confidence_threshold=0.0)
        X_res, _ = aug.set_params(random_state=0).fit_resample(envelope, y[groups == "S1"])
    kinds = [w for w in seen if "pretrained on signed windows" in str(w.message)]
    assert len(kinds) == 1  # the augmenter and its encoder each warned
    # the old path refitted "auto" on the envelope, which kept it >= 0: so does this one
    assert aug.generator_.nonnegative_ == "clip" and X_res.min() >= 0


def test_fine_tuning_in_init_s_space_keeps_its_nonnegative_mode(prior, target):
    X, y = target
    small = dict(n_steps=1, base_channels=8, channel_mults=(1,), n_sampling_steps=1)
    cond = prior.condition_space(prior.encoder_.transform(X / channel_rms(X)[:, None]))
    gain = channel_rms(X)
    with pytest.raises(ValueError, match="keeps init's data space, whose nonnegative mode is"):
        DiffusionGenerator(nonnegative="clip", **small).fit(
            X, cond, init=prior.generator_, init_gain=gain
        )
    clip = copy.deepcopy(prior.generator_)
    clip.nonnegative_ = "clip"
    with pytest.raises(ValueError, match="init was trained on non-negative windows"):
        DiffusionGenerator(**small).fit(X, cond, init=clip, init_gain=gain)


def test_the_target_decides_which_electrodes_are_dead_when_fine_tuning(prior, target):
    # the prior's normalisation pinned channels flat in its population at a constant,
    # whatever the target recorded on them; a target's dead electrode was generated
    X, y = target
    small = dict(n_steps=1, base_channels=8, channel_mults=(1,), n_sampling_steps=1)
    cond = prior.condition_space(prior.encoder_.transform(X / channel_rms(X)[:, None]))
    init = copy.deepcopy(prior.generator_)
    init.flat_channels_ = np.zeros(X.shape[1], dtype=bool)
    init.flat_channels_[0] = True  # dead in every pretraining subject, alive in the target
    dead = X.copy()
    dead[:, 1] = 0.125  # dead in the target, alive in the population
    gen = DiffusionGenerator(random_state=0, **small).fit(
        dead, cond, init=init, init_gain=channel_rms(dead)
    )
    assert gen.flat_channels_.tolist() == [False, True] + [False] * (X.shape[1] - 2)
    out = gen.sample(cond[:4], random_state=0)
    assert np.ptp(out[:, 0]) > 0  # generated, not pinned
    np.testing.assert_array_equal(out[:, 1], 0.125)  # the target's constant
    assert init.flat_channels_[0]  # init is left unchanged


def test_a_target_with_some_of_the_gestures_is_scaled_as_with_all_of_them():
    # its channel RMS depends on which gestures it recorded: the two quietest of four put
    # it at 0.54-0.81x the scale the same person had in pretraining
    from semgaug_sk.augmentation.prior import class_power, target_scale

    rng = np.random.default_rng(0)
    loudness = np.array([0.3, 0.6, 1.5, 3.0])  # per class, alike in every subject

    def person(gain, classes, n=20):
        X = (
            rng.normal(size=(n * len(classes), 2, 16))
            * np.repeat(loudness[classes], n)[:, None, None]
        )
        return X * gain[:, None], np.repeat(classes, n)

    parts = [person(rng.uniform(0.5, 3.0, 2), np.arange(4)) for _ in range(4)]
    Xs = np.concatenate([X / channel_rms(X)[:, None] for X, _ in parts])
    y = np.concatenate([c for _, c in parts])
    groups = np.repeat(np.arange(4), [len(c) for _, c in parts])
    power = class_power(Xs, y, groups, np.arange(4))
    gain = np.array([2.0, 0.01])
    X_all, y_all = person(gain, np.arange(4), n=200)
    truth = channel_rms(X_all)  # what pretraining divided this person by
    for classes in ([0, 1], [2, 3], [0, 3], [1]):
        X, c = person(gain, np.array(classes), n=200)
        np.testing.assert_allclose(target_scale(X, c, np.arange(4), power), truth, rtol=0.08)
        assert np.max(np.abs(channel_rms(X) / truth - 1)) > 0.2 or classes == [0, 3]
    np.testing.assert_allclose(target_scale(X_all, y_all, np.arange(4), power), truth, rtol=0.05)


def test_the_encoder_and_the_generator_read_the_target_at_the_prior_s_scale(prior, target):
    X, y = target
    assert prior.class_power_.shape == (len(prior.classes_), N_CH)
    scale = prior.target_scale(X, y)
    enc = SemanticEncoder(prior=prior, max_epochs=1, random_state=0).fit(X, y)
    np.testing.assert_allclose(enc.subject_scale_, scale)
    seen = {}
    fit = DiffusionGenerator.fit

    def spy(self, X, conditions, *, init=None, init_gain=None):
        seen["gain"] = init_gain
        return fit(self, X, conditions, init=init, init_gain=init_gain)

    DiffusionGenerator.fit = spy
    try:
        SASGAugmenter(prior=prior, adapt_steps=1, random_state=0).fit(X, y)
    finally:
        DiffusionGenerator.fit = fit
    np.testing.assert_allclose(seen["gain"], scale)
    # a prior saved before class powers existed: the channel RMS, as then
    old = copy.deepcopy(prior)
    del old.class_power_
    np.testing.assert_allclose(old.target_scale(X, y), channel_rms(X))


def test_target_scale_refuses_labels_it_cannot_weigh():
    from semgaug_sk.augmentation.prior import target_scale

    X = np.random.default_rng(0).normal(size=(4, 2, 8))
    classes, power = np.array([0, 1]), np.ones((2, 2))
    # an unknown class used to index another class's power (searchsorted's slot)
    with pytest.raises(ValueError, match=r"classes \[5\] have no class power"):
        target_scale(X, np.array([0, 0, 5, 5]), classes, power)
    with pytest.raises(ValueError, match=r"one class per window, shape \(4,\)"):
        target_scale(X, np.zeros(3, int), classes, power)
    with pytest.raises(ValueError, match="NaN or infinite"):
        target_scale(np.full((4, 2, 8), np.nan), np.zeros(4, int), classes, power)


def test_a_shared_prior_s_parameters_are_not_set_through_its_owners(prior, target):
    # clone shares a fitted prior: prior__... set it for every clone at once, and changed
    # nothing it learned (every candidate of a search ran the same prior)
    from sklearn.model_selection import GridSearchCV

    X, y = target
    fs = prior.fs
    for owner in (SASGAugmenter(prior=prior), SemanticEncoder(prior=prior)):
        with pytest.raises(ValueError, match=r"prior__fs would change the prior that clone"):
            clone(owner).set_params(prior__fs=500.0)
        assert prior.fs == fs and owner.prior is prior
    unfitted = _small_prior()
    owner = SemanticEncoder(prior=unfitted).set_params(prior__fs=500.0)  # not shared: allowed
    assert unfitted.fs == 500.0
    owner.set_params(prior=prior, verbose=0)  # replacing the prior itself is fine
    search = GridSearchCV(SemanticEncoder(prior=prior), {"prior__fs": [100.0, 200.0]}, cv=2)
    with pytest.raises(ValueError, match=r"search over prior=\[a, b\]"):
        search.fit(X, y)
    assert prior.fs == fs


def test_asking_for_the_nonnegative_mode_the_prior_resolved_is_no_clash(population):
    # "auto" became "clip" at pretraining; nonnegative="clip" was refused as a clash
    X, y, groups = population
    envelope = _small_prior().fit(np.abs(X), y, groups=groups)
    target = np.abs(X[groups == "S1"]), y[groups == "S1"]
    for same_mode in ("clip", True):  # True is "clip", as ClassicAugmenter reads it
        aug = SASGAugmenter(prior=envelope, nonnegative=same_mode, adapt_steps=1, ratio=0.5)
        aug.set_params(confidence_threshold=0.0, random_state=0).fit(*target)
        assert aug.generator_.nonnegative_ == "clip"
    for other, shown in (("log", "'log'"), (False, "False")):
        with pytest.raises(
            ValueError, match=rf"nonnegative={shown} \(the prior's: 'auto', resolved"
        ):
            SASGAugmenter(prior=envelope, nonnegative=other, adapt_steps=1).fit(*target)


def test_prior_methods_need_a_fitted_prior_and_its_channels(prior, target):
    from sklearn.exceptions import NotFittedError

    X, y = target
    for call in (
        lambda p: p.target_scale(X, y),
        lambda p: p.target_scale(X),
        lambda p: p.condition_space(np.zeros((2, 4))),
    ):
        with pytest.raises(NotFittedError, match=r"PopulationPrior\.\w+: this prior is not fitted"):
            call(PopulationPrior())
    for labels in (y, None):
        with pytest.raises(ValueError, match="windows have 2 channels but .* trained on 3"):
            prior.target_scale(X[:, :2], labels)


def test_labels_of_another_kind_than_the_priors_are_named_with_the_conversion(prior, target):
    X, y = target
    with pytest.raises(ValueError, match=r"names match, but the prior's classes are numbers"):
        prior.check_target(X, y.astype(str))
    with pytest.raises(ValueError, match=r"y\.astype\(prior\.classes_\.dtype\)"):
        prior.target_scale(X, y.astype(str))
    with pytest.raises(ValueError, match=r"not in the population prior") as info:
        prior.check_target(X, y + 10)  # other numbers: no conversion would help
    assert "names match" not in str(info.value)


def test_tags_and_nested_parameters_of_the_prior_and_its_parts():
    from sklearn.utils import get_tags

    from semgaug_sk import FINClassifier
    from semgaug_sk.augmentation import GMSS, SASS

    for est in (PopulationPrior(), DiffusionGenerator()):
        tags = get_tags(est)
        assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array
        assert tags.target_tags.required
    for est in (GMSS(), SASS()):
        assert get_tags(est).target_tags.required
        with pytest.raises(ValueError, match=r"y is required"):
            est.fit(np.zeros((4, 2)), None)
    # a default of None has no parameters: named, as everywhere else, not an AttributeError
    for est, key in ((PopulationPrior(), "encoder__lr"), (FINClassifier(), "imitator__lr")):
        with pytest.raises(ValueError, match=rf"{key} sets parameters of"):
            est.set_params(**{key: 0.1})


def test_a_torch_tensor_target_is_checked_and_adapted_as_its_array(prior, target):
    """check_target read the raw input: a tensor's .min() needs a dim, so it crashed."""
    X, y = target
    prior.check_target(torch.from_numpy(X), y)
    enc = SemanticEncoder(prior=prior, max_epochs=1, random_state=0)
    from_tensor = enc.fit(torch.from_numpy(X), y).transform(X)
    np.testing.assert_array_equal(from_tensor, clone(enc).fit(X, y).transform(X))
    with pytest.raises(ValueError, match=r"^SemanticEncoder: X is ragged"):
        SemanticEncoder(prior=prior).fit([X[0], X[1][:, :-1]], y[:2])


@pytest.mark.parametrize("dropped", ["classes_", "cond_scale_", "generator_"])
def test_an_edited_prior_file_without_a_fitted_attribute_is_refused_at_load(
    tmp_path, prior, dropped
):
    save_weights(prior, tmp_path / "p.sgw")
    payload = torch.load(tmp_path / "p.sgw", weights_only=True)
    state = {k: v for k, v in payload["state"].items() if k != dropped}
    torch.save(dict(payload, state=state), tmp_path / "edited.sgw")
    with pytest.raises(
        ValueError, match=rf"is malformed: its PopulationPrior has no fitted {dropped}"
    ):
        load_weights(tmp_path / "edited.sgw")
    with pytest.raises(ValueError, match="Save the estimator again"):
        load_prior_file(tmp_path / "edited.sgw")
