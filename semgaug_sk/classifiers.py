"""Downstream classifiers on raw windows: the networks that augmentation should help.

Two scikit-learn classifiers built on :class:`~semgaug_sk.base.BaseWindowNet`, each
around a network of :mod:`semgaug_sk.nn.downstream` with EMG's inductive biases
(window-gain normalisation, per-electrode gain jitter, log-energy pooling):

- :class:`SpatioTemporalClassifier`: temporal filters, spatial filters, log-energy
  pooling (in the spirit of STCNet and of the shallow filter-bank networks);
- :class:`ConvTransformerClassifier`: a convolutional stem and a transformer encoder
  over time (in the spirit of TDCT).

Both train for a fixed budget of ``max_epochs`` under a cosine learning-rate schedule
by default (``validation_fraction=0``), so no synthetic window and no copy of a
validation window can steer the choice of an epoch. ``min_steps`` puts a floor under
that budget in optimiser steps, so that a set of a few hundred windows trains as long as
a larger one (and an augmented set about as long as the real windows alone). With
``validation_fraction > 0`` they stop early on real windows only when the training set comes from a sampler of
this library (see :mod:`semgaug_sk.utils.provenance`).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from skorch.callbacks import LRScheduler

from .base import BaseWindowNet, EmbeddingTransformerMixin, WindowClassifierMixin
from .nn.downstream import ConvTransformerNet, SpatioTemporalConvNet
from .nn.losses import ClassWeightedCrossEntropy
from .preprocessing import channel_rms
from .utils.training import release_schedulers
from .utils.validation import warn_dc_offset

__all__ = ["ConvTransformerClassifier", "SpatioTemporalClassifier"]

_TRAINING_CONSTRAINTS = {
    "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    "gain_jitter": [Interval(numbers.Real, 0, None, closed="left")],
    "label_smoothing": [Interval(numbers.Real, 0, 1, closed="left")],
    "class_weight": [None, StrOptions({"balanced"}), dict],
    "min_steps": [None, Interval(numbers.Integral, 1, None, closed="left")],
    "input_scaling": [StrOptions({"global", "channel"})],
}


#: Windows scanned at once for the training set's RMS (bounds the float64 copy).
_RMS_CHUNK = 4096


def _class_weights(class_weight, classes, codes, who):
    """The loss weight of each of ``classes`` (float64), or None.

    ``codes``: the labels' codes ``0 .. len(classes) - 1``. A dict is read against the
    labels as they appear in ``y`` (scikit-learn's ``compute_class_weight`` would turn
    digit strings such as ``"10"`` into numbers first).
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, str):  # "balanced"
        return compute_class_weight(class_weight, classes=np.arange(len(classes)), y=codes)
    known = set(classes.tolist())
    unknown = [k for k in class_weight if k not in known]
    # scikit-learn's rule: keys of classes absent from this y are fine (a CV fold may miss
    # a class), unless some class of y has no weight, which points at a typo ("10" for 10)
    if unknown and not known <= set(class_weight):
        raise ValueError(
            f"{who}class_weight names {unknown!r}, which are not among the classes of y "
            f"({classes.tolist()!r}), while some class of y has no weight; use the labels as "
            "they appear in y. (Classes absent from y may be named once every class of y is.)"
        )

    def acceptable(v):
        return not isinstance(v, bool) and isinstance(v, numbers.Real) and np.isfinite(v) and v >= 0

    if not all(map(acceptable, class_weight.values())) or not any(
        class_weight.get(c, 1.0) > 0 for c in classes.tolist()
    ):
        raise ValueError(
            f"{who}class_weight must map labels to finite, non-negative numbers, and leave "
            f"some class a positive weight; got {class_weight!r}."
        )
    weights = np.array([float(class_weight.get(c, 1.0)) for c in classes.tolist()])
    return weights


def _signal_rms(X) -> float:
    """RMS of every sample of the windows ``X``; ``1.0`` when they are all zero.

    Accumulated in float64, chunk by chunk and relative to the peak, so neither the
    memory nor an overflow depends on the data's size or units.

    Examples
    --------
    >>> _signal_rms(np.full((2, 3, 4), -2.0)), _signal_rms(np.zeros((1, 2, 3)))
    (2.0, 1.0)
    """
    X = np.asarray(X)
    peak = max(float(X.max()), -float(X.min())) if X.size else 0.0  # no int8 -(-128)
    if not np.isfinite(peak) or peak == 0:
        return 1.0
    total = 0.0
    for start in range(0, len(X), _RMS_CHUNK):
        total += float(np.sum(np.square(X[start : start + _RMS_CHUNK] / peak, dtype=np.float64)))
    return peak * float(np.sqrt(total / X.size))


class _DownstreamNet(WindowClassifierMixin, EmbeddingTransformerMixin, BaseWindowNet):
    """Shared recipe: label smoothing, a cosine schedule over ``max_epochs``, embeddings."""

    _noun = "classifier"

    @property
    def _criterion(self):
        # absent in a model saved before class_weight: unweighted
        if getattr(self, "class_weight_", None) is None:
            return torch.nn.CrossEntropyLoss
        return ClassWeightedCrossEntropy

    def _net_kwargs(self) -> dict:
        kwargs = {**super()._net_kwargs(), "criterion__label_smoothing": self.label_smoothing}
        weight = getattr(self, "class_weight_", None)
        if weight is not None:
            kwargs["criterion__weight"] = torch.as_tensor(weight, dtype=torch.float32)
        return kwargs

    def __setstate__(self, state):
        # pickled before class_weight / min_steps / input_scaling existed: every class
        # weighed 1, the budget was max_epochs alone, and one RMS scaled every channel
        super().__setstate__(
            {"class_weight": None, "min_steps": None, "input_scaling": "global", **state}
        )

    def _epoch_budget(self, n_train):
        """``max_epochs``, raised so that ``n_train`` windows give at least ``min_steps``
        optimiser steps; kept in ``epoch_budget_``."""
        epochs = int(self.max_epochs)
        if self.min_steps is not None:
            steps_per_epoch = -(-max(int(n_train), 1) // int(self.batch_size))
            epochs = max(epochs, -(-int(self.min_steps) // steps_per_epoch))
        self.epoch_budget_ = epochs
        return epochs

    def _encode_labels(self, y):
        codes = super()._encode_labels(y)
        self.class_weight_ = _class_weights(self.class_weight, self.classes_, codes, self._who())
        return codes

    def _training_callbacks(self, has_valid, *, extra=(), accelerator=None):
        # (a model pickled before epoch_budget_ existed trained max_epochs)
        epochs = getattr(self, "epoch_budget_", int(self.max_epochs))
        schedule = LRScheduler(policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=epochs)
        return super()._training_callbacks(
            has_valid, extra=[("lr_scheduler", schedule), *extra], accelerator=accelerator
        )

    def _fit_net_input(self, X, y=None):
        warn_dc_offset(X, type(self).__name__)
        if self.input_scaling == "channel":
            self.input_rms_ = channel_rms(X)
        else:
            self.input_rms_ = _signal_rms(X)
        return self._net_input(X)

    def _net_input(self, X):
        # WindowGain's floor is absolute (1e-6 on the mean square): dividing by the
        # training windows' RMS first makes it relative, so volts and ADC codes train
        # the same network (an exact power-of-two change of units gives identical outputs).
        # The fitted scale decides, not input_scaling, so a model keeps the path it was
        # trained with. (A network saved before the input scale existed read the raw
        # windows: 1.0.)
        scale = getattr(self, "input_rms_", 1.0)
        if np.ndim(scale):  # one RMS per channel
            scale = np.asarray(scale)[:, None]
        return np.ascontiguousarray(X / scale, dtype=np.float32)

    @property
    def _n_features_out(self):
        """Embedding size (``get_feature_names_out``: ``spatiotemporalclassifier0``, ...)."""
        return self.net_.module_.embedding_dim

    def _fit(self, X, y):
        super()._fit(X, y)
        release_schedulers(self.net_)  # so a CUDA-trained model unpickles on a CPU
        return self

    def transform(self, X):
        """Penultimate-layer embeddings of windows (log-energies and log-RMS).

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)

        Returns
        -------
        embeddings : ndarray of shape (n_windows, n_embedding)
        """
        X = self._check_X(X)
        return self._forward_windows(self.net_.module_.embed, X)


class SpatioTemporalClassifier(_DownstreamNet):
    """Spatio-temporal conv net with log-energy pooling, as a scikit-learn classifier.

    Learned temporal filters, learned spatial filters per temporal filter, and the
    log-energy of each filtered signal over the window and its parts
    (:class:`~semgaug_sk.nn.downstream.SpatioTemporalConvNet`). Windows need no
    scaling, in any units: they are divided by the training windows' RMS
    (``input_rms_``), then each by its own RMS, whose log is an input of its own.
    Channels at very different gains need ``input_scaling="channel"`` (or a
    :class:`~semgaug_sk.preprocessing.WindowStandardizer` in front).

    Parameters
    ----------
    n_temporal : int, default=16
        Temporal filters: enough for a filter bank over the EMG band.
    n_spatial : int, default=2
        Spatial filters per temporal filter.
    kernel_size : int, default=9
        Temporal kernel (made odd and no longer than the window).
    n_segments : int, default=2
        Parts of the window pooled separately besides the whole (keeps coarse
        timing, e.g. onset against plateau).
    dropout : float, default=0.3
        Dropout before the classifier layer: the training sets are small.
    gain_jitter : float, default=0.1
        Log-std of the random per-electrode gain applied while training.
    label_smoothing : float, default=0.1
        Cross-entropy label smoothing: repetitions differ, so no window is certain.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn: each window's
        cross-entropy is weighted by its class's weight (the label smoothing is not), e.g.
        for a rest class recorded far longer than the gestures. ``{label: weight}``
        (classes left out weigh 1), or ``"balanced"``: ``n_windows / (n_classes *
        count)`` over every window given to ``fit``, synthetic and validation windows
        included. The validation loss that early stopping reads is weighted too. None:
        every class weighs 1. The weights are in ``class_weight_``.
    max_epochs : int, default=60
        Epochs of the cosine learning-rate schedule (the fixed training budget).
    min_steps : int or None, default=4000
        A floor on the budget in optimiser steps: when ``max_epochs`` epochs of the
        training windows give fewer, the epochs rise until they give at least
        ``min_steps`` (``epoch_budget_``). A set of a few hundred windows is then not
        under-trained, and once both sit under the floor an augmented set trains as
        many steps as the real windows alone (up to the rounding to whole epochs).
        4000 was chosen on inner repetition splits of DB1, Myo and UCI
        (``benchmarks/ablate_step_floor.py``); at ``batch_size=64`` and ``max_epochs=60``
        sets above about 4,200 windows train ``max_epochs`` alone. None: ``max_epochs``
        alone (the default before that rule; fits on small sets are then 5-15x faster).
    input_scaling : {"global", "channel"}, default="global"
        What every window is divided by before the network (``input_rms_``):
        ``"global"``, the RMS of all training samples, one number, so the channels keep
        their relative levels; ``"channel"``, each channel's training RMS
        (:func:`~semgaug_sk.preprocessing.channel_rms`), so that a channel recorded at a
        far higher gain than the others (another amplifier setting, a noisy electrode,
        a different sensor in the same array) does not drown them in the per-window
        gain. ``benchmarks/ablate_channel_scale.py`` kept ``"global"``: at the data's
        own gains the two scored alike on average on DB1, Myo and UCI, with losses of
        1-5 points for ``"channel"`` in cells that did not replicate between inner
        splits; under channel gains of 0.1-10 ``"channel"`` gained 3.7-5.6 points on
        average.
    batch_size : int, default=64
        Mini-batch size for training and inference.
    lr : float, default=3e-3
        Peak AdamW learning rate.
    weight_decay : float, default=1e-2
        AdamW weight decay.
    validation_fraction : float, default=0.0
        Fraction held out for early stopping. ``0`` trains the fixed budget, so no
        synthetic window can influence the stopping epoch.
    patience : int, default=10
        Epochs without improvement before stopping (with validation).
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling, the gain jitter and the validation split.
    verbose : int, default=0
        ``> 0`` prints skorch's per-epoch log.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of ``predict_proba``'s columns.
    net_ : skorch.NeuralNetClassifier
        The fitted net.
    n_channels_, n_times_ : int
        Window shape seen at fit.
    n_features_in_ : int
        ``n_channels_ * n_times_``, as scikit-learn counts a window's values.
    input_rms_ : float or ndarray of shape (n_channels,)
        RMS of the training windows (per channel with ``input_scaling="channel"``);
        every window is divided by it first, which makes the per-window gain's floor
        relative to the data's units.
    class_weight_ : ndarray of shape (n_classes,) or None
        The loss weight of each class of ``classes_`` (None without ``class_weight``).
    epoch_budget_ : int
        Epochs of the schedule: ``max_epochs``, or more to reach ``min_steps``.
    n_epochs_ : int
        Epochs trained.
    training_interrupted_ : bool
        Whether training was interrupted (Ctrl-C).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4, 32)).astype("float32"); y = np.repeat(["fist", "open"], 30)
    >>> X[y == "fist", 0] *= 3.0
    >>> clf = SpatioTemporalClassifier(max_epochs=15, min_steps=None, batch_size=16,
    ...                                random_state=0).fit(X, y)  # 60 steps: a quick look
    >>> clf.score(X, y) > 0.9
    True
    >>> floored = SpatioTemporalClassifier(max_epochs=15, min_steps=100, batch_size=16)
    >>> floored.fit(X, y).epoch_budget_  # 4 batches an epoch: 25 epochs reach 100 steps
    25
    """

    _parameter_constraints: dict = {
        **BaseWindowNet._parameter_constraints,
        **_TRAINING_CONSTRAINTS,
        "n_temporal": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_spatial": [Interval(numbers.Integral, 1, None, closed="left")],
        "kernel_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_segments": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_temporal=16,
        n_spatial=2,
        kernel_size=9,
        n_segments=2,
        dropout=0.3,
        gain_jitter=0.1,
        label_smoothing=0.1,
        class_weight=None,
        max_epochs=60,
        min_steps=4000,
        input_scaling="global",
        batch_size=64,
        lr=3e-3,
        weight_decay=1e-2,
        validation_fraction=0.0,
        patience=10,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.n_temporal = n_temporal
        self.n_spatial = n_spatial
        self.kernel_size = kernel_size
        self.n_segments = n_segments
        self.dropout = dropout
        self.gain_jitter = gain_jitter
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.max_epochs = max_epochs
        self.min_steps = min_steps
        self.input_scaling = input_scaling
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _build_module(self, n_channels, n_times, n_classes):
        return SpatioTemporalConvNet(
            n_channels,
            n_times,
            n_classes,
            n_temporal=self.n_temporal,
            n_spatial=self.n_spatial,
            kernel_size=self.kernel_size,
            n_segments=self.n_segments,
            dropout=self.dropout,
            gain_jitter=self.gain_jitter,
        )


class ConvTransformerClassifier(_DownstreamNet):
    """Convolutional stem + transformer encoder over time, as a scikit-learn classifier.

    (:class:`~semgaug_sk.nn.downstream.ConvTransformerNet`.) Windows need no scaling,
    in any units: they are divided by the training windows' RMS (``input_rms_``), then
    each by its own RMS, whose log is an input of its own. Channels at very different
    gains need ``input_scaling="channel"`` (or a
    :class:`~semgaug_sk.preprocessing.WindowStandardizer` in front). The transformer makes one token per sample up to
    ``max_tokens`` samples; longer windows (high sampling rates) are pooled to at
    most ``max_tokens`` tokens, so attention memory stays bounded.

    Parameters
    ----------
    d_model : int, default=48
        Token width: small, for small training sets.
    n_heads : int, default=4
        Attention heads (must divide ``d_model``).
    n_layers : int, default=2
        Transformer encoder layers.
    kernel_size : int, default=7
        Temporal kernel of the stem (made odd and no longer than the window).
    dropout : float, default=0.2
        Dropout in the transformer and before the classifier layer.
    gain_jitter : float, default=0.1
        Log-std of the random per-electrode gain applied while training.
    max_tokens : int or None, default=256
        Longest token sequence: windows longer than this are average-pooled in
        time after the stem by ``ceil(n_times / max_tokens)`` (attention memory grows
        with the square of the sequence; the count is a step function: 257 samples
        give 129 tokens). At least 2. None: one token per sample.
    label_smoothing : float, default=0.1
        Cross-entropy label smoothing: repetitions differ, so no window is certain.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn: each window's
        cross-entropy is weighted by its class's weight (the label smoothing is not), e.g.
        for a rest class recorded far longer than the gestures. ``{label: weight}``
        (classes left out weigh 1), or ``"balanced"``: ``n_windows / (n_classes *
        count)`` over every window given to ``fit``, synthetic and validation windows
        included. The validation loss that early stopping reads is weighted too. None:
        every class weighs 1. The weights are in ``class_weight_``.
    max_epochs : int, default=60
        Epochs of the cosine learning-rate schedule (the fixed training budget).
    min_steps : int or None, default=None
        A floor on the budget in optimiser steps: when ``max_epochs`` epochs of the
        training windows give fewer, the epochs rise until they give at least
        ``min_steps`` (``epoch_budget_``). A set of a few hundred windows is then not
        under-trained, and once both sit under the floor an augmented set trains as
        many steps as the real windows alone (up to the rounding to whole epochs).
        None: ``max_epochs`` alone.
    input_scaling : {"global", "channel"}, default="global"
        What every window is divided by before the network (``input_rms_``):
        ``"global"``, the RMS of all training samples, one number, so the channels keep
        their relative levels; ``"channel"``, each channel's training RMS
        (:func:`~semgaug_sk.preprocessing.channel_rms`), so that a channel recorded at a
        far higher gain than the others (another amplifier setting, a noisy electrode,
        a different sensor in the same array) does not drown them in the per-window
        gain. ``benchmarks/ablate_channel_scale.py`` kept ``"global"``: at the data's
        own gains the two scored alike on average on DB1, Myo and UCI, with losses of
        1-5 points for ``"channel"`` in cells that did not replicate between inner
        splits; under channel gains of 0.1-10 ``"channel"`` gained 3.7-5.6 points on
        average.
    batch_size : int, default=64
        Mini-batch size for training and inference.
    lr : float, default=3e-3
        Peak AdamW learning rate.
    weight_decay : float, default=1e-2
        AdamW weight decay.
    validation_fraction : float, default=0.0
        Fraction held out for early stopping. ``0`` trains the fixed budget.
    patience : int, default=10
        Epochs without improvement before stopping (with validation).
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling, dropout, the gain jitter and the split.
    verbose : int, default=0
        ``> 0`` prints skorch's per-epoch log.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of ``predict_proba``'s columns.
    net_ : skorch.NeuralNetClassifier
        The fitted net.
    n_channels_, n_times_ : int
        Window shape seen at fit.
    n_features_in_ : int
        ``n_channels_ * n_times_``, as scikit-learn counts a window's values.
    input_rms_ : float or ndarray of shape (n_channels,)
        RMS of the training windows (per channel with ``input_scaling="channel"``);
        every window is divided by it first, which makes the per-window gain's floor
        relative to the data's units.
    class_weight_ : ndarray of shape (n_classes,) or None
        The loss weight of each class of ``classes_`` (None without ``class_weight``).
    epoch_budget_ : int
        Epochs of the schedule: ``max_epochs``, or more to reach ``min_steps``.
    n_epochs_ : int
        Epochs trained.
    training_interrupted_ : bool
        Whether training was interrupted (Ctrl-C).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4, 16)).astype("float32"); y = np.repeat([0, 1], 30)
    >>> X[y == 1, 0] *= 3.0
    >>> clf = ConvTransformerClassifier(d_model=16, max_epochs=15, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **BaseWindowNet._parameter_constraints,
        **_TRAINING_CONSTRAINTS,
        "d_model": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_heads": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "kernel_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_tokens": [Interval(numbers.Integral, 2, None, closed="left"), None],
    }
    # the stem's GroupNorm needs 2 values per group, which a 1-sample window lacks when a
    # group holds one channel; attention over a single time step is no model of time anyway
    _min_times = 2

    def __init__(
        self,
        *,
        d_model=48,
        n_heads=4,
        n_layers=2,
        kernel_size=7,
        dropout=0.2,
        gain_jitter=0.1,
        max_tokens=256,
        label_smoothing=0.1,
        class_weight=None,
        max_epochs=60,
        min_steps=None,
        input_scaling="global",
        batch_size=64,
        lr=3e-3,
        weight_decay=1e-2,
        validation_fraction=0.0,
        patience=10,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.gain_jitter = gain_jitter
        self.max_tokens = max_tokens
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.max_epochs = max_epochs
        self.min_steps = min_steps
        self.input_scaling = input_scaling
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __setstate__(self, state):
        # pickled before max_tokens existed: one token per sample, as those networks had
        super().__setstate__({"max_tokens": None, **state})

    def _build_module(self, n_channels, n_times, n_classes):
        if self.d_model % self.n_heads:
            raise ValueError(
                f"ConvTransformerClassifier: n_heads={self.n_heads} must divide "
                f"d_model={self.d_model}; e.g. d_model={self.n_heads * 12}."
            )
        return ConvTransformerNet(
            n_channels,
            n_times,
            n_classes,
            d_model=self.d_model,
            n_heads=self.n_heads,
            n_layers=self.n_layers,
            kernel_size=self.kernel_size,
            dropout=self.dropout,
            gain_jitter=self.gain_jitter,
            max_tokens=self.max_tokens,
        )
