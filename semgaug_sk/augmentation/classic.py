"""Classic augmentation (jitter, scaling, magnitude and time warping) as a window sampler."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ..utils.chunked import row_blocks
from ..utils.validation import check_random_state_seed, check_windows_labels, warn_dc_offset
from . import functional as F
from .base import BaseWindowSampler
from .quantization import QUANTIZE_CONSTRAINT

__all__ = ["ClassicAugmenter", "CLASSIC_METHODS"]

#: The available methods, in the order they are applied to a window.
CLASSIC_METHODS = ("time_warp", "magnitude_warp", "scaling", "jitter")


class ClassicAugmenter(BaseWindowSampler):
    """Classic sEMG augmentation with imbalanced-learn's sampler interface.

    Each synthetic window is a real window of the same class, drawn uniformly
    at random (with replacement), transformed by the selected methods of
    :mod:`semgaug_sk.augmentation.functional`. Whatever their order in
    ``methods``, they are applied in the fixed order
    ``time_warp -> magnitude_warp -> scaling -> jitter``: first the shape of
    the signal in time, then its amplitude, then additive noise (so the noise
    is not itself warped or scaled; with ``jitter_scale="window"`` its std follows
    the window's amplitude as it stands then, gain included). It is the classic baseline of the
    SASG-DA comparisons.

    ``fit_resample`` returns the real windows first and unchanged, followed by
    the synthetic ones; ``generate`` makes synthetic windows only. A single
    class is accepted: these transforms do not need other classes.

    Parameters
    ----------
    methods : str or sequence of str, default=("jitter", "scaling", "magnitude_warp", "time_warp")
        Methods to use, among ``"jitter"``, ``"scaling"``, ``"magnitude_warp"``
        and ``"time_warp"`` (each at most once).
    ratio : float, default=2.0
        Synthetic windows per real window of each class (2 synthetic : 1 real,
        as in SASG-DA).
    sampling_strategy : None, str, dict or callable, default=None
        imbalanced-learn's over-sampling strategy (e.g. ``"auto"`` to balance
        the classes); overrides ``ratio`` when given.
    jitter_sigma : float, default=0.05
        Jitter noise std relative to the reference std (Um et al. 2017: 0.05).
    jitter_scale : {"window", "class"}, default="window"
        Reference std of the jitter noise, per channel: that of the window itself
        as it stands when the noise is added (after the warps and the gain, so the
        noise keeps its ratio to the window's amplitude), or the typical
        within-window std of its class (``class_std_``, not scaled by the gain).
        Never the global channel std, which swamps low-amplitude classes.
    scaling_sigma : float, default=0.1
        Std of the per-window, per-channel gains (Um et al. 2017: 0.1). Gains (and
        magnitude warps) multiply the signal about 0, which is right for raw EMG and
        for envelopes; remove a recording's DC offset first (e.g. unsigned ADC codes
        centred on 2048), or the offset is scaled too.
    warp_sigma : float, default=0.2
        Std of the spline knots of magnitude and time warping (Um et al.
        2017: 0.2 for both).
    n_knots : int, default=0
        Interior knots of the warping splines. With 0 each warp is a straight line
        across the window: a gain (magnitude warp) or a speed (time warp) that drifts
        from one end to the other. Um et al. (2017) use 4, on windows of seconds; on
        sEMG windows of a few hundred ms, 4 knots change the gain every few tens of
        ms, which adds waveform length to smooth envelopes (+1.0 within-class sd on
        NinaPro DB1) and moves the class means that LDA fits. 0 was chosen on inner
        splits of the training data by ``benchmarks/ablate_warp_knots.py``
        (downstream accuracy unchanged within the spread; see ``results/README.md``). On the
        time-cut inner split the same rule would keep 4 (-0.9 points on average,
        inside the seed spread): the choice rests on the features, not on accuracy.
    time_warp_interpolation : {"lanczos", "linear"}, default="lanczos"
        How time warping reads a window at its warped positions (see
        :func:`~semgaug_sk.augmentation.functional.time_warp`). The band-limited
        Lanczos read keeps the amplitude of raw sEMG sampled at a low rate;
        ``"linear"`` (the earlier default) loses about a fifth of the RMS of
        200 Hz Myo windows.
    methods_per_window : "all" or int, default="all"
        Apply every method to every synthetic window, or a random subset of
        this many methods per window (still in the fixed order).
    nonnegative : "auto" or bool, default="auto"
        Clip synthetic windows at 0. ``"auto"`` clips when every training
        window is non-negative (an envelope such as NinaPro DB1).
    quantize : "auto", float or None, default="auto"
        Put the synthetic windows on the amplitude grid of the real ones. Real
        recordings are digitised (e.g. 8-bit Myo codes, steps of 2.5 V / 1024 in
        NinaPro DB1), so quiet channels have runs of equal samples; continuous
        synthetic values have none, which inflates zero-threshold counts such as
        ``ssc`` and ``zc``. ``"auto"`` detects the grid at fit
        (:func:`~semgaug_sk.augmentation.quantization.detect_quantization`) and
        does nothing on continuous data (windows given with an integer dtype
        stay on the integers at least); a number is the step of a grid through
        0; None keeps synthetic values continuous. Rounding moves a value by at
        most half a step.
    generate_batch_size : int, default=4096
        Synthetic windows transformed at once. Each block is written straight
        into the returned array, so memory beyond the result is a small
        multiple of this many windows (the transforms' temporaries: about 8x
        measured), not of the number generated. The output depends on
        it (the random draws are made block by block).
    random_state : int, RandomState instance or None, default=None
        Seed of the source-window draws and of the transforms. With an int
        (and the same ``generate_batch_size``), ``fit_resample`` returns
        identical output on every call.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Classes seen at fit.
    sampling_strategy_ : OrderedDict
        Synthetic windows per class made by ``fit_resample``.
    methods_ : tuple of str
        The methods used, in application order.
    class_std_ : ndarray of shape (n_classes, n_channels)
        Per class and channel, the root mean within-window variance of the
        training windows (the ``jitter_scale="class"`` reference).
    nonnegative_ : bool
        Whether synthetic windows are clipped at 0.
    n_windows_fit_, n_channels_, n_times_ : int
        Shape of the training windows.
    n_features_in_ : int
        ``n_channels_ * n_times_``, as scikit-learn counts a window's values.
    dtype_ : numpy.dtype
        Float dtype of the validated training windows (integer codes are read as
        float32); synthetic windows are made in it.
    quantization_ : tuple of float or None
        ``(offset, step)`` of the amplitude grid synthetic windows are rounded to
        (see ``quantize``), or None.
    quantization_levels_ : ndarray or None
        The grid values the training windows use, when ``quantize="auto"`` found a grid.
    generator_fitted_ : bool
        Whether the last fit trained the generator (``fit_resample`` with nothing to
        generate does not); ``generate`` needs it.
    integer_range_ : tuple of int or None
        ``(lowest, highest)`` of the integer dtype the training windows were given in
        (ADC codes); synthetic windows are clipped to it, as the device saturates and a
        cast back to that dtype must not wrap round. None for float windows.
    last_sources_ : ndarray of int
        For each window of the last generation, the index of the training window it
        was made from. ``fit_resample`` records them, so that the library's networks
        never validate on a window whose augmented copies they train on.

    See Also
    --------
    SASGAugmenter : diffusion-based augmentation with the same interface.

    References
    ----------
    T. T. Um et al., "Data augmentation of wearable sensor data for Parkinson's
    disease monitoring using convolutional neural networks", ICMI 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from semgaug_sk.augmentation import ClassicAugmenter
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(6, 2, 40)).astype(np.float32)
    >>> y = np.array(["fist", "fist", "fist", "open", "open", "open"])
    >>> X_res, y_res = ClassicAugmenter(random_state=0).fit_resample(X, y)
    >>> X_res.shape, bool(np.array_equal(X_res[:6], X)), y_res[6:9].tolist()
    ((18, 2, 40), True, ['fist', 'fist', 'fist'])
    """

    _decided_at_fit = ("quantize", "nonnegative")
    _generation_streams = ("_rng",)
    _parameter_constraints: dict = {
        **BaseWindowSampler._parameter_constraints,
        "methods": [str, list, tuple],
        "jitter_sigma": [Interval(numbers.Real, 0, None, closed="left")],
        "jitter_scale": [StrOptions({"window", "class"})],
        "scaling_sigma": [Interval(numbers.Real, 0, None, closed="left")],
        "warp_sigma": [Interval(numbers.Real, 0, None, closed="left")],
        "n_knots": [Interval(numbers.Integral, 0, None, closed="left")],
        "time_warp_interpolation": [StrOptions({"lanczos", "linear"})],
        "methods_per_window": [
            StrOptions({"all"}),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "nonnegative": ["boolean", StrOptions({"auto"})],
        "quantize": QUANTIZE_CONSTRAINT,
        "generate_batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        methods=("jitter", "scaling", "magnitude_warp", "time_warp"),
        *,
        ratio=2.0,
        sampling_strategy=None,
        jitter_sigma=0.05,
        jitter_scale="window",
        scaling_sigma=0.1,
        warp_sigma=0.2,
        n_knots=0,
        time_warp_interpolation="lanczos",
        methods_per_window="all",
        nonnegative="auto",
        quantize="auto",
        generate_batch_size=4096,
        random_state=None,
    ):
        super().__init__(
            ratio=ratio, sampling_strategy=sampling_strategy, random_state=random_state
        )
        self.methods = methods
        self.jitter_sigma = jitter_sigma
        self.jitter_scale = jitter_scale
        self.scaling_sigma = scaling_sigma
        self.warp_sigma = warp_sigma
        self.n_knots = n_knots
        self.time_warp_interpolation = time_warp_interpolation
        self.methods_per_window = methods_per_window
        self.nonnegative = nonnegative
        self.generate_batch_size = generate_batch_size
        self.quantize = quantize

    def _check_methods(self):
        methods = (self.methods,) if isinstance(self.methods, str) else tuple(self.methods)
        name = type(self).__name__
        valid = ", ".join(repr(m) for m in CLASSIC_METHODS)
        if not methods:
            raise ValueError(f"{name}: methods is empty; choose at least one of {valid}.")
        unknown = [m for m in methods if m not in CLASSIC_METHODS]
        if unknown:
            raise ValueError(f"{name}: unknown method(s) {unknown!r}; valid methods are {valid}.")
        if len(set(methods)) != len(methods):
            raise ValueError(
                f"{name}: methods {list(methods)!r} lists a method twice; give each at most once."
            )
        if self.methods_per_window != "all" and self.methods_per_window > len(methods):
            raise ValueError(
                f"{name}: methods_per_window={self.methods_per_window} exceeds the "
                f"{len(methods)} method(s) given; lower it or add methods."
            )
        return tuple(m for m in CLASSIC_METHODS if m in methods)

    def _check_settings(self, X):
        self._check_methods()

    def _fit(self, X, y):
        self.methods_ = self._check_methods()
        if {"scaling", "magnitude_warp"} & set(self.methods_):
            # these scale the offset with the signal; jitter and time warp leave it alone
            warn_dc_offset(X, type(self).__name__)
        # a copy: windows the caller changes after fit must not change what is generated
        self._X_fit = np.array(X, copy=True)
        self._class_pos = {c: i for i, c in enumerate(self.classes_.tolist())}
        codes = np.unique(y, return_inverse=True)[1].ravel()  # indices into classes_
        self._members = [np.flatnonzero(codes == i) for i in range(len(self.classes_))]
        window_var = np.empty(X.shape[:2])  # (n_windows, n_channels), float64 by blocks
        for rows in row_blocks(len(X), X.shape[1] * X.shape[2]):
            window_var[rows] = X[rows].astype(np.float64).var(axis=2)
        self.class_std_ = np.stack(
            [np.sqrt(window_var[m].mean(axis=0)) for m in self._members]
        ).astype(X.dtype)
        if self.nonnegative == "auto":
            self.nonnegative_ = bool(X.min() >= 0)
        else:
            self.nonnegative_ = bool(self.nonnegative)
        self._rng = np.random.default_rng(check_random_state_seed(self.random_state))
        return self

    def _non_finite_hint(self):
        if getattr(self, "class_std_", np.float32(0)).dtype == np.float64:  # X's dtype
            return (
                ": the transforms overflowed float64 (squares of values above ~1.3e154 "
                "overflow). Rescale X, e.g. to volts or millivolts."
            )
        return (
            ": the transforms overflowed the windows' dtype (float32 holds up to ~3.4e38, "
            "and squares of values above ~1.8e19 overflow). Rescale X, or pass it as float64."
        )

    def _check_generation_settings(self):
        """Parameters read at generation, checked again: ``set_params`` may follow fit."""
        self._validate_params()
        if self._check_methods() != self.methods_:
            raise ValueError(
                f"{type(self).__name__}: methods changed since fit ({list(self.methods_)!r} "
                "were fitted); fit again to use the new ones."
            )
        self._check_decided_at_fit()

    def _generate(self, counts, out=None):
        self._check_generation_settings()
        rng = self._rng
        sources, codes = [], []
        for c, n in counts.items():
            i = self._class_pos[c]
            members = self._members[i]
            sources.append(members[rng.integers(0, len(members), size=n)])
            codes.append(np.full(n, i, dtype=np.intp))
        sources, codes = np.concatenate(sources), np.concatenate(codes)
        self.last_sources_ = sources
        n_total = len(sources)
        chosen = self._choose_methods(n_total, rng)
        if out is None:
            out = np.empty((n_total, *self._X_fit.shape[1:]), dtype=self._X_fit.dtype)
        batch = int(self.generate_batch_size)
        for start in range(0, n_total, batch):
            block = slice(start, start + batch)
            out[block] = self._transform_block(
                self._X_fit[sources[block]], codes[block], chosen[block], rng
            )
        return out[:n_total], self.classes_[codes]

    def _choose_methods(self, n, rng):
        """``(n, n_methods)`` mask of the methods applied to each of ``n`` windows."""
        n_methods = len(self.methods_)
        if self.methods_per_window == "all":
            return np.ones((n, n_methods), dtype=bool)
        order = np.argsort(rng.random((n, n_methods)), axis=1)
        chosen = np.zeros((n, n_methods), dtype=bool)
        np.put_along_axis(chosen, order[:, : self.methods_per_window], True, axis=1)
        return chosen

    def augment(self, X, y, *, out=None):
        """Transformed copies of given windows, e.g. another sampler's synthetic ones.

        The fitted methods are applied as in ``generate`` (``jitter_scale="class"``
        uses the class of each window from ``y``), and the result goes on the grid of
        ``quantize``; ``X`` itself is not changed (unless it is ``out``). This is
        how :class:`~semgaug_sk.augmentation.ComposedAugmenter` applies classic
        transforms to diffusion samples.

        Parameters
        ----------
        X : array-like of shape (n_windows, n_channels, n_times)
            Windows of the shape seen at fit.
        y : array-like of shape (n_windows,)
            Their labels, among the classes seen at fit.
        out : ndarray of shape (n_windows, n_channels, n_times), optional
            Receives the result, in the fitted dtype; it may be ``X`` itself, which
            is then augmented in place (no copy of the windows is made). ``X`` is
            not changed otherwise.

        Returns
        -------
        X_aug : ndarray of shape (n_windows, n_channels, n_times)
            ``out`` when given.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(4, 2, 30)).astype(np.float32)
        >>> aug = ClassicAugmenter(random_state=0).fit(X, [0, 0, 1, 1])
        >>> out = aug.augment(X[:2], [0, 1])
        >>> out.shape, bool(np.array_equal(out, X[:2]))
        ((2, 2, 30), False)
        """
        self._check_generator_fitted("augment")
        self._check_generation_settings()
        X, y = check_windows_labels(X, y, min_classes=1, estimator=self)
        if X.shape[1:] != (self.n_channels_, self.n_times_):
            raise ValueError(
                f"{type(self).__name__}.augment: X has windows of shape {X.shape[1:]}, but the "
                f"augmenter was fitted on ({self.n_channels_}, {self.n_times_}). Pass windows of "
                "the same channels and length."
            )
        labels = np.unique(y)
        unknown = [c for c in labels.tolist() if c not in self._class_pos]
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.augment: classes {unknown!r} were not seen at fit; "
                f"choose among {self.classes_.tolist()!r}."
            )
        lookup = np.array([self._class_pos[c] for c in labels.tolist()], dtype=np.intp)
        codes = lookup[np.unique(y, return_inverse=True)[1].ravel()]
        if out is None:
            out = np.array(X, dtype=self.dtype_, copy=True)
        else:
            if not isinstance(out, np.ndarray) or out.shape != X.shape or out.dtype != self.dtype_:
                raise ValueError(
                    f"{type(self).__name__}.augment: out must be an array of X's shape "
                    f"{X.shape} and the fitted dtype {np.dtype(self.dtype_)}; got "
                    f"{getattr(out, 'shape', None)} {getattr(out, 'dtype', type(out).__name__)}."
                )
            if not (out is X or _same_memory(out, X)):
                # a copy first when they overlap without being the same windows
                out[...] = np.array(X, copy=True) if np.shares_memory(out, X) else X
        chosen = self._choose_methods(len(out), self._rng)
        batch = int(self.generate_batch_size)
        for start in range(0, len(out), batch):
            block = slice(start, start + batch)
            out[block] = self._transform_block(out[block], codes[block], chosen[block], self._rng)
        out = self._to_grid(out)
        self._refuse_non_finite(out, f"{type(self).__name__}.augment: ", "augmented")
        return out

    def _transform_block(self, X, codes, chosen, rng):
        """Apply the chosen methods (columns of ``chosen``) to a block of source windows."""
        for j, method in enumerate(self.methods_):
            rows = chosen[:, j]
            if rows.all():  # in place, without a fancy-indexed copy
                X[:] = self._apply(method, X, codes, rng)
            elif rows.any():
                X[rows] = self._apply(method, X[rows], codes[rows], rng)
        return X

    def _apply(self, method, X, codes, rng):
        clip = self.nonnegative_
        if method == "jitter":
            scale = "window" if self.jitter_scale == "window" else self.class_std_[codes]
            return F.jitter(X, self.jitter_sigma, rng, scale=scale, nonnegative=clip)
        if method == "scaling":
            return F.scaling(X, self.scaling_sigma, rng, nonnegative=clip)
        if method == "magnitude_warp":
            return F.magnitude_warp(X, self.warp_sigma, self.n_knots, rng, nonnegative=clip)
        return F.time_warp(
            X,
            self.warp_sigma,
            self.n_knots,
            rng,
            interpolation=self.time_warp_interpolation,
            nonnegative=clip,
        )


def _same_memory(a, b):
    """Whether two arrays are views of exactly the same elements."""
    return (
        a.shape == b.shape
        and a.strides == b.strides
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    )
