"""One base for the skorch-backed estimators on raw windows.

:class:`BaseWindowNet` holds the plumbing every such estimator needs: input checks at
fit and at prediction, the validation split, the skorch net factory and device handling
(Hugging Face Accelerate included), batched inference with memory bounded by the batch
size, interruption and restore, scikit-learn tags for 3-D input, weights-only state and
CUDA-to-CPU unpickling. :class:`WindowClassifierMixin` adds label round-tripping,
``predict``/``predict_proba``/``score`` and the standard recipe that trains one network.

A new classifier on raw windows writes its parameters and one method::

    class MyNetClassifier(WindowClassifierMixin, BaseWindowNet):
        _noun = "classifier"

        def __init__(self, *, n_filters=16, max_epochs=100, batch_size=64, lr=1e-3,
                     weight_decay=1e-2, validation_fraction=0.15, patience=10,
                     device="cpu", random_state=None, verbose=0):
            ...  # store every parameter unchanged

        def _build_module(self, n_channels, n_times, n_classes):
            return MyNet(n_channels, n_times, n_classes, n_filters=self.n_filters)

Estimators with several stages or other targets (the LSTM-FIN imitator and classifier)
override ``_fit`` and call the pieces they need.
"""

from __future__ import annotations

import copy
import numbers
import re
import warnings

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.metrics import accuracy_score
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping, PrintLog, ProgressBar
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from skorch.history import History
from skorch.utils import to_device
from torch.utils.data import Subset

from .persistence import fitted_attributes
from .utils.accelerate import (
    AcceleratedNetClassifier,
    UnwrappedEarlyStopping,
    accelerate_net_kwargs,
    accelerator_device,
    check_accelerator_instance,
)
from .utils.portable_nets import PortableNetClassifier
from .utils.progress import ContextSinkMixin, epoch_log_stream
from .utils.provenance import current_provenance, fitting_on, warn_if_record_dropped
from .utils.torch_utils import (
    CPUFallbackOwner,
    cpu_fallback_state,
    fused_adam_kwargs,
    pickle_on_any_device,
    resolve_device,
    to_numpy,
    torch_seed,
)
from .utils.training import (
    TrainingInterrupted,
    interrupted_by_user,
    release_training_data,
    restore_on_failure,
)
from .utils.validation import (
    RefuseBoolNumbersMixin,
    caller_stacklevel,
    check_labels,
    check_random_state_seed,
    check_sample_weight,
    check_windows,
    check_windows_labels,
)

__all__ = ["BaseWindowNet", "WindowClassifierMixin", "forward_in_batches"]


def forward_in_batches(fn, X, *, batch_size, device, module=None):
    """Apply a torch function to ``X`` batch by batch, without gradients.

    Only one batch of inputs and outputs is on ``device`` at a time, so the memory
    the network uses is bounded by ``batch_size``, not by ``len(X)``.

    Parameters
    ----------
    fn : callable
        Maps a tensor batch ``(b, ...)`` to a tensor ``(b, ...)``.
    X : ndarray of shape (n, ...)
        Inputs (float32); must hold at least one row.
    batch_size : int
        Rows per batch.
    device : str or torch.device
        Where each batch is computed.
    module : torch.nn.Module, optional
        Put in evaluation mode, and left there, as skorch's own inference does
        (training sets the mode it needs). Restoring a training mode afterwards
        made calls from several threads switch dropout back on under each other.

    Returns
    -------
    out : ndarray of shape (n, ...)

    Examples
    --------
    >>> import numpy as np, torch
    >>> forward_in_batches(torch.square, np.arange(5, dtype="float32"), batch_size=2,
    ...                    device="cpu").tolist()
    [0.0, 1.0, 4.0, 9.0, 16.0]
    """
    if module is not None and module.training:
        module.eval()
    out = []
    with torch.no_grad():
        for start in range(0, max(len(X), 1), int(batch_size)):  # no windows: one empty batch
            batch = np.ascontiguousarray(X[start : start + int(batch_size)])
            if not batch.flags.writeable:  # read-only input (a memmap, a frozen array)
                batch = batch.copy()  # torch.from_numpy warns on it; one batch at a time
            out.append(to_numpy(fn(torch.from_numpy(batch).to(device))))
    return np.concatenate(out)


#: Parameters that only train a network or say where and how loudly it runs: a weights
#: file records them as they are now, even when they changed since fit.
_TRAINING_ONLY_PARAMS = frozenset(
    {
        "accelerator",
        "batch_size",
        "class_weight",
        "device",
        "fine_tune",
        "fine_tune_epochs",
        "fine_tune_max_windows",
        "imitator",  # FINClassifier rebuilds from its fitted imitator_
        "label_smoothing",
        "lr",
        "lr_head",
        "lr_imitator",
        "max_epochs",
        "max_sequences",
        "min_steps",
        "patience",
        "random_state",
        "refit_imitator",
        "validation_fraction",
        "verbose",
        "weight_decay",
    }
)


class PlainPrintLog(ContextSinkMixin, PrintLog):
    """skorch's epoch table, with its colour codes only when it is written to a terminal.

    skorch colours the best value of each column with ANSI escape codes; in a log file
    or a notebook's captured output they are noise (``^[[36m1.19^[[0m``). With the
    default ``sink=print`` the table goes to :func:`~semgaug_sk.utils.progress.epoch_log_stream`
    (stdout unless :func:`~semgaug_sk.utils.progress.epoch_logs_to` names another stream).

    Examples
    --------
    >>> PlainPrintLog().format_row({"loss": 1.5, "loss_best": True}, "loss", "\x1b[36m")
    '1.5000'
    """

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not _writes_to_terminal(self.sink):
            text = _ANSI_CODE.sub("", text)
        return text


class PlainEarlyStopping(ContextSinkMixin, EarlyStopping):
    """skorch's ``EarlyStopping`` whose messages go where the epoch table goes.

    Examples
    --------
    >>> PlainEarlyStopping(patience=3).patience
    3
    """


_ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")


def _writes_to_terminal(sink):
    """Whether ``sink`` (``print`` or a file's ``write``) ends in a terminal."""
    stream = getattr(sink, "__self__", None) if sink is not print else epoch_log_stream()
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed stream
        return False


class BaseWindowNet(CPUFallbackOwner, RefuseBoolNumbersMixin, BaseEstimator):
    """Base of the skorch-backed estimators on windows ``(n_windows, n_channels, n_times)``.

    Not an estimator by itself. A subclass declares its parameters in ``__init__``
    (scikit-learn stores them unchanged) and implements ``_fit(X, y)``, or, through
    :class:`WindowClassifierMixin`, only ``_build_module``. The base reads these
    parameters when the subclass has them: ``max_epochs``, ``batch_size``, ``lr``,
    ``weight_decay``, ``validation_fraction``, ``patience``, ``device``, ``random_state``,
    ``verbose`` and, optionally, ``accelerator``.

    Class attributes a subclass may set:

    - ``_noun``: what messages call the estimator ("the encoder was fitted on ...");
    - ``_min_times``: the shortest window (samples) it accepts;
    - ``_net_class``, ``_criterion``, ``_optimizer``: the skorch net, its loss and
      its optimizer (default: a classifier, cross-entropy, AdamW);
    - ``_weighted_nets``: the fitted attributes holding skorch nets, stored as weights
      by :func:`~semgaug_sk.persistence.save_weights` (default ``("net_",)``).

    Hooks a subclass may override: ``_build_module(n_channels, n_times, n_classes)``,
    ``_fit_net_input(X)`` / ``_net_input(X)`` (what the network reads),
    ``_rebuild_net(name, device)`` (a net of the fitted architecture, for loading
    weights), ``_shape_hint(X)``, ``_no_validation_consequence()`` and
    ``_interrupted_message()``.
    """

    _noun = "estimator"
    _min_times = 1
    _supervised = False
    _net_class = PortableNetClassifier
    _criterion = torch.nn.CrossEntropyLoss
    _optimizer = torch.optim.AdamW
    _weighted_nets = ("net_",)
    #: Whether the training windows keep their order after the validation split (False:
    #: the splitter's order, as skorch's ``ValidSplit`` gives).
    _ordered_split = True

    #: Constraints of the parameters the base reads; subclasses extend them.
    _parameter_constraints: dict = {
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

    # -- fit: the interruption contract ----------------------------------------------------
    # False: the estimators a user passes in (an encoder, an imitator, a composed part)
    # check their parameters when fitted inside, as on their own
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **fit_params):
        """Train on windows.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
            Training windows.
        y : array-like of shape (n_windows,) or None
            Labels of any hashable type (at least 2 classes) for a classifier;
            ignored by an unsupervised estimator.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        TrainingInterrupted
            When the last training stage is interrupted (Ctrl-C): the estimator is
            then fitted with what it learned so far (the best weights under early
            stopping) and ``training_interrupted_`` is True. An interrupt in an
            earlier stage, or any other failure, leaves the estimator as it was
            before ``fit``.
        """
        if fit_params:  # a keyword the network would ignore (sample_weight, a typo)
            weights = (
                " Per-class weights: class_weight=." if "class_weight" in self.get_params() else ""
            )
            raise TypeError(
                f"{type(self).__name__}.fit got unexpected keyword argument(s) "
                f"{sorted(fit_params)!r}: it takes only X and y. Per-window weights are not "
                f"supported.{weights} To weigh a class up, augment it more "
                "(sampling_strategy of a sampler before it)."
            )
        with restore_on_failure(self), fitting_on(X):
            # with the labels as given, if any; bad X is left to _fit's checks and messages
            if float(self.validation_fraction) > 0 and hasattr(X, "__len__"):
                warn_if_record_dropped(
                    self,
                    len(X),
                    current_provenance(),
                    "Early stopping then validates on a plain split that may hold synthetic "
                    "windows and copies of training ones.",
                    ", or set validation_fraction=0",
                    labels=y,
                )
            self._fit(X, y)
            self._record_params_at_fit()
            if self.training_interrupted_:
                raise TrainingInterrupted(self._interrupted_message(), estimator=self)
        return self

    def _fit(self, X, y):
        """Train and set the fitted attributes, ``training_interrupted_`` included."""
        raise NotImplementedError(f"{type(self).__name__} must implement _fit(X, y).")

    def _build_module(self, n_channels, n_times, n_classes):
        """The torch module to train: maps ``(batch, n_channels, n_times)`` to outputs."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement _build_module(n_channels, n_times, n_classes)."
        )

    def _who(self) -> str:
        return f"{type(self).__name__}: "

    def _interrupted_message(self) -> str:
        return (
            f"{self._who()}training was interrupted in epoch {self.n_epochs_} of "
            f"{getattr(self, 'epoch_budget_', self.max_epochs)}; the {self._noun} is fitted with "
            "the weights learned so far (training_interrupted_=True). Call fit again to train it "
            "fully."
        )

    # -- input checks ----------------------------------------------------------------------
    def _check_fit_input(self, X, y=None, *, min_times=None):
        """Validated training windows (and labels, for a supervised estimator)."""
        min_times = self._min_times if min_times is None else min_times
        if not self._supervised:
            return check_windows(X, min_times=min_times, estimator=self)
        X, y = check_windows_labels(X, y, min_classes=2, min_times=min_times, estimator=self)
        check_classification_targets(y)
        return X, y

    def _check_X(self, X):
        """Validated windows of the shape seen at fit (their dtype is kept)."""
        check_is_fitted(self, "net_")
        X = check_windows(X, min_times=self._min_times, estimator=self)
        if X.shape[1:] != (self.n_channels_, self.n_times_):
            raise ValueError(
                f"{self._who()}X has windows of shape {X.shape[1:]} (channels, samples), but "
                f"the {self._noun} was fitted on ({self.n_channels_}, {self.n_times_}). Use the "
                f"same channels and window length, or refit.{self._shape_hint(X)}"
            )
        return X

    def _shape_hint(self, X) -> str:
        """More on a window shape that differs from fit (appended to the message)."""
        return ""

    def _fit_net_input(self, X, y=None):
        """What the network reads at fit: fits any input scaling, then ``_net_input``."""
        return self._net_input(X)

    def _net_input(self, X):
        """What the network reads for checked windows ``X``."""
        return np.ascontiguousarray(X, dtype=np.float32)

    def _set_window_shape(self, X):
        self.n_channels_, self.n_times_ = int(X.shape[1]), int(X.shape[2])
        self.n_features_in_ = self.n_channels_ * self.n_times_

    # -- validation split ------------------------------------------------------------------
    def _validation_split(self, y=None, *, seed, n=None):
        """Train and validation indices, or ``(all, None)`` without validation.

        Stratified on ``y`` when labels are given (then skipped, with a warning, when
        a class cannot be held out), otherwise a plain shuffle split of ``n`` items.
        The indices are sorted unless ``_ordered_split`` is False.

        When ``fit`` was given the very array a sampler of this library returned (see
        :mod:`semgaug_sk.utils.provenance`), only real windows are held out, and the
        synthetic windows made from a held-out window are dropped from training: the
        stopping epoch is chosen on real windows the network is not trained on, nor on
        copies of them. Two links remain. Sliding windows that overlap share samples
        with their training neighbours (a random split; a blocked one measured no
        better: ``results/README.md``, "Does early stopping on overlapping windows cost the guide?"),
        and a generative sampler (SASG) was fitted on every real window, held-out ones
        included, so its synthetic windows (source -1) may carry some of them.
        """
        n = len(y) if y is not None else int(n)
        provenance = current_provenance()
        if provenance is None or provenance.n_rows != n or float(self.validation_fraction) == 0:
            return self._plain_split(y, seed=seed, n=n)
        n_real = provenance.n_real
        train, valid = self._plain_split(
            None if y is None else y[:n_real], seed=seed, n=n_real, given=n
        )
        if valid is None:
            return np.arange(n), None
        # the real rows keep the plain split's order, so a set recorded as all real trains
        # exactly as the same set without a record
        excluded = np.zeros(n, dtype=bool)
        excluded[provenance.rows_made_from(valid)] = True
        return np.concatenate([train, n_real + np.flatnonzero(~excluded[n_real:])]), valid

    def _plain_split(self, y=None, *, seed, n, given=None):
        """A random (stratified with ``y``) split of ``n`` windows; ``given``: the windows
        ``fit`` received, when only ``n`` of them (the real ones) may be held out."""
        frac = float(self.validation_fraction)
        if frac == 0:
            return np.arange(n), None
        n_valid = int(np.ceil(frac * n))
        windows = (
            f"{n} windows"
            if given is None or given == n
            else f"{n} real windows of the {given} given: only real ones are held out"
        )
        if y is None:
            problem = None
            if n - n_valid < 1:
                problem = f"leaves no training window out of {windows}"
            splitter = ShuffleSplit(n_splits=1, test_size=n_valid, random_state=seed)
        else:
            counts = np.bincount(y)
            n_classes = len(counts)
            problem = None
            if n - n_valid < n_classes:
                problem = (
                    f"leaves {n - n_valid} training window(s) for {n_classes} classes; pass a "
                    "smaller validation_fraction,"
                )
            elif counts.min() < 2 or n_valid < n_classes:
                problem = (
                    f"cannot hold out every class ({windows}; {n_classes} classes, smallest "
                    f"class {counts.min()})"
                )
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=n_valid, random_state=seed)
            if problem is None:
                # the totals can allow a split whose rounding still leaves a small class
                # out of training (a large validation_fraction): it would never be learned.
                # A class too small to reach the validation side is simply validated on the
                # others, as early stopping needs no more.
                train, _ = next(splitter.split(np.zeros(n), y))
                left_out = np.flatnonzero(np.bincount(y[train], minlength=n_classes) == 0)
                if len(left_out):
                    problem = (
                        f"would leave {len(left_out)} class(es) out of the training windows "
                        f"(class sizes {counts[left_out].tolist()})"
                    )
        if problem is not None:
            warnings.warn(
                f"{self._who()}validation_fraction={frac} {problem}; "
                f"{self._no_validation_consequence()} without early stopping. Pass more windows "
                "or validation_fraction=0 to silence this.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
            return np.arange(n), None
        train, valid = next(splitter.split(np.zeros(n), y))
        if self._ordered_split:
            train, valid = np.sort(train), np.sort(valid)
        return train, valid

    def _no_validation_consequence(self) -> str:
        return f"training for max_epochs={self.max_epochs}"

    # -- the skorch net --------------------------------------------------------------------
    def _training_callbacks(self, has_valid, *, extra=(), accelerator=None):
        """``extra``, then early stopping (with validation) and a progress bar (``verbose >= 2``)."""
        callbacks = list(extra)
        if has_valid:
            stopping = PlainEarlyStopping if accelerator is None else UnwrappedEarlyStopping
            callbacks.append(("early_stopping", stopping(patience=self.patience, load_best=True)))
        if int(self.verbose) >= 2 and accelerator is None:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks

    def _net_kwargs(self) -> dict:
        """Extra skorch arguments of every net of this estimator."""
        return {}

    def _make_net(
        self, module, *, device, train_split=None, callbacks=None, accelerator=None, **overrides
    ):
        """The skorch net around ``module``, trained through ``accelerator`` when given.

        ``overrides`` are skorch arguments (``lr=``, ``max_epochs=``, ``module__...``,
        ``optimizer__...``) that replace the defaults read from the parameters.
        """
        net_class, kwargs = self._net_class, {"device": device}
        if accelerator is not None:
            if not issubclass(net_class, NeuralNetClassifier):
                raise TypeError(
                    f"{self._who()}training through an accelerator is available for classifier "
                    "nets only; pass accelerator=None."
                )
            net_class = AcceleratedNetClassifier
            kwargs = accelerate_net_kwargs(accelerator, self.verbose)
        if callbacks is None:
            callbacks = self._training_callbacks(train_split is not None, accelerator=accelerator)
        settings = dict(
            criterion=self._criterion,
            optimizer=self._optimizer,
            optimizer__weight_decay=float(self.weight_decay),
            **fused_adam_kwargs(device if accelerator is None else accelerator.device),
            batch_size=int(self.batch_size),
            max_epochs=int(self.max_epochs),
            train_split=train_split,
            callbacks=list(callbacks),
            iterator_train__shuffle=True,
            verbose=int(self.verbose),
            callbacks__print_log=PlainPrintLog(),  # skorch's table, coloured on terminals only
            **self._net_kwargs(),
            **kwargs,
        )
        if hasattr(self, "lr"):
            settings["lr"] = float(self.lr)
        settings.update(overrides)
        # a module instance stays on the net as `module`: pickled like `module_`, it
        # loads on a CPU-only machine when trained on CUDA
        return pickle_on_any_device(net_class(module, **settings), "module")

    def _serving_net(self, net, device):
        """A plain skorch net holding ``net``'s trained (unwrapped) module and history.

        Prediction then runs in each process on its own: an accelerated net would
        shard the windows over the processes and gather the results.
        """
        module = net.accelerator.unwrap_model(net.module_, keep_fp32_wrapper=False)
        plain = self._make_net(module, device=device).initialize()
        plain.history = net.history
        return plain

    def _train_one_net(self, module_builder, X, y, *, device, seed, accelerator=None):
        """Fit one net on ``(X, y)`` with the validation split: ``(net, interrupted)``.

        ``module_builder()`` runs under the seed, so the initial weights are seeded.
        """
        train, valid = self._validation_split(y if self._supervised else None, seed=seed, n=len(X))
        epochs = self._epoch_budget(len(train))
        train_split = None
        if valid is not None:
            # index views of one Dataset: X[train] and X[valid] would copy the whole set.
            # The labels go along (skorch would otherwise gather X[train] to find them).
            data = Dataset(X, y)
            train_split = predefined_split(Subset(data, valid))
            X, y = Subset(data, train), y[train]
        with torch_seed(seed):
            net = self._make_net(
                module_builder(),
                device=device,
                train_split=train_split,
                accelerator=accelerator,
                max_epochs=epochs,
            )
            net.fit(X, y)
        release_training_data(net)
        interrupted = interrupted_by_user(net, epochs)
        if accelerator is not None:
            net = self._serving_net(net, accelerator_device(accelerator))
        return net, interrupted

    def _epoch_budget(self, n_train):
        """Epochs to train on ``n_train`` windows: ``max_epochs`` (a subclass may raise it)."""
        return int(self.max_epochs)

    # -- inference -------------------------------------------------------------------------
    def _forward_batches(self, fn, X):
        """``fn`` over ``X`` in batches of ``batch_size`` on the estimator's ``device``."""
        return forward_in_batches(
            fn,
            X,
            batch_size=self._inference_batch_size(),
            device=self._serving_device(),
            module=self.net_.module_,
        )

    def _inference_batch_size(self):
        """``batch_size`` as set now: set_params after fit is not validated until it is used."""
        batch_size = self.batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            batch_size = -1
        if batch_size < 1:
            raise ValueError(
                f"{self._who()}batch_size must be a positive integer to predict in batches; got "
                f"{self.batch_size!r}. Set it with set_params(batch_size=64)."
            )
        return int(batch_size)

    def _serving_device(self):
        """``device`` as set now (``set_params`` after fit moves the fitted network there).

        The whole net moves, as skorch places it at ``initialize``: every module and
        criterion it registers (``net_._modules`` and ``net_._criteria``: ``module_``, a
        weighted loss and its class weights, an EMA copy) with skorch's
        :func:`~skorch.utils.to_device`, and the optimizers (``net_._optimizers``) with
        them. The optimizers are pointed at the moved parameters (where a move replaces
        them instead of moving them in place) and reload their state (e.g. Adam's moving
        averages) with ``load_state_dict``, which puts it on the device of its
        parameters. The net then stays whole on one device, for ``partial_fit`` and
        pickling too.
        """
        if getattr(self, "accelerator", None) is not None:
            return self.net_.device  # the process's device under Accelerate
        wanted = resolve_device(self.device)
        net = self.net_
        if str(net.device) != wanted:
            names = [
                name
                for name in net._modules + net._criteria
                if isinstance(getattr(net, name + "_", None), torch.nn.Module)
            ]
            before = [p for name in names for p in getattr(net, name + "_").parameters()]
            for name in names:
                setattr(net, name + "_", to_device(getattr(net, name + "_"), wanted))
            after = [p for name in names for p in getattr(net, name + "_").parameters()]
            moved = {id(old): new for old, new in zip(before, after, strict=True)}
            for name in net._optimizers:
                optimizer = getattr(net, name + "_", None)
                if isinstance(optimizer, torch.optim.Optimizer):
                    state = optimizer.state_dict()  # by position: outlives the parameters
                    for group in optimizer.param_groups:
                        group["params"] = [moved.get(id(p), p) for p in group["params"]]
                    optimizer.load_state_dict(state)
            net.device = wanted
        return wanted

    #: Batches of windows prepared for the network at once (``_net_input``), so that its
    #: copies (e.g. a float64 standardisation) are bounded by this, not by ``len(X)``.
    _INPUT_CHUNK_BATCHES = 32

    def _forward_windows(self, fn, X):
        """``fn`` over the network input of validated windows ``X``, chunk by chunk.

        Each chunk is a whole number of batches, so the batches, and the results, are
        those of preparing all of ``X`` at once.
        """
        chunk = self._inference_batch_size() * self._INPUT_CHUNK_BATCHES
        out = np.concatenate(
            [
                self._forward_batches(fn, self._net_input(X[start : start + chunk]))
                for start in range(0, len(X), chunk)
            ]
        )
        # else predict would name the first class in silence
        self._refuse_non_finite(
            out,
            X,
            "the network's output is",
            "overflow it: pass them in the same units. If every window fails, training "
            "diverged: refit with a lower lr.",
        )
        return out

    def _refuse_non_finite(self, out, X, what, advice):
        """Raise ``FloatingPointError`` naming the windows of ``X`` whose rows of ``out``
        are NaN or infinite, and the amplitude they reach."""
        if np.isfinite(out).all():
            return
        bad = ~np.isfinite(out.reshape(len(out), -1)).all(axis=1)
        peak = max(float(np.max(X[bad])), -float(np.min(X[bad])))
        raise FloatingPointError(
            f"{self._who()}{what} NaN or infinite for {int(bad.sum())} of {len(out)} "
            f"window(s), which reach |x| = {peak:.3g}. Windows far beyond the scale of the "
            f"training windows {advice}"
        )

    # -- weights-only persistence (see semgaug_sk.persistence) ------------------------------
    def _get_weights_state(self):
        """Fitted state as tensors and plain data: each skorch net becomes its weights and log."""
        state = fitted_attributes(self)
        for name in self._weighted_nets:
            if name in state:
                net = state[name]
                state[name] = {"module": net.module_.state_dict(), "history": list(net.history)}
        return state

    def _set_weights_state(self, state, *, device):
        """Rebuild the fitted estimator from :meth:`_get_weights_state`'s output on ``device``."""
        state = dict(state)
        nets = {name: state.pop(name) for name in self._weighted_nets if name in state}
        vars(self).update(state)
        for name, stored in nets.items():
            with torch_seed(0):  # initial weights are overwritten; the caller's RNG is left alone
                net = self._rebuild_net(name, device)
            net.module_.load_state_dict(stored["module"])
            net.history = History(stored["history"])
            setattr(self, name, net)

    def _record_params_at_fit(self):
        """Keep the parameters the networks were built from: a weights file stores these
        (see :mod:`semgaug_sk.persistence`), whatever ``set_params`` changes later."""
        self._params_at_fit = {
            key: copy.deepcopy(value) if isinstance(value, (list, dict, np.ndarray)) else value
            for key, value in self.get_params(deep=False).items()
            if key not in _TRAINING_ONLY_PARAMS
        }  # containers copied: one changed in place after fit is a change too

    def _rebuild_net(self, name, device):
        """An initialised net of the fitted architecture for the attribute ``name``."""
        n_classes = len(getattr(self, "classes_", ()))
        module = self._build_module(self.n_channels_, self.n_times_, n_classes)
        return self._make_net(module, device=device).initialize()

    def __setstate__(self, state):
        super().__setstate__(cpu_fallback_state(state, type(self).__name__, owner=self))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = False
        return tags


class EmbeddingTransformerMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """``transform`` side of a network: float32 embeddings named ``<class name><i>``.

    The class defines ``_n_features_out`` (the embedding size, unset before fit).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # the networks compute in float32
        return tags


class WindowClassifierMixin(ClassifierMixin):
    """Classifier side of :class:`BaseWindowNet`: labels, prediction and a one-net recipe.

    Labels of any hashable type round-trip unchanged (``classes_``); the network sees
    their codes ``0 .. n_classes - 1``. ``_fit`` trains the module of
    ``_build_module`` on ``_fit_net_input(X)`` with a stratified validation split, on
    ``device`` or through ``accelerator``. Put it before :class:`BaseWindowNet` in the
    bases.
    """

    _supervised = True

    def score(self, X, y, sample_weight=None):
        """Accuracy on windows ``X`` with labels ``y`` (labels as accepted by ``fit``).

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
        y : array-like of shape (n_windows,)
            Integers in an object array (a pandas column) count as integers, as at fit.
        sample_weight : array-like of shape (n_windows,), optional

        Returns
        -------
        score : float
        """
        X = self._check_X(X)
        y = check_labels(y, len(X), who=self._who())  # the messages fit gives, not sklearn's
        sample_weight = check_sample_weight(sample_weight, len(X), who=self._who())
        predicted = self.classes_[np.argmax(self._proba(X), axis=1)]  # X is checked once
        return accuracy_score(y, predicted, sample_weight=sample_weight)

    def _encode_labels(self, y):
        """Set ``classes_`` and return the labels' codes (int64)."""
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        return encoder.transform(y).astype(np.int64)

    def _net_kwargs(self) -> dict:
        return {"classes": np.arange(len(self.classes_))}

    def _fit(self, X, y):
        X, y = self._check_fit_input(X, y)
        accelerator = getattr(self, "accelerator", None)
        check_accelerator_instance(accelerator, type(self).__name__, self.random_state)
        device = resolve_device(self.device) if accelerator is None else None
        seed = check_random_state_seed(self.random_state)
        y_enc = self._encode_labels(y)
        Xn = self._fit_net_input(X, y)
        n_classes = len(self.classes_)
        net, interrupted = self._train_one_net(
            lambda: self._build_module(X.shape[1], X.shape[2], n_classes),
            Xn,
            y_enc,
            device=device,
            seed=seed,
            accelerator=accelerator,
        )
        self.net_ = net
        self._set_window_shape(X)
        self.n_epochs_ = len(net.history)
        self.training_interrupted_ = interrupted
        return self

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
        return self._proba(self._check_X(X))

    def _proba(self, X):
        """:meth:`predict_proba` of checked windows."""
        # skorch's predict_proba, in the same batches, without its DataLoader: a DataLoader
        # draws a seed from torch's global generator, which would advance the caller's
        nonlinearity = self.net_._get_predict_nonlinearity()

        def proba(batch):
            out = self.net_.module_(batch)
            return nonlinearity(out[0] if isinstance(out, tuple) else out)  # as skorch does

        return self._forward_windows(proba, X)

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
