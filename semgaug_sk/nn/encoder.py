"""Compact 1-D convolutional encoder for sEMG windows.

The network maps a window ``(n_channels, n_times)`` to class logits and
exposes the penultimate layer as an embedding through :meth:`ConvEncoder.embed`.
It does not downsample in time, so it works on windows as short as a few
samples (DB1 windows of 200 ms at 100 Hz have 20).
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from ..utils.validation import caller_stacklevel
from .emg_layers import ChannelGainJitter, WindowGain, log_energy

__all__ = ["POOLINGS", "ConvEncoder", "group_count", "reset_parameters", "restrict_classifier"]

#: Global poolings of :class:`ConvEncoder`.
POOLINGS = ("mean_max", "mean_log_energy")


def group_count(n_channels: int, max_groups: int = 8) -> int:
    """Largest divisor of ``n_channels`` that is at most ``max_groups`` (for GroupNorm).

    Parameters
    ----------
    n_channels : int
        Channels to split into groups.
    max_groups : int, default=8
        Most groups wanted.

    Returns
    -------
    n_groups : int
        At least 1.

    Examples
    --------
    >>> group_count(24), group_count(10), group_count(7)
    (8, 5, 7)
    """
    for groups in range(min(max_groups, n_channels), 0, -1):
        if n_channels % groups == 0:
            return groups
    return 1


def reset_parameters(module: nn.Module) -> nn.Module:
    """Re-draw the weights of every sub-module that can re-initialise itself.

    Used to start a user-supplied module from a fresh, seeded initialisation
    at each fit. A sub-module re-initialises itself through ``reset_parameters``
    or, as ``nn.MultiheadAttention`` does, ``_reset_parameters``. Parameters held
    directly by a sub-module with neither (a bare ``nn.Parameter``, e.g. a learned
    positional embedding) would keep the instance's values at every seed: a
    warning names them.

    Parameters
    ----------
    module : torch.nn.Module
        Re-initialised in place, with all its sub-modules.

    Returns
    -------
    module : torch.nn.Module
        ``module`` itself.

    Examples
    --------
    >>> lin = nn.Linear(2, 2)
    >>> reset_parameters(lin) is lin
    True
    """
    kept = []
    for name, sub in module.named_modules():
        reset = getattr(sub, "reset_parameters", None)
        if not callable(reset):
            reset = getattr(sub, "_reset_parameters", None)
        if callable(reset):
            reset()
        else:
            own = [n for n, _ in sub.named_parameters(recurse=False)]
            kept += [f"{name}.{n}" if name else n for n in own]
    if kept:
        warnings.warn(
            f"{type(module).__name__}: parameter(s) {kept[:8]} belong to no sub-module with "
            "reset_parameters(), so they keep the passed instance's values at every fit and "
            "random_state does not re-draw them. Give their module a reset_parameters() "
            "method, or pass the module class instead of an instance.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )
    return module


def restrict_classifier(module: nn.Module, rows) -> nn.Module:
    """A copy of a classifier whose last ``nn.Linear`` keeps only the output ``rows``.

    Used to start a network for a subset of the classes a pretrained one knows: every
    weight is copied, and the logits of the kept classes are those of the original.

    Parameters
    ----------
    module : nn.Module
        A classifier whose last registered ``nn.Linear`` produces the logits.
    rows : sequence of int
        The classes to keep, as indices into that layer's outputs.

    Returns
    -------
    module : nn.Module
        A deep copy with the last linear layer restricted.

    Examples
    --------
    >>> net = ConvEncoder(n_channels=2, n_classes=5, embedding_dim=4)
    >>> small = restrict_classifier(net, [1, 3])
    >>> x = torch.randn(3, 2, 8, generator=torch.Generator().manual_seed(0))
    >>> _ = net.eval(), small.eval()
    >>> bool(torch.allclose(small(x), net(x)[:, [1, 3]], atol=1e-6))
    True
    """
    module = copy.deepcopy(module)
    named = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Linear)]
    if not named:
        raise TypeError(
            f"restrict_classifier: {type(module).__name__} has no nn.Linear layer to restrict."
        )
    name, last = named[-1]
    rows = torch.as_tensor(list(rows), dtype=torch.long)
    if len(rows) == 0 or int(rows.max()) >= last.out_features or int(rows.min()) < 0:
        raise ValueError(
            f"restrict_classifier: rows must index the {last.out_features} outputs of the last "
            f"linear layer; got {rows.tolist()}."
        )
    small = nn.Linear(last.in_features, len(rows), bias=last.bias is not None)
    with torch.no_grad():
        small.weight.copy_(last.weight[rows])
        if last.bias is not None:
            small.bias.copy_(last.bias[rows])
    parent = module.get_submodule(name.rpartition(".")[0]) if "." in name else module
    setattr(parent, name.rpartition(".")[2], small)
    return module


class _ConvBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.norm = nn.GroupNorm(group_count(out_channels), out_channels)
        self.act = nn.GELU()
        self.skip = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv1d(in_channels, out_channels, kernel_size=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x))) + self.skip(x)


class ConvEncoder(nn.Module):
    """1-D CNN classifier whose penultimate layer is a semantic embedding.

    Architecture: ``n_blocks`` residual conv blocks (Conv1d, GroupNorm, GELU;
    same length in and out), global pooling over time, a linear projection to
    ``embedding_dim`` followed by LayerNorm (the embedding), then GELU, dropout
    and a linear classifier.

    Three optional EMG biases, those of the downstream networks in
    :mod:`semgaug_sk.nn.downstream` (layers in :mod:`semgaug_sk.nn.emg_layers`), each switched on its own:

    - ``pooling="mean_log_energy"`` pools each feature map by its mean and its
      log-energy (:func:`~semgaug_sk.nn.emg_layers.log_energy`) instead of its mean
      and maximum: the learned analogue of the log-RMS features that make LDA strong.
    - ``window_gain=True`` divides each window by its RMS over channels and time
      (:class:`~semgaug_sk.nn.emg_layers.WindowGain`) and hands the log-RMS to the
      projection, so a gain common to all electrodes moves one input.
    - ``gain_jitter > 0`` multiplies every channel by a random gain while training
      (:class:`~semgaug_sk.nn.emg_layers.ChannelGainJitter`).

    Parameters
    ----------
    n_channels : int
        Input channels (electrodes).
    n_classes : int
        Number of classes (size of the logits).
    embedding_dim : int, default=32
        Size of the embedding returned by :meth:`embed`; at least 3 (it is
        layer-normalised).
    n_filters : int, default=64
        Width of the convolutional blocks.
    n_blocks : int, default=3
        Number of convolutional blocks.
    kernel_size : int, default=5
        Temporal kernel size, odd (the residual blocks keep the length).
    dropout : float, default=0.2
        Dropout before the classifier layer.
    pooling : {"mean_max", "mean_log_energy"}, default="mean_max"
        Global pooling of the last block's feature maps.
    window_gain : bool, default=False
        Divide each window by its RMS and append the log-RMS to the pooled features.
    gain_jitter : float, default=0.0
        ``sigma`` of the per-channel log-gain jitter while training (0: none).

    Examples
    --------
    >>> net = ConvEncoder(n_channels=4, n_classes=3, embedding_dim=8)
    >>> x = torch.zeros(2, 4, 20)
    >>> net(x).shape, net.embed(x).shape
    (torch.Size([2, 3]), torch.Size([2, 8]))
    """

    def __init__(
        self,
        n_channels: int,
        n_classes: int,
        embedding_dim: int = 32,
        n_filters: int = 64,
        n_blocks: int = 3,
        kernel_size: int = 5,
        dropout: float = 0.2,
        pooling: str = "mean_max",
        window_gain: bool = False,
        gain_jitter: float = 0.0,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"ConvEncoder: pooling must be one of {POOLINGS}; got {pooling!r}.")
        if embedding_dim < 3:
            raise ValueError(
                f"ConvEncoder: embedding_dim must be at least 3; got {embedding_dim}. The "
                "embedding is layer-normalised, which maps one value to a constant and two to "
                "+-1: nothing, or one bit, would be left to tell classes apart."
            )
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                f"ConvEncoder: kernel_size must be a positive odd integer; got {kernel_size}. "
                "The residual blocks add their input to their output, which an even kernel "
                "makes one sample longer."
            )
        self.pooling = pooling
        self.jitter = ChannelGainJitter(gain_jitter)
        self.gain = WindowGain() if window_gain else None
        blocks = []
        width = n_channels
        for _ in range(n_blocks):
            blocks.append(_ConvBlock(width, n_filters, kernel_size))
            width = n_filters
        self.features = nn.Sequential(*blocks)
        self.project = nn.Linear(2 * width + int(window_gain), embedding_dim)
        self.norm = nn.LayerNorm(embedding_dim)
        self.head = nn.Sequential(
            nn.GELU(), nn.Dropout(dropout), nn.Linear(embedding_dim, n_classes)
        )
        self.embedding_dim = embedding_dim

    def __setstate__(self, state):
        super().__setstate__(state)
        # pickled before the EMG options existed: what those networks did
        if "jitter" not in self._modules:
            self.pooling, self.gain, self.jitter = "mean_max", None, ChannelGainJitter(0.0)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer embedding of windows ``x`` of shape (batch, channels, times)."""
        x = self.jitter(x)
        extra = []
        if self.gain is not None:
            x, log_rms = self.gain(x)
            extra.append(log_rms)
        h = self.features(x)
        second = log_energy(h) if self.pooling == "mean_log_energy" else h.amax(dim=-1)
        pooled = torch.cat([h.mean(dim=-1), second, *extra], dim=1)
        return self.norm(self.project(pooled))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of windows ``x`` of shape (batch, channels, times)."""
        return self.head(self.embed(x))
