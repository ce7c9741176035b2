"""Classification heads on (features x channels) maps, and the end-to-end FIN classifier network.

- :class:`FeatureMapCNN`: the 3-convolution CNN of LSTM-FIN (Wu et al., arXiv
  2405.19356), generalised to any number of features and channels, with the
  optional noisy "shadow copies" of its input.
- :class:`FINNetwork`: a :class:`~semgaug_sk.nn.fin.FeatureImitatorNet` followed
  by a fixed feature compression and a head, mapping raw windows
  ``(batch, n_channels, n_times)`` to class logits, differentiably, so that the
  imitator and the head can be fine-tuned jointly.
"""

from __future__ import annotations

import torch
from torch import nn

from .fin import FeatureImitatorNet
from .norm import BatchNorm2d

__all__ = ["FeatureMapCNN", "FINNetwork", "compress_features"]


def compress_features(F, ref, mean, sd, kind="asinh"):
    """Standardise features for a head: ``(asinh(F / ref) - mean) / sd`` or ``(F - mean) / sd``.

    Amplitude features (rms, var, ssi) span orders of magnitude between rest
    and contraction; ``asinh(F / ref)`` is linear below ``ref`` and logarithmic
    above it, so the head sees them on a comparable scale, and it is defined
    for the slightly negative values an imitator may output.

    Parameters
    ----------
    F : Tensor of shape (..., n_features)
        Features in their original units.
    ref, mean, sd : Tensor of shape (n_features,)
        Compression reference (``"asinh"`` only) and standardisation statistics.
    kind : {"asinh", "standard"}, default="asinh"
        Compress before standardising, or only standardise.

    Returns
    -------
    Z : Tensor of the shape of ``F``

    Examples
    --------
    >>> F = torch.tensor([[0.0, 2.0]])
    >>> one, zero = torch.ones(2), torch.zeros(2)
    >>> compress_features(F, one, zero, one, "standard").tolist()
    [[0.0, 2.0]]
    """
    if kind == "asinh":
        F = torch.asinh(F / ref)
    return (F - mean) / sd


def _odd_kernel(kernel_size, size):
    """``min(kernel_size, size)`` rounded up to an odd number.

    An even kernel with ``padding="same"`` pads one side more than the other, which
    torch does through an extra copy of the input (and warns about); one more tap
    keeps the padding symmetric and the output length unchanged.
    """
    k = min(int(kernel_size), int(size))
    return k if k % 2 else k + 1


class FeatureMapCNN(nn.Module):
    """Three-convolution CNN over a (features x channels) map.

    The features are the input planes of the convolutions and the electrode
    channels their spatial axis, as in LSTM-FIN's head. The original stacks
    12 noisy copies of the 4 x 12 map into a 4-plane 12 x 12 image and uses
    unpadded 5-5-4 kernels that collapse it to one pixel per class; here the
    kernels span at most the axis (``min(kernel_size, size)``, rounded up to an odd
    size so that "same" padding is symmetric) along the channel axis and along the
    copy axis, so any channel count and any number of copies works, and a linear
    layer reads the flattened map (electrode positions stay distinct).

    Parameters
    ----------
    n_features : int
        Features per channel (input planes).
    n_channels : int
        Electrode channels.
    n_classes : int
        Output logits.
    conv_channels : tuple of 3 int, default=(64, 32, 32)
        Output planes of the three convolutions (the original uses 64, 32).
    kernel_size : int, default=3
        Kernel size along each spatial axis (clipped to the axis length, then
        rounded up to an odd size).
    dropout : float, default=0.3
        Dropout after the first convolution block and before the linear layer.
    n_shadow : int, default=0
        Number of noisy shadow copies (0: off).
    shadow_noise : float, default=0.05
        Standard deviation of the shadow-copy noise during training.

    Notes
    -----
    **Shadow copies.** With ``n_shadow > 0`` the map is stacked with ``n_shadow`` copies of itself
    along a second spatial axis. During training each copy receives fresh
    Gaussian noise of standard deviation ``shadow_noise`` (in the units of the
    standardised features); in evaluation mode the copies are exact. The head
    then sees, for every channel, a small cloud of perturbed feature vectors
    next to the clean one, which acts as input-noise regularisation (the
    original adds noise of 1% of the channel's RMS feature, once, to a fixed
    dataset; here the noise is redrawn at every batch). The copies are averaged
    after the convolutions, so the output does not depend on their order.

    Examples
    --------
    >>> head = FeatureMapCNN(n_features=4, n_channels=10, n_classes=3, n_shadow=2)
    >>> head(torch.zeros(5, 4, 10)).shape
    torch.Size([5, 3])
    """

    def __init__(
        self,
        n_features,
        n_channels,
        n_classes,
        conv_channels=(64, 32, 32),
        kernel_size=3,
        dropout=0.3,
        n_shadow=0,
        shadow_noise=0.05,
    ):
        super().__init__()
        conv_channels = tuple(int(c) for c in conv_channels)
        if len(conv_channels) != 3:
            raise ValueError(f"conv_channels must hold 3 integers; got {conv_channels!r}.")
        self.n_features = int(n_features)
        self.n_channels = int(n_channels)
        self.n_shadow = int(n_shadow)
        self.shadow_noise = float(shadow_noise)
        n_copies = self.n_shadow + 1
        k = (_odd_kernel(kernel_size, self.n_channels), _odd_kernel(kernel_size, n_copies))
        layers = []
        in_planes = self.n_features
        for i, out_planes in enumerate(conv_channels):
            layers += [
                nn.Conv2d(in_planes, out_planes, k, padding="same"),
                BatchNorm2d(out_planes),
                nn.PReLU(),
            ]
            if i == 0:
                layers.append(nn.Dropout(dropout))
            in_planes = out_planes
        self.convs = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(in_planes * self.n_channels, int(n_classes))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` of standardised maps ``(batch, n_features, n_channels)``."""
        x = z.unsqueeze(-1)
        if self.n_shadow:
            copies = x.expand(-1, -1, -1, self.n_shadow)
            if self.training and self.shadow_noise > 0:
                copies = copies + self.shadow_noise * torch.randn_like(copies)
            x = torch.cat([x, copies], dim=-1)
        h = self.convs(x).mean(dim=-1)
        return self.classifier(self.dropout(h.flatten(1)))


class FINNetwork(nn.Module):
    """Raw windows -> imitated features -> compression -> head logits.

    Parameters
    ----------
    imitator_kwargs : dict
        Keyword arguments of :class:`~semgaug_sk.nn.fin.FeatureImitatorNet`.
    head : type or callable
        Builds the head as ``head(n_features=..., n_channels=..., n_classes=...,
        **head_kwargs)``; it maps ``(batch, n_features, n_channels)`` to logits.
    head_kwargs : dict
        Extra keyword arguments of ``head``.
    n_channels, n_classes : int
        Window channels and classes.
    feature_ref, feature_mean, feature_sd : sequence of float
        Fixed compression statistics (see :func:`compress_features`), learned
        from the training windows before the head is trained.
    feature_transform : {"asinh", "standard"}, default="asinh"
        Compression applied before the head.

    Examples
    --------
    >>> kw = dict(n_features=2, n_times=8, degrees=(1, 2), input_scale=1.0, target_mean=(0, 0),
    ...           target_scale=(1, 1), hidden_size=4, num_layers=1)
    >>> net = FINNetwork(kw, FeatureMapCNN, {}, n_channels=3, n_classes=2,
    ...                  feature_ref=(1, 1), feature_mean=(0, 0), feature_sd=(1, 1))
    >>> net(torch.randn(6, 3, 8)).shape
    torch.Size([6, 2])
    """

    def __init__(
        self,
        imitator_kwargs,
        head,
        head_kwargs,
        n_channels,
        n_classes,
        feature_ref,
        feature_mean,
        feature_sd,
        feature_transform="asinh",
    ):
        super().__init__()
        self.imitator = FeatureImitatorNet(**imitator_kwargs)
        n_features = self.imitator.n_features
        self.head = head(
            n_features=n_features, n_channels=n_channels, n_classes=n_classes, **head_kwargs
        )
        self.feature_transform = feature_transform
        # float64, as the stage-2 standardisation: ent's mean sits at log(n) minus a deficit
        # far below float32's resolution at small units, and its sd is of that deficit's size.
        # Kept as the module's extra state, not as buffers: ``.to("mps")`` refuses float64
        # buffers (MPS has no float64), and extra state stays a CPU tensor in the state dict.
        self.feature_stats = torch.tensor(
            [tuple(feature_ref), tuple(feature_mean), tuple(feature_sd)], dtype=torch.float64
        )

    def feature_maps(self, X: torch.Tensor) -> torch.Tensor:
        """Standardised imitated features ``(batch, n_features, n_channels)`` of raw windows."""
        b, c, t = X.shape
        F = self.imitator.features(X.reshape(b * c, t)).reshape(b, c, -1)
        # narrowed on the CPU first: F is float64 except on MPS
        ref, mean, sd = self.feature_stats.to(dtype=F.dtype).to(device=F.device)
        Z = compress_features(F, ref, mean, sd, self.feature_transform)
        return Z.to(X.dtype).transpose(1, 2)  # standardised in F's float64, then narrowed

    def get_extra_state(self):
        return self.feature_stats.clone()

    def set_extra_state(self, state):
        self.feature_stats = torch.as_tensor(state, dtype=torch.float64, device="cpu").clone()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # earlier builds saved the statistics as three float64 buffers
        legacy = [f"{prefix}feature_{name}" for name in ("ref", "mean", "sd")]
        if all(key in state_dict for key in legacy):
            stats = torch.stack([state_dict.pop(key).cpu() for key in legacy])
            state_dict.setdefault(f"{prefix}_extra_state", stats)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def __setstate__(self, state):
        # pickles of earlier builds hold the statistics in _buffers
        buffers = state.get("_buffers", {})
        if "feature_stats" not in state and "feature_ref" in buffers:
            stats = [buffers.pop(f"feature_{name}").cpu() for name in ("ref", "mean", "sd")]
            state["feature_stats"] = torch.stack(stats).to(torch.float64)
        super().__setstate__(state)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, n_classes)`` of raw windows ``(batch, n_channels, n_times)``."""
        return self.head(self.feature_maps(X))
