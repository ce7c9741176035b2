"""Repetition- and subject-disjoint splits of window sets.

Honest sEMG evaluation never lets a window of a test repetition (or a test
subject) reach training, model selection, normalisation statistics or the
augmenter. These helpers cut a window set (see
:func:`semgaug_sk.windows.sliding_windows`) into disjoint parts. For
cross-validation *inside* the training repetitions, use scikit-learn's group
splitters with the repetition as group, e.g.
``GridSearchCV(..., cv=LeaveOneGroupOut())`` with ``groups=train.repetition``.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

__all__ = ["select_windows", "repetition_split", "subject_split"]

_PER_WINDOW = ("X", "y", "repetition", "subject", "session", "block", "start", "current_label")


def select_windows(windows, mask):
    """Return the windows selected by a boolean mask or index array, as a new window set.

    Parameters
    ----------
    windows : Bunch
        A window set with ``X`` and per-window arrays.
    mask : array-like of bool or int
        Which windows to keep.

    Returns
    -------
    subset : Bunch
        Same keys; per-window arrays subset, other entries (``fs``, ...) kept.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> w = Bunch(X=np.zeros((3, 1, 4)), y=np.array([1, 2, 1]), fs=100.0)
    >>> select_windows(w, w.y == 1).X.shape
    (2, 1, 4)
    """
    mask = np.asarray(mask)
    out = Bunch()
    for key, value in windows.items():
        out[key] = value[mask] if key in _PER_WINDOW and value is not None else value
    return out


def _membership(values, wanted, what):
    values = np.asarray(values)
    wanted = np.atleast_1d(np.asarray(list(wanted) if not np.isscalar(wanted) else [wanted]))
    missing = sorted(set(wanted.tolist()) - set(np.unique(values).tolist()))
    if missing:
        raise ValueError(
            f"{what} {missing} not found in the windows; available: {np.unique(values).tolist()}."
        )
    return np.isin(values, wanted)


def repetition_split(windows, train_repetitions, test_repetitions=None):
    """Split a window set by repetition (within subject).

    Parameters
    ----------
    windows : Bunch
        Window set with a per-window ``repetition`` array.
    train_repetitions : iterable
        Repetitions used for training (e.g. ``[1, 2]`` for NinaPro DB1's
        low-data protocol).
    test_repetitions : iterable, optional
        Repetitions used for testing; by default every other repetition.

    Returns
    -------
    train, test : Bunch
        Disjoint window sets.

    Raises
    ------
    ValueError
        When the two sets of repetitions overlap or name absent repetitions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> w = Bunch(X=np.zeros((4, 1, 2)), y=np.ones(4), repetition=np.array([1, 2, 3, 4]))
    >>> train, test = repetition_split(w, [1, 2])
    >>> test.repetition.tolist()
    [3, 4]
    """
    return _split(windows, "repetition", train_repetitions, test_repetitions)


def subject_split(windows, train_subjects, test_subjects=None):
    """Split a window set by subject (transfer to unseen subjects).

    Parameters
    ----------
    windows : Bunch
        Window set with a per-window ``subject`` array.
    train_subjects : iterable
        Subjects used for training.
    test_subjects : iterable, optional
        Subjects used for testing; by default every other subject.

    Returns
    -------
    train, test : Bunch

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> w = Bunch(X=np.zeros((4, 1, 2)), y=np.ones(4), subject=np.array([1, 1, 2, 2]))
    >>> train, test = subject_split(w, [1])
    >>> len(train.X), len(test.X)
    (2, 2)
    """
    return _split(windows, "subject", train_subjects, test_subjects)


def _split(windows, key, train_values, test_values):
    values = windows.get(key)
    if values is None:
        raise ValueError(
            f"The window set has no per-window '{key}' array; cut it with sliding_windows."
        )
    train_mask = _membership(values, train_values, f"train {key}s")
    if test_values is None:
        test_mask = ~train_mask
    else:
        test_mask = _membership(values, test_values, f"test {key}s")
        overlap = train_mask & test_mask
        if overlap.any():
            shared = sorted(set(np.asarray(values)[overlap].tolist()))
            raise ValueError(
                f"train and test {key}s overlap ({shared}); an honest split keeps them disjoint."
            )
    if not train_mask.any() or not test_mask.any():
        raise ValueError(f"The {key} split leaves an empty train or test set; choose other {key}s.")
    return select_windows(windows, train_mask), select_windows(windows, test_mask)
