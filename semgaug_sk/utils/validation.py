"""Input validation shared by every estimator and function of semgaug_sk.

scikit-learn's ``check_array`` accepts 2-D input only (or N-D with ``allow_nd``
and a generic message); window sets are 3-D ``(n_windows, n_channels, n_times)``,
so these helpers check them with messages that name the problem and the fix.
"""

from __future__ import annotations

import numbers
import os
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.utils._param_validation import Interval, InvalidParameterError
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_random_state

from .chunked import row_blocks

__all__ = [
    "check_windows",
    "check_windows_labels",
    "check_random_state_seed",
    "check_positive_int",
]


def _to_array(X, *, name="X", estimator=None, who=None):
    """``np.asarray(X)``, turning numpy's error for ragged nested lists into a clear one.

    ``who`` (a message prefix such as ``"EMGFeatures: "``) defaults to the estimator's name.
    """
    if who is None:
        who = f"{type(estimator).__name__}: " if estimator is not None else ""
    if X is None:
        raise ValueError(
            f"{who}{name} is None; pass a window set of shape (n_windows, n_channels, n_times) "
            "(e.g. sliding_windows(rec).X)."
        )
    try:
        return np.asarray(X)
    except TypeError as exc:
        if type(X).__module__.startswith("torch") and "sparse" in str(X.layout):
            # torch's own advice varies by release (2.6 names a Tensor.dense() that no
            # longer exists)
            raise TypeError(
                f"{who}{name} is a sparse torch tensor ({X.layout}), which numpy cannot read; "
                f"convert it first: {name}.detach().to_dense().cpu()."
            ) from exc
        if not type(X).__module__.startswith("torch") or "ScalarType" not in str(exc):
            raise  # torch's own message names the fix (cpu(), ...)
        raise TypeError(
            f"{who}{name} is a torch tensor of dtype {X.dtype}, which numpy cannot read; "
            f"convert it first: {name}.detach().cpu().float()."
        ) from exc
    except RuntimeError as exc:
        if not type(X).__module__.startswith("torch") or "requires grad" not in str(exc):
            raise
        raise TypeError(
            f"{who}{name} is a torch tensor that requires grad, which numpy cannot read; "
            f"convert it first: {name}.detach().cpu()."
        ) from None
    except ValueError as exc:
        if "inhomogeneous" not in str(exc) and "sequence" not in str(exc):
            raise
        if name == "y":
            raise ValueError(
                f"{who}y must hold one label per window; its entries are sequences of "
                "different lengths. Pass a 1-D array of labels."
            ) from None
        raise ValueError(
            f"{who}{name} is ragged: its windows do not all have the same number of channels and "
            "samples, so they do not form one array. Cut every window to the same length (e.g. "
            "with semgaug_sk.windows.sliding_windows) and stack them with np.stack."
        ) from None


def _holding_dtype(dtype, accepted):
    """The accepted dtype to convert ``dtype`` to: float64 where float32 would round values.

    A sampler returns the real windows unchanged, so extended floats and integers wider
    than 16 bits go to float64 when it is accepted; others to the first. (Big-endian
    windows are brought to the machine's byte order before, which changes no value.)
    """
    wide = (dtype.kind == "f" and dtype.itemsize >= 8) or (
        dtype.kind in "iu" and dtype.itemsize >= 4
    )
    if wide and np.dtype(np.float64) in accepted:
        return np.dtype(np.float64)
    return accepted[0]


def check_windows(
    X,
    *,
    allow_2d: bool = False,
    dtype=(np.float32, np.float64),
    min_times: int = 1,
    min_windows: int = 1,
    name: str = "X",
    estimator=None,
):
    """Validate a window set and return it as a floating 3-D numpy array.

    Parameters
    ----------
    X : array-like of shape (n_windows, n_channels, n_times)
        Windows to check. With ``allow_2d=True`` a 2-D array is read as
        one-channel windows ``(n_windows, n_times)`` and returned as
        ``(n_windows, 1, n_times)``.
    allow_2d : bool, default=False
        Whether 2-D input is accepted as one-channel windows.
    dtype : dtype or tuple of dtypes, default=(float32, float64)
        Accepted floating dtypes. Big-endian input is brought to the machine's byte order
        first. Other real dtypes are cast to the first one, except that 64-bit or wider
        floats and integers of 32 bits or more go to float64
        when it is accepted, so that no value is rounded; object, complex and non-numeric
        dtypes are rejected.
    min_times : int, default=1
        Smallest accepted window length in samples.
    min_windows : int, default=1
        Smallest accepted number of windows.
    name : str, default="X"
        Name used in error messages.
    estimator : object, optional
        Estimator whose class name prefixes error messages.

    Returns
    -------
    X : ndarray of shape (n_windows, n_channels, n_times)
        The validated array (no copy when it already has an accepted dtype).

    Raises
    ------
    ValueError
        For a wrong ndim, empty input, too-short windows, NaN/inf, or a
        non-numeric/complex dtype.
    TypeError
        For sparse input.

    Examples
    --------
    >>> import numpy as np
    >>> check_windows(np.zeros((4, 2, 8))).shape
    (4, 2, 8)
    """
    who = f"{type(estimator).__name__}: " if estimator is not None else ""
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{who}{name} is a sparse matrix; window sets must be dense arrays of shape "
            "(n_windows, n_channels, n_times). Convert it with X.toarray()."
        )
    arr = _to_array(X, name=name, estimator=estimator)
    if not arr.dtype.isnative:  # big-endian files: the same values in the machine's order
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype.kind in "OUSVMm" or arr.dtype.kind == "c":
        kind = "complex" if arr.dtype.kind == "c" else f"non-numeric ({arr.dtype})"
        raise ValueError(
            f"{who}{name} has a {kind} dtype; sEMG windows must be real numbers. "
            "Convert it with np.asarray(X, dtype=np.float32) (take np.abs or .real of complex data first)."
        )
    if arr.dtype.kind == "b":
        arr = arr.astype(np.float64)
    accepted = [np.dtype(d) for d in (dtype if isinstance(dtype, tuple) else (dtype,))]
    if arr.dtype not in accepted:
        original = arr
        arr = arr.astype(_holding_dtype(arr.dtype, accepted))
        # 64-bit integers beyond 2**53 and extended floats can lose digits on the way
        lossy = original.dtype.kind == "f" and original.dtype.itemsize > 8
        if original.dtype.kind in "iu" and original.dtype.itemsize >= 8 and original.size:
            # exact up to 2**53: two reductions decide without data-sized temporaries
            lossy = max(abs(int(original.max())), abs(int(original.min()))) > 2**53
        if lossy:
            with np.errstate(invalid="ignore"):  # a value rounded past the dtype's range
                changed = int(np.count_nonzero(arr.astype(original.dtype) != original))
            if changed:
                warnings.warn(
                    f"{who}{name} of dtype {original.dtype} has {changed} value(s) that "
                    f"{arr.dtype} cannot hold exactly; they are rounded, so the windows "
                    "returned are not bit-identical to those given. Pass float64 windows.",
                    UserWarning,
                    stacklevel=caller_stacklevel(),
                )
    if arr.ndim == 2 and allow_2d:
        arr = arr[:, np.newaxis, :]
    if arr.ndim != 3:
        hint = (
            "For one window use X[np.newaxis]; for a continuous recording (n_samples, n_channels) "
            "cut windows first with semgaug_sk.windows.sliding_windows."
        )
        if arr.ndim == 2:
            hint = (
                "A 2-D array looks like a feature matrix or a continuous recording; cut windows with "
                "semgaug_sk.windows.sliding_windows, or add a channel axis with X[:, np.newaxis, :]."
            )
        raise ValueError(
            f"{who}{name} must be 3-D (n_windows, n_channels, n_times); got {arr.ndim}-D array "
            f"of shape {arr.shape}. {hint}"
        )
    if arr.shape[0] < min_windows:
        raise ValueError(
            f"{who}{name} has {arr.shape[0]} window(s); at least {min_windows} needed. "
            "Pass a non-empty window set."
        )
    if arr.shape[1] < 1:
        raise ValueError(f"{who}{name} has 0 channels; pass windows with at least one channel.")
    if arr.shape[2] < min_times:
        raise ValueError(
            f"{who}{name} windows have {arr.shape[2]} sample(s); at least {min_times} needed. "
            "Use a longer window_ms in sliding_windows."
        )
    # A finite sum proves every value finite without a full-size boolean temporary;
    # only a non-finite sum (NaN/inf, or an overflow) needs the element-wise check.
    with np.errstate(over="ignore", invalid="ignore"):  # a sum near the dtype's limit
        total = arr.sum()
    if not np.isfinite(total) and not np.isfinite(arr).all():
        n_bad = int(arr.size - np.isfinite(arr).sum())
        raise ValueError(
            f"{who}{name} contains {n_bad} NaN or infinite value(s). Drop the affected windows "
            "(keep = np.isfinite(X).all(axis=(1, 2)), then X[keep], and y[keep] where there are "
            "labels), or repair the recording and cut the windows again."
        )
    return arr


def object_labels_as_numbers(y):
    """Integers or bools in an object array (a pandas column after dropping None) as
    int64 or bool.

    scikit-learn calls such labels "unknown"; as int64 or bool they are the same labels.
    Any other array is returned unchanged.

    Examples
    --------
    >>> object_labels_as_numbers(np.array([2, 0], dtype=object)).dtype
    dtype('int64')
    >>> object_labels_as_numbers(np.array([True, False], dtype=object)).dtype
    dtype('bool')
    """
    y = np.asarray(y)
    if y.dtype != object or y.ndim != 1 or not len(y):
        return y
    values = y.tolist()
    if all(isinstance(v, bool | np.bool_) for v in values):
        return y.astype(bool)
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_) for v in values):
        return y.astype(np.int64)
    return y


def check_windows_labels(X, y, *, min_classes: int = 1, estimator=None, **kwargs):
    """Validate windows together with their per-window labels.

    Parameters
    ----------
    X : array-like of shape (n_windows, n_channels, n_times)
        Windows, checked with :func:`check_windows` (``kwargs`` are passed on).
    y : array-like of shape (n_windows,)
        Labels of any hashable type; they are returned unchanged.
    min_classes : int, default=1
        Smallest accepted number of distinct classes.
    estimator : object, optional
        Estimator whose class name prefixes error messages.
    **kwargs
        Passed to :func:`check_windows`.

    Returns
    -------
    X : ndarray of shape (n_windows, n_channels, n_times)
    y : ndarray of shape (n_windows,)

    Examples
    --------
    >>> import numpy as np
    >>> X, y = check_windows_labels(np.zeros((4, 2, 8)), ["a", "b", "a", "b"], min_classes=2)
    >>> y.tolist()
    ['a', 'b', 'a', 'b']
    """
    X = check_windows(X, estimator=estimator, **kwargs)
    who = f"{type(estimator).__name__}: " if estimator is not None else ""
    return X, check_labels(y, len(X), min_classes=min_classes, who=who)


def check_labels(y, n_windows, *, min_classes: int = 1, who: str = ""):
    """Validate per-window class labels (of any hashable type) for ``n_windows`` rows.

    Refuses a missing ``y``, a wrong shape or length, NaN or missing labels, and labels
    scikit-learn cannot sort into classes, each with the fix; ``who`` prefixes messages.

    Returns
    -------
    y : ndarray of shape (n_windows,)
        The labels (integers in an object array become int64).

    Examples
    --------
    >>> check_labels([3, 7, 3], 3, min_classes=2).tolist()
    [3, 7, 3]
    """
    if y is None:
        raise ValueError(f"{who}y is required: pass one label per window.")
    y = _to_array(y, name="y", who=who)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(  # as scikit-learn's estimators do
            # scikit-learn's wording first: its estimator checks look for it
            "A column-vector y was passed when a 1d array was expected"
            f"{' by ' + who.rstrip(': ') if who else ''}; it is raveled. Pass y.ravel() "
            "(shape (n_windows,)) to silence this.",
            DataConversionWarning,
            stacklevel=caller_stacklevel(),
        )
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"{who}y must be 1-D with one label per window; got shape {y.shape}. "
            "Multi-output targets are not supported."
        )
    if len(y) != n_windows:
        raise ValueError(
            f"{who}X and y have mismatched lengths: {n_windows} windows but {len(y)} labels. "
            "Pass one label per window."
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{who}y contains NaN or infinite labels; drop those windows first.")
    n_missing = int(np.count_nonzero(missing_values(y))) if y.dtype.kind == "O" else 0
    if n_missing:
        raise ValueError(
            f"{who}y contains {n_missing} missing (NaN) label(s); drop those windows first "
            "(y.astype(str) would make 'nan' a class)."
        )
    if y.dtype.kind == "c":
        raise ValueError(
            f"{who}y has a complex dtype; labels must be integers or strings. Take the real "
            "part: y.real, or y.real.astype(int) for integer labels."
        )
    if y.dtype.kind in "mM":  # .tolist() gives datetime objects that no longer match y's values
        raise ValueError(
            f"{who}y holds {y.dtype} values (dates or durations); labels must be integers or "
            "strings. Convert them, e.g. with y.astype(str)."
        )
    if y.dtype.kind == "T":  # numpy 2's StringDType: scikit-learn cannot sort it into classes
        raise ValueError(
            f"{who}y has numpy's variable-width StringDType, which scikit-learn does not take "
            "as class labels; convert it with y.astype(object) (the labels stay strings)."
        )
    y = object_labels_as_numbers(y)
    if y.dtype == object:
        sequences = sorted(
            {
                type(v).__name__
                for v in y.ravel().tolist()
                if isinstance(v, (tuple, list, np.ndarray))
            }
        )
        if sequences:  # scikit-learn took them for a legacy multi-label format
            raise ValueError(
                f"{who}y holds {'/'.join(sequences)} labels; a label must be one scalar (an "
                "integer or a string). Join compound labels into strings, e.g. "
                "y = np.array(['_'.join(map(str, label)) for label in y])."
            )
    try:
        target_type = type_of_target(y)
    except TypeError:  # 'a' next to 2: scikit-learn cannot sort them into classes either
        target_type = "unknown"
    if target_type == "unknown":
        kinds = sorted({type(v).__name__ for v in y.ravel().tolist()})
        if kinds == ["bytes"]:
            raise ValueError(
                f"{who}y holds bytes labels, which scikit-learn does not take as class labels; "
                "decode them into strings, e.g. y = np.array([label.decode() for label in y])."
            )
        raise ValueError(
            f"{who}y holds labels of types {kinds} that cannot be sorted into classes; labels "
            "must be all integers, all bools or all strings (any hashable of one kind). Convert "
            "them to the type they stand for, e.g. y.astype(int) or y.astype(str) (floats "
            "that are class codes: y.astype(int))."
        )
    if target_type == "continuous":
        raise ValueError(f"{who}{continuous_labels_message(y, 'y')}")
    n_classes = len(np.unique(y))
    if n_classes < min_classes:
        raise ValueError(
            f"{who}y has {n_classes} class(es); at least {min_classes} needed. "
            "Include windows of more gestures (e.g. include_rest=True adds the rest class)."
        )
    return y


#: A channel sits on a DC offset when its mean over all windows exceeds this many
#: within-window standard deviations, while its window means move by less than
#: ``_DC_DRIFT`` of them. Envelopes (NinaPro DB1) have a large mean too, but it moves with
#: the gesture (drift 5-8 on DB1, 1.7-2.9 for simulated envelopes); raw EMG on an offset
#: barely moves it (drift below 0.05).
_DC_OFFSET, _DC_DRIFT = 3.0, 0.5
#: ... and it crosses its window mean often, as broadband raw EMG does (0.45-0.55 crossings
#: per sample for simulated EMG at 200 Hz-1 kHz, 0.56 on Myo), where a smooth envelope
#: rarely does (0.15 on DB1): a few classes of an envelope can hold its mean still too.
_DC_CROSSINGS = 0.25


def check_sample_weight(sample_weight, n_windows, who=""):
    """``sample_weight`` as a float64 array of one finite, non-negative weight per window.

    ``None`` stays ``None`` (equal weights); ``who`` prefixes messages.

    Examples
    --------
    >>> check_sample_weight([1, 2], 2).tolist()
    [1.0, 2.0]
    """
    if sample_weight is None:
        return None
    try:
        weights = np.asarray(_to_array(sample_weight, name="sample_weight", who=who), dtype=float)
    except (TypeError, ValueError) as exc:
        if str(exc).startswith(who + "sample_weight"):
            raise
        raise ValueError(
            f"{who}sample_weight must hold numbers, one per window; got "
            f"{type(sample_weight).__name__} that does not convert to float ({exc})."
        ) from None
    if weights.ndim != 1 or len(weights) != n_windows:
        raise ValueError(
            f"{who}sample_weight has shape {weights.shape} for {n_windows} windows; pass one "
            "weight per window (a 1-D array), or None for equal weights."
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(
            f"{who}sample_weight holds NaN, inf or negative values; weights must be finite and "
            "non-negative."
        )
    return weights


def check_input_features(estimator, input_features):
    """scikit-learn's check of ``get_feature_names_out``'s ``input_features``: the names
    seen at fit, or as many as ``n_features_in_`` (channels, for windows); the output
    names do not depend on them."""
    if input_features is None:
        return
    who = f"{type(estimator).__name__}.get_feature_names_out: "
    input_features = np.asarray(input_features, dtype=object)
    names_in = getattr(estimator, "feature_names_in_", None)
    if names_in is not None and not np.array_equal(names_in, input_features):
        # scikit-learn's wording (its estimator checks look for it), then the fix
        raise ValueError(
            f"{who}input_features is not equal to feature_names_in_; pass the names seen at "
            "fit, or None."
        )
    if input_features.ndim != 1 or len(input_features) != estimator.n_features_in_:
        raise ValueError(
            f"{who}input_features should have length equal to number of features "
            f"({estimator.n_features_in_}), got {input_features.size}; pass "
            f"n_features_in_ = {estimator.n_features_in_} names, or None."
        )


def dc_offset_channels(X) -> np.ndarray:
    """Channels of raw EMG windows that sit on a constant (DC) offset.

    Such an offset (unsigned ADC codes centred on 2048, a DC-coupled amplifier) is
    not signal: gain normalisation and classic scaling treat it as signal, and the
    library's networks then learn little. An envelope (rectified, smoothed EMG) also
    has a large mean, but its mean moves between gestures, so it is not flagged.

    Parameters
    ----------
    X : ndarray of shape (n_windows, n_channels, n_times)

    Returns
    -------
    channels : ndarray of int
        The flagged channels (empty for centred raw EMG and for envelopes).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> raw = rng.normal(size=(50, 2, 40))
    >>> dc_offset_channels(raw).tolist(), dc_offset_channels(raw + [[[2048.0], [0.0]]]).tolist()
    ([], [0])
    """
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[0] < 2 or X.shape[2] < 2:
        return np.empty(0, dtype=np.intp)
    n, n_channels = X.shape[:2]
    window_means = np.empty((n, n_channels))
    spread = np.zeros(n_channels)
    crossings = np.zeros(n_channels)
    # amplitudes beyond ~1e154 overflow the squares (an inf spread flags nothing): a
    # heuristic warning must not emit numpy's warnings on data the library handles
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        # float64 by blocks of about chunked.BLOCK_VALUES values: memory bounded by the
        # block, whatever the window size (4096 windows of 128 x 2000 were 50 GB)
        for rows in row_blocks(n, n_channels * X.shape[2]):
            block = X[rows].astype(np.float64)
            means = block.mean(axis=2)
            window_means[rows] = means
            centred = block - means[..., None]
            spread += np.sqrt((centred**2).mean(axis=2)).sum(axis=0)
            signs = np.signbit(centred)
            crossings += (signs[..., 1:] != signs[..., :-1]).mean(axis=2).sum(axis=0)
        spread, crossings = spread / n, crossings / n  # per channel: within-window sd, rate
        offset = np.abs(window_means.mean(axis=0)) / spread
        drift = window_means.std(axis=0) / spread
    flagged = (
        (spread > 0) & (offset > _DC_OFFSET) & (drift < _DC_DRIFT) & (crossings > _DC_CROSSINGS)
    )
    return np.flatnonzero(flagged)


def warn_dc_offset(X, who):
    """Warn (UserWarning, at the user's line) when :func:`dc_offset_channels` flags channels of ``X``."""
    channels = dc_offset_channels(X)
    if len(channels):
        listed = ", ".join(map(str, channels[:8].tolist())) + ("..." if len(channels) > 8 else "")
        warnings.warn(
            f"{who}: channel(s) {listed} of the windows look like raw EMG on a constant offset "
            "many times larger than the signal (a DC offset, e.g. unsigned ADC codes). Such an "
            "offset is not signal: remove it before fitting, with "
            "semgaug_sk.preprocessing.highpass on the recording or X - X.mean(axis=2, "
            "keepdims=True) on the windows; otherwise gain normalisation and scaling treat it "
            "as signal and the results suffer. (If they are envelopes, whose mean is the "
            "signal, change nothing.)",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )


def sub_seeds(seed, n) -> list[int]:
    """``n`` independent 31-bit seeds derived deterministically from ``seed``.

    Examples
    --------
    >>> sub_seeds(0, 2) == sub_seeds(0, 2), len(set(sub_seeds(0, 3)))
    (True, 3)
    """
    states = np.random.SeedSequence(int(seed)).spawn(n)
    return [int(s.generate_state(1)[0] & 0x7FFFFFFF) for s in states]


def check_random_state_seed(random_state) -> int:
    """Turn a ``random_state`` into an integer seed for torch.

    Parameters
    ----------
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        An int is used as is. ``None`` draws from numpy's global RandomState, as
        scikit-learn does, so ``np.random.seed`` makes an unseeded estimator
        reproducible; a RandomState or Generator yields its next 31-bit integer.

    Returns
    -------
    seed : int

    Examples
    --------
    >>> check_random_state_seed(3)
    3
    """
    if isinstance(random_state, (bool, np.bool_)):
        raise ValueError(
            f"random_state must be None, an int or a numpy RandomState/Generator; "
            f"got the bool {random_state!r}."
        )
    if isinstance(random_state, numbers.Integral):
        if not 0 <= int(random_state) <= 2**32 - 1:
            raise ValueError(
                f"random_state must be in [0, 2**32 - 1] (numpy's and torch's seeds); got "
                f"{random_state!r}."
            )
        return int(random_state)
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    raise ValueError(
        f"random_state must be None, an int or a numpy RandomState/Generator; got {random_state!r}."
    )


def unwrap_scalar(value):
    """A one-element real numpy array (as ``np.load`` returns a stored number) as a float.

    Anything else is returned unchanged, for the caller's own checks.

    Examples
    --------
    >>> unwrap_scalar(np.array(1000.0)), unwrap_scalar("x")
    (1000.0, 'x')
    """
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        return float(value.reshape(-1)[0])
    return value


def check_optional_positive_int(value, name: str, who: str = ""):
    """``value`` when it is None or an integer >= 1; a ValueError naming ``name`` otherwise.

    ``who`` prefixes the message (e.g. ``"filter_by_confidence: "``).

    Examples
    --------
    >>> check_optional_positive_int(None, "batch_size"), check_optional_positive_int(4, "batch_size")
    (None, 4)
    """
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
    ):
        raise ValueError(f"{who}{name} must be None or an integer >= 1; got {value!r}.")
    return value


def check_positive_int(value, name: str, *, minimum: int = 1, estimator=None) -> int:
    """Check that ``value`` is an integer >= ``minimum`` and return it as ``int``.

    Examples
    --------
    >>> check_positive_int(3, "n_steps")
    3
    """
    who = f"{type(estimator).__name__}: " if estimator is not None else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{who}{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)


def _library_dirs():
    """Folders of semgaug_sk and of the frameworks that call it on a user's behalf."""
    dirs = [_PACKAGE_DIR]
    # imblearn's Pipeline fits its samplers through joblib's Memory
    for name in ("sklearn", "imblearn", "joblib", "skorch"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            dirs.append(str(Path(module.__file__).resolve().parent))
    # with the separator: user code in a sibling folder (semgaug_sk_scripts/) is not ours
    return tuple(os.path.join(d, "") for d in dirs)


def warn_if_stream(arr, who=""):
    """Warn when 2-D input read as one-channel windows looks like a continuous stream.

    ``(n_windows, n_times)`` windows of at most 16 samples, a hundred times more
    numerous than their length, are far likelier a stream ``(n_samples,
    n_channels)`` passed by mistake: each row would become a "window" of one
    sample per channel.

    Examples
    --------
    >>> import numpy as np, warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_if_stream(np.zeros((5000, 8)))
    >>> len(w)
    1
    """
    if arr.ndim == 2 and 0 < arr.shape[1] <= 16 and arr.shape[0] >= 100 * arr.shape[1]:
        warnings.warn(
            f"{who}2-D X of shape {arr.shape} is read as {arr.shape[0]} one-channel windows of "
            f"{arr.shape[1]} samples, but it looks like a continuous stream (n_samples, "
            "n_channels). Cut streams into windows with semgaug_sk.windows.sliding_windows "
            "first; pass X[:, np.newaxis, :] to keep one-channel windows and silence this.",
            UserWarning,
            stacklevel=caller_stacklevel(),
        )


def continuous_labels_message(y, name):
    """Why float labels ``y`` (named ``name``) with a non-whole value are refused, and the fix."""
    values = np.asarray(y, dtype=float).ravel()
    first = float(values[values != np.round(values)][0])
    return (
        f"{name} looks continuous (non-integer floats such as {first!r}); class labels must "
        f"be discrete. Cast integer-valued labels with {name}.astype(int); codes such as 3.5 "
        f"with {name}.astype(str) (astype(int) would merge 3.5 into 3)."
    )


def caller_stacklevel():
    """``stacklevel`` that makes a warning point at the user's line.

    That is the first frame outside semgaug_sk and the frameworks that call it
    (scikit-learn, imbalanced-learn and joblib run ``fit_resample`` and
    pipelines, skorch the networks' training). For a warning
    raised deep in the library along call paths of different depths
    (``fit_resample`` and ``generate``, say). Call it in the function that calls
    :func:`warnings.warn`.

    Examples
    --------
    >>> caller_stacklevel() >= 1
    True
    """
    library = _library_dirs()
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(
        library
    ):
        frame, level = frame.f_back, level + 1
    return level


def missing_values(values) -> np.ndarray:
    """Boolean mask of the NaN entries of a float or object array (all False otherwise).

    An object array (a pandas column with gaps) holds NaN as a float object, which
    ``np.isnan`` cannot take; ``NaN != NaN`` finds it. pandas' ``NA`` (a ``string`` or
    nullable column's gap) counts as missing too.

    Examples
    --------
    >>> missing_values(np.array(["a", np.nan, 1], dtype=object)).tolist()
    [False, True, False]
    """
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.asarray(_missing_object(values), dtype=bool)  # a 0-d input gives a bool
    return np.zeros(values.shape, dtype=bool)


def _is_missing_object(value):
    try:
        return bool(value != value)  # NaN, NaT
    except TypeError:  # pandas' NA: its comparisons are NA, whose truth is ambiguous
        return True
    except ValueError:  # an array as a label: refused later, by name
        return False


_missing_object = np.frompyfunc(_is_missing_object, 1, 1)


def check_group_values(values, key, who, *, drop, convert):
    """Per-window group labels (subjects, repetitions), refused when they cannot group.

    A NaN belongs to no group and would fall silently on one side of a split (or
    nowhere), and labels of mixed types cannot be sorted into groups.

    Parameters
    ----------
    values : array-like of shape (n_windows,)
    key : str
        What the values are, for the messages ("subject", "groups", ...).
    who : str
        Function or estimator named in the messages.
    drop, convert : str
        Code that drops the NaN windows, and code that makes the labels one type.

    Returns
    -------
    values : ndarray

    Examples
    --------
    >>> check_group_values([1, 1, 2], "subject", "f", drop="...", convert="...").tolist()
    [1, 1, 2]
    >>> check_group_values([1.0, float("nan")], "subject", "f", drop="x[~np.isnan(s)]",
    ...     convert="...")
    Traceback (most recent call last):
    ...
    ValueError: f: 1 window(s) have a NaN subject; such windows belong to no subject and would be grouped wrongly without a word. Drop them first, e.g. x[~np.isnan(s)].
    """
    values = np.asarray(values)
    n_nan = int(np.count_nonzero(missing_values(values)))
    if n_nan:
        raise ValueError(
            f"{who}: {n_nan} window(s) have a NaN {key}; such windows belong "
            f"to no {key} and would be grouped wrongly without a word. Drop them first, "
            f"e.g. {drop}."
        )
    kinds = unsortable_types(values)
    if kinds:
        raise ValueError(
            f"{who}: the {key} values mix types {kinds} that cannot be compared; make them "
            f"all integers or all strings, e.g. {convert}."
        )
    return values


def unsortable_types(values):
    """The type names of an object array whose values cannot be sorted together, else None.

    Examples
    --------
    >>> unsortable_types(np.array([0, "a"], dtype=object))
    ['int', 'str']
    >>> unsortable_types(np.array(["a", "b"], dtype=object)) is None
    True
    """
    values = np.asarray(values)
    if values.dtype != object:
        return None
    try:
        np.unique(values)
    except TypeError:
        return sorted({type(v).__name__ for v in values.tolist()})
    return None


def refuse_bool_numbers(estimator) -> None:
    """Refuse ``True``/``False`` for a numeric parameter of ``estimator``.

    scikit-learn's ``Interval`` constraints count a bool as a number, so
    ``max_sequences=True`` would train on one sequence and ``confidence_threshold=True``
    would keep only certain windows, silently. Parameters whose constraints also
    list ``"boolean"`` (``verbose``) keep accepting bools.

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        Naming the parameter and the bool given.

    Examples
    --------
    >>> from semgaug_sk import FeatureImitator
    >>> refuse_bool_numbers(FeatureImitator(max_sequences=True))
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'max_sequences' parameter of FeatureImitator must be a number, not a bool; got True. ...
    """
    for name, constraints in getattr(estimator, "_parameter_constraints", {}).items():
        if not isinstance(constraints, list) or "boolean" in constraints:
            continue
        if not any(isinstance(c, Interval) for c in constraints):
            continue
        value = getattr(estimator, name, None)
        if isinstance(value, (bool, np.bool_)):
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be a number, not a "
                f"bool; got {value!r}. A bool counts as 1 or 0 here, which is rarely what was "
                "meant: pass the number itself."
            )


class RefuseBoolNumbersMixin:
    """Add :func:`refuse_bool_numbers` to scikit-learn's parameter validation.

    Place it before ``BaseEstimator`` (or a class derived from it) in the bases.
    """

    def _validate_params(self):
        super()._validate_params()
        refuse_bool_numbers(self)
