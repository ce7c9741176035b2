"""Generation samplers: DDIM and DPM-Solver++(2M) against the exact ODE of Gaussian data."""

import pickle

import numpy as np
import pytest
import torch

from semgaug_sk.augmentation import DiffusionGenerator, SASGAugmenter
from semgaug_sk.augmentation.diffusion import (
    cosine_alpha_bar,
    ddim_sample,
    ddim_timesteps,
    dpmpp_2m_sample,
    sampling_timesteps,
)
from semgaug_sk.encoders import SemanticEncoder
from semgaug_sk.persistence import _LEGACY_PARAMS, load_weights, save_weights

ALPHA_BAR = cosine_alpha_bar(1000).double()


def _gaussian_denoiser(scale):
    """The exact x0 predictor E[x0 | x_t] of data drawn from N(0, scale^2)."""

    def x0_fn(x_t, t):
        ab = ALPHA_BAR[t].view(-1, 1)
        return ab.sqrt() * scale**2 / (ab * scale**2 + 1 - ab) * x_t

    return x0_fn


def _error(sampler, scale, n_steps):
    """Largest distance to the ODE's end point, which maps the noise z to ``scale * z``."""
    noise = torch.randn((2000, 1), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = sampler(
        _gaussian_denoiser(scale),
        (2000, 1),
        ALPHA_BAR,
        n_steps=n_steps,
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    return float((out - scale * noise).abs().max())


@pytest.mark.parametrize("scale", [0.3, 3.0])
def test_dpmpp_2m_converges_with_the_square_of_the_step_and_ddim_linearly(scale):
    ddim = [_error(ddim_sample, scale, n) for n in (100, 200)]
    dpmpp = [_error(dpmpp_2m_sample, scale, n) for n in (100, 200)]
    assert 0.4 < ddim[1] / ddim[0] < 0.6  # first order: half the error at twice the steps
    assert dpmpp[1] / dpmpp[0] < 0.35  # second order: a quarter
    assert dpmpp[1] < ddim[1]


@pytest.mark.parametrize(
    ("scale", "n_steps", "dpmpp_std", "ddim_std"),
    [
        (1.0, 10, 1.10, 0.87),
        (0.3, 10, 1.30, 0.78),
        (0.1, 10, 0.96, 0.53),
        (1.0, 25, 1.01, 0.95),
        (0.3, 25, 1.11, 0.91),
        (0.1, 25, 1.16, 0.78),
    ],
)
def test_few_step_spreads_quoted_in_the_dpmpp_docstring(scale, n_steps, dpmpp_std, ddim_std):
    # the generator's schedule (500 timesteps): the last, long log-SNR step of the second-
    # order solver overshoots at few steps, while DDIM shrinks the spread. With Gaussian
    # data every sampler is linear in the noise, so out / noise is the exact std ratio.
    ab = cosine_alpha_bar(DiffusionGenerator().n_timesteps).double()

    def x0_fn(x_t, t):
        a = ab[t].view(-1, 1)
        return a.sqrt() * scale**2 / (a * scale**2 + 1 - a) * x_t

    noise = torch.randn((4, 1), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for sampler, quoted in ((dpmpp_2m_sample, dpmpp_std), (ddim_sample, ddim_std)):
        out = sampler(
            x0_fn,
            (4, 1),
            ab,
            n_steps=n_steps,
            generator=torch.Generator().manual_seed(0),
            dtype=torch.float64,
        )
        ratio = (out / noise / scale).numpy()
        np.testing.assert_allclose(ratio, quoted, atol=0.006, err_msg=sampler.__name__)


def test_dpmpp_2m_first_step_is_ddim_and_one_network_pass_per_step():
    calls = []

    def x0_fn(x_t, t):
        calls.append(int(t[0]))
        return 0.5 * x_t

    shape, ab = (4, 2, 8), cosine_alpha_bar(50)
    ddim = ddim_sample(x0_fn, shape, ab, n_steps=2, generator=torch.Generator().manual_seed(1))
    dpmpp = dpmpp_2m_sample(x0_fn, shape, ab, n_steps=2, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(dpmpp, ddim)
    calls.clear()
    dpmpp_2m_sample(x0_fn, shape, ab, n_steps=7)
    assert len(calls) == 7 and calls == sorted(calls, reverse=True) and calls[-1] == 0


def _fitted_generator(**params):
    X = np.random.default_rng(0).normal(size=(24, 2, 16)).astype("float32")
    gen = DiffusionGenerator(
        n_steps=5, base_channels=4, channel_mults=(1,), n_sampling_steps=4, random_state=0
    )
    return gen.set_params(**params).fit(X, np.arange(24) % 2)


def test_generator_sampler_is_a_generation_parameter():
    gen = _fitted_generator(sampler="ddim")
    ddim = gen.sample(np.array([0, 1, 1]), random_state=0)
    dpmpp = gen.set_params(sampler="dpmpp_2m").sample(np.array([0, 1, 1]), random_state=0)
    assert dpmpp.shape == ddim.shape and np.isfinite(dpmpp).all()
    assert not np.allclose(dpmpp, ddim)  # 4 steps: the second-order correction shows
    again = gen.sample(np.array([0, 1, 1]), random_state=0)
    np.testing.assert_array_equal(dpmpp, again)


def test_sampler_is_validated_and_eta_needs_ddim():
    gen = _fitted_generator()
    with pytest.raises(ValueError, match="sampler"):
        gen.set_params(sampler="euler").sample(np.zeros(2, int))
    with pytest.raises(ValueError, match="use sampler='ddim' for eta > 0"):
        gen.set_params(sampler="dpmpp_2m", eta=0.5).sample(np.zeros(2, int))
    X = np.random.default_rng(0).normal(size=(24, 2, 16)).astype("float32")
    with pytest.raises(ValueError, match="use sampler='ddim' for eta > 0"):
        SASGAugmenter(sampler="dpmpp_2m", eta=1.0, n_steps=1).fit_resample(X, np.arange(24) % 2)


def test_objects_pickled_before_the_sampler_existed_load_as_ddim():
    # the default moved to dpmpp_2m after pickles without the parameter were written
    gen = _fitted_generator(sampler="ddim")
    state = dict(gen.__getstate__())
    del state["sampler"]
    old = DiffusionGenerator.__new__(DiffusionGenerator)
    old.__setstate__(state)
    assert old.sampler == "ddim"
    np.testing.assert_array_equal(
        old.sample(np.zeros(2, int), random_state=0), gen.sample(np.zeros(2, int), random_state=0)
    )
    aug = SASGAugmenter()
    state = dict(aug.__getstate__())
    del state["sampler"]
    restored = pickle.loads(pickle.dumps(aug))
    restored.__setstate__(state)
    assert restored.sampler == "ddim"


def test_weights_files_written_before_the_sampler_existed_load_as_ddim(tmp_path):
    # save_weights stores the parameters; a file without ``sampler`` predates dpmpp_2m
    gen = _fitted_generator(sampler="ddim")
    path = tmp_path / "old.sgw"
    save_weights(gen, path)
    payload = torch.load(path, weights_only=True)
    del payload["params"]["sampler"]  # as an older version wrote it
    torch.save(payload, path)
    loaded = load_weights(path, estimator_type=DiffusionGenerator)
    assert loaded.sampler == "ddim"
    np.testing.assert_array_equal(
        loaded.sample(np.zeros(2, int), random_state=0),
        gen.sample(np.zeros(2, int), random_state=0),
    )
    # the augmenter's files fall back in the same way
    assert _LEGACY_PARAMS["SASGAugmenter"]["sampler"] == "ddim"


@pytest.mark.parametrize("method", ["fit", "fit_resample"])
def test_samplers_refuse_fit_parameters_they_would_ignore(method):
    from semgaug_sk.augmentation import ClassicAugmenter

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 2, 16)), np.arange(20) % 2
    aug = ClassicAugmenter(random_state=0)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['sample_weight'\]"):
        getattr(aug, method)(X, y, sample_weight=np.ones(20))
    assert aug.fit(X, y).n_features_in_ == 2 * 16


@pytest.mark.parametrize("n_steps", [0, -1, 2.5, True])
def test_the_solvers_refuse_a_step_count_that_is_not_a_positive_integer(n_steps):
    ab = cosine_alpha_bar(50)
    for sampler in (ddim_sample, dpmpp_2m_sample):
        with pytest.raises(ValueError, match="n_steps must be an integer >= 1"):
            sampler(lambda x, t: x, (2, 1, 4), ab, n_steps=n_steps)


def test_cosine_alpha_bar_returns_a_copy_of_its_cache():
    first = cosine_alpha_bar(50)
    first[0] = 0.5
    assert float(cosine_alpha_bar(50)[0]) > 0.99


def test_ema_decay_of_one_and_guidance_without_a_null_condition_are_refused():
    from sklearn.utils._param_validation import InvalidParameterError

    X = np.random.default_rng(0).normal(size=(8, 1, 8)).astype(np.float32)
    y = np.zeros(8, int)
    small = dict(n_steps=1, base_channels=4, channel_mults=(1,), n_sampling_steps=1)
    with pytest.raises(ValueError, match="ema_decay=1 never updates the average"):
        DiffusionGenerator(ema_decay=1.0, **small).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'ema_decay' parameter"):
        DiffusionGenerator(ema_decay=1.5, **small).fit(X, y)
    with pytest.raises(ValueError, match=r"guidance_scale=2\.0 mixes in the unconditional"):
        DiffusionGenerator(cond_drop_prob=0.0, guidance_scale=2.0, **small).fit(X, y)
    gen = DiffusionGenerator(cond_drop_prob=0.0, random_state=0, **small).fit(X, y)
    assert gen.sample(np.zeros(2, int)).shape == (2, 1, 8)  # guidance 1 needs no null branch
    with pytest.raises(ValueError, match="or fit with cond_drop_prob > 0"):
        gen.set_params(guidance_scale=1.5).sample(np.zeros(2, int))


def test_settings_that_silently_break_the_generator_are_refused_or_warned():
    import warnings

    from semgaug_sk.nn.unet import LabelConditioner, SemanticConditioner

    X = np.random.default_rng(0).normal(size=(8, 1, 8)).astype(np.float32)
    y = np.repeat([0, 1], 4)
    small = dict(n_steps=1, base_channels=4, channel_mults=(1,), n_sampling_steps=1)
    # a 1-wide token is layer-normalised to a constant: both classes generated alike
    with pytest.raises(ValueError, match="cond_token_dim must be at least 3"):
        DiffusionGenerator(cond_token_dim=1, **small).fit(X, y)
    for conditioner in (lambda: SemanticConditioner(4, 2, 2), lambda: LabelConditioner(2, 2, 2)):
        with pytest.raises(ValueError, match="token_dim must be at least 3"):
            conditioner()
    # the timestep embedding is base_channels wide: below 4, blind to the noise level
    with pytest.raises(ValueError, match="base_channels must be at least 4"):
        DiffusionGenerator(**{**small, "base_channels": 2}).fit(X, y)
    # an explicit decay that the steps cannot wash out: the average stays near the start
    with pytest.warns(UserWarning, match=r"ema_decay=0.999 over 32 optimizer steps keeps 97% of"):
        DiffusionGenerator(ema_decay=0.999, **small).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default, and a decay the steps wash out
        for decay in (None, 0.5):
            DiffusionGenerator(ema_decay=decay, **small).fit(X, y)


def test_a_first_order_last_step_removes_the_overshoot():
    ab = cosine_alpha_bar(DiffusionGenerator().n_timesteps).double()
    scale = 0.3

    def x0_fn(x_t, t):
        a = ab[t].view(-1, 1)
        return a.sqrt() * scale**2 / (a * scale**2 + 1 - a) * x_t

    noise = torch.randn((4, 1), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ratios = {}
    for lof in (False, True):
        out = dpmpp_2m_sample(
            x0_fn,
            (4, 1),
            ab,
            n_steps=10,
            generator=torch.Generator().manual_seed(0),
            dtype=torch.float64,
            lower_order_final=lof,
        )
        ratios[lof] = float((out / noise / scale).mean())
    assert ratios[False] == pytest.approx(1.30, abs=0.01)
    assert ratios[True] == pytest.approx(0.85, abs=0.01)  # from 30% too wide to 15% too narrow


# -- starting from noised windows (SDEdit) ---------------------------------------------------


def test_strength_sets_the_first_timestep_and_is_validated():
    from semgaug_sk.augmentation.diffusion import ddim_timesteps

    assert ddim_timesteps(500, 10, strength=1.0).tolist() == ddim_timesteps(500, 10).tolist()
    half = ddim_timesteps(500, 10, strength=0.5).tolist()
    assert half[0] == 250 and half[-1] == 0 and len(half) == 10  # the passes stay n_steps
    # every strength keeps its own start, whatever the number of steps
    firsts = {ddim_timesteps(500, n, strength=s)[0].item() for n in (1, 2, 10) for s in [0.35]}
    assert firsts == {175}
    assert ddim_timesteps(500, 10, strength=0.45)[0] != ddim_timesteps(500, 10, strength=0.35)[0]
    assert ddim_timesteps(500, 10, strength=0.001).tolist() == [0]  # at most t0 + 1 steps
    assert ddim_timesteps(20, 10, strength=0.2).tolist() == [4, 3, 2, 1, 0]
    for bad in (0, -0.1, 1.5, True, "half"):
        with pytest.raises(ValueError, match=r"strength must be a number in \(0, 1\]"):
            ddim_timesteps(500, 10, strength=bad)


@pytest.mark.parametrize("sampler", [ddim_sample, dpmpp_2m_sample])
def test_a_partial_trajectory_starts_from_the_noised_init_at_its_first_timestep(sampler):
    seen = []

    def x0_fn(x_t, t):
        seen.append((int(t[0]), x_t.clone()))
        return 0.5 * x_t

    shape, ab = (4, 2, 8), cosine_alpha_bar(50)
    init = torch.randn(shape, generator=torch.Generator().manual_seed(3))
    sampler(
        x0_fn,
        shape,
        ab,
        n_steps=6,
        generator=torch.Generator().manual_seed(1),
        init=init,
        strength=0.5,
    )
    from semgaug_sk.augmentation.diffusion import ddim_timesteps

    kept = ddim_timesteps(50, 6, strength=0.5).tolist()
    assert [t for t, _ in seen] == kept  # one network pass per kept step, nothing before
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    t0 = kept[0]
    expected = ab[t0].sqrt() * init + (1 - ab[t0]).sqrt() * noise
    torch.testing.assert_close(seen[0][1], expected)


@pytest.mark.parametrize("sampler", [ddim_sample, dpmpp_2m_sample])
def test_lower_strength_keeps_the_output_nearer_its_start_window(sampler):
    # exact denoiser of N(0, 1) data; the start windows are draws of the same data
    init = torch.randn((2000, 1), generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    distances = []
    for strength in (0.1, 0.3, 0.6, 1.0):
        out = sampler(
            _gaussian_denoiser(1.0),
            (2000, 1),
            ALPHA_BAR,
            n_steps=20,
            generator=torch.Generator().manual_seed(0),
            dtype=torch.float64,
            init=init,
            strength=strength,
        )
        assert abs(float(out.std()) - 1.0) < 0.1  # still the data's distribution
        distances.append(float((out - init).pow(2).mean()))
    assert distances == sorted(distances) and distances[0] < 0.1 * distances[-1]


def test_a_partial_trajectory_needs_init_of_the_batch_shape():
    ab = cosine_alpha_bar(50)
    with pytest.raises(ValueError, match="pass init="):
        ddim_sample(lambda x, t: x, (2, 1, 4), ab, n_steps=4, strength=0.5)
    with pytest.raises(ValueError, match=r"strength must be a number in \(0, 1\]"):
        ddim_sample(lambda x, t: x, (2, 1, 4), ab, n_steps=4, strength=1.5)
    with pytest.raises(ValueError, match=r"init must have the batch's shape \(2, 1, 4\)"):
        dpmpp_2m_sample(lambda x, t: x, (2, 1, 4), ab, n_steps=4, init=torch.zeros(3, 1, 4))


def test_generator_starts_from_init_windows_in_the_data_scale():
    gen = _fitted_generator()
    X = np.random.default_rng(1).normal(size=(5, 2, 16)).astype("float32")
    conds = np.array([0, 1, 1, 0, 1])

    def run(**kw):
        return np.concatenate(
            [w for _, _, w in gen.sample_batches(conds, random_state=0, show_progress=False, **kw)]
        )

    a = run(start_windows=X, strength=0.5)
    np.testing.assert_array_equal(a, run(start_windows=X, strength=0.5))  # seeded
    gen.set_params(generate_batch_size=2)
    # a callable gives the rows of each batch, so only one batch of starts need exist
    asked = []

    def starts(lo, hi):
        asked.append((lo, hi))
        return X[lo:hi]

    b = run(start_windows=starts, strength=0.5)
    assert asked == [(0, 2), (2, 4), (4, 5)] and b.shape == X.shape and np.isfinite(b).all()
    assert not np.allclose(run(start_windows=X, strength=0.5), run())  # the windows matter
    # one step at a low strength still starts from the windows (not from pure noise)
    gen.set_params(n_sampling_steps=1)
    low = run(start_windows=X, strength=0.05)
    assert not np.allclose(low, run(start_windows=X + 5, strength=0.05), atol=1e-2)


def test_generator_start_windows_are_validated():
    gen = _fitted_generator()
    conds = np.array([0, 1])
    good = np.zeros((2, 2, 16), "float32")
    cases = [
        ({"strength": 0.5}, "pass start_windows="),
        ({"start_windows": good}, "strength=1.0 starts from the last timestep"),
        (
            {"start_windows": good[:1], "strength": 0.5},
            r"one window per condition, of shape \(2, 2, 16\)",
        ),
        ({"start_windows": np.full_like(good, np.nan), "strength": 0.5}, "finite real windows"),
        ({"start_windows": good, "strength": 0.0}, r"strength must be a number in \(0, 1\]"),
        ({"start_windows": lambda a, b: good[:1], "strength": 0.5}, "one window per condition"),
    ]
    for kw, message in cases:
        with pytest.raises(ValueError, match=message):
            list(gen.sample_batches(conds, random_state=0, **kw))


@pytest.mark.parametrize("mode", ["none", "clip", "log"])
def test_normalise_inverts_denormalise(mode):
    from semgaug_sk.augmentation.normalisation import denormalise, fit_normalisation, normalise

    X = np.abs(np.random.default_rng(0).normal(size=(20, 3, 16))) + 0.01
    X[:, 2] = 0.5  # a flat channel stays at its constant
    Xn, state = fit_normalisation(X, mode)
    np.testing.assert_allclose(normalise(X, state), Xn, atol=1e-5)
    np.testing.assert_allclose(denormalise(normalise(X, state).astype(float), state), X, atol=1e-4)


@pytest.mark.parametrize("flag, mode", [(True, "clip"), (False, "none"), (np.bool_(True), "clip")])
def test_nonnegative_takes_a_bool_as_classic_augmenter_does(flag, mode):
    # True clips a signed signal's synthetic windows at 0; False leaves an envelope signed
    gen = _fitted_generator(nonnegative=flag)
    assert gen.nonnegative is flag and gen.nonnegative_ == mode
    drawn = gen.sample(np.array([0, 1] * 8), random_state=0)
    assert (drawn.min() >= 0) == (mode == "clip")
    X = np.abs(np.random.default_rng(1).normal(size=(12, 2, 16)))
    aug = SASGAugmenter(nonnegative=flag, n_steps=2, base_channels=4, channel_mults=(1,))
    aug.set_params(condition="label", n_sampling_steps=2, random_state=0)
    assert aug.fit(X, np.arange(12) % 2).generator_.nonnegative_ == mode


def test_nonnegative_true_and_clip_share_a_checkpoint_fingerprint():
    from semgaug_sk.augmentation.generator_settings import fingerprint_params

    params = DiffusionGenerator().get_params()
    for flag, mode in ((True, "clip"), (False, "none")):
        assert fingerprint_params({**params, "nonnegative": flag}) == fingerprint_params(
            {**params, "nonnegative": mode}
        )
    assert fingerprint_params({**params, "nonnegative": True}) != fingerprint_params(params)


def test_a_stored_net_of_other_depth_is_named_before_its_weights_are_read():
    # torch's missing/unexpected-keys error used to come first
    from semgaug_sk.augmentation.nets import diffusion_net_weights, load_diffusion_net

    X = np.random.default_rng(0).normal(size=(8, 1, 16)).astype(np.float32)
    gen = DiffusionGenerator(n_steps=1, base_channels=4, n_sampling_steps=1, random_state=0)
    gen.fit(X, np.zeros(8, int))
    weights = diffusion_net_weights(gen.net_)
    gen.n_unet_levels_ += 1
    with pytest.raises(RuntimeError, match="levels, the stored one"):
        load_diffusion_net(gen, weights, device="cpu")


# -- timestep spacing ------------------------------------------------------------------------
@pytest.mark.parametrize("spacing", ["uniform", "quadratic", "logsnr"])
@pytest.mark.parametrize("n_timesteps", [2, 4, 50, 500])
@pytest.mark.parametrize("strength", [1.0, 0.5, 0.01])
def test_every_spacing_visits_distinct_decreasing_timesteps_from_the_start_to_zero(
    spacing, n_timesteps, strength
):
    ab = cosine_alpha_bar(n_timesteps)
    first = int(ddim_timesteps(n_timesteps, 1, strength)[0])
    for n_steps in (1, 2, 3, 5, 10, 25, n_timesteps, n_timesteps + 7):
        steps = sampling_timesteps(ab, n_steps, strength, spacing)
        assert steps.dtype == torch.long
        assert len(steps) == min(n_steps, first + 1)
        assert steps[0] == first
        if len(steps) > 1:
            assert steps[-1] == 0 and bool((steps[:-1] > steps[1:]).all())


def test_uniform_spacing_is_ddim_timesteps_and_the_others_are_denser_near_the_data():
    ab = cosine_alpha_bar(500)
    for strength in (1.0, 0.4):
        assert torch.equal(sampling_timesteps(ab, 10, strength), ddim_timesteps(500, 10, strength))
    uniform = sampling_timesteps(ab, 10)
    for spacing in ("quadratic", "logsnr"):
        other = sampling_timesteps(ab, 10, spacing=spacing)
        assert other[-2] < uniform[-2]  # a shorter last step
    # log-SNR spacing: evenly spaced in half log-SNR after the clipped end's first pass
    half_log_snr = 0.5 * (ab.double().log() - (1 - ab.double()).log())
    gaps = half_log_snr[sampling_timesteps(ab, 10, spacing="logsnr")].diff()[1:]
    assert float(gaps.max() - gaps.min()) < 0.1 * float(gaps.abs().mean())


def test_an_unknown_spacing_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"spacing must be one of \['uniform', 'quadratic'"):
        sampling_timesteps(cosine_alpha_bar(50), 5, spacing="karras")


@pytest.mark.parametrize("sampler", [ddim_sample, dpmpp_2m_sample])
@pytest.mark.parametrize("spacing", ["uniform", "quadratic", "logsnr"])
def test_the_solvers_pass_the_network_over_the_spacings_timesteps(sampler, spacing):
    calls = []

    def x0_fn(x_t, t):
        calls.append(int(t[0]))
        return 0.5 * x_t

    ab = cosine_alpha_bar(200)
    sampler(x0_fn, (3, 2, 8), ab, n_steps=8, spacing=spacing)
    assert calls == sampling_timesteps(ab, 8, spacing=spacing).tolist()


def _spread_ratio(sampler, scale, spacing, n_steps=10):
    """Exact std ratio of Gaussian data N(0, scale^2) generated with an exact denoiser
    (every sampler is then linear in the noise)."""
    ab = cosine_alpha_bar(DiffusionGenerator().n_timesteps).double()

    def x0_fn(x_t, t):
        a = ab[t].view(-1, 1)
        return a.sqrt() * scale**2 / (a * scale**2 + 1 - a) * x_t

    noise = torch.randn((4, 1), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = sampler(
        x0_fn,
        (4, 1),
        ab,
        n_steps=n_steps,
        spacing=spacing,
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    return float((out / noise / scale).mean())


def test_denser_spacing_near_the_data_keeps_the_spread_of_low_variance_data():
    # the reason for the option: with 10 evenly spaced steps the last, long log-SNR step
    # shrinks narrow components (DDIM) or overshoots then shrinks them (DPM-Solver++)
    scales = (1.0, 0.3, 0.1, 0.03)
    uniform = [_spread_ratio(dpmpp_2m_sample, s, "uniform") for s in scales]
    assert max(abs(r - 1) for r in uniform) > 0.3
    for spacing in ("quadratic", "logsnr"):
        ratios = [_spread_ratio(dpmpp_2m_sample, s, spacing) for s in scales]
        assert max(abs(r - 1) for r in ratios) < 0.12, (spacing, ratios)
    ddim_uniform = _spread_ratio(ddim_sample, 0.03, "uniform")
    ddim_quadratic = _spread_ratio(ddim_sample, 0.03, "quadratic")
    assert ddim_uniform < 0.5 < 0.7 < ddim_quadratic


def test_generator_timestep_spacing_is_a_validated_generation_parameter():
    gen = _fitted_generator(n_sampling_steps=6)
    uniform = gen.sample(np.array([0, 1, 1]), random_state=0)
    quadratic = gen.set_params(timestep_spacing="quadratic").sample(
        np.array([0, 1, 1]), random_state=0
    )
    assert np.isfinite(quadratic).all() and not np.allclose(quadratic, uniform)
    np.testing.assert_array_equal(quadratic, gen.sample(np.array([0, 1, 1]), random_state=0))
    with pytest.raises(ValueError, match="timestep_spacing"):
        gen.set_params(timestep_spacing="karras").sample(np.zeros(2, int))
    # SASGAugmenter hands it to its generator
    X = np.random.default_rng(0).normal(size=(24, 2, 16)).astype("float32")
    y = np.arange(24) % 2
    encoder = SemanticEncoder(embedding_dim=4, n_filters=4, n_blocks=1, max_epochs=1)
    aug = SASGAugmenter(
        encoder,
        n_steps=2,
        base_channels=4,
        channel_mults=(1,),
        n_sampling_steps=4,
        confidence_threshold=0.0,
        random_state=0,
    )
    Xa, _ = aug.set_params(timestep_spacing="logsnr").fit_resample(X, y)
    assert aug.generator_.timestep_spacing == "logsnr" and np.isfinite(Xa).all()


def test_objects_and_files_from_before_timestep_spacing_generate_as_before(tmp_path):
    gen = _fitted_generator()
    state = dict(gen.__getstate__())
    del state["timestep_spacing"]
    old = DiffusionGenerator.__new__(DiffusionGenerator)
    old.__setstate__(state)
    assert old.timestep_spacing == "uniform"
    aug = SASGAugmenter()
    state = dict(aug.__getstate__())
    del state["timestep_spacing"]
    restored = SASGAugmenter.__new__(SASGAugmenter)
    restored.__setstate__(state)
    assert restored.timestep_spacing == "uniform"
    path = tmp_path / "old.sgw"
    save_weights(gen, path)
    payload = torch.load(path, weights_only=True)
    del payload["params"]["timestep_spacing"]  # as an older version wrote it
    torch.save(payload, path)
    loaded = load_weights(path, estimator_type=DiffusionGenerator)
    assert loaded.timestep_spacing == "uniform"
    np.testing.assert_array_equal(
        loaded.sample(np.zeros(2, int), random_state=0),
        gen.sample(np.zeros(2, int), random_state=0),
    )
    assert _LEGACY_PARAMS["SASGAugmenter"]["timestep_spacing"] == "uniform"
