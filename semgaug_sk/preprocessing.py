"""Signal conditioning for sEMG: zero-phase filters and a window standardizer.

The filters take a continuous recording (a Bunch from :mod:`semgaug_sk.datasets`)
or a plain array and return the same kind. On a recording, each continuous
piece (delimited by changes of ``subject``, ``session`` or ``block``, the
source file) is filtered on its own, so no transient leaks across the joints of concatenated recordings.
Filtering is zero-phase (:func:`scipy.signal.sosfiltfilt`): gesture onsets stay
where the labels put them.

:class:`WindowStandardizer` z-scores window sets with statistics fitted on the
training windows only.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
from scipy import signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Bunch
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from semgaug_sk.utils.chunked import channel_mean_std, map_rows, row_blocks
from semgaug_sk.utils.provenance import CarriesOutputRecordMixin, pass_on_provenance
from semgaug_sk.utils.training import restore_on_failure
from semgaug_sk.utils.validation import (
    _to_array,
    check_input_features,
    check_positive_int,
    check_windows,
    unwrap_scalar,
    warn_if_stream,
)

__all__ = [
    "bandpass",
    "channel_rms",
    "highpass",
    "lowpass",
    "notch",
    "standardised_rows",
    "WindowStandardizer",
]


# --------------------------------------------------------------------------------------------
# filters
# --------------------------------------------------------------------------------------------
def _check_fs(fs, who):
    fs = unwrap_scalar(fs)  # e.g. a recording's fs read back by np.load
    if isinstance(fs, bool) or not isinstance(fs, numbers.Real) or not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"{who}: fs must be a positive sampling rate in Hz; got {fs!r}.")
    return float(fs)


def _check_cutoff(value, name, fs, who):
    nyquist = fs / 2.0
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{who}: {name} must be a frequency in Hz; got {value!r}.")
    if not 0 < value < nyquist:
        raise ValueError(
            f"{who}: {name}={value:g} Hz must lie strictly between 0 and the Nyquist frequency "
            f"{nyquist:g} Hz (fs={fs:g} Hz); pass a {name} below {nyquist:g} Hz, or skip this "
            "filter for this recording."
        )
    return float(value)


def _split_input(x, fs, who):
    """Return (emg array, fs, recording or None) for a recording Bunch or an array."""
    if isinstance(x, Mapping):  # a Bunch, a dict or an np.load'ed .npz
        if "emg" not in x:
            raise ValueError(
                f"{who}: the recording has no 'emg' entry; pass a Bunch from semgaug_sk.datasets "
                "or an array of shape (n_samples, n_channels)."
            )
        rec_fs = x.get("fs")
        if rec_fs is None and fs is None:
            raise ValueError(f"{who}: the recording has no 'fs'; pass fs= in Hz.")
        if rec_fs is not None and fs is not None and not np.isclose(float(rec_fs), float(fs)):
            raise ValueError(
                f"{who}: fs={fs} contradicts the recording's fs={rec_fs}; drop the fs argument."
            )
        return np.asarray(x["emg"]), _check_fs(rec_fs if rec_fs is not None else fs, who), x
    if fs is None:
        raise ValueError(f"{who}: fs is required for an array input; pass the sampling rate in Hz.")
    if hasattr(x, "toarray"):
        raise TypeError(f"{who}: sparse input is not supported; pass a dense array (x.toarray()).")
    return np.asarray(x), _check_fs(fs, who), None


def _blocks(rec, n, who):
    """Start/stop of each continuous piece of a recording: subjects, sessions and blocks (files)."""
    cuts = {0, n}
    for key in ("subject", "session", "block"):
        v = rec.get(key)
        if v is None:
            continue
        v = np.asarray(v)
        if v.ndim == 2 and 1 in v.shape:  # a column from a MATLAB file, as sliding_windows takes
            v = v.ravel()
        if v.ndim != 1 or len(v) != n:
            raise ValueError(
                f"{who}: the recording's {key} must have one value per sample ({n}); got shape "
                f"{v.shape}. Fix or drop it: the filter restarts where it changes."
            )
        cuts.update((np.flatnonzero(v[1:] != v[:-1]) + 1).tolist())
    edges = sorted(cuts)
    return list(zip(edges[:-1], edges[1:], strict=True))


def _apply_sos(x, fs, sos, *, axis, who):
    emg, fs, rec = _split_input(x, fs, who)
    if emg.dtype.kind not in "iuf":
        raise ValueError(
            f"{who}: the signal must be real numbers; got dtype {emg.dtype}. Convert it with "
            "np.asarray(x, dtype=float) (take np.abs or .real of complex data first)."
        )
    # big-endian input comes back in the machine's byte order, as torch needs
    out_dtype = emg.dtype.newbyteorder("=") if emg.dtype.kind == "f" else np.float64
    if rec is not None:
        if emg.ndim != 2:
            raise ValueError(
                f"{who}: a recording's emg must be 2-D (n_samples, n_channels); got {emg.shape}."
            )
        axis = 0
    elif emg.ndim == 0:
        raise ValueError(f"{who}: the signal is a scalar; pass an array with a time axis.")
    elif axis is None:
        if emg.ndim > 3:
            raise ValueError(
                f"{who}: the signal has shape {emg.shape}, {emg.ndim} dimensions; pass a stream "
                "(n_samples,) or (n_samples, n_channels), windows (n_windows, n_channels, "
                "n_times), or name the time axis with axis=."
            )
        # a stream runs down axis 0; windows (n_windows, n_channels, n_times) along the last
        axis = -1 if emg.ndim == 3 else 0
    elif isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"{who}: axis must be an integer or None; got {axis!r}.")
    if not -emg.ndim <= axis < emg.ndim:
        raise ValueError(f"{who}: axis={axis} is out of range for an array of shape {emg.shape}.")
    # one reduction decides (inf also when finite values overflow it: then count)
    n_bad = (
        0
        if np.isfinite(np.sum(emg, dtype=np.float64))
        else int(emg.size - np.count_nonzero(np.isfinite(emg)))
    )
    if n_bad:
        raise ValueError(
            f"{who}: the signal contains {n_bad} NaN or infinite value(s); filters would spread them "
            "over the whole stream. Interpolate or cut them out first."
        )
    # sosfiltfilt's default padding (odd extension) needs more samples than this
    padlen = 3 * (2 * len(sos) + 1 - min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum()))
    if rec is None:
        if emg.shape[axis] <= padlen:
            raise ValueError(
                f"{who}: the signal has {emg.shape[axis]} sample(s) along axis {axis}; this filter "
                f"needs more than {padlen} for zero-phase filtering. Use a longer stream or a lower order."
            )
        return _filtfilt_in_blocks(sos, emg, axis, out_dtype)
    out = np.empty(emg.shape, dtype=out_dtype)
    for start, stop in _blocks(rec, emg.shape[0], who):
        if stop - start <= padlen:
            raise ValueError(
                f"{who}: the continuous piece at samples {start}:{stop} has {stop - start} sample(s); "
                f"this filter needs more than {padlen} for zero-phase filtering. Drop that piece or "
                "use a lower order."
            )
        out[start:stop] = _filtfilt_in_blocks(sos, emg[start:stop], 0, out_dtype)
    result = Bunch(**rec)
    result["emg"] = out
    return result


def _filtfilt_in_blocks(sos, x, axis, out_dtype):
    """``signal.sosfiltfilt(sos, x, axis=axis)`` in ``out_dtype``, a block at a time.

    sosfiltfilt holds several float64 copies of what it filters (about 6.7x a float32
    input): blocks along another axis (windows, or a stream's channels) bound that by a
    block. Each lane is filtered on its own, so the result is the same. Integer blocks are
    filtered in float64: sosfiltfilt's odd-extension padding is computed in the input's
    dtype, and wraps round in int8/int16 (a wrong edge, and a ripple inside).
    """
    axis = axis % x.ndim
    out = np.empty(x.shape, dtype=out_dtype)
    if x.ndim == 1 or not x.size:
        out[...] = signal.sosfiltfilt(sos, _as_filter_input(x), axis=axis) if x.size else x
        return out
    along = 0 if axis != 0 else 1  # the axis the blocks are cut along
    for rows in row_blocks(x.shape[along], x.size // x.shape[along]):
        index = [slice(None)] * x.ndim
        index[along] = rows
        block = _as_filter_input(x[tuple(index)])
        out[tuple(index)] = signal.sosfiltfilt(sos, block, axis=axis)
    return out


def _as_filter_input(block):
    """``block`` in a dtype whose arithmetic does not wrap round (integers in float64)."""
    return block.astype(np.float64) if block.dtype.kind in "biu" else block


def _design(btype, cutoffs, order, fs, who):
    order = check_positive_int(order, f"{who}: order")
    return signal.butter(order, cutoffs, btype=btype, fs=fs, output="sos")


def _fs_for_design(x, fs, who):
    return _split_input(x, fs, who)[1]


def bandpass(emg, fs=None, low=20.0, high=450.0, order=4, axis=None):
    """Zero-phase Butterworth band-pass filter.

    Parameters
    ----------
    emg : recording Bunch or array-like
        A recording (its ``emg`` is filtered, piece by piece, and ``fs`` read from
        it) or an array with time along ``axis``.
    fs : float, optional
        Sampling rate in Hz; required for an array, optional (must agree) for a
        recording.
    low, high : float, default=20.0, 450.0
        Pass band edges in Hz, ``0 < low < high < fs / 2``.
    order : int, default=4
        Butterworth order (applied twice: forward and backward).
    axis : int, optional
        Time axis of an array input. By default 0 for a stream ``(n_samples,)`` or
        ``(n_samples, n_channels)`` and -1 for windows ``(n_windows, n_channels,
        n_times)``. A recording is always filtered along axis 0.

    Returns
    -------
    filtered : same kind as ``emg``
        A copy of the recording with filtered ``emg``, or a filtered array
        (float32 stays float32; integers become float64).

    Raises
    ------
    ValueError
        For edges outside ``(0, fs/2)`` or ``low >= high``, a missing ``fs``, NaN
        or infinite values, or a stream too short for zero-phase padding.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(2000) / 1000.0
    >>> x = np.sin(2 * np.pi * 100 * t) + np.sin(2 * np.pi * 2 * t)
    >>> y = bandpass(x, fs=1000.0)
    >>> bool(abs(y[500:1500].std() - np.sqrt(0.5)) < 0.05)
    True
    """
    who = "bandpass"
    fs_ = _fs_for_design(emg, fs, who)
    low = _check_cutoff(low, "low", fs_, who)
    high = _check_cutoff(high, "high", fs_, who)
    if low >= high:
        raise ValueError(
            f"{who}: low={low:g} Hz must be below high={high:g} Hz; pass low < high (swap "
            "them if they are reversed)."
        )
    return _apply_sos(
        emg, fs, _design("bandpass", [low, high], order, fs_, who), axis=axis, who=who
    )


def highpass(emg, fs=None, cutoff=20.0, order=4, axis=None):
    """Zero-phase Butterworth high-pass filter (e.g. to remove motion artefacts below 20 Hz).

    Parameters
    ----------
    emg : recording Bunch or array-like
        See :func:`bandpass`.
    fs : float, optional
        Sampling rate in Hz (required for an array).
    cutoff : float, default=20.0
        Cut-off frequency in Hz, ``0 < cutoff < fs / 2``.
    order : int, default=4
        Butterworth order.
    axis : int, optional
        Time axis of an array input: by default 0 for a stream (1-D or 2-D) and -1
        for windows (3-D), as in :func:`bandpass`.

    Returns
    -------
    filtered : same kind as ``emg``

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones(1000) + np.sin(2 * np.pi * 50 * np.arange(1000) / 1000.0)
    >>> bool(abs(highpass(x, fs=1000.0)[200:800].mean()) < 0.01)
    True
    """
    who = "highpass"
    fs_ = _fs_for_design(emg, fs, who)
    cutoff = _check_cutoff(cutoff, "cutoff", fs_, who)
    return _apply_sos(emg, fs, _design("highpass", cutoff, order, fs_, who), axis=axis, who=who)


def lowpass(emg, fs=None, cutoff=450.0, order=4, axis=None):
    """Zero-phase Butterworth low-pass filter (anti-aliasing, or envelope smoothing with a low cut-off).

    Parameters
    ----------
    emg : recording Bunch or array-like
        See :func:`bandpass`.
    fs : float, optional
        Sampling rate in Hz (required for an array).
    cutoff : float, default=450.0
        Cut-off frequency in Hz, ``0 < cutoff < fs / 2``.
    order : int, default=4
        Butterworth order.
    axis : int, optional
        Time axis of an array input: by default 0 for a stream (1-D or 2-D) and -1
        for windows (3-D), as in :func:`bandpass`.

    Returns
    -------
    filtered : same kind as ``emg``

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal(2000)
    >>> envelope = lowpass(np.abs(x), fs=1000.0, cutoff=5.0)
    >>> envelope.shape
    (2000,)
    """
    who = "lowpass"
    fs_ = _fs_for_design(emg, fs, who)
    cutoff = _check_cutoff(cutoff, "cutoff", fs_, who)
    return _apply_sos(emg, fs, _design("lowpass", cutoff, order, fs_, who), axis=axis, who=who)


def notch(emg, fs=None, freq=50.0, quality=30.0, axis=None):
    """Zero-phase IIR notch filter against powerline interference.

    Parameters
    ----------
    emg : recording Bunch or array-like
        See :func:`bandpass`.
    fs : float, optional
        Sampling rate in Hz (required for an array).
    freq : float, default=50.0
        Frequency to remove in Hz (60 in the Americas), ``0 < freq < fs / 2``.
        Call again for harmonics.
    quality : float, default=30.0
        Quality factor: ``freq / quality`` is the -3 dB bandwidth.
    axis : int, optional
        Time axis of an array input: by default 0 for a stream (1-D or 2-D) and -1
        for windows (3-D), as in :func:`bandpass`.

    Returns
    -------
    filtered : same kind as ``emg``

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(4000) / 1000.0
    >>> hum = np.sin(2 * np.pi * 50 * t)
    >>> bool(notch(hum, fs=1000.0)[1000:3000].std() < 0.01)
    True
    """
    who = "notch"
    fs_ = _fs_for_design(emg, fs, who)
    freq = _check_cutoff(freq, "freq", fs_, who)
    if isinstance(quality, bool) or not isinstance(quality, numbers.Real) or not quality > 0:
        raise ValueError(f"{who}: quality must be a positive number; got {quality!r}.")
    b, a = signal.iirnotch(freq, float(quality), fs=fs_)
    return _apply_sos(emg, fs, signal.tf2sos(b, a), axis=axis, who=who)


# --------------------------------------------------------------------------------------------
# window standardizer
# --------------------------------------------------------------------------------------------
def relative_threshold(scales, eps):
    """``eps`` times the largest of ``scales`` (at least the smallest normal float64).

    The level below which a channel counts as flat, relative to the liveliest one, so
    that recordings in volts (sds near 1e-5) or in any other unit are judged alike.

    Examples
    --------
    >>> relative_threshold(np.array([2.0, 4.0]), 0.25)
    1.0
    """
    return max(eps * float(np.max(scales)), np.finfo(np.float64).tiny)


def channel_rms(X, eps=1e-8):
    """Root mean square of each channel over all windows and samples: one subject's scale.

    Dividing a subject's windows by it (per-subject normalisation) removes the gain
    that differs between people and electrode placements, and keeps the sign, so a
    non-negative envelope stays non-negative.

    Parameters
    ----------
    X : ndarray of shape (n_windows, n_channels, n_times)
    eps : float, default=1e-8
        Silent channels get a scale of 1: those whose RMS is at most ``eps`` times the
        liveliest channel's. The threshold is relative, so recordings in volts (RMS near
        1e-5) or in any other unit keep their scales.

    Returns
    -------
    rms : ndarray of shape (n_channels,)

    Raises
    ------
    ValueError
        For NaN/inf, input that is not 3-D, or no windows (``check_windows``): a
        NaN would otherwise read as a silent channel and get a scale of 1.

    Examples
    --------
    >>> channel_rms(np.stack([np.full((2, 4), 2.0), np.zeros((2, 4))], axis=1)).tolist()
    [2.0, 1.0]
    """
    try:
        X = check_windows(X)
    except ValueError as exc:
        raise ValueError(f"channel_rms: {exc}") from None
    # scaled by each channel's peak, so that amplitudes near the float range do not
    # overflow; in float64 a block of windows at a time, so memory stays one block
    peak = np.maximum(X.max(axis=(0, 2)), -X.min(axis=(0, 2))).astype(np.float64)
    peak = np.where(peak > 0, peak, 1.0)
    squares = np.zeros(X.shape[1])
    for rows in row_blocks(len(X), X.shape[1] * X.shape[2]):
        block = np.array(X[rows], dtype=np.float64)
        block /= peak[:, None]
        np.square(block, out=block)
        squares += block.sum(axis=(0, 2))
    rms = peak * np.sqrt(squares / (X.shape[0] * X.shape[2]))
    return np.where(rms > relative_threshold(rms, eps), rms, 1.0)


def standardised_rows(X, mean, scale, dtype, before=None):
    """``(before(X) - mean) / scale`` per channel, in float64 a block of windows at a time.

    The transform of :class:`WindowStandardizer` (and of the generator's normalisation,
    whose ``before`` is its ``log1p`` map), written into one new array of ``dtype``.

    Parameters
    ----------
    X : ndarray of shape (n_windows, n_channels, n_times)
    mean, scale : ndarray of shape (n_channels,)
    dtype : dtype
        The output's dtype.
    before : callable, optional
        Applied in place to each float64 block (a copy) first.

    Returns
    -------
    ndarray of shape X.shape and dtype ``dtype``

    Examples
    --------
    >>> standardised_rows(np.full((1, 2, 2), 3.0), np.array([1.0, 3.0]), np.array([2.0, 1.0]),
    ...                   np.float32).tolist()
    [[[1.0, 1.0], [0.0, 0.0]]]
    """
    mean, scale = mean[:, None], scale[:, None]

    def standardise(block):
        block = np.array(block, dtype=np.float64)  # a copy, worked on in place
        if before is not None:
            before(block)
        block -= mean
        block /= scale
        return block

    return map_rows(standardise, X, dtype)


class WindowStandardizer(
    CarriesOutputRecordMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
    """Z-score windows per channel with statistics from the training windows only.

    ``fit`` computes each channel's mean and standard deviation over all
    training windows and time points; ``transform`` applies them to any windows,
    so test windows never leak into the statistics. Put it inside the pipeline
    (before the features or the network) so cross-validation refits it per fold.

    Parameters
    ----------
    per : {"channel", "global"}, default="channel"
        ``"channel"`` scales each channel by its own statistics; ``"global"``
        uses one mean and standard deviation pooled over channels, which keeps
        the amplitude ratios between channels (the spatial pattern). Per-window
        z-scoring is deliberately not offered: it removes the amplitude that
        carries most of the gesture information in sEMG and cannot be inverted.
    with_mean : bool, default=True
        Subtract the mean. Set ``False`` to only rescale, e.g. to keep a
        non-negative envelope (NinaPro DB1) non-negative.
    eps : float, default=1e-8
        Channels whose standard deviation is at most ``eps`` times the liveliest
        channel's (flat channels) get a scale of 1 instead of blowing up. The threshold
        is relative, as in :func:`channel_rms`, so recordings in volts (standard
        deviations near 1e-5) or in any other unit keep their scales; a channel with no
        variation at all always gets 1.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
        Subtracted mean per channel (zeros when ``with_mean=False``).
    scale_ : ndarray of shape (n_channels,)
        Divisor per channel.
    n_channels_ : int
        Channels seen during ``fit``.
    n_times_ : int
        Window length seen during ``fit``; it names the output features.
    n_features_in_ : int
        ``X.shape[1]`` at ``fit``: the channel count for 3-D windows, or the
        window length for 2-D input (read as one-channel windows), following
        scikit-learn's convention.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X_train = rng.normal(3.0, 2.0, size=(50, 4, 100))
    >>> scaler = WindowStandardizer().fit(X_train)
    >>> scaler.mean_.shape, scaler.scale_.shape
    ((4,), (4,))
    >>> Z = scaler.transform(X_train)
    >>> bool(np.allclose(Z.mean(axis=(0, 2)), 0.0, atol=1e-7))
    True
    """

    def __init__(self, per="channel", with_mean=True, eps=1e-8):
        self.per = per
        self.with_mean = with_mean
        self.eps = eps

    def _validate(self, X):
        arr = X
        if not hasattr(arr, "toarray") and not (type(arr).__module__ or "").startswith(
            "scipy.sparse"
        ):
            arr = _to_array(arr, estimator=self)
            if arr.dtype == object:  # e.g. an object array of numbers
                try:
                    arr = arr.astype(np.float64)
                except (TypeError, ValueError) as exc:  # keeps numpy's text, as sklearn expects
                    raise TypeError(
                        f"WindowStandardizer: X has an object dtype holding non-numeric values "
                        f"({exc}). sEMG windows must be real numbers; convert with "
                        "np.asarray(X, dtype=np.float32)."
                    ) from exc
            # scikit-learn's wording for these three, so generic tooling recognises them
            if arr.dtype.kind == "c":
                raise ValueError(
                    "WindowStandardizer: Complex data not supported; sEMG windows must be real. "
                    "Take np.abs(X) or X.real first."
                )
            if arr.ndim == 1:
                raise ValueError(
                    f"WindowStandardizer: expected 2-D or 3-D windows, got a 1-D array of shape "
                    f"{arr.shape}. Reshape your data: X[np.newaxis] for one one-channel window, or "
                    "cut a recording with semgaug_sk.windows.sliding_windows."
                )
            if arr.ndim == 2 and arr.shape[1] == 0:
                raise ValueError(
                    f"WindowStandardizer: Found array with 0 feature(s) (shape={arr.shape}) while a "
                    "minimum of 1 is required. Pass windows with at least one sample."
                )
        X3 = check_windows(arr, allow_2d=True, estimator=self)
        if np.ndim(arr) == 2:
            warn_if_stream(np.asarray(arr), "WindowStandardizer: ")
        return X3, np.ndim(arr) == 2

    def fit(self, X, y=None):
        """Compute the per-channel mean and scale of the training windows.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times) or (n_windows, n_times)
            Training windows; 2-D input is read as one-channel windows.
        y : ignored
            Present for pipeline compatibility.

        Returns
        -------
        self : WindowStandardizer
        """
        self._check_params()
        X3, is_2d = self._validate(X)
        # block by block in float64: the memory beyond X is one block, whatever its size
        mean, std = channel_mean_std(X3, self.per)
        n_channels = X3.shape[1]
        with restore_on_failure(self):  # a refused fit leaves the old statistics
            if is_2d:  # a DataFrame's column names, checked at transform the scikit-learn way
                validate_data(self, X, skip_check_array=True, reset=True)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        self.mean_ = mean if self.with_mean else np.zeros(n_channels)
        flat = std <= relative_threshold(std, self.eps)  # eps=0 still spares flat channels
        self.scale_ = np.where(flat, 1.0, std)
        self.n_channels_ = n_channels
        self.n_times_ = X3.shape[2]
        self.n_features_in_ = X3.shape[2] if is_2d else n_channels
        self._fitted_2d = is_2d
        self._output_provenance = None
        return self

    def fit_transform(self, X, y=None):
        """Fit, then standardise ``X``.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times) or (n_windows, n_times)
            Training windows; 2-D input is read as one-channel windows.
        y : ignored
            Present for pipeline compatibility.

        Returns
        -------
        Xt : ndarray of the shape of ``X``
            As :meth:`transform`; a sampler's record of which rows are real passes on.
        """
        out = self.fit(X, y).transform(X)
        # a Pipeline's memory cache reloads this output with the fitted scaler, in a later
        # process where no record of its real rows exists: the scaler carries the record
        self._carry_output_record(out)
        return out

    def _check_params(self):
        """Refuse bad parameters: at fit, and when a weights file is loaded."""
        if self.per not in ("channel", "global"):
            raise ValueError(
                f"WindowStandardizer: per must be 'channel' or 'global'; got {self.per!r}."
            )
        if (
            isinstance(self.eps, bool)
            or not isinstance(self.eps, numbers.Real)
            or not 0 <= self.eps < 1
        ):
            raise ValueError(
                "WindowStandardizer: eps must be a number in [0, 1) (a fraction of the liveliest "
                f"channel's standard deviation); got {self.eps!r}."
            )
        if not isinstance(self.with_mean, (bool, np.bool_)):
            raise ValueError(
                f"WindowStandardizer: with_mean must be True or False; got {self.with_mean!r}."
            )

    def _check_transform_input(self, X, *, check_names=True):
        check_is_fitted(self)
        X3, is_2d = self._validate(X)
        if check_names and is_2d and self._fitted_2d:
            validate_data(self, X, skip_check_array=True, reset=False)
        if is_2d and self._fitted_2d and X3.shape[2] != self.n_features_in_:
            raise ValueError(
                f"X has {X3.shape[2]} features, but WindowStandardizer is expecting "
                f"{self.n_features_in_} features as input (2-D input is read as one-channel windows "
                "of that length). Pass windows of the length used in fit."
            )
        if X3.shape[1] != self.n_channels_:
            raise ValueError(
                f"X has {X3.shape[1]} channels, but WindowStandardizer is expecting "
                f"{self.n_channels_} channels as input. Use the channels seen in fit, or refit."
            )
        return X3, is_2d

    def transform(self, X):
        """Standardize windows with the fitted statistics.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times) or (n_windows, n_times)

        Returns
        -------
        X_new : ndarray of the same shape as ``X``
            float32 for float16, float32 and integers of up to 16 bits; float64 otherwise.
        """
        X3, is_2d = self._check_transform_input(X)
        out = standardised_rows(X3, self.mean_, self.scale_, X3.dtype)
        out = out[:, 0, :] if is_2d else out
        # row i is still window i: a network after this step in a Pipeline keeps
        # validating on real windows only
        return pass_on_provenance(X, out)

    def set_output(self, *, transform=None):
        """Accept a Pipeline's output setting; windows are returned as arrays whatever it says.

        3-D windows cannot be a DataFrame, so this step keeps numpy output, and a
        ``Pipeline(...).set_output(transform="pandas")`` applies to the steps after it
        (e.g. :class:`~semgaug_sk.features.EMGFeatures`).

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            Recorded, not applied.

        Returns
        -------
        self : WindowStandardizer
        """
        if transform is not None:
            self._sklearn_output_config = {"transform": transform}
        return self

    def get_feature_names_out(self, input_features=None):
        """Names of the output values, which are the input's, standardized in place.

        One-channel windows given as 2-D columns keep their column names
        (``feature_names_in_``, or ``x0, x1, ...``); 3-D windows are named
        ``ch{c}_t{t}``, channel-major, as their flattened values.

        Parameters
        ----------
        input_features : array-like of str, optional
            Must equal ``feature_names_in_`` when the estimator has it.

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self)
        if self._fitted_2d:
            return _check_feature_names_in(self, input_features)
        if not hasattr(self, "n_times_"):  # saved before it was recorded
            raise AttributeError(
                "WindowStandardizer: this fitted standardizer predates output names; refit it "
                "to name its outputs."
            )
        n_values = self.n_channels_ * self.n_times_
        if input_features is not None and np.size(input_features) != n_values:
            # a window's values (the output names of another step on windows) or its channels
            check_input_features(self, input_features)
        return np.array(
            [f"ch{c}_t{t}" for c in range(self.n_channels_) for t in range(self.n_times_)],
            dtype=object,
        )

    def inverse_transform(self, X):
        """Undo :meth:`transform`.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times) or (n_windows, n_times)

        Returns
        -------
        X_orig : ndarray of the same shape as ``X``
            float32 for float16, float32 and integers of up to 16 bits; float64 otherwise.
        """
        # its input is this step's numpy output, which has no column names to check
        X3, is_2d = self._check_transform_input(X, check_names=False)
        out = (X3 * self.scale_[:, None] + self.mean_[:, None]).astype(X3.dtype, copy=False)
        return out[:, 0, :] if is_2d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
