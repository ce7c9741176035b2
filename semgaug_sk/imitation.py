"""LSTM feature imitation (LSTM-FIN): :class:`FeatureImitator` and :class:`FINClassifier`.

Wu et al., "An LSTM Feature Imitation Network for Hand Movement Recognition
from sEMG Signals" (arXiv 2405.19356, ICASSP 2025) train small LSTMs to
imitate closed-form sEMG features from single-channel raw windows, feed the
imitated (features x channels) maps to a small CNN, then fine-tune both
jointly. Here both stages are scikit-learn estimators built on skorch; the
torch modules live in :mod:`semgaug_sk.nn.fin` and :mod:`semgaug_sk.nn.heads`.

Departures from the published code, all for honest evaluation or generality:

- early stopping and model selection use a validation split drawn from the
  training windows only (the published code selects the best epoch on the
  test set);
- targets are the :func:`~semgaug_sk.features.extract_features` values, and
  by default an amplitude-equivariant parametrisation (``standardize="window"``,
  see :mod:`semgaug_sk.nn.fin`) makes the imitation hold across subjects whose
  amplitudes differ; ``standardize="global"`` is the original design;
- the head is generalised to any number of features, channels and window
  lengths, and the original's noisy input copies are an option
  (``n_shadow``).
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from contextvars import ContextVar

import numpy as np
import torch
from sklearn.base import TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score
from sklearn.utils import resample
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, LRScheduler
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from .base import BaseWindowNet, WindowClassifierMixin
from .features import (
    ConstantFeatureWarning,
    _check_min_times,
    _constant_feature_hint,
    _warn_ent_uninformative,
    extract_features,
    resolve_features,
)
from .nn.fin import (
    ENT_DEGREE,
    FeatureImitatorNet,
    feature_amplitudes,
    samples_per_step_for,
    to_normalized_target,
)
from .nn.heads import FeatureMapCNN, FINNetwork
from .utils.chunked import BLOCK_VALUES, row_blocks
from .utils.portable_nets import PortableNetRegressor
from .utils.provenance import current_provenance
from .utils.shared_params import SharedSubEstimatorParamsMixin
from .utils.torch_utils import resolve_device, torch_seed
from .utils.training import interrupted_by_user, release_schedulers, release_training_data
from .utils.validation import caller_stacklevel, check_input_features, check_random_state_seed

__all__ = ["FeatureImitator", "FINClassifier", "FEATURE_DEGREES", "SHIFT_INVARIANT_FEATURES"]

# Set while FINClassifier fits its imitator: FIN reads the features in float64 (_imitate3d),
# so a float32 transform's rounding of ent is no concern there. A ContextVar, so that a
# fit in another thread is not affected.
_READS_FLOAT64 = ContextVar("semgaug_imitator_read_in_float64", default=False)

#: Amplitude law of each feature used by ``standardize="window"``: ``k`` means the
#: feature is homogeneous of degree ``k`` (``f(c x) = c^k f(x)`` for ``c > 0``, the
#: only gains the standardisation applies; ``skew`` changes sign for ``c < 0``); ``ent`` has its
#: own law (:data:`semgaug_sk.nn.fin.ENT_DEGREE`). Features not listed (counts,
#: spectral and shape statistics) are scale-invariant (degree 0).
FEATURE_DEGREES = {
    "rms": 1,
    "mav": 1,
    "iav": 1,
    "wl": 1,
    "dasdv": 1,
    "log": 1,
    "var": 2,
    "ssi": 2,
    "ent": ENT_DEGREE,
}

#: Features of :data:`FEATURE_DEGREES` that do not change when a constant is added to
#: the window (``f(x + c) = f(x)``). ``standardize="window"`` normalises them by the
#: centred amplitude ``max|x - mean x|`` rather than ``max|x|`` (see
#: :func:`semgaug_sk.nn.fin.feature_amplitudes`): on a signal with an offset (a
#: non-negative envelope such as NinaPro DB1) ``max|x|`` is dominated by the offset and
#: ``var / max|x|^2`` becomes a tiny, heavy-tailed target.
SHIFT_INVARIANT_FEATURES = frozenset({"var", "wl", "dasdv", "ent"})

#: Shortest window (samples) any imitator accepts: a variance needs two samples.
_MIN_TIMES = 2

#: A reference feature whose spread over the scored windows is at most this fraction of
#: its magnitude is constant up to float64 rounding: it has no R². A few ulps, no more:
#: ``ent`` of microvolt windows in volts varies by ~1e-12 of its value and is learned.
_CONSTANT_SPREAD = 8 * np.finfo(np.float64).eps


def _constant_columns(F):
    """Which columns of ``F`` (n_rows, n_columns) are constant up to float64 rounding."""
    return np.ptp(F, axis=0) <= _CONSTANT_SPREAD * np.max(np.abs(F), axis=0)


def _warn_constant_features(estimator, X, names, raw, stacklevel):
    """Warn (:class:`~semgaug_sk.features.ConstantFeatureWarning`) about a feature that is
    constant, up to rounding, over every sequence (window and channel) of ``X``.

    The imitator can only learn that constant, and ``r2_per_feature`` has no R² for it.
    """
    if len(raw) < 2:
        return
    constant = np.flatnonzero(_constant_columns(raw)).tolist()
    if not constant:
        return
    every_channel = list(range(X.shape[1]))
    parts = [
        f"{names[j]!r} (always {raw[0, j]:g}): "
        + (
            "the imitator computes wamp at threshold 0, where it counts every non-zero "
            "difference (n_times - 1 on a continuous signal); drop wamp from features"
            if names[j] == "wamp"
            else _constant_feature_hint(names[j], X, every_channel, {names[j]: 0.0})
        )
        for j in constant
    ]
    warnings.warn(
        f"{estimator._who()}{len(constant)} feature(s) are constant over the {len(raw)} "
        "sequences (windows x channels) seen at fit: the imitator can only learn the "
        "constant, and r2_per_feature gives NaN for them. " + "; ".join(parts) + ".",
        ConstantFeatureWarning,
        stacklevel=stacklevel,
    )


def _resolve(features, est):
    try:
        return resolve_features(features)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{est._who()}{exc}") from None


class _FeatureSumMSE(torch.nn.Module):
    """Sum over features of each feature's mean squared error.

    With one network per feature the parameters are disjoint, so this sum trains
    every network exactly as if it were trained alone.
    """

    def forward(self, y_pred, y_true):
        return torch.mean((y_pred - y_true) ** 2, dim=0).sum()


class _PerNetworkClipping(Callback):
    """Clip the gradient norm of each sub-network separately (not of all of them at once).

    Clipping the global norm would couple the per-feature networks: a large
    gradient of one feature would shrink the steps of all the others.
    """

    def __init__(self, max_norm=1.0):
        self.max_norm = max_norm

    def on_grad_computed(self, net, named_parameters, **kwargs):
        for sub in net.module_.nets:
            torch.nn.utils.clip_grad_norm_(sub.parameters(), self.max_norm)


class FeatureImitator(TransformerMixin, BaseWindowNet):
    """Learn closed-form sEMG features with LSTMs (LSTM-FIN feature imitation).

    ``fit`` treats every channel of every window as one univariate sequence and
    trains LSTMs to reproduce its :func:`~semgaug_sk.features.extract_features`
    values (labels are ignored); ``transform`` returns the imitated features in
    the layout and with the names of :class:`~semgaug_sk.features.EMGFeatures`.
    :meth:`score` and :meth:`r2_per_feature` compare them with the closed-form
    ones in their original units.

    Parameters
    ----------
    features : str or iterable of str, default=("rms", "var", "ssi", "ent")
        Features to imitate (names or groups, see
        :func:`~semgaug_sk.features.resolve_features`), computed with the
        default ``threshold=0`` and ``fs=None`` of ``extract_features``. The
        default is LSTM-FIN's four features.
    architecture : {"per_feature", "shared"}, default="per_feature"
        One LSTM per feature (the original; the features do not compete for
        capacity), or one shared trunk with one output per feature (about 4x
        fewer parameters and faster, less close on the shape features var and
        ent).
    hidden_size : int, default=16
        LSTM hidden size. ``32`` is the original's; 16 imitates these window
        statistics as closely at 2.4x less cost (Myo, trained on three subjects'
        ``training0``, R² on a fourth's, 2 seeds: 0.9996 / 0.9995 / 0.9995 /
        0.9935 for rms / var / ssi / ent in 59 s of CPU, against 0.9993 / 0.9986
        / 0.9992 / 0.9864 in 142 s with 32 at ``lr=3e-3``;
        ``results/fin_ablation/clean/``).
    num_layers : int, default=1
        Stacked LSTM layers per network. One layer already imitates these window
        statistics (see the LSTM-FIN benchmark in ``results/bench_fin_speed.md``)
        at a fraction of the cost; ``3`` is the original's.
    bidirectional : bool, default=True
        Bidirectional LSTMs (the original's).
    standardize : {"window", "global"}, default="window"
        ``"window"`` splits each sequence into amplitude and shape and predicts
        amplitude-normalised targets (see :mod:`semgaug_sk.nn.fin`), so the
        imitation holds on subjects whose amplitudes were never seen;
        ``"global"`` is the original (one input scale, z-scored targets).
    entropy_density : bool, default=True
        Whether the ``ent`` network also reads the entropy density ``-p log p``
        of ``p = softmax(x)``, a pointwise channel whose sum over the window is
        ``ent`` (``standardize="window"`` only; see
        :func:`~semgaug_sk.nn.fin.feature_channels`). On integer-valued Myo
        counts it lifted the held-out R² of ``ent`` from 0.95 to 0.99
        (``results/fin_ablation/clean``).
        ``False`` is the earlier encoding.
    max_lstm_steps : int or None, default=16
        Longest sequence of steps an LSTM takes. Longer windows are read
        ``ceil(n_times / max_lstm_steps)`` consecutive samples per step
        (:func:`~semgaug_sk.nn.fin.pack_steps`): the cost of an LSTM grows with
        its steps, and every sample still reaches the network. Chosen by a rule
        fixed in advance (``results/ablate_lstm_steps/``, 3 seeds): against 64,
        16 imitated as closely on five window geometries (20 to 400 samples) and
        fitted 1.5x (NinaPro DB1's 20 samples) to 4.3x (the Myo armband's 52)
        faster, with the same ``FINClassifier`` accuracy on a DB1 inner split;
        against one sample per step, packing was 5-8x faster and closer on
        200-400-sample windows. ``None`` reads one sample per step (the
        original LSTM-FIN).
    max_epochs : int, default=30
        Length of the one-cycle learning-rate schedule and upper bound on
        training (early stopping may end sooner); with ``max_sequences``
        sequences the schedule converges well within it.
    max_sequences : int or None, default=8000
        Training sequences (one channel of one window) drawn at random, seeded
        by ``random_state``, from the training windows when they hold more; the
        validation sequences are capped in proportion. The target is a fixed
        closed-form function, so a few thousand sequences cover it and the
        epoch cost no longer grows with the data set. Only the chosen
        sequences are gathered; the targets' statistics still cover every
        sequence, computed a block of windows at a time, so fit holds the data
        once plus small per-sequence targets. ``None`` trains on every
        sequence (the original).
    batch_size : int, default=512
        Sequences (one channel of one window) per batch, for training and for
        ``transform``: sequences are short, so large batches keep the LSTMs busy.
    lr : float, default=1e-2
        Peak learning rate of Adam under the one-cycle schedule (the smaller
        networks of ``hidden_size=16`` take a larger step than the 3e-3 that
        suited 32; gradients are clipped per network).
    weight_decay : float, default=0.0
        Adam weight decay (the targets are deterministic: nothing to regularise).
    validation_fraction : float, default=0.1
        Fraction of the training *windows* (all their channels) held out for
        early stopping; the best validation epoch's weights are kept. ``0``
        trains for ``max_epochs`` without validation.
    patience : int, default=5
        Epochs without improvement of the validation loss before stopping
        (the one-cycle schedule rarely improves after a plateau this long).
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, shuffling, validation split and the ``max_sequences``
        subsample; the same int gives identical results on CPU with the same
        number of torch threads.
    verbose : int, default=0
        ``1`` prints skorch's per-epoch log, ``2`` adds a progress bar.

    Attributes
    ----------
    net_ : skorch.NeuralNetRegressor
        The fitted net; ``net_.module_`` is a
        :class:`~semgaug_sk.nn.fin.FeatureImitatorNet`, ``net_.history`` the log.
    module_kwargs_ : dict
        Arguments of the fitted :class:`~semgaug_sk.nn.fin.FeatureImitatorNet`;
        ``module_kwargs_["samples_per_step"]`` is what ``max_lstm_steps`` chose
        (1 for imitators saved before the option existed).
    feature_names_ : tuple of str
        The imitated features, in output order.
    degrees_ : dict
        Amplitude law of each feature (``standardize="window"``).
    centered_ : dict
        Whether each feature is normalised by the centred amplitude
        (``standardize="window"`` and the feature is in
        :data:`SHIFT_INVARIANT_FEATURES`).
    input_scale_ : float
        RMS of the training samples (raw units).
    target_mean_, target_scale_ : ndarray of shape (n_features,)
        z-scoring statistics of the (normalised) targets.
    n_channels_, n_times_ : int
        Window shape seen at fit.
    n_features_in_ : int
        ``n_channels_ * n_times_``.
    n_epochs_ : int
        Epochs trained.
    n_train_sequences_ : int
        Sequences the networks were trained on (after ``max_sequences``).
    training_interrupted_ : bool
        Whether training was interrupted (Ctrl-C); the imitator then holds the
        weights learned so far.

    See Also
    --------
    semgaug_sk.features.EMGFeatures : The closed-form features being imitated.
    FINClassifier : Imitator + CNN head, fine-tuned jointly.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(64, 2, 20)).astype(np.float32)
    >>> fin = FeatureImitator(hidden_size=8, num_layers=1, max_epochs=2, random_state=0).fit(X)
    >>> fin.transform(X).shape
    (64, 8)
    >>> fin.get_feature_names_out()[:4].tolist()
    ['ch0_rms', 'ch0_var', 'ch0_ssi', 'ch0_ent']
    """

    _parameter_constraints: dict = {
        **BaseWindowNet._parameter_constraints,
        "features": "no_validation",
        "architecture": [StrOptions({"per_feature", "shared"})],
        "hidden_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "num_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "standardize": [StrOptions({"window", "global"})],
        "entropy_density": ["boolean"],
        "max_sequences": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_lstm_steps": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }
    _noun = "imitator"
    _min_times = _MIN_TIMES
    _net_class = PortableNetRegressor
    _criterion = _FeatureSumMSE
    _optimizer = torch.optim.Adam

    def __init__(
        self,
        features=("rms", "var", "ssi", "ent"),
        *,
        architecture="per_feature",
        hidden_size=16,
        num_layers=1,
        bidirectional=True,
        standardize="window",
        entropy_density=True,
        max_lstm_steps=16,
        max_epochs=30,
        max_sequences=8000,
        batch_size=512,
        lr=1e-2,
        weight_decay=0.0,
        validation_fraction=0.1,
        patience=5,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.features = features
        self.architecture = architecture
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.standardize = standardize
        self.entropy_density = entropy_density
        self.max_lstm_steps = max_lstm_steps
        self.max_epochs = max_epochs
        self.max_sequences = max_sequences
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __setstate__(self, state):
        # pickled before max_lstm_steps existed: one sample per LSTM step, as those read
        super().__setstate__({"max_lstm_steps": None, **state})
        _with_samples_per_step(self)

    # -- fitting ---------------------------------------------------------------------------
    def _fit(self, X, y=None):
        names = _resolve(self.features, self)
        X = self._check_fit_input(X, min_times=_MIN_TIMES)
        _check_min_times(names, X.shape[2], self._who())  # names the feature that needs more
        # transform returns float32 for float32 windows, as EMGFeatures does: the same warning,
        # unless the caller (FINClassifier) reads the features in float64
        _warn_ent_uninformative(
            self,
            X,
            names,
            caller_stacklevel() + 1,
            np.float64 if X.dtype == np.float64 or _READS_FLOAT64.get() else np.float32,
            "pass float64 windows to transform (it returns float64 features for them)",
        )
        device = resolve_device(self.device)
        seed = check_random_state_seed(self.random_state)
        n, n_channels, n_times = X.shape
        window = self.standardize == "window"
        degrees = tuple(FEATURE_DEGREES.get(name, 0) if window else 0 for name in names)
        centered = tuple(window and name in SHIFT_INVARIANT_FEATURES for name in names)
        # Memory is bounded by a block of windows plus what is trained on: the targets of
        # every sequence are small (n_sequences x n_features), the float64 copies of the
        # windows exist one block at a time, and only the chosen sequences are gathered.
        # (at most _FIT_BLOCK windows, fewer when windows are large: HD-sEMG, long windows)
        per_block = max(1, min(_FIT_BLOCK, BLOCK_VALUES // (n_channels * n_times)))
        blocks = [slice(start, start + per_block) for start in range(0, n, per_block)]
        sum_sq = sum(float(np.square(_as_sequences(X[b]), dtype=np.float64).sum()) for b in blocks)
        input_scale = float(np.sqrt(sum_sq / (n * n_channels * n_times)))
        if not input_scale > 0:
            raise ValueError(
                f"{self._who()}X is identically zero; the imitator needs windows with signal. "
                "Pass the recorded windows (check the selection, or that the array was filled)."
            )
        targets = [
            self._block_targets(X[b], names, input_scale, degrees, centered, window) for b in blocks
        ]
        T = np.concatenate([normalised for normalised, _ in targets])
        raw = np.concatenate([features for _, features in targets])
        del targets
        _warn_constant_features(self, X, names, raw, caller_stacklevel() + 1)
        del raw
        target_mean = T.mean(axis=0)
        target_scale = T.std(axis=0)
        target_scale = np.where(target_scale > 0, target_scale, 1.0)

        train_w, valid_w = self._validation_split(seed=seed, n=n)
        per_window = np.arange(n_channels)
        train_idx = (train_w[:, None] * n_channels + per_window).ravel()
        valid_idx = None
        if valid_w is not None:
            valid_idx = (valid_w[:, None] * n_channels + per_window).ravel()
        train_idx, valid_idx = self._subsample_sequences(train_idx, valid_idx, seed)

        def chosen(idx):
            sequences = np.ascontiguousarray(X[idx // n_channels, idx % n_channels], np.float32)
            return sequences, ((T[idx] - target_mean) / target_scale).astype(np.float32)

        train_split = None
        if valid_idx is not None:
            train_split = predefined_split(Dataset(*chosen(valid_idx)))
        train_sequences, train_targets = chosen(train_idx)
        steps = int(np.ceil(len(train_idx) / self.batch_size)) * int(self.max_epochs)
        schedule = LRScheduler(
            policy=torch.optim.lr_scheduler.OneCycleLR,
            max_lr=float(self.lr),
            total_steps=steps,
            step_every="batch",
        )
        callbacks = self._training_callbacks(
            train_split is not None,
            extra=[("lr_schedule", schedule), ("clip", _PerNetworkClipping(1.0))],
        )
        module_kwargs = dict(
            n_features=len(names),
            n_times=n_times,
            degrees=degrees,
            input_scale=input_scale,
            target_mean=tuple(float(v) for v in target_mean),
            target_scale=tuple(float(v) for v in target_scale),
            mode=self.standardize,
            architecture=self.architecture,
            hidden_size=int(self.hidden_size),
            num_layers=int(self.num_layers),
            bidirectional=bool(self.bidirectional),
            centered=centered,
            entropy_density=window and bool(self.entropy_density),
            samples_per_step=samples_per_step_for(n_times, self.max_lstm_steps),
        )
        with torch_seed(seed):
            net = self._imitator_net(module_kwargs, device, train_split, callbacks)
            net.fit(train_sequences, train_targets)
        interrupted = interrupted_by_user(net, int(self.max_epochs))
        release_schedulers(net)
        release_training_data(net)
        self.net_ = net
        self.module_kwargs_ = module_kwargs
        self.feature_names_ = names
        self.degrees_ = dict(zip(names, degrees, strict=True))
        self.centered_ = dict(zip(names, centered, strict=True))
        self.input_scale_ = input_scale
        self.target_mean_ = target_mean
        self.target_scale_ = target_scale
        self._set_window_shape(X)
        self.n_epochs_ = len(net.history)
        self.n_train_sequences_ = int(len(train_idx))
        self.training_interrupted_ = interrupted
        return self

    @staticmethod
    def _block_targets(X_block, names, input_scale, degrees, centered, window):
        """The training targets of the sequences of a block of windows and their raw
        features, both ``(n_sequences, n_features)`` float64.

        In float64: a float32 ent (~3) carries log(n) - ent only to ~1e-7, which the
        entropy law divides by ~a^2, so low-amplitude windows would get noise as targets.
        """
        F = extract_features(X_block.astype(np.float64, copy=False), names)
        F = F.reshape(-1, len(names))
        if not window:
            return F, F
        # amplitudes of the float32 sequences the network reads
        seq64 = torch.from_numpy(_as_sequences(X_block).astype(np.float64))
        a = feature_amplitudes(seq64, input_scale, centered)
        n_times = X_block.shape[2]
        normalised = to_normalized_target(torch.from_numpy(F), a, torch.tensor(degrees), n_times)
        return normalised.numpy(), F

    def _subsample_sequences(self, train_idx, valid_idx, seed):
        """At most ``max_sequences`` training sequences, and validation capped in proportion.

        Drawn without replacement by a generator seeded with ``seed`` and kept in
        their original order; nothing changes when the windows hold few enough.
        """
        cap = self.max_sequences
        if cap is None or len(train_idx) <= cap:
            return train_idx, valid_idx
        rng = np.random.default_rng(seed)
        train_idx = np.sort(rng.choice(train_idx, int(cap), replace=False))
        if valid_idx is not None:
            frac = float(self.validation_fraction)
            n_valid = max(1, int(np.ceil(cap * frac / (1.0 - frac))))
            if len(valid_idx) > n_valid:
                valid_idx = np.sort(rng.choice(valid_idx, n_valid, replace=False))
        return train_idx, valid_idx

    def _imitator_net(self, module_kwargs, device, train_split=None, callbacks=None):
        return self._make_net(
            FeatureImitatorNet,
            device=device,
            train_split=train_split,
            callbacks=callbacks,
            **{f"module__{k}": v for k, v in module_kwargs.items()},
        )

    def _rebuild_net(self, name, device):
        _with_samples_per_step(self)  # a weights file from before max_lstm_steps
        return self._imitator_net(self.module_kwargs_, device).initialize()

    # -- inference -------------------------------------------------------------------------
    def _shape_hint(self, X):
        if X.shape[2] == self.n_times_:
            return ""
        return (
            " Features such as ssi scale with the window length, so the imitation only holds "
            "for the length seen at fit."
        )

    def _imitate_sequences(self, sequences):
        """Imitated features ``(n_sequences, n_features)`` of raw ``(n_sequences, n_times)``."""
        return self._forward_batches(self.net_.module_.features, sequences)

    def _imitate3d(self, X):
        n, c, t = X.shape
        # windows a chunk at a time, so the float32 sequences are bounded by the chunk, not
        # by X; a chunk holds a whole number of batches of sequences, so the batches, and
        # the results, are those of all of X at once
        batch = int(self.batch_size)
        per_chunk = batch * self._INPUT_CHUNK_BATCHES
        windows = max(1, per_chunk // math.lcm(batch, c)) * (math.lcm(batch, c) // c)
        parts = []
        for start in range(0, n, windows):
            block = X[start : start + windows]
            sequences = np.ascontiguousarray(block.reshape(-1, t), dtype=np.float32)
            parts.append(self._imitate_sequences(sequences).reshape(len(block), c, -1))
        return np.concatenate(parts)

    def transform(self, X):
        """Imitated features of every window and channel.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
            Windows with the shape seen at fit.

        Returns
        -------
        Z : ndarray of shape (n_windows, n_channels * n_features)
            Channel-major, as :class:`~semgaug_sk.features.EMGFeatures`:
            column ``c * n_features + j`` is feature ``j`` of channel ``c``.
            float64 input, and integer input of 32 bits or more, gives float64 output;
            other input (float32, float16, narrower integers) gives float32.
        """
        X = self._check_X(X)
        F = self._imitate3d(X).reshape(len(X), -1).astype(X.dtype, copy=False)
        # else a downstream model reads inf/NaN in silence
        self._refuse_non_finite(
            F,
            X,
            "the imitated features are",
            f"overflow the network or {F.dtype}: pass them in the same units as at fit.",
        )
        return F

    def get_feature_names_out(self, input_features=None):
        """Output column names ``ch{c}_{feature}``, channel-major (as ``EMGFeatures``).

        Parameters
        ----------
        input_features : array-like of str, optional
            Only checked for consistency with the input seen at fit (its length
            must be ``n_features_in_``), as in ``EMGFeatures``; the output names
            depend on the channels and features only.

        Returns
        -------
        names : ndarray of str, shape (n_channels_ * n_features,)
        """
        check_is_fitted(self, "net_")
        check_input_features(self, input_features)
        return np.asarray(
            [f"ch{c}_{name}" for c in range(self.n_channels_) for name in self.feature_names_],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]  # see transform
        return tags

    def r2_per_feature(self, X):
        """R² of each imitated feature against the closed-form one, in original units.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
            Windows (e.g. of held-out subjects).

        Returns
        -------
        r2 : dict
            ``{feature: R²}``, computed with :func:`sklearn.metrics.r2_score`
            over all windows and channels. A feature that is nearly constant over
            ``X`` gets an R² dominated by that tiny spread (e.g. ``ent`` of windows in
            large units such as raw ADC counts, about 0 everywhere; ``fit`` warns
            about it). A feature constant over ``X`` up to rounding (``mnf`` of
            3-sample windows is always 1/3) has no R²: it gets NaN, with a warning.
        """
        X = self._check_X(X)
        F_hat = self._imitate3d(X).astype(np.float64)
        # the reference in float64, as at fit: a float32 ent keeps log(n) - ent to ~1e-7 only
        # block by block, so the float64 copy is bounded by a block, not by X
        F = np.concatenate(
            [
                extract_features(X[b].astype(np.float64, copy=False), self.feature_names_)
                for b in row_blocks(len(X), int(np.prod(X.shape[1:])))
            ]
        )
        r2, constant = {}, []
        n_features = len(self.feature_names_)
        # a spread of a few float64 ulps is rounding, not a variance to explain: r2_score
        # would divide by it and report an R² of -1e15 for a perfect imitation
        is_constant = _constant_columns(F.reshape(-1, n_features))
        for j, name in enumerate(self.feature_names_):
            if is_constant[j]:
                r2[name] = float("nan")
                constant.append(name)
            else:
                r2[name] = float(r2_score(F[..., j].ravel(), F_hat[..., j].ravel()))
        if constant:
            warnings.warn(
                f"{self._who()}{constant} {'is' if len(constant) == 1 else 'are'} constant "
                f"over these {len(X)} windows up to rounding, so R² is undefined: NaN "
                f"(score leaves {'it' if len(constant) == 1 else 'them'} out). Score on "
                "windows over which the features vary, or drop these features.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
        return r2

    def score(self, X, y=None):
        """Mean R² over the imitated features (see :meth:`r2_per_feature`).

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
        y : None
            Ignored.

        Returns
        -------
        score : float
            NaN when no feature varies over ``X``.
        """
        r2 = np.array(list(self.r2_per_feature(X).values()))
        return float(np.mean(r2[~np.isnan(r2)])) if not np.isnan(r2).all() else float("nan")


class FINClassifier(SharedSubEstimatorParamsMixin, WindowClassifierMixin, BaseWindowNet):
    """LSTM-FIN classifier: feature imitator + CNN head, then joint fine-tuning.

    ``fit`` runs three stages on the training windows only: (1) fit or reuse the
    imitator (``imitator_``); (2) train the head on the imitated (features x
    channels) maps, compressed and standardised with training statistics, the
    imitator frozen; (3) fine-tune both end to end, keeping the result only if
    it lowers the validation loss of stage 2. Stages 2 and 3 stop early on one
    stratified validation split of the training windows. For low-latency
    prediction, train on windows cut with ``sliding_windows(..., horizon_ms=...)``.

    Parameters
    ----------
    imitator : FeatureImitator, FrozenEstimator or None, default=None
        ``None`` fits a default :class:`FeatureImitator` (on ``device``, seeded
        by ``random_state``); an unfitted one is cloned and fitted likewise. A
        fitted one (e.g. pretrained on other subjects; wrap it in
        :class:`sklearn.frozen.FrozenEstimator` to survive ``clone``) is copied
        and reused unless ``refit_imitator=True``; it must have been fitted on
        windows of the same length. The given object is never modified.
    fine_tune : bool, default=True
        Whether to run stage 3.
    head : "cnn" or callable, default="cnn"
        ``"cnn"`` is :class:`~semgaug_sk.nn.heads.FeatureMapCNN` (the original
        3-convolution CNN generalised to any channel count). A callable (e.g. an
        ``nn.Module`` subclass) is called as ``head(n_features=..., n_channels=...,
        n_classes=...)`` and must map ``(batch, n_features, n_channels)`` to logits.
    head_channels : tuple of 3 int, default=(64, 32, 32)
        Planes of the CNN's three convolutions (``head="cnn"``).
    head_dropout : float, default=0.3
        Dropout of the CNN (``head="cnn"``).
    n_shadow : int, default=0
        Noisy copies of the feature map stacked next to it (``head="cnn"``), an
        input-noise regulariser: each copy gets fresh Gaussian noise of sd
        ``shadow_noise`` at every training batch and is exact at prediction.
        Off by default: the original needed them only to build a square image.
    shadow_noise : float, default=0.05
        Noise sd of the shadow copies.
    feature_transform : {"asinh", "standard"}, default="asinh"
        ``"asinh"``: features are divided by their mean absolute training value,
        passed through ``asinh`` (log-like compression of the orders of
        magnitude spanned by rms/var/ssi) and standardised; ``"standard"``:
        standardised only (the original).
    refit_imitator : bool, default=False
        Refit a given, already fitted imitator on the training windows.
    max_epochs : int, default=40
        Upper bound on the head's epochs (stage 2). Its validation windows are
        drawn from the training repetitions, so on overlapping windows the
        validation loss keeps falling and rarely stops training early; on an
        inner split of NinaPro DB1 S10, a subject no benchmark evaluates (3
        seeds), 40 epochs scored as well as 100 (77.8% against 78.1%, 25 epochs
        78.0%, every difference inside the seed spread) at half the cost
        (``results/fin_ablation/clean/``).
    fine_tune_epochs : int, default=10
        Upper bound on the fine-tuning epochs (stage 3); fine-tuning starts
        from a trained imitator and head, so it only adjusts them.
    fine_tune_max_windows : int or None, default=1000
        Training windows of stage 3, drawn at random (seeded by
        ``random_state``, stratified by class, at least one window of every
        class) when there are more; its validation windows are capped in
        proportion the same way. Stage 3 back-propagates through the LSTMs of
        every channel, its cost per window is the highest of the three stages,
        and a small adjustment of trained networks needs few windows. On a
        sampler's output (``fit`` given the array the sampler returned), the real
        training windows are kept first and synthetic ones fill the rest. ``None``
        fine-tunes on every training window (the original).
    batch_size : int, default=64
        Windows per batch (stages 2-3 and prediction).
    lr_head : float, default=1e-3
        AdamW learning rate of the head (stages 2 and 3).
    lr_imitator : float, default=1e-4
        AdamW learning rate of the imitator during fine-tuning, below
        ``lr_head`` so that fine-tuning adjusts the imitation rather than
        overwriting it.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    validation_fraction : float, default=0.15
        Stratified fraction of the training windows held out for early
        stopping and for keeping or dropping the fine-tuning. ``0`` trains for
        the full epoch budgets. When a class cannot be held out, validation is
        skipped with a warning.
    patience : int, default=10
        Epochs without improvement of the validation loss before stopping.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``; used for every stage.
    random_state : int, RandomState instance or None, default=None
        Seeds every stage; the same int gives identical results on CPU with the same
        number of torch threads.
    verbose : int, default=0
        ``1`` prints skorch's per-epoch logs, ``2`` adds progress bars.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (any hashable; they round-trip unchanged).
    imitator_ : FeatureImitator
        The stage-1 imitator (before fine-tuning).
    net_ : skorch.NeuralNetClassifier
        The final network (:class:`~semgaug_sk.nn.heads.FINNetwork`): raw
        windows to logits.
    head_net_ : skorch.NeuralNetClassifier
        The stage-2 head training run (its ``history`` is the stage-2 log).
    fine_tuned_ : bool
        Whether the fine-tuned weights were kept.
    n_fine_tune_windows_ : int
        Training windows of stage 3 (after ``fine_tune_max_windows``; 0 when
        ``fine_tune=False``).
    training_interrupted_ : bool
        Whether training was interrupted (Ctrl-C); the classifier then holds
        what was learned so far.
    n_channels_, n_times_ : int
        Window shape seen at fit.
    n_features_in_ : int
        ``n_channels_ * n_times_``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3, 20)).astype(np.float32); y = np.repeat(["rest", "fist"], 30)
    >>> X[y == "fist", 0] *= 4.0
    >>> imitator = FeatureImitator(hidden_size=8, num_layers=1, max_epochs=2, random_state=0)
    >>> clf = FINClassifier(imitator, max_epochs=5, fine_tune_epochs=1, random_state=0).fit(X, y)
    >>> clf.predict(X[:2]).tolist(), clf.predict_proba(X).shape
    (['rest', 'rest'], (60, 2))
    """

    _parameter_constraints: dict = {
        **BaseWindowNet._parameter_constraints,
        "imitator": "no_validation",
        "fine_tune": ["boolean"],
        "head": [StrOptions({"cnn"}), callable],
        "head_channels": [tuple, list],
        "head_dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "n_shadow": [Interval(numbers.Integral, 0, None, closed="left")],
        "shadow_noise": [Interval(numbers.Real, 0, None, closed="left")],
        "feature_transform": [StrOptions({"asinh", "standard"})],
        "refit_imitator": ["boolean"],
        "fine_tune_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "fine_tune_max_windows": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "lr_head": [Interval(numbers.Real, 0, None, closed="neither")],
        "lr_imitator": [Interval(numbers.Real, 0, None, closed="left")],
    }
    _noun = "classifier"
    _min_times = _MIN_TIMES
    _weighted_nets = ("head_net_", "net_")

    def __init__(
        self,
        imitator=None,
        *,
        fine_tune=True,
        head="cnn",
        head_channels=(64, 32, 32),
        head_dropout=0.3,
        n_shadow=0,
        shadow_noise=0.05,
        feature_transform="asinh",
        refit_imitator=False,
        max_epochs=40,
        fine_tune_epochs=10,
        fine_tune_max_windows=1000,
        batch_size=64,
        lr_head=1e-3,
        lr_imitator=1e-4,
        weight_decay=1e-4,
        validation_fraction=0.15,
        patience=10,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.imitator = imitator
        self.fine_tune = fine_tune
        self.head = head
        self.head_channels = head_channels
        self.head_dropout = head_dropout
        self.n_shadow = n_shadow
        self.shadow_noise = shadow_noise
        self.feature_transform = feature_transform
        self.refit_imitator = refit_imitator
        self.max_epochs = max_epochs
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_max_windows = fine_tune_max_windows
        self.batch_size = batch_size
        self.lr_head = lr_head
        self.lr_imitator = lr_imitator
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- stage 1 ---------------------------------------------------------------------------
    def _fit_imitator(self, X, device, seed):
        token = _READS_FLOAT64.set(True)  # stage 2 reads the imitator's features in float64
        try:
            return self._fitted_imitator(X, device, seed)
        finally:
            _READS_FLOAT64.reset(token)

    def _fitted_imitator(self, X, device, seed):
        given = self.imitator
        if given is None:
            imitator = FeatureImitator(device=device, random_state=seed, verbose=self.verbose)
            return imitator.fit(X)
        inner = getattr(given, "estimator", given) if _is_frozen(given) else given
        if not isinstance(inner, FeatureImitator):
            raise TypeError(
                f"{self._who()}imitator must be a FeatureImitator (optionally wrapped in "
                f"sklearn.frozen.FrozenEstimator) or None; got {type(given).__name__}."
            )
        fitted = _is_fitted(inner)
        if fitted and not self.refit_imitator:
            # this classifier's device serves stage 1 too (the copy then moves its network)
            imitator = copy.deepcopy(inner).set_params(device=device)
            if imitator.n_times_ != X.shape[2]:
                raise ValueError(
                    f"{self._who()}the given imitator was fitted on windows of {imitator.n_times_} "
                    f"sample(s) but X has {X.shape[2]}. Cut windows of the length the imitator "
                    "was fitted on, pass an unfitted imitator, or set refit_imitator=True."
                )
            return imitator
        imitator = clone(inner).set_params(device=device)
        if imitator.random_state is None:
            imitator.set_params(random_state=seed)
        return imitator.fit(X)

    # -- stages 2-3 ------------------------------------------------------------------------
    def _no_validation_consequence(self):
        return "training for the full epoch budgets"

    def _head_builder(self):
        if self.head == "cnn":
            channels = tuple(self.head_channels)
            if len(channels) != 3 or not all(
                isinstance(c, numbers.Integral) and not isinstance(c, bool) and c >= 1
                for c in channels
            ):
                raise ValueError(
                    f"{self._who()}head_channels must hold 3 positive integers (one per "
                    f"convolution); got {self.head_channels!r}. Use e.g. head_channels=(64, 32, 32)."
                )
            kwargs = dict(
                conv_channels=tuple(int(c) for c in channels),
                dropout=float(self.head_dropout),
                n_shadow=int(self.n_shadow),
                shadow_noise=float(self.shadow_noise),
            )
            return FeatureMapCNN, kwargs
        return self.head, {}

    def _classifier(self, module, module_kwargs, train_split, max_epochs, device, **extra):
        return self._make_net(
            module,
            device=device,
            train_split=train_split,
            lr=float(self.lr_head),
            max_epochs=int(max_epochs),
            **{f"module__{k}": v for k, v in module_kwargs.items()},
            **extra,
        )

    def _check_head(self, head_cls, head_kwargs, n_features, seed):
        """Build a user's head once (seeded, then dropped) and check its logits' shape."""
        from .encoders import checked_logits

        kwargs = dict(n_features=n_features, n_channels=self.n_channels_)
        with torch_seed(seed):  # the global torch stream stays as it was
            module = head_cls(**kwargs, n_classes=len(self.classes_), **head_kwargs)
        checked_logits(
            module,
            (n_features, self.n_channels_),
            len(self.classes_),
            who="FINClassifier: the head",
            takes=f"feature maps of shape (batch, n_features, n_channels) = (batch, "
            f"{n_features}, {self.n_channels_})",
            fix="Build it from the n_features and n_channels it is called with.",
        )

    def _head_net(self, head_cls, head_kwargs, n_features, train_split, device):
        """The stage-2 net: the head alone, on frozen imitated feature maps."""
        module_kwargs = dict(
            n_features=n_features, n_channels=self.n_channels_, n_classes=len(self.classes_)
        )
        return self._classifier(
            head_cls, {**module_kwargs, **head_kwargs}, train_split, self.max_epochs, device
        )

    def _full_net(self, imitator_kwargs, head_cls, head_kwargs, stats, train_split, device):
        """The stage-3 net: raw windows to logits, imitator and head in one module."""
        ref, mean, sd = stats
        full_kwargs = dict(
            imitator_kwargs=dict(imitator_kwargs),
            head=head_cls,
            head_kwargs=head_kwargs,
            n_channels=self.n_channels_,
            n_classes=len(self.classes_),
            feature_ref=tuple(float(v) for v in ref),
            feature_mean=tuple(float(v) for v in mean),
            feature_sd=tuple(float(v) for v in sd),
            feature_transform=self.feature_transform,
        )
        return self._classifier(
            FINNetwork,
            full_kwargs,
            train_split,
            self.fine_tune_epochs,
            device,
            optimizer__param_groups=[("imitator.*", {"lr": float(self.lr_imitator)})],
        )

    def _rebuild_net(self, name, device):
        head_cls, head_kwargs = self._head_builder()
        n_features = len(self.imitator_.feature_names_)
        if name == "head_net_":
            net = self._head_net(head_cls, head_kwargs, n_features, None, device)
        else:
            ones = np.ones(
                n_features
            )  # placeholders: the stored statistics (extra state) replace them
            stats = (ones, 0 * ones, ones)
            kwargs = self.imitator_.module_kwargs_
            net = self._full_net(kwargs, head_cls, head_kwargs, stats, None, device)
        return net.initialize()

    def _fit(self, X, y):
        X, y = self._check_fit_input(X, y)
        device = resolve_device(self.device)
        seed = check_random_state_seed(self.random_state)
        y_enc = self._encode_labels(y)
        self._set_window_shape(X)
        n, n_channels, n_times = X.shape

        # stage 1: the imitator and the fixed feature standardisation
        imitator = self._fit_imitator(X, device, seed)
        # a chunk of windows at a time (a float64 X is not copied whole to float32)
        F = imitator._imitate3d(X).reshape(n * n_channels, -1).astype(np.float64)
        ref = np.mean(np.abs(F), axis=0)
        ref = np.where(ref > 0, ref, 1.0)
        C = np.arcsinh(F / ref) if self.feature_transform == "asinh" else F
        mean, sd = C.mean(axis=0), C.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        maps = ((C - mean) / sd).astype(np.float32).reshape(n, n_channels, -1).transpose(0, 2, 1)
        maps = np.ascontiguousarray(maps)

        train, valid = self._validation_split(y_enc, seed=seed)
        head_cls, head_kwargs = self._head_builder()

        # stage 2: the head on frozen imitated features
        head_split = None
        if valid is not None:
            head_split = predefined_split(Dataset(maps[valid], y_enc[valid]))
        if self.head != "cnn":  # a user's head: checked before any training
            self._check_head(head_cls, head_kwargs, F.shape[1], seed)
        with torch_seed(seed):
            head_net = self._head_net(head_cls, head_kwargs, F.shape[1], head_split, device)
            head_net.fit(maps[train], y_enc[train])
        interrupted = interrupted_by_user(head_net, int(self.max_epochs))

        # stage 3: the end-to-end network, optionally fine-tuned
        ft_train, ft_valid = self._fine_tune_windows(train, valid, y_enc, seed)
        full_split = None
        if ft_valid is not None:
            full_split = predefined_split(Dataset(X[ft_valid].astype(np.float32), y_enc[ft_valid]))
        with torch_seed(seed + 1):
            net = self._full_net(
                imitator.module_kwargs_, head_cls, head_kwargs, (ref, mean, sd), full_split, device
            )
            net.initialize()
            net.module_.imitator.load_state_dict(imitator.net_.module_.state_dict())
            net.module_.head.load_state_dict(head_net.module_.state_dict())
            fine_tuned = False
            if self.fine_tune and not interrupted:
                before = copy.deepcopy(net.module_.state_dict())
                X_train = X[ft_train].astype(np.float32)
                base_loss = None
                if ft_valid is not None:
                    base_loss = _criterion_loss(
                        net, X[ft_valid].astype(np.float32), y_enc[ft_valid]
                    )
                net.partial_fit(X_train, y_enc[ft_train])
                interrupted = interrupted_by_user(net, int(self.fine_tune_epochs))
                fine_tuned = True
                if base_loss is not None:
                    # an interrupted last epoch has no validation loss
                    losses = [row["valid_loss"] for row in net.history if "valid_loss" in row]
                    best = float(np.min(losses)) if losses else np.inf
                    if not best < base_loss:
                        net.module_.load_state_dict(before)
                        fine_tuned = False
        release_schedulers(net)
        release_training_data(head_net, net)
        self.imitator_ = imitator
        self.head_net_ = head_net
        self.net_ = net
        self.fine_tuned_ = fine_tuned
        self.n_fine_tune_windows_ = int(len(ft_train)) if self.fine_tune else 0
        self.training_interrupted_ = interrupted
        return self

    def _fine_tune_windows(self, train, valid, y_enc, seed):
        """Stage-3 training and validation windows: at most ``fine_tune_max_windows``.

        Seeded draws without replacement, stratified by class and in the original
        order; the validation windows are capped in proportion. Every class keeps
        at least one window in each part (a rare class must be fine-tuned on and
        seen by the keep-or-drop check). Unchanged when there are few enough. When
        ``fit`` was given a sampler's output, the real windows are kept first and the
        synthetic ones fill what the cap leaves (a random draw of the whole set kept
        fewer real windows than an un-augmented fit uses).
        """
        cap = self.fine_tune_max_windows
        if cap is None or len(train) <= cap:
            return train, valid
        cap = int(cap)
        provenance = current_provenance()
        if provenance is not None and provenance.n_rows == len(y_enc):
            real = train[train < provenance.n_real]
            synthetic = train[train >= provenance.n_real]
        else:
            real, synthetic = train, train[:0]
        if len(real) >= cap or not len(synthetic):
            train = _stratified_subset(real, y_enc[real], cap, seed)
        else:
            train = np.sort(
                np.concatenate(
                    [real, _stratified_subset(synthetic, y_enc[synthetic], cap - len(real), seed)]
                )
            )
        if valid is not None:
            frac = float(self.validation_fraction)
            n_valid = max(1, int(np.ceil(cap * frac / (1.0 - frac))))
            if len(valid) > n_valid:
                valid = _stratified_subset(valid, y_enc[valid], n_valid, (seed + 1) % 2**32)
        return train, valid

    def _interrupted_message(self):
        return (
            f"{self._who()}training was interrupted; the classifier is fitted with what was "
            f"learned so far (fine_tuned_={self.fine_tuned_}, training_interrupted_=True). Call "
            "fit again to train it fully."
        )

    # -- inference -------------------------------------------------------------------------
    def feature_maps(self, X):
        """Standardised (possibly fine-tuned) imitated features the head sees.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)

        Returns
        -------
        maps : ndarray of shape (n_windows, n_features, n_channels)
        """
        X = self._check_X(X)  # first: it names an unfitted classifier
        return self._forward_windows(self.net_.module_.feature_maps, X)


def _with_samples_per_step(imitator):
    """Give an imitator saved before ``max_lstm_steps`` its step size: one sample a step."""
    kwargs = getattr(imitator, "module_kwargs_", None)
    if isinstance(kwargs, dict) and "samples_per_step" not in kwargs:
        imitator.module_kwargs_ = {**kwargs, "samples_per_step": 1}


def _is_frozen(est):
    try:
        from sklearn.frozen import FrozenEstimator
    except ImportError:  # pragma: no cover - scikit-learn < 1.6
        return False
    return isinstance(est, FrozenEstimator)


def _is_fitted(est):
    try:
        check_is_fitted(est, "net_")
    except NotFittedError:
        return False
    return True


#: Windows whose float64 copies exist at once while FeatureImitator.fit computes targets.
_FIT_BLOCK = 4096


def _as_sequences(X_block):
    """Windows ``(n, channels, times)`` as float32 single-channel sequences ``(n * channels, times)``."""
    return np.ascontiguousarray(X_block.reshape(-1, X_block.shape[-1]), dtype=np.float32)


def _stratified_subset(indices, labels, n, seed):
    """``n`` of ``indices`` drawn without replacement, stratified by ``labels``, sorted.

    :func:`sklearn.utils.resample` allots each class its share; a class whose share
    rounds to 0 then gets one index, so the result may hold a few more than ``n``.
    """
    chosen = resample(indices, n_samples=n, replace=False, stratify=labels, random_state=seed)
    missing = np.setdiff1d(np.unique(labels), np.unique(labels[np.isin(indices, chosen)]))
    if len(missing):
        rng = np.random.default_rng(seed)
        extra = [rng.choice(indices[labels == c]) for c in missing]  # one per absent class
        chosen = np.concatenate([chosen, extra])
    return np.sort(chosen)


def _criterion_loss(net, X, y):
    """The net's own criterion on ``(X, y)``, as skorch computes ``valid_loss``.

    The keep-or-drop check of fine-tuning compares this with the validation
    losses of the fine-tuning epochs, so both must be the same quantity
    (``sklearn.metrics.log_loss`` clips probabilities and would not be).
    """
    with torch.no_grad():
        logits = net.forward(X, training=False, device=net.device)
        y = torch.as_tensor(y, dtype=torch.long, device=logits.device)
        return float(net.get_loss(logits, y, X=X, training=False))
