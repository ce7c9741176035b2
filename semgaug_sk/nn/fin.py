"""LSTM feature-imitating networks (LSTM-FIN, Wu et al., arXiv 2405.19356).

A feature-imitating network (FIN) learns a closed-form sEMG feature (RMS, VAR,
SSI, ENT, ...) from one channel's raw window, so that it can later be
fine-tuned inside a classifier. This module holds the pure torch parts:

- :class:`FeatureLSTM`: one (bidirectional, stacked) LSTM regressor mapping a
  univariate sequence to one or more outputs.
- :class:`FeatureImitatorNet`: the imitator of several features, either one
  :class:`FeatureLSTM` per feature (the original design) or one shared LSTM
  trunk with a linear output per feature. It also holds the fixed input
  encoding and target normalisation (as buffers), so that
  :meth:`FeatureImitatorNet.features` maps raw windows to features in their
  original units, differentiably.
- :func:`pack_steps` and :func:`samples_per_step_for`: on long windows (1-2 kHz
  devices) each LSTM step reads several consecutive samples, so that an LSTM
  takes at most ``max_lstm_steps`` steps.
- :func:`window_amplitude`, :func:`feature_amplitudes`, :func:`amplitude_law`,
  :func:`to_normalized_target` and :func:`from_normalized_target`: the
  amplitude-equivariant target parametrisation shared by training (targets)
  and inference (decoding).

**Amplitude-equivariant parametrisation** (``mode="window"``). Every sequence
``x`` is split into its amplitude ``a = max_t |x_t|`` and its shape
``u = x / a`` (``|u| <= 1``). The input channels (:data:`WINDOW_CHANNELS`) are
``u``, a constant side channel ``log(a / s)`` (``s``: one global input scale
learned at fit), the raw-unit channel ``clip(x - max(x), -16, 0) / 16``, the
entropy density ``-p log p`` of ``p = softmax(x)`` (whose sum is ``ent``) and,
for shift-invariant features, the centred shape (below). Softmax (hence
``ent``) is invariant to a shift of the window and blind to samples far below
its maximum, so the third channel shows the network exactly the part of the
window the entropy depends on at any amplitude (the measurements behind these
choices are on the LSTM-FIN concepts page of the docs). Each network reads only the
channels its target is a function of (:func:`feature_channels`): the shape
alone for homogeneous features, so that it cannot take the amplitude as a
shortcut. The network predicts a *normalised* target from which the feature is
recovered by the feature's amplitude law:

- a feature homogeneous of degree ``k`` (``f(c x) = |c|^k f(x)``: ``k = 1`` for
  rms, mav, iav, wl, dasdv, log; ``k = 2`` for var, ssi) is predicted as
  ``f(u) = f(x) / a^k``, bounded and independent of the subject's amplitude;
- ``ent`` is not scale-invariant (softmax acts on raw values). With
  ``D = log(n) - ent``, the divergence of ``softmax(x)`` from uniform, which
  behaves like ``a^2 var(u) / 2`` for small amplitudes and saturates at
  ``log(n)``, the network predicts ``D / g(a)`` with
  ``g(a) = a^2 / (1 + a^2 / (2 log n))``;
- any other feature (degree 0: counts, Hjorth parameters, skewness, ...) is
  predicted as is.

**Shift-invariant features** (``centered``: var, ent, wl, dasdv, ... do not change
when a constant is added to the window) use the *centred* amplitude
``a_c = max_t |x_t - mean(x)|`` in their law instead of ``a``, and their LSTM
reads the centred shape ``(x - mean(x)) / a_c`` (``ent`` also reads the softmax
channel). This matters on signals with an offset, such as a non-negative
envelope (NinaPro DB1): there ``a`` is dominated by the offset, so ``var / a^2``
is a tiny, heavy-tailed number that the network must extract from small
fluctuations of ``x / a``, whereas ``var / a_c^2 = mean(((x - mean x) / a_c)^2)``
lies in ``(0, 1]`` and depends on the window's shape only.

Errors in the normalised domain are then relative errors in the feature's
units, so windows of very different amplitudes (rest vs. contraction, one
subject vs. another) are learned equally well. With ``mode="global"`` (the
original design) the LSTM reads ``x / s`` and predicts the z-scored feature
directly.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..utils.validation import check_optional_positive_int, check_positive_int

__all__ = [
    "ENT_DEGREE",
    "SOFTMAX_DEPTH",
    "FeatureLSTM",
    "FeatureImitatorNet",
    "WINDOW_CHANNELS",
    "window_amplitude",
    "feature_amplitudes",
    "feature_channels",
    "amplitude_law",
    "to_normalized_target",
    "from_normalized_target",
    "pack_steps",
    "samples_per_step_for",
]

#: Degree code of the entropy law (``ent`` is not homogeneous; see the module docstring).
ENT_DEGREE = -1

#: The side channel ``log(a / s)`` is clipped to this range so that an all-zero
#: (or extreme) sequence does not feed the LSTM an outlying input.
_LOG_AMP_CLIP = 12.0

#: Relative floor of the window amplitude (times the global input scale).
_AMP_FLOOR = 1e-6

#: Depth (raw units) of the softmax channel ``clip(x - max(x), -SOFTMAX_DEPTH, 0)``: a
#: sample that far below the window's maximum carries less than ``exp(-16) ~ 1e-7`` of
#: the softmax mass, so deeper values do not change ``ent``.
SOFTMAX_DEPTH = 16.0


def window_amplitude(
    x: torch.Tensor, input_scale: float | torch.Tensor, centered: bool = False
) -> torch.Tensor:
    """Amplitude ``a = max_t |x_t|`` of each sequence, floored at ``1e-6 * input_scale``.

    Parameters
    ----------
    x : Tensor of shape (batch, n_times)
        Raw sequences.
    input_scale : float or Tensor
        Global scale of the raw signal (sets the floor for all-zero sequences).
    centered : bool, default=False
        Return the centred amplitude ``a_c = max_t |x_t - mean(x)|`` instead, the
        scale of shift-invariant features (see the module docstring).

    Returns
    -------
    a : Tensor of shape (batch,)

    Examples
    --------
    >>> window_amplitude(torch.tensor([[1.0, -3.0], [0.0, 0.0]]), 1.0).tolist()
    [3.0, 9.999999974752427e-07]
    >>> window_amplitude(torch.tensor([[5.0, 7.0]]), 1.0, centered=True).tolist()
    [1.0]
    """
    floor = _AMP_FLOOR * torch.as_tensor(input_scale, dtype=x.dtype, device=x.device)
    if centered:
        x = x - x.mean(dim=-1, keepdim=True)
    return torch.maximum(x.abs().amax(dim=-1), floor)


def feature_amplitudes(
    x: torch.Tensor, input_scale: float | torch.Tensor, centered
) -> torch.Tensor:
    """Amplitude of each sequence for each feature: centred for shift-invariant features.

    Parameters
    ----------
    x : Tensor of shape (batch, n_times)
        Raw sequences.
    input_scale : float or Tensor
        Global scale of the raw signal (see :func:`window_amplitude`).
    centered : sequence of bool of length n_features
        Whether each feature is shift-invariant (uses ``max|x - mean x|``) or
        not (uses ``max|x|``).

    Returns
    -------
    a : Tensor of shape (batch, n_features)
        Amplitudes to pass to :func:`to_normalized_target` /
        :func:`from_normalized_target`.

    Examples
    --------
    >>> feature_amplitudes(torch.tensor([[5.0, 7.0]]), 1.0, (False, True)).tolist()
    [[7.0, 1.0]]
    """
    mask = torch.as_tensor(tuple(bool(c) for c in centered), dtype=torch.bool, device=x.device)
    a = window_amplitude(x, input_scale).unsqueeze(-1)
    if not bool(mask.any()):
        return a.expand(-1, mask.numel())
    a_c = window_amplitude(x, input_scale, centered=True).unsqueeze(-1)
    return torch.where(mask, a_c, a)


def amplitude_law(a: torch.Tensor, degrees: torch.Tensor, n_times: int) -> torch.Tensor:
    """Amplitude factor of each feature: ``a^k``, the entropy law, or 1.

    Parameters
    ----------
    a : Tensor of shape (batch,) or (batch, n_features)
        Window amplitudes, one per sequence or one per sequence and feature
        (:func:`feature_amplitudes`).
    degrees : Tensor of shape (n_features,)
        Homogeneity degree of each feature (``k >= 0``), or :data:`ENT_DEGREE`.
    n_times : int
        Window length (the entropy law saturates at ``log(n_times)``).

    Returns
    -------
    factor : Tensor of shape (batch, n_features)

    Examples
    --------
    >>> amplitude_law(torch.tensor([2.0]), torch.tensor([0, 1, 2]), 10).tolist()
    [[1.0, 2.0, 4.0]]
    """
    if a.ndim == 1:
        a = a.unsqueeze(-1)
    deg = degrees.to(device=a.device)
    power = a ** deg.clamp(min=0).to(a.dtype)
    a2 = a * a
    ent = a2 / (1.0 + a2 / (2.0 * math.log(max(n_times, 2))))
    return torch.where(deg == ENT_DEGREE, ent, power)


def to_normalized_target(
    F: torch.Tensor, a: torch.Tensor, degrees: torch.Tensor, n_times: int
) -> torch.Tensor:
    """Map features in their units to the amplitude-normalised domain the network predicts.

    Parameters
    ----------
    F : Tensor of shape (batch, n_features)
        Closed-form features.
    a : Tensor of shape (batch,) or (batch, n_features)
        Window amplitudes (:func:`window_amplitude`, or per feature
        :func:`feature_amplitudes`).
    degrees : Tensor of shape (n_features,)
        Degrees, see :func:`amplitude_law`.
    n_times : int
        Window length.

    Returns
    -------
    T : Tensor of shape (batch, n_features)
        Inverse of :func:`from_normalized_target`.

    Examples
    --------
    >>> F = torch.tensor([[3.0, 9.0]]); a = torch.tensor([3.0]); deg = torch.tensor([1, 2])
    >>> to_normalized_target(F, a, deg, 5).tolist()
    [[1.0, 1.0]]
    """
    deg = degrees.to(device=F.device)
    log_n = math.log(max(n_times, 1))
    F = torch.where(deg == ENT_DEGREE, log_n - F, F)
    return F / amplitude_law(a, deg, n_times)


def from_normalized_target(
    T: torch.Tensor, a: torch.Tensor, degrees: torch.Tensor, n_times: int
) -> torch.Tensor:
    """Map normalised predictions back to features in their original units.

    Parameters
    ----------
    T : Tensor of shape (batch, n_features)
        Normalised values (network output after un-z-scoring).
    a : Tensor of shape (batch,) or (batch, n_features)
        Window amplitudes, as given to :func:`to_normalized_target`.
    degrees : Tensor of shape (n_features,)
        Degrees, see :func:`amplitude_law`.
    n_times : int
        Window length.

    Returns
    -------
    F : Tensor of shape (batch, n_features)
        In float64 (in ``T``'s dtype on MPS, which has none).

    Examples
    --------
    >>> T = torch.tensor([[1.0, 1.0]]); a = torch.tensor([3.0]); deg = torch.tensor([1, 2])
    >>> from_normalized_target(T, a, deg, 5).tolist()
    [[3.0, 9.0]]
    """
    deg = degrees.to(device=T.device)
    # ent = log(n) - deficit, and the deficit shrinks with the square of the amplitude: in
    # float32 it vanishes under log(n)'s rounding for small units (volts), so the decoding
    # runs in float64 where the device has it
    wide = T.dtype if T.device.type == "mps" else torch.float64
    F = T.to(wide) * amplitude_law(a.to(wide), deg, n_times)
    log_n = math.log(max(n_times, 1))
    return torch.where(deg == ENT_DEGREE, log_n - F, F)


#: Input channels of ``mode="window"``, in the order :meth:`FeatureImitatorNet.encode` stacks them.
WINDOW_CHANNELS = (
    "shape",
    "log_amplitude",
    "softmax",
    "softmax_entropy",
    "centered_shape",
)


def feature_channels(degree: int, centered: bool, entropy_density: bool = False) -> tuple[str, ...]:
    """Input channels the network of one feature reads (``mode="window"``).

    Each network reads exactly the channels its normalised target is a
    function of, and no more:

    - ``"shape"``: ``x / a``; ``"centered_shape"``: ``(x - mean x) / a_c``;
    - ``"log_amplitude"``: the constant ``log(a / s)``;
    - ``"softmax"``: ``clip(x - max x, -16, 0) / 16``, raw units;
    - ``"softmax_entropy"``: ``-p log p`` with ``p = softmax(x)``, the entropy
      density, whose sum over the window is ``ent``.

    A feature of degree ``k >= 0`` gives ``f(x) / a^k = f(x / a)``, a function of
    the shape alone (of the centred shape when it is shift-invariant); ``ent``
    depends on raw units, hence on the softmax channel (and, with the plain
    amplitude, on ``log(a / s)``, as ``a`` is not a function of ``x - max x``).
    Feeding the amplitude to a network whose target does not depend on it
    invites a shortcut: the network learns the best function of the amplitude
    instead of the window's shape.

    Parameters
    ----------
    degree : int
        Degree code of the feature (:func:`amplitude_law`).
    centered : bool
        Whether the feature is normalised by the centred amplitude.
    entropy_density : bool, default=False
        Whether the ``ent`` network also reads the entropy density
        ``-p log p``. Summing a pointwise channel is easy for an LSTM, whereas
        forming ``p log p`` from ``x - max x`` is not: on a held-out Myo subject
        (integer counts, where ``ent`` hinges on the few samples nearest the
        maximum) the ``ent`` network alone reached R² 0.987 with it, 0.909
        with ``p`` itself and 0.858 without either (8,000 sequences, 30 epochs). ``False`` gives the channels
        of imitators fitted before this option existed.

    Returns
    -------
    channels : tuple of str
        Names from :data:`WINDOW_CHANNELS`.

    Examples
    --------
    >>> feature_channels(2, True), feature_channels(ENT_DEGREE, False)
    (('centered_shape',), ('shape', 'log_amplitude', 'softmax'))
    >>> feature_channels(ENT_DEGREE, True, entropy_density=True)
    ('softmax', 'softmax_entropy', 'centered_shape')
    """
    if degree == ENT_DEGREE:
        softmax = ("softmax", "softmax_entropy") if entropy_density else ("softmax",)
        if centered:
            return (*softmax, "centered_shape")
        return ("shape", "log_amplitude", *softmax)
    return ("centered_shape",) if centered else ("shape",)


def samples_per_step_for(n_times: int, max_steps: int | None) -> int:
    """Consecutive samples an LSTM reads per step so that it takes at most ``max_steps`` steps.

    Parameters
    ----------
    n_times : int
        Window length in samples.
    max_steps : int or None
        Longest sequence of steps; None reads one sample per step (the original
        LSTM-FIN).

    Returns
    -------
    k : int
        ``ceil(n_times / max_steps)``, at least 1.

    Examples
    --------
    >>> samples_per_step_for(52, 64), samples_per_step_for(200, 64), samples_per_step_for(400, None)
    (1, 4, 1)
    """
    if check_optional_positive_int(max_steps, "max_steps") is None:
        return 1
    return max(1, -(-int(n_times) // int(max_steps)))


def pack_steps(x: torch.Tensor, samples_per_step: int) -> torch.Tensor:
    """Read ``samples_per_step`` consecutive samples of every channel per LSTM step.

    An LSTM's cost grows with the number of steps it takes, not with the width of
    each step's input, so on long windows (1-2 kHz devices) reading ``k`` samples
    per step makes it about ``k`` times faster while every sample still reaches
    the network. The time axis is zero-padded at its end to a multiple of ``k``;
    the padding sits at the same place in every window of an imitator (which has
    one window length), so the network learns to ignore it.

    Parameters
    ----------
    x : Tensor of shape (batch, n_times, n_channels)
    samples_per_step : int

    Returns
    -------
    packed : Tensor of shape (batch, ceil(n_times / k), k * n_channels)
        Step ``s`` holds samples ``s*k .. s*k + k - 1``, all channels of a sample
        together, in time order.

    Examples
    --------
    >>> x = torch.arange(5.0).reshape(1, 5, 1)
    >>> pack_steps(x, 2)[0].tolist()
    [[0.0, 1.0], [2.0, 3.0], [4.0, 0.0]]
    """
    k = int(samples_per_step)
    if k == 1:
        return x
    batch, n_times, n_channels = x.shape
    pad = (-n_times) % k
    if pad:
        x = nn.functional.pad(x, (0, 0, 0, pad))
    return x.reshape(batch, (n_times + pad) // k, k * n_channels)


def _union(groups):
    """Channel names used by any of ``groups``, in :data:`WINDOW_CHANNELS` order (or as given)."""
    used = {c for g in groups for c in g}
    order = [c for c in WINDOW_CHANNELS if c in used]
    return tuple(order + sorted(used - set(order)))


class FeatureLSTM(nn.Module):
    """A stacked (bidirectional) LSTM regressor for univariate sequences.

    The final hidden state of the top layer (both directions when
    bidirectional) goes through one linear layer, as in the original LSTM-FIN.

    Parameters
    ----------
    n_inputs : int, default=1
        Values per time step.
    n_outputs : int, default=1
        Regression outputs.
    hidden_size : int, default=32
        LSTM hidden size.
    num_layers : int, default=3
        Stacked LSTM layers.
    bidirectional : bool, default=True
        Whether the LSTM reads the sequence in both directions.

    Examples
    --------
    >>> net = FeatureLSTM(hidden_size=8, num_layers=1)
    >>> net(torch.zeros(4, 20, 1)).shape
    torch.Size([4, 1])
    """

    def __init__(self, n_inputs=1, n_outputs=1, hidden_size=32, num_layers=3, bidirectional=True):
        super().__init__()
        self.lstm = nn.LSTM(
            input_size=n_inputs,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
        )
        self.out = nn.Linear(hidden_size * (2 if bidirectional else 1), n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, n_times, n_inputs)`` sequences to ``(batch, n_outputs)``."""
        _, (h, _) = self.lstm(x)
        z = torch.cat([h[-2], h[-1]], dim=-1) if self.lstm.bidirectional else h[-1]
        return self.out(z)


class FeatureImitatorNet(nn.Module):
    """Imitator of several closed-form features, with its input encoding and target scaling.

    ``forward`` returns the z-scored normalised targets (what the loss sees);
    :meth:`features` returns the imitated features in their original units.
    Both take raw univariate sequences ``(batch, n_times)``.

    Parameters
    ----------
    n_features : int
        Number of imitated features.
    n_times : int
        Window length the targets were computed for.
    degrees : sequence of int
        Amplitude law of each feature (see :func:`amplitude_law`); only used
        with ``mode="window"``.
    input_scale : float
        Global scale ``s`` of the raw signal (learned at fit).
    target_mean, target_scale : sequence of float
        z-scoring statistics of the (normalised) targets, learned at fit.
    mode : {"window", "global"}, default="window"
        Input encoding and target parametrisation: ``"window"`` is the
        amplitude-equivariant one of the module docstring; ``"global"`` feeds
        ``x / s`` and predicts the z-scored features directly (the original).
    architecture : {"per_feature", "shared"}, default="per_feature"
        One :class:`FeatureLSTM` per feature, each reading its own channels, or
        one trunk reading the union of them with a linear output per feature.
    hidden_size, num_layers, bidirectional
        See :class:`FeatureLSTM`.
    centered : sequence of bool or None, default=None
        Whether each feature is shift-invariant, hence normalised by the
        centred amplitude (see :func:`feature_amplitudes`); only used with
        ``mode="window"``; it also sets the channels each network reads
        (:func:`feature_channels`). None: no feature is.
    entropy_density : bool, default=False
        Whether the ``ent`` network also reads the entropy density ``-p log p``
        (:func:`feature_channels`); :class:`~semgaug_sk.imitation.FeatureImitator`
        sets it. The default rebuilds imitators saved before the option existed.
    samples_per_step : int, default=1
        Consecutive samples each LSTM step reads (:func:`pack_steps`); 1 is the
        original LSTM-FIN, which reads one sample per step.

    Examples
    --------
    >>> net = FeatureImitatorNet(2, 16, degrees=(1, 2), input_scale=1.0, target_mean=(0, 0),
    ...                          target_scale=(1, 1), hidden_size=8, num_layers=1)
    >>> net.features(torch.randn(5, 16)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        n_features,
        n_times,
        degrees,
        input_scale,
        target_mean,
        target_scale,
        mode="window",
        architecture="per_feature",
        hidden_size=32,
        num_layers=3,
        bidirectional=True,
        centered=None,
        entropy_density=False,
        samples_per_step=1,
    ):
        super().__init__()
        if mode not in ("window", "global"):
            raise ValueError(f"mode must be 'window' or 'global'; got {mode!r}.")
        if architecture not in ("per_feature", "shared"):
            raise ValueError(
                f"architecture must be 'per_feature' or 'shared'; got {architecture!r}."
            )
        self.n_features = int(n_features)
        self.n_times = int(n_times)
        self.samples_per_step = check_positive_int(samples_per_step, "samples_per_step")
        self.mode = mode
        self.architecture = architecture
        if centered is None:
            centered = (False,) * self.n_features
        centered = tuple(bool(c) for c in centered)
        if len(centered) != self.n_features:
            raise ValueError(
                f"centered must have one entry per feature ({self.n_features}); got {len(centered)}."
            )
        # plain attributes, not buffers: they are configuration, like n_times
        self.centered = centered if mode == "window" else (False,) * self.n_features
        degree_list = [int(d) for d in torch.as_tensor(degrees).reshape(-1).tolist()]
        if len(degree_list) != self.n_features:
            raise ValueError(
                f"degrees must have one entry per feature ({self.n_features}); "
                f"got {len(degree_list)}."
            )
        if mode == "window":
            per_feature = [
                feature_channels(d, c, entropy_density)
                for d, c in zip(degree_list, self.centered, strict=True)
            ]
        else:
            per_feature = [("scaled",)] * self.n_features
        groups = per_feature if architecture == "per_feature" else [_union(per_feature)]
        #: channels computed by :meth:`encode`, and the indices each sub-network reads
        self.channels = _union(per_feature)
        self.net_channels = tuple(tuple(self.channels.index(c) for c in g) for g in groups)
        n_outputs = 1 if architecture == "per_feature" else self.n_features
        self.nets = nn.ModuleList(
            [
                FeatureLSTM(
                    n_inputs=len(idx) * self.samples_per_step,
                    n_outputs=n_outputs,
                    hidden_size=hidden_size,
                    num_layers=num_layers,
                    bidirectional=bidirectional,
                )
                for idx in self.net_channels
            ]
        )
        self.register_buffer("degrees", torch.as_tensor(degrees, dtype=torch.long))
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        mean = torch.as_tensor(target_mean, dtype=torch.float64)
        self.register_buffer("target_mean", mean.to(torch.float32))
        # mode="global" predicts ent itself: at volt scale its spread (~1e-8) is below the
        # float32 rounding of its mean (log(n) ~ 3), so the rounding error is kept apart and
        # added back in float64; rebuilt from ``target_mean``, so not saved
        self.register_buffer(
            "target_mean_residual",
            (mean - mean.to(torch.float32).to(torch.float64)).to(torch.float32),
            persistent=False,
        )
        self.register_buffer("target_scale", torch.as_tensor(target_scale, dtype=torch.float32))

    def encode(self, x: torch.Tensor):
        """Network input ``(batch, n_times, n_channels)`` and amplitudes of raw sequences.

        The channels are :attr:`channels` (see :func:`feature_channels`), in that
        order. ``mode="window"``: the amplitudes are ``(batch, n_features)``,
        the centred one for ``centered`` features (:func:`feature_amplitudes`);
        ``mode="global"``: one channel, ``x / s``, and no amplitudes (None).
        """
        x = x.to(self.target_mean.dtype)
        scale = self.input_scale.to(x.dtype)
        if self.mode == "global":
            return (x / scale).unsqueeze(-1), None
        # models pickled before channel selection read the three original channels
        names = getattr(self, "channels", ("shape", "log_amplitude", "softmax"))
        centered = getattr(self, "centered", None) or (False,) * self.n_features
        a = window_amplitude(x, scale)
        amps = a.unsqueeze(-1).expand(-1, self.n_features)
        channels = {}
        if "shape" in names:
            channels["shape"] = x / a.unsqueeze(-1)
        if "log_amplitude" in names:
            side = torch.log(a / scale).clamp(-_LOG_AMP_CLIP, _LOG_AMP_CLIP)
            channels["log_amplitude"] = side.unsqueeze(-1).expand_as(x)
        if "softmax" in names or "softmax_entropy" in names:
            shift = x - x.amax(dim=-1, keepdim=True)
            channels["softmax"] = shift.clamp(min=-SOFTMAX_DEPTH) / SOFTMAX_DEPTH
            log_p = torch.log_softmax(shift, dim=-1)
            channels["softmax_entropy"] = -(log_p.exp() * log_p)
        if any(centered) or "centered_shape" in names:
            xc = x - x.mean(dim=-1, keepdim=True)
            a_c = window_amplitude(xc, scale)  # xc has zero mean: max|xc| is a_c
            channels["centered_shape"] = xc / a_c.unsqueeze(-1)
            mask = torch.tensor(centered, dtype=torch.bool, device=x.device)
            amps = torch.where(mask, a_c.unsqueeze(-1), amps)
        return torch.stack([channels[n] for n in names], dim=-1), amps

    def _network(self, inputs: torch.Tensor) -> torch.Tensor:
        groups = getattr(self, "net_channels", None)
        if groups is None:  # pickled before channel selection: every net reads every channel
            groups = (tuple(range(inputs.shape[-1])),) * len(self.nets)
        full = tuple(range(inputs.shape[-1]))
        k = getattr(self, "samples_per_step", 1)  # absent from older pickles: one sample a step
        outs = [
            net(pack_steps(inputs if idx == full else inputs[..., list(idx)], k))
            for net, idx in zip(self.nets, groups, strict=True)
        ]
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """z-scored normalised targets ``(batch, n_features)`` of raw sequences ``(batch, n_times)``."""
        inputs, _ = self.encode(x)
        return self._network(inputs)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Imitated features ``(batch, n_features)`` in their original units, in float64 (in
        the network's dtype on MPS, which has none) so that ``ent`` keeps its small-amplitude
        deficit: ``mode="window"`` decodes them with :func:`from_normalized_target`,
        ``mode="global"`` un-z-scores the predicted features directly."""
        inputs, a = self.encode(x)
        z = self._network(inputs)
        if self.mode == "window":
            T = z * self.target_scale + self.target_mean
            return from_normalized_target(T, a, self.degrees, self.n_times)
        wide = z.dtype if z.device.type == "mps" else torch.float64
        T = z.to(wide) * self.target_scale.to(wide) + self.target_mean.to(wide)
        residual = getattr(self, "target_mean_residual", None)  # absent from older pickles
        return T if residual is None else T + residual.to(wide)
