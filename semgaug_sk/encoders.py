"""SemanticEncoder: a skorch-backed window classifier whose embedding guides SASG-DA.

The encoder is a classifier (``fit``, ``predict``, ``predict_proba``) and a
transformer (``transform`` returns penultimate-layer embeddings). In SASG-DA it
supplies the semantic condition of the diffusion model (SRG), the space where
GMSS and SASS sample new conditions, and the confidence filter of SASS.
"""

from __future__ import annotations

import copy
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit
from skorch.history import History

from .nn.encoder import ConvEncoder, reset_parameters
from .persistence import fitted_attributes
from .preprocessing import WindowStandardizer
from .utils.accelerate import (
    AcceleratedNetClassifier,
    UnwrappedEarlyStopping,
    accelerate_net_kwargs,
    accelerator_device,
)
from .utils.torch_utils import fused_adam_kwargs, resolve_device, to_numpy, torch_seed
from .utils.training import TrainingInterrupted, interrupted_by_user, restore_on_failure
from .utils.validation import check_random_state_seed, check_windows, check_windows_labels

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


class SemanticEncoder(ClassifierMixin, TransformerMixin, BaseEstimator):
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
    embedding_dim : int, default=32
        Embedding size of the default network (and of a module class).
    n_filters : int, default=64
        Width of the default network's conv blocks.
    n_blocks : int, default=3
        Conv blocks of the default network.
    kernel_size : int, default=5
        Temporal kernel of the default network.
    dropout : float, default=0.2
        Dropout before the default network's classifier layer.
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
        class has fewer than 2 windows or the split would leave a class out,
        validation is skipped with a warning.
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
        gives identical results on CPU.
    verbose : int, default=0
        ``> 0`` prints skorch's per-epoch log (only the main process prints
        when training with an ``accelerator``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (any hashable type; they round-trip unchanged).
    net_ : skorch.NeuralNetClassifier
        The fitted net (``net_.module_`` is the torch module, ``net_.history``
        the training log).
    scaler_ : WindowStandardizer
        Per-channel standardisation fitted on the training windows.
    embedding_dim_ : int
        Size of the embeddings returned by :meth:`transform`.
    n_channels_, n_times_ : int
        Window shape seen at fit.
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

    _parameter_constraints: dict = {
        "module": [None, torch.nn.Module, type],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_filters": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_blocks": [Interval(numbers.Integral, 1, None, closed="left")],
        "kernel_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "patience": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "accelerator": [None, HasMethods(["prepare", "unwrap_model", "reduce"])],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        module=None,
        *,
        embedding_dim=32,
        n_filters=64,
        n_blocks=3,
        kernel_size=5,
        dropout=0.2,
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
        self.embedding_dim = embedding_dim
        self.n_filters = n_filters
        self.n_blocks = n_blocks
        self.kernel_size = kernel_size
        self.dropout = dropout
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
    def _build_module(self, n_channels, n_times, n_classes):
        if self.module is None:
            return ConvEncoder(
                n_channels,
                n_classes,
                embedding_dim=self.embedding_dim,
                n_filters=self.n_filters,
                n_blocks=self.n_blocks,
                kernel_size=self.kernel_size,
                dropout=self.dropout,
            )
        if isinstance(self.module, torch.nn.Module):
            return reset_parameters(copy.deepcopy(self.module))
        if not issubclass(self.module, torch.nn.Module):
            raise TypeError(
                f"SemanticEncoder: module must be None, an nn.Module instance or an nn.Module "
                f"subclass; got {self.module!r}."
            )
        return self.module(
            n_channels=n_channels,
            n_times=n_times,
            n_classes=n_classes,
            embedding_dim=self.embedding_dim,
        )

    def _train_split(self, y_enc, seed):
        """skorch ValidSplit when a stratified hold-out is possible, else None (with a warning)."""
        frac = float(self.validation_fraction)
        if frac == 0:
            return None
        counts = np.bincount(y_enc)
        n, n_classes = len(y_enc), len(counts)
        n_valid = int(np.ceil(frac * n))
        if counts.min() < 2 or n_valid < n_classes or n - n_valid < n_classes:
            warnings.warn(
                f"SemanticEncoder: validation_fraction={frac} cannot hold out every class "
                f"({n} windows, {n_classes} classes, smallest class {counts.min()}); training for "
                f"max_epochs={self.max_epochs} without early stopping. Pass more windows or "
                "validation_fraction=0 to silence this.",
                UserWarning,
                stacklevel=3,
            )
            return None
        return ValidSplit(cv=frac, stratified=True, random_state=seed)

    def _make_net(
        self, module, n_classes, *, device, train_split=None, callbacks=(), accelerator=None
    ):
        """The skorch net around ``module`` (accelerated when ``accelerator`` is given)."""
        cls, kwargs = NeuralNetClassifier, {"device": device}
        if accelerator is not None:
            cls, kwargs = (
                AcceleratedNetClassifier,
                accelerate_net_kwargs(accelerator, self.verbose),
            )
        return cls(
            module,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.AdamW,
            **fused_adam_kwargs(device if accelerator is None else accelerator.device),
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            train_split=train_split,
            callbacks=list(callbacks),
            classes=np.arange(n_classes),
            iterator_train__shuffle=True,
            verbose=int(self.verbose),
            **kwargs,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the encoder on labelled windows.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
            Training windows.
        y : array-like of shape (n_windows,)
            Labels of any hashable type (at least 2 classes).

        Returns
        -------
        self : SemanticEncoder

        Raises
        ------
        TrainingInterrupted
            When training is interrupted (Ctrl-C): the encoder is then fitted
            with the weights learned so far and ``training_interrupted_`` is
            True. Any other failure leaves the encoder as it was before ``fit``.
        """
        with restore_on_failure(self):
            return self._fit(X, y)

    def _fit(self, X, y):
        # GroupNorm needs 2 values per channel: a 1-sample window cannot be normalised
        X, y = check_windows_labels(X, y, min_classes=2, min_times=2, estimator=self)
        if self.module is None and self.kernel_size % 2 == 0:
            raise ValueError(
                "SemanticEncoder: kernel_size must be odd so the residual blocks keep the window "
                f"length; got {self.kernel_size}. Use 3, 5 or 7."
            )
        check_classification_targets(y)
        accelerator = self.accelerator
        device = resolve_device(self.device) if accelerator is None else None
        seed = check_random_state_seed(self.random_state)
        encoder = LabelEncoder().fit(y)
        y_enc = encoder.transform(y).astype(np.int64)
        self.classes_ = encoder.classes_
        self.scaler_ = WindowStandardizer(per="channel").fit(X)
        Xs = self.scaler_.transform(X).astype(np.float32, copy=False)
        n_classes = len(self.classes_)
        train_split = self._train_split(y_enc, seed)
        callbacks = []
        if train_split is not None:
            stopping = EarlyStopping if accelerator is None else UnwrappedEarlyStopping
            callbacks.append(("early_stopping", stopping(patience=self.patience, load_best=True)))
        with torch_seed(seed):
            module = self._build_module(X.shape[1], X.shape[2], n_classes)
            net = self._make_net(
                module,
                n_classes,
                device=device,
                train_split=train_split,
                callbacks=callbacks,
                accelerator=accelerator,
            )
            net.fit(Xs, y_enc)
        interrupted = interrupted_by_user(net, self.max_epochs)
        if accelerator is not None:
            net = self._serving_net(net, n_classes, accelerator_device(accelerator))
        self.net_ = net
        self.n_channels_, self.n_times_ = X.shape[1], X.shape[2]
        self.n_epochs_ = len(net.history)
        self.embedding_dim_ = int(self._embed(Xs[:1]).shape[1])
        self.training_interrupted_ = interrupted
        if interrupted:
            raise TrainingInterrupted(
                f"SemanticEncoder: training was interrupted in epoch {self.n_epochs_} of "
                f"{self.max_epochs}; the encoder is fitted with the weights learned so far "
                "(training_interrupted_=True). Call fit again to train it fully.",
                estimator=self,
            )
        return self

    def _serving_net(self, net, n_classes, device):
        """A plain skorch net holding ``net``'s trained (unwrapped) module and history.

        Prediction then runs in each process on its own: an accelerated net
        would shard the windows over the processes and gather the results.
        """
        module = net.accelerator.unwrap_model(net.module_, keep_fp32_wrapper=False)
        plain = self._make_net(module, n_classes, device=device).initialize()
        plain.history = net.history
        return plain

    # -- inference -------------------------------------------------------------------------
    def _prepare(self, X):
        check_is_fitted(self, "net_")
        X = check_windows(X, estimator=self)
        if X.shape[1:] != (self.n_channels_, self.n_times_):
            raise ValueError(
                f"SemanticEncoder: X has windows of shape {X.shape[1:]}, but the encoder was fitted "
                f"on ({self.n_channels_}, {self.n_times_}). Use the same channels and window "
                "length, or refit."
            )
        return self.scaler_.transform(X).astype(np.float32, copy=False)

    def _embed(self, Xs):
        module = self.net_.module_
        embed = _penultimate(module)
        device = self.net_.device
        was_training = module.training
        module.eval()
        out = []
        try:
            with torch.no_grad():
                for batch in torch.split(torch.from_numpy(Xs), self.batch_size):
                    out.append(to_numpy(embed(batch.to(device))))
        finally:
            module.train(was_training)
        return np.concatenate(out).astype(np.float32, copy=False)

    def predict_proba(self, X):
        """Class probabilities of windows.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)

        Returns
        -------
        proba : ndarray of shape (n_windows, n_classes)
            Columns follow ``classes_``.
        """
        Xs = self._prepare(X)
        return self.net_.predict_proba(Xs)

    def predict(self, X):
        """Predicted labels of windows.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)

        Returns
        -------
        y_pred : ndarray of shape (n_windows,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def transform(self, X):
        """Penultimate-layer embeddings of windows.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)

        Returns
        -------
        embeddings : ndarray of shape (n_windows, embedding_dim_)
        """
        return self._embed(self._prepare(X))

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
        return self.fit(X, y).transform(X)

    # -- weights-only persistence (see semgaug_sk.persistence) ------------------------------
    def _get_weights_state(self):
        """Fitted state as tensors and plain data: the net becomes its weights and history."""
        state = fitted_attributes(self)
        state["net_"] = {
            "module": self.net_.module_.state_dict(),
            "history": list(self.net_.history),
        }
        return state

    def _set_weights_state(self, state, *, device):
        """Rebuild the fitted encoder from :meth:`_get_weights_state`'s output on ``device``."""
        state = dict(state)
        net_state = state.pop("net_")
        vars(self).update(state)
        n_classes = len(self.classes_)
        with torch_seed(0):  # initial weights are overwritten below; the caller's RNG is left alone
            module = self._build_module(self.n_channels_, self.n_times_, n_classes)
        net = self._make_net(module, n_classes, device=device).initialize()
        net.module_.load_state_dict(net_state["module"])
        net.history = History(net_state["history"])
        self.net_ = net

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = False
        tags.target_tags.required = True
        return tags
