"""Tests of SASGAugmenter and its numerics (U-Net, diffusion, GMSS/SASS conditions).

imbalanced-learn's ``check_estimator`` sampler checks do not apply: they feed 2-D
feature matrices, while window samplers take 3-D windows and reject 2-D input on
purpose. The checks that make sense are run by hand below with tiny models on the
simulator: the sampler contract, determinism, persistence (including a model saved
with device="cuda" reloaded where CUDA is absent), SASS against GMSS, the pipeline
and grid search, and each bad input.
"""

from __future__ import annotations

import io
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from semgaug_sk.augmentation import GMSS, SASS, DiffusionGenerator, SASGAugmenter
from semgaug_sk.augmentation.base import n_synthetic_per_class
from semgaug_sk.augmentation.conditions import (
    fit_class_gaussians,
    gaussian_factors,
    knn_radius,
    sample_gmss,
    sass_refine,
    select_rarest,
)
from semgaug_sk.augmentation.diffusion import (
    cosine_alpha_bar,
    ddim_sample,
    diffusion_loss,
    fourier_loss,
    guided_x0,
    prediction_target,
    q_sample,
    x0_diffusion_loss,
    x0_from_prediction,
)
from semgaug_sk.datasets import make_semg_gestures
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.features import EMGFeatures
from semgaug_sk.metrics import avg_knn_distance, rarity_score
from semgaug_sk.nn.unet import (
    ConditionalDenoiser,
    ConditionalUNet1d,
    LabelConditioner,
    SemanticConditioner,
    n_unet_levels,
)
from semgaug_sk.windows import sliding_windows

ENCODER = SemanticEncoder(embedding_dim=8, n_filters=8, n_blocks=1, max_epochs=6, patience=3)
TINY = dict(
    n_steps=20,
    base_channels=8,
    channel_mults=(1, 2),
    n_cond_tokens=2,
    cond_token_dim=16,
    n_sampling_steps=4,
    sampling=SASS(n_steps=3),
    max_rounds=2,
)


def tiny(encoder=ENCODER, **kwargs):
    """A tiny, seeded SASGAugmenter (seconds to fit on the simulator)."""
    params = dict(TINY, random_state=0)
    params.update(kwargs)
    return SASGAugmenter(encoder, **params)


@pytest.fixture(scope="module")
def data():
    rec = make_semg_gestures(n_classes=3, n_repetitions=2, n_channels=4, fs=200.0, random_state=0)
    w = sliding_windows(rec, window_ms=100, step_ms=50)
    names = np.array(["fist", "open", "pinch"])
    return w.X, names[w.y - 1]


@pytest.fixture(scope="module")
def fitted(data):
    """Semantic + SASS model, no confidence filter, fitted once for the module."""
    X, y = data
    return tiny(confidence_threshold=0.0).fit(X, y)


# -- numerics ------------------------------------------------------------------------------------
def test_cosine_schedule():
    ab = cosine_alpha_bar(500)
    assert ab.shape == (500,)
    assert torch.all(ab[1:] < ab[:-1]) and 0.99 < ab[0] <= 1 and ab[-1] < 1e-3


def test_ddim_with_an_oracle_returns_the_target():
    target = torch.randn(3, 2, 9)
    out = ddim_sample(lambda x, t: target, target.shape, cosine_alpha_bar(100), n_steps=7, eta=0.5)
    torch.testing.assert_close(out, target)


def test_guidance_one_skips_the_unconditional_pass():
    calls = []

    def den(x, t, c, mask):
        calls.append(mask)
        return x + (0.0 if mask is None else (~mask).float().view(-1, 1, 1))

    x = torch.zeros(2, 1, 4)
    guided_x0(den, x, torch.zeros(2), None, 1.0)
    assert calls == [None]
    out = guided_x0(den, x, torch.zeros(2), None, 3.0)  # uncond 0, cond 1 -> 3
    assert torch.all(out == 3.0) and len(calls) == 2


def test_losses():
    x = torch.randn(4, 2, 16)
    assert float(fourier_loss(x, x)) == 0.0
    assert float(fourier_loss(x, x + 1)) > 0.0
    with pytest.raises(ValueError, match="norm"):
        fourier_loss(x, x, norm="l3")
    loss, parts = x0_diffusion_loss(
        lambda xt, t, c, m: torch.zeros_like(xt),
        x,
        torch.zeros(4, 3),
        cosine_alpha_bar(50),
        generator=torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(parts["mse"], (x**2).mean())
    assert float(loss) > float(parts["mse"])  # the Fourier term is added


@pytest.mark.parametrize("prediction", ["x0", "eps", "v"])
def test_prediction_targets_invert_to_x0(prediction):
    ab = cosine_alpha_bar(50)
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(6, 2, 8, generator=g), torch.randn(6, 2, 8, generator=g)
    t = torch.tensor([0, 5, 17, 30, 44, 49])
    x_t = q_sample(x0, t, ab, noise)
    target = prediction_target(x0, noise, t, ab, prediction)
    torch.testing.assert_close(
        x0_from_prediction(target, x_t, t, ab, prediction), x0, atol=2e-4, rtol=1e-4
    )


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_loss_of_a_perfect_denoiser_is_zero_for_every_target(prediction):
    """The data term compares the output with the target of ``prediction``."""
    ab = cosine_alpha_bar(50)
    x0 = torch.randn(5, 2, 16)
    seen = {}

    def oracle(x_t, t, c, m):  # recovers the noise from x_t and the known x0
        noise = (x_t - ab[t].sqrt().view(-1, 1, 1) * x0) / (1 - ab[t]).sqrt().view(-1, 1, 1)
        seen["t"] = t
        return prediction_target(x0, noise, t, ab, prediction)

    loss, parts = diffusion_loss(
        oracle, x0, None, ab, prediction=prediction, generator=torch.Generator().manual_seed(1)
    )
    assert float(parts["mse"]) < 1e-8 and float(parts["fourier"]) < 1e-3
    # A wrong target is penalised: zeros are the x0 target of nothing here.
    _, wrong = diffusion_loss(
        lambda x_t, t, c, m: torch.zeros_like(x_t), x0, None, ab, prediction=prediction
    )
    assert float(wrong["mse"]) > 0.1


def test_prediction_is_validated():
    with pytest.raises(ValueError, match="prediction must be one of"):
        x0_from_prediction(
            torch.zeros(1, 1, 2),
            torch.zeros(1, 1, 2),
            torch.tensor([0]),
            cosine_alpha_bar(5),
            "noise",
        )
    gen = DiffusionGenerator(prediction="noise", n_steps=1)
    with pytest.raises(ValueError, match="prediction"):
        gen.fit(np.zeros((4, 1, 8), "float32"), np.zeros(4, int))


@pytest.mark.parametrize("prediction", ["eps", "v"])
def test_generator_trains_and_samples_with_each_prediction(prediction):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(24, 2, 16)) * np.array([1.0, 3.0])[:, None]).astype("float32")
    gen = DiffusionGenerator(
        prediction=prediction,
        n_steps=30,
        base_channels=8,
        channel_mults=(1,),
        n_sampling_steps=5,
        random_state=0,
    ).fit(X, np.arange(24) % 2)
    assert gen.net_.prediction == prediction
    out = gen.sample(np.array([0, 1, 1]), random_state=0)
    assert out.shape == (3, 2, 16) and np.isfinite(out).all()
    again = gen.sample(np.array([0, 1, 1]), random_state=0)
    np.testing.assert_array_equal(out, again)
    # The sampler converts the prediction: an eps/v model's raw output is not the window.
    assert np.abs(out).max() < 50 * np.abs(X).max()


def test_generator_refuses_conditions_it_cannot_have_learned():
    # codes at the null row, fractions, unseen codes and NaN vectors used to pass silently
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 2, 16)).astype("float32")
    tiny_gen = dict(n_steps=2, base_channels=8, channel_mults=(1,), n_sampling_steps=2)
    labels = DiffusionGenerator(**tiny_gen, random_state=0).fit(X, np.arange(24) % 6)
    for codes, match in [
        ([6], r"codes \[6\] are outside 0\.\.5"),
        ([-1], r"codes \[-1\] are outside"),
        ([0.7, 1.9], "must be integers"),
        ([np.nan], "must be integers"),
    ]:
        with pytest.raises(ValueError, match=match):
            labels.sample(np.array(codes))
    with pytest.raises(ValueError, match="fitted on class codes"):
        labels.sample(np.zeros((2, 3)))
    assert labels.sample(np.array([1.0, 2.0]), random_state=0).shape == (2, 2, 16)
    with pytest.raises(ValueError, match=r"out must be a float array of shape \(>= 1, 2, 16\)"):
        labels.sample(np.array([1]), out=np.empty((0, 2, 16), "float32"))
    with pytest.warns(UserWarning, match=r"codes \[1, 2, 3, 4\] never occur"):
        DiffusionGenerator(**tiny_gen).fit(X, np.where(np.arange(24) % 2, 5, 0))
    with warnings.catch_warnings():  # fine-tuned: the codes index the init's trained table
        warnings.simplefilter("error")
        DiffusionGenerator(**tiny_gen).fit(X, np.where(np.arange(24) % 2, 5, 0), init=labels)
    for bad, match in [
        (rng.uniform(0, 3, 24), "must be integers"),
        (-np.ones(24, int), "must be >= 0"),
        (np.where(np.eye(24, 4) > 0, np.nan, 1.0), "contain NaN or inf"),
        (np.full((24, 2), "a"), "must be real numbers; got dtype <U1"),
    ]:
        with pytest.raises(ValueError, match=match):
            DiffusionGenerator(**tiny_gen).fit(X, bad)
    one_hot = np.eye(3, dtype=bool)[np.arange(24) % 3]  # flags work as vectors
    flags = DiffusionGenerator(**tiny_gen, random_state=0).fit(X, one_hot)
    np.testing.assert_array_equal(
        flags.sample(one_hot[:4], random_state=0),
        DiffusionGenerator(**tiny_gen, random_state=0)
        .fit(X, one_hot.astype(float))
        .sample(one_hot[:4].astype(float), random_state=0),
    )
    vectors = DiffusionGenerator(**tiny_gen, random_state=0).fit(X, rng.normal(size=(24, 4)))
    for bad in (np.zeros((2, 3)), np.zeros(2)):
        with pytest.raises(ValueError, match=r"vectors of length 4.*shape \(n, 4\)"):
            vectors.sample(bad)
    with pytest.raises(ValueError, match="NaN or inf"):
        vectors.sample(np.full((1, 4), np.inf))


@pytest.mark.parametrize("scale", [1.0, 1e-4, 1e-9, 1e9])  # 1e9: eps was passed absolute
def test_generator_keeps_a_dead_channel_flat_and_the_data_scale(scale):
    # a channel below an absolute 1e-8 used to be "scaled" by 1: model noise at about unit
    # amplitude in the user's units (a disconnected electrode, or every channel in volts)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 3, 16)) * np.array([1.0, 2.0, 0.0])[:, None] * scale
    gen = DiffusionGenerator(
        n_steps=2, base_channels=8, channel_mults=(1,), n_sampling_steps=2, random_state=0
    ).fit(X.astype("float32"), np.arange(24) % 2)
    out = gen.sample(np.array([0, 1, 1, 0]), random_state=0)
    rms = np.sqrt(np.mean(np.square(out, dtype=np.float64), axis=(0, 2)))
    assert rms[2] == 0.0 and gen.flat_channels_.tolist() == [False, False, True]
    assert 0.01 * scale < rms[0] < 100 * scale and 0.01 * scale < rms[1] < 100 * scale


@pytest.mark.parametrize("n_times", [1, 7, 20, 33, 52])
def test_unet_any_length(n_times):
    unet = ConditionalUNet1d(3, n_times, 8, base_channels=8, channel_mults=(1, 2, 2))
    assert unet.n_levels == n_unet_levels(n_times, 2, 8)
    den = ConditionalDenoiser(unet, SemanticConditioner(5, n_tokens=2, token_dim=8))
    out = den(torch.randn(2, 3, n_times), torch.tensor([0, 3]), torch.randn(2, 5))
    assert out.shape == (2, 3, n_times)


def test_depth_adapts_to_window_length():
    assert n_unet_levels(20, 2, 8) == 1  # DB1: 200 ms at 100 Hz
    assert n_unet_levels(52, 2, 8) == 2  # Myo: 260 ms at 200 Hz
    assert n_unet_levels(7, 2, 8) == 0


def test_null_condition():
    cond = LabelConditioner(3, n_tokens=2, token_dim=4)
    drop = torch.tensor([True, True])
    torch.testing.assert_close(
        cond(torch.tensor([0, 2]), drop)[0], cond(torch.tensor([0, 2]), drop)[1]
    )
    sem = SemanticConditioner(4, n_tokens=2, token_dim=4)
    a = sem(torch.randn(2, 4), drop)
    torch.testing.assert_close(a[0], a[1])


@pytest.mark.parametrize("covariance", ["oas", "ledoit_wolf"])
def test_gaussians_small_classes(covariance):
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(13, 6))
    labels = np.array([0] * 10 + [1] * 2 + [2])  # class 1: fewer samples than dims; class 2: one
    means, covs, iso = fit_class_gaussians(emb, labels, 3, covariance=covariance)
    assert iso == [2]
    for c in range(3):
        assert np.all(np.linalg.eigvalsh(covs[c]) > 0)  # Ledoit-Wolf keeps it positive definite
    np.testing.assert_allclose(covs[2], covs[2][0, 0] * np.eye(6))
    z = sample_gmss(means, gaussian_factors(covs), np.array([0, 1, 2, 2]), rng)
    assert z.shape == (4, 6) and np.isfinite(z).all()
    with pytest.raises(ValueError, match="covariance must be"):
        fit_class_gaussians(emb, labels, 3, covariance="empirical")


def test_a_class_of_duplicated_embeddings_gets_the_pooled_spread_like_a_single_window():
    rng = np.random.default_rng(0)
    emb = np.vstack([rng.normal(size=(10, 4)), np.repeat(rng.normal(size=(1, 4)), 5, axis=0)])
    labels = np.array([0] * 10 + [1] * 5)
    _, covs, iso = fit_class_gaussians(emb, labels, 2)
    assert iso == [1]
    np.testing.assert_allclose(covs[1], emb[:10].var(axis=0).mean() * np.eye(4))


def test_select_rarest_and_refine():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 2))
    cand = rng.normal(size=(400, 2))
    keep, scores = select_rarest(real, cand, 50, k=5)
    inside = ~np.isnan(scores)
    assert inside[keep].all()
    assert np.nanmin(scores[keep]) >= np.nanmax(np.delete(scores, keep))  # the rarest are kept
    moved = sass_refine(cand[keep], real, bandwidth=0.5, epsilon=0.4, n_steps=10)
    assert np.all(np.linalg.norm(moved - cand[keep], axis=1) <= 0.4 + 1e-9)
    assert avg_knn_distance(real, moved) > avg_knn_distance(real, cand[keep])


def _rare_starts(dim=16, n_real=60, n=80, seed=0):
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(n_real, dim))
    cand = rng.normal(size=(4 * n, dim))
    keep, _ = select_rarest(real, cand, n, k=5)
    return real, cand[keep], knn_radius(real, 5)


def test_sass_refinement_moves_inside_the_ball_not_onto_its_edge():
    real, starts, h = _rare_starts()
    eps = 0.5 * h
    moved = sass_refine(starts, real, bandwidth=h, epsilon=eps, n_steps=20, diversity=1.0)
    shift = np.linalg.norm(moved - starts, axis=1) / eps
    assert (shift > 0.05).all()  # every candidate moves
    assert (shift < 0.99).mean() > 0.9  # ... and nearly all stop inside the ball
    assert np.ptp(shift) > 0.05  # by amounts that depend on where they start
    # away from the real data: the sparsity potential descends
    assert avg_knn_distance(real, moved) > avg_knn_distance(real, starts)


def test_sass_refinement_depends_on_steps_and_diversity():
    real, starts, h = _rare_starts(seed=1)
    kwargs = dict(bandwidth=h, epsilon=0.5 * h)
    shift = {
        (steps, div): np.linalg.norm(
            sass_refine(starts, real, n_steps=steps, diversity=div, **kwargs) - starts, axis=1
        ).mean()
        for steps in (1, 3, 20)
        for div in (0.0, 1.0)
    }
    for div in (0.0, 1.0):
        assert shift[(1, div)] < shift[(3, div)] < shift[(20, div)]
    for steps in (1, 3, 20):
        assert shift[(steps, 1.0)] > shift[(steps, 0.0)]

    def spread(z):
        d = np.linalg.norm(z[:, None] - z[None], axis=-1)
        return d[np.triu_indices(len(z), 1)].mean()

    apart = sass_refine(starts, real, n_steps=20, diversity=1.0, **kwargs)
    alone = sass_refine(starts, real, n_steps=20, diversity=0.0, **kwargs)
    assert spread(apart) > spread(alone)  # the diversity potential pushes candidates apart
    np.testing.assert_array_equal(sass_refine(starts, real, n_steps=0, **kwargs), starts)


def test_sass_refinement_step_is_the_documented_gradient():
    # one step that stays inside its ball (no projection): z - (sigma^2 / 2) dU/dz_i, where the
    # diversity term weighs each pair by w_ij + w_ji (sass_refine's docstring)
    rng = np.random.default_rng(3)
    real, starts = rng.normal(size=(40, 3)), rng.normal(size=(6, 3)) * 0.5
    h, eps, lam = 0.7, 0.2, 1.0
    moved = sass_refine(starts, real, bandwidth=h, epsilon=eps, n_steps=1, diversity=lam)

    def softmax_rows(d2):
        w = np.exp(-(d2 - d2.min(axis=1, keepdims=True)) / (2 * h**2))
        return w / w.sum(axis=1, keepdims=True)

    to_real = softmax_rows(((starts[:, None] - real[None]) ** 2).sum(-1))
    sparsity = (to_real @ real - starts) / h**2
    d2 = ((starts[:, None] - starts[None]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    w = softmax_rows(d2)
    pair = w + w.T
    diversity = (pair @ starts - pair.sum(axis=1, keepdims=True) * starts) / h**2
    sigma2 = (eps / 2) ** 2  # the anchor's gradient is 0 at the start
    expected = starts - 0.5 * sigma2 * (sparsity + lam * diversity)
    assert np.linalg.norm(expected - starts, axis=1).max() < eps  # inside the ball
    np.testing.assert_allclose(moved, expected, rtol=1e-10, atol=1e-12)
    # the per-candidate mean shift alone (w_ij only) is a different step
    alone = (w @ starts - starts) / h**2
    assert not np.allclose(moved, starts - 0.5 * sigma2 * (sparsity + lam * alone))


def _sass_refine_by_autograd(starts, real, *, bandwidth, epsilon, n_steps, diversity):
    """The refinement as it was written first: autograd through the potential U."""
    import torch

    z0 = torch.as_tensor(starts, dtype=torch.float64)
    ref = torch.as_tensor(real, dtype=torch.float64)
    inv_two_h2, sigma2 = 1.0 / (2.0 * bandwidth**2), (0.5 * epsilon) ** 2
    z, mask = z0.clone(), torch.eye(len(z0), dtype=torch.bool)
    for _ in range(n_steps):
        z.requires_grad_(True)
        potential = torch.logsumexp(-torch.cdist(z, ref).pow(2) * inv_two_h2, dim=1).sum()
        d2 = torch.cdist(z, z).pow(2).masked_fill(mask, float("inf"))
        potential = potential + diversity * torch.logsumexp(-d2 * inv_two_h2, dim=1).sum()
        (grad,) = torch.autograd.grad(potential, z)
        with torch.no_grad():
            z = z - 0.5 * sigma2 * (grad + (z - z0) / sigma2)
            delta = z - z0
            norm = delta.norm(dim=1, keepdim=True).clamp(min=1e-12)
            z = z0 + delta * torch.clamp(epsilon / norm, max=1.0)
    return z.detach().numpy()


@pytest.mark.parametrize("diversity", [0.0, 1.0, 3.0])
def test_sass_refinement_in_closed_form_follows_the_autograd_descent(diversity):
    """The closed-form gradient replaced autograd for speed; the path is the same."""
    real, starts, h = _rare_starts(seed=2)
    kwargs = dict(bandwidth=h, epsilon=0.5 * h, n_steps=20, diversity=diversity)
    np.testing.assert_allclose(
        sass_refine(starts, real, **kwargs),
        _sass_refine_by_autograd(starts, real, **kwargs),
        rtol=1e-9,
        atol=1e-11,
    )


# -- the sampler contract ------------------------------------------------------------------------
def test_fit_resample_contract(data):
    X, y = data
    aug = tiny(confidence_threshold=0.0)
    X_res, y_res = aug.fit_resample(X, y)
    n = len(X)
    assert X_res.dtype == X.dtype and X_res.shape[1:] == X.shape[1:]
    np.testing.assert_array_equal(X_res[:n], X)
    np.testing.assert_array_equal(y_res[:n], y)
    classes, counts = np.unique(y, return_counts=True)
    syn_classes, syn_counts = np.unique(y_res[n:], return_counts=True)
    assert syn_classes.tolist() == classes.tolist()  # strings round-trip
    expected = n_synthetic_per_class(y, aug.ratio)  # the default ratio, the paper's 2
    np.testing.assert_array_equal(syn_counts, [expected[c] for c in classes])
    assert aug.ratio == 2.0 and syn_counts.sum() == 2 * n
    assert np.isfinite(X_res).all()
    assert aug.last_conditions_.shape == (len(y_res) - n, aug.embedding_dim_)
    np.testing.assert_array_equal(aug.last_condition_labels_, y_res[n:])
    assert aug.sampler_.means_.shape == (3, 8) and aug.sampler_.covariances_.shape == (3, 8, 8)
    assert aug.encoder_ is not ENCODER and not hasattr(ENCODER, "net_")  # cloned, not mutated


def test_sampling_strategy_auto_balances(data):
    X, y = data
    keep = np.concatenate([np.flatnonzero(y != "pinch"), np.flatnonzero(y == "pinch")[:8]])
    aug = tiny(sampling="gmss", sampling_strategy="auto")
    X_res, y_res = aug.fit_resample(X[keep], y[keep])
    _, counts = np.unique(y_res, return_counts=True)
    assert len(set(counts.tolist())) == 1


def test_ratio_zero_returns_the_real_windows(data):
    X, y = data
    aug = tiny(ratio=0.0, n_steps=2)
    X_res, y_res = aug.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X)
    np.testing.assert_array_equal(y_res, y)
    # nothing to generate: no generator is trained, and generate() says how to get one
    assert not aug.generator_fitted_ and not hasattr(aug, "diffusion_")
    with pytest.raises(NotFittedError, match="nothing to generate"):
        aug.generate(2)
    assert aug.fit(X, y).generator_fitted_
    # a later fit with nothing to generate leaves the earlier model unusable, not stale
    aug.fit_resample(X[: len(X) // 2], y[: len(y) // 2])
    for call in (lambda: aug.generate(2), lambda: aug.sample_conditions(2)):
        with pytest.raises(NotFittedError, match="nothing to generate"):
            call()


def test_generating_nothing_clears_the_last_generation_records(data, fitted):
    fitted.generate(2)
    assert fitted.last_acceptance_ and fitted.last_conditions_ is not None
    X_syn, _ = fitted.generate(0)
    assert len(X_syn) == 0 and fitted.last_acceptance_ == {} and fitted.last_shortfall_ == {}
    assert fitted.last_conditions_ is None


def test_determinism(data, fitted):
    X, y = data
    a = tiny(confidence_threshold=0.0).fit(X, y)
    b = tiny(confidence_threshold=0.0).fit(X, y)
    Xa, ya = a.generate(3)
    Xb, yb = b.generate(3)
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(a.last_conditions_, b.last_conditions_)
    c = tiny(confidence_threshold=0.0, random_state=1).fit(X, y)
    assert not np.array_equal(c.generate(3)[0], Xa)


def test_generate_int_dict_and_errors(fitted):
    X_syn, y_syn = fitted.generate({"open": 4})
    assert X_syn.shape[0] == 4 and set(y_syn) == {"open"}
    X_syn, y_syn = fitted.generate(2)
    assert y_syn.tolist() == ["fist"] * 2 + ["open"] * 2 + ["pinch"] * 2
    X_syn, y_syn = fitted.generate(0)
    assert X_syn.shape == (0, fitted.n_channels_, fitted.n_times_) and len(y_syn) == 0
    counts = pd.Series({"open": 3, "fist": 1})  # e.g. y.value_counts()
    assert sorted(fitted.generate(counts)[1].tolist()) == ["fist"] + ["open"] * 3
    with pytest.raises(ValueError, match="not seen at fit"):
        fitted.generate({"wave": 3})
    with pytest.raises(ValueError, match="non-negative integer"):
        fitted.generate({"open": -1})
    with pytest.raises(NotFittedError):
        tiny().generate(3)
    with pytest.raises(NotFittedError):
        tiny().sample_conditions(3)


@pytest.mark.parametrize("sampler", [GMSS, SASS])
def test_condition_samplers_refuse_empty_or_nan_embeddings_and_bad_block_sizes(sampler):
    with pytest.raises(ValueError, match="at least one row of finite numbers; got 0 row"):
        sampler().fit(np.zeros((0, 3)), [])
    with pytest.raises(ValueError, match="0 dimensions .*check its embedding_dim"):
        sampler().fit(np.zeros((12, 0)), np.repeat([0, 1], 6))  # was sklearn's OAS error
    emb = np.random.default_rng(0).normal(size=(12, 3))
    with pytest.raises(ValueError, match="with NaN or inf"):
        sampler().fit(np.where(np.eye(12, 3) > 0, np.nan, emb), np.repeat([0, 1], 6))
    fitted = sampler().fit(emb, np.repeat([0, 1], 6))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="block_size must be None or an integer >= 1"):
            fitted.sample(3, 0, block_size=bad)


def test_sass_is_sparser_than_gmss(data, fitted):
    """SASS conditions lie further from the real embeddings than GMSS ones (same fitted model)."""
    _, y = data
    aug = pickle.loads(pickle.dumps(fitted)).set_params(sampling="gmss")
    gmss, lab_g = aug.sample_conditions(40)
    aug.set_params(sampling="sass")
    sass, lab_s = aug.sample_conditions(40)
    np.testing.assert_array_equal(lab_g, lab_s)
    real = aug.train_embeddings_
    dist = {"gmss": [], "sass": []}
    rarity = {"gmss": [], "sass": []}
    for c in aug.classes_:
        r = real[y == c]
        for name, z in (("gmss", gmss[lab_g == c]), ("sass", sass[lab_s == c])):
            dist[name].append(avg_knn_distance(r, z, k=3))
            rarity[name].append(np.nanmean(rarity_score(r, z, k=3)))
    assert np.mean(dist["sass"]) > np.mean(dist["gmss"])
    assert np.mean(rarity["sass"]) > np.mean(rarity["gmss"])


def test_gmss_and_label_conditions(data, fitted):
    X, y = data
    aug = pickle.loads(pickle.dumps(fitted)).set_params(sampling="gmss")
    X_syn, y_syn = aug.generate(3)
    assert X_syn.shape == (9, *X.shape[1:]) and aug.last_conditions_.shape == (9, 8)
    assert aug.last_acceptance_ == {}

    label = tiny(condition="label")
    X_res, y_res = label.fit_resample(X, y)
    assert label.encoder_ is None and label.sampler_ is None
    assert len(y_res) == len(y) + sum(n_synthetic_per_class(y, label.ratio).values())
    assert label.last_conditions_ is None
    np.testing.assert_array_equal(label.last_condition_labels_, y_res[len(y) :])
    with pytest.raises(ValueError, match="no semantic conditions"):
        label.sample_conditions(2)


def test_a_label_refit_drops_the_semantic_standardisation(data, fitted):
    """A refit with condition="label" after a semantic fit keeps nothing of the embeddings."""
    X, y = data
    refit = pickle.loads(pickle.dumps(fitted)).set_params(condition="label", n_steps=2)
    refit.fit(X, y)
    fresh = tiny(condition="label", n_steps=2).fit(X, y)
    for name in ("cond_mean_", "cond_scale_", "_encoder_columns", "train_embeddings_"):
        assert getattr(refit, name) is None and getattr(fresh, name) is None, name


def test_label_condition_accepts_one_class(data):
    X, y = data
    one = y == "fist"
    X_res, y_res = tiny(condition="label", n_steps=2).fit_resample(X[one], y[one])
    n_syn = sum(n_synthetic_per_class(y[one], 2.0).values())  # the default ratio
    assert len(y_res) == one.sum() + n_syn and set(y_res) == {"fist"}


def test_confidence_filter_shortfall_warns(data, fitted):
    aug = pickle.loads(pickle.dumps(fitted)).set_params(confidence_threshold=0.999, max_rounds=1)
    with pytest.warns(UserWarning, match=r"confidence_threshold=0.999 \(class '") as record:
        X_syn, y_syn = aug.generate(5)
    assert {w.filename for w in record if "confidence_threshold" in str(w.message)} == {__file__}
    with pytest.warns(UserWarning, match="confidence_threshold=0.999") as record:
        Pipeline([("aug", clone(aug))]).fit_resample(*data)  # through imblearn's frames
    assert {w.filename for w in record if "confidence_threshold" in str(w.message)} == {__file__}
    assert len(y_syn) < 15
    if len(y_syn):
        proba = aug.encoder_.predict_proba(X_syn)
        cols = np.searchsorted(aug.encoder_.classes_, y_syn)
        assert np.all(proba[np.arange(len(y_syn)), cols] >= 0.999)
    assert set(aug.last_acceptance_) == {"fist", "open", "pinch"}
    assert sum(aug.last_shortfall_.values()) == 15 - len(y_syn)  # recorded, not only warned
    assert "train longer (n_steps)" in str(record[0].message)
    # with a prior the generator is fine-tuned, so the advice names adapt_steps instead
    vars(aug)["prior"] = "population.sgw"  # what the check reads; nothing is loaded here
    with pytest.warns(UserWarning, match=r"train longer \(adapt_steps\)"):
        aug.generate(5)


class _FirstSampleJudge:
    """Stand-in encoder: every class gets probability 1 when the first sample exceeds a cut."""

    def __init__(self, cut):
        self.cut = cut

    def predict_proba(self, X):
        ok = (X[:, 0, 0] > self.cut).astype(float)
        return np.repeat(ok[:, None], 3, axis=1)


def test_confidence_filter_tops_up_with_passing_windows_only(fitted):
    aug = pickle.loads(pickle.dumps(fitted)).set_params(confidence_threshold=0.5, max_rounds=6)
    cut = float(aug.generator_.window_scaler_.mean_[0])  # about half of the generated windows pass
    aug.encoder_ = _FirstSampleJudge(cut)
    X_syn, y_syn = aug.generate(6)
    assert len(y_syn) == 18  # topped up to the requested count
    assert np.all(X_syn[:, 0, 0] > cut)
    rates = np.array(list(aug.last_acceptance_.values()))
    assert ((rates >= 0) & (rates <= 1)).all() and 0 < rates.mean() < 1  # some windows were refused
    assert len(aug.last_conditions_) == 18


# -- persistence ---------------------------------------------------------------------------------
def test_pickle_and_joblib_round_trip(fitted):
    state = pickle.dumps(fitted)
    a, b = pickle.loads(state), pickle.loads(state)
    buf = io.BytesIO()
    joblib.dump(pickle.loads(state), buf)
    buf.seek(0)
    c = joblib.load(buf)
    Xa, ya = a.generate(3)
    Xb, yb = b.generate(3)
    Xc, _ = c.generate(3)
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(Xa, Xc)
    np.testing.assert_array_equal(ya, yb)


@pytest.mark.filterwarnings("ignore::skorch.exceptions.DeviceWarning")
def test_cuda_model_reloads_on_cpu_only_machine(fitted, monkeypatch):
    """A model saved with device='cuda' maps to the CPU where CUDA is absent.

    Simulated on CPU: the nets and the sampler are marked as CUDA models before
    pickling, and CUDA is reported absent while loading, so skorch's map_location
    path and the sampler's device reset both run.
    """
    reference = pickle.loads(pickle.dumps(fitted))
    expected, _ = reference.generate(3)
    marked = pickle.loads(pickle.dumps(fitted))
    marked.device = "cuda"
    marked.diffusion_.device = "cuda"
    marked.encoder_.net_.device = "cuda"
    state = pickle.dumps(marked)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="CUDA is not available"):
        loaded = pickle.loads(state)
    assert loaded.device == "cpu" and str(loaded.diffusion_.device) == "cpu"
    got, _ = loaded.generate(3)
    np.testing.assert_array_equal(got, expected)


def test_clone_keeps_params():
    aug = tiny(sampling="gmss", guidance_scale=1.5)
    params = clone(aug).get_params(deep=False)
    assert params["sampling"] == "gmss" and params["guidance_scale"] == 1.5
    assert params["encoder"] is not ENCODER  # cloned estimator parameter


# -- composition ---------------------------------------------------------------------------------
def test_pipeline_grid_search(data):
    X, y = data
    pipe = Pipeline(
        [
            ("aug", tiny()),
            ("feat", EMGFeatures("hudgins")),
            ("clf", LinearDiscriminantAnalysis()),
        ]
    )
    search = GridSearchCV(pipe, {"aug__sampling": ["gmss", "sass"]}, cv=2, error_score="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # possible SASS shortfall with tiny models
        search.fit(X, y)
    assert search.best_params_["aug__sampling"] in {"gmss", "sass"}
    assert search.score(X, y) > 0.5


# -- edge cases and bad input --------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda X, y: (X[:, 0, :], y), "3-D"),
        (
            lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), y),
            "infinite",
        ),
        (lambda X, y: (X, y[:-2]), "mismatched lengths"),
    ],
    ids=["2d", "inf", "lengths"],
)
def test_bad_input(data, bad, match):
    X, y = bad(*data)
    with pytest.raises(ValueError, match=match):
        tiny().fit_resample(X, y)


def test_one_class_semantic_raises(data):
    X, y = data
    one = y == "open"
    with pytest.raises(ValueError, match="condition='label'"):
        tiny().fit(X[one], y[one])


def test_small_classes_fall_back_with_warnings(data):
    X, y = data
    keep = np.concatenate(
        [
            np.flatnonzero(y == "fist"),
            np.flatnonzero(y == "open")[:3],  # fewer than sass_k + 1 (and than embedding_dim)
            np.flatnonzero(y == "pinch")[:1],  # a single window
        ]
    )
    enc = clone(ENCODER).set_params(validation_fraction=0)
    with pytest.warns(UserWarning, match="single window"):
        aug = tiny(encoder=enc, confidence_threshold=0.0).fit(X[keep], y[keep])
    assert np.all(np.linalg.eigvalsh(aug.sampler_.covariances_[1]) > 0)
    with pytest.warns(UserWarning) as record:
        X_syn, y_syn = aug.generate(2)
    messages = " ".join(str(w.message) for w in record)
    assert "SASS uses a smaller k" in messages and "3 windows, k=2" in messages
    assert "drawn with GMSS" in messages
    assert len(y_syn) == 6


def test_prefitted_encoder(data):
    X, y = data
    with pytest.raises(NotFittedError, match="is not fitted.*FrozenEstimator"):
        tiny(encoder=clone(ENCODER), refit_encoder=False).fit(X, y)
    with pytest.raises(ValueError, match="needs a fitted encoder"):
        tiny(encoder=None, refit_encoder=False).fit(X, y)
    enc = clone(ENCODER).set_params(random_state=0).fit(X, y)
    aug = tiny(encoder=enc, refit_encoder=False, sampling="gmss").fit(X, y)
    assert aug.encoder_ is enc
    one = y == "open"  # one class is fine with a pre-fitted encoder
    X_res, y_res = tiny(encoder=enc, refit_encoder=False, sampling="gmss").fit_resample(
        X[one], y[one]
    )
    assert set(y_res) == {"open"}
    partial = clone(ENCODER).fit(X[y != "pinch"], y[y != "pinch"])
    with pytest.raises(ValueError, match="does not know the classes"):
        tiny(encoder=partial, refit_encoder=False).fit(X, y)
    # clone (GridSearchCV, cross_validate) keeps a frozen encoder fitted, as the message says
    from sklearn.frozen import FrozenEstimator

    frozen = clone(tiny(encoder=FrozenEstimator(enc), refit_encoder=False, sampling="gmss"))
    assert frozen.fit(X, y).generate(2)[0].shape == (2 * len(np.unique(y)), *X.shape[1:])


def test_nonnegative_envelope(data):
    X, y = data
    env = np.abs(X)
    aug = tiny(sampling="gmss").fit(env, y)
    assert aug.generator_.nonnegative_ == "clip"
    X_syn, _ = aug.generate(5)
    assert X_syn.min() >= 0
    log = tiny(sampling="gmss", nonnegative="log").fit(env, y)
    assert log.generator_.nonnegative_ == "log" and log.generate(5)[0].min() >= 0
    assert (
        tiny(sampling="gmss", nonnegative="auto", n_steps=1).fit(X, y).generator_.nonnegative_
        == "none"
    )
    with pytest.raises(ValueError, match="non-negative windows"):
        tiny(nonnegative="log").fit(X, y)


def test_bad_params(data):
    X, y = data
    with pytest.raises(InvalidParameterError, match="condition"):
        tiny(condition="class").fit(X, y)
    with pytest.raises(InvalidParameterError, match="sampling"):
        tiny(sampling="random").fit(X, y)
    with pytest.raises(ValueError, match="channel_mults"):
        tiny(channel_mults=(1, 0)).fit(X, y)
    with pytest.raises(InvalidParameterError, match="confidence_threshold"):
        tiny(confidence_threshold=1.5).fit(X, y)


# -- condition samplers as parameters ------------------------------------------------------------
def test_sampling_accepts_a_sampler_and_grid_search_reaches_its_parameters(data):
    X, y = data
    aug = tiny(sampling=SASS(n_steps=2, epsilon=0.3), n_steps=4, confidence_threshold=0.0)
    assert aug.get_params()["sampling__epsilon"] == 0.3
    aug.fit(X, y)
    assert isinstance(aug.sampler_, SASS) and aug.sampler_.epsilon == 0.3
    assert aug.sampler_ is not aug.sampling  # cloned, not mutated
    aug.set_params(sampling=GMSS(covariance="ledoit_wolf"))  # no refit of the generator
    X_syn, _ = aug.generate(2)
    assert isinstance(aug.sampler_, GMSS) and aug.sampler_.covariance == "ledoit_wolf"
    assert len(X_syn) == 6 and aug.last_shortfall_ == {}
    pipe = Pipeline(
        [
            ("aug", tiny(sampling=SASS(n_steps=1), n_steps=2, confidence_threshold=0.0)),
            ("feat", EMGFeatures("hudgins")),
            ("clf", LinearDiscriminantAnalysis()),
        ]
    )
    search = GridSearchCV(pipe, {"aug__sampling__epsilon": [0.1, 0.5]}, cv=2, error_score="raise")
    search.fit(X, y)
    assert search.best_params_["aug__sampling__epsilon"] in {0.1, 0.5}
    assert search.best_estimator_.named_steps["aug"].sampler_.epsilon in {0.1, 0.5}


def test_a_short_filtered_result_does_not_keep_the_whole_buffer_alive():
    from semgaug_sk.augmentation.filtering import filter_by_confidence

    def draw(request, round_):
        return np.repeat(list(request), list(request.values()))[:, None].astype(float)

    def generate(cond, round_):
        yield 0, len(cond), np.where(cond[:, :, None] > 0, -1.0, 1.0) * np.ones((1, 1, 4))

    def judge(windows, codes):
        return (windows[:, 0, 0] > 0).astype(float)  # class 1 never passes

    out = np.empty((10, 1, 4))
    res = filter_by_confidence({0: 5, 1: 5}, draw, generate, judge, out, max_rounds=2)
    assert len(res.X) == 5 and res.shortfall == {0: 0, 1: 5}
    assert not np.shares_memory(res.X, out) and not np.shares_memory(res.conditions, out)


def test_the_filter_streams_conditions_and_keeps_its_result():
    # draw may yield blocks; with batch_size the filter holds one block and one batch of
    # conditions at a time, and keeps what the all-at-once path keeps
    from semgaug_sk.augmentation.filtering import filter_by_confidence

    def conditions(request, round_):
        codes = np.repeat(list(request), list(request.values()))
        return (codes + 0.137 * np.arange(len(codes)) + 0.29 * round_)[:, None]

    def draw_array(request, round_):
        return conditions(request, round_)

    drawn = []

    def draw_blocks(request, round_):
        z = conditions(request, round_)
        for start in range(0, len(z), 3):
            drawn.append(round_)
            yield z[start : start + 3]

    sizes = []

    def generate(cond, round_):
        sizes.append(len(cond))
        for start in range(0, len(cond), 4):  # a generator batching by 4
            stop = min(start + 4, len(cond))
            yield start, stop, np.sin(cond[start:stop, :, None] * np.arange(1, 5))

    def judge(windows, codes):
        return (windows[:, 0, 0] > 0).astype(float)  # about half pass, by condition

    n_per_code = {0: 7, 1: 5, 2: 9}
    kw = dict(threshold=0.5, max_rounds=4)
    ref = filter_by_confidence(n_per_code, draw_array, generate, judge, np.empty((21, 1, 4)), **kw)
    assert sizes[0] == 21  # one batch of the whole first round
    made_at_once = sum(sizes)
    sizes.clear()
    res = filter_by_confidence(
        n_per_code, draw_blocks, generate, judge, np.empty((21, 1, 4)), batch_size=4, **kw
    )
    assert max(sizes) <= 4 and len(drawn) > 1
    np.testing.assert_array_equal(res.X, ref.X)
    np.testing.assert_array_equal(res.conditions, ref.conditions)
    np.testing.assert_array_equal(res.codes, ref.codes)
    assert res.shortfall == ref.shortfall
    assert 0 < min(res.acceptance.values()) < 1  # top-up rounds ran
    # batches of classes a top-up already filled are not generated: less work, and the
    # acceptance of such a class counts the windows actually generated
    assert sum(sizes) < made_at_once
    assert set(res.acceptance) == set(ref.acceptance)


def test_top_ups_keep_a_fair_subset_and_skip_filled_classes():
    from semgaug_sk.augmentation.filtering import filter_by_confidence

    generated = []

    def draw(request, round_):
        codes = np.repeat(list(request), list(request.values()))
        return np.stack([codes, np.arange(len(codes)), np.full(len(codes), round_)], 1)[:, :, None]

    def generate(cond, round_):
        generated.append(cond[:, 0, 0].astype(int).tolist())
        yield 0, len(cond), cond.astype(float)

    def judge(windows, codes):  # round 0: every second window passes; top-ups: all pass
        return ((windows[:, 1, 0] % 2 == 0) | (windows[:, 2, 0] > 0)).astype(float)

    res = filter_by_confidence(
        {0: 8, 1: 2}, draw, generate, judge, np.empty((10, 3, 1)), batch_size=2, max_rounds=3
    )
    assert res.shortfall == {0: 0, 1: 0}
    # round 1 asks class 0 for 4 / 0.5 = 8 windows and class 1 for 1 / 0.5 = 2; the first
    # 2 batches fill class 0 (4 kept), its other 2 batches are never generated
    assert len(generated) == 5 + 3
    assert generated[5:] == [[0, 0], [0, 0], [1, 1]]
    kept_in_top_up = res.X[res.codes == 0][4:, 1, 0]
    assert kept_in_top_up.tolist() == [0, 1, 2, 3]  # the first passing rows, in draw order


def test_sass_returns_its_conditions_in_draw_order_not_rarest_first():
    from semgaug_sk.augmentation import conditions as conditions_module
    from semgaug_sk.metrics import rarity_score

    rng = np.random.default_rng(0)
    real = rng.normal(size=(60, 2))
    _, starts = conditions_module.sass_sample(
        real, real.mean(0), np.eye(2), 40, np.random.default_rng(1), k=3, n_steps=0
    )
    scores = rarity_score(real, starts, k=3)
    # a prefix of the result is not biased towards the rarest: the rarity ranks are
    # not sorted (rarest-first ordering would make them decreasing)
    assert not np.all(np.diff(scores) <= 0)
    assert abs(np.corrcoef(np.arange(40), scores)[0, 1]) < 0.5


def test_sass_blocks_are_its_sample_drawn_lazily():
    from semgaug_sk.augmentation import SASS

    rng = np.random.default_rng(0)
    emb, y = rng.normal(size=(45, 3)), np.repeat(["a", "b", "c"], 15)
    sass = SASS(k=3, n_steps=2).fit(emb, y)
    for block_size in (None, 4):
        z, labels = sass.sample({"a": 6, "c": 9}, 7, block_size=block_size)
        blocks = sass.sample_blocks({"a": 6, "c": 9}, 7, block_size=block_size)
        assert not isinstance(blocks, (list, tuple))  # a generator: nothing drawn yet
        blocks = list(blocks)
        assert all(len(b) <= (block_size or 9) for b, _ in blocks)
        np.testing.assert_array_equal(np.concatenate([b for b, _ in blocks]), z)
        np.testing.assert_array_equal(np.concatenate([lab for _, lab in blocks]), labels)
    with pytest.raises(ValueError, match="block_size must be None or an integer"):
        sass.sample_blocks(3, 0, block_size=0)  # checked when called, not when iterated


def test_sass_generation_reports_one_line_set_per_round_not_per_batch(fitted, capsys):
    import copy

    aug = copy.deepcopy(fitted).set_params(verbose=1, generate_batch_size=4)
    X_gen, _ = aug.generate(5)
    err = capsys.readouterr().err
    assert "SASS round 1: 0/15 windows" in err and "SASS round 1: 15/15 windows done" in err
    assert "SASG generate" not in err  # the generator's own per-call bar stays off
    assert aug.generator_.verbose == 1 and len(X_gen) == 15
    # the bar is a call option, so concurrent calls never see a generator muted by another
    gen = aug.generator_
    conds = aug._model_conditions(aug.last_conditions_[:3])
    list(gen.sample_batches(conds, random_state=0, show_progress=False))
    assert "SASG generate" not in capsys.readouterr().err
    gen.set_params(verbose=0)
    list(gen.sample_batches(conds, random_state=0, show_progress=True))
    assert "SASG generate" in capsys.readouterr().err


def test_generate_batch_size_is_part_of_the_seed_as_documented(fitted):
    import copy

    a = copy.deepcopy(fitted)
    b = copy.deepcopy(fitted)
    same = copy.deepcopy(fitted)
    X_a, _ = a.generate(6)
    X_same, _ = same.generate(6)
    X_b, _ = b.set_params(generate_batch_size=4).generate(6)
    np.testing.assert_array_equal(X_a, X_same)
    assert not np.array_equal(X_a, X_b)
    assert "same seed gives the same windows at the same" in " ".join(type(fitted).__doc__.split())


def test_condition_batches_cut_at_multiples_of_the_batch_and_keep_every_row():
    from semgaug_sk.augmentation.filtering import _condition_batches

    rng = np.random.default_rng(0)
    for _ in range(300):
        blocks = [rng.normal(size=(int(rng.integers(0, 12)), 2)) for _ in range(rng.integers(6))]
        batch_size = int(rng.integers(1, 8))
        full = np.concatenate(blocks) if blocks else np.empty((0, 2))
        out = list(_condition_batches(iter(blocks), batch_size))
        assert [first for first, _ in out] == list(range(0, len(full), batch_size))
        assert all(0 < len(b) <= batch_size for _, b in out)
        assert all(len(b) == batch_size for _, b in out[:-1])
        got = np.concatenate([b for _, b in out]) if out else np.empty((0, 2))
        np.testing.assert_array_equal(got, full)
    # one long block is cut into views, not copied again for every batch
    block = np.zeros((1000, 3))
    batches = list(_condition_batches(iter([block]), 64))
    assert len(batches) == 16 and all(np.shares_memory(b, block) for _, b in batches[:-1])


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True])
def test_the_filter_refuses_a_batch_size_that_would_never_end(batch_size):
    from semgaug_sk.augmentation.filtering import filter_by_confidence

    with pytest.raises(ValueError, match="batch_size must be None or an integer >= 1"):
        filter_by_confidence({0: 2}, None, None, None, np.empty((2, 1, 4)), batch_size=batch_size)


def test_a_tiny_training_set_is_named_when_the_budget_takes_many_full_pass_steps(monkeypatch):
    import semgaug_sk.augmentation.nets as nets

    monkeypatch.setattr(nets, "_LONG_FIT_STEPS", 50)  # the library's floor is 2,000 steps
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 2, 16)).astype(np.float32)
    generator = DiffusionGenerator(n_steps=2, base_channels=8, random_state=0)
    with pytest.warns(UserWarning, match=r"only 8 windows, .* takes 64 full-pass steps \(32x"):
        generator.fit(X, np.arange(8) % 2)
    assert generator.n_train_steps_ == 64


def test_sass_blocks_never_exceed_block_size_even_for_a_one_window_class():
    rng = np.random.default_rng(0)
    emb = np.concatenate([rng.normal(size=(20, 3)), rng.normal(size=(1, 3)) + 5])
    y = np.array([0] * 20 + [1])
    with pytest.warns(UserWarning, match="1 window"):
        sass = SASS(k=3, n_steps=2).fit(emb, y)
        z, labels = sass.sample({0: 5, 1: 10}, 7, block_size=4)
        blocks = list(sass.sample_blocks({0: 5, 1: 10}, 7, block_size=4))
    assert [len(b) for b, _ in blocks] == [4, 1, 4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b for b, _ in blocks]), z)
    np.testing.assert_array_equal(np.concatenate([lab for _, lab in blocks]), labels)


def test_library_frames_are_matched_by_folder_not_by_name_prefix():
    import os

    from semgaug_sk.utils import validation

    dirs = validation._library_dirs()
    assert all(d.endswith(os.sep) for d in dirs)
    sibling = dirs[0].rstrip(os.sep) + "_scripts" + os.sep + "run.py"  # semgaug_sk_scripts/
    assert not sibling.startswith(dirs)


def test_an_epoch_spreads_its_windows_evenly_over_its_batches():
    # 5 windows in batches of 4 used to step on 4, 1, 4, 1, ... windows at the same lr
    X = np.random.default_rng(0).normal(size=(5, 2, 16)).astype("float32")
    gen = DiffusionGenerator(
        n_steps=4, batch_size=4, base_channels=8, channel_mults=(1,), random_state=0
    ).fit(X, np.arange(5) % 2)
    sizes = [b["train_batch_size"] for epoch in gen.net_.history for b in epoch["batches"]]
    assert sorted(set(sizes)) == [2, 3] and len(sizes) == gen.n_train_steps_


# -- review 2026-12-05 -------------------------------------------------------------------------
def test_custom_condition_sampler_with_the_gmss_signature_works():
    from sklearn.base import BaseEstimator

    from semgaug_sk.augmentation import GMSS

    class MySampler(BaseEstimator):
        def fit(self, embeddings, y):
            self.gmss_ = GMSS().fit(embeddings, y)
            return self

        def sample(self, n_per_class, random_state=None):
            return self.gmss_.sample(n_per_class, random_state)

    X = np.random.default_rng(0).normal(size=(24, 2, 32)).astype(np.float32)
    y = np.repeat([0, 1], 12)
    aug = SASGAugmenter(
        **{**TINY, "sampling": MySampler()}, ratio=1.0, random_state=0, confidence_threshold=0.0
    )
    X_res, y_res = aug.fit_resample(X, y)
    assert X_res.shape == (48, 2, 32)


def test_custom_samplers_holding_arrays_or_callables_generate_twice():
    """The sampler is refitted when its parameters change. Arrays among them are compared
    by value (``==`` on a dict of arrays raises), and a callable (which cannot be hashed
    by pickling) as Python compares it, so a second generate reuses the fit."""
    from sklearn.base import BaseEstimator

    from semgaug_sk.augmentation import GMSS

    class ShiftedGMSS(BaseEstimator):
        def __init__(self, shift=None, transform=None):
            self.shift = shift
            self.transform = transform

        def fit(self, embeddings, y):
            z = embeddings + self.shift
            self.gmss_ = GMSS().fit(z if self.transform is None else self.transform(z), y)
            return self

        def sample(self, n_per_class, random_state=None):
            return self.gmss_.sample(n_per_class, random_state)

    X = np.random.default_rng(0).normal(size=(24, 2, 32)).astype(np.float32)
    y = np.repeat([0, 1], 12)
    aug = SASGAugmenter(**TINY, ratio=1.0, random_state=0, confidence_threshold=0.0).fit(X, y)
    for transform in (None, lambda z: 2 * z):
        aug.set_params(sampling=ShiftedGMSS(np.zeros(aug.embedding_dim_), transform))
        assert len(aug.generate(2)[0]) == 4
        fitted = aug.sampler_
        assert len(aug.generate(2)[0]) == 4
        assert aug.sampler_ is fitted  # the same parameters: not refitted
    aug.set_params(sampling=ShiftedGMSS(np.full(aug.embedding_dim_, 5.0)))
    aug.generate(2)
    assert aug.sampler_ is not fitted and aug.sampler_.shift[0] == 5.0


def test_unusable_custom_samplers_and_prior_encoders_are_refused_before_training():
    class NoClone:
        def fit(self, embeddings, y):
            return self

        def sample(self, n_per_class, random_state=None):
            raise AssertionError("never reached")

    class NoRandomState(NoClone):
        def get_params(self, deep=True):
            return {}

        def sample(self):
            raise AssertionError("never reached")

    X = np.random.default_rng(0).normal(size=(24, 2, 32)).astype(np.float32)
    y = np.repeat([0, 1], 12)
    with pytest.raises(TypeError, match="cannot be cloned"):
        SASGAugmenter(**{**TINY, "sampling": NoClone()}).fit(X, y)
    with pytest.raises(TypeError, match=r"must take \(n_per_class, random_state\)"):
        SASGAugmenter(**{**TINY, "sampling": NoRandomState()}).fit(X, y)


def test_a_prior_needs_a_semantic_encoder_to_adapt():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    X = np.random.default_rng(0).normal(size=(24, 2, 32)).astype(np.float32)
    y = np.repeat([0, 1], 12)
    aug = SASGAugmenter(prior="never-read.sgw", encoder=LinearDiscriminantAnalysis(), **TINY)
    with pytest.raises(TypeError, match="must be None or a SemanticEncoder"):
        aug.fit(X, y)


def test_generator_refuses_to_sample_after_its_trained_settings_changed(tmp_path):
    from semgaug_sk.augmentation import DiffusionGenerator
    from semgaug_sk.persistence import load_weights, save_weights

    X = np.random.default_rng(0).normal(size=(12, 2, 16)).astype(np.float32)
    gen = DiffusionGenerator(
        n_steps=2, base_channels=4, channel_mults=(1,), n_sampling_steps=2, random_state=0
    ).fit(X, np.zeros(12, int))
    reference = gen.sample(np.zeros(2, int), random_state=0)
    for change in ({"prediction": "eps"}, {"n_timesteps": 50}, {"cond_drop_prob": 0.0}):
        name = next(iter(change))
        before = gen.get_params()[name]
        gen.set_params(**change)
        with pytest.raises(ValueError, match=f"{name}=.*changed since fit"):
            gen.sample(np.zeros(2, int), random_state=0)
        gen.set_params(**{name: before})
    np.testing.assert_array_equal(gen.sample(np.zeros(2, int), random_state=0), reference)
    save_weights(gen, tmp_path / "gen.sgw")  # the record survives the weights file
    loaded = load_weights(tmp_path / "gen.sgw")
    assert loaded.trained_settings_ == gen.trained_settings_


def test_generator_sampling_settings_out_of_range_are_refused():
    from sklearn.utils._param_validation import InvalidParameterError

    from semgaug_sk.augmentation import DiffusionGenerator

    X = np.random.default_rng(0).normal(size=(12, 2, 16)).astype(np.float32)
    gen = DiffusionGenerator(
        n_steps=2,
        n_timesteps=20,
        base_channels=4,
        channel_mults=(1,),
        n_sampling_steps=2,
        sampler="ddim",
        random_state=0,
    ).fit(X, np.zeros(12, int))
    with pytest.raises(InvalidParameterError, match="eta"):
        gen.set_params(eta=1.5).sample(np.zeros(2, int))
    gen.set_params(eta=0.0, n_sampling_steps=20)
    at_most = gen.sample(np.zeros(2, int), random_state=0)
    gen.set_params(n_sampling_steps=21)
    with pytest.warns(UserWarning, match="exceeds the 20 timesteps") as record:
        np.testing.assert_array_equal(gen.sample(np.zeros(2, int), random_state=0), at_most)
    assert record[0].filename == __file__
    gen.set_params(n_sampling_steps=2)
    for seed in (-1, 2**64):
        with pytest.raises(ValueError, match=r"random_state must be in \[0, 2\*\*32 - 1\]"):
            gen.sample(np.zeros(2, int), random_state=seed)


def test_samplers_pickled_before_shrinkage_target_still_work():
    import pickle

    from semgaug_sk.augmentation import GMSS

    rng = np.random.default_rng(0)
    for sampler in (GMSS(), SASS(n_steps=2)):
        fitted = sampler.fit(rng.normal(size=(20, 3)), np.repeat([0, 1], 10))
        del fitted.__dict__["shrinkage_target"]  # the state an older version pickled
        old = pickle.loads(pickle.dumps(fitted))
        assert old.get_params()["shrinkage_target"] == "identity"
        clone(old)
        z, labels = old.sample(2, np.random.default_rng(0))
        assert z.shape == (4, 3)


def test_sass_finds_each_class_radius_once_not_once_per_block(monkeypatch):
    """The k-NN radius depends on the class's real embeddings and k only: a generation
    in many blocks computes it once per class, and the conditions do not change."""
    from semgaug_sk.augmentation import SASS
    from semgaug_sk.augmentation import conditions as conditions_module

    rng = np.random.default_rng(0)
    emb, y = rng.normal(size=(60, 4)), np.repeat([0, 1, 2], 20)

    def blocked_draw():  # one class, 7 conditions in blocks of 3, inside sass_sample
        return conditions_module.sass_sample(
            emb[y == 1],
            emb[y == 1].mean(0),
            np.eye(4),
            7,
            np.random.default_rng(5),
            k=5,
            block_size=3,
        )[0]

    reference = blocked_draw()
    sass = SASS().fit(emb, y)
    calls = []
    knn_radius = conditions_module.knn_radius

    def counting(real, k):
        calls.append(k)
        return knn_radius(real, k)

    monkeypatch.setattr(conditions_module, "knn_radius", counting)
    z, labels = sass.sample(40, random_state=1, block_size=8)
    assert len(calls) == 3 and len(z) == 120  # 5 blocks per class, one radius each
    again, _ = sass.sample(40, random_state=1, block_size=8)
    np.testing.assert_array_equal(again, z)
    assert len(calls) == 3  # kept until the next fit
    sass.set_params(k=3)
    sass.sample(2, random_state=1)
    assert calls[3:] == [3, 3, 3]  # another k, another radius
    sass.fit(emb, y).sample(2, random_state=1)
    assert len(calls) == 9  # a new fit forgets them
    # one call with blocks inside sass_sample also finds the radius once, same draws
    del calls[:]
    blocked = blocked_draw()
    assert len(calls) == 1
    np.testing.assert_array_equal(blocked, reference)


def test_changing_the_condition_after_fit_asks_for_a_fit(data, fitted):
    # it used to fail inside the generator ("conditions must be a real array of shape (n,
    # 4)") or inside SASS ("embeddings must be (n_windows, n_dims)")
    changed = pickle.loads(pickle.dumps(fitted)).set_params(condition="label")
    for call in (lambda: changed.generate(2), lambda: changed.sample_conditions(2)):
        with pytest.raises(ValueError, match="condition changed since fit.*fit again"):
            call()


def test_a_custom_sampling_estimator_is_validated_before_the_encoder_trains(data, monkeypatch):
    X, y = data
    trained = []
    monkeypatch.setattr(SemanticEncoder, "fit", lambda self, *a, **k: trained.append(1))
    for ratio in (0.5, 0):  # ratio=0 used to accept it silently
        with pytest.raises(InvalidParameterError, match="'k' parameter of SASS"):
            tiny(sampling=SASS(k=0), ratio=ratio).fit_resample(X, y)
    assert trained == []


def test_sass_finds_each_class_rarity_balls_once_and_ranks_as_rarity_score(monkeypatch):
    """The real k-NN balls of the rarity ranking cost a neighbour search quadratic in
    the class's real windows: computed once per class, not once per block."""
    from semgaug_sk.augmentation import condition_sampling
    from semgaug_sk.metrics import _rarity_in_balls, _real_balls, rarity_score

    rng = np.random.default_rng(0)
    emb, y = rng.normal(size=(60, 4)) + 50.0, np.repeat([0, 1, 2], 20)  # off the origin
    candidates = rng.normal(size=(30, 4)) + 50.0
    balls = _real_balls(emb[y == 0], 3)
    expected = rarity_score(emb[y == 0], candidates, k=3, return_outside=True)
    for got, want in zip(_rarity_in_balls(balls, candidates), expected, strict=True):
        np.testing.assert_array_equal(got, want)  # the same arithmetic, to the bit
    reference, _ = SASS().fit(emb, y).sample(40, random_state=1, block_size=8)
    calls = []

    def counting(real, k):
        calls.append(k)
        return _real_balls(real, k)

    monkeypatch.setattr(condition_sampling, "_real_balls", counting)
    sass = SASS().fit(emb, y)
    z, _ = sass.sample(40, random_state=1, block_size=8)
    assert len(calls) == 3  # 5 blocks per class, one neighbour search each
    np.testing.assert_array_equal(z, reference)
    sass.sample(40, random_state=2, block_size=8)
    assert len(calls) == 3  # and kept for the next call


def test_sample_conditions_ignores_a_changed_quantize_it_does_not_use(fitted):
    changed = pickle.loads(pickle.dumps(fitted))
    changed.set_params(quantize=None if fitted.quantize is not None else "auto")
    z, labels = changed.sample_conditions(2)
    assert len(z) == len(labels) == 2 * len(fitted.classes_)


def test_sass_measures_a_large_class_against_max_reference_of_its_windows(monkeypatch):
    """Drawing costs n_drawn x reference per class: a class larger than max_reference is
    represented by that many of its windows, spread over its order; smaller classes, and
    max_reference=None, draw exactly as before."""
    from semgaug_sk.augmentation import SASS
    from semgaug_sk.augmentation import conditions as conditions_module

    rng = np.random.default_rng(0)
    emb, y = rng.normal(size=(90, 3)), np.repeat([0, 1], [70, 20])
    seen = []
    sass_sample = conditions_module.sass_sample

    def recording(real, *args, **kwargs):
        seen.append(np.array(real))
        return sass_sample(real, *args, **kwargs)

    monkeypatch.setattr(conditions_module, "sass_sample", recording)
    capped = SASS(max_reference=30).fit(emb, y)
    z_capped, _ = capped.sample(6, random_state=1)
    assert [len(r) for r in seen] == [30, 20]  # class 0 capped, class 1 whole
    np.testing.assert_array_equal(seen[0][[0, -1]], emb[[0, 69]])  # first to last window
    assert len(np.unique(seen[0], axis=0)) == 30
    # a cap above every class, and no cap, draw the same conditions
    same = [SASS(max_reference=m).fit(emb, y).sample(6, random_state=1)[0] for m in (70, None)]
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(z_capped, same[0])
    # set_params after fit takes effect (the cached neighbourhoods depend on it)
    capped.set_params(max_reference=None)
    np.testing.assert_array_equal(capped.sample(6, random_state=1)[0], same[0])
    # pickled before max_reference existed: measured against every window, as then
    state = capped.__getstate__()
    del state["max_reference"]
    old = SASS.__new__(SASS)
    old.__setstate__(state)
    assert old.max_reference is None
    for bad in (1, 0, 2.5):
        with pytest.raises(InvalidParameterError, match="max_reference"):
            SASS(max_reference=bad).fit(emb, y)
    # a reference below k + 1 lowers k for the capped classes, and says so
    with pytest.warns(UserWarning, match=r"max_reference=3 is below k \+ 1 = 6, so SASS uses k=2"):
        SASS(max_reference=3).fit(emb, y).sample(2, random_state=0)


def test_a_spike_in_the_training_windows_is_named_before_the_generator_learns_its_scale():
    # one sample at 1e4 x the signal made the synthetic windows of that channel about
    # 400 x too loud, silently
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3, 16)).astype(np.float32)
    y = np.arange(40) % 2
    spiked = X.copy()
    spiked[10, 1, 5] = 1e4
    gen = dict(n_steps=1, base_channels=8, channel_mults=(1,), n_sampling_steps=2)
    with pytest.warns(UserWarning, match=r"on channel\(s\) \[1\], one of the 40 training windows"):
        DiffusionGenerator(**gen).fit(spiked, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DiffusionGenerator(**gen).fit(X, y)
