"""SemanticEncoder: a skorch-backed window classifier whose embedding guides SASG-DA.

The encoder is a classifier (``fit``, ``predict``, ``predict_proba``) and a
transformer (``transform`` returns penultimate-layer embeddings). In SASG-DA it
supplies the semantic condition of the diffusion model (SRG), the space where
GMSS and SASS sample new conditions, and the confidence filter of SASS.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import os

import numpy as np
import torch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from .base import BaseWindowNet, EmbeddingTransformerMixin, WindowClassifierMixin
from .nn.encoder import POOLINGS, ConvEncoder, reset_parameters, restrict_classifier
from .preprocessing import WindowStandardizer
from .utils.shared_params import SharedSubEstimatorParamsMixin

__all__ = ["SemanticEncoder"]


def _penultimate(module: torch.nn.Module):
    """Return a function computing the input of ``module``'s last ``nn.Linear`` layer.

    Used for custom modules that do not define ``embed``: the input of the
    final linear layer (in registration order) is taken as the embedding.
    """
    if callable(getattr(module, "embed", None)):
        return module.embed
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise TypeError(
            f"SemanticEncoder: the module {type(module).__name__} has neither an embed(x) method nor "
            "an nn.Linear layer, so its embedding is undefined. Define embed(x) returning the "
            "penultimate-layer features."
        )
    last = linears[-1]

    def embed(x):
        captured = []
        handle = last.register_forward_pre_hook(lambda _m, inputs: captured.append(inputs[0]))
        try:
            module(x)
        finally:
            handle.remove()
        return captured[-1].reshape(len(x), -1)

    return embed


#: A channel quieter than this fraction of the loudest one counts as flat (scale 1).
_FLAT_CHANNEL = 1e-8


def _checked_logits(module, n_channels, n_times, n_classes):
    """``module``, once two zero windows have shown it gives ``(batch, n_classes)`` logits.

    A user's network built for other channels, lengths or classes would otherwise fail
    inside training with torch's shape error, or, with too many outputs, train and then
    give probabilities for classes that do not exist.
    """
    return checked_logits(
        module,
        (n_channels, n_times),
        n_classes,
        who="SemanticEncoder: the module",
        takes=f"windows of {n_channels} channels x {n_times} samples",
        fix="Build it for the windows of X.",
    )


def checked_logits(module, input_shape, n_classes, *, who, takes, fix):
    """``module``, once a batch of two zero inputs of ``input_shape`` has shown that it
    gives ``(batch, n_classes)`` logits; else a ValueError that begins with ``who``.

    Parameters
    ----------
    module : torch.nn.Module
    input_shape : tuple of int
        One input's shape (without the batch).
    n_classes : int
    who, takes, fix : str
        The module's name in the message, the inputs it must take in words, and the fix
        when it cannot take them.

    Returns
    -------
    module : torch.nn.Module
        Unchanged (probed in eval mode without gradients; its mode is restored).

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 3))
    >>> checked_logits(net, (2, 3), 3, who="net", takes="2 x 3 inputs", fix="") is net
    True
    """
    probe = torch.zeros(2, *input_shape)
    was_training = module.training
    module.eval()  # no dropout draw and no batch-norm update: the weights stay as built
    try:
        with torch.no_grad():
            out = module(probe)
    except RuntimeError as exc:
        raise ValueError(f"{who} cannot take {takes} ({exc}). {fix}") from None
    finally:
        module.train(was_training)
    if isinstance(out, torch.Tensor) and tuple(out.shape) != (2, n_classes):
        raise ValueError(
            f"{who} maps 2 inputs to an output of shape {tuple(out.shape)}; it must give "
            f"logits of shape (batch, n_classes) = (2, {n_classes}) for the {n_classes} "
            f"classes of y. Give its last layer {n_classes} outputs (a module class receives "
            "n_classes=...)."
        )
    return module


def _unit_free_standardizer(X, with_mean=True):
    """Per-channel standardisation whose flat-channel test is relative to the loudest
    channel, so that windows in any units (volts: std ~1e-5, or less) are scaled alike.

    ``with_mean=False`` divides each channel by its RMS without subtracting the mean, so
    that a gain on the raw windows stays a gain at the network's input (on an envelope,
    subtracting a mean turns ``g x`` into ``g (x - m) / s + (g - 1) m / s``).
    """
    scaler = WindowStandardizer(per="channel", eps=0.0).fit(X)
    if not with_mean:  # each channel's RMS: a gain-preserving scale with unit-RMS output
        scaler.scale_ = np.hypot(scaler.mean_, scaler.scale_)
        scaler.mean_ = np.zeros_like(scaler.mean_)
    # a constant channel gets scale 1 whatever the units: leave it out of "loudest"
    varying = np.ptp(X, axis=(0, 2)) > 0
    loudest = float(np.max(scaler.scale_[varying], initial=0.0))
    scaler.scale_ = np.where(scaler.scale_ > _FLAT_CHANNEL * loudest, scaler.scale_, 1.0)
    return scaler


class SemanticEncoder(
    SharedSubEstimatorParamsMixin, WindowClassifierMixin, EmbeddingTransformerMixin, BaseWindowNet
):
    """Task-aware window encoder: a 1-D CNN classifier whose embedding is the semantic condition.

    A :class:`skorch.NeuralNetClassifier` trains the network on windows
    standardised per channel with statistics from the training windows only.
    A stratified ``validation_fraction`` of the training windows is held out
    for early stopping (the best epoch's weights are restored); no other data
    are used.

    Parameters
    ----------
    module : None, torch.nn.Module instance or class, default=None
        The network. ``None`` builds :class:`semgaug_sk.nn.encoder.ConvEncoder`
        (residual conv blocks, global mean+max pooling, a LayerNorm embedding of
        size ``embedding_dim``, a linear classifier). An instance must map
        ``(batch, n_channels, n_times)`` to logits; it is deep-copied and its
        weights re-drawn (seeded) at each fit. A class is instantiated as
        ``module(n_channels=..., n_times=..., n_classes=..., embedding_dim=...)``.
        The embedding is ``module.embed(x)`` when defined, otherwise the input
        of the module's last ``nn.Linear`` layer.
    prior : None or fitted PopulationPrior, default=None
        (A prior's file path is refused with the line that loads it:
        ``load_weights(path, estimator_type=PopulationPrior)``.)
        Transfer learning from a population
        (:class:`~semgaug_sk.augmentation.prior.PopulationPrior`): training starts
        from the prior's encoder (its architecture and weights; ``module`` and the
        architecture parameters are then unused), with the classifier rows of the
        classes seen at fit, which must be among the prior's. The windows are
        normalised like the prior's: divided by a per-channel scale, their
        channel RMS corrected for the mix of gestures they hold
        (:meth:`~semgaug_sk.augmentation.PopulationPrior.target_scale`; the plain
        channel RMS for a prior saved before ``class_power_`` existed), then the
        prior's scaler. A fitted prior is shared by ``clone``, so
        ``set_params(prior__...)`` is refused: pass another prior. The fitted
        encoder's pickle and weights file carry the prior (several MB).
        Every layer is fine-tuned at ``lr``. A smaller ``lr`` stays closer to the
        prior, but on an inner split of the training windows of DB1, Myo and UCI
        (the test repetitions never loaded) it scored 1-4 points lower
        (``benchmarks/ablate_transfer.py``).
    embedding_dim : int, default=32
        Embedding size of the default network (and of a module class): small,
        because GMSS fits one Gaussian per class in this space from few windows;
        at least 3 for the default network, whose embedding is layer-normalised.
    n_filters : int, default=64
        Width of the default network's conv blocks.
    n_blocks : int, default=3
        Conv blocks of the default network.
    kernel_size : int, default=5
        Temporal kernel of the default network (odd, so the residual blocks
        keep the window length).
    dropout : float, default=0.2
        Dropout before the default network's classifier layer.
    pooling : {"mean_max", "mean_log_energy"}, default="mean_max"
        Global pooling of the default network: each feature map's mean and maximum, or
        its mean and log-energy (EMG's log-RMS, learned).
    window_gain : bool, default=False
        The default network divides each window by its RMS and hands the log-RMS to
        its embedding, so a gain common to all electrodes moves one input. With
        this option (and with ``gain_jitter``) the windows are scaled per channel
        without subtracting their mean, so a gain on a non-zero-mean recording
        (an envelope such as NinaPro DB1's) is still a gain at the network.
    gain_jitter : float, default=0.0
        ``sigma`` of random per-channel log-gains applied while training the default
        network (0: none), for robustness to electrode gain.
    max_epochs : int, default=100
        Upper bound on training epochs (early stopping usually ends sooner).
    batch_size : int, default=64
        Mini-batch size for training and inference.
    lr : float, default=1e-3
        AdamW learning rate.
    weight_decay : float, default=1e-2
        AdamW weight decay.
    validation_fraction : float, default=0.15
        Stratified fraction of the training windows held out for early
        stopping. ``0`` trains for ``max_epochs`` without validation. When a
        class has fewer than 2 windows or the split would leave a class out of
        the training windows, validation is skipped with a warning. A class too
        small to reach the validation windows is trained on and not validated.
    patience : int, default=10
        Epochs without improvement of the validation loss before stopping.
    device : str, default="cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``. Ignored when
        ``accelerator`` is given.
    accelerator : None or accelerate.Accelerator, default=None
        Train through Hugging Face Accelerate (skorch's
        :class:`~skorch.hf.AccelerateMixin`): data-parallel training on
        several GPUs when the script is started with ``accelerate launch``,
        mixed precision, gradient accumulation, as the accelerator is
        configured. Accelerate then places the model and the batches
        (``device`` is ignored). After training, the fitted net is a plain
        skorch net on ``accelerator.device``: prediction and embedding run
        in each process on its own, without collective operations. See
        :ref:`scaling`.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling and the validation split; the same int
        gives identical results on CPU with the same number of torch threads.
    verbose : int, default=0
        ``1`` prints skorch's per-epoch log (only the main process prints when
        training with an ``accelerator``), ``2`` adds a progress bar (without
        an ``accelerator``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (any hashable type; they round-trip unchanged).
    net_ : skorch.NeuralNetClassifier
        The fitted net (``net_.module_`` is the torch module, ``net_.history``
        the training log).
    scaler_ : WindowStandardizer
        Per-channel standardisation fitted on the training windows (the prior's with
        a ``prior``).
    subject_scale_ : ndarray of shape (n_channels,) or None
        With a ``prior``: ``prior.target_scale(X, y)`` of the training windows
        (their channel RMS corrected for their class mix), which divides every
        window before ``scaler_``; None otherwise.
    embedding_dim_ : int
        Size of the embeddings returned by :meth:`transform`.
    n_channels_, n_times_ : int
        Window shape seen at fit.
    n_features_in_ : int
        ``n_channels_ * n_times_``.
    n_epochs_ : int
        Epochs actually trained.
    training_interrupted_ : bool
        Whether training was interrupted (Ctrl-C): the encoder then holds the
        weights learned so far (see :class:`~semgaug_sk.utils.training.TrainingInterrupted`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3, 16)).astype("float32"); y = np.repeat(["fist", "open"], 20)
    >>> X[y == "fist", 0] += 2.0
    >>> enc = SemanticEncoder(embedding_dim=8, max_epochs=5, random_state=0).fit(X, y)
    >>> enc.transform(X).shape, enc.predict(X[:2]).tolist()
    ((40, 8), ['fist', 'fist'])
    """

    _shared_sub_estimators = ("prior",)  # a fitted prior is shared by clone

    _parameter_constraints: dict = {
        **BaseWindowNet._parameter_constraints,
        "module": [None, torch.nn.Module, type],
        # a path is accepted here only to be refused with the way to load it (_fit)
        "prior": [None, HasMethods(["check_target", "fit"]), str, os.PathLike],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_filters": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_blocks": [Interval(numbers.Integral, 1, None, closed="left")],
        "kernel_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "pooling": [StrOptions(set(POOLINGS))],
        "window_gain": ["boolean"],
        "gain_jitter": [Interval(numbers.Real, 0, None, closed="left")],
    }
    _noun = "encoder"
    # GroupNorm needs 2 values per channel: a 1-sample window cannot be normalised
    _min_times = 2
    # the training windows keep the order of skorch's ValidSplit, so seeds give the same model
    _ordered_split = False

    def __init__(
        self,
        module=None,
        *,
        prior=None,
        embedding_dim=32,
        n_filters=64,
        n_blocks=3,
        kernel_size=5,
        dropout=0.2,
        pooling="mean_max",
        window_gain=False,
        gain_jitter=0.0,
        max_epochs=100,
        batch_size=64,
        lr=1e-3,
        weight_decay=1e-2,
        validation_fraction=0.15,
        patience=10,
        device="cpu",
        accelerator=None,
        random_state=None,
        verbose=0,
    ):
        self.module = module
        self.prior = prior
        self.embedding_dim = embedding_dim
        self.n_filters = n_filters
        self.n_blocks = n_blocks
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.pooling = pooling
        self.window_gain = window_gain
        self.gain_jitter = gain_jitter
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.accelerator = accelerator
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting ---------------------------------------------------------------------------
    def _prior_encoder(self):
        """The prior's fitted encoder, or None without a ``prior``."""
        if self.prior is None:
            return None
        source = getattr(self.prior, "encoder_", None)
        if source is None or not hasattr(source, "net_"):
            raise ValueError(
                f"SemanticEncoder: prior must be a fitted PopulationPrior; got "
                f"{type(self.prior).__name__} without a fitted encoder_. Fit it first "
                "(PopulationPrior().fit(X, y, groups=subjects)) or load it with load_weights."
            )
        return source

    def _build_module(self, n_channels, n_times, n_classes):
        source = self._prior_encoder()
        if source is not None:
            rows = np.searchsorted(source.classes_, self.classes_)
            return restrict_classifier(source.net_.module_, rows).cpu()
        if self.module is None:
            try:
                return ConvEncoder(
                    n_channels,
                    n_classes,
                    embedding_dim=self.embedding_dim,
                    n_filters=self.n_filters,
                    n_blocks=self.n_blocks,
                    kernel_size=self.kernel_size,
                    dropout=self.dropout,
                    pooling=self.pooling,
                    window_gain=self.window_gain,
                    gain_jitter=self.gain_jitter,
                )
            except ValueError as exc:  # named as the estimator the user built, not its network
                message = str(exc)
                if not message.startswith("ConvEncoder: "):
                    raise
                raise ValueError(
                    "SemanticEncoder: " + message.removeprefix("ConvEncoder: ")
                ) from None
        if isinstance(self.module, torch.nn.Module):
            module = reset_parameters(copy.deepcopy(self.module))
            return _checked_logits(module, n_channels, n_times, n_classes)
        if not issubclass(self.module, torch.nn.Module):
            raise TypeError(
                f"SemanticEncoder: module must be None, an nn.Module instance or an nn.Module "
                f"subclass; got {self.module!r}."
            )
        try:
            signature = inspect.signature(self.module).bind(
                n_channels=n_channels,
                n_times=n_times,
                n_classes=n_classes,
                embedding_dim=self.embedding_dim,
            )
        except TypeError as exc:
            if self.module is ConvEncoder:  # the library's own network: module=None builds it
                raise TypeError(
                    "SemanticEncoder: module=ConvEncoder is the library's own network, which "
                    "module=None builds from embedding_dim, n_filters, n_blocks, kernel_size, "
                    "dropout and pooling; pass module=None and set those instead."
                ) from None
            raise TypeError(
                f"SemanticEncoder: module={self.module.__name__} is built as "
                "module(n_channels=..., n_times=..., n_classes=..., embedding_dim=...), which its "
                f"__init__ does not accept ({exc}). Add those keyword arguments, or pass an "
                "instance (module=MyNet(...))."
            ) from None
        module = self.module(*signature.args, **signature.kwargs)
        return _checked_logits(module, n_channels, n_times, n_classes)

    def _fit(self, X, y):
        if isinstance(self.prior, (str, os.PathLike)):
            raise TypeError(
                f"SemanticEncoder: prior must be a fitted PopulationPrior, not a path "
                f"({str(self.prior)!r}); load it once and pass the object: "
                "prior = load_weights(path, estimator_type=PopulationPrior). (SASGAugmenter "
                "takes the path itself.)"
            )
        if self.prior is not None:
            self.prior.check_target(X, y, who="SemanticEncoder")
        elif self.module is None and self.kernel_size % 2 == 0:
            raise ValueError(
                "SemanticEncoder: kernel_size must be odd so the residual blocks keep the window "
                f"length; got {self.kernel_size}. Use 3, 5 or 7."
            )
        try:
            super()._fit(X, y)
        except TypeError as exc:
            if self.module is None or "tuple" not in str(exc):
                raise
            raise TypeError(
                "SemanticEncoder: the module's forward returned a tuple, which the training loss "
                "cannot take; return the logits alone (a tensor of shape (batch, n_classes)) "
                "and expose the embedding through an embed(x) method (without one, the input "
                f"of the last nn.Linear layer is taken). ({exc})"
            ) from None
        probe = np.zeros((1, self.n_channels_, self.n_times_), dtype=np.float32)
        embedding = self._embed(probe)
        if embedding.ndim != 2:
            raise ValueError(
                f"SemanticEncoder: the module's embedding has shape {tuple(embedding.shape)} for "
                "one window; it must be (batch, embedding_dim). Flatten it in `embed`."
            )
        self.embedding_dim_ = int(embedding.shape[1])
        return self

    def _fit_net_input(self, X, y=None):
        source = self._prior_encoder()
        if source is None:
            self.subject_scale_ = None
            # the gain options need a gain to stay a gain: no mean subtracted for them
            gain_aware = self.module is None and (self.window_gain or self.gain_jitter > 0)
            self.scaler_ = _unit_free_standardizer(X, with_mean=not gain_aware)
        else:
            # the target's RMS, corrected for the classes it recorded (PopulationPrior)
            self.subject_scale_ = self.prior.target_scale(X, y)
            self.scaler_ = copy.deepcopy(source.scaler_)
        return self._net_input(X)

    def _net_input(self, X):
        scale = getattr(self, "subject_scale_", None)
        if scale is not None:
            X = X / scale[:, None].astype(X.dtype)
        return self.scaler_.transform(X).astype(np.float32, copy=False)

    def __setstate__(self, state):
        # pickled before the EMG options existed: what those encoders did
        state = {"pooling": "mean_max", "window_gain": False, "gain_jitter": 0.0, **state}
        super().__setstate__(state)

    @property
    def _n_features_out(self):
        """Embedding size (``get_feature_names_out``: ``semanticencoder0``, ...)."""
        return self.embedding_dim_

    # -- inference -------------------------------------------------------------------------
    def _embed(self, Xs):
        embed = _penultimate(self.net_.module_)
        return self._forward_batches(embed, Xs).astype(np.float32, copy=False)

    def transform(self, X):
        """Penultimate-layer embeddings of windows.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)

        Returns
        -------
        embeddings : ndarray of shape (n_windows, embedding_dim_)
        """
        X = self._check_X(X)
        embed = _penultimate(self.net_.module_)
        return self._forward_windows(embed, X).astype(np.float32, copy=False)

    def fit_transform(self, X, y=None, **fit_params):
        """Fit on labelled windows, then return their embeddings.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
        y : array-like of shape (n_windows,)
            Required: the encoder is supervised.

        Returns
        -------
        embeddings : ndarray of shape (n_windows, embedding_dim_)
        """
        if y is None:
            raise ValueError(
                "SemanticEncoder.fit_transform: y is required, the encoder is trained as a "
                "classifier; pass the window labels."
            )
        return self.fit(X, y, **fit_params).transform(X)  # fit names an unknown keyword
