"""Downstream classifiers on raw sEMG windows, with EMG's inductive biases built in.

Both networks map windows ``(batch, n_channels, n_times)`` to class logits and expose
the penultimate layer through ``embed``. They share three EMG-specific pieces:

- :class:`WindowGain`: each window is divided by its RMS over all channels and the
  log of that RMS is handed to the classifier as one extra feature. A gain common to
  all electrodes (skin contact, a stronger contraction of the same gesture) then moves
  one input instead of every activation, while the spatial pattern across electrodes,
  which identifies the gesture, is kept.
- :class:`ChannelGainJitter`: while training, every channel of every window is
  multiplied by its own random gain ``exp(N(0, sigma^2))``, so the network does not
  rely on the exact gain of one electrode (electrode shift, sweat, another session).
  It is the identity in evaluation mode.
- :func:`log_energy`: square, average over time, take the log: the learned analogue
  of the log-RMS and log-variance features that make LDA strong on sEMG.

The networks do not downsample short windows, so windows as short as a few samples
work (NinaPro DB1 at 100 Hz gives 20 samples per 200 ms); the transformer pools windows
longer than its ``max_tokens`` (e.g. 200 ms at 10 kHz) so that attention memory stays
bounded.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..utils.validation import check_optional_positive_int
from .emg_layers import ChannelGainJitter, WindowGain, log_energy
from .encoder import group_count
from .norm import BatchNorm1d

__all__ = [
    "ChannelGainJitter",
    "ConvTransformerNet",
    "SpatioTemporalConvNet",
    "WindowGain",
    "log_energy",
]


def _odd_kernel(kernel_size: int, n_times: int) -> int:
    """The largest odd kernel no longer than ``kernel_size`` and ``n_times``."""
    k = max(1, min(int(kernel_size), int(n_times)))
    return k if k % 2 else k - 1


class SpatioTemporalConvNet(nn.Module):
    """Temporal filters, then spatial filters, then log-energy pooling (STCNet-style).

    Each electrode is filtered by ``n_temporal`` learned temporal kernels (shared
    across electrodes), the filtered electrodes are mixed by ``n_spatial`` learned
    spatial filters per temporal filter, and each resulting signal is summarised by
    its log-energy over the whole window and over ``n_segments`` equal parts of it.
    The embedding is these log-energies plus the window's log-RMS.

    Parameters
    ----------
    n_channels, n_times, n_classes : int
        Window shape and number of classes.
    n_temporal : int, default=16
        Temporal filters.
    n_spatial : int, default=2
        Spatial filters per temporal filter.
    kernel_size : int, default=9
        Temporal kernel (made odd and no longer than the window).
    n_segments : int, default=2
        Parts of the window pooled separately, besides the whole window (1: whole
        window only; capped at ``n_times``).
    dropout : float, default=0.3
        Dropout before the classifier layer.
    gain_jitter : float, default=0.1
        ``sigma`` of :class:`ChannelGainJitter` (0 disables it).

    Examples
    --------
    >>> net = SpatioTemporalConvNet(n_channels=8, n_times=52, n_classes=7)
    >>> x = torch.randn(3, 8, 52)
    >>> net(x).shape, net.embed(x).shape
    (torch.Size([3, 7]), torch.Size([3, 97]))
    """

    def __init__(
        self,
        n_channels: int,
        n_times: int,
        n_classes: int,
        n_temporal: int = 16,
        n_spatial: int = 2,
        kernel_size: int = 9,
        n_segments: int = 2,
        dropout: float = 0.3,
        gain_jitter: float = 0.1,
    ):
        super().__init__()
        k = _odd_kernel(kernel_size, n_times)
        width = n_temporal * n_spatial
        self.jitter = ChannelGainJitter(gain_jitter)
        self.gain = WindowGain()
        self.temporal = nn.Conv2d(1, n_temporal, (1, k), padding=(0, k // 2), bias=False)
        self.spatial = nn.Conv2d(n_temporal, width, (n_channels, 1), groups=n_temporal, bias=False)
        self.norm = BatchNorm1d(width)
        self.n_segments = max(1, min(int(n_segments), int(n_times)))
        self.embedding_dim = width * (1 + (self.n_segments if self.n_segments > 1 else 0)) + 1
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.embedding_dim, n_classes))

    def filter_signals(self, z: torch.Tensor) -> torch.Tensor:
        """The spatio-temporal filters applied to windows ``z``: ``(batch, width, times)``.

        The same signals as ``spatial(temporal(z))`` (the two convolutions as declared,
        whose weights these are), computed spatial filter first: both steps are linear
        and bias-free and the temporal kernel is shared by all electrodes, so mixing
        the electrodes first and then filtering each mixture with its temporal kernel
        gives the same result (to float rounding), without the
        ``(batch, n_temporal, n_channels, times)`` intermediate. That intermediate
        held ``n_channels / n_spatial`` times more values (64x at 128 electrodes) and
        cost 2-24x the time of the whole filter stage.

        Examples
        --------
        >>> net = SpatioTemporalConvNet(n_channels=8, n_times=52, n_classes=7)
        >>> z = torch.randn(3, 8, 52)
        >>> direct = net.spatial(net.temporal(z.unsqueeze(1))).squeeze(2)
        >>> torch.allclose(net.filter_signals(z), direct, atol=1e-5)
        True
        """
        width = self.spatial.out_channels
        n_spatial = width // self.temporal.out_channels
        k = self.temporal.kernel_size[1]
        # spatial weight (width, 1, n_channels, 1): output o mixes with row o, then takes
        # the temporal kernel of its group, o // n_spatial
        mixed = torch.matmul(self.spatial.weight.reshape(width, -1), z)
        kernels = self.temporal.weight.reshape(-1, 1, k).repeat_interleave(n_spatial, dim=0)
        return nn.functional.conv1d(mixed, kernels, padding=k // 2, groups=width)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Log-energies of the spatio-temporal filters and the window's log-RMS."""
        z, log_rms = self.gain(self.jitter(x))
        h = self.norm(self.filter_signals(z))  # (batch, width, times)
        pooled = [log_energy(h)]
        if self.n_segments > 1:
            parts = torch.tensor_split(h, self.n_segments, dim=-1)
            pooled += [log_energy(p) for p in parts]
        return torch.cat([*pooled, log_rms], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of windows ``x`` of shape (batch, channels, times)."""
        return self.head(self.embed(x))


class ConvTransformerNet(nn.Module):
    """Convolutional stem, transformer encoder over time, log-energy pooling (TDCT-style).

    A two-layer temporal convolution turns each time step of the window into a
    ``d_model`` token that sees all electrodes and a short temporal context; a
    transformer encoder (pre-norm, learned positions) relates distant parts of the
    window; the tokens are pooled by their mean and their log-energy.

    Parameters
    ----------
    n_channels, n_times, n_classes : int
        Window shape and number of classes.
    d_model : int, default=48
        Token width.
    n_heads : int, default=4
        Attention heads (must divide ``d_model``).
    n_layers : int, default=2
        Transformer encoder layers.
    kernel_size : int, default=7
        Temporal kernel of the stem (made odd and no longer than the window).
    dropout : float, default=0.2
        Dropout in the transformer and before the classifier layer.
    gain_jitter : float, default=0.1
        ``sigma`` of :class:`ChannelGainJitter` (0 disables it).
    max_tokens : int or None, default=256
        Longest token sequence: a longer window's stem output is average-pooled by
        ``ceil(n_times / max_tokens)``, so attention memory, which grows with the
        square of the sequence, stays bounded at high sampling rates (the count is
        a step function: 257 samples give 129 tokens). None: one token per sample.

    Examples
    --------
    >>> ConvTransformerNet(n_channels=8, n_times=2000, n_classes=5).position.shape
    torch.Size([1, 250, 48])
    >>> net = ConvTransformerNet(n_channels=10, n_times=20, n_classes=12)
    >>> x = torch.randn(3, 10, 20)
    >>> net(x).shape, net.embed(x).shape
    (torch.Size([3, 12]), torch.Size([3, 97]))
    """

    def __init__(
        self,
        n_channels: int,
        n_times: int,
        n_classes: int,
        d_model: int = 48,
        n_heads: int = 4,
        n_layers: int = 2,
        kernel_size: int = 7,
        dropout: float = 0.2,
        gain_jitter: float = 0.1,
        max_tokens: int | None = 256,
    ):
        super().__init__()
        k = _odd_kernel(kernel_size, n_times)
        check_optional_positive_int(max_tokens, "max_tokens")
        stride = 1 if max_tokens is None else max(1, math.ceil(n_times / max_tokens))
        n_tokens = math.ceil(n_times / stride)
        self.jitter = ChannelGainJitter(gain_jitter)
        self.gain = WindowGain()
        self.stem = nn.Sequential(
            nn.Conv1d(n_channels, d_model, k, padding=k // 2),
            nn.GroupNorm(group_count(d_model), d_model),
            nn.GELU(),
            nn.Conv1d(d_model, d_model, k, padding=k // 2),
        )
        # Identity keeps the state dict of short windows as it was (no parameters either way)
        self.pool = nn.AvgPool1d(stride, ceil_mode=True) if stride > 1 else nn.Identity()
        self.position = nn.Parameter(torch.zeros(1, n_tokens, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            dim_feedforward=2 * d_model,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.transformer = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.embedding_dim = 2 * d_model + 1
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.embedding_dim, n_classes))

    def __setstate__(self, state):
        super().__setstate__(state)
        if "pool" not in self._modules:  # pickled before max_tokens: one token per sample
            self.pool = nn.Identity()

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Mean and log-energy of the transformed tokens, and the window's log-RMS."""
        z, log_rms = self.gain(self.jitter(x))
        tokens = self.pool(self.stem(z)).transpose(1, 2) + self.position
        h = self.norm(self.transformer(tokens))  # (batch, times, d_model)
        return torch.cat([h.mean(dim=1), log_energy(h, dim=1), log_rms], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of windows ``x`` of shape (batch, channels, times)."""
        return self.head(self.embed(x))
