"""Calibrate the within-window variation of synthetic windows to the real windows'.

A diffusion generator that predicts the clean window and samples in few
deterministic steps pulls its windows towards their class mean: on NinaPro DB1
and the Myo armband the library's synthetic windows had 10-16% less
within-window standard deviation than the real ones, and less waveform length
(``benchmarks/ablate_generator.py``, ``benchmarks/ablate_sass_selection.py``).
These functions measure that per class and channel, as mean power spectra, and
correct it with a zero-phase gain on each window's deviation from its own mean:

- ``mode="std"``: one gain per class and channel,
  ``g = sqrt(mean within-window variance of the real windows / that of the
  synthetic ones)``, so ``x -> mean(x) + g * (x - mean(x))``;
- ``mode="spectrum"``: one gain per class, channel and frequency bin,
  ``g_f = sqrt(P_real(f) / P_synthetic(f))`` on the window's real FFT, so the
  shape of the power spectrum is matched too;
- ``mode="level"``: the ``"std"`` gain on the deviation, and a second gain per
  class and channel on each window's mean (the DC bin),
  ``g_0 = mean |window mean| of the real windows / that of the synthetic ones``,
  so ``x -> g_0 * mean(x) + g * (x - mean(x))``. On a non-negative signal (an
  envelope) the window mean is its amplitude, and the class's mean amplitude
  (its mean MAV) then matches the real one's: the generator also makes its
  windows too quiet (RMS 7-20% low on NinaPro DB1). The level is matched rather
  than the mean square of the window means, because the generator's window
  means also vary too little around their class's; matching their mean square
  would make up that missing spread with a louder class. On a zero-mean signal
  the window means are small and the gain hardly matters.

Except in ``"level"`` mode, the mean of each window (the DC bin) is never
changed. Every gain is clipped to ``[1 / max_gain, max_gain]``. On a
non-negative signal a window whose calibrated deviation would dip below 0 gets
a smaller deviation gain instead, just enough to keep it non-negative, so its
(calibrated) mean still does not move. Where the
real windows lie on an amplitude grid, the rounding noise it adds (measured on
the synthetic draw) is taken out of the real windows' power first, since the
calibrated windows are rounded onto the same grid afterwards. The gains are
estimated from the real windows a sampler was fitted on and from a draw of its
own synthetic windows; real windows are never touched.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "ClassStatistics",
    "apply_gains",
    "calibration_gains",
    "class_power_spectra",
    "class_statistics",
]

#: The ``calibration`` settings that correct something (None turns it off).
CALIBRATION_MODES = ("std", "spectrum", "level")


class ClassStatistics(NamedTuple):
    """What :func:`class_statistics` measures per class and channel.

    Attributes
    ----------
    power : ndarray of shape (n_classes, n_channels, n_times // 2 + 1)
        Mean ``|rfft(window)|**2`` (float64); NaN for a class with no window.
    level : ndarray of shape (n_classes, n_channels)
        Mean ``|window mean|`` (float64); NaN for a class with no window.
    counts : ndarray of shape (n_classes,)
        Windows seen per class.
    """

    power: np.ndarray
    level: np.ndarray
    counts: np.ndarray


def class_statistics(batches, n_classes):
    """Mean power spectrum and mean absolute window mean per class and channel.

    Parameters
    ----------
    batches : iterable of (windows, codes)
        ``windows`` of shape (n, n_channels, n_times), ``codes`` of shape (n,)
        with integer class codes in ``[0, n_classes)``. Only one batch is held
        at a time, so memory is bounded by the batch size.
    n_classes : int

    Returns
    -------
    statistics : ClassStatistics
        ``(power, level, counts)``.

    Examples
    --------
    >>> X = np.array([[[1.0, 3.0]], [[-2.0, -2.0]], [[0.0, 4.0]]])
    >>> stats = class_statistics([(X, np.array([0, 0, 1]))], 2)
    >>> stats.level.tolist(), stats.counts.tolist()
    ([[2.0], [2.0]], [2, 1])
    """
    sums, counts = None, np.zeros(n_classes, dtype=np.int64)
    for windows, codes in batches:
        if not len(windows):
            continue
        batch_sums, batch_counts = _statistic_sums(windows, codes, n_classes)
        sums = (
            batch_sums if sums is None else [a + b for a, b in zip(sums, batch_sums, strict=True)]
        )
        counts += batch_counts
    if sums is None:
        raise ValueError("class_statistics: no window in the batches.")
    power, level = sums
    with np.errstate(invalid="ignore", divide="ignore"):
        return ClassStatistics(power / counts[:, None, None], level / counts[:, None], counts)


def class_power_spectra(batches, n_classes):
    """Mean power spectrum per class, channel and frequency, accumulated over batches.

    :func:`class_statistics` without the levels.

    Parameters
    ----------
    batches : iterable of (windows, codes)
        As :func:`class_statistics` takes them.
    n_classes : int

    Returns
    -------
    power : ndarray of shape (n_classes, n_channels, n_times // 2 + 1)
        Mean ``|rfft(window)|**2`` (float64); NaN for a class with no window.
    counts : ndarray of shape (n_classes,)
        Windows seen per class.

    Examples
    --------
    >>> X = np.ones((4, 1, 8)); X[:, :, ::2] = -1
    >>> power, counts = class_power_spectra([(X, np.array([0, 0, 1, 1]))], 2)
    >>> power.shape, counts.tolist(), float(power[0, 0, 4])
    ((2, 1, 5), [2, 2], 64.0)
    """
    power, _, counts = class_statistics(batches, n_classes)
    return power, counts


def _statistic_sums(windows, codes, n_classes):
    """Per class, the sums of ``|rfft(window)|**2`` and of ``|window mean|``, and the counts.

    Returns
    -------
    sums : list of ndarray
        Of shapes (n_classes, n_channels, n_times // 2 + 1) and (n_classes, n_channels).
    counts : ndarray of shape (n_classes,)
    """
    windows, codes = np.asarray(windows), np.asarray(codes, dtype=np.int64)
    signal = windows.astype(np.float64, copy=False)
    power = np.abs(np.fft.rfft(signal, axis=-1)) ** 2
    one_hot = (codes == np.arange(n_classes)[:, None]).astype(np.float64)
    power_sums = (one_hot @ power.reshape(len(power), -1)).reshape(n_classes, *power.shape[1:])
    level_sums = one_hot @ np.abs(signal.mean(axis=-1))
    return [power_sums, level_sums], np.bincount(codes, minlength=n_classes)


def _bin_weights(n_times):
    """Weight of each rfft bin in the window's variance (the DC bin excluded)."""
    weights = np.full(n_times // 2 + 1, 2.0)
    weights[0] = 0.0
    if n_times % 2 == 0 and n_times > 1:
        weights[-1] = 1.0  # the Nyquist bin has no mirror
    return weights


def calibration_gains(
    real_power,
    synthetic_power,
    n_times,
    *,
    mode="std",
    max_gain=4.0,
    noise_power=None,
    real_level=None,
    synthetic_level=None,
):
    """Gains that bring synthetic windows' within-window power to the real windows'.

    Parameters
    ----------
    real_power, synthetic_power : ndarray of shape (n_classes, n_channels, n_freqs)
        Mean power spectra (:func:`class_power_spectra`).
    n_times : int
        Window length (tells the Nyquist bin apart).
    mode : {"std", "spectrum", "level"}, default="std"
        One gain per class and channel on the deviation, one per frequency bin
        as well, or one on the deviation and one on the window mean (the DC bin).
    max_gain : float, default=4.0
        Gains are clipped to ``[1 / max_gain, max_gain]`` (``max_gain >= 1``), so
        a class whose synthetic windows are (nearly) flat is not amplified without
        bound. A class missing from either side gets gain 1.
    noise_power : ndarray like ``real_power``, optional
        Power that the output will gain after calibration (the rounding noise of
        an amplitude grid), taken out of ``real_power`` first.
    real_level, synthetic_level : ndarray of shape (n_classes, n_channels), optional
        Mean absolute window means (:func:`class_statistics`); ``"level"`` mode
        needs them for its DC gain.

    Returns
    -------
    gains : ndarray of shape (n_classes, n_channels, n_freqs)
        Multiplies the rfft bins; the DC bin's gain is 1 except in ``"level"`` mode.

    Examples
    --------
    >>> real = np.array([[[9.0, 4.0, 4.0]]]); synthetic = np.array([[[9.0, 1.0, 1.0]]])
    >>> calibration_gains(real, synthetic, 4, mode="std").tolist()
    [[[1.0, 2.0, 2.0]]]
    >>> calibration_gains(
    ...     real, synthetic, 4, mode="level", real_level=np.array([[3.0]]),
    ...     synthetic_level=np.array([[2.0]])
    ... ).tolist()
    [[[1.5, 2.0, 2.0]]]
    """
    if mode not in CALIBRATION_MODES:
        raise ValueError(
            f"calibration_gains: mode must be one of {CALIBRATION_MODES}; got {mode!r}."
        )
    if not max_gain >= 1:
        raise ValueError(f"calibration_gains: max_gain must be a number >= 1; got {max_gain!r}.")
    if mode == "level" and (real_level is None or synthetic_level is None):
        raise ValueError(
            "calibration_gains: mode='level' needs real_level and synthetic_level "
            "(the mean absolute window means of class_statistics)."
        )
    weights = _bin_weights(n_times)
    if noise_power is not None:  # NaN (a missing class) stays NaN and gets gain 1
        real_power = np.maximum(real_power - noise_power, 0.0)
    if mode == "spectrum":
        real, synthetic = real_power, synthetic_power
    else:
        real = (real_power * weights).sum(axis=-1, keepdims=True)
        synthetic = (synthetic_power * weights).sum(axis=-1, keepdims=True)
    gains = np.broadcast_to(_clipped_ratio(real, synthetic, max_gain), real_power.shape).copy()
    if mode == "level":  # a ratio of amplitudes, not of powers
        gains[..., 0] = _clipped_ratio(real_level, synthetic_level, max_gain, power=False)
    else:
        gains[..., 0] = 1.0
    return gains


def _clipped_ratio(real, synthetic, max_gain, power=True):
    """``sqrt(real / synthetic)`` (``power=False``: ``real / synthetic``) clipped to
    ``[1 / max_gain, max_gain]``; 1 where undefined."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        gains = real / synthetic
        gains = np.sqrt(gains) if power else gains
    return np.where(np.isnan(gains), 1.0, np.clip(gains, 1.0 / max_gain, max_gain))


def apply_gains(windows, codes, gains, *, nonnegative=False):
    """Calibrated copies of ``windows``: each class's gains on their rfft bins.

    Parameters
    ----------
    windows : ndarray of shape (n, n_channels, n_times)
    codes : ndarray of shape (n,)
        Class code of each window (rows of ``gains``).
    gains : ndarray of shape (n_classes, n_channels, n_times // 2 + 1)
    nonnegative : bool, default=False
        The windows are of a non-negative signal (such as an envelope): a window
        whose calibrated deviation would dip below 0 has it scaled down, per
        channel, just enough to stay non-negative, so its (calibrated) mean is
        still kept.

    Returns
    -------
    calibrated : ndarray like ``windows`` (same dtype)

    Examples
    --------
    >>> X = np.array([[[1.0, 3.0, 1.0, 3.0]]])
    >>> gains = calibration_gains(np.array([[[64.0, 0, 16]]]), np.array([[[64.0, 0, 4]]]), 4)
    >>> apply_gains(X, np.array([0]), gains).tolist()
    [[[0.0, 4.0, 0.0, 4.0]]]
    """
    windows, codes = np.asarray(windows), np.asarray(codes, dtype=np.int64)
    in_range = not len(codes) or 0 <= codes.min() <= codes.max() < len(gains)
    if len(codes) != len(windows) or not in_range:
        raise ValueError(
            f"apply_gains: codes must give one class code in [0, {len(gains)}) per window; "
            f"got {len(codes)} code(s) for {len(windows)} window(s)"
            + (f", from {codes.min()} to {codes.max()}." if len(codes) else ".")
        )
    if not len(windows) or not windows.shape[-1]:
        return windows.copy()
    if windows.shape[-1] == 1:  # the window is its mean: only a DC gain applies
        return _as_dtype(windows.astype(np.float64) * gains[codes][..., :1], windows.dtype)
    signal = windows.astype(np.float64, copy=False)
    spectra = np.fft.rfft(signal, axis=-1)
    window_gains = gains[codes]
    spectra *= window_gains
    out = np.fft.irfft(spectra, n=windows.shape[-1], axis=-1)
    if nonnegative:
        mean = signal.mean(axis=-1, keepdims=True) * window_gains[..., :1]
        lowest = out.min(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            shrink = np.where(lowest < 0, mean / (mean - lowest), 1.0)
        out = mean + np.clip(shrink, 0.0, 1.0) * (out - mean)
        np.maximum(out, 0.0, out=out)  # round-off only
    return _as_dtype(out, windows.dtype)


def _as_dtype(out, dtype):
    """``out`` (float64) in ``dtype``: integers rounded and clipped to the type's range, so a
    gain that overflows saturates instead of wrapping around."""
    if np.issubdtype(dtype, np.integer):
        limits = np.iinfo(dtype)
        out = np.clip(np.rint(out), limits.min, limits.max)
    return out.astype(dtype, copy=False)
