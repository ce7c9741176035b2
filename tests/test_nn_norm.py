"""Batch norm that survives a training batch of one value per channel, and the nets using it."""

import numpy as np
import pytest
import torch
from torch import nn

from semgaug_sk.nn.norm import BatchNorm1d, BatchNorm2d


@pytest.mark.parametrize(
    ("ours", "torchs", "shape"),
    [
        (BatchNorm1d, nn.BatchNorm1d, (5, 4, 7)),
        (BatchNorm2d, nn.BatchNorm2d, (5, 4, 3, 2)),
    ],
)
def test_ordinary_batches_are_normalised_exactly_as_by_torch(ours, torchs, shape):
    x = torch.randn(*shape)
    a, b = ours(4).train(), torchs(4).train()
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)
    torch.testing.assert_close(a.running_var, b.running_var, rtol=0, atol=0)
    a.eval(), b.eval()
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)
    assert set(a.state_dict()) == set(b.state_dict())  # weights load either way


def test_a_batch_of_one_value_per_channel_uses_the_running_statistics():
    norm = BatchNorm2d(3).train()
    norm(torch.randn(8, 3, 1, 1) * 2 + 1)  # some running statistics
    mean, var = norm.running_mean.clone(), norm.running_var.clone()
    x = torch.randn(1, 3, 1, 1)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm2d(3).train()(x)  # what torch does
    out = norm(x)
    expected = (x - mean.view(1, 3, 1, 1)) / torch.sqrt(var.view(1, 3, 1, 1) + norm.eps)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(norm.running_mean, mean)  # not updated by it
    torch.testing.assert_close(norm.running_var, var)


def _data(n_channels, n_times, n=65):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, n_channels, n_times)).astype(np.float32)
    return X, np.arange(n) % 3


def test_fin_trains_on_one_channel_when_the_last_batch_holds_one_window():
    from semgaug_sk.imitation import FeatureImitator, FINClassifier

    X, y = _data(1, 50)  # 65 windows, batch 64: a last batch of one window
    clf = FINClassifier(
        imitator=FeatureImitator(hidden_size=8, num_layers=1, max_epochs=1),
        max_epochs=1,
        fine_tune_epochs=1,
        validation_fraction=0,
        random_state=0,
    ).fit(X, y)
    assert clf.predict(X).shape == (65,)


def test_stc_trains_on_one_sample_windows_when_the_last_batch_holds_one_window():
    from semgaug_sk.classifiers import SpatioTemporalClassifier

    X, y = _data(4, 1)
    clf = SpatioTemporalClassifier(min_steps=None, max_epochs=1, random_state=0).fit(X, y)
    assert clf.predict(X).shape == (65,)


def test_conv_transformer_refuses_one_sample_windows_by_name():
    from semgaug_sk.classifiers import ConvTransformerClassifier

    X, y = _data(4, 1)
    with pytest.raises(ValueError, match="ConvTransformerClassifier: X windows have 1 sample"):
        ConvTransformerClassifier(max_epochs=1, d_model=8).fit(X, y)
