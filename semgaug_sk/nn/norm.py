"""Batch normalisation that survives a training batch with one value per channel.

A mini-batch of one window (the last batch of an epoch when the training windows are
one more than a multiple of ``batch_size``) leaves torch's batch norm a single value per
channel when the rest of the input is 1 x 1 (FIN's head on one-channel windows, STC on
one-sample windows), and torch refuses to normalise it. These layers normalise such a
batch with the running statistics instead, as in evaluation, and do not update them;
every other batch is normalised exactly as by torch. The parameters and buffers are
torch's, so weights load either way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _OneValueSafe:
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.numel() == x.shape[1]:  # no batch statistics to take
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
            )
        return super().forward(x)


class BatchNorm1d(_OneValueSafe, nn.BatchNorm1d):
    """:class:`torch.nn.BatchNorm1d` that accepts a training batch of one value per channel.

    Input of shape (N, C) or (N, C, L); the parameters are torch's.

    Parameters
    ----------
    num_features : int
        Channels ``C`` of the input.
    eps : float, default=1e-5
        Added to the variance for numerical stability.
    momentum : float or None, default=0.1
        Update rate of the running statistics; None: their cumulative average.
    affine : bool, default=True
        Learn a per-channel scale and shift.
    track_running_stats : bool, default=True
        Keep the running mean and variance.
    device : str or torch.device, default=None
        Device of the parameters and buffers.
    dtype : torch.dtype, default=None
        Floating-point type of the parameters and buffers.
    bias : bool, default=True
        Learn the shift (with ``affine``); keyword-only, in the torch versions that take it.

    Examples
    --------
    >>> norm = BatchNorm1d(4).train()
    >>> norm(torch.ones(1, 4, 1)).shape
    torch.Size([1, 4, 1])
    """


class BatchNorm2d(_OneValueSafe, nn.BatchNorm2d):
    """:class:`torch.nn.BatchNorm2d` that accepts a training batch of one value per channel.

    Input of shape (N, C, H, W); the parameters are torch's.

    Parameters
    ----------
    num_features : int
        Channels ``C`` of the input.
    eps : float, default=1e-5
        Added to the variance for numerical stability.
    momentum : float or None, default=0.1
        Update rate of the running statistics; None: their cumulative average.
    affine : bool, default=True
        Learn a per-channel scale and shift.
    track_running_stats : bool, default=True
        Keep the running mean and variance.
    device : str or torch.device, default=None
        Device of the parameters and buffers.
    dtype : torch.dtype, default=None
        Floating-point type of the parameters and buffers.
    bias : bool, default=True
        Learn the shift (with ``affine``); keyword-only, in the torch versions that take it.

    Examples
    --------
    >>> norm = BatchNorm2d(4).train()
    >>> norm(torch.ones(1, 4, 1, 1)).shape
    torch.Size([1, 4, 1, 1])
    """
