"""ComposedAugmenter (classic transforms on another sampler's windows) and ClassicAugmenter.augment."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator, clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import NotFittedError

from semgaug_sk import EMGFeatures, SemanticEncoder
from semgaug_sk.augmentation import SASS, ClassicAugmenter, ComposedAugmenter, SASGAugmenter
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.utils.provenance import provenance_of
from semgaug_sk.windows import sliding_windows


@pytest.fixture(scope="module")
def data():
    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=3, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=100)
    return w.X, np.array(["fist", "open", "pinch"])[w.y - 1]


def test_augment_transforms_copies_and_keeps_the_input(data):
    X, y = data
    aug = ClassicAugmenter(random_state=0).fit(X, y)
    before = X.copy()
    out = aug.augment(X[:10], y[:10])
    np.testing.assert_array_equal(X, before)
    assert out.shape == (10, *X.shape[1:]) and out.dtype == X.dtype
    assert not np.allclose(out, X[:10])
    again = ClassicAugmenter(random_state=0).fit(X, y).augment(X[:10], y[:10])
    np.testing.assert_array_equal(out, again)  # seeded


def test_augment_errors(data):
    X, y = data
    with pytest.raises(NotFittedError):
        ClassicAugmenter().augment(X, y)
    aug = ClassicAugmenter(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="not seen at fit"):
        aug.augment(X[:2], ["fist", "wave"])
    with pytest.raises(ValueError, match="fitted on"):
        aug.augment(X[:2, :2], y[:2])
    bad = X[:2].copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN|inf"):
        aug.augment(bad, y[:2])


def test_composition_of_classic_samplers(data):
    X, y = data
    aug = ComposedAugmenter(
        ClassicAugmenter(["scaling"]), ClassicAugmenter(["jitter"]), random_state=0
    )
    X_res, y_res = aug.fit_resample(X, y)
    n = len(X)
    np.testing.assert_array_equal(X_res[:n], X)
    np.testing.assert_array_equal(y_res[:n], y)
    assert len(X_res) == 3 * n
    # the sources of the inner sampler are recorded, so networks validate honestly
    p = provenance_of(X_res)
    assert p.n_real == n and (p.sources >= 0).all()
    np.testing.assert_array_equal(y[p.sources], y_res[n:])
    same = clone(aug).fit_resample(X, y)[0]
    np.testing.assert_array_equal(same, X_res)
    restored = pickle.loads(pickle.dumps(aug))
    assert restored.generate(2)[0].shape == (6, *X.shape[1:])


def test_classic_on_sass_windows_in_a_pipeline(data):
    X, y = data
    sasg = SASGAugmenter(
        SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2),
        sampling=SASS(n_steps=2),
        n_steps=3,
        base_channels=4,
        channel_mults=(1,),
        n_cond_tokens=1,
        cond_token_dim=4,
        n_sampling_steps=2,
        confidence_threshold=0.0,
    )
    aug = ComposedAugmenter(
        sasg, ClassicAugmenter(["scaling", "jitter"]), ratio=1.0, random_state=0
    )
    X_res, y_res = aug.fit_resample(X, y)
    assert len(X_res) == 2 * len(X) and np.isfinite(X_res).all()
    # the composed windows differ from the plain SASS windows of the same fitted sampler
    assert aug.sampler_.last_conditions_ is not None
    model = Pipeline(
        [
            ("aug", clone(aug)),
            ("feat", EMGFeatures("hudgins")),
            ("lda", LinearDiscriminantAnalysis()),
        ]
    ).fit(X, y)
    assert model.score(X, y) > 0.5


def test_sub_seeds_are_given_only_to_unseeded_parts(data):
    X, y = data
    seeded = ClassicAugmenter(["scaling"], random_state=7)
    aug = ComposedAugmenter(seeded, ClassicAugmenter(["jitter"]), random_state=0).fit(X, y)
    assert aug.sampler_.random_state == 7
    assert aug.transforms_.random_state is not None
    assert seeded.random_state == 7 and aug.transforms.random_state is None  # params untouched


class _OneTooMany(ClassicAugmenter):
    """A sampler that breaks the contract: one window more than asked for."""

    def generate(self, n_per_class):
        X, y = super().generate(n_per_class)
        return np.concatenate([X, X[:1]]), np.concatenate([y, y[:1]])


def test_a_sampler_that_makes_too_many_windows_is_named(data):
    X, y = data
    aug = ComposedAugmenter(_OneTooMany(["scaling"]), ClassicAugmenter(["jitter"]), random_state=0)
    with pytest.raises(ValueError, match=r"_OneTooMany\.generate returned \d+ windows .*at most"):
        aug.fit_resample(X, y)


class _BankSampler(BaseEstimator):
    """A third-party sampler that hands out views of a stored bank, in float64."""

    def fit(self, X, y):
        self.bank_ = np.asarray(X, dtype=np.float64).copy()
        self.labels_ = np.asarray(y)
        return self

    def generate(self, n_per_class):
        n = sum(n_per_class.values())
        return self.bank_[:n], self.labels_[:n]


def test_a_third_party_sampler_output_is_copied_not_changed(data):
    X, y = data
    aug = ComposedAugmenter(_BankSampler(), ClassicAugmenter(["jitter"]), ratio=0.5, random_state=0)
    aug.fit(X, y)
    bank = aug.sampler_.bank_.copy()
    X_gen, _ = aug.generate({y[0]: 3})  # the first 3 of the bank are that class
    np.testing.assert_array_equal(aug.sampler_.bank_, bank)  # the sampler's state untouched
    assert X_gen.dtype == X.dtype and not np.array_equal(X_gen, bank[:3].astype(X.dtype))


def test_a_frozen_inner_sampler_works(data):
    from sklearn.frozen import FrozenEstimator

    X, y = data
    inner = ClassicAugmenter(["scaling"], random_state=0).fit(X, y)
    aug = ComposedAugmenter(FrozenEstimator(inner), ClassicAugmenter(["jitter"]), random_state=0)
    X_res, _ = aug.fit_resample(X, y)
    np.testing.assert_array_equal(X_res[: len(X)], X)


def test_a_shared_frozen_sampler_leaves_the_composition_reproducible(data):
    # every clone drew from the one frozen sampler's stream: a fold's windows depended
    # on how many generations ran before it (cross_val_score differed between two runs)
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.frozen import FrozenEstimator

    X, y = data

    def inner():
        return ClassicAugmenter(["scaling"], random_state=0).fit(X, y)

    frozen = inner()
    aug = ComposedAugmenter(FrozenEstimator(frozen), ClassicAugmenter(["jitter"]), random_state=0)
    first = clone(aug).fit_resample(X, y)[0]
    np.testing.assert_array_equal(clone(aug).fit_resample(X, y)[0], first)
    with ThreadPoolExecutor(4) as pool:  # clones generating at once, in threads
        for X_res in pool.map(lambda _: clone(aug).fit_resample(X, y)[0], range(8)):
            np.testing.assert_array_equal(X_res, first)
    fitted = clone(aug).fit(X, y)
    a, b = fitted.generate(2)[0], fitted.generate(2)[0]
    assert not np.array_equal(a, b)  # successive calls draw new windows
    np.testing.assert_array_equal(
        fitted.generate(2, random_state=5)[0], fitted.generate(2, random_state=5)[0]
    )
    # the shared sampler's own stream is where it was
    np.testing.assert_array_equal(frozen.generate(3)[0], inner().generate(3)[0])


def test_a_frozen_sampler_of_your_own_without_streams_is_drawn_as_it_is(data):
    # a sampler that lists no _generation_streams cannot be reseeded: it is used as before
    from sklearn.frozen import FrozenEstimator

    from semgaug_sk.augmentation.base import BaseWindowSampler

    class FirstWindow(BaseWindowSampler):
        def _fit(self, X, y):
            self.X_, self.y_ = X, y

        def _generate(self, counts, out=None):
            X = np.concatenate([self.X_[self.y_ == c][:1].repeat(n, 0) for c, n in counts.items()])
            return X, np.concatenate([np.repeat(c, n) for c, n in counts.items()])

    X, y = data
    mine = FirstWindow().fit(X, y)
    aug = ComposedAugmenter(FrozenEstimator(mine), ClassicAugmenter(["jitter"]), random_state=0)
    X_res, _ = aug.fit_resample(X, y)
    assert len(X_res) == 3 * len(X) and aug._shared_stream is None


def test_augment_into_an_overlapping_buffer_reads_the_windows_first(data):
    X, y = data
    X = X.astype(np.float32)
    aug = ClassicAugmenter(["scaling"], scaling_sigma=0.0, random_state=0).fit(X, y)  # identity
    buf = np.concatenate([X, X[:1]])
    expected = buf[:-1].copy()
    aug.augment(buf[:-1], y, out=buf[1:])
    np.testing.assert_array_equal(buf[1:], expected)


# -- review 2026-12-05 -------------------------------------------------------------------------
class _ListSampler(BaseEstimator):
    """A third-party sampler: returns lists, and can drop or mislabel on purpose."""

    def __init__(self, mode="ok", random_state=None):
        self.mode = mode
        self.random_state = random_state

    def fit(self, X, y):
        self.X_, self.y_ = np.asarray(X), np.asarray(y)
        return self

    def generate(self, counts):
        windows, labels = [], []
        for c, n in counts.items():
            if self.mode == "drop" and c == self.y_[-1]:
                continue
            label = self.y_[0] if self.mode == "one_class" else c
            rows = np.flatnonzero(self.y_ == c)
            windows += [self.X_[rows[i % len(rows)]] for i in range(n)]
            labels += [label] * n
        return windows, labels


def test_third_party_sampler_counts_are_checked_per_class():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2, 40)).astype(np.float32)
    y = np.repeat(["fist", "open"], 6)

    def compose(mode):
        return ComposedAugmenter(_ListSampler(mode), ClassicAugmenter(["jitter"]), random_state=0)

    X_res, y_res = compose("ok").fit_resample(X, y)  # lists are accepted
    assert X_res.shape == (36, 2, 40)
    with pytest.warns(UserWarning, match=r"fewer windows than asked for .*'open': 12"):
        X_res, y_res = compose("drop").fit_resample(X, y)
    assert X_res.shape == (24, 2, 40)
    with pytest.raises(ValueError, match="of the classes asked for"):
        compose("one_class").fit_resample(X, y)


def test_a_library_sampler_shortfall_warns_once():
    """SASG warns about its own confidence-filter shortfall; the composition adds nothing."""
    import warnings

    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 2, 32)).astype(np.float32)
    y = np.repeat([0, 1], 12)
    sasg = SASGAugmenter(
        SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=2),
        n_steps=2,
        base_channels=4,
        channel_mults=(1,),
        n_sampling_steps=2,
        confidence_threshold=0.999,
        max_rounds=1,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ComposedAugmenter(sasg, ClassicAugmenter(["jitter"]), random_state=0).fit_resample(X, y)
    shortfall = [
        w for w in record if "fewer windows" in str(w.message) or "too few" in str(w.message)
    ]
    assert len(shortfall) <= 1
    assert not any("ComposedAugmenter" in str(w.message) for w in shortfall)


def test_settings_of_the_parts_changed_after_fit_reach_the_fitted_clones(data):
    # generate kept using the clones made at fit: a change was silently ignored
    X, y = data
    aug = ComposedAugmenter(
        ClassicAugmenter(["scaling"]), ClassicAugmenter(["jitter"]), random_state=0
    ).fit(X, y)
    first = aug.generate(2, random_state=1)[0]
    aug.set_params(transforms__jitter_sigma=0.0, sampler__scaling_sigma=0.0)
    unchanged = aug.generate(2, random_state=1)[0]
    assert aug.transforms_.jitter_sigma == 0.0 and aug.sampler_.scaling_sigma == 0.0
    assert not np.array_equal(unchanged, first)
    # no gain and no noise: every synthetic window is one of the real ones
    assert all(np.any(np.all(X == w, axis=(1, 2))) for w in unchanged)
    defaults = ClassicAugmenter()
    aug.set_params(
        transforms__jitter_sigma=defaults.jitter_sigma,
        sampler__scaling_sigma=defaults.scaling_sigma,
    )
    np.testing.assert_array_equal(aug.generate(2, random_state=1)[0], first)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"transforms__methods": ["scaling"]}, "methods changed since fit"),
        ({"sampler__quantize": 0.5}, "quantize changed since fit"),
        ({"sampler": ClassicAugmenter(["time_warp"])}, "sampler was replaced since fit"),
        ({"transforms": ClassicAugmenter(["jitter"])}, "transforms was replaced since fit"),
    ],
)
def test_settings_that_fit_decided_are_refused_after_it_not_ignored(data, change, match):
    X, y = data
    aug = ComposedAugmenter(
        ClassicAugmenter(["scaling"]), ClassicAugmenter(["jitter"]), random_state=0
    ).fit(X, y)
    aug.set_params(**change)
    with pytest.raises(ValueError, match=match):
        aug.generate(2)


def test_a_frozen_sampler_fitted_on_other_windows_or_classes_is_refused_at_fit(data):
    from sklearn.frozen import FrozenEstimator

    X, y = data
    frozen = FrozenEstimator(ClassicAugmenter(["scaling"], random_state=0).fit(X, y))
    for part in ("sampler", "transforms"):
        other = {"sampler": ClassicAugmenter(["scaling"]), "transforms": ClassicAugmenter()}
        other[part] = frozen
        aug = ComposedAugmenter(**other, random_state=0)
        with pytest.raises(ValueError, match=rf"the {part} .*windows of shape .*same channels"):
            aug.fit(X[:, :, : X.shape[2] // 2], y)
        with pytest.raises(ValueError, match=rf"the {part} .*windows of shape"):
            aug.fit(X[:, :2], y)
        with pytest.raises(ValueError, match=r"without the class\(es\) \['wave'\]"):
            aug.fit(X, np.where(y == "fist", "wave", y))
        aug.fit(X[y != "fist"], y[y != "fist"])  # a subset of its classes is fine


def test_a_shared_frozen_transforms_leaves_the_composition_reproducible(data):
    # its own stream was advanced by every clone: a fold depended on the folds before it
    from sklearn.frozen import FrozenEstimator

    X, y = data

    def jitter():
        return ClassicAugmenter(["jitter"], random_state=0).fit(X, y)

    frozen = jitter()
    aug = ComposedAugmenter(ClassicAugmenter(["scaling"]), FrozenEstimator(frozen), random_state=0)
    first = clone(aug).fit_resample(X, y)[0]
    np.testing.assert_array_equal(clone(aug).fit_resample(X, y)[0], first)
    fitted = clone(aug).fit(X, y)
    assert not np.array_equal(fitted.generate(2)[0], fitted.generate(2)[0])
    np.testing.assert_array_equal(
        fitted.generate(2, random_state=5)[0], fitted.generate(2, random_state=5)[0]
    )
    # the shared transforms' own stream is where it was
    np.testing.assert_array_equal(frozen.augment(X[:3], y[:3]), jitter().augment(X[:3], y[:3]))
