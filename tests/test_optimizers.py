"""Every skorch net trains with torch's fused Adam/AdamW where the device has it."""

import numpy as np
import pytest
import torch

from semgaug_sk import FeatureImitator, FINClassifier, SASGAugmenter, SemanticEncoder
from semgaug_sk.utils.torch_utils import fused_adam_kwargs


@pytest.fixture(scope="module")
def windows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2, 16)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    X[y == 1, 0] += 2.0
    return X, y


def _fused(net):
    return [bool(group.get("fused")) for group in net.optimizer_.param_groups]


def test_fused_on_cpu_and_cuda_only():
    assert fused_adam_kwargs("cpu") == {"optimizer__fused": True}
    assert fused_adam_kwargs(torch.device("cuda:1")) == {"optimizer__fused": True}
    assert fused_adam_kwargs("meta") == {}
    assert fused_adam_kwargs(None) == {}


def test_every_estimator_trains_with_fused_adam(windows):
    X, y = windows
    encoder = SemanticEncoder(n_filters=8, n_blocks=1, embedding_dim=4, max_epochs=2)
    encoder.fit(X, y)
    imitator = FeatureImitator(hidden_size=4, num_layers=1, max_epochs=1, random_state=0).fit(X)
    fin = FINClassifier(imitator, max_epochs=1, fine_tune_epochs=1, random_state=0).fit(X, y)
    aug = SASGAugmenter(
        encoder=SemanticEncoder(n_filters=8, n_blocks=1, embedding_dim=4, max_epochs=1),
        n_steps=2,
        base_channels=8,
        channel_mults=(1,),
        random_state=0,
    ).fit(X, y)
    for net in (encoder.net_, imitator.net_, fin.head_net_, fin.net_, aug.diffusion_):
        assert all(_fused(net)), type(net).__name__
