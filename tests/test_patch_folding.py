"""Long windows folded into patches before the diffusion U-Net (``max_length``)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from semgaug_sk.augmentation import DiffusionGenerator, SASGAugmenter
from semgaug_sk.augmentation.generator_settings import fingerprint_params
from semgaug_sk.nn.unet import (
    ConditionalUNet1d,
    fold_patches,
    patch_size_for,
    unfold_patches,
)
from semgaug_sk.persistence import load_weights, save_weights

TINY = dict(base_channels=8, channel_mults=(1, 2), n_cond_tokens=2, cond_token_dim=8)


def _windows(n_times, n=24, n_channels=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_channels, n_times)).astype("float32")
    return X, np.arange(n) % 3


@pytest.mark.parametrize("n_times, patch", [(12, 1), (12, 3), (13, 4), (7, 7), (5, 2)])
def test_fold_then_unfold_returns_the_window(n_times, patch):
    x = torch.randn(3, 4, n_times)
    folded = fold_patches(x, patch)
    assert folded.shape == (3, 4 * patch, -(-n_times // patch))
    assert torch.equal(unfold_patches(folded, patch, n_times), x)


def test_fold_stacks_each_patch_of_a_channel_as_channels_and_repeats_the_last_sample():
    x = torch.arange(7.0).view(1, 1, 7)
    folded = fold_patches(x, 3)
    # patches [0 1 2] [3 4 5] [6 6 6]: channel j holds sample j of every patch
    assert folded[0].tolist() == [[0.0, 3.0, 6.0], [1.0, 4.0, 6.0], [2.0, 5.0, 6.0]]


def test_patch_size_is_the_smallest_that_fits_max_length():
    assert [patch_size_for(n, 64) for n in (20, 52, 64, 65, 128, 129, 400)] == [
        1,
        1,
        1,
        2,
        2,
        3,
        7,
    ]
    assert patch_size_for(10_000, None) == 1
    assert -(-400 // patch_size_for(400, 64)) <= 64


def test_a_folded_window_keeps_at_least_two_positions():
    assert patch_size_for(4, 1) == 2 and patch_size_for(5, 1) == 2 and patch_size_for(1, 1) == 1
    X, y = _windows(4, n=16)
    gen = DiffusionGenerator(max_length=1, n_steps=2, n_sampling_steps=2, random_state=0, **TINY)
    gen.fit(X, y)
    assert gen.patch_size_ == 2
    assert gen.sample(np.array([0]), random_state=0).shape == (1, 2, 4)


def test_a_network_pickled_before_folding_existed_samples_unfolded():
    X, y = _windows(40)
    gen = DiffusionGenerator(n_steps=1, n_sampling_steps=2, random_state=0, **TINY).fit(X, y)
    expected = gen.sample(np.array([0, 1]), random_state=2)
    old = pickle.loads(pickle.dumps(gen))
    for net in (old.net_.module_, old.net_.ema_module_):
        del net.unet.patch_size  # what a network pickled by the earlier code holds
    np.testing.assert_array_equal(old.sample(np.array([0, 1]), random_state=2), expected)


def test_a_patch_never_holds_more_values_than_the_first_level_has_features():
    # 8 channels x 4 samples = 32 values for 32 features; 12 channels fold by 2 at most
    assert patch_size_for(400, 64, n_channels=8, width=32) == 4
    assert patch_size_for(400, 64, n_channels=12, width=32) == 2
    assert patch_size_for(400, 64, n_channels=64, width=32) == 1
    X = np.zeros((6, 16, 200), dtype="float32")
    assert DiffusionGenerator(max_length=64, base_channels=32)._patch_size_for(X) == 2
    assert DiffusionGenerator(max_length=64, base_channels=64)._patch_size_for(X) == 4
    assert DiffusionGenerator()._patch_size_for(X) == 1  # the default never folds


def test_a_folded_unet_keeps_the_window_shape_and_works_on_the_short_sequence():
    net = ConditionalUNet1d(3, 130, 8, base_channels=8, channel_mults=(1, 2, 2), patch_size=3)
    assert net.stem.in_channels == 9 and net.out[-1].out_channels == 9
    assert net.n_levels == 2  # 44 positions: 22, then 11 >= 8
    x, t, ctx = torch.randn(2, 3, 130), torch.tensor([3, 7]), torch.randn(2, 2, 8)
    assert net(x, t, ctx).shape == (2, 3, 130)
    plain = ConditionalUNet1d(3, 130, 8, base_channels=8, channel_mults=(1, 2, 2))
    assert plain.n_levels == 2 and plain.stem.in_channels == 3


def test_short_windows_are_not_folded_and_generate_as_without_max_length():
    X, y = _windows(20)
    kw = dict(n_steps=3, n_sampling_steps=2, random_state=0, **TINY)
    folded = DiffusionGenerator(max_length=64, **kw).fit(X, y)
    plain = DiffusionGenerator(max_length=None, **kw).fit(X, y)
    assert folded.patch_size_ == plain.patch_size_ == 1
    codes = np.array([0, 1, 2, 0])
    np.testing.assert_array_equal(
        folded.sample(codes, random_state=1), plain.sample(codes, random_state=1)
    )


def test_long_windows_are_folded_and_generated_at_their_length():
    X, y = _windows(150)
    gen = DiffusionGenerator(max_length=40, n_steps=3, n_sampling_steps=2, random_state=0, **TINY)
    gen.fit(X, y)
    assert gen.patch_size_ == 4
    assert gen.net_.ema_module_.unet.patch_size == 4
    assert gen.sample(np.array([0, 2]), random_state=0).shape == (2, 2, 150)
    unfolded = DiffusionGenerator(max_length=None, n_steps=1, random_state=0, **TINY).fit(X, y)
    assert unfolded.patch_size_ == 1


def test_sasg_forwards_max_length_to_its_generator():
    X, y = _windows(90, n=36)
    aug = SASGAugmenter(
        condition="label",
        max_length=30,
        n_steps=2,
        n_sampling_steps=2,
        calibration=None,
        random_state=0,
        **TINY,
    )
    X_res, y_res = aug.fit_resample(X, y)
    assert aug.generator_.patch_size_ == 3
    assert X_res.shape[1:] == (2, 90) and len(X_res) > len(X)
    np.testing.assert_array_equal(X_res[: len(X)], X)


def test_a_folded_generator_round_trips_through_a_weights_file_and_pickle(tmp_path):
    X, y = _windows(100)
    gen = DiffusionGenerator(max_length=32, n_steps=2, n_sampling_steps=2, random_state=0, **TINY)
    gen.fit(X, y)
    codes = np.array([0, 1, 2])
    expected = gen.sample(codes, random_state=3)
    save_weights(gen, tmp_path / "gen.pt")
    loaded = load_weights(tmp_path / "gen.pt")
    assert loaded.patch_size_ == 4 and loaded.max_length == 32
    np.testing.assert_array_equal(loaded.sample(codes, random_state=3), expected)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(gen)).sample(codes, random_state=3), expected
    )


def test_a_generator_stored_before_max_length_loads_unfolded(tmp_path):
    X, y = _windows(100)
    gen = DiffusionGenerator(
        max_length=None, n_steps=2, n_sampling_steps=2, random_state=0, **TINY
    ).fit(X, y)
    codes = np.array([0, 1, 2])
    expected = gen.sample(codes, random_state=3)
    save_weights(gen, tmp_path / "gen.pt")
    payload = torch.load(tmp_path / "gen.pt", weights_only=True)
    del payload["params"]["max_length"]  # what a file from before the parameter holds
    del payload["state"]["patch_size_"]
    torch.save(payload, tmp_path / "old.pt")
    old = load_weights(tmp_path / "old.pt")
    assert old.max_length is None and getattr(old, "patch_size_", 1) == 1
    np.testing.assert_array_equal(old.sample(codes, random_state=3), expected)

    state = dict(gen.__getstate__())
    del state["max_length"], state["patch_size_"]
    unpickled = DiffusionGenerator.__new__(DiffusionGenerator)
    unpickled.__setstate__(state)
    assert unpickled.get_params()["max_length"] is None
    np.testing.assert_array_equal(unpickled.sample(codes, random_state=3), expected)


def test_fine_tuning_refuses_an_init_folded_another_way():
    X, y = _windows(100)
    init = DiffusionGenerator(max_length=None, n_steps=1, random_state=0, **TINY).fit(X, y)
    with pytest.raises(ValueError, match=r"max_length=64 folds the windows into patches of 2"):
        DiffusionGenerator(max_length=64, n_steps=1, random_state=0, **TINY).fit(X, y, init=init)
    DiffusionGenerator(n_steps=1, random_state=0, **TINY).fit(X, y, init=init)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "64"])
def test_an_invalid_max_length_is_refused_with_its_name(bad):
    X, y = _windows(20)
    with pytest.raises(ValueError, match="max_length"):
        DiffusionGenerator(max_length=bad, n_steps=1).fit(X, y)


def test_max_length_names_a_checkpoint_folder_only_when_it_folds():
    params = {"lr": 1e-3, "max_length": 64}
    assert fingerprint_params(params, patch_size=1) == {"lr": 1e-3}
    assert fingerprint_params({**params, "max_length": None}, patch_size=1) == {"lr": 1e-3}
    assert fingerprint_params(params, patch_size=2) == params
    assert fingerprint_params(params) == params


def test_checkpoint_folders_of_short_windows_do_not_depend_on_max_length(tmp_path):
    X, y = _windows(20)
    folders = {
        DiffusionGenerator(
            max_length=m, n_steps=1, checkpoint_dir=tmp_path, **TINY
        )._checkpoint_folder(X, y, 0)
        for m in (64, None, 20)
    }
    assert len(folders) == 1
    X_long, _ = _windows(100)
    long_folders = {
        DiffusionGenerator(
            max_length=m, n_steps=1, checkpoint_dir=tmp_path, **TINY
        )._checkpoint_folder(X_long, y, 0)
        for m in (64, None)
    }
    assert len(long_folders) == 2
