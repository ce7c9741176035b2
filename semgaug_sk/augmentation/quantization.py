"""The amplitude grid of a recording: detect it on real windows, put synthetic ones on it.

Every sEMG device digitises: the Myo armband stores 8-bit codes, NinaPro DB1's Otto Bock
electrodes give steps of 2.5 V / 1024, and a 16-bit ADC gives steps of its range / 65536.
Real windows therefore lie on a grid ``offset + k * step``, and on a quiet channel many
neighbouring samples are equal. Synthetic windows made by a diffusion model, by jitter or
by interpolation are continuous, so they have no equal neighbours: features that count
sign changes of the slope (``ssc``) or of the signal (``zc``) with a zero threshold see
many more of them than in any real window. Rounding synthetic windows onto the grid of
the real ones removes that artefact and changes each value by at most ``step / 2``.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

__all__ = ["detect_quantization", "observed_levels", "quantize"]

#: scikit-learn constraint of the samplers' ``quantize`` parameter.
QUANTIZE_CONSTRAINT = [
    None,
    StrOptions({"auto"}),
    Interval(numbers.Real, 0, None, closed="neither"),
]

#: At most this many values are read to find the grid (a strided subset of larger sets).
_MAX_VALUES = 1 << 20
#: Fewer distinct values than this are too few to tell a grid from chance.
_MIN_LEVELS = 8
#: Grids finer than this many levels over the data's range are treated as continuous
#: (beyond float32's 24-bit mantissa, "levels" are rounding noise).
_MAX_LEVELS = 1 << 22


def detect_quantization(X, *, tolerance=0.05, min_fraction=0.99):
    """Find the grid ``offset + k * step`` that the values of ``X`` lie on, if any.

    The step starts as the mean of the smallest gaps between distinct values (past
    the few gaps that values off the grid can make) and is refined by least squares on
    the level numbers ``k`` of the values on the grid, over a widening range around a
    value near the middle that lies on the grid most of its neighbours share (so that
    values stored with a few decimals, e.g. ``round(k * 2.5 / 1024, 4)``, give the true
    step, not a rounded one, and a value off the grid, the lowest included, neither
    hides the grid nor skews it). ``X`` is on the grid when at least ``min_fraction``
    of its distinct values lie within ``tolerance * step`` of a level; the offset is
    the lowest of those. When 0 is one of the levels (ADC codes times a step), the
    grid is anchored at 0, so that rounding never takes a non-negative value below 0.

    Parameters
    ----------
    X : array-like
        Real recordings or windows, of any shape.
    tolerance : float, default=0.05
        Largest distance from a level, as a fraction of the step, that counts as on it.
    min_fraction : float, default=0.99
        Fraction of the distinct values that must be on the grid.

    Returns
    -------
    grid : tuple (offset, step) of float, or None
        ``None`` when the values are continuous (no grid), constant, not finite, or
        fewer than 8 distinct ones (too few to tell a grid from chance).

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.random.default_rng(0).integers(-128, 128, size=(20, 8, 52))
    >>> detect_quantization(codes.astype(np.float32))
    (0.0, 1.0)
    >>> print(detect_quantization(np.random.default_rng(0).normal(size=(20, 8, 52))))
    None
    """
    values = np.asarray(X).ravel()
    if values.size > _MAX_VALUES:  # subsample before the float64 copy
        values = values[:: values.size // _MAX_VALUES + 1]
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        return None
    levels = np.unique(values)
    # a handful of values fit some grid by chance (3 random normals do 1 time in 10)
    if len(levels) < _MIN_LEVELS:
        return None
    gaps = np.sort(np.diff(levels))
    # each value off the grid (up to 1 - min_fraction of them) can make two gaps below
    # one step: the smallest gap is taken past as many
    smallest = gaps[min(int(2 * (1 - min_fraction) * len(levels)), len(gaps) - 1)]
    step = float(np.mean(gaps[(gaps > smallest / 1.5) & (gaps < 1.5 * smallest)]))
    if not step > 0 or levels[-1] - levels[0] > _MAX_LEVELS * step:
        return None
    # a level to count from: the value nearest the middle one that lies on the grid that
    # most values near it share (the circular mean of their phases), so that a value off
    # the grid (the lowest one included) neither shifts the grid nor stops its detection
    middle = levels[len(levels) // 2]
    near = np.abs(levels - middle) <= 20 * step
    phase = np.angle(np.mean(np.exp(2j * np.pi * (levels[near] - middle) / step))) / (2 * np.pi)
    miss = (levels[near] - middle) / step - phase
    origin = float(levels[near][np.argmin(np.abs(miss - np.round(miss)))])
    relative = levels - origin
    refined = False
    for reach in (20, 200, 2000, np.inf):
        position = relative / step
        k = np.round(position)
        # only the values on the grid refine its step: an off-grid one would bias it
        near = (np.abs(position) <= reach) & (np.abs(position - k) <= tolerance)
        if not np.any(k[near]):  # an isolated origin: nothing this near it, widen the reach
            continue
        step = float(np.sum(k[near] * relative[near]) / np.sum(k[near] ** 2))
        refined = True
    if not refined:  # the values do not reach one step: no grid to refine
        return None
    position = relative / step
    on_grid = np.abs(position - np.round(position)) <= tolerance
    if np.mean(on_grid) < min_fraction:
        return None
    # counted from the lowest value on the grid, the step of all the values on it
    offset = float(levels[on_grid][0])
    relative = levels[on_grid] - offset
    k = np.round(relative / step)
    step = float(np.sum(k * relative) / np.sum(k * k))
    zero = -offset / step
    if abs(zero - round(zero)) <= tolerance:  # 0 is a level: anchor the grid there
        offset = 0.0
    return offset, step


def observed_levels(X, offset, step, *, tolerance=0.05):
    """The stored value of each level of the grid that ``X`` holds.

    A recording stored with a few decimals (NinaPro DB1: ``round(k * 2.5 / 1024, 4)``)
    lies near, not on, the exact levels ``offset + k * step``. :func:`quantize` given
    these levels puts a synthetic value on the very number the real recordings store
    for its level, so no value tells synthetic from real.

    Parameters
    ----------
    X : array-like
        The real values (a strided subset of very large sets is read).
    offset, step : float
        The grid, as returned by :func:`detect_quantization`.
    tolerance : float, default=0.05
        Largest distance from a level, as a fraction of the step, that counts as on it.

    Returns
    -------
    levels : tuple (k, values) of ndarray
        The level numbers held, sorted (int64), and the value stored for each
        (float64; the one nearest the exact level when several are).

    Examples
    --------
    >>> import numpy as np
    >>> k, values = observed_levels(np.round(np.arange(4) * 2.5 / 1024, 4), 0.0, 2.5 / 1024)
    >>> k.tolist(), values.tolist()
    ([0, 1, 2, 3], [0.0, 0.0024, 0.0049, 0.0073])
    """
    values = np.asarray(X).ravel()
    if values.size > _MAX_VALUES:
        values = values[:: values.size // _MAX_VALUES + 1]
    values = np.unique(values.astype(np.float64))
    position = (values - offset) / step
    k = np.rint(position)
    miss = np.abs(position - k)
    on = (miss <= tolerance) & (np.abs(k) < 2**62)  # a level index int64 holds
    k, values, miss = k[on].astype(np.int64), values[on], miss[on]
    order = np.lexsort((miss, k))  # by level, the nearest stored value first
    k, values = k[order], values[order]
    first = np.r_[True, k[1:] != k[:-1]] if len(k) else np.zeros(0, dtype=bool)
    return k[first], values[first]


#: Rows of ``X`` mapped onto observed levels at a time (the temporaries scale with it).
_LEVEL_ROWS = 256


def quantize(X, offset, step, *, out=None, levels=None):
    """Round every value of ``X`` to the nearest level ``offset + k * step``.

    Parameters
    ----------
    X : ndarray of float
        Values to round (e.g. synthetic windows).
    offset, step : float
        The grid, as returned by :func:`detect_quantization`.
    out : ndarray, optional
        Where to write the result (``out=X`` rounds in place, with no extra memory).
    levels : tuple (k, values), optional
        :func:`observed_levels` of the real values: a level they hold gets the
        value they store for it; other levels get ``offset + k * step``.

    Returns
    -------
    X_grid : ndarray, same shape and dtype as ``X``

    Examples
    --------
    >>> import numpy as np
    >>> quantize(np.array([0.2, 0.9, -1.6]), 0.0, 0.5)
    array([ 0. ,  1. , -1.5])
    >>> quantize(np.array([0.2, 0.9]), 0.0, 0.5, levels=(np.array([2]), np.array([0.98])))
    array([0.  , 0.98])
    """
    if not (np.isfinite(offset) and np.isfinite(step) and step > 0):
        raise ValueError(
            f"quantize needs a finite offset and a finite step > 0; got offset={offset!r}, "
            f"step={step!r}. Pass the grid that detect_quantization returns."
        )
    X = np.asarray(X)
    if out is None:
        out = X.copy()
    elif out is not X:
        out[...] = X
    dtype = out.dtype
    if np.issubdtype(dtype, np.floating):
        with np.errstate(over="ignore", under="ignore"):
            step_here, offset_here = dtype.type(step), dtype.type(offset)
        if not (np.isfinite(step_here) and step_here > 0 and np.isfinite(offset_here)):
            raise ValueError(
                f"quantize: the grid (offset={offset!r}, step={step!r}) cannot be held in "
                f"{dtype} (it rounds to offset={offset_here!r}, step={step_here!r}). Pass "
                "float64 windows, or a grid within the dtype's range (quantize=None turns "
                "the rounding off)."
            )
    finite_before = out.size == 0 or bool(np.isfinite(out.min()) and np.isfinite(out.max()))
    with np.errstate(over="ignore"):
        out -= offset
        out /= step
    if finite_before and out.size and not (np.isfinite(out.min()) and np.isfinite(out.max())):
        raise FloatingPointError(
            f"quantize: values divided by the step ({step:g}) overflow {dtype}: the windows "
            f"are too large for a grid this fine in this dtype. Pass float64 windows, a "
            "coarser step, or quantize=None."
        )
    np.rint(out, out=out)
    if levels is None or len(levels[0]) == 0:
        out *= step
        out += offset
        return out
    held, stored = np.asarray(levels[0]), np.asarray(levels[1], dtype=np.float64)
    blocks = (
        [out]
        if out.ndim == 0
        else (out[i : i + _LEVEL_ROWS] for i in range(0, len(out), _LEVEL_ROWS))
    )
    for block in blocks:  # views of out: bounded temporaries
        where = np.minimum(np.searchsorted(held, block), len(held) - 1)
        hit = held[where] == block
        block[...] = np.where(hit, stored[where], block * step + offset)
    return out
