"""Statistics and element-wise maps over window sets, one block of rows at a time.

A float64 copy of a window set is twice the float32 data, and ``np.std`` makes one
more. Computed block by block, the transient memory of a statistic or a map is one
block (about 16 MB), whatever the number of windows.
"""

from __future__ import annotations

import numpy as np

__all__ = ["channel_mean_std", "map_rows", "row_blocks"]

#: Values per block: 2**21 float64 values are 16 MB.
BLOCK_VALUES = 2**21


def row_blocks(n_rows, values_per_row, block_values=None):
    """Slices that cut ``n_rows`` rows into blocks of about ``block_values`` values.

    Parameters
    ----------
    n_rows : int
    values_per_row : int
    block_values : int, default=None
        ``None`` is :data:`BLOCK_VALUES` (2**21).

    Returns
    -------
    list of slice

    Examples
    --------
    >>> row_blocks(5, 4, block_values=8)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    block_values = BLOCK_VALUES if block_values is None else block_values
    step = max(1, int(block_values) // max(int(values_per_row), 1))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


def _blocks_of(X, block_values):
    return row_blocks(len(X), int(np.prod(X.shape[1:], dtype=np.int64)), block_values)


def channel_mean_std(X, per="channel", *, block_values=None):
    """Mean and (population) standard deviation of each channel, in float64, by blocks.

    The same two passes as ``np.mean`` and ``np.std`` over the windows and time points,
    accumulated block by block. Values near the float64 range's ends (above 1e150 or
    below 1e-150 in magnitude) are divided by the power of two at or below the peak
    first, which is exact, so their squares neither overflow nor underflow.

    Parameters
    ----------
    X : ndarray of shape (n_windows, n_channels, n_times)
    per : {"channel", "global"}, default="channel"
        ``"global"`` pools the channels (the statistics are repeated per channel).
    block_values : int, default=None
        Values per block (``None``: :data:`BLOCK_VALUES`); the transient memory is
        about 8 bytes per value.

    Returns
    -------
    mean, std : ndarray of float64 of shape (n_channels,)

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(3.0, 2.0, size=(40, 2, 10)).astype(np.float32)
    >>> mean, std = channel_mean_std(X, block_values=30)
    >>> bool(np.allclose(mean, X.astype(float).mean(axis=(0, 2))))
    True
    >>> bool(np.allclose(std, X.astype(float).std(axis=(0, 2))))
    True
    """
    if per not in ("channel", "global"):
        raise ValueError(f"channel_mean_std: per must be 'channel' or 'global'; got {per!r}.")
    n_windows, n_channels, n_times = X.shape
    if n_windows == 0 or n_times == 0:
        raise ValueError(
            f"channel_mean_std: X of shape {X.shape} has no values; pass at least one window "
            "with at least one sample."
        )
    blocks = _blocks_of(X, block_values)
    axes = (0, 2) if per == "channel" else (0, 1, 2)

    def reduce(fn):  # max and min are exact in the data's own dtype: no float64 copy
        return np.stack([fn(X[b], axis=axes).astype(np.float64) for b in blocks])

    # max and min rather than np.abs: no data-sized temporary
    peak = np.asarray(
        np.maximum(np.abs(reduce(np.max).max(axis=0)), np.abs(reduce(np.min).min(axis=0)))
    )
    if not np.all(np.isfinite(peak)):
        raise ValueError(
            "channel_mean_std: X holds NaN or inf values; remove or interpolate them first "
            "(semgaug_sk.utils.validation.check_windows finds them)."
        )
    extreme = (peak > 1e150) | ((peak > 0) & (peak < 1e-150))
    scale = np.ones_like(peak)
    # the power of two at or below the peak (frexp is exact): the scaled peak lies in
    # [1, 2), where rounding log2 up made 2**1024, an inf scale, from a peak >= 2**1023.5
    scale[extreme] = np.ldexp(1.0, np.frexp(peak[extreme])[1] - 1)
    shape = (1, -1, 1) if per == "channel" else (1, 1, 1)
    scale_b = scale.reshape(shape)

    def scaled_block(b):  # a float64 copy of the block, to work on in place
        block = np.array(X[b], dtype=np.float64)
        if extreme.any():
            block /= scale_b
        return block

    count = n_windows * n_times * (1 if per == "channel" else n_channels)
    total = np.zeros_like(peak)
    for b in blocks:
        total += scaled_block(b).sum(axis=axes)
    mean_scaled = total / count
    squares = np.zeros_like(peak)
    mean_b = mean_scaled.reshape(shape)
    for b in blocks:
        block = scaled_block(b)
        block -= mean_b
        np.square(block, out=block)
        squares += block.sum(axis=axes)
    mean = mean_scaled * scale
    std = np.sqrt(squares / count) * scale
    return (np.broadcast_to(mean, (n_channels,)).copy(), np.broadcast_to(std, (n_channels,)).copy())


def map_rows(fn, X, dtype, *, block_values=None):
    """``fn(X[rows])`` cast to ``dtype``, written block by block into one new array.

    Parameters
    ----------
    fn : callable
        An element-wise (or row-wise) map that keeps a block's shape.
    X : ndarray
    dtype : dtype
        The output's dtype.
    block_values : int, default=None
        Values per block (``None``: :data:`BLOCK_VALUES`).

    Returns
    -------
    ndarray of shape X.shape and dtype ``dtype``

    Examples
    --------
    >>> out = map_rows(lambda b: b * 2.0, np.ones((3, 2, 2)), np.float32, block_values=4)
    >>> out.dtype.name, float(out.sum())
    ('float32', 24.0)
    """
    out = np.empty(X.shape, dtype=dtype)
    for b in _blocks_of(X, block_values):
        out[b] = fn(X[b])
    return out
