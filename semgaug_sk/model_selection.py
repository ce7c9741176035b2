"""Repetition- and subject-disjoint splits of window sets.

Honest sEMG evaluation never lets a window of a test repetition (or a test
subject) reach training, model selection, normalisation statistics or the
augmenter. These helpers cut a window set (see
:func:`semgaug_sk.windows.sliding_windows`) into disjoint parts. For
cross-validation *inside* the training repetitions, use scikit-learn's group
splitters with the repetition as group, e.g.
``GridSearchCV(..., cv=LeaveOneGroupOut())`` with ``groups=train.repetition``, or
:func:`repetition_folds` (``cv=repetition_folds(train)``), which also leaves out a
held-out window that shares samples with the fold's training windows (windows cut
with ``horizon_ms`` and ``include_rest=True``). That needs at least two training
repetitions, and gives only as many folds as there are: with one training repetition (the Myo low-data protocol trains on
cycle 0 alone) there is nothing to hold out, so fix the hyper-parameters
beforehand, or cut the one repetition in time as
``benchmarks/ablate_generator.py``'s inner split does (dropping the windows that
straddle the cut).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping

import numpy as np
from sklearn.utils import Bunch

from .utils.validation import check_group_values

__all__ = ["select_windows", "repetition_split", "subject_split", "repetition_folds"]

_PER_WINDOW = ("X", "y", "repetition", "subject", "session", "block", "start", "current_label")
#: Entries of window sets and recordings that describe the set, never one window each.
_METADATA = (
    "fs",
    "window_samples",
    "step_samples",
    "horizon_samples",
    "rest_label",
    "channel_names",
    "label_names",
    "session_names",
    "subject_names",
    "subject_info",
    "source_files",
    "durations_s",
    "class_patterns",
    "label_source",
    "repetition_source",
)


def _is_per_window(key, value, n):
    """Whether the entry ``key`` holds one value per window of a set of ``n``.

    The library's own per-window keys are; so is an entry of the user's (a weight, a
    trial id) that is an array of ``n`` rows, unless it is one of the library's metadata.
    """
    if value is None:
        return False
    if key in _PER_WINDOW:
        return True
    return (
        key not in _METADATA
        and isinstance(value, np.ndarray)
        and value.ndim >= 1
        and (len(value) == n)
    )


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
        Same keys; per-window arrays subset, other entries (``fs``, ...) kept. Per-window
        arrays are the library's (``X``, ``y``, ``repetition``, ``subject``, ``session``,
        ``block``, ``start``, ``current_label``) and any other numpy array with one row per
        window that you added (e.g. ``windows.weight``); the library's metadata
        (``channel_names``, ``durations_s``, ...) is kept whole.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> w = Bunch(X=np.zeros((3, 1, 4)), y=np.array([1, 2, 1]), fs=100.0)
    >>> select_windows(w, w.y == 1).X.shape
    (2, 1, 4)
    """
    n = _n_windows(windows, "select_windows")
    mask = np.asarray(mask)
    if mask.size == 0 and mask.dtype.kind == "f":  # [] selects no window
        mask = mask.astype(np.intp)
    if mask.dtype == bool:
        if mask.shape != (n,):
            raise ValueError(
                f"select_windows: the boolean mask has shape {mask.shape} but the window set has "
                f"{n} windows; pass one True/False per window (e.g. windows.y == 1)."
            )
    elif mask.dtype.kind in "iu" and mask.ndim <= 1:
        if mask.size and not (-n <= mask.min() and mask.max() < n):
            raise ValueError(
                f"select_windows: window indices must lie in [{-n}, {n - 1}] for a window set of "
                f"{n} windows; got indices from {mask.min()} to {mask.max()}."
            )
    else:
        raise ValueError(
            f"select_windows: mask must be a boolean mask or an integer index array; got dtype "
            f"{mask.dtype} and shape {mask.shape}. Use e.g. windows.y == 1 or np.flatnonzero(...)."
        )
    out = Bunch()
    for key, value in windows.items():
        # np.asarray: a per-window key given as a list (y=[...]) indexes like an array
        out[key] = np.asarray(value)[mask] if _is_per_window(key, value, n) else value
    return out


def _n_windows(windows, who):
    """Number of windows of a window set, with clear errors for anything else."""
    if not isinstance(windows, Mapping) or "X" not in windows:
        raise TypeError(
            f"{who}: windows must be a window set (a Bunch with X and per-window arrays, as "
            f"returned by semgaug_sk.windows.sliding_windows); got {type(windows).__name__}."
        )
    return len(windows["X"])


def _membership(values, wanted, what, who):
    if wanted is None:
        raise TypeError(
            f"{who}: {what} must be a value or a list of values (e.g. [1, 2]); got {wanted!r}."
        )
    if np.isscalar(wanted) or (isinstance(wanted, np.ndarray) and wanted.ndim == 0):
        wanted = [wanted.item() if isinstance(wanted, np.ndarray) else wanted]
    try:
        items = list(wanted)
        if np.asarray(items).ndim > 1:
            raise TypeError
    except (TypeError, ValueError):
        raise TypeError(
            f"{who}: {what} must be a value or a list of values (e.g. [1, 2]); got {wanted!r}."
        ) from None
    if not items:
        raise ValueError(f"{who}: {what} is empty; name at least one.")
    # each value compared as given: np.asarray would turn [1, "2"] into strings
    items = [w.item() if isinstance(w, np.generic) else w for w in items]
    present = set(np.unique(values).tolist())
    missing = [w for w in dict.fromkeys(items) if w not in present]  # in given order
    if missing:
        raise ValueError(
            f"{who}: {what} {missing} not found in the windows; available: "
            f"{np.unique(values).tolist()}."
        )
    mask = np.zeros(len(values), dtype=bool)
    for w in dict.fromkeys(items):  # one pass per wanted value, over every window at once
        mask |= values == w
    return mask


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
    return _split(windows, "repetition", train_repetitions, test_repetitions, "repetition_split")


def subject_split(windows, train_subjects, test_subjects=None):
    """Split a window set by subject (transfer to unseen subjects).

    Parameters
    ----------
    windows : Bunch
        Window set with a per-window ``subject`` array.
    train_subjects : iterable
        Subjects used for training: ids, or names when the window set carries
        ``subject_names`` (windows of a Myo recording, e.g. ``["Male0"]``; NinaPro
        and UCI windows use their subject numbers, e.g. ``[1]``).
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
    return _split(windows, "subject", train_subjects, test_subjects, "subject_split")


def repetition_folds(windows, cv=None):
    """Cross-validation folds over a window set's repetitions, for ``GridSearchCV(cv=...)``.

    The folds of ``cv`` (scikit-learn's ``LeaveOneGroupOut()`` by default) with the
    repetition as group, except that a held-out window sharing samples with a window of
    the fold's training part is left out of it, as :func:`repetition_split` leaves it
    out of a test set. That happens only for windows cut with ``horizon_ms`` and
    ``include_rest=True``: such a window takes the repetition of its future sample, so
    a window that ends in rest belongs to "repetition 0" (rest) while its samples lie in
    a gesture repetition, and a plain ``LeaveOneGroupOut`` over ``groups=repetition``
    would score the model on samples it trained on. Without a horizon the folds are
    exactly ``cv``'s.

    Parameters
    ----------
    windows : Bunch
        The training window set (from :func:`~semgaug_sk.windows.sliding_windows`, or a
        subset of it made with :func:`select_windows`), with a per-window ``repetition``
        array. The folds index its rows, so fit the search on ``windows.X`` and
        ``windows.y`` (no ``groups`` needed).
    cv : int or scikit-learn group splitter, optional
        Any splitter with ``split(X, y, groups)``, e.g. ``GroupKFold(3)``; an int ``k``
        means ``GroupKFold(k)``. Default: ``LeaveOneGroupOut()``, one repetition held out
        per fold.

    Returns
    -------
    folds : list of (train_indices, test_indices)
        Pass it as ``cv=`` to ``GridSearchCV``, ``cross_validate`` and the like.

    Examples
    --------
    >>> from sklearn.utils import Bunch
    >>> w = Bunch(X=np.zeros((6, 1, 2)), y=np.arange(6) % 2, repetition=np.repeat([1, 2, 3], 2))
    >>> [test.tolist() for _, test in repetition_folds(w)]
    [[0, 1], [2, 3], [4, 5]]
    """
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    who = "repetition_folds"
    n_windows = _n_windows(windows, who)
    groups = _group_values(windows, "repetition", n_windows, who)
    n_repetitions = len(np.unique(groups))
    if n_repetitions < 2:
        raise ValueError(
            f"{who}: the windows hold {n_repetitions} repetition(s); folds by repetition need at "
            "least 2 (one to train on, one to test). Pass the windows of more repetitions."
        )
    if isinstance(cv, numbers.Integral) and not isinstance(cv, (bool, np.bool_)):
        if not 2 <= cv <= n_repetitions:
            raise ValueError(
                f"{who}: cv={cv} folds, but the windows hold {n_repetitions} repetitions; "
                f"pass an int from 2 to {n_repetitions}."
            )
        cv = GroupKFold(int(cv))  # scikit-learn's meaning of an int cv, by repetition
    elif cv is None:
        cv = LeaveOneGroupOut()
    elif isinstance(cv, (str, bytes)) or not callable(getattr(cv, "split", None)):
        raise TypeError(
            f"{who}: cv must be None, an int (folds) or a group splitter with "
            f"split(X, y, groups), e.g. GroupKFold(3); got {cv!r}."
        )
    folds, n_left_out = [], 0
    for train, test in cv.split(np.zeros((n_windows, 1)), windows.get("y"), groups=groups):
        train_mask = np.zeros(n_windows, dtype=bool)
        test_mask = np.zeros(n_windows, dtype=bool)
        train_mask[train], test_mask[test] = True, True
        shared = _sharing_samples(windows, train_mask, test_mask, who, warn=False)
        n_left_out += int(shared.sum())
        kept = np.flatnonzero(test_mask & ~shared)
        if len(kept) == 0:
            held_out = sorted(set(np.asarray(groups)[test].tolist()), key=str)
            raise ValueError(
                f"{who}: every held-out window of repetition(s) {held_out} shares samples with "
                "the fold's training windows, so the fold has nothing to test on; cut the "
                "windows without horizon_ms, or leave the rest windows out (include_rest=False)."
            )
        folds.append((np.asarray(train), kept))
    if n_left_out:
        warnings.warn(
            f"{who}: {n_left_out} held-out window(s) over the folds share samples with the "
            "fold's training windows (windows cut with horizon_ms take the repetition of their "
            "future sample, so a window inside a gesture can be labelled rest); they were left "
            "out of those folds' test parts.",
            UserWarning,
            stacklevel=2,
        )
    return folds


def _names_as_ids(windows, key, given):
    """Subject names (``"Male0"``) as the window set's subject ids, when it carries names."""
    names = windows.get(f"{key}_names")
    if given is None or names is None:
        return given
    if np.isscalar(given) or (isinstance(given, np.ndarray) and given.ndim == 0):
        given = [given.item() if isinstance(given, np.ndarray) else given]  # one id or name
    try:
        given = list(given)
    except TypeError:
        return given  # _membership names the problem
    names = list(names)
    ids = np.asarray(windows.get(key))
    if ids.dtype.kind not in "iu" or not any(isinstance(g, str) for g in given):
        return given
    unknown = [g for g in given if isinstance(g, str) and g not in names]
    if unknown:
        raise ValueError(
            f"{key}_split: {key}(s) {unknown} are not in this window set; its {key}s are {names}."
        )
    return [names.index(g) if isinstance(g, str) else g for g in given]


def _group_values(windows, key, n_windows, who):
    """The window set's per-window ``key`` array (repetition, subject), checked."""
    values = windows.get(key)
    if values is None:
        raise ValueError(
            f"{who}: the window set has no per-window '{key}' array; cut it with sliding_windows."
        )
    if np.ndim(values) != 1 or len(values) != n_windows:
        raise ValueError(
            f"{who}: the window set's '{key}' array has shape {np.shape(values)}, but it holds "
            f"{n_windows} windows; it needs one {key} per window (shape ({n_windows},)). Subset "
            "every per-window array together with select_windows, or cut the windows again."
        )
    return check_group_values(
        values,
        key,
        who,
        drop=f"select_windows(windows, ~np.isnan(windows.{key}))",
        convert=f"windows.{key} = windows.{key}.astype(str)",
    )


def _split(windows, key, train_values, test_values, who):
    n_windows = _n_windows(windows, who)
    if key == "subject":
        train_values = _names_as_ids(windows, key, train_values)
        test_values = _names_as_ids(windows, key, test_values)
    values = _group_values(windows, key, n_windows, who)
    train_mask = _membership(values, train_values, f"train {key}s", who)
    if test_values is None:
        test_mask = ~train_mask
    else:
        test_mask = _membership(values, test_values, f"test {key}s", who)
        overlap = train_mask & test_mask
        if overlap.any():
            shared = sorted(set(np.asarray(values)[overlap].tolist()))
            raise ValueError(
                f"{who}: train and test {key}s overlap ({shared}); an honest split keeps them "
                "disjoint."
            )
    if key == "repetition":
        test_mask &= ~_sharing_samples(windows, train_mask, test_mask, who)
        _warn_repetitions_across_sessions(windows, train_mask, who)
    if not train_mask.any() or not test_mask.any():
        raise ValueError(
            f"{who}: the {key} split leaves an empty train or test set; choose other {key}s."
        )
    labels = windows.get("y")
    if labels is not None:
        labels = np.asarray(labels)
        try:
            untrained = np.setdiff1d(labels[test_mask], labels[train_mask]).tolist()
        except TypeError:  # object labels of mixed kinds cannot be sorted
            untrained = sorted(
                set(labels[test_mask].tolist()) - set(labels[train_mask].tolist()), key=repr
            )
        if untrained:
            advice = f"Choose training {key}s in which every class was recorded."
            rest_only = key == "repetition" and np.asarray(values).dtype.kind in "iuf"
            if rest_only:
                in_test = np.isin(labels, np.asarray(untrained, dtype=labels.dtype)) & test_mask
                rest_only = bool((np.asarray(values)[in_test] == 0).all())
            if rest_only:
                advice = (
                    "They occur only in repetition 0, the rest between repetitions as the "
                    "loaders number it: add 0 to the training repetitions to train on rest, "
                    "or cut the windows with include_rest=False."
                )
            warnings.warn(
                f"{who}: the test {key}s hold class(es) {untrained!r} that no training window "
                f"has; a classifier cannot predict them, which lowers its accuracy. {advice}",
                UserWarning,
                stacklevel=3,
            )
    return select_windows(windows, train_mask), select_windows(windows, test_mask)


def _codes(values):
    """Integer codes of one per-window array (any hashable labels)."""
    values = np.asarray(values)
    if values.dtype.kind == "O":
        values = values.astype(str)  # mixed kinds cannot be sorted; their text can
    return np.unique(values, return_inverse=True)[1].ravel()


def _warn_repetitions_across_sessions(windows, train_mask, who):
    """Warn when one gesture's training repetition was recorded in several sessions.

    Repetition numbers restart in each session of some datasets (the Myo armband's
    cycles): a repetition split of a multi-session load then trains on every
    session, test sessions included. NinaPro's exercises are sessions too, but their
    movements differ (or the loader warned), so they do not trigger this.
    """
    session, labels = windows.get("session"), windows.get("y")
    if session is None or labels is None or not train_mask.any():
        return
    subject = windows.get("subject")
    subject = np.zeros(len(train_mask), dtype=int) if subject is None else subject
    repetition, labels = np.asarray(windows["repetition"]), np.asarray(labels)
    rows = train_mask.copy()
    # rest (repetition 0) lies between the repetitions of every session: it is not a
    # repetition recorded twice. Its label is the windows' rest_label (0 for window sets
    # made before they carried it); with None (Myo's Neutral is a gesture) nothing is rest.
    rest = windows.get("rest_label", 0)
    if rest is not None and repetition.dtype.kind in "iuf":
        rows &= ~((repetition == 0) & (labels == rest))
    if not rows.any():
        return
    per_window = [np.asarray(subject)[rows], repetition[rows], labels[rows]]
    keys = np.stack([_codes(v) for v in per_window], axis=1)
    sessions = _codes(np.asarray(session)[rows])
    pairs = np.unique(np.column_stack([keys, sessions]), axis=0)
    gestures, n_sessions = np.unique(pairs[:, :-1], axis=0, return_counts=True)
    if (n_sessions > 1).any():
        # the unique rows of keys are those of gestures, in the same order
        first = np.unique(keys, axis=0, return_index=True)[1]
        shown = first[n_sessions > 1][:6].tolist()
        named = ", ".join(
            f"label {per_window[2][i].item()!r} repetition {per_window[1][i].item()!r}"
            for i in shown
        )
        warnings.warn(
            f"{who}: {int((n_sessions > 1).sum())} (label, repetition) pair(s) of the training "
            f"repetitions come from up to {int(n_sessions.max())} sessions ({named}); "
            "repetition numbers restart in each session "
            "(e.g. the Myo armband's cycles), so training takes them from every session, "
            "the test sessions included. Select the sessions first, e.g. "
            "select_windows(windows, windows.session == 0), then split by repetition.",
            UserWarning,
            stacklevel=4,
        )


def _sharing_samples(windows, train_mask, test_mask, who, warn=True):
    """Test windows that share samples with a training window (dropped, with a warning).

    Windows cut with ``horizon_ms`` carry the repetition of their *future* sample, so a
    window inside a training gesture that ends in rest is a "repetition 0" window: with
    ``include_rest=True`` it would test the model on samples it trained on.
    """
    start, length = windows.get("start"), windows.get("window_samples")
    # without a horizon a window never spans a repetition change, so none can be shared
    # (and window sets cut separately and concatenated have unrelated starts)
    if start is None or length is None or not windows.get("horizon_samples"):
        return np.zeros(len(test_mask), dtype=bool)
    start, length = np.asarray(start), int(length)
    n = len(start)
    keys = [np.asarray(windows[k]) for k in ("subject", "session") if windows.get(k) is not None]
    # each key coded on its own (object arrays take no axis=), then the pairs of codes
    codes = [_codes(k) for k in keys]
    streams = (
        np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)[1].ravel()
        if codes
        else np.zeros(n, dtype=int)
    )
    shared = np.zeros(n, dtype=bool)
    for stream in np.unique(streams):
        mine = streams == stream
        train_starts = np.sort(start[mine & train_mask])
        rows = np.flatnonzero(mine & test_mask)
        # a training window starting within (s - length, s + length) overlaps window s
        lo = np.searchsorted(train_starts, start[rows] - length, side="right")
        hi = np.searchsorted(train_starts, start[rows] + length, side="left")
        shared[rows] = hi > lo
    if shared.any() and warn:
        warnings.warn(
            f"{who}: {int(shared.sum())} test window(s) share samples with training windows "
            "(windows cut with horizon_ms take the repetition of their future sample, so a "
            "window inside a training gesture can be labelled rest); they were left out of "
            "the test set. Pass test_repetitions without 0, or cut without horizon_ms, to "
            "keep every test window whole.",
            UserWarning,
            stacklevel=4,
        )
    return shared
