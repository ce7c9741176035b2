"""Classical sEMG features: pure kernels, :func:`extract_features` and :class:`EMGFeatures`.

Every kernel works on the **last axis** of an array of any leading shape, so
``rms(X)`` with ``X`` of shape ``(n_windows, n_channels, n_times)`` returns
``(n_windows, n_channels)``; all windows and channels are computed at once, with
no Python loop per window.

Precision
---------
Results have the floating dtype of the input (float32 stays float32, float64
stays float64; integer and boolean input is computed in float64), and every
accumulation runs in that dtype: no float64 copy of a float32 array is made.
Sums over windows of up to 4096 samples use ``np.einsum``, whose SIMD loop keeps
32-64 partial sums, so the rounding error is at most about ``n_times / 32`` ulps
(about 1e-7 relative in float32 for 200 samples); longer windows use numpy's
pairwise summation (error growing like ``log2(n_times)``). float32 results agree
with float64 ones to about 1e-6 relative, which the tests check. Counts (``zc``,
``ssc``, ``wamp``) are accumulated in integers and exact; ``zc`` and ``ssc`` test
the sign of a product of neighbours (samples, or differences), which float32
cannot hold below about 1e-45: windows whose amplitude is below about 1e-22 lose
crossings in float32, so compute them in float64 or in other units. Integer
input is converted to float64 as a whole before the chunks (a copy of 4x an
int16 array). Variance-like
quantities (``var``, Hjorth parameters, ``skew``, ``kurt``) use the two-pass
formula (subtract the mean, then sum squares) rather than
``mean(x**2) - mean(x)**2``, which loses all precision for a large offset.

Definitions
-----------
The definitions follow Phinyomark, Phukpattaranont & Limsakul, "Feature
reduction and selection for EMG signal classification", Expert Systems with
Applications 39(8):7420-7431, 2012, and Hudgins, Parker & Scott, "A new
strategy for multifunction myoelectric control", IEEE Trans. Biomed. Eng.
40(1):82-94, 1993; each kernel's docstring gives its exact formula and where it
departs from those papers. ``x_1 ... x_N`` is one window of ``N`` samples.

The pure kernels (``rms``, ``zc``, ...) do not check for NaN/inf, which propagate
into the result (and count as no crossing for the count features);
:func:`extract_features` and :class:`EMGFeatures` validate their input.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import numpy as np
import scipy.fft
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_is_fitted, validate_data

from .utils.training import restore_on_failure
from .utils.validation import (
    _to_array,
    check_input_features,
    check_positive_int,
    check_windows,
    unwrap_scalar,
    warn_if_stream,
)

__all__ = [
    "FEATURE_NAMES",
    "FEATURE_GROUPS",
    "FEATURE_MIN_TIMES",
    "THRESHOLD_FEATURES",
    "LOG_FLOOR",
    "resolve_features",
    "extract_features",
    "EMGFeatures",
    "ConstantFeatureWarning",
    "rms",
    "var",
    "ssi",
    "ent",
    "mav",
    "iav",
    "wl",
    "zc",
    "ssc",
    "wamp",
    "dasdv",
    "log",
    "mnf",
    "mdf",
    "hjorth_mobility",
    "hjorth_complexity",
    "skew",
    "kurt",
]

#: Floor applied to ``|x|`` before the logarithm of the ``log`` feature, relative to the
#: window's largest ``|x|``: a sample that is exactly 0 contributes
#: ``log(1e-10 * max|x|)`` instead of ``-inf``. Relative, so that the feature does not
#: depend on the units (``log(c x) = c log(x)``, also for quantised recordings with exact
#: zeros); the same for float32 and float64. A window of zeros gives 0.
LOG_FLOOR = 1e-10

#: Features that use the ``threshold`` parameter.
THRESHOLD_FEATURES = ("zc", "ssc", "wamp")

#: Bytes of input per chunk when ``chunk_size=None``: small enough that a chunk and
#: its intermediates stay in the CPU cache, large enough to amortise numpy's per-call
#: overhead (measured with ``benchmarks/bench_features.py``).
_AUTO_CHUNK_BYTES = 1 << 20


# --------------------------------------------------------------------------------------
# Intermediates shared between features
# --------------------------------------------------------------------------------------
#: Windows up to this length are summed with ``np.einsum`` (see the module's Precision note).
_EINSUM_MAX_TIMES = 4096


def _sum(a):
    """Sum over the last axis, in the array's dtype.

    ``np.einsum`` is about 3x faster than ``np.add.reduce`` here (SIMD accumulators);
    its rounding error grows like ``n / n_lanes`` instead of ``log2(n)``, so beyond
    :data:`_EINSUM_MAX_TIMES` samples the pairwise ``np.add.reduce`` is used. Either
    way each window is summed on its own, in an order that does not depend on the
    other windows of the block, so chunking never changes a result.
    """
    if a.shape[-1] <= _EINSUM_MAX_TIMES:
        return np.einsum("...i->...", a)
    return np.add.reduce(a, axis=-1)


def _dot(a, b):
    """``sum(a * b)`` over the last axis without a temporary (same summation as :func:`_sum`)."""
    if a.shape[-1] <= _EINSUM_MAX_TIMES:
        return np.einsum("...i,...i->...", a, b)
    return np.add.reduce(a * b, axis=-1)


def _count(mask):
    """Number of True values along the last axis, as an exact integer count.

    Summing the bytes of the mask in the narrowest unsigned type that cannot
    overflow is 2-4x faster than ``np.count_nonzero(mask, axis=-1)``.
    """
    n = mask.shape[-1]
    if n <= np.iinfo(np.uint8).max:
        return np.einsum("...i->...", mask.view(np.uint8))
    if n <= np.iinfo(np.uint16).max:
        return np.add.reduce(mask.view(np.uint8), axis=-1, dtype=np.uint16)
    return np.count_nonzero(mask, axis=-1)


def _safe_ratio(num, den):
    """``num / den`` where ``den > 0``, 0 where ``den`` is 0 (no warning); NaN stays NaN."""
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    out[np.isnan(num) | np.isnan(den)] = np.nan  # a NaN window must not read as a zero ratio
    return out


class _Workspace:
    """Scratch arrays reused from one chunk to the next.

    Allocating and freeing megabyte-sized temporaries for every chunk makes the
    C allocator hand pages back to the OS and fault them in again, which cost
    more than the arithmetic itself (about 2x on the ``td`` group); reusing a few
    buffers per call avoids that.
    """

    def __init__(self):
        self._buffers = {}

    def get(self, key, shape, dtype):
        size = int(np.prod(shape))
        buf = self._buffers.get(key)
        if buf is None or buf.dtype != dtype or buf.size < size:
            buf = np.empty(size, dtype=dtype)
            self._buffers[key] = buf
        return buf[:size].reshape(shape)


class _Block:
    """One C-contiguous block of windows and the intermediates its features share.

    Each intermediate (``x**2`` sums, the centred window, ``diff(x)``, the power
    spectrum, ...) is computed on first use and cached, so asking for several
    features of the same block computes each intermediate once. Large
    intermediates live in buffers of a :class:`_Workspace` shared across blocks.

    First differences are computed on the flattened block, in one contiguous
    pass (a per-window slice costs a slow inner loop per row): ``diff_full`` has
    the shape of the block and ``diff_full[..., i] = x[..., i + 1] - x[..., i]``
    for ``i < n - 1``; its last column holds the difference across two adjacent
    windows (or 0 for the very last) and is never part of a result. Elementwise
    operations on it stay as well-defined as on the valid part, since that column
    is also a difference of two input samples.
    """

    def __init__(self, x, thresholds=None, fs=None, workspace=None, ssc_convention="strict"):
        self.x = x
        self.ssc_convention = ssc_convention
        self.n = x.shape[-1]
        self.dtype = x.dtype
        self.thresholds = thresholds or {}
        self.fs = fs
        self.ws = _Workspace() if workspace is None else workspace

    def threshold(self, name):
        """``name``'s threshold in the windows' dtype, at most its largest finite value.

        The comparisons run in that dtype anyway; converting here first keeps a threshold
        beyond float32's range from overflowing (with a warning) and lets ``ssc`` see a
        threshold that float32 rounds to 0 as the 0 that it compares with.
        """
        thr = self.thresholds.get(name, 0.0)
        return self.dtype.type(min(thr, float(np.finfo(self.dtype).max)))

    def buf(self, key, dtype=None, shape=None):
        return self.ws.get(key, self.x.shape if shape is None else shape, dtype or self.dtype)

    def _flat_pair(self, a, key, op):
        """``op(a[..., i], a[..., i + 1])`` for every i, computed on the flat array."""
        flat = a.reshape(-1)
        out = self.buf(key, a.dtype, a.shape)
        if not flat.size:  # no windows
            return out
        out_flat = out.reshape(-1)
        op(flat[:-1], flat[1:], out=out_flat[:-1])
        out_flat[-1] = 0
        return out

    # -- amplitude ----------------------------------------------------------------------
    @cached_property
    def sumsq(self):
        return _dot(self.x, self.x)

    @cached_property
    def mean(self):
        return _sum(self.x) / self.n

    @cached_property
    def centered(self):
        c = np.subtract(self.x, self.mean[..., np.newaxis], out=self.buf("centered"))
        if self.dtype != np.float64:
            # a second pass removes what the rounding of the first mean left: on a large
            # offset in float32 that residue biases skew by about 3 residue / sd (float64
            # keeps skew within about 1e-9 up to an offset of 1e6 sd: no second pass)
            c -= (_sum(c) / self.n)[..., np.newaxis]
        return c

    @cached_property
    def m2(self):
        return _dot(self.centered, self.centered) / self.n

    @cached_property
    def flat(self):
        """Windows whose samples are all equal: no power at any frequency."""
        return np.equal(self.x.max(axis=-1), self.x.min(axis=-1))

    @cached_property
    def centered_peak(self):
        """Each window's largest ``|centered|`` (1 for a constant window)."""
        c = self.centered
        peak = np.maximum(c.max(axis=-1), -c.min(axis=-1))
        peak[peak == 0] = 1
        return peak

    @cached_property
    def unit_centered(self):
        """``centered`` in units of its window's peak, for the scale-free moments (skew,
        kurt): their third and fourth powers underflow float32 below amplitudes of about
        1e-10, at which ``centered`` itself is still exact."""
        peak = self.centered_peak[..., np.newaxis]
        return np.divide(self.centered, peak, out=self.buf("unit_centered"))

    @cached_property
    def unit_centered_sq(self):
        """``unit_centered`` squared: shared by skew and kurt."""
        return np.square(self.unit_centered, out=self.buf("unit_centered_sq"))

    @cached_property
    def unit_m2(self):
        return _dot(self.unit_centered, self.unit_centered) / self.n

    @cached_property
    def moments_zero(self):
        # scipy.stats.skew/kurtosis's test for a (numerically) constant window,
        # m2 <= (eps * mean)**2, in units of the window's peak (no underflow)
        eps = np.finfo(self.dtype).eps
        return self.unit_m2 <= np.square(eps * self.mean / self.centered_peak)

    @cached_property
    def absx(self):
        return np.abs(self.x, out=self.buf("absx"))

    @cached_property
    def sum_abs(self):
        return _sum(self.absx)

    # -- differences ----------------------------------------------------------------------
    @cached_property
    def diff_full(self):
        return self._flat_pair(self.x, "diff", _forward_diff)

    @cached_property
    def absdiff_full(self):
        return np.abs(self.diff_full, out=self.buf("absdiff"))

    @cached_property
    def var_diff(self):
        return _centered_var(self.diff_full[..., :-1], self.buf("var_scratch")[..., :-1])

    @cached_property
    def var_diff2(self):
        dd = self._flat_pair(self.diff_full, "diff2", _forward_diff)
        return _centered_var(dd[..., :-2], self.buf("var_scratch")[..., :-2])

    # -- spectrum -------------------------------------------------------------------------
    @cached_property
    def power(self):
        """One-sided power spectrum of the mean-removed window (arbitrary scale).

        ``|rfft(x - mean)|**2`` with the DC bin set to 0 (like
        ``scipy.signal.periodogram``'s default ``detrend="constant"``) and the Nyquist
        bin of an even-length window halved, so the bins carry the relative weights of
        the one-sided periodogram. The mean is removed before the FFT, not only from
        its DC bin: the rounding error of a large DC term would otherwise spread into
        every bin (float32 on an offset).
        """
        z = scipy.fft.rfft(self.centered, axis=-1)
        p = np.square(z.real, out=self.buf("power", shape=z.shape))
        p += np.square(z.imag, out=self.buf("power_im", shape=z.shape))
        p[..., 0] = 0
        if self.n % 2 == 0:
            p[..., -1] *= 0.5
        return p

    @cached_property
    def freqs(self):
        fs = 1.0 if self.fs is None else float(self.fs)
        return np.fft.rfftfreq(self.n, d=1.0 / fs).astype(self.dtype)


def _forward_diff(a, b, out):
    return np.subtract(b, a, out=out)


def _centered_var(a, scratch):
    """Population variance over the last axis, two-pass (``scratch``: array of a's shape)."""
    n = a.shape[-1]
    c = np.subtract(a, (_sum(a) / n)[..., np.newaxis], out=scratch)
    return _dot(c, c) / n


# --------------------------------------------------------------------------------------
# Feature functions on a block
# --------------------------------------------------------------------------------------
def _f_rms(b):
    return np.sqrt(b.sumsq / b.n)


def _f_var(b):
    return b.m2


def _f_ssi(b):
    return b.sumsq


def _f_ent(b):
    x = b.x
    d = np.subtract(x, x.max(axis=-1, keepdims=True), out=b.buf("tmp"))  # <= 0, max is 0
    e = np.exp(d, out=b.buf("tmp2"))
    s = _sum(e)  # in [1, n]
    h = np.log(s) - _dot(e, d) / s
    return np.clip(h, 0, np.log(b.n).astype(b.dtype), out=h)


def _f_mav(b):
    return b.sum_abs / b.n


def _f_iav(b):
    return b.sum_abs


def _f_wl(b):
    return _sum(b.absdiff_full[..., :-1])


def _f_zc(b):
    prod = b._flat_pair(b.x, "tmp", np.multiply)
    mask = np.less(prod, 0, out=b.buf("mask", np.bool_))
    thr = b.threshold("zc")
    if thr > 0:
        mask &= np.greater_equal(b.absdiff_full, thr, out=b.buf("mask2", np.bool_))
    return _count(mask[..., :-1]).astype(b.dtype)


def _f_ssc(b):
    # (x_i - x_{i-1}) * (x_i - x_{i+1}) = -d_{i-1} * d_i, so p_i > 0 <=> d_{i-1} * d_i < 0
    prod = b._flat_pair(b.diff_full, "tmp", np.multiply)
    thr = b.threshold("ssc")
    mask = b.buf("mask", np.bool_)
    if thr == 0 and b.ssc_convention == "strict":
        np.less(prod, 0, out=mask)
    else:
        np.less_equal(prod, -thr, out=mask)
    return _count(mask[..., :-2]).astype(b.dtype)


def _f_wamp(b):
    mask = np.greater(b.absdiff_full, b.threshold("wamp"), out=b.buf("mask", np.bool_))
    return _count(mask[..., :-1]).astype(b.dtype)


def _f_dasdv(b):
    d = b.diff_full[..., :-1]
    return np.sqrt(_dot(d, d) / (b.n - 1))


def _f_log(b):
    # in units of the window's peak, so that the floor is relative whatever the scale
    # (subnormal peaks included): LOG = peak * exp(mean(ln max(|x| / peak, LOG_FLOOR)))
    peak = b.absx.max(axis=-1, keepdims=True)
    a = np.divide(b.absx, np.where(peak > 0, peak, 1), out=b.buf("tmp"))
    np.maximum(a, b.dtype.type(LOG_FLOOR), out=a)
    # exp(mean(ln a)) == exp2(mean(log2 a)); numpy's SIMD log2 is faster than its log
    np.log2(a, out=a)
    return np.exp2(_sum(a) / b.n) * peak[..., 0]  # a window of zeros gives 0


def _f_mnf(b):
    p = b.power
    freqs = np.broadcast_to(b.freqs, p.shape)
    out = _safe_ratio(_dot(p, freqs), _sum(p))
    # A constant window's FFT leaks rounding noise of its mean into every bin; that noise
    # over itself would read as a frequency, so a window with no variation is set to 0.
    out[b.flat] = 0
    return out


def _f_mdf(b):
    p = b.power
    cum = np.cumsum(p, axis=-1, out=b.buf("power_im", shape=p.shape))
    total = cum[..., -1:]
    mask = np.greater_equal(cum, 0.5 * total, out=b.buf("mask", np.bool_, p.shape))
    out = b.freqs[np.argmax(mask, axis=-1)]
    out[b.flat] = 0  # as in mnf: no power, not rounding noise
    out[np.isnan(total[..., 0])] = np.nan
    return out


def _f_hjorth_mobility(b):
    return np.sqrt(_safe_ratio(b.var_diff, b.m2))


def _f_hjorth_complexity(b):
    mob_x = np.sqrt(_safe_ratio(b.var_diff, b.m2))
    mob_d = np.sqrt(_safe_ratio(b.var_diff2, b.var_diff))
    out = _safe_ratio(mob_d, mob_x)
    # a straight line's derivative is constant, but rounding leaves its variance at the
    # noise of the samples' last bits, and the ratio of two noises is not 0
    noise = 4 * np.finfo(b.dtype).eps * b.absx.max(axis=-1)
    out[b.var_diff <= np.square(noise)] = 0
    return out


def _f_skew(b):
    # skew is scale-free: in units of the window's peak, no underflow
    m3 = _dot(b.unit_centered_sq, b.unit_centered) / b.n
    out = _safe_ratio(m3, b.unit_m2 * np.sqrt(b.unit_m2))
    # exactly constant windows too: a float64 mean summed with einsum can leave a
    # residue just above moments_zero's bound, and a ratio of residues is not 0
    out[b.moments_zero | b.flat] = 0
    return out


def _f_kurt(b):
    z2 = b.unit_centered_sq  # as in skew
    m4 = _dot(z2, z2) / b.n
    out = _safe_ratio(m4, np.square(b.unit_m2)) - 3
    out[b.moments_zero | b.flat] = 0  # as in skew
    return out


@dataclass(frozen=True)
class _Spec:
    func: Callable
    min_times: int


_SPECS = {
    "rms": _Spec(_f_rms, 1),
    "var": _Spec(_f_var, 1),
    "ssi": _Spec(_f_ssi, 1),
    "ent": _Spec(_f_ent, 1),
    "mav": _Spec(_f_mav, 1),
    "iav": _Spec(_f_iav, 1),
    "wl": _Spec(_f_wl, 2),
    "zc": _Spec(_f_zc, 2),
    "ssc": _Spec(_f_ssc, 3),
    "wamp": _Spec(_f_wamp, 2),
    "dasdv": _Spec(_f_dasdv, 2),
    "log": _Spec(_f_log, 1),
    "mnf": _Spec(_f_mnf, 2),
    "mdf": _Spec(_f_mdf, 2),
    "hjorth_mobility": _Spec(_f_hjorth_mobility, 2),
    "hjorth_complexity": _Spec(_f_hjorth_complexity, 3),
    "skew": _Spec(_f_skew, 1),
    "kurt": _Spec(_f_kurt, 1),
}

#: Names of every feature, in the order of the ``"all"`` group.
FEATURE_NAMES = tuple(_SPECS)

#: Smallest window length (samples) for which each feature is defined.
FEATURE_MIN_TIMES = MappingProxyType({name: spec.min_times for name, spec in _SPECS.items()})

#: Named feature groups accepted wherever a feature name is:
#:
#: - ``"fin"``: the four features imitated by LSTM-FIN (Wu et al., ICASSP 2025).
#: - ``"hudgins"``: Hudgins' time-domain set (Hudgins et al. 1993).
#: - ``"td"``: the time-domain features of Phinyomark et al. (2012) implemented here
#:   (amplitude, differences and counts; no spectrum, no higher-order statistics).
#: - ``"all"``: every feature.
FEATURE_GROUPS = MappingProxyType(
    {
        "fin": ("rms", "var", "ssi", "ent"),
        "hudgins": ("mav", "wl", "zc", "ssc"),
        "td": ("iav", "mav", "ssi", "var", "rms", "log", "wl", "dasdv", "zc", "ssc", "wamp"),
        "all": FEATURE_NAMES,
    }
)


# --------------------------------------------------------------------------------------
# Parameter checks
# --------------------------------------------------------------------------------------
def _who(estimator):
    return f"{type(estimator).__name__}: " if estimator is not None else ""


def resolve_features(features) -> tuple[str, ...]:
    """Expand feature and group names into a de-duplicated tuple of feature names.

    Parameters
    ----------
    features : str or iterable of str
        A feature name (see :data:`FEATURE_NAMES`), a group name (see
        :data:`FEATURE_GROUPS`), or an iterable mixing both. Names are
        case-insensitive.

    Returns
    -------
    names : tuple of str
        Feature names in the order given, groups expanded in place, each name
        kept at its first occurrence.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid names and groups) or
        an empty selection.
    TypeError
        For an entry that is not a string.

    Examples
    --------
    >>> resolve_features("hudgins")
    ('mav', 'wl', 'zc', 'ssc')
    >>> resolve_features(["rms", "fin", "zc"])
    ('rms', 'var', 'ssi', 'ent', 'zc')
    """
    items = [features] if isinstance(features, str) else features
    if not isinstance(items, Iterable) or isinstance(items, Mapping):
        raise TypeError(
            f"features must be a feature or group name or an iterable of names; got {features!r}. "
            f"Valid names: {', '.join(FEATURE_NAMES)}; groups: {', '.join(FEATURE_GROUPS)}."
        )
    if isinstance(items, set | frozenset):  # its order changes from one process to the next
        listed = sorted(map(str, items))
        raise TypeError(
            f"features must be ordered (a list or a tuple), so that the columns keep their "
            f"order; got a set of {listed!r}. Pass e.g. {listed!r}."
        )
    names: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise TypeError(
                f"features must contain feature or group names (strings); got {item!r} "
                f"of type {type(item).__name__}."
            )
        key = item.strip().lower()
        if key in _SPECS:
            names.setdefault(key)
        elif key in FEATURE_GROUPS:
            for name in FEATURE_GROUPS[key]:
                names.setdefault(name)
        else:
            raise ValueError(
                f"Unknown feature {item!r}. Valid feature names: {', '.join(FEATURE_NAMES)}; "
                f"valid groups: {', '.join(FEATURE_GROUPS)}."
            )
    if not names:
        raise ValueError(
            "features is empty; select at least one feature, e.g. features='fin' or "
            f"features=('rms', 'wl'). Valid names: {', '.join(FEATURE_NAMES)}; "
            f"groups: {', '.join(FEATURE_GROUPS)}."
        )
    return tuple(names)


def _check_nonneg_real(value, what, who=""):
    if (
        isinstance(value, bool | np.bool_)
        or not isinstance(value, numbers.Real)
        or isinstance(value, np.ndarray)
    ):
        raise TypeError(f"{who}{what} must be a real number >= 0; got {value!r}.")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(
            f"{who}{what} must be a finite number >= 0; got {value!r}. Thresholds are in the "
            "units of the signal (squared units for ssc); use 0 to count every crossing."
        )
    return value


def _check_threshold(threshold, who=""):
    """Return ``{feature: threshold}`` for zc, ssc and wamp."""
    if isinstance(threshold, Mapping):
        unknown = [k for k in threshold if k not in THRESHOLD_FEATURES]
        if unknown:
            raise ValueError(
                f"{who}threshold has keys {unknown!r}; per-feature thresholds apply to "
                f"{', '.join(THRESHOLD_FEATURES)} only."
            )
        return {
            name: _check_nonneg_real(threshold.get(name, 0.0), f"threshold[{name!r}]", who)
            for name in THRESHOLD_FEATURES
        }
    value = _check_nonneg_real(threshold, "threshold", who)
    return dict.fromkeys(THRESHOLD_FEATURES, value)


SSC_CONVENTIONS = ("strict", "reference")


def _check_ssc_convention(convention, who=""):
    if isinstance(convention, str) and convention in SSC_CONVENTIONS:
        return convention
    raise ValueError(
        f"{who}ssc_convention must be 'strict' (strict extrema only, the default) or "
        f"'reference' (p_i >= threshold, as LibEMG and Phinyomark et al.); got {convention!r}."
    )


def _check_dtype(dtype, who=""):
    """None, or float32/float64 as a numpy dtype."""
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = np.dtype(object)  # refused below (np.dtype(None) would be float64)
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(
            f"{who}dtype must be None (follow the windows: float32 stays float32, other "
            f"input gives float64), 'float32' or 'float64'; got {dtype!r}."
        )
    return resolved


def _check_fs(fs, who=""):
    if fs is None:
        return None
    fs = unwrap_scalar(fs)  # e.g. a recording's fs read back by np.load
    if isinstance(fs, bool | np.bool_) or not isinstance(fs, numbers.Real):
        raise TypeError(
            f"{who}fs must be None or a sampling rate in Hz (a number > 0); got {fs!r}."
        )
    fs = float(fs)
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(
            f"{who}fs must be a positive sampling rate in Hz; got {fs!r}. Pass fs=None to get "
            "mnf/mdf in cycles per sample."
        )
    return fs


def _check_min_times(names, n_times, who=""):
    for name in names:
        need = _SPECS[name].min_times
        if n_times < need:
            raise ValueError(
                f"{who}feature {name!r} needs windows of at least {need} samples; got windows of "
                f"{n_times} sample(s). Use longer windows (window_ms in sliding_windows) or drop "
                f"{name!r} from features."
            )


def _as_float_array(x, name):
    """Kernel input: a real array with at least one axis, as float32 or float64."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(
            f"{name}: x has dtype {x.dtype}; features need real numbers. Convert with "
            "np.asarray(x, dtype=np.float32) (take np.abs or .real of complex data first)."
        )
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    if x.ndim == 0:
        raise ValueError(f"{name}: x is a scalar; pass an array whose last axis is time.")
    _check_min_times([name], x.shape[-1], f"{name}: ")
    return x


def _kernel(name, x, *, threshold=0.0, fs=None, ssc_convention="strict"):
    x = _as_float_array(x, name)
    thresholds = _check_threshold(threshold, f"{name}: ")
    fs = _check_fs(fs, f"{name}: ")
    ssc_convention = _check_ssc_convention(ssc_convention, f"{name}: ")
    lead, n_times = x.shape[:-1], x.shape[-1]
    # 2-D and C-contiguous, so that sums run along a contiguous axis (pairwise summation)
    block = _Block(
        np.ascontiguousarray(x.reshape(-1, n_times)), thresholds, fs, None, ssc_convention
    )
    return np.asarray(_SPECS[name].func(block)).reshape(lead)


# --------------------------------------------------------------------------------------
# Public kernels
# --------------------------------------------------------------------------------------
def rms(x):
    r"""Root mean square over the last axis.

    .. math:: \mathrm{RMS} = \sqrt{\frac{1}{N}\sum_{i=1}^{N} x_i^2}

    Parameters
    ----------
    x : array-like of shape (..., n_times)
        Windows; time is the last axis.

    Returns
    -------
    ndarray of shape (...)
        In the floating dtype of ``x``.

    Examples
    --------
    >>> rms([[3.0, -3.0, 3.0, -3.0]])
    array([3.])
    """
    return _kernel("rms", x)


def var(x):
    r"""Population variance over the last axis (``ddof=0``).

    .. math:: \mathrm{VAR} = \frac{1}{N}\sum_{i=1}^{N} (x_i - \bar{x})^2

    Phinyomark et al. (2012) write ``1/(N-1) * sum(x_i**2)``, assuming a zero-mean
    signal; here the mean is removed (two-pass) and the divisor is ``N``, as in
    ``np.var``.

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> var([1.0, 2.0, 3.0, 4.0])
    array(1.25)
    """
    return _kernel("var", x)


def ssi(x):
    r"""Simple square integral (signal energy) over the last axis.

    .. math:: \mathrm{SSI} = \sum_{i=1}^{N} x_i^2

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> ssi([1.0, -2.0, 2.0])
    array(9.)
    """
    return _kernel("ssi", x)


def ent(x):
    r"""Shannon entropy (natural log) of the softmax of the window.

    With :math:`p_i = e^{x_i} / \sum_j e^{x_j}`,

    .. math:: \mathrm{ENT} = -\sum_{i=1}^{N} p_i \log p_i
              = \operatorname{logsumexp}(x) - \sum_{i=1}^{N} p_i x_i ,

    computed stably by shifting by the window maximum :math:`m`: with
    :math:`d_i = x_i - m \le 0` and :math:`S = \sum_i e^{d_i} \in [1, N]`,
    :math:`\mathrm{ENT} = \log S - \sum_i e^{d_i} d_i / S`. The result lies in
    :math:`[0, \log N]` (``log N`` for a constant window) and is clipped there
    against rounding. This is the ENT feature of LSTM-FIN (Wu et al., 2025).

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> float(ent(np.zeros(4))) == float(np.log(4))
    True
    """
    return _kernel("ent", x)


def mav(x):
    r"""Mean absolute value over the last axis.

    .. math:: \mathrm{MAV} = \frac{1}{N}\sum_{i=1}^{N} |x_i|

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> mav([1.0, -3.0])
    array(2.)
    """
    return _kernel("mav", x)


def iav(x):
    r"""Integrated absolute value (IEMG) over the last axis.

    .. math:: \mathrm{IAV} = \sum_{i=1}^{N} |x_i|

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> iav([1.0, -3.0])
    array(4.)
    """
    return _kernel("iav", x)


def wl(x):
    r"""Waveform length: cumulative absolute first difference.

    .. math:: \mathrm{WL} = \sum_{i=1}^{N-1} |x_{i+1} - x_i|

    Needs at least 2 samples.

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> wl([0.0, 2.0, -1.0])
    array(5.)
    """
    return _kernel("wl", x)


def zc(x, threshold=0.0):
    r"""Zero crossings: number of sign changes between consecutive samples.

    .. math:: \mathrm{ZC} = \sum_{i=1}^{N-1}
              \left[\, x_i x_{i+1} < 0 \;\wedge\; |x_i - x_{i+1}| \ge \mathrm{threshold} \,\right]

    This is the Hudgins et al. (1993) / Phinyomark et al. (2012) definition: a
    crossing needs a strict sign change (a sample exactly 0 breaks it: ``[1, 0,
    -1]`` has no crossing) whose step is at least ``threshold`` (in signal
    units; with ``threshold=0`` every strict sign change counts). The count is
    unchanged by ``x -> -x``. Needs at least 2 samples.

    Parameters
    ----------
    x : array-like of shape (..., n_times)
    threshold : float, default=0.0
        Smallest step ``|x_i - x_{i+1}|`` that counts, to ignore noise around 0.

    Returns
    -------
    ndarray of shape (...)
        Counts, as floats of the dtype of ``x``.

    Examples
    --------
    >>> zc([1.0, -1.0, -2.0, 0.5, 0.1])
    array(2.)
    >>> zc([1.0, -1.0, -2.0, 0.5, 0.1], threshold=2.1)
    array(1.)
    """
    return _kernel("zc", x, threshold=threshold)


def ssc(x, threshold=0.0, convention="strict"):
    r"""Slope sign changes: number of strict local extrema.

    .. math:: \mathrm{SSC} = \sum_{i=2}^{N-1}
              \left[\, p_i > 0 \;\wedge\; p_i \ge \mathrm{threshold} \,\right],
              \qquad p_i = (x_i - x_{i-1})(x_i - x_{i+1})

    Phinyomark et al. (2012), their MATLAB code and LibEMG count
    :math:`p_i \ge \mathrm{threshold}` (``convention="reference"``); with
    ``threshold=0`` that also counts every sample of a flat run (:math:`p_i = 0`),
    so a constant window would have ``N - 2`` slope changes, and on integer-valued
    (quantised) armband data, where ties are common, the counts differ markedly.
    The default ``"strict"`` adds :math:`p_i > 0`, which keeps Hudgins' meaning (a
    sample strictly above or strictly below both neighbours); the two conventions
    agree whenever ``threshold > 0``. Note that
    ``threshold`` is compared with a product of two differences, i.e. in squared
    signal units (pass a dict ``threshold={"ssc": ...}`` to
    :func:`extract_features` to set it apart from zc/wamp). Unchanged by
    ``x -> -x``. Needs at least 3 samples.

    Parameters
    ----------
    x : array-like of shape (..., n_times)
    threshold : float, default=0.0
        Smallest product :math:`p_i` that counts.
    convention : {"strict", "reference"}, default="strict"
        ``"strict"`` counts only strict extrema (Hudgins' meaning, unchanged by
        flat runs); ``"reference"`` counts :math:`p_i \ge \mathrm{threshold}`, the
        convention of LibEMG and the MATLAB code of Phinyomark et al.

    Returns
    -------
    ndarray of shape (...)
        Counts, as floats of the dtype of ``x``.

    Examples
    --------
    >>> ssc([0.0, 2.0, 1.0, 1.0, 3.0])
    array(1.)
    >>> ssc([0.0, 2.0, 1.0, 1.0, 3.0], convention="reference")
    array(3.)
    """
    return _kernel("ssc", x, threshold=threshold, ssc_convention=convention)


def wamp(x, threshold=0.0):
    r"""Willison amplitude: number of steps larger than ``threshold``.

    .. math:: \mathrm{WAMP} = \sum_{i=1}^{N-1}
              \left[\, |x_i - x_{i+1}| > \mathrm{threshold} \,\right]

    Phinyomark et al. (2012) write :math:`\ge`; the two differ only for a step
    exactly equal to the threshold, and the strict inequality keeps
    ``threshold=0`` meaningful (it counts the steps that are not flat instead of
    always returning ``N - 1``). Needs at least 2 samples.

    Parameters
    ----------
    x : array-like of shape (..., n_times)
    threshold : float, default=0.0
        Step size (signal units) that must be exceeded.

    Returns
    -------
    ndarray of shape (...)
        Counts, as floats of the dtype of ``x``.

    Examples
    --------
    >>> wamp([0.0, 0.0, 1.0, 3.0], threshold=1.0)
    array(1.)
    """
    return _kernel("wamp", x, threshold=threshold)


def dasdv(x):
    r"""Difference absolute standard deviation value.

    .. math:: \mathrm{DASDV} = \sqrt{\frac{1}{N-1}\sum_{i=1}^{N-1} (x_{i+1} - x_i)^2}

    Needs at least 2 samples.

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> dasdv([0.0, 3.0, -1.0])
    array(3.53553391)
    """
    return _kernel("dasdv", x)


def log(x):
    r"""Log detector: geometric mean of the absolute value.

    .. math:: \mathrm{LOG} = \exp\Big(\frac{1}{N}\sum_{i=1}^{N}
              \log\max(|x_i|, \varepsilon)\Big), \qquad
              \varepsilon = 10^{-10} \max_i |x_i|

    The floor :data:`LOG_FLOOR` (relative to the window's largest ``|x|``, so that the
    feature does not depend on the units) keeps a sample that is exactly 0 finite; such a
    sample pulls the feature towards 0, as the unfloored definition would. A window of
    zeros gives 0.

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> log([1.0, -4.0])
    array(2.)
    """
    return _kernel("log", x)


def mnf(x, fs=None):
    r"""Mean frequency of the power spectrum.

    .. math:: \mathrm{MNF} = \frac{\sum_{k} f_k P_k}{\sum_{k} P_k}

    :math:`P_k` is the one-sided periodogram (boxcar window) of the mean-removed
    window at :math:`f_k = k f_s / N`, :math:`k = 0 \dots \lfloor N/2 \rfloor`, the
    same as ``scipy.signal.periodogram(x, fs)`` with its default constant
    detrending (computed with one real FFT for all windows). A window with no
    power (constant) gives 0. Needs at least 2 samples.

    Parameters
    ----------
    x : array-like of shape (..., n_times)
    fs : float, optional
        Sampling rate in Hz. When None, the frequency is in cycles per sample
        (``fs=1``), between 0 and 0.5.

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> t = np.arange(100)
    >>> round(float(mnf(np.sin(2 * np.pi * 10 * t / 100), fs=100.0)), 6)
    10.0
    """
    return _kernel("mnf", x, fs=fs)


def mdf(x, fs=None):
    r"""Median frequency of the power spectrum.

    The smallest periodogram frequency :math:`f_m` whose cumulative power reaches
    half of the total:

    .. math:: \mathrm{MDF} = \min \Big\{ f_m : \sum_{k \le m} P_k \ge
              \tfrac12 \sum_k P_k \Big\}

    with :math:`P_k` as in :func:`mnf`. The result is a bin frequency (resolution
    :math:`f_s / N`, no interpolation between bins). A window with no power
    gives 0. Needs at least 2 samples.

    Parameters
    ----------
    x : array-like of shape (..., n_times)
    fs : float, optional
        Sampling rate in Hz; None gives cycles per sample.

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> t = np.arange(100)
    >>> float(mdf(np.sin(2 * np.pi * 10 * t / 100), fs=100.0))
    10.0
    """
    return _kernel("mdf", x, fs=fs)


def hjorth_mobility(x):
    r"""Hjorth mobility: spread of the derivative relative to the signal.

    .. math:: \mathrm{Mobility}(x) = \sqrt{\frac{\operatorname{var}(\Delta x)}{\operatorname{var}(x)}}

    with :math:`\Delta x_i = x_{i+1} - x_i` and population variances (as in
    Hjorth, Electroencephalogr. Clin. Neurophysiol. 29:306-310, 1970, and
    ``antropy.hjorth_params``). In radians per sample; a sinusoid of angular
    frequency :math:`\omega` gives :math:`2\sin(\omega/2) \approx \omega`. A
    constant window (zero variance) gives 0. Needs at least 2 samples.

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> round(float(hjorth_mobility([1.0, -1.0] * 8)), 2)
    2.0
    """
    return _kernel("hjorth_mobility", x)


def hjorth_complexity(x):
    r"""Hjorth complexity: mobility of the derivative over mobility of the signal.

    .. math:: \mathrm{Complexity}(x) = \frac{\mathrm{Mobility}(\Delta x)}{\mathrm{Mobility}(x)}

    About 1 for a pure sinusoid, larger for broadband signals. Any ratio with a
    zero denominator (a constant window, or a linear ramp whose derivative is
    constant) is defined as 0. Needs at least 3 samples.

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> t = np.arange(1000)
    >>> round(float(hjorth_complexity(np.sin(2 * np.pi * t / 50))), 2)
    1.0
    """
    return _kernel("hjorth_complexity", x)


def skew(x):
    r"""Skewness (biased Fisher-Pearson coefficient) over the last axis.

    .. math:: \mathrm{SKEW} = \frac{m_3}{m_2^{3/2}}, \qquad
              m_k = \frac{1}{N}\sum_{i=1}^{N} (x_i - \bar{x})^k

    Equal to ``scipy.stats.skew(x, axis=-1, bias=True)``, except that a
    (numerically) constant window, :math:`m_2 \le (\epsilon \bar{x})^2` with
    :math:`\epsilon` the machine epsilon of the dtype (scipy's own test), gives
    0 instead of NaN.

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> round(float(skew([0.0, 0.0, 0.0, 1.0])), 6)
    1.154701
    """
    return _kernel("skew", x)


def kurt(x):
    r"""Excess kurtosis (Fisher, biased) over the last axis.

    .. math:: \mathrm{KURT} = \frac{m_4}{m_2^2} - 3, \qquad
              m_k = \frac{1}{N}\sum_{i=1}^{N} (x_i - \bar{x})^k

    Equal to ``scipy.stats.kurtosis(x, axis=-1, fisher=True, bias=True)``,
    except that a (numerically) constant window gives 0 instead of NaN (same
    test as :func:`skew`). A Gaussian gives about 0, a sinusoid -1.5, a square
    wave -2.

    Parameters
    ----------
    x : array-like of shape (..., n_times)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> float(kurt([1.0, -1.0, 1.0, -1.0]))
    -2.0
    """
    return _kernel("kurt", x)


# --------------------------------------------------------------------------------------
# Window-set level
# --------------------------------------------------------------------------------------
def _coerce_windows(X, *, allow_2d, estimator=None):
    """Turn array-likes into a float window array, with sklearn-compatible errors."""
    who = _who(estimator)
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        check_windows(X, estimator=estimator)  # raises its TypeError for sparse input
    arr = _to_array(X, estimator=estimator)
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{who}X has an object dtype holding non-numeric values ({exc}). sEMG windows "
                "must be real numbers; convert with np.asarray(X, dtype=np.float32)."
            ) from exc
    if arr.dtype.kind == "c":
        raise ValueError(
            f"{who}Complex data not supported: X has dtype {arr.dtype}; sEMG windows must be real "
            "numbers. Take np.abs(X) or X.real first."
        )
    if arr.ndim == 2 and allow_2d and arr.shape[1] == 0:
        raise ValueError(
            f"{who}X has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required: "
            "2-D input is read as one-channel windows (n_windows, n_times), and these have no "
            "samples. Pass windows with at least one sample."
        )
    if arr.ndim < 2:
        expected = (
            "(n_windows, n_channels, n_times), or (n_windows, n_times) for one-channel windows"
            if allow_2d
            else "(n_windows, n_channels, n_times)"
        )
        raise ValueError(
            f"{who}X must be {expected}; got a {arr.ndim}-D array of shape {arr.shape}. "
            "Reshape your data: X.reshape(1, 1, -1) for a single one-channel window, or cut a "
            "continuous recording into windows with semgaug_sk.windows.sliding_windows."
        )
    X_out = check_windows(
        arr, allow_2d=allow_2d, dtype=(np.float64, np.float32), estimator=estimator
    )
    if allow_2d:
        warn_if_stream(arr, who)
    return X_out, arr.ndim


def _auto_chunk_size(X, dtype=None):
    itemsize = max(X.dtype.itemsize, 0 if dtype is None else np.dtype(dtype).itemsize)
    per_window = max(1, X.shape[1] * X.shape[2] * itemsize)
    return max(1, _AUTO_CHUNK_BYTES // per_window)


def _check_finite_features(estimator, X, F, names):
    """Refuse NaN or infinite features of finite windows ``X``: only an overflow of
    ``F.dtype`` makes them (ssi and var square values; skew and kurt are computed in units
    of each window's peak and do not overflow)."""
    if np.isfinite(F).all():
        return
    bad = [n for j, n in enumerate(names) if not np.isfinite(F[:, :, j]).all()]
    peak = max(float(X.max()), -float(X.min()))
    raise FloatingPointError(
        f"{_who(estimator)}feature(s) {bad} overflowed {F.dtype} on these windows (largest |x| = "
        f"{peak:.3g}). Pass dtype='float64', or rescale X (e.g. to millivolts)."
    )


def _extract(X, names, thresholds, fs, chunk_size, ssc_convention="strict", dtype=None):
    """Features of validated 3-D windows, chunk by chunk, computed in ``dtype`` (X's if
    None): each chunk is cast on its own, so memory stays bounded by the chunk."""
    n_windows, n_channels, _ = X.shape
    dtype = X.dtype if dtype is None else np.dtype(dtype)
    out = np.empty((n_windows, n_channels, len(names)), dtype=dtype)
    step = _auto_chunk_size(X, dtype) if chunk_size is None else chunk_size
    funcs = [_SPECS[name].func for name in names]
    workspace = _Workspace()
    for start in range(0, n_windows, step):
        stop = min(start + step, n_windows)
        block = _Block(
            np.ascontiguousarray(X[start:stop], dtype=dtype),
            thresholds,
            fs,
            workspace,
            ssc_convention,
        )
        for j, func in enumerate(funcs):
            out[start:stop, :, j] = func(block)
    return out


def _check_chunk_size(chunk_size, who=""):
    if chunk_size is None:
        return None
    try:
        return check_positive_int(chunk_size, "chunk_size")
    except ValueError as exc:
        raise ValueError(
            f"{who}{exc} Pass None to choose it automatically, or a number of windows per chunk."
        ) from None


def extract_features(
    X,
    features=("rms", "var", "ssi", "ent"),
    *,
    threshold=0.0,
    fs=None,
    chunk_size=None,
    ssc_convention="strict",
):
    """Compute features for every window and channel of a window set.

    Parameters
    ----------
    X : array-like of shape (n_windows, n_channels, n_times)
        Windows. float32 and float64 are kept; other real dtypes are computed in
        float64.
    features : str or iterable of str, default=("rms", "var", "ssi", "ent")
        Feature names and/or group names, resolved with :func:`resolve_features`
        (e.g. ``"hudgins"``, ``"td"``, ``"all"``, ``["rms", "mnf"]``).
    threshold : float or dict, default=0.0
        Threshold of ``zc`` and ``wamp`` (signal units) and ``ssc`` (squared
        units); see those kernels for the exact inequalities. A dict such as
        ``{"zc": 0.01, "ssc": 1e-4}`` sets them separately (missing ones are 0).
    fs : float, optional
        Sampling rate in Hz for ``mnf``/``mdf``; None gives cycles per sample.
    chunk_size : int, optional
        Windows per chunk. Intermediates are computed one chunk at a time, so
        memory beyond the input and the output stays under about ten chunks'
        worth (for ``"all"``; fewer for smaller sets). None picks chunks of about
        1 MiB of input, which keeps the intermediates in the CPU cache. The
        result does not depend on the chunking: every value is computed from its
        own window only, with the same operations in the same order.
    ssc_convention : {"strict", "reference"}, default="strict"
        How ``ssc`` treats flat runs at ``threshold=0``; see :func:`ssc`.
        ``"reference"`` reproduces LibEMG and Phinyomark et al.

    Returns
    -------
    F : ndarray of shape (n_windows, n_channels, n_features)
        ``F[:, c, j]`` is feature ``j`` of channel ``c``, in the dtype of ``X``.

    Raises
    ------
    ValueError
        For NaN/inf, a wrong ndim, empty input, a complex or non-numeric dtype,
        windows shorter than a feature needs (the message names the feature and
        its minimum length, see :data:`FEATURE_MIN_TIMES`), an unknown feature, a
        negative threshold or ``fs <= 0``.

    Notes
    -----
    Intermediates are shared between the requested features (``x**2`` sums,
    the centred window, ``diff(x)``, ``|diff(x)|``, the power spectrum), so
    asking for several features costs less than calling the kernels one by one.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(5, 2, 50)).astype(np.float32)
    >>> F = extract_features(X, "hudgins")
    >>> F.shape, F.dtype
    ((5, 2, 4), dtype('float32'))
    """
    names = resolve_features(features)
    thresholds = _check_threshold(threshold)
    fs = _check_fs(fs)
    chunk_size = _check_chunk_size(chunk_size)
    ssc_convention = _check_ssc_convention(ssc_convention)
    X, _ = _coerce_windows(X, allow_2d=False)
    _check_min_times(names, X.shape[2])
    return _extract(X, names, thresholds, fs, chunk_size, ssc_convention)


# --------------------------------------------------------------------------------------
# Estimator
# --------------------------------------------------------------------------------------
class ConstantFeatureWarning(UserWarning):
    """A feature column of :class:`EMGFeatures` is constant on the windows it was fitted on.

    :class:`~semgaug_sk.imitation.FeatureImitator` (and so ``FINClassifier``) warns
    the same way about a feature constant over every window and channel it trains on.

    Such a column carries no information, and a downstream model that standardises
    its inputs or inverts their covariance (LDA, QDA) is fed a zero-variance
    column. Silence it with ``warnings.filterwarnings("ignore",
    category=ConstantFeatureWarning)``.
    """


def _channel_list(channels):
    """``[0, 1, 2, 5]`` -> ``"channels 0-2, 5"``."""
    runs, start = [], channels[0]
    for prev, cur in zip(channels, list(channels[1:]) + [None], strict=True):
        if cur != prev + 1:
            runs.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = cur
    return f"channel{'s' if len(channels) > 1 else ''} {', '.join(runs)}"


def _constant_feature_hint(name, X, channels, thresholds):
    """Why feature ``name`` can be constant on ``channels`` of ``X``, and what to do."""
    if name == "zc" and all(X[:, c, :].min() >= 0 for c in channels):
        return (
            "zc counts sign changes, so it is always 0 on a rectified or non-negative signal "
            "(an envelope, such as NinaPro DB1's); drop zc from features (e.g. "
            "features=('mav', 'wl', 'ssc')) or remove the offset first"
        )
    if name == "wamp" and thresholds[name] == 0:
        return (
            "with threshold 0, wamp counts every non-zero difference, so it is n_times - 1 "
            "on a continuous signal; set a threshold (e.g. threshold={'wamp': ...})"
        )
    if name in THRESHOLD_FEATURES and thresholds[name] > 0:
        return f"threshold {thresholds[name]:g} may exceed every change of the signal; lower it"
    return "drop the feature, or check the signal"


def _warn_constant_columns(estimator, X, F, names, thresholds, stacklevel):
    """Warn (:class:`ConstantFeatureWarning`) about feature columns constant over the windows."""
    if len(F) < 2:
        return
    constant = (F == F[:1]).all(axis=0)  # (n_channels, n_features)
    if not constant.any():
        return
    flat = [c for c in range(X.shape[1]) if constant[c].all() and np.ptp(X[:, c, :]) == 0]
    parts = []
    if flat:
        parts.append(
            f"{_channel_list(flat)} {'is' if len(flat) == 1 else 'are'} flat in every window "
            "(a disconnected or saturated electrode?): every feature of "
            f"{'it' if len(flat) == 1 else 'them'} is constant"
        )
    for j, name in enumerate(names):
        channels = [c for c in np.flatnonzero(constant[:, j]).tolist() if c not in flat]
        if channels:
            values = np.unique(F[0, channels, j])
            value = f"always {values[0]:g}" if len(values) == 1 else "constant per channel"
            hint = _constant_feature_hint(name, X, channels, thresholds)
            parts.append(f"{name!r} on {_channel_list(channels)} ({value}): {hint}")
    warnings.warn(
        f"{_who(estimator)}{int(constant.sum())} feature column(s) are constant on the "
        f"{len(F)} windows seen at fit and carry no information. " + "; ".join(parts) + ".",
        ConstantFeatureWarning,
        stacklevel=stacklevel,
    )


def _warn_ent_uninformative(estimator, X, names, stacklevel, dtype=None, float64_advice=None):
    """Warn when ``ent`` of these windows carries little information, at either end of
    the amplitude scale (``ent`` is the entropy of each window's softmax, so it depends on
    the data's units).

    - Tiny amplitudes in float32: ``ent = log(n) - deficit``, and the deficit shrinks
      with the square of the amplitude (about ``var(x) / 2`` for small ``x``): at
      volt-scale amplitudes it falls far below float32's spacing at ``log(n)``.
    - Large amplitudes (e.g. raw ADC counts): the largest sample of a window takes
      nearly all of its softmax, so ``ent`` is close to its floor of 0 on every window
      (about 1e-58 at an RMS of 1e4), and an R² against it divides by a spread of that
      size.

    ``ent`` is checked in float64 on at most 256 windows.
    """
    if "ent" not in names:
        return
    sample = X[:: max(1, len(X) // 256)].astype(np.float64)
    log_n = np.log(X.shape[2])
    ent = _extract(sample, ("ent",), {}, None, None, "strict")[..., 0]
    typical_ent = float(np.median(ent))
    if typical_ent < 0.01 * log_n:
        rms = float(np.sqrt(np.mean(np.square(sample))))
        warnings.warn(
            f"{_who(estimator)}'ent' of these windows is typically {typical_ent:.2g}, within 1% "
            f"of its floor of 0 (its ceiling is log(n) = {log_n:.3g}): at these amplitudes "
            f"(RMS {rms:.3g}) the largest sample of each window takes nearly all of its "
            "softmax, so ent is about 0 on every window and carries little information. ent "
            "depends on the data's units: scale the windows to units where their RMS is "
            "about 1 (e.g. X / X.std()), or leave ent out of the features.",
            UserWarning,
            stacklevel=stacklevel,
        )
        return
    if (X.dtype if dtype is None else np.dtype(dtype)) != np.float32:
        return  # computed in float64
    spacing = float(np.spacing(np.float32(log_n)))
    typical = float(np.median(log_n - ent))
    if typical < 100 * spacing:  # under ~1 % resolution
        warnings.warn(
            f"{_who(estimator)}'ent' computed in float32 is log(n) minus a deficit of "
            f"typically {typical:.2g}, within {typical / spacing:.0f} float32 steps "
            f"({spacing:.2g}) of log(n): the column holds little more than rounding. The "
            "deficit shrinks with the square of the amplitude (volts, small units); "
            + (
                float64_advice
                or "pass dtype='float64' (computed chunk by chunk, without a copy of the windows)"
            )
            + ", or scale the windows to larger units.",
            UserWarning,
            stacklevel=stacklevel,
        )


class EMGFeatures(TransformerMixin, BaseEstimator):
    """Classical sEMG features of every channel, as a scikit-learn transformer.

    A stateless transformer: the features of a window depend on that window
    only. ``transform`` works without ``fit``; ``fit`` validates the parameters
    and records the window shape, which ``transform`` then enforces (feature
    values such as ``ssi``, ``iav``, ``wl`` and ``zc`` scale with the window
    length, so a model trained on one length is fed consistent features).
    ``fit`` also warns (:class:`ConstantFeatureWarning`) about a feature column
    that is constant on its windows, such as ``zc`` on a rectified envelope.

    Parameters
    ----------
    features : str or iterable of str, default=("rms", "var", "ssi", "ent")
        Feature and/or group names (``"fin"``, ``"hudgins"``, ``"td"``,
        ``"all"``); see :func:`resolve_features` and :data:`FEATURE_NAMES`.
    threshold : float or dict, default=0.0
        Threshold of ``zc``, ``ssc`` and ``wamp``; a dict sets them separately.
        See :func:`extract_features`.
    fs : float, optional
        Sampling rate in Hz for ``mnf``/``mdf``; None gives cycles per sample.
    chunk_size : int, optional
        Windows per chunk (bounds memory; the result does not depend on it).
    ssc_convention : {"strict", "reference"}, default="strict"
        ``"strict"`` counts only strict extrema, so flat runs of quantised
        signals add nothing; ``"reference"`` matches LibEMG and Phinyomark et al.
        See :func:`ssc`.
    dtype : None, "float32" or "float64", default=None
        The features' dtype, in which they are computed. None follows the windows:
        float32 windows give float32 features, other real windows float64.
        ``"float64"`` computes float32 windows' features in float64 one chunk at a
        time (no float64 copy of the windows): ``ent`` of windows in small units
        (volts) keeps its information there, where float32 rounds it to
        ``log(n_times)``. numpy dtypes are taken too, but only a string saves with
        :func:`~semgaug_sk.persistence.save_weights`.

    Attributes
    ----------
    feature_names_ : tuple of str
        The resolved feature names.
    n_channels_ : int
        Channels per window seen at fit.
    n_times_ : int
        Samples per window seen at fit.
    n_features_in_ : int
        Raw values per window seen at fit, ``n_channels_ * n_times_`` (for 2-D
        input ``(n_windows, n_times)``, read as one-channel windows, this is the
        number of columns, as scikit-learn expects).
    feature_names_in_ : ndarray of str
        Column names, only when fitted on a 2-D dataframe.

    See Also
    --------
    extract_features : The same computation as a function, returning 3-D output.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(10, 3, 100)).astype(np.float32)
    >>> est = EMGFeatures(features="hudgins").fit(X)
    >>> Z = est.transform(X)
    >>> Z.shape, Z.dtype
    ((10, 12), dtype('float32'))
    >>> est.get_feature_names_out()[:5].tolist()
    ['ch0_mav', 'ch0_wl', 'ch0_zc', 'ch0_ssc', 'ch1_mav']
    """

    def __init__(
        self,
        features=("rms", "var", "ssi", "ent"),
        threshold=0.0,
        fs=None,
        chunk_size=None,
        ssc_convention="strict",
        dtype=None,
    ):
        self.features = features
        self.threshold = threshold
        self.fs = fs
        self.chunk_size = chunk_size
        self.ssc_convention = ssc_convention
        self.dtype = dtype

    def _check_params(self):
        who = _who(self)
        try:
            names = resolve_features(self.features)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{who}{exc}") from None
        thresholds = _check_threshold(self.threshold, who)
        fs = _check_fs(self.fs, who)
        chunk_size = _check_chunk_size(self.chunk_size, who)
        ssc_convention = _check_ssc_convention(self.ssc_convention, who)
        dtype = _check_dtype(self.dtype, who)
        return names, thresholds, fs, chunk_size, ssc_convention, dtype

    def _validate(self, X, names, *, reset):
        who = _who(self)
        X_in = X
        X, ndim_in = _coerce_windows(X, allow_2d=True, estimator=self)
        n_channels, n_times = X.shape[1], X.shape[2]
        if not reset and hasattr(self, "n_channels_"):
            if n_channels != self.n_channels_:
                raise ValueError(
                    f"{who}X has windows with {n_channels} channel(s), but EMGFeatures was fitted "
                    f"on {self.n_channels_} channel(s). Pass windows with the same channels, or "
                    "refit."
                )
            if n_times != self.n_times_:
                raise ValueError(
                    f"{who}X has {n_channels * n_times} features, but EMGFeatures is expecting "
                    f"{self.n_features_in_} features as input: windows of {n_times} sample(s) "
                    f"per channel, but {self.n_times_} at fit. Features such as ssi, iav, wl and "
                    "zc scale with the window length; use the window length seen at fit, or refit."
                )
        _check_min_times(names, n_times, who)
        if ndim_in == 2:
            # Feature names (dataframe columns) and n_features_in_ the scikit-learn way;
            # the shape itself has been checked above.
            validate_data(self, X_in, skip_check_array=True, reset=reset)
        elif reset:
            self.n_features_in_ = n_channels * n_times
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        return X

    def fit(self, X, y=None):
        """Validate the parameters, record the window shape and check the features.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times) or (n_windows, n_times)
            Windows; 2-D input is read as one-channel windows.
        y : None
            Ignored.

        Returns
        -------
        self : EMGFeatures

        Warns
        -----
        ConstantFeatureWarning
            When a feature column is constant over the windows (at least 2), naming
            the feature and the channels, with a likely cause (e.g. ``zc`` on a
            rectified signal, a flat channel).
        UserWarning
            When ``ent`` carries little information at these amplitudes: about 0 on
            every window (large units such as raw ADC counts: scale the windows), or
            ``ent`` computed in float32 on windows in small units, within rounding
            of ``log(n_times)`` (pass ``dtype="float64"``).
        """
        self._fit(X, stacklevel=4)  # warn at the caller of fit
        return self

    def fit_transform(self, X, y=None):
        """Fit, then compute the features of ``X`` (computed once).

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times) or (n_windows, n_times)
            Windows; 2-D input is read as one-channel windows.
        y : None
            Ignored.

        Returns
        -------
        Z : ndarray of shape (n_windows, n_channels * n_features)
            As :meth:`transform`.

        Warns
        -----
        ConstantFeatureWarning, UserWarning
            As :meth:`fit`.
        """
        # scikit-learn wraps fit_transform for set_output: one frame more to the caller
        F = self._fit(X, stacklevel=5)
        return F.reshape(F.shape[0], -1)

    def _fit(self, X, *, stacklevel):
        names, thresholds, fs, chunk_size, ssc_convention, dtype = self._check_params()
        # validation resets n_features_in_ and the column names before the features are
        # checked: a fit that fails leaves the transformer as it was
        # (and a warning turned into an error fails it too)
        with restore_on_failure(self):
            X = self._validate(X, names, reset=True)
            F = _extract(X, names, thresholds, fs, chunk_size, ssc_convention, dtype)
            _check_finite_features(self, X, F, names)
            _warn_constant_columns(self, X, F, names, thresholds, stacklevel)
            _warn_ent_uninformative(self, X, names, stacklevel, F.dtype)
            self.feature_names_ = names
            self.n_channels_ = X.shape[1]
            self.n_times_ = X.shape[2]
        return F

    def transform(self, X):
        """Compute the features of every window and channel.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times) or (n_windows, n_times)
            Windows; 2-D input is read as one-channel windows. After ``fit`` the
            channel count and window length must match those seen at fit.

        Returns
        -------
        Z : ndarray of shape (n_windows, n_channels * n_features)
            Channel-major: column ``c * n_features + j`` is feature ``j`` of
            channel ``c`` (see :meth:`get_feature_names_out`). In ``dtype``; by
            default float32 input gives float32 output, other real input float64.
        """
        names, thresholds, fs, chunk_size, ssc_convention, dtype = self._check_params()
        fitted = getattr(self, "feature_names_", None)
        if fitted is None and _get_output_config("transform", self)["dense"] != "default":
            # scikit-learn < 1.9 swallows get_feature_names_out's error and names the
            # columns 0, 1, ...; refuse here, whatever the version
            self.get_feature_names_out()
        if fitted is not None and names != fitted:
            raise ValueError(
                f"{_who(self)}features is {list(names)} but the estimator was fitted with "
                f"{list(fitted)}, which its output names follow; refit after set_params."
            )
        X = self._validate(X, names, reset=False)
        F = _extract(X, names, thresholds, fs, chunk_size, ssc_convention, dtype)
        _check_finite_features(self, X, F, names)
        return F.reshape(F.shape[0], -1)

    def get_feature_names_out(self, input_features=None):
        """Output column names ``ch{c}_{feature}``, channel-major.

        Parameters
        ----------
        input_features : array-like of str, optional
            Only checked for consistency with the input seen at fit (its length
            must be ``n_features_in_``); output names do not depend on it.

        Returns
        -------
        names : ndarray of str, shape (n_channels_ * n_features,)
        """
        check_is_fitted(
            self,
            "n_channels_",
            msg=(
                "This %(name)s instance is not fitted yet. Its features need no fit, but naming "
                "its output columns (get_feature_names_out, set_output(transform='pandas')) "
                "needs the channel count: call fit or fit_transform on the windows first."
            ),
        )
        check_input_features(self, input_features)
        return np.asarray(
            [f"ch{c}_{name}" for c in range(self.n_channels_) for name in self.feature_names_],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = False
        try:
            fixed = _check_dtype(self.dtype)
        except ValueError:  # refused at fit, with its message
            fixed = None
        tags.transformer_tags.preserves_dtype = (
            ["float64", "float32"] if fixed is None else [fixed.name]
        )
        return tags
