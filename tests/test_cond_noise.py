"""Conditioning augmentation: ``cond_noise`` jitters vector conditions during training only."""

import numpy as np
import pytest
import torch

from semgaug_sk.augmentation import DiffusionGenerator, SASGAugmenter
from semgaug_sk.augmentation.diffusion import cosine_alpha_bar, diffusion_loss

SMALL = dict(n_steps=3, base_channels=4, channel_mults=(1,), n_sampling_steps=2)


def _recording_denoiser(seen):
    def denoiser(x_t, t, cond, drop):
        seen.append(cond.clone())
        return x_t * 0

    return denoiser


@pytest.mark.parametrize("cond_noise", [0.0, 0.5])
def test_loss_draws_the_same_timesteps_and_noise_whatever_cond_noise(cond_noise):
    x0 = torch.randn(6, 2, 8, generator=torch.Generator().manual_seed(0))
    cond = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    ab = cosine_alpha_bar(50)
    seen = []
    loss, _ = diffusion_loss(
        _recording_denoiser(seen),
        x0,
        cond,
        ab,
        cond_noise=cond_noise,
        generator=torch.Generator().manual_seed(2),
    )
    reference, _ = diffusion_loss(
        _recording_denoiser([]), x0, cond, ab, generator=torch.Generator().manual_seed(2)
    )
    # the denoiser returns 0, so the loss depends on the timesteps and noise alone
    torch.testing.assert_close(loss, reference)
    jitter = seen[0] - cond
    if cond_noise == 0:
        assert torch.equal(seen[0], cond)
    else:
        assert 0.2 < float(jitter.std()) < 1.0  # sd 0.5, on 18 numbers


def test_class_codes_are_never_jittered():
    seen = []
    codes = torch.tensor([0, 1, 2, 1])
    diffusion_loss(
        _recording_denoiser(seen),
        torch.zeros(4, 1, 8),
        codes,
        cosine_alpha_bar(50),
        cond_noise=3.0,
        generator=torch.Generator().manual_seed(0),
    )
    assert torch.equal(seen[0], codes)


def test_cond_noise_changes_what_a_vector_conditioned_generator_learns_not_a_label_one():
    X = np.random.default_rng(0).normal(size=(24, 2, 16)).astype("float32")
    vectors = np.random.default_rng(1).normal(size=(24, 3)).astype("float32")
    codes = np.arange(24) % 2

    def weights(cond, cond_noise):
        gen = DiffusionGenerator(cond_noise=cond_noise, random_state=0, **SMALL).fit(X, cond)
        return [p.detach().clone() for p in gen.net_.module_.parameters()]

    same = weights(vectors, 0.0)
    assert all(torch.equal(a, b) for a, b in zip(same, weights(vectors, 0.0), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(same, weights(vectors, 1.0), strict=True))
    plain = weights(codes, 0.0)
    assert all(torch.equal(a, b) for a, b in zip(plain, weights(codes, 1.0), strict=True))


def test_sasg_cond_noise_none_is_zero_without_a_prior():
    from semgaug_sk.encoders import SemanticEncoder

    X = np.random.default_rng(0).normal(size=(30, 2, 16)).astype("float32")
    y = np.repeat([0, 1], 15)
    encoder = SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=1)
    aug = SASGAugmenter(encoder=encoder, confidence_threshold=0.0, random_state=0, **SMALL)
    assert aug.get_params()["cond_noise"] is None
    assert aug.fit(X, y).generator_.cond_noise == 0.0


def test_sasg_forwards_cond_noise_and_validates_it():
    from semgaug_sk.encoders import SemanticEncoder

    X = np.random.default_rng(0).normal(size=(30, 2, 16)).astype("float32")
    y = np.repeat([0, 1], 15)
    encoder = SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=1)
    aug = SASGAugmenter(encoder=encoder, cond_noise=0.3, confidence_threshold=0.0, **SMALL)
    aug.set_params(random_state=0).fit(X, y)
    assert aug.generator_.cond_noise == 0.3 and aug.get_params()["cond_noise"] == 0.3
    with pytest.raises(ValueError, match="cond_noise"):
        SASGAugmenter(cond_noise=-1.0, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="cond_noise"):
        DiffusionGenerator(cond_noise=-0.1, **SMALL).fit(X, y)


def test_objects_pickled_before_cond_noise_existed_load_without_it():
    X = np.random.default_rng(0).normal(size=(12, 2, 16)).astype("float32")
    gen = DiffusionGenerator(random_state=0, **SMALL).fit(X, np.arange(12) % 2)
    state = dict(gen.__getstate__())
    del state["cond_noise"]
    old = DiffusionGenerator.__new__(DiffusionGenerator)
    old.__setstate__(state)
    assert old.get_params()["cond_noise"] == 0.0
    np.testing.assert_array_equal(
        old.sample(np.zeros(2, int), random_state=0), gen.sample(np.zeros(2, int), random_state=0)
    )
    aug = SASGAugmenter(**SMALL)
    state = dict(aug.__getstate__())
    del state["cond_noise"]
    old_aug = SASGAugmenter.__new__(SASGAugmenter)
    old_aug.__setstate__(state)
    assert old_aug.get_params()["cond_noise"] is None
