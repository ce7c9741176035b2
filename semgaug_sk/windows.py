"""Cutting continuous recordings into labelled windows, vectorised.

A recording is a :class:`sklearn.utils.Bunch` with ``emg`` (n_samples, n_channels),
``fs`` and per-sample ``label``, ``repetition`` and ``subject`` arrays (loaders
also give ``session``, and may give ``block`` for separately acquired files).
:func:`sliding_windows` turns it into a window set whose windows never span a
change of any of those arrays.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.utils import Bunch, gen_batches

from .utils.validation import missing_values

__all__ = ["sliding_windows", "ms_to_samples"]

_WHO = "sliding_windows"
#: Per-sample arrays that end a window when they change.
_SEGMENT_KEYS = ("label", "repetition", "subject", "session", "block")
#: Per-sample arrays whose change breaks the continuity of the stream itself.
_STREAM_KEYS = ("subject", "session", "block")
#: Entries of a recording that say what its ids mean, copied to its window set.
_CARRIED_METADATA = ("subject_names", "session_names", "label_names", "channel_names")


def ms_to_samples(duration_ms, fs, *, name="duration_ms", minimum=1) -> int:
    """Convert a duration in milliseconds to a whole number of samples.

    The count is ``duration_ms * fs / 1000`` rounded to the nearest integer,
    halves rounded up (``floor(x + 0.5)``), so 200 ms at 100 Hz is 20 samples and
    25 ms at 100 Hz is 3 samples (2.5 rounded up).

    Parameters
    ----------
    duration_ms : float
        Duration in milliseconds.
    fs : float
        Sampling rate in Hz.
    name : str
        Parameter name used in error messages.
    minimum : int, default=1
        Smallest accepted result.

    Returns
    -------
    n_samples : int

    Examples
    --------
    >>> ms_to_samples(200, 100)
    20
    >>> ms_to_samples(25, 100)
    3
    """
    fs = _as_fs(fs, "fs", who="ms_to_samples")
    return _ms_to_samples(duration_ms, fs, name=name, minimum=minimum, who="ms_to_samples")


def _ms_to_samples(duration_ms, fs, *, name, minimum, who):
    if (
        isinstance(duration_ms, bool)
        or not isinstance(duration_ms, numbers.Real)
        or not np.isfinite(duration_ms)
        or duration_ms < 0
    ):
        raise ValueError(
            f"{who}: {name} must be a finite, non-negative number of ms; got {duration_ms!r}."
        )
    samples = np.floor(duration_ms * fs / 1000.0 + 0.5)
    if not np.isfinite(samples):
        raise ValueError(
            f"{who}: {name}={duration_ms} ms at fs={fs} Hz is more samples than a number "
            f"holds; give {name} in milliseconds (a window is typically 50-300 ms)."
        )
    n = int(samples)
    if n < minimum:
        raise ValueError(
            f"{who}: {name}={duration_ms} ms is {n} sample(s) at fs={fs} Hz; at least {minimum} "
            f"needed. Use {name} >= {1000.0 * (minimum - 0.5) / fs:.4g} ms at this sampling rate."
        )
    return n


def _as_fs(value, what, who=_WHO):
    """``value`` as a positive finite float (Hz), or a clear error naming ``what``."""
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iuf" or isinstance(value, bool):
        raise ValueError(
            f"{who}: {what} must be one positive number of Hz; got {value!r}. Pass e.g. fs=1000."
        )
    fs = float(arr.reshape(-1)[0])
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"{who}: {what} must be a positive number of Hz; got {fs!r}.")
    return fs


def _stream_and_fs(rec_or_emg, fs):
    if rec_or_emg is None:
        raise ValueError(
            f"{_WHO}: rec_or_emg is None; pass a recording Bunch from semgaug_sk.datasets or an "
            "array of shape (n_samples, n_channels)."
        )
    if isinstance(rec_or_emg, Mapping):
        if "emg" not in rec_or_emg:
            raise ValueError(
                f"{_WHO}: the recording has no 'emg' entry; pass a recording Bunch from "
                "semgaug_sk.datasets or an array of shape (n_samples, n_channels)."
            )
        emg = rec_or_emg["emg"]
        rec_fs = rec_or_emg.get("fs")
        if rec_fs is not None:
            rec_fs = _as_fs(rec_fs, "the recording's fs")
        if fs is not None:
            fs = _as_fs(fs, "fs")
        if rec_fs is not None and fs is not None and not np.isclose(rec_fs, fs):
            raise ValueError(
                f"{_WHO}: fs={fs} contradicts the recording's fs={rec_fs}; leave fs=None to use "
                "the recording's."
            )
        fs = rec_fs if rec_fs is not None else fs
        arrays = {k: rec_or_emg.get(k) for k in _SEGMENT_KEYS}
    else:
        emg = rec_or_emg
        arrays = dict.fromkeys(_SEGMENT_KEYS)
    if fs is None:
        raise ValueError(
            f"{_WHO}: The sampling rate is unknown: pass fs= (Hz) or a recording Bunch that has 'fs'."
        )
    fs = _as_fs(fs, "fs")
    try:
        emg = np.asarray(emg)
    except ValueError:
        raise ValueError(
            f"{_WHO}: emg is ragged (its rows differ in length); a stream must be one "
            "(n_samples, n_channels) array."
        ) from None
    if emg.dtype.kind not in "biuf":
        raise ValueError(
            f"{_WHO}: emg has dtype {emg.dtype}; it must be real numbers. Convert with "
            "np.asarray(emg, dtype=np.float32)."
        )
    if emg.ndim == 1:
        raise ValueError(
            f"{_WHO}: emg is 1-D (shape {emg.shape}); a stream must be (n_samples, n_channels). "
            "For one channel use emg[:, np.newaxis]."
        )
    if emg.ndim != 2:
        raise ValueError(
            f"{_WHO}: emg must be 2-D (n_samples, n_channels); got shape {emg.shape}. Windows that "
            "are already cut (n_windows, n_channels, n_times) need no sliding_windows."
        )
    if emg.shape[0] == 0 or emg.shape[1] == 0:
        raise ValueError(f"{_WHO}: emg is empty (shape {emg.shape}); pass a non-empty recording.")
    if not np.isfinite(emg).all():
        bad = np.flatnonzero(~np.isfinite(emg).all(axis=1))
        raise ValueError(
            f"{_WHO}: emg contains NaN or infinite values in {bad.size} sample(s) (first at index "
            f"{bad[0]}). Interpolate or cut them out of the recording before windowing."
        )
    return emg, fs, arrays


def _per_sample(value, name, n_samples, n_channels=None):
    arr = np.asarray(value)
    if arr.dtype.kind in "US" and not isinstance(value, np.ndarray) and np.ndim(value) == 1:
        # numpy turns a list mixing numbers and strings into strings (1 -> '1'): labels
        # round-trip unchanged, so such a list stays a list of its own objects
        kinds = {type(v) for v in value}
        if len(kinds) > 1:
            arr = np.empty(len(value), dtype=object)
            arr[:] = list(value)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        transposed = ""
        if n_channels is not None and arr.ndim == 1 and len(arr) == n_channels > n_samples:
            transposed = (
                f" emg has shape ({n_samples}, {n_channels}), fewer samples than channels, and "
                f"{name} is as long as its second axis: emg looks transposed; streams are "
                "(n_samples, n_channels), so pass emg.T."
            )
        raise ValueError(
            f"{_WHO}: {name} must have one value per sample ({n_samples}); got shape {arr.shape}. "
            f"Pass a 1-D array as long as emg.{transposed}"
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(
            f"{_WHO}: {name} contains NaN or infinite values; per-sample labels must be finite. "
            "Give every sample a value (e.g. the rest label) first."
        )
    if arr.dtype.kind == "O":
        # NaN != NaN: each missing value (a pandas column with gaps) would be a segment of its own
        missing = np.flatnonzero(missing_values(arr))
        if len(missing):
            raise ValueError(
                f"{_WHO}: {name} has {len(missing)} missing value(s) (NaN), the first at sample "
                f"{int(missing[0])}; give every sample a value (e.g. the rest label) first."
            )
    return arr


def _run_starts(arrays, n_samples):
    """Boolean mask, True where any of the arrays changes value (index 0 is True)."""
    change = np.zeros(n_samples, dtype=bool)
    change[0] = True
    for arr in arrays:
        change[1:] |= arr[1:] != arr[:-1]
    return change


def _resolve_rest_label(rest_label, rec_or_emg):
    """``rest_label``, with ``"auto"`` read from the recording (0 when it says nothing)."""
    if isinstance(rest_label, str) and rest_label == "auto":
        if isinstance(rec_or_emg, Mapping) and "rest_label" in rec_or_emg:
            try:
                rest_label = rec_or_emg["rest_label"]
            except ValueError:
                # np.load of a recording saved with rest_label=None: only unpickling reads
                # that object array, and a number or a string would have a plain dtype
                return None
        else:
            return 0
    if isinstance(rest_label, np.ndarray) and rest_label.ndim == 0:
        rest_label = rest_label.item()  # as np.savez stores it
    return rest_label


def _not_rest(y, rest_label):
    """Mask of the windows whose label is not ``rest_label``; a mismatched kind drops nothing."""
    numeric_rest = isinstance(rest_label, numbers.Number) and not isinstance(
        rest_label, (bool, np.bool_)
    )
    if y.dtype.kind == "b" and numeric_rest:
        # False == 0 in Python: a numeric rest label would silently drop every False window
        warnings.warn(
            f"{_WHO}: the labels are booleans, so rest_label={rest_label!r} does not apply and no "
            "window is dropped as rest. Pass rest_label=False to drop the False windows as rest, "
            "or rest_label=None to say there is no rest class.",
            UserWarning,
            stacklevel=3,
        )
        return np.ones(len(y), dtype=bool)
    target = rest_label
    if isinstance(rest_label, tuple):  # one label, not a sequence to broadcast against y
        target = np.empty((), dtype=object)
        target[()] = rest_label
    not_rest = y != target
    if not_rest.all() and isinstance(rest_label, str) and y.dtype.kind not in "OUS":
        # a string can never equal a numeric label (a gesture-only clip with string
        # labels simply has no rest, as one with numbers does)
        seen = _first_labels(y)
        warnings.warn(
            f"{_WHO}: rest_label={rest_label!r} is not among the labels {seen}, so no window "
            "is dropped as rest. Pass the rest label as it appears in the labels (a number "
            "for numeric labels), or rest_label=None if there is no rest class.",
            UserWarning,
            stacklevel=3,
        )
    elif not_rest.all() and y.dtype.kind in "OUS" and not isinstance(rest_label, str):
        # string labels can never equal the numeric default: "rest" would pass as a class
        seen = _first_labels(y)
        warnings.warn(
            f"{_WHO}: rest_label={rest_label!r} is not among the string labels {seen}, so no "
            "window is dropped as rest. Pass the rest label (e.g. rest_label='rest'), or "
            "rest_label=None if there is no rest class.",
            UserWarning,
            stacklevel=3,
        )
    return not_rest


def _first_labels(y, n=8):
    """The first ``n`` distinct labels of ``y`` in order of appearance (no sorting: object
    labels may mix types), looked up among the label runs rather than every window."""
    runs = y[np.r_[True, y[1:] != y[:-1]]] if len(y) else y
    return list(dict.fromkeys(runs.tolist()))[:n]


def _crosses_repetition(repetition, starts, targets):
    """Windows of one repetition whose future sample lies in another (not in rest).

    Such a window holds repetition r's samples under repetition r''s label and
    number, so a repetition split would put r's samples on r''s side. Repetition 0
    is rest by the loaders' convention: a rest window labelled with the coming
    gesture, or a gesture window labelled with the rest after it, stays.
    """
    own, future = repetition[starts], repetition[targets]
    if repetition.dtype.kind in "iuf":
        return (own != future) & (own != 0) & (future != 0)
    return own != future


def _warn_labels_without_windows(
    segment_labels, segment_lengths, y, win, fs, rest, with_rest, crossed=""
):
    """Warn when a label of the stream ends up with no window (its segments are too short)."""
    try:  # no Python loop per segment or window, as in sliding_windows itself
        labels, inverse = np.unique(segment_labels, return_inverse=True)
        windowed = np.isin(labels, np.unique(y))
    except TypeError:  # labels of mixed kinds cannot be sorted; compare their text
        labels, inverse = np.unique(segment_labels.astype(str), return_inverse=True)
        windowed = np.isin(labels, np.unique(y.astype(str)))
        labels = segment_labels[np.unique(inverse.ravel(), return_index=True)[1]]
    longest = np.zeros(len(labels), dtype=np.int64)
    np.maximum.at(longest, inverse.ravel(), segment_lengths)
    # by position: object labels that Python deems equal (True, 1) must not merge
    labels, longest = labels.tolist(), longest.tolist()
    dropped_as_rest = rest is not None and not with_rest
    missing = [
        i
        for i, held in enumerate(windowed.tolist())
        if not held and not (dropped_as_rest and _same_label(labels[i], rest))
    ]
    if missing:
        details = ", ".join(
            f"{labels[i]!r} ({longest[i]} samples = {1000.0 * longest[i] / fs:g} ms)"
            for i in missing[:8]
        )
        warnings.warn(
            f"{_WHO}: {len(missing)} label(s) of the stream have no window; their longest "
            f"segment is shorter than a window of {win} samples (or its future left the "
            f"stream with this horizon_ms): {details}. Use a shorter window_ms to keep them, "
            "or drop those labels on purpose." + crossed,
            UserWarning,
            stacklevel=3,
        )


def _same_label(label, rest):
    # booleans and numbers compare equal across kinds (False == 0); the rest-label
    # rules of _not_rest already warned about that case
    try:
        return bool(label == rest)
    except (TypeError, ValueError):
        return False


def sliding_windows(
    rec_or_emg,
    fs=None,
    window_ms=200.0,
    step_ms=100.0,
    label=None,
    repetition=None,
    subject=None,
    include_rest=False,
    rest_label="auto",
    horizon_ms=0.0,
):
    """Cut a recording into overlapping windows that never span a segment change.

    A *segment* is a maximal run of samples over which ``label``, ``repetition``,
    ``subject`` (and ``session``/``block`` when the recording has them) are all
    constant. Windows start at every ``step`` samples from each segment's start
    and are kept while they fit inside the segment; the leftover tail of a
    segment shorter than one step is not used. Everything is computed with
    index arithmetic and one strided gather: there is no Python loop per
    window or per segment.

    Parameters
    ----------
    rec_or_emg : Bunch or array-like of shape (n_samples, n_channels)
        A recording (``emg``, ``fs`` and per-sample arrays) or a bare stream.
    fs : float, optional
        Sampling rate in Hz. Taken from the recording when it has one (a
        different value is an error); required for a bare stream.
    window_ms, step_ms : float, default=200.0, 100.0
        Window length and hop in ms. Each is converted to samples by
        rounding ``ms * fs / 1000`` to the nearest integer, halves up (see
        :func:`ms_to_samples`); both must give at least one sample.
    label, repetition, subject : array-like of shape (n_samples,), optional
        Per-sample arrays; they override the recording's. Labels may be any
        hashable (strings stay strings). Without any label the windows are
        unlabelled (``y`` is None) and ``include_rest``/``horizon_ms`` do not apply.
    include_rest : bool, default=False
        Keep windows whose label is ``rest_label``. By default they are dropped.
    rest_label : "auto", hashable or None, default="auto"
        The rest label. ``"auto"`` takes the recording's own ``rest_label``
        (the loaders set it: 0 for NinaPro, UCI and the simulator, None for the
        Myo armband dataset, whose gesture 0 is "Neutral", a real class), and 0
        for a bare stream or a recording without one. ``None`` means the data
        have no rest class, so nothing is dropped. A numeric rest label does not
        apply to string or boolean labels (``False == 0`` in Python): nothing
        is then dropped, with a warning; pass ``rest_label=False`` to drop the
        ``False`` windows.
    horizon_ms : float, default=0.0
        Prediction horizon for low-latency classification. With ``H`` =
        ``ms_to_samples(horizon_ms)`` > 0, each window is labelled with the
        label of the sample ``H`` samples after its last sample, and its
        ``repetition`` is taken from that sample too (the window itself still
        lies inside one segment; its own label is in ``current_label``). The
        future sample must lie in the same continuous stream (same subject,
        session and block, before the end of the recording); a window whose
        future would cross such a boundary is dropped, never mislabelled, and so
        is a window of one repetition whose future lies in another (a horizon
        longer than the rest between them), which would otherwise carry one
        repetition's samples into the other's side of a split. Repetition 0
        (rest) is exempt both ways. ``include_rest`` then applies to the future
        label.

    Returns
    -------
    windows : Bunch
        - ``X``: ndarray (n_windows, n_channels, n_times) float32
        - ``y``, ``repetition``, ``subject`` (and ``session`` when present):
          per-window arrays (``y`` None for an unlabelled stream)
        - ``start``: index of each window's first sample in the stream
        - ``fs``, ``window_samples``, ``step_samples``, ``horizon_samples``
        - ``rest_label``: the label that was treated as rest (None: no rest class)
        - ``current_label``: the window's own label (only with a horizon)
        - the recording's ``subject_names``, ``session_names``, ``label_names`` and
          ``channel_names`` when it has them (``subject_split`` then takes names)

    Raises
    ------
    ValueError
        For a missing fs, a wrong shape, NaN/inf, mismatched per-sample
        lengths, a window or step shorter than one sample, a window longer
        than every segment, or no window left after filtering.

    Examples
    --------
    >>> import numpy as np
    >>> emg = np.random.default_rng(0).standard_normal((1000, 4)).astype(np.float32)
    >>> label = np.repeat([0, 1, 2, 0], 250)
    >>> w = sliding_windows(emg, fs=1000, window_ms=100, step_ms=50, label=label)
    >>> w.X.shape, sorted(set(w.y.tolist()))
    ((8, 4, 100), [1, 2])
    """
    emg, fs, arrays = _stream_and_fs(rec_or_emg, fs)
    n_samples = emg.shape[0]
    for name, value in (("label", label), ("repetition", repetition), ("subject", subject)):
        if value is not None:
            arrays[name] = value
    arrays = {
        k: _per_sample(v, k, n_samples, emg.shape[1]) for k, v in arrays.items() if v is not None
    }

    win = _ms_to_samples(window_ms, fs, name="window_ms", minimum=1, who=_WHO)
    step = _ms_to_samples(step_ms, fs, name="step_ms", minimum=1, who=_WHO)
    # a positive horizon that rounds to 0 samples would silently turn the horizon off
    positive = isinstance(horizon_ms, numbers.Real) and not isinstance(horizon_ms, bool)
    positive = positive and bool(horizon_ms > 0)
    horizon = _ms_to_samples(
        horizon_ms, fs, name="horizon_ms", minimum=1 if positive else 0, who=_WHO
    )
    n_crossing = 0  # windows dropped because their future lies in another repetition
    labelled = "label" in arrays
    if horizon and not labelled:
        raise ValueError(
            f"{_WHO}: horizon_ms > 0 needs per-sample labels; pass label= or a labelled recording."
        )

    run_start = _run_starts(list(arrays.values()), n_samples)
    seg_starts = np.flatnonzero(run_start)
    seg_lengths = np.diff(np.append(seg_starts, n_samples))
    if win > seg_lengths.max():
        transposed = ""
        if emg.shape[0] < emg.shape[1]:
            transposed = (
                f" emg has shape {emg.shape}, fewer samples than channels: it looks transposed; "
                "streams are (n_samples, n_channels), so pass emg.T."
            )
        raise ValueError(
            f"{_WHO}: window_ms={window_ms} ({win} samples at {fs:g} Hz) is longer than the longest segment "
            f"({seg_lengths.max()} samples) of constant label/repetition/subject. Use a shorter window_ms "
            f"(or check that the per-sample labels are not fragmented).{transposed}"
        )

    n_per_seg = np.maximum(0, (seg_lengths - win) // step + 1)
    seg_of_window = np.repeat(np.arange(seg_starts.size), n_per_seg)
    offsets = np.arange(seg_of_window.size) - np.repeat(np.cumsum(n_per_seg) - n_per_seg, n_per_seg)
    starts = seg_starts[seg_of_window] + offsets * step

    target = starts + win - 1 + horizon
    keep = target < n_samples
    if horizon:
        stream = _run_starts([arrays[k] for k in _STREAM_KEYS if k in arrays], n_samples)
        stream_id = np.cumsum(stream)
        safe_target = np.minimum(target, n_samples - 1)
        keep &= stream_id[safe_target] == stream_id[starts]
        if "repetition" in arrays:
            crossing = _crosses_repetition(arrays["repetition"], starts, safe_target) & keep
            n_crossing = int(crossing.sum())
            keep &= ~crossing
    starts, target = starts[keep], target[keep]

    y = arrays["label"][target] if labelled else None
    rest_label = _resolve_rest_label(rest_label, rec_or_emg)
    if labelled and not include_rest and rest_label is not None:
        not_rest = _not_rest(y, rest_label)
        starts, target, y = starts[not_rest], target[not_rest], y[not_rest]
    crossed = ""
    if n_crossing:
        crossed = (
            f" {n_crossing} window(s) were dropped because this horizon_ms reaches from one "
            "repetition into another (a repetition split would put one repetition's samples "
            "on the other's side); a shorter horizon_ms keeps them."
        )
    if labelled:
        _warn_labels_without_windows(
            arrays["label"][seg_starts], seg_lengths, y, win, fs, rest_label, include_rest, crossed
        )
    if starts.size == 0:
        raise ValueError(
            f"{_WHO}: No window is left: every window was rest (pass include_rest=True or rest_label=None), "
            "or crossed a stream boundary with this horizon_ms. Check window_ms, step_ms and the labels."
            + crossed
        )

    # narrowed before the gather: overlapping windows are many times the stream's size
    stream32 = np.asarray(emg, dtype=np.float32)
    windows = sliding_window_view(stream32, win, axis=0)  # (n_samples - win + 1, ch, win), a view
    # gathered a block at a time into the result: windows[starts] comes out in the view's
    # (time-last) strides, and making it C-ordered would hold the windows twice
    X = np.empty((starts.size, *windows.shape[1:]), dtype=np.float32)
    for rows in gen_batches(starts.size, max(1, 2**21 // max(1, X[0].size))):
        X[rows] = windows[starts[rows]]
    out = Bunch(
        X=X,
        y=y,
        start=starts,
        fs=fs,
        window_samples=win,
        step_samples=step,
        horizon_samples=horizon,
        rest_label=rest_label,
    )
    for key in ("repetition", "subject", "session", "block"):
        out[key] = arrays[key][target if key == "repetition" else starts] if key in arrays else None
    if out.repetition is None:
        out.repetition = np.zeros(starts.size, dtype=np.int64)
    if out.subject is None:
        out.subject = np.zeros(starts.size, dtype=np.int64)
    for key in ("session", "block"):
        if out[key] is None:
            del out[key]
    if horizon:
        out.current_label = arrays["label"][starts]
    if isinstance(rec_or_emg, Mapping):  # what the ids mean travels with the windows
        # ... unless the call replaced those ids: the recording's names describe its own
        overridden = {
            f"{k}_names" for k, v in (("label", label), ("subject", subject)) if v is not None
        }
        for key in _CARRIED_METADATA:
            if rec_or_emg.get(key) is not None and key not in overridden:
                out[key] = rec_or_emg[key]
    return out
