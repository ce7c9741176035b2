"""``generate(n, random_state=)``: paired draws from one fitted sampler, own stream untouched."""

import numpy as np
import pytest

from semgaug_sk.augmentation import ClassicAugmenter, ComposedAugmenter, SASGAugmenter
from semgaug_sk.encoders import SemanticEncoder

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 2, 16)).astype("float32")
Y = np.repeat([0, 1], 15)
TINY = dict(n_steps=2, base_channels=4, channel_mults=(1,), n_sampling_steps=2)


def _sasg():
    encoder = SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=1)
    return SASGAugmenter(encoder=encoder, confidence_threshold=0.0, random_state=0, **TINY)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ClassicAugmenter(random_state=0),
        _sasg,
        lambda: ComposedAugmenter(_sasg(), ClassicAugmenter(), random_state=0),
    ],
    ids=["classic", "sasg", "composed"],
)
def test_a_seed_gives_the_same_windows_and_leaves_the_own_stream(make):
    fitted = make().fit(X, Y)
    twin = make().fit(X, Y)
    a, ya = fitted.generate(3, random_state=7)
    b, yb = fitted.generate(3, random_state=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, fitted.generate(3, random_state=8)[0])
    # the seeded calls did not advance the sampler's own stream
    np.testing.assert_array_equal(fitted.generate(3)[0], twin.generate(3)[0])


def test_generate_random_state_is_validated_and_needs_library_parts():
    from sklearn.base import BaseEstimator

    fitted = ClassicAugmenter(random_state=0).fit(X, Y)
    with pytest.raises(
        ValueError, match=r"^ClassicAugmenter\.generate: random_state must be in \[0, 2\*\*32 - 1\]"
    ):
        fitted.generate(2, random_state=-1)
    with pytest.raises(ValueError, match=r"^ClassicAugmenter\.generate: random_state must be None"):
        fitted.generate(2, random_state="seven")

    class Echo(BaseEstimator):  # a third-party sampler: fit and generate only
        def fit(self, X, y):
            return self

        def generate(self, n_per_class):
            return X[:2], Y[[0, -1]]

    composed = ComposedAugmenter(Echo(), ClassicAugmenter(), random_state=0).fit(X, Y)
    with pytest.raises(TypeError, match="Echo keeps a stream of its own"):
        composed.generate({0: 1, 1: 1}, random_state=0)


def test_a_subclass_without_streams_refuses_a_seed_and_a_frozen_part_is_reseeded():
    from sklearn.frozen import FrozenEstimator

    from semgaug_sk.augmentation.base import BaseWindowSampler

    class Copies(BaseWindowSampler):  # a user's sampler with a stream it does not list
        def _fit(self, X, y):
            self.bank_, self.rng_ = X, np.random.default_rng(0)
            return self

        def _generate(self, counts, out=None):
            codes = np.concatenate([np.full(n, c) for c, n in counts.items()])
            return self.bank_[self.rng_.integers(0, len(self.bank_), len(codes))], codes

    copies = Copies().fit(X, Y)
    with pytest.raises(TypeError, match="lists none"):
        copies.generate(2, random_state=0)
    inner = ClassicAugmenter(random_state=0).fit(X, Y)
    composed = ComposedAugmenter(FrozenEstimator(inner), ClassicAugmenter(), random_state=0)
    composed.fit(X, Y)
    a, _ = composed.generate(2, random_state=3)
    np.testing.assert_array_equal(a, composed.generate(2, random_state=3)[0])


def test_param_digest_of_a_nested_estimator_leaves_out_neutral_new_parameters():
    from semgaug_sk.augmentation import DiffusionGenerator
    from semgaug_sk.augmentation.checkpoint import param_digest

    class Before(DiffusionGenerator):  # the generator as it was before cond_noise
        def get_params(self, deep=True):
            params = super().get_params(deep)
            params.pop("cond_noise")
            return params

    # the class name is part of the digest, so compare through a renamed copy
    Before.__qualname__ = DiffusionGenerator.__qualname__
    Before.__module__ = DiffusionGenerator.__module__
    assert param_digest(Before()) == param_digest(DiffusionGenerator())
    assert param_digest(DiffusionGenerator(cond_noise=0.5)) != param_digest(DiffusionGenerator())
