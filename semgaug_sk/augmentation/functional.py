"""Classic time-series augmentations as pure functions on window sets.

Each function takes windows ``X`` of shape ``(n_windows, n_channels, n_times)``
and an explicit random generator, and returns new windows of the same shape
and dtype; ``X`` is never modified. Everything is vectorised over windows and
channels (the random spline curves are evaluated for all windows with one
matrix product).

The augmentations and their default strengths follow Um et al. (2017), "Data
augmentation of wearable sensor data for Parkinson's disease monitoring using
convolutional neural networks", ICMI (jitter sigma 0.05, scaling 0.1,
magnitude and time warping 0.2 with 4 knots), adapted to sEMG:

- jitter is relative to each window's own per-channel standard deviation (or a
  per-class one), never to the global channel std, which would swamp the
  low-amplitude classes;
- time warping uses one time distortion per window shared by all its
  channels, so muscles stay synchronised, and reads the window with a
  band-limited (Lanczos) kernel, so raw sEMG at a low sampling rate keeps its
  amplitude;
- ``nonnegative=True`` clips the result at 0 for envelope data (e.g. NinaPro
  DB1's rectified, filtered sEMG).

These play the role of braindecode's ``augmentation/functional.py``; the
:class:`~semgaug_sk.augmentation.ClassicAugmenter` sampler holds the
parameters and applies them.
"""

from __future__ import annotations

import numbers
from functools import lru_cache

import numpy as np
from scipy.interpolate import CubicSpline

from ..utils.validation import check_positive_int, check_random_state_seed, check_windows

__all__ = ["jitter", "scaling", "magnitude_warp", "time_warp"]

#: Smallest local speed of :func:`time_warp`; keeps the warped time strictly increasing.
_MIN_SPEED = 1e-2
#: Radius (in samples) of the Lanczos kernel of :func:`time_warp`.
_LANCZOS_RADIUS = 4
_INTERPOLATIONS = ("lanczos", "linear")


def _as_generator(rng):
    """Return a numpy Generator from a Generator, a seed, None or a RandomState."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(check_random_state_seed(rng))


def _check_sigma(sigma, name="sigma"):
    if (
        isinstance(sigma, bool)
        or not isinstance(sigma, numbers.Real)
        or not np.isfinite(sigma)
        or sigma < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0; got {sigma!r}.")
    return float(sigma)


@lru_cache(maxsize=32)
def _spline_basis(n_knots: int, n_points: int, midpoints: bool) -> np.ndarray:
    """Cubic-spline interpolation basis of shape ``(n_points, n_knots + 2)``.

    A cubic spline through fixed abscissae is linear in its ordinates, so the
    splines of many random knot values ``v`` (``(..., n_knots + 2)``) are
    ``v @ basis.T`` : one ``CubicSpline`` through the identity, evaluated once.
    Knots (the ends plus ``n_knots`` interior ones) are evenly spaced over the
    window. With ``midpoints`` the spline is evaluated between samples (at
    the ``n_points`` interval centres) instead of at the samples.
    """
    m = n_knots + 2
    if midpoints:
        where = (np.arange(n_points) + 0.5) / max(n_points, 1)
    else:
        where = np.linspace(0.0, 1.0, n_points)
    basis = CubicSpline(np.linspace(0.0, 1.0, m), np.eye(m), axis=0)(where)
    basis.setflags(write=False)
    return basis


def _standard_normal(rng, shape, dtype):
    """N(0, 1) draws in ``dtype``, from the same stream whatever the dtype.

    numpy draws float32 and float64 normals by different algorithms, so the same
    seed would give float32 and float64 copies of the same windows different noise.
    Drawing in float32 (the loaders' dtype) and casting keeps one stream.
    """
    return rng.standard_normal(shape, dtype=np.float32).astype(dtype, copy=False)


def _random_curves(rng, shape, sigma, n_knots, n_points, dtype, midpoints=False):
    """Smooth random curves ``1 + sigma * spline(N(0, 1) knots)`` of shape ``shape + (n_points,)``.

    Written as ``1 + sigma * ...`` (not ``spline(N(1, sigma))``) so that
    ``sigma=0`` gives exactly 1 and the transforms are then exact identities.
    """
    knots = rng.standard_normal((*shape, n_knots + 2))
    basis = _spline_basis(n_knots, n_points, midpoints)
    return (1.0 + sigma * (knots @ basis.T)).astype(dtype, copy=False)


def _clip(out, nonnegative):
    if nonnegative:
        np.maximum(out, 0, out=out)
    return out


def jitter(X, sigma=0.05, rng=None, *, scale="window", nonnegative=False):
    """Add Gaussian noise scaled to each window's own amplitude.

    ``X + sigma * s * N(0, 1)``, where ``s`` is the standard deviation of each
    window and channel (``scale="window"``) or a reference std given per
    window and channel (e.g. the std of the window's class). A quiet window
    thus gets quiet noise: a global per-channel std would bury low-amplitude
    gestures under noise sized for the loud ones.

    Parameters
    ----------
    X : array-like of shape (n_windows, n_channels, n_times)
        Windows (float32 or float64; the dtype is kept).
    sigma : float, default=0.05
        Noise std as a fraction of the reference std (Um et al. 2017 use 0.05).
    rng : numpy.random.Generator, int, RandomState or None
        Source of randomness.
    scale : "window" or array-like of shape (n_windows, n_channels)
        Reference std of the noise per window and channel; ``"window"``
        computes it from ``X``. A shape ``(n_windows, n_channels, 1)`` array,
        or anything broadcastable to it (e.g. ``(n_channels,)``), also works.
    nonnegative : bool, default=False
        Clip the result at 0 (for envelope data).

    Returns
    -------
    X_new : ndarray of shape (n_windows, n_channels, n_times)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(4, 2, 50))
    >>> jitter(X, 0.05, rng=0).shape
    (4, 2, 50)
    """
    X = check_windows(X)
    sigma = _check_sigma(sigma)
    rng = _as_generator(rng)
    if isinstance(scale, str):
        if scale != "window":
            raise ValueError(
                f"scale must be 'window' or an array of per-window, per-channel stds; got {scale!r}."
            )
        # in float64: float32 squares overflow above ~1.8e19 and underflow below ~1e-23
        ref = X.std(axis=2, keepdims=True, dtype=np.float64).astype(X.dtype)
    else:
        ref = np.asarray(scale, dtype=X.dtype)
        if ref.ndim == 2:
            ref = ref[:, :, np.newaxis]
        elif ref.ndim == 1:  # one std per channel: the channel axis, not the time axis
            ref = ref[np.newaxis, :, np.newaxis]
        try:
            ref = np.broadcast_to(ref, (X.shape[0], X.shape[1], 1))
        except ValueError:
            raise ValueError(
                f"scale of shape {np.shape(scale)} does not match windows of shape {X.shape}; "
                "pass one std per window and channel, shape (n_windows, n_channels)."
            ) from None
        if not np.isfinite(ref).all() or (ref < 0).any():
            raise ValueError("scale must hold finite, non-negative standard deviations.")
    noise = _standard_normal(rng, X.shape, X.dtype)
    noise *= sigma * ref
    return _clip(X + noise, nonnegative)


def scaling(X, sigma=0.1, rng=None, *, nonnegative=False):
    """Multiply each window's channels by random gains drawn from N(1, sigma).

    One gain per window and channel, as in Um et al. (2017); it models
    electrode-contact and gain variation between sessions.

    Parameters
    ----------
    X : array-like of shape (n_windows, n_channels, n_times)
        Windows (float32 or float64; the dtype is kept).
    sigma : float, default=0.1
        Std of the gains (Um et al. 2017 use 0.1).
    rng : numpy.random.Generator, int, RandomState or None
        Source of randomness.
    nonnegative : bool, default=False
        Clip the result at 0 (a gain below 0 is possible only for large sigma).

    Returns
    -------
    X_new : ndarray of shape (n_windows, n_channels, n_times)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.ones((3, 2, 10))
    >>> out = scaling(X, 0.1, rng=0)
    >>> bool(np.all(np.ptp(out, axis=2) == 0))   # one constant gain per window and channel
    True
    """
    X = check_windows(X)
    sigma = _check_sigma(sigma)
    rng = _as_generator(rng)
    gains = 1.0 + sigma * _standard_normal(rng, (X.shape[0], X.shape[1], 1), X.dtype)
    return _clip(X * gains, nonnegative)


def magnitude_warp(X, sigma=0.2, knots=4, rng=None, *, nonnegative=False):
    """Multiply each window by a smooth random curve around 1.

    Per window and channel, a cubic spline (``scipy.interpolate.CubicSpline``)
    through ``knots + 2`` evenly spaced knots with values ~ N(1, sigma) is
    evaluated at every sample and multiplies the signal (Um et al. 2017).
    The splines of all windows come from one matrix product with a cached
    basis.

    Parameters
    ----------
    X : array-like of shape (n_windows, n_channels, n_times)
        Windows (float32 or float64; the dtype is kept).
    sigma : float, default=0.2
        Std of the knot values (Um et al. 2017 use 0.2).
    knots : int, default=4
        Number of interior knots (the two ends are added).
    rng : numpy.random.Generator, int, RandomState or None
        Source of randomness.
    nonnegative : bool, default=False
        Clip the result at 0 (the curve can dip below 0 for large sigma).

    Returns
    -------
    X_new : ndarray of shape (n_windows, n_channels, n_times)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.ones((2, 3, 40))
    >>> magnitude_warp(X, 0.2, 4, rng=0).shape
    (2, 3, 40)
    """
    X = check_windows(X)
    sigma = _check_sigma(sigma)
    knots = check_positive_int(knots, "knots", minimum=0)
    rng = _as_generator(rng)
    curves = _random_curves(rng, X.shape[:2], sigma, knots, X.shape[2], X.dtype)
    return _clip(X * curves, nonnegative)


def _lanczos_read(X, tau, radius):
    """Read each window at positions ``tau`` with a Lanczos (windowed-sinc) kernel.

    ``tau`` has shape ``(n_windows, n_times)`` and is shared by the channels. The
    window is extended past its ends by odd reflection (``2 x[0] - x[k]``), which
    continues both the value and the slope, so linear trends cross the edges
    intact. The ``2 * radius`` kernel weights of each position are normalised to
    sum to one, so constant windows are read exactly.
    """
    padded = np.pad(X, ((0, 0), (0, 0), (radius, radius)), mode="reflect", reflect_type="odd")
    base = np.floor(tau).astype(np.intp)
    out = np.zeros(X.shape, dtype=X.dtype)
    total = np.zeros(tau.shape)
    for offset in range(1 - radius, radius + 1):
        position = base + offset
        distance = tau - position
        weight = np.sinc(distance) * np.sinc(distance / radius)
        total += weight
        rows = np.take_along_axis(padded, (position + radius)[:, np.newaxis, :], axis=2)
        out += rows * weight.astype(X.dtype)[:, np.newaxis, :]
    out /= total.astype(X.dtype)[:, np.newaxis, :]
    return out


def _linear_read(X, tau):
    """Read each window at positions ``tau`` by linear interpolation."""
    t = X.shape[2]
    left = np.minimum(np.floor(tau).astype(np.intp), t - 2)
    weight = (tau - left).astype(X.dtype)[:, np.newaxis, :]
    left = left[:, np.newaxis, :]
    x_left = np.take_along_axis(X, left, axis=2)
    x_right = np.take_along_axis(X, left + 1, axis=2)
    return x_left * (1 - weight) + x_right * weight


def time_warp(X, sigma=0.2, knots=4, rng=None, *, interpolation="lanczos", nonnegative=False):
    """Resample each window along a smooth, monotone random time distortion.

    A random local speed ``v(t)`` (a cubic spline through ``knots + 2``
    values ~ N(1, sigma), floored at 0.01 so time never stops or reverses) is
    integrated into warped sample positions ``tau``, rescaled so that ``tau``
    runs from 0 to ``n_times - 1``; the window is then read at ``tau``. Parts
    with ``v > 1`` are compressed, parts with ``v < 1`` stretched, and the end
    points stay in place (the cumulative speed distortion of Um et al. 2017).

    One distortion per window, shared by all its channels: the channels of an
    sEMG window record the same movement, and warping them independently (as
    Um et al. do for accelerometer axes) would desynchronise the muscles.
    All windows are resampled at once by gathering neighbouring samples with
    ``np.take_along_axis``.

    The read is band-limited by default. Linear interpolation at a fractional
    position is a low-pass filter (it halves a component at the Nyquist
    frequency at half-sample positions), so on raw sEMG sampled at a low rate,
    whose power reaches up to Nyquist, it loses amplitude: about a fifth of the
    RMS on 200 Hz Myo armband windows, against under 6% with the Lanczos kernel
    of radius 4 (``interpolation="lanczos"``). On smooth envelopes the two agree.

    Parameters
    ----------
    X : array-like of shape (n_windows, n_channels, n_times)
        Windows (float32 or float64; the dtype is kept).
    sigma : float, default=0.2
        Std of the speed knots (Um et al. 2017 use 0.2). ``sigma=0`` returns
        the windows unchanged.
    knots : int, default=4
        Number of interior knots (the two ends are added).
    rng : numpy.random.Generator, int, RandomState or None
        Source of randomness.
    interpolation : {"lanczos", "linear"}, default="lanczos"
        How the window is read at the warped positions: a Lanczos kernel of
        radius 4 (windowed sinc, edges extended by odd reflection), or linear
        interpolation between the two neighbouring samples (the earlier
        default, kept to reproduce older results; it stays within the
        neighbours' range).
    nonnegative : bool, default=False
        Clip the result at 0 (envelope data: the sinc kernel can undershoot
        next to a sharp onset).

    Returns
    -------
    X_new : ndarray of shape (n_windows, n_channels, n_times)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(2, 3, 40))
    >>> bool(np.array_equal(time_warp(X, 0.0, 4, rng=0), X))
    True
    >>> time_warp(X, 0.2, 4, rng=0).shape
    (2, 3, 40)
    """
    X = check_windows(X)
    sigma = _check_sigma(sigma)
    knots = check_positive_int(knots, "knots", minimum=0)
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {_INTERPOLATIONS}; got {interpolation!r}.")
    rng = _as_generator(rng)
    n, _, t = X.shape
    if t < 2:  # nothing to warp; clipped like every other output
        return _clip(X.copy(), nonnegative)
    # speed on each of the t - 1 intervals between samples
    speed = _random_curves(rng, (n,), sigma, knots, t - 1, np.float64, midpoints=True)
    if sigma == 0:
        return _clip(X.copy(), nonnegative)
    np.maximum(speed, _MIN_SPEED, out=speed)
    tau = np.zeros((n, t))
    np.cumsum(speed, axis=1, out=tau[:, 1:])
    tau *= (t - 1) / tau[:, -1:]
    np.clip(tau, 0.0, t - 1, out=tau)
    if interpolation == "linear":
        return _clip(_linear_read(X, tau), nonnegative)
    return _clip(_lanczos_read(X, tau, _LANCZOS_RADIUS), nonnegative)
