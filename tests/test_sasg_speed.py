"""The fast paths of the diffusion generator compute what the generic ones did."""

import numpy as np
import pytest
import torch

from semgaug_sk.augmentation import DiffusionGenerator, SASGAugmenter, diffusion
from semgaug_sk.augmentation.normalisation import denormalise
from semgaug_sk.nn import unet


@pytest.mark.parametrize("channels, context_dim", [(64, 64), (32, 64), (8, 4)])
def test_cross_attention_matches_multihead_attention(channels, context_dim):
    torch.manual_seed(0)
    block = unet._CrossAttention(channels, context_dim, n_heads=4)
    x, context = torch.randn(5, channels, 7), torch.randn(5, 3, context_dim)
    query = block.norm(x).transpose(1, 2)
    reference, _ = block.attn(query, context, context, need_weights=False)
    expected = x + reference.transpose(1, 2)
    torch.testing.assert_close(block(x, context), expected, rtol=1e-5, atol=1e-6)
    # gradients reach the same parameters
    block(x, context).sum().backward()
    assert all(p.grad is not None for p in block.parameters())


def test_prepared_context_gives_the_outputs_of_the_tokens():
    torch.manual_seed(0)
    net = unet.ConditionalUNet1d(in_channels=3, n_times=20, context_dim=16, base_channels=8)
    x, t, tokens = torch.randn(4, 3, 20), torch.tensor([0, 3, 50, 99]), torch.randn(4, 4, 16)
    prepared = net.prepare_context(tokens)
    attention_blocks = [m for m in net.modules() if isinstance(m, unet._CrossAttention)]
    assert set(prepared.attention) == set(attention_blocks) and len(attention_blocks) == 5
    torch.testing.assert_close(net(x, t, prepared), net(x, t, tokens), rtol=0, atol=0)
    # one preparation serves every timestep of a batch
    for step in (1, 10, 40):
        t = torch.full((4,), step)
        torch.testing.assert_close(net(x, t, prepared), net(x, t, tokens), rtol=0, atol=0)


def _fitted(**params):
    X = np.random.default_rng(0).normal(size=(16, 2, 16)).astype("float32")
    gen = DiffusionGenerator(
        n_steps=2,
        base_channels=4,
        channel_mults=(1,),
        n_sampling_steps=3,
        random_state=0,
        **params,
    )
    return gen.fit(X, np.arange(16) % 2)


def _count_calls(module, counts, name):
    def hook(mod, args, output):
        counts[name] = counts.get(name, 0) + int(args[0].shape[0])

    return module.register_forward_hook(hook)


def test_guidance_one_skips_unconditional_pass_and_encodes_conditions_once():
    gen = _fitted(generate_batch_size=5)
    module = gen.net_.ema_module_
    counts = {}
    hooks = [
        _count_calls(module.conditioner, counts, "conditioner"),
        _count_calls(module.unet, counts, "unet"),
    ]
    prepare = module.unet.prepare_context
    prepared_windows = []

    def counting_prepare(context):
        prepared_windows.append(len(context))
        return prepare(context)

    module.unet.prepare_context = counting_prepare
    try:
        gen.sample(np.zeros(8, dtype=int), random_state=0)
        # one conditioner pass and one preparation of the context per batch (not per
        # sampling step), one U-Net pass per step
        assert counts == {"conditioner": 8, "unet": 8 * 3}
        assert prepared_windows == [5, 3]
        counts.clear()
        gen.set_params(guidance_scale=2.0).sample(np.zeros(8, dtype=int), random_state=0)
        assert counts["unet"] == 2 * 8 * 3  # conditional and unconditional halves
    finally:
        del module.unet.prepare_context
        for h in hooks:
            h.remove()


@pytest.mark.parametrize("sampler", ["ddim", "dpmpp_2m"])
def test_cached_condition_tokens_give_the_generic_samples(sampler):
    gen = _fitted(sampler=sampler)
    fast = gen.sample(np.array([0, 1, 1]), random_state=3)
    # guidance 1 through the generic guided path (tokens recomputed every step)
    module = gen.net_.ema_module_
    sample = {"ddim": diffusion.ddim_sample, "dpmpp_2m": diffusion.dpmpp_2m_sample}[sampler]
    generic = sample(
        lambda x, t: diffusion.guided_x0(module, x, t, torch.tensor([0, 1, 1]), 1.0),
        (3, 2, 16),
        diffusion.cosine_alpha_bar(gen.n_timesteps),
        n_steps=3,
        generator=torch.Generator().manual_seed(3),
    )
    expected = denormalise(generic.numpy().astype(np.float64), gen).astype("float32")
    np.testing.assert_allclose(fast, expected, rtol=1e-5, atol=1e-6)


def test_defaults_are_the_documented_ones_and_seeded():
    # 750 x 256 at lr 2e-3 sees the windows of the former 3000 x 64 at lr 1e-3, faster and
    # with the same FID; narrower deep levels and 10 DDIM steps weakened Myo windows
    # (results/ablate_generator.md), and 16 wide doubled the FID; 10 DPM-Solver++(2M) steps
    # kept amplitude and spread at least as well as 25 DDIM steps
    # (results/ablate_sampling_steps/ablate_generator.md)
    params = DiffusionGenerator().get_params()
    assert (params["base_channels"], params["batch_size"], params["n_steps"]) == (32, 256, 750)
    assert tuple(params["channel_mults"]) == (1, 2, 2)
    assert (params["lr"], params["n_sampling_steps"], params["generate_batch_size"]) == (
        2e-3,
        10,
        512,
    )
    assert (params["sampler"], params["eta"]) == ("dpmpp_2m", 0.0)
    sasg = SASGAugmenter().get_params()
    assert (sasg["sampler"], sasg["n_sampling_steps"]) == ("dpmpp_2m", 10)
    a = _fitted().sample(np.array([0, 1]), random_state=1)
    b = _fitted().sample(np.array([0, 1]), random_state=1)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "n_windows, batch_size, n_steps, expected_steps",
    [
        (12, 24, 3, 6),  # smaller than a batch: full passes, windows seen kept (3 x 24 = 6 x 12)
        (10, 24, 2, 5),  # 48 windows: 4.8 full passes, rounded up
        (24, 8, 3, 3),  # a whole number of batches per epoch: exactly n_steps
        (20, 8, 4, 6),  # 3 batches per epoch: rounded up to whole epochs
        (10, 8, 5, 8),  # epochs end in a partial batch: 4 epochs of 10 windows, not 3
    ],
)
def test_budget_is_n_steps_batches_of_windows_even_on_sets_smaller_than_a_batch(
    n_windows, batch_size, n_steps, expected_steps
):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_windows, 2, 8)).astype("float32")
    gen = DiffusionGenerator(
        n_steps=n_steps,
        batch_size=batch_size,
        base_channels=4,
        channel_mults=(1,),
        n_sampling_steps=1,
        random_state=0,
    ).fit(X, np.arange(n_windows) % 2)
    assert gen.n_train_steps_ == expected_steps
    assert gen.n_train_steps_ * min(batch_size, n_windows) >= n_steps * batch_size
    assert gen.n_epochs_ * n_windows >= n_steps * batch_size
    assert len(gen.net_.history) == gen.n_epochs_
