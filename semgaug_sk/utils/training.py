"""What happens to an estimator when its training is interrupted.

skorch catches a :class:`KeyboardInterrupt` inside ``fit`` (it uses the same
exception to implement early stopping), ends training cleanly and returns as if
training had finished. A library estimator that trains several stages would
then silently carry on with the next stage on a half-trained model. These
helpers give every estimator of semgaug_sk the same contract instead:

- An interrupt during the **last** training stage leaves the estimator
  *usable*: it finishes the bookkeeping of ``fit`` with the weights learned so
  far (the best ones under early stopping), sets ``training_interrupted_ =
  True`` and raises :class:`TrainingInterrupted`, a ``KeyboardInterrupt``, so
  the calling program still stops as the user asked.
- An interrupt (or any other exception) anywhere else leaves the estimator
  exactly as it was before ``fit`` was called: unfitted if it was unfitted,
  the previous model if it had been fitted. It is never half-fitted.
"""

from __future__ import annotations

import contextlib

__all__ = [
    "TrainingInterrupted",
    "interrupted_by_user",
    "release_schedulers",
    "release_training_data",
    "ReleasedSplit",
    "restore_on_failure",
]


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted; the estimator kept what it had learned.

    A subclass of :class:`KeyboardInterrupt`, so ``except Exception`` does
    not swallow it and a script still stops. The estimator named by
    ``estimator`` is fitted, usable and flagged with
    ``training_interrupted_ = True``.

    Parameters
    ----------
    message : str
        What was interrupted and how to go on.
    estimator : object, optional
        The estimator that stays usable.

    Examples
    --------
    >>> try:
    ...     raise TrainingInterrupted("stopped at epoch 3 of 10")
    ... except KeyboardInterrupt as exc:
    ...     print(exc)
    stopped at epoch 3 of 10
    """

    def __init__(self, message, estimator=None):
        super().__init__(message)
        self.estimator = estimator


def interrupted_by_user(net, epochs) -> bool:
    """Whether the last ``fit``/``partial_fit`` of a skorch net stopped on a user's interrupt.

    skorch swallows the interrupt, so it is read from what training left behind:
    an epoch without its ``train_loss`` (stopped mid-epoch), or fewer epochs
    than planned without an :class:`~skorch.callbacks.EarlyStopping` callback
    having run out of patience.

    Parameters
    ----------
    net : skorch.NeuralNet
        A net right after ``fit`` or ``partial_fit``.
    epochs : int
        Length the history reaches when training runs to its end
        (``max_epochs`` for a fresh ``fit``; epochs already in the history plus
        those asked for, for a resumed ``partial_fit``).

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np, torch
    >>> import torch
    >>> from skorch import NeuralNetRegressor
    >>> net = NeuralNetRegressor(torch.nn.Linear, module__in_features=2, module__out_features=1,
    ...                          max_epochs=2, train_split=None, verbose=0)
    >>> X, y = np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32")
    >>> interrupted_by_user(net.fit(X, y), epochs=2)
    False
    """
    from skorch.callbacks import EarlyStopping  # here: the numpy-only samplers need no torch

    history = net.history
    if epochs <= 0:
        return False
    if len(history) == 0 or "train_loss" not in history[-1]:
        return True
    if len(history) >= epochs:
        return False
    return not any(
        isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience
        for _, cb in getattr(net, "callbacks_", ())
    )


@contextlib.contextmanager
def restore_on_failure(estimator):
    """Undo every attribute change of a ``fit`` that raises.

    The estimator's attributes are restored to what they were on entry
    (shallow: fitting replaces fitted objects, it does not mutate the old ones),
    so a failed or interrupted fit leaves it unfitted, or with its previous
    model. A :class:`TrainingInterrupted` raised *for this estimator* is the
    exception: it means the estimator finished its bookkeeping and is usable.

    Parameters
    ----------
    estimator : object
        The estimator whose ``fit`` runs in the block (its ``vars`` are saved).

    Yields
    ------
    None
        Nothing; the attributes are restored if the block raises.

    Raises
    ------
    KeyboardInterrupt
        In place of a :class:`TrainingInterrupted` raised for another estimator, after
        restoring this one. Other exceptions are raised again as they are.

    Examples
    --------
    >>> class Est:
    ...     pass
    >>> est = Est()
    >>> try:
    ...     with restore_on_failure(est):
    ...         est.coef_ = 1.0
    ...         raise ValueError("bad input")
    ... except ValueError:
    ...     pass
    >>> hasattr(est, "coef_")
    False
    """
    saved = dict(vars(estimator))
    try:
        yield
    except TrainingInterrupted as exc:
        if exc.estimator is estimator:
            raise
        _restore(estimator, saved)
        raise KeyboardInterrupt(
            f"{type(estimator).__name__}: fit was interrupted ({exc}); the estimator is left as "
            "it was before fit."
        ) from exc
    except BaseException:
        _restore(estimator, saved)
        raise


def _restore(estimator, saved):
    state = vars(estimator)
    state.clear()
    state.update(saved)


def release_schedulers(net):
    """Drop the LR scheduler objects kept by skorch callbacks after training.

    They hold a reference to the optimizer, which would otherwise be pickled a
    second time (outside skorch's device-aware pickling) with its tensors on the
    training device; a model trained on CUDA could then not be unpickled on CPU.
    They are re-created at the next fit.

    Parameters
    ----------
    net : skorch.NeuralNet
        A net; each callback's ``lr_scheduler_``, where it has one, becomes None.

    Examples
    --------
    >>> import torch
    >>> from skorch import NeuralNet
    >>> release_schedulers(NeuralNet(torch.nn.Linear(1, 1), torch.nn.MSELoss))  # no callbacks yet
    """
    for _, cb in getattr(net, "callbacks_", []):
        if hasattr(cb, "lr_scheduler_"):
            cb.lr_scheduler_ = None


class ReleasedSplit:
    """The ``train_split`` of a net whose validation windows were released after fit.

    Calling it (skorch does at ``partial_fit``) raises an error that names the fix,
    where a bare ``None`` would let training go on without the validation loss its
    early stopping reads.
    """

    def __call__(self, dataset, y=None, **kwargs):
        raise RuntimeError(
            "This network's validation windows were released after fit, so that a fitted "
            "model does not carry (or pickle) them; its training cannot be continued with "
            "net_.partial_fit. Call the estimator's fit again instead."
        )

    def __repr__(self):
        return "ReleasedSplit()"


def release_training_data(*nets):
    """Drop the validation windows that a fitted skorch net's ``train_split`` holds.

    A ``predefined_split`` keeps its Dataset: the fitted estimator would carry (and
    pickle) its validation windows, or all the training windows when the split indexes
    into them. The split becomes a :class:`ReleasedSplit`, which refuses to be used
    again; the nets of this library are rebuilt, not refitted, by the next ``fit``. A
    net trained without validation keeps ``train_split=None``.

    Parameters
    ----------
    *nets : skorch.NeuralNet or None
        The fitted nets; None is skipped.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skorch import NeuralNet
    >>> from skorch.dataset import Dataset
    >>> from skorch.helper import predefined_split
    >>> split = predefined_split(Dataset(np.zeros((3, 1), np.float32), np.zeros(3)))
    >>> net = NeuralNet(torch.nn.Linear(1, 1), torch.nn.MSELoss, train_split=split)
    >>> release_training_data(net)
    >>> net.train_split
    ReleasedSplit()
    """
    for net in nets:
        if net is not None and net.train_split is not None:
            net.train_split = ReleasedSplit()
